"""Each released log format, one fixture per version family (tests/fixtures/versions).

The fixtures are built from the exact format strings of each release
(docs/parsers.md says which, and where each string lives): spice-gtk 0.20,
0.35, 0.37 and 0.42, spice-server 0.12.4, 0.12.8, 0.13.1, 0.14.2 (recorder),
0.14.3 and 0.15 behind a re-routed GLib and a journal export, and
spice-streaming-agent 0.2 and 0.3. Every line of a format must be read: none
may look like one and not parse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.measurements import remote_viewer, spice_server, streaming_agent
from collector.measurements.registry import get

VERSIONS = Path(__file__).parents[2] / "fixtures" / "versions"
PARSERS = {"spice-gtk": remote_viewer, "spice-server": spice_server, "streaming-agent":
           streaming_agent}  # fmt: skip


def parsed(name: str):
    module = next(m for prefix, m in PARSERS.items() if name.startswith(prefix))
    return module.parse((VERSIONS / name).read_text())


def rows(name: str, table: str) -> list[dict]:
    return parsed(name)[table].as_dicts()


@pytest.mark.parametrize("name", sorted(p.name for p in VERSIONS.iterdir()))
def test_every_line_of_a_known_format_is_read(name):
    lines = parsed(name).lines
    assert lines.unparsed == 0, lines.examples
    assert lines.recognised > 0
    assert lines.recognised + lines.ignored == lines.lines


def test_agent_0_2_words_give_every_time():
    frames = rows("streaming-agent-0.2.log", "agent_frames")
    # the frame's time is its "Capturing..." line, not its "Frame of N bytes:"
    assert [f["time"] for f in frames] == [1524549139.835974, 1524549140.208739, 1524549140.312711]
    assert [(f["capture_ms"], f["prepare_ms"], f["send_ms"]) for f in frames] == [
        (368.949, 3.797, 0.017), (103.961, 0.003, 0.006), (100.089, 0.01, None),
    ]  # fmt: skip
    assert [f["size_bytes"] for f in frames] == [25, 74, 2282]
    # "wXh 1920X1080  codec=3": two spaces in 0.2
    streams = rows("streaming-agent-0.2.log", "agent_streams")
    assert [(s["width"], s["height"], s["codec_name"]) for s in streams] == [(1920, 1080, "h264")]
    assert len(rows("streaming-agent-0.2.log", "agent_args")) == 4


def test_agent_0_3_words():
    frames = rows("streaming-agent-0.3.log", "agent_frames")
    assert [(f["size_bytes"], f["capture_ms"], f["send_ms"]) for f in frames] == [
        (48213, 40.546, 0.338), (1532, 39.612, 0.087),
    ]  # fmt: skip
    assert rows("streaming-agent-0.3.log", "agent_streams")[0]["codec_name"] == "vp8"


def test_spice_gtk_0_20_dropin_and_drops_on_arrive():
    late = rows("spice-gtk-0.20.log", "client_late_frames")
    assert [(r["late_ms"], r["dropped"]) for r in late] == [(12, 1), (4, 1)]
    summary = rows("spice-gtk-0.20.log", "client_stream_summary")
    assert [(s["stream_id"], s["in_frames"], s["drops_on_receive"], s["drops_on_playback"],
             s["drops_sequences"], s["drops_total_duration_ms"]) for s in summary] == [
        (0, 6, 2, 1, 1, 70), (1, 0, 0, 0, 0, 0),
    ]  # fmt: skip
    assert summary[1]["out_in"] is None  # "-nan": a stream of no frame
    assert [f["margin_ms"] for f in rows("spice-gtk-0.20.log", "client_frames")] == [35, 31, 20]
    drops = rows("spice-gtk-0.20.log", "client_drops")
    assert [(d["reason"], d["late_ms"], d["decoder"], d["stream_id"], d["channel"])
            for d in drops] == [("rendering_too_late", 40, "mjpeg", 0, "display-2:0")]  # fmt: skip


def test_spice_gtk_0_35_gstreamer_drops():
    drops = rows("spice-gtk-0.35.log", "client_drops")
    assert [(d["reason"], d["count"], d["decoder"]) for d in drops] == [
        ("late_frame", 1, "gstreamer"), ("pipeline_dropped", 1, "gstreamer"),
        ("rendering_too_late", 1, "gstreamer"), ("push_failed", 1, "gstreamer"),
    ]  # fmt: skip
    assert {d["stream_id"] for d in drops} == {3}
    # the GStreamer decoder dropped the late MJPEG frame
    assert [r["dropped"] for r in rows("spice-gtk-0.35.log", "client_late_frames")] == [1]
    summary = rows("spice-gtk-0.35.log", "client_stream_summary")
    assert [(s["stream_id"], s["drops_on_playback"]) for s in summary] == [(3, 2)]


def test_spice_gtk_0_37_latency_without_suffix_and_the_early_recorder():
    # "set to 0 since there is no playback" is the same frame as the line after it
    assert [f["margin_ms"] for f in rows("spice-gtk-0.37.log", "client_frames")] == [35]
    assert [r["late_ms"] for r in rows("spice-gtk-0.37.log", "client_late_frames")] == [3]
    drops = rows("spice-gtk-0.37.log", "client_drops")
    assert [(d["reason"], d["count"], d["decoder"]) for d in drops] == [
        ("pipeline_dropped", 2, "gstreamer"), ("late_frame", 1, "mjpeg"),
    ]  # fmt: skip
    decode = rows("spice-gtk-0.37.log", "client_decode")
    assert [(d["mm_time"], d["queue"], d["queue_before"]) for d in decode] == [(1000, 1, None)]


def test_spice_gtk_0_42_playback_drops_of_both_decoders():
    drops = rows("spice-gtk-0.42.log", "client_drops")
    assert [(d["reason"], d["late_ms"], d["decoder"]) for d in drops] == [
        ("rendering_too_late", 22, "gstreamer"), ("rendering_too_late", 30, "mjpeg"),
        ("appsrc_not_ready", None, "gstreamer"),
    ]  # fmt: skip
    assert drops[2]["time_of_day"] == pytest.approx(12 * 3600 + 34 * 60 + 57.001)
    summary = rows("spice-gtk-0.42.log", "client_stream_summary")[0]
    assert (summary["drops_sequences"], summary["drops_total_duration_ms"]) == (1, 33)
    assert [d["queue_before"] for d in rows("spice-gtk-0.42.log", "client_decode")] == [1]


def test_spice_gtk_behind_a_rerouted_glib_and_in_a_journal_export():
    frames = rows("spice-gtk-0.42-rerouted.log", "client_frames")
    assert [(f["margin_ms"], f["time"]) for f in frames] == [
        (50, None), (51, None), (52, 1733140496.789123),
    ]  # fmt: skip
    assert frames[0]["time_of_day"] is not None
    assert len(rows("spice-gtk-0.42-rerouted.log", "client_late_frames")) == 1
    drops = rows("spice-gtk-0.42-rerouted.log", "client_drops")
    assert [(d["reason"], d["count"], d["time"]) for d in drops] == [
        ("pipeline_dropped", 3, 1733140496.822456),
    ]  # fmt: skip


def test_spice_server_0_12_old_logger_and_stream_functions():
    streams = rows("spice-server-0.12.4.log", "spice_streams")
    assert [(s["event"], s["stream_id"], s["width"], s["input_fps"]) for s in streams] == [
        ("red_create_stream", 0, 640, None),  # no " N fps" before 0.13
        ("red_stream_input_fps_timer_cb", None, None, 24),
        ("red_detach_streams_behind", 0, None, None),
        ("red_stop_stream", 0, None, None),
    ]  # fmt: skip
    report = rows("spice-server-0.12.4.log", "spice_client_reports")
    assert [(r["frames"], r["duration_ms"], r["video_delay_ms"]) for r in report] == [
        (24, 958, 312),
    ]  # fmt: skip
    assert rows("spice-server-0.12.4.log", "spice_encoder")[0]["measured_mbps"] == 3.2
    assert rows("spice-server-0.12.4.log", "spice_server_drops")[0]["drops"] == 3
    later = rows("spice-server-0.12.8.log", "spice_streams")
    assert [s["event"] for s in later] == ["red_create_stream", "red_attach_stream",
                                           "red_stop_stream"]  # fmt: skip
    assert rows("spice-server-0.12.8.log", "spice_client_reports")[0]["audio_delay"] is None


def test_spice_server_0_13_without_time_of_day_and_0_14_with_it():
    streams = rows("spice-server-0.13.1.log", "spice_streams")
    assert [(s["event"], s["input_fps"], s["time_of_day"]) for s in streams] == [
        ("display_channel_create_stream", 24, None), ("attach_stream", 24, None),
        ("stream_stop", None, None),
    ]  # fmt: skip
    assert len(rows("spice-server-0.14.3.log", "spice_client_reports")) == 1
    packets = rows("spice-server-0.14.3.log", "spice_packets")
    # recorder 1.0.8: no colon after the label; recorder_abstime's UTC time of day is skipped
    assert [(p["seq"], p["trace_time"], p["recorder"]) for p in packets] == [
        (59560, 3512.056377, "stream_device_data"), (59561, 3512.0564, "stream_channel_data"),
    ]  # fmt: skip


def test_spice_server_recorder_layouts_and_trace_time():
    packets = rows("spice-server-0.14.2-recorder.log", "spice_packets")
    # trace_time is always seconds since the recorder's first record; an epoch is a time
    assert [(p["seq"], p["time"], p["trace_time"]) for p in packets] == [
        (100, None, 2.000001), (101, None, 2.000101), (102, 1554119595.056377, None),
    ]  # fmt: skip


def test_spice_server_behind_a_rerouted_glib_and_in_a_journal():
    streams = rows("spice-server-0.15-rerouted.log", "spice_streams")
    assert [s["event"] for s in streams] == [
        "display_channel_create_stream", "attach_stream", "video_stream_stop",
    ]  # fmt: skip
    report = rows("spice-server-0.15-rerouted.log", "spice_client_reports")
    assert [(r["frames"], r["time"]) for r in report] == [(30, 1733140503.456)]


def test_lines_that_look_like_a_format_but_do_not_parse_are_counted():
    client = remote_viewer.parse(
        "(rv:1): GSpice-DEBUG: ../src/channel-display.c:1693 display-2:0: video margin: soon\n"
        "(rv:1): GSpice-DEBUG: ../src/channel-display.c:1677 display-2:0: stream data too late by "
        "a lot\n"
        "(rv:1): GSpice-DEBUG: ../src/channel-display.c:1693 display-2:0: video margin: 4\n"
        "something else entirely\n"
    )
    assert (client.lines.recognised, client.lines.unparsed, client.lines.ignored) == (1, 2, 1)
    assert client.lines.examples[0].endswith("video margin: soon")
    agent = streaming_agent.parse("1: Frame of many bytes\n2: Capturing frame...\n3: Sent frames\n")
    assert (agent.lines.recognised, agent.lines.unparsed) == (1, 2)
    server = spice_server.parse(
        "(process:1): Spice-DEBUG: ../server/mjpeg-encoder.c:1:mjpeg_encoder_client_stream_report:"
        " client report: #frames 5 #drops 0\n"
    )
    assert (server.lines.recognised, server.lines.unparsed) == (0, 1)


def test_a_log_without_a_line_of_its_format_says_why():
    sampler = get("streaming_agent").samplers[0]
    silent = streaming_agent.parse("hello\n").lines
    assert sampler.warnings({"frames.log": silent, "output": silent}) == {
        "frames.log": ["no frame log lines: was the agent started with -l?"],
    }
    heard = streaming_agent.parse((VERSIONS / "streaming-agent-0.3.log").read_text()).lines
    assert sampler.warnings({"frames.log": heard, "output": silent}) == {}
    client = get("remote_viewer").samplers[0]
    warnings = client.warnings({"output": remote_viewer.parse("").lines})
    assert "SPICE_DEBUG=1" in warnings["output"][0]


def test_parse_prints_the_counts_and_warnings(tmp_path):
    import io
    import json

    from collector import cli

    log = tmp_path / "frames.log"
    log.write_text((VERSIONS / "streaming-agent-0.2.log").read_text() + "9: Frame of ? bytes\n")
    out = io.StringIO()
    assert cli.main(["parse", "streaming_agent", str(log)], out=out) == 0
    text = out.getvalue()
    assert text.startswith(
        "lines: 20 lines: 16 recognised, 1 looked like the format but did not parse, 3 ignored\n"
        "warning: 1 line(s) looked like the format but did not parse"
    )
    assert "agent_frames: 3 rows" in text
    out = io.StringIO()
    assert cli.main(["parse", "streaming_agent", str(log), "--json"], out=out) == 0
    document = json.loads(out.getvalue())
    assert document["lines"] == {
        "total": 20, "recognised": 16, "unparsed": 1, "ignored": 3,
        "unparsed_examples": ["9: Frame of ? bytes"],
    }  # fmt: skip
    assert len(document["tables"]["agent_frames"]) == 3 and len(document["warnings"]) == 1
    log.write_text("the agent was never started with -l\n")
    out = io.StringIO()
    assert cli.main(["parse", "streaming_agent", str(log)], out=out) == 0
    assert "warning: no frame log lines: was the agent started with -l?" in out.getvalue()
