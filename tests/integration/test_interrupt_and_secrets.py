"""Ctrl-C during the window, secrets kept out of everything, bad configs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from collector import store
from tests.integration.helpers import (
    ROOT,
    collector,
    database,
    env,
    only_experiment,
    playbook,
    processes_of,
    rows,
    run_dir,
    write_config,
)

pytestmark = pytest.mark.integration


def test_sigint_during_the_window_saves_an_interrupted_experiment(tmp_path):
    config = write_config(tmp_path, ["test", "system"], duration=120)
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "run", "-c", str(config)],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    runs = tmp_path / "db" / "runs"
    deadline = time.time() + 120
    window_open = False
    while time.time() < deadline and not window_open:
        time.sleep(0.5)
        window_open = any('"kind": "window"' in p.read_text() for p in runs.glob("*/events.jsonl"))
    assert window_open, "the window never opened"
    run_id = next(runs.iterdir()).name
    time.sleep(4)  # let the samplers record a few samples
    assert processes_of(run_id), "samplers should be running now"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, out
    assert "interrupted: stopping the samplers" in out
    experiment = only_experiment(config)
    assert experiment["uuid"] == run_id
    assert experiment["status"] == "interrupted"
    assert experiment["tables"]["test"] >= 2
    assert experiment["duration"] < 60  # ended at the interrupt, not at the planned end
    ends = {s["end_reason"] for s in rows(config, "samplers", run_id)}
    assert ends == {"stopped"}
    assert processes_of(run_id) == []


def test_secrets_stay_out_of_database_run_files_and_output(tmp_path):
    secret = "Pa55-w0rd-never-shown"
    config = write_config(
        tmp_path, ["test"], databases={"local": "db/bench.db", "remote": {"host": "db.invalid"}}
    )
    (tmp_path / "secure.yaml").write_text(
        f"databases:\n  remote:\n    password: {secret}\n    user: bench\n"
    )
    env_secret = "pg-env-Secret-4711"
    result = collector("run", "-c", str(config), "-v", extra_env={"PGPASSWORD": env_secret})
    assert result.returncode == 0, result.stdout[-3000:]
    experiment = only_experiment(config)
    assert secret not in result.stdout + result.stderr
    # the database file, the run directory (plan, events, raw files, runner artifacts)
    assert secret.encode() not in database(config).read_bytes()
    for path in run_dir(config, experiment["uuid"]).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
            assert env_secret.encode() not in path.read_bytes(), path
    config_json = store.read_attachment(database(config), experiment["uuid"], "config.json")
    assert b"********" in config_json


BAD_CONFIGS = [
    ("duration: -5\nmeasurements: [test]\n", "duration: expected a number greater than 0"),
    ("measurements: [Tset]\n", "did you mean 'test'"),
    ("measurements: [test]\ndurration: 3\n", "did you mean 'duration'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_a_bad_config_stops_before_any_host(tmp_path, text, message):
    config = tmp_path / "bench.yaml"
    config.write_text(text + "databases:\n  local: db/bench.db\n")
    cli = collector("run", "-c", str(config))
    assert cli.returncode == 2
    assert message in cli.stderr and "bench.yaml" in cli.stderr
    assert "Traceback" not in cli.stderr
    assert "== Preflight" not in cli.stdout
    book = playbook("-e", f"config={config}")
    assert book.returncode != 0
    assert message in book.stdout
    assert "Preflight" not in book.stdout
    assert not (tmp_path / "db").exists()
