"""A host's raw files into an experiment's tables, with times on the controller's clock.

Ingest's part that reads what the samplers wrote: each declared parser on
its file, the rows moved to the controller's clock, and ``parsed_files``:
how each file's lines were read, so that a format the parsers do not know
is said, not silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.config.secrets import scrub
from collector.measurements import registry
from collector.measurements.parsing import LineCounts, Rows
from collector.store.experiment import Experiment

# How each raw file's lines were read (collector.measurements.parsing.LineCounts);
# ``warning`` is what ``show`` tells the user of it.
PARSED_FILE_FIELDS = (
    "host", "measurement", "file", "lines", "recognised", "unparsed", "ignored",
    "first_unparsed", "warning",
)  # fmt: skip


@dataclass
class HostClock:
    """Moves a host's times to the controller's clock.

    ``time`` columns are epoch seconds in the host's clock. Logs that only
    print a local time of day (``HH:MM:SS.mmm``) give ``time_of_day`` instead;
    the window's date and the host's UTC offset place it.
    """

    offset: float
    utc_offset: int
    window: dict[str, Any]

    def from_time_of_day(self, seconds: float) -> float | None:
        start = self.window.get("start_at")
        if start is None:
            return None
        local_start = start + self.offset + self.utc_offset
        midnight = local_start - local_start % 86400
        candidates = (midnight + d + seconds - self.utc_offset for d in (-86400, 0, 86400))
        return min(candidates, key=lambda t: abs(t - start - self.offset))


def parse_raw(
    experiment: Experiment,
    host_raw: Path,
    host: str,
    measurement: dict[str, Any],
    clock: HostClock,
    secrets: frozenset[str],
) -> int:
    """Parse a host's raw files of one measurement; record how each file's lines were read."""
    declared = registry.get(measurement["role"])
    if declared is None:
        return 0
    files = experiment.create_table("parsed_files", PARSED_FILE_FIELDS)
    data_rows = 0
    for sampler in declared.samplers:
        counts: dict[str, LineCounts] = {}
        for file, parse in sampler.parsers.items():
            path = host_raw / sampler.name / file
            if not path.exists():
                continue
            parsed = parse(registry.read_raw(path))
            counts[file] = parsed.lines
            for table_name, rows in parsed.items():
                warmup = table_name in declared.warmup_tables
                data_rows += add_rows(experiment, table_name, rows, host, clock, warmup)
        warnings = sampler.warnings(counts)
        for file, lines in counts.items():
            example = scrub(lines.examples[0], secrets) if lines.examples else None
            warning = scrub("; ".join(warnings.get(file, [])), secrets) or None
            files.add(host, measurement["name"], f"{sampler.name}/{file}", lines.lines,
                      lines.recognised, lines.unparsed, lines.ignored, example,
                      warning)  # fmt: skip
    return data_rows


def add_rows(
    experiment: Experiment,
    name: str,
    parsed: Rows,
    host: str,
    clock: HostClock,
    keep_warmup: bool = False,
) -> int:
    """Add a parser's rows with the host, and ``time`` moved to the controller's clock."""
    fields = ("host", *parsed.fields)
    table = experiment.create_table(name, fields)
    t = parsed.fields.index("time") if "time" in parsed.fields else None
    tod = parsed.fields.index("time_of_day") if "time_of_day" in parsed.fields else None
    start = clock.window.get("start_at")
    if t is None or (not clock.offset and tod is None and start is None):
        rows = [(host, *row) for row in parsed.rows]
    else:
        rows = []
        for row in parsed.rows:
            values = list(row)
            if values[t] is None and tod is not None and values[tod] is not None:
                values[t] = clock.from_time_of_day(values[tod])
            if values[t] is not None:
                values[t] = values[t] - clock.offset
                # What a sampler saw during the warm-up is not the window's.
                if start is not None and values[t] < start and not keep_warmup:
                    continue
            rows.append((host, *values))
    table.add_many(rows)
    return len(rows)
