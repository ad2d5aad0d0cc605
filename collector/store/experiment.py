"""The old benchmark script's Experiment API, kept in memory until saved.

Parsers and ingest fill an :class:`Experiment` with tables, attachments and
parameters; :meth:`Experiment.save` writes it to SQLite in one transaction
(collector.store.writer).
Names are checked by collector.store.names as they enter.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.store import writer
from collector.store.names import (
    FIELD_TYPES,
    STATUSES,
    validate_field_name,
    validate_table_name,
)


def _parse_fields(
    table: str, fields: Sequence[str | tuple[str, str]]
) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    # A bare string would iterate as one field per character.
    if isinstance(fields, str | bytes) or not isinstance(fields, Sequence):
        raise ValueError(f"table {table!r}: fields must be a list of names or (name, type) pairs")
    names: list[str] = []
    types: list[str | None] = []
    for field in fields:
        if isinstance(field, str):
            name, declared = field, None
        elif isinstance(field, tuple | list) and len(field) == 2:
            name, declared = field
            if not isinstance(declared, str) or declared.lower() not in FIELD_TYPES:
                raise ValueError(
                    f"table {table!r}, field {name!r}: type {declared!r} is not one of "
                    f"{', '.join(FIELD_TYPES)}"
                )
            declared = declared.lower()
        else:
            raise ValueError(
                f"table {table!r}: field {field!r} is neither a name nor a (name, type) pair"
            )
        validate_field_name(name)
        if name in names:
            raise ValueError(f"table {table!r}: field {name!r} is given twice")
        names.append(name)
        types.append(declared)
    if not names:
        raise ValueError(f"table {table!r}: needs at least one field")
    return tuple(names), tuple(types)


class Table:
    """Rows of one measurement table for one experiment.

    Values are not type-checked here, to keep parsers fast; the store refuses
    what SQLite cannot hold when the experiment is saved.
    """

    def __init__(self, name: str, fields: Sequence[str | tuple[str, str]]) -> None:
        self.name: str = validate_table_name(name)
        names, types = _parse_fields(name, fields)
        self.fields: tuple[str, ...] = names
        # None: let the store infer the column type from the values.
        self.types: tuple[str | None, ...] = types
        self.rows: list[tuple] = []

    @property
    def spec(self) -> tuple[tuple[str, str | None], ...]:
        """(name, declared type) pairs: what makes two create_table calls the same table."""
        return tuple(zip(self.fields, self.types, strict=True))

    def add(self, *values: Any) -> None:
        if len(values) != len(self.fields):
            raise ValueError(
                f"table {self.name!r}: {len(values)} values given, "
                f"{len(self.fields)} fields ({', '.join(self.fields)})"
            )
        self.rows.append(values)

    def add_many(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add all rows or none: a bad row leaves the table as it was."""
        new = [tuple(row) for row in rows]
        width = len(self.fields)
        for index, row in enumerate(new):
            if len(row) != width:
                raise ValueError(
                    f"table {self.name!r}: row {index} of add_many has {len(row)} values, "
                    f"{width} fields ({', '.join(self.fields)})"
                )
        self.rows.extend(new)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, fields={self.fields!r}, rows={len(self.rows)})"


def guess_media_type(name: str, content: bytes) -> str:
    """Give readers of the database a hint how to show an attachment."""
    if name.lower().endswith(".json"):
        return "application/json"
    if b"\x00" in content:
        return "application/octet-stream"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


@dataclass
class Attachment:
    """A file kept with the experiment (command output, config, raw log)."""

    name: str
    content: bytes
    host: str | None = None
    media_type: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"attachment name {self.name!r} must be a non-empty string")
        if isinstance(self.content, str):
            self.content = self.content.encode("utf-8")
        elif isinstance(self.content, bytearray | memoryview):
            self.content = bytes(self.content)
        elif not isinstance(self.content, bytes):
            raise ValueError(
                f"attachment {self.name!r}: content must be bytes or str, "
                f"not {type(self.content).__name__}"
            )
        # "" and None both mean "not tied to a host"; one spelling keeps lookups simple.
        if self.host == "":
            self.host = None
        if self.host is not None and not isinstance(self.host, str):
            raise ValueError(f"attachment {self.name!r}: host must be a string")
        if not self.media_type:
            self.media_type = guess_media_type(self.name, self.content)


def _check_status(status: object) -> str:
    if status not in STATUSES:
        raise ValueError(f"invalid status {status!r}: use one of {', '.join(STATUSES)}")
    assert isinstance(status, str)
    return status


def _check_time(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be epoch seconds (a number) or None, not {value!r}")
    return float(value)


def _check_uuid(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"experiment uuid {value!r} must be a string")
    try:
        parsed = uuid_module.UUID(value)
    except ValueError:
        raise ValueError(f"experiment uuid {value!r} is not a UUID") from None
    # One spelling per experiment, so prefix lookups in the store work.
    return str(parsed)


class Experiment:
    """One benchmark run: what the old script's Experiment object recorded."""

    def __init__(
        self,
        description: str = "",
        *,
        uuid: str | None = None,
        status: str = "ok",
        status_detail: str = "",
        started_at: float | None = None,
        ended_at: float | None = None,
        sweep_id: str | None = None,
    ) -> None:
        if not isinstance(description, str):
            raise ValueError(f"description must be a string, not {type(description).__name__}")
        if not isinstance(status_detail, str):
            raise ValueError("status_detail must be a string")
        if sweep_id is not None and not isinstance(sweep_id, str):
            raise ValueError("sweep_id must be a string or None")
        self.uuid: str = str(uuid_module.uuid4()) if uuid is None else _check_uuid(uuid)
        self.description: str = description
        self._status: str = _check_status(status)
        self.status_detail: str = status_detail
        self.started_at: float | None = _check_time("started_at", started_at)
        self.ended_at: float | None = _check_time("ended_at", ended_at)
        self.sweep_id: str | None = sweep_id
        self.tables: dict[str, Table] = {}
        self.attachments: list[Attachment] = []
        self.parameters: list[tuple[str, str, Any]] = []

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        # Ingest downgrades the status as it finds problems; keep it valid.
        self._status = _check_status(value)

    def create_table(self, name: str, fields: Sequence[str | tuple[str, str]]) -> Table:
        """Return the table, creating it on first use.

        Several hosts' parsers feed the same table, so asking again with the
        same fields is normal; different fields under one name is a bug.
        """
        table = Table(name, fields)
        existing = self.tables.get(name)
        if existing is None:
            self.tables[name] = table
            return table
        if existing.spec != table.spec:
            raise ValueError(
                f"table {name!r} already exists with fields {list(existing.spec)!r}, "
                f"asked again with {list(table.spec)!r}"
            )
        return existing

    def add_attachment(
        self,
        name: str,
        content: bytes | str,
        *,
        host: str | None = None,
        media_type: str | None = None,
    ) -> None:
        attachment = Attachment(name, content, host, media_type or "")
        for other in self.attachments:
            # read_attachment finds one by (name, host); two would be ambiguous.
            if other.name == attachment.name and other.host == attachment.host:
                where = f" of host {attachment.host!r}" if attachment.host else ""
                raise ValueError(f"attachment {name!r}{where} is already attached")
        self.attachments.append(attachment)

    def set_parameter(self, measurement: str, name: str, value: Any) -> None:
        """Record a setting the run used; setting it again replaces the value."""
        if not isinstance(measurement, str) or not isinstance(name, str) or not name:
            raise ValueError(f"parameter {measurement!r}.{name!r}: names must be strings")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"parameter {measurement}.{name}: value is not JSON-serialisable ({exc})"
            ) from None
        for index, (other_measurement, other_name, _) in enumerate(self.parameters):
            if other_measurement == measurement and other_name == name:
                self.parameters[index] = (measurement, name, value)
                return
        self.parameters.append((measurement, name, value))

    def save(
        self,
        database: str | Path,
        *,
        replace: bool = False,
        wait: float | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Kept from the old script's API; the store does the work (see save_experiment)."""
        writer.save_experiment(database, self, replace=replace, wait=wait, progress=progress)

    def __repr__(self) -> str:
        return (
            f"Experiment(uuid={self.uuid!r}, status={self._status!r}, "
            f"tables={list(self.tables)!r}, attachments={len(self.attachments)})"
        )
