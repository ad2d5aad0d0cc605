#!/usr/bin/env python3
"""Print the SPICE connections' and an interface's byte counters, one JSON line per interval.

Per TCP connection to or from the SPICE port: bytes sent (acked) and received,
from the kernel's tcp_info (`ss -tin`); SPICE opens one connection per
channel, the display channel being the busiest. Raw cumulative counters: the
controller's parser computes rates. Standard library and iproute2's ss only.
"""

import contextlib
import json
import re
import subprocess
import sys
import time

FIELDS = re.compile(
    r"\b(bytes_acked|bytes_received|bytes_sent|segs_out|segs_in|data_segs_out|data_segs_in):(\d+)"
)


def connections(port):
    out = subprocess.run(
        ["ss", "-tinH", "state", "established", "( sport = :%d or dport = :%d )" % (port, port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ).stdout
    conns = []
    current = None
    for line in out.splitlines():
        if line and not line[0].isspace():
            parts = line.split()
            # Recv-Q Send-Q Local Peer (state omitted by the filter)
            current = {"local": parts[2], "peer": parts[3]}
            conns.append(current)
        elif current is not None:
            current.update({k: int(v) for k, v in FIELDS.findall(line)})
    return conns


def interface(name):
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            iface, _, rest = line.partition(":")
            if iface.strip() == name:
                v = [int(x) for x in rest.split()]
                return [v[0], v[1], v[8], v[9]]
    return None


def main(argv):
    port = int(argv[1])
    iface = argv[2] if len(argv) > 2 else ""
    interval = float(argv[3]) if len(argv) > 3 else 1.0
    next_at = time.time()
    while True:
        sample = {"t": time.time(), "port": port, "connections": connections(port)}
        if iface:
            sample["interface"] = iface
            sample["counters"] = interface(iface)
        sys.stdout.write(json.dumps(sample, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        next_at += interval
        time.sleep(max(0.0, next_at - time.time()))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        main(sys.argv)
