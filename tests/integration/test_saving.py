"""Saving waits for a write lock, never loses a run, and two saves at once both land."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from collector import store
from tests.conftest import hold_write_lock
from tests.integration.helpers import (
    ROOT,
    collector,
    database,
    env,
    start_run,
    wait_for_window,
    write_config,
)

pytestmark = pytest.mark.integration

RUN_FIXTURE = ROOT / "tests" / "fixtures" / "runs" / "local-partial"


def save_in_background(run_dir: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "collector", "save", str(run_dir), "--db", str(db)],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def run_copy(tmp_path: Path, name: str) -> tuple[Path, str]:
    """The recorded run directory under a new run id, as another run would be."""
    run_dir = tmp_path / name
    shutil.copytree(RUN_FIXTURE, run_dir)
    plan = json.loads((run_dir / "plan.json").read_text())
    plan["run_id"] = str(uuid.uuid4())
    (run_dir / "plan.json").write_text(json.dumps(plan))
    return run_dir, plan["run_id"]


def test_a_run_waits_for_a_lock_held_ten_seconds_and_saves(tmp_path: Path):
    config = write_config(tmp_path, ["test"], duration=3)
    db = database(config)
    store.open_database(db, create=True).close()
    run = start_run(config)
    wait_for_window(config)
    # from the window's start (3 s), through stop and collect, to about 10 s into the save
    holder = hold_write_lock(db, 25)
    out, _ = run.communicate(timeout=300)
    assert holder.wait(timeout=30) == 0
    assert run.returncode == 0, out
    assert "waiting for the write lock on" in out
    (saved,) = store.list_experiments(db)
    assert saved["status"] == "ok"


def test_two_saves_at_the_same_moment_both_land(tmp_path: Path):
    db = tmp_path / "shared.db"
    store.open_database(db, create=True).close()
    first, first_id = run_copy(tmp_path, "first")
    second, second_id = run_copy(tmp_path, "second")
    holder = hold_write_lock(db, 2)  # both start while the file is busy, then race
    saves = [save_in_background(d, db) for d in (first, second)]
    outputs = [p.communicate(timeout=120)[0] for p in saves]
    holder.wait(timeout=10)
    assert [p.returncode for p in saves] == [1, 1], outputs  # partial runs: exit 1, saved
    assert {e["uuid"] for e in store.list_experiments(db)} == {first_id, second_id}


def test_a_save_that_cannot_wait_long_enough_says_how_to_save_later(tmp_path: Path):
    db = tmp_path / "busy.db"
    store.open_database(db, create=True).close()
    run_dir, run_id = run_copy(tmp_path, "run")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    holder = hold_write_lock(db, 8)
    try:
        result = collector("save", str(run_dir), "--db", str(db), "--wait", "2")
    finally:
        holder.wait(timeout=20)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"once the lock is gone, save it with: python -m collector save {run_dir}" in (
        result.stderr
    )
    assert store.list_experiments(db) == []
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    # and the command it names saves it
    assert collector("save", str(run_dir), "--db", str(db)).returncode == 1  # partial
    assert [e["uuid"] for e in store.list_experiments(db)] == [run_id]
