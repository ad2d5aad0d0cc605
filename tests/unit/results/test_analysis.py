"""pandas access and export, on experiments saved by the real store."""

from __future__ import annotations

import csv
import json

import pytest

from collector.errors import StoreError
from collector.results.analysis import export, open_results
from collector.store.experiment import Experiment


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "bench.db"
    for rate, cpu in (("0", 10.0), ("4mbit", 20.0)):
        e = Experiment(f"rate {rate}", started_at=100.0, ended_at=110.0, sweep_id="sweep-x")
        e.set_parameter("sweep", "measurements/network_conditions/rate", rate)
        e.set_parameter("test", "interval", 1)
        e.set_parameter("test", "machine", ["guest"])
        t = e.create_table("test", ["host", "time", "cpu"])
        t.add_many([("g", 100.0 + i, cpu + i) for i in range(3)])
        e.save(path)
    return path


def test_experiments_have_their_parameters_as_columns(database):
    frame = open_results(database).experiments()
    assert list(frame["description"]) == ["rate 0", "rate 4mbit"]
    assert list(frame["sweep.measurements/network_conditions/rate"]) == ["0", "4mbit"]
    assert list(frame["test.interval"]) == [1, 1]
    assert frame["test.machine"].iloc[0] == json.dumps(["guest"])
    assert list(frame["duration"]) == [10.0, 10.0]
    assert set(frame["sweep_id"]) == {"sweep-x"}


def test_a_table_for_some_experiments_and_the_summaries(database):
    results = open_results(database)
    uuids = list(results.experiments()["uuid"])
    one = results.table("test", uuids[1:])
    assert list(one["cpu"]) == [20.0, 21.0, 22.0]
    assert set(one["experiment_uuid"]) == {uuids[1]}
    assert len(results.table("test")) == 6
    assert results.table("test", []).empty
    figures = results.summaries(uuids)
    assert list(figures["test.g.cpu_mean_pct"]) == [11.0, 21.0]


def test_export_writes_every_table_as_csv(database, tmp_path):
    uuid = open_results(database).experiments()["uuid"].iloc[0]
    written = export(database, uuid[:8], tmp_path / "out")
    assert sorted(p.name for p in written) == ["parameters.csv", "test.csv"]
    with (tmp_path / "out" / "test.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["cpu"] for r in rows] == ["10.0", "11.0", "12.0"]
    assert {r["experiment_uuid"] for r in rows} == {uuid}


def test_a_file_that_is_not_ours_is_refused(tmp_path):
    bogus = tmp_path / "x.db"
    bogus.write_text("not a database\n")
    with pytest.raises(StoreError, match="is not a database of this tool"):
        open_results(bogus)


def test_experiment_and_sweep_lookups_read_through_the_store(database):
    from collector import store

    results = open_results(database)
    uuids = list(results.experiments()["uuid"])
    assert results.resolve(uuids[1][:6]) == uuids[1]
    got = results.experiment(uuids[1][:6])
    # one reader: what show prints and what reports lay out are the same record
    assert got == store.get_experiment(database, uuids[1])
    assert set(got) == {
        "uuid", "description", "status", "status_detail", "started_at", "ended_at", "duration",
        "sweep_id", "created_at", "imported", "parameters", "tables", "attachments",
    }  # fmt: skip
    names = [(p["measurement"], p["name"]) for p in got["parameters"]]
    assert names == sorted(names)
    assert results.sweep("sweep-") == ("sweep-x", uuids)
    assert results.sweep("x") == ("sweep-x", uuids)


def test_lookups_name_the_database_in_their_errors(database):
    results = open_results(database)
    for call, message in (
        (lambda: results.resolve("zz"), f"no experiment 'zz' in {database}"),
        (lambda: results.resolve("abc"), "experiment prefix 'abc' is too short"),
        (lambda: results.resolve("ffffffff"), f"no experiment 'ffffffff' in {database}"),
        (lambda: results.sweep("nope"), f"no sweep 'nope' in {database} (sweeps there: sweep-x)"),
    ):
        with pytest.raises(StoreError) as caught:
            call()
        assert message in str(caught.value)
