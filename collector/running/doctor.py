"""``python -m collector doctor``: the preflight checks alone, as a table.

Runs ``playbooks/doctor.yml`` through ansible-runner in a scratch run
directory and reads back the checks it recorded. Nothing is measured and
nothing is saved.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from collector.config.load import load_config
from collector.config.plan import run_dir_for
from collector.config.secrets import scrub
from collector.running.ansible import Progress, extravars_for, play, without_secret_environment
from collector.running.events import read_events
from collector.running.run import inventory_for


@dataclass
class Check:
    host: str
    check: str
    ok: bool
    detail: str


def doctor(
    config_path: Path | None,
    secure_path: Path | None,
    inventory: Path | None,
    *,
    out: TextIO = sys.stdout,
) -> list[Check]:
    config = load_config(config_path, secure_path)
    run_id = str(uuid.uuid4())
    run_dir = run_dir_for(config.local_database, run_id)
    try:
        with without_secret_environment():
            play(
                "doctor.yml",
                run_dir / "runner",
                inventory_for(inventory, config, out),
                extravars_for(config, run_id, {}),
                Progress(out, verbose=False, quiet=True),
                None,
            )
        secrets = config.secret_values()
        return [
            Check(
                host=str(e.get("host")),
                check=str(e.get("check")),
                ok=str(e.get("ok")).lower() == "true",
                detail=scrub(" ".join(str(e.get("detail") or "").split()), secrets),
            )
            for e in read_events(run_dir)
            if e.get("kind") == "check"
        ]
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def print_table(checks: list[Check], out: TextIO) -> None:
    if not checks:
        print("no checks ran (is the inventory right?)", file=out)
        return
    host_width = max(len(c.host) for c in checks)
    check_width = min(max(len(c.check) for c in checks), 50)
    for c in checks:
        mark = "ok  " if c.ok else "FAIL"
        print(f"{mark}  {c.host:{host_width}}  {c.check:{check_width}}  {c.detail}", file=out)
    failed = sum(not c.ok for c in checks)
    print(f"\n{len(checks) - failed} passed, {failed} to fix", file=out)
