"""The run's event log: what the playbook learnt while it ran.

One JSON object per line in ``<run dir>/events.jsonl``. Ansible's forks
append to it concurrently, hence the lock; a line cut short by a crash is
skipped on reading, not fatal.
"""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path
from typing import Any

EVENTS_FILE = "events.jsonl"


def append_event(run_dir: Path, event: dict[str, Any]) -> None:
    event.setdefault("time", time.time())
    line = json.dumps(event, sort_keys=True, default=str) + "\n"
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / EVENTS_FILE, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.write(line)
            f.flush()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / EVENTS_FILE
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events
