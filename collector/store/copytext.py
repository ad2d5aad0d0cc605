"""Rows of a SQLite table as PostgreSQL COPY text, built by SQLite itself.

An upload of a million rows must not pay for a Python call per value: each
column gets the cheapest printf conversion its values allow in this
experiment, and a column with NULLs, mixed types or characters to escape
gets the general expression. REALs keep 17 significant digits, so
timestamps survive exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from collector.store.names import validate_field_name, validate_table_name

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


def copy_lines(
    conn: sqlite3.Connection,
    table: str,
    uuid: str,
    columns: list[str],
    *,
    lead: str = "",
    batch: int = 20000,
) -> Iterator[str]:
    """One experiment's rows of ``table`` as COPY text-format lines, in batches.

    ``lead`` is put before every line as is (e.g. the uuid column and a tab).
    """
    name = validate_table_name(table)
    columns = [validate_field_name(c) for c in columns]
    if "%" in lead:
        raise ValueError("lead must not contain %")
    formats, args = _copy_fields(conn, name, uuid, columns)
    groups = [
        (lead if i == 0 else "") + "\t".join(formats[i : i + _PRINTF_ARGS])
        for i in range(0, len(columns), _PRINTF_ARGS)
    ]
    expression = " || char(9) || ".join(
        f"printf(?, {', '.join(args[i : i + _PRINTF_ARGS])})"
        for i in range(0, len(columns), _PRINTF_ARGS)
    )
    cursor = conn.execute(
        f'SELECT {expression} FROM "{name}" WHERE experiment_uuid = ? ORDER BY rowid',
        (*groups, uuid),
    )
    while rows := cursor.fetchmany(batch):
        yield "".join(line + "\n" for (line,) in rows)


def _copy_fields(
    conn: sqlite3.Connection, table: str, uuid: str, columns: list[str]
) -> tuple[list[str], list[str]]:
    """printf conversion and argument per column, from one scan of the rows."""
    where = f'FROM "{table}" WHERE experiment_uuid = ?'
    # min = max: one storage type and no NULL ('null' is a type too).
    kinds = conn.execute(
        "SELECT "
        + ", ".join(f'min(typeof("{c}")), max(typeof("{c}"))' for c in columns)
        + f" {where}",
        (uuid,),
    ).fetchone()
    single = {c: kinds[2 * i] for i, c in enumerate(columns) if kinds[2 * i] == kinds[2 * i + 1]}
    texts = [c for c, kind in single.items() if kind == "text"]
    if texts:
        escapes = conn.execute(
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
