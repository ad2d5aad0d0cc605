"""Sweep expansion, points applied to the config, resume keys."""

from __future__ import annotations

import pytest
import yaml

from collector.errors import ConfigError
from collector.running.sweep import apply_point, expand, plan_sweep, sweep_id_of

MATRIX = {"measurements/test/interval": [1, 2, 5], "duration": [10, 30]}


def test_baseline_mode_changes_one_path_at_a_time():
    points = expand(MATRIX, "s1")
    assert [p.values for p in points] == [
        {"measurements/test/interval": 1, "duration": 10},
        {"measurements/test/interval": 2, "duration": 10},
        {"measurements/test/interval": 5, "duration": 10},
        {"measurements/test/interval": 1, "duration": 30},
    ]
    assert [p.changed for p in points] == [
        (),
        ("measurements/test/interval",),
        ("measurements/test/interval",),
        ("duration",),
    ]
    assert [p.index for p in points] == [1, 2, 3, 4]


def test_full_mode_runs_every_combination_and_repeat_multiplies():
    points = expand({**MATRIX, "mode": "full", "repeat": 2}, "s1")
    assert len(points) == 3 * 2 * 2
    assert [p.repetition for p in points[:4]] == [1, 2, 1, 2]
    assert points[0].values == points[1].values
    assert len({p.key for p in points}) == len(points)


def test_keys_are_stable_and_belong_to_their_sweep():
    a, b = expand(MATRIX, "s1"), expand(MATRIX, "s1")
    assert [p.key for p in a] == [p.key for p in b]
    assert {p.key for p in a}.isdisjoint(p.key for p in expand(MATRIX, "s2"))


def test_a_value_equal_to_the_baseline_is_not_run_twice():
    points = expand({"duration": [10, 10, 20]}, "s")
    assert [p.values["duration"] for p in points] == [10, 20]


def test_apply_point_sets_measurement_options_and_top_level_keys():
    data = {
        "duration": 5,
        "measurements": ["test", {"system": None}, {"StreamingAgent": {"framerate": 10}}],
        "matrix": MATRIX,
    }
    out = apply_point(
        data,
        {
            "measurements/test/interval": 2,
            "measurements/system/interval": 0.5,
            "measurements/StreamingAgent/framerate": 30,
            "duration": 20,
            "databases/local": "x.db",
        },
        "bench.yaml",
    )
    assert out["measurements"] == [
        {"test": {"interval": 2}},
        {"system": {"interval": 0.5}},
        {"StreamingAgent": {"framerate": 30}},
    ]
    assert out["duration"] == 20 and out["databases"] == {"local": "x.db"}
    assert "matrix" not in out
    assert data["measurements"][0] == "test"  # the original is untouched


def test_apply_point_names_an_unknown_measurement():
    with pytest.raises(
        ConfigError, match=r"bench.yaml: matrix.measurements/gpu/tool: no measurement"
    ):
        apply_point({"measurements": ["test"]}, {"measurements/gpu/tool": "x"}, "bench.yaml")


def test_sweep_id_follows_the_config():
    assert sweep_id_of({"a": 1}) == sweep_id_of({"a": 1}) != sweep_id_of({"a": 2})


def test_plan_checks_every_point_before_running(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "measurements": ["test"],
                "databases": {"local": "db/b.db"},
                "matrix": {"measurements/test/interval": [1, "fast"]},
            }
        )
    )
    with pytest.raises(ConfigError) as caught:
        plan_sweep(config, None)
    assert "measurements[0].test.interval: expected an integer, got a string" in str(caught.value)
    good = tmp_path / "good.yaml"
    good.write_text(
        yaml.safe_dump(
            {
                "measurements": ["test"],
                "databases": {"local": "db/b.db"},
                "matrix": {"measurements/test/interval": [1, 2], "repeat": 2},
            }
        )
    )
    plan = plan_sweep(good, None)
    assert len(plan.points) == 4
    assert len(set(plan.point_files.values())) == 2  # one file per distinct point
    point = yaml.safe_load(plan.point_files[3].read_text())
    assert point["measurements"] == [{"test": {"interval": 2}}]
    assert point["databases"]["local"] == str(tmp_path / "db" / "b.db")
    assert plan.estimate() > 0
