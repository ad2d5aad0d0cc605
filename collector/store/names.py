"""The store's names and rules: which identifiers, statuses and uuid prefixes are valid.

Table and field names end up as SQL identifiers (in SQLite here and in
PostgreSQL after upload), so every name is validated the moment it enters
the store's API: nothing from a config file or a log reaches SQL text
unchecked, and values only ever travel as query parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from collector.errors import StoreError

STATUSES: tuple[str, ...] = ("ok", "partial", "failed", "interrupted")
FIELD_TYPES: tuple[str, ...] = ("integer", "real", "text", "blob")

# The store's own tables; a measurement table of the same name would collide.
RESERVED_TABLE_NAMES: frozenset[str] = frozenset(
    {"experiments", "parameters", "attachments", "experiment_tables", "table_columns"}
)
# experiment_uuid is the store's first column of every measurement table; the
# rest are implicit row ids in SQLite or system columns in PostgreSQL.
RESERVED_FIELD_NAMES: frozenset[str] = frozenset(
    {"experiment_uuid", "rowid", "oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid"}
)

# SQLite's keywords and PostgreSQL's reserved words (data is uploaded there
# later): a name from either list would need quoting in one of the two
# databases, so neither is accepted.
_SQLITE_KEYWORDS = """
    abort action add after all alter always analyze and as asc attach autoincrement
    before begin between by cascade case cast check collate column commit conflict
    constraint create cross current current_date current_time current_timestamp
    database default deferrable deferred delete desc detach distinct do drop each else
    end escape except exclude exclusive exists explain fail filter first following for
    foreign from full generated glob group groups having if ignore immediate in index
    indexed initially inner insert instead intersect into is isnull join key last left
    like limit match materialized natural no not nothing notnull null nulls of offset
    on or order others outer over partition plan pragma preceding primary query raise
    range recursive references regexp reindex release rename replace restrict returning
    right rollback row rows savepoint select set table temp temporary then ties to
    transaction trigger unbounded union unique update using vacuum values view virtual
    when where window with without
"""
_POSTGRES_RESERVED = """
    all analyse analyze and any array as asc asymmetric authorization binary both case
    cast check collate collation column concurrently constraint create cross
    current_catalog current_date current_role current_schema current_time
    current_timestamp current_user default deferrable desc distinct do else end except
    false fetch for foreign freeze from full grant group having ilike in initially inner
    intersect into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user
    using variadic verbose when where window with
"""
SQL_KEYWORDS: frozenset[str] = frozenset(_SQLITE_KEYWORDS.split()) | frozenset(
    _POSTGRES_RESERVED.split()
)

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _check_identifier(name: object, kind: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"invalid {kind} {name!r}: must be a string")
    # fullmatch, not match with "$": "$" would accept a trailing newline
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"invalid {kind} {name!r}: use 1-63 characters a-z, 0-9 and _, starting with a letter"
        )
    if name in SQL_KEYWORDS:
        raise ValueError(f"invalid {kind} {name!r}: it is an SQL keyword")
    return name


def validate_table_name(name: object) -> str:
    """Refuse a name before it can become SQL text; returns it unchanged."""
    _check_identifier(name, "table name")
    assert isinstance(name, str)
    if name in RESERVED_TABLE_NAMES or name.startswith("sqlite_"):
        raise ValueError(f"invalid table name {name!r}: reserved for the store's own tables")
    return name


def validate_field_name(name: object) -> str:
    """Refuse a name before it can become SQL text; returns it unchanged."""
    _check_identifier(name, "field name")
    assert isinstance(name, str)
    if name in RESERVED_FIELD_NAMES:
        raise ValueError(f"invalid field name {name!r}: reserved for the store")
    return name


MIN_PREFIX = 4

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
