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


def phase_durations(events: list[dict[str, Any]], now: float) -> list[tuple[str, float, float]]:
    """(phase, started, seconds) for each phase the run went through, in order.

    The ``phase_start`` events come from the collector_phases callback, one per
    play (two plays of one phase count as one); a phase ends where the next one
    starts, or where its playbook ended (``playbook_end``: a recover's phases come
    much later), or at ``now`` for the last one.
    """
    starts: list[tuple[str, float]] = []
    for e in sorted(
        (e for e in events if e.get("kind") == "phase_start" and e.get("time") is not None),
        key=lambda e: float(e["time"]),
    ):
        if not starts or starts[-1][0] != e.get("phase"):
            starts.append((str(e.get("phase")), float(e["time"])))
    ends = [float(e["time"]) for e in events if e.get("kind") == "playbook_end" and "time" in e]
    found = []
    for index, (phase, started) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else now
        end = min([end, *(t for t in ends if t > started)])
        found.append((phase, started, round(end - started, 3)))
    return found


def phase_totals(phases: list[tuple[str, float, float]]) -> dict[str, float]:
    """Seconds per phase (a recover's phases add to the run's), in the order they first ran."""
    spent: dict[str, float] = {}
    for phase, _, seconds in phases:
        spent[phase] = spent.get(phase, 0.0) + (seconds or 0.0)
    return spent
