"""YAML files as the config reads them: strict, and named in messages as the user types them.

Duplicate keys are errors (PyYAML silently keeps the last), and a syntax error
reports only its line and column, never the text around it: it could hold a
password.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from collector.errors import ConfigError


def display_path(path: Path) -> str:
    """Name a file the way a user in the current directory would type it.

    Relative when the file is below the working directory, absolute otherwise,
    so messages stay short without a confusing ``../../`` chain.
    """
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def format_key_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """Write a key path the way messages show it: ``measurements[1].test.interval``."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# libyaml's parser when PyYAML has it: every run and sweep point reads the config
# and every role's specs several times, a few times faster this way.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):
    """SafeLoader that refuses duplicate keys.

    PyYAML silently keeps the last of two equal keys; in a config that hides a
    typo (the first value is ignored without a word), so it is an error here.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                # Merge keys (<<) may legitimately repeat keys they merge in.
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}'", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML, turning syntax errors into a ConfigError with line and column.

    Only the parser's problem and position are reported, never its snippet of
    the document: the line could hold a password.
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or "invalid YAML"
        if mark is None:
            raise ConfigError(source, "", f"YAML syntax error: {problem}") from None
        raise ConfigError(
            source,
            "",
            f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {problem}",
        ) from None
    except yaml.YAMLError:
        raise ConfigError(source, "", "YAML syntax error") from None


def load_yaml_file(path: Path, source: str | None = None) -> Any:
    """Read and parse one YAML file; every failure is a ConfigError naming the file."""
    source = source if source is not None else display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(source, "", "is a directory, not a file") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "", "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read: {exc.strerror or exc}") from None
    return load_yaml_text(text, source)
