"""The old script's result files, as experiments of ours (``python -m collector import-legacy``).

The old script kept its results in one SQLite file (``benchmark.db``), in
these tables::

    experiments(id, time, description, FPS, width, height, GOP, bitrate, num_ref_frames,
                uuid, imported)
    attachments(id_experiment, name, content)
    frames(id_experiment, agent_time, size, mm_time, capture_duration, encode_duration,
           send_duration, client_time, decode_duration, queue_size)
    guest_stats(id_experiment, time, gpu_memory, gpu_usage, encode_usage, decode_usage)
    host_stats(id_experiment, time, cpu_usage)
    client_stats(id_experiment, time, gpu_usage, app_gpu_usage, cpu_usage, app_cpu_usage)

Times are seconds since the epoch, but ``experiments.time``, SQLite's
``datetime('now')`` text (UTC). Each old experiment becomes one of ours with
the same uuid: its settings as parameters under the names the old script and
an old benchmark.yaml give them (``streaming_agent.FPS``), its rows in
``legacy_*`` tables whose first column says which machine they are from, its
attachments as they were. Importing twice imports nothing new: an experiment
whose uuid is already in the database is skipped.
"""

from __future__ import annotations

import sqlite3
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.errors import StoreError
from collector.store.experiment import Experiment
from collector.store.sqlite import list_experiments

# old table -> (our table, the machine its rows are from, the old columns kept, in order)
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "frames": ("legacy_frames", "guest", (
        "agent_time", "size", "mm_time", "capture_duration", "encode_duration", "send_duration",
        "client_time", "decode_duration", "queue_size",
    )),
    "guest_stats": ("legacy_guest_stats", "guest", (
        "time", "gpu_memory", "gpu_usage", "encode_usage", "decode_usage",
    )),
    "host_stats": ("legacy_host_stats", "host", ("time", "cpu_usage")),
    "client_stats": ("legacy_client_stats", "client", (
        "time", "gpu_usage", "app_gpu_usage", "cpu_usage", "app_cpu_usage",
    )),
}  # fmt: skip
# The old experiment's settings: (measurement, name) of the parameter each becomes.
SETTINGS = {
    "FPS": ("streaming_agent", "FPS"),
    "GOP": ("streaming_agent", "GOP"),
    "bitrate": ("streaming_agent", "bitrate"),
    "num_ref_frames": ("streaming_agent", "num_ref_frames"),
    "width": ("streaming_agent", "width"),
    "height": ("streaming_agent", "height"),
}
# Our names for the same settings, so new and old runs line up in comparisons.
OURS = {"FPS": ("streaming_agent", "framerate")}
# Where the old script's tables are in a shared PostgreSQL database.
OLD_SCHEMA = "public"
# A uuid for an old experiment that had none: the same on every import of the file.
NAMESPACE = uuid_module.UUID("5b1c6c43-0c5a-4b8e-9d61-4f6f1c2a7e10")


@dataclass
class LegacyImport:
    """What an import did: the uuids imported, and those already there."""

    imported: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)


def read_legacy(connection: Any, source: str) -> list[Experiment]:
    """Every experiment of an old result database, as Experiments of ours.

    ``connection`` is a DB-API connection to the old tables (SQLite or
    PostgreSQL: the queries are plain SQL); ``source`` names it in messages.
    """
    cursor = connection.cursor()
    columns = _columns(cursor, "experiments", source)
    cursor.execute(f"SELECT {', '.join(map(_quoted, columns))} FROM experiments ORDER BY id")
    experiments = []
    for row in cursor.fetchall():
        # by lower-case name: PostgreSQL folds an unquoted FPS to fps, SQLite keeps it
        old = {c.lower(): v for c, v in zip(columns, row, strict=True)}
        experiments.append(_experiment(cursor, old, source))
    return experiments


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _columns(cursor: Any, table: str, source: str) -> list[str]:
    try:
        cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    except Exception as e:  # sqlite3 and psycopg2 errors alike: not an old result file
        raise StoreError(
            f"{source}: no '{table}' table of the old script's results ({_first_line(e)})"
        ) from None
    return [d[0] for d in cursor.description]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _experiment(cursor: Any, old: dict[str, Any], source: str) -> Experiment:
    started = _when(old.get("time"))
    identity = old.get("uuid") or str(
        uuid_module.uuid5(NAMESPACE, f"{old.get('id')}|{old.get('time')}|{old.get('description')}")
    )
    experiment = Experiment(str(old.get("description") or ""), uuid=str(identity),
                            started_at=started)  # fmt: skip
    experiment.set_parameter("legacy", "source", source)
    experiment.set_parameter("legacy", "id", old.get("id"))
    for column, (measurement, name) in SETTINGS.items():
        value = old.get(column.lower())
        if value is not None:
            experiment.set_parameter(measurement, name, value)
            if column in OURS:
                experiment.set_parameter(*OURS[column], value)
    last = started
    for old_table, (table, machine, wanted) in TABLES.items():
        rows = _rows(cursor, old_table, wanted, old.get("id"))
        if not rows:
            continue
        fields = ("host", *("time" if c in ("time", "agent_time") else c for c in wanted))
        experiment.create_table(table, fields).add_many((machine, *r) for r in rows)
        times = [r[0] for r in rows if isinstance(r[0], int | float)]
        if times:
            last = max(last or max(times), max(times))
    experiment.ended_at = last
    for name, content in _attachments(cursor, old.get("id")):
        experiment.add_attachment(str(name), content if content is not None else b"")
    return experiment


def _rows(cursor: Any, table: str, wanted: tuple[str, ...], experiment_id: Any) -> list[tuple]:
    try:
        cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    except Exception:  # an old file without this table: nothing of it
        _rollback(cursor)
        return []
    present = {d[0].lower(): d[0] for d in cursor.description}
    selected = ", ".join(_quoted(present[c]) if c in present else "NULL" for c in wanted)
    cursor.execute(
        f"SELECT {selected} FROM {table} WHERE id_experiment = {_marker(cursor)}",
        (experiment_id,),
    )
    return [tuple(r) for r in cursor.fetchall()]


def _attachments(cursor: Any, experiment_id: Any) -> list[tuple[str, Any]]:
    rows = _rows(cursor, "attachments", ("name", "content"), experiment_id)
    return [(n, bytes(c) if isinstance(c, memoryview) else c) for n, c in rows]


def _marker(cursor: Any) -> str:
    """The query parameter marker: ``?`` for sqlite3, ``%s`` for psycopg2."""
    return "?" if isinstance(cursor, sqlite3.Cursor) else "%s"


def _rollback(cursor: Any) -> None:
    connection = getattr(cursor, "connection", None)
    if connection is not None and not isinstance(cursor, sqlite3.Cursor):
        connection.rollback()  # PostgreSQL: an error aborts the transaction


def _when(value: Any) -> float | None:
    """``datetime('now')`` text (UTC), or already seconds since the epoch."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def import_legacy_sqlite(
    path: Path, database: Path, progress: Callable[[str], None] | None = None
) -> LegacyImport:
    """Import an old SQLite result file into the local database; none twice."""
    if not path.is_file():
        raise StoreError(f"{path}: no such file")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open as SQLite: {e}") from None
    try:
        connection.execute("PRAGMA schema_version")  # fails on a file that is not SQLite
        experiments = read_legacy(connection, str(path))
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: not a SQLite database of results ({e})") from None
    finally:
        connection.close()
    return save_new(experiments, database, progress)


def import_legacy_remote(
    settings: Any, database: Path, progress: Callable[[str], None] | None = None
) -> LegacyImport:
    """Import the old script's results from the shared PostgreSQL database (its own tables).

    The old script kept them in the database's ``public`` schema, where this
    tool's own tables never are (collector.store.pgschema); only read.
    """
    from dataclasses import replace

    import psycopg2

    from collector.store.remote import RemoteError, connect, explain

    old = replace(settings, schema=OLD_SCHEMA)
    connection = connect(old)
    try:
        experiments = read_legacy(connection, f"{old.describe()}, schema {OLD_SCHEMA}")
    except psycopg2.Error as e:
        raise RemoteError(explain(e, old)) from None
    finally:
        connection.close()
    return save_new(experiments, database, progress)


def save_new(
    experiments: list[Experiment], database: Path, progress: Callable[[str], None] | None
) -> LegacyImport:
    """Save the experiments the database does not have yet."""
    known = {e["uuid"] for e in list_experiments(database)} if database.exists() else set()
    report = LegacyImport()
    for experiment in experiments:
        if experiment.uuid in known:
            report.already_there.append(experiment.uuid)
            continue
        experiment.save(database)
        report.imported.append(experiment.uuid)
        if progress is not None:
            rows = sum(len(t.rows) for t in experiment.tables.values())
            progress(f"imported {experiment.uuid}: {experiment.description!r}, {rows} rows")
    return report
