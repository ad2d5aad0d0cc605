"""The ``streaming_agent`` measurement: spice-streaming-agent's frame log."""

from __future__ import annotations

import pytest

from collector.measurements import streaming_agent


def _prefixed(text: str, start: float = 1795851939.0, step: float = 0.001) -> str:
    """The text as the sampler runner writes it with --timestamps ("%.6f " + line)."""
    return "\n".join(f"{start + i * step:.6f} {line}" for i, line in enumerate(text.split("\n")))


def test_streaming_agent_fixture(fixture_text):
    tables = streaming_agent.parse(fixture_text("streaming_agent/frames.log"))
    frames = tables["agent_frames"]
    assert frames.fields == (
        "time", "frame", "stream", "size_bytes", "capture_ms", "prepare_ms", "send_ms",
    )  # fmt: skip
    rows = frames.as_dicts()
    # 300 "Frame of N bytes" lines; sizes, sums and durations by awk over the fixture
    assert len(rows) == 300
    assert [r["frame"] for r in rows] == list(range(300))
    assert sum(r["size_bytes"] for r in rows) == 22849265
    assert sum(r["size_bytes"] for r in rows if r["stream"] == 0) == 12854946
    assert sum(r["size_bytes"] for r in rows if r["stream"] == 1) == 9994319
    assert [sum(r["stream"] == s for r in rows) for s in (0, 1)] == [180, 120]
    assert min(r["size_bytes"] for r in rows) == 58030
    assert max(r["size_bytes"] for r in rows) == 95729
    assert sum(r["capture_ms"] for r in rows) == pytest.approx(9348.120)
    assert sum(r["prepare_ms"] for r in rows) == pytest.approx(11.413)
    sent = [r["send_ms"] for r in rows if r["send_ms"] is not None]
    assert len(sent) == 299 and sum(sent) == pytest.approx(712.654)
    assert sum(r["send_ms"] for r in rows[90:100]) == pytest.approx(319.976)  # congested
    # 1795851941234596: Capturing frame...   1795851941243713: Captured frame
    # 1795851941243733: Started new stream wXh 1024X768 codec=1
    # 1795851941243908: Frame of 70906 bytes   1795851941245806: Sent frame
    assert rows[0] == {
        "time": 1795851941.234596, "frame": 0, "stream": 0, "size_bytes": 70906,
        "capture_ms": 9.117, "prepare_ms": 0.195, "send_ms": 1.898,
    }  # fmt: skip
    # the first frame of the 1280x720 stream: Capturing ...307883, Captured ...344536,
    # Started new stream ...344556, Frame of 89629 bytes ...344736, Sent frame ...345055
    assert rows[180] == {
        "time": 1795851947.307883, "frame": 180, "stream": 1, "size_bytes": 89629,
        "capture_ms": 36.653, "prepare_ms": 0.2, "send_ms": 0.319,
    }  # fmt: skip
    # the log ends in the middle of the last "Sent frame"
    assert rows[-1] == {
        "time": 1795851951.278974, "frame": 299, "stream": 1, "size_bytes": 94064,
        "capture_ms": 32.214, "prepare_ms": 0.033, "send_ms": None,
    }  # fmt: skip
    assert tables["agent_streams"].as_dicts() == [
        {"time": 1795851941.243733, "stream": 0, "width": 1024, "height": 768, "codec": 1,
         "codec_name": "mjpeg"},
        {"time": 1795851947.344556, "stream": 1, "width": 1280, "height": 720, "codec": 1,
         "codec_name": "mjpeg"},
    ]  # fmt: skip
    assert tables["agent_args"].rows == [
        (1795851940.000006, 0, "/usr/bin/spice-streaming-agent"),
        (1795851940.000009, 1, "-l"),
        (1795851940.000017, 2, "/tmp/spice-bench/frames.log"),
        (1795851940.000026, 3, "-c"),
        (1795851940.000029, 4, "framerate=30"),
    ]


def test_streaming_agent_plugin_lines_do_not_disturb_frames(fixture_text):
    text = fixture_text("streaming_agent/frames.log")
    assert "mjpeg-probe:" in text
    without = "\n".join(line for line in text.split("\n") if "mjpeg-probe" not in line)
    assert streaming_agent.parse(without) == streaming_agent.parse(text)


def test_streaming_agent_cut_start_hexdump_and_cut_end():
    text = "\n".join(
        [
            "70: Captured frame",  # the log starts inside a frame
            "100: Frame of 500 bytes",
            "160: Sent frame",
            "200: Capturing frame...",
            "210: myplugin: encoder busy",
            "1200: Captured frame",
            "1250: Frame of 700 bytes",
            "0000  FF D8 FF E0 00 10 4A 46 49 46 00 01 01 00 00 01 \t......JFIF......",
            "sum = 1234",
            "2250: Sent frame",
            "3000: Capturing frame...",  # the capture had not returned at the window's end
        ]
    )
    tables = streaming_agent.parse(text)
    assert tables["agent_frames"].rows == [
        (100 / 1e6, 0, None, 500, None, 0.03, 0.06),
        (200 / 1e6, 1, None, 700, 1.0, 0.05, 1.0),
    ]
    assert tables["agent_streams"].rows == [] and tables["agent_args"].rows == []


def test_streaming_agent_old_format():
    # before the Capturing/Captured/Sent lines the agent logged only
    # "%" PRIu64 ": Frame of %zu bytes:" and a hex dump of the frame
    text = "4000: Frame of 900 bytes:\n0000  FF D8 \t..\nsum = 471\n5000: Frame of 901 bytes:\n"
    assert streaming_agent.parse(text)["agent_frames"].rows == [
        (4000 / 1e6, 0, None, 900, None, None, None),
        (5000 / 1e6, 1, None, 901, None, None, None),
    ]


def test_streaming_agent_with_the_runner_prefix(fixture_text):
    text = fixture_text("streaming_agent/frames.log")
    assert streaming_agent.parse(_prefixed(text)) == streaming_agent.parse(text)
