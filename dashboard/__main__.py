"""`python -m dashboard --config FILE [--port N] [--address HOST]`: serve the dashboard.

`cleancrm dashboard` runs this module in a child process, so the CLI never imports the dashboard.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from dashboard.launch import streamlit_command


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run Streamlit until it stops; its exit code."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Serve the cleancrm dashboard.")
    parser.add_argument("--config", required=True, help="Path of cleancrm.yml.")
    parser.add_argument("--port", type=int, default=None, help="Port to serve on.")
    parser.add_argument("--address", default=None, help="Address to bind to.")
    parser.add_argument("--headless", action="store_true", help="Do not open a browser.")
    args = parser.parse_args(argv)
    command = streamlit_command(args.config, port=args.port, headless=args.headless, address=args.address)
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
