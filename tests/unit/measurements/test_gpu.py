"""The ``gpu`` measurement: nvidia-smi stats and intel_gpu_top -J, real and other versions."""

from __future__ import annotations

from collector.measurements import gpu


def _prefixed(text: str, start: float = 1795851939.0, step: float = 0.001) -> str:
    """The text as the sampler runner writes it with --timestamps ("%.6f " + line)."""
    return "\n".join(f"{start + i * step:.6f} {line}" for i, line in enumerate(text.split("\n")))


# grep/awk over the sample: lines per metric (the metric name stripped)
NVIDIA_COUNTS = {
    "pwrDraw": 11047, "memUtil": 2024, "gpuUtil": 2012, "encUtil": 2012, "decUtil": 1997,
    "temp": 313, "violPwr": 313, "violThm": 313, "procClk": 5, "memClk": 5,
}  # fmt: skip


ENGINES = ["Render/3D/0", "Blitter/0", "Video/0", "Video/1", "VideoEnhance/0"]


def test_nvidia_smi_real_sample(fixture_text):
    table = gpu.parse_nvidia_smi(fixture_text("gpu/nvidia-smi-stats.txt"))["gpu_samples"]
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
    whole = gpu.parse_nvidia_smi(text)["gpu_samples"].rows
    assert gpu.parse_nvidia_smi(_prefixed(text))["gpu_samples"].rows == whole  # own time wins
    noisy = (
        "nvidia-smi stats: not supported\n0, temp    , 1524549141046757, N/A\n"
        "0, gpuUtil , 1524549141046757\n,,,\n" + text + "0, pwrDraw , 15245494"
    )
    assert gpu.parse_nvidia_smi(noisy)["gpu_samples"].rows == whole
    assert gpu.parse_nvidia_smi("1,memClk,1000000,405.5")["gpu_samples"].rows == [
        (1.0, 1, "memClk", 405.5)
    ]


def test_intel_gpu_top_fixture(fixture_text):
    tables = gpu.parse_intel_gpu_top(fixture_text("gpu/intel_gpu_top.json"))
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
    tables = gpu.parse_intel_gpu_top(_prefixed(text, start=1000.0, step=0.5))
    assert [r[0] for r in tables["gpu_intel"].rows] == [1000.0 + i * 0.5 for i in opening[:5]]
    plain = gpu.parse_intel_gpu_top(text)
    assert [r[1:] for r in tables["gpu_engines"].rows] == [r[1:] for r in plain["gpu_engines"].rows]


def test_intel_gpu_top_cut_and_noise(fixture_text):
    text = fixture_text("gpu/intel_gpu_top.json")
    second = text.index("\n{\n", text.index("\n{\n") + 1)
    # the first object cut in its middle, noise between objects, the last object
    # completed (Video/1 with only "busy") and the array closed
    damaged = text[:200] + "\nintel_gpu_top: warning\n" + text[second:] + "\t\t}\n\t}\n}\n]\n"
    rows = gpu.parse_intel_gpu_top(damaged)["gpu_intel"].rows
    assert [r[2] for r in rows] == [1000.25, 1000.5, 999.75, 1000.0, 1000.125]
    assert [r[1] for r in rows] == [0, 1, 2, 3, 4]
    last = [r for r in gpu.parse_intel_gpu_top(damaged)["gpu_engines"].rows if r[1] == 4]
    assert [(r[2], r[3]) for r in last] == [
        ("Render/3D/0", 1.0),
        ("Blitter/0", 0.0),
        ("Video/0", 0.0),
        ("Video/1", 0.0),
    ]
    assert gpu.parse_intel_gpu_top("[\n")["gpu_intel"].rows == []
    assert gpu.parse_intel_gpu_top("")["gpu_engines"].rows == []


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
    tables = gpu.parse_intel_gpu_top(text)
    assert tables["gpu_intel"].rows == [
        (None, 0, 0.0, 400.0, 200.0, 80.0, 1.25, None, None),
        (None, 1, 1000.0, None, None, None, None, None, None),
    ]
    assert tables["gpu_engines"].rows == [
        (None, 0, "Render/3D", None, 0.0, 0.0),
        (None, 0, "Video", 12.5, None, None),
    ]
