"""Where the project's own files live, wherever the tool is started from."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROLES_DIR = PROJECT_ROOT / "roles"
PLAYBOOKS_DIR = PROJECT_ROOT / "playbooks"
DEFAULT_CONFIG = PROJECT_ROOT / "benchmark.yaml"
EXAMPLE_CONFIG = PROJECT_ROOT / "benchmark.yaml.example"
DEFAULT_INVENTORY = PROJECT_ROOT / "inventory" / "local.yml"


def ansible_bin() -> Path:
    """The directory of this Python environment's ansible-playbook.

    The virtualenv need not be activated: ``.venv/bin/python -m collector``
    must still run that environment's Ansible.
    """
    from collector.errors import CollectorError

    beside = Path(sys.executable).parent / "ansible-playbook"
    if beside.exists():
        return beside.parent
    found = shutil.which("ansible-playbook")
    if found is None:
        raise CollectorError(
            "ansible-playbook not found: install ansible-core in this Python environment"
        )
    return Path(found).parent
