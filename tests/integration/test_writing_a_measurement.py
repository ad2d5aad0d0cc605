"""docs/writing-a-measurement.md's example is real: built into a copy of the project, it runs.

Every file the guide shows under an ``<!-- example: PATH -->`` mark is written
into a copy of the project; the copy then lints them, runs their tests and the
registry's checks, and runs a real experiment with the new measurement, whose
stop and collect come from the run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from collector import store
from tests.integration.helpers import BIN, ROOT, env

pytestmark = pytest.mark.integration

GUIDE = ROOT / "docs" / "writing-a-measurement.md"
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```\n", re.DOTALL)
COPIED = ("collector", "roles", "playbooks", "plugins", "inventory", "tests", "ansible.cfg",
          "pyproject.toml", ".ansible-lint")  # fmt: skip


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(GUIDE.read_text()))


def test_the_guide_shows_a_whole_measurement_in_two_new_files_besides_its_role():
    files = set(examples())
    role = {f for f in files if f.startswith("roles/loadavg/")}
    assert role == {
        "roles/loadavg/defaults/main.yml",
        "roles/loadavg/meta/argument_specs.yml",
        "roles/loadavg/meta/main.yml",
        "roles/loadavg/tasks/start.yml",
    }
    assert files - role == {
        "collector/measurements/loadavg.py",
        "tests/unit/measurements/test_loadavg.py",
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("guide") / "project"
    copy.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, copy / name)
    for path, text in examples().items():
        target = copy / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return copy


def run(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=project, env={**env(venv_on_path=True), "PYTHONPATH": str(project)},
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_the_example_is_lint_clean(project: Path):
    python = ["collector/measurements/loadavg.py", "tests/unit/measurements/test_loadavg.py"]
    for check in (["check"], ["format", "--check"]):
        result = run(project, str(BIN / "ruff"), *check, *python)
        assert result.returncode == 0, result.stdout + result.stderr
    result = run(
        project, str(BIN / "ansible-lint"), "--profile", "production", "--offline",
        "roles/loadavg", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_its_tests_and_the_registry_checks_pass(project: Path):
    pytest_ = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = run(project, *pytest_, "tests/unit/measurements/test_loadavg.py")
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-3000:]
    result = run(project, *pytest_, "tests/unit/measurements/test_registry.py")
    assert result.returncode == 0, result.stdout[-3000:]
    # the registry's checks of the new measurement itself: role and module agree
    result = run(project, *pytest_, "-k", "loadavg", "tests/unit/measurements/test_registry.py")
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-3000:]


def test_it_measures(project: Path, tmp_path: Path):
    config = tmp_path / "bench.yaml"
    settings = {
        "description": "the guide's example",
        "duration": 3,
        "measurements": [{"loadavg": {"machine": "host"}}],
        "databases": {"local": str(tmp_path / "bench.db")},
    }
    config.write_text(yaml.safe_dump(settings))
    result = run(project, sys.executable, "-m", "collector", "run", "-c", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    database = tmp_path / "bench.db"
    (experiment,) = store.list_experiments(database)
    shown = store.get_experiment(database, experiment["uuid"])
    assert shown["status"] == "ok", shown["status_detail"]
    assert 2 <= shown["tables"]["loadavg"] <= 5  # one a second for 3 s
    fields, rows = store.read_table(database, "samplers", experiment["uuid"])
    sampler = dict(zip(fields, rows[0], strict=True))
    # stopped and fetched by the run: the role has neither stop nor collect
    assert sampler["sampler"] == "loadavg" and sampler["end_reason"] == "window_end"
    shown = run(project, sys.executable, "-m", "collector", "show", experiment["uuid"],
                "--db", str(database), "--json")  # fmt: skip
    figures = json.loads(shown.stdout)["figures"]["loadavg"]["localhost"]
    assert figures["samples"] == shown_rows(database, experiment["uuid"])
    assert figures["load1_mean"] is not None
    parsed = run(
        project, sys.executable, "-m", "collector", "parse", "loadavg",
        str(database.parent / "runs" / experiment["uuid"] / "raw/localhost/loadavg/output"),
    )  # fmt: skip
    assert parsed.returncode == 0 and parsed.stdout.startswith("lines: "), parsed.stderr
    assert "0 looked like the format but did not parse" in parsed.stdout
    assert "\nloadavg: " in parsed.stdout and "warning" not in parsed.stdout


def shown_rows(database: Path, uuid: str) -> int:
    return len(store.read_table(database, "loadavg", uuid)[1])
