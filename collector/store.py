"""SQLite persistence of experiments.

One file holds many experiments. Each measurement table (``frames``,
``cpu``, ...) is one physical table shared by all experiments, its first
column ``experiment_uuid``; the fixed tables hold what every experiment has.
An experiment is written in a single transaction, so a crash or a bad value
never leaves half of one behind, and an experiment is never overwritten.

Connections are short-lived and the file is in WAL mode with a busy timeout,
so ``list`` in one terminal does not block a run saving in another.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from collector.errors import StoreError
from collector.experiment import (
    RESERVED_TABLE_NAMES,
    Experiment,
    Table,
    validate_field_name,
    validate_table_name,
)

# "SPBC" (SPICE benchmark collector): marks a file as ours in its header.
APPLICATION_ID = 0x53504243
SCHEMA_VERSION = 1
# Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 30.0
MIN_PREFIX = 4

_SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE experiments (
        uuid TEXT PRIMARY KEY,
        description TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        status_detail TEXT NOT NULL DEFAULT '',
        started_at REAL,
        ended_at REAL,
        sweep_id TEXT,
        created_at REAL NOT NULL,
        imported INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX experiments_started_at ON experiments (started_at)",
    """CREATE TABLE parameters (
        experiment_uuid TEXT NOT NULL REFERENCES experiments (uuid),
        measurement TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (experiment_uuid, measurement, name)
    )""",
    """CREATE TABLE attachments (
        experiment_uuid TEXT NOT NULL REFERENCES experiments (uuid),
        name TEXT NOT NULL,
        host TEXT,
        media_type TEXT NOT NULL,
        content BLOB NOT NULL,
        size INTEGER NOT NULL
    )""",
    # IFNULL: a plain UNIQUE treats every NULL host as distinct.
    """CREATE UNIQUE INDEX attachments_key
        ON attachments (experiment_uuid, name, IFNULL(host, ''))""",
    """CREATE TABLE experiment_tables (
        experiment_uuid TEXT NOT NULL REFERENCES experiments (uuid),
        table_name TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        PRIMARY KEY (experiment_uuid, table_name)
    )""",
    # column_type is the type the physical column was declared with (lowercase),
    # NULL when declared without one because no value told the type.
    """CREATE TABLE table_columns (
        table_name TEXT NOT NULL,
        column_name TEXT NOT NULL,
        column_type TEXT,
        position INTEGER NOT NULL,
        PRIMARY KEY (table_name, column_name)
    )""",
)
FIXED_TABLES: tuple[str, ...] = (
    "experiments",
    "parameters",
    "attachments",
    "experiment_tables",
    "table_columns",
)
assert set(FIXED_TABLES) == RESERVED_TABLE_NAMES

_KIND_OF_TYPE: dict[type, str] = {
    bool: "integer",
    int: "integer",
    float: "real",
    str: "text",
    bytes: "blob",
    bytearray: "blob",
    memoryview: "blob",
}


# --- opening -------------------------------------------------------------------------------


def _not_ours(path: Path) -> StoreError:
    return StoreError(f"{path} is not a database of this tool")


def _check_header(path: Path) -> None:
    # Checked before SQLite sees the file: SQLite's own error is obscure and
    # comes only at the first query.
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if header and header != _SQLITE_HEADER:
        raise _not_ours(path)


def _has_user_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
    ).fetchone()
    return row is not None


def _check_version(conn: sqlite3.Connection, path: Path) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer version of this tool (schema {version}, "
            f"this one knows up to {SCHEMA_VERSION}); upgrade the tool"
        )
    if version < 1:
        raise StoreError(f"{path} has an unknown schema version {version}")


@contextmanager
def _transaction(conn: sqlite3.Connection, path: Path, what: str) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    IMMEDIATE takes the write lock up front, so a concurrent writer waits
    (busy timeout) instead of failing halfway. BaseException too: Ctrl-C in
    the middle must not leave half a change.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from None
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            # A failing rollback must not hide the error that caused it.
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot {what} in {path}: {exc}") from None
        raise


def _initialise(conn: sqlite3.Connection, path: Path) -> None:
    # WAL is persistent in the file and cannot be switched inside a transaction.
    conn.execute("PRAGMA journal_mode = WAL")
    with _transaction(conn, path, "create the schema"):
        # Another process may have initialised the file while we waited.
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        done = app_id == APPLICATION_ID
        if not done:
            if app_id != 0 or _has_user_tables(conn):
                raise _not_ours(path)
            for statement in _SCHEMA:
                conn.execute(statement)
            # Both live in the file header and are part of the transaction.
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    if done:
        _check_version(conn, path)


def open_database(path: str | Path, *, create: bool) -> sqlite3.Connection:
    """Open a database of this tool, creating the file and schema if allowed.

    The connection is in autocommit mode (``isolation_level=None``): callers
    that write run their own ``BEGIN IMMEDIATE`` ... ``COMMIT``. The caller
    closes it. An empty file counts as a new database.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database")
    if path.exists():
        _check_header(path)
    elif not create:
        raise StoreError(f"no database at {path}")
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    try:
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        if app_id == APPLICATION_ID:
            _check_version(conn, path)
        elif app_id == 0 and not _has_user_tables(conn):
            _initialise(conn, path)
        else:
            raise _not_ours(path)
        conn.execute("PRAGMA foreign_keys = ON")
        # With WAL, NORMAL keeps the file consistent on a crash and is much faster.
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc):
            raise _not_ours(path) from None
        raise StoreError(f"cannot use {path}: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def _connection(path: str | Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    conn = open_database(path, create=create)
    try:
        yield conn
    finally:
        conn.close()


# --- saving --------------------------------------------------------------------------------


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


def _physical_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table is validated by the caller; PRAGMA arguments cannot be bound.
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _prepare_table(conn: sqlite3.Connection, table: Table) -> None:
    """Create the physical table or add the fields it lacks."""
    name = validate_table_name(table.name)
    for field in table.fields:
        validate_field_name(field)
    existing = _physical_columns(conn, name)
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


def save_experiment(database: str | Path, experiment: Experiment) -> None:
    """Write the experiment in one transaction: all of it or nothing."""
    path = Path(database)
    with (
        _connection(path, create=True) as conn,
        _transaction(conn, path, f"save experiment {experiment.uuid}"),
    ):
        _write_experiment(conn, path, experiment)


# --- reading -------------------------------------------------------------------------------


def _duration(started_at: float | None, ended_at: float | None) -> float | None:
    if started_at is None or ended_at is None:
        return None
    return ended_at - started_at


def list_experiments(database: str | Path) -> list[dict[str, Any]]:
    """Summaries for ``list``: oldest first, experiments without a start time last."""
    with _connection(database, create=False) as conn:
        rows = conn.execute(
            """SELECT e.uuid, e.description, e.status, e.started_at, e.ended_at, e.imported,
                      e.sweep_id, e.created_at,
                      (SELECT COUNT(*) FROM experiment_tables t WHERE t.experiment_uuid = e.uuid)
               FROM experiments e
               ORDER BY e.started_at IS NULL, e.started_at, e.created_at, e.uuid"""
        ).fetchall()
    return [
        {
            "uuid": uuid,
            "description": description,
            "status": status,
            "started_at": started_at,
            "ended_at": ended_at,
            "duration": _duration(started_at, ended_at),
            "imported": bool(imported),
            "sweep_id": sweep_id,
            "created_at": created_at,
            "table_count": table_count,
        }
        for (
            uuid,
            description,
            status,
            started_at,
            ended_at,
            imported,
            sweep_id,
            created_at,
            table_count,
        ) in rows
    ]


_PREFIX = re.compile(r"[0-9a-f-]+")


def resolve_uuid(uuid_or_prefix: str, starting_with: Callable[[str], list[str]], where: str) -> str:
    """Full uuid for a full uuid or a unique prefix, as typed on the command line.

    ``starting_with(prefix)`` lists up to 6 uuids of the database that start
    with it, so the local and the shared database resolve prefixes alike.
    """
    wanted = str(uuid_or_prefix).strip().lower()
    if not _PREFIX.fullmatch(wanted):
        raise StoreError(f"no experiment {uuid_or_prefix!r} in {where}")
    matches = starting_with(wanted)
    if wanted in matches:
        return wanted
    if len(wanted) < MIN_PREFIX:
        raise StoreError(
            f"experiment prefix {uuid_or_prefix!r} is too short; give at least {MIN_PREFIX} "
            "characters"
        )
    if not matches:
        raise StoreError(f"no experiment {uuid_or_prefix!r} in {where}")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise StoreError(f"experiment prefix {uuid_or_prefix!r} is ambiguous: {shown}")
    return matches[0]


def _resolve_uuid(conn: sqlite3.Connection, path: Path, uuid_or_prefix: str) -> str:
    def starting_with(prefix: str) -> list[str]:
        if conn.execute("SELECT 1 FROM experiments WHERE uuid = ?", (prefix,)).fetchone():
            return [prefix]
        return [row[0] for row in conn.execute(
            "SELECT uuid FROM experiments WHERE substr(uuid, 1, ?) = ? ORDER BY uuid LIMIT 6",
            (len(prefix), prefix),
        )]  # fmt: skip

    return resolve_uuid(uuid_or_prefix, starting_with, str(path))


def get_experiment(database: str | Path, uuid_or_prefix: str) -> dict[str, Any]:
    """Everything about one experiment except table rows and attachment contents."""
    path = Path(database)
    with _connection(path, create=False) as conn:
        uuid = _resolve_uuid(conn, path, uuid_or_prefix)
        row = conn.execute(
            "SELECT uuid, description, status, status_detail, started_at, ended_at, sweep_id, "
            "created_at, imported FROM experiments WHERE uuid = ?",
            (uuid,),
        ).fetchone()
        parameters = conn.execute(
            "SELECT measurement, name, value FROM parameters WHERE experiment_uuid = ? "
            "ORDER BY rowid",
            (uuid,),
        ).fetchall()
        tables = conn.execute(
            "SELECT table_name, row_count FROM experiment_tables WHERE experiment_uuid = ? "
            "ORDER BY rowid",
            (uuid,),
        ).fetchall()
        attachments = conn.execute(
            "SELECT name, host, media_type, size FROM attachments WHERE experiment_uuid = ? "
            "ORDER BY rowid",
            (uuid,),
        ).fetchall()
    (uuid, description, status, detail, started_at, ended_at, sweep_id, created_at, imported) = row
    return {
        "uuid": uuid,
        "description": description,
        "status": status,
        "status_detail": detail,
        "started_at": started_at,
        "ended_at": ended_at,
        "duration": _duration(started_at, ended_at),
        "sweep_id": sweep_id,
        "created_at": created_at,
        "imported": bool(imported),
        "parameters": [
            {"measurement": measurement, "name": name, "value": json.loads(value)}
            for measurement, name, value in parameters
        ],
        "tables": dict(tables),
        "attachments": [
            {"name": name, "host": host, "media_type": media_type, "size": size}
            for name, host, media_type, size in attachments
        ],
    }


def read_table(
    database: str | Path, table: str, uuid: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One experiment's rows of a measurement table, in the order they were added.

    The columns are all the table's fields, including ones only other
    experiments filled (NULL here). ``uuid`` may be a unique prefix.
    """
    path = Path(database)
    try:
        name = validate_table_name(table)
    except ValueError:
        raise StoreError(f"no measurement table {table!r} in {path}") from None
    with _connection(path, create=False) as conn:
        full_uuid = _resolve_uuid(conn, path, uuid)
        columns = [c for c in _physical_columns(conn, name) if c != "experiment_uuid"]
        if not columns:
            raise StoreError(f"no measurement table {table!r} in {path}")
        selected = ", ".join(f'"{column}"' for column in columns)
        rows = conn.execute(
            f'SELECT {selected} FROM "{name}" WHERE "experiment_uuid" = ? ORDER BY rowid',
            (full_uuid,),
        ).fetchall()
    return columns, rows


def read_attachment(database: str | Path, uuid: str, name: str, host: str | None = None) -> bytes:
    """Content of one attachment.

    Without ``host`` the attachment not tied to a host is returned, or the
    only one of that name if just one host has it.
    """
    path = Path(database)
    with _connection(path, create=False) as conn:
        full_uuid = _resolve_uuid(conn, path, uuid)
        if host:
            found = conn.execute(
                "SELECT host, content FROM attachments "
                "WHERE experiment_uuid = ? AND name = ? AND host = ?",
                (full_uuid, name, host),
            ).fetchall()
        else:
            found = conn.execute(
                "SELECT host, content FROM attachments WHERE experiment_uuid = ? AND name = ? "
                "ORDER BY host IS NOT NULL, host",
                (full_uuid, name),
            ).fetchall()
            if found and found[0][0] is not None and len(found) > 1:
                hosts = ", ".join(h for h, _ in found)
                raise StoreError(
                    f"attachment {name!r} of experiment {full_uuid} exists for several hosts "
                    f"({hosts}); name one"
                )
    if not found:
        where = f" of host {host!r}" if host else ""
        raise StoreError(f"no attachment {name!r}{where} in experiment {full_uuid}")
    return bytes(found[0][1])


def sweep_keys(database: str | Path, sweep_id: str) -> dict[str, tuple[str, str]]:
    """The points a sweep has recorded: key -> (uuid, status), the best status kept."""
    rank = {"ok": 0, "partial": 1, "interrupted": 2, "failed": 3}
    found: dict[str, tuple[str, str]] = {}
    with _connection(database, create=False) as conn:
        rows = conn.execute(
            "SELECT p.value, e.uuid, e.status FROM parameters p "
            "JOIN experiments e ON e.uuid = p.experiment_uuid "
            "WHERE e.sweep_id = ? AND p.measurement = 'sweep' AND p.name = 'key'",
            (sweep_id,),
        ).fetchall()
    for value, uuid, status in rows:
        key = json.loads(value)
        if key not in found or rank.get(status, 9) < rank.get(found[key][1], 9):
            found[key] = (uuid, status)
    return found


def find_sweep(database: str | Path, sweep_or_prefix: str) -> tuple[str, list[str]]:
    """A sweep's full id and its experiments (oldest first), from an id or a unique prefix.

    ``252110f3`` finds ``sweep-252110f3bd8e``, as typed from ``list`` output.
    """
    path = Path(database)
    with _connection(path, create=False) as conn:
        ids = [row[0] for row in conn.execute(
            "SELECT DISTINCT sweep_id FROM experiments WHERE sweep_id IS NOT NULL ORDER BY 1"
        )]  # fmt: skip
        sweep_id = resolve_sweep(sweep_or_prefix, ids, str(path))
        uuids = [row[0] for row in conn.execute(
            "SELECT uuid FROM experiments WHERE sweep_id = ? "
            "ORDER BY started_at IS NULL, started_at, created_at, uuid",
            (sweep_id,),
        )]  # fmt: skip
    return sweep_id, uuids


def resolve_sweep(sweep_or_prefix: str, ids: list[str], where: str) -> str:
    """The one sweep id of ``ids`` that is, or starts with, what the user typed."""
    wanted = str(sweep_or_prefix).strip()
    matches = [i for i in ids if i == wanted] or [
        i for i in ids if i.startswith(wanted) or i.removeprefix("sweep-").startswith(wanted)
    ]
    if not wanted or not matches:
        known = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "") if ids else "none"
        raise StoreError(f"no sweep {sweep_or_prefix!r} in {where} (sweeps there: {known})")
    if len(matches) > 1:
        raise StoreError(f"sweep prefix {sweep_or_prefix!r} is ambiguous: {', '.join(matches)}")
    return matches[0]


def mark_imported(database: str | Path, uuids: Iterable[str]) -> int:
    """Mark experiments uploaded to the shared database, all or none.

    Full uuids only: a prefix here could mark the wrong experiment. Returns
    how many were marked.
    """
    if isinstance(uuids, str):
        raise TypeError("mark_imported takes a list of uuids, not one string")
    path = Path(database)
    wanted = list(dict.fromkeys(uuids))
    with _connection(path, create=False) as conn, _transaction(conn, path, "mark imported"):
        for uuid in wanted:
            cursor = conn.execute("UPDATE experiments SET imported = 1 WHERE uuid = ?", (uuid,))
            if cursor.rowcount != 1:
                raise StoreError(f"no experiment {uuid!r} in {path}")
    return len(wanted)


# --- streaming reads (export, upload) -----------------------------------------------------


# COPY text format, built by SQLite itself: an upload of a million rows must
# not pay for a Python call per value. Each column gets the cheapest printf
# conversion its values allow in this experiment; a column with NULLs, mixed
# types or characters to escape gets the general expression. REALs keep 17
# significant digits, so timestamps survive exactly.
_COPY_ANY = """CASE typeof("{c}")
    WHEN 'null' THEN '\\N'
    WHEN 'integer' THEN CAST("{c}" AS TEXT)
    WHEN 'real' THEN printf('%!.17g', "{c}")
    WHEN 'text' THEN {text}
    ELSE '\\\\x' || hex("{c}") END"""
_COPY_TEXT = """replace(replace(replace(replace("{c}", '\\', '\\\\'),
    char(9), '\\t'), char(10), '\\n'), char(13), '\\r')"""
_COPY_NEEDS_ESCAPE = """sum(instr("{c}", char(9)) + instr("{c}", char(10))
    + instr("{c}", char(13)) + instr("{c}", '\\'))"""
# SQLite caps a function's arguments (127 by default).
_PRINTF_ARGS = 100


class ExperimentReader:
    """Read-only access to whole experiments over one connection, for export and upload.

    Unlike the functions above it streams table rows, so an experiment of
    millions of rows never sits in memory.
    """

    def __init__(self, database: str | Path) -> None:
        self.path = Path(database)
        self._conn = open_database(self.path, create=False)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ExperimentReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(self, uuid_or_prefix: str) -> str:
        return _resolve_uuid(self._conn, self.path, uuid_or_prefix)

    def pending(self) -> list[str]:
        """Experiments not uploaded yet, oldest first."""
        rows = self._conn.execute(
            "SELECT uuid FROM experiments WHERE imported = 0 ORDER BY created_at, uuid"
        )
        return [uuid for (uuid,) in rows]

    def experiment(self, uuid: str) -> dict[str, Any]:
        row = self._conn.execute(
            "SELECT uuid, description, status, status_detail, started_at, ended_at, sweep_id, "
            "created_at, imported FROM experiments WHERE uuid = ?",
            (uuid,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no experiment {uuid!r} in {self.path}")
        keys = ("uuid", "description", "status", "status_detail", "started_at", "ended_at",
                "sweep_id", "created_at", "imported")  # fmt: skip
        return dict(zip(keys, row, strict=True))

    def parameters(self, uuid: str) -> list[tuple[str, str, str]]:
        """(measurement, name, value as JSON text)."""
        return self._conn.execute(
            "SELECT measurement, name, value FROM parameters WHERE experiment_uuid = ? "
            "ORDER BY rowid",
            (uuid,),
        ).fetchall()

    def attachments(self, uuid: str) -> Iterator[tuple[str, str | None, str, bytes, int]]:
        """(name, host, media_type, content, size), one at a time."""
        cursor = self._conn.execute(
            "SELECT name, host, media_type, content, size FROM attachments "
            "WHERE experiment_uuid = ? ORDER BY rowid",
            (uuid,),
        )
        for name, host, media_type, content, size in cursor:
            yield name, host, media_type, bytes(content), size

    def tables(self, uuid: str) -> list[tuple[str, int]]:
        """(table name, row count) of the experiment's measurement tables."""
        rows = self._conn.execute(
            "SELECT table_name, row_count FROM experiment_tables WHERE experiment_uuid = ? "
            "ORDER BY rowid",
            (uuid,),
        ).fetchall()
        return [(validate_table_name(name), count) for name, count in rows]

    def columns(self, table: str) -> list[tuple[str, str | None]]:
        """(column, declared type) of a measurement table, in order, without experiment_uuid."""
        name = validate_table_name(table)
        declared = dict(
            self._conn.execute(
                "SELECT column_name, column_type FROM table_columns WHERE table_name = ?", (name,)
            ).fetchall()
        )
        return [
            (validate_field_name(c), declared.get(c))
            for c in _physical_columns(self._conn, name)
            if c != "experiment_uuid"
        ]

    def copy_lines(
        self, table: str, uuid: str, columns: list[str], *, lead: str = "", batch: int = 20000
    ) -> Iterator[str]:
        """The experiment's rows as PostgreSQL COPY text-format lines, in batches.

        ``lead`` is put before every line as is (e.g. the uuid column and a tab).
        """
        name = validate_table_name(table)
        columns = [validate_field_name(c) for c in columns]
        if "%" in lead:
            raise ValueError("lead must not contain %")
        formats, args = self._copy_fields(name, uuid, columns)
        groups = [
            (lead if i == 0 else "") + "\t".join(formats[i : i + _PRINTF_ARGS])
            for i in range(0, len(columns), _PRINTF_ARGS)
        ]
        expression = " || char(9) || ".join(
            f"printf(?, {', '.join(args[i : i + _PRINTF_ARGS])})"
            for i in range(0, len(columns), _PRINTF_ARGS)
        )
        cursor = self._conn.execute(
            f'SELECT {expression} FROM "{name}" WHERE experiment_uuid = ? ORDER BY rowid',
            (*groups, uuid),
        )
        while rows := cursor.fetchmany(batch):
            yield "".join(line + "\n" for (line,) in rows)

    def _copy_fields(
        self, table: str, uuid: str, columns: list[str]
    ) -> tuple[list[str], list[str]]:
        """printf conversion and argument per column, from one scan of the rows."""
        where = f'FROM "{table}" WHERE experiment_uuid = ?'
        # min = max: one storage type and no NULL ('null' is a type too).
        kinds = self._conn.execute(
            "SELECT "
            + ", ".join(f'min(typeof("{c}")), max(typeof("{c}"))' for c in columns)
            + f" {where}",
            (uuid,),
        ).fetchone()
        single = {
            c: kinds[2 * i] for i, c in enumerate(columns) if kinds[2 * i] == kinds[2 * i + 1]
        }
        texts = [c for c, kind in single.items() if kind == "text"]
        if texts:
            escapes = self._conn.execute(
                "SELECT " + ", ".join(_COPY_NEEDS_ESCAPE.format(c=c) for c in texts) + f" {where}",
                (uuid,),
            ).fetchone()
            for c, count in zip(texts, escapes, strict=True):
                if count:
                    del single[c]
        formats, args = [], []
        for c in columns:
            kind = single.get(c)
            formats.append({"real": "%!.17g", "integer": "%d", "text": "%s"}.get(kind, "%s"))
            if kind in ("real", "integer", "text"):
                args.append(f'"{c}"')
            else:
                args.append(_COPY_ANY.format(c=c, text=_COPY_TEXT.format(c=c)))
        return formats, args
