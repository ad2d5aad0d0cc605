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
from collector.measurements.parsing import Rows

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


def parse_file(measurement: str, path: Path) -> dict[str, Rows]:
    """Every table the measurement's parsers find in one raw file.

    Each parser skips lines that are not its own, so a file is offered to all
    of the role's parsers and the tables that come out non-empty are kept. A
    gzip-compressed file is read as what it holds.
    """
    role = resolve_measurement(measurement, discover_roles())
    parsers = parsers_for(role) if role else {}
    if not parsers:
        known = ", ".join(name for name, m in measurements().items() if m.parsers())
        raise CollectorError(
            f"no parser for measurement {measurement!r}; parsers exist for {known}"
        )
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CollectorError(f"cannot read {path}: {e.strerror or e}") from None
    if data[:2] == GZIP_MAGIC:  # logs are often kept compressed (logrotate, journal exports)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise CollectorError(f"cannot decompress {path}: {e}") from None
    text = data.decode("utf-8", errors="replace")
    tables: dict[str, Rows] = {}
    for parse in dict.fromkeys(parsers.values()):
        for name, rows in parse(text).items():
            if rows.rows or name not in tables:
                tables[name] = rows
    return tables
