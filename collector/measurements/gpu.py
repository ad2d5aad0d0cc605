"""``gpu``: GPU busyness, from ``nvidia-smi stats`` or ``intel_gpu_top -J``.

The role runs whichever tool the machine has (sampler ``gpu_nvidia`` or
``gpu_intel``).

**nvidia-smi stats.** ``nvidia-smi stats`` output: one line per GPU, metric and sample.

Each line is ``<GPU index>, <metric>, <timestamp in µs since the epoch>, <value>``; the
metric name is padded with spaces to a common width (``temp    ``, ``memClk  ``) and is
kept as printed, stripped (``pwrDraw``, ``temp``, ``procClk``, ``memClk``, ``gpuUtil``,
``memUtil``, ``encUtil``, ``decUtil``, ``violPwr``, ``violThm``, ...). Metrics are sampled
at their own rates and printed in batches, so the lines are not in time order.

``time`` is the line's own timestamp (absolute, µs / 1e6); a sampler runner's
``<epoch> `` prefix, if any, is ignored. Lines that do not have four fields with an
integer GPU index and timestamp and a numeric value (``N/A``, a cut last line, noise)
are skipped.

**intel_gpu_top -J.** A JSON array written one sample (top-level object) at a time.

The format follows ``tools/intel_gpu_top.c`` of igt-gpu-tools (``main``, ``print_header``,
``print_engine``, ``json_open_struct``/``json_add_member``)::

    [
    {
        "period": {"duration": 1000.126, "unit": "ms"},
        "frequency": {"requested": 350.0, "actual": 349.8, "unit": "MHz"},
        "interrupts": {"count": 120.9, "unit": "irq/s"},
        "rc6": {"value": 98.1, "unit": "%"},
        "power": {"GPU": 0.05, "Package": 3.2, "unit": "W"},
        "engines": {
            "Render/3D/0": {"busy": 1.9, "sema": 0.0, "wait": 0.0, "unit": "%"},
            "Video/0": {...}, ...
        },
        "clients": {...}
    },
    {
    ...

(condensed here: the tool puts each member on its own line, indented with tabs). The
array is closed only when the tool exits on SIGINT; the sampler ends it with SIGTERM, so
a missing ``]`` and a cut last object are normal: every complete top-level object is
read, anything else is skipped.
Top-level objects are the ones whose ``{`` opens a line; nested ones never do.

Versions and options differ, so every group is optional:

- engines are named by class (``Render/3D``, ``Video``: the default class view of the
  current tool) or per engine (``Render/3D/0``, ``Video/1``: with ``-p``, and in versions
  without the class view); the name is kept as printed;
- with ``-p`` on a multi-GT device the frequency and RC6 groups are per GT
  (``frequency-gt0``, ``rc6-gt0``, ...); their mean is taken, as the tool does itself
  for the aggregate groups;
- ``power`` has ``GPU`` and ``Package`` (RAPL; not opened on discrete GPUs, which then
  have no power group); a lone ``value`` member is read as the GPU's power.

The tool's first sample covers only the few microseconds between its two first PMU
reads (``pmu_sample`` before the loop and again at its top), so ``period_ms`` is given
for each sample: a consumer can drop or weight short periods. ``nan``/``inf`` (printed by
``%f`` for a zero-length period) become None.

``clients`` (per-process busyness) and ``imc-bandwidth`` are not read.

Lines may carry the sampler runner's ``<epoch> `` prefix; ``time`` is then the prefix
of the line that opens the sample, otherwise None (the output has no timestamp). The
tool flushes stdout when a sample is complete, so that is about the end of its period.
"""

from __future__ import annotations

import json
import math
import re
from statistics import fmean
from typing import Any

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, log_lines, split_timestamp
from collector.measurements.summarizing import by, known, largest

SAMPLE_FIELDS = ("time", "gpu", "metric", "value")
ENGINE_FIELDS = ("time", "sample", "engine", "busy_pct", "sema_pct", "wait_pct")
INTEL_FIELDS = (
    "time", "sample", "period_ms", "frequency_requested_mhz", "frequency_actual_mhz",
    "rc6_pct", "power_gpu_w", "power_package_w", "interrupts_per_s",
)  # fmt: skip

# C's printf("%f") of a NaN or an infinity ("nan", "-nan", "inf", "-inf") is not JSON
_NON_FINITE = re.compile(r"(?<=:)(\s*)(-?)(nan|inf)\b")
# what may separate two top-level objects
_BETWEEN = re.compile(r"[\s,]*")


def _non_finite(match: re.Match[str]) -> str:
    word = "NaN" if match.group(3) == "nan" else match.group(2) + "Infinity"
    return match.group(1) + word


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _member(sample: dict[str, Any], group: str, key: str) -> float | None:
    values = sample.get(group)
    return _number(values.get(key)) if isinstance(values, dict) else None


def _member_or_gt_mean(sample: dict[str, Any], group: str, key: str) -> float | None:
    """``group.key``, or the mean over ``group-gt0``, ``group-gt1``, ... (multi-GT, -p)."""
    value = _member(sample, group, key)
    if value is not None or group in sample:
        return value
    per_gt = [_member(sample, f"{group}-gt{i}", key) for i in range(8)]
    found = [v for v in per_gt if v is not None]
    return sum(found) / len(found) if found else None


def _samples(text: str, counts: LineCounts) -> list[tuple[float | None, dict[str, Any]]]:
    """Every complete top-level object, with the runner's prefix of its first line.

    The lines of an object that does not decode are counted as unparsed,
    but for the last one: the end of the window cuts it.
    """
    lines: list[str] = []
    starts: list[tuple[int, float | None]] = []  # (offset of a line opening "{", prefix)
    offset = 0
    raws = log_lines(text)
    counts.lines = len(raws)
    for raw in raws:
        t: float | None = None
        line = raw
        if raw[:1].isdigit():  # JSON lines start with "[", "{", "}", ",", "]" or a tab
            t, line = split_timestamp(raw)
        if "nan" in line or "inf" in line:
            line = _NON_FINITE.sub(_non_finite, line)
        if line.lstrip("[, \t")[:1] == "{":
            starts.append((offset + line.index("{"), t))
        lines.append(line)
        offset += len(line) + 1
    body = "\n".join(lines)
    decoder = json.JSONDecoder()
    samples: list[tuple[float | None, dict[str, Any]]] = []
    if not starts:
        return samples
    stops = [start for start, _ in starts[1:]] + [len(body)]
    for index, ((start, t), stop) in enumerate(zip(starts, stops, strict=True)):
        # Decode each stretch between two object-opening lines apart, so an error costs
        # only that stretch (a cut object, noise); a stretch may hold more than one
        # object when they share lines.
        segment = body[start:stop]
        at = 0
        segment_lines = segment.count("\n") + (not segment.endswith("\n"))
        while at < len(segment) and segment[at] == "{":
            try:
                obj, at = decoder.raw_decode(segment, at)
            except ValueError:
                if index < len(starts) - 1:
                    counts.failed(segment.partition("\n")[0], segment_lines)
                break
            counts.recognised += segment_lines if at >= len(segment.rstrip()) else 0
            if isinstance(obj, dict):
                samples.append((t, obj))
            between = _BETWEEN.match(segment, at)
            at = between.end() if between else len(segment)
    return samples


def parse_intel_gpu_top(text: str) -> Parsed:
    """``intel_gpu_top -J`` output (see the module's docstring)."""
    engines = Rows(ENGINE_FIELDS)
    intel = Rows(INTEL_FIELDS)
    counts = LineCounts()
    for index, (t, sample) in enumerate(_samples(text, counts)):
        power = sample.get("power")
        gpu_power = None
        if isinstance(power, dict):
            gpu_power = _number(power.get("GPU", power.get("value")))
        intel.rows.append(
            (
                t,
                index,
                _member(sample, "period", "duration"),
                _member_or_gt_mean(sample, "frequency", "requested"),
                _member_or_gt_mean(sample, "frequency", "actual"),
                _member_or_gt_mean(sample, "rc6", "value"),
                gpu_power,
                _member(sample, "power", "Package"),
                _member(sample, "interrupts", "count"),
            )
        )
        groups = sample.get("engines")
        if not isinstance(groups, dict):
            continue
        for name, values in groups.items():
            if isinstance(values, dict):
                engines.rows.append(
                    (
                        t,
                        index,
                        name,
                        _number(values.get("busy")),
                        _number(values.get("sema")),
                        _number(values.get("wait")),
                    )
                )
    return Parsed({"gpu_engines": engines, "gpu_intel": intel}, counts)


def parse_nvidia_smi(text: str) -> Parsed:
    """``nvidia-smi stats`` lines (see the module's docstring)."""
    table = Rows(SAMPLE_FIELDS)
    rows = table.rows
    lines = log_lines(text)
    counts = LineCounts(lines=len(lines))
    for line in lines:
        head, _, rest = line.partition(" ")
        if "," not in head:  # "<epoch> 0, pwrDraw , ...": the runner's prefix
            line = rest
        parts = line.split(",")
        if len(parts) != 4:
            continue
        gpu, metric, stamp, value = parts
        try:
            row = (int(stamp) / 1e6, int(gpu), metric.strip(), float(value))
        except ValueError:
            counts.failed(line)
            continue
        if row[2]:
            rows.append(row)
    counts.recognised = len(rows)
    return Parsed({"gpu_samples": table}, counts)


def summarize_samples(records: list[Record]) -> Section:
    out: Section = {}
    for (host, gpu, metric), rs in by(records, "host", "gpu", "metric").items():
        found = known(rs, "value")
        out[f"{host}/gpu{gpu}/{metric}"] = {
            "samples": len(found),
            "mean": round(fmean(found), 2) if found else None,
            "max": largest(found),
        }
    return out


def summarize_engines(records: list[Record], intel: list[Record]) -> Section:
    """Mean busy % per engine, each sample weighted by its period.

    intel_gpu_top's first sample covers a few microseconds (see above):
    weighted by ``period_ms`` from ``gpu_intel`` it counts for nothing. Without
    that table every sample counts the same.
    """
    periods = {
        (r["host"], r["sample"]): r["period_ms"] for r in intel if r.get("period_ms") is not None
    }
    unknown = fmean(periods.values()) if periods else 1.0  # a sample gpu_intel lacks
    out: Section = {}
    for (host, engine), rs in by(records, "host", "engine").items():
        pairs = [
            (r["busy_pct"], periods.get((host, r["sample"]), unknown))
            for r in rs
            if r.get("busy_pct") is not None
        ]
        weight = sum(w for _, w in pairs)
        out[f"{host}/{engine}"] = {
            "samples": len(pairs),
            "busy_mean_pct": round(sum(b * w for b, w in pairs) / weight, 2) if weight else None,
            "busy_max_pct": largest([b for b, _ in pairs]),
        }
    return out


MEASUREMENT = Measurement(
    name="gpu",
    samplers=(
        Sampler("gpu_nvidia", {"output": parse_nvidia_smi}),
        Sampler("gpu_intel", {"output": parse_intel_gpu_top}),
    ),
    tables={"gpu_samples": SAMPLE_FIELDS, "gpu_engines": ENGINE_FIELDS, "gpu_intel": INTEL_FIELDS},
    summaries=(
        Summary("gpu_samples", summarize_samples, (
            # a metric's own unit (%, W, MHz, ...) is in its name: gpuUtil, pwrDraw
            Figure("samples"), Figure("mean", headline=True), Figure("max"),
        )),
        Summary("gpu_engines", summarize_engines, (
            Figure("samples"),
            Figure("busy_mean_pct", "%", headline=True),
            Figure("busy_max_pct", "%"),
        ), also_reads="gpu_intel"),
    ),
)  # fmt: skip
