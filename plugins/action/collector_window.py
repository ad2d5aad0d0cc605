"""Schedule the measurement window, or wait for it to close (controller side)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ansible.plugins.action import ActionBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.running.events import append_event

ARGUMENTS = {
    "run_dir": {"type": "path", "required": True},
    "action": {"type": "str", "required": True, "choices": ["schedule", "wait"]},
    "duration": {"type": "float"},
    # seconds from now to the window's start: time to write the go files, and the warm-up
    "lead": {"type": "float", "default": 0.3},
    # seconds before the window the samplers start on their own (the warm-up)
    "warmup": {"type": "float", "default": 0.0},
    # seconds each host's arming exchange took: its go file takes about as long,
    # so a slow host or link gets a longer lead instead of a late start
    "arming_took": {"type": "list", "elements": "float", "default": []},
    "end_at": {"type": "float"},
}


MAX_LEAD = 10.0


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec=ARGUMENTS,
            required_if=[("action", "schedule", ["duration"]), ("action", "wait", ["end_at"])],
        )
        if args["action"] == "schedule":
            now = time.time()
            arming = max(args["arming_took"], default=0.0)
            lead = max(args["lead"], min(2 * arming, MAX_LEAD)) + args["warmup"]
            start_at = now + lead
            end_at = start_at + args["duration"]
            append_event(
                Path(args["run_dir"]), {"kind": "window", "start_at": start_at, "end_at": end_at}
            )
            result.update(changed=False, start_at=start_at, end_at=end_at, lead=lead)
        else:
            until = args["end_at"]
            # Ansible's workers run in sessions of their own: if the playbook
            # is killed (ansible-runner cancels with SIGKILL), stop waiting.
            parent = os.getppid()
            while (left := until - time.time()) > 0 and os.getppid() == parent:
                time.sleep(min(left, 0.2))
            result.update(changed=False, waited_until=until)
        return result
