"""The streaming_agent and gpu roles through the real playbook on this machine.

The agent needs a VM and the GPU tools a GPU: stand-ins in tests/fixtures/bin
take their place (see its README), so what is tested here is the role's
plumbing — options into the agent's -c arguments, restart commands, the
frame log fetched and parsed, the GPU sampler — with the real parsers.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.helpers import ROOT, collector, only_experiment, rows, write_config
from tests.integration.reports import report

pytestmark = pytest.mark.integration

STAND_INS = ROOT / "tests" / "fixtures" / "bin"


@pytest.fixture(scope="module")
def display():
    """An X display of the test's own, screen saver off."""
    require(subprocess.run(["which", "Xvfb"], capture_output=True).returncode == 0, "no Xvfb")
    number = next(n for n in range(150, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.time() < deadline:
        time.sleep(0.1)
    subprocess.run(["xset", "-display", f":{number}", "s", "off"], check=True)
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def test_streaming_agent_and_gpu_roles(tmp_path, display):
    marker = tmp_path / "restarts.log"
    config = write_config(
        tmp_path,
        [
            {
                "StreamingAgent": {
                    "framerate": 20,
                    "mjpeg_quality": 70,
                    "gst_codecs": {"vp8": "vp8enc:deadline=1"},
                    "options": {"foo": "bar"},
                    "display": display,
                    "stop_command": ["sh", "-c", f"echo stopped >> {marker}"],
                    "start_command": ["sh", "-c", f"echo started >> {marker}"],
                }
            },
            {"GPU": {"machine": "guest"}},
        ],
        duration=4,
    )
    path = f"{STAND_INS}{os.pathsep}{os.environ.get('PATH', '')}"
    result = collector("run", "-c", str(config), extra_env={"PATH": path})
    assert result.returncode == 0, result.stdout[-4000:]
    experiment = only_experiment(config)
    uuid = experiment["uuid"]
    assert experiment["status"] == "ok", experiment["status_detail"]
    args = [r["args"] for r in rows(config, "agent_args", uuid)]
    for expected in ("framerate=20", "mjpeg.quality=70", "gst.vp8=vp8enc:deadline=1", "foo=bar"):
        assert args[args.index(expected) - 1] == "-c", args
    assert args[args.index("-l") + 1].endswith("/streaming_agent/frames.log")
    frames = rows(config, "agent_frames", uuid)
    assert 50 <= len(frames) <= 90  # 20 fps for 4 s
    assert all(f["size_bytes"] >= 20000 and f["capture_ms"] is not None for f in frames)
    streams = rows(config, "agent_streams", uuid)
    assert [(s["width"], s["height"]) for s in streams] == [(640, 480)]
    assert marker.read_text() == "stopped\nstarted\n"
    params = {(p["measurement"], p["name"]): p["value"] for p in experiment["parameters"]}
    assert params[("streaming_agent", "framerate")] == 20
    gpu = rows(config, "gpu_samples", uuid)
    assert {"gpuUtil", "encUtil", "pwrDraw"} <= {g["metric"] for g in gpu}
    start, end = experiment["started_at"], experiment["ended_at"]
    assert all(start - 1 <= g["time"] <= end + 1 for g in gpu)

    # Its report: the agent's frames and the GPU, plotted and rendered.
    page, plots = report(config, uuid, scratch=tmp_path)
    assert {"frame_rate.png", "frame_sizes.png", "frame_intervals.png", "gpu.png"} <= plots
    assert page.values["agent_frames.localhost.frames"] == len(frames)
    utilisation = [g["value"] for g in gpu if g["metric"] == "gpuUtil"]
    assert page.values["gpu_samples.localhost/gpu0/gpuUtil.mean"] == round(
        sum(utilisation) / len(utilisation), 2
    )


def test_gpu_preflight_names_the_missing_tool(tmp_path):
    config = write_config(tmp_path, [{"gpu": {"machine": "client"}}])
    result = collector("run", "-c", str(config))
    assert result.returncode == 1
    experiment = only_experiment(config)
    assert experiment["status"] == "failed"
    assert "localhost: no GPU tool for gpu_tool=auto" in experiment["status_detail"]
    assert "nvidia-smi" in experiment["status_detail"]


def test_doctor_prints_what_passed_and_what_to_fix(tmp_path, display):
    config = write_config(
        tmp_path,
        [{"StreamingAgent": {"display": ":199"}}, {"GPU": {"machine": "guest"}}, "test"],
    )
    bad = collector("doctor", "-c", str(config))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    lines = bad.stdout.splitlines()
    assert any(line.startswith("ok    localhost  reachable") for line in lines)
    assert any(line.startswith("ok    localhost  command vmstat (test)") for line in lines)
    assert any(
        line.startswith("FAIL  localhost  command spice-streaming-agent (StreamingAgent)")
        and "install it" in line
        for line in lines
    )
    assert any("display :199 does not answer" in line for line in lines)
    assert any("no GPU tool" in line for line in lines)
    assert not (tmp_path / "db" / "runs").exists() or not any((tmp_path / "db" / "runs").iterdir())

    good = write_config(tmp_path / "good", [{"StreamingAgent": {"display": display}}, "gpu"])
    path = f"{STAND_INS}{os.pathsep}{os.environ.get('PATH', '')}"
    ok = collector("doctor", "-c", str(good), extra_env={"PATH": path})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 to fix" in ok.stdout
