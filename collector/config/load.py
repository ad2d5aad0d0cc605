"""Load benchmark.yaml, merge secure.yaml into it, and validate the result.

Everything a user can get wrong is reported before a single host is touched,
as one ConfigError naming the file, the key path and the problem. Values are
never echoed in messages: any of them may have come from secure.yaml, and a
message ends up in terminals, logs and bug reports.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collector.config.merge import Merger
from collector.config.model import COMMAND_LINE, TOP_LEVEL_KEYS, Config, KeyPath, kind
from collector.config.validate import Origins, Validator
from collector.config.yamlfile import display_path, format_key_path, load_yaml_file
from collector.errors import ConfigError
from collector.paths import DEFAULT_CONFIG, EXAMPLE_CONFIG, ROLES_DIR


def load_config(
    config_path: Path | None = None,
    secure_path: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    roles_dir: Path = ROLES_DIR,
    default_config: Path = DEFAULT_CONFIG,
    example_config: Path = EXAMPLE_CONFIG,
) -> Config:
    """Load, merge and validate the configuration.

    ``overrides`` are settings from the command line, applied last; a key may
    be dotted (``databases.local``) and a None value means "not given".
    ``default_config`` and ``example_config`` exist so the fallback to the
    example can be tested without touching the project's files.
    """
    notes: list[str] = []
    if config_path is None:
        if default_config.exists():
            path = Path(default_config)
        else:
            path = Path(example_config)
            notes.append(
                f"no {display_path(default_config)}: using the example's local measurements "
                f"from {display_path(path)}"
            )
        config_name = display_path(path)
    else:
        path = Path(config_path)
        config_name = os.fspath(config_path)
    if not path.exists():
        raise ConfigError(config_name, "", "file not found")
    base = _load_mapping(path, config_name)

    secure: dict = {}
    secure_file: Path | None
    if secure_path is None:
        candidate = path.parent / "secure.yaml"
        secure_file = candidate if candidate.exists() else None
        secure_name = os.fspath(candidate) if config_path is not None else display_path(candidate)
    else:
        secure_file = Path(secure_path)
        secure_name = os.fspath(secure_path)
        if not secure_file.exists():
            raise ConfigError(secure_name, "", "file not found")
    merger = Merger(config_name, secure_name)
    if secure_file is not None:
        secure = _load_mapping(secure_file, secure_name)
    data = merger.merge(base, secure)
    origins = Origins(config_name, secure_name, merger.introduced)
    secrets = _apply_overrides(data, overrides or {}, merger.secrets, origins)

    validator = Validator(origins, roles_dir)
    validator.check_keys(data, (), TOP_LEVEL_KEYS)
    config_dir = Path(os.path.abspath(path)).parent
    return Config(
        path=Path(os.path.abspath(path)),
        secure_path=Path(os.path.abspath(secure_file)) if secure_file is not None else None,
        description=validator.description(data),
        duration=validator.duration(data),
        measurements=validator.measurements(data, validator.group_map(data)),
        local_database=validator.local_database(data, config_dir),
        remote_database=validator.remote_database(data),
        machines=validator.machines(data),
        matrix=validator.matrix(data),
        warmup=validator.seconds(data, "warmup"),
        cooldown=validator.seconds(data, "cooldown"),
        data=data,
        secret_paths=frozenset(secrets),
        notes=tuple(notes),
    )


def _load_mapping(path: Path, name: str) -> dict:
    data = load_yaml_file(path, name)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(name, "", f"expected a mapping at the top level, got {kind(data)}")
    return data


def _apply_overrides(
    data: dict, overrides: Mapping[str, Any], secrets: set[KeyPath], origins: Origins
) -> set[KeyPath]:
    """Set command-line values in ``data``; return the secret paths that survive."""
    if not isinstance(overrides, Mapping):
        raise ConfigError(COMMAND_LINE, "", "expected a mapping of settings")
    secrets = set(secrets)
    for key, value in overrides.items():
        if value is None:
            continue
        if not isinstance(key, str) or not key or "" in key.split("."):
            raise ConfigError(COMMAND_LINE, str(key), "expected a setting name like 'duration'")
        path: KeyPath = tuple(key.split("."))
        target = data
        for depth, part in enumerate(path[:-1]):
            child = target.get(part)
            if child is None:
                child = target[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(
                    COMMAND_LINE, key, f"{format_key_path(path[: depth + 1])} is not a mapping"
                )
            target = child
        target[path[-1]] = copy.deepcopy(value)
        # What the command line replaced is no longer secure.yaml's.
        secrets = {p for p in secrets if p[: len(path)] != path}
        origins.introduced = {p for p in origins.introduced if p[: len(path)] != path}
        origins.command_line.add(path)
    return secrets
