"""A throwaway PostgreSQL server for tests and benchmarks.

Started in a temporary directory on a free loopback port with password
authentication, stopped by its own pid. As root, the server runs as the
`postgres` system user (initdb refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

SUPERUSER_PASSWORD = "pg-admin-Secret-1"


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _version_key(path: str) -> int:
    try:
        return int(path.split("/")[4])
    except (IndexError, ValueError):
        return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb) not found")
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="collector-pg-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.pid: int | None = None
        self._as_postgres = os.geteuid() == 0

    def _run(self, *argv: str) -> None:
        command = list(argv)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {result.stdout}{result.stderr}")

    def start(self) -> PgServer:
        self.data.mkdir()
        pwfile = self.base / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            for path in (self.data, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "-A", "scram-sha-256", f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        pwfile.unlink()
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
            "-l", str(self.data / "server.log"),
            "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                  "-c fsync=off -c full_page_writes=off",
            "start",
        )  # fmt: skip
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def admin(self, database: str = "postgres"):
        conn = psycopg2.connect(
            host=self.host, port=self.port, user="postgres", password=SUPERUSER_PASSWORD,
            dbname=database, connect_timeout=10,
        )  # fmt: skip
        conn.autocommit = True
        return conn

    def create_user(self, user: str, password: str, database: str | None = None) -> None:
        self.sql(f'CREATE ROLE "{user}" LOGIN PASSWORD %s', (password,))
        if database:
            self.sql(f'CREATE DATABASE "{database}" OWNER "{user}"')

    def sql(
        self,
        statement: str,
        params: tuple = (),
        database: str = "postgres",
        search_path: str | None = None,
    ) -> list[tuple]:
        """Run one statement as the superuser (autocommit); rows if it returns any."""
        conn = self.admin(database)
        try:
            with conn.cursor() as cur:
                if search_path is not None:
                    cur.execute(f"SET search_path TO {search_path}")
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def stop(self) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)  # fast shutdown
        deadline = time.time() + 30
        while time.time() < deadline and _running(self.pid):
            time.sleep(0.1)
        if _running(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None
        shutil.rmtree(self.base, ignore_errors=True)


def _running(pid: int) -> bool:
    """Alive and not a zombie (nobody may reap it in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
