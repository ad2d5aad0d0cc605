"""Turn a run directory into a saved Experiment.

The single code path from a run to the database: the playbook's save step
(plugins/action/collector_save.py) calls it for ``ansible-playbook`` and for
``python -m collector run`` alike. It reads only the run directory (plan,
events, raw files), so a run can be ingested again after a parser fix.
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from collector.config.plan import CONFIG_FILE, read_plan
from collector.config.secrets import scrub, scrub_bytes
from collector.errors import StoreLocked
from collector.measurements import registry
from collector.measurements.pipeline import pipeline_table
from collector.paths import PROJECT_ROOT
from collector.running.clock import correction
from collector.running.events import phase_durations, read_events
from collector.running.raw_tables import HostClock, parse_raw
from collector.store.experiment import Experiment
from collector.store.sqlite import SAVE_WAIT
from collector.version import __version__

PHASE_FIELDS = ("phase", "started", "duration_s")
SAMPLER_FIELDS = (
    "host", "measurement", "sampler", "scheduled_start", "started", "ended", "start_skew_s",
    "end_reason", "returncode", "user_cpu_s", "sys_cpu_s", "max_rss_kb",
)  # fmt: skip
HOST_FIELDS = (
    "host", "inventory_groups", "clock_offset_s", "clock_uncertainty_s", "kernel", "distribution",
    "cpu_model", "cpus", "memory_kb",
)  # fmt: skip
FAILURE_FIELDS = ("host", "measurement", "phase", "task", "message")

# How a sampler ended, and whether that means its data is incomplete.
CLEAN_ENDS = {"window_end"}
INTERRUPTED_ENDS = {"stopped", "stopped_before_start"}


@dataclass
class SavedRun:
    """What was saved, for the playbook's output and the CLI."""

    uuid: str
    status: str
    problems: list[str]
    table_rows: dict[str, int] = field(default_factory=dict)
    database: str = ""

    def summary(self) -> str:
        lines = [f"experiment {self.uuid}: {self.status} (saved to {self.database})"]
        if self.table_rows:
            lines.append(
                "tables: " + ", ".join(f"{t} {n} rows" for t, n in sorted(self.table_rows.items()))
            )
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def save_run(
    run_dir: Path,
    *,
    interrupted: bool | None = False,
    ansible_version: str = "",
    database: Path | None = None,
    replace: bool = False,
    wait: float = SAVE_WAIT,
    progress: Callable[[str], None] | None = None,
) -> SavedRun:
    """Save the run into the plan's database, or into ``database`` (saving a run again).

    ``replace`` replaces the experiment saved before (a lost host recovered);
    ``wait`` is how long to wait for another process's write lock.
    ``interrupted=None`` lets the samplers tell: a run finished after its
    controller died is interrupted if a sampler was stopped before its end.
    """
    plan = read_plan(run_dir)
    target = str(database) if database is not None else plan["database"]
    events = read_events(run_dir)
    secrets = _secret_values(plan)
    experiment, problems, rows = build_experiment(run_dir, plan, events, secrets)
    pipeline_table(experiment)
    for measurement in registry.measurements().values():
        if measurement.derive is not None:
            measurement.derive(experiment)
    if interrupted is None:
        interrupted = _stopped_early(experiment)
    status = _status(interrupted, problems, rows, events)
    experiment.status = status
    experiment.status_detail = scrub("; ".join(problems), secrets)
    _add_phases(experiment, events)
    _attach_run_files(experiment, run_dir, secrets, ansible_version)
    try:
        experiment.save(target, replace=replace, wait=wait, progress=progress)
    except StoreLocked as e:
        raise StoreLocked(
            f"{e}. Nothing is lost: {run_dir} keeps the whole run; once the lock is gone, "
            f"save it with: python -m collector save {run_dir}"
        ) from None
    return SavedRun(
        uuid=experiment.uuid,
        status=status,
        problems=[scrub(p, secrets) for p in problems],
        table_rows={name: len(t.rows) for name, t in experiment.tables.items()},
        database=target,
    )


def _add_phases(experiment: Experiment, events: list[dict[str, Any]]) -> None:
    """Where the run's time went: each phase's start and duration (the save's up to now)."""
    phases = phase_durations(events, time.time())
    if phases:
        experiment.create_table("phases", PHASE_FIELDS).add_many(phases)


def build_experiment(
    run_dir: Path, plan: dict[str, Any], events: list[dict[str, Any]], secrets: frozenset[str]
) -> tuple[Experiment, list[str], int]:
    """Everything but the status: tables, parameters, problems found on the way."""
    window = next((e for e in events if e.get("kind") == "window"), {})
    hosts = {e["host"]: e for e in events if e.get("kind") == "host"}
    # Only a measured offset moves a host's times; the hosts table keeps what was measured.
    offsets = {
        h: correction(e.get("clock_offset"), e.get("clock_uncertainty")) for h, e in hosts.items()
    }
    utc_offsets = {h: int((e.get("info") or {}).get("utc_offset") or 0) for h, e in hosts.items()}
    experiment = Experiment(
        plan["description"],
        uuid=plan["run_id"],
        started_at=window.get("start_at"),
        ended_at=window.get("end_at"),
    )
    problems: list[str] = []
    _add_parameters(experiment, plan)
    _add_hosts(experiment, hosts)
    failed = _add_failures(experiment, events, problems, secrets)

    samplers = experiment.create_table("samplers", SAMPLER_FIELDS)
    data_rows = 0
    last_end = None
    aborted = _aborted(events)
    for m in [] if aborted else plan["measurements"]:
        for host in m["hosts"]:
            if (host, m["name"]) in failed or (host, "") in failed:
                continue
            host_raw = run_dir / "raw" / host
            clock = HostClock(offsets.get(host, 0.0), utc_offsets.get(host, 0), window)
            sampler_dirs = _sampler_dirs(host_raw, m["role"])
            if not any((d / "status.json").exists() for d in sampler_dirs):
                problems.append(f"{m['name']} on {host}: no result (host lost during the run?)")
                continue
            for sampler_dir in sampler_dirs:
                status = _read_json(sampler_dir / "status.json")
                if status is None:
                    continue
                row = _sampler_row(host, m["name"], sampler_dir.name, status, clock.offset,
                                   window.get("start_at"))  # fmt: skip
                samplers.add(*row)
                if row[5] is not None:
                    last_end = max(last_end or row[5], row[5])
                problem = _sampler_problem(status, sampler_dir)
                if problem:
                    problems.append(f"{m['name']} on {host}: {problem}")
            data_rows += parse_raw(experiment, host_raw, host, m, clock, secrets)
    if last_end is not None and window.get("end_at") and last_end < window["end_at"]:
        experiment.ended_at = last_end
    return experiment, problems, data_rows


def _add_parameters(experiment: Experiment, plan: dict[str, Any]) -> None:
    experiment.set_parameter("run", "duration", plan["duration"])
    experiment.set_parameter("run", "warmup", plan.get("warmup", 0.0))
    experiment.set_parameter("run", "cooldown", plan.get("cooldown", 0.0))
    sweep = plan.get("sweep")
    if sweep:
        experiment.sweep_id = sweep["id"]
        for path, value in sweep["point"].items():
            experiment.set_parameter("sweep", path, value)
        experiment.set_parameter("sweep", "repetition", sweep["repetition"])
        experiment.set_parameter("sweep", "key", sweep["key"])
    for m in plan["measurements"]:
        prefix = m["role"] + "_"
        experiment.set_parameter(m["role"], "machine", m["groups"])
        inventory = m.get("inventory_variables") or {}
        for name, value in sorted(m["variables"].items()):
            if name.endswith("_required_commands"):
                continue
            experiment.set_parameter(
                m["role"], name.removeprefix(prefix), _effective(name, value, m["hosts"], inventory)
            )
        # the old script's names of the old options used (FPS, bitrate ...), next to ours
        for name, value in sorted((m.get("legacy_parameters") or {}).items()):
            experiment.set_parameter(m["role"], name, value)


def _effective(name: str, default: Any, hosts: list[str], inventory: dict[str, dict]) -> Any:
    """The value a variable had: the inventory's where it set one, else the role's default.

    One value when every host had the same, else one per host.
    """
    if not hosts:
        return default
    values = {h: (inventory.get(h) or {}).get(name, default) for h in hosts}
    distinct = {json.dumps(v, sort_keys=True, default=str) for v in values.values()}
    return values[hosts[0]] if len(distinct) == 1 else values


def _add_hosts(experiment: Experiment, hosts: dict[str, dict[str, Any]]) -> None:
    table = experiment.create_table("hosts", HOST_FIELDS)
    for name, event in sorted(hosts.items()):
        info = event.get("info") or {}
        table.add(
            name,
            ",".join(event.get("groups") or []),
            float(event.get("clock_offset") or 0.0),
            float(event.get("clock_uncertainty") or 0.0),
            info.get("kernel"),
            info.get("distribution"),
            info.get("cpu_model"),
            info.get("cpus"),
            info.get("memory_kb"),
        )
        experiment.add_attachment(
            "metadata.json", json.dumps(info, indent=1, sort_keys=True), host=name
        )


def _add_failures(
    experiment: Experiment,
    events: list[dict[str, Any]],
    problems: list[str],
    secrets: frozenset[str],
) -> set[tuple[str, str]]:
    table = experiment.create_table("failures", FAILURE_FIELDS)
    failed = set()
    recovered = {e.get("host") for e in events if e.get("kind") == "recovered"}
    for e in events:
        if e.get("kind") != "failure":
            continue
        if e.get("lost"):
            if e.get("host") in recovered or (e.get("host"), "") in failed:
                continue  # `collector recover` brought its files back, or it is said already
            # nothing of a lost host is kept until it is recovered: its files stay on it
            failed.add((e.get("host"), ""))
        message = scrub(_failure_message(e), secrets)
        table.add(e.get("host"), e.get("measurement"), e.get("phase"), e.get("task"), message)
        if e.get("lost"):
            problems.append(f"{e.get('host')} was lost in {e.get('phase')}: {message}")
            continue
        what = e.get("measurement") or "run"
        task = f" ({e['task']})" if e.get("task") and e.get("task") not in message else ""
        problems.append(f"{what} on {e.get('host')} failed in {e.get('phase')}{task}: {message}")
        # A measurement failed before its data existed contributes nothing;
        # one failed in stop or collect may still have data worth keeping.
        if e.get("phase") in ("preflight", "setup", "start"):
            failed.add((e.get("host"), e.get("measurement") or ""))
    return failed


def _failure_message(event: dict[str, Any]) -> str:
    message = str(event.get("message") or "").strip()
    stderr = str(event.get("stderr") or "").strip()
    if stderr and stderr not in message:
        message = f"{message}: {stderr.splitlines()[-1]}" if message else stderr.splitlines()[-1]
    return message or "failed"


def _sampler_dirs(host_raw: Path, role: str) -> list[Path]:
    """The directories of the samplers the role's module declares, those that were fetched."""
    return sorted(
        host_raw / name for name in registry.sampler_names(role) if (host_raw / name).is_dir()
    )


def _sampler_row(
    host: str,
    name: str,
    sampler: str,
    status: dict[str, Any],
    offset: float,
    window_start: float | None,
) -> tuple[Any, ...]:
    def local(key: str) -> float | None:
        value = status.get(key)
        return None if value is None else float(value) - offset

    started, scheduled = local("started"), local("scheduled_start")
    # against the sampler's own schedule, which a warm-up lead moves before the window
    planned = scheduled if scheduled is not None else window_start
    skew = None if started is None or planned is None else started - planned
    return (
        host, name, sampler, scheduled, started, local("ended"), skew,
        status.get("end_reason"), status.get("returncode"), status.get("user_cpu_s"),
        status.get("sys_cpu_s"), status.get("max_rss_kb"),
    )  # fmt: skip


def _sampler_problem(status: dict[str, Any], raw: Path) -> str | None:
    reason = status.get("end_reason")
    if reason in CLEAN_ENDS or reason in INTERRUPTED_ENDS:
        return None
    if reason == "exited":
        stderr = _tail(raw / "stderr")
        detail = f": {stderr}" if stderr else ""
        return f"command ended early with code {status.get('returncode')}{detail}"
    if reason == "never_released":
        return "armed but never released (the run stopped before the window)"
    return (
        f"sampler ended abnormally ({reason}{': ' + status['error'] if 'error' in status else ''})"
    )


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _stopped_early(experiment: Experiment) -> bool:
    samplers = experiment.tables["samplers"]
    reason = samplers.fields.index("end_reason")
    return any(row[reason] in INTERRUPTED_ENDS for row in samplers.rows)


def _aborted(events: list[dict[str, Any]]) -> bool:
    """Whether preflight found a host unusable, which aborts the run before it starts.

    A measurement that failed its own checks is only left out (its failure
    names it); the others are measured.
    """
    return any(
        e.get("kind") == "failure" and e.get("phase") == "preflight" and not e.get("measurement")
        for e in events
    )


def _status(
    interrupted: bool, problems: list[str], data_rows: int, events: list[dict[str, Any]]
) -> str:
    if interrupted:
        return "interrupted"
    if _aborted(events):
        return "failed"
    if problems and data_rows == 0:
        return "failed"
    return "partial" if problems else "ok"


def _attach_run_files(
    experiment: Experiment, run_dir: Path, secrets: frozenset[str], ansible_version: str
) -> None:
    """Keep the raw files and what produced them, secrets masked."""
    raw_root = run_dir / "raw"
    for path in sorted(p for p in raw_root.rglob("*") if p.is_file()):
        host, *rest = path.relative_to(raw_root).parts
        experiment.add_attachment(
            "raw/" + "/".join(rest), scrub_bytes(path.read_bytes(), secrets), host=host
        )
    for name in ("plan.json", "events.jsonl", CONFIG_FILE):
        path = run_dir / name
        if path.exists():
            experiment.add_attachment(name, scrub_bytes(path.read_bytes(), secrets))
    experiment.add_attachment(
        "controller.json", json.dumps(controller_metadata(ansible_version), indent=1)
    )


def controller_metadata(ansible_version: str) -> dict[str, Any]:
    return {
        "tool_version": __version__,
        "tool_commit": _git_commit(),
        "ansible_version": ansible_version,
        "python": platform.python_version(),
        "controller": socket.gethostname(),
        "saved_at": time.time(),
    }


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _secret_values(plan: dict[str, Any]) -> frozenset[str]:
    """Secrets are what secure.yaml holds; read it again rather than keep it anywhere."""
    secure = plan.get("secure_file")
    if not secure:
        return frozenset()
    try:
        data = yaml.safe_load(Path(secure).read_text())
    except (OSError, yaml.YAMLError):
        return frozenset()
    return frozenset(_leaves(data))


def _leaves(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [leaf for v in data.values() for leaf in _leaves(v)]
    if isinstance(data, list):
        return [leaf for v in data for leaf in _leaves(v)]
    if data is None or isinstance(data, bool):
        return []
    return [str(data)]
