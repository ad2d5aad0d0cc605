"""The store: experiments in a local SQLite file, uploaded once to a shared PostgreSQL database.

``names`` holds the rules every name obeys, ``experiment`` the in-memory
Experiment of the old script's API, ``sqlite`` and ``writer`` the local file, ``reader``
the one way to read an experiment from either database, ``remote``,
``pgschema``, ``copytext`` and ``upload`` the shared database. The functions
here are the short way in for the local file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collector.store.experiment import Attachment, Experiment, Table
from collector.store.reader import Reader, open_reader
from collector.store.sqlite import list_experiments, open_database, sweep_keys
from collector.store.writer import mark_imported, save_experiment

__all__ = [
    "Attachment", "Experiment", "Reader", "Table", "get_experiment", "list_experiments",
    "mark_imported", "open_database", "open_reader", "read_attachment", "read_table",
    "save_experiment", "sweep_keys",
]  # fmt: skip


def get_experiment(database: str | Path, uuid_or_prefix: str) -> dict[str, Any]:
    """Everything about one experiment of a local file, but its rows and attachment contents."""
    return open_reader(database).experiment(uuid_or_prefix)


def read_table(
    database: str | Path, table: str, uuid_or_prefix: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """One experiment's rows of a measurement table, in the order they were added."""
    reader = open_reader(database)
    columns, rows = reader.rows(table, [reader.resolve(uuid_or_prefix)])
    return columns[1:], [row[1:] for row in rows]


def read_attachment(
    database: str | Path, uuid_or_prefix: str, name: str, host: str | None = None
) -> bytes:
    return open_reader(database).attachment(uuid_or_prefix, name, host)
