"""``python -m collector run``: the benchmark playbook through ansible-runner.

The playbook does the whole run, save included, exactly as with
``ansible-playbook``; this module adds what a terminal user needs around it:
the config checked before anything starts, the lab held for this run alone,
short progress lines, and any end of the command a clean one: Ctrl-C, SIGTERM
and SIGHUP stop every sampler and save what was measured (runner cancels the
playbook, then ``playbooks/stop.yml`` finishes the run), and nothing it
started outlives it (collector.running.reaper).
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from collector import store
from collector.config.load import load_config
from collector.config.machines import describe, has_remote, inventory_from_machines
from collector.config.model import Config
from collector.config.plan import PLAN_FILE, run_dir_for
from collector.errors import CollectorError, StoreError
from collector.paths import DEFAULT_INVENTORY
from collector.running import lock
from collector.running.ansible import (
    Progress,
    extravars_for,
    play,
    scrub_tree,
    without_secret_environment,
)
from collector.running.interrupt import Interrupt

EXIT_OK = 0
EXIT_PROBLEMS = 1  # partial or failed experiment
EXIT_NO_EXPERIMENT = 2
EXIT_INTERRUPTED = 130
SAVE_PLAY = "Save the experiment"
# The inventory built from the old script's machines:, beside the database.
MACHINES_INVENTORY = "machines-inventory.yml"


@dataclass
class RunRequest:
    config: Path | None = None
    secure: Path | None = None
    inventory: Path | None = None
    duration: float | None = None
    description: str | None = None
    verbose: bool = False
    # Set by a sweep: its id, the point's values, repetition and key.
    sweep: dict[str, Any] | None = None
    # Set by a sweep: the hosts its earlier runs' preflight checked (preflight_cache)
    preflight_cache: Path | None = None


@dataclass
class RunOutcome:
    run_id: str
    status: str | None  # None: no experiment was saved
    exit_code: int


def run_experiment(
    request: RunRequest, *, out: TextIO = sys.stdout, interrupt: Interrupt | None = None
) -> RunOutcome:
    """One experiment; a sweep passes its own ``interrupt``, so a signal also ends the sweep."""
    overrides: dict[str, Any] = {}
    if request.duration is not None:
        overrides["duration"] = request.duration
    if request.description is not None:
        overrides["description"] = request.description
    config = load_config(request.config, request.secure, overrides=overrides)
    for note in config.notes:
        print(f"note: {note}", file=out)
    inventory = inventory_for(request.inventory, config, out)
    run_id = str(uuid.uuid4())
    run_dir = run_dir_for(config.local_database, run_id)
    extravars = extravars_for(config, run_id, overrides)
    if request.sweep is not None:
        extravars["sweep"] = request.sweep
    if request.preflight_cache is not None:
        extravars["collector_preflight_cache"] = str(request.preflight_cache.resolve())
    progress = Progress(out, verbose=request.verbose)
    with lock.hold([inventory], run_id) as token:
        extravars["collector_lock_token"] = token
        print(f"run {run_id}: {config.description or '(no description)'}", file=out, flush=True)
        if interrupt is None:
            with Interrupt(out) as own:
                interrupted = _drive(config, run_dir, inventory, extravars, progress, own)
        else:
            interrupted = _drive(config, run_dir, inventory, extravars, progress, interrupt)
    return outcome(config.local_database, run_id, interrupted=interrupted, out=out)


def inventory_for(requested: Path | None, config: Config, out: TextIO) -> Path:
    """The inventory a run uses: the one given, else one built from the old ``machines:``.

    With no ``-i`` and a ``machines:`` naming a remote machine, the old
    script's way of naming the lab still decides where things run: the
    inventory it describes is written beside the database (a stable path, so
    that the lock of one run per inventory holds) and the run says so.
    """
    if requested is not None or not has_remote(config.machines):
        return resolve_inventory(requested)
    path = config.local_database.parent / MACHINES_INVENTORY
    path.parent.mkdir(parents=True, exist_ok=True)
    inventory = inventory_from_machines(config.machines, str(config.path))
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    print(
        f"inventory: built from machines: in {config.path.name} ({describe(config.machines)}): "
        f"{path}",
        file=out,
        flush=True,
    )
    return path.resolve()


def resolve_inventory(inventory: Path | None) -> Path:
    found = (inventory or DEFAULT_INVENTORY).resolve()
    if not found.exists():
        raise CollectorError(f"inventory {inventory}: no such file or directory")
    return found


def _drive(
    config: Config,
    run_dir: Path,
    inventory: Path,
    extravars: dict[str, Any],
    progress: Progress,
    interrupt: Interrupt,
) -> bool:
    """The playbooks of one run; True when it was interrupted."""
    secrets = config.secret_values()
    with without_secret_environment():
        try:
            play("benchmark.yml", run_dir / "runner", inventory, extravars, progress,
                 interrupt.cancel)  # fmt: skip
            if interrupt.requested:
                play("stop.yml", run_dir / "runner-stop", inventory, extravars, progress, None)
            elif (run_dir / PLAN_FILE).exists() and SAVE_PLAY not in progress.plays:
                _save_anyway(run_dir, progress)
        finally:
            scrub_tree(run_dir, secrets)
    return interrupt.requested


def _save_anyway(run_dir: Path, progress: Progress) -> None:
    """The playbook ended before its save step (every host of a phase was lost): save
    what there is, with the same code the save step runs. The hosts it lost are
    recorded already, by the collector_phases callback."""
    from ansible.release import __version__ as ansible_version

    from collector.running.ingest import save_run

    print(f"== {SAVE_PLAY}", file=progress.out, flush=True)
    try:
        saved = save_run(run_dir, ansible_version=ansible_version, progress=progress.notice)
    except CollectorError as e:
        print(f"   {e}", file=progress.out, flush=True)
        return
    for line in saved.summary().splitlines():
        print(f"   {line}", file=progress.out, flush=True)


def outcome(database: Path, run_id: str, *, interrupted: bool, out: TextIO) -> RunOutcome:
    """What became of a run: its experiment's status and the command's exit code."""
    try:
        experiment = store.get_experiment(database, run_id)
    except StoreError:
        print(f"run {run_id}: no experiment was saved", file=out)
        return RunOutcome(run_id, None, EXIT_INTERRUPTED if interrupted else EXIT_NO_EXPERIMENT)
    status = experiment["status"]
    if status == "ok":
        code = EXIT_OK
    elif status == "interrupted":
        code = EXIT_INTERRUPTED
    else:
        code = EXIT_PROBLEMS
    print(f"see it with: python -m collector show {run_id}", file=out)
    return RunOutcome(run_id, status, code)
