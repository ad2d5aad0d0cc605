"""Measure a host's clock offset against the controller (controller side).

Runs ``date`` on the host between two controller readings and keeps the
quickest of a few rounds: the offset is the host's reading minus the midpoint,
good to within half that round trip.
"""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase

ROUNDS = 3
COMMAND = "date +%s.%N 2>/dev/null || python3 -c 'import time; print(time.time())'"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self.validate_argument_spec(argument_spec={})
        best = None
        for _ in range(ROUNDS):
            before = time.time()
            out = self._low_level_execute_command(COMMAND, sudoable=False)
            after = time.time()
            if out.get("rc") != 0:
                result.update(failed=True, msg=f"cannot read the clock: {out.get('stderr', '')}")
                return result
            try:
                remote = float(out["stdout"].strip().splitlines()[-1])
            except (ValueError, IndexError):
                result.update(failed=True, msg=f"unexpected clock reading {out['stdout']!r}")
                return result
            if best is None or after - before < best[1] - best[0]:
                best = (before, after, remote)
        before, after, remote = best
        result.update(
            changed=False,
            offset=remote - (before + after) / 2,
            uncertainty=(after - before) / 2,
        )
        return result
