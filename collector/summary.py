"""The figures ``show`` prints for one experiment, from whatever tables it has.

Each table that has a summary contributes a section; an experiment without
that table simply has no such section. Figures are plain numbers so
``show --json`` and later reports can reuse them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from statistics import fmean
from typing import Any

from collector import store

Section = dict[str, Any]


def summarize(database: Path, uuid: str, tables: Iterable[str]) -> dict[str, Section]:
    figures: dict[str, Section] = {}
    for table in tables:
        summarizer = SUMMARIES.get(table)
        if summarizer is None:
            continue
        fields, rows = store.read_table(database, table, uuid)
        records = [dict(zip(fields, row, strict=True)) for row in rows]
        if records:
            figures[table] = summarizer(records)
    return figures


def _by(records: list[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)].append(r)
    return dict(sorted(groups.items()))


def _mean(records: list[dict[str, Any]], field: str) -> float | None:
    values = [r[field] for r in records if r.get(field) is not None]
    return round(fmean(values), 2) if values else None


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
    """The cost of measuring, and how tightly the samplers started together."""
    starts = [r["started"] for r in records if r.get("started") is not None]
    out: Section = {
        "start_spread_ms": round((max(starts) - min(starts)) * 1000, 2) if starts else None,
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


SUMMARIES: dict[str, Callable[[list[dict[str, Any]]], Section]] = {
    "test": _test,
    "system": _system,
    "system_net": _system_net,
    "samplers": _samplers,
}
