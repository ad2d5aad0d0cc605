"""Parameter sweeps: ``python -m collector run --matrix``.

``matrix:`` maps slash-separated parameter paths of benchmark.yaml (the old
form ``measurements/StreamingAgent/framerate``) to lists of values. In the
default ``baseline`` mode the first value of every path is the baseline and
each run changes at most one path from it; ``mode: full`` runs every
combination; ``repeat: N`` runs each point N times.

Each run is an ordinary experiment (same playbook, same save), told its sweep
id and point, which it records as parameters. A point is done when an
experiment of the same sweep with the same key is saved ``ok`` or
``partial``: a sweep run again resumes, and a failed run is tried once more.
The sweep id is a hash of benchmark.yaml, so changing the config starts a new
sweep instead of mixing two.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from collector import store
from collector.config.load import load_config
from collector.config.model import Config
from collector.config.plan import run_dir_for
from collector.config.yamlfile import load_yaml_file
from collector.errors import ConfigError
from collector.running.events import phase_durations, phase_totals, read_events
from collector.running.interrupt import Interrupt
from collector.running.preflight_cache import (
    CACHE_FILE,
    checked_hosts,
    inventory_fingerprint,
    write_cache,
)
from collector.running.run import (
    EXIT_INTERRUPTED,
    RunRequest,
    inventory_for,
    resolve_inventory,
    run_experiment,
)

SETTINGS = ("mode", "repeat")
DONE = ("ok", "partial")
# Orchestration seconds on top of the window, for the estimate before any run.
OVERHEAD_GUESS = 15.0


@dataclass(frozen=True)
class Point:
    index: int
    values: dict[str, Any]
    changed: tuple[str, ...]
    repetition: int
    key: str

    def label(self) -> str:
        shown = self.changed or tuple(self.values)
        text = ", ".join(f"{p}={self.values[p]}" for p in shown) or "no parameters"
        return f"{'baseline: ' if not self.changed else ''}{text} #{self.repetition}"


def expand(matrix: dict[str, Any], sweep_id: str) -> list[Point]:
    """The runs of a sweep, in order."""
    paths = [p for p in matrix if p not in SETTINGS]
    repeat = int(matrix.get("repeat", 1))
    baseline = {p: matrix[p][0] for p in paths}
    if matrix.get("mode", "baseline") == "full":
        combos = [
            dict(zip(paths, c, strict=True)) for c in itertools.product(*(matrix[p] for p in paths))
        ]
    else:
        combos = [baseline] + [{**baseline, p: v} for p in paths for v in matrix[p][1:]]
    unique: list[dict[str, Any]] = []
    for combo in combos:
        if combo not in unique:
            unique.append(combo)
    points = []
    for combo in unique:
        changed = tuple(p for p in paths if combo[p] != baseline[p])
        for repetition in range(1, repeat + 1):
            points.append(
                Point(
                    len(points) + 1, combo, changed, repetition, _key(sweep_id, combo, repetition)
                )
            )
    return points


def _key(sweep_id: str, values: dict[str, Any], repetition: int) -> str:
    canonical = json.dumps([sweep_id, values, repetition], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def sweep_id_of(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str)
    return "sweep-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def apply_point(data: dict[str, Any], values: dict[str, Any], source: str) -> dict[str, Any]:
    """benchmark.yaml's data with the point's values set at their paths."""
    data = copy.deepcopy(data)
    data.pop("matrix", None)
    for path, value in values.items():
        parts = path.split("/")
        if parts[0] == "measurements" and len(parts) == 3:
            _set_option(data, parts[1], parts[2], value, source, path)
            continue
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(source, f"matrix.{path}", f"'{part}' is not a mapping")
        node[parts[-1]] = value
    return data


def _set_option(data: dict, name: str, option: str, value: Any, source: str, path: str) -> None:
    items = data.get("measurements") or []
    for i, item in enumerate(items):
        item_name = item if isinstance(item, str) else next(iter(item), None)
        if item_name == name:
            options = {} if isinstance(item, str) else dict(item[name] or {})
            options[option] = value
            items[i] = {name: options}
            return
    raise ConfigError(source, f"matrix.{path}", f"no measurement named '{name}' in measurements")


@dataclass
class SweepPlan:
    config: Config
    sweep_id: str
    points: list[Point]
    point_files: dict[int, Path] = field(default_factory=dict)

    def estimate(self, per_run: float | None = None) -> float:
        each = per_run or (self.config.duration + self.config.warmup + OVERHEAD_GUESS)
        return len(self.points) * each + max(0, len(self.points) - 1) * self.config.cooldown


def plan_sweep(config_path: Path | None, secure_path: Path | None) -> SweepPlan:
    """Expand the matrix and check every point's config before anything runs."""
    config = load_config(config_path, secure_path)
    if not config.matrix or not [p for p in config.matrix if p not in SETTINGS]:
        raise ConfigError(str(config.path), "matrix", "no parameters to sweep: add matrix entries")
    data = load_yaml_file(config.path) or {}
    sweep_id = sweep_id_of(data)
    points = expand(config.matrix, sweep_id)
    directory = config.local_database.parent / "sweeps" / sweep_id
    directory.mkdir(parents=True, exist_ok=True)
    plan = SweepPlan(config, sweep_id, points)
    written: dict[str, Path] = {}
    for point in points:
        canonical = json.dumps(point.values, sort_keys=True, default=str)
        if canonical not in written:
            point_data = apply_point(data, point.values, str(config.path))
            # Same database whatever directory the point's file is in.
            point_data.setdefault("databases", {})["local"] = str(config.local_database)
            path = directory / f"point-{len(written) + 1}.yaml"
            path.write_text(yaml.safe_dump(point_data, sort_keys=False))
            load_config(path, config.secure_path)  # a bad value fails here, before any run
            written[canonical] = path
        plan.point_files[point.index] = written[canonical]
    return plan


def done_points(database: Path, sweep_id: str) -> dict[str, str]:
    if not database.exists():
        return {}
    return {
        key: uuid
        for key, (uuid, status) in store.sweep_keys(database, sweep_id).items()
        if status in DONE
    }


def run_sweep(
    config_path: Path | None,
    secure_path: Path | None,
    inventory: Path | None,
    *,
    dry_run: bool = False,
    verbose: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    plan = plan_sweep(config_path, secure_path)
    config = plan.config
    done = done_points(config.local_database, plan.sweep_id)
    todo = [p for p in plan.points if p.key not in done]
    print(
        f"{plan.sweep_id}: {len(plan.points)} runs ({config.matrix.get('mode', 'baseline')} mode, "
        f"repeat {config.matrix.get('repeat', 1)}), {len(plan.points) - len(todo)} done already",
        file=out,
    )
    if dry_run:
        for p in plan.points:
            state = f"done {done[p.key]}" if p.key in done else "to run"
            print(f"  {p.index:3}. {p.label()}  [{state}]", file=out)
        left = SweepPlan(config, plan.sweep_id, todo).estimate()
        print(f"estimated time: {_duration(left)}", file=out)
        return 0
    inventory = inventory_for(inventory, config, out)  # once: every run uses the same
    # One handler for the whole sweep: a signal between two runs ends it too.
    with Interrupt(out) as interrupt:
        return _run_points(plan, todo, inventory, verbose, out, interrupt)


def _run_points(
    plan: SweepPlan,
    todo: list[Point],
    inventory: Path | None,
    verbose: bool,
    out: TextIO,
    interrupt: Interrupt,
) -> int:
    config = plan.config
    started = time.monotonic()
    failed = []
    run_times: list[float] = []
    # each run's preflight checks, reused by the next while the inventory is unchanged
    cache_file = config.local_database.parent / "sweeps" / plan.sweep_id / CACHE_FILE
    cache_file.unlink(missing_ok=True)  # a sweep run again checks its hosts again
    checked: dict[str, dict] = {}
    fingerprint = ""
    for number, point in enumerate(todo, start=1):
        if number > 1 and config.cooldown:
            _pause(config.cooldown, interrupt)
        if interrupt.requested:
            print(f"sweep interrupted; run it again to resume ({plan.sweep_id})", file=out)
            return EXIT_INTERRUPTED
        remaining = SweepPlan(config, plan.sweep_id, todo[number - 1 :]).estimate(
            sum(run_times) / len(run_times) if run_times else None
        )
        print(
            f"== run {number}/{len(todo)} (point {point.index} of {len(plan.points)}): "
            f"{point.label()} | elapsed {_duration(time.monotonic() - started)}, "
            f"about {_duration(remaining)} left",
            file=out,
            flush=True,
        )
        status = None
        for attempt in (1, 2):
            now = inventory_fingerprint(resolve_inventory(inventory))
            if now != fingerprint:
                checked, fingerprint = {}, now
            write_cache(cache_file, checked)
            begun = time.monotonic()
            outcome = run_experiment(
                RunRequest(
                    config=plan.point_files[point.index],
                    secure=config.secure_path,
                    inventory=inventory,
                    description=f"{config.description} [{point.label()}]".strip(),
                    verbose=verbose,
                    sweep={
                        "id": plan.sweep_id,
                        "point": point.values,
                        "repetition": point.repetition,
                        "key": point.key,
                    },
                    preflight_cache=cache_file,
                ),
                out=out,
                interrupt=interrupt,
            )
            run_times.append(time.monotonic() - begun)
            # a run whose preflight failed (or never ran) vouches for no host: check all again
            found = checked_hosts(run_dir_for(config.local_database, outcome.run_id))
            checked = {**checked, **found} if found else {}
            status = outcome.status
            spent = phase_line(run_dir_for(config.local_database, outcome.run_id))
            if spent:
                print(f"   {spent}", file=out, flush=True)
            if outcome.exit_code == EXIT_INTERRUPTED:
                print(f"sweep interrupted; run it again to resume ({plan.sweep_id})", file=out)
                return EXIT_INTERRUPTED
            if status in DONE:
                break
            if attempt == 1:
                print(f"   run failed ({status or 'no experiment'}); trying once more", file=out)
        if status not in DONE:
            failed.append(point)
            print(f"   giving up on point {point.index}; the sweep goes on", file=out)
    print(
        f"sweep {plan.sweep_id}: {len(todo) - len(failed)} runs done, {len(failed)} failed, "
        f"in {_duration(time.monotonic() - started)}",
        file=out,
    )
    return 0 if not failed else 1


def phase_line(run_dir: Path) -> str:
    """``time: plan 1.2 s, ..., overhead 21.0 s``: where a run's time went, from its events."""
    phases = phase_durations(read_events(run_dir), time.time())
    if not phases:
        return ""
    spent = phase_totals(phases)
    overhead = sum(spent.values()) - spent.get("window", 0.0)
    shown = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in spent.items())
    return f"time: {shown}; overhead {overhead:.1f} s"


def _pause(seconds: float, interrupt: Interrupt) -> None:
    """The cool-down between runs, cut short by a signal."""
    deadline = time.monotonic() + seconds
    while not interrupt.requested and time.monotonic() < deadline:
        time.sleep(min(0.2, deadline - time.monotonic()))


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"
