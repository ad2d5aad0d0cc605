"""Parsers for pidstat, nvidia-smi stats, intel_gpu_top -J and the streaming agent's log.

Expected numbers on the real samples were computed from the fixtures with awk, not with
the parsers (see tests/fixtures/*/README.md).
"""

from __future__ import annotations

import pytest

from collector.parsers import intel_gpu_top, nvidia_smi, pidstat, streaming_agent


def _prefixed(text: str, start: float = 1795851939.0, step: float = 0.001) -> str:
    """The text as the sampler runner writes it with --timestamps ("%.6f " + line)."""
    return "\n".join(f"{start + i * step:.6f} {line}" for i, line in enumerate(text.split("\n")))


def _per_command(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Row count and sums of the fields the expectations below name, per command."""
    fields = {"usr": "cpu_user_pct", "sys": "cpu_system_pct", "wait": "cpu_wait_pct",
              "cpu": "cpu_pct", "minflt": "minflt_per_s", "rss": "rss_kb"}  # fmt: skip
    result: dict[str, dict[str, float]] = {}
    for r in rows:
        sums = result.setdefault(r["command"], dict.fromkeys(["rows", *fields], 0))
        sums["rows"] += 1
        for name, field in fields.items():
            sums[name] += r[field]
    return result


# ---------------------------------------------------------------- pidstat

# folder: (rows, first and last Time, {command: (rows, %usr, %system, %wait, %CPU,
# minflt/s, RSS)}), all sums from awk over the data lines
PIDSTAT = {
    "idle": (30, "07:08:26", "07:08:35", {
        "Xorg": (10, 0.0, 0.0, 0.0, 0.0, 0.0, 1407520),
        "Xvfb": (10, 0.0, 0.0, 0.0, 0.0, 0.0, 813520),
        "remote-viewer": (10, 0.0, 0.0, 0.0, 0.0, 0.0, 1091320),
    }),
    "mjpeg-ball-640": (40, "07:04:30", "07:04:39", {
        "Xorg": (10, 79.0, 2.0, 26.0, 81.0, 0.0, 1368600),
        "Xvfb": (10, 26.0, 2.0, 5.0, 28.0, 0.0, 813920),
        "gst-launch-1.0": (10, 86.0, 1.0, 0.0, 87.0, 0.0, 138840),
        "remote-viewer": (10, 61.0, 3.0, 22.0, 64.0, 0.0, 1105560),
    }),
    "mjpeg-smpte-scroll-1024": (40, "07:04:58", "07:05:07", {
        "Xorg": (10, 173.0, 7.0, 50.0, 180.0, 0.0, 2187320),
        "Xvfb": (10, 68.0, 0.0, 4.0, 68.0, 0.0, 844640),
        "gst-launch-1.0": (10, 46.0, 1.0, 0.0, 47.0, 0.0, 171880),
        "remote-viewer": (10, 124.0, 5.0, 27.0, 129.0, 39.0, 1967128),
    }),
    "tbf-4mbit": (40, "07:12:29", "07:12:38", {
        "Xorg": (10, 91.0, 4.0, 30.0, 95.0, 0.0, 2206840),
        "Xvfb": (10, 8.0, 0.0, 2.0, 8.0, 0.0, 812480),
        "gst-launch-1.0": (10, 41.0, 1.0, 0.0, 42.0, 0.0, 172440),
        "remote-viewer": (10, 14.0, 3.0, 8.0, 17.0, 0.0, 1478320),
    }),
    "vp8-smpte-scroll-1024": (60, "07:06:02", "07:06:16", {
        "Xorg": (15, 617.74, 12.0, 368.55, 629.74, 5756.0, 3911020),
        "Xvfb": (15, 47.99, 1.0, 62.95, 48.99, 0.0, 1227060),
        "gst-launch-1.0": (15, 70.95, 9.0, 8.0, 79.95, 2.0, 263412),
        "remote-viewer": (15, 179.93, 5.0, 116.95, 184.93, 3.0, 2409180),
    }),
}  # fmt: skip


def _seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.mark.parametrize("folder", sorted(PIDSTAT))
def test_pidstat_real_samples(fixture_text, folder):
    count, first, last, commands = PIDSTAT[folder]
    table = pidstat.parse(fixture_text(f"pidstat/{folder}.txt"))["process"]
    assert table.fields == pidstat.FIELDS
    rows = table.as_dicts()
    assert len(rows) == count
    assert rows[0]["time_of_day"] == _seconds(first)
    assert rows[-1]["time_of_day"] == _seconds(last)
    assert all(r["time"] is None for r in rows)  # no prefix, clock-time Time column
    assert all(isinstance(r["pid"], int) and r["pid"] > 0 for r in rows)
    sums = _per_command(rows)
    assert set(sums) == set(commands)
    for command, (n, usr, sys_, wait, cpu, minflt, rss) in commands.items():
        got = sums[command]
        assert got["rows"] == n, command
        assert got["usr"] == pytest.approx(usr), command
        assert got["sys"] == pytest.approx(sys_), command
        assert got["wait"] == pytest.approx(wait), command
        assert got["cpu"] == pytest.approx(cpu), command
        assert got["minflt"] == pytest.approx(minflt), command
        assert got["rss"] == rss, command


def test_pidstat_one_row_read_exactly(fixture_text):
    rows = pidstat.parse(fixture_text("pidstat/vp8-smpte-scroll-1024.txt"))["process"].rows
    # 07:06:15  0  2377  73.00  2.00  0.00  4.00  75.00  0  5085.00  0.00  833244  262320
    #   1.06  Xorg
    row = next(r for r in rows if r[1] == _seconds("07:06:15") and r[2] == 2377)
    assert row == (
        None, _seconds("07:06:15"), 2377, "Xorg", 73.0, 2.0, 0.0, 4.0, 75.0, 0, 5085.0, 0.0,
        833244, 262320, 1.06,
    )  # fmt: skip
    assert all(type(r[9]) is int and type(r[12]) is int and type(r[13]) is int for r in rows)


def test_pidstat_with_the_runner_prefix(fixture_text):
    text = fixture_text("pidstat/mjpeg-ball-640.txt")
    plain = pidstat.parse(text)["process"].rows
    prefixed = pidstat.parse(_prefixed(text))["process"].rows
    assert [r[1:] for r in prefixed] == [r[1:] for r in plain]
    lines = text.split("\n")
    first_data = next(i for i, line in enumerate(lines) if line.startswith("07:"))
    assert prefixed[0][0] == pytest.approx(1795851939.0 + first_data * 0.001)


def test_pidstat_cut_lines_and_garbage(fixture_text):
    text = fixture_text("pidstat/tbf-4mbit.txt")
    whole = pidstat.parse(text)["process"].rows
    lines = text.split("\n")
    # cut inside the first header and inside the last data line; noise in the middle
    cut = "\n".join(["e  %wait    %CPU   CPU  minflt/s  Command", *lines[3:]])
    cut = cut[: cut.rindex("0.00")] + "\nnot pidstat at all\n\x00\x01 garbage 12:00"
    rows = pidstat.parse(cut)["process"].rows
    # the rows before the first complete header and the cut last row are gone
    assert len(rows) == len(whole) - 4 - 1
    assert rows == whole[4:-1]
    assert pidstat.parse("")["process"].rows == []
    assert pidstat.parse("07:06:02 0 1 1.0 1.0\n")["process"].rows == []  # no header yet


def test_pidstat_variants_from_sysstat_sources():
    text = "\n".join(
        [
            # sysstat 12, 12-hour locale (%X), -l: the command line has spaces
            "# Time        UID       PID    %usr %system  %guest   %wait    %CPU   CPU"
            "  minflt/s  majflt/s     VSZ     RSS   %MEM  Command",
            "07:06:02 PM     0      2377   26.00    1.00    0.00   48.00   27.00     0"
            "      0.00      0.00  851680  260284   1.05  /usr/lib/xorg/Xorg :2 -noreset",
            "12:00:01 AM  1000      2400    6,50    0,50    0,00    1,00    7,00     1"
            "      3,00      0,00  802828  160612   0,65  remote-viewer",
            # old sysstat: epoch Time (%11ld of time(NULL)), no UID, no %wait
            "#      Time   PID    %usr %system  %guest    %CPU   CPU  minflt/s  majflt/s"
            "     VSZ    RSS   %MEM  Command",
            " 1700000000  2377   26.00    1.00    0.00   27.00     0      0.00      0.00"
            "  851680 260284   1.05  Xorg",
            # -t -u only: TGID/TID with "-" placeholders, thread commands as |__name
            "# Time        UID      TGID       TID    %usr %system  %guest   %wait    %CPU"
            "   CPU  Command",
            "07:06:03        0      2377         -   26.00    1.00    0.00   48.00   27.00"
            "     0  Xorg",
            "07:06:03        0         -      2380    3.00    0.00    0.00    1.00    3.00"
            "     1  |__Xorg:gdrv0",
        ]
    )
    rows = pidstat.parse(text)["process"].as_dicts()
    assert [(r["time"], r["time_of_day"], r["pid"], r["command"]) for r in rows] == [
        (None, 19 * 3600 + 6 * 60 + 2, 2377, "/usr/lib/xorg/Xorg :2 -noreset"),
        (None, 1, 2400, "remote-viewer"),
        (1700000000.0, None, 2377, "Xorg"),
        (None, 7 * 3600 + 6 * 60 + 3, 2377, "Xorg"),
        (None, 7 * 3600 + 6 * 60 + 3, 2380, "|__Xorg:gdrv0"),
    ]
    assert rows[1]["cpu_user_pct"] == 6.5 and rows[1]["minflt_per_s"] == 3.0  # decimal comma
    assert rows[1]["mem_pct"] == 0.65 and rows[1]["rss_kb"] == 160612
    assert rows[2]["cpu_wait_pct"] is None and rows[2]["cpu_pct"] == 27.0
    assert rows[2]["vsz_kb"] == 851680
    assert rows[3]["cpu_wait_pct"] == 48.0 and rows[3]["rss_kb"] is None
    assert rows[4]["cpu_index"] == 1 and rows[4]["minflt_per_s"] is None


def test_pidstat_epoch_time_column_wins_over_the_prefix():
    # pidstat -H (sysstat 12): "%-11ld" seconds since the epoch in the Time column
    text = (
        "# Time        UID       PID    %usr %system  %guest   %wait    %CPU   CPU  Command\n"
        "1795851940         0      2377   26.00    1.00    0.00   48.00   27.00     0  Xorg\n"
    )
    rows = pidstat.parse(_prefixed(text))["process"].as_dicts()
    assert [(r["time"], r["time_of_day"], r["cpu_index"]) for r in rows] == [
        (1795851940.0, None, 0)
    ]


# ---------------------------------------------------------------- nvidia-smi stats

# grep/awk over the sample: lines per metric (the metric name stripped)
NVIDIA_COUNTS = {
    "pwrDraw": 11047, "memUtil": 2024, "gpuUtil": 2012, "encUtil": 2012, "decUtil": 1997,
    "temp": 313, "violPwr": 313, "violThm": 313, "procClk": 5, "memClk": 5,
}  # fmt: skip


def test_nvidia_smi_real_sample(fixture_text):
    table = nvidia_smi.parse(fixture_text("gpu/nvidia-smi-stats.txt"))["gpu_samples"]
    assert table.fields == ("time", "gpu", "metric", "value")
    rows = table.as_dicts()
    assert len(rows) == 20041
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["metric"]] = counts.get(r["metric"], 0) + 1
    assert counts == NVIDIA_COUNTS
    assert {r["gpu"] for r in rows} == {0}

    def values(metric):
        return [r["value"] for r in rows if r["metric"] == metric]

    assert (min(values("pwrDraw")), max(values("pwrDraw"))) == (24.0, 65.0)
    assert sum(values("pwrDraw")) == 482850
    assert (min(values("gpuUtil")), max(values("gpuUtil"))) == (0.0, 100.0)
    assert sum(values("gpuUtil")) == 192321
    assert (min(values("procClk")), max(values("procClk"))) == (886.0, 1228.0)
    assert (min(values("temp")), max(values("temp"))) == (51.0, 64.0)
    assert max(values("encUtil")) == 3.0 and set(values("memClk")) == {3304.0}
    # first and last lines: 0, pwrDraw , 1524549140048206, 24 / 0, violThm , 1524549471495197, 0
    assert rows[0] == {"time": 1524549140.048206, "gpu": 0, "metric": "pwrDraw", "value": 24.0}
    assert rows[-1] == {"time": 1524549471.495197, "gpu": 0, "metric": "violThm", "value": 0.0}
    times = [r["time"] for r in rows]
    assert (min(times), max(times)) == (1524549140.048206, 1524549471.495197)
    assert times != sorted(times)  # printed per metric batch, not in time order


def test_nvidia_smi_prefix_garbage_and_cut_lines(fixture_text):
    text = fixture_text("gpu/nvidia-smi-stats.txt")
    whole = nvidia_smi.parse(text)["gpu_samples"].rows
    assert nvidia_smi.parse(_prefixed(text))["gpu_samples"].rows == whole  # own time wins
    noisy = (
        "nvidia-smi stats: not supported\n0, temp    , 1524549141046757, N/A\n"
        "0, gpuUtil , 1524549141046757\n,,,\n" + text + "0, pwrDraw , 15245494"
    )
    assert nvidia_smi.parse(noisy)["gpu_samples"].rows == whole
    assert nvidia_smi.parse("1,memClk,1000000,405.5")["gpu_samples"].rows == [
        (1.0, 1, "memClk", 405.5)
    ]


# ---------------------------------------------------------------- intel_gpu_top -J

ENGINES = ["Render/3D/0", "Blitter/0", "Video/0", "Video/1", "VideoEnhance/0"]


def test_intel_gpu_top_fixture(fixture_text):
    tables = intel_gpu_top.parse(fixture_text("gpu/intel_gpu_top.json"))
    intel = tables["gpu_intel"]
    assert intel.fields == (
        "time", "sample", "period_ms", "frequency_requested_mhz", "frequency_actual_mhz",
        "rc6_pct", "power_gpu_w", "power_package_w", "interrupts_per_s",
    )  # fmt: skip
    # 6 samples in the file, the 6th cut inside its engines group
    assert intel.rows == [
        (None, 0, 0.031, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        (None, 1, 1000.25, 300.0, 300.0, 95.5, 0.25, 2.5, 12.5),
        (None, 2, 1000.5, 450.0, 449.5, 60.0, 1.5, 6.25, 150.0),
        (None, 3, 999.75, 600.0, 598.0, 40.25, 2.75, 8.0, 210.5),
        (None, 4, 1000.0, 350.0, 350.0, 90.0, 0.5, 3.0, 20.0),
    ]
    engines = tables["gpu_engines"]
    assert engines.fields == ("time", "sample", "engine", "busy_pct", "sema_pct", "wait_pct")
    assert len(engines.rows) == 5 * 5
    assert [r[2] for r in engines.rows[:5]] == ENGINES  # the file's order
    busy = {(r[1], r[2]): r[3:] for r in engines.rows}
    assert busy[(2, "Render/3D/0")] == (20.0, 1.0, 0.5)
    assert busy[(3, "Video/0")] == (50.0, 0.0, 3.0)
    assert busy[(4, "Video/1")] == (0.0, 0.0, 0.0)
    assert sum(busy[(s, "Video/0")][0] for s in range(5)) == 100.0
    assert sum(busy[(s, "Render/3D/0")][0] for s in range(5)) == 57.5
    assert all(r[0] is None for r in engines.rows)


def test_intel_gpu_top_with_the_runner_prefix(fixture_text):
    text = fixture_text("gpu/intel_gpu_top.json")
    lines = text.split("\n")
    opening = [i for i, line in enumerate(lines) if line == "{"]
    tables = intel_gpu_top.parse(_prefixed(text, start=1000.0, step=0.5))
    assert [r[0] for r in tables["gpu_intel"].rows] == [1000.0 + i * 0.5 for i in opening[:5]]
    plain = intel_gpu_top.parse(text)
    assert [r[1:] for r in tables["gpu_engines"].rows] == [r[1:] for r in plain["gpu_engines"].rows]


def test_intel_gpu_top_cut_and_noise(fixture_text):
    text = fixture_text("gpu/intel_gpu_top.json")
    second = text.index("\n{\n", text.index("\n{\n") + 1)
    # the first object cut in its middle, noise between objects, the last object
    # completed (Video/1 with only "busy") and the array closed
    damaged = text[:200] + "\nintel_gpu_top: warning\n" + text[second:] + "\t\t}\n\t}\n}\n]\n"
    rows = intel_gpu_top.parse(damaged)["gpu_intel"].rows
    assert [r[2] for r in rows] == [1000.25, 1000.5, 999.75, 1000.0, 1000.125]
    assert [r[1] for r in rows] == [0, 1, 2, 3, 4]
    last = [r for r in intel_gpu_top.parse(damaged)["gpu_engines"].rows if r[1] == 4]
    assert [(r[2], r[3]) for r in last] == [
        ("Render/3D/0", 1.0),
        ("Blitter/0", 0.0),
        ("Video/0", 0.0),
        ("Video/1", 0.0),
    ]
    assert intel_gpu_top.parse("[\n")["gpu_intel"].rows == []
    assert intel_gpu_top.parse("")["gpu_engines"].rows == []


def test_intel_gpu_top_other_versions():
    # one line, class view names, per-GT groups (-p on a multi-GT device), "-nan" from
    # printf("%f") of a zero-length period, a lone power value
    text = (
        '[{"period": {"duration": 0.0, "unit": "ms"},'
        ' "frequency-gt0": {"requested": 300.0, "actual": 100.0, "unit": "MHz"},'
        ' "frequency-gt1": {"requested": 500.0, "actual": 300.0, "unit": "MHz"},'
        ' "rc6-gt0": {"value": -nan, "unit": "%"}, "rc6-gt1": {"value": 80.0, "unit": "%"},'
        ' "power": {"value": 1.25, "unit": "W"},'
        ' "engines": {"Render/3D": {"busy": inf, "sema": 0.0, "wait": 0.0, "unit": "%"},'
        ' "Video": {"busy": 12.5, "unit": "%"}}},'
        ' {"period": {"duration": 1000.0, "unit": "ms"}}]'
    )
    tables = intel_gpu_top.parse(text)
    assert tables["gpu_intel"].rows == [
        (None, 0, 0.0, 400.0, 200.0, 80.0, 1.25, None, None),
        (None, 1, 1000.0, None, None, None, None, None, None),
    ]
    assert tables["gpu_engines"].rows == [
        (None, 0, "Render/3D", None, 0.0, 0.0),
        (None, 0, "Video", 12.5, None, None),
    ]


# ---------------------------------------------------------------- spice-streaming-agent


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


# ---------------------------------------------------------------- speed


@pytest.mark.parametrize(
    ("parser", "fixture"),
    [
        (pidstat.parse, "pidstat/vp8-smpte-scroll-1024.txt"),
        (nvidia_smi.parse, "gpu/nvidia-smi-stats.txt"),
        (intel_gpu_top.parse, "gpu/intel_gpu_top.json"),
        (streaming_agent.parse, "streaming_agent/frames.log"),
    ],
)
def test_repeated_input_gives_repeated_rows(fixture_text, parser, fixture):
    """Ten times the input, ten times the rows (speed is shown by bench/parsers.py)."""
    text = fixture_text(fixture)
    if fixture.endswith(".json"):  # repeat the complete objects inside one array
        body = text[text.index("{") : text.rindex("\n},\n") + 2]
        text = "[\n" + ",\n".join([body] * 1000)
    small = text * (20_000 // text.count("\n") + 1)
    big = small * 10  # ~200,000 lines
    small_rows = sum(len(t.rows) for t in parser(small).values())
    big_rows = sum(len(t.rows) for t in parser(big).values())
    assert big_rows >= 10 * small_rows - 10
