"""A watchdog process: when a command that drives Ansible ends, however it ends, nothing
it started keeps running.

The command starts it first, with a pipe on its stdin, and marks every process
it starts through ansible-runner with ``COLLECTOR_PROCESS_MARK`` in their
environment. When the pipe closes (the command exited, or was killed with
SIGKILL), the reaper ends every ``ansible-playbook`` process and every SSH
process (clients and ControlPersist masters) that carries the mark.
Samplers started on this machine carry it too and are left alone: their own
watchdogs end them at the window's end, and what they measured is kept for
``collector recover``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

MARK = "COLLECTOR_PROCESS_MARK"
GRACE = 2.0

_started: dict[str, subprocess.Popen] = {}


def mark() -> str:
    """This process's mark, with its reaper started on first use.

    A normal exit reaps at once, before the next command can find a control
    master still open; the reaper process is for the exits nothing runs after.
    """
    if not _started:
        token = uuid.uuid4().hex
        _started[token] = subprocess.Popen(
            [sys.executable, "-m", "collector.running.reaper", token],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # not in the terminal's group: Ctrl-C does not reach it
        )  # fmt: skip
        atexit.register(reap, token)
    return next(iter(_started))


def marked(token: str) -> list[int]:
    """The ansible-playbook and SSH processes that carry the mark."""
    wanted = f"{MARK}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if wanted in environ and _ansible_or_ssh(argv):
            found.append(int(entry.name))
    return found


def _ansible_or_ssh(argv: list[str]) -> bool:
    program = os.path.basename(argv[0]) if argv else ""
    # an SSH control master names itself "ssh: PATH [mux]"
    if program == "ssh" or argv[0].startswith("ssh:"):
        return True
    return any("ansible" in os.path.basename(part) for part in argv[:2])


def reap(token: str) -> list[int]:
    """End every marked process: SIGTERM, then SIGKILL after a grace period."""
    found = marked(token)
    for pid in found:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and marked(token):
        time.sleep(0.1)
    for pid in marked(token):
        _signal(pid, signal.SIGKILL)
    return found


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, number)


def main(argv: list[str]) -> int:
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    token = argv[0]
    sys.stdin.buffer.read()  # until the command that started it is gone
    reap(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
