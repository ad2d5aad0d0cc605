"""Loading benchmark.yaml and secure.yaml: every bad config refused, every good one read right."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collector.config import Config, MeasurementConfig, load_config
from collector.config.secrets import MASK
from collector.errors import ConfigError
from collector.paths import EXAMPLE_CONFIG, PROJECT_ROOT, ROLES_DIR

SECRET = "hunter2-s3cret"

# Roles with known specs, so these tests do not change when the real roles do.
FAKE_ROLES: dict[str, tuple[dict, dict]] = {
    "test": (
        {
            "test_machines": ["host", "guest", "client"],
            "test_interval": 1,
            "test_required_commands": ["vmstat"],
            "test_fail_phase": "",
        },
        {
            "test_machines": {"type": "list", "elements": "str"},
            "test_interval": {"type": "int"},
            "test_required_commands": {"type": "list", "elements": "str"},
            "test_fail_phase": {"type": "str", "choices": ["", "setup", "start"]},
        },
    ),
    "system": (
        {"system_machines": ["host"], "system_interval": 1.0, "system_interfaces": []},
        {
            "system_machines": {"type": "list", "elements": "str"},
            "system_interval": {"type": "float"},
            "system_interfaces": {"type": "list", "elements": "str"},
            "system_verbose": {"type": "bool", "default": False},
            "system_extra": {"type": "dict"},
            "system_anything": {"type": "raw"},
        },
    ),
    "streaming_agent": (
        {"streaming_agent_machines": ["guest"], "streaming_agent_token": None},
        {
            "streaming_agent_machines": {"type": "list"},
            "streaming_agent_token": {"type": "str"},
        },
    ),
    "spice_server": ({"spice_server_machines": "host"}, {}),
    "remote_viewer": ({"remote_viewer_machines": ["client"]}, {}),
    "gpu": ({"gpu_machines": ["host"]}, {"gpu_card": {"type": "str", "required": True}}),
}


def write_roles(roles_dir: Path) -> Path:
    for name, (defaults, options) in FAKE_ROLES.items():
        role = roles_dir / name
        for sub in ("defaults", "meta", "tasks"):
            (role / sub).mkdir(parents=True)
        (role / "tasks" / "start.yml").write_text("---\n[]\n")
        (role / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
        specs = {"argument_specs": {"start": {"options": options}, "stop": {"options": options}}}
        (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(specs))
    # A support role: no <name>_machines, so not a measurement.
    (roles_dir / "sampler" / "tasks").mkdir(parents=True)
    (roles_dir / "sampler" / "tasks" / "start.yml").write_text("---\n[]\n")
    return roles_dir


@pytest.fixture
def roles(tmp_path: Path) -> Path:
    return write_roles(tmp_path / "roles")


@pytest.fixture
def project(tmp_path: Path, roles: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding benchmark.yaml (and maybe secure.yaml)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def load(
    project: Path, roles: Path, text: str, secure: str | None = None, **kwargs: object
) -> Config:
    (project / "benchmark.yaml").write_text(text)
    if secure is not None:
        (project / "secure.yaml").write_text(secure)
    return load_config(Path("benchmark.yaml"), roles_dir=roles, **kwargs)  # type: ignore[arg-type]


M = "measurements: [test]\n"

BAD_CONFIGS = [
    # (benchmark.yaml, secure.yaml or None, expected substrings, substrings that must not appear)
    pytest.param(
        "duraton: 5\n" + M,
        None,
        ["benchmark.yaml: duraton: unknown key", "did you mean 'duration'?"],
        [],
        id="unknown-top-level-key",
    ),
    pytest.param(
        "colour: red\n" + M,
        None,
        ["benchmark.yaml: colour: unknown key; expected one of: description, duration"],
        ["red"],
        id="unknown-top-level-key-no-match",
    ),
    pytest.param(
        "duration: -5\n" + M,
        None,
        ["benchmark.yaml: duration: expected a number greater than 0"],
        ["-5"],
        id="negative-duration",
    ),
    pytest.param(
        "duration: 0\n" + M,
        None,
        ["benchmark.yaml: duration: expected a number greater than 0"],
        [],
        id="zero-duration",
    ),
    pytest.param(
        "duration: true\n" + M,
        None,
        ["benchmark.yaml: duration: expected a number greater than 0", "got a boolean"],
        [],
        id="boolean-duration",
    ),
    pytest.param(
        "duration: ten\n" + M,
        None,
        ["benchmark.yaml: duration: expected a number greater than 0", "got a string"],
        ["ten"],
        id="string-duration",
    ),
    pytest.param(
        "duration: .inf\n" + M,
        None,
        ["benchmark.yaml: duration: expected a number greater than 0"],
        [],
        id="infinite-duration",
    ),
    pytest.param(
        "description: 5\n" + M,
        None,
        ["benchmark.yaml: description: expected a string, got an integer"],
        [],
        id="description-not-string",
    ),
    pytest.param(
        "description: x\n",
        None,
        ["benchmark.yaml: measurements: required"],
        [],
        id="measurements-missing",
    ),
    pytest.param(
        "",
        None,
        ["benchmark.yaml: measurements: required"],
        [],
        id="empty-file",
    ),
    pytest.param(
        "measurements: []\n",
        None,
        ["benchmark.yaml: measurements: expected a non-empty list", "got an empty list"],
        [],
        id="measurements-empty",
    ),
    pytest.param(
        "measurements:\n  test: {}\n",
        None,
        ["benchmark.yaml: measurements: expected a non-empty list", "got a mapping"],
        [],
        id="measurements-not-list",
    ),
    pytest.param(
        "measurements: [test, 5]\n",
        None,
        ["benchmark.yaml: measurements[1]: expected a measurement name", "got an integer"],
        [],
        id="item-a-number",
    ),
    pytest.param(
        "measurements:\n  - test: {}\n    system: {}\n",
        None,
        ["benchmark.yaml: measurements[0]: expected one measurement name per item, got 2 keys"],
        [],
        id="item-two-keys",
    ),
    pytest.param(
        "measurements:\n  - [test]\n",
        None,
        ["benchmark.yaml: measurements[0]: expected a measurement name", "got a list"],
        [],
        id="item-a-list",
    ),
    pytest.param(
        "measurements: [system, tset]\n",
        None,
        [
            "benchmark.yaml: measurements[1]: unknown measurement 'tset'",
            "did you mean 'test'?",
            "available: gpu, remote_viewer, spice_server, streaming_agent, system, test",
        ],
        [],
        id="unknown-measurement",
    ),
    pytest.param(
        "measurements: [StreamAgent]\n",
        None,
        ["measurements[0]: unknown measurement 'StreamAgent'", "did you mean 'streaming_agent'?"],
        [],
        id="unknown-camelcase-measurement",
    ),
    pytest.param(
        "measurements: [Test, system, test]\n",
        None,
        [
            "benchmark.yaml: measurements[2]: "
            "measurement 'test' is already listed at measurements[0]"
        ],
        [],
        id="duplicate-via-alias",
    ),
    pytest.param(
        "measurements:\n  - test: 5\n",
        None,
        ["benchmark.yaml: measurements[0].test: expected a mapping of options, got an integer"],
        [],
        id="options-not-mapping",
    ),
    pytest.param(
        "measurements:\n  - test: {intervall: 2}\n",
        None,
        [
            "benchmark.yaml: measurements[0].test.intervall: unknown option for measurement 'test'",
            "did you mean 'interval'?",
            "options: machine, fail_phase, interval, required_commands",
        ],
        [],
        id="unknown-option",
    ),
    pytest.param(
        "measurements:\n  - test: {interval: fast}\n",
        None,
        ["benchmark.yaml: measurements[0].test.interval: expected an integer, got a string"],
        ["fast"],
        id="int-given-string",
    ),
    pytest.param(
        "measurements:\n  - test: {interval: 1.5}\n",
        None,
        ["benchmark.yaml: measurements[0].test.interval: expected an integer, got a number"],
        ["1.5"],
        id="int-given-float",
    ),
    pytest.param(
        "measurements:\n  - system: {interval: true}\n",
        None,
        ["measurements[0].system.interval: expected a number, got a boolean"],
        [],
        id="float-given-bool",
    ),
    pytest.param(
        "measurements:\n  - system: {verbose: 1}\n",
        None,
        ["measurements[0].system.verbose: expected a boolean (true or false), got an integer"],
        [],
        id="bool-given-int",
    ),
    pytest.param(
        "measurements:\n  - system: {extra: [a]}\n",
        None,
        ["measurements[0].system.extra: expected a mapping, got a list"],
        [],
        id="dict-given-list",
    ),
    pytest.param(
        "measurements:\n  - system: {interfaces: eth0}\n",
        None,
        ["measurements[0].system.interfaces: expected a list, got a string"],
        ["eth0"],
        id="list-given-string",
    ),
    pytest.param(
        "measurements:\n  - system: {interfaces: [eth0, 5]}\n",
        None,
        ["benchmark.yaml: measurements[0].system.interfaces[1]: expected a string, got an integer"],
        [],
        id="list-element-wrong-type",
    ),
    pytest.param(
        "measurements:\n  - test: {fail_phase: teardown}\n",
        None,
        ["benchmark.yaml: measurements[0].test.fail_phase: expected one of: '', 'setup', 'start'"],
        ["teardown"],
        id="choices-violated",
    ),
    pytest.param(
        "measurements:\n  - test: {machine: 5}\n",
        None,
        [
            "benchmark.yaml: measurements[0].test.machine: "
            "expected a group name or a non-empty list of group names, got an integer"
        ],
        [],
        id="machine-wrong-type",
    ),
    pytest.param(
        "measurements:\n  - test: {machine: []}\n",
        None,
        ["measurements[0].test.machine: expected a group name or a non-empty list"],
        [],
        id="machine-empty-list",
    ),
    pytest.param(
        "measurements:\n  - test: {machine: [guest, 3]}\n",
        None,
        ["measurements[0].test.machine[1]: expected a group name, got an integer"],
        [],
        id="machine-list-element",
    ),
    pytest.param(
        "measurements:\n  - test: {machine: guest, machines: [host]}\n",
        None,
        ["measurements[0].test.machines: give either 'machine' or 'machines'"],
        [],
        id="machine-and-machines",
    ),
    pytest.param(
        "measurements: [gpu]\n",
        None,
        ["benchmark.yaml: measurements[0].gpu: missing required option 'card'"],
        [],
        id="required-option-missing",
    ),
    pytest.param(
        M + "machines: [host]\n",
        None,
        ["benchmark.yaml: machines: expected a mapping, got a list"],
        [],
        id="machines-not-mapping",
    ),
    pytest.param(
        M + "machines:\n  host: 5\n",
        None,
        ["benchmark.yaml: machines.host: expected a host name or a mapping, got an integer"],
        [],
        id="machines-value-wrong-type",
    ),
    pytest.param(
        M + "databases:\n  lcoal: x.db\n",
        None,
        ["benchmark.yaml: databases.lcoal: unknown key; did you mean 'local'?"],
        [],
        id="databases-unknown-key",
    ),
    pytest.param(
        M + "databases:\n  local: 5\n",
        None,
        ["benchmark.yaml: databases.local: expected a file path or a mapping with 'path'"],
        [],
        id="local-database-wrong-type",
    ),
    pytest.param(
        M + "databases:\n  local: {path: 5}\n",
        None,
        ["benchmark.yaml: databases.local.path: expected a file path, got an integer"],
        [],
        id="local-database-path-wrong-type",
    ),
    pytest.param(
        M + "databases:\n  remote: {type: mysql}\n",
        None,
        ["benchmark.yaml: databases.remote.type: unsupported database type", "'postgresql'"],
        ["mysql"],
        id="remote-type-not-postgresql",
    ),
    pytest.param(
        M + "databases:\n  remote: {type: postgresql, port: 70000}\n",
        None,
        ["benchmark.yaml: databases.remote.port: expected a port number from 1 to 65535"],
        ["70000"],
        id="port-out-of-range",
    ),
    pytest.param(
        M + "databases:\n  remote: {port: '5432'}\n",
        None,
        ["databases.remote.port: expected a port number from 1 to 65535, got a string"],
        [],
        id="port-a-string",
    ),
    pytest.param(
        M + "databases:\n  remote: {sslmode: always}\n",
        None,
        [
            "benchmark.yaml: databases.remote.sslmode: expected one of: disable, allow, prefer, "
            "require, verify-ca, verify-full"
        ],
        ["always"],
        id="sslmode-invalid",
    ),
    pytest.param(
        M + "databases:\n  remote: {host: db, hots: db}\n",
        None,
        ["benchmark.yaml: databases.remote.hots: unknown key; did you mean 'host'?"],
        [],
        id="remote-unknown-key",
    ),
    pytest.param(
        M + "databases:\n  remote: {host: 5}\n",
        None,
        ["benchmark.yaml: databases.remote.host: expected a string, got an integer"],
        [],
        id="remote-host-not-string",
    ),
    pytest.param(
        M + "matrix:\n  repeat: 0\n",
        None,
        ["benchmark.yaml: matrix.repeat: expected an integer of at least 1"],
        [],
        id="matrix-repeat-zero",
    ),
    pytest.param(
        M + "matrix:\n  repeat: true\n",
        None,
        ["benchmark.yaml: matrix.repeat: expected an integer of at least 1, got a boolean"],
        [],
        id="matrix-repeat-bool",
    ),
    pytest.param(
        M + "matrix:\n  mode: partial\n",
        None,
        ["benchmark.yaml: matrix.mode: expected one of: baseline, full"],
        ["partial"],
        id="matrix-mode-invalid",
    ),
    pytest.param(
        M + "matrix:\n  test/interval: 5\n",
        None,
        [
            "benchmark.yaml: matrix.test/interval: "
            "expected a non-empty list of values, got an integer"
        ],
        [],
        id="matrix-path-not-list",
    ),
    pytest.param(
        M + "matrix:\n  test/interval: []\n",
        None,
        ["benchmark.yaml: matrix.test/interval: expected a non-empty list of values"],
        [],
        id="matrix-path-empty-list",
    ),
    pytest.param(
        M + "matrix:\n  mdoe: full\n",
        None,
        [
            "benchmark.yaml: matrix.mdoe: expected a non-empty list of values",
            "did you mean 'mode'?",
        ],
        [],
        id="matrix-typo-of-mode",
    ),
    pytest.param(
        M + "matrix:\n  test//interval: [1, 2]\n",
        None,
        ["benchmark.yaml: matrix.test//interval: expected 'mode', 'repeat' or a parameter path"],
        [],
        id="matrix-bad-path",
    ),
    pytest.param(
        "measurements: [test\nduration: 5\n",
        None,
        ["benchmark.yaml: YAML syntax error at line 2, column"],
        [],
        id="yaml-syntax-error",
    ),
    pytest.param(
        "duration: 5\nduration: 6\n" + M,
        None,
        ["benchmark.yaml: YAML syntax error at line 2, column 1: duplicate key 'duration'"],
        [],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        "- test\n- system\n",
        None,
        ["benchmark.yaml: expected a mapping at the top level, got a list"],
        [],
        id="top-level-list",
    ),
    pytest.param(
        M + "databases:\n  remote:\n    host: a.example.org\n",
        "databases:\n  remote:\n    host: b.example.org\n",
        [
            "secure.yaml: databases.remote.host: conflicts with benchmark.yaml",
            "set to different values in both files",
        ],
        ["a.example", "b.example"],
        id="secure-conflict",
    ),
    pytest.param(
        M + "databases:\n  remote:\n    password: other\n",
        f"databases:\n  remote:\n    password: {SECRET}\n",
        ["secure.yaml: databases.remote.password: conflicts with benchmark.yaml"],
        ["other"],
        id="secure-conflict-password",
    ),
    pytest.param(
        M + "machines:\n  hosts: [a]\n",
        "machines:\n  hosts: [a, b]\n",
        ["secure.yaml: machines.hosts: conflicts with benchmark.yaml"],
        [],
        id="secure-list-conflict",
    ),
    pytest.param(
        M + "databases:\n  remote:\n    type: postgresql\n",
        f"databases:\n  remote:\n    password: {SECRET}\n    prot: 5432\n",
        ["secure.yaml: databases.remote.prot: unknown key; did you mean 'port'?"],
        ["5432"],
        id="secure-password-and-bad-sibling",
    ),
    pytest.param(
        M,
        f"databases:\n  remote:\n    password: {SECRET}\n    port: 0\n",
        ["secure.yaml: databases.remote.port: expected a port number from 1 to 65535"],
        [],
        id="secure-bad-port",
    ),
    pytest.param(
        "measurements: [test]\n",
        "measurements:\n  - test: {interval: fast}\n",
        ["secure.yaml: measurements[0].test.interval: expected an integer, got a string"],
        ["fast"],
        id="secure-measurement-option",
    ),
    pytest.param(
        M,
        "measurements:\n  - test: {interval: 2}\n  - Test: {interval: 2}\n",
        ["secure.yaml: measurements[1]: measurement 'Test' is listed twice"],
        [],
        id="secure-measurement-twice",
    ),
    pytest.param(
        M,
        "measurements:\n  - test: 5\n",
        ["secure.yaml: measurements[0].test: expected a mapping of options"],
        [],
        id="secure-options-not-mapping",
    ),
    pytest.param(
        M,
        "pasword:\n",
        ["secure.yaml: pasword: unknown key"],
        [],
        id="secure-unknown-null-key",
    ),
    pytest.param(
        "description: d\n",
        "measurements: []\n",
        ["secure.yaml: measurements: expected a non-empty list"],
        [],
        id="secure-only-empty-measurements",
    ),
    pytest.param(
        M,
        f"- {SECRET}\n",
        ["secure.yaml: expected a mapping at the top level, got a list"],
        [],
        id="secure-top-level-list",
    ),
    pytest.param(
        M,
        f"databases:\n  remote:\n    password: '{SECRET}\n",
        ["secure.yaml: YAML syntax error at line"],
        [],
        id="secure-yaml-syntax-error",
    ),
    pytest.param(
        M,
        "databases:\n  remote:\n    password: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n",
        ["secure.yaml: YAML syntax error at line 3", "could not determine a constructor"],
        ["ANSIBLE_VAULT"],
        id="secure-vault-tag",
    ),
]


@pytest.mark.parametrize(("text", "secure", "expected", "absent"), BAD_CONFIGS)
def test_bad_config(
    project: Path,
    roles: Path,
    text: str,
    secure: str | None,
    expected: list[str],
    absent: list[str],
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(project, roles, text, secure)
    message = str(caught.value)
    for part in expected:
        assert part in message
    assert SECRET not in message
    for part in absent:
        assert part not in message


def test_at_least_25_bad_configs() -> None:
    assert len(BAD_CONFIGS) >= 25


# --- good configs ------------------------------------------------------------


def test_example_loads_with_the_real_roles() -> None:
    config = load_config(EXAMPLE_CONFIG, roles_dir=ROLES_DIR)
    assert config.path == EXAMPLE_CONFIG
    assert config.duration == 10.0
    assert config.description
    assert [m.role for m in config.measurements] == ["test", "system"]
    test = config.measurements[0]
    assert test.groups == ("guest",)
    assert test.options == {"interval": 1}
    assert test.variables["test_interval"] == 1
    assert "test_machines" not in test.variables
    assert config.local_database == PROJECT_ROOT / "results" / "benchmark.db"
    assert config.remote_database is None
    assert config.notes == ()


def test_old_camelcase_names(project: Path, roles: Path) -> None:
    config = load(
        project,
        roles,
        "measurements:\n  - Test\n  - StreamingAgent\n  - SpiceServer\n  - RemoteViewer\n"
        "  - GPU: {card: card0}\n",
    )
    assert [(m.name, m.role) for m in config.measurements] == [
        ("Test", "test"),
        ("StreamingAgent", "streaming_agent"),
        ("SpiceServer", "spice_server"),
        ("RemoteViewer", "remote_viewer"),
        ("GPU", "gpu"),
    ]
    assert config.measurements[2].groups == ("host",)
    assert config.measurements[4].variables == {"gpu_card": "card0"}


def test_defaults_fill_variables(project: Path, roles: Path) -> None:
    config = load(project, roles, "measurements: [test, system]\n")
    test, system = config.measurements
    assert test == MeasurementConfig(
        name="test",
        role="test",
        groups=("host", "guest", "client"),
        options={},
        variables={"test_interval": 1, "test_required_commands": ["vmstat"], "test_fail_phase": ""},
    )
    # A default only in the argument spec is used when defaults/main.yml lacks it.
    assert system.variables["system_verbose"] is False
    assert "system_extra" not in system.variables
    assert system.groups == ("host",)


def test_user_options_override_defaults(project: Path, roles: Path) -> None:
    config = load(
        project,
        roles,
        "measurements:\n"
        "  - test: {interval: 3, fail_phase: start, machine: guest}\n"
        "  - system: {interval: 2, interfaces: [eth0], machines: [host, client], anything: null}\n",
    )
    test, system = config.measurements
    assert test.options == {"interval": 3, "fail_phase": "start"}
    assert test.variables["test_interval"] == 3
    assert test.variables["test_fail_phase"] == "start"
    assert test.groups == ("guest",)
    assert system.variables["system_interval"] == 2  # an int is a fine float
    assert system.variables["system_interfaces"] == ["eth0"]
    assert system.variables["system_anything"] is None
    assert system.groups == ("host", "client")


def test_variables_are_copies_of_the_defaults(project: Path, roles: Path) -> None:
    config = load(project, roles, "measurements: [test]\n")
    config.measurements[0].variables["test_required_commands"].append("x")
    again = load(project, roles, "measurements: [test]\n")
    assert again.measurements[0].variables["test_required_commands"] == ["vmstat"]


def test_top_level_values(project: Path, roles: Path) -> None:
    config = load(
        project,
        roles,
        "description: night run\nduration: 2.5\n" + M + "machines:\n  host: h1\n  guest: {ip: x}\n"
        "databases:\n  local: {path: data/b.db}\n"
        "  remote: {type: postgresql, host: db, port: 5432, user: u, database: d, "
        "sslmode: require, service: s}\n"
        "matrix:\n  mode: full\n  repeat: 3\n  test/interval: [1, 2]\n",
    )
    assert config.description == "night run"
    assert config.duration == 2.5
    assert config.machines == {"host": "h1", "guest": {"ip": "x"}}
    assert config.local_database == project / "data" / "b.db"
    assert config.remote_database == {
        "type": "postgresql",
        "host": "db",
        "port": 5432,
        "user": "u",
        "database": "d",
        "sslmode": "require",
        "service": "s",
    }
    assert config.matrix == {"mode": "full", "repeat": 3, "test/interval": [1, 2]}
    assert config.path == project / "benchmark.yaml"
    assert config.secure_path is None
    assert config.secret_paths == frozenset()
    assert config.secret_values() == frozenset()


def test_defaults_of_top_level_values(project: Path, roles: Path) -> None:
    config = load(project, roles, M)
    assert config.description == ""
    assert config.duration == 10.0
    assert config.local_database == project / "results" / "benchmark.db"
    assert config.remote_database is None
    assert config.machines == {}
    assert config.matrix == {}


def test_local_database_is_relative_to_the_config(
    tmp_path: Path, roles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "bench.yaml").write_text(M + "databases:\n  local: my.db\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("conf/bench.yaml"), roles_dir=roles)
    assert config.local_database == tmp_path / "conf" / "my.db"
    (tmp_path / "conf" / "bench.yaml").write_text(M + f"databases:\n  local: {tmp_path}/abs.db\n")
    assert load_config(Path("conf/bench.yaml"), roles_dir=roles).local_database == (
        tmp_path / "abs.db"
    )


def test_messages_use_the_name_as_given(
    tmp_path: Path, roles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "bench.yaml").write_text("duration: 0\n" + M)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^conf/bench\.yaml: duration: "):
        load_config(Path("conf/bench.yaml"), roles_dir=roles)
    absolute = tmp_path / "conf" / "bench.yaml"
    with pytest.raises(ConfigError, match=f"^{absolute}: duration: "):
        load_config(absolute, roles_dir=roles)


def test_secure_yaml_is_merged_and_secret(project: Path, roles: Path) -> None:
    config = load(
        project,
        roles,
        "measurements:\n  - test: {interval: 2}\n  - system\n"
        "databases:\n  remote:\n    type: postgresql\n    host: db.example.org\n",
        f"databases:\n  remote:\n    password: {SECRET}\n    port: 5433\n"
        "measurements:\n  - streaming_agent: {token: tok-123}\n  - Test: {fail_phase: setup}\n",
    )
    assert config.secure_path == project / "secure.yaml"
    assert config.remote_database is not None
    assert config.remote_database["password"] == SECRET
    assert config.remote_database["host"] == "db.example.org"
    # Merged by name (through the alias), and a name only in secure.yaml appended.
    assert [m.role for m in config.measurements] == ["test", "system", "streaming_agent"]
    assert config.measurements[0].variables["test_fail_phase"] == "setup"
    assert config.measurements[0].variables["test_interval"] == 2
    assert config.measurements[2].variables["streaming_agent_token"] == "tok-123"
    assert config.secret_paths == {
        ("databases", "remote", "password"),
        ("databases", "remote", "port"),
        ("measurements", 0, "test", "fail_phase"),
        ("measurements", 2, "streaming_agent", "token"),
    }
    assert config.secret_values() == {SECRET, "5433", "setup", "tok-123"}
    redacted = config.redacted()
    assert redacted["databases"]["remote"]["password"] == MASK
    assert redacted["databases"]["remote"]["host"] == "db.example.org"
    assert redacted["measurements"][2] == {"streaming_agent": {"token": MASK}}
    assert SECRET not in repr(redacted)
    assert SECRET not in repr(config)
    # redacted() is a copy: the real data keeps the secret.
    assert config.data["databases"]["remote"]["password"] == SECRET


def test_secure_path_given_explicitly(project: Path, roles: Path) -> None:
    (project / "other.yaml").write_text(f"databases:\n  remote:\n    password: {SECRET}\n")
    config = load(project, roles, M, secure_path=Path("other.yaml"))
    assert config.secure_path == project / "other.yaml"
    assert config.secret_values() == {SECRET}


def test_explicit_secure_path_missing(project: Path, roles: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nope\.yaml: file not found$"):
        load(project, roles, M, secure_path=Path("nope.yaml"))


def test_explicit_config_missing(project: Path, roles: Path) -> None:
    with pytest.raises(ConfigError, match=r"^missing\.yaml: file not found$"):
        load_config(Path("missing.yaml"), roles_dir=roles)


def test_empty_secure_yaml_is_fine(project: Path, roles: Path) -> None:
    config = load(project, roles, M, "# nothing yet\n")
    assert config.secure_path == project / "secure.yaml"
    assert config.secret_paths == frozenset()


def test_overrides(project: Path, roles: Path) -> None:
    config = load(
        project,
        roles,
        M,
        overrides={"duration": 5, "description": "x", "databases.local": "o.db", "matrix": None},
    )
    assert config.duration == 5.0
    assert config.description == "x"
    assert config.local_database == project / "o.db"
    assert config.data["duration"] == 5


def test_override_replaces_a_secret(project: Path, roles: Path) -> None:
    config = load(
        project,
        roles,
        M,
        f"databases:\n  remote:\n    password: {SECRET}\n",
        overrides={"databases.remote": {"host": "h"}},
    )
    assert config.remote_database == {"host": "h"}
    assert config.secret_paths == frozenset()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"duration": -1}, "command line: duration: expected a number greater than 0"),
        ({"duration": "5"}, "command line: duration: expected a number greater than 0, got a"),
        ({"durration": 5}, "command line: durration: unknown key; did you mean 'duration'?"),
        ({"databases.remote.port": 0}, "command line: databases.remote.port: expected a port"),
        ({"description.x": "y"}, "command line: description.x: description is not a mapping"),
        ({"": 1}, "command line: expected a setting name"),
    ],
)
def test_bad_overrides(
    project: Path, roles: Path, overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(project, roles, "description: d\n" + M, overrides=overrides)
    assert str(caught.value).startswith(expected)


def test_fallback_to_the_example(
    tmp_path: Path, roles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    example = tmp_path / "benchmark.yaml.example"
    example.write_text("description: example\n" + M)
    (tmp_path / "secure.yaml").write_text(f"databases:\n  remote:\n    password: {SECRET}\n")
    config = load_config(
        roles_dir=roles,
        default_config=tmp_path / "benchmark.yaml",
        example_config=example,
    )
    assert config.path == example
    assert config.description == "example"
    assert config.notes == (
        "no benchmark.yaml: using the example's local measurements from benchmark.yaml.example",
    )
    assert config.secure_path == tmp_path / "secure.yaml"
    assert config.secret_values() == {SECRET}


def test_default_config_used_when_present(
    tmp_path: Path, roles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmark.yaml").write_text("duration: 0\n" + M)
    with pytest.raises(ConfigError, match=r"^benchmark\.yaml: duration: "):
        load_config(
            roles_dir=roles,
            default_config=tmp_path / "benchmark.yaml",
            example_config=tmp_path / "benchmark.yaml.example",
        )


def test_missing_example_is_reported(tmp_path: Path, roles: Path) -> None:
    with pytest.raises(ConfigError, match=r"benchmark\.yaml\.example: file not found"):
        load_config(
            roles_dir=roles,
            default_config=tmp_path / "benchmark.yaml",
            example_config=tmp_path / "benchmark.yaml.example",
        )
