"""SQLite persistence: schema, round trips, atomicity and the read API."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from collector.errors import StoreError, StoreLocked
from collector.store import (
    get_experiment,
    list_experiments,
    mark_imported,
    open_database,
    read_attachment,
    read_table,
    save_experiment,
    sqlite,
    writer,
)
from collector.store.experiment import Experiment
from collector.store.sqlite import APPLICATION_ID, FIXED_TABLES, SCHEMA_VERSION
from tests.conftest import hold_write_lock

UUID_A = "aaaa1111-0000-4000-8000-000000000001"
UUID_B = "aaaa2222-0000-4000-8000-000000000002"
UUID_C = "bbbb1111-0000-4000-8000-000000000003"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    # A directory that does not exist yet: saving must create it.
    return tmp_path / "results" / "local.db"


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, to look at the file behind the store's back."""
    return sqlite3.connect(path)


def all_rows_of(path: Path, uuid: str) -> dict[str, int]:
    """How many rows mention the experiment, per table of the file."""
    conn = raw(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {}
        for name in names:
            column = "uuid" if name == "experiments" else "experiment_uuid"
            if name == "table_columns":
                continue
            (counts[name],) = conn.execute(
                f'SELECT COUNT(*) FROM "{name}" WHERE "{column}" = ?', (uuid,)
            ).fetchone()
        return counts
    finally:
        conn.close()


def first_experiment() -> Experiment:
    exp = Experiment(
        "h264 at 1080p",
        uuid=UUID_A,
        status="partial",
        status_detail="vm2: sampler timed out",
        started_at=1000.0,
        ended_at=1060.5,
        sweep_id="sweep-1",
    )
    frames = exp.create_table("frames", ["ts", "size", "codec"])
    frames.add_many([(0.5, 1200, "h264"), (1.0, 900, "h264")])
    exp.set_parameter("test", "interval", 0.5)
    exp.set_parameter("test", "hosts", ["vm1", "vm2"])
    exp.add_attachment("uname", "Linux vm1\n", host="vm1")
    exp.add_attachment("plan.json", '{"a": 1}')
    return exp


def second_experiment() -> Experiment:
    exp = Experiment("vp8", uuid=UUID_B, started_at=500.0, ended_at=530.0)
    # Same table, a field dropped and one added.
    frames = exp.create_table("frames", ["ts", "size", ("fps", "real")])
    frames.add(0.25, 800, 30)
    cpu = exp.create_table("cpu", ["host", "load"])
    cpu.add_many([("vm1", 0.5), ("vm2", 1.25)])
    exp.create_table("empty", ["a"])
    return exp


# --- schema --------------------------------------------------------------------------------


def test_new_database_gets_the_schema(db: Path) -> None:
    open_database(db, create=True).close()
    conn = raw(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(FIXED_TABLES) <= tables
    columns = [r[1] for r in conn.execute("PRAGMA table_info(experiments)")]
    assert columns == [
        "uuid",
        "description",
        "status",
        "status_detail",
        "started_at",
        "ended_at",
        "sweep_id",
        "created_at",
        "imported",
    ]
    conn.close()


def test_reopening_keeps_the_database(db: Path) -> None:
    save_experiment(db, first_experiment())
    open_database(db, create=True).close()
    open_database(db, create=False).close()
    assert [e["uuid"] for e in list_experiments(db)] == [UUID_A]


def test_missing_database_without_create(db: Path) -> None:
    with pytest.raises(StoreError, match=r"^no database at .*local\.db$"):
        open_database(db, create=False)
    with pytest.raises(StoreError, match="no database at"):
        list_experiments(db)
    assert not db.exists()


def test_empty_file_becomes_a_database(db: Path) -> None:
    db.parent.mkdir()
    db.touch()
    save_experiment(db, first_experiment())
    assert len(list_experiments(db)) == 1


def test_foreign_sqlite_database_is_refused_and_left_alone(db: Path) -> None:
    db.parent.mkdir()
    conn = raw(db)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="is not a database of this tool") as info:
        open_database(db, create=True)
    assert "\n" not in str(info.value) and str(db) in str(info.value)
    with pytest.raises(StoreError, match="is not a database of this tool"):
        save_experiment(db, first_experiment())
    conn = raw(db)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["contacts"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_other_application_id_is_refused(db: Path) -> None:
    db.parent.mkdir()
    conn = raw(db)
    conn.execute("PRAGMA application_id = 12345")
    conn.close()
    with pytest.raises(StoreError, match="is not a database of this tool"):
        open_database(db, create=True)


@pytest.mark.parametrize(
    "content", [b"hello, I am a text file\n" * 50, b"x", b"SQLite format 2\x00" + b"\x00" * 200]
)
def test_non_sqlite_file_is_refused(db: Path, content: bytes) -> None:
    db.parent.mkdir()
    db.write_bytes(content)
    with pytest.raises(StoreError, match=r"local\.db is not a database of this tool"):
        open_database(db, create=True)
    with pytest.raises(StoreError, match="is not a database of this tool"):
        get_experiment(db, UUID_A)
    assert db.read_bytes() == content


def test_corrupt_database_past_the_header_is_refused(db: Path) -> None:
    db.parent.mkdir()
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(StoreError, match="is not a database of this tool"):
        open_database(db, create=True)


def test_newer_schema_is_refused(db: Path) -> None:
    open_database(db, create=True).close()
    conn = raw(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer version of this tool"):
        open_database(db, create=False)
    with pytest.raises(StoreError, match="newer version"):
        save_experiment(db, first_experiment())


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_database(tmp_path, create=True)


def test_fixed_tables_are_reserved_names() -> None:
    from collector.store.names import RESERVED_TABLE_NAMES

    assert set(FIXED_TABLES) == RESERVED_TABLE_NAMES


# --- round trip ----------------------------------------------------------------------------


def test_round_trip_of_several_experiments(db: Path) -> None:
    save_experiment(db, first_experiment())
    second_experiment().save(db)

    listed = list_experiments(db)
    # Ordered by start time, not by saving order.
    assert [e["uuid"] for e in listed] == [UUID_B, UUID_A]
    a = listed[1]
    assert a["description"] == "h264 at 1080p"
    assert a["status"] == "partial"
    assert a["started_at"] == 1000.0 and a["ended_at"] == 1060.5
    assert a["duration"] == 60.5
    assert a["imported"] is False
    assert a["sweep_id"] == "sweep-1"
    assert a["table_count"] == 1
    assert listed[0]["table_count"] == 3

    shown = get_experiment(db, UUID_A)
    assert shown["uuid"] == UUID_A
    assert shown["status_detail"] == "vm2: sampler timed out"
    # in name order, as on the shared database, which keeps no insertion order
    assert shown["parameters"] == [
        {"measurement": "test", "name": "hosts", "value": ["vm1", "vm2"]},
        {"measurement": "test", "name": "interval", "value": 0.5},
    ]
    assert shown["tables"] == {"frames": 2}
    assert shown["attachments"] == [
        {"name": "plan.json", "host": None, "media_type": "application/json", "size": 8},
        {"name": "uname", "host": "vm1", "media_type": "text/plain", "size": 10},
    ]
    assert isinstance(shown["created_at"], float)
    assert get_experiment(db, UUID_B)["tables"] == {"frames": 1, "cpu": 2, "empty": 0}

    columns, rows = read_table(db, "frames", UUID_A)
    assert columns == ["ts", "size", "codec", "fps"]
    assert rows == [(0.5, 1200, "h264", None), (1.0, 900, "h264", None)]
    columns, rows = read_table(db, "frames", UUID_B)
    assert rows == [(0.25, 800, None, 30.0)]
    assert read_table(db, "cpu", UUID_B) == (["host", "load"], [("vm1", 0.5), ("vm2", 1.25)])
    assert read_table(db, "cpu", UUID_A) == (["host", "load"], [])
    assert read_table(db, "empty", UUID_B) == (["a"], [])

    assert read_attachment(db, UUID_A, "uname", "vm1") == b"Linux vm1\n"
    assert read_attachment(db, UUID_A, "plan.json") == b'{"a": 1}'


def test_experiment_without_anything(db: Path) -> None:
    exp = Experiment()
    save_experiment(db, exp)
    shown = get_experiment(db, exp.uuid)
    assert shown["tables"] == {} and shown["attachments"] == [] and shown["parameters"] == []
    assert shown["duration"] is None
    assert list_experiments(db)[0]["table_count"] == 0


def test_index_on_experiment_uuid(db: Path) -> None:
    save_experiment(db, first_experiment())
    # A table named like another table's index must still be possible.
    exp = Experiment()
    exp.create_table("frames_experiment_uuid", ["a"]).add(1)
    exp.create_table("idx_frames", ["a"]).add(1)
    save_experiment(db, exp)
    conn = raw(db)
    indexed = [
        conn.execute(f'PRAGMA index_info("{r[1]}")').fetchall()
        for r in conn.execute("PRAGMA index_list(frames)")
    ]
    assert [[col[2] for col in info] for info in indexed] == [["experiment_uuid"]]
    conn.close()


def column_types(path: Path, table: str) -> dict[str, str]:
    conn = raw(path)
    try:
        return {r[1]: r[2] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    finally:
        conn.close()


def registry(path: Path, table: str) -> list[tuple[Any, ...]]:
    conn = raw(path)
    try:
        return conn.execute(
            "SELECT column_name, column_type, position FROM table_columns "
            "WHERE table_name = ? ORDER BY position",
            (table,),
        ).fetchall()
    finally:
        conn.close()


def test_column_types(db: Path) -> None:
    exp = Experiment(uuid=UUID_A)
    table = exp.create_table(
        "kinds",
        ["i", "f", "mixed", "flag", "s", "b", "unset", ("declared", "text"), "number_text"],
    )
    table.add(1, 1.5, 1, True, "x", b"\x00", None, 5, 1)
    table.add(None, 2.0, 2.5, False, None, b"\x01", None, 6, "one")
    table.add(3, None, 3, None, "z", None, None, 7, 2.5)
    save_experiment(db, exp)

    assert column_types(db, "kinds") == {
        "experiment_uuid": "TEXT",
        "i": "INTEGER",
        "f": "REAL",
        "mixed": "REAL",
        "flag": "INTEGER",
        "s": "TEXT",
        "b": "BLOB",
        "unset": "",
        "declared": "TEXT",
        "number_text": "",
    }
    assert registry(db, "kinds") == [
        ("i", "integer", 1),
        ("f", "real", 2),
        ("mixed", "real", 3),
        ("flag", "integer", 4),
        ("s", "text", 5),
        ("b", "blob", 6),
        ("unset", None, 7),
        ("declared", "text", 8),
        ("number_text", None, 9),
    ]
    _, rows = read_table(db, "kinds", UUID_A)
    assert rows == [
        (1, 1.5, 1.0, 1, "x", b"\x00", None, "5", 1),
        (None, 2.0, 2.5, 0, None, b"\x01", None, "6", "one"),
        (3, None, 3.0, None, "z", None, None, "7", 2.5),
    ]
    # Ints mixed with floats must come back as floats, not be truncated.
    assert all(isinstance(row[2], float) for row in rows)


def test_later_experiments_keep_existing_column_types(db: Path) -> None:
    first = Experiment(uuid=UUID_A)
    first.create_table("t", ["ratio", "blank", "count"]).add(0.5, None, 1)
    save_experiment(db, first)

    second = Experiment(uuid=UUID_B)
    # ratio now ints (fine in REAL), count declared text (conflict: old type kept),
    # blank gets ints (untyped column keeps them as they are), extra is new.
    table = second.create_table("t", ["ratio", "blank", ("count", "text"), ("extra", "blob")])
    table.add(2, 7, 3, b"e")
    save_experiment(db, second)

    assert column_types(db, "t") == {
        "experiment_uuid": "TEXT",
        "ratio": "REAL",
        "blank": "",
        "count": "INTEGER",
        "extra": "BLOB",
    }
    assert registry(db, "t") == [
        ("ratio", "real", 1),
        ("blank", None, 2),
        ("count", "integer", 3),
        ("extra", "blob", 4),
    ]
    assert read_table(db, "t", UUID_B)[1] == [(2.0, 7, 3, b"e")]
    assert read_table(db, "t", UUID_A)[1] == [(0.5, None, 1, None)]


def test_duplicate_uuid_is_refused(db: Path) -> None:
    save_experiment(db, first_experiment())
    before = all_rows_of(db, UUID_A)
    again = Experiment("impostor", uuid=UUID_A)
    again.create_table("frames", ["ts", "size", "codec"]).add(9.0, 9, "x")
    with pytest.raises(StoreError, match=f"experiment {UUID_A} is already in .*never overwritten"):
        save_experiment(db, again)
    assert all_rows_of(db, UUID_A) == before
    assert get_experiment(db, UUID_A)["description"] == "h264 at 1080p"


# --- atomicity -----------------------------------------------------------------------------


def test_bad_value_in_last_table_leaves_nothing(db: Path) -> None:
    save_experiment(db, second_experiment())
    exp = first_experiment()
    exp.create_table("cpu", ["host", "load"]).add("vm1", 0.25)
    # New table, undeclared types: refused while inferring.
    exp.create_table("broken", ["a"]).add_many([(1,), ({"not": "storable"},)])
    with pytest.raises(StoreError, match="table broken, field a: values of type dict"):
        save_experiment(db, exp)
    assert set(all_rows_of(db, UUID_A).values()) == {0}
    assert column_types(db, "broken") == {} and registry(db, "broken") == []
    # The experiment saved earlier is untouched.
    assert get_experiment(db, UUID_B)["tables"] == {"frames": 1, "cpu": 2, "empty": 0}
    assert [c for c, _, _ in registry(db, "frames")] == ["ts", "size", "fps"]


def test_bad_value_in_existing_column_leaves_nothing(db: Path) -> None:
    save_experiment(db, second_experiment())
    exp = first_experiment()
    # Existing column: no inference, SQLite itself refuses the value.
    exp.create_table("cpu", ["host", "load"]).add_many([("vm1", 0.25), ("vm2", [1, 2])])
    with pytest.raises(StoreError, match="table cpu"):
        save_experiment(db, exp)
    assert set(all_rows_of(db, UUID_A).values()) == {0}
    # frames got its codec column inside the rolled-back transaction.
    assert "codec" not in column_types(db, "frames")


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_halfway_rolls_back(
    db: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    save_experiment(db, first_experiment())
    real_insert = writer._insert_rows
    calls = []

    def failing_insert(conn: sqlite3.Connection, uuid: str, table: Any) -> None:
        calls.append(table.name)
        if len(calls) == 3:
            raise error
        real_insert(conn, uuid, table)

    monkeypatch.setattr(writer, "_insert_rows", failing_insert)
    with pytest.raises(type(error)):
        save_experiment(db, second_experiment())
    assert calls == ["frames", "cpu", "empty"]
    assert set(all_rows_of(db, UUID_B).values()) == {0}
    assert column_types(db, "cpu") == {}
    monkeypatch.undo()
    # The database is usable afterwards, and the same experiment saves fine.
    save_experiment(db, second_experiment())
    assert len(list_experiments(db)) == 2


def test_unsupported_value_never_reaches_sql_text(db: Path) -> None:
    exp = Experiment(uuid=UUID_A)
    exp.create_table("t", ["a"]).add("x'); DROP TABLE experiments; --")
    save_experiment(db, exp)
    assert read_table(db, "t", UUID_A)[1] == [("x'); DROP TABLE experiments; --",)]
    assert len(list_experiments(db)) == 1


# --- lookups -------------------------------------------------------------------------------


@pytest.fixture
def three(db: Path) -> Path:
    for uuid, start in ((UUID_A, 3.0), (UUID_B, 1.0), (UUID_C, None)):
        save_experiment(db, Experiment(uuid=uuid, started_at=start))
    return db


def test_list_order_puts_unknown_start_last(three: Path) -> None:
    assert [e["uuid"] for e in list_experiments(three)] == [UUID_B, UUID_A, UUID_C]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (UUID_A, UUID_A),
        ("aaaa1", UUID_A),
        ("aaaa2222", UUID_B),
        ("bbbb", UUID_C),
        ("BBBB", UUID_C),
        (UUID_C.upper(), UUID_C),
    ],
)
def test_prefix_lookup(three: Path, given: str, expected: str) -> None:
    assert get_experiment(three, given)["uuid"] == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("aaaa", f"ambiguous: {UUID_A}, {UUID_B}"),
        ("bbb", "too short"),
        ("cccc", "no experiment 'cccc'"),
        ("", "no experiment ''"),
        ("aaaa%", "no experiment 'aaaa%'"),
        ("aaaa_", "no experiment 'aaaa_'"),
        ("' OR 1=1 --", "no experiment"),
    ],
)
def test_bad_lookups(three: Path, given: str, message: str) -> None:
    with pytest.raises(StoreError, match=re.escape(message)) as info:
        get_experiment(three, given)
    assert "\n" not in str(info.value)


def test_read_table_accepts_a_prefix(db: Path) -> None:
    save_experiment(db, first_experiment())
    assert len(read_table(db, "frames", "aaaa1")[1]) == 2


@pytest.mark.parametrize("table", ["nosuch", "experiments", "x; DROP TABLE experiments", "Frames"])
def test_read_unknown_table(db: Path, table: str) -> None:
    save_experiment(db, first_experiment())
    with pytest.raises(StoreError, match="no measurement table"):
        read_table(db, table, UUID_A)
    assert len(list_experiments(db)) == 1


def test_read_attachment_by_host(db: Path) -> None:
    exp = Experiment(uuid=UUID_A)
    exp.add_attachment("uname", "one", host="vm1")
    exp.add_attachment("uname", "two", host="vm2")
    exp.add_attachment("only", b"\x00", host="vm2")
    exp.add_attachment("both", "controller")
    exp.add_attachment("both", "vm", host="vm1")
    save_experiment(db, exp)
    assert read_attachment(db, UUID_A, "uname", host="vm2") == b"two"
    assert read_attachment(db, UUID_A, "only") == b"\x00"
    assert read_attachment(db, UUID_A, "both") == b"controller"
    assert read_attachment(db, UUID_A, "both", "vm1") == b"vm"
    with pytest.raises(StoreError, match=r"several hosts \(vm1, vm2\)"):
        read_attachment(db, UUID_A, "uname")
    with pytest.raises(StoreError, match="no attachment 'uname' of host 'vm3'"):
        read_attachment(db, UUID_A, "uname", "vm3")
    with pytest.raises(StoreError, match="no attachment 'nope'"):
        read_attachment(db, UUID_A, "nope")


def test_mark_imported(three: Path) -> None:
    assert mark_imported(three, [UUID_A, UUID_C, UUID_A]) == 2
    imported = {e["uuid"]: e["imported"] for e in list_experiments(three)}
    assert imported == {UUID_A: True, UUID_B: False, UUID_C: True}
    assert get_experiment(three, UUID_A)["imported"] is True
    assert mark_imported(three, []) == 0


def test_mark_imported_is_all_or_nothing(three: Path) -> None:
    with pytest.raises(StoreError, match="no experiment 'aaaa2'"):
        mark_imported(three, [UUID_A, "aaaa2"])
    assert not any(e["imported"] for e in list_experiments(three))
    with pytest.raises(TypeError):
        mark_imported(three, UUID_A)


# --- concurrency and size ------------------------------------------------------------------


def test_reader_does_not_block_writer(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT", 1.0)
    save_experiment(db, first_experiment())
    reader = open_database(db, create=False)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM experiments").fetchone() == (1,)
        save_experiment(db, second_experiment())
        # The reader's snapshot is stable; a new reader sees both.
        assert reader.execute("SELECT COUNT(*) FROM experiments").fetchone() == (1,)
        assert len(list_experiments(db)) == 2
    finally:
        reader.close()


def test_writer_waits_for_writer_then_reports(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT", 0.1)
    open_database(db, create=True).close()
    writer = open_database(db, create=False)
    try:
        writer.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match=r"cannot write .*locked"):
            save_experiment(db, first_experiment())
    finally:
        writer.close()
    save_experiment(db, first_experiment())


def test_a_save_waits_for_a_held_write_lock_and_says_so(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "LOCK_NOTICE", 0.5)
    save_experiment(db, first_experiment())
    holder = hold_write_lock(db, 3)
    said: list[str] = []
    began = time.monotonic()
    save_experiment(db, second_experiment(), wait=30, progress=said.append)
    assert time.monotonic() - began >= 2  # it waited for the holder
    assert holder.wait(timeout=10) == 0
    assert {e["uuid"] for e in list_experiments(db)} == {UUID_A, UUID_B}
    assert said and all("waiting for the write lock on" in line for line in said)


def test_a_save_that_never_gets_the_lock_changes_nothing(db: Path) -> None:
    save_experiment(db, first_experiment())
    holder = hold_write_lock(db, 6)
    try:
        with pytest.raises(StoreLocked, match=r"held the write lock on .* for \d+ s"):
            save_experiment(db, second_experiment(), wait=1)
    finally:
        holder.wait(timeout=15)
    assert [e["uuid"] for e in list_experiments(db)] == [UUID_A]


def test_replace_swaps_an_experiment_in_one_transaction(db: Path) -> None:
    save_experiment(db, first_experiment())
    again = first_experiment()
    again.status = "ok"
    again.create_table("recovered", ["time", "value"]).add(1.0, 2)
    with pytest.raises(StoreError, match="never overwritten"):
        save_experiment(db, again)
    save_experiment(db, again, replace=True)
    shown = get_experiment(db, UUID_A)
    assert shown["status"] == "ok"
    assert shown["tables"] == {"frames": 2, "recovered": 1}
    assert len(read_table(db, "frames", UUID_A)[1]) == 2  # not doubled
    mark_imported(db, [UUID_A])
    with pytest.raises(StoreError, match="uploaded already"):
        save_experiment(db, again, replace=True)


def test_million_rows(db: Path) -> None:
    exp = Experiment(uuid=UUID_A)
    table = exp.create_table("frames", ["ts", "size", "codec"])
    count = 1_000_000
    table.add_many((i * 0.001, i, "h264") for i in range(count))
    save_experiment(db, exp)
    assert get_experiment(db, UUID_A)["tables"] == {"frames": count}
    conn = raw(db)
    assert conn.execute(
        "SELECT COUNT(*), MAX(size) FROM frames WHERE experiment_uuid = ?", (UUID_A,)
    ).fetchone() == (count, count - 1)
    conn.close()
