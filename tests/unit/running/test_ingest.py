"""Ingest: a recorded run directory into an Experiment, as a pure function of that directory.

The fixtures are real run directories (tests/fixtures/runs/README.md): a lab
window of six measurements over SSH, and a local run whose ``test`` failed in
start. Expected numbers are read from the raw files and events here, not with
ingest's own helpers.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from collector import cli, store
from collector.config.plan import read_plan
from collector.errors import StoreError
from collector.results.summaries import file_warnings
from collector.running import recover
from collector.running.events import append_event, read_events
from collector.running.ingest import build_experiment, save_run

RUNS = Path(__file__).parents[2] / "fixtures" / "runs"
LAB = RUNS / "lab-spice"
LOCAL = RUNS / "local-partial"


def built(run_dir: Path):
    return build_experiment(run_dir, read_plan(run_dir), read_events(run_dir), frozenset())


def window(run_dir: Path) -> tuple[float, float]:
    event = next(e for e in read_events(run_dir) if e["kind"] == "window")
    return event["start_at"], event["end_at"]


def offset(run_dir: Path, host: str) -> float:
    return next(
        e["clock_offset"] for e in read_events(run_dir) if e["kind"] == "host" and e["host"] == host
    )


def applied(run_dir: Path, host: str) -> float:
    """The offset a host's times move by: none where it is within its uncertainty."""
    event = next(e for e in read_events(run_dir) if e["kind"] == "host" and e["host"] == host)
    measured = abs(event["clock_offset"]) > event["clock_uncertainty"]
    return event["clock_offset"] if measured else 0.0


def margin_lines(run_dir: Path) -> list[float]:
    """The sampler's timestamps of the client's `video margin` lines, as written."""
    text = (run_dir / "raw/lab-client/remote_viewer/output").read_text()
    return [
        float(line.split(" ", 1)[0])
        for line in text.splitlines()
        if "video margin: " in line and "set to 0" not in line
    ]


def test_lab_window_frames_are_the_window_s_on_the_controller_s_clock():
    experiment, problems, rows = built(LAB)
    start, _ = window(LAB)
    shift = applied(LAB, "lab-client")
    stamps = margin_lines(LAB)
    in_window = [t - shift for t in stamps if t - shift >= start]
    assert len(in_window) < len(stamps)  # the warm-up's frames were logged, and are left out
    table = experiment.tables["client_frames"]
    assert table.fields[0] == "host"
    times = [row[table.fields.index("time")] for row in table.rows]
    assert times == pytest.approx(in_window)
    assert problems == [] and rows > len(in_window)


def test_lab_hosts_samplers_and_status():
    experiment, _, _ = built(LAB)
    hosts = experiment.tables["hosts"]
    assert [row[0] for row in hosts.rows] == ["lab-client", "lab-guest", "lab-host"]
    at = hosts.fields.index("clock_offset_s")
    assert [row[at] for row in hosts.rows] == [
        offset(LAB, h) for h in ("lab-client", "lab-guest", "lab-host")
    ]
    statuses = sorted(LAB.glob("raw/*/*/status.json"))
    samplers = experiment.tables["samplers"]
    assert len(samplers.rows) == len(statuses) == 10
    reason = samplers.fields.index("end_reason")
    assert {row[reason] for row in samplers.rows} == {"window_end"}
    assert experiment.tables["failures"].rows == []


def test_parameters_are_what_the_roles_ran_with():
    experiment, _, _ = built(LAB)
    values = {(m, n): v for m, n, v in experiment.parameters}
    plan = read_plan(LAB)
    viewer = next(m for m in plan["measurements"] if m["role"] == "remote_viewer")
    # the role's default is empty: the lab's inventory set the URI
    assert viewer["variables"]["remote_viewer_uri"] == ""
    uri = viewer["inventory_variables"]["lab-client"]["remote_viewer_uri"]
    assert uri.startswith("spice://")
    assert values[("remote_viewer", "uri")] == uri
    assert values[("run", "duration")] == plan["duration"]
    assert values[("remote_viewer", "machine")] == ["client"]


def test_a_measurement_that_failed_in_start_leaves_no_rows():
    experiment, problems, rows = built(LOCAL)
    assert "test" not in experiment.tables
    assert rows > 0 and experiment.tables["system"].rows
    failures = experiment.tables["failures"]
    assert [(r[0], r[1], r[2]) for r in failures.rows] == [("localhost", "test", "start")]
    assert len(problems) == 1 and problems[0].startswith("test on localhost failed in start")
    sampled = [row[2] for row in experiment.tables["samplers"].rows]
    assert sampled == ["system"]


def test_a_host_lost_before_collect_is_a_problem_and_the_rest_is_kept(tmp_path: Path):
    run_dir = tmp_path / "run"
    shutil.copytree(LAB, run_dir)
    shutil.rmtree(run_dir / "raw" / "lab-guest")
    experiment, problems, _ = built(run_dir)
    assert sorted(problems) == [
        "process on lab-guest: no result (host lost during the run?)",
        "system on lab-guest: no result (host lost during the run?)",
        "workload on lab-guest: no result (host lost during the run?)",
    ]
    assert experiment.tables["client_frames"].rows


def test_building_twice_gives_the_same_experiment():
    first, _, _ = built(LAB)
    second, _, _ = built(LAB)
    assert {n: t.rows for n, t in first.tables.items()} == {
        n: t.rows for n, t in second.tables.items()
    }
    assert first.parameters == second.parameters


def test_save_writes_once_and_leaves_the_run_directory_as_it_was(tmp_path: Path):
    run_dir = tmp_path / "run"
    shutil.copytree(LOCAL, run_dir)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    database = tmp_path / "again.db"
    saved = save_run(run_dir, database=database)
    assert saved.status == "partial" and saved.database == str(database)
    shown = store.get_experiment(database, saved.uuid)
    assert shown["status"] == "partial" and shown["tables"]["failures"] == 1
    names = {a["name"] for a in shown["attachments"]}
    assert {"plan.json", "events.jsonl", "config.json", "raw/system/output"} <= names
    with pytest.raises(StoreError, match="never overwritten"):
        save_run(run_dir, database=database)
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_lost_host_is_a_failure_until_it_is_recovered(tmp_path: Path):
    run_dir = tmp_path / "run"
    shutil.copytree(LAB, run_dir)
    lost = {
        "kind": "failure", "lost": True, "host": "lab-guest", "phase": "stop", "measurement": "",
        "task": "", "message": "stopped answering over SSH during stop",
    }  # fmt: skip
    append_event(run_dir, lost)
    append_event(run_dir, {**lost, "phase": "collect"})  # a second attempt says it again
    experiment, problems, _ = built(run_dir)
    assert problems == ["lab-guest was lost in stop: stopped answering over SSH during stop"]
    failures = experiment.tables["failures"].rows
    assert [(r[0], r[2]) for r in failures] == [("lab-guest", "stop")]
    # its files are there, but nothing of a lost host counts until it is recovered
    assert "lab-guest" not in {row[0] for row in experiment.tables["system"].rows}
    assert recover.lost_hosts(read_events(run_dir)) == ["lab-guest"]

    append_event(run_dir, {"kind": "recovered", "host": "lab-guest"})
    experiment, problems, _ = built(run_dir)
    assert problems == [] and experiment.tables["failures"].rows == []
    assert "lab-guest" in {row[0] for row in experiment.tables["system"].rows}
    assert recover.lost_hosts(read_events(run_dir)) == []


def test_each_raw_file_s_lines_are_recorded_and_what_was_not_read_is_said(tmp_path: Path):
    experiment, _, _ = built(LAB)
    table = experiment.tables["parsed_files"]
    files = [dict(zip(table.fields, row, strict=True)) for row in table.rows]
    client = next(f for f in files if f["file"] == "remote_viewer/output")
    assert client["host"] == "lab-client" and client["measurement"] == "remote_viewer"
    assert client["recognised"] >= len(margin_lines(LAB)) > 0
    assert client["lines"] == client["recognised"] + client["unparsed"] + client["ignored"]
    assert {f["warning"] for f in files} == {None}
    assert {(f["host"], f["file"]) for f in files} >= {
        ("lab-host", "spice_server/output"), ("lab-guest", "system/output"),
    }  # fmt: skip

    run_dir = tmp_path / "run"
    shutil.copytree(LAB, run_dir)
    output = run_dir / "raw/lab-client/remote_viewer/output"
    broken = "(rv:1): GSpice-DEBUG: ../src/channel-display.c:1693 display-2:0: video margin: x"
    output.write_text(output.read_text() + broken + "\n")
    (run_dir / "raw/lab-host/spice_server/output").write_text("qemu-system-x86_64: started\n")
    database = tmp_path / "warned.db"
    saved = save_run(run_dir, database=database)
    reader = store.open_reader(database)
    shown = reader.experiment(saved.uuid)
    warnings = file_warnings(reader, saved.uuid, shown["tables"])
    assert sorted(warnings) == [
        "remote_viewer on lab-client, remote_viewer/output: 1 line(s) looked like the format but "
        "did not parse (a version or a patch the parser does not know?), the first: "
        f"{broken!r}",
        "spice_server on lab-host, spice_server/output: no spice-server debug lines: was QEMU "
        "started with G_MESSAGES_DEBUG=Spice (or all; SPICE_DEBUG_LEVEL=4 for spice 0.12)?",
    ]
    out = io.StringIO()
    assert cli.main(["show", saved.uuid, "--db", str(database)], out=out) == 0
    shown_lines = out.getvalue().splitlines()
    assert sorted(line for line in shown_lines if line.startswith("  warning    ")) == [
        f"  warning    {w}" for w in sorted(warnings)
    ]
    out = io.StringIO()
    assert cli.main(["show", saved.uuid, "--db", str(database), "--json"], out=out) == 0
    assert sorted(json.loads(out.getvalue())["warnings"]) == sorted(warnings)


def test_the_old_script_s_parameter_names_are_kept_next_to_ours(tmp_path: Path):
    run_dir = tmp_path / "run"
    shutil.copytree(LAB, run_dir)
    plan = json.loads((run_dir / "plan.json").read_text())
    viewer = next(m for m in plan["measurements"] if m["role"] == "remote_viewer")
    viewer["legacy_parameters"] = {"FPS": 10, "bitrate": 8000000}
    (run_dir / "plan.json").write_text(json.dumps(plan))
    experiment, _, _ = built(run_dir)
    values = {(m, n): v for m, n, v in experiment.parameters}
    assert values[("remote_viewer", "FPS")] == 10
    assert values[("remote_viewer", "bitrate")] == 8000000
    assert ("remote_viewer", "uri") in values  # ours are still there
