"""Reports, comparisons and exports of a real sweep run on this machine.

The sweep has a difference known in advance: a busy loop on one of the two
CPUs, or a sleeping process, twice each. The noise test must call the busy
loop's CPU real; the numbers in the reports must be the database's.
"""

from __future__ import annotations

import json
import sqlite3
from statistics import fmean

import pandas as pd
import pytest

from collector import store
from tests.integration.helpers import collector, database, write_config
from tests.integration.reports import check_report, report

pytestmark = pytest.mark.integration

IDLE = ["sleep", "600"]
BUSY = ["awk", "BEGIN { while (1) {} }"]
CPU = "system.localhost.cpu_busy_mean_pct"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report-sweep")
    config = write_config(
        directory,
        [{"workload": {"name": "cpu", "command": IDLE}}, "system",
         {"process": {"names_by_group": {"guest": ["awk", "sleep"]}}}],
        duration=3, description="busy loop or not",
        matrix={"repeat": 2, "measurements/workload/command": [IDLE, BUSY]},
    )  # fmt: skip
    result = collector("run", "-c", str(config), "--matrix", timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    db = database(config)
    sweep_id, uuids = store.open_reader(db).sweep("sweep-")
    runs = {"idle": [], "busy": []}
    for uuid in uuids:
        e = store.get_experiment(db, uuid)
        assert e["status"] == "ok", e["status_detail"]
        command = next(p["value"] for p in e["parameters"]
                       if p["measurement"] == "workload" and p["name"] == "command")  # fmt: skip
        runs["busy" if command == BUSY else "idle"].append(uuid)
    assert len(runs["idle"]) == len(runs["busy"]) == 2
    return config, db, sweep_id, runs


def cpu_busy_mean(db, uuid: str) -> float:
    """What `show` computes, straight from the table."""
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute(
            "SELECT AVG(cpu_busy) FROM system WHERE experiment_uuid = ? AND host = 'localhost'",
            (uuid,),
        ).fetchone()
    return round(value, 2)


def test_sweep_report_shows_the_database_numbers_and_renders(sweep, tmp_path):
    config, db, sweep_id, runs = sweep
    page, plots = report(config, "--sweep", sweep_id.removeprefix("sweep-")[:6], scratch=tmp_path)
    assert f"workload_command--{CPU}.png" in plots, plots

    for kind, value in (("idle", IDLE), ("busy", BUSY)):
        key = f"workload/command={json.dumps(value)}|{CPU}"
        assert page.runs[key] == 2
        expected = fmean(cpu_busy_mean(db, u) for u in runs[kind])
        assert page.values[key] == pytest.approx(expected, abs=0.006)
    text = " ".join(page.text)
    assert sweep_id in text and "4 ok" in text


def test_experiment_report_shows_its_figures_plots_and_parameters(sweep, tmp_path):
    config, db, _, runs = sweep
    uuid = runs["busy"][0]
    page, plots = report(config, uuid[:8], scratch=tmp_path)
    assert "cpu.png" in plots, plots  # no traffic here: no bandwidth plot
    assert page.values[CPU] == pytest.approx(cpu_busy_mean(db, uuid), abs=0.006)
    with sqlite3.connect(db) as conn:
        samples = conn.execute(
            "SELECT COUNT(DISTINCT time) FROM process "
            "WHERE experiment_uuid = ? AND command = 'awk'",
            (uuid,),
        ).fetchone()[0]
    assert page.values["process.localhost/awk.samples"] == samples > 0
    text = " ".join(page.text)
    assert json.dumps(BUSY) in text  # the parameters table
    assert "Debian" in text  # host metadata


def test_compare_calls_the_busy_loop_real_with_repetitions(sweep, tmp_path):
    config, db, _, runs = sweep
    idle, busy = runs["idle"][0], runs["busy"][0]
    result = collector("compare", "-c", str(config), idle[:8], busy[:8], "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert sorted(found["a"]) == sorted(runs["idle"]) and sorted(found["b"]) == sorted(runs["busy"])
    assert "Welch" in found["method"]
    cpu = next(m for m in found["metrics"] if m["metric"] == CPU)
    idle_values = [cpu_busy_mean(db, u) for u in runs["idle"]]
    busy_values = [cpu_busy_mean(db, u) for u in runs["busy"]]
    assert cpu["mean_a"] == pytest.approx(fmean(idle_values))
    assert cpu["mean_b"] == pytest.approx(fmean(busy_values))
    # one of the two CPUs busy: about +50 points, far beyond the noise
    assert cpu["difference"] > 30 and cpu["verdict"] == "real"
    assert cpu["low"] > 0

    out = tmp_path / "compare"
    text = collector("compare", "-c", str(config), idle, busy, "-o", str(out))
    assert text.returncode == 0, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("system localhost cpu_busy"))
    assert line.endswith("real") and "[" in line
    assert "changed beyond the run-to-run noise" in text.stdout
    page = check_report(out / "report.html", sorted(out.glob("*.png")), tmp_path)
    assert page.values[f"A|{CPU}"] == pytest.approx(fmean(idle_values))
    assert page.values[f"B|{CPU}"] == pytest.approx(fmean(busy_values))
    assert json.dumps(BUSY) in " ".join(page.text)  # parameters that differ


def test_compare_of_single_runs_says_the_noise_is_unknown(sweep):
    config, _, _, runs = sweep
    result = collector("compare", "-c", str(config), runs["idle"][0], runs["busy"][0],
                       "--no-repetitions")  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = next(
        ln for ln in result.stdout.splitlines() if ln.startswith("system localhost cpu_busy")
    )
    assert line.endswith("noise unknown: one run of A")
    # runs named by hand form a side
    manual = collector("compare", "-c", str(config), ",".join(runs["idle"]),
                       ",".join(runs["busy"]), "--json")  # fmt: skip
    cpu = next(m for m in json.loads(manual.stdout)["metrics"] if m["metric"] == CPU)
    assert cpu["n_a"] == cpu["n_b"] == 2 and cpu["verdict"] == "real"


def test_bad_requests_get_one_line_errors(sweep, tmp_path):
    config, _, _, runs = sweep
    uuid = runs["idle"][0]
    cases = [
        (("report", "-c", str(config), "-o", str(tmp_path / "x")), "UUID(s) or --sweep"),
        (("report", "-c", str(config), "--sweep", "nosuch", "-o", str(tmp_path / "x")),
         "no sweep 'nosuch'"),
        (("compare", "-c", str(config), uuid, runs["idle"][1]), "share experiment"),
        (("compare", "-c", str(config), uuid, "ffffffff"), "no experiment 'ffffffff'"),
    ]  # fmt: skip
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cases.append((("report", "-c", str(config), uuid, "-o", str(blocker / "sub")),
                  f"cannot write the report to {blocker / 'sub'}"))  # fmt: skip
    for args, message in cases:
        result = collector(*args)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_table_as_in_the_database(sweep, tmp_path, fmt):
    config, db, _, runs = sweep
    uuid = runs["busy"][1]
    out = tmp_path / fmt
    result = collector("export", "-c", str(config), uuid, "--format", fmt, "-o", str(out))
    assert result.returncode == 0, result.stderr
    experiment = store.get_experiment(db, uuid)
    assert {p.stem for p in out.iterdir()} == {*experiment["tables"], "parameters"}
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    for name, count in experiment["tables"].items():
        frame = read(out / f"{name}.{fmt}") if count else None
        if frame is None:
            continue
        assert len(frame) == count, name
    system = read(out / f"system.{fmt}")
    fields, values = store.read_table(db, "system", uuid)
    expected = pd.DataFrame(values, columns=fields)
    for column in ("cpu_busy", "time"):
        assert list(system[column]) == pytest.approx(list(expected[column]), rel=1e-15)
