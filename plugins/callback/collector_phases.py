"""Record when each phase of a run begins, in the run's events, at no cost in tasks.

A task per phase would cost a task's time per phase; a callback sees every
play start for free. The run's directory is learnt from the plan's own
result (the first ``collector_plan`` task), and the plays that come before it
are written once it is known. Each phase play names itself with its
``__collector_phase`` variable; ingest turns the ``phase_start`` events into
per-phase durations (table ``phases``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.running.events import append_event

DOCUMENTATION = """
name: collector_phases
type: aggregate
short_description: record when each phase of a benchmark run begins
description:
  - Appends a C(phase_start) event to the run's events.jsonl at the start of every
    play that sets C(__collector_phase).
requirements:
  - enabled in ansible.cfg (callbacks_enabled)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "collector_phases"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.run_dir: Path | None = None
        self.pending: list[dict] = []

    def v2_playbook_on_play_start(self, play) -> None:
        phase = (play.vars or {}).get("__collector_phase")
        if not isinstance(phase, str) or "{{" in phase:
            return
        self._record({"kind": "phase_start", "phase": phase, "time": time.time()})

    def v2_playbook_on_stats(self, stats) -> None:
        # a later playbook on the same run (collector recover) starts its own phases
        if self.run_dir is not None:
            self._record({"kind": "playbook_end", "phase": "", "time": time.time()})

    def v2_runner_on_ok(self, result) -> None:
        if self.run_dir is not None or result._task.action not in (
            "collector_plan",
            "ansible.legacy.collector_plan",
        ):
            return
        plan = result._result.get("plan")
        run_dir = plan.get("run_dir") if isinstance(plan, dict) else None
        if isinstance(run_dir, str) and run_dir:
            self.run_dir = Path(run_dir)
            for event in self.pending:
                self._record(event)
            self.pending = []

    def _record(self, event: dict) -> None:
        if self.run_dir is None:
            self.pending.append(event)
            return
        try:
            append_event(self.run_dir, event)
        except OSError as e:  # timing is a nicety: never fail a run for it
            self._display.warning(f"collector_phases: cannot record {event['kind']}: {e}")
