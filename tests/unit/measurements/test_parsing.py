"""Helpers the parsers share, and what every parser must do."""

from __future__ import annotations

import pytest

from collector.measurements.gpu import parse_intel_gpu_top, parse_nvidia_smi
from collector.measurements.parsing import log_lines, split_timestamp
from collector.measurements.process import parse as parse_pidstat
from collector.measurements.streaming_agent import parse as parse_agent_log


def test_split_timestamp():
    assert split_timestamp("12.5 hello world") == (12.5, "hello world")
    assert split_timestamp("hello world") == (None, "hello world")


@pytest.mark.parametrize(
    ("parser", "fixture"),
    [
        (parse_pidstat, "pidstat/vp8-smpte-scroll-1024.txt"),
        (parse_nvidia_smi, "gpu/nvidia-smi-stats.txt"),
        (parse_intel_gpu_top, "gpu/intel_gpu_top.json"),
        (parse_agent_log, "streaming_agent/frames.log"),
    ],
)
def test_repeated_input_gives_repeated_rows(fixture_text, parser, fixture):
    """Ten times the input, ten times the rows (speed is shown by bench/parsers.py)."""
    text = fixture_text(fixture)
    if fixture.endswith(".json"):  # repeat the complete objects inside one array
        body = text[text.index("{") : text.rindex("\n},\n") + 2]
        text = "[\n" + ",\n".join([body] * 1000)
    small = text * (20_000 // text.count("\n") + 1)
    big = small * 10  # ~200,000 lines
    small_rows = sum(len(t.rows) for t in parser(small).values())
    big_rows = sum(len(t.rows) for t in parser(big).values())
    assert big_rows >= 10 * small_rows - 10


def test_log_lines_whatever_the_line_endings():
    assert log_lines("a\nb\n") == log_lines("a\r\nb\r\n") == log_lines("a\rb\r") == ["a", "b"]
    assert log_lines("a\nb") == ["a", "b"]  # no final newline: the last line is kept
    assert log_lines("a\n\nb\n") == ["a", "", "b"]
    assert log_lines("") == [] and log_lines("\n") == [""]
