"""Load and check the config, then plan the run (controller side).

Thin: the work is in collector.config (load and plan), shared with
``python -m collector run``.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.config.load import load_config
from collector.config.plan import make_plan, write_plan
from collector.errors import CollectorError
from collector.running.lock import claim_for_playbook

display = Display()

ARGUMENTS = {
    "config": {"type": "path"},
    "secure": {"type": "path"},
    # raw: a value that is not a number is reported by the config check, with its key path
    "duration": {"type": "raw"},
    "description": {"type": "str"},
    "run_id": {"type": "str"},
    "resume": {"type": "bool", "default": False},
    "with_secrets": {"type": "bool", "default": False},
    "sweep": {"type": "dict"},
    # given by `collector run`, which holds the lab's lock for this run already
    "lock_token": {"type": "str"},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENTS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        overrides = {}
        if args.get("duration") not in (None, ""):
            overrides["duration"] = _number(args["duration"])
        if args.get("description") not in (None, ""):
            overrides["description"] = str(args["description"])
        sources = [str(i) for i in task_vars.get("ansible_inventory_sources") or []]
        try:
            config = load_config(
                Path(args["config"]) if args.get("config") else None,
                Path(args["secure"]) if args.get("secure") else None,
                overrides=overrides,
            )
            plan = make_plan(
                config,
                task_vars["groups"],
                str(args.get("run_id") or uuid.uuid4()),
                inventory_name=", ".join(sources) or "the inventory",
                inventory_sources=sources,
                with_secrets=args["with_secrets"],
                sweep=args.get("sweep") or None,
                inventory_variables=_inventory_variables(task_vars["hostvars"]),
            )
            if not args["with_secrets"] and not args["resume"]:
                # one run at a time per inventory: two would measure each other
                claim_for_playbook(sources, plan["run_id"], args["lock_token"], os.getppid())
            if not args["with_secrets"]:
                write_plan(plan, config, resume=args["resume"])
        except CollectorError as e:
            result.update(failed=True, msg=str(e))
            return result
        lines = [
            f"run {plan['run_id']}: {len(plan['measurements'])} measurement(s) on "
            f"{len(plan['hosts'])} host(s), {plan['duration']} s window"
        ]
        lines += plan["notes"]
        if not args["with_secrets"]:
            # said here rather than by a task of its own (`collector run` says it itself)
            for line in lines:
                display.display(line)
        result.update(changed=False, plan=plan, msg="\n".join(lines))
        return result


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # the config check reports it with its key path
    return int(number) if number.is_integer() else number


def _inventory_variables(hostvars):
    """What the inventory sets of some variables on a host, templated as Ansible would."""

    def lookup(host, names):
        known = hostvars.get(host, {})
        return {name: known[name] for name in names if name in known}

    return lookup
