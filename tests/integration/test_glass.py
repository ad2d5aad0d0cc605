"""The truth on the glass, on the one-machine lab: marked frames through Xspice and remote-viewer.

Four runs, each a real benchmark over SSH: through a delaying relay of our
own (tests/integration/delay_relay.py, in the client's namespace) at 0 ms and
at 150 ms; capped at 500 kbit/s; and the floor, the grabber reading the
guest's own display with no SPICE in between. Needs root, like test_lab.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from statistics import median

import pytest

from collector import store
from collector.measurements.glass import parse_grabs
from collector.measurements.workload import parse as parse_workload
from tests.integration.helpers import ROOT, collector, rows, run_dir, write_config
from tests.integration.test_lab import INVENTORY, lab_for_the_module

pytestmark = pytest.mark.integration

DELAY_MS = 150
RELAY_PORT = 5999
GRAB_RATE = 60
DURATION = 8


lab_up = pytest.fixture(scope="module", name="lab_up")(lab_for_the_module)


class Relay:
    """The delaying relay in the client's namespace, in front of the lab's SPICE server."""

    def __init__(self, lab_state: dict) -> None:
        self.lab_state = lab_state
        self.proc: subprocess.Popen | None = None

    def start(self, down_ms: float) -> None:
        self.stop()
        target = f"{self.lab_state['link_addresses']['host']}:5900"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lab_state["namespaces"]["client"], sys.executable,
             str(ROOT / "tests/integration/delay_relay.py"), f"127.0.0.1:{RELAY_PORT}", target,
             str(down_ms)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout.readline().strip() == "listening"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def run(directory: Path, measurements: list, warmup: float = 3) -> tuple[Path, str]:
    config = write_config(directory, measurements, duration=DURATION, warmup=warmup)
    result = collector("run", "-c", str(config), "-i", str(INVENTORY), timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    (experiment,) = store.list_experiments(config.parent / "db" / "bench.db")
    full = store.get_experiment(config.parent / "db" / "bench.db", experiment["uuid"])
    assert full["status"] == "ok", full["status_detail"]
    return config, experiment["uuid"]


@pytest.fixture(scope="module")
def runs(lab_up, tmp_path_factory) -> Iterator[dict[str, tuple[Path, str]]]:
    relay = Relay(lab_up)
    through_relay = [
        {"workload": {"name": "marked-ball"}},
        {"remote_viewer": {"uri": f"spice://127.0.0.1:{RELAY_PORT}"}},
        {"glass": {"rate": GRAB_RATE}},
    ]
    found = {}
    try:
        relay.start(0)
        found["direct"] = run(tmp_path_factory.mktemp("relay-0"), through_relay)
        relay.start(DELAY_MS)
        found["delayed"] = run(tmp_path_factory.mktemp("relay-150"), through_relay)
        relay.stop()
        # Through the cap, the first picture alone takes many seconds: a long warm-up.
        found["capped"] = run(
            tmp_path_factory.mktemp("capped"),
            ["remote_viewer", {"workload": {"name": "marked-ball"}}, {"glass": {}},
             {"network_conditions": {"rate": "500kbit"}}],
            warmup=15,
        )  # fmt: skip
        found["floor"] = run(
            tmp_path_factory.mktemp("floor"),
            [{"workload": {"name": "marked-motion"}},
             {"glass": {"machine": ["guest"], "display": f":{lab_up['spice_display']}",
                        "rate": GRAB_RATE}}],
        )  # fmt: skip
        yield found
    finally:
        relay.stop()


def figures(config: Path, uuid: str) -> dict:
    shown = collector("show", "-c", str(config), uuid, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["figures"]


def latencies(config: Path, uuid: str) -> list[float]:
    return [r["latency_ms"] for r in rows(config, "glass_frames", uuid) if r["latency_ms"]]


def test_a_known_delay_is_recovered(runs):
    direct, delayed = median(latencies(*runs["direct"])), median(latencies(*runs["delayed"]))
    assert delayed - direct == pytest.approx(DELAY_MS, abs=15), (direct, delayed)


def test_the_floor_is_below_two_grab_intervals(runs):
    config, uuid = runs["floor"]
    floor = figures(config, uuid)["glass"]["lab-guest"]
    assert floor["latency_p50_ms"] < 2 * 1000 / GRAB_RATE, floor
    assert floor["shown"] > 0.8 * DURATION * 30, floor
    # the grab is the drawn frame, pixel for pixel: alignment and reference agree
    assert floor["psnr_mean_db"] == 100.0 and floor["ssim_mean"] == 1.0, floor


def test_a_cap_hurts_in_the_right_direction(runs):
    direct = figures(*runs["direct"])["glass"]["lab-client"]
    capped = figures(*runs["capped"])["glass"]["lab-client"]
    assert capped["latency_p50_ms"] > direct["latency_p50_ms"], (capped, direct)
    assert capped["shown_fps"] < direct["shown_fps"], (capped, direct)
    assert capped["never_shown"] > direct["never_shown"], (capped, direct)


def test_frames_shown_agree_with_the_client_s_own_log(runs):
    config, uuid = runs["direct"]
    found = figures(config, uuid)
    glass = found["glass"]["lab-client"]
    (client,) = found["client_frames"].values()
    assert glass["shown_fps"] == pytest.approx(client["fps"], rel=0.05), (glass, client)
    assert glass["psnr_mean_db"] > 25 and glass["ssim_mean"] > 0.7, glass


def test_no_frame_number_is_misread(runs):
    for name, (config, uuid) in runs.items():
        host = "lab-guest" if name == "floor" else "lab-client"
        raw = run_dir(config, uuid) / "raw"
        grabs = parse_grabs((raw / host / "glass/output").read_text())["glass_grabs"].rows
        drawn = parse_workload((raw / "lab-guest/workload/output").read_text())["workload_frames"]
        drawn_numbers = {frame for _, frame in drawn.rows}
        read = [frame for _, frame in grabs if frame >= 0]
        assert read, name
        # never backwards, never a number the guest did not draw (or not yet)
        assert all(b >= a for a, b in pairwise(read)), name
        assert set(read) <= drawn_numbers, (name, sorted(set(read) - drawn_numbers)[:10])
        assert all(r["repeats"] == 0 for r in rows(config, "glass_frames", uuid)), name


def test_clock_offsets_are_good_to_two_milliseconds(runs):
    config, uuid = runs["direct"]
    hosts = rows(config, "hosts", uuid)
    assert {h["host"] for h in hosts} == {"lab-guest", "lab-client"}
    for h in hosts:
        assert abs(h["clock_offset_s"]) <= 0.002, h
        assert h["clock_uncertainty_s"] <= 0.002, h
