"""``python -m collector run``: the benchmark playbook through ansible-runner.

The playbook does the whole run, save included, exactly as with
``ansible-playbook``; this module adds what a terminal user needs around it:
the config checked before anything starts, short progress lines, and Ctrl-C
that still stops every sampler and saves what was measured (runner cancels
the playbook, then ``playbooks/stop.yml`` finishes the run).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import ansible_runner

from collector import store
from collector.config.load import load_config
from collector.config.model import Config
from collector.config.plan import run_dir_for
from collector.config.secrets import scrub_bytes
from collector.errors import CollectorError, StoreError
from collector.paths import DEFAULT_INVENTORY, PLAYBOOKS_DIR, PROJECT_ROOT, ansible_bin

# Lines the action plugins print for the user, shown without -v too.
NOTICE = "collector: "
EXIT_OK = 0
EXIT_PROBLEMS = 1  # partial or failed experiment
EXIT_NO_EXPERIMENT = 2
EXIT_INTERRUPTED = 130

# ansible-runner writes the whole environment into its artifacts; variables
# like these (PGPASSWORD, API tokens) are kept from the playbook's environment.
SECRET_ENV = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY", re.IGNORECASE)


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


@dataclass
class RunOutcome:
    run_id: str
    status: str | None  # None: no experiment was saved
    exit_code: int


class _Interrupt:
    """Turns Ctrl-C into a cancel request that ansible-runner polls for."""

    def __init__(self, out: TextIO) -> None:
        self.requested = False
        self.out = out
        self._previous: Any = None

    def __enter__(self) -> _Interrupt:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            # A second Ctrl-C leaves the cleanup to the samplers' watchdogs.
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\ninterrupted: stopping the samplers and saving what was measured "
            "(Ctrl-C again to abandon)",
            file=self.out,
            flush=True,
        )

    def cancel(self) -> bool:
        return self.requested


def run_experiment(request: RunRequest, *, out: TextIO = sys.stdout) -> RunOutcome:
    overrides: dict[str, Any] = {}
    if request.duration is not None:
        overrides["duration"] = request.duration
    if request.description is not None:
        overrides["description"] = request.description
    config = load_config(request.config, request.secure, overrides=overrides)
    for note in config.notes:
        print(f"note: {note}", file=out)
    inventory = (request.inventory or DEFAULT_INVENTORY).resolve()
    if not inventory.exists():
        raise CollectorError(f"inventory {request.inventory}: no such file or directory")
    run_id = str(uuid.uuid4())
    run_dir = run_dir_for(config.local_database, run_id)
    extravars = extravars_for(config, run_id, overrides)
    if request.sweep is not None:
        extravars["sweep"] = request.sweep
    progress = Progress(out, verbose=request.verbose)
    print(f"run {run_id}: {config.description or '(no description)'}", file=out, flush=True)

    secrets = config.secret_values()
    with _Interrupt(out) as interrupt, without_secret_environment():
        try:
            play(
                "benchmark.yml",
                run_dir / "runner",
                inventory,
                extravars,
                progress,
                interrupt.cancel,
            )
            if interrupt.requested:
                play("stop.yml", run_dir / "runner-stop", inventory, extravars, progress, None)
        finally:
            _scrub_tree(run_dir, secrets)
    return _outcome(config, run_id, interrupted=interrupt.requested, out=out)


@contextmanager
def without_secret_environment() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if SECRET_ENV.search(k)}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def _scrub_tree(directory: Path, secrets: frozenset[str]) -> None:
    """Belt and braces: mask any secret that reached a file Ansible or runner wrote."""
    if not secrets or not directory.exists():
        return
    for path in directory.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            cleaned = scrub_bytes(content, secrets)
            if cleaned != content:
                path.write_bytes(cleaned)


def extravars_for(config: Config, run_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Paths and ids only: runner writes extravars to disk, so never a secret."""
    extravars: dict[str, Any] = {"config": str(config.path.resolve()), "run_id": run_id}
    if config.secure_path is not None:
        extravars["secure"] = str(config.secure_path.resolve())
    extravars.update(overrides)
    return extravars


def play(
    playbook: str,
    private_dir: Path,
    inventory: Path,
    extravars: dict[str, Any],
    progress: Progress,
    cancel: Callable[[], bool] | None,
) -> None:
    # A fresh private directory per playbook: runner keeps old env/ files.
    private_dir.mkdir(parents=True, exist_ok=False)
    result = ansible_runner.run(
        private_data_dir=str(private_dir),
        project_dir=str(PROJECT_ROOT),
        playbook=str(PLAYBOOKS_DIR / playbook),
        inventory=str(inventory),
        extravars=extravars,
        envvars={
            "ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
            # runner finds ansible-playbook on PATH: this environment's first,
            # also when the virtualenv is not activated.
            "PATH": f"{ansible_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        settings={"pexpect_timeout": 0.2, "suppress_ansible_output": True},
        event_handler=progress.event,
        cancel_callback=cancel,
        quiet=True,
    )
    if result.rc not in (0, 2, 254) or result.status == "error" or progress.fatal(result):
        # ansible-playbook stopped on something that is not a task result
        # (a syntax error, a missing file): show Ansible's own words.
        tail = result.stdout.read().strip().splitlines()[-15:] if result.stdout else []
        for line in tail:
            print(f"   {line}", file=progress.out, flush=True)


def _outcome(config: Config, run_id: str, *, interrupted: bool, out: TextIO) -> RunOutcome:
    try:
        experiment = store.get_experiment(config.local_database, run_id)
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


class Progress:
    """One line per play, per failure, and the save step's summary.

    Shared by every command that drives a playbook through ansible-runner.
    """

    def __init__(self, out: TextIO, *, verbose: bool, quiet: bool = False) -> None:
        self.out = out
        self.verbose = verbose
        self.quiet = quiet
        self.failures = 0
        self.saved = False

    def fatal(self, result: Any) -> bool:
        """True when the playbook failed without any task failing."""
        return not self.verbose and result.rc != 0 and not self.failures and not self.saved

    def event(self, event: dict[str, Any]) -> bool:
        kind = event.get("event")
        data = event.get("event_data", {})
        if self.verbose and event.get("stdout"):
            print(event["stdout"], file=self.out, flush=True)
            return True
        if self.quiet:
            return True
        for line in str(event.get("stdout") or "").splitlines():
            if line.startswith(NOTICE):  # what the tool's own plugins say as they work
                print(f"   {line.removeprefix(NOTICE)}", file=self.out, flush=True)
        if kind == "playbook_on_play_start":
            print(f"== {data.get('play', '')}", file=self.out, flush=True)
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            self.failures += 1
            res = data.get("res") or {}
            message = str(res.get("msg") or "failed").strip().splitlines() or ["failed"]
            print(
                f"   {data.get('host')}: {data.get('task')}: {message[0]}",
                file=self.out,
                flush=True,
            )
        elif kind == "runner_on_ok" and data.get("task_action", "").endswith("collector_save"):
            self.saved = True
            res = data.get("res") or {}
            for line in str(res.get("msg", "")).splitlines():
                print(f"   {line}", file=self.out, flush=True)
        return True
