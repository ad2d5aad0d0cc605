"""The ``system`` measurement's parser, on /proc samples recorded with its sampler."""

from __future__ import annotations

import json

import pytest

from collector.measurements import system


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
