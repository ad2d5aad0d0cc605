"""The old script's benchmark.yaml, verbatim: read with the old meaning of every key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from collector.config import load_config
from collector.config.legacy import MEBI, old_name
from collector.errors import ConfigError
from collector.running.sweep import apply_point, expand

OLD = Path(__file__).parents[2] / "fixtures" / "config" / "old-benchmark.yaml"


@pytest.fixture
def old(tmp_path: Path) -> Path:
    path = tmp_path / "benchmark.yaml"
    shutil.copy(OLD, path)
    return path


def measurement(config, role: str):
    return next(m for m in config.measurements if m.role == role)


def test_the_old_example_loads_with_the_old_meanings(old: Path):
    config = load_config(old)
    assert [m.role for m in config.measurements] == [
        "test", "gpu", "streaming_agent", "spice_server", "remote_viewer",
    ]  # fmt: skip
    agent = measurement(config, "streaming_agent")
    assert agent.options == {"framerate": 10}
    assert agent.variables["streaming_agent_framerate"] == 10
    assert agent.legacy_parameters == {"FPS": 10}
    # SpiceServer's "log" was its recorder file; RemoteViewer's URL the SPICE URI
    server = measurement(config, "spice_server")
    assert server.options == {"recorder_file": "/tmp/recorder.txt"}
    viewer = measurement(config, "remote_viewer")
    assert viewer.options == {
        "executable": "/home/someone/install/bin/remote-viewer", "uri": "spice://lab-server:5900",
    }  # fmt: skip
    # {type: sqlite} without a path: our usual file, beside the config
    assert config.local_database == old.parent / "results" / "benchmark.db"
    assert config.remote_database == {
        "type": "postgresql", "user": "streaming", "database": "streaming",
    }  # fmt: skip
    assert config.machines["client"] is None
    assert config.machines["guest"] == {"type": "remote", "host": "root@192.168.1.83"}


def test_every_old_agent_option_and_its_parameter_name(tmp_path: Path):
    path = tmp_path / "benchmark.yaml"
    options = {"FPS": 25, "GOP": 0, "ref-frames": 2, "bitrate": 8_000_000, "ratecontrol": "vbr"}
    path.write_text(yaml.safe_dump({"measurements": [{"StreamingAgent": options}]}))
    agent = measurement(load_config(path), "streaming_agent")
    average = 8_000_000 / MEBI
    assert agent.options == {
        "framerate": 25,
        "options": {
            "gop": 0, "max-num-ref-frames": 2, "average-bitrate": average,
            "max-bitrate": 1.5 * average, "ratecontrol": "vbr",
        },
    }  # fmt: skip
    assert agent.legacy_parameters == {
        "FPS": 25, "GOP": 0, "num_ref_frames": 2, "bitrate": 8_000_000, "ratecontrol": "vbr",
    }  # fmt: skip


def test_the_old_matrix_sweeps_as_before(old: Path):
    data = yaml.safe_load(old.read_text())
    points = expand(data["matrix"], "sweep-x")
    assert len(points) == 5  # baseline mode: the first values, then one change at a time
    point = apply_point(data, points[0].values, str(old))
    old.write_text(yaml.safe_dump(point))
    agent = measurement(load_config(old), "streaming_agent")
    assert agent.options["framerate"] == 30
    assert agent.options["options"]["average-bitrate"] == 8_000_000 / MEBI
    assert agent.legacy_parameters == {"FPS": 30, "bitrate": 8_000_000}


@pytest.mark.parametrize(
    ("options", "where", "problem"),
    [
        ({"FPS": "ten"}, "StreamingAgent.FPS", "expected a number, got a string"),
        ({"FPS": 10, "framerate": 20}, "StreamingAgent.FPS", "sets 'framerate', which is given"),
        ({"FPS": 10.5}, "StreamingAgent.FPS", "expected an integer"),
    ],
)
def test_old_options_are_checked_like_ours(tmp_path: Path, options, where, problem):
    path = tmp_path / "benchmark.yaml"
    path.write_text(yaml.safe_dump({"measurements": [{"StreamingAgent": options}]}))
    with pytest.raises(ConfigError, match=problem) as caught:
        load_config(path)
    assert f"measurements[0].{where}" in str(caught.value)


def test_old_options_under_the_new_name_say_where_they_belong(tmp_path: Path):
    path = tmp_path / "benchmark.yaml"
    path.write_text(yaml.safe_dump({"measurements": [{"streaming_agent": {"FPS": 10}}]}))
    with pytest.raises(ConfigError, match="under the old name 'StreamingAgent'"):
        load_config(path)
    # and the new name keeps the new meaning of a shared option name
    path.write_text(yaml.safe_dump({"measurements": [{"spice_server": {"log": "/var/log/q"}}]}))
    assert measurement(load_config(path), "spice_server").options == {"log": "/var/log/q"}
    assert old_name("remote_viewer") == "RemoteViewer"


@pytest.mark.parametrize(
    ("machines", "where", "problem"),
    [
        ({"guest": {"type": "cloud"}}, "machines.guest.type", "expected one of: remote, local"),
        ({"guest": {"type": "remote"}}, "machines.guest.host", "required for a remote machine"),
        ({"guest": {"type": "remote", "host": 5}}, "machines.guest.host", "expected user@addr"),
    ],
)
def test_bad_old_machines_are_refused(tmp_path: Path, machines, where, problem):
    path = tmp_path / "benchmark.yaml"
    path.write_text(yaml.safe_dump({"measurements": ["test"], "machines": machines}))
    with pytest.raises(ConfigError, match=problem) as caught:
        load_config(path)
    assert where in str(caught.value)


def test_an_unknown_local_database_type_is_refused(tmp_path: Path):
    path = tmp_path / "benchmark.yaml"
    path.write_text(
        yaml.safe_dump({"measurements": ["test"], "databases": {"local": {"type": "mysql"}}})
    )
    with pytest.raises(ConfigError, match=r"databases\.local\.type: unsupported database type"):
        load_config(path)


def test_groups_map_ours_onto_the_inventory_s_own(tmp_path: Path):
    path = tmp_path / "benchmark.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "measurements": [
                    "spice_server",
                    "remote_viewer",
                    "test",
                    {"system": {"machine": "host"}},
                ],
                "groups": {
                    "host": "hypervisors",
                    "guest": ["win10_vms", "linux_vms"],
                    "client": "thin_clients",
                },
            }
        )
    )
    config = load_config(path)
    assert measurement(config, "spice_server").groups == ("hypervisors",)
    assert measurement(config, "remote_viewer").groups == ("thin_clients",)
    assert measurement(config, "test").groups == (
        "hypervisors", "win10_vms", "linux_vms", "thin_clients",
    )  # fmt: skip
    # a measurement's own machine: names the inventory's groups already
    assert measurement(config, "system").groups == ("host",)
    path.write_text(yaml.safe_dump({"measurements": ["test"], "groups": {"server": "x"}}))
    with pytest.raises(ConfigError, match=r"groups\.server: unknown group; expected one of: host"):
        load_config(path)
    path.write_text(yaml.safe_dump({"measurements": ["test"], "groups": {"host": 3}}))
    with pytest.raises(ConfigError, match=r"groups\.host: expected a group name"):
        load_config(path)


def test_the_remote_schema_is_a_plain_name(tmp_path: Path):
    path = tmp_path / "benchmark.yaml"
    remote = {"type": "postgresql", "user": "bench", "schema": "team_bench"}
    path.write_text(yaml.safe_dump({"measurements": ["test"], "databases": {"remote": remote}}))
    assert load_config(path).remote_database["schema"] == "team_bench"
    from collector.store.remote import DEFAULT_SCHEMA, RemoteSettings

    assert RemoteSettings.from_config(remote, "b.yaml").connect_kwargs()["options"] == (
        "-c search_path=team_bench"
    )
    assert RemoteSettings.from_config({"user": "x"}, "b.yaml").schema == DEFAULT_SCHEMA
    remote["schema"] = "team; DROP TABLE x"
    path.write_text(yaml.safe_dump({"measurements": ["test"], "databases": {"remote": remote}}))
    with pytest.raises(ConfigError, match=r"databases\.remote\.schema: expected a schema name"):
        load_config(path)
