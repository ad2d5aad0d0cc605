"""``python -m collector lab up|down|status``: the one-machine SPICE lab.

The work is in ``playbooks/lab.yml`` (roles/lab); this module checks first
that the lab can run here at all, so the answer to "why not" is one line.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

from collector.errors import CollectorError
from collector.paths import PLAYBOOKS_DIR, PROJECT_ROOT, ansible_bin

ACTIONS = ("up", "down", "status")
LAB_INVENTORY = PROJECT_ROOT / "inventory" / "lab.yml"


def check_host() -> None:
    if platform.system() != "Linux":
        raise CollectorError(f"the lab needs Linux network namespaces; this is {platform.system()}")
    if os.geteuid() != 0:
        raise CollectorError("the lab needs root (network namespaces, Xorg, sshd): run it as root")
    if shutil.which("ip") is None:
        raise CollectorError("the lab needs `ip` with netns support: install iproute2")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise CollectorError(f"`ip netns` does not work here: {probe.stderr.strip()}")


PREFIX = re.compile(r"[a-z][a-z0-9]{0,6}")


def lab(action: str, prefix: str | None = None) -> int:
    if action not in ACTIONS:
        raise CollectorError(f"lab: unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if prefix is not None and not PREFIX.fullmatch(prefix):
        # Interface names are at most 15 characters: PREFIX-client and PREFIX-ct must fit.
        raise CollectorError(
            f"lab: --prefix {prefix!r} must be 1 to 7 lower-case letters or digits, "
            "starting with a letter"
        )
    check_host()
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(PROJECT_ROOT / "ansible.cfg"),
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",  # keep the output to what was done
    )
    command = [
        str(ansible_bin() / "ansible-playbook"),
        str(PLAYBOOKS_DIR / "lab.yml"),
        "-e",
        f"lab_state={action}",
    ]
    if prefix is not None:
        command += ["-e", f"lab_prefix={prefix}"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=False)
    return 0 if result.returncode == 0 else 1
