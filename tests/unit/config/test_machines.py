"""The old script's machines: as an Ansible inventory, for runs given no inventory."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from collector import cli
from collector.config import load_config
from collector.config.machines import describe, has_remote, inventory_from_machines
from collector.errors import ConfigError
from collector.running.run import MACHINES_INVENTORY, inventory_for

OLD = Path(__file__).parents[2] / "fixtures" / "config" / "old-benchmark.yaml"
ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def test_the_old_example_s_machines():
    machines = yaml.safe_load(OLD.read_text())["machines"]
    inventory = inventory_from_machines(machines, "benchmark.yaml")
    assert inventory["all"]["hosts"] == {
        "192.168.1.83": {"ansible_host": "192.168.1.83", "ansible_user": "root"},
        "localhost": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        },
        "lab-server": {"ansible_host": "lab-server", "ansible_user": "root"},
    }
    assert inventory["all"]["children"] == {
        "guest": {"hosts": {"192.168.1.83": None}},
        "client": {"hosts": {"localhost": None}},
        "host": {"hosts": {"lab-server": None}},
    }
    assert has_remote(machines)
    assert describe(machines) == (
        "guest 192.168.1.83 as root, client this machine, host lab-server as root"
    )


def test_ports_plain_names_local_entries_and_a_shared_machine():
    machines = {
        "host": "admin@10.0.0.5:2222",
        "guest": {"type": "local"},
        "client": {"type": "remote", "host": "admin@10.0.0.5:2222"},  # the same machine
    }
    inventory = inventory_from_machines(machines, "b.yaml")
    assert inventory["all"]["hosts"]["10.0.0.5"] == {
        "ansible_host": "10.0.0.5", "ansible_user": "admin", "ansible_port": 2222,
    }  # fmt: skip
    assert set(inventory["all"]["hosts"]) == {"10.0.0.5", "localhost"}
    assert not has_remote({"guest": None, "client": {"type": "local"}})
    with pytest.raises(ConfigError, match=r"b\.yaml: machines\.client: 10\.0\.0\.5 is given twice"):
        inventory_from_machines({**machines, "client": "root@10.0.0.5"}, "b.yaml")


def test_a_run_without_inventory_uses_the_machines_and_says_so(tmp_path: Path):
    config_path = tmp_path / "benchmark.yaml"
    shutil.copy(OLD, config_path)
    config = load_config(config_path)
    out = io.StringIO()
    path = inventory_for(None, config, out)
    assert path == (tmp_path / "results" / MACHINES_INVENTORY).resolve()
    assert yaml.safe_load(path.read_text()) == inventory_from_machines(config.machines, "x")
    assert out.getvalue() == (
        "inventory: built from machines: in benchmark.yaml (guest 192.168.1.83 as root, client "
        f"this machine, host lab-server as root): {tmp_path / 'results' / MACHINES_INVENTORY}\n"
    )
    # an inventory given wins, and a config with only this machine keeps the default
    given = tmp_path / "lab.yml"
    given.write_text("all: {}\n")
    assert inventory_for(given, config, io.StringIO()) == given.resolve()
    config_path.write_text("measurements: [test]\nmachines: {guest: , client: }\n")
    assert inventory_for(None, load_config(config_path), io.StringIO()).name == "local.yml"


def test_the_inventory_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = io.StringIO()
    written = tmp_path / "lab.yml"
    assert cli.main(["inventory", "--from", str(OLD), "-o", str(written)], out=out) == 0
    assert out.getvalue().startswith(f"wrote {written}: guest 192.168.1.83 as root")
    text = written.read_text()
    assert text.startswith("# Built from machines: in ")
    assert yaml.safe_load(text)["all"]["children"]["host"] == {"hosts": {"lab-server": None}}
    # Ansible reads it as it is
    graph = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(written), "--graph"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "@guest:\n  |  |--192.168.1.83" in graph
    out = io.StringIO()
    assert cli.main(["inventory", "--from", str(OLD)], out=out) == 0
    assert yaml.safe_load(out.getvalue()) == yaml.safe_load(text)
    plain = tmp_path / "plain.yaml"
    plain.write_text("measurements: [test]\n")
    capsys.readouterr()
    assert cli.main(["inventory", "--from", str(plain)], out=io.StringIO()) != 0
    assert capsys.readouterr().err == f"error: {plain}: no machines: to build an inventory from\n"
