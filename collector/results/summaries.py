"""The figures ``show`` prints for one experiment, from whatever tables it has.

Each table that has a summary contributes a section; an experiment without
that table simply has no such section. The measurements declare their
summaries (collector.measurements); the run's own ``samplers`` table, the
cost of measuring, is summarised here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

from collector.measurements import registry
from collector.measurements.base import Figure, Record, Section, Summary
from collector.results.legacy import LEGACY_SUMMARIES
from collector.running.events import phase_totals
from collector.store.reader import Reader


def summarize_samplers(records: list[Record]) -> Section:
    """The cost of measuring, and how tightly the samplers started on schedule.

    The spread is of each sampler's start against its own scheduled start: a
    sampler with a warm-up lead is scheduled earlier on purpose.
    """
    late = [
        r["started"] - r["scheduled_start"]
        for r in records
        if r.get("started") is not None and r.get("scheduled_start") is not None
    ]
    out: Section = {
        "start_spread_ms": round((max(late) - min(late)) * 1000, 2) if late else None,
    }
    for r in records:
        if r.get("started") is None or r.get("ended") is None:
            continue
        wall = max(r["ended"] - r["started"], 1e-9)
        cpu = (r.get("user_cpu_s") or 0.0) + (r.get("sys_cpu_s") or 0.0)
        out[f"{r['host']}/{r.get('sampler') or r['measurement']}"] = {
            "cpu_s": round(cpu, 3),
            "cpu_pct": round(100 * cpu / wall, 2),
            "end_reason": r.get("end_reason"),
        }
    return out


SAMPLERS = Summary("samplers", summarize_samplers, (
    Figure("start_spread_ms", "ms"), Figure("cpu_s"), Figure("cpu_pct", "%"), Figure("end_reason"),
))  # fmt: skip


def summarize_phases(records: list[Record]) -> Section:
    """Where the run's time went: seconds per phase, and the overhead around the window.

    The window phase holds the warm-up, the window and the cool-down: what
    the run is for; every other phase is orchestration.
    """
    ordered = sorted(records, key=lambda r: r["started"])
    spent = phase_totals([(r["phase"], r["started"], r["duration_s"]) for r in ordered])
    out: Section = {f"{phase}_s": round(seconds, 2) for phase, seconds in spent.items()}
    out["total_s"] = round(sum(spent.values()), 2)
    out["overhead_s"] = round(out["total_s"] - out.get("window_s", 0.0), 2)
    return out


PHASES = Summary("phases", summarize_phases, tuple(
    Figure(f"{phase}_s", "s") for phase in (
        "plan", "preflight", "setup", "start", "window", "stop", "collect", "save", "total",
        "overhead",
    )
))  # fmt: skip
# Sections of the run itself, not of a measurement: left out of comparisons unless asked.
RUN_SECTIONS = frozenset({SAMPLERS.table, PHASES.table})


@cache
def all_summaries() -> dict[str, Summary]:
    legacy = {s.table: s for s in LEGACY_SUMMARIES}
    return {SAMPLERS.table: SAMPLERS, PHASES.table: PHASES, **legacy, **registry.summaries()}


def tables_read() -> frozenset[str]:
    """Every table a summary reads."""
    found = all_summaries().values()
    return frozenset([s.table for s in found] + [s.also_reads for s in found if s.also_reads])


def figure(section: str, name: str) -> Figure | None:
    own = {SAMPLERS.name: SAMPLERS, PHASES.name: PHASES, **{s.name: s for s in LEGACY_SUMMARIES}}
    summary = own.get(section) or registry.sections().get(section)
    return summary.figure(name) if summary else None


def summarize(reader: Reader, uuid: str, tables: Iterable[str]) -> dict[str, Section]:
    """The figures of one experiment, read from either database."""

    def read(table: str) -> list[Record]:
        columns, rows = reader.rows(table, [uuid])
        return [dict(zip(columns[1:], row[1:], strict=True)) for row in rows]

    return summarize_records(read, tables)


def summarize_records(
    read: Callable[[str], list[Record]], tables: Iterable[str]
) -> dict[str, Section]:
    """The figures from whatever ``read(table)`` gives: one experiment's rows of a table.

    Any store can feed it, so the figures are the same wherever the rows live.
    """
    tables = list(tables)
    known = all_summaries()
    figures: dict[str, Section] = {}
    for table in tables:
        summary = known.get(table)
        if summary is None:
            continue
        records = read(table)
        if not records:
            continue
        if summary.also_reads:
            other = read(summary.also_reads) if summary.also_reads in tables else []
            figures[summary.name] = summary.summarize(records, other)
        else:
            figures[summary.name] = summary.summarize(records)
    return figures


def file_warnings(reader: Reader, uuid: str, tables: Iterable[str]) -> list[str]:
    """What the run said of its raw files' lines (ingest's ``parsed_files``), one line each.

    Lines that looked like a parser's format but did not parse, and logs
    with no line of the format at all: a table then has the right look and
    wrong or empty fields, which must not go unnoticed.
    """
    if "parsed_files" not in tables:
        return []
    columns, rows = reader.rows("parsed_files", [uuid])
    out = []
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        if record.get("warning"):
            out.append(
                f"{record['measurement']} on {record['host']}, {record['file']}: "
                f"{record['warning']}"
            )
    return out
