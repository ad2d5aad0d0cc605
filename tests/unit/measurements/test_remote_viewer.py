"""The ``remote_viewer`` measurement: spice-gtk's debug log and recorder traces, real lab logs."""

from __future__ import annotations

import pytest

from collector.measurements import registry, remote_viewer, spice_server
from collector.store.names import validate_field_name, validate_table_name
from tests.unit.measurements.spice_logs import LOGS, SAMPLES, read, tod

# folder: (video margin lines, sum of margins, first and last time of day)
FRAMES = {
    "mjpeg-ball-640": (301, 122918, "07:04:29.148", "07:04:39.149"),
    "mjpeg-smpte-scroll-1024": (285, 115647, "07:04:57.839", "07:05:07.840"),
    "vp8-smpte-scroll-1024": (195, 67964, "07:06:01.544", "07:06:16.583"),
    "tbf-4mbit": (33, 10374, "07:12:35.390", "07:12:38.992"),
    "idle": (0, 0, None, None),
}


@pytest.mark.parametrize("folder", SAMPLES)
def test_client_frames_of_every_sample(folder):
    count, margin_sum, first, last = FRAMES[folder]
    rows = remote_viewer.parse(read(f"{folder}/client.log"))["client_frames"].as_dicts()
    assert len(rows) == count
    assert sum(r["margin_ms"] for r in rows) == margin_sum
    if count:
        mean = sum(r["margin_ms"] for r in rows) / len(rows)
        assert mean == pytest.approx(margin_sum / count)
        assert rows[0]["time_of_day"] == pytest.approx(tod(first), abs=1e-6)
        assert rows[-1]["time_of_day"] == pytest.approx(tod(last), abs=1e-6)
        assert {r["channel"] for r in rows} == {"display-2:0"}
        assert all(r["time"] is None for r in rows)


def test_mean_margins():
    # mean of the "video margin" values, awk '{s+=$NF; n++} END {print s/n}'
    means = {}
    for folder in SAMPLES[:4]:
        rows = remote_viewer.parse(read(f"{folder}/client.log"))["client_frames"].rows
        means[folder] = round(sum(r[3] for r in rows) / len(rows), 6)
    assert means == {
        "mjpeg-ball-640": 408.365449,
        "mjpeg-smpte-scroll-1024": 405.778947,
        "vp8-smpte-scroll-1024": 348.533333,
        "tbf-4mbit": 314.363636,
    }


def test_idle_sample_has_no_rows():
    for tables in (
        spice_server.parse(read("idle/server.log")),
        remote_viewer.parse(read("idle/client.log")),
    ):
        assert all(not table.rows for table in tables.values())


def test_late_frames_of_the_capped_link():
    tables = remote_viewer.parse(read("tbf-4mbit/client.log"))
    rows = tables["client_late_frames"].as_dicts()
    assert len(rows) == 77  # grep -c 'too late'
    assert sum(r["late_ms"] for r in rows) == 68201
    # every one is followed by "dropping a late MJPEG frame" (77 of them)
    assert sum(r["dropped"] for r in rows) == 77
    # stream data too late by 1494 ms (ts: 1095692, mmtime: 1097186)
    assert rows[0] == {
        "time": None, "time_of_day": tod("07:12:29.054"), "channel": "display-2:0",
        "late_ms": 1494, "ts": 1095692, "mm_time": 1097186, "dropped": 1,
    }  # fmt: skip
    assert rows[-1]["late_ms"] == 13
    # the MJPEG decoder's drops are the client's drops in the window, as they happened
    drops = tables["client_drops"].as_dicts()
    assert len(drops) == 77 and {d["reason"] for d in drops} == {"late_frame"}
    assert {d["decoder"] for d in drops} == {"mjpeg"} and sum(d["count"] for d in drops) == 77
    assert drops[0]["time_of_day"] == tod("07:12:29.054")
    for folder in SAMPLES[:3]:
        assert remote_viewer.parse(read(f"{folder}/client.log"))["client_late_frames"].rows == []


def test_dropped_only_when_the_drop_follows_its_own_late_frame():
    head = "(remote-viewer:1): GSpice-DEBUG: 07:00:00.000: ../src/"
    late = head + "channel-display.c:1677 display-2:0: stream data too late by {} ms"
    late += " (ts: 1, mmtime: 2)\n"
    drop = head + "channel-display-mjpeg.c:242 dropping a late MJPEG frame\n"
    margin = head + "channel-display.c:1693 display-2:0: video margin: 5\n"
    text = (
        drop  # its frame is before the window
        + late.format(10)  # not dropped (the GStreamer decoder keeps late frames)
        + margin
        + drop  # about nothing: the previous frame was in time
        + late.format(20)
        + head + "spice-session.c:2648 spice_session_sync_playback_latency: not implemented\n"
        + drop
        + late.format(30)  # the window ends before its drop
    )  # fmt: skip
    rows = remote_viewer.parse(text)["client_late_frames"].as_dicts()
    assert [(r["late_ms"], r["dropped"]) for r in rows] == [(10, 0), (20, 1), (30, 0)]


def test_timestamp_prefix_of_the_sampler_runner():
    """Every line prefixed the way sampler_runner.py does: b"%.6f " % time.time()."""
    reports = (spice_server.parse, "spice_client_reports", "client report")
    for name, parse, table, marker in (
        ("tbf-4mbit/server.log", *reports),
        ("tbf-4mbit/client.log", remote_viewer.parse, "client_frames", "video margin"),
        ("vp8-smpte-scroll-1024/server.log", *reports),
    ):
        text = read(name)
        lines = text.split("\n")[:-1]
        stamps = [1795851939.097738 + i * 0.001 for i in range(len(lines))]
        prefixed = "".join(f"{t:.6f} {line}\n" for t, line in zip(stamps, lines, strict=True))
        plain = parse(text)[table]
        stamped = parse(prefixed)[table]
        expected = [
            float(f"{t:.6f}") for t, line in zip(stamps, lines, strict=True) if marker in line
        ]
        assert [r[0] for r in stamped.rows] == expected
        # everything but the time is what the unprefixed log gives
        assert [r[1:] for r in stamped.rows] == [r[1:] for r in plain.rows]


def test_universal_newlines_give_the_same_rows():
    # Path.read_text() turns the driver's "\r" into line ends: nothing changes
    for folder in SAMPLES:
        for name, parse in (
            ("server.log", spice_server.parse),
            ("client.log", remote_viewer.parse),
        ):
            raw = read(f"{folder}/{name}")
            translated = (LOGS / folder / name).read_text()
            assert "\r" not in translated
            assert parse(translated) == parse(raw)


def test_client_skips_garbage_and_cut_lines():
    margin = (
        "(remote-viewer:17815): GSpice-DEBUG: 07:04:29.148: ../src/channel-display.c:1693 "
        "display-2:0: video margin: 409"
    )
    text = (
        margin[25:] + "\n"  # cut inside its GLib prefix: the head and message are whole
        + margin[60:] + "\n"  # cut inside the file name
        + margin + "\n"
        + margin.replace("409", "5, set to 0 since there is no playback") + "\n"
        + margin.replace("409", "4x9") + "\n"
        + "video margin: 12\n"  # no GLib header
        + "(remote-viewer:17815): GSpice-WARNING **: 07:04:29.150: ../src/channel-display.c:1693 "
        "display-2:0: video margin: -3\n"
        + margin.replace("video margin", "video latency") + "\n"  # spice-gtk before 0.36
        + margin.replace("409", "") + "\n"  # cut before its number
        + margin  # a last line without its newline (a pasted excerpt) is read
    )  # fmt: skip
    rows = remote_viewer.parse(text)["client_frames"].rows
    assert [r[3] for r in rows] == [409, 409, -3, 409, 409]
    assert remote_viewer.parse(text.replace("\n", "\r\n")) == remote_viewer.parse(text)
    assert remote_viewer.parse(text.replace("\n", "\r")) == remote_viewer.parse(text)
    assert all(not t.rows for t in remote_viewer.parse("\x00\n\r\n").values())


def test_client_recorder_fixture():
    rows = remote_viewer.parse(read("built/client-recorder.log"))["client_decode"].as_dicts()
    assert len(rows) == 4
    # [219 3.071407] frames_stats frame mm_time 1097253 size 9544 creation time 5312939702
    #   decoded time 5102 queue 2 before 1
    assert rows[2] == {
        "time": None, "trace_time": 3.071407, "seq": 219, "mm_time": 1097253, "size": 9544,
        "creation_time": 5312939702, "decoded_time": 5102, "queue": 2, "queue_before": 1,
        "keyframe": None,
    }  # fmt: skip
    assert [r["mm_time"] for r in rows] == [1097186, 1097219, 1097253, 1097286]
    text = (
        "1795851939.500000 [5 0.5] frames_stats frame mm_time 1 size 2 creation time 3 "
        "decoded time 4 queue 5 before 6\n"
        "[6 0.6] frames_stats: frame mm_time 1 size 2 creation time 3 decoded time 4 queue 5 "
        "before 6\n"
        "[7 0.7] frames_stats frame mm_time 1 size 2 creation time 3 decoded time 4 queue 5 "
        "bef\n"
        # 0.37: no "before"
        "[8 0.8] frames_stats frame mm_time 1 size 2 creation time 3 decoded time 4 queue 5\n"
        # patched builds (SPICE's streaming studies, 2019-2020): a trailing keyframe flag
        "[9 0.9] frames_stats frame mm_time 1 size 2 creation time 3 decoded time 4 queue 5 "
        "before 6 keyframe 1\n"
        # a recorder counting from the epoch, and recorder 1.1's indent
        "[10 1554119595.056377] (1)  frames_stats: frame mm_time 1 size 2 creation time 3 "
        "decoded time 4 queue 5 before 6\n"
    )
    parsed = remote_viewer.parse(text)
    assert parsed["client_decode"].rows == [
        (1795851939.5, 0.5, 5, 1, 2, 3, 4, 5, 6, None),
        (None, 0.6, 6, 1, 2, 3, 4, 5, 6, None),
        (None, 0.8, 8, 1, 2, 3, 4, 5, None, None),
        (None, 0.9, 9, 1, 2, 3, 4, 5, 6, 1),
        (1554119595.056377, None, 10, 1, 2, 3, 4, 5, 6, None),
    ]
    assert (parsed.lines.recognised, parsed.lines.unparsed) == (5, 1)


def test_client_stream_summary_fixture():
    tables = remote_viewer.parse(read("built/client-stream-summary.log"))
    assert tables["client_stream_summary"].as_dicts() == [
        {
            "time": None, "time_of_day": tod("07:12:39.121"), "channel": "display-2:0",
            "stream_id": 0, "in_frames": 110, "out_in": 0.3, "drops_on_receive": 77,
            "avg_late_time_ms": 885.73, "drops_on_playback": 0, "drops_sequences": 2,
            "drops_total_duration_ms": 6303,
        }
    ]  # fmt: skip
    assert [r[3] for r in tables["client_frames"].rows] == [401]


def test_client_stream_summary_of_older_spice_gtk():
    # destroy_stream() before spice-gtk 0.40 printed a summary for a stream of 0 frames too
    head = "(remote-viewer:1): GSpice-DEBUG: 07:00:01.000: ../src/channel-display.c:1409 "
    text = (
        head + "display-2:0: destroy_stream: id=1 #in-frames=0 out/in=-nan "
        "#drops-on-receive=0 avg-late-time(ms)=0.00 #drops-on-playback=0\n"
        + head + "display-2:0: destroy_stream: #drops-sequences=4 ==>\n"
        # another channel's, whose summary line is before the window
        + head + "display-2:1: destroy_stream: drops-total-duration=9 ==>\n"
    )  # fmt: skip
    rows = remote_viewer.parse(text)["client_stream_summary"].rows
    assert rows == [(None, 25201.0, "display-2:0", 1, 0, None, 0, 0.0, 0, 4, 0)]


def test_names_are_valid_sql_identifiers():
    for tables in (spice_server.parse(""), remote_viewer.parse("")):
        for name, table in tables.items():
            validate_table_name(name)
            for field in table.fields:
                validate_field_name(field)
    assert set(spice_server.parse("")) == {
        "spice_streams", "spice_client_reports", "spice_encoder", "spice_server_drops",
        "spice_packets",
    }  # fmt: skip
    assert set(remote_viewer.parse("")) == {
        "client_frames", "client_late_frames", "client_stream_summary", "client_decode",
        "client_drops",
    }  # fmt: skip


@pytest.mark.parametrize("folder", SAMPLES)
def test_every_row_has_as_many_values_as_fields(folder):
    for name, parse in (("server.log", spice_server.parse), ("client.log", remote_viewer.parse)):
        for table in parse(read(f"{folder}/{name}")).values():
            assert all(len(row) == len(table.fields) for row in table.rows)
            table.as_dicts()  # raises on a length mismatch


def test_a_long_log_counts_every_copy():
    """Concatenated windows parse to the sum of their rows (speed: bench/parsers.py)."""
    server = "".join(read(f"{f}/server.log") for f in SAMPLES[:4])
    client = "".join(read(f"{f}/client.log") for f in SAMPLES[:4])
    for parse, text, table, per_copy in (
        (spice_server.parse, server, "spice_client_reports", 211),
        (remote_viewer.parse, client, "client_frames", 814),
    ):
        copies = 200_000 // text.count("\n") + 1
        rows = parse(text * copies)[table].rows
        assert len(rows) == per_copy * copies


def test_dropped_frames_are_figures_of_the_channel_even_without_a_drop():
    frames = [
        {"host": "c", "channel": "display-2:0", "time": 1.0 + i / 30, "margin_ms": 10}
        for i in range(30)
    ] + [{"host": "d", "channel": "display-2:0", "time": 1.0, "margin_ms": 5}]
    drops = [
        {"host": "c", "channel": None, "reason": "pipeline_dropped", "count": 3},  # no stream
        {"host": "c", "channel": "display-2:0", "reason": "rendering_too_late", "count": 1},
        {"host": "c", "channel": "display-2:0", "reason": "push_failed", "count": 1},
    ]
    figures = remote_viewer.summarize_frames(frames, drops)
    assert {k: figures["c/display-2:0"][k] for k in
            ("dropped_frames", "dropped_playback", "dropped_decoder")} == {
        "dropped_frames": 5, "dropped_playback": 2, "dropped_decoder": 3,
    }  # fmt: skip
    # a client with no drop says 0, so that compare has a number on both sides
    assert figures["d/display-2:0"]["dropped_frames"] == 0
    assert registry.figure("client_frames", "dropped_frames").headline
