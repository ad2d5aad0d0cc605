"""What the runs of a sweep reuse of each other's preflight.

Describing a host and running its measurements' own checks (the display
answers, the SPICE port is reachable, ...) cost seconds of every run, and in a
sweep they give the same answers run after run. So after each run the sweep
keeps, per host, the description and the digest of what was checked
(``preflight_key`` in the plan: the host's measurements and their options);
the next run skips both for a host whose digest is unchanged, as long as the
inventory files are unchanged too. The clock offset is measured every run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from collector.config.plan import PLAN_FILE
from collector.running.events import read_events

CACHE_FILE = "preflight.json"


def inventory_fingerprint(inventory: Path) -> str:
    """A digest of every file Ansible reads for this inventory: the file or directory,
    and the group_vars and host_vars beside it."""
    base = inventory if inventory.is_dir() else inventory.parent
    files = [inventory] if inventory.is_file() else []
    trees = [base / "group_vars", base / "host_vars"]
    for tree in [inventory, *trees] if inventory.is_dir() else trees:
        if tree.is_dir():
            files += sorted(p for p in tree.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in dict.fromkeys(files):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def checked_hosts(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The hosts a run's preflight checked and passed: ``{host: {key, info, run_id}}``.

    Nothing when the run's preflight found a host unusable: a run that was
    aborted vouches for no host. A host where a measurement failed its checks
    is checked again by the next run.
    """
    try:
        plan = json.loads((run_dir / PLAN_FILE).read_text())
    except (OSError, ValueError):
        return {}
    events = read_events(run_dir)
    failed = {e.get("host"): e for e in events
              if e.get("kind") == "failure" and e.get("phase") == "preflight"}  # fmt: skip
    if any(not e.get("measurement") for e in failed.values()):
        return {}
    hosts = plan.get("hosts") or {}
    found = {}
    for e in events:
        host = e.get("host")
        if host in failed:
            continue
        key = (hosts.get(host) or {}).get("preflight_key")
        if e.get("kind") == "host" and key and isinstance(e.get("info"), dict):
            found[host] = {"key": key, "info": e["info"], "run_id": plan.get("run_id", "")}
    return found


def write_cache(path: Path, hosts: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(hosts, sort_keys=True))
    tmp.replace(path)
