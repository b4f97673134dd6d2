"""`python -m dashboard --config FILE [--port N] [--address HOST]`: serve the dashboard.

`cleancrm dashboard` runs this module in a child process, so the CLI never imports the dashboard.
The address is `--address`, else the config's `dashboard.address` (127.0.0.1 by default); one that
serves other computers is refused (exit 2) unless the config has users or an OIDC provider is set up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from checks.config import load_config
from connectors.errors import CleanCRMError
from dashboard.launch import bind_refusal, oidc_configured, streamlit_command


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run Streamlit until it stops; its exit code (2 for a refused start)."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Serve the cleancrm dashboard.")
    parser.add_argument("--config", required=True, help="Path of cleancrm.yml.")
    parser.add_argument("--port", type=int, default=None, help="Port to serve on.")
    parser.add_argument("--address", default=None, help="Address to bind to (default: dashboard.address).")
    parser.add_argument("--headless", action="store_true", help="Do not open a browser.")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except CleanCRMError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    address = args.address or cfg.dashboard.address
    refused = bind_refusal(address, len(cfg.dashboard.users), oidc_configured(),
                           where="--address" if args.address else "dashboard.address")
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    command = streamlit_command(args.config, port=args.port, headless=args.headless, address=address)
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
