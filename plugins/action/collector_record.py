"""Append an event to the run's events.jsonl on the controller.

Events (failures, host descriptions, the window) are written as they happen,
so a run killed half way still leaves what it knew for ingest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.plugins.action import ActionBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.running.events import append_event

ARGUMENTS = {
    "run_dir": {"type": "path", "required": True},
    "event": {"type": "dict", "required": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        append_event(Path(args["run_dir"]), dict(args["event"]))
        result["changed"] = False
        return result
