"""Merge secure.yaml into benchmark.yaml, remembering which values are secrets.

The ``measurements`` lists merge by measurement name, not by position; a key
set to two different values in the two files is an error naming its path,
never its values.
"""

from __future__ import annotations

import copy
from typing import Any

from collector.config.model import KeyPath, kind
from collector.config.roles import snake_case
from collector.config.yamlfile import format_key_path
from collector.errors import ConfigError


class Merger:
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
        if same(base, secure):
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
    merger = Merger(base_name, secure_name)
    merged = merger.merge(base, secure)
    return merged, frozenset(merger.secrets)


def same(left: Any, right: Any) -> bool:
    """Equality that tells 1, 1.0 and true apart, as YAML does."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
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
            raise ConfigError(source, where, "expected a measurement name, got " + kind(name))
        if options is not None and not isinstance(options, dict):
            raise ConfigError(
                source,
                format_key_path((*path, name)),
                f"expected a mapping of options, got {kind(options)}",
            )
        return name, options
    raise ConfigError(
        source,
        where,
        f"expected a measurement name or a mapping of one name to its options, got {kind(item)}",
    )
