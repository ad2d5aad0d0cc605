"""Run the real ansible-playbook and ``python -m collector`` against this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from collector import store

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def write_config(directory: Path, measurements: list[Any], **extra: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "description": extra.pop("description", "integration test"),
        "duration": extra.pop("duration", 3),
        "measurements": measurements,
        "databases": {"local": "db/bench.db"},
        **extra,
    }
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def env(*, venv_on_path: bool = False) -> dict[str, str]:
    """The test's environment; the virtualenv is not activated unless asked for,
    as for a user who runs .venv/bin/python -m collector."""
    e = dict(os.environ)
    venv = str(BIN)
    path = [p for p in e.get("PATH", "").split(os.pathsep) if p and p != venv]
    e["PATH"] = os.pathsep.join([venv, *path] if venv_on_path else path)
    e["ANSIBLE_NOCOLOR"] = "1"
    return e


def playbook(*args: str, playbook_file: str = "playbooks/benchmark.yml", timeout: float = 300):
    return subprocess.run(
        [str(BIN / "ansible-playbook"), playbook_file, *args],
        cwd=ROOT, env=env(venv_on_path=True), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def collector(
    *args: str, timeout: float = 300, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collector", *args],
        cwd=ROOT, env={**env(), **(extra_env or {})}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def start_run(config: Path, *extra: str) -> subprocess.Popen:
    """`collector run` in the background, its output kept."""
    return subprocess.Popen(
        [sys.executable, "-m", "collector", "run", "-c", str(config), *extra],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_for_window(config: Path, timeout: float = 120) -> str:
    """The run's id, once its window has opened."""
    runs = config.parent / "db" / "runs"
    deadline = time.time() + timeout
    while time.time() < deadline:
        for events in runs.glob("*/events.jsonl"):
            if '"kind": "window"' in events.read_text():
                return events.parent.name
        time.sleep(0.2)
    raise AssertionError("the window never opened")


def database(config: Path) -> Path:
    return config.parent / "db" / "bench.db"


def only_experiment(config: Path) -> dict[str, Any]:
    experiments = store.list_experiments(database(config))
    assert len(experiments) == 1, experiments
    return store.get_experiment(database(config), experiments[0]["uuid"])


def rows(config: Path, table: str, uuid: str) -> list[dict[str, Any]]:
    fields, values = store.read_table(database(config), table, uuid)
    return [dict(zip(fields, v, strict=True)) for v in values]


def run_dir(config: Path, uuid: str) -> Path:
    return config.parent / "db" / "runs" / uuid


def events(config: Path, uuid: str) -> list[dict[str, Any]]:
    path = run_dir(config, uuid) / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def processes_of(run_id: str) -> list[str]:
    """Every process whose command line names the run: its samplers and runners."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if run_id in cmdline and state != "Z":
            found.append(f"{proc.name} {cmdline}")
    return found
