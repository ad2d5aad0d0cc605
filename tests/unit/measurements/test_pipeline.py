"""Frames across the pipeline (collector/measurements/pipeline.py), on the parsers' own output.

The trio of tests/fixtures/pipeline/ describes the same 8 frames from the agent, the
server and the client (README.md there has the table the expectations below come from);
the fixtures of spice-logs/built/ and streaming_agent/ do not line up with each other and
must give no match at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.measurements import pipeline, remote_viewer, spice_server, streaming_agent
from collector.measurements.parsing import Rows
from collector.measurements.pipeline import FIELDS, join_frames, pipeline_table
from collector.store import open_database
from collector.store.experiment import Experiment
from collector.store.names import validate_field_name, validate_table_name

FIXTURES = Path(__file__).parents[2] / "fixtures"
FULL = "agent+server+client;size-order;mm_time+size"


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


def with_host(rows: Rows, host: str) -> list[dict]:
    """A parser's rows as ingest stores them: ``host`` first."""
    return [{"host": host, **row} for row in rows.as_dicts()]


def trio(
    agent: str = "pipeline/agent-frames.log",
    server: str = "pipeline/server-recorder.log",
    client: str = "pipeline/client-recorder.log",
) -> dict[str, list[dict]]:
    tables = {}
    if agent:
        rows = streaming_agent.parse(read(agent))["agent_frames"]
        tables["agent_frames"] = with_host(rows, "guest")
    if server:
        tables["spice_packets"] = with_host(
            spice_server.parse(read(server))["spice_packets"], "host"
        )
    if client:
        rows = remote_viewer.parse(read(client))["client_decode"]
        tables["client_decode"] = with_host(rows, "client")
    return tables


def check(rows: Rows, expected: list[tuple]) -> None:
    assert rows.fields == FIELDS
    assert len(rows.rows) == len(expected)
    for got, want in zip(rows.rows, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-6), f"frame {want[0]}"


# Straight from tests/fixtures/pipeline/: capture start and durations from the agent's
# stamps, the server's and the client's sampler prefixes, decoded time / 1000, and the
# latency client - agent in ms.
# frame, agent_time, agent_size, capture_ms, send_ms, server_time, server_size, mm_time,
# client_time, client_size, decoded_ms, queue, stage_lost, matched, latency_ms
TRIO = [
    (0, 1795851941.234596, 70906, 9.117, 1.898, 1795851941.246106, 70906, 2717827,
     1795851941.252309, 70906, 4.127, 1, None, FULL, 17.713),
    (1, 1795851941.267929, 59863, 9.482, 1.253, 1795851941.279027, 59863, 2717859,
     1795851941.285100, 59863, 3.981, 1, None, FULL, 17.171),
    (2, 1795851941.301262, 74209, 8.798, 1.077, None, None, None,
     None, None, None, None, "server", "agent", None),
    (3, 1795851941.334595, 81494, 9.592, 0.488, 1795851941.345034, 81494, 2717925,
     1795851941.352260, 81494, 5.102, 2, None, FULL, 17.665),
    (4, 1795851941.367928, 79481, 9.139, 1.984, 1795851941.379408, 79481, 2717960,
     1795851941.385308, 79481, 3.760, 1, None, FULL, 17.380),
    (5, 1795851941.401261, 69119, 9.734, 0.977, 1795851941.412361, 69119, 2717993,
     None, None, None, None, "client", "agent+server;size-order", None),
    (6, 1795851941.434594, 65321, 9.577, 1.092, 1795851941.445659, 65321, 2718026,
     1795851941.452241, 65321, 4.410, 1, None, FULL, 17.647),
    (7, 1795851941.467927, 63969, 9.688, 1.841, 1795851941.479829, 63969, 2718060,
     1795851941.485912, 63969, 3.895, 1, None, FULL, 17.985),
]  # fmt: skip


def test_trio_every_row():
    check(join_frames(trio()), TRIO)


def test_trio_losses_and_labels():
    rows = join_frames(trio()).as_dicts()
    lost = [None] * 8
    lost[2], lost[5] = "server", "client"
    assert [r["stage_lost"] for r in rows] == lost
    assert [r["matched"] for r in rows].count(FULL) == 6
    assert [r["agent_size"] for r in rows if r["stage_lost"] == "server"] == [74209]
    assert [r["server_size"] for r in rows if r["stage_lost"] == "client"] == [69119]


def test_server_and_client_only():
    expected = []
    for row in TRIO:
        server_time, client_time = row[5], row[8]
        if server_time is None:
            continue  # frame 2 never reached the server
        matched = "server" if client_time is None else "server+client;mm_time+size"
        latency = None if client_time is None else round((client_time - server_time) * 1000, 3)
        expected.append((len(expected), None, None, None, None, *row[5:13], matched, latency))
    check(join_frames(trio(agent="")), expected)
    # latency = client - server when there is no agent: 252309 - 246106 µs
    assert expected[0][-1] == pytest.approx(6.203)
    assert [r[12] for r in expected] == [None, None, None, None, "client", None, None]


def test_agent_and_server_only():
    rows = join_frames(trio(client="")).as_dicts()
    assert [r["agent_size"] for r in rows] == [row[2] for row in TRIO]
    assert [r["server_size"] for r in rows] == [row[6] for row in TRIO]
    # without a client trace nothing can be lost on the way to it
    assert [r["stage_lost"] for r in rows] == [None, None, "server"] + [None] * 5
    assert {r["matched"] for r in rows} == {"agent+server;size-order", "agent"}
    assert all(r["latency_ms"] is None and r["client_time"] is None for r in rows)


def test_agent_and_client_only():
    """No server trace: the agent's frames are aligned to the client's by size."""
    rows = join_frames(trio(server="")).as_dicts()
    pair = "agent+client;size-order"
    assert [r["matched"] for r in rows] == [pair, pair, "agent", pair, pair, "agent", pair, pair]
    lost = [None] * 8
    lost[2] = lost[5] = "client"  # frame 2 never reached the server, 5 was never sent
    assert [r["stage_lost"] for r in rows] == lost
    # mm_time comes from the client when the server did not log the frame
    assert [r["mm_time"] for r in rows] == [row[7] if row[8] else None for row in TRIO]
    assert [r["latency_ms"] for r in rows] == pytest.approx([row[14] for row in TRIO])


def _only(recorder: str) -> dict[str, list[dict]]:
    tables = trio()
    tables["spice_packets"] = [r for r in tables["spice_packets"] if r["recorder"] == recorder]
    return tables


def test_one_record_per_frame_from_the_two_recorders():
    packets = trio()["spice_packets"]
    assert len(packets) == 13  # 6 frames read and sent, 1 only read
    rows = join_frames(trio()).as_dicts()
    # the stream_device_data record stands for the frame: its time is the read
    assert [r["server_time"] for r in rows if r["server_time"]] == [
        p["time"] for p in packets if p["recorder"] == "stream_device_data"
    ]


def test_only_the_device_recorder_gives_the_same_frames():
    check(join_frames(_only("stream_device_data")), TRIO)


def test_only_the_channel_recorder():
    """Without the read records the server time is the send, and frame 5 never reached it."""
    sent = {
        r["size"]: r["time"]
        for r in trio()["spice_packets"]
        if r["recorder"] == "stream_channel_data"
    }
    rows = join_frames(_only("stream_channel_data")).as_dicts()
    lost = [None] * 8
    lost[2] = lost[5] = "server"
    assert [r["stage_lost"] for r in rows] == lost
    assert rows[5]["matched"] == "agent"
    assert rows[5]["server_time"] is None
    for r in rows:
        if r["server_size"] is not None:
            assert r["server_time"] == sent[r["server_size"]]
            assert r["matched"] == FULL


def test_client_trace_written_to_a_file_has_no_time():
    """The remote_viewer role's recorder.txt has no sampler prefix: no client time."""
    text = read("pipeline/client-recorder.log")
    plain = "\n".join(
        line.partition(" ")[2] if line[:1].isdigit() else line for line in text.split("\n")
    )
    tables = trio()
    rows = remote_viewer.parse(plain)["client_decode"]
    tables["client_decode"] = with_host(rows, "client")
    expected = [(*row[:8], None, *row[9:14], None) if row[8] else row for row in TRIO]
    check(join_frames(tables), expected)


def test_built_fixtures_do_not_line_up():
    """Made up on their own: no size or mm_time in common, so nothing is joined or lost."""
    tables = trio(
        agent="streaming_agent/frames.log",
        server="spice-logs/built/server-recorder.log",
        client="spice-logs/built/client-recorder.log",
    )
    assert len(tables["agent_frames"]) == 300
    assert len(tables["spice_packets"]) == 8
    assert len(tables["client_decode"]) == 4
    rows = join_frames(tables).as_dicts()
    assert len(rows) == 300 + 4 + 4
    assert [r["frame"] for r in rows] == list(range(308))
    assert all(r["stage_lost"] is None for r in rows)
    assert [r["matched"] for r in rows] == ["agent"] * 300 + ["server"] * 4 + ["client"] * 4
    assert [r["mm_time"] for r in rows[300:304]] == [2717827, 2717860, 2717893, 2717927]
    assert [r["server_size"] for r in rows[300:304]] == [34667, 35012, 33980, 61544]
    assert [r["mm_time"] for r in rows[304:]] == [1097186, 1097219, 1097253, 1097286]
    assert [r["decoded_ms"] for r in rows[304:]] == [4.127, 3.981, 5.102, 3.76]
    assert all(r["latency_ms"] is None for r in rows)
    # the server's and the client's traces have no sampler prefix here
    assert all(r["server_time"] is None and r["client_time"] is None for r in rows[300:])


def test_the_built_server_and_client_traces_line_up_once_keyed_alike():
    """The built client trace, given the built server's keys, matches frame by frame."""
    server = with_host(
        spice_server.parse(read("spice-logs/built/server-recorder.log"))["spice_packets"], "host"
    )
    client = with_host(
        remote_viewer.parse(read("spice-logs/built/client-recorder.log"))["client_decode"], "client"
    )
    sent = [p for p in server if p["recorder"] == "stream_channel_data"]
    for row, packet in zip(client, sent, strict=True):
        row["mm_time"], row["size"] = packet["mm_time"], packet["size"]
    rows = join_frames({"spice_packets": server, "client_decode": client}).as_dicts()
    assert [r["matched"] for r in rows] == ["server+client;mm_time+size"] * 4
    assert [r["queue"] for r in rows] == [1, 1, 2, 1]
    assert all(r["stage_lost"] is None for r in rows)


# ---------------------------------------------------------------- the rules on small tables


def agent_rows(*sizes: int, start: float = 100.0) -> list[dict]:
    return [
        {
            "host": "guest",
            "time": start + n / 30,
            "frame": n,
            "stream": 0,
            "size_bytes": size,
            "capture_ms": 9.0,
            "prepare_ms": 0.1,
            "send_ms": 1.0,
        }
        for n, size in enumerate(sizes)
    ]


def server_rows(*sizes: int, start: float = 100.01, mm: int = 5000) -> list[dict]:
    return [
        {
            "host": "host",
            "time": start + n / 30,
            "trace_time": None,
            "seq": None,
            "recorder": "stream_device_data",
            "size": size,
            "mm_time": mm + 33 * n,
        }
        for n, size in enumerate(sizes)
    ]


def client_rows(*keys: tuple[int, int], start: float = 100.02) -> list[dict]:
    return [
        {
            "host": "client",
            "time": start + n / 30,
            "trace_time": None,
            "seq": None,
            "mm_time": mm,
            "size": size,
            "creation_time": 0,
            "decoded_time": 4000,
            "queue": 0,
            "queue_before": 0,
        }
        for n, (mm, size) in enumerate(keys)
    ]


def column(rows: Rows, name: str) -> list:
    return [r[name] for r in rows.as_dicts()]


def test_edges_are_not_losses():
    """Frames before the first and after the last match may just be outside the other's log."""
    agent = agent_rows(1, 2, 3, 4, 5, 6)
    server = server_rows(2, 3, 5)  # logged 2..5 only; 4 lost in between
    rows = join_frames({"agent_frames": agent, "spice_packets": server})
    assert column(rows, "agent_size") == [1, 2, 3, 4, 5, 6]
    assert column(rows, "server_size") == [None, 2, 3, None, 5, None]
    assert column(rows, "stage_lost") == [None, None, None, "server", None, None]


def test_client_trace_ending_early_loses_nothing_after_it():
    server = server_rows(10, 11, 12, 13, 14)
    keys = [(r["mm_time"], r["size"]) for r in server]
    client = client_rows(keys[0], keys[2])  # 11 lost, 13 and 14 after the client's trace
    rows = join_frames({"spice_packets": server, "client_decode": client})
    assert column(rows, "client_size") == [10, None, 12, None, None]
    assert column(rows, "stage_lost") == [None, "client", None, None, None]
    assert column(rows, "matched") == [
        "server+client;mm_time+size",
        "server",
        "server+client;mm_time+size",
        "server",
        "server",
    ]


def test_client_rows_without_a_server_packet_stay_in_place():
    server = server_rows(9, 10, 11, 12)  # 9: before the client's trace began
    keys = [(r["mm_time"], r["size"]) for r in server]
    client = client_rows((1, 1), keys[1], (2, 2), keys[2], keys[3], (3, 3))
    rows = join_frames({"spice_packets": server, "client_decode": client})
    assert column(rows, "frame") == [0, 1, 2, 3, 4, 5, 6]
    assert column(rows, "server_size") == [9, None, 10, None, 11, 12, None]
    assert column(rows, "client_size") == [None, 1, 10, 2, 11, 12, 3]
    both = "server+client;mm_time+size"
    assert column(rows, "matched") == ["server", "client", both, "client", both, both, "client"]
    assert column(rows, "mm_time")[1] == 1  # the client's mm_time when the server has none
    assert column(rows, "stage_lost") == [None] * 7


def test_equal_keys_pair_first_to_first():
    """Two frames with the same mm_time and size: two frames on each side, in order."""
    server = server_rows(7, 7, mm=5000)
    for packet in server:
        packet["mm_time"] = 5000
    channel = [{**p, "recorder": "stream_channel_data", "time": p["time"] + 0.001} for p in server]
    packets = [server[0], channel[0], server[1], channel[1]]
    client = client_rows((5000, 7), (5000, 7))
    rows = join_frames({"spice_packets": packets, "client_decode": client})
    assert column(rows, "server_time") == [server[0]["time"], server[1]["time"]]
    assert column(rows, "client_time") == [client[0]["time"], client[1]["time"]]


def test_a_lost_frame_of_a_size_seen_later_is_not_matched_ahead():
    """The walk takes the shorter skip: the lost frame's size shows up again 3 packets on."""
    agent = agent_rows(1, 9, 2, 3, 9)
    server = server_rows(1, 2, 3, 9)  # the first 9 is lost
    rows = join_frames({"agent_frames": agent, "spice_packets": server})
    assert column(rows, "agent_size") == [1, 9, 2, 3, 9]
    assert column(rows, "server_size") == [1, None, 2, 3, 9]
    assert column(rows, "stage_lost") == [None, "server", None, None, None]


def test_server_packets_without_agent_frames():
    agent = agent_rows(1, 2, 3)
    server = server_rows(1, 8, 2, 3)
    rows = join_frames({"agent_frames": agent, "spice_packets": server})
    assert column(rows, "matched") == [
        "agent+server;size-order",
        "server",
        "agent+server;size-order",
        "agent+server;size-order",
    ]
    assert column(rows, "stage_lost") == [None] * 4


def test_beyond_the_lookahead_the_earlier_row_is_skipped():
    """The server's trace began long before the agent's log: its early packets are skipped."""
    agent = agent_rows(5, 6, 7, start=200.0)
    server = server_rows(1, 2, 3, 4, 5, 6, 7, start=199.0)
    rows = join_frames({"agent_frames": agent, "spice_packets": server}, lookahead=2)
    assert column(rows, "server_size") == [1, 2, 3, 4, 5, 6, 7]
    assert column(rows, "agent_size") == [None] * 4 + [5, 6, 7]
    # and the other way: the agent's log began long before the server's trace
    agent = agent_rows(1, 2, 3, 4, 5, 6, 7, start=199.0)
    server = server_rows(5, 6, 7, start=200.0)
    rows = join_frames({"agent_frames": agent, "spice_packets": server}, lookahead=2)
    assert column(rows, "agent_size") == [1, 2, 3, 4, 5, 6, 7]
    assert column(rows, "server_size") == [None] * 4 + [5, 6, 7]
    assert column(rows, "stage_lost") == [None] * 7
    with pytest.raises(ValueError, match="lookahead"):
        join_frames({"agent_frames": agent, "spice_packets": server}, lookahead=0)


def test_fewer_than_two_sides_give_nothing():
    assert join_frames({}).rows == []
    assert join_frames({"agent_frames": agent_rows(1, 2)}).rows == []
    # empty tables (a run without the recorder) and client_frames (no key) are no side
    tables = {
        "agent_frames": agent_rows(1, 2),
        "spice_packets": [],
        "client_decode": [],
        "client_frames": [{"host": "c", "time": 1.0, "channel": "display-2:0", "margin_ms": 400}],
    }
    assert pipeline.sides(tables) == ("agent",)
    assert join_frames(tables).rows == []


# ---------------------------------------------------------------- on an Experiment


def experiment_with(parsed: dict[str, tuple[str, Rows]]) -> Experiment:
    """Tables added the way ingest adds a parser's output: ``host`` first, even when empty."""
    experiment = Experiment("pipeline test")
    for name, (host, rows) in parsed.items():
        table = experiment.create_table(name, ("host", *rows.fields))
        table.add_many((host, *row) for row in rows.rows)
    return experiment


def trio_experiment() -> Experiment:
    server = spice_server.parse(read("pipeline/server-recorder.log"))
    client = remote_viewer.parse(read("pipeline/client-recorder.log"))
    agent = streaming_agent.parse(read("pipeline/agent-frames.log"))
    parsed = {name: ("host", rows) for name, rows in server.items()}
    parsed |= {name: ("client", rows) for name, rows in client.items()}
    parsed |= {name: ("guest", rows) for name, rows in agent.items()}
    return experiment_with(parsed)


def test_pipeline_table_on_an_experiment(tmp_path):
    experiment = trio_experiment()
    pipeline_table(experiment)
    table = experiment.tables["pipeline_frames"]
    assert table.fields == FIELDS
    assert dict(table.spec) == pipeline.FIELD_TYPES
    assert table.rows == join_frames(trio()).rows
    check(Rows(table.fields, table.rows), TRIO)
    # called again: the same table, not twice the rows
    pipeline_table(experiment)
    assert len(experiment.tables["pipeline_frames"].rows) == 8

    database = tmp_path / "bench.db"
    experiment.save(database)
    conn = open_database(database, create=False)
    try:
        saved = conn.execute(
            "SELECT frame, stage_lost, matched, latency_ms FROM pipeline_frames ORDER BY frame"
        ).fetchall()
    finally:
        conn.close()
    assert saved == [(r[0], r[12], r[13], pytest.approx(r[14]) if r[14] else None) for r in TRIO]


def test_real_lab_data_without_the_recorder_gets_no_table():
    """The recorded samples: Debian's spice and spice-gtk have no recorder, the lab no agent."""
    for folder in ("mjpeg-ball-640", "vp8-smpte-scroll-1024", "tbf-4mbit", "idle"):
        server = spice_server.parse(read(f"spice-logs/{folder}/server.log"))
        client = remote_viewer.parse(read(f"spice-logs/{folder}/client.log"))
        parsed = {name: ("host", rows) for name, rows in server.items()}
        parsed |= {name: ("client", rows) for name, rows in client.items()}
        experiment = experiment_with(parsed)
        assert "spice_packets" in experiment.tables and "client_decode" in experiment.tables
        pipeline_table(experiment)
        assert "pipeline_frames" not in experiment.tables
    # even with the agent's frames beside them: one side is not a pipeline
    agent = streaming_agent.parse(read("streaming_agent/frames.log"))
    parsed |= {name: ("guest", rows) for name, rows in agent.items()}
    experiment = experiment_with(parsed)
    pipeline_table(experiment)
    assert "pipeline_frames" not in experiment.tables


def test_names_are_valid_sql_identifiers():
    validate_table_name(pipeline.TABLE)
    for name in FIELDS:
        validate_field_name(name)
