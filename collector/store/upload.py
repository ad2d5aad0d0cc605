"""Push local experiments to the shared PostgreSQL database, each exactly once.

One remote transaction per experiment; the local ``imported`` mark is set
only after the remote commit. The experiment row goes in first with
``ON CONFLICT DO NOTHING``: an experiment already on the remote (a crash
between the remote commit and the local mark, or another upload of the same
file running right now) is only marked locally, never copied twice. A
connection lost half way leaves the remote without any part of the
experiment, and the next upload completes it. Rows travel by COPY.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from psycopg2 import sql

from collector.store import copytext, sqlite, writer
from collector.store.names import validate_field_name, validate_table_name
from collector.store.pgschema import ensure_schema, ensure_tables, quoted_columns
from collector.store.reader import Reader, open_reader
from collector.store.remote import RemoteError, RemoteSettings, connect, explain
from collector.version import __version__

Progress = Callable[[str], None]


@dataclass
class UploadReport:
    uploaded: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


class _CopyStream(io.TextIOBase):
    """A file-like object over an iterator of text chunks, as COPY ... FROM STDIN reads it.

    Each read returns one whole chunk, whatever size was asked: psycopg2
    sends what it gets, and slicing megabytes of text would cost more.
    """

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self.lines = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        chunk = next(self._chunks, "")
        self.lines += chunk.count("\n")
        return chunk

    readline = read


def pending(database: Path, only: str | None = None) -> list[str]:
    """The experiments of a local file not uploaded yet (oldest first), or the one named."""
    reader = open_reader(database)
    if only is not None:
        uuid = reader.resolve(only)
        return [] if reader.experiment(uuid)["imported"] else [uuid]
    _, rows = reader.query(
        "SELECT uuid FROM experiments WHERE imported = 0 ORDER BY created_at, uuid"
    )
    return [uuid for (uuid,) in rows]


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str | None]]:
    """(column, declared type) of a local measurement table, without experiment_uuid."""
    name = validate_table_name(table)
    declared = dict(conn.execute(
        "SELECT column_name, column_type FROM table_columns WHERE table_name = ?", (name,)
    ).fetchall())  # fmt: skip
    return [
        (validate_field_name(c), declared.get(c))
        for c in sqlite.physical_columns(conn, name)
        if c != "experiment_uuid"
    ]


def upload(
    database: Path,
    settings: RemoteSettings,
    *,
    only: str | None = None,
    progress: Progress = print,
) -> UploadReport:
    report = UploadReport()
    started = time.perf_counter()
    reader = open_reader(database)
    if only is not None:
        uuids = [reader.resolve(only)]
        if reader.experiment(uuids[0])["imported"]:
            progress(f"{uuids[0]}: already uploaded")
            report.already_there.append(uuids[0])
            return report
    else:
        uuids = pending(database)
    if not uuids:
        progress(f"nothing to upload: every experiment in {database} is uploaded")
        return report
    # One local connection streams the rows (copytext); the reader reads the rest.
    with sqlite.connection(database, create=False) as local:
        conn = connect(settings)
        try:
            found, now = ensure_schema(conn, schema=settings.schema)
            if found != now:
                was = "no schema" if found is None else f"schema {found}"
                progress(f"remote: {was} -> schema {now}")
            experiments = {uuid: reader.experiment(uuid) for uuid in uuids}
            tables = {
                name: _columns(local, name) for e in experiments.values() for name in e["tables"]
            }
            for change in ensure_tables(conn, tables):
                progress(f"remote: {change}")
            for index, uuid in enumerate(uuids, start=1):
                prefix = f"[{index}/{len(uuids)}] {uuid}"
                try:
                    copied = _upload_one(
                        conn, reader, local, experiments[uuid], tables, prefix, progress
                    )
                except psycopg2.Error as e:
                    _rollback(conn)
                    message = explain(e, settings)
                    if conn.closed or isinstance(
                        e, psycopg2.OperationalError | psycopg2.InterfaceError
                    ):
                        message = (
                            f"connection lost while uploading; the remote kept nothing of this "
                            f"experiment, run upload again ({message})"
                        )
                        report.failed[uuid] = message
                        progress(f"{prefix}: failed: {message}")
                        break
                    report.failed[uuid] = message
                    progress(f"{prefix}: failed: {message}")
                    continue
                writer.mark_imported(database, [uuid])
                if copied is None:
                    report.already_there.append(uuid)
                    progress(f"{prefix}: already on the remote; marked uploaded")
                else:
                    report.uploaded.append(uuid)
                    report.rows += copied
        finally:
            conn.close()
    report.seconds = time.perf_counter() - started
    return report


def _rollback(conn) -> None:
    if not conn.closed:
        with contextlib.suppress(psycopg2.Error):
            conn.rollback()


def _upload_one(
    conn,
    reader: Reader,
    local: sqlite3.Connection,
    e: dict,
    columns: dict[str, list[tuple[str, str | None]]],
    prefix: str,
    progress: Progress,
) -> int | None:
    """Copy one experiment in one transaction; None when the remote has it already."""
    uuid = e["uuid"]
    began = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO experiments (uuid, description, status, status_detail, started_at, "
            "ended_at, created_at, sweep_id, uploaded_by, tool_version) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (uuid) DO NOTHING RETURNING uuid",
            (
                uuid, e["description"], e["status"], e["status_detail"], e["started_at"],
                e["ended_at"], e["created_at"], e["sweep_id"], _uploader(), __version__,
            ),
        )  # fmt: skip
        if cur.fetchone() is None:
            conn.rollback()
            return None
        cur.executemany(
            "INSERT INTO parameters (experiment_uuid, measurement, name, value) "
            "VALUES (%s, %s, %s, %s::jsonb)",
            [
                (uuid, p["measurement"], p["name"], json.dumps(p["value"], allow_nan=False))
                for p in e["parameters"]
            ],
        )
        for name, host, media_type, content, size in reader.attachments(e):
            cur.execute(
                "INSERT INTO attachments (experiment_uuid, name, host, media_type, content, size) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (uuid, name, host, media_type, psycopg2.Binary(content), size),
            )
        total = 0
        for table, count in e["tables"].items():
            cur.execute(
                "INSERT INTO experiment_tables (experiment_uuid, table_name, row_count) "
                "VALUES (%s, %s, %s)",
                (uuid, table, count),
            )
            names = [c for c, _ in columns[table]]
            stream = _CopyStream(copytext.copy_lines(local, table, uuid, names, lead=uuid + "\t"))
            cur.copy_expert(
                sql.SQL("COPY {} (experiment_uuid, {}) FROM STDIN").format(
                    sql.Identifier(table), quoted_columns(names)
                ),
                stream,
                size=1 << 20,
            )
            total += stream.lines
            progress(f"{prefix}: {table}: {stream.lines} rows")
    conn.commit()
    seconds = time.perf_counter() - began
    progress(f"{prefix}: uploaded, {total} rows in {seconds:.1f} s")
    return total


def _uploader() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def remote_experiments(settings: RemoteSettings) -> list[dict]:
    """What the shared database holds, newest upload last, to check an upload."""
    conn = connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('collector_schema') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute(
                "SELECT e.uuid::text, e.description, e.status, e.started_at, e.ended_at, "
                "e.uploaded_at, e.uploaded_by, "
                "(SELECT coalesce(sum(row_count), 0) FROM experiment_tables t "
                " WHERE t.experiment_uuid = e.uuid) "
                "FROM experiments e ORDER BY e.uploaded_at, e.uuid"
            )
            keys = ("uuid", "description", "status", "started_at", "ended_at", "uploaded_at",
                    "uploaded_by", "rows")  # fmt: skip
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
    except psycopg2.Error as e:
        raise RemoteError(explain(e, settings)) from None
    finally:
        conn.close()
