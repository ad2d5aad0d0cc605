"""Parsers on real output recorded with the project's own samplers."""

from __future__ import annotations

import json

import pytest

from collector.measurements import PARSERS, parsers_for
from collector.parsers import split_timestamp, system, vmstat


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


def test_system_real_output(fixture_text):
    text = fixture_text("local/system-proc.jsonl")
    samples = [json.loads(line) for line in text.splitlines()]
    tables = system.parse(text)
    rows = tables["system"].as_dicts()
    assert len(rows) == len(samples) - 1  # rates need two samples
    for row in rows:
        parts = row["cpu_user"] + row["cpu_system"] + row["cpu_iowait"] + row["cpu_idle"]
        assert 0 <= row["cpu_busy"] <= 100
        assert parts + row["cpu_steal"] == pytest.approx(100, abs=0.5)
        assert row["mem_used_kb"] == row["mem_total_kb"] - row["mem_available_kb"]
    first, second = samples[0], samples[1]
    dt = second["t"] - first["t"]
    assert rows[0]["context_switches_per_s"] == pytest.approx(
        (second["ctxt"] - first["ctxt"]) / dt, abs=0.1
    )
    net = tables["system_net"].as_dicts()
    interfaces = set(samples[0]["net"])
    assert {r["interface"] for r in net} == interfaces
    assert len(net) == len(rows) * len(interfaces)
    eth = next(r for r in net if r["interface"] == "eth0")
    assert eth["rx_bytes"] == second["net"]["eth0"][0]


def test_system_ignores_a_cut_last_line(fixture_text):
    text = fixture_text("local/system-proc.jsonl")
    cut = text + '{"t": 179585194'
    assert system.parse(cut)["system"].rows == system.parse(text)["system"].rows


def test_split_timestamp():
    assert split_timestamp("12.5 hello world") == (12.5, "hello world")
    assert split_timestamp("hello world") == (None, "hello world")


def test_every_role_with_a_parser_is_registered():
    assert {"test", "system", "network"} <= set(PARSERS)
    for role, files in PARSERS.items():
        # every raw file belongs to one of the role's samplers
        assert all(f.split("/")[0] == role or f.startswith(role + "_") for f in files), role
    assert parsers_for("nonexistent") == {}
