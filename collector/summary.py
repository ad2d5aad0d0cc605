"""The figures ``show`` prints for one experiment, from whatever tables it has.

Each table that has a summary contributes a section; an experiment without
that table simply has no such section. Figures are plain numbers so
``show --json`` and later reports can reuse them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import pairwise
from pathlib import Path
from statistics import fmean
from typing import Any

from collector import store

Section = dict[str, Any]
Record = dict[str, Any]

SECONDS_PER_DAY = 86400


def summarize(database: Path, uuid: str, tables: Iterable[str]) -> dict[str, Section]:
    """The figures of one experiment of a local database."""

    def read(table: str) -> list[Record]:
        fields, rows = store.read_table(database, table, uuid)
        return [dict(zip(fields, row, strict=True)) for row in rows]

    return summarize_records(read, tables)


def summarize_records(
    read: Callable[[str], list[Record]], tables: Iterable[str]
) -> dict[str, Section]:
    """The figures from whatever ``read(table)`` gives: one experiment's rows of a table.

    Any store can feed it (analysis reads the shared database with it), so the
    figures are the same wherever the rows live.
    """
    tables = list(tables)
    figures: dict[str, Section] = {}
    for table in tables:
        if table in SUMMARIES:
            records = read(table)
            if records:
                figures[table] = SUMMARIES[table](records)
        elif table in JOINED_SUMMARIES:
            other, summarizer = JOINED_SUMMARIES[table]
            records = read(table)
            if records:
                figures[table] = summarizer(records, read(other) if other in tables else [])
    return figures


def _by(records: list[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)].append(r)
    return dict(sorted(groups.items()))


def _mean(records: list[dict[str, Any]], field: str) -> float | None:
    values = [r[field] for r in records if r.get(field) is not None]
    return round(fmean(values), 2) if values else None


def _values(records: list[Record], field: str) -> list[Any]:
    return [r[field] for r in records if r.get(field) is not None]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _max(values: list[float]) -> float | None:
    return max(values) if values else None


def _p95(values: list[float]) -> float | None:
    """95th percentile, interpolated between the two nearest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _timeline(records: list[Record]) -> list[float]:
    """The records' times in order: ``time`` (controller's clock), else ``time_of_day``.

    ``time`` is None when the log had only its own clock time and the host's
    offset was not known; ``time_of_day`` then gives the same spacing, once a
    run across midnight is unwrapped.
    """
    times = _values(records, "time")
    days = _values(records, "time_of_day")
    if len(times) >= len(days):
        return sorted(times)
    unwrapped: list[float] = []
    shift = 0.0
    for day in days:
        if unwrapped and day + shift < unwrapped[-1] - SECONDS_PER_DAY / 2:
            shift += SECONDS_PER_DAY
        unwrapped.append(day + shift)
    return sorted(unwrapped)


def _rate(times: list[float]) -> float | None:
    """Events per second between the first and the last one."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


def _mbit(bytes_per_s: float | None) -> float | None:
    return None if bytes_per_s is None else round(bytes_per_s * 8 / 1e6, 3)


def _test(records: list[dict[str, Any]]) -> Section:
    return {
        host: {"samples": len(rs), "cpu_mean_pct": _mean(rs, "cpu")}
        for host, rs in _by(records, "host").items()
    }


def _system(records: list[dict[str, Any]]) -> Section:
    return {
        host: {
            "samples": len(rs),
            "cpu_busy_mean_pct": _mean(rs, "cpu_busy"),
            "mem_used_mean_mb": round((_mean(rs, "mem_used_kb") or 0) / 1024, 1),
            "load1_mean": _mean(rs, "load1"),
            "context_switches_mean_per_s": _mean(rs, "context_switches_per_s"),
        }
        for host, rs in _by(records, "host").items()
    }


def _system_net(records: list[dict[str, Any]]) -> Section:
    out: Section = {}
    for (host, interface), rs in _by(records, "host", "interface").items():
        rx, tx = _mean(rs, "rx_bytes_per_s") or 0.0, _mean(rs, "tx_bytes_per_s") or 0.0
        out[f"{host}/{interface}"] = {
            "rx_mbit_per_s": round(rx * 8 / 1e6, 3),
            "tx_mbit_per_s": round(tx * 8 / 1e6, 3),
        }
    return out


def _samplers(records: list[dict[str, Any]]) -> Section:
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


# --- SPICE ---------------------------------------------------------------------------------


def _spice_client_reports(records: list[Record]) -> Section:
    """The server's view of the stream: what the client reported to it."""
    out: Section = {}
    for host, rs in _by(records, "host").items():
        frames = sum(_values(rs, "frames"))
        drops = sum(_values(rs, "drops"))
        seconds = sum(_values(rs, "duration_ms")) / 1000
        # a report's duration runs from its first frame's mm-time to its last one's
        # (spice-gtk), so it spans one interval fewer than it has frames
        intervals = sum(max(f - 1, 0) for f in _values(rs, "frames"))
        out[host] = {
            "reports": len(rs),
            "frames": frames,
            "drops": drops,
            # a report's drops are among its frames (spice-gtk counts both per frame received)
            "drop_pct": round(100 * drops / frames, 2) if frames else None,
            "video_delay_mean_ms": _mean(rs, "video_delay_ms"),
            "fps": round(intervals / seconds, 2) if seconds > 0 else None,
        }
    return out


def _spice_streams(records: list[Record]) -> Section:
    out: Section = {}
    for host, rs in _by(records, "host").items():
        created = [r for r in rs if r.get("width") is not None]
        # the rest carry the input frame rate the server measured (attach_stream)
        measured = [
            r["input_fps"] for r in rs if r.get("width") is None and r.get("input_fps") is not None
        ]
        out[host] = {
            "streams_created": len(created),
            "sizes": [f"{r['width']}x{r['height']}" for r in created],
            "input_fps": measured,
            "input_fps_mean": round(fmean(measured), 2) if measured else None,
        }
    return out


def _client_frames(records: list[Record]) -> Section:
    """Frames the client showed, per display channel."""
    out: Section = {}
    for (host, channel), rs in _by(records, "host", "channel").items():
        times = _timeline(rs)
        intervals = [(b - a) * 1000 for a, b in pairwise(times)]
        out[f"{host}/{channel}"] = {
            "frames": len(rs),
            "fps": _round(_rate(times)),
            "interval_mean_ms": round(fmean(intervals), 2) if intervals else None,
            "interval_p95_ms": _round(_p95(intervals)),
            "margin_mean_ms": _mean(rs, "margin_ms"),
        }
    return out


def _client_late_frames(records: list[Record]) -> Section:
    return {
        f"{host}/{channel}": {
            "late_frames": len(rs),
            "dropped": sum(_values(rs, "dropped")),
            "late_mean_ms": _mean(rs, "late_ms"),
        }
        for (host, channel), rs in _by(records, "host", "channel").items()
    }


def _process(records: list[Record]) -> Section:
    """CPU and memory per command; processes of the same command are added up per sample."""
    out: Section = {}
    for (host, command), rs in _by(records, "host", "command").items():
        samples: dict[Any, list[Record]] = defaultdict(list)
        for r in rs:  # the lines of one pidstat sample share its time
            samples[(r.get("time"), r.get("time_of_day"))].append(r)
        cpu = _sample_totals(samples.values(), "cpu_pct")
        user = _sample_totals(samples.values(), "cpu_user_pct")
        system = _sample_totals(samples.values(), "cpu_system_pct")
        rss = _sample_totals(samples.values(), "rss_kb")
        out[f"{host}/{command}"] = {
            "samples": len(samples),
            "pids": len({r["pid"] for r in rs if r.get("pid") is not None}),
            "cpu_mean_pct": round(fmean(cpu), 2) if cpu else None,
            "cpu_max_pct": _max(cpu),
            "cpu_user_mean_pct": round(fmean(user), 2) if user else None,
            "cpu_system_mean_pct": round(fmean(system), 2) if system else None,
            "rss_max_mb": round(max(rss) / 1024, 1) if rss else None,
        }
    return out


def _sample_totals(samples: Iterable[list[Record]], field: str) -> list[float]:
    """Per sample, the field added up over the sample's lines that have it."""
    return [sum(values) for values in (_values(s, field) for s in samples) if values]


def _network_connections(records: list[Record]) -> Section:
    """Mbit/s on the SPICE port per host, all connections and the busiest one apart.

    Each connection's bytes are its counters' growth from its first to its last
    sample; the rate is over the host's whole sampled span, so that a channel
    that lived for part of it weighs only as much as it carried and the rates
    of all connections add up.
    """
    out: Section = {}
    for host, rs in _by(records, "host").items():
        times = _values(rs, "time")
        span = max(times) - min(times) if times else 0.0
        carried: list[tuple[float, float, str]] = []  # (received, sent, connection) per second
        for (local, peer), conn in _by(rs, "local", "peer").items():
            conn = sorted(conn, key=lambda r: r.get("time") or 0.0)
            first, last = conn[0], conn[-1]
            if span > 0:
                received = ((last["bytes_received"] or 0) - (first["bytes_received"] or 0)) / span
                sent = ((last["bytes_sent"] or 0) - (first["bytes_sent"] or 0)) / span
            else:  # one sample time: only the parser's rates tell
                received = fmean(_values(conn, "rx_bytes_per_s") or [0.0])
                sent = fmean(_values(conn, "tx_bytes_per_s") or [0.0])
            carried.append((received, sent, f"{local} {peer}"))
        busiest = max(carried, key=lambda c: c[0] + c[1])
        out[host] = {
            "connections": len(carried),
            "span_s": round(span, 2),
            "rx_mbit_per_s": _mbit(sum(c[0] for c in carried)),
            "tx_mbit_per_s": _mbit(sum(c[1] for c in carried)),
            "display_connection": busiest[2],
            "display_rx_mbit_per_s": _mbit(busiest[0]),
            "display_tx_mbit_per_s": _mbit(busiest[1]),
        }
    return out


def _network_interface(records: list[Record]) -> Section:
    return {
        f"{host}/{interface}": {
            "samples": len(rs),
            "rx_mbit_per_s": _mbit(_mean(rs, "rx_bytes_per_s")),
            "tx_mbit_per_s": _mbit(_mean(rs, "tx_bytes_per_s")),
        }
        for (host, interface), rs in _by(records, "host", "interface").items()
    }


# --- GPU and the streaming agent -----------------------------------------------------------


def _gpu_samples(records: list[Record]) -> Section:
    out: Section = {}
    for (host, gpu, metric), rs in _by(records, "host", "gpu", "metric").items():
        values = _values(rs, "value")
        out[f"{host}/gpu{gpu}/{metric}"] = {
            "samples": len(values),
            "mean": round(fmean(values), 2) if values else None,
            "max": _max(values),
        }
    return out


def _gpu_engines(records: list[Record], intel: list[Record]) -> Section:
    """Mean busy % per engine, each sample weighted by its period.

    intel_gpu_top's first sample covers a few microseconds (see the parser):
    weighted by ``period_ms`` from ``gpu_intel`` it counts for nothing. Without
    that table every sample counts the same.
    """
    periods = {
        (r["host"], r["sample"]): r["period_ms"] for r in intel if r.get("period_ms") is not None
    }
    unknown = fmean(periods.values()) if periods else 1.0  # a sample gpu_intel lacks
    out: Section = {}
    for (host, engine), rs in _by(records, "host", "engine").items():
        pairs = [
            (r["busy_pct"], periods.get((host, r["sample"]), unknown))
            for r in rs
            if r.get("busy_pct") is not None
        ]
        weight = sum(w for _, w in pairs)
        out[f"{host}/{engine}"] = {
            "samples": len(pairs),
            "busy_mean_pct": round(sum(b * w for b, w in pairs) / weight, 2) if weight else None,
            "busy_max_pct": _max([b for b, _ in pairs]),
        }
    return out


def _agent_frames(records: list[Record]) -> Section:
    """What spice-streaming-agent captured and sent, per guest."""
    out: Section = {}
    for host, rs in _by(records, "host").items():
        capture, send = _values(rs, "capture_ms"), _values(rs, "send_ms")
        sizes = _values(rs, "size_bytes")
        out[host] = {
            "frames": len(rs),
            "fps": _round(_rate(_timeline(rs))),
            "size_mean_kb": round(fmean(sizes) / 1024, 1) if sizes else None,
            "capture_mean_ms": round(fmean(capture), 2) if capture else None,
            "capture_p95_ms": _round(_p95(capture)),
            "send_mean_ms": round(fmean(send), 2) if send else None,
            "send_p95_ms": _round(_p95(send)),
        }
    return out


SUMMARIES: dict[str, Callable[[list[dict[str, Any]]], Section]] = {
    "test": _test,
    "system": _system,
    "system_net": _system_net,
    "samplers": _samplers,
    "spice_client_reports": _spice_client_reports,
    "spice_streams": _spice_streams,
    "client_frames": _client_frames,
    "client_late_frames": _client_late_frames,
    "process": _process,
    "network_connections": _network_connections,
    "network_interface": _network_interface,
    "gpu_samples": _gpu_samples,
    "agent_frames": _agent_frames,
}
# Summaries that also read another table of the experiment (empty when it has none).
JOINED_SUMMARIES: dict[str, tuple[str, Callable[[list[Record], list[Record]], Section]]] = {
    "gpu_engines": ("gpu_intel", _gpu_engines),
}
# Every table a summary reads.
TABLES_READ = frozenset(
    [*SUMMARIES, *JOINED_SUMMARIES, *(other for other, _ in JOINED_SUMMARIES.values())]
)
