"""Where the project's own files live, wherever the tool is started from."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROLES_DIR = PROJECT_ROOT / "roles"
PLAYBOOKS_DIR = PROJECT_ROOT / "playbooks"
DEFAULT_CONFIG = PROJECT_ROOT / "benchmark.yaml"
EXAMPLE_CONFIG = PROJECT_ROOT / "benchmark.yaml.example"
DEFAULT_INVENTORY = PROJECT_ROOT / "inventory" / "local.yml"
