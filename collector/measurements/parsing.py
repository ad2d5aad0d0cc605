"""Helpers the parsers share: rows, line counts, the sampler's timestamps, spice's log heads.

A parser is a plain function ``parse(text) -> Parsed`` (a dict of table name
to Rows, with the counts of the lines it read), so it can be tested on real
output and run alone (``python -m collector parse``); each measurement
module declares which raw file it reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rows:
    """One table's worth of parsed rows: field names and value tuples."""

    fields: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.fields, row, strict=True)) for row in self.rows]


EXAMPLES = 3  # unparsed lines kept to show the user


@dataclass
class LineCounts:
    """What a parser made of a file's lines, so that no loss is silent.

    ``recognised``: lines of the parser's format that it read (a row, or a
    line a row depends on). ``unparsed``: lines that looked like its format
    (a known marker, a ``client report``, a timestamped agent verb) but did
    not parse: a version or a patch it does not know. ``ignored``: the rest,
    lines of other programs or of no interest. ``examples``: the first
    unparsed lines, for the user to see what was not read.
    """

    lines: int = 0
    recognised: int = 0
    unparsed: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ignored(self) -> int:
        return max(self.lines - self.recognised - self.unparsed, 0)

    def failed(self, line: str, lines: int = 1) -> None:
        self.unparsed += lines
        if len(self.examples) < EXAMPLES:
            self.examples.append(line.rstrip("\r")[:300])

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.lines, "recognised": self.recognised, "unparsed": self.unparsed,
            "ignored": self.ignored, "unparsed_examples": self.examples,
        }  # fmt: skip

    def describe(self) -> str:
        return (
            f"{self.lines} lines: {self.recognised} recognised, {self.unparsed} looked like "
            f"the format but did not parse, {self.ignored} ignored"
        )


def json_samples(text: str, counts: LineCounts) -> Iterator[dict[str, Any]]:
    """The JSON objects of a sampler's JSON lines (the role's own sampler scripts), one by one.

    A generator, so that a parser keeps only the samples it still needs:
    a list of all of them makes the garbage collector walk every one again
    and again (about four times slower on a long run). A line cut by the end
    of the window (the file's last, without its newline) is no loss; any
    other line that is not a JSON object with a time ``t`` looked like a
    sample and did not parse. The counts are complete once it is exhausted.
    """
    lines = log_lines(text)
    counts.lines = len(lines)
    cut = None if text.endswith(("\n", "\r")) else len(lines) - 1
    loads = json.loads
    for at, line in enumerate(lines):
        try:
            sample = loads(line)
            sample["t"] = float(sample["t"])
        except (ValueError, KeyError, TypeError, IndexError):
            if at != cut and line.strip():
                counts.failed(line)
            continue
        counts.recognised += 1
        yield sample


class Parsed(dict[str, Rows]):
    """A parser's tables by name, and ``lines``: how it read the file's lines."""

    def __init__(self, tables: dict[str, Rows], lines: LineCounts) -> None:
        super().__init__(tables)
        self.lines = lines


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


# A recorder time above this is seconds since the epoch (a patched recorder_tick),
# not since the process's first record (that would be a process over 3 years old).
EPOCH_FLOOR = 1e8


def recorder_head(head: str | None) -> tuple[int | None, float | None, float | None] | None:
    """The ``[ORDER TIME]`` in front of a spice recorder line: (seq, trace time, epoch).

    ``trace time`` is always seconds since the recorder's first record in the
    process (the recorder's own clock, ``recorder_tick``); a build whose
    recorder counts from the epoch instead gives ``epoch`` and no trace time,
    so the two never mix in one column. The ``HH:MM:SS.ffffff`` of the
    ``recorder_abstime`` tweak (UTC time of day) is skipped. None when the
    head is not a recorder's (the line is someone else's).
    """
    seq: int | None = None
    trace_time: float | None = None
    epoch: float | None = None
    for token in (head or "").split():
        if ":" in token:
            continue
        try:
            if "." in token:
                value = float(token)
                if value >= EPOCH_FLOOR:
                    epoch = value
                else:
                    trace_time = value
            else:
                seq = int(token)
        except ValueError:
            return None
    return seq, trace_time, epoch


def journal_entry_time(line: str, current: float | None) -> float | None:
    """The time of the journal entry a line of ``journalctl -o export`` belongs to.

    An export is ``FIELD=value`` lines, one blank line between entries; the
    entry's ``__REALTIME_TIMESTAMP`` (µs since the epoch) comes before its
    ``MESSAGE``. Any other line keeps the current entry's time.
    """
    if not line:
        return None
    if line.startswith("__REALTIME_TIMESTAMP="):
        try:
            return int(line[21:]) / 1e6
        except ValueError:
            return None
    return current


def clock_before(line: str, at: int) -> tuple[str | None, str | None]:
    """GLib's ``HH:MM:SS.mmm: `` just before the source path that ends at ``at``.

    GLib 2.56 and later print the time of day right before the message, which
    for spice's debug macros starts with ``__FILE__`` (``../src/x.c``); the
    path runs back to a space, a ``=`` or the line's start. (None, None) when
    there is no time there. Faster than an optional group in front of a
    searched pattern, which the regex engine tries at every position.
    """
    start = max(line.rfind(" ", 0, at), line.rfind("=", 0, at)) + 1
    stamp = line[start - 14 : start - 2]
    if (
        len(stamp) == 12
        and line[start - 2 : start] == ": "
        and stamp[2] == ":" == stamp[5]
        and stamp[8] == "."
        and stamp[9:].isdigit()
        and stamp[:2].isdigit()
    ):
        return stamp[:8], stamp[9:]
    return None, None


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
