"""What a validated configuration is: the Config and its measurements.

The loader (collector.config.load) builds one; everything else reads it. The
secrets stay in ``data`` and out of every repr and message.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.config.secrets import MASK

COMMAND_LINE = "command line"
DEFAULT_DURATION = 10.0
DEFAULT_LOCAL_DATABASE = Path("results") / "benchmark.db"

TOP_LEVEL_KEYS = (
    "description", "duration", "warmup", "cooldown", "measurements", "machines", "databases",
    "matrix", "groups",
)  # fmt: skip
DATABASE_KEYS = ("local", "remote")
LOCAL_DATABASE_KEYS = ("path", "type")
LOCAL_DATABASE_TYPES = ("sqlite",)  # the old script's ``type: sqlite``: the only kind
REMOTE_DATABASE_KEYS = (
    "type",
    "host",
    "port",
    "user",
    "database",
    "password",
    "sslmode",
    "service",
    "schema",
)
REMOTE_DATABASE_TYPES = ("postgresql",)
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
MATRIX_MODES = ("baseline", "full")
MATRIX_KEYS = ("mode", "repeat")
# The old script's machines: {GROUP: {type: remote, host: user@address}}, or empty: this one.
MACHINE_TYPES = ("remote", "local")
# The groups the roles' defaults name, which groups: maps onto an inventory's own.
OUR_GROUPS = ("host", "guest", "client")
# Options that pick the inventory groups instead of setting a role variable.
MACHINE_OPTIONS = ("machine", "machines")

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class MeasurementConfig:
    """One measurement to run: which role, on which groups, with which variables.

    Options and variables stay out of the repr: secure.yaml may have set them.
    """

    name: str
    role: str
    groups: tuple[str, ...]
    options: dict[str, Any] = field(repr=False)
    variables: dict[str, Any] = field(repr=False)
    # the old script's parameter names of the old options used (``FPS``): kept findable
    legacy_parameters: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, repr=False)
class Config:
    """A validated configuration.

    ``data`` holds the secrets in clear; anything shown to a user or written
    to disk goes through ``redacted()`` and ``secret_values()`` instead.
    """

    path: Path
    secure_path: Path | None
    description: str
    duration: float
    measurements: tuple[MeasurementConfig, ...]
    local_database: Path
    remote_database: dict | None
    machines: dict
    matrix: dict
    data: dict
    secret_paths: frozenset[tuple]
    notes: tuple[str, ...] = ()
    # Seconds the workload (and network conditions) run before the window
    # opens, and seconds to wait after a run before the next one of a sweep.
    warmup: float = 0.0
    cooldown: float = 0.0

    def __repr__(self) -> str:
        # Only what cannot hold a secret: a stray print or log line must be safe.
        names = ", ".join(f"{m.name!r}" for m in self.measurements)
        return (
            f"Config(path={str(self.path)!r}, secure_path="
            f"{str(self.secure_path) if self.secure_path else None!r}, "
            f"measurements=({names}), local_database={str(self.local_database)!r}, "
            f"secrets={len(self.secret_paths)})"
        )

    def redacted(self) -> dict:
        """Return a copy of ``data`` safe to print or store."""
        data = copy.deepcopy(self.data)
        for path in self.secret_paths:
            parent = _lookup(data, path[:-1]) if path else None
            if _has(parent, path[-1]):
                parent[path[-1]] = MASK
        return data

    def secret_values(self) -> frozenset[str]:
        """Return the secret values as text, to scrub them out of command output and logs.

        Nulls and booleans are left out: scrubbing every "True" from a log
        would hide nothing and mangle everything.
        """
        values: set[str] = set()
        for path in self.secret_paths:
            value = _lookup(self.data, path)
            if value is None or isinstance(value, bool | dict | list):
                continue
            text = str(value)
            if text:
                values.add(text)
        return frozenset(values)


def _lookup(data: Any, path: Iterable[str | int]) -> Any:
    """Follow a key path; None when it leads nowhere."""
    for part in path:
        if not _has(data, part):
            return None
        data = data[part]
    return data


def _has(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def kind(value: Any) -> str:
    """Name a value's type for a message, without showing the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return "a date"
    return f"a {type(value).__name__}"
