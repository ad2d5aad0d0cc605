#!/usr/bin/env python3
"""How long the HTML report of a sweep of 50 experiments takes to render.

    python bench/report.py [--experiments 50] [--repeat 3]

Builds, in a temporary directory, a database of this tool holding one sweep
of N experiments (default 50: 10 points of measurements/network_conditions/rate,
5 repetitions each). Every experiment holds what the one-machine lab records
in a 10 s window, parsed by the real parsers from the recorded fixtures of
tests/fixtures/: spice-server's and remote-viewer's logs
(spice-logs/mjpeg-ball-640), pidstat (pidstat/mjpeg-ball-640.txt) and the
system sampler (local/system-proc.jsonl, on both hosts), plus the hosts,
samplers and failures tables ingest always adds. Each point drops a larger
share of the client's frames and each run adds a little noise, so that the
sweep's figures differ from point to point and from run to run.

Times, best of --repeat runs, in-process:

- report: ``collector.report.sweep_report`` (figures, plots, HTML, PNG files);
- summaries: ``open_results(db).summaries(uuids)``, the figures of every
  experiment, which the report computes first (the rest is plots and HTML).

The baseline, measured in the same run on the same database, is the least a
report must do: read every row of every table of the N experiments into
pandas (``open_results(db).table(name, uuids)`` per table name);
ratio = report time / baseline time.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector import store  # noqa: E402
from collector.measurements import process as pidstat  # noqa: E402
from collector.measurements import remote_viewer, spice_server, system  # noqa: E402
from collector.measurements.base import Parser  # noqa: E402
from collector.measurements.parsing import Rows  # noqa: E402
from collector.measurements.pipeline import pipeline_table  # noqa: E402
from collector.results.analysis import open_results  # noqa: E402
from collector.results.report import sweep_report  # noqa: E402
from collector.running.ingest import FAILURE_FIELDS, HOST_FIELDS, SAMPLER_FIELDS  # noqa: E402
from collector.store.experiment import Experiment  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SERVER, CLIENT = "lab-host", "lab-client"
RATE = "measurements/network_conditions/rate"
REPETITIONS = 5
EPOCH = 1.8e9
WINDOW_S = 10.0
RUN_EVERY_S = 40.0  # a 10 s window plus the orchestration around it
TIME_COLUMNS = frozenset({"time", "time_of_day", "trace_time"})
T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    host: str
    measurement: str
    groups: tuple[str, ...]
    parse: Parser
    fixture: str


SOURCES = (
    Source(SERVER, "spice_server", ("host",), spice_server.parse,
           "spice-logs/mjpeg-ball-640/server.log"),
    Source(SERVER, "process", ("host",), pidstat.parse, "pidstat/mjpeg-ball-640.txt"),
    Source(SERVER, "system", ("host",), system.parse, "local/system-proc.jsonl"),
    Source(CLIENT, "remote_viewer", ("client",), remote_viewer.parse,
           "spice-logs/mjpeg-ball-640/client.log"),
    Source(CLIENT, "system", ("client",), system.parse, "local/system-proc.jsonl"),
)  # fmt: skip


@dataclass
class Placed:
    """One host's rows of a table, each with its offset (s) from the window's start."""

    host: str
    name: str
    fields: tuple[str, ...]
    rows: list[tuple[float, tuple[Any, ...]]]


def fixture(name: str) -> str:
    with open(FIXTURES / name, encoding="utf-8", newline="") as f:
        return f.read()


def placed_tables() -> tuple[list[Placed], float]:
    """Every source's tables, parsed once, and the span (s) their rows cover."""
    parsed = [(source, source.parse(fixture(source.fixture))) for source in SOURCES]
    # The recorded logs share one clock (one lab machine, one session): a common
    # origin keeps the server's reports beside the client's frames.
    days = [
        row[rows.fields.index("time_of_day")]
        for _, tables in parsed
        for rows in tables.values()
        if "time_of_day" in rows.fields
        for row in rows.rows
    ]
    day_origin = min(d for d in days if d is not None)
    placed = []
    for source, tables in parsed:
        for name, rows in tables.items():
            offsets = _offsets(rows, day_origin)
            kept = [(o, row) for o, row in zip(offsets, rows.rows, strict=True) if o is not None]
            placed.append(Placed(source.host, name, rows.fields, kept))
    span = max(o for p in placed for o, _ in p.rows)
    return placed, span


def _offsets(rows: Rows, day_origin: float) -> list[float | None]:
    fields = rows.fields
    if "time_of_day" in fields:
        i = fields.index("time_of_day")
        return [None if r[i] is None else r[i] - day_origin for r in rows.rows]
    i = fields.index("time")
    times = [r[i] for r in rows.rows if r[i] is not None]
    # epoch times of another session; the parser's first row is one interval (1 s)
    # after the sampler starts, as its rates need two readings
    first = min(times, default=0.0)
    return [None if r[i] is None else r[i] - first + 1.0 for r in rows.rows]


def varied(
    name: str, fields: tuple[str, ...], rows: list[tuple[Any, ...]], drop: float, rng: random.Random
) -> list[tuple[Any, ...]]:
    """The rows as a run at a point that loses ``drop`` of its frames would log them."""
    if name == "client_frames":
        rows = [r for r in rows if rng.random() >= drop]
    out = []
    for row in rows:
        r = dict(zip(fields, row, strict=True))
        for field, value in r.items():
            # other runs never measure quite the same CPU, memory and rates
            if isinstance(value, float) and field not in TIME_COLUMNS:
                r[field] = round(value * rng.gauss(1.0, 0.03), 3)
        if name == "spice_client_reports" and r["frames"] is not None:
            r["drops"] = sum(rng.random() < drop for _ in range(r["frames"]))
            if r["video_delay_ms"] is not None:
                r["video_delay_ms"] = round(r["video_delay_ms"] / (1 - drop))
        if name == "spice_server_drops" and r["fps"] is not None:
            r["fps"] = round(r["fps"] * (1 - drop))
        out.append(tuple(r.values()))
    return out


def build(database: Path, experiments: int) -> tuple[str, list[str], int]:
    """Save the sweep; its id, experiments and rows in all."""
    placed, span = placed_tables()
    points = math.ceil(experiments / REPETITIONS)
    rates = [f"{2 * (points - p)}mbit" for p in range(points)]
    sweep_id = "sweep-" + hashlib.sha256(json.dumps(rates).encode()).hexdigest()[:12]
    uuids, rows = [], 0
    for n in range(experiments):
        point, repetition = divmod(n, REPETITIONS)
        rng = random.Random(n)
        # the lowest rate loses half the frames; runs of one point differ a little
        drop = 0.5 * point / max(points - 1, 1) + rng.uniform(0.0, 0.03)
        start = EPOCH + n * RUN_EVERY_S
        end = start + max(span, WINDOW_S)
        description = f"rate {rates[point]} #{repetition + 1}"
        e = Experiment(description, started_at=start, ended_at=end, sweep_id=sweep_id)
        add_parameters(e, sweep_id, rates[point], repetition + 1)
        add_bookkeeping(e, start, end)
        for p in placed:
            # mirror ingest: a leading host column, times in epoch seconds
            table = e.create_table(p.name, ("host", *p.fields))
            t = p.fields.index("time")
            timed = []
            for offset, row in p.rows:
                values = list(row)
                values[t] = start + offset
                timed.append(tuple(values))
            table.add_many((p.host, *r) for r in varied(p.name, p.fields, timed, drop, rng))
        pipeline_table(e)  # as ingest does; adds nothing without recorder traces
        store.save_experiment(database, e)
        uuids.append(e.uuid)
        rows += sum(len(t.rows) for t in e.tables.values())
    return sweep_id, uuids, rows


def add_parameters(e: Experiment, sweep_id: str, rate: str, repetition: int) -> None:
    """The parameters a sweep run records (collector.running.ingest), through the public API."""
    e.set_parameter("run", "duration", WINDOW_S)
    e.set_parameter("run", "warmup", 0.0)
    e.set_parameter("run", "cooldown", 0.0)
    e.set_parameter("sweep", RATE, rate)
    e.set_parameter("sweep", "repetition", repetition)
    canonical = json.dumps([sweep_id, {RATE: rate}, repetition], sort_keys=True)
    e.set_parameter("sweep", "key", hashlib.sha256(canonical.encode()).hexdigest()[:16])
    for s in SOURCES:
        e.set_parameter(s.measurement, "machine", list(s.groups))
    e.set_parameter("network_conditions", "machine", ["host"])
    e.set_parameter("network_conditions", "rate", rate)


def add_bookkeeping(e: Experiment, start: float, end: float) -> None:
    """The hosts, samplers and (empty) failures tables every saved run has."""
    hosts = e.create_table("hosts", HOST_FIELDS)
    hosts.add(SERVER, "host", 0.0, 0.0001, "6.1.0-28-amd64", "Debian 12", "lab CPU", 2, 24684084)
    hosts.add(CLIENT, "client", 0.0, 0.0001, "6.1.0-28-amd64", "Debian 12", "lab CPU", 2, 24684084)
    samplers = e.create_table("samplers", SAMPLER_FIELDS)
    for i, s in enumerate(SOURCES):
        skew = 0.001 * (i + 1)
        samplers.add(s.host, s.measurement, s.measurement, start, start + skew, end, skew,
                     "window_end", 0, 0.05, 0.02, 20_000)  # fmt: skip
    e.create_table("failures", FAILURE_FIELDS)


def best_of(repeat: int, run: Callable[[int], T]) -> tuple[float, T]:
    """The shortest of ``repeat`` runs (given their number), and what the last one returned."""
    times = []
    for n in range(repeat):
        gc.collect()  # each run starts without the previous run's garbage
        begin = time.perf_counter()
        result = run(n)
        times.append(time.perf_counter() - begin)
    return min(times), result


def read_everything(database: Path, names: Sequence[str], uuids: list[str]) -> int:
    """The baseline: every row of every table of the experiments, into pandas."""
    results = open_results(database)
    return sum(len(results.table(name, uuids)) for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=50, help="experiments in the sweep")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    args = parser.parse_args()
    if args.experiments < 1 or args.repeat < 1:
        parser.error("--experiments and --repeat must be at least 1")

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        begin = time.perf_counter()
        sweep_id, uuids, rows = build(database, args.experiments)
        built = time.perf_counter() - begin
        names = sorted({n for u in uuids for n in store.get_experiment(database, u)["tables"]})

        report_s, written = best_of(
            args.repeat,
            lambda n: sweep_report(open_results(database), sweep_id, Path(tmp) / f"report-{n}"),
        )
        summaries_s, summaries = best_of(
            args.repeat, lambda n: open_results(database).summaries(uuids)
        )
        base_s, read = best_of(args.repeat, lambda n: read_everything(database, names, uuids))
        assert read == rows, (read, rows)
        html_kb = written.html.stat().st_size / 1024
        png_kb = sum(p.stat().st_size for p in written.plots) / 1024

    points = math.ceil(args.experiments / REPETITIONS)
    plots = len(written.plots)
    rest_s = report_s - summaries_s
    print(f"Python {sys.version.split()[0]}; sweep of {args.experiments} experiments "
          f"({points} points x up to {REPETITIONS} runs) built in {built:.1f} s; "
          f"best of {args.repeat} runs")  # fmt: skip
    figures: list[tuple[str, str]] = [
        ("experiments", f"{args.experiments:,}"),
        ("rows (all tables)", f"{rows:,}"),
        ("tables", f"{len(names)}"),
        ("figures per experiment (summary columns)", f"{summaries.shape[1] - 1:,}"),
        ("plots written", f"{plots}"),
        ("report.html (kB)", f"{html_kb:,.0f}"),
        ("PNG files (kB)", f"{png_kb:,.0f}"),
        ("report s (sweep_report)", f"{report_s:.3f}"),
        ("summaries s (Results.summaries)", f"{summaries_s:.3f}"),
        ("rest s (report - summaries: plots, HTML)", f"{rest_s:.3f}"),
        ("baseline s (Results.table per table)", f"{base_s:.3f}"),
        ("ratio report / baseline", f"{report_s / base_s:.1f}"),
        ("ratio summaries / baseline", f"{summaries_s / base_s:.1f}"),
        ("s per plot (rest / plots)", f"{rest_s / plots:.3f}" if plots else "-"),
    ]
    width = max(len(k) for k, _ in figures)
    for key, value in figures:
        print(f"{key:<{width}}  {value:>10}")
    print("baseline: every row of every table of the sweep read into pandas, nothing else")


if __name__ == "__main__":
    main()
