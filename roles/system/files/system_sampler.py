#!/usr/bin/env python3
"""Print this machine's raw /proc counters as one JSON line per interval.

Raw cumulative counters, not rates: the controller's parser computes rates, so
a parser fix can re-read an old run. Standard library only, Python 3.6+.
"""

import contextlib
import json
import sys
import time


def cpu_and_counters():
    cpu, counters = None, {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0] == "cpu":
                cpu = [int(x) for x in parts[1:]]
            elif parts[0] in ("ctxt", "intr", "processes", "procs_running", "procs_blocked"):
                counters[parts[0]] = int(parts[1])
    return cpu, counters


def meminfo():
    wanted = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree")
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in wanted:
                out[key] = int(rest.split()[0])
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def net(interfaces):
    out = {}
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, _, rest = line.partition(":")
            name = name.strip()
            if (interfaces and name not in interfaces) or (not interfaces and name == "lo"):
                continue
            v = [int(x) for x in rest.split()]
            out[name] = [v[0], v[1], v[8], v[9]]  # rx bytes, rx packets, tx bytes, tx packets
    return out


def main(argv):
    interval = float(argv[1]) if len(argv) > 1 else 1.0
    interfaces = set(argv[2].split(",")) if len(argv) > 2 and argv[2] else set()
    next_at = time.time()
    while True:
        cpu, counters = cpu_and_counters()
        sample = {
            "t": time.time(),
            "cpu": cpu,
            "mem": meminfo(),
            "load": loadavg(),
            "net": net(interfaces),
        }
        sample.update(counters)
        sys.stdout.write(json.dumps(sample, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        next_at += interval
        time.sleep(max(0.0, next_at - time.time()))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        main(sys.argv)
