"""``python -m collector recover UUID``: bring back what a run could not collect.

Two cases, one playbook (``playbooks/recover.yml``):

- a host lost during the run answers again: its raw files stayed on it; they
  are collected and the experiment is saved again with them, its status and
  failures brought up to date;
- the controller died (kill -9, power loss) before the run was saved: every
  host is stopped and collected from the run directory, and the experiment
  is saved, interrupted if a sampler had to be stopped before its end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from collector import store
from collector.config.load import load_config
from collector.config.plan import read_plan, run_dir_for
from collector.errors import CollectorError, StoreError
from collector.running import lock
from collector.running.ansible import Progress, play, scrub_tree, without_secret_environment
from collector.running.events import read_events
from collector.running.interrupt import Interrupt
from collector.running.run import RunOutcome, outcome, resolve_inventory
from collector.store.names import resolve_uuid


def lost_hosts(events: list[dict[str, Any]]) -> list[str]:
    """Hosts the run lost and no recovery brought back yet, in the order they were lost."""
    recovered = {e.get("host") for e in events if e.get("kind") == "recovered"}
    lost = [e.get("host") for e in events if e.get("kind") == "failure" and e.get("lost")]
    return [h for h in dict.fromkeys(lost) if h not in recovered]


def recover(
    uuid_or_prefix: str,
    config_path: Path | None,
    secure_path: Path | None,
    inventory: Path | None,
    *,
    verbose: bool = False,
    out: TextIO = sys.stdout,
) -> RunOutcome:
    config = load_config(config_path, secure_path)
    database = config.local_database
    run_id = _run_id(database, uuid_or_prefix)
    run_dir = run_dir_for(database, run_id)
    plan = read_plan(run_dir)
    saved = _saved(database, run_id)
    if saved:
        hosts = lost_hosts(read_events(run_dir))
        if not hosts:
            print(f"run {run_id}: nothing to recover, every host's data is saved", file=out)
            return outcome(database, run_id, interrupted=False, out=out)
    else:
        hosts = list(plan["hosts"])
    sources = plan.get("inventory") or []
    inventory_path = resolve_inventory(inventory or (Path(sources[0]) if sources else None))
    what = "lost host(s)" if saved else "host(s) of a run that was never saved"
    print(f"run {run_id}: recovering {what}: {', '.join(hosts)}", file=out, flush=True)
    extravars: dict[str, Any] = {
        "config": plan["config_file"],
        "run_id": run_id,
        "collector_recover_hosts": hosts,
        "collector_replace": saved,
    }
    if plan.get("secure_file"):
        extravars["secure"] = plan["secure_file"]
    progress = Progress(out, verbose=verbose)
    attempt = 1 + sum(1 for _ in run_dir.glob("runner-recover-*"))
    with (
        lock.hold([inventory_path], run_id) as token,
        Interrupt(out) as interrupt,
        without_secret_environment(),
    ):
        extravars["collector_lock_token"] = token
        try:
            play("recover.yml", run_dir / f"runner-recover-{attempt}", inventory_path,
                 extravars, progress, interrupt.cancel)  # fmt: skip
        finally:
            scrub_tree(run_dir, config.secret_values())
    return outcome(database, run_id, interrupted=interrupt.requested, out=out)


def _run_id(database: Path, uuid_or_prefix: str) -> str:
    """A run's id from a uuid or prefix: saved experiments first, then run directories."""
    runs = run_dir_for(database, "x").parent
    if database.exists():
        try:
            return store.open_reader(database).resolve(uuid_or_prefix)
        except StoreError:
            pass

    def starting_with(prefix: str) -> list[str]:
        if not runs.is_dir():
            return []
        return sorted(d.name for d in runs.iterdir() if d.name.startswith(prefix))[:6]

    try:
        return resolve_uuid(uuid_or_prefix, starting_with, f"{database} or {runs}")
    except StoreError as e:
        raise CollectorError(f"{e}: nothing to recover") from None


def _saved(database: Path, run_id: str) -> bool:
    try:
        store.get_experiment(database, run_id)
    except StoreError:
        return False
    return True
