"""The example measurement ``test``: vmstat's output, recorded with the project's sampler."""

from __future__ import annotations

import pytest

from collector.measurements import test as vmstat


def test_vmstat_real_output(fixture_text):
    tables = vmstat.parse(fixture_text("local/vmstat-timestamped.txt"))
    rows = tables["test"].as_dicts()
    # 6 samples, the first (averages since boot) dropped
    assert len(rows) == 5
    assert rows[0]["time"] == pytest.approx(1795851939.097738)
    assert [r["cpu"] for r in rows] == [4, 1, 1, 0, 1]
    assert all(r["cpu"] == 100 - r["cpu_idle"] for r in rows)
    assert rows[0]["context_switches"] == 177


def test_vmstat_skips_garbage_and_cut_lines():
    text = (
        "1.0 procs ---\n1.0  r  b swpd free buff cache si so bi bo in cs us sy id wa st\n"
        "1.1  1 0 0 1 1 1 0 0 0 0 1 1 1 1 98 0 0\n"
        "2.1  1 0 0 1 1 1 0 0 0 0 1 1 5 5 90 0 0\n"
        "3.1  1 0 0 1 1\n"  # cut by the window's end
        "not a line at all\n"
    )
    rows = vmstat.parse(text)["test"].as_dicts()
    assert [(r["time"], r["cpu"]) for r in rows] == [(2.1, 10)]
