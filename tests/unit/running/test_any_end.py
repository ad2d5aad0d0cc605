"""The parts that make any end of a run a clean one: signals, the reaper, the lab's lock."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector.running import lock, reaper
from collector.running.interrupt import Interrupt


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_the_first_signal_asks_for_a_cancel_and_the_second_abandons(number):
    out = io.StringIO()
    with Interrupt(out) as interrupt:
        assert not interrupt.cancel()
        os.kill(os.getpid(), number)
        assert interrupt.cancel() and "interrupted: stopping the samplers" in out.getvalue()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), number)
    assert signal.getsignal(number) is not interrupt._handle  # put back


def process_named(argv0: str, environment: dict[str, str] | None = None) -> subprocess.Popen:
    """A process with a given argv[0] (like ssh, a control master, a sampler runner)."""
    return subprocess.Popen(
        ["bash", "-c", f'exec -a "{argv0}" sleep 60'], env={**os.environ, **(environment or {})}
    )


def test_the_reaper_ends_marked_ssh_and_its_masters_and_leaves_samplers(tmp_path: Path):
    found = reaper.Mark("test" + str(os.getpid()), str(tmp_path / "cp"))
    (tmp_path / "cp").mkdir()
    marked = {reaper.MARK: found.token}
    # a control master's environment is overwritten by its title: known by its directory
    master = process_named(f"ssh: {found.control_dir}/abcdef0123 [mux]")
    client = process_named("ssh", marked)
    sampler = process_named("python3", marked)
    strangers = [process_named("ssh"), process_named("ssh: /tmp/elsewhere/abcdef [mux]")]
    try:
        time.sleep(0.3)
        assert sorted(reaper.marked(found)) == sorted([master.pid, client.pid])
        assert sorted(reaper.reap(found)) == sorted([master.pid, client.pid])
        assert master.wait(timeout=5) and client.wait(timeout=5)
        assert sampler.poll() is None and all(p.poll() is None for p in strangers)
        assert not (tmp_path / "cp").exists()
    finally:
        for proc in (master, client, sampler, *strangers):
            proc.kill()
            proc.wait()


def test_the_reaper_process_reaps_when_its_command_dies():
    """kill -9 of the command: the reaper's pipe closes, and it ends what the command left."""
    script = (
        "import subprocess, os, sys, time\n"
        "from collector.running import reaper\n"
        "found = reaper.mark()\n"
        "child = subprocess.Popen(['bash', '-c', f'exec -a \"ssh: {found.control_dir}/x [mux]\" "
        "sleep 60'], start_new_session=True)\n"
        "print(child.pid, found.control_dir, flush=True)\n"
        "time.sleep(60)\n"
    )
    command = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid, control_dir = command.stdout.readline().split()
    child = Path(f"/proc/{pid}")
    assert child.exists() and Path(control_dir).is_dir()
    command.kill()
    command.wait()
    deadline = time.time() + 10
    while child.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert not child.exists() or ") Z " in (child / "stat").read_text()
    assert not Path(control_dir).exists()


def test_the_lab_lock_names_its_holder_and_goes_with_it(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "LOCK_DIR", tmp_path)
    monkeypatch.setattr(lock, "GRACE", 0.2)
    inventory = tmp_path / "lab.yml"
    inventory.write_text("all: {}\n")
    with lock.hold([inventory], "run-a") as token:
        # the playbook of that run passes its token: it may go on, without waiting out
        # the grace a stranger would wait
        with monkeypatch.context() as patched:
            patched.setattr(lock, "_try_lock", lambda *_: pytest.fail("waited for its own lock"))
            lock.claim_for_playbook([inventory], "run-a", token, os.getpid())
        with pytest.raises(lock.LabInUse, match=r"in use by run run-a \(process \d+"):
            lock.claim_for_playbook([inventory], "run-b", None, os.getpid())
        with pytest.raises(lock.LabInUse, match="in use by run run-a"), lock.hold([inventory], "c"):
            pass
    with lock.hold([str(inventory)], "run-d"):  # released: free again, whatever the spelling
        pass


def test_a_bare_playbook_s_lock_lives_exactly_as_long_as_the_playbook(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "LOCK_DIR", tmp_path)
    monkeypatch.setattr(lock, "GRACE", 0.2)
    inventory = tmp_path / "lab.yml"
    playbook = subprocess.Popen(["sleep", "60"])
    try:
        lock.claim_for_playbook([inventory], "run-a", None, playbook.pid)
        with pytest.raises(lock.LabInUse, match="in use by run run-a"), lock.hold([inventory], "b"):
            pass
    finally:
        playbook.kill()
        playbook.wait()
    monkeypatch.setattr(lock, "GRACE", 3.0)
    with lock.hold([inventory], "run-b"):
        pass
