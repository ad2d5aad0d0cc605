"""Read experiments from the local SQLite file or the shared PostgreSQL database, alike.

The schema is the same on both sides, so one reader serves ``show``,
``export``, ``upload``, the reports and pandas access: what an experiment
looks like does not depend on where it is stored. Each query opens its own
connection, so a reader kept in a notebook holds no lock and no transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.errors import StoreError
from collector.store import sqlite
from collector.store.names import resolve_sweep, resolve_uuid, validate_table_name

if TYPE_CHECKING:
    from collector.store.remote import RemoteSettings

EXPERIMENT_FIELDS = (
    "uuid", "description", "status", "status_detail", "started_at", "ended_at", "sweep_id",
    "created_at",
)  # fmt: skip


class Reader:
    """One database of this tool's, read through DB-API connections.

    ``local`` tells the SQLite file (rows in stored order, uuids as text,
    an upload mark) from the shared PostgreSQL database (uuid columns, every
    experiment uploaded).
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        where: str,
        local: bool,
        path: Path | None = None,
    ) -> None:
        self._connect = connect
        self.where = where  # for messages: the file, or host:port/database
        self.local = local
        self.path = path  # the SQLite file; None for the shared database

    # --- SQL of either side ---------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """Columns and rows of one query written with ``?`` placeholders."""
        conn = self._connect()
        try:
            cursor = conn.cursor()
            cursor.execute(sql if self.local else sql.replace("?", "%s"), tuple(params))
            columns = [d[0] for d in cursor.description]
            return columns, cursor.fetchall()
        finally:
            conn.close()

    def text(self, column: str) -> str:
        """A uuid column as text: PostgreSQL's are of type uuid, SQLite's are text already."""
        return column if self.local else f"CAST({column} AS TEXT)"

    def in_order(self) -> str:
        """Rows as they were added: SQLite keeps a rowid; COPY kept that order remotely."""
        return " ORDER BY rowid" if self.local else ""

    # --- experiments ----------------------------------------------------------------------

    def resolve(self, uuid_or_prefix: str) -> str:
        """The full uuid of an experiment, from a uuid or a unique prefix."""

        def starting_with(prefix: str) -> list[str]:
            uuid = self.text("uuid")
            _, rows = self.query(
                f"SELECT {uuid} FROM experiments WHERE substr({uuid}, 1, ?) = ? ORDER BY 1 LIMIT 6",
                [len(prefix), prefix],
            )
            return [str(u) for (u,) in rows]

        return resolve_uuid(uuid_or_prefix, starting_with, self.where)

    def experiment(self, uuid_or_prefix: str) -> dict[str, Any]:
        """Everything about one experiment but its rows and attachment contents."""
        uuid = self.resolve(uuid_or_prefix)
        where = f"WHERE {self.text('experiment_uuid')} = ?"
        uploaded = "imported" if self.local else "1"
        columns = ", ".join([self.text("uuid"), *EXPERIMENT_FIELDS[1:], uploaded])
        _, found = self.query(
            f"SELECT {columns} FROM experiments WHERE {self.text('uuid')} = ?", [uuid]
        )
        if not found:
            raise StoreError(f"no experiment {uuid!r} in {self.where}")
        record = dict(zip(EXPERIMENT_FIELDS, found[0][:-1], strict=True))
        record["uuid"] = uuid
        started, ended = record["started_at"], record["ended_at"]
        record["duration"] = ended - started if started is not None and ended is not None else None
        record["imported"] = bool(found[0][-1])
        # JSON text on both sides (PostgreSQL's jsonb would arrive decoded otherwise)
        _, parameters = self.query(
            "SELECT measurement, name, CAST(value AS TEXT) FROM parameters "
            f"{where} ORDER BY measurement, name",
            [uuid],
        )
        record["parameters"] = [
            {"measurement": m, "name": n, "value": json.loads(v)} for m, n, v in parameters
        ]
        _, tables = self.query(
            f"SELECT table_name, row_count FROM experiment_tables {where} ORDER BY table_name",
            [uuid],
        )
        record["tables"] = {name: int(count) for name, count in tables}
        _, attachments = self.query(
            f"SELECT name, host, media_type, size FROM attachments {where} ORDER BY name, host",
            [uuid],
        )
        record["attachments"] = [
            {"name": n, "host": h, "media_type": t, "size": int(s)} for n, h, t, s in attachments
        ]
        return record

    def attachments(
        self, record: dict[str, Any]
    ) -> Iterator[tuple[str, str | None, str, bytes, int]]:
        """(name, host, media_type, content, size) of each attachment of an experiment read
        with ``experiment``, one query each, so no content sits in memory longer than needed."""
        for a in record["attachments"]:
            content = self._contents(record["uuid"], a["name"], a["host"])
            yield a["name"], a["host"], a["media_type"], bytes(content[0][1]), a["size"]

    def attachment(self, uuid: str, name: str, host: str | None = None) -> bytes:
        """Content of one attachment.

        Without ``host`` the attachment not tied to a host is returned, or the
        only one of that name if just one host has it.
        """
        full = self.resolve(uuid)
        found = self._contents(full, name, host)
        if not host and found and found[0][0] is not None and len(found) > 1:
            hosts = ", ".join(h for h, _ in found)
            raise StoreError(
                f"attachment {name!r} of experiment {full} exists for several hosts "
                f"({hosts}); name one"
            )
        if not found:
            shown = f" of host {host!r}" if host else ""
            raise StoreError(f"no attachment {name!r}{shown} in experiment {full}")
        return bytes(found[0][1])

    def _contents(self, uuid: str, name: str, host: str | None) -> list[tuple]:
        """(host, content) of the attachments of that name: the host's, or all, host-less first."""
        where = f"WHERE {self.text('experiment_uuid')} = ? AND name = ?"
        if host:
            sql = f"SELECT host, content FROM attachments {where} AND host = ?"
            return self.query(sql, [uuid, name, host])[1]
        sql = f"SELECT host, content FROM attachments {where} ORDER BY host IS NOT NULL, host"
        return self.query(sql, [uuid, name])[1]

    def rows(
        self, table: str, uuids: Iterable[str] | None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Some experiments' rows (all with None) of a measurement table, ``experiment_uuid`` first.

        The columns are all the table's fields, including ones only other
        experiments filled (NULL here).
        """
        try:
            name = validate_table_name(table)
        except ValueError:
            raise StoreError(f"no measurement table {table!r} in {self.where}") from None
        sql = f'SELECT * FROM "{name}"'
        wanted = [] if uuids is None else [str(u) for u in uuids]
        if uuids is not None:
            marks = ", ".join("?" * len(wanted)) or "NULL"
            sql += f" WHERE {self.text('experiment_uuid')} IN ({marks})"
        try:
            columns, rows = self.query(sql + self.in_order(), wanted)
        except Exception as e:  # sqlite3's or psycopg2's, whichever side this is
            if "no such table" in str(e) or "does not exist" in str(e):
                raise StoreError(f"no measurement table {table!r} in {self.where}") from None
            raise
        if not self.local:
            rows = [(str(row[0]), *row[1:]) for row in rows]
        return columns, rows

    def sweep(self, sweep_or_prefix: str) -> tuple[str, list[str]]:
        """A sweep's full id and its experiments, oldest first."""
        _, ids = self.query(
            "SELECT DISTINCT sweep_id FROM experiments WHERE sweep_id IS NOT NULL ORDER BY 1"
        )
        sweep_id = resolve_sweep(sweep_or_prefix, [i for (i,) in ids], self.where)
        _, uuids = self.query(
            f"SELECT {self.text('uuid')} FROM experiments WHERE sweep_id = ? "
            "ORDER BY started_at IS NULL, started_at, created_at, uuid",
            [sweep_id],
        )
        return sweep_id, [str(u) for (u,) in uuids]


def open_reader(source: str | Path | RemoteSettings) -> Reader:
    """A local SQLite file of this tool's, or the shared database (RemoteSettings)."""
    from collector.store.remote import RemoteSettings, connect

    if isinstance(source, RemoteSettings):
        return Reader(lambda: connect(source), where=source.describe(), local=False)
    path = Path(source)
    sqlite.open_database(path, create=False).close()  # a database of this tool's
    return Reader(lambda: sqlite3.connect(path), where=str(path), local=True, path=path)
