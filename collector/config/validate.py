"""Check the merged config section by section against the schema and the roles' specs.

Each error is a ConfigError naming the file the value came from, its key
path and what was expected, never the value itself.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from collector.config.legacy import legacy_option, merge_options, old_name
from collector.config.merge import same, split_measurement
from collector.config.model import (
    COMMAND_LINE,
    DATABASE_KEYS,
    DEFAULT_DURATION,
    DEFAULT_LOCAL_DATABASE,
    LOCAL_DATABASE_KEYS,
    LOCAL_DATABASE_TYPES,
    MACHINE_OPTIONS,
    MACHINE_TYPES,
    MATRIX_KEYS,
    MATRIX_MODES,
    OUR_GROUPS,
    REMOTE_DATABASE_KEYS,
    REMOTE_DATABASE_TYPES,
    SSLMODES,
    KeyPath,
    MeasurementConfig,
    kind,
)
from collector.config.roles import RoleInfo, discover_roles, resolve_measurement, snake_case
from collector.config.yamlfile import format_key_path
from collector.errors import ConfigError
from collector.measurements import registry

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class Origins:
    """Which file (or the command line) a key path's value came from, for messages."""

    def __init__(self, base_name: str, secure_name: str, introduced: set[KeyPath]) -> None:
        self.base_name = base_name
        self.secure_name = secure_name
        self.introduced = set(introduced)
        self.command_line: set[KeyPath] = set()

    def source(self, path: KeyPath) -> str:
        # The longest matching prefix decides: an override inside secure data wins.
        for length in range(len(path), -1, -1):
            prefix = path[:length]
            if prefix in self.command_line:
                return COMMAND_LINE
            if prefix in self.introduced:
                return self.secure_name
        return self.base_name


def _did_you_mean(word: Any, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(str(word), sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# How an argument-spec type reads in "expected ..." messages.
_TYPE_WORDS = {
    "str": "a string",
    "path": "a path (a string)",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (true or false)",
    "list": "a list",
    "dict": "a mapping",
    "bits": "a size (a string or an integer)",
    "bytes": "a size (a string or an integer)",
    "json": "JSON (a string, list or mapping)",
    "jsonarg": "JSON (a string, list or mapping)",
    "sid": "a string or an integer",
}


def _type_ok(value: Any, option_type: str) -> bool:
    """Check a value as Ansible's argument spec would, minus its string conversions.

    Ansible quietly turns ``"5"`` into 5; here a string is an error, so a
    quoting mistake in benchmark.yaml does not silently change meaning.
    """
    if option_type in ("str", "path"):
        return isinstance(value, str)
    if option_type == "int":
        return _is_int(value)
    if option_type == "float":
        return _is_number(value)
    if option_type == "bool":
        return isinstance(value, bool)
    if option_type == "list":
        return isinstance(value, list)
    if option_type == "dict":
        return isinstance(value, dict)
    if option_type in ("bits", "bytes", "sid"):
        return isinstance(value, str) or _is_int(value)
    if option_type in ("json", "jsonarg"):
        return isinstance(value, str | list | dict)
    return True  # raw


def _in_choices(value: Any, choices: list) -> bool:
    return any(
        same(value, choice) or (_is_number(value) and _is_number(choice) and value == choice)
        for choice in choices
    )


def _format_choices(choices: Iterable[Any]) -> str:
    return ", ".join(repr(choice) if isinstance(choice, str) else str(choice) for choice in choices)


class Validator:
    """Checks the merged data section by section; each error names its source file."""

    def __init__(self, origins: Origins, roles_dir: Path) -> None:
        self.origins = origins
        self.roles_dir = roles_dir

    def error(self, path: KeyPath, problem: str) -> ConfigError:
        return ConfigError(self.origins.source(path), format_key_path(path), problem)

    def check_keys(self, mapping: dict, path: KeyPath, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in mapping:
            if key not in allowed:
                hint = _did_you_mean(key, allowed) or f"; expected one of: {', '.join(allowed)}"
                raise self.error((*path, str(key)), f"unknown key{hint}")

    def mapping(self, data: dict, key: str) -> dict:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error((key,), f"expected a mapping, got {kind(value)}")
        return value

    # top level

    def description(self, data: dict) -> str:
        value = data.get("description")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(("description",), f"expected a string, got {kind(value)}")
        return value

    def duration(self, data: dict) -> float:
        value = data.get("duration")
        if value is None:
            return DEFAULT_DURATION
        problem = "expected a number greater than 0"
        if not _is_number(value):
            raise self.error(("duration",), f"{problem}, got {kind(value)}")
        if not math.isfinite(value) or value <= 0:
            raise self.error(("duration",), problem)
        return float(value)

    def seconds(self, data: dict, key: str) -> float:
        """An optional number of seconds, 0 or more."""
        value = data.get(key)
        if value is None:
            return 0.0
        problem = "expected a number of seconds, 0 or more"
        if not _is_number(value):
            raise self.error((key,), f"{problem}, got {kind(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.error((key,), problem)
        return float(value)

    def machines(self, data: dict) -> dict:
        machines = self.mapping(data, "machines")
        for group, value in machines.items():
            path: KeyPath = ("machines", str(group))
            if not isinstance(group, str):
                raise self.error(path, "group names must be strings")
            if value is None:
                continue  # the old script's empty entry: this machine
            if not isinstance(value, str | dict):
                raise self.error(path, f"expected a host name or a mapping, got {kind(value)}")
            if isinstance(value, dict):  # other keys are recorded as the old script kept them
                if value.get("type", "remote") not in MACHINE_TYPES:
                    raise self.error((*path, "type"), "expected one of: remote, local")
                host = value.get("host")
                if host is not None and (not isinstance(host, str) or not host):
                    raise self.error((*path, "host"), f"expected user@address, got {kind(host)}")
                if value.get("type") == "remote" and host is None:
                    raise self.error((*path, "host"), "required for a remote machine: user@address")
        return copy.deepcopy(machines)

    # databases

    def local_database(self, data: dict, config_dir: Path) -> Path:
        databases = self.mapping(data, "databases")
        self.check_keys(databases, ("databases",), DATABASE_KEYS)
        value = databases.get("local")
        path: KeyPath = ("databases", "local")
        if value is None:
            local = DEFAULT_LOCAL_DATABASE
        elif isinstance(value, str) and value:
            local = Path(value)
        elif isinstance(value, dict):
            self.check_keys(value, path, LOCAL_DATABASE_KEYS)
            if "type" in value and value["type"] not in LOCAL_DATABASE_TYPES:
                raise self.error((*path, "type"), "unsupported database type; expected 'sqlite'")
            inner = value.get("path")
            if inner is None and "type" in value:
                # the old script's {type: sqlite}: its benchmark.db, where ours always is
                local = DEFAULT_LOCAL_DATABASE
            elif not isinstance(inner, str) or not inner:
                raise self.error((*path, "path"), f"expected a file path, got {kind(inner)}")
            else:
                local = Path(inner)
        else:
            raise self.error(
                path, f"expected a file path or a mapping with 'path', got {kind(value)}"
            )
        local = local.expanduser()
        return local if local.is_absolute() else config_dir / local

    def remote_database(self, data: dict) -> dict | None:
        databases = self.mapping(data, "databases")
        remote = databases.get("remote")
        path: KeyPath = ("databases", "remote")
        if remote is None:
            return None
        if not isinstance(remote, dict):
            raise self.error(path, f"expected a mapping, got {kind(remote)}")
        self.check_keys(remote, path, REMOTE_DATABASE_KEYS)
        for key, value in remote.items():
            where = (*path, key)
            if key == "type":
                if value not in REMOTE_DATABASE_TYPES:
                    supported = _format_choices(REMOTE_DATABASE_TYPES)
                    raise self.error(where, f"unsupported database type; expected {supported}")
            elif key == "port":
                if not _is_int(value):
                    raise self.error(
                        where, f"expected a port number from 1 to 65535, got {kind(value)}"
                    )
                if not 1 <= value <= 65535:
                    raise self.error(where, "expected a port number from 1 to 65535")
            elif key == "sslmode":
                if value not in SSLMODES:
                    raise self.error(where, f"expected one of: {', '.join(SSLMODES)}")
            elif key == "schema":
                if not isinstance(value, str) or not SCHEMA_NAME.fullmatch(value):
                    raise self.error(
                        where, "expected a schema name: lower-case letters, digits and _"
                    )
            elif not isinstance(value, str):
                raise self.error(where, f"expected a string, got {kind(value)}")
        return copy.deepcopy(remote)

    # matrix

    def matrix(self, data: dict) -> dict:
        matrix = self.mapping(data, "matrix")
        for key, value in matrix.items():
            where: KeyPath = ("matrix", str(key))
            if key == "mode":
                if value not in MATRIX_MODES:
                    raise self.error(where, f"expected one of: {', '.join(MATRIX_MODES)}")
            elif key == "repeat":
                if not _is_int(value):
                    raise self.error(where, f"expected an integer of at least 1, got {kind(value)}")
                if value < 1:
                    raise self.error(where, "expected an integer of at least 1")
            else:
                hint = _did_you_mean(key, MATRIX_KEYS)
                parts = key.split("/") if isinstance(key, str) else [""]
                if not all(part and not any(c.isspace() for c in part) for part in parts):
                    raise self.error(
                        where,
                        "expected 'mode', 'repeat' or a parameter path like 'test/interval'" + hint,
                    )
                if not isinstance(value, list) or not value:
                    got = f", got {kind(value)}" if not isinstance(value, list) else ""
                    raise self.error(where, f"expected a non-empty list of values{got}{hint}")
        return copy.deepcopy(matrix)

    # measurements

    def group_map(self, data: dict) -> dict[str, tuple[str, ...]]:
        """``groups:``: the inventory's own group(s) for each of ours (host, guest, client).

        A team's inventory rarely calls its groups ``host``, ``guest`` and
        ``client``; this maps ours onto theirs once, for every measurement's
        default. A measurement's own ``machine:`` names the inventory's groups
        and is not mapped.
        """
        mapping = self.mapping(data, "groups")
        out: dict[str, tuple[str, ...]] = {}
        for ours, theirs in mapping.items():
            where: KeyPath = ("groups", str(ours))
            if ours not in OUR_GROUPS:
                raise self.error(where, f"unknown group; expected one of: {', '.join(OUR_GROUPS)}")
            out[ours] = self.groups(theirs, where)
        return out

    def measurements(
        self, data: dict, group_map: dict[str, tuple[str, ...]] | None = None
    ) -> tuple[MeasurementConfig, ...]:
        path: KeyPath = ("measurements",)
        if "measurements" not in data:
            raise self.error(path, "required: list the measurements to run")
        items = data["measurements"]
        if not isinstance(items, list):
            raise self.error(path, f"expected a non-empty list of measurements, got {kind(items)}")
        if not items:
            raise self.error(path, "expected a non-empty list of measurements, got an empty list")
        catalog = discover_roles(self.roles_dir)
        seen: dict[str, int] = {}
        result = []
        for index, item in enumerate(items):
            item_path: KeyPath = ("measurements", index)
            name, options = split_measurement(item, self.origins.source(item_path), item_path)
            role = resolve_measurement(name, catalog)
            if role is None:
                hint = _did_you_mean(snake_case(name), catalog) or _did_you_mean(name, catalog)
                available = ", ".join(sorted(catalog)) or "none"
                raise self.error(
                    item_path, f"unknown measurement '{name}'{hint}; available: {available}"
                )
            if registry.get(role) is None:
                raise self.error(
                    item_path,
                    f"measurement '{role}' has a role but no module collector/measurements/"
                    f"{role}.py declaring its samplers (docs/writing-a-measurement.md)",
                )
            if role in seen:
                raise self.error(
                    item_path,
                    f"measurement '{role}' is already listed at "
                    f"{format_key_path(('measurements', seen[role]))}",
                )
            seen[role] = index
            result.append(
                self.measurement(
                    name, catalog[role], options or {}, (*item_path, name), group_map or {}
                )
            )
        return tuple(result)

    def measurement(
        self,
        name: str,
        role: RoleInfo,
        options: dict,
        path: KeyPath,
        group_map: dict[str, tuple[str, ...]],
    ) -> MeasurementConfig:
        prefix = f"{role.name}_"
        machines_var = f"{role.name}_machines"
        known = sorted(
            option.removeprefix(prefix)
            for option in role.options
            if option.startswith(prefix) and option != machines_var
        )
        # the role's default groups, as the inventory calls them (groups:)
        groups = tuple(
            dict.fromkeys(g for ours in role.groups for g in group_map.get(ours, (ours,)))
        )
        given: dict[str, Any] = {}
        legacy: dict[str, Any] = {}  # the role options the old script's option names set
        legacy_from: dict[str, str] = {}  # role option -> the old option that set it
        parameters: dict[str, Any] = {}  # the old script's parameter names, for the experiment
        machine_keys = [key for key in options if key in MACHINE_OPTIONS]
        if len(machine_keys) > 1:
            raise self.error((*path, "machines"), "give either 'machine' or 'machines', not both")
        for key, value in options.items():
            where: KeyPath = (*path, str(key))
            if not isinstance(key, str):
                raise self.error(where, "option names must be strings")
            if key in MACHINE_OPTIONS:
                groups = self.groups(value, where)
                continue
            variable = prefix + key
            spec = role.options.get(variable)
            # under its old name, an old option keeps its old meaning (SpiceServer's log)
            old = legacy_option(role.name, name, key)
            if old is not None:
                if old.number and not _is_number(value):
                    raise self.error(where, f"expected a number, got {kind(value)}")
                for option, translated in old.translate(value).items():
                    option_spec = role.options[prefix + option]
                    if not isinstance(translated, dict):
                        self.check_option(translated, option_spec, where)
                    if option in legacy_from and not isinstance(translated, dict):
                        raise self.error(where, f"sets '{option}' as '{legacy_from[option]}' does")
                    legacy_from[option] = key
                    merge_options(legacy, {option: translated})
                if old.parameter:
                    parameters[old.parameter] = value
                continue
            if spec is None or variable == machines_var:
                hint = _did_you_mean(key, [*known, "machine"])
                if legacy_option(role.name, old_name(role.name), key) is not None:
                    hint = (
                        f"; '{key}' is the old script's option: it takes it under the old name "
                        f"'{old_name(role.name)}'"
                    )
                listed = ", ".join(["machine", *known])
                raise self.error(
                    where, f"unknown option for measurement '{name}'{hint}; options: {listed}"
                )
            self.check_option(value, spec, where)
            given[key] = value
        for option, value in legacy.items():
            if option in given and not isinstance(value, dict):
                raise self.error(
                    (*path, legacy_from[option]),
                    f"sets '{option}', which is given too; keep one of them",
                )
            # an explicit mapping (``options:``) wins over what old names put in it
            given[option] = {**value, **given[option]} if option in given else value

        variables: dict[str, Any] = {}
        for variable, spec in role.options.items():
            if variable == machines_var:
                continue
            if variable in role.defaults:
                variables[variable] = copy.deepcopy(role.defaults[variable])
            elif "default" in spec:
                variables[variable] = copy.deepcopy(spec["default"])
        for key, value in given.items():
            variables[prefix + key] = copy.deepcopy(value)
        for variable, spec in role.options.items():
            if spec.get("required") and variable not in variables:
                raise self.error(path, f"missing required option '{variable.removeprefix(prefix)}'")
        return MeasurementConfig(
            name=name,
            role=role.name,
            groups=groups,
            options=copy.deepcopy(given),
            variables=variables,
            legacy_parameters=copy.deepcopy(parameters),
        )

    def groups(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if isinstance(value, str) and value:
            return (value,)
        if isinstance(value, list) and value:
            for index, group in enumerate(value):
                if not isinstance(group, str) or not group:
                    raise self.error((*path, index), f"expected a group name, got {kind(group)}")
            return tuple(value)
        raise self.error(
            path, f"expected a group name or a non-empty list of group names, got {kind(value)}"
        )

    def check_option(self, value: Any, spec: dict, path: KeyPath) -> None:
        option_type = spec.get("type", "str")
        if not _type_ok(value, option_type):
            raise self.error(path, f"expected {_TYPE_WORDS[option_type]}, got {kind(value)}")
        choices = spec.get("choices")
        if option_type == "list":
            elements = spec.get("elements")
            for index, item in enumerate(value):
                if elements is not None and not _type_ok(item, elements):
                    raise self.error(
                        (*path, index), f"expected {_TYPE_WORDS[elements]}, got {kind(item)}"
                    )
                # Ansible applies the choices of a list to each of its elements.
                if choices is not None and not _in_choices(item, choices):
                    raise self.error((*path, index), f"expected one of: {_format_choices(choices)}")
        elif choices is not None and not _in_choices(value, choices):
            raise self.error(path, f"expected one of: {_format_choices(choices)}")
