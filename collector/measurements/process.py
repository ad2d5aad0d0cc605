"""``process``: CPU and memory of the SPICE processes on each machine, from pidstat.

``pidstat -h -u -r [-l] -p PIDS <interval>`` output: one line per process and sample.

The ``-h`` format (sysstat's ``write_pid_task_all_stats`` in ``pidstat.c``) repeats a
header before every sample::

    # Time        UID       PID    %usr %system  %guest   %wait    %CPU   CPU  minflt/s ...  Command
    07:06:02        0      2377   26.00    1.00    0.00   48.00   27.00     0      0.00 ...  Xorg

Columns are read by the header's names, so all of these variants are read:

- ``%wait`` is printed by newer sysstat (12.x) only; without it ``cpu_wait_pct`` is None.
- ``-u`` or ``-r`` alone leave the other group's fields None.
- ``-U`` prints ``USER`` instead of ``UID``; ``-t`` prints ``TGID TID`` (one of them ``-``,
  ``0`` in old sysstat) instead of ``PID`` and prefixes thread commands with ``|__``.
- ``-l`` prints the whole command line, spaces included: the command is the rest of the
  line after the last numeric column.
- The Time column is ``strftime("%X")``: ``07:06:02`` in the C locale or with
  ``S_TIME_FORMAT=ISO`` (which forces ``%H:%M:%S``), ``07:06:02 PM`` in a 12-hour locale
  (the header still has one ``Time`` word). With ``-H`` (sysstat 12), and always in old
  sysstat (9.x/10.x print ``time(NULL)`` with ``%11ld`` under a ``#      Time`` header),
  it is seconds since the epoch.

Fields: ``time`` is that epoch when the Time column is one (pidstat's own absolute
timestamp), otherwise the sampler runner's ``<epoch> `` prefix, otherwise None.
``time_of_day`` is seconds since the measured host's local midnight from a clock-time
Time column, and None for an epoch Time column (the host's time zone is not known here).
A decimal comma (``LC_NUMERIC`` of some locales) is read as a point.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean
from typing import Any

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, log_lines, split_timestamp
from collector.measurements.summarizing import by, largest, sample_totals

FIELDS = (
    "time", "time_of_day", "pid", "command", "cpu_user_pct", "cpu_system_pct",
    "cpu_guest_pct", "cpu_wait_pct", "cpu_pct", "cpu_index", "minflt_per_s", "majflt_per_s",
    "vsz_kb", "rss_kb", "mem_pct",
)  # fmt: skip

# header name → (output field, type); a field whose column is missing stays None
_COLUMNS: dict[str, tuple[str, type]] = {
    "%usr": ("cpu_user_pct", float),
    "%system": ("cpu_system_pct", float),
    "%guest": ("cpu_guest_pct", float),
    "%wait": ("cpu_wait_pct", float),
    "%CPU": ("cpu_pct", float),
    "CPU": ("cpu_index", int),
    "minflt/s": ("minflt_per_s", float),
    "majflt/s": ("majflt_per_s", float),
    "VSZ": ("vsz_kb", int),
    "RSS": ("rss_kb", int),
    "%MEM": ("mem_pct", float),
}
_VALUE_FIELDS = FIELDS[4:]
_MERIDIEM = {"AM": 0, "PM": 12, "am": 0, "pm": 12}


def _lenient(kind: type, token: str) -> float | int:
    """A number with a decimal comma (``8,00``), as some locales print it."""
    number = float(token.replace(",", "."))
    return number if kind is float else int(number)


class _Layout:
    """Where each field sits in a data line split by the current header."""

    def __init__(self, names: tuple[str, ...], prefixed: bool) -> None:
        self.width = len(names)  # Time ... Command
        self.prefixed = prefixed
        index = {name: i for i, name in enumerate(names)}
        self.pid = index.get("PID")
        self.tid_tgid = [index[n] for n in ("TID", "TGID") if n in index]
        found = {field: (index[name], kind) for name, (field, kind) in _COLUMNS.items()
                 if name in index}  # fmt: skip
        # (position among the value fields, column, type) of the columns this header has
        self.columns = [(pos, *found[f]) for pos, f in enumerate(_VALUE_FIELDS) if f in found]
        # The usual header (-u -r, with or without %wait): the value columns follow each
        # other in the order of the fields, so one slice converts them all.
        first = self.columns[0][1] if self.columns else 0
        self.run = (first, first + len(self.columns))
        self.run_ints = [j for j, (_, _, kind) in enumerate(self.columns) if kind is int]
        self.contiguous = [i for _, i, _ in self.columns] == list(range(*self.run))
        self.complete = len(self.columns) == len(_VALUE_FIELDS)

    def values(self, parts: list[str]) -> list[Any]:
        if self.contiguous:
            try:
                converted: list[Any] = list(map(float, parts[self.run[0] : self.run[1]]))
            except ValueError:
                converted = [_lenient(float, p) for p in parts[self.run[0] : self.run[1]]]
            for j in self.run_ints:
                converted[j] = int(converted[j])
        else:
            try:
                converted = [kind(parts[i]) for _, i, kind in self.columns]
            except ValueError:
                converted = [_lenient(kind, parts[i]) for _, i, kind in self.columns]
        if self.complete:
            return converted
        values: list[Any] = [None] * len(_VALUE_FIELDS)
        for (pos, _, _), value in zip(self.columns, converted, strict=True):
            values[pos] = value
        return values

    def pid_of(self, parts: list[str]) -> int | None:
        if self.pid is not None:
            return int(parts[self.pid])
        for i in self.tid_tgid:  # -t: one of TID and TGID is "-" (or "0" in old sysstat)
            if parts[i].isdigit() and parts[i] != "0":
                return int(parts[i])
        return None


def _header(line: str) -> tuple[str, ...] | None:
    """Column names of a ``# Time ...`` header, or None for any other line."""
    stripped = line.lstrip()
    if not stripped.startswith("#"):
        return None
    names = tuple(stripped[1:].split())
    if len(names) < 3 or names[0] != "Time" or names[-1] != "Command":
        return None
    return names


def _clock(text: str, meridiem: str | None) -> float | None:
    """Seconds since midnight of ``HH:MM:SS`` (with an optional AM/PM)."""
    pieces = text.split(":")
    if len(pieces) != 3:
        return None
    try:
        h, m, s = int(pieces[0]), int(pieces[1]), float(pieces[2])
    except ValueError:
        return None
    if meridiem is not None:
        h = h % 12 + _MERIDIEM[meridiem]
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
        return None
    return h * 3600 + m * 60 + s


def parse(text: str) -> Parsed:
    table = Rows(FIELDS)
    rows = table.rows
    counts = LineCounts()
    headers = 0
    layout: _Layout | None = None
    layouts: dict[tuple[tuple[str, ...], bool], _Layout] = {}  # the header repeats
    clocks: dict[tuple[str, str | None], float | None] = {}  # a sample's lines share a time
    lines = log_lines(text)
    counts.lines = len(lines)
    for raw in lines:
        if "#" in raw[:40]:
            t, rest = split_timestamp(raw)
            names = _header(rest)
            if names is not None:
                known = (names, t is not None)
                layout = layouts.get(known) or layouts.setdefault(known, _Layout(*known))
                headers += 1
            continue
        if layout is None:
            continue  # before the first header: the banner, or a line cut at the start
        time: float | None = None
        line = raw
        if layout.prefixed:
            time, line = split_timestamp(raw)
            if time is None:
                continue
        parts = line.split(None, layout.width - 1)
        if len(parts) < layout.width:
            continue  # blank, cut by the window's end, or garbage
        first = parts[0]
        meridiem = parts[1] if parts[1] in _MERIDIEM else None
        if meridiem is not None:  # "07:06:02 PM": the time takes two words
            parts = line.split(None, layout.width)
            if len(parts) <= layout.width:
                continue
            del parts[1]
        if ":" in first:
            clock = (first, meridiem)
            time_of_day = (
                clocks[clock] if clock in clocks else clocks.setdefault(clock, _clock(*clock))
            )
            if time_of_day is None:
                continue
        elif first.isdigit():  # -H, or old sysstat: seconds since the epoch
            time, time_of_day = float(first), None
        else:
            continue  # "Average:" or garbage
        try:
            rows.append(
                (time, time_of_day, layout.pid_of(parts), parts[-1].strip(), *layout.values(parts))
            )
        except ValueError:
            counts.failed(raw)  # a row of the header's width with a value that is no number
            continue
    counts.recognised = headers + len(rows)
    return Parsed({"process": table}, counts)


def summarize(records: list[Record]) -> Section:
    """CPU and memory per command; processes of the same command are added up per sample."""
    out: Section = {}
    for (host, command), rs in by(records, "host", "command").items():
        samples: dict[Any, list[Record]] = defaultdict(list)
        for r in rs:  # the lines of one pidstat sample share its time
            samples[(r.get("time"), r.get("time_of_day"))].append(r)
        cpu = sample_totals(samples.values(), "cpu_pct")
        user = sample_totals(samples.values(), "cpu_user_pct")
        system = sample_totals(samples.values(), "cpu_system_pct")
        rss = sample_totals(samples.values(), "rss_kb")
        out[f"{host}/{command}"] = {
            "samples": len(samples),
            "pids": len({r["pid"] for r in rs if r.get("pid") is not None}),
            "cpu_mean_pct": round(fmean(cpu), 2) if cpu else None,
            "cpu_max_pct": largest(cpu),
            "cpu_user_mean_pct": round(fmean(user), 2) if user else None,
            "cpu_system_mean_pct": round(fmean(system), 2) if system else None,
            "rss_max_mb": round(max(rss) / 1024, 1) if rss else None,
        }
    return out


MEASUREMENT = Measurement(
    name="process",
    samplers=(Sampler("process", {"output": parse}),),
    tables={"process": FIELDS},
    summaries=(
        Summary("process", summarize, (
            Figure("samples"),
            Figure("pids"),
            Figure("cpu_mean_pct", "%", headline=True),
            Figure("cpu_max_pct", "%"),
            Figure("cpu_user_mean_pct", "%"),
            Figure("cpu_system_mean_pct", "%"),
            Figure("rss_max_mb", "MB", headline=True),
        )),
    ),
)  # fmt: skip
