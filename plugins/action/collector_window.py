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
    "lead": {"type": "float", "default": 2.0},
    "end_at": {"type": "float"},
}


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
            start_at = time.time() + args["lead"]
            end_at = start_at + args["duration"]
            append_event(
                Path(args["run_dir"]), {"kind": "window", "start_at": start_at, "end_at": end_at}
            )
            result.update(changed=False, start_at=start_at, end_at=end_at)
        else:
            until = args["end_at"]
            # Ansible's workers run in sessions of their own: if the playbook
            # is killed (ansible-runner cancels with SIGKILL), stop waiting.
            parent = os.getppid()
            while (left := until - time.time()) > 0 and os.getppid() == parent:
                time.sleep(min(left, 0.2))
            result.update(changed=False, waited_until=until)
        return result
