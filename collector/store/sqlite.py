"""The local SQLite file: opening it, saving experiments, marking them uploaded.

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
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.errors import StoreError, StoreLocked
from collector.store.names import (
    RESERVED_TABLE_NAMES,
    validate_field_name,
    validate_table_name,
)

if TYPE_CHECKING:  # the Experiment saves itself through this module
    from collector.store.experiment import Experiment, Table

# "SPBC" (SPICE benchmark collector): marks a file as ours in its header.
APPLICATION_ID = 0x53504243
SCHEMA_VERSION = 1
# Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 30.0
# A save that waits for the lock tries again this often, and says so this often.
LOCK_POLL = 1.0
LOCK_NOTICE = 5.0

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
def transaction(
    conn: sqlite3.Connection,
    path: Path,
    what: str,
    *,
    wait: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    IMMEDIATE takes the write lock up front, so a concurrent writer waits
    instead of failing halfway: the busy timeout, or with ``wait`` that many
    seconds, saying every few seconds that it waits. BaseException too:
    Ctrl-C in the middle must not leave half a change.
    """
    _begin(conn, path, what, wait, progress)
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


def _begin(
    conn: sqlite3.Connection,
    path: Path,
    what: str,
    wait: float | None,
    progress: Callable[[str], None] | None,
) -> None:
    if wait is None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write {path}: {exc}") from None
        return
    began = time.monotonic()
    said = began
    conn.execute(f"PRAGMA busy_timeout = {int(LOCK_POLL * 1000)}")
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise StoreError(f"cannot write {path}: {exc}") from None
        now = time.monotonic()
        if now - began >= wait:
            raise StoreLocked(
                f"cannot {what}: another process held the write lock on {path} for "
                f"{now - began:.0f} s (waited up to {wait:g} s)"
            )
        if progress is not None and now - said >= LOCK_NOTICE:
            said = now
            progress(
                f"waiting for the write lock on {path}, held by another process "
                f"({now - began:.0f} s of at most {wait:g} s)"
            )


def _initialise(conn: sqlite3.Connection, path: Path) -> None:
    # WAL is persistent in the file and cannot be switched inside a transaction.
    conn.execute("PRAGMA journal_mode = WAL")
    with transaction(conn, path, "create the schema"):
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
def connection(path: str | Path, *, create: bool) -> Iterator[sqlite3.Connection]:
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


def physical_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table is validated by the caller; PRAGMA arguments cannot be bound.
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


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


# --- reading -------------------------------------------------------------------------------


def _duration(started_at: float | None, ended_at: float | None) -> float | None:
    if started_at is None or ended_at is None:
        return None
    return ended_at - started_at


def list_experiments(database: str | Path) -> list[dict[str, Any]]:
    """Summaries for ``list``: oldest first, experiments without a start time last."""
    with connection(database, create=False) as conn:
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


def sweep_keys(database: str | Path, sweep_id: str) -> dict[str, tuple[str, str]]:
    """The points a sweep has recorded: key -> (uuid, status), the best status kept."""
    rank = {"ok": 0, "partial": 1, "interrupted": 2, "failed": 3}
    found: dict[str, tuple[str, str]] = {}
    with connection(database, create=False) as conn:
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
