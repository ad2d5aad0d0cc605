"""The ``spice_server`` measurement: libspice-server's debug log and recorder, real lab logs."""

from __future__ import annotations

from collections import Counter

import pytest

from collector.measurements import spice_server
from tests.unit.measurements.spice_logs import SAMPLES, read, tod

# folder: (client report lines, sum of #frames, sum of #drops, first and last time of day)
REPORTS = {
    "mjpeg-ball-640": (60, 300, 0, "07:04:29.181", "07:04:39.018"),
    "mjpeg-smpte-scroll-1024": (57, 285, 0, "07:04:57.974", "07:05:07.805"),
    "vp8-smpte-scroll-1024": (39, 195, 0, "07:06:01.544", "07:06:16.416"),
    "tbf-4mbit": (55, 181, 146, "07:12:35.044", "07:12:38.993"),
    "idle": (0, 0, 0, None, None),
}


ENCODER_KINDS = {
    # grep -c of each message in server.log
    "mjpeg-ball-640": {
        ("mjpeg_encoder_adjust_params_to_bit_rate", "params"): 148,
        ("mjpeg_encoder_eval_quality", "sample"): 151,
        ("mjpeg_encoder_eval_quality", "sample_end"): 151,
        ("mjpeg_encoder_increase_bit_rate", "estimate"): 3,
        ("mjpeg_encoder_increase_bit_rate", "increase"): 3,
    },
    "mjpeg-smpte-scroll-1024": {
        ("mjpeg_encoder_adjust_params_to_bit_rate", "params"): 140,
        ("mjpeg_encoder_eval_quality", "sample"): 143,
        ("mjpeg_encoder_eval_quality", "sample_end"): 143,
        ("mjpeg_encoder_increase_bit_rate", "estimate"): 3,
        ("mjpeg_encoder_increase_bit_rate", "increase"): 3,
    },
    "tbf-4mbit": {
        ("mjpeg_encoder_adjust_params_to_bit_rate", "params"): 29,
        ("mjpeg_encoder_adjust_fps", "adjusted_fps"): 12,
        ("mjpeg_encoder_eval_quality", "sample"): 2,
        ("mjpeg_encoder_eval_quality", "sample_end"): 2,
        ("mjpeg_encoder_decrease_bit_rate", "estimate"): 1,
        ("mjpeg_encoder_decrease_bit_rate", "decrease"): 1,
        ("mjpeg_encoder_increase_bit_rate", "estimate"): 1,
        ("mjpeg_encoder_increase_bit_rate", "increase"): 1,
    },
    "vp8-smpte-scroll-1024": {
        ("set_bit_rate", "set"): 2,
        ("increase_bit_rate", "increase"): 1,
        ("spice_gst_encoder_client_stream_report", "decrement"): 1,
        ("set_gstenc_bitrate", "gstenc_target_bitrate"): 1,
    },
    "idle": {},
}


@pytest.mark.parametrize("folder", SAMPLES)
def test_client_reports_of_every_sample(folder):
    count, frames, drops, first, last = REPORTS[folder]
    rows = spice_server.parse(read(f"{folder}/server.log"))["spice_client_reports"].as_dicts()
    assert len(rows) == count
    assert sum(r["frames"] for r in rows) == frames
    assert sum(r["drops"] for r in rows) == drops
    if count:
        assert rows[0]["time_of_day"] == pytest.approx(tod(first), abs=1e-6)
        assert rows[-1]["time_of_day"] == pytest.approx(tod(last), abs=1e-6)
        encoder = "gstreamer" if folder.startswith("vp8") else "mjpeg"
        assert {r["encoder"] for r in rows} == {encoder}
        # 4294967295 (no audio playback) is stored as None
        assert {r["audio_delay"] for r in rows} == {None}


def test_mjpeg_client_report_values():
    rows = spice_server.parse(read("tbf-4mbit/server.log"))["spice_client_reports"].as_dicts()
    # client report: #frames 5, #drops 3, duration 136 video-delay -132 audio-delay 4294967295
    assert rows[0] == {
        "time": None, "time_of_day": tod("07:12:35.044"), "encoder": "mjpeg", "frames": 5,
        "drops": 3, "duration_ms": 136, "video_delay_ms": -132, "audio_delay": None,
        "max_video_delay_ms": None, "max_audio_delay": None, "bit_rate_mbps": None,
        "effective_mbps": None, "obsolete": None,
    }  # fmt: skip
    assert sum(1 for r in rows if r["video_delay_ms"] < 0) == 48  # grep -c 'video-delay -'


def test_gstreamer_client_report_values():
    rows = spice_server.parse(read("vp8-smpte-scroll-1024/server.log"))["spice_client_reports"]
    # client report: 0/5 drops in 436ms margins video 269/382 audio 4294967295/4294967295
    #   bw 2.387/3.569Mbps
    first = rows.as_dicts()[0]
    assert first == {
        "time": None, "time_of_day": tod("07:06:01.544"), "encoder": "gstreamer", "frames": 5,
        "drops": 0, "duration_ms": 436, "video_delay_ms": 269, "audio_delay": None,
        "max_video_delay_ms": 382, "max_audio_delay": None, "bit_rate_mbps": 2.387,
        "effective_mbps": 3.569, "obsolete": 0,
    }  # fmt: skip
    # "%3d/%3d": the margins are padded to three characters, and " obsolete" may follow
    text = (
        "(Xorg:2377): Spice-DEBUG: 07:06:01.544: ../server/gstreamer-encoder.c:1588:"
        "spice_gst_encoder_client_stream_report: client report: 2/5 drops in 90ms margins "
        "video  -7/ 12 audio  40/120 bw 0.500/1.250Mbps obsolete\n"
    )
    row = spice_server.parse(text)["spice_client_reports"].as_dicts()[0]
    assert (row["drops"], row["video_delay_ms"], row["max_video_delay_ms"]) == (2, -7, 12)
    assert (row["audio_delay"], row["max_audio_delay"], row["obsolete"]) == (40, 120, 1)


@pytest.mark.parametrize("folder", SAMPLES)
def test_encoder_events_of_every_sample(folder):
    rows = spice_server.parse(read(f"{folder}/server.log"))["spice_encoder"].as_dicts()
    assert Counter((r["event"], r["kind"]) for r in rows) == ENCODER_KINDS[folder]


def test_encoder_event_values():
    rows = spice_server.parse(read("tbf-4mbit/server.log"))["spice_encoder"].as_dicts()
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["kind"], row)
    # cur-fps=9 new-fps=9 (new/old=1.00) |bit-rate=2.79 (Mbps) latency=... quality=50 | ...
    params = by_kind["params"]
    assert (params["bit_rate_mbps"], params["fps"], params["quality"]) == (2.79, 9.0, 50)
    decrease = by_kind["decrease"]
    assert decrease["event"] == "mjpeg_encoder_decrease_bit_rate"
    assert decrease["quality"] is None and decrease["fps"] is None
    assert all(isinstance(r["fps"], float) for r in rows if r["fps"] is not None)

    vp8 = spice_server.parse(read("vp8-smpte-scroll-1024/server.log"))["spice_encoder"]
    first, second = vp8.as_dicts()[:2]
    # score 2, decrement the bit rate / 4714 set_bit_rate(7.000Mbps) eff 3.569 0.000-7.875 0
    assert (first["kind"], first["score"]) == ("decrement", 2)
    assert (second["kind"], second["bit_rate_mbps"], second["measured_mbps"]) == (
        "set",
        7.0,
        3.569,
    )


def test_server_drops_and_streams():
    tbf = spice_server.parse(read("tbf-4mbit/server.log"))
    drops = tbf["spice_server_drops"].as_dicts()
    assert len(drops) == 9  # grep -c process_server_drops
    assert drops[0] == {
        "time": None, "time_of_day": tod("07:12:29.755"), "encoder": "mjpeg", "drops": 0,
        "total": 9, "fps": 9, "src_fps": 30, "interval_ms": None, "since_change_ms": None,
    }  # fmt: skip
    streams = tbf["spice_streams"].as_dicts()
    assert [(r["event"], r["input_fps"]) for r in streams] == [("attach_stream", 30)] * 2

    vp8 = spice_server.parse(read("vp8-smpte-scroll-1024/server.log"))
    assert [r["input_fps"] for r in vp8["spice_streams"].as_dicts()] == [29, 28, 27]
    assert vp8["spice_server_drops"].rows == []


def test_stream_creation_and_end_lines():
    # video-stream.cpp:411 "stream %d %dx%d (%d, %d) (%d, %d) %u fps", :99 "stream %d"
    head = "(process:1): Spice-DEBUG: 10:00:00.500: ../server/video-stream.cpp"
    text = (
        f"{head}:411:display_channel_create_stream: stream 0 1024x768 (0, 0) (1024, 768) 30 fps\n"
        f"{head}:282:attach_stream: input-fps=24\n"
        f"{head}:99:video_stream_stop: stream 0\n"
        f"{head}:815:video_stream_detach_behind: stream 0: vis region empty\n"
    )
    rows = spice_server.parse(text)["spice_streams"].rows
    assert rows == [
        (None, 36000.5, "display_channel_create_stream", 0, 1024, 768, 30),
        (None, 36000.5, "attach_stream", None, None, None, 24),
        (None, 36000.5, "video_stream_stop", 0, None, None, None),
    ]


def test_a_few_prefixed_lines_among_plain_ones():
    text = (
        "1795851939.500000 (process:1): Spice-DEBUG: 07:04:29.181: ../server/mjpeg-encoder.c:1219:"
        "mjpeg_encoder_client_stream_report: client report: #frames 5, #drops 1, duration 133 "
        "video-delay 408 audio-delay 12\n"
        "(process:1): Spice-DEBUG: 07:04:29.348: ../server/mjpeg-encoder.c:1219:"
        "mjpeg_encoder_client_stream_report: client report: #frames 4, #drops 0, duration 134 "
        "video-delay 409 audio-delay 4294967295\n"
    )
    rows = spice_server.parse(text)["spice_client_reports"].rows
    assert [(r[0], r[1], r[4], r[7]) for r in rows] == [
        (1795851939.5, tod("07:04:29.181"), 1, 12),
        (None, tod("07:04:29.348"), 0, None),
    ]


def test_server_skips_noise_garbage_and_cut_lines():
    report = (
        "(process:17800): Spice-DEBUG: 07:04:29.181: ../server/mjpeg-encoder.c:1219:"
        "mjpeg_encoder_client_stream_report: client report: #frames 5, #drops 0, duration 133 "
        "video-delay 408 audio-delay 4294967295"
    )
    text = (
        report[40:] + "\n"  # the window cut the first line inside its GLib prefix: still read
        "interface_get_command: native\n"
        "  28\r" + report + "\n"  # the driver's counter glued in front: still read
        "  29\rinterface_get_command: native\n"
        "free: push 10 items, notify no, ring 0/128 [0,0]\n"
        "\x00\xff garbage \ufffd client report: #frames x\n"
        "\n"
        + report[:-30] + "\n"  # a line cut short, then a newline
        + report.replace("#frames 5", "#frames 5 extra") + "\n"
        + report  # a last line without its newline (a pasted excerpt) is read
    )  # fmt: skip
    parsed = spice_server.parse(text)
    rows = parsed["spice_client_reports"].rows
    assert len(rows) == 3
    assert rows[0][3] == rows[1][3] == rows[2][3] == 5
    assert rows[0][1] is None and rows[1][1] == 25469.181  # the cut line lost its time of day
    # the cut report and the one with a word too many looked like reports and did not parse
    assert (parsed.lines.recognised, parsed.lines.unparsed) == (3, 2)
    assert parsed.lines.examples == [report[:-30], report.replace("#frames 5", "#frames 5 extra")]
    assert parsed.lines.ignored == parsed.lines.lines - 5
    assert spice_server.parse(text.replace("\n", "\r\n")) == spice_server.parse(text)
    assert spice_server.parse("") == spice_server.parse("\n") == spice_server.parse("garbage")
    assert all(not t.rows for t in spice_server.parse("\r\n\x00").values())


def test_server_recorder_fixture():
    rows = spice_server.parse(read("built/server-recorder.log"))["spice_packets"].as_dicts()
    assert len(rows) == 8
    assert rows[0] == {
        "time": None, "trace_time": 12.503194, "seq": 4117, "recorder": "stream_device_data",
        "size": 34667, "mm_time": 2717827,
    }  # fmt: skip
    assert [r["recorder"] for r in rows] == ["stream_device_data", "stream_channel_data"] * 4
    sent = [r for r in rows if r["recorder"] == "stream_channel_data"]
    assert [r["size"] for r in sent] == [34667, 35012, 33980, 61544]
    assert [r["mm_time"] for r in sent] == [2717827, 2717860, 2717893, 2717927]
    other = spice_server.parse(read("built/server-recorder.log"))
    assert all(not other[name].rows for name in other if name != "spice_packets")


def test_server_recorder_other_layouts():
    message = "Stream data packet size 212621 mm_time 313704699"
    text = (
        # older recorder: "LOCATION: [ORDER TIME] LABEL: MESSAGE" (the old benchmark script's)
        f"stream-channel.c:315: [59561 1554119595.056535] stream_channel_data: {message}\n"
        # RECORDER_TWEAKS=recorder_location=1:recorder_function=1:recorder_abstime=1
        f"../server/stream-channel.cpp:238:send_item:[7 07:04:29.123456 0.250000] "
        f"stream_channel_data {message}\n"
        # no order nor time at all
        f"stream_device_data {message}\n"
        # traced to stderr, behind the sampler runner's prefix
        f"1795851939.500000 [8 0.260000] stream_device_data {message}\n"
        # cut lines
        f"[9 0.27] stream_device_data {message[:-3]}x\n"
        f"[10 0.28] stream_device_data {message[:-10]}\n"
        # the last line, without its newline
        f"[11 0.29] stream_device_data {message}"
    )
    rows = spice_server.parse(text)["spice_packets"].rows
    assert rows == [
        # a recorder counting from the epoch: its time is a time, not a trace time
        (1554119595.056535, None, 59561, "stream_channel_data", 212621, 313704699),
        (None, 0.25, 7, "stream_channel_data", 212621, 313704699),
        (None, None, None, "stream_device_data", 212621, 313704699),
        (1795851939.5, 0.26, 8, "stream_device_data", 212621, 313704699),
        (None, 0.29, 11, "stream_device_data", 212621, 313704699),
    ]


def test_recorder_lines_mixed_into_the_debug_log():
    log = read("mjpeg-ball-640/server.log")
    trace = read("built/server-recorder.log")
    lines = log.split("\n")[:-1]
    mixed = "\n".join(lines[:100] + trace.split("\n")[:-1] + lines[100:]) + "\n"
    tables = spice_server.parse(mixed)
    assert len(tables["spice_packets"].rows) == 8
    assert len(tables["spice_client_reports"].rows) == 60
