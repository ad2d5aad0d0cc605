"""One run at a time on a lab: a lock per inventory.

Two runs on one lab would measure each other, so the second is refused with
a message naming the run that holds the lab. The lock is an ``flock`` on a
file named after the inventory: the kernel releases it when its holder ends,
however it ends, so a lock is never left behind. Its holder is the command's
own process (``collector run``, ``recover``), or, for a bare
``ansible-playbook``, a small process that holds it until that playbook ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from collector.errors import CollectorError

LOCK_DIR = Path(tempfile.gettempdir()) / "spice-bench-locks"
GRACE = 3.0


class LabInUse(CollectorError):
    """Another run holds the inventory."""


def lock_file(inventory: Iterable[str | Path]) -> Path:
    key = "\n".join(sorted(os.path.realpath(str(i)) for i in inventory))
    return LOCK_DIR / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.lock"


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _try_lock(fd: int, grace: float = GRACE) -> bool:
    """The lock, waiting a moment: a run that just ended may not have let go yet."""
    deadline = time.monotonic() + grace
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)


def _holder(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 65536) or b"{}")
    except (OSError, ValueError):
        return {}


def _write(fd: int, info: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(info).encode())


def _in_use(inventory: Iterable[str | Path], holder: dict[str, Any]) -> LabInUse:
    names = ", ".join(str(i) for i in inventory)
    since = time.strftime("%H:%M:%S", time.localtime(holder.get("since", 0)))
    return LabInUse(
        f"the lab of {names} is in use by run {holder.get('run_id', '(unknown)')} "
        f"(process {holder.get('pid', '?')}, since {since}): two runs would measure each "
        "other; wait for it to end, or end it"
    )


@contextmanager
def hold(inventory: Iterable[str | Path], run_id: str) -> Iterator[str]:
    """Hold the inventory's lock while the block runs; yields the token the playbook passes on."""
    inventory = list(inventory)
    fd = _open(lock_file(inventory))
    try:
        if not _try_lock(fd):
            raise _in_use(inventory, _holder(fd))
        token = uuid.uuid4().hex
        _write(fd, {"run_id": run_id, "pid": os.getpid(), "since": time.time(), "token": token})
        yield token
    finally:
        os.close(fd)  # releases the lock


def claim_for_playbook(
    inventory: Iterable[str | Path], run_id: str, token: str | None, playbook_pid: int
) -> None:
    """The plan step's check: the lab is free, or held for this very run.

    A bare ``ansible-playbook`` holds nothing itself: a holder process keeps
    the lock until ``playbook_pid`` ends.
    """
    inventory = list(inventory)
    fd = _open(lock_file(inventory))
    try:
        if token and _holder(fd).get("token") == token:
            return  # `collector run` holds it for this run: no need to wait for it
        if not _try_lock(fd):
            raise _in_use(inventory, _holder(fd))
        info = {"run_id": run_id, "pid": playbook_pid, "since": time.time(), "token": ""}
        _write(fd, info)
        subprocess.Popen(
            [sys.executable, "-m", "collector.running.lock", str(fd), str(playbook_pid)],
            pass_fds=[fd], start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        os.close(fd)


def _keep_until_gone(fd: int, pid: int) -> None:
    """The holder process: the lock lives in its copy of ``fd`` until ``pid`` ends."""
    try:
        watched = os.pidfd_open(pid)  # readable the moment the process ends
    except OSError:
        os.close(fd)
        return
    select.select([watched], [], [])
    os.close(fd)


if __name__ == "__main__":
    _keep_until_gone(int(sys.argv[1]), int(sys.argv[2]))
