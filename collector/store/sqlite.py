"""The local SQLite file: its schema, opening it, transactions, listing its experiments.

One file holds many experiments: the fixed tables hold what every experiment
has, and collector.store.writer adds the measurement tables. Connections are
short-lived and the file is in WAL mode with a busy timeout, so ``list`` in
one terminal does not block a run saving in another, and a writer waits for
another writer's lock instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from collector.errors import StoreError, StoreLocked
from collector.store.names import RESERVED_TABLE_NAMES

# "SPBC" (SPICE benchmark collector): marks a file as ours in its header.
APPLICATION_ID = 0x53504243
SCHEMA_VERSION = 1
# Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 30.0
# A save that waits for the lock tries again this often, and says so this often.
LOCK_POLL = 1.0
LOCK_NOTICE = 5.0
# Seconds a save waits for another process's write lock unless told otherwise.
SAVE_WAIT = 120.0

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


def physical_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table is validated by the caller; PRAGMA arguments cannot be bound.
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


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
