"""What a sweep's runs reuse of each other's preflight, and when they must not."""

from __future__ import annotations

import json

from collector.running.events import append_event
from collector.running.preflight_cache import checked_hosts, inventory_fingerprint


def run_dir(tmp_path, *events, hosts=("a", "b")):
    d = tmp_path / "run-1"
    d.mkdir()
    plan = {"run_id": "run-1", "hosts": {h: {"preflight_key": f"key-{h}"} for h in hosts}}
    (d / "plan.json").write_text(json.dumps(plan))
    for e in events:
        append_event(d, e)
    return d


def test_the_hosts_a_passed_preflight_described(tmp_path):
    d = run_dir(
        tmp_path,
        {"kind": "host", "host": "a", "info": {"cpus": 2}},
        {"kind": "host", "host": "b", "info": {"cpus": 4}},
        {"kind": "failure", "host": "b", "phase": "start", "measurement": "test"},
    )
    assert checked_hosts(d) == {
        "a": {"key": "key-a", "info": {"cpus": 2}, "run_id": "run-1"},
        "b": {"key": "key-b", "info": {"cpus": 4}, "run_id": "run-1"},
    }


def test_a_failed_preflight_vouches_for_no_host(tmp_path):
    d = run_dir(
        tmp_path,
        {"kind": "host", "host": "a", "info": {"cpus": 2}},
        {"kind": "failure", "host": "b", "phase": "preflight", "message": "display"},
    )
    assert checked_hosts(d) == {}
    assert checked_hosts(tmp_path / "no-such-run") == {}


def test_a_measurement_left_out_by_preflight_has_its_host_checked_again(tmp_path):
    d = run_dir(
        tmp_path,
        {"kind": "host", "host": "a", "info": {"cpus": 2}},
        {"kind": "host", "host": "b", "info": {"cpus": 4}},
        {"kind": "failure", "host": "b", "phase": "preflight", "measurement": "gpu",
         "message": "no GPU tool"},
    )  # fmt: skip
    assert set(checked_hosts(d)) == {"a"}


def test_the_inventory_fingerprint_follows_every_file_ansible_reads(tmp_path):
    inventory = tmp_path / "lab.yml"
    inventory.write_text("all: {hosts: {a: {}}}\n")
    before = inventory_fingerprint(inventory)
    assert inventory_fingerprint(inventory) == before
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("remote_viewer_uri: spice://a:5900\n")
    with_vars = inventory_fingerprint(inventory)
    assert with_vars != before
    (tmp_path / "group_vars" / "all.yml").write_text("remote_viewer_uri: spice://b:5900\n")
    assert inventory_fingerprint(inventory) != with_vars
    (tmp_path / "notes.txt").write_text("not read by Ansible")
    assert inventory_fingerprint(tmp_path / "lab.yml") == inventory_fingerprint(inventory)
    # a directory inventory: every file in it
    (tmp_path / "hosts.ini").write_text("[host]\na\n")
    directory = inventory_fingerprint(tmp_path)
    (tmp_path / "hosts.ini").write_text("[host]\nb\n")
    assert inventory_fingerprint(tmp_path) != directory
