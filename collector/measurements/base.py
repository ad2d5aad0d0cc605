"""What a measurement module declares: its samplers and their parsers, its tables, its figures.

Each measurement is a role under ``roles/<name>/`` (what runs on the lab
machines) and one module ``collector/measurements/<name>.py`` whose
``MEASUREMENT`` says, once, everything the controller needs to know about
it. The registry (collector.measurements.registry) is built from those
modules; ingest, ``parse``, ``show``, reports and comparisons all read it
from there, so nothing else lists measurements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.measurements.parsing import LineCounts, Parsed

Parser = Callable[[str], Parsed]
Record = dict[str, Any]
# {subject: {figure: value}}, or {figure: value} for a figure of the whole section
Section = dict[str, Any]


@dataclass(frozen=True)
class Sampler:
    """One command the role runs on a host, named as the role's tasks name it.

    Its files land in ``raw/<host>/<name>/``; ``parsers`` maps a file name
    there (``output``, ``frames.log``) to the parser that reads it.
    ``no_lines`` is what to tell the user when none of those files had a
    line of the parser's format: the likely cause, as a question.
    """

    name: str
    parsers: Mapping[str, Parser] = field(default_factory=dict)
    no_lines: str = ""

    def warnings(self, counts: Mapping[str, LineCounts]) -> dict[str, list[str]]:
        """What the user should hear of how the parsers read the files: file -> warnings.

        ``counts`` has the files that were there and parsed, by their name.
        """
        out: dict[str, list[str]] = {}
        for file, lines in counts.items():
            if lines.unparsed:
                example = f": {lines.examples[0]!r}" if lines.examples else ""
                out.setdefault(file, []).append(
                    f"{lines.unparsed} line(s) looked like the format but did not parse "
                    f"(a version or a patch the parser does not know?), the first{example}"
                )
        if self.no_lines and counts and not any(c.recognised for c in counts.values()):
            first = next(f for f in self.parsers if f in counts)
            out.setdefault(first, []).append(self.no_lines)
        return out


@dataclass(frozen=True)
class Figure:
    """One number of a summary, with its unit.

    ``headline`` marks the figures that answer how streaming went (frame
    rate, drops, delays, bandwidth, CPU): reports plot them and ``compare``
    shows them without ``--all``.
    """

    name: str
    unit: str = ""
    headline: bool = False


@dataclass(frozen=True)
class Summary:
    """The figures of one table, per subject (a host, a host's interface or process ...).

    ``summarize(records)`` gets the experiment's rows of ``table``; with
    ``also_reads``, it gets that table's rows too (empty when the
    experiment has none) as a second argument. The figures appear in
    ``show`` under ``section``, by default the table's name.
    """

    table: str
    summarize: Callable[..., Section]
    figures: tuple[Figure, ...]
    also_reads: str | None = None
    section: str = ""

    @property
    def name(self) -> str:
        """The section ``show`` prints the figures under."""
        return self.section or self.table

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)


@dataclass(frozen=True)
class Measurement:
    """Everything the controller knows of one measurement role."""

    name: str
    samplers: tuple[Sampler, ...]
    # table name -> its fields, as the parsers emit them (ingest adds ``host``)
    tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    summaries: tuple[Summary, ...] = ()
    # Tables made at save from what every host's parsers gave (an Experiment in,
    # tables added): a join across machines, such as glass-to-glass latency.
    derive: Callable[[Any], None] | None = None
    # table name -> its fields, for the tables ``derive`` makes (ingest adds ``host``)
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Tables whose warm-up rows are kept (ingest drops the others'): the guest's frame
    # log, since a frame drawn in the warm-up may reach the client's screen in the window.
    warmup_tables: frozenset[str] = frozenset()

    def parsers(self) -> dict[str, Parser]:
        """Raw file, relative to the host's raw directory (``<sampler>/<file>``) -> parser."""
        return {
            f"{sampler.name}/{file}": parse
            for sampler in self.samplers
            for file, parse in sampler.parsers.items()
        }
