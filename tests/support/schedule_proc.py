"""Child processes for the lock and scheduler tests: `python -m tests.support.schedule_proc MODE CONFIG [ARGS]`.

- `race GO`: print `ready`, wait until the file GO exists, then run the stand-in checks once;
  exit 0 when the run completed, 3 when the source was locked.
- `hold TTL`: take the source's lock with a TTL of TTL seconds, record a `running` run, print
  `ready`, and sleep until killed.
- `serve ID`: run `checks.app.schedule.serve` with the stand-in until SIGTERM.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from pathlib import Path

from checks.app.schedule import serve
from checks.config import load_config
from connectors.errors import RunLockedError
from connectors.history import HistoryStore, utcnow
from tests.support.schedule_standin import standin_run


def main() -> int:
    mode, config = sys.argv[1], sys.argv[2]
    cfg = load_config(config)
    if mode == "race":
        store = HistoryStore(cfg.history_url())
        go = Path(sys.argv[3])
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.005)
        try:
            standin_run(cfg, trigger="cli", history=store)
        except RunLockedError as exc:
            print(exc, flush=True)
            return 3
        return 0
    if mode == "hold":
        store = HistoryStore(cfg.history_url())
        with store.locks.run_lock(cfg.name, ttl=timedelta(seconds=float(sys.argv[3]))):
            store.runs.start(cfg.name, utcnow(), "cli")
            print("ready", flush=True)
            time.sleep(600)
        return 0
    if mode == "serve":
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        serve(cfg, run_fn=standin_run, scheduler_id=sys.argv[3], heartbeat_s=0.5)
        print("stopped", flush=True)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
