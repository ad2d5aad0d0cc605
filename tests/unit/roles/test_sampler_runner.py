"""The sampler runner that the sampler role installs on every lab machine.

Run as the real script in real processes: arming, the common release, the
watchdog at the window's end, stop, and no process left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[3] / "roles/sampler/files/sampler_runner.py"


def runner(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUNNER), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=30,
    )


def arm(d: Path, *command: str, timestamps: bool = False, arm_timeout: float = 60) -> None:
    extra = ["--timestamps"] if timestamps else []
    out = runner(
        "arm", "--dir", str(d / "s"), "--go", str(d / "go.json"), "--arm-timeout",
        str(arm_timeout), *extra, "--", *command,
    )  # fmt: skip
    assert json.loads(out.stdout)["armed"] is True


def release(d: Path, start_in: float, length: float) -> tuple[float, float]:
    start = time.time() + start_in
    runner("go", "--file", str(d / "go.json"), "--start-at", str(start),
           "--end-at", str(start + length))  # fmt: skip
    return start, start + length


def wait_status(d: Path, timeout: float = 15) -> dict:
    path = d / "s" / "status.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError("no status.json")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie is gone for our purpose
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def sampler_pid(d: Path) -> int:
    return int((d / "s" / "sampler.pid").read_text())


def test_release_runs_the_command_in_the_window_only(tmp_path):
    arm(tmp_path, sys.executable, "-u", "-c",
        "import time\nwhile True: print('tick'); time.sleep(0.1)", timestamps=True)  # fmt: skip
    start, end = release(tmp_path, 0.5, 1.0)
    status = wait_status(tmp_path)
    assert status["end_reason"] == "window_end"
    assert status["started"] == pytest.approx(start, abs=0.1)
    assert status["ended"] == pytest.approx(end, abs=0.5)
    assert status["user_cpu_s"] + status["sys_cpu_s"] > 0
    lines = (tmp_path / "s" / "output").read_text().splitlines()
    assert 5 <= len(lines) <= 12
    stamps = [float(line.split()[0]) for line in lines]
    assert all(start - 0.05 <= t <= end + 0.5 for t in stamps)
    assert all(line.endswith(" tick") for line in lines)
    assert gone(sampler_pid(tmp_path))


def test_stop_before_release_ends_the_armed_runner(tmp_path):
    arm(tmp_path, "sleep", "30")
    runner_pid = int((tmp_path / "s" / "runner.pid").read_text())
    out = json.loads(runner("stop", "--dir", str(tmp_path / "s")).stdout)
    assert out["state"] == "stopped_before_start"
    assert wait_status(tmp_path)["end_reason"] == "stopped_before_start"
    time.sleep(0.2)
    assert gone(runner_pid)
    assert not (tmp_path / "s" / "output").exists()


def test_stop_during_the_window_ends_the_command(tmp_path):
    arm(tmp_path, "sleep", "30")
    release(tmp_path, 0.2, 60)
    time.sleep(0.8)
    pid = sampler_pid(tmp_path)
    assert not gone(pid)
    out = json.loads(runner("stop", "--dir", str(tmp_path / "s")).stdout)
    assert out == {"changed": True, "state": "stopped"}
    assert gone(pid)
    # stop is idempotent
    again = json.loads(runner("stop", "--dir", str(tmp_path / "s")).stdout)
    assert again == {"changed": False, "state": "stopped"}


def test_stop_of_a_sampler_never_armed_is_harmless(tmp_path):
    out = json.loads(runner("stop", "--dir", str(tmp_path / "nothing")).stdout)
    assert out == {"changed": False, "state": "not_armed"}


def test_missing_command_is_refused_at_arm(tmp_path):
    out = runner("arm", "--dir", str(tmp_path / "s"), "--go", str(tmp_path / "go.json"),
                 "--", "no-such-tool-xyz", check=False)  # fmt: skip
    assert out.returncode == 127
    assert "command not found on this machine: no-such-tool-xyz" in out.stderr


def test_a_command_that_exits_early_is_reported(tmp_path):
    arm(tmp_path, "sh", "-c", "echo broken >&2; exit 3")
    release(tmp_path, 0.1, 30)
    status = wait_status(tmp_path)
    assert status["end_reason"] == "exited"
    assert status["returncode"] == 3
    assert (tmp_path / "s" / "stderr").read_text() == "broken\n"


def test_never_released_gives_up(tmp_path):
    arm(tmp_path, "sleep", "30", arm_timeout=0.5)
    assert wait_status(tmp_path)["end_reason"] == "never_released"


def test_the_command_dies_with_a_killed_runner(tmp_path):
    arm(tmp_path, "sleep", "30")
    release(tmp_path, 0.1, 60)
    time.sleep(0.6)
    pid = sampler_pid(tmp_path)
    runner_pid = int((tmp_path / "s" / "runner.pid").read_text())
    os.kill(runner_pid, signal.SIGKILL)
    deadline = time.time() + 5
    while not gone(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert gone(pid)
    out = json.loads(runner("stop", "--dir", str(tmp_path / "s")).stdout)
    assert out["state"] == "runner_lost"


def test_a_second_arm_of_a_live_sampler_is_refused(tmp_path):
    arm(tmp_path, "sleep", "30")
    out = runner("arm", "--dir", str(tmp_path / "s"), "--go", str(tmp_path / "go.json"),
                 "--", "sleep", "30", check=False)  # fmt: skip
    assert out.returncode == 1
    assert "already armed" in out.stderr
    runner("stop", "--dir", str(tmp_path / "s"))


def arm_many(d: Path, specs: list[dict]) -> list[dict]:
    out = subprocess.run(
        [sys.executable, str(RUNNER), "arm", "--go", str(d / "go.json"), "--specs", "-"],
        input=json.dumps(specs), capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(out.stdout)["samplers"]


def test_arm_from_specs_arms_each_and_reports_the_one_that_cannot_be(tmp_path):
    specs = [
        {"dir": str(tmp_path / "a"), "command": ["sh", "-c", "echo $SAMPLER_TEST_VALUE"],
         "environment": {"SAMPLER_TEST_VALUE": "from-the-spec"}},
        {"dir": str(tmp_path / "b"), "command": ["no-such-command-xyz"]},
        {"dir": str(tmp_path / "c"), "command": ["sleep", "30"], "timestamps": True},
    ]  # fmt: skip
    results = arm_many(tmp_path, specs)
    assert [(r["armed"], r["error"]) for r in results] == [
        (True, ""),
        (False, "command not found on this machine: no-such-command-xyz"),
        (True, ""),
    ]
    start, _ = release(tmp_path, 0.3, 1.0)
    for name in ("a", "c"):
        path = tmp_path / name / "status.json"
        deadline = time.time() + 15
        while not path.exists() and time.time() < deadline:
            time.sleep(0.05)
        status = json.loads(path.read_text())
        assert abs(status["started"] - start) < 0.2
    # the environment reached the command, and only it (not the runner's caller)
    assert (tmp_path / "a" / "output").read_text() == "from-the-spec\n"
    assert "SAMPLER_TEST_VALUE" not in os.environ
    assert json.loads((tmp_path / "c" / "status.json").read_text())["end_reason"] == "window_end"


def test_stop_under_ends_every_sampler_of_the_run_together(tmp_path):
    specs = [{"dir": str(tmp_path / n), "command": ["sleep", "60"]} for n in ("a", "b", "c")]
    assert all(r["armed"] for r in arm_many(tmp_path, specs))
    release(tmp_path, 0.1, 60)
    time.sleep(0.5)
    pids = [int((tmp_path / n / "sampler.pid").read_text()) for n in ("a", "b", "c")]
    before = time.time()
    out = json.loads(runner("stop", "--under", str(tmp_path), "--timeout", "10").stdout)
    assert time.time() - before < 5  # signalled together, not one 3 s grace after another
    assert out["changed"] is True
    states = {Path(d).name: s["state"] for d, s in out["samplers"].items()}
    assert states == dict.fromkeys("abc", "stopped")
    assert all(gone(p) for p in pids)
    # again: nothing to do
    again = json.loads(runner("stop", "--under", str(tmp_path)).stdout)
    assert again["changed"] is False


def test_pack_sends_the_named_files_and_skips_missing_ones(tmp_path):
    import base64
    import io
    import tarfile

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "output").write_bytes(b"\x00binary\xff" * 1000)
    (tmp_path / "s" / "status.json").write_text("{}")
    out = runner("pack", "--root", str(tmp_path), "s/output", "s/status.json", "s/stderr")
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(out.stdout)), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["s/output", "s/status.json"]
        assert tar.extractfile("s/output").read() == b"\x00binary\xff" * 1000


def test_pack_expands_patterns_inside_the_root_only(tmp_path):
    import base64
    import io
    import tarfile

    root = tmp_path / "run"
    (root / "v" / "dot").mkdir(parents=True)
    for name in ("a.dot", "b.dot", "notes.txt"):
        (root / "v" / "dot" / name).write_text(name)
    (tmp_path / "secret.dot").write_text("outside the root")
    out = runner(
        "pack", "--root", str(root), "v/dot/*.dot", "../*.dot", "v/none/*.dot", "v/dot/a.dot"
    )
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(out.stdout)), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["v/dot/a.dot", "v/dot/b.dot"]
