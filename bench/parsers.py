#!/usr/bin/env python3
"""Parser speed on about a million lines of real output each.

For every parser the measurements declare (collector.measurements) (and the GPU and
streaming-agent parsers, registered or not), the input is the parser's
fixture from tests/fixtures/ repeated until it has about N lines. Each
parse() is timed (best of --repeat runs) and its lines and rows per second
are printed. The baseline, measured in the same run on the very same text,
is the least any line parser does: split the text into lines and run one
``"x" in line`` test per line; ratio = parse time / baseline time.

    python bench/parsers.py [--lines 1000000] [--repeat 3]

Goal: every parser at 200,000 lines/s or more. ``system`` and ``network``
cannot reach it, and the bench shows why: they read the JSON lines of the
roles' own samplers, where one line is a whole sample (about 380 and 900
bytes: 35 counters and 3 rows, or 4 connections and 5 rows), not one event
as in a log. Decoding that JSON alone, ``json.loads`` per line, the least any
parser of it can do in CPython, is printed after the table as the "JSON
floor", measured in the same run on the same text: below 200,000 here
(about 130,000-170,000), so no parser of these lines reaches it. On top of
decoding, each pair of samples gives 17 rates, or a row per interface and
connection; the parsers take their samples one by one from a generator (a
list of them all made the garbage collector walk every sample again and
again: three times slower) and run at about 0.4 x the floor. Their rows/s
is what compares with the log parsers'.

The network sampler's output has no recorded fixture, so its input is built
here in the sampler's format (roles/network/files/network_sampler.py) and
marked "built"; the spice_server and remote_viewer recorder inputs are the
hand-built fixtures of tests/fixtures/spice-logs/built/.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector.measurements import (  # noqa: E402
    glass,
    gpu,
    network,
    registry,
    remote_viewer,
    spice_server,
    streaming_agent,
    system,
    workload,
)
from collector.measurements import process as pidstat  # noqa: E402
from collector.measurements import test as vmstat  # noqa: E402
from collector.measurements.base import Parser  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SPICE_SAMPLES = ("mjpeg-ball-640", "mjpeg-smpte-scroll-1024", "vp8-smpte-scroll-1024", "tbf-4mbit")
PIDSTAT_SAMPLES = (*SPICE_SAMPLES, "idle")
T = TypeVar("T")


def fixture(name: str) -> str:
    """A fixture as it is: no newline translation (the spiceqxl driver's "\\r" stay)."""
    with open(FIXTURES / name, encoding="utf-8", newline="") as f:
        text = f.read()
    # a cut last line must not be glued to the next copy's first one
    return text if text.endswith("\n") else text + "\n"


def repeated(unit: str, lines: int) -> str:
    """The unit repeated until the text has at least ``lines`` lines."""
    copies = -(-lines // unit.count("\n"))
    return unit * copies


def intel_text(lines: int) -> str:
    """The fixture's complete samples repeated inside one JSON array, as the tool writes it."""
    text = fixture("gpu/intel_gpu_top.json")
    body = text[text.index("{") : text.rindex("\n},\n") + 2]  # samples 0-4, the cut 5th left out
    copies = -(-lines // (body.count("\n") + 1))
    return "[\n" + ",\n".join([body] * copies) + "\n"


def network_unit() -> str:
    """1000 samples of network_sampler.py's JSON lines: 4 SPICE channels and spice0 (built)."""
    out = []
    channels = [("10.0.0.1:5900", f"10.0.0.2:{40000 + 2 * i}") for i in range(4)]
    for n in range(1000):
        connections = []
        for i, (local, peer) in enumerate(channels):
            sent = n * (1_250_000 if i == 1 else 2_500 * (i + 1))
            received = n * 12_500 * (i + 1)
            connections.append(
                {"local": local, "peer": peer, "bytes_sent": sent + 1448, "bytes_acked": sent,
                 "bytes_received": received, "segs_out": n * 900, "segs_in": n * 450,
                 "data_segs_out": n * 880, "data_segs_in": n * 20}
            )  # fmt: skip
        sample = {
            "t": 1.8e9 + n * 0.5,
            "port": 5900,
            "connections": connections,
            "interface": "spice0",
            "counters": [n * 30_000, n * 30, 7_000 + n * 1_300_000, n * 900],
        }
        out.append(json.dumps(sample, separators=(",", ":")) + "\n")
    return "".join(out)


@dataclass
class Case:
    parser: str
    source: str
    parse: Parser
    text: Callable[[int], str]


def cases() -> list[Case]:
    def joined(*names: str) -> Callable[[int], str]:
        return lambda lines: repeated("".join(fixture(n) for n in names), lines)

    known: list[Case] = [
        Case("vmstat", "local/vmstat-timestamped.txt", vmstat.parse,
             joined("local/vmstat-timestamped.txt")),
        Case("system", "local/system-proc.jsonl", system.parse,
             joined("local/system-proc.jsonl")),
        Case("network", "network_sampler.py lines (built)", network.parse,
             lambda lines: repeated(network_unit(), lines)),
        Case("pidstat", "pidstat/*.txt (5 samples)", pidstat.parse,
             joined(*(f"pidstat/{s}.txt" for s in PIDSTAT_SAMPLES))),
        Case("spice_server", "spice-logs/*/server.log (4 samples)", spice_server.parse,
             joined(*(f"spice-logs/{s}/server.log" for s in SPICE_SAMPLES))),
        Case("spice_server", "spice-logs/built/server-recorder.log", spice_server.parse,
             joined("spice-logs/built/server-recorder.log")),
        Case("remote_viewer", "spice-logs/*/client.log (4 samples)", remote_viewer.parse,
             joined(*(f"spice-logs/{s}/client.log" for s in SPICE_SAMPLES))),
        Case("remote_viewer", "spice-logs/built/client-*.log", remote_viewer.parse,
             joined("spice-logs/built/client-recorder.log",
                    "spice-logs/built/client-stream-summary.log")),
        Case("nvidia_smi", "gpu/nvidia-smi-stats.txt", gpu.parse_nvidia_smi,
             joined("gpu/nvidia-smi-stats.txt")),
        Case("intel_gpu_top", "gpu/intel_gpu_top.json (5 samples)", gpu.parse_intel_gpu_top,
             intel_text),
        Case("streaming_agent", "streaming_agent/frames.log", streaming_agent.parse,
             joined("streaming_agent/frames.log")),
        Case("glass grabs", "glass/grabs*.txt", glass.parse_grabs,
             joined("glass/grabs.txt", "glass/grabs-capped.txt")),
        Case("glass quality", "glass/quality.txt", glass.parse_quality,
             joined("glass/quality.txt")),
        Case("workload", "glass/workload*.txt", workload.parse,
             joined("glass/workload.txt", "glass/workload-capped.txt")),
    ]  # fmt: skip
    registered = {parse for m in registry.measurements().values() for parse in m.parsers().values()}
    covered = {case.parse for case in known}
    missing = registered - covered
    if missing:
        names = ", ".join(sorted(f"{p.__module__}.{p.__name__}" for p in missing))
        sys.exit(f"no benchmark input for registered parser(s): {names}; add a Case")
    return known


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The shortest of ``repeat`` runs (at least one), and what the last run returned."""
    times = []
    for _ in range(repeat):
        gc.collect()  # each run starts without the previous run's garbage
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def baseline(text: str) -> int:
    """The least a line parser does: split into lines, one substring test per line."""
    hits = 0
    for line in text.split("\n"):
        if "x" in line:
            hits += 1
    return hits


JSON_LINES = ("system", "network")  # parsers of the samplers' JSON lines


def json_floor(text: str) -> int:
    """The least a parser of JSON lines does: decode each line."""
    decoded = 0
    for line in text.split("\n"):
        if line:
            json.loads(line)
            decoded += 1
    return decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines per input")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    args = parser.parse_args()
    if args.lines < 1 or args.repeat < 1:
        parser.error("--lines and --repeat must be at least 1")

    print(f"Python {sys.version.split()[0]}; about {args.lines:,} lines per input; "
          f"best of {args.repeat} runs")  # fmt: skip
    header = (
        f"{'parser':16} {'input':40} {'lines':>9} {'MB':>6} {'rows':>9} {'parse s':>8} "
        f"{'lines/s':>11} {'rows/s':>11} {'base s':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    floors: list[tuple[str, float, float]] = []
    for case in cases():
        text = case.text(args.lines)
        lines = text.count("\n")
        seconds, tables = best_of(args.repeat, lambda text=text, case=case: case.parse(text))
        rows = sum(len(table.rows) for table in tables.values())
        base, _ = best_of(args.repeat, lambda text=text: baseline(text))
        print(
            f"{case.parser:16} {case.source:40} {lines:>9,} {len(text) / 1e6:>6.1f} {rows:>9,} "
            f"{seconds:>8.3f} {lines / seconds:>11,.0f} {rows / seconds:>11,.0f} "
            f"{base:>7.3f} {seconds / base:>6.1f}"
        )
        if case.parser in JSON_LINES:
            floor, _ = best_of(args.repeat, lambda text=text: json_floor(text))
            floors.append((case.parser, lines / seconds, lines / floor))
        del text, tables
    print("ratio: parse time / baseline time on the same text (split + one `in` test per line)")
    for parser, rate, floor in floors:
        print(
            f"JSON floor, {parser}: json.loads per line alone {floor:,.0f} lines/s; the parser "
            f"{rate:,.0f} lines/s ({rate / floor:.2f} x the floor): one line is a whole sample"
        )


if __name__ == "__main__":
    main()
