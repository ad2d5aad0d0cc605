"""pandas access to results, for notebooks and reports.

    from collector import analysis
    db = analysis.open_results("results/benchmark.db")  # or a remote.RemoteSettings
    experiments = db.experiments()  # one row each, parameters as columns
    frames = db.table("client_frames", experiments.uuid)  # any table, some experiments
    figures = db.summaries(experiments.uuid)  # the figures of `show`, one row each

Local SQLite and the shared PostgreSQL give the same frames: the schema is
the same on both sides.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from collector import store
from collector.experiment import validate_table_name
from collector.summary import TABLES_READ, summarize_records

EXPERIMENT_COLUMNS = ["uuid", "description", "status", "status_detail", "started_at", "ended_at",
                      "sweep_id"]  # fmt: skip


class Results:
    """One database's experiments as DataFrames."""

    def __init__(self, connect: Any, *, placeholder: str, path: Path | None = None) -> None:
        self._connect = connect
        self._mark = placeholder
        self.path = path

    def _query(self, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
        conn = self._connect()
        try:
            cursor = conn.cursor()
            cursor.execute(sql.replace("?", self._mark), tuple(params))
            columns = [d[0] for d in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=columns)
        finally:
            conn.close()

    def experiments(self) -> pd.DataFrame:
        """Experiments, with each parameter as a column named ``measurement.name``."""
        frame = self._query(
            f"SELECT {', '.join(EXPERIMENT_COLUMNS)} FROM experiments ORDER BY started_at"
        )
        frame["uuid"] = frame["uuid"].astype(str)
        frame["duration"] = frame["ended_at"] - frame["started_at"]
        params = self._query("SELECT experiment_uuid, measurement, name, value FROM parameters")
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
        table = validate_table_name(name)
        sql = f'SELECT * FROM "{table}"'
        wanted = [str(u) for u in uuids] if uuids is not None else None
        if wanted is not None:
            if not wanted:
                return pd.DataFrame()
            sql += f" WHERE CAST(experiment_uuid AS TEXT) IN ({', '.join('?' * len(wanted))})"
        frame = self._query(sql, wanted or ())
        if "experiment_uuid" in frame:
            frame["experiment_uuid"] = frame["experiment_uuid"].astype(str)
        return frame

    def summaries(self, uuids: Iterable[str]) -> pd.DataFrame:
        """The figures of ``show``, flattened to one row per experiment.

        Each table is read once for all the experiments, so a sweep of many
        runs costs a query per table, not per table and run.
        """
        wanted = [str(u) for u in uuids]
        if not wanted:
            return pd.DataFrame(columns=["uuid"])
        marks = ", ".join("?" * len(wanted))
        listed = self._query(
            "SELECT CAST(experiment_uuid AS TEXT) AS uuid, table_name FROM experiment_tables "
            f"WHERE CAST(experiment_uuid AS TEXT) IN ({marks})",
            wanted,
        )
        tables_of: dict[str, list[str]] = {u: [] for u in wanted}
        for uuid, name in listed.itertuples(index=False):
            tables_of[str(uuid)].append(name)
        needed = sorted({n for names in tables_of.values() for n in names} & TABLES_READ)
        records = {name: _records_by_experiment(self.table(name, wanted)) for name in needed}
        rows = []
        for uuid in wanted:
            row: dict[str, Any] = {"uuid": uuid}
            figures = summarize_records(
                lambda name, u=uuid: records.get(name, {}).get(u, []), tables_of[uuid]
            )
            for section, values in figures.items():
                row.update(_flatten(section, values))
            rows.append(row)
        return pd.DataFrame(rows)


def open_results(source: str | Path | Any) -> Results:
    """A local SQLite file, or the shared database (RemoteSettings)."""
    from collector.remote import RemoteSettings, connect

    if isinstance(source, RemoteSettings):
        return Results(lambda: connect(source), placeholder="%s")
    path = Path(source)
    store.open_database(path, create=False).close()  # checks it is a database of this tool
    return Results(lambda: sqlite3.connect(path), placeholder="?", path=path)


def export(database: Path, uuid: str, directory: Path, fmt: str = "csv") -> list[Path]:
    """Every table of one experiment, plus its parameters, as files in ``directory``."""
    if fmt not in ("csv", "parquet"):
        raise ValueError("format must be csv or parquet")
    experiment = store.get_experiment(database, uuid)
    results = open_results(database)
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
