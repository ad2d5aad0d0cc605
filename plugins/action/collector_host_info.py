"""Describe a host and look for the commands its measurements need (controller side).

playbooks/phases/files/host_info.py goes to the host's Python on stdin and runs
in one exchange: the `script` module's copy, chmod, run and clean-up cost four
SSH round trips per host, seconds on a loaded controller.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from ansible.plugins.action import ActionBase

SCRIPT = Path(__file__).resolve().parents[2] / "playbooks" / "phases" / "files" / "host_info.py"
ARGUMENTS = {
    "python": {"type": "str", "default": "python3"},
    "commands": {"type": "list", "elements": "str", "default": []},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        command = " ".join(shlex.quote(a) for a in (args["python"], "-", *args["commands"]))
        out = self._low_level_execute_command(command, sudoable=False, in_data=SCRIPT.read_bytes())
        if out.get("rc") != 0:
            detail = (out.get("stderr") or out.get("stdout") or "").strip() or f"rc {out.get('rc')}"
            result.update(
                failed=True, msg=f"cannot describe the host with {args['python']}: {detail}"
            )
            return result
        try:
            info = json.loads(out["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            result.update(failed=True, msg=f"unexpected host description {out['stdout'][:200]!r}")
            return result
        result.update(changed=False, missing=info.pop("missing", []), info=info)
        return result
