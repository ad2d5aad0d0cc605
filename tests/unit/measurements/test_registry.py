"""The registry of measurements, built from their modules, agrees with the roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from collector.config.roles import discover_roles
from collector.errors import CollectorError
from collector.measurements import registry
from collector.measurements.parsing import Parsed
from collector.paths import ROLES_DIR

MEASUREMENTS = sorted(registry.measurements())


def test_every_measurement_role_has_a_module_and_every_module_a_role():
    assert set(registry.measurements()) == set(discover_roles())
    assert {"test", "system", "spice_server", "remote_viewer", "gpu"} <= set(MEASUREMENTS)


def _sampler_names_in_tasks(role: str) -> set[str]:
    """Every ``sampler_name`` the role's own task files give to the sampler role."""
    names = set()
    for path in (ROLES_DIR / role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            name = (task.get("vars") or {}).get("sampler_name")
            if name and task.get("ansible.builtin.include_role", {}).get("name") == "sampler":
                names.add(name)
    return names


@pytest.mark.parametrize("name", MEASUREMENTS)
def test_the_samplers_the_role_names_are_the_ones_its_module_declares(name):
    declared = set(registry.sampler_names(name))
    used = _sampler_names_in_tasks(name)
    assert used, f"roles/{name} launches no sampler"
    for sampler in used:
        # a templated name ("gpu_{{ __gpu_use }}") stands for the declared names it can take
        pattern = re.escape(sampler.split("{{")[0]) + (".+" if "{{" in sampler else "")
        matching = {d for d in declared if re.fullmatch(pattern, d)}
        assert matching, f"roles/{name} names sampler {sampler!r}, its module does not declare it"
    launched = set()
    for sampler in used:
        launched |= {d for d in declared if d.startswith(sampler.split("{{")[0])}
    assert launched == declared


@pytest.mark.parametrize("name", MEASUREMENTS)
def test_parsers_emit_exactly_the_declared_tables(name):
    measurement = registry.get(name)
    emitted: dict[str, tuple[str, ...]] = {}
    for parse in measurement.parsers().values():
        parsed = parse("")
        # and count the lines they read: an empty file has none
        assert isinstance(parsed, Parsed) and parsed.lines.describe().startswith("0 lines: 0 ")
        assert parse("\n\n").lines.lines == 2
        for table, rows in parsed.items():
            emitted[table] = rows.fields
    assert emitted == dict(measurement.tables)
    assert not set(measurement.derived) & set(measurement.tables)
    assert bool(measurement.derived) == (measurement.derive is not None)
    tables = {**measurement.tables, **measurement.derived}
    for summary in measurement.summaries:
        assert summary.table in tables
        assert summary.also_reads in (None, *tables)
        assert len({f.name for f in summary.figures}) == len(summary.figures)


def test_raw_files_are_found_by_sampler_and_file():
    assert list(registry.parsers_for("spice_server")) == [
        "spice_server/output",
        "spice_server_recorder/output",
    ]
    assert set(registry.parsers_for("streaming_agent")) == {
        "streaming_agent/frames.log",
        "streaming_agent/output",
    }
    assert list(registry.parsers_for("workload")) == ["workload/output"]
    assert registry.parsers_for("network_conditions") == {}
    assert registry.parsers_for("nonexistent") == {}
    assert registry.sampler_names("nonexistent") == []


def test_figures_are_found_by_table_and_name():
    fps = registry.figure("client_frames", "fps")
    assert fps is not None and fps.unit == "frames/s" and fps.headline
    assert registry.figure("process", "samples").headline is False
    assert registry.figure("process", "nonexistent") is None
    assert registry.figure("nonexistent", "fps") is None


def test_parse_file_takes_old_names_and_says_which_measurements_parse(tmp_path: Path):
    log = tmp_path / "vmstat.txt"
    log.write_text("1.0  r  b swpd free buff cache si so bi bo in cs us sy id wa st\n")
    tables, warnings = registry.parse_file("Test", log)
    assert set(tables) == {"test"} and tables.lines.recognised == 1 and warnings == []
    with pytest.raises(
        CollectorError, match="no parser for measurement 'network_conditions'; parsers"
    ):
        registry.parse_file("network_conditions", log)
    with pytest.raises(CollectorError, match="cannot read"):
        registry.parse_file("test", tmp_path / "missing")


def test_parse_file_reads_gzip_and_any_line_ending(tmp_path: Path):
    import gzip

    from tests.unit.measurements.spice_logs import read

    text = read("mjpeg-ball-640/client.log")
    expected, warnings = registry.parse_file("remote_viewer", _write(tmp_path / "plain.log", text))
    assert len(expected["client_frames"].rows) == 301 and warnings == []
    for name, data in {
        "client.log.gz": gzip.compress(text.encode()),
        "crlf.log": text.replace("\n", "\r\n").encode(),
        "no-final-newline.log": text.rstrip("\n").encode(),
    }.items():
        (tmp_path / name).write_bytes(data)
        tables, _ = registry.parse_file("RemoteViewer", tmp_path / name)
        assert tables == expected, name
        assert tables.lines.describe() == expected.lines.describe(), name
    (tmp_path / "cut.gz").write_bytes(gzip.compress(text.encode())[:200])
    with pytest.raises(CollectorError, match=r"cannot decompress .*cut\.gz"):
        registry.parse_file("remote_viewer", tmp_path / "cut.gz")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
