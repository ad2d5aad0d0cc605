"""The measurements, as their modules declare them.

Every module of this package with a ``MEASUREMENT`` is one measurement, named
like its role under ``roles/``; this is the only list of them. Ingest asks it
which samplers a role has and which parser reads which raw file, ``show``
and the reports which figures a table has and in which unit.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
import zlib
from functools import cache
from pathlib import Path

import collector.measurements as package
from collector.config.roles import discover_roles, resolve_measurement
from collector.errors import CollectorError
from collector.measurements.base import Figure, Measurement, Parser, Summary
from collector.measurements.parsing import Parsed, Rows

GZIP_MAGIC = b"\x1f\x8b"


@cache
def measurements() -> dict[str, Measurement]:
    """Every declared measurement, by name."""
    found: dict[str, Measurement] = {}
    for module in pkgutil.iter_modules(package.__path__):
        declared = getattr(
            importlib.import_module(f"{package.__name__}.{module.name}"), "MEASUREMENT", None
        )
        if isinstance(declared, Measurement):
            found[declared.name] = declared
    return dict(sorted(found.items()))


def get(name: str) -> Measurement | None:
    return measurements().get(name)


def parsers_for(role: str) -> dict[str, Parser]:
    """Raw file (relative to the host's raw directory) -> parser, for one role."""
    declared = get(role)
    return declared.parsers() if declared else {}


def sampler_names(role: str) -> list[str]:
    declared = get(role)
    return [s.name for s in declared.samplers] if declared else []


@cache
def summaries() -> dict[str, Summary]:
    """Table -> the summary of its figures, over every measurement."""
    return {s.table: s for m in measurements().values() for s in m.summaries}


@cache
def sections() -> dict[str, Summary]:
    """Section of ``show`` -> the summary of its figures."""
    return {s.name: s for s in summaries().values()}


def figure(section: str, name: str) -> Figure | None:
    """A summary figure's declaration, by the section ``show`` prints it in."""
    summary = sections().get(section)
    return summary.figure(name) if summary else None


def read_raw(path: Path) -> str:
    """A raw file's text, whatever its compression and line endings.

    A gzip-compressed file is read as what it holds: logs are often kept
    compressed (logrotate, journal exports). Bytes that are not UTF-8 are
    replaced, not fatal: a log is a log even with a binary line in it.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CollectorError(f"cannot read {path}: {e.strerror or e}") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise CollectorError(f"cannot decompress {path}: {e}") from None
    return data.decode("utf-8", errors="replace")


def parse_file(measurement: str, path: Path) -> tuple[Parsed, list[str]]:
    """Every table the measurement's parsers find in one raw file, and what to warn of.

    Each parser skips lines that are not its own, so a file is offered to all
    of the role's parsers and the tables that come out non-empty are kept;
    the line counts are those of the parser that recognised the most lines
    (the file's own).
    """
    role = resolve_measurement(measurement, discover_roles())
    declared = get(role) if role else None
    parsers = declared.parsers() if declared else {}
    if not parsers:
        known = ", ".join(name for name, m in measurements().items() if m.parsers())
        raise CollectorError(
            f"no parser for measurement {measurement!r}; parsers exist for {known}"
        )
    text = read_raw(path)
    tables: dict[str, Rows] = {}
    best: tuple[Parsed, Parser] | None = None
    for parse in dict.fromkeys(parsers.values()):
        parsed = parse(text)
        if best is None or parsed.lines.recognised > best[0].lines.recognised:
            best = parsed, parse
        for name, rows in parsed.items():
            if rows.rows or name not in tables:
                tables[name] = rows
    assert best is not None and declared is not None
    lines, parser = best[0].lines, best[1]
    # as a run would warn, with the hint of the sampler whose file this parser reads
    sampler = next(s for s in declared.samplers if parser in s.parsers.values())
    file = next(f for f, p in sampler.parsers.items() if p is parser)
    warnings = sampler.warnings({file: lines}).get(file, [])
    return Parsed(tables, lines), warnings
