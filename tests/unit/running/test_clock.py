"""Clock offsets: the NTP-style estimate, the responder run for real, the action plugin.

Simulated rounds know the true offset, so the estimate is held to its own
claim: the truth within the reported uncertainty, whatever the asymmetry of
the two paths. The responder and the plugin run on this machine, where the
true offset is 0, and must say so to the millisecond.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from collector.config.plan import read_plan
from collector.running.clock import (
    MIN_ROUNDS,
    RESPONDER,
    ClockEstimate,
    Round,
    correction,
    estimate,
    measure,
)
from collector.running.events import read_events
from collector.running.ingest import build_experiment
from tests.conftest import require
from tests.integration.helpers import BIN, env

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "tests" / "fixtures" / "runs" / "lab-spice"
MS = 1e-3


def simulated(
    offset: float, forward: tuple[float, float], back: tuple[float, float], n: int, seed: int
) -> list[Round]:
    """Rounds with the host's clock ``offset`` ahead, and one-way delays drawn from the ranges."""
    rng = random.Random(seed)
    rounds, now = [], 1.7e9
    for _ in range(n):
        now += rng.uniform(0.5, 2) * MS
        there = now + rng.uniform(*forward) + abs(rng.gauss(0, 0.3 * MS))  # jitter
        turn = rng.uniform(0.01, 0.1) * MS
        home = there + turn + rng.uniform(*back) + abs(rng.gauss(0, 0.3 * MS))
        rounds.append(Round(now, there + offset, there + turn + offset, home))
        now = home
    return rounds


def test_a_round_s_offset_and_round_trip():
    r = Round(sent=10.0, received=15.002, replied=15.003, back=10.004)
    # 2 ms out, 1 ms on the host, 1 ms back, the host 5 s ahead
    assert r.offset == pytest.approx(5.0005)
    assert r.rtt == pytest.approx(0.003)


@pytest.mark.parametrize("seed", range(20))
def test_asymmetric_jittery_paths_keep_the_truth_within_the_uncertainty(seed):
    truth = 37.5 * MS
    rounds = simulated(truth, (0.2 * MS, 5 * MS), (1 * MS, 9 * MS), 64, seed)
    found = estimate(rounds)
    assert isinstance(found, ClockEstimate)
    assert found.rounds == 64
    assert found.rtt_min == pytest.approx(min(r.rtt for r in rounds))
    assert abs(found.offset - truth) <= found.uncertainty
    assert abs(found.offset - truth) <= found.rtt_min / 2 + 1e-9
    assert found.corrected  # 37.5 ms is far beyond a few milliseconds of round trip


def test_a_zero_offset_is_not_a_correction():
    found = estimate(simulated(0.0, (1 * MS, 2 * MS), (1 * MS, 2 * MS), 40, seed=1))
    assert isinstance(found, ClockEstimate)
    assert abs(found.offset) <= found.uncertainty
    assert found.corrected is False
    assert found.as_result()["corrected"] is False


def test_a_large_offset_is_corrected():
    found = estimate(simulated(-2.25, (1 * MS, 2 * MS), (1 * MS, 2 * MS), 40, seed=2))
    assert isinstance(found, ClockEstimate)
    assert found.offset == pytest.approx(-2.25, abs=found.uncertainty)
    assert found.corrected is True
    assert set(found.as_result()) == {"offset", "uncertainty", "rounds", "rtt_min", "corrected"}


def test_exec_style_rounds_give_half_the_round_trip():
    # the old method: one remote reading between two controller readings
    found = estimate([Round(100.0, 100.06, 100.06, 100.1), Round(101.0, 101.03, 101.03, 101.08)])
    assert isinstance(found, ClockEstimate)
    assert found.rtt_min == pytest.approx(0.08)
    assert found.uncertainty == pytest.approx(0.04, abs=1e-5)


def test_rounds_a_clock_step_spoiled_are_left_out():
    back = Round(0.0, 5.0, 4.0, 0.001)  # the host's clock went back a second mid-round
    ahead = Round(0.0, 5.0, 6.0, 0.001)  # or forward: longer on the host than the round trip
    assert estimate([back, ahead]) == (
        "no usable round out of 2 (a clock stepped during the exchange?)"
    )
    found = estimate([back, ahead, Round(0.0, 0.0005, 0.0005, 0.001)])
    assert isinstance(found, ClockEstimate) and found.rounds == 1
    assert estimate([]) == "no usable round out of 0 (a clock stepped during the exchange?)"


@pytest.mark.parametrize(
    ("offset", "uncertainty", "applied"),
    [
        (0.0848, 0.0882, 0.0),  # the old exec method on the one-machine lab: noise
        (-0.0002, 0.0002, 0.0),  # equal: still not measured
        (0.0101, 0.0003, 0.0101),
        (-2.5, 0.001, -2.5),
        (None, None, 0.0),
        (0.3, None, 0.3),  # no uncertainty recorded: the offset, as before
    ],
)
def test_only_a_measured_offset_is_applied(offset, uncertainty, applied):
    assert correction(offset, uncertainty) == applied


def test_ingest_moves_a_host_s_times_only_by_a_measured_offset(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(LAB, run)
    events = read_events(run)
    client = next(e for e in events if e.get("kind") == "host" and e["host"] == "lab-client")
    assert abs(client["clock_offset"]) <= client["clock_uncertainty"]  # recorded by exec rounds

    def frame_times(clock_offset: float, clock_uncertainty: float) -> tuple[list, list]:
        client.update(clock_offset=clock_offset, clock_uncertainty=clock_uncertainty)
        experiment, _, _ = build_experiment(run, read_plan(run), events, frozenset())
        table = experiment.tables["client_frames"]
        hosts = {row[0]: row for row in experiment.tables["hosts"].rows}
        at = experiment.tables["hosts"].fields.index("clock_offset_s")
        assert hosts["lab-client"][at] == clock_offset  # the hosts table keeps what was measured
        return [row[table.fields.index("time")] for row in table.rows], hosts

    as_written, _ = frame_times(client["clock_offset"], client["clock_uncertainty"])
    moved, _ = frame_times(-0.5, 0.001)
    assert len(moved) >= len(as_written) > 0
    assert moved[-len(as_written) :] == pytest.approx([t + 0.5 for t in as_written], abs=1e-6)


def test_the_responder_is_python_3_6_and_safe_in_single_quotes():
    ast.parse(RESPONDER, feature_version=(3, 6))
    assert "'" not in RESPONDER


def _runs(python: str | None) -> bool:
    if not python:
        return False
    return subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0


def _oldest_python() -> str:
    """A Python 3.6, the oldest a lab host may have; a developer's extra, not CI's."""
    pyenv = Path.home().glob(".pyenv/versions/3.6*/bin/python3")
    found = [shutil.which("python3.6"), *map(str, pyenv)]
    usable = [p for p in found if _runs(p)]
    if not usable:
        pytest.skip("no python3.6 here (the responder's syntax is checked for 3.6 anyway)")
    return usable[0]


@pytest.mark.parametrize("python", ["python3", "3.6"])
def test_the_responder_on_this_machine_says_zero_to_the_millisecond(python):
    if python == "python3":
        require(_runs(shutil.which(python)), "python3 is not on PATH")
    else:
        python = _oldest_python()
    found = measure([python, "-u", "-c", RESPONDER])
    assert isinstance(found, ClockEstimate), found
    assert found.rounds >= MIN_ROUNDS
    assert found.uncertainty <= 2 * MS
    assert abs(found.offset) <= 2 * MS
    assert found.corrected is False  # one clock: nothing to correct


def test_a_shell_s_chatter_before_the_responder_is_ignored():
    noisy = f'echo Welcome; echo 1 2 3; exec {sys.executable} -u -c "$0"'
    found = measure(["sh", "-c", noisy, RESPONDER])
    assert isinstance(found, ClockEstimate), found
    assert abs(found.offset) <= 2 * MS


def test_a_responder_that_cannot_run_is_a_message():
    gone = measure([sys.executable, "-c", "import sys; sys.stderr.write('no python3\\n'); exit(3)"])
    assert gone == "the responder ended (exit code 3): no python3"
    assert measure(["/nonexistent/python3"]) == (
        "cannot start /nonexistent/python3: No such file or directory"
    )


def _plugin(connection):
    spec = importlib.util.spec_from_file_location(
        "collector_clock", ROOT / "plugins" / "action" / "collector_clock.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ActionModule(
        task=mock.MagicMock(), connection=connection, play_context=connection._play_context,
        loader=None, templar=None, shared_loader_obj=None,
    )  # fmt: skip


def _ssh(tmp_path: Path, **variables):
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader

    context = PlayContext()
    context.remote_addr = "192.0.2.7"
    ssh = connection_loader.get("ssh", context, sys.stdin)
    ssh.set_options(
        var_options={"ansible_host": "192.0.2.7", "ansible_control_path_dir": str(tmp_path),
                     **variables}
    )  # fmt: skip
    return ssh


def test_the_ssh_channel_is_the_command_ansible_runs_for_the_host(tmp_path):
    ssh = _ssh(
        tmp_path, ansible_port=2222, ansible_user="bench",
        ansible_ssh_private_key_file="/keys/id_ed25519",
        ansible_ssh_common_args="-o UserKnownHostsFile=/lab/known_hosts",
    )  # fmt: skip
    argv = [a.decode() for a in _plugin(ssh)._channel("/usr/bin/python3")]
    assert argv[0] == "ssh"
    for option in ("Port=2222", 'User="bench"', 'IdentityFile="/keys/id_ed25519"',
                   "UserKnownHostsFile=/lab/known_hosts", "BatchMode=yes"):  # fmt: skip
        assert option in argv
    assert any(a.startswith(f'ControlPath="{tmp_path}/') for a in argv)  # the exec's master
    assert argv[-3:-1] == ["-T", "192.0.2.7"]
    assert argv[-1].startswith("/usr/bin/python3 -u -c 'import sys, time\n")


def test_no_channel_with_a_password_or_another_connection(tmp_path):
    ssh = _ssh(tmp_path, ansible_password="s3cret")
    assert _plugin(ssh)._channel("python3") == "the connection logs in with a password"

    from ansible.plugins.loader import connection_loader

    paramiko = connection_loader.get("paramiko_ssh", ssh._play_context, sys.stdin)
    refused = _plugin(paramiko)._channel("python3")
    assert refused == "the paramiko connection cannot keep a channel open"


def clock_module(arguments: dict | None = None) -> subprocess.CompletedProcess:
    """The real ``ansible``, finding the plugin through ansible.cfg as the playbooks do."""
    extra = ["-a", json.dumps(arguments)] if arguments else []
    return subprocess.run(
        [str(BIN / "ansible"), "localhost", "-i", "inventory/local.yml", "-m", "collector_clock",
         *extra],
        cwd=ROOT, env=env(venv_on_path=True), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


@pytest.mark.integration
def test_the_plugin_over_a_local_connection_measures_zero():
    done = clock_module()
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.split("=>", 1)[1])
    assert result["method"] == "exchange"
    assert result["rounds"] >= MIN_ROUNDS
    assert abs(result["offset"]) <= 2 * MS
    assert result["uncertainty"] <= 2 * MS
    assert result["rtt_min"] <= 2 * result["uncertainty"]
    assert result["corrected"] is False


@pytest.mark.integration
def test_describing_the_host_rides_on_the_first_exchange():
    """One exec gives the description, the missing commands and the first clock reading."""
    done = clock_module({"describe": True, "commands": ["sh", "no-such-tool-xyz"]})
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.split("=>", 1)[1])
    assert result["missing"] == ["no-such-tool-xyz"]
    assert result["info"]["cpus"] == os.cpu_count()
    assert "time" not in result["info"]
    assert abs(result["offset"]) <= 2 * MS

    broken = clock_module({"describe": True, "python": "/nonexistent/python3"})
    assert broken.returncode != 0
    assert "cannot describe the host with /nonexistent/python3" in broken.stdout
