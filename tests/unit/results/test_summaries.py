"""The figures of ``show`` for the SPICE tables, on experiments built from the real fixtures.

Each experiment gets the rows the real parsers produce from tests/fixtures/, with the
``host`` column put first as ingest does, and is saved to a SQLite file; the figures
``summarize`` reads back are checked against numbers worked out here from the raw
files (regular expressions and awk-like splitting), or counted in the fixtures'
READMEs and parser tests, not with the summaries' own helpers.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from pathlib import Path
from statistics import fmean, quantiles

import pytest

from collector import cli, store
from collector.measurements import gpu, network, remote_viewer, spice_server, streaming_agent
from collector.measurements import process as pidstat
from collector.measurements.parsing import Rows
from collector.results.summaries import figure, summarize
from collector.store.experiment import Experiment

FIXTURES = Path(__file__).parents[2] / "fixtures"
SERVER, CLIENT, GUEST = "lab-host", "lab-client", "lab-guest"
CHANNEL = "display-2:0"

SPICE_SECTIONS = {
    "spice_client_reports", "spice_streams", "client_frames", "client_late_frames", "process",
}  # fmt: skip


def raw(name: str) -> str:
    """A fixture as it is: no newline translation (the driver's "\\r" stay)."""
    with open(FIXTURES / name, encoding="utf-8", newline="") as f:
        return f.read()


def add(experiment: Experiment, host: str, tables: dict[str, Rows]) -> None:
    """What ingest's _add_rows does (a host without a clock offset): host column first."""
    for name, parsed in tables.items():
        table = experiment.create_table(name, ("host", *parsed.fields))
        table.add_many((host, *row) for row in parsed.rows)


def figures_of(experiment: Experiment, tmp_path: Path) -> dict[str, dict]:
    database = tmp_path / "bench.db"
    experiment.save(database)
    reader = store.open_reader(database)
    figures = summarize(reader, experiment.uuid, reader.experiment(experiment.uuid)["tables"])
    for section, subjects in figures.items():  # every figure is declared by its measurement
        for key, value in subjects.items():
            names = value if isinstance(value, dict) else {key: value}
            assert all(figure(section, name) for name in names), (section, names)
    return figures


def spice_experiment(folder: str) -> Experiment:
    """One lab window: the server's and the client's logs and pidstat, as the lab runs them."""
    e = Experiment(folder)
    add(e, SERVER, spice_server.parse(raw(f"spice-logs/{folder}/server.log")))
    add(e, CLIENT, remote_viewer.parse(raw(f"spice-logs/{folder}/client.log")))
    add(e, SERVER, pidstat.parse(raw(f"pidstat/{folder}.txt")))
    return e


def seconds(clock: str) -> float:
    hours, minutes, secs = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


def p95(values: list[float]) -> float:
    return quantiles(values, n=100, method="inclusive")[94]


# --- independent readings of the raw files ---------------------------------------------------

_CLOCK = re.compile(r"GSpice-DEBUG: (\d\d:\d\d:\d\d\.\d{3}): ")


def client_frames_from_log(folder: str) -> tuple[list[float], list[int]]:
    """Times of day and margins of the ``video margin: N`` lines."""
    times, margins = [], []
    for line in raw(f"spice-logs/{folder}/client.log").split("\n"):
        if "video margin: " in line:
            times.append(seconds(_CLOCK.search(line)[1]))
            margins.append(int(line.rsplit("video margin: ", 1)[1]))
    return times, margins


_MJPEG_REPORT = re.compile(r"#frames (\d+), #drops (\d+), duration (\d+) video-delay (-?\d+)")
_GST_REPORT = re.compile(r"client report: (\d+)/(\d+) drops in (\d+)ms margins video +(-?\d+)/")


def reports_from_log(folder: str) -> list[tuple[int, int, int, int]]:
    """(frames, drops, duration_ms, video delay) of every client report line."""
    out = []
    for line in raw(f"spice-logs/{folder}/server.log").split("\n"):
        found = _MJPEG_REPORT.search(line)
        if found:
            frames, drops, duration, delay = map(int, found.groups())
            out.append((frames, drops, duration, delay))
            continue
        found = _GST_REPORT.search(line)
        if found:
            drops, frames, duration, delay = map(int, found.groups())
            out.append((frames, drops, duration, delay))
    return out


def pidstat_by_command(name: str) -> dict[str, list[dict[str, float]]]:
    """awk over pidstat -h output: the header's column names, one dict per data line."""
    columns: list[str] = []
    out: dict[str, list[dict[str, float]]] = defaultdict(list)
    for line in raw(name).splitlines():
        if line.startswith("#"):
            columns = line[1:].split()
            continue
        parts = line.split()
        if not columns or len(parts) != len(columns):
            continue
        values = dict(zip(columns, parts, strict=True))
        out[values["Command"]].append(
            {k: float(values[k]) for k in ("%CPU", "%usr", "%system", "RSS")}
        )
    return out


# --- SPICE ----------------------------------------------------------------------------------


def test_client_fps_of_mjpeg_ball_640_from_its_times_of_day(tmp_path):
    figures = figures_of(spice_experiment("mjpeg-ball-640"), tmp_path)
    frames = figures["client_frames"][f"{CLIENT}/{CHANNEL}"]
    times, margins = client_frames_from_log("mjpeg-ball-640")
    # 301 frames from 07:04:29.148 to 07:04:39.149 (counted with grep in the fixtures' README)
    assert len(times) == 301 and times[0] == seconds("07:04:29.148")
    assert frames["frames"] == 301
    assert frames["fps"] == pytest.approx(300 / 10.001, abs=0.005)
    assert frames["fps"] == pytest.approx((len(times) - 1) / (times[-1] - times[0]), abs=0.005)
    intervals = [(times[i + 1] - times[i]) * 1000 for i in range(len(times) - 1)]
    assert frames["interval_mean_ms"] == pytest.approx(fmean(intervals), abs=0.005)
    assert frames["interval_p95_ms"] == pytest.approx(p95(intervals), abs=0.005)
    assert frames["margin_mean_ms"] == pytest.approx(122918 / 301, abs=0.005)
    assert frames["margin_mean_ms"] == pytest.approx(fmean(margins), abs=0.005)
    assert list(figures["client_frames"]) == [f"{CLIENT}/{CHANNEL}"]  # the client's only


def test_server_side_view_of_mjpeg_ball_640(tmp_path):
    figures = figures_of(spice_experiment("mjpeg-ball-640"), tmp_path)
    reports = reports_from_log("mjpeg-ball-640")
    assert len(reports) == 60
    server = figures["spice_client_reports"][SERVER]
    assert server["reports"] == 60
    assert server["frames"] == sum(r[0] for r in reports) == 300
    assert server["drops"] == 0 and server["drop_pct"] == 0
    assert server["video_delay_mean_ms"] == pytest.approx(fmean(r[3] for r in reports), abs=0.005)
    # 5 frames a report span 4 intervals: the stream's 30 fps, as the client showed it
    assert server["fps"] == pytest.approx(240 / (sum(r[2] for r in reports) / 1000), abs=0.005)
    assert server["fps"] == pytest.approx(30, abs=0.2)  # mm-times are whole ms
    assert list(figures["spice_client_reports"]) == [SERVER]

    streams = figures["spice_streams"][SERVER]
    # two "attach_stream: input-fps=30" lines, no stream created inside the window
    assert streams["input_fps"] == [30, 30]
    assert streams["streams_created"] == 0 and streams["sizes"] == []
    assert "client_late_frames" not in figures  # an empty table: no section


def test_drops_and_late_frames_of_the_capped_link(tmp_path):
    figures = figures_of(spice_experiment("tbf-4mbit"), tmp_path)
    reports = reports_from_log("tbf-4mbit")
    server = figures["spice_client_reports"][SERVER]
    assert (server["reports"], server["frames"], server["drops"]) == (55, 181, 146)
    assert server["drop_pct"] == pytest.approx(100 * 146 / 181, abs=0.005)
    intervals = sum(max(r[0] - 1, 0) for r in reports)
    assert server["fps"] == pytest.approx(
        intervals / (sum(r[2] for r in reports) / 1000), abs=0.005
    )
    assert server["video_delay_mean_ms"] == pytest.approx(fmean(r[3] for r in reports), abs=0.005)

    late = figures["client_late_frames"][f"{CLIENT}/{CHANNEL}"]
    text = raw("spice-logs/tbf-4mbit/client.log")
    late_ms = [int(v) for v in re.findall(r"too late by (\d+) ms", text)]
    assert late["late_frames"] == len(late_ms) == 77
    assert late["dropped"] == text.count("dropping a late") == 77
    assert late["late_mean_ms"] == pytest.approx(68201 / 77, abs=0.005)

    times, _ = client_frames_from_log("tbf-4mbit")  # 33 frames, 07:12:35.390 .. 07:12:38.992
    assert figures["client_frames"][f"{CLIENT}/{CHANNEL}"]["fps"] == pytest.approx(
        32 / (seconds("07:12:38.992") - seconds("07:12:35.390")), abs=0.005
    )
    assert len(times) == 33


def test_gstreamer_reports_of_vp8(tmp_path):
    figures = figures_of(spice_experiment("vp8-smpte-scroll-1024"), tmp_path)
    reports = reports_from_log("vp8-smpte-scroll-1024")
    server = figures["spice_client_reports"][SERVER]
    assert (server["reports"], server["frames"], server["drops"]) == (39, 195, 0)
    # the GStreamer report's "margins video V/MAXV": V is the delay
    assert server["video_delay_mean_ms"] == pytest.approx(fmean(r[3] for r in reports), abs=0.005)
    intervals = sum(max(r[0] - 1, 0) for r in reports)
    assert server["fps"] == pytest.approx(
        intervals / (sum(r[2] for r in reports) / 1000), abs=0.005
    )
    assert figures["spice_streams"][SERVER]["input_fps"] == [29, 28, 27]
    assert figures["spice_streams"][SERVER]["input_fps_mean"] == 28.0


@pytest.mark.parametrize("folder", ["mjpeg-ball-640", "tbf-4mbit", "vp8-smpte-scroll-1024"])
def test_process_per_command(tmp_path, folder):
    figures = figures_of(spice_experiment(folder), tmp_path)["process"]
    expected = pidstat_by_command(f"pidstat/{folder}.txt")
    assert set(figures) == {f"{SERVER}/{command}" for command in expected}
    assert {"Xorg", "gst-launch-1.0", "Xvfb", "remote-viewer"} == set(expected)
    for command, lines in expected.items():
        got = figures[f"{SERVER}/{command}"]
        cpu = [line["%CPU"] for line in lines]
        assert got["samples"] == len(lines) and got["pids"] == 1
        assert got["cpu_mean_pct"] == pytest.approx(fmean(cpu), abs=0.005)
        assert got["cpu_max_pct"] == max(cpu)
        assert got["cpu_user_mean_pct"] == pytest.approx(
            fmean(line["%usr"] for line in lines), abs=0.005
        )
        assert got["cpu_system_mean_pct"] == pytest.approx(
            fmean(line["%system"] for line in lines), abs=0.005
        )
        assert got["rss_max_mb"] == pytest.approx(
            max(line["RSS"] for line in lines) / 1024, abs=0.05
        )


def test_processes_of_one_command_add_up_per_sample(tmp_path):
    """Two gst-launch-1.0: the command's CPU is their sum in each sample."""
    header = (
        "# Time        UID       PID    %usr %system  %guest   %wait    %CPU   CPU  minflt/s"
        "  majflt/s     VSZ     RSS   %MEM  Command\n"
    )
    line = "{}        0     {}   {:.2f}    1.00    0.00    0.00   {:.2f}     0      0.00      0.00"
    line += "  318588   {}   0.07  gst-launch-1.0\n"
    text = ""
    for clock, a, b in (("07:00:01", 10.0, 30.0), ("07:00:02", 20.0, 50.0)):
        text += (
            header
            + line.format(clock, 100, a - 1, a, 2048)
            + line.format(clock, 101, b - 1, b, 4096)
        )
    e = Experiment()
    add(e, SERVER, pidstat.parse(text))
    got = figures_of(e, tmp_path)["process"][f"{SERVER}/gst-launch-1.0"]
    assert (got["samples"], got["pids"]) == (2, 2)
    assert got["cpu_mean_pct"] == fmean([40.0, 70.0]) and got["cpu_max_pct"] == 70.0
    assert got["cpu_system_mean_pct"] == 2.0
    assert got["rss_max_mb"] == 6.0


def test_idle_window_and_missing_tables_give_no_sections(tmp_path):
    idle = figures_of(spice_experiment("idle"), tmp_path)
    # the idle logs have no stream lines at all: the tables exist but are empty
    assert set(idle) == {"process"}

    e = Experiment("client only")
    add(e, CLIENT, remote_viewer.parse(raw("spice-logs/mjpeg-ball-640/client.log")))
    figures = figures_of(e, tmp_path / "other")
    assert set(figures) == {"client_frames"}


def test_time_is_preferred_and_midnight_is_unwrapped(tmp_path):
    e = Experiment()
    frames = e.create_table("client_frames", ("host", *remote_viewer.FRAME_FIELDS))
    # host a: controller times (every 40 ms) and times of day that disagree with them
    for i in range(11):
        frames.add("a", 1.8e9 + i * 0.040, 100.0 + i * 0.5, CHANNEL, 10)
    # host b: times of day only, across midnight: 23:59:59.900, 23:59:59.950, 00:00:00.000, ...
    for i in range(5):
        frames.add("b", None, (86399.9 + i * 0.05) % 86400, CHANNEL, 20 + i)
    figures = figures_of(e, tmp_path)["client_frames"]
    assert figures[f"a/{CHANNEL}"]["fps"] == pytest.approx(25.0)
    assert figures[f"a/{CHANNEL}"]["interval_mean_ms"] == pytest.approx(40.0)
    assert figures[f"b/{CHANNEL}"]["fps"] == pytest.approx(20.0)
    assert figures[f"b/{CHANNEL}"]["interval_p95_ms"] == pytest.approx(50.0)
    assert figures[f"b/{CHANNEL}"]["margin_mean_ms"] == 22.0


# --- network --------------------------------------------------------------------------------


def sampler_line(t: float, connections: list[tuple[str, str, int, int]], rx: int, tx: int) -> str:
    """One line as roles/network/files/network_sampler.py prints it (built, not recorded)."""
    sample = {
        "t": t,
        "port": 5900,
        "connections": [
            {"local": local, "peer": peer, "bytes_acked": sent, "bytes_received": received}
            for local, peer, sent, received in connections
        ],
        "interface": "spice0",
        "counters": [rx, rx // 1000, tx, tx // 1000],
    }
    return json.dumps(sample, separators=(",", ":")) + "\n"


def test_network_connections_and_interface(tmp_path):
    main, display, inputs = (
        f"10.0.0.1:5900 10.0.0.2:{port}".split() for port in (40000, 40002, 40004)
    )
    # 5 samples a second apart. The display channel sends 1,250,000 B/s (10 Mbit/s) and
    # receives 12,500 B/s; the main channel sends 2,500 B/s; the inputs channel appears
    # at t=2 and receives 25,000 B/s until t=4.
    text = ""
    for i in range(5):
        conns = [
            (*main, 1000 + 2500 * i, 500),
            (*display, 5000 + 1_250_000 * i, 12_500 * i),
        ]
        if i >= 2:
            conns.append((*inputs, 0, 25_000 * (i - 2)))
        text += sampler_line(100.0 + i, conns, rx=7_000_000 + 250_000 * i, tx=9_000 + 1_500_000 * i)
    e = Experiment()
    add(e, SERVER, network.parse(text))
    figures = figures_of(e, tmp_path)
    got = figures["network_connections"][SERVER]
    # rows start at the second sample (t=101): the window is 101..104, 3 s
    span = 3.0
    sent = (2500 * 3 + 1_250_000 * 3 + 0) / span
    received = (0 + 12_500 * 3 + 25_000 * 1) / span  # inputs: rows at t=103, 104
    assert got["connections"] == 3 and got["span_s"] == span
    assert got["tx_mbit_per_s"] == pytest.approx(sent * 8 / 1e6, abs=0.0005)
    assert got["rx_mbit_per_s"] == pytest.approx(received * 8 / 1e6, abs=0.0005)
    assert got["display_connection"] == " ".join(display)
    assert got["display_tx_mbit_per_s"] == 10.0
    assert got["display_rx_mbit_per_s"] == 0.1

    interface = figures["network_interface"][f"{SERVER}/spice0"]
    assert interface["samples"] == 4
    assert interface["rx_mbit_per_s"] == 2.0 and interface["tx_mbit_per_s"] == 12.0


# --- GPU and the streaming agent ------------------------------------------------------------


def test_nvidia_smi_metrics(tmp_path):
    e = Experiment()
    add(e, SERVER, gpu.parse_nvidia_smi(raw("gpu/nvidia-smi-stats.txt")))
    figures = figures_of(e, tmp_path)["gpu_samples"]
    values: dict[str, list[float]] = defaultdict(list)
    for line in raw("gpu/nvidia-smi-stats.txt").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4 and parts[0] == "0" and parts[3] not in ("N/A", ""):
            values[parts[1]].append(float(parts[3]))
    assert set(figures) == {f"{SERVER}/gpu0/{metric}" for metric in values}
    for metric in ("encUtil", "decUtil", "gpuUtil", "pwrDraw", "memUtil", "temp"):
        got = figures[f"{SERVER}/gpu0/{metric}"]
        assert got["samples"] == len(values[metric])
        assert got["mean"] == pytest.approx(fmean(values[metric]), abs=0.005)
        assert got["max"] == max(values[metric])
    assert figures[f"{SERVER}/gpu0/pwrDraw"]["samples"] == 11047


def intel_samples() -> list[dict]:
    """The fixture's complete samples, read with json: the array has no "]", the last is cut."""
    text = raw("gpu/intel_gpu_top.json")
    return json.loads("[" + text[text.index("{") : text.rindex("\n},\n") + 2] + "]")


def test_intel_engines_weighted_by_period(tmp_path):
    samples = intel_samples()
    assert len(samples) == 5 and samples[0]["period"]["duration"] == 0.031
    e = Experiment()
    add(e, GUEST, gpu.parse_intel_gpu_top(raw("gpu/intel_gpu_top.json")))
    figures = figures_of(e, tmp_path)["gpu_engines"]
    assert "gpu_intel" not in figures  # gpu_intel has no section of its own
    assert set(figures) == {f"{GUEST}/{engine}" for engine in samples[0]["engines"]}
    total = sum(s["period"]["duration"] for s in samples)
    for engine in samples[0]["engines"]:
        busy = [s["engines"][engine]["busy"] for s in samples]
        weighted = sum(s["engines"][engine]["busy"] * s["period"]["duration"] for s in samples)
        got = figures[f"{GUEST}/{engine}"]
        assert got["samples"] == 5 and got["busy_max_pct"] == max(busy)
        assert got["busy_mean_pct"] == pytest.approx(weighted / total, abs=0.005)
    # Video/0: 100 % busy over the samples, so about 25 % over the 4 real seconds, not 20 %
    assert figures[f"{GUEST}/Video/0"]["busy_mean_pct"] == pytest.approx(25.0, abs=0.01)


def test_intel_engines_without_periods_count_every_sample(tmp_path):
    e = Experiment()
    tables = gpu.parse_intel_gpu_top(raw("gpu/intel_gpu_top.json"))
    add(e, GUEST, {"gpu_engines": tables["gpu_engines"]})
    figures = figures_of(e, tmp_path)["gpu_engines"]
    assert figures[f"{GUEST}/Render/3D/0"]["busy_mean_pct"] == 57.5 / 5  # sum 57.5, 5 samples
    assert figures[f"{GUEST}/Video/0"]["busy_mean_pct"] == 20.0


def test_agent_frames(tmp_path):
    text = raw("streaming_agent/frames.log")
    e = Experiment()
    add(e, GUEST, streaming_agent.parse(text))
    got = figures_of(e, tmp_path)["agent_frames"][GUEST]
    sizes = [int(v) for v in re.findall(r"^\d+: Frame of (\d+) bytes$", text, re.MULTILINE)]
    assert got["frames"] == len(sizes) == 300
    assert got["size_mean_kb"] == pytest.approx(22849265 / 300 / 1024, abs=0.05)
    assert got["size_mean_kb"] == pytest.approx(fmean(sizes) / 1024, abs=0.05)
    # capture starts: the first frame's "Capturing frame..." and the last one's
    assert got["fps"] == pytest.approx(299 / (1795851951.278974 - 1795851941.234596), abs=0.005)
    # sums from the parser's tests (awk over the fixture); the last frame was never sent
    assert got["capture_mean_ms"] == pytest.approx(9348.120 / 300, abs=0.005)
    assert got["send_mean_ms"] == pytest.approx(712.654 / 299, abs=0.005)
    rows = streaming_agent.parse(text)["agent_frames"].as_dicts()
    assert got["capture_p95_ms"] == pytest.approx(p95([r["capture_ms"] for r in rows]), abs=0.005)
    sent = [r["send_ms"] for r in rows if r["send_ms"] is not None]
    assert got["send_p95_ms"] == pytest.approx(p95(sent), abs=0.005)


# --- show -----------------------------------------------------------------------------------


def test_show_prints_the_spice_sections(tmp_path):
    e = spice_experiment("tbf-4mbit")
    database = tmp_path / "bench.db"
    e.save(database)
    out = io.StringIO()
    assert cli.main(["show", e.uuid, "--db", str(database)], out=out) == 0
    for section in SPICE_SECTIONS:
        assert f"figures: {section}" in out.getvalue()
    assert "drops=146" in out.getvalue()
    out = io.StringIO()
    assert cli.main(["show", e.uuid[:8], "--db", str(database), "--json"], out=out) == 0
    figures = json.loads(out.getvalue())["figures"]
    assert figures["spice_client_reports"][SERVER]["drops"] == 146


def test_start_spread_is_against_each_samplers_own_schedule(tmp_path):
    e = Experiment("warm-up", started_at=1000.0, ended_at=1010.0)
    samplers = e.create_table("samplers", ["host", "measurement", "scheduled_start", "started",
                                           "ended", "user_cpu_s", "sys_cpu_s"])  # fmt: skip
    samplers.add_many([
        ("g", "workload", 997.0, 997.0021, 1010.0, 0.5, 0.1),  # a 3 s warm-up lead
        ("h", "process", 1000.0, 1000.0004, 1010.0, 0.02, 0.01),
        ("c", "network", 1000.0, 1000.0011, 1010.0, 0.05, 0.0),
    ])  # fmt: skip
    figures = figures_of(e, tmp_path)["samplers"]
    assert figures["start_spread_ms"] == pytest.approx(1.7, abs=0.01)
    assert figures["g/workload"]["cpu_pct"] == pytest.approx(
        100 * 0.6 / (1010.0 - 997.0021), abs=0.01
    )
