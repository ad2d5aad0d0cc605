"""A watchdog process: when a command that drives Ansible ends, however it ends, nothing
it started keeps running.

The command marks every process it starts through ansible-runner with
``COLLECTOR_PROCESS_MARK`` in their environment, and gives them an SSH control
directory of its own (``ANSIBLE_SSH_CONTROL_PATH_DIR``): a ControlPersist
master rewrites its command line over its environment, so it is known by its
socket's directory instead. At a normal exit the command ends them itself;
after SIGKILL a small reaper process, waiting on a pipe from the command,
does it. Samplers started on this machine carry the mark too and are left
alone: their own watchdogs end them at the window's end, and what they
measured is kept for ``collector recover``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MARK = "COLLECTOR_PROCESS_MARK"
GRACE = 2.0


@dataclass(frozen=True)
class Mark:
    token: str
    control_dir: str  # short: it prefixes every control socket's path (108 bytes at most)


_this: list[Mark] = []
_reapers: list[subprocess.Popen] = []  # held: the pipe must close only when this process ends


def mark() -> Mark:
    """This process's mark, with its reaper started on first use."""
    if not _this:
        control_dir = tempfile.mkdtemp(prefix="sbcp-")
        found = Mark(os.path.basename(control_dir), control_dir)
        reaper = subprocess.Popen(
            [sys.executable, "-m", "collector.running.reaper", found.token, control_dir],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # not in the terminal's group: Ctrl-C does not reach it
        )  # fmt: skip
        # A normal exit reaps at once, before the next command can find a control
        # master still open; the reaper process is for the exits nothing runs after.
        atexit.register(reap, found)
        _this.append(found)
        _reapers.append(reaper)
    return _this[0]


def environment(found: Mark) -> dict[str, str]:
    """What ansible-playbook is given so that the reaper finds what it starts."""
    return {MARK: found.token, "ANSIBLE_SSH_CONTROL_PATH_DIR": found.control_dir}


def marked(found: Mark) -> list[int]:
    """The ansible-playbook and SSH processes this command started."""
    wanted = f"{MARK}={found.token}".encode()
    master = f"ssh: {found.control_dir}/"
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if argv[0].startswith(master):
                pids.append(int(entry.name))
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and _ansible_or_ssh(argv):
            pids.append(int(entry.name))
    return pids


def _ansible_or_ssh(argv: list[str]) -> bool:
    if os.path.basename(argv[0]) == "ssh":
        return True
    return any("ansible" in os.path.basename(part) for part in argv[:2])


def reap(found: Mark) -> list[int]:
    """End every marked process (SIGTERM, then SIGKILL after a grace period)."""
    pids = marked(found)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and marked(found):
        time.sleep(0.1)
    for pid in marked(found):
        _signal(pid, signal.SIGKILL)
    shutil.rmtree(found.control_dir, ignore_errors=True)
    return pids


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, number)


def main(argv: list[str]) -> int:
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    found = Mark(argv[0], argv[1])
    sys.stdin.buffer.read()  # until the command that started it is gone
    reap(found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
