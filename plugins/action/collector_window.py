"""Schedule the measurement window, or wait for it to close (controller side)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ansible.plugins.action import ActionBase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.events import append_event


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("run_dir", "action", "duration", "lead", "end_at"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        if args["action"] == "schedule":
            start_at = time.time() + float(args.get("lead", 2.0))
            end_at = start_at + float(args["duration"])
            append_event(
                Path(args["run_dir"]), {"kind": "window", "start_at": start_at, "end_at": end_at}
            )
            result.update(changed=False, start_at=start_at, end_at=end_at)
        elif args["action"] == "wait":
            until = float(args["end_at"])
            # Ansible's workers run in sessions of their own: if the playbook
            # is killed (ansible-runner cancels with SIGKILL), stop waiting.
            parent = os.getppid()
            while (left := until - time.time()) > 0 and os.getppid() == parent:
                time.sleep(min(left, 0.2))
            result.update(changed=False, waited_until=until)
        else:
            result.update(failed=True, msg=f"unknown action {args['action']!r}")
        return result
