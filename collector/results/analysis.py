"""pandas access to results, for notebooks and reports.

    from collector import open_results
    db = open_results("results/benchmark.db")  # or collector.store.remote.RemoteSettings
    experiments = db.experiments()  # one row each, parameters as columns
    frames = db.table("client_frames", experiments.uuid)  # any table, some experiments
    figures = db.summaries(experiments.uuid)  # the figures of `show`, one row each

Local SQLite and the shared PostgreSQL give the same frames: the schema is
the same on both sides. Reports and comparisons read through this class
only, so they work on either database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from collector.results.summaries import summarize_records, tables_read
from collector.store.reader import Reader, open_reader

EXPERIMENT_COLUMNS = ["uuid", "description", "status", "status_detail", "started_at", "ended_at",
                      "sweep_id"]  # fmt: skip


class Results:
    """One database's experiments as DataFrames, read through the store's one reader."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.where = reader.where  # for messages: the file, or host:port/database
        self.path = reader.path  # None for the shared database

    def _query(self, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
        columns, rows = self.reader.query(sql, list(params))
        return pd.DataFrame(rows, columns=columns)

    def experiments(self) -> pd.DataFrame:
        """Experiments, with each parameter as a column named ``measurement.name``."""
        frame = self._query(
            f"SELECT {', '.join(EXPERIMENT_COLUMNS)} FROM experiments ORDER BY started_at"
        )
        frame["uuid"] = frame["uuid"].astype(str)
        frame["duration"] = frame["ended_at"] - frame["started_at"]
        params = self._query(  # JSON text on both sides (PostgreSQL's jsonb arrives decoded)
            "SELECT experiment_uuid, measurement, name, CAST(value AS TEXT) AS value "
            "FROM parameters"
        )
        if not params.empty:
            params["experiment_uuid"] = params["experiment_uuid"].astype(str)
            params["column"] = params["measurement"] + "." + params["name"]
            params["value"] = params["value"].map(_json_value)
            wide = params.pivot_table(
                index="experiment_uuid", columns="column", values="value", aggfunc="first"
            )
            frame = frame.merge(wide, how="left", left_on="uuid", right_index=True)
        return frame

    def table(self, name: str, uuids: Iterable[str] | None = None) -> pd.DataFrame:
        """A measurement table's rows, for the given experiments (all when None)."""
        wanted = [str(u) for u in uuids] if uuids is not None else None
        if wanted is not None and not wanted:
            return pd.DataFrame()
        columns, rows = self.reader.rows(name, wanted)
        frame = pd.DataFrame(rows, columns=columns)
        if "experiment_uuid" in frame:
            frame["experiment_uuid"] = frame["experiment_uuid"].astype(str)
        return frame

    def resolve(self, uuid_or_prefix: str) -> str:
        """The full uuid of an experiment, from a uuid or a unique prefix."""
        return self.reader.resolve(uuid_or_prefix)

    def experiment(self, uuid_or_prefix: str) -> dict[str, Any]:
        """Everything about one experiment but its rows (the reader's shape)."""
        return self.reader.experiment(uuid_or_prefix)

    def sweep(self, sweep_or_prefix: str) -> tuple[str, list[str]]:
        """A sweep's full id and its experiments, oldest first."""
        return self.reader.sweep(sweep_or_prefix)

    def figures(self, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The figures of ``show`` per experiment, as ``summary`` nests them.

        Each table is read once for all the experiments, so a sweep of many
        runs costs a query per table, not per table and run.
        """
        wanted = [str(u) for u in uuids]
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        listed = self._query(
            "SELECT CAST(experiment_uuid AS TEXT) AS uuid, table_name FROM experiment_tables "
            f"WHERE CAST(experiment_uuid AS TEXT) IN ({marks}) ORDER BY table_name",
            wanted,
        )
        tables_of: dict[str, list[str]] = {u: [] for u in wanted}
        for uuid, name in listed.itertuples(index=False):
            tables_of[str(uuid)].append(name)
        needed = sorted({n for names in tables_of.values() for n in names} & tables_read())
        records = {name: _records_by_experiment(self.table(name, wanted)) for name in needed}
        return {
            uuid: summarize_records(
                lambda name, u=uuid: records.get(name, {}).get(u, []), tables_of[uuid]
            )
            for uuid in wanted
        }

    def summaries(self, uuids: Iterable[str]) -> pd.DataFrame:
        """The figures of ``show``, flattened to one row per experiment."""
        rows = []
        for uuid, figures in self.figures(uuids).items():
            row: dict[str, Any] = {"uuid": uuid}
            for section, values in figures.items():
                row.update(_flatten(section, values))
            rows.append(row)
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["uuid"])


def open_results(source: str | Path | Any) -> Results:
    """A local SQLite file, or the shared database (RemoteSettings)."""
    return Results(open_reader(source))


def export(database: Path, uuid: str, directory: Path, fmt: str = "csv") -> list[Path]:
    """Every table of one experiment, plus its parameters, as files in ``directory``."""
    if fmt not in ("csv", "parquet"):
        raise ValueError("format must be csv or parquet")
    results = open_results(database)
    experiment = results.experiment(uuid)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    frames = {name: results.table(name, [experiment["uuid"]]) for name in experiment["tables"]}
    frames["parameters"] = pd.DataFrame(experiment["parameters"]).assign(
        value=lambda f: f["value"].map(json.dumps)
    )
    for name, frame in frames.items():
        path = directory / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
    return written


def _records_by_experiment(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Rows as the summaries take them: dicts in stored order, NULL as None (not NaN)."""
    if frame.empty:
        return {}
    plain = frame.astype(object).where(frame.notna(), None)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in plain.to_dict("records"):
        grouped.setdefault(str(record.pop("experiment_uuid")), []).append(record)
    return grouped


def _json_value(text: Any) -> Any:
    value = json.loads(text) if isinstance(text, str) else text
    return json.dumps(value) if isinstance(value, list | dict) else value


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(f"{prefix}.{key}", inner))
        return out
    return {prefix: value}
