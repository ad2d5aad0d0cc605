#!/usr/bin/env python3
"""Upload speed against `psql \\copy`, on a throwaway PostgreSQL server.

Builds a local experiment with one table of N sample rows (default one
million, shaped like the `system` table: host, time and a dozen numbers),
uploads it with `collector.upload`, then loads the very same rows with
`psql \\copy` from a file into a twin table (same columns and index) of the
same server. Prints both
rates and their ratio (the aim: at least 0.5).

    python bench/upload.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collector.store import sqlite  # noqa: E402
from collector.store.copytext import copy_lines  # noqa: E402
from collector.store.experiment import Experiment  # noqa: E402
from collector.store.remote import RemoteSettings  # noqa: E402
from collector.store.upload import upload  # noqa: E402
from tests.pgserver import PgServer  # noqa: E402

PASSWORD = "bench-upload-pw"
FIELDS = ["host", "time", "cpu_busy", "cpu_user", "cpu_system", "cpu_idle", "mem_used_kb",
          "load1", "context_switches_per_s", "interrupts_per_s", "procs_running"]  # fmt: skip


def build(database: Path, rows: int) -> Experiment:
    rng = random.Random(42)
    e = Experiment("upload benchmark", started_at=1.8e9, ended_at=1.8e9 + rows)
    table = e.create_table("samples", FIELDS)
    table.add_many(
        (
            "lab-host", 1.8e9 + i * 0.016667, rng.random() * 100, rng.random() * 50,
            rng.random() * 20, rng.random() * 100, rng.randrange(1 << 24), rng.random() * 4,
            rng.random() * 5000, rng.random() * 3000, rng.randrange(8),
        )
        for i in range(rows)
    )  # fmt: skip
    e.save(database)
    return e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    server = PgServer().start()
    try:
        server.create_user("bench", PASSWORD, "bench")
        with tempfile.TemporaryDirectory() as tmp:
            database = Path(tmp) / "bench.db"
            t = time.perf_counter()
            e = build(database, args.rows)
            print(
                f"local experiment with {args.rows:,} rows built in {time.perf_counter() - t:.1f} s"
            )

            settings = RemoteSettings(host=server.host, port=server.port, user="bench",
                                      database="bench", password=PASSWORD)  # fmt: skip
            report = upload(database, settings, progress=lambda m: None)
            assert report.ok and report.uploaded == [e.uuid], report
            ours = report.rows / report.seconds

            # The same rows, uuid column included, as a file psql reads.
            copy_file = Path(tmp) / "rows.copy"
            with sqlite.connection(database, create=False) as local, copy_file.open("w") as f:
                for chunk in copy_lines(local, "samples", e.uuid, list(FIELDS), lead=e.uuid + "\t"):
                    f.write(chunk)
            # the twin beside the tool's table, in the tool's own schema
            ours_only = {"database": "bench", "search_path": settings.schema}
            server.sql("CREATE TABLE samples_copy (LIKE samples INCLUDING ALL)", **ours_only)
            server.sql("ALTER TABLE samples_copy OWNER TO bench", **ours_only)
            columns = ", ".join(["experiment_uuid", *FIELDS])
            command = [
                "psql", "-X", "-q", "-h", server.host, "-p", str(server.port), "-U", "bench",
                "-d", "bench", "-v", "ON_ERROR_STOP=1",
                "-c", f"\\copy {settings.schema}.samples_copy ({columns}) FROM '{copy_file}'",
            ]  # fmt: skip
            t = time.perf_counter()
            subprocess.run(command, check=True, env={**os.environ, "PGPASSWORD": PASSWORD})
            psql_seconds = time.perf_counter() - t
            copied = server.sql("SELECT count(*) FROM samples_copy", **ours_only)[0][0]
            assert copied == args.rows
            theirs = copied / psql_seconds
    finally:
        server.stop()
    print(f"collector upload: {report.rows:,} rows in {report.seconds:.2f} s = {ours:,.0f} rows/s "
          "(reading SQLite, experiment, parameters, attachments, COPY)")  # fmt: skip
    print(f"psql \\copy:       {copied:,} rows in {psql_seconds:.2f} s = {theirs:,.0f} rows/s "
          "(from a ready file)")  # fmt: skip
    print(f"ratio upload / \\copy: {ours / theirs:.2f} (aim: >= 0.5)")


if __name__ == "__main__":
    main()
