#!/usr/bin/env python3
"""Orchestration overhead of one experiment on the local default inventory.

Prints, for `ansible-playbook playbooks/benchmark.yml` and for
`python -m collector run` with the `test` and `system` measurements:
wall time, overhead (wall time minus the window's duration), the spread of
the samplers' actual start times, and the samplers' own CPU cost. The
baseline, measured in the same run, is the cheapest possible Ansible run: a
one-task playbook against the same inventory; overheads are also given as
multiples of it.

    python bench/orchestration.py [--runs 3] [--duration 5]
"""

from __future__ import annotations

import argparse
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


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def baseline(work: Path) -> float:
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
    return timed([str(BIN / "ansible-playbook"), str(playbook)])


def experiment(way: str, config: Path) -> float:
    if way == "ansible-playbook":
        argv = [str(BIN / "ansible-playbook"), "playbooks/benchmark.yml", "-e", f"config={config}"]
    else:
        argv = [sys.executable, "-m", "collector", "run", "-c", str(config)]
    return timed(argv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "bench.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "description": "orchestration benchmark",
                    "duration": args.duration,
                    "measurements": ["test", "system"],
                    "databases": {"local": "bench.db"},
                }
            )
        )
        base = statistics.median(baseline(work) for _ in range(args.runs))
        print(f"baseline: one-task playbook on the local inventory: {base:.2f} s (median)")
        print(f"window: {args.duration:.1f} s, {args.runs} runs each, test + system\n")
        header = f"{'way':24} {'wall s':>8} {'overhead s':>11} {'x baseline':>11}"
        print(f"{header} {'start spread ms':>16} {'sampler cpu %':>14}")
        database = work / "bench.db"
        for way in ("ansible-playbook", "python -m collector run"):
            before = (
                {e["uuid"] for e in store.list_experiments(database)}
                if database.exists()
                else set()
            )
            walls = [experiment(way, config) for _ in range(args.runs)]
            new = [e for e in store.list_experiments(database) if e["uuid"] not in before]
            assert len(new) == args.runs, "a run recorded no experiment"
            spreads, cpus = [], []
            for e in new:
                fields, rows = store.read_table(database, "samplers", e["uuid"])
                samplers = [dict(zip(fields, r, strict=True)) for r in rows]
                starts = [s["started"] for s in samplers if s["started"] is not None]
                spreads.append((max(starts) - min(starts)) * 1000)
                cpus += [
                    100 * (s["user_cpu_s"] + s["sys_cpu_s"]) / max(s["ended"] - s["started"], 1e-9)
                    for s in samplers
                ]
            wall = statistics.median(walls)
            overhead = wall - args.duration
            print(
                f"{way:24} {wall:8.2f} {overhead:11.2f} {overhead / base:11.1f} "
                f"{statistics.median(spreads):16.2f} {statistics.mean(cpus):14.2f}"
            )


if __name__ == "__main__":
    main()
