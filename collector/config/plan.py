"""Decide which measurement runs on which host, before any host is touched.

The plan is the one structure the playbook and the ingest step share: the
playbook reads it to loop over each host's measurements, ingest reads the
copy in the run directory (``plan.json``, secrets masked) to know what was
asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from collector.config.model import Config
from collector.config.secrets import mask_values
from collector.errors import ConfigError, StoreError
from collector.measurements import registry
from collector.paths import ROLES_DIR

PLAN_FILE = "plan.json"
CONFIG_FILE = "config.json"  # the merged config, secrets masked
GROUPS = ("host", "guest", "client")
# A role's task files the run calls, in this order; start is the only one it must have.
ENTRY_POINTS = ("preflight", "setup", "start", "stop", "collect")


def run_dir_for(database: Path, run_id: str) -> Path:
    """Runs live beside the database, so results and raw files travel together."""
    return database.parent / "runs" / run_id


def make_plan(
    config: Config,
    inventory_groups: Mapping[str, Sequence[str]],
    run_id: str,
    *,
    inventory_name: str = "the inventory",
    with_secrets: bool = False,
    sweep: dict[str, Any] | None = None,
    inventory_variables: Callable[[str, Iterable[str]], dict[str, Any]] | None = None,
    inventory_sources: Sequence[str] = (),
) -> dict[str, Any]:
    """Assign each measurement to the hosts of its groups.

    A group a measurement needs but the inventory lacks is a config error: the
    user asked for something that cannot run. ``inventory_variables(host,
    names)`` gives the values the inventory sets for some of those variables
    on a host (the lab's inventory sets ``remote_viewer_uri``, for example),
    so the experiment records what the role really ran with.
    """
    secrets = config.secret_values()
    hosts: dict[str, dict[str, Any]] = {}
    checked: dict[str, list[Any]] = {}  # what a host's preflight depends on
    measurements = []
    for index, m in enumerate(config.measurements):
        targets: list[str] = []
        for group in m.groups:
            members = list(inventory_groups.get(group, ()))
            if not members:
                raise ConfigError(
                    str(config.path),
                    f"measurements[{index}].{m.name}",
                    f"runs on group '{group}', which has no hosts in {inventory_name}",
                )
            targets += [h for h in members if h not in targets]
        # Hosts get only what the user set: the role's defaults apply in Ansible
        # itself, where they may be templates (e.g. of inventory variables).
        given = {f"{m.role}_{k}": v for k, v in m.options.items()}
        variables = given if with_secrets else mask_values(given, secrets)
        defaulted = [v for v in m.variables if v not in given]
        from_inventory = {
            host: mask_values(inventory_variables(host, defaulted), secrets)
            for host in (targets if inventory_variables else ())
        }
        measurements.append(
            {
                "name": m.name,
                "role": m.role,
                "groups": list(m.groups),
                "hosts": targets,
                "options": mask_values(m.options, secrets),
                "variables": mask_values(m.variables, secrets),
                "inventory_variables": {h: v for h, v in from_inventory.items() if v},
                "legacy_parameters": mask_values(m.legacy_parameters, secrets),
            }
        )
        entry_points = [
            e for e in ENTRY_POINTS if (ROLES_DIR / m.role / "tasks" / f"{e}.yml").exists()
        ]
        samplers = [
            {"name": s.name, "files": sorted(set(s.parsers) - {"output"})}
            for s in registry.get(m.role).samplers
        ]
        masked = mask_values(given, secrets)
        for host in targets:
            checked.setdefault(host, []).append(
                [m.name, m.role, masked, from_inventory.get(host, {})]
            )
            entry = hosts.setdefault(host, {"measurements": [], "required_commands": {}})
            entry["measurements"].append(
                {
                    "name": m.name,
                    "role": m.role,
                    "variables": variables,
                    # the phases the role writes itself; the run does the others for it
                    "entry_points": entry_points,
                    # what the run fetches for it in collect
                    "samplers": samplers,
                    "fetch": [
                        f"{s['name']}/{f}"
                        for s in samplers
                        for f in ("status.json", "output", "stderr", *s["files"])
                    ],
                }
            )
            for command in m.variables.get(f"{m.role}_required_commands", ()):
                entry["required_commands"].setdefault(command, []).append(m.name)
    for host, entry in hosts.items():
        entry["groups"] = sorted(g for g, members in inventory_groups.items() if host in members)
        entry["preflight_key"] = _preflight_key(checked[host])
    database = config.local_database
    return {
        "run_id": run_id,
        "run_dir": str(run_dir_for(database, run_id)),
        "database": str(database),
        "description": config.description,
        "duration": config.duration,
        "warmup": config.warmup,
        "cooldown": config.cooldown,
        "sweep": sweep,
        "config_file": str(config.path),
        # where the hosts came from, for `collector recover`
        "inventory": list(inventory_sources),
        "secure_file": str(config.secure_path) if config.secure_path else None,
        "notes": list(config.notes),
        "measurements": measurements,
        "hosts": hosts,
    }


def _preflight_key(measurements: list[Any]) -> str:
    """What a host's preflight checked, as a digest: its measurements, with their
    options (secrets masked, so no digest of a secret is ever written). A sweep
    reuses a host's preflight for the next run only while this stays the same."""
    canonical = json.dumps(measurements, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def write_plan(plan: Mapping[str, Any], config: Config, *, resume: bool) -> Path:
    """Create the run directory and keep the (masked) plan and config in it.

    A new run never reuses a directory: an old one would mix two runs' files.
    """
    run_dir = Path(plan["run_dir"])
    if (run_dir / PLAN_FILE).exists() and not resume:
        raise StoreError(f"run directory {run_dir} is in use already; use a new run id")
    (run_dir / "raw").mkdir(parents=True, exist_ok=True)
    _write_json(run_dir / CONFIG_FILE, config.redacted())
    path = run_dir / PLAN_FILE
    _write_json(path, plan)
    return path


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def read_plan(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / PLAN_FILE).read_text())
    except FileNotFoundError:
        raise StoreError(f"{run_dir} is not a run directory (no {PLAN_FILE})") from None
    except json.JSONDecodeError as e:
        raise StoreError(f"{run_dir / PLAN_FILE}: unreadable plan ({e.msg})") from None
