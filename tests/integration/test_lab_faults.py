"""A lab that misbehaves: a host lost mid-window costs only that host and is recovered later;
a host whose SSH key changed is refused, whichever way the run is started.

Needs root, like test_lab.py; brings the lab up (harmless when it is up) and down at the end.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.integration.helpers import (
    BIN,
    ROOT,
    collector,
    env,
    only_experiment,
    processes_of,
    rows,
    start_run,
    wait_for_window,
    write_config,
)
from tests.integration.test_lab import INVENTORY, LAB_DIR, lab_for_the_module

pytestmark = pytest.mark.integration

SIX = ["workload", "spice_server", "remote_viewer", "network", "process", "system"]


lab_up = pytest.fixture(scope="module", name="lab_up")(lab_for_the_module)


def link(lab_state: dict, machine: str, up: bool) -> None:
    namespace = lab_state["namespaces"][machine]
    subprocess.run(
        ["ip", "-n", namespace, "link", "set", "lab0", "up" if up else "down"], check=True
    )


def test_a_guest_lost_mid_window_costs_only_the_guest_and_is_recovered(lab_up, tmp_path):
    duration = 20
    config = write_config(tmp_path, SIX, duration=duration, warmup=2)
    run = start_run(config, "-i", str(INVENTORY))
    wait_for_window(config, timeout=300)
    time.sleep(2 + 5)  # the warm-up, then 5 s into the window
    cut = time.time()
    link(lab_up, "guest", up=False)
    try:
        out, _ = run.communicate(timeout=600)
        ended = time.time()
    finally:
        link(lab_up, "guest", up=True)
    # the window's 15 s left, then stop, collect and save: the guest given up within 60 s
    assert ended - cut < duration - 5 + 60 + 60, out
    assert run.returncode == 1, out
    experiment = only_experiment(config)
    uuid = experiment["uuid"]
    assert experiment["status"] == "partial"
    assert "lab-guest was lost in stop" in experiment["status_detail"]
    failures = rows(config, "failures", uuid)
    assert [(f["host"], f["phase"]) for f in failures] == [("lab-guest", "stop")]
    # the host's and the client's data are all there
    assert rows(config, "client_frames", uuid) and rows(config, "spice_client_reports", uuid)
    hosts_with_system = {r["host"] for r in rows(config, "system", uuid)}
    assert hosts_with_system == {"lab-host", "lab-client"}
    assert "lab-guest" not in {r["host"] for r in rows(config, "process", uuid)}

    # back: what the guest measured stayed on it, and recover adds it
    wait_for_ssh(lab_up["addresses"]["guest"])
    recovered = collector("recover", uuid, "-c", str(config))
    assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr[-2000:]
    assert "lab-guest" in recovered.stdout
    experiment = only_experiment(config)
    assert experiment["status"] == "ok", experiment["status_detail"]
    assert rows(config, "failures", uuid) == []
    assert {r["host"] for r in rows(config, "system", uuid)} == {
        "lab-host", "lab-guest", "lab-client",
    }  # fmt: skip
    guest = [r for r in rows(config, "samplers", uuid) if r["host"] == "lab-guest"]
    assert guest and {r["end_reason"] for r in guest} == {"window_end"}
    assert len(rows(config, "client_frames", uuid)) > 100  # unchanged, not doubled
    assert processes_of(uuid) == []


def test_a_run_that_loses_every_host_still_saves_what_it_knows(lab_up, tmp_path):
    """Ansible ends a playbook when every host of a play is lost: the run saves anyway."""
    config = write_config(tmp_path, [{"system": {"machine": "guest"}}], duration=6)
    run = start_run(config, "-i", str(INVENTORY))
    wait_for_window(config, timeout=300)
    time.sleep(2)
    link(lab_up, "guest", up=False)
    try:
        out, _ = run.communicate(timeout=300)
    finally:
        link(lab_up, "guest", up=True)
    assert run.returncode == 1, out
    experiment = only_experiment(config)
    assert experiment["status"] == "failed"
    assert "lab-guest was lost in stop" in experiment["status_detail"]
    wait_for_ssh(lab_up["addresses"]["guest"])
    recovered = collector("recover", experiment["uuid"], "-c", str(config))
    assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr[-2000:]
    assert only_experiment(config)["tables"]["system"] >= 4


def wait_for_ssh(address: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        probe = subprocess.run(
            ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o",
             f"UserKnownHostsFile={LAB_DIR / 'known_hosts'}", "-i", str(LAB_DIR / "id_ed25519"),
             f"root@{address}", "true"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        if probe.returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{address} does not answer over SSH")


def test_a_changed_host_key_is_refused_by_both_ways_of_running(lab_up, tmp_path):
    known = LAB_DIR / "known_hosts"
    original = known.read_text()
    lines = original.splitlines()
    guest = lab_up["addresses"]["guest"]
    # the guest's address with another machine's key: what a changed key looks like
    other_key = next(line for line in lines if not line.startswith(guest + " ")).split(" ", 1)[1]
    changed = [f"{guest} {other_key}" if line.startswith(guest + " ") else line for line in lines]
    known.write_text("\n".join(changed) + "\n")
    measured = [{"system": {"machine": ["host", "guest"]}}]
    config = write_config(tmp_path, measured, duration=2)
    book_config = write_config(tmp_path / "book", measured, duration=2)
    try:
        cli = collector("run", "-c", str(config), "-i", str(INVENTORY))
        book = subprocess.run(
            [str(BIN / "ansible-playbook"), "playbooks/benchmark.yml", "-i", str(INVENTORY),
             "-e", f"config={book_config}"],
            cwd=ROOT, env=env(venv_on_path=True), capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
    finally:
        known.write_text(original)
    message = f"lab-guest: the SSH host key of {guest} is unknown or has changed"
    assert cli.returncode == 1 and message in cli.stdout, cli.stdout[-3000:]
    assert f"ssh-keyscan {guest} >> {known}" in cli.stdout
    assert book.returncode != 0 and message in book.stdout, book.stdout[-3000:]
    for used in (config, book_config):
        experiment = only_experiment(used)
        assert experiment["status"] == "failed"
        failures = rows(used, "failures", experiment["uuid"])
        assert [(f["host"], f["phase"]) for f in failures] == [("lab-guest", "preflight")]
        assert "system" not in experiment["tables"]  # nothing was measured
    # with the right key back, the same run measures both
    again = collector("run", "-c", str(config), "-i", str(INVENTORY))
    assert again.returncode == 0, again.stdout[-3000:]
