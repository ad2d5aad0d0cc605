#!/usr/bin/env python3
"""Orchestration overhead of one experiment: on the local default inventory, and on the lab.

Prints, for `ansible-playbook playbooks/benchmark.yml` and `python -m collector run`:
wall time, overhead (wall time minus the window and its warm-up), each phase's
seconds (from the experiment's `phases` table), the spread of the samplers'
actual start times, and the samplers' own CPU cost. The baseline, measured in
the same run, is the cheapest possible Ansible run: a one-task playbook against
the same inventory (over the same SSH connections on the lab); overheads are
also given as multiples of it.

    python bench/orchestration.py [--runs 3] [--duration 5]     # local: test + system
    python bench/orchestration.py --lab [--runs 3] [--duration 10]
        # as root: the one-machine lab (brought up if it is not, and down again),
        # six measurements on three hosts over SSH, 3 s warm-up
    python bench/orchestration.py [--lab] --sweep 6
        # also sweeps (`collector run --matrix`) of 2 and of 6 runs: what each
        # further run costs beyond its window, and the one-time cost, which is
        # what a sweep of two costs beyond two runs at that price
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector import store  # noqa: E402

BIN = Path(sys.executable).parent
LAB_INVENTORY = ROOT / "inventory" / "lab.yml"
LAB_SIX = ["workload", "spice_server", "remote_viewer", "network", "process", "system"]
PHASES = ("plan", "preflight", "setup", "start", "window", "stop", "collect", "save")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def baseline(work: Path, inventory: Path | None) -> float:
    playbook = work / "noop.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Baseline",
                    "hosts": "host:guest:client",
                    "gather_facts": False,
                    "tasks": [{"name": "Noop", "ansible.builtin.command": "true"}],
                }
            ]
        )
    )
    where = ["-i", str(inventory)] if inventory else []
    return timed([str(BIN / "ansible-playbook"), *where, str(playbook)])


def experiment(way: str, config: Path, inventory: Path | None) -> float:
    if way == "ansible-playbook":
        where = ["-i", str(inventory)] if inventory else []
        argv = [str(BIN / "ansible-playbook"), *where, "playbooks/benchmark.yml",
                "-e", f"config={config}"]  # fmt: skip
    else:
        where = ["-i", str(inventory)] if inventory else []
        argv = [sys.executable, "-m", "collector", "run", "-c", str(config), *where]
    return timed(argv)


def rows(database: Path, table: str, uuid: str) -> list[dict]:
    fields, values = store.read_table(database, table, uuid)
    return [dict(zip(fields, v, strict=True)) for v in values]


def measure(args: argparse.Namespace, work: Path, inventory: Path | None) -> None:
    measurements = LAB_SIX if args.lab else ["test", "system"]
    warmup = 3.0 if args.lab else 0.0
    config = work / "bench.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "description": "orchestration benchmark",
                "duration": args.duration,
                "warmup": warmup,
                "measurements": measurements,
                "databases": {"local": "bench.db"},
            }
        )
    )
    base = statistics.median(baseline(work, inventory) for _ in range(args.runs))
    where = "the lab over SSH" if args.lab else "the local inventory"
    print(f"baseline: one-task playbook on {where}: {base:.2f} s (median)")
    print(f"window: {args.duration:.1f} s after a {warmup:.0f} s warm-up, {args.runs} runs each, "
          f"{' + '.join(measurements)}\n")  # fmt: skip
    header = f"{'way':24} {'wall s':>7} {'overhead s':>10} {'x base':>7}"
    header += "".join(f" {p[:7]:>7}" for p in PHASES)
    print(f"{header} {'spread ms':>9} {'cpu %':>6}")
    database = work / "bench.db"
    for way in ("ansible-playbook", "python -m collector run"):
        before = (
            {e["uuid"] for e in store.list_experiments(database)} if database.exists() else set()
        )
        walls = [experiment(way, config, inventory) for _ in range(args.runs)]
        new = [e for e in store.list_experiments(database) if e["uuid"] not in before]
        assert len(new) == args.runs, "a run recorded no experiment"
        spreads, cpus = [], []
        phases: dict[str, list[float]] = {p: [] for p in PHASES}
        for e in new:
            samplers = rows(database, "samplers", e["uuid"])
            skews = [s["start_skew_s"] for s in samplers if s["start_skew_s"] is not None]
            spreads.append((max(skews) - min(skews)) * 1000)
            cpus += [
                100 * (s["user_cpu_s"] + s["sys_cpu_s"]) / max(s["ended"] - s["started"], 1e-9)
                for s in samplers
                if s["started"] and s["ended"]
            ]
            spent: dict[str, float] = {}
            for r in rows(database, "phases", e["uuid"]):
                spent[r["phase"]] = spent.get(r["phase"], 0.0) + r["duration_s"]
            for p in PHASES:
                phases[p].append(spent.get(p, 0.0))
        wall = statistics.median(walls)
        overhead = wall - args.duration - warmup
        line = f"{way:24} {wall:7.2f} {overhead:10.2f} {overhead / base:7.1f}"
        line += "".join(f" {statistics.median(phases[p]):7.2f}" for p in PHASES)
        print(f"{line} {statistics.median(spreads):9.2f} {statistics.mean(cpus):6.2f}")
    print("\n(phases in s, medians; the window phase holds the warm-up and the window; "
          "spread: of the samplers' starts against their own schedule)")  # fmt: skip


def sweep(config: Path, runs: int, inventory: Path | None, windows: float) -> tuple[float, float]:
    """A sweep of `runs` runs of the same point: its wall time, and that beyond its windows."""
    data = yaml.safe_load(config.read_text())
    data["matrix"] = {"repeat": runs, "measurements/system/interval": [1]}
    data["databases"] = {"local": str(config.parent / f"sweep-{runs}.db")}
    data["description"] = f"orchestration benchmark, sweep of {runs}"
    path = config.parent / f"sweep-{runs}.yaml"
    path.write_text(yaml.safe_dump(data))
    where = ["-i", str(inventory)] if inventory else []
    wall = timed([sys.executable, "-m", "collector", "run", "-c", str(path), *where, "--matrix"])
    return wall, wall - runs * windows


def measure_sweeps(args: argparse.Namespace, work: Path, inventory: Path | None) -> None:
    config = work / "bench.yaml"
    data = yaml.safe_load(config.read_text())
    windows = data["duration"] + data["warmup"]  # cooldown 0: no pause between runs
    small_wall, small = sweep(config, 2, inventory, windows)
    big_wall, big = sweep(config, args.sweep, inventory, windows)
    per_run = (big - small) / (args.sweep - 2)
    once = small - 2 * per_run
    print(f"\nsweeps (python -m collector run --matrix), each run {windows:.1f} s of windows:")
    print(f"{'runs':>5} {'wall s':>8} {'beyond windows s':>17} {'goal s':>8}")
    for runs, wall, beyond in ((2, small_wall, small), (args.sweep, big_wall, big)):
        print(f"{runs:5} {wall:8.1f} {beyond:17.1f} {10 * runs + once:8.1f}")
    print(f"each further run: {per_run:.2f} s beyond its window (goal at most 10 s); "
          f"one-time cost: {once:.2f} s (the same for any number of runs)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--lab", action="store_true", help="the one-machine lab (as root)")
    parser.add_argument("--sweep", type=int, default=0, metavar="N",
                        help="also time sweeps of 2 and of N runs (N > 2)")  # fmt: skip
    args = parser.parse_args()
    args.duration = args.duration or (10.0 if args.lab else 5.0)
    if args.sweep and args.sweep <= 2:
        parser.error("--sweep needs more than 2 runs")
    brought_up = False
    if args.lab:
        if os.geteuid() != 0:
            sys.exit("--lab needs root (python -m collector lab up does)")
        if not LAB_INVENTORY.exists():
            timed([sys.executable, "-m", "collector", "lab", "up"])
            brought_up = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            measure(args, Path(tmp), LAB_INVENTORY if args.lab else None)
            if args.sweep:
                measure_sweeps(args, Path(tmp), LAB_INVENTORY if args.lab else None)
    finally:
        if brought_up:
            timed([sys.executable, "-m", "collector", "lab", "down"])


if __name__ == "__main__":
    main()
