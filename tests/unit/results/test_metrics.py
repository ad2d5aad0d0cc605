"""Metric names, the main figures, and the runs that repeat a sweep point."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from collector.results import metrics


def test_a_subject_with_dots_is_kept_whole():
    name = "process.lab.example.org/python3.11.cpu_mean_pct"
    assert metrics.split(name) == ("process", "lab.example.org/python3.11", "cpu_mean_pct")
    assert metrics.label(name) == "process lab.example.org/python3.11 cpu_mean_pct"
    assert metrics.unit(name) == "%"
    assert metrics.unit("network_connections.h.display_rx_mbit_per_s") == "Mbit/s"
    assert metrics.unit("system.h.context_switches_mean_per_s") == "/s"
    assert metrics.unit("client_frames.h/1.fps") == "frames/s"


def test_numbers_include_numpy_ones_and_exclude_bools_and_nan():
    assert metrics.is_number(np.int64(3)) and metrics.is_number(np.float64(2.5))
    assert metrics.is_number(0)
    assert not metrics.is_number(True) and not metrics.is_number(np.bool_(True))
    assert not metrics.is_number(math.nan) and not metrics.is_number("3")


def test_metric_columns_keep_numeric_main_figures():
    summaries = pd.DataFrame([{
        "uuid": "u1",
        "client_frames.h/1.fps": 29.9,
        "client_frames.h/1.frames": 180,
        "spice_streams.h.sizes": ["640x480"],
        "samplers.h/test.cpu_pct": 0.3,
        "system.h.samples": 5,
        "network_connections.h.display_connection": "10.0.0.1:5900 10.0.0.2:4000",
        "gpu_samples.h/gpu0/sm.mean": None,
    }])  # fmt: skip
    assert metrics.metric_columns(summaries) == [
        "client_frames.h/1.fps",
        "client_frames.h/1.frames",
    ]
    every = metrics.metric_columns(summaries, everything=True)
    assert "samplers.h/test.cpu_pct" in every and "system.h.samples" in every
    assert "spice_streams.h.sizes" not in every and "gpu_samples.h/gpu0/sm.mean" not in every


def _experiments() -> pd.DataFrame:
    rows = [
        ("a1", "sweep-1", "ok", "0", 1), ("a2", "sweep-1", "ok", "0", 2),
        ("a3", "sweep-1", "failed", "0", 3), ("b1", "sweep-1", "ok", "300kbit", 1),
        ("b2", "sweep-1", "partial", "300kbit", 2), ("c1", "sweep-2", "ok", "0", 1),
        ("solo", None, "ok", None, None),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["uuid", "sweep_id", "status", "sweep.rate",
                                        "sweep.repetition"])  # fmt: skip
    frame["sweep.key"] = frame["uuid"] + "-key"  # one key per run, as sweeps record it
    return frame


def test_repetitions_are_the_good_runs_of_the_same_point_of_the_same_sweep():
    experiments = _experiments()
    assert metrics.swept_columns(experiments) == ["sweep.rate"]
    assert metrics.repetitions_of(experiments, "a1") == ["a1", "a2"]
    assert metrics.repetitions_of(experiments, "b2") == ["b1", "b2"]
    assert metrics.repetitions_of(experiments, "c1") == ["c1"]
    assert metrics.repetitions_of(experiments, "solo") == ["solo"]
    # a failed run asked for by name is kept, first
    assert metrics.repetitions_of(experiments, "a3") == ["a3", "a1", "a2"]


def test_values_of_skips_runs_without_the_metric():
    summaries = pd.DataFrame({"uuid": ["a", "b", "c"], "m": [1.0, None, 3.0]})
    assert metrics.values_of(summaries, "m", ["a", "b", "c", "zzz"]) == [1.0, 3.0]
    assert metrics.values_of(summaries, "other", ["a"]) == []


def test_point_labels_are_short():
    assert metrics.short_path("sweep.measurements/network_conditions/rate") == \
        "network_conditions/rate"  # fmt: skip
    assert metrics.point_label({"sweep.duration": 5, "sweep.measurements/a/b": "x"}) == \
        "duration=5, a/b=x"  # fmt: skip
