"""The figures of experiments imported from the old script (collector.store.legacy).

Its tables are not a measurement's, so their summaries are declared here,
next to the run's own (``samplers``, ``phases``): ``show``, reports and
``compare`` then give an old experiment the same kind of figures as a new one.
Old durations are in seconds; the figures are in milliseconds like ours.
"""

from __future__ import annotations

from statistics import fmean

from collector.measurements.base import Figure, Record, Section, Summary
from collector.measurements.summarizing import by, known, mean, rate, rounded, timeline


def _ms(records: list[Record], field: str) -> float | None:
    values = known(records, field)
    return round(fmean(values) * 1000, 2) if values else None


def summarize_frames(records: list[Record]) -> Section:
    """The old frames table: one row per frame the agent sent and the client decoded."""
    sizes = known(records, "size")
    return {
        "frames": len(records),
        "fps": rounded(rate(timeline(records))),
        "size_mean_kb": round(fmean(sizes) / 1024, 1) if sizes else None,
        "capture_mean_ms": _ms(records, "capture_duration"),
        "encode_mean_ms": _ms(records, "encode_duration"),
        "send_mean_ms": _ms(records, "send_duration"),
        "decode_mean_ms": _ms(records, "decode_duration"),
        "queue_mean": mean(records, "queue_size"),
    }


def summarize_usage(records: list[Record]) -> Section:
    """Mean of each usage column of the old stats tables, per machine."""
    out: Section = {}
    for host, rs in by(records, "host").items():
        columns = [c for c in rs[0] if c.endswith(("_usage", "_memory"))]
        out[host] = {f"{c}_mean": mean(rs, c) for c in columns}
    return out


def _usage(table: str, *columns: str) -> Summary:
    figures = tuple(Figure(f"{c}_mean", "%", headline=c == "cpu_usage") for c in columns)
    return Summary(table, summarize_usage, figures)


LEGACY_SUMMARIES = (
    Summary("legacy_frames", summarize_frames, (
        Figure("frames", headline=True),
        Figure("fps", "frames/s", headline=True),
        Figure("size_mean_kb", "kB", headline=True),
        Figure("capture_mean_ms", "ms", headline=True),
        Figure("encode_mean_ms", "ms", headline=True),
        Figure("send_mean_ms", "ms", headline=True),
        Figure("decode_mean_ms", "ms", headline=True),
        Figure("queue_mean"),
    )),
    _usage("legacy_guest_stats", "gpu_memory", "gpu_usage", "encode_usage", "decode_usage"),
    _usage("legacy_host_stats", "cpu_usage"),
    _usage("legacy_client_stats", "gpu_usage", "app_gpu_usage", "cpu_usage", "app_cpu_usage"),
)  # fmt: skip
