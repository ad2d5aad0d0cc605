"""An Ansible inventory from the old script's ``machines:``.

The old script's benchmark.yaml named its machines itself::

    machines:
      guest: {type: remote, host: root@192.168.1.83}
      client:                       # empty: this machine
      host: {type: remote, host: root@lab-server}

When no inventory is given and ``machines:`` names a remote machine, the run
uses the inventory built here (SSH to each address as its user; this machine
for an empty entry or ``type: local``), and ``python -m collector inventory
--from benchmark.yaml`` writes it out to keep and edit.
"""

from __future__ import annotations

from typing import Any

from collector.errors import ConfigError

LOCALHOST = "localhost"
# the controller's own Python, as inventory/local.yml does for this machine
LOCAL_VARS = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
}


def _address(entry: Any) -> tuple[str, dict[str, Any]]:
    """The inventory name and variables of one ``machines:`` entry."""
    if entry is None:
        return LOCALHOST, dict(LOCAL_VARS)
    if isinstance(entry, dict):
        if entry.get("type") == "local" or entry.get("host") is None:
            return LOCALHOST, dict(LOCAL_VARS)
        entry = entry["host"]
    user, _, address = str(entry).rpartition("@")
    host, port = address, None
    if address.count(":") == 1:  # user@address:port (an IPv6 address has more colons)
        host, _, port_text = address.partition(":")
        port = int(port_text) if port_text.isdigit() else None
    variables: dict[str, Any] = {"ansible_host": host}
    if user:
        variables["ansible_user"] = user
    if port is not None:
        variables["ansible_port"] = port
    return host, variables


def has_remote(machines: dict[str, Any]) -> bool:
    """Whether ``machines:`` names a machine other than this one."""
    return any(_address(entry)[0] != LOCALHOST for entry in machines.values())


def inventory_from_machines(machines: dict[str, Any], source: str) -> dict[str, Any]:
    """The inventory ``machines:`` describes: one group per key, one host per address.

    ``source`` is the config file, for the message when an address is given
    twice with different users or ports.
    """
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for group, entry in machines.items():
        name, variables = _address(entry)
        known = hosts.setdefault(name, variables)
        if known != variables:
            raise ConfigError(
                source, f"machines.{group}", f"{name} is given twice with different users or ports"
            )
        groups[group] = {"hosts": {name: None}}
    return {"all": {"hosts": hosts, "children": groups}}


def describe(machines: dict[str, Any]) -> str:
    """One line: which machine plays which part, as the run says it."""
    parts = []
    for group, entry in machines.items():
        name, variables = _address(entry)
        user = variables.get("ansible_user")
        where = "this machine" if name == LOCALHOST else f"{name}{' as ' + user if user else ''}"
        parts.append(f"{group} {where}")
    return ", ".join(parts)
