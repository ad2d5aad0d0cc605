"""The in-memory Experiment API: what parsers and ingest rely on."""

from __future__ import annotations

import uuid

import pytest

from collector.store.experiment import Attachment, Experiment, Table
from collector.store.names import SQL_KEYWORDS, validate_field_name, validate_table_name


def test_defaults() -> None:
    exp = Experiment("baseline")
    assert uuid.UUID(exp.uuid).version == 4
    assert exp.description == "baseline"
    assert exp.status == "ok"
    assert exp.status_detail == ""
    assert exp.started_at is None and exp.ended_at is None and exp.sweep_id is None
    assert exp.tables == {} and exp.attachments == [] and exp.parameters == []


def test_each_experiment_gets_its_own_uuid() -> None:
    assert Experiment().uuid != Experiment().uuid


def test_given_uuid_is_kept_in_canonical_form() -> None:
    given = "1B4E28BA-2FA1-11D2-883F-0016D3CCA427"
    assert Experiment(uuid=given).uuid == given.lower()


def test_bad_uuid_is_refused() -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        Experiment(uuid="run-1")


def test_times_are_floats() -> None:
    exp = Experiment(started_at=100, ended_at=160.5)
    assert exp.started_at == 100.0 and isinstance(exp.started_at, float)
    with pytest.raises(ValueError, match="started_at"):
        Experiment(started_at="yesterday")  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["ok", "partial", "failed", "interrupted"])
def test_known_statuses(status: str) -> None:
    assert Experiment(status=status).status == status


@pytest.mark.parametrize("status", ["OK", "", "done", None])
def test_bad_status(status: object) -> None:
    with pytest.raises(ValueError, match="invalid status"):
        Experiment(status=status)  # type: ignore[arg-type]


def test_status_is_checked_when_changed() -> None:
    exp = Experiment()
    exp.status = "partial"
    assert exp.status == "partial"
    with pytest.raises(ValueError, match="invalid status"):
        exp.status = "broken"
    assert exp.status == "partial"


# --- tables --------------------------------------------------------------------------------


def test_add_rows() -> None:
    table = Experiment().create_table("frames", ["ts", ("size", "integer")])
    table.add(1.5, 100)
    table.add_many([(2.5, 200), [3.5, 300]])
    assert table.fields == ("ts", "size")
    assert table.types == (None, "integer")
    assert table.rows == [(1.5, 100), (2.5, 200), (3.5, 300)]
    assert len(table) == 3


def test_add_with_wrong_count_names_table_and_counts() -> None:
    table = Experiment().create_table("frames", ["ts", "size"])
    with pytest.raises(ValueError, match=r"'frames'.*3 values.*2 fields"):
        table.add(1, 2, 3)
    with pytest.raises(ValueError, match=r"'frames'.*1 values.*2 fields"):
        table.add(1)
    assert table.rows == []


def test_add_many_is_all_or_nothing() -> None:
    table = Experiment().create_table("frames", ["ts", "size"])
    with pytest.raises(ValueError, match=r"row 1 .*3 values.*2 fields"):
        table.add_many([(1, 2), (1, 2, 3), (4, 5)])
    assert table.rows == []


def test_add_many_accepts_a_generator() -> None:
    table = Table("cpu", ["a", "b"])
    table.add_many((i, i * 2) for i in range(5))
    assert table.rows[-1] == (4, 8)


def test_field_types_are_normalised() -> None:
    table = Table("cpu", [("a", "INTEGER"), ("b", "Real"), ("c", "text"), ("d", "blob")])
    assert table.types == ("integer", "real", "text", "blob")


@pytest.mark.parametrize(
    "fields",
    [
        [("a", "varchar")],
        [("a", None)],
        [("a", "integer", "extra")],
        [42],
        "ab",
        [],
    ],
)
def test_bad_field_lists(fields: object) -> None:
    with pytest.raises(ValueError, match="'cpu'"):
        Table("cpu", fields)  # type: ignore[arg-type]


def test_duplicate_field() -> None:
    with pytest.raises(ValueError, match="'a' is given twice"):
        Table("cpu", ["a", "b", "a"])


def test_create_table_twice_returns_the_same_table() -> None:
    exp = Experiment()
    first = exp.create_table("cpu", ["host", ("load", "real")])
    first.add("a", 1.0)
    again = exp.create_table("cpu", ["host", ("load", "real")])
    assert again is first
    assert again.rows == [("a", 1.0)]
    assert list(exp.tables) == ["cpu"]


@pytest.mark.parametrize(
    "fields",
    [["host"], ["host", "load", "extra"], ["host", "load"], ["load", ("host", "text")]],
)
def test_create_table_again_with_other_fields(fields: list) -> None:
    exp = Experiment()
    exp.create_table("cpu", ["host", ("load", "real")])
    with pytest.raises(ValueError, match="'cpu' already exists"):
        exp.create_table("cpu", fields)


INVALID_NAMES = [
    "",
    "x; DROP TABLE experiments",
    "x; drop table experiments; --",
    'a"b',
    "a'b",
    "Frames",
    "1st",
    "_private",
    "with space",
    "dash-name",
    "frames\n",
    "naïve",
    "a" * 64,
    "select",
    "table",
    "order",
    "group",
    "user",
    "window",
    None,
    3,
]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_table_names(name: object) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        Experiment().create_table(name, ["a"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [n for n in INVALID_NAMES if isinstance(n, str)])
def test_invalid_field_names(name: object) -> None:
    with pytest.raises(ValueError, match="invalid field name"):
        Experiment().create_table("frames", ["ok", name])  # type: ignore[list-item]


def test_error_message_names_the_bad_name() -> None:
    with pytest.raises(ValueError) as info:
        Experiment().create_table("x; DROP TABLE experiments", ["a"])
    assert "x; DROP TABLE experiments" in str(info.value)


@pytest.mark.parametrize(
    "name",
    ["experiments", "parameters", "attachments", "experiment_tables", "table_columns", "sqlite_x"],
)
def test_reserved_table_names(name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        validate_table_name(name)


@pytest.mark.parametrize("name", ["experiment_uuid", "rowid", "oid", "ctid", "xmin"])
def test_reserved_field_names(name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        validate_field_name(name)


@pytest.mark.parametrize("name", ["a", "frames", "cpu_load_1m", "x" * 63, "t2", "time", "host"])
def test_valid_names(name: str) -> None:
    assert validate_table_name(name) == name
    assert validate_field_name(name) == name


def test_sql_keywords_cover_sqlite_and_postgres() -> None:
    assert {"select", "abort", "without", "user", "lateral", "analyse"} <= SQL_KEYWORDS


# --- attachments ---------------------------------------------------------------------------


def test_attachment_from_str() -> None:
    exp = Experiment()
    exp.add_attachment("uname.txt", "Linux ü\n", host="vm1")
    (attachment,) = exp.attachments
    assert attachment == Attachment("uname.txt", "Linux ü\n".encode(), "vm1", "text/plain")


def test_attachment_from_bytes() -> None:
    exp = Experiment()
    exp.add_attachment("capture.bin", b"\x00\xff\x10")
    exp.add_attachment("log", b"plain words")
    assert exp.attachments[0].content == b"\x00\xff\x10"
    assert exp.attachments[0].media_type == "application/octet-stream"
    assert exp.attachments[0].host is None
    assert exp.attachments[1].media_type == "text/plain"


def test_invalid_utf8_is_binary() -> None:
    exp = Experiment()
    exp.add_attachment("data", b"\xff\xfe abc")
    assert exp.attachments[0].media_type == "application/octet-stream"


def test_json_attachment() -> None:
    exp = Experiment()
    exp.add_attachment("status.JSON", '{"rc": 0}')
    assert exp.attachments[0].media_type == "application/json"


def test_explicit_media_type_wins() -> None:
    exp = Experiment()
    exp.add_attachment("trace", b"abc", media_type="text/csv")
    assert exp.attachments[0].media_type == "text/csv"


def test_empty_host_means_no_host() -> None:
    exp = Experiment()
    exp.add_attachment("a", "x", host="")
    assert exp.attachments[0].host is None


def test_duplicate_attachment_is_refused() -> None:
    exp = Experiment()
    exp.add_attachment("uname", "a", host="vm1")
    exp.add_attachment("uname", "b", host="vm2")
    exp.add_attachment("uname", "c")
    with pytest.raises(ValueError, match="'uname' of host 'vm1' is already attached"):
        exp.add_attachment("uname", "d", host="vm1")
    assert len(exp.attachments) == 3


@pytest.mark.parametrize("content", [None, 12, ["a"]])
def test_attachment_content_type(content: object) -> None:
    with pytest.raises(ValueError, match="content must be bytes or str"):
        Experiment().add_attachment("a", content)  # type: ignore[arg-type]


def test_attachment_needs_a_name() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Experiment().add_attachment("", "x")


# --- parameters ----------------------------------------------------------------------------


def test_parameters() -> None:
    exp = Experiment()
    exp.set_parameter("test", "interval", 1.5)
    exp.set_parameter("test", "hosts", ["a", "b"])
    exp.set_parameter("system", "interval", None)
    exp.set_parameter("test", "interval", 2)
    assert exp.parameters == [
        ("test", "interval", 2),
        ("test", "hosts", ["a", "b"]),
        ("system", "interval", None),
    ]


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", float("nan")])
def test_parameter_must_be_json(value: object) -> None:
    exp = Experiment()
    with pytest.raises(ValueError, match=r"test\.x: value is not JSON-serialisable"):
        exp.set_parameter("test", "x", value)
    assert exp.parameters == []
