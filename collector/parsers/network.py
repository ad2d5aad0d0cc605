"""The `network` measurement's JSON lines: SPICE connections' and an interface's counters.

Rates come from consecutive samples of the same connection (local and peer
address): a connection that appears mid-window starts counting from its
first sample, as SPICE opens its channels one by one.
"""

from __future__ import annotations

import json
from typing import Any

from collector.parsers import Rows

CONNECTION_FIELDS = (
    "time", "port", "local", "peer", "tx_bytes_per_s", "rx_bytes_per_s", "bytes_sent",
    "bytes_received",
)  # fmt: skip
INTERFACE_FIELDS = (
    "time", "interface", "rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s",
    "tx_packets_per_s", "rx_bytes", "tx_bytes",
)  # fmt: skip


def parse(text: str) -> dict[str, Rows]:
    connections = Rows(CONNECTION_FIELDS)
    interface = Rows(INTERFACE_FIELDS)
    previous: dict[str, Any] | None = None
    seen: dict[tuple[str, str], tuple[float, int, int]] = {}
    for line in text.splitlines():
        try:
            sample = json.loads(line)
            t = float(sample["t"])
        except (ValueError, KeyError, TypeError):
            continue
        for conn in sample.get("connections", ()):
            key = (conn.get("local", ""), conn.get("peer", ""))
            sent = conn.get("bytes_acked", conn.get("bytes_sent", 0))
            received = conn.get("bytes_received", 0)
            if key in seen:
                t0, sent0, received0 = seen[key]
                dt = t - t0
                if dt > 0:
                    connections.rows.append(
                        (t, sample.get("port"), key[0], key[1], round((sent - sent0) / dt, 1),
                         round((received - received0) / dt, 1), sent, received)
                    )  # fmt: skip
            seen[key] = (t, sent, received)
        counters = sample.get("counters")
        if counters and previous and previous.get("counters"):
            dt = t - previous["t"]
            if dt > 0:
                rxb, rxp, txb, txp = counters
                orxb, orxp, otxb, otxp = previous["counters"]
                interface.rows.append(
                    (t, sample.get("interface"), round((rxb - orxb) / dt, 1),
                     round((txb - otxb) / dt, 1), round((rxp - orxp) / dt, 1),
                     round((txp - otxp) / dt, 1), rxb, txb)
                )  # fmt: skip
        previous = sample
    return {"network_connections": connections, "network_interface": interface}
