"""Upload to a real PostgreSQL server that the tests start themselves.

Covers exactly-once under faults (a crash after the remote commit, a backend
killed mid-experiment, concurrent uploads), schema creation and upgrade, and
every error a user can meet, through the real CLI where it matters.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import uuid as uuidlib
from dataclasses import replace
from pathlib import Path

import psycopg2
import pytest
import yaml

from collector import store
from collector.store.experiment import Experiment
from collector.store.pgschema import SCHEMA_VERSION, ensure_schema
from collector.store.remote import DEFAULT_SCHEMA, RemoteError, RemoteSettings, connect
from collector.store.upload import upload
from tests.conftest import require
from tests.integration.helpers import ROOT, env
from tests.pgserver import PgServer, find_bindir

pytestmark = pytest.mark.integration

PASSWORD = "up-Secret-pw-2718"


@pytest.fixture(scope="module")
def server():
    require(find_bindir() is not None, "PostgreSQL server binaries (initdb) are not installed")
    pg = PgServer().start()
    pg.create_user("bench", PASSWORD)
    yield pg
    pg.stop()


@pytest.fixture
def remote_db(server):
    """A fresh database per test, owned by the bench user."""
    name = "t_" + uuidlib.uuid4().hex[:12]
    server.sql(f'CREATE DATABASE "{name}" OWNER bench')
    return name


def settings(server: PgServer, database: str, password: str | None = PASSWORD) -> RemoteSettings:
    return RemoteSettings(
        host=server.host, port=server.port, user="bench", database=database, password=password
    )


def remote_sql(server: PgServer, database: str, statement: str, params: tuple = ()) -> list:
    """A statement on this tool's tables: in their own schema."""
    return server.sql(statement, params, database=database, search_path=DEFAULT_SCHEMA)


def make_experiment(table_rows: int = 3, *, extra_field: bool = False) -> Experiment:
    e = Experiment("upload test", started_at=1795851939.097738, ended_at=1795851949.5)
    e.set_parameter("test", "interval", 1)
    e.set_parameter("run", "machine", ["guest", "host"])
    fields = ["host", "time", "cpu", "note"] + (["extra"] if extra_field else [])
    t = e.create_table("frames", fields)
    for i in range(table_rows):
        row = ["lab-host", 1795851939.097738 + i / 3, i, f"tab\there, line\nbreak \\ {i}"]
        t.add(*row, *([i * 10] if extra_field else []))
    t.add("lab-host", None, None, "", *([None] if extra_field else []))  # NULL versus ""
    blobs = e.create_table("blobs", [("host", "text"), ("data", "blob")])
    blobs.add("h", b"\x00\x01\xff")
    e.add_attachment("metadata.json", json.dumps({"kernel": "6.1"}), host="lab-host")
    e.add_attachment("raw/bytes", b"\x00\xffbinary")
    return e


def local_db(tmp_path: Path, *experiments: Experiment) -> Path:
    database = tmp_path / "bench.db"
    for e in experiments:
        e.save(database)
    return database


def config_file(tmp_path: Path, server: PgServer, database: str, *, password: bool = True) -> Path:
    remote = {"host": server.host, "port": server.port, "user": "bench", "database": database}
    path = tmp_path / "bench.yaml"
    path.write_text(
        yaml.safe_dump(
            {"measurements": ["test"], "databases": {"local": "bench.db", "remote": remote}}
        )
    )
    if password:
        (tmp_path / "secure.yaml").write_text(
            yaml.safe_dump({"databases": {"remote": {"password": PASSWORD}}})
        )
    return path


def cli(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collector", *args],
        cwd=ROOT, env={**env(), **(extra_env or {})}, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def count(server: PgServer, database: str, table: str, uuid: str | None = None) -> int:
    if uuid is None:
        return remote_sql(server, database, f'SELECT count(*) FROM "{table}"')[0][0]
    column = "uuid" if table == "experiments" else "experiment_uuid"
    return remote_sql(
        server, database, f'SELECT count(*) FROM "{table}" WHERE {column} = %s', (uuid,)
    )[0][0]


def test_first_upload_copies_everything_exactly(tmp_path, server, remote_db):
    e1, e2 = make_experiment(), make_experiment(5)
    database = local_db(tmp_path, e1, e2)
    config = config_file(tmp_path, server, remote_db)
    result = cli("upload", "-c", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "uploaded 2 experiment(s), 12 rows" in result.stdout
    assert f"[1/2] {e1.uuid}: frames: 4 rows" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert all(x["imported"] for x in store.list_experiments(database))
    assert count(server, remote_db, "experiments") == 2
    assert count(server, remote_db, "frames", e2.uuid) == 6
    rows = remote_sql(
        server, remote_db,
        "SELECT host, time, cpu, note FROM frames WHERE experiment_uuid = %s ORDER BY cpu",
        (e1.uuid,),
    )  # fmt: skip
    local_fields, local_rows = store.read_table(database, "frames", e1.uuid)
    assert local_fields == ["host", "time", "cpu", "note"]
    # exact floats, tabs, newlines, backslashes, NULL versus empty string
    assert sorted(rows, key=lambda r: (r[2] is None, r[2])) == sorted(
        local_rows, key=lambda r: (r[2] is None, r[2])
    )
    assert (
        remote_sql(server, remote_db, "SELECT data FROM blobs")[0][0].tobytes() == b"\x00\x01\xff"
    )
    params = remote_sql(
        server, remote_db,
        "SELECT measurement, name, value FROM parameters WHERE experiment_uuid = %s ORDER BY 1, 2",
        (e1.uuid,),
    )  # fmt: skip
    assert params == [("run", "machine", ["guest", "host"]), ("test", "interval", 1)]
    attachment = remote_sql(
        server, remote_db,
        "SELECT content, host FROM attachments WHERE experiment_uuid = %s AND name = 'raw/bytes'",
        (e1.uuid,),
    )  # fmt: skip
    assert attachment[0][0].tobytes() == b"\x00\xffbinary" and attachment[0][1] is None
    meta = remote_sql(
        server, remote_db,
        "SELECT status, started_at, uploaded_by, tool_version FROM experiments WHERE uuid = %s",
        (e1.uuid,),
    )[0]  # fmt: skip
    assert meta[0] == "ok" and meta[1] == 1795851939.097738 and "@" in meta[2] and meta[3]
    tables = remote_sql(
        server, remote_db,
        "SELECT table_name, row_count FROM experiment_tables WHERE experiment_uuid = %s "
        "ORDER BY 1",
        (e2.uuid,),
    )  # fmt: skip
    assert tables == [("blobs", 1), ("frames", 6)]


def test_second_upload_uploads_nothing(tmp_path, server, remote_db):
    local_db(tmp_path, make_experiment())
    config = config_file(tmp_path, server, remote_db)
    assert cli("upload", "-c", str(config)).returncode == 0
    again = cli("upload", "-c", str(config))
    assert again.returncode == 0
    assert "nothing to upload" in again.stdout
    assert count(server, remote_db, "experiments") == 1
    assert count(server, remote_db, "frames") == 4


def test_crash_after_the_remote_commit_is_not_copied_twice(tmp_path, server, remote_db):
    e = make_experiment()
    database = local_db(tmp_path, e)
    report = upload(database, settings(server, remote_db), progress=lambda m: None)
    assert report.uploaded == [e.uuid]
    # The crash: the remote committed, the local mark never happened.
    with store.open_database(database, create=False) as conn:
        conn.execute("UPDATE experiments SET imported = 0")
    again = upload(database, settings(server, remote_db), progress=lambda m: None)
    assert again.uploaded == [] and again.already_there == [e.uuid] and again.ok
    assert store.get_experiment(database, e.uuid)["imported"]
    assert count(server, remote_db, "frames") == 4
    assert count(server, remote_db, "parameters") == 2


def test_a_backend_killed_mid_experiment_leaves_nothing_and_the_next_upload_completes(
    tmp_path, server, remote_db
):
    e = make_experiment(50_000)
    database = local_db(tmp_path, e)
    killed = []

    def kill_on_first_table(message: str) -> None:
        if ": frames:" in message and not killed:
            killed.extend(
                remote_sql(
                    server, remote_db,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'spice-bench collector' AND pid <> pg_backend_pid()",
                )
            )  # fmt: skip

    report = upload(database, settings(server, remote_db), progress=kill_on_first_table)
    assert killed == [(True,)]
    assert not report.ok
    assert "connection lost while uploading" in report.failed[e.uuid]
    assert count(server, remote_db, "experiments") == 0
    assert count(server, remote_db, "frames") == 0
    assert not store.get_experiment(database, e.uuid)["imported"]
    again = upload(database, settings(server, remote_db), progress=lambda m: None)
    assert again.uploaded == [e.uuid] and again.ok
    assert count(server, remote_db, "frames", e.uuid) == 50_001


def test_a_failed_upload_exits_non_zero(tmp_path, server, remote_db):
    """Through the CLI: a value the remote refuses fails that experiment, exit 1."""
    good, bad = make_experiment(), make_experiment()
    bad.tables["frames"].add("x", 1.0, "not a number", "SQLite keeps it, PostgreSQL refuses")
    database = local_db(tmp_path, good, bad)
    config = config_file(tmp_path, server, remote_db)
    result = cli("upload", "-c", str(config))
    assert result.returncode == 1, result.stdout
    assert f"{bad.uuid}: failed" in result.stdout
    assert "1 failed" in result.stdout
    assert count(server, remote_db, "experiments", good.uuid) == 1
    assert count(server, remote_db, "experiments", bad.uuid) == 0
    assert not store.get_experiment(database, bad.uuid)["imported"]


@pytest.mark.parametrize("same_file", [True, False], ids=["same-file", "two-copies"])
def test_concurrent_uploads_create_no_duplicates(tmp_path, server, remote_db, same_file):
    experiments = [make_experiment(20_000) for _ in range(4)]
    first = local_db(tmp_path / "a", *experiments)
    config_a = config_file(tmp_path / "a", server, remote_db)
    if same_file:
        config_b = config_a
    else:
        (tmp_path / "b").mkdir()
        shutil.copy(first, tmp_path / "b" / "bench.db")
        config_b = config_file(tmp_path / "b", server, remote_db)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "collector", "upload", "-c", str(c)],
            cwd=ROOT,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for c in (config_a, config_b)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert count(server, remote_db, "experiments") == 4
    assert count(server, remote_db, "frames") == 4 * 20_001
    for config in {config_a, config_b}:
        assert all(x["imported"] for x in store.list_experiments(config.parent / "bench.db"))


def test_schema_from_scratch_and_upgrade_from_an_older_tool(tmp_path, server, remote_db):
    # an older tool created its tables in the database's public schema
    conn = connect(replace(settings(server, remote_db), schema="public"))
    try:
        assert ensure_schema(conn, schema="public", upto=1) == (None, 1)
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO experiments (uuid, status, created_at) VALUES (%s, 'ok', 1.0)",
                (str(uuidlib.uuid4()),),
            )
        conn.commit()
    finally:
        conn.close()
    old = make_experiment()
    database = local_db(tmp_path, old)
    messages: list[str] = []
    assert upload(database, settings(server, remote_db), progress=messages.append).ok
    assert f"remote: schema 1 -> schema {SCHEMA_VERSION}" in messages
    assert remote_sql(server, remote_db, "SELECT version FROM collector_schema") == [
        (SCHEMA_VERSION,)
    ]
    assert count(server, remote_db, "experiments") == 2  # the old row is intact
    # moved into the tool's own schema: nothing of it is left in public
    left = server.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        database=remote_db,
    )
    assert left == [(0,)]
    # A measurement table that gained a column since the last upload gets it.
    newer = make_experiment(extra_field=True)
    newer.save(database)
    assert upload(database, settings(server, remote_db), progress=messages.append).ok
    assert "remote: added column frames.extra" in messages
    extras = remote_sql(
        server, remote_db,
        "SELECT experiment_uuid::text, count(extra) FROM frames GROUP BY 1 ORDER BY 2",
    )  # fmt: skip
    assert extras == [(old.uuid, 0), (newer.uuid, 3)]


def test_one_experiment_and_dry_run(tmp_path, server, remote_db):
    a, b = make_experiment(), make_experiment()
    database = local_db(tmp_path, a, b)
    config = config_file(tmp_path, server, remote_db)
    dry = cli("upload", "-c", str(config), "--dry-run")
    assert dry.returncode == 0
    assert f"would upload {a.uuid}" in dry.stdout and f"would upload {b.uuid}" in dry.stdout
    assert count(server, remote_db, "experiments") if _has_schema(server, remote_db) else True
    one = cli("upload", "-c", str(config), "--experiment", b.uuid[:8])
    assert one.returncode == 0, one.stdout + one.stderr
    assert count(server, remote_db, "experiments") == 1
    assert count(server, remote_db, "experiments", b.uuid) == 1
    assert not store.get_experiment(database, a.uuid)["imported"]
    listed = cli("list", "-c", str(config), "--remote")
    assert b.uuid in listed.stdout and a.uuid not in listed.stdout
    as_json = json.loads(cli("list", "-c", str(config), "--db", "postgresql", "--json").stdout)
    assert [x["uuid"] for x in as_json] == [b.uuid]


def _has_schema(server: PgServer, database: str) -> bool:
    return bool(remote_sql(server, database, "SELECT to_regclass('experiments') IS NOT NULL")[0][0])


def test_libpq_password_sources(tmp_path, server, remote_db):
    local_db(tmp_path, make_experiment())
    config = config_file(tmp_path, server, remote_db, password=False)
    by_env = cli("list", "-c", str(config), "--remote", extra_env={"PGPASSWORD": PASSWORD})
    assert by_env.returncode == 0, by_env.stderr
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{server.host}:{server.port}:{remote_db}:bench:{PASSWORD}\n")
    pgpass.chmod(0o600)
    by_file = cli("upload", "-c", str(config), extra_env={"PGPASSFILE": str(pgpass)})
    assert by_file.returncode == 0, by_file.stdout + by_file.stderr
    assert count(server, remote_db, "experiments") == 1


def test_wrong_password_is_one_line_without_the_password(tmp_path, server, remote_db):
    local_db(tmp_path, make_experiment())
    config = config_file(tmp_path, server, remote_db)
    (tmp_path / "secure.yaml").write_text("databases:\n  remote:\n    password: Wrong-pw-31415\n")
    result = cli("upload", "-c", str(config))
    assert result.returncode == 2
    assert "PostgreSQL refused the password" in result.stderr
    assert "Wrong-pw-31415" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def _not_postgres_server() -> tuple[int, threading.Event]:
    """A loopback TCP server that answers like a web server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    done = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            client.recv(1024)
            client.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            client.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_error_messages(tmp_path, server, remote_db):
    local_db(tmp_path, make_experiment())

    def error_for(**remote_changes) -> str:
        config = config_file(tmp_path, server, remote_db)
        data = yaml.safe_load(config.read_text())
        data["databases"]["remote"].update(remote_changes)
        config.write_text(yaml.safe_dump(data))
        result = cli("upload", "-c", str(config))
        assert result.returncode == 2, result.stdout
        assert "Traceback" not in result.stderr
        assert PASSWORD not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr

    assert "cannot reach the server" in error_for(port=_free_port())
    assert "that database does not exist" in error_for(database="no_such_db")
    port, done = _not_postgres_server()
    try:
        assert "does not speak PostgreSQL's protocol" in error_for(port=port)
    finally:
        done.set()
    bad_type = error_for(type="mysql")
    assert "databases.remote.type" in bad_type


def test_local_problems_and_missing_remote_section(tmp_path, server, remote_db):
    config = config_file(tmp_path, server, remote_db)
    missing = cli("upload", "-c", str(config))
    assert missing.returncode == 2 and f"no database at {tmp_path / 'bench.db'}" in missing.stderr
    (tmp_path / "bench.db").write_text("not a database at all\n" * 10)
    foreign = cli("upload", "-c", str(config))
    assert foreign.returncode == 2 and "is not a database of this tool" in foreign.stderr
    (tmp_path / "bench.db").unlink()
    local_db(tmp_path, make_experiment())
    (tmp_path / "secure.yaml").unlink()
    no_remote = tmp_path / "local-only.yaml"
    no_remote.write_text("measurements: [test]\ndatabases:\n  local: bench.db\n")
    result = cli("upload", "-c", str(no_remote))
    assert result.returncode == 2
    assert "local-only.yaml: no databases.remote section" in result.stderr


def test_remote_error_carries_no_password(server, remote_db):
    with pytest.raises(RemoteError) as caught:
        connect(settings(server, remote_db, password="Not-the-right-one-99"))
    assert "Not-the-right-one-99" not in str(caught.value)
    with pytest.raises(psycopg2.Error):
        psycopg2.connect(host=server.host, port=server.port, user="bench", password="x",
                         dbname=remote_db)  # fmt: skip


def test_pandas_access_to_the_shared_database(tmp_path, server, remote_db):
    from collector.results.analysis import open_results

    e = make_experiment()
    # tables the summaries read, one with a NULL, which must stay out of the mean
    frames = e.create_table("client_frames", ["host", "time", "time_of_day", "channel",
                                              "margin_ms"])  # fmt: skip
    frames.add_many([("c", 1795851940.0 + i / 30, None, "1", None if i == 2 else 100.0 + i)
                     for i in range(60)])  # fmt: skip
    e.create_table("system", ["host", "time", "cpu_busy"]).add_many(
        [("h", 1795851940.0 + i, 10.0 * i) for i in range(4)]
    )
    database = local_db(tmp_path, e)
    assert upload(database, settings(server, remote_db), progress=lambda m: None).ok
    remote = open_results(settings(server, remote_db))
    local = open_results(database)
    assert list(remote.experiments()["uuid"]) == [e.uuid]
    assert remote.experiments()["test.interval"].iloc[0] == 1
    assert sorted(remote.table("frames", [e.uuid])["cpu"].dropna()) == sorted(
        local.table("frames", [e.uuid])["cpu"].dropna()
    )
    figures = remote.summaries([e.uuid])
    assert figures.to_dict("records") == local.summaries([e.uuid]).to_dict("records")
    assert figures["client_frames.c/1.fps"].iloc[0] == 30.0
    assert figures["client_frames.c/1.margin_mean_ms"].iloc[0] == round(
        (sum(100.0 + i for i in range(60)) - 102.0) / 59, 2
    )
    assert figures["system.h.cpu_busy_mean_pct"].iloc[0] == 15.0


def sweep_experiments() -> list[Experiment]:
    """Two points of a sweep, two runs each, with tables that have figures."""
    out = []
    for point, (rate, cpu) in enumerate((("0", 10.0), ("300kbit", 40.0))):
        for repetition in (1, 2):
            start = 1795851939.0 + 100 * (2 * point + repetition)
            e = Experiment(f"rate {rate} #{repetition}", started_at=start, ended_at=start + 4,
                           sweep_id="sweep-0123abcd")  # fmt: skip
            e.set_parameter("sweep", "measurements/network_conditions/rate", rate)
            e.set_parameter("sweep", "repetition", repetition)
            e.set_parameter("sweep", "key", f"k{point}{repetition}")
            e.set_parameter("network_conditions", "rate", rate)
            e.create_table("system", ["host", "time", "cpu_busy"]).add_many(
                [("h", start + i, cpu + repetition + i) for i in range(4)]
            )
            e.create_table("client_frames", ["host", "time", "channel", "margin_ms"]).add_many(
                [("c", start + i / (30 - 10 * point), "1", 50.0 + i % 3) for i in range(60)]
            )
            out.append(e)
    return out


def test_reports_and_compare_read_the_shared_database_as_the_local_one(tmp_path, server, remote_db):
    experiments = sweep_experiments()
    local = tmp_path / "bench.db"
    for e in experiments:
        e.save(local)
    config = config_file(tmp_path, server, remote_db)
    assert cli("upload", "-c", str(config)).returncode == 0
    a, b = experiments[0].uuid, experiments[2].uuid

    def both(*args: str) -> list[str]:
        """stdout of the command on the local database, then on the shared one."""
        outs = []
        for where in ("local", "remote"):
            result = cli(*args, "-c", str(config), *(["--remote"] if where == "remote" else []))
            assert result.returncode == 0, (where, result.stderr)
            outs.append(result.stdout)
        return outs

    local_json, remote_json = both("compare", a[:8], b[:8], "--json")
    assert json.loads(local_json) == json.loads(remote_json)
    metrics = {m["metric"]: m for m in json.loads(remote_json)["metrics"]}
    cpu = metrics["system.h.cpu_busy_mean_pct"]
    assert (cpu["mean_a"], cpu["mean_b"], cpu["verdict"]) == (13.0, 43.0, "real")
    assert metrics["client_frames.c/1.fps"]["mean_b"] == 20.0

    # the same pages, plots included, byte for byte
    for name, args in (("sweep", ("report", "--sweep", "0123")), ("one", ("report", a[:8]))):
        pages = []
        for where in ("local", "remote"):
            out = tmp_path / where / name
            flag = ["--remote"] if where == "remote" else []
            result = cli(*args, "-c", str(config), "-o", str(out), *flag)
            assert result.returncode == 0, (where, result.stderr)
            pages.append((out / "report.html").read_text())
        assert pages[0] == pages[1]
        assert "data-value" in pages[0] and "data:image/png" in pages[0]


OLD_TOOL_TABLES = """
CREATE TABLE experiments (id serial PRIMARY KEY, time timestamp DEFAULT now(), description text,
    "FPS" integer, width integer, height integer, "GOP" integer, bitrate integer,
    num_ref_frames integer, uuid text, imported integer DEFAULT 0);
CREATE TABLE attachments (id_experiment integer, name text, content bytea);
CREATE TABLE frames (id_experiment integer, agent_time double precision, size integer,
    mm_time integer, capture_duration double precision, encode_duration double precision,
    send_duration double precision, client_time double precision,
    decode_duration double precision, queue_size integer);
CREATE TABLE host_stats (id_experiment integer, time double precision, cpu_usage double precision);
"""


def test_a_database_with_the_old_script_s_tables(tmp_path, server, remote_db):
    """Its tables stay as they are; ours live beside them; its results can be imported."""
    for statement in filter(str.strip, OLD_TOOL_TABLES.split(";")):
        server.sql(statement, database=remote_db)
    server.sql("ALTER TABLE experiments OWNER TO bench", database=remote_db)
    server.sql(
        'INSERT INTO experiments (time, description, "FPS", bitrate, uuid) VALUES '
        "('2019-04-11 16:26:40', 'old h264', 30, 8000000, '0b7c0a52-2d4c-4a57-8a3e-2f5d1c9e8b61')",
        database=remote_db,
    )
    for n in range(30):
        server.sql(
            "INSERT INTO frames VALUES (1, %s, 1000, %s, 0.004, 0.01, 0.001, %s, 0.003, 1)",
            (1555000000.0 + n / 30, n * 33, 1555000000.05 + n / 30),
            database=remote_db,
        )
    server.sql("INSERT INTO attachments VALUES (1, 'log', 'hello')", database=remote_db)
    for table in ("attachments", "frames", "host_stats"):
        server.sql(f"ALTER TABLE {table} OWNER TO bench", database=remote_db)
    before = server.sql("SELECT * FROM experiments ORDER BY id", database=remote_db)

    new = make_experiment()
    database = local_db(tmp_path, new)
    assert upload(database, settings(server, remote_db)).ok
    # ours in their own schema, the old ones untouched
    assert count(server, remote_db, "experiments", new.uuid) == 1
    assert server.sql("SELECT * FROM experiments ORDER BY id", database=remote_db) == before
    assert server.sql("SELECT count(*) FROM frames", database=remote_db) == [(30,)]

    config = config_file(tmp_path, server, remote_db)
    imported = cli("import-legacy", "--remote", "-c", str(config))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "imported 1 experiment(s) from" in imported.stdout
    old = store.get_experiment(tmp_path / "bench.db", "0b7c0a52")
    assert old["description"] == "old h264" and old["tables"] == {"legacy_frames": 30}
    assert old["started_at"] == 1555000000.0
    assert store.read_attachment(tmp_path / "bench.db", old["uuid"], "log") == b"hello"
    again = cli("import-legacy", "--remote", "-c", str(config))
    assert "imported 0 experiment(s)" in again.stdout and "1 already there" in again.stdout
    # and it uploads like any other, next to the old tables
    assert upload(database, settings(server, remote_db)).ok
    assert count(server, remote_db, "legacy_frames", old["uuid"]) == 30
    assert server.sql("SELECT * FROM experiments ORDER BY id", database=remote_db) == before
    assert PASSWORD not in imported.stdout + imported.stderr


def test_the_schema_is_configurable(tmp_path, server, remote_db):
    database = local_db(tmp_path, make_experiment())
    other = replace(settings(server, remote_db), schema="team_bench")
    assert upload(database, other).ok
    assert server.sql(
        "SELECT count(*) FROM experiments", database=remote_db, search_path="team_bench"
    ) == [(1,)]
    assert not server.sql(
        "SELECT to_regclass('spice_bench.experiments') IS NOT NULL", database=remote_db
    )[0][0]
