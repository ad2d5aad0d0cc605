"""``test``: the example measurement, vmstat every ``interval`` seconds, CPU = 100 - idle.

Walked through in docs/writing-a-measurement.md. Lines carry the sampler
runner's timestamp prefix. The first sample of vmstat is an average since
boot, not a sample of the window: it is dropped.
"""

from __future__ import annotations

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, log_lines, split_timestamp
from collector.measurements.summarizing import by, mean

FIELDS = (
    "time", "cpu", "cpu_user", "cpu_system", "cpu_idle", "cpu_iowait", "cpu_steal", "runnable",
    "context_switches",
)  # fmt: skip


def parse(text: str) -> Parsed:
    table = Rows(FIELDS)
    header: list[str] | None = None
    first = True
    lines = log_lines(text)
    counts = LineCounts(lines=len(lines))
    for raw in lines:
        t, line = split_timestamp(raw)
        parts = line.split()
        if not parts or parts[0].startswith("procs"):
            continue
        if parts[0] == "r":
            header = parts
            counts.recognised += 1
            continue
        if header is None or t is None or len(parts) != len(header):
            continue
        try:
            values = dict(zip(header, (int(p) for p in parts), strict=True))
        except ValueError:
            counts.failed(raw)
            continue
        counts.recognised += 1
        if first:  # averages since boot
            first = False
            continue
        table.rows.append(
            (
                t,
                100 - values["id"],
                values["us"],
                values["sy"],
                values["id"],
                values.get("wa", 0),
                values.get("st", 0),
                values["r"],
                values["cs"],
            )
        )
    return Parsed({"test": table}, counts)


def summarize(records: list[Record]) -> Section:
    return {
        host: {"samples": len(rs), "cpu_mean_pct": mean(rs, "cpu")}
        for host, rs in by(records, "host").items()
    }


MEASUREMENT = Measurement(
    name="test",
    samplers=(Sampler("test", {"output": parse}),),
    tables={"test": FIELDS},
    summaries=(
        Summary("test", summarize, (Figure("samples"), Figure("cpu_mean_pct", "%", headline=True))),
    ),
)
