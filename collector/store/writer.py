"""Writing experiments into the local SQLite file: one transaction each, never half of one.

Each measurement table (``frames``, ``cpu``, ...) is one physical table shared
by all experiments, its first column ``experiment_uuid``; a table gains the
columns a new experiment brings. An experiment is never overwritten, except
on purpose (``replace``, when a lost host's data is recovered).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.errors import StoreError
from collector.store.names import validate_field_name, validate_table_name
from collector.store.sqlite import connection, physical_columns, transaction

if TYPE_CHECKING:  # the Experiment saves itself through this module
    from collector.store.experiment import Experiment, Table

_KIND_OF_TYPE: dict[type, str] = {
    bool: "integer",
    int: "integer",
    float: "real",
    str: "text",
    bytes: "blob",
    bytearray: "blob",
    memoryview: "blob",
}


def _infer_kind(table: str, field: str, values: Iterable[Any]) -> str | None:
    """Column type for values of undeclared type; None declares no type.

    All values are looked at, not only the first: ints followed by floats
    must make a REAL column, because INTEGER affinity would turn 2.0 into 2.
    A column with no value, or with text mixed with numbers, is declared
    without a type so that SQLite stores every value as given.
    """
    kinds: set[str] = set()
    for value_type in set(map(type, values)):
        if value_type is type(None):
            continue
        kind = _KIND_OF_TYPE.get(value_type)
        if kind is None:
            kind = next(
                (k for t, k in _KIND_OF_TYPE.items() if issubclass(value_type, t)),
                None,
            )
        if kind is None:
            raise StoreError(
                f"table {table}, field {field}: values of type {value_type.__name__} "
                "cannot be stored (use int, float, str, bytes or None)"
            )
        kinds.add(kind)
    if kinds == {"integer", "real"}:
        return "real"
    if len(kinds) == 1:
        return kinds.pop()
    return None


def _column_sql(name: str, kind: str | None) -> str:
    return f'"{name}" {kind.upper()}' if kind else f'"{name}"'


def _prepare_table(conn: sqlite3.Connection, table: Table) -> None:
    """Create the physical table or add the fields it lacks."""
    name = validate_table_name(table.name)
    for field in table.fields:
        validate_field_name(field)
    existing = physical_columns(conn, name)
    missing = [
        (position, field, declared)
        for position, (field, declared) in enumerate(table.spec)
        if field not in existing
    ]
    if not missing:
        return
    kinds = {
        field: declared
        if declared is not None
        else _infer_kind(name, field, (row[position] for row in table.rows))
        for position, field, declared in missing
    }
    if not existing:
        columns = ", ".join(_column_sql(field, kinds[field]) for _, field, _ in missing)
        conn.execute(f'CREATE TABLE "{name}" ("experiment_uuid" TEXT NOT NULL, {columns})')
        # "-" cannot occur in a table name, and indexes share the tables' namespace.
        conn.execute(f'CREATE INDEX "idx-{name}" ON "{name}" ("experiment_uuid")')
        existing = ["experiment_uuid"]
    else:
        for _, field, _ in missing:
            conn.execute(f'ALTER TABLE "{name}" ADD COLUMN {_column_sql(field, kinds[field])}')
    conn.executemany(
        "INSERT INTO table_columns (table_name, column_name, column_type, position) "
        "VALUES (?, ?, ?, ?)",
        [
            (name, field, kinds[field], len(existing) + offset)
            for offset, (_, field, _) in enumerate(missing)
        ],
    )


def _insert_rows(conn: sqlite3.Connection, uuid: str, table: Table) -> None:
    name = table.name
    columns = ", ".join(f'"{field}"' for field in ("experiment_uuid", *table.fields))
    marks = ", ".join("?" * (len(table.fields) + 1))
    try:
        conn.executemany(
            f'INSERT INTO "{name}" ({columns}) VALUES ({marks})',
            ((uuid, *row) for row in table.rows),
        )
    except (sqlite3.InterfaceError, sqlite3.ProgrammingError, OverflowError) as exc:
        # A value SQLite cannot hold (dict, huge int, ...) or a row of wrong length.
        raise StoreError(f"table {name}: {exc}") from None
    conn.execute(
        "INSERT INTO experiment_tables (experiment_uuid, table_name, row_count) VALUES (?, ?, ?)",
        (uuid, name, len(table.rows)),
    )


def _write_experiment(conn: sqlite3.Connection, path: Path, experiment: Experiment) -> None:
    uuid = experiment.uuid
    if conn.execute("SELECT 1 FROM experiments WHERE uuid = ?", (uuid,)).fetchone():
        raise StoreError(f"experiment {uuid} is already in {path}; it is never overwritten")
    conn.execute(
        "INSERT INTO experiments (uuid, description, status, status_detail, started_at, "
        "ended_at, sweep_id, created_at, imported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (
            uuid,
            experiment.description,
            experiment.status,
            experiment.status_detail,
            experiment.started_at,
            experiment.ended_at,
            experiment.sweep_id,
            time.time(),
        ),
    )
    try:
        parameters = [
            (uuid, measurement, name, json.dumps(value, allow_nan=False))
            for measurement, name, value in experiment.parameters
        ]
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"experiment {uuid}: a parameter is not JSON-serialisable: {exc}"
        ) from None
    conn.executemany(
        "INSERT INTO parameters (experiment_uuid, measurement, name, value) VALUES (?, ?, ?, ?)",
        parameters,
    )
    conn.executemany(
        "INSERT INTO attachments (experiment_uuid, name, host, media_type, content, size) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (uuid, a.name, a.host, a.media_type, a.content, len(a.content))
            for a in experiment.attachments
        ],
    )
    for table in experiment.tables.values():
        _prepare_table(conn, table)
        _insert_rows(conn, uuid, table)


def save_experiment(
    database: str | Path,
    experiment: Experiment,
    *,
    replace: bool = False,
    wait: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Write the experiment in one transaction: all of it or nothing.

    ``replace`` swaps an experiment saved before for this one in the same
    transaction (a recovered host's data added); one uploaded already is not
    replaced, since the shared copy would no longer match.
    """
    path = Path(database)
    what = f"save experiment {experiment.uuid}"
    with (
        connection(path, create=True) as conn,
        transaction(conn, path, what, wait=wait, progress=progress),
    ):
        if replace:
            _delete_experiment(conn, path, experiment.uuid)
        _write_experiment(conn, path, experiment)


def _delete_experiment(conn: sqlite3.Connection, path: Path, uuid: str) -> None:
    found = conn.execute("SELECT imported FROM experiments WHERE uuid = ?", (uuid,)).fetchone()
    if found is None:
        return
    if found[0]:
        raise StoreError(
            f"experiment {uuid} is uploaded already; a changed copy in {path} would no longer "
            "match the shared one"
        )
    tables = [name for (name,) in conn.execute(
        "SELECT table_name FROM experiment_tables WHERE experiment_uuid = ?", (uuid,)
    )]  # fmt: skip
    for table in tables:
        conn.execute(
            f'DELETE FROM "{validate_table_name(table)}" WHERE experiment_uuid = ?', (uuid,)
        )
    for fixed in ("experiment_tables", "attachments", "parameters"):
        conn.execute(f"DELETE FROM {fixed} WHERE experiment_uuid = ?", (uuid,))
    conn.execute("DELETE FROM experiments WHERE uuid = ?", (uuid,))


def mark_imported(database: str | Path, uuids: Iterable[str]) -> int:
    """Mark experiments uploaded to the shared database, all or none.

    Full uuids only: a prefix here could mark the wrong experiment. Returns
    how many were marked.
    """
    if isinstance(uuids, str):
        raise TypeError("mark_imported takes a list of uuids, not one string")
    path = Path(database)
    wanted = list(dict.fromkeys(uuids))
    with connection(path, create=False) as conn, transaction(conn, path, "mark imported"):
        for uuid in wanted:
            cursor = conn.execute("UPDATE experiments SET imported = 1 WHERE uuid = ?", (uuid,))
            if cursor.rowcount != 1:
                raise StoreError(f"no experiment {uuid!r} in {path}")
    return len(wanted)
