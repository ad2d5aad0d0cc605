"""Turn the run directory into a saved experiment (controller side).

The only code that writes a run to the database, whichever way the run was
started: collector.ingest does the work.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.errors import CollectorError
from collector.ingest import save_run


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("run_dir", "interrupted"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        try:
            saved = save_run(
                Path(args["run_dir"]),
                interrupted=_bool(args.get("interrupted", False)),
                ansible_version=ansible_version,
            )
        except CollectorError as e:
            result.update(failed=True, msg=str(e))
            return result
        result.update(changed=True, status=saved.status, uuid=saved.uuid, msg=saved.summary())
        return result


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
