"""Turn the run directory into a saved experiment (controller side).

The only code that writes a run to the database, whichever way the run was
started: collector.running.ingest does the work.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ansible_version
from ansible.utils.display import Display

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.errors import CollectorError
from collector.running.ingest import save_run

ARGUMENTS = {
    "run_dir": {"type": "path", "required": True},
    # true, false, or auto: interrupted when a sampler was stopped before its end
    # (a run finished by `collector recover` after its controller died)
    "interrupted": {"type": "raw", "default": False},
    # seconds to wait for another process's write lock on the database
    "wait": {"type": "float", "default": 120.0},
    # replace the experiment saved before (collector recover)
    "replace": {"type": "bool", "default": False},
}
display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        try:
            saved = save_run(
                Path(args["run_dir"]),
                interrupted=_interrupted(args["interrupted"]),
                ansible_version=ansible_version,
                replace=args["replace"],
                wait=args["wait"],
                # "collector: " lines are shown by `python -m collector run` too
                progress=lambda line: display.display(f"collector: {line}"),
            )
        except CollectorError as e:
            result.update(failed=True, msg=str(e))
            return result
        result.update(changed=True, status=saved.status, uuid=saved.uuid, msg=saved.summary())
        return result


def _interrupted(value):
    if str(value).strip().lower() == "auto":
        return None
    return boolean(value, strict=True)
