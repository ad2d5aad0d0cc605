"""Record when each phase of a run begins, and which hosts it lost, at no cost in tasks.

A task per phase would cost a task's time per phase; a callback sees every
play start and every unreachable host for free. The run's directory is learnt
from the plan's own result (the first ``collector_plan`` task), and the plays
that come before it are written once it is known. Each phase play names itself
with its ``__collector_phase`` variable; ingest turns the ``phase_start``
events into per-phase durations (table ``phases``), and a lost host's
``failure`` event into its row in ``failures``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.running.events import append_event

# Preflight reports an unreachable host itself (and aborts); Ansible leaves a
# host that stops answering in these phases out of the ones that follow.
LOSING_PHASES = ("setup", "start", "stop", "collect")

DOCUMENTATION = """
name: collector_phases
type: aggregate
short_description: record when each phase of a benchmark run begins
description:
  - Appends a C(phase_start) event to the run's events.jsonl at the start of every
    play that sets C(__collector_phase), and a C(failure) event (C(lost)) the first time
    a host stops answering in setup, start, stop or collect.
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
        self.run_id = ""
        self.phase = ""
        self.lost: set[str] = set()
        self.pending: list[dict] = []

    def v2_playbook_on_play_start(self, play) -> None:
        phase = (play.vars or {}).get("__collector_phase")
        if not isinstance(phase, str) or "{{" in phase:
            self.phase = ""
            return
        self.phase = phase
        self._record({"kind": "phase_start", "phase": phase, "time": time.time()})

    def v2_runner_on_unreachable(self, result) -> None:
        host = result._host.get_name()
        if self.phase not in LOSING_PHASES or result._task.ignore_unreachable or host in self.lost:
            return
        self.lost.add(host)
        self._record({
            "kind": "failure", "lost": True, "host": host, "phase": self.phase,
            "measurement": "", "task": "",
            "message": f"stopped answering over SSH during {self.phase}; what it measured stays "
            f"on it, and python -m collector recover {self.run_id} collects it once it answers",
        })  # fmt: skip

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
            self.run_id = str(plan.get("run_id") or self.run_dir.name)
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
