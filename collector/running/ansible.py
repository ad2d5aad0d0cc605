"""Driving a playbook through ansible-runner, for every command that runs one.

ansible-runner writes its whole environment and command line into its
artifacts, so nothing secret is given to it: secret-looking environment
variables are held back, extravars are paths and ids only, and whatever
reached a file anyway is masked afterwards. It would also switch SSH host key
checking off; the setting ansible-playbook itself would use is passed on.
Every process it starts carries a mark (collector.running.reaper), so none of
them outlives the command.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import ansible_runner

from collector.config.model import Config
from collector.config.secrets import scrub_bytes
from collector.paths import PLAYBOOKS_DIR, PROJECT_ROOT, ansible_bin
from collector.running import reaper

# Lines the action plugins print for the user, shown without -v too.
NOTICE = "collector: "

# ansible-runner writes the whole environment into its artifacts; variables
# like these (PGPASSWORD, API tokens) are kept from the playbook's environment.
SECRET_ENV = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY", re.IGNORECASE)


@contextmanager
def without_secret_environment() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if SECRET_ENV.search(k)}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def scrub_tree(directory: Path, secrets: frozenset[str]) -> None:
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
            # runner would switch host key checking off when this is not given
            "ANSIBLE_HOST_KEY_CHECKING": host_key_checking(),
            # runner puts its own callbacks on this path, which hides ansible.cfg's:
            # ours (collector_phases: when each phase began) go first
            "ANSIBLE_CALLBACK_PLUGINS": str(PROJECT_ROOT / "plugins" / "callback"),
            # what the reaper ends when this process ends, however it ends
            **reaper.environment(reaper.mark()),
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


def host_key_checking() -> str:
    """What ansible-playbook itself would do: the environment's setting, else ansible.cfg's."""
    if "ANSIBLE_HOST_KEY_CHECKING" in os.environ:
        return os.environ["ANSIBLE_HOST_KEY_CHECKING"]
    from ansible.config.manager import ConfigManager

    config = ConfigManager(str(PROJECT_ROOT / "ansible.cfg"))
    return str(bool(config.get_config_value("HOST_KEY_CHECKING")))


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
        self.plays: list[str] = []

    def fatal(self, result: Any) -> bool:
        """True when the playbook failed without any task failing."""
        return not self.verbose and result.rc != 0 and not self.failures and not self.saved

    def notice(self, line: str) -> None:
        print(f"   {line}", file=self.out, flush=True)

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
            self.plays.append(data.get("play", ""))
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
