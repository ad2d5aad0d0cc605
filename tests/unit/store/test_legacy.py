"""Importing the old script's SQLite result file: built here from its schema, then imported."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from collector import cli, store
from collector.errors import StoreError
from collector.results.analysis import open_results
from collector.results.compare import compare
from collector.results.report import experiment_report
from collector.store.legacy import import_legacy_sqlite

OLD_SCHEMA = """
CREATE TABLE experiments (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT DEFAULT (datetime('now')),
    description TEXT, FPS INTEGER, width INTEGER, height INTEGER, GOP INTEGER, bitrate INTEGER,
    num_ref_frames INTEGER, uuid TEXT, imported INTEGER DEFAULT 0);
CREATE TABLE attachments (id_experiment INTEGER, name TEXT, content BLOB);
CREATE TABLE frames (id_experiment INTEGER, agent_time REAL, size INTEGER, mm_time INTEGER,
    capture_duration REAL, encode_duration REAL, send_duration REAL, client_time REAL,
    decode_duration REAL, queue_size INTEGER);
CREATE TABLE guest_stats (id_experiment INTEGER, time REAL, gpu_memory REAL, gpu_usage REAL,
    encode_usage REAL, decode_usage REAL);
CREATE TABLE host_stats (id_experiment INTEGER, time REAL, cpu_usage REAL);
CREATE TABLE client_stats (id_experiment INTEGER, time REAL, gpu_usage REAL,
    app_gpu_usage REAL, cpu_usage REAL, app_cpu_usage REAL);
"""
KNOWN = "0b7c0a52-2d4c-4a57-8a3e-2f5d1c9e8b61"
T0 = 1555000000.0


def old_file(path: Path) -> Path:
    """Two old experiments: one with a uuid, one without (the script's earliest rows)."""
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO experiments (time, description, FPS, width, height, GOP, bitrate, "
        "num_ref_frames, uuid) VALUES ('2019-04-11 16:26:40', 'h264 30fps', 30, 1920, 1080, "
        "0, 8000000, 2, ?)",
        (KNOWN,),
    )
    db.execute(
        "INSERT INTO experiments (time, description, FPS, bitrate) "
        "VALUES ('2019-04-11 17:00:00', 'h264 10fps', 10, 4000000)"
    )
    for experiment, fps in ((1, 30), (2, 10)):
        for n in range(fps * 2):  # two seconds of frames
            t = T0 + n / fps
            db.execute(
                "INSERT INTO frames VALUES (?, ?, ?, ?, 0.004, 0.010, 0.001, ?, 0.003, 1)",
                (experiment, t, 20000 + n, n * 33, t + 0.05),
            )
        db.execute("INSERT INTO host_stats VALUES (?, ?, ?)", (experiment, T0, 12.5))
        db.execute("INSERT INTO host_stats VALUES (?, ?, ?)", (experiment, T0 + 1, 17.5))
        db.execute("INSERT INTO guest_stats VALUES (?, ?, 512, 40, 30, 0)", (experiment, T0))
        db.execute("INSERT INTO client_stats VALUES (?, ?, 20, 10, 35, 25)", (experiment, T0))
        db.execute(
            "INSERT INTO attachments VALUES (?, 'benchmark.yaml', ?)",
            (experiment, b"measurements: [Test]\n"),
        )
    db.commit()
    db.close()
    return path


def test_old_experiments_become_ours_once(tmp_path: Path):
    source = old_file(tmp_path / "benchmark.db")
    database = tmp_path / "new.db"
    done = import_legacy_sqlite(source, database)
    assert len(done.imported) == 2 and done.imported[0] == KNOWN and not done.already_there
    again = import_legacy_sqlite(source, database)
    assert again.imported == [] and sorted(again.already_there) == sorted(done.imported)
    assert len(store.list_experiments(database)) == 2
    # the uuid of an experiment that had none is the same on every import
    assert import_legacy_sqlite(source, tmp_path / "other.db").imported == done.imported

    shown = store.get_experiment(database, KNOWN)
    assert shown["description"] == "h264 30fps" and shown["status"] == "ok"
    assert shown["started_at"] == 1555000000.0  # '2019-04-11 16:26:40' UTC
    assert shown["tables"] == {
        "legacy_frames": 60, "legacy_guest_stats": 1, "legacy_host_stats": 2,
        "legacy_client_stats": 1,
    }  # fmt: skip
    parameters = {(p["measurement"], p["name"]): p["value"] for p in shown["parameters"]}
    assert parameters[("streaming_agent", "FPS")] == 30
    assert parameters[("streaming_agent", "framerate")] == 30  # ours, for comparisons
    assert parameters[("streaming_agent", "bitrate")] == 8000000
    assert parameters[("streaming_agent", "num_ref_frames")] == 2
    assert parameters[("legacy", "source")] == str(source)
    columns, rows = store.read_table(database, "legacy_frames", KNOWN)
    assert columns[:3] == ["host", "time", "size"] and rows[0][:3] == ("guest", T0, 20000)
    assert store.read_attachment(database, KNOWN, "benchmark.yaml") == b"measurements: [Test]\n"


def test_imported_experiments_show_report_and_compare(tmp_path: Path):
    database = tmp_path / "new.db"
    done = import_legacy_sqlite(old_file(tmp_path / "benchmark.db"), database)
    out = io.StringIO()
    assert cli.main(["show", KNOWN, "--db", str(database), "--json"], out=out) == 0
    figures = json.loads(out.getvalue())["figures"]
    assert figures["legacy_frames"]["frames"] == 60
    assert figures["legacy_frames"]["fps"] == pytest.approx(30, abs=0.6)
    assert figures["legacy_frames"]["encode_mean_ms"] == 10.0
    assert figures["legacy_host_stats"]["host"]["cpu_usage_mean"] == 15.0
    results = open_results(database)
    written = experiment_report(results, KNOWN, tmp_path / "report")
    assert "legacy_frames" in written.html.read_text()
    c = compare(results, done.imported[0], done.imported[1])
    assert c is not None
    out = io.StringIO()
    assert cli.main(["compare", done.imported[0], done.imported[1], "--db", str(database)],
                    out=out) == 0  # fmt: skip
    assert "legacy_frames" in out.getvalue() and "fps" in out.getvalue()


def test_the_command_and_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    source = old_file(tmp_path / "benchmark.db")
    database = tmp_path / "new.db"
    out = io.StringIO()
    assert cli.main(["import-legacy", str(source), "--db", str(database)], out=out) == 0
    assert out.getvalue().endswith(
        f"imported 2 experiment(s) from {source} into {database}; 0 already there\n"
    )
    out = io.StringIO()
    assert cli.main(["import-legacy", str(source), "--db", str(database)], out=out) == 0
    assert out.getvalue() == (
        f"imported 0 experiment(s) from {source} into {database}; 2 already there\n"
    )
    not_old = tmp_path / "new-style.db"
    sqlite3.connect(not_old).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(StoreError, match="no 'experiments' table of the old script's results"):
        import_legacy_sqlite(not_old, database)
    (tmp_path / "text.db").write_text("hello")
    with pytest.raises(StoreError, match=r"text\.db: not a SQLite database"):
        import_legacy_sqlite(tmp_path / "text.db", database)
    capsys.readouterr()
    assert cli.main(["import-legacy", str(tmp_path / "missing.db"), "--db", str(database)],
                    out=io.StringIO()) != 0  # fmt: skip
    assert "missing.db: no such file" in capsys.readouterr().err
