"""Load benchmark.yaml, merge secure.yaml into it, and validate the result.

Everything a user can get wrong is reported before a single host is touched,
as one ConfigError naming the file, the key path and the problem. Values are
never echoed in messages: any of them may have come from secure.yaml, and a
message ends up in terminals, logs and bug reports.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.errors import ConfigError
from collector.paths import DEFAULT_CONFIG, EXAMPLE_CONFIG, ROLES_DIR
from collector.roles import (
    RoleInfo,
    discover_roles,
    display_path,
    format_key_path,
    load_yaml_file,
    resolve_measurement,
    snake_case,
)

REDACTED = "********"
COMMAND_LINE = "command line"
DEFAULT_DURATION = 10.0
DEFAULT_LOCAL_DATABASE = Path("results") / "benchmark.db"

TOP_LEVEL_KEYS = (
    "description", "duration", "warmup", "cooldown", "measurements", "machines", "databases",
    "matrix",
)  # fmt: skip
DATABASE_KEYS = ("local", "remote")
LOCAL_DATABASE_KEYS = ("path",)
REMOTE_DATABASE_KEYS = (
    "type",
    "host",
    "port",
    "user",
    "database",
    "password",
    "sslmode",
    "service",
)
REMOTE_DATABASE_TYPES = ("postgresql",)
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
MATRIX_MODES = ("baseline", "full")
MATRIX_KEYS = ("mode", "repeat")
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
                parent[path[-1]] = REDACTED
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


# --- merging -----------------------------------------------------------------


class _Merger:
    """Merge secure.yaml into benchmark.yaml, remembering what came from where.

    ``secrets`` are the leaves secure.yaml supplied (paths in the merged
    result); ``introduced`` are the subtrees that exist only because of
    secure.yaml, so a validation error inside one names secure.yaml.
    """

    def __init__(self, base_name: str, secure_name: str) -> None:
        self.base_name = base_name
        self.secure_name = secure_name
        self.secrets: set[KeyPath] = set()
        self.introduced: set[KeyPath] = set()

    def merge(self, base: dict, secure: dict) -> dict:
        return self._merge_value(base, secure, ())

    def _introduce(self, path: KeyPath, value: Any) -> Any:
        self.introduced.add(path)
        self._mark_secret(path, value)
        return copy.deepcopy(value)

    def _mark_secret(self, path: KeyPath, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._mark_secret((*path, key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._mark_secret((*path, index), item)
        else:
            self.secrets.add(path)

    def _merge_value(self, base: Any, secure: Any, path: KeyPath) -> Any:
        # A null on either side means "not set there" (e.g. `remote:` left empty).
        if secure is None:
            return copy.deepcopy(base)
        if base is None:
            if path == ("measurements",) and isinstance(secure, list):
                self.introduced.add(path)
                return self._merge_measurements([], secure)
            return self._introduce(path, secure)
        if isinstance(base, dict) and isinstance(secure, dict):
            merged = copy.deepcopy(base)
            for key, value in secure.items():
                if key not in merged:
                    self.introduced.add((*path, key))
                merged[key] = self._merge_value(merged.get(key), value, (*path, key))
            return merged
        if path == ("measurements",) and isinstance(base, list) and isinstance(secure, list):
            return self._merge_measurements(base, secure)
        if _same(base, secure):
            # Already public in the base file, but it is still a value secure.yaml gave.
            self._mark_secret(path, secure)
            return copy.deepcopy(base)
        raise ConfigError(
            self.secure_name,
            format_key_path(path),
            f"conflicts with {self.base_name}: set to different values in both files; "
            "keep it in one of them",
        )

    def _merge_measurements(self, base: list, secure: list) -> list:
        """Merge the two measurement lists by measurement name, not by position."""
        merged = copy.deepcopy(base)
        keys: list[str] = []
        for index, item in enumerate(base):
            name, _ = split_measurement(item, self.base_name, ("measurements", index))
            keys.append(snake_case(name))
        seen_in_secure: set[str] = set()
        for secure_index, item in enumerate(secure):
            name, options = split_measurement(
                item, self.secure_name, ("measurements", secure_index)
            )
            key = snake_case(name)
            if key in seen_in_secure:
                raise ConfigError(
                    self.secure_name,
                    format_key_path(("measurements", secure_index)),
                    f"measurement '{name}' is listed twice",
                )
            seen_in_secure.add(key)
            if key in keys:
                index = keys.index(key)
                # The merged item keeps the name as benchmark.yaml writes it.
                written, base_options = split_measurement(
                    merged[index], self.base_name, ("measurements", index)
                )
                if options is not None:
                    merged[index] = {
                        written: self._merge_value(
                            base_options, options, ("measurements", index, written)
                        )
                    }
            else:
                # Measurement names are structure, not secrets: only options are marked.
                index = len(merged)
                merged.append(copy.deepcopy(item))
                keys.append(key)
                self.introduced.add(("measurements", index))
                if options is not None:
                    self._mark_secret(("measurements", index, name), options)
        return merged


def merge(
    base: dict, secure: dict, *, base_name: str, secure_name: str
) -> tuple[dict, frozenset[tuple]]:
    """Merge ``secure`` into ``base``; return the result and the key paths of secret leaves.

    Raises ConfigError on a conflict, naming the key path and both files but
    not the values.
    """
    merger = _Merger(base_name, secure_name)
    merged = merger.merge(base, secure)
    return merged, frozenset(merger.secrets)


def _same(left: Any, right: Any) -> bool:
    """Equality that tells 1, 1.0 and true apart, as YAML does."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return left == right


def split_measurement(item: Any, source: str, path: KeyPath) -> tuple[str, dict | None]:
    """Split a ``measurements`` item into its name and options (None when it has none)."""
    where = format_key_path(path)
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict):
        if len(item) != 1:
            keys = ", ".join(f"'{key}'" for key in item)
            problem = (
                f"expected one measurement name per item, got {len(item)} keys ({keys}); "
                "write each measurement as its own list item"
                if item
                else "expected a measurement name or a mapping of one name to its options, "
                "got an empty mapping"
            )
            raise ConfigError(source, where, problem)
        ((name, options),) = item.items()
        if not isinstance(name, str):
            raise ConfigError(source, where, "expected a measurement name, got " + _kind(name))
        if options is not None and not isinstance(options, dict):
            raise ConfigError(
                source,
                format_key_path((*path, name)),
                f"expected a mapping of options, got {_kind(options)}",
            )
        return name, options
    raise ConfigError(
        source,
        where,
        f"expected a measurement name or a mapping of one name to its options, got {_kind(item)}",
    )


# --- loading -----------------------------------------------------------------


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
    merger = _Merger(config_name, secure_name)
    if secure_file is not None:
        secure = _load_mapping(secure_file, secure_name)
    data = merger.merge(base, secure)
    origins = _Origins(config_name, secure_name, merger.introduced)
    secrets = _apply_overrides(data, overrides or {}, merger.secrets, origins)

    validator = _Validator(origins, roles_dir)
    validator.check_keys(data, (), TOP_LEVEL_KEYS)
    config_dir = Path(os.path.abspath(path)).parent
    return Config(
        path=Path(os.path.abspath(path)),
        secure_path=Path(os.path.abspath(secure_file)) if secure_file is not None else None,
        description=validator.description(data),
        duration=validator.duration(data),
        measurements=validator.measurements(data),
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
        raise ConfigError(name, "", f"expected a mapping at the top level, got {_kind(data)}")
    return data


class _Origins:
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


def _apply_overrides(
    data: dict, overrides: Mapping[str, Any], secrets: set[KeyPath], origins: _Origins
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


# --- validation --------------------------------------------------------------


def _kind(value: Any) -> str:
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
        _same(value, choice) or (_is_number(value) and _is_number(choice) and value == choice)
        for choice in choices
    )


def _format_choices(choices: Iterable[Any]) -> str:
    return ", ".join(repr(choice) if isinstance(choice, str) else str(choice) for choice in choices)


class _Validator:
    """Checks the merged data section by section; each error names its source file."""

    def __init__(self, origins: _Origins, roles_dir: Path) -> None:
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
            raise self.error((key,), f"expected a mapping, got {_kind(value)}")
        return value

    # top level

    def description(self, data: dict) -> str:
        value = data.get("description")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(("description",), f"expected a string, got {_kind(value)}")
        return value

    def duration(self, data: dict) -> float:
        value = data.get("duration")
        if value is None:
            return DEFAULT_DURATION
        problem = "expected a number greater than 0"
        if not _is_number(value):
            raise self.error(("duration",), f"{problem}, got {_kind(value)}")
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
            raise self.error((key,), f"{problem}, got {_kind(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.error((key,), problem)
        return float(value)

    def machines(self, data: dict) -> dict:
        machines = self.mapping(data, "machines")
        for group, value in machines.items():
            path: KeyPath = ("machines", str(group))
            if not isinstance(group, str):
                raise self.error(path, "group names must be strings")
            if not isinstance(value, str | dict):
                raise self.error(path, f"expected a host name or a mapping, got {_kind(value)}")
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
            inner = value.get("path")
            if not isinstance(inner, str) or not inner:
                raise self.error((*path, "path"), f"expected a file path, got {_kind(inner)}")
            local = Path(inner)
        else:
            raise self.error(
                path, f"expected a file path or a mapping with 'path', got {_kind(value)}"
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
            raise self.error(path, f"expected a mapping, got {_kind(remote)}")
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
                        where, f"expected a port number from 1 to 65535, got {_kind(value)}"
                    )
                if not 1 <= value <= 65535:
                    raise self.error(where, "expected a port number from 1 to 65535")
            elif key == "sslmode":
                if value not in SSLMODES:
                    raise self.error(where, f"expected one of: {', '.join(SSLMODES)}")
            elif not isinstance(value, str):
                raise self.error(where, f"expected a string, got {_kind(value)}")
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
                    raise self.error(
                        where, f"expected an integer of at least 1, got {_kind(value)}"
                    )
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
                    got = f", got {_kind(value)}" if not isinstance(value, list) else ""
                    raise self.error(where, f"expected a non-empty list of values{got}{hint}")
        return copy.deepcopy(matrix)

    # measurements

    def measurements(self, data: dict) -> tuple[MeasurementConfig, ...]:
        path: KeyPath = ("measurements",)
        if "measurements" not in data:
            raise self.error(path, "required: list the measurements to run")
        items = data["measurements"]
        if not isinstance(items, list):
            raise self.error(path, f"expected a non-empty list of measurements, got {_kind(items)}")
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
            if role in seen:
                raise self.error(
                    item_path,
                    f"measurement '{role}' is already listed at "
                    f"{format_key_path(('measurements', seen[role]))}",
                )
            seen[role] = index
            result.append(self.measurement(name, catalog[role], options or {}, (*item_path, name)))
        return tuple(result)

    def measurement(
        self, name: str, role: RoleInfo, options: dict, path: KeyPath
    ) -> MeasurementConfig:
        prefix = f"{role.name}_"
        machines_var = f"{role.name}_machines"
        known = sorted(
            option.removeprefix(prefix)
            for option in role.options
            if option.startswith(prefix) and option != machines_var
        )
        groups = role.groups
        given: dict[str, Any] = {}
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
            if spec is None or variable == machines_var:
                hint = _did_you_mean(key, [*known, "machine"])
                listed = ", ".join(["machine", *known])
                raise self.error(
                    where, f"unknown option for measurement '{name}'{hint}; options: {listed}"
                )
            self.check_option(value, spec, where)
            given[key] = value

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
        )

    def groups(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if isinstance(value, str) and value:
            return (value,)
        if isinstance(value, list) and value:
            for index, group in enumerate(value):
                if not isinstance(group, str) or not group:
                    raise self.error((*path, index), f"expected a group name, got {_kind(group)}")
            return tuple(value)
        raise self.error(
            path, f"expected a group name or a non-empty list of group names, got {_kind(value)}"
        )

    def check_option(self, value: Any, spec: dict, path: KeyPath) -> None:
        option_type = spec.get("type", "str")
        if not _type_ok(value, option_type):
            raise self.error(path, f"expected {_TYPE_WORDS[option_type]}, got {_kind(value)}")
        choices = spec.get("choices")
        if option_type == "list":
            elements = spec.get("elements")
            for index, item in enumerate(value):
                if elements is not None and not _type_ok(item, elements):
                    raise self.error(
                        (*path, index), f"expected {_TYPE_WORDS[elements]}, got {_kind(item)}"
                    )
                # Ansible applies the choices of a list to each of its elements.
                if choices is not None and not _in_choices(item, choices):
                    raise self.error((*path, index), f"expected one of: {_format_choices(choices)}")
        elif choices is not None and not _in_choices(value, choices):
            raise self.error(path, f"expected one of: {_format_choices(choices)}")
