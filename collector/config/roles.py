"""The catalog of measurement roles, read from ``roles/`` on every call.

A role is the unit a user names in ``measurements:``; its
``meta/argument_specs.yml`` is the single source of truth for which options a
measurement takes, so the config is validated against the same spec Ansible
enforces when the role runs. Reading a handful of small YAML files is cheap,
so nothing is cached and a role edited between two runs is always seen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.config.yamlfile import display_path, format_key_path, load_yaml_file
from collector.errors import ConfigError
from collector.paths import ROLES_DIR

# Types Ansible's argument spec validator knows; anything else is a typo in the role.
ARGUMENT_TYPES = frozenset(
    {"str", "int", "float", "bool", "list", "dict", "path", "raw"}
    | {"bits", "bytes", "json", "jsonarg", "sid"}
)


@dataclass(frozen=True)
class RoleInfo:
    """What the config needs to know about one measurement role."""

    name: str
    path: Path
    defaults: dict[str, Any]
    options: dict[str, dict]
    entry_points: tuple[str, ...]
    groups: tuple[str, ...]
    required_commands: tuple[str, ...]


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """Turn the old script's CamelCase names into role names (``SpiceServer`` → ``spice_server``).

    Acronyms stay together (``GPU`` → ``gpu``, ``GPUStats`` → ``gpu_stats``).
    """
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def resolve_measurement(name: str, catalog: Mapping[str, RoleInfo]) -> str | None:
    """Map a measurement name from the config to a role name, or None if there is none."""
    if not isinstance(name, str):
        return None
    if name in catalog:
        return name
    snake = snake_case(name)
    return snake if snake in catalog else None


def discover_roles(roles_dir: Path = ROLES_DIR) -> dict[str, RoleInfo]:
    """Read every measurement role under ``roles_dir``, keyed by role name.

    Support roles (no ``tasks/start.yml`` or no ``<name>_machines`` default)
    are skipped, not rejected: they are not something a user can measure.
    """
    catalog: dict[str, RoleInfo] = {}
    if not roles_dir.is_dir():
        return catalog
    for role_path in sorted(roles_dir.iterdir()):
        if not role_path.is_dir() or role_path.name.startswith("."):
            continue
        info = _read_role(role_path)
        if info is not None:
            catalog[info.name] = info
    return catalog


def _read_role(role_path: Path) -> RoleInfo | None:
    name = role_path.name
    defaults_file = role_path / "defaults" / "main.yml"
    if not (role_path / "tasks" / "start.yml").is_file() or not defaults_file.is_file():
        return None
    defaults_source = display_path(defaults_file)
    defaults = load_yaml_file(defaults_file, defaults_source)
    if defaults is None:
        return None  # an empty defaults file defines no <name>_machines
    if not isinstance(defaults, dict):
        raise ConfigError(defaults_source, "", "expected a mapping of variables")
    machines_key = f"{name}_machines"
    if machines_key not in defaults:
        return None
    groups = _string_tuple(defaults[machines_key], defaults_source, machines_key, "group names")
    if not groups:
        raise ConfigError(defaults_source, machines_key, "expected at least one group name")
    commands_key = f"{name}_required_commands"
    commands = _string_tuple(
        defaults.get(commands_key, []), defaults_source, commands_key, "commands"
    )
    entry_points, options = _read_argument_specs(role_path / "meta" / "argument_specs.yml")
    return RoleInfo(
        name=name,
        path=role_path,
        defaults=defaults,
        options=options,
        entry_points=entry_points,
        groups=groups,
        required_commands=commands,
    )


def _string_tuple(value: Any, source: str, key: str, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return tuple(value)
    raise ConfigError(source, key, f"expected a list of {what}")


def _read_argument_specs(specs_file: Path) -> tuple[tuple[str, ...], dict[str, dict]]:
    """Return the entry points and the union of their options.

    A role without an argument spec takes no options; a spec that Ansible
    would reject is reported here, before anything runs.
    """
    if not specs_file.is_file():
        return (), {}
    source = display_path(specs_file)
    data = load_yaml_file(specs_file, source)
    if not isinstance(data, dict) or not isinstance(data.get("argument_specs"), dict):
        raise ConfigError(source, "argument_specs", "expected a mapping of entry points")
    options: dict[str, dict] = {}
    entry_points: list[str] = []
    for entry, spec in data["argument_specs"].items():
        where: tuple[str | int, ...] = ("argument_specs", str(entry))
        if not isinstance(entry, str):
            raise ConfigError(source, format_key_path(where), "entry point names must be strings")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise ConfigError(source, format_key_path(where), "expected a mapping")
        entry_points.append(entry)
        entry_options = spec.get("options") or {}
        if not isinstance(entry_options, dict):
            raise ConfigError(
                source, format_key_path((*where, "options")), "expected a mapping of options"
            )
        for option, option_spec in entry_options.items():
            option_where = (*where, "options", str(option))
            checked = _check_option_spec(option_spec, source, option_where)
            previous = options.get(str(option))
            if previous is not None and _spec_signature(previous) != _spec_signature(checked):
                raise ConfigError(
                    source,
                    format_key_path(option_where),
                    "type, elements or choices differ from another entry point's",
                )
            options.setdefault(str(option), checked)
    return tuple(entry_points), options


def _check_option_spec(spec: Any, source: str, where: tuple[str | int, ...]) -> dict:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ConfigError(source, format_key_path(where), "expected a mapping")
    option_type = spec.get("type", "str")  # Ansible's default type
    if option_type not in ARGUMENT_TYPES:
        raise ConfigError(
            source,
            format_key_path((*where, "type")),
            f"unknown type; expected one of {', '.join(sorted(ARGUMENT_TYPES))}",
        )
    if "elements" in spec:
        if option_type != "list":
            raise ConfigError(
                source, format_key_path((*where, "elements")), "only allowed with type: list"
            )
        if spec["elements"] not in ARGUMENT_TYPES:
            raise ConfigError(
                source,
                format_key_path((*where, "elements")),
                f"unknown type; expected one of {', '.join(sorted(ARGUMENT_TYPES))}",
            )
    if "choices" in spec and not isinstance(spec["choices"], list):
        raise ConfigError(source, format_key_path((*where, "choices")), "expected a list")
    if "required" in spec and not isinstance(spec["required"], bool):
        raise ConfigError(source, format_key_path((*where, "required")), "expected true or false")
    return {**spec, "type": option_type}


def _spec_signature(spec: dict) -> tuple[Any, ...]:
    return (spec.get("type"), spec.get("elements"), repr(spec.get("choices")))
