"""Helpers the parsers share: rows, the sampler's timestamps, spice's log heads.

A parser is a plain function ``parse(text) -> dict[table name, Rows]``, so
it can be tested on real output and run alone (``python -m collector parse``);
each measurement module declares which raw file it reads.
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


def log_lines(text: str) -> list[str]:
    """A log's lines whatever its line endings (LF, CRLF or CR).

    A last line without its newline is kept: a pasted excerpt, or a log cut
    short by a crash, ends that way, and its last line is as good as the others.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


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


class TimeOfDay:
    """``HH:MM:SS`` and ``mmm`` of a GLib log line → seconds since midnight.

    The whole seconds are cached: a 30 fps stream logs dozens of lines a second.
    """

    def __init__(self) -> None:
        self._seconds: dict[str, int] = {}

    def __call__(self, hms: str | None, msec: str | None) -> float | None:
        if hms is None or msec is None:
            return None  # a GLib without timestamps (before 2.5x)
        seconds = self._seconds.get(hms)
        if seconds is None:
            hours, minutes, secs = hms.split(":")
            seconds = self._seconds[hms] = int(hours) * 3600 + int(minutes) * 60 + int(secs)
        return (seconds * 1000 + int(msec)) / 1000
