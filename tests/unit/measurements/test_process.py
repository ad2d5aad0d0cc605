"""The ``process`` measurement: pidstat output, real samples and every sysstat variant."""

from __future__ import annotations

import pytest

from collector.measurements import process as pidstat


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
