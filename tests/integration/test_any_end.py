"""Any end of `collector run` is a clean end; a killed controller's run is recovered; one run
at a time per inventory."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from collector import store
from tests.integration.helpers import (
    BIN,
    ROOT,
    collector,
    database,
    env,
    only_experiment,
    processes_of,
    rows,
    start_run,
    wait_for_window,
    write_config,
)

pytestmark = pytest.mark.integration


def playbooks_of(run_id: str) -> list[str]:
    return [p for p in processes_of(run_id) if "ansible-playbook" in p]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_and_save_like_ctrl_c(tmp_path: Path, number: int):
    config = write_config(tmp_path, ["test", "system"], duration=120)
    run = start_run(config)
    run_id = wait_for_window(config)
    time.sleep(3)
    run.send_signal(number)
    out, _ = run.communicate(timeout=180)
    assert run.returncode == 130, out
    assert "interrupted: stopping the samplers" in out
    experiment = only_experiment(config)
    assert experiment["uuid"] == run_id and experiment["status"] == "interrupted"
    assert experiment["tables"]["test"] >= 2 and experiment["duration"] < 60
    assert {s["end_reason"] for s in rows(config, "samplers", run_id)} == {"stopped"}
    assert processes_of(run_id) == []


def test_a_killed_controller_leaves_no_playbook_and_recover_saves_the_run(tmp_path: Path):
    duration = 12
    config = write_config(tmp_path, ["test", "system"], duration=duration)
    run = start_run(config)
    run_id = wait_for_window(config)
    go = Path(f"/tmp/spice-bench/{run_id}/localhost/go.json")  # the samplers are released
    deadline = time.time() + 30
    while not go.exists() and time.time() < deadline:
        time.sleep(0.1)
    run.kill()
    run.wait(timeout=10)
    deadline = time.time() + 15
    while playbooks_of(run_id) and time.time() < deadline:
        time.sleep(0.2)
    assert playbooks_of(run_id) == [], "ansible-playbook outlived the killed controller"
    assert not database(config).exists() or store.list_experiments(database(config)) == []
    # the samplers still end at the window's end, on their own
    time.sleep(duration + 4)
    assert processes_of(run_id) == []
    recovered = collector("recover", run_id[:8], "-c", str(config))
    assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr[-2000:]
    assert "never saved" in recovered.stdout
    experiment = only_experiment(config)
    assert experiment["uuid"] == run_id and experiment["status"] == "ok"
    assert duration - 3 <= experiment["tables"]["test"] <= duration + 1
    assert {s["end_reason"] for s in rows(config, "samplers", run_id)} == {"window_end"}
    again = collector("recover", run_id, "-c", str(config))
    assert again.returncode == 0 and "nothing to recover" in again.stdout


def test_a_second_run_on_the_same_inventory_is_refused(tmp_path: Path):
    first_config = write_config(tmp_path / "a", ["test"], duration=20)
    second_config = write_config(tmp_path / "b", ["test"], duration=2)
    first = start_run(first_config)
    first_id = wait_for_window(first_config)
    refused = collector("run", "-c", str(second_config))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"in use by run {first_id}" in refused.stderr
    assert "Traceback" not in refused.stderr
    book = subprocess.run(
        [str(BIN / "ansible-playbook"), "playbooks/benchmark.yml", "-e", f"config={second_config}"],
        cwd=ROOT, env=env(venv_on_path=True), capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert book.returncode != 0 and f"in use by run {first_id}" in book.stdout
    out, _ = first.communicate(timeout=180)
    assert first.returncode == 0, out
    # the lock went with the first run: the next one runs, and holds it in turn
    assert collector("run", "-c", str(second_config)).returncode == 0
    assert len(store.list_experiments(database(second_config))) == 1


def test_a_bare_playbook_holds_the_inventory_until_it_ends(tmp_path: Path):
    first_config = write_config(tmp_path / "a", ["test"], duration=15)
    second_config = write_config(tmp_path / "b", ["test"], duration=2)
    book = subprocess.Popen(
        [str(BIN / "ansible-playbook"), "playbooks/benchmark.yml", "-e", f"config={first_config}"],
        cwd=ROOT, env=env(venv_on_path=True), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    first_id = wait_for_window(first_config)
    refused = collector("run", "-c", str(second_config))
    assert refused.returncode == 2 and f"in use by run {first_id}" in refused.stderr
    book.kill()  # however it ends, the lab is free again
    book.wait(timeout=10)
    assert collector("run", "-c", str(second_config)).returncode == 0
