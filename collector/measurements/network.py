"""``network``: Mbit/s on the SPICE connections (by port) and on one interface.

The role's sampler (roles/network/files/network_sampler.py) prints JSON lines
of the connections' and the interface's counters.

Rates come from consecutive samples of the same connection (local and peer
address): a connection that appears mid-window starts counting from its
first sample, as SPICE opens its channels one by one.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, json_samples
from collector.measurements.summarizing import by, known, mbit, mean

CONNECTION_FIELDS = (
    "time", "port", "local", "peer", "tx_bytes_per_s", "rx_bytes_per_s", "bytes_sent",
    "bytes_received",
)  # fmt: skip
INTERFACE_FIELDS = (
    "time", "interface", "rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s",
    "tx_packets_per_s", "rx_bytes", "tx_bytes",
)  # fmt: skip


def parse(text: str) -> Parsed:
    connections = Rows(CONNECTION_FIELDS)
    interface = Rows(INTERFACE_FIELDS)
    counts = LineCounts()
    previous: dict[str, Any] | None = None
    seen: dict[tuple[str, str], tuple[float, int, int]] = {}
    for sample in json_samples(text, counts):
        t = sample["t"]
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
    return Parsed({"network_connections": connections, "network_interface": interface}, counts)


def summarize_connections(records: list[Record]) -> Section:
    """Mbit/s on the SPICE port per host, all connections and the busiest one apart.

    Each connection's bytes are its counters' growth from its first to its last
    sample; the rate is over the host's whole sampled span, so that a channel
    that lived for part of it weighs only as much as it carried and the rates
    of all connections add up.
    """
    out: Section = {}
    for host, rs in by(records, "host").items():
        times = known(rs, "time")
        span = max(times) - min(times) if times else 0.0
        carried: list[tuple[float, float, str]] = []  # (received, sent, connection) per second
        for (local, peer), conn in by(rs, "local", "peer").items():
            conn = sorted(conn, key=lambda r: r.get("time") or 0.0)
            first, last = conn[0], conn[-1]
            if span > 0:
                received = ((last["bytes_received"] or 0) - (first["bytes_received"] or 0)) / span
                sent = ((last["bytes_sent"] or 0) - (first["bytes_sent"] or 0)) / span
            else:  # one sample time: only the parser's rates tell
                received = fmean(known(conn, "rx_bytes_per_s") or [0.0])
                sent = fmean(known(conn, "tx_bytes_per_s") or [0.0])
            carried.append((received, sent, f"{local} {peer}"))
        busiest = max(carried, key=lambda c: c[0] + c[1])
        out[host] = {
            "connections": len(carried),
            "span_s": round(span, 2),
            "rx_mbit_per_s": mbit(sum(c[0] for c in carried)),
            "tx_mbit_per_s": mbit(sum(c[1] for c in carried)),
            "display_connection": busiest[2],
            "display_rx_mbit_per_s": mbit(busiest[0]),
            "display_tx_mbit_per_s": mbit(busiest[1]),
        }
    return out


def summarize_interface(records: list[Record]) -> Section:
    return {
        f"{host}/{interface}": {
            "samples": len(rs),
            "rx_mbit_per_s": mbit(mean(rs, "rx_bytes_per_s")),
            "tx_mbit_per_s": mbit(mean(rs, "tx_bytes_per_s")),
        }
        for (host, interface), rs in by(records, "host", "interface").items()
    }


MEASUREMENT = Measurement(
    name="network",
    # network_capture: the tcpdump pcap (capture: true), kept as an attachment
    samplers=(Sampler("network", {"output": parse}), Sampler("network_capture")),
    tables={"network_connections": CONNECTION_FIELDS, "network_interface": INTERFACE_FIELDS},
    summaries=(
        Summary("network_connections", summarize_connections, (
            Figure("connections"),
            Figure("span_s"),
            Figure("rx_mbit_per_s", "Mbit/s", headline=True),
            Figure("tx_mbit_per_s", "Mbit/s", headline=True),
            Figure("display_connection"),
            Figure("display_rx_mbit_per_s", "Mbit/s", headline=True),
            Figure("display_tx_mbit_per_s", "Mbit/s", headline=True),
        )),
        Summary("network_interface", summarize_interface, (
            Figure("samples"),
            Figure("rx_mbit_per_s", "Mbit/s", headline=True),
            Figure("tx_mbit_per_s", "Mbit/s", headline=True),
        )),
    ),
)  # fmt: skip
