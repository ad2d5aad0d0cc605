"""``system``: CPU, memory, load and interfaces of each machine, from /proc.

The role's sampler (roles/system/files/system_sampler.py) prints JSON lines of
raw /proc counters.

Rates are computed here, from consecutive samples, so the raw file stays the
truth and a fix here can re-read old runs.
"""

from __future__ import annotations

from typing import Any

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, json_samples
from collector.measurements.summarizing import by, mean

SYSTEM_FIELDS = (
    "time", "cpu_busy", "cpu_user", "cpu_system", "cpu_iowait", "cpu_steal", "cpu_idle",
    "mem_total_kb", "mem_available_kb", "mem_used_kb", "load1", "load5", "load15",
    "context_switches_per_s", "interrupts_per_s", "procs_running", "procs_blocked",
)  # fmt: skip
NET_FIELDS = (
    "time", "interface", "rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s",
    "tx_packets_per_s", "rx_bytes", "tx_bytes",
)  # fmt: skip

# /proc/stat cpu columns: user nice system idle iowait irq softirq steal ...
USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL = range(8)


def parse(text: str) -> Parsed:
    system = Rows(SYSTEM_FIELDS)
    net = Rows(NET_FIELDS)
    counts = LineCounts()
    previous: dict[str, Any] | None = None
    for sample in json_samples(text, counts):
        if previous is not None:
            _rates(previous, sample, system, net)
        previous = sample
    return Parsed({"system": system, "system_net": net}, counts)


def _rates(a: dict[str, Any], b: dict[str, Any], system: Rows, net: Rows) -> None:
    """One row of each table from two consecutive samples (a long run has millions)."""
    t = b["t"]
    dt = t - a["t"]
    if dt <= 0:
        return
    cpu_a, cpu_b = a["cpu"], b["cpu"]
    user, nice, sys_, idle, iowait, irq, softirq, steal = (
        y - x for x, y in zip(cpu_a[:8], cpu_b[:8], strict=False)
    )
    # guest time is already counted in user; leave guest columns out of the total
    scale = 100.0 / ((user + nice + sys_ + idle + iowait + irq + softirq + steal) or 1)
    idle_pct = round(idle * scale, 2)
    iowait_pct = round(iowait * scale, 2)
    mem = b["mem"]
    total_kb = mem.get("MemTotal")
    available = mem.get("MemAvailable", mem.get("MemFree", 0))
    system.rows.append(
        (
            t,
            round(100.0 - round((idle + iowait) * scale, 2), 2),
            round((user + nice) * scale, 2),
            round((sys_ + irq + softirq) * scale, 2),
            iowait_pct,
            round(steal * scale, 2),
            idle_pct,
            total_kb,
            available,
            (total_kb or 0) - available,
            *b["load"],
            round((b.get("ctxt", 0) - a.get("ctxt", 0)) / dt, 1),
            round((b.get("intr", 0) - a.get("intr", 0)) / dt, 1),
            b.get("procs_running"),
            b.get("procs_blocked"),
        )
    )
    before = a["net"]
    for name, (rxb, rxp, txb, txp) in sorted(b["net"].items()):
        old = before.get(name)
        if old is None:
            continue
        orxb, orxp, otxb, otxp = old
        net.rows.append(
            (
                t, name,
                round((rxb - orxb) / dt, 1), round((txb - otxb) / dt, 1),
                round((rxp - orxp) / dt, 1), round((txp - otxp) / dt, 1),
                rxb, txb,
            )
        )  # fmt: skip


def summarize(records: list[Record]) -> Section:
    return {
        host: {
            "samples": len(rs),
            "cpu_busy_mean_pct": mean(rs, "cpu_busy"),
            "mem_used_mean_mb": round((mean(rs, "mem_used_kb") or 0) / 1024, 1),
            "load1_mean": mean(rs, "load1"),
            "context_switches_mean_per_s": mean(rs, "context_switches_per_s"),
        }
        for host, rs in by(records, "host").items()
    }


def summarize_net(records: list[Record]) -> Section:
    out: Section = {}
    for (host, interface), rs in by(records, "host", "interface").items():
        rx, tx = mean(rs, "rx_bytes_per_s") or 0.0, mean(rs, "tx_bytes_per_s") or 0.0
        out[f"{host}/{interface}"] = {
            "rx_mbit_per_s": round(rx * 8 / 1e6, 3),
            "tx_mbit_per_s": round(tx * 8 / 1e6, 3),
        }
    return out


MEASUREMENT = Measurement(
    name="system",
    samplers=(Sampler("system", {"output": parse}),),
    tables={"system": SYSTEM_FIELDS, "system_net": NET_FIELDS},
    summaries=(
        Summary("system", summarize, (
            Figure("samples"),
            Figure("cpu_busy_mean_pct", "%", headline=True),
            Figure("mem_used_mean_mb", "MB", headline=True),
            Figure("load1_mean"),
            Figure("context_switches_mean_per_s", "/s"),
        )),
        Summary("system_net", summarize_net, (
            Figure("rx_mbit_per_s", "Mbit/s", headline=True),
            Figure("tx_mbit_per_s", "Mbit/s", headline=True),
        )),
    ),
)  # fmt: skip
