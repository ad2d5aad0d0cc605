"""The `system` measurement's JSON lines of raw /proc counters.

Rates are computed here, from consecutive samples, so the raw file stays the
truth and a fix here can re-read old runs.
"""

from __future__ import annotations

import json
from typing import Any

from collector.parsers import Rows

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


def parse(text: str) -> dict[str, Any]:
    system = Rows(SYSTEM_FIELDS)
    net = Rows(NET_FIELDS)
    previous: dict[str, Any] | None = None
    for line in text.splitlines():
        try:
            sample = json.loads(line)
            float(sample["t"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by the end of the window
        if previous is not None:
            _rates(previous, sample, system, net)
        previous = sample
    return {"system": system, "system_net": net}


def _rates(a: dict[str, Any], b: dict[str, Any], system: Rows, net: Rows) -> None:
    dt = b["t"] - a["t"]
    if dt <= 0:
        return
    cpu_a, cpu_b = a["cpu"], b["cpu"]
    delta = [y - x for x, y in zip(cpu_a, cpu_b, strict=False)]
    # guest time is already counted in user; leave guest columns out of the total
    total = sum(delta[:8]) or 1

    def pct(*cols: int) -> float:
        return round(100.0 * sum(delta[c] for c in cols) / total, 2)

    mem = b["mem"]
    available = mem.get("MemAvailable", mem.get("MemFree", 0))
    system.rows.append(
        (
            b["t"],
            round(100.0 - pct(IDLE, IOWAIT), 2),
            pct(USER, NICE),
            pct(SYSTEM, IRQ, SOFTIRQ),
            pct(IOWAIT),
            pct(STEAL),
            pct(IDLE),
            mem.get("MemTotal"),
            available,
            mem.get("MemTotal", 0) - available,
            *b["load"],
            round((b.get("ctxt", 0) - a.get("ctxt", 0)) / dt, 1),
            round((b.get("intr", 0) - a.get("intr", 0)) / dt, 1),
            b.get("procs_running"),
            b.get("procs_blocked"),
        )
    )
    for name, (rxb, rxp, txb, txp) in sorted(b["net"].items()):
        if name not in a["net"]:
            continue
        orxb, orxp, otxb, otxp = a["net"][name]
        net.rows.append(
            (
                b["t"], name,
                round((rxb - orxb) / dt, 1), round((txb - otxb) / dt, 1),
                round((rxp - orxp) / dt, 1), round((txp - otxp) / dt, 1),
                rxb, txb,
            )
        )  # fmt: skip
