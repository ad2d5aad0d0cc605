"""Parsers: raw text from a measurement in, table rows out.

Each parser is a plain function ``parse(text) -> dict[table name, Rows]`` so
it can be tested on real output and run alone (``python -m collector parse``).
Which parser reads which raw file of which measurement is declared in
``collector.measurements``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rows:
    """One table's worth of parsed rows: field names and value tuples."""

    fields: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.fields, row, strict=True)) for row in self.rows]


def split_timestamp(line: str) -> tuple[float | None, str]:
    """Split the ``<epoch seconds> `` prefix the sampler runner adds to a line."""
    head, sep, rest = line.partition(" ")
    if sep:
        try:
            return float(head), rest
        except ValueError:
            pass
    return None, line


def recorder_head(head: str | None) -> tuple[int | None, float | None] | None:
    """The ``[ORDER RELTIME]`` in front of a spice recorder line: (seq, trace time).

    None when the head is not a recorder's (the line is someone else's).
    An absolute ``HH:MM:SS.ffffff`` time, when the recorder prints one, is skipped.
    """
    seq: int | None = None
    trace_time: float | None = None
    for token in (head or "").split():
        if ":" in token:
            continue
        try:
            if "." in token:
                trace_time = float(token)
            else:
                seq = int(token)
        except ValueError:
            return None
    return seq, trace_time
