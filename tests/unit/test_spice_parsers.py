"""The SPICE log parsers on the real samples of tests/fixtures/spice-logs/.

Expected numbers were counted on the logs with grep/awk, not with the parsers:
e.g. ``grep 'video margin' client.log | awk -F'video margin: ' '{s+=$2} END {print s}'``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from collector.experiment import validate_field_name, validate_table_name
from collector.parsers import remote_viewer, spice_server

LOGS = Path(__file__).parent.parent / "fixtures" / "spice-logs"
SAMPLES = ("mjpeg-ball-640", "mjpeg-smpte-scroll-1024", "vp8-smpte-scroll-1024", "tbf-4mbit")
SAMPLES += ("idle",)


def read(name: str) -> str:
    """The file as it is: no newline translation, the driver's "\\r" stay."""
    with open(LOGS / name, encoding="utf-8", newline="") as f:
        return f.read()


def tod(clock: str) -> float:
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# folder: (video margin lines, sum of margins, first and last time of day)
FRAMES = {
    "mjpeg-ball-640": (301, 122918, "07:04:29.148", "07:04:39.149"),
    "mjpeg-smpte-scroll-1024": (285, 115647, "07:04:57.839", "07:05:07.840"),
    "vp8-smpte-scroll-1024": (195, 67964, "07:06:01.544", "07:06:16.583"),
    "tbf-4mbit": (33, 10374, "07:12:35.390", "07:12:38.992"),
    "idle": (0, 0, None, None),
}
# folder: (client report lines, sum of #frames, sum of #drops, first and last time of day)
REPORTS = {
    "mjpeg-ball-640": (60, 300, 0, "07:04:29.181", "07:04:39.018"),
    "mjpeg-smpte-scroll-1024": (57, 285, 0, "07:04:57.974", "07:05:07.805"),
    "vp8-smpte-scroll-1024": (39, 195, 0, "07:06:01.544", "07:06:16.416"),
    "tbf-4mbit": (55, 181, 146, "07:12:35.044", "07:12:38.993"),
    "idle": (0, 0, 0, None, None),
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


def test_server_skips_noise_garbage_and_cut_lines():
    report = (
        "(process:17800): Spice-DEBUG: 07:04:29.181: ../server/mjpeg-encoder.c:1219:"
        "mjpeg_encoder_client_stream_report: client report: #frames 5, #drops 0, duration 133 "
        "video-delay 408 audio-delay 4294967295"
    )
    text = (
        report[40:] + "\n"  # the window cut the first line
        "interface_get_command: native\n"
        "  28\r" + report + "\n"  # the driver's counter glued in front: still read
        "  29\rinterface_get_command: native\n"
        "free: push 10 items, notify no, ring 0/128 [0,0]\n"
        "\x00\xff garbage \ufffd client report: #frames x\n"
        "\n"
        + report[:-30] + "\n"  # a line cut short, then a newline
        + report.replace("#frames 5", "#frames 5 extra") + "\n"
        + report  # cut by the window's end: no newline
    )  # fmt: skip
    rows = spice_server.parse(text)["spice_client_reports"].rows
    assert len(rows) == 1
    assert rows[0][3] == 5
    assert spice_server.parse("") == spice_server.parse("\n") == spice_server.parse("garbage")
    assert all(not t.rows for t in spice_server.parse("\r\n\x00").values())


def test_client_skips_garbage_and_cut_lines():
    margin = (
        "(remote-viewer:17815): GSpice-DEBUG: 07:04:29.148: ../src/channel-display.c:1693 "
        "display-2:0: video margin: 409"
    )
    text = (
        margin[25:] + "\n"  # cut first line
        + margin + "\n"
        + margin.replace("409", "5, set to 0 since there is no playback") + "\n"
        + margin.replace("409", "4x9") + "\n"
        + "video margin: 12\n"  # no GLib header
        + "(remote-viewer:17815): GSpice-WARNING **: 07:04:29.150: ../src/channel-display.c:1693 "
        "display-2:0: video margin: -3\n"
        + margin.replace("video margin", "video latency") + "\n"  # spice-gtk before 0.36
        + margin[:-1]  # cut by the window's end: "40", no newline
    )  # fmt: skip
    rows = remote_viewer.parse(text)["client_frames"].rows
    assert [r[3] for r in rows] == [409, -3, 409]
    assert all(not t.rows for t in remote_viewer.parse("\x00\n\r\n").values())


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
        f"[10 0.28] stream_device_data {message[:-4]}"
    )
    rows = spice_server.parse(text)["spice_packets"].rows
    assert rows == [
        (None, 1554119595.056535, 59561, "stream_channel_data", 212621, 313704699),
        (None, 0.25, 7, "stream_channel_data", 212621, 313704699),
        (None, None, None, "stream_device_data", 212621, 313704699),
        (1795851939.5, 0.26, 8, "stream_device_data", 212621, 313704699),
    ]


def test_recorder_lines_mixed_into_the_debug_log():
    log = read("mjpeg-ball-640/server.log")
    trace = read("built/server-recorder.log")
    lines = log.split("\n")[:-1]
    mixed = "\n".join(lines[:100] + trace.split("\n")[:-1] + lines[100:]) + "\n"
    tables = spice_server.parse(mixed)
    assert len(tables["spice_packets"].rows) == 8
    assert len(tables["spice_client_reports"].rows) == 60


def test_client_recorder_fixture():
    rows = remote_viewer.parse(read("built/client-recorder.log"))["client_decode"].as_dicts()
    assert len(rows) == 4
    # [219 3.071407] frames_stats frame mm_time 1097253 size 9544 creation time 5312939702
    #   decoded time 5102 queue 2 before 1
    assert rows[2] == {
        "time": None, "trace_time": 3.071407, "seq": 219, "mm_time": 1097253, "size": 9544,
        "creation_time": 5312939702, "decoded_time": 5102, "queue": 2, "queue_before": 1,
    }  # fmt: skip
    assert [r["mm_time"] for r in rows] == [1097186, 1097219, 1097253, 1097286]
    text = (
        "1795851939.500000 [5 0.5] frames_stats frame mm_time 1 size 2 creation time 3 "
        "decoded time 4 queue 5 before 6\n"
        "[6 0.6] frames_stats: frame mm_time 1 size 2 creation time 3 decoded time 4 queue 5 "
        "before 6\n"
        "[7 0.7] frames_stats frame mm_time 1 size 2 creation time 3 decoded time 4 queue 5 "
        "bef\n"
    )
    assert remote_viewer.parse(text)["client_decode"].rows == [
        (1795851939.5, 0.5, 5, 1, 2, 3, 4, 5, 6),
        (None, 0.6, 6, 1, 2, 3, 4, 5, 6),
    ]


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
