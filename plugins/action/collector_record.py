"""Append an event to the run's events.jsonl on the controller.

Events (failures, host descriptions, the window) are written as they happen,
so a run killed half way still leaves what it knew for ingest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.plugins.action import ActionBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.events import append_event


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("run_dir", "event"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        append_event(Path(self._task.args["run_dir"]), dict(self._task.args["event"]))
        result["changed"] = False
        return result
