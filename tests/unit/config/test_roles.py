"""The role catalog: which roles are measurements, and how config names map to them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collector.config.roles import RoleInfo, discover_roles, resolve_measurement, snake_case
from collector.config.yamlfile import format_key_path
from collector.errors import ConfigError
from collector.paths import ROLES_DIR

GOOD_SPECS = {
    "argument_specs": {
        "start": {
            "options": {
                "demo_machines": {"type": "list", "elements": "str"},
                "demo_interval": {"type": "int", "default": 1},
            }
        },
        "stop": {"options": {"demo_interval": {"type": "int"}, "demo_label": {}}},
    }
}


def make_role(
    roles_dir: Path,
    name: str,
    *,
    defaults: object = None,
    specs: object = None,
    specs_text: str | None = None,
    start: bool = True,
) -> Path:
    """Write a minimal role; ``defaults``/``specs`` None means the usual good content."""
    role = roles_dir / name
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "tasks").mkdir()
    if start:
        (role / "tasks" / "start.yml").write_text("---\n[]\n")
    if defaults is None:
        defaults = {f"{name}_machines": ["guest"], f"{name}_required_commands": ["vmstat"]}
    (role / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    if specs_text is None:
        specs_text = yaml.safe_dump(GOOD_SPECS if specs is None else specs)
    (role / "meta" / "argument_specs.yml").write_text(specs_text)
    return role


# --- the project's own roles --------------------------------------------------


def test_real_roles_are_measurements() -> None:
    catalog = discover_roles(ROLES_DIR)
    assert {"test", "system"} <= set(catalog)
    assert "sampler" not in catalog  # a support role, not something to measure


def test_real_test_role() -> None:
    info = discover_roles(ROLES_DIR)["test"]
    assert isinstance(info, RoleInfo)
    assert info.path == ROLES_DIR / "test"
    assert set(info.groups) == {"host", "guest", "client"}
    assert "vmstat" in info.required_commands
    assert info.options["test_interval"]["type"] == "int"
    assert "" in info.options["test_fail_phase"]["choices"]
    assert {"setup", "start", "stop", "collect"} <= set(info.entry_points)
    assert info.defaults["test_interval"] == 1


def test_real_system_role_options_have_types() -> None:
    info = discover_roles(ROLES_DIR)["system"]
    assert info.options["system_interval"]["type"] == "float"
    assert info.options["system_interfaces"]["elements"] == "str"


# --- names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("StreamingAgent", "streaming_agent"),
        ("SpiceServer", "spice_server"),
        ("RemoteViewer", "remote_viewer"),
        ("GPU", "gpu"),
        ("Test", "test"),
        ("GPUStats", "gpu_stats"),
        ("test", "test"),
        ("streaming_agent", "streaming_agent"),
        ("Cpu2Load", "cpu2_load"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("streaming_agent", "streaming_agent"),
        ("StreamingAgent", "streaming_agent"),
        ("SpiceServer", "spice_server"),
        ("RemoteViewer", "remote_viewer"),
        ("GPU", "gpu"),
        ("Test", "test"),
        ("test", "test"),
        ("Nope", None),
        ("streamingagent", None),
        ("", None),
    ],
)
def test_resolve_measurement(tmp_path: Path, name: str, expected: str | None) -> None:
    for role in ("test", "streaming_agent", "spice_server", "remote_viewer", "gpu"):
        make_role(tmp_path, role, specs={"argument_specs": {"start": {}}})
    catalog = discover_roles(tmp_path)
    assert resolve_measurement(name, catalog) == expected


def test_resolve_measurement_rejects_non_strings() -> None:
    assert resolve_measurement(5, {}) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("measurements", 1, "test", "interval"), "measurements[1].test.interval"),
        (("databases", "remote", "port"), "databases.remote.port"),
        ((), ""),
        (("a", 0, 1), "a[0][1]"),
    ],
)
def test_format_key_path(path: tuple, text: str) -> None:
    assert format_key_path(path) == text


# --- discovery in a temporary roles directory --------------------------------


def test_discover_reads_a_good_role(tmp_path: Path) -> None:
    make_role(tmp_path, "demo")
    info = discover_roles(tmp_path)["demo"]
    assert info.name == "demo"
    assert info.groups == ("guest",)
    assert info.required_commands == ("vmstat",)
    assert info.entry_points == ("start", "stop")
    # The union of both entry points; an option without a type is a string.
    assert set(info.options) == {"demo_machines", "demo_interval", "demo_label"}
    assert info.options["demo_label"]["type"] == "str"


def test_machines_as_a_single_string(tmp_path: Path) -> None:
    make_role(tmp_path, "demo", defaults={"demo_machines": "host"})
    info = discover_roles(tmp_path)["demo"]
    assert info.groups == ("host",)
    assert info.required_commands == ()


def test_support_roles_are_skipped(tmp_path: Path) -> None:
    make_role(tmp_path, "nostart", start=False)
    make_role(tmp_path, "nomachines", defaults={"nomachines_interval": 1})
    make_role(tmp_path, "demo")
    (tmp_path / "emptydefaults" / "tasks").mkdir(parents=True)
    (tmp_path / "emptydefaults" / "tasks" / "start.yml").write_text("[]\n")
    (tmp_path / "emptydefaults" / "defaults").mkdir()
    (tmp_path / "emptydefaults" / "defaults" / "main.yml").write_text("")
    (tmp_path / "README.md").write_text("not a role\n")
    assert list(discover_roles(tmp_path)) == ["demo"]


def test_role_without_argument_specs_takes_no_options(tmp_path: Path) -> None:
    make_role(tmp_path, "demo")
    (tmp_path / "demo" / "meta" / "argument_specs.yml").unlink()
    info = discover_roles(tmp_path)["demo"]
    assert info.options == {}
    assert info.entry_points == ()


def test_missing_roles_dir_is_empty(tmp_path: Path) -> None:
    assert discover_roles(tmp_path / "nowhere") == {}


def test_nothing_is_cached(tmp_path: Path) -> None:
    make_role(tmp_path, "demo")
    assert discover_roles(tmp_path)["demo"].groups == ("guest",)
    (tmp_path / "demo" / "defaults" / "main.yml").write_text("demo_machines: [client]\n")
    assert discover_roles(tmp_path)["demo"].groups == ("client",)


@pytest.mark.parametrize(
    ("specs_text", "expected"),
    [
        pytest.param(
            "argument_specs:\n  start: {options: [\n", ["YAML syntax error at line"], id="syntax"
        ),
        pytest.param("- start\n", ["argument_specs: expected a mapping"], id="top-level-list"),
        pytest.param("other: 1\n", ["argument_specs: expected a mapping"], id="no-specs-key"),
        pytest.param(
            "argument_specs:\n  start: [a]\n",
            ["argument_specs.start: expected a mapping"],
            id="entry-not-mapping",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options: [demo_interval]\n",
            ["argument_specs.start.options: expected a mapping of options"],
            id="options-not-mapping",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options:\n      demo_interval: 5\n",
            ["argument_specs.start.options.demo_interval: expected a mapping"],
            id="option-not-mapping",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options:\n      demo_interval: {type: integer}\n",
            ["argument_specs.start.options.demo_interval.type: unknown type"],
            id="unknown-type",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options:\n"
            "      demo_x: {type: list, elements: strings}\n",
            ["argument_specs.start.options.demo_x.elements: unknown type"],
            id="unknown-elements",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options:\n      demo_x: {type: int, elements: str}\n",
            ["argument_specs.start.options.demo_x.elements: only allowed with type: list"],
            id="elements-without-list",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options:\n      demo_x: {choices: a}\n",
            ["argument_specs.start.options.demo_x.choices: expected a list"],
            id="choices-not-list",
        ),
        pytest.param(
            "argument_specs:\n  start:\n    options:\n      demo_x: {type: int}\n"
            "  stop:\n    options:\n      demo_x: {type: str}\n",
            ["argument_specs.stop.options.demo_x: type, elements or choices differ"],
            id="entry-points-disagree",
        ),
        pytest.param(
            "argument_specs:\n  start: {}\n  start: {}\n",
            ["YAML syntax error at line 3", "duplicate key 'start'"],
            id="duplicate-key",
        ),
    ],
)
def test_malformed_argument_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, specs_text: str, expected: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    make_role(tmp_path / "roles", "demo", specs_text=specs_text)
    with pytest.raises(ConfigError) as caught:
        discover_roles(Path("roles"))
    message = str(caught.value)
    assert message.startswith("roles/demo/meta/argument_specs.yml: ")
    for part in expected:
        assert part in message


@pytest.mark.parametrize(
    ("defaults_text", "expected"),
    [
        pytest.param("- a\n", "expected a mapping of variables", id="not-mapping"),
        pytest.param("demo_machines: 5\n", "demo_machines: expected a list", id="machines-int"),
        pytest.param("demo_machines: []\n", "demo_machines: expected at least one", id="empty"),
        pytest.param(
            "demo_machines: [guest]\ndemo_required_commands: [1]\n",
            "demo_required_commands: expected a list of commands",
            id="commands",
        ),
        pytest.param("demo_machines: [guest\n", "YAML syntax error at line 2", id="syntax"),
    ],
)
def test_malformed_defaults(tmp_path: Path, defaults_text: str, expected: str) -> None:
    role = make_role(tmp_path, "demo")
    (role / "defaults" / "main.yml").write_text(defaults_text)
    with pytest.raises(ConfigError) as caught:
        discover_roles(tmp_path)
    assert "defaults/main.yml" in str(caught.value)
    assert expected in str(caught.value)
