"""A real sweep on this machine, interrupted and resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from collector import store
from tests.integration.helpers import ROOT, collector, database, env, write_config

pytestmark = pytest.mark.integration


def sweep_experiments(config):
    out = []
    for e in store.list_experiments(database(config)):
        full = store.get_experiment(database(config), e["uuid"])
        params = {p["name"]: p["value"] for p in full["parameters"] if p["measurement"] == "sweep"}
        out.append((full, params))
    return out


def test_a_three_point_sweep_interrupted_and_resumed(tmp_path):
    config = write_config(
        tmp_path,
        [{"test": {"interval": 1}}],
        duration=3,
        matrix={"measurements/test/interval": [1, 2], "duration": [3, 4]},
    )
    dry = collector("run", "-c", str(config), "--matrix", "--dry-run")
    assert dry.returncode == 0
    assert "3 runs (baseline mode, repeat 1), 0 done already" in dry.stdout
    assert "estimated time:" in dry.stdout

    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "run", "-c", str(config), "--matrix"],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    # Interrupt the second run once its window is open.
    deadline = time.time() + 180
    while time.time() < deadline:
        time.sleep(0.5)
        windows = [p for p in (tmp_path / "db" / "runs").glob("*/events.jsonl")
                   if '"kind": "window"' in p.read_text()]  # fmt: skip
        if len(windows) >= 2:
            break
    proc.send_signal(signal.SIGTERM)  # what `timeout` and CI systems send; Ctrl-C alike
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, out
    assert "== run 1/3" in out and "sweep interrupted; run it again to resume" in out
    first = sweep_experiments(config)
    assert sorted(e["status"] for e, _ in first) == ["interrupted", "ok"]

    again = collector("run", "-c", str(config), "--matrix")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "3 runs (baseline mode, repeat 1), 1 done already" in again.stdout
    assert "== run 1/2" in again.stdout and "run 3/" not in again.stdout
    experiments = sweep_experiments(config)
    ok = [(e, p) for e, p in experiments if e["status"] == "ok"]
    assert len(ok) == 3
    assert len({p["key"] for _, p in ok}) == 3  # no finished point was repeated
    sweep_ids = {e["sweep_id"] for e, _ in experiments}
    assert len(sweep_ids) == 1 and next(iter(sweep_ids)).startswith("sweep-")
    points = sorted((p["measurements/test/interval"], p["duration"]) for _, p in ok)
    assert points == [(1, 3), (1, 4), (2, 3)]
    durations = {(p["measurements/test/interval"], p["duration"]): e["duration"] for e, p in ok}
    assert durations[(1, 4)] == pytest.approx(4, abs=0.01)
    done = collector("run", "-c", str(config), "--matrix")
    assert "3 done already" in done.stdout and "== run" not in done.stdout


def test_a_sweep_checks_each_host_once_per_measurement_setting(tmp_path):
    """The second run of a point reuses the first one's preflight; a changed option checks again."""
    config = write_config(
        tmp_path, ["test"], duration=1, matrix={"repeat": 2, "measurements/test/interval": [1, 2]}
    )
    done = collector("run", "-c", str(config), "--matrix")
    assert done.returncode == 0, done.stdout[-3000:]
    runs = sorted(
        (e["started_at"], e["uuid"], p["measurements/test/interval"])
        for e, p in sweep_experiments(config)
    )
    assert [interval for _, _, interval in runs] == [1, 1, 2, 2]
    checked_by = {}
    for _, uuid, _ in runs:
        lines = (tmp_path / "db" / "runs" / uuid / "events.jsonl").read_text().splitlines()
        events = [json.loads(line) for line in lines]
        (host,) = [e for e in events if e["kind"] == "host"]
        assert host["info"]["cpus"] > 0  # described, here or by the run it names
        assert host["clock_method"] == "exchange"  # the clock is measured every run
        checked_by[uuid] = host["checked_by"]
    first, second, third, fourth = [uuid for _, uuid, _ in runs]
    assert checked_by[first] == first
    assert checked_by[second] == first
    assert checked_by[third] == third  # interval 2: the host's options changed
    assert checked_by[fourth] == third
    hosts = store.read_table(database(config), "hosts", fourth)
    assert hosts[1], "the reused description is in the experiment's hosts table"
