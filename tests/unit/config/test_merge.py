"""Merging secure.yaml into benchmark.yaml: by key, measurements by name, conflicts named."""

from __future__ import annotations

import pytest

from collector.config.merge import merge
from collector.errors import ConfigError


def merged(base: dict, secure: dict) -> tuple[dict, frozenset]:
    return merge(base, secure, base_name="b.yaml", secure_name="s.yaml")


def test_merge_mappings_key_by_key() -> None:
    data, secrets = merged(
        {"a": {"x": 1, "y": [1, 2]}, "n": None},
        {"a": {"z": {"deep": "s"}, "y": [1, 2], "x": 1}, "n": "filled", "new": [{"k": "v"}]},
    )
    assert data == {
        "a": {"x": 1, "y": [1, 2], "z": {"deep": "s"}},
        "n": "filled",
        "new": [{"k": "v"}],
    }
    assert secrets == {
        ("a", "x"),
        ("a", "y", 0),
        ("a", "y", 1),
        ("a", "z", "deep"),
        ("n",),
        ("new", 0, "k"),
    }


def test_merge_does_not_touch_its_inputs() -> None:
    base = {"a": {"x": 1}}
    secure = {"a": {"y": 2}}
    data, _ = merged(base, secure)
    data["a"]["x"] = 99
    assert base == {"a": {"x": 1}}
    assert secure == {"a": {"y": 2}}


@pytest.mark.parametrize(
    ("base", "secure", "key_path"),
    [
        ({"a": 1}, {"a": 2}, "a"),
        ({"a": 1}, {"a": 1.0}, "a"),
        ({"a": 1}, {"a": True}, "a"),
        ({"a": {"b": "x"}}, {"a": {"b": "y"}}, "a.b"),
        ({"a": {"b": 1}}, {"a": "flat"}, "a"),
        ({"a": [1]}, {"a": [2]}, "a"),
        (
            {"measurements": [{"test": {"interval": 1}}]},
            {"measurements": [{"Test": {"interval": 2}}]},
            "measurements[0].test.interval",
        ),
    ],
)
def test_merge_conflicts(base: dict, secure: dict, key_path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        merged(base, secure)
    assert str(caught.value) == (
        f"s.yaml: {key_path}: conflicts with b.yaml: set to different values in both files; "
        "keep it in one of them"
    )


def test_measurements_only_in_secure() -> None:
    data, secrets = merged({}, {"measurements": ["test", {"system": {"interval": 2}}]})
    assert data == {"measurements": ["test", {"system": {"interval": 2}}]}
    # Names are structure, not secrets: scrubbing "test" from every log would be absurd.
    assert secrets == {("measurements", 1, "system", "interval")}


def test_merge_measurements_by_name() -> None:
    data, secrets = merged(
        {"measurements": ["test", {"system": None}, {"gpu": {"card": "a"}}]},
        {"measurements": ["Test", {"system": {"interval": 2}}, {"GPU": {"x": 1}}, {"new": None}]},
    )
    assert data["measurements"] == [
        "test",
        {"system": {"interval": 2}},
        {"gpu": {"card": "a", "x": 1}},
        {"new": None},
    ]
    assert secrets == {("measurements", 1, "system", "interval"), ("measurements", 2, "gpu", "x")}
