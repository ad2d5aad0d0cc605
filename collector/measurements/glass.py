"""``glass``: what the user sees, read off the client's screen.

The guest's workload draws marked frames (``workload`` with ``name:
marked-ball``, ``marked-text`` or ``marked-motion``; roles/glass/files/glass.py
``play``): each frame carries its number, and the workload logs when each frame
reached the guest's display (table ``workload_frames``). On the client, the
grabber (``glass.py grab``) reads the number off the screen ``rate`` times a
second, and grabs the whole frame of every ``quality_every``-th number.

At save, :func:`derive` joins the two sides, both already on the controller's
clock (ingest corrects each host's times by its measured offset), into:

- ``glass_frames``, one row per frame number from the first the client read:
  ``guest_time`` (drawn on the guest), ``client_time`` (first grab that read
  it), ``latency_ms``, ``shown`` (0/1), ``grabs`` (how many grabs read it),
  ``repeats`` (how often it came back after another frame: never, on a sane
  client), ``held_ms`` (until the next new frame appeared; the last one, until
  the last grab) and ``frozen`` (1: held longer than ``freeze_ms``, a freeze).
  Frames drawn before the first frame read are left out (the grabber was not
  looking yet), and so are those drawn too close to the last grab to have
  arrived: later than the largest latency seen (1 s when none was) before it.
  Between, a frame never read was never shown, also while the screen froze.

``glass_grabs`` (one row per grab) is read by the join and not kept: the raw
file is attached. ``glass_quality`` comes from the client itself: after the
window, the grabber measured PSNR and SSIM (luma, below the two markers) of
each sampled grab against the reference frame rebuilt from its number, so the
frames never leave the client. ``glass_found`` says where on the client's
screen the frame was found, and what it was (content, size).

A grab's time is the midpoint of its XGetImage call; a frame appeared at most
one grab interval before the grab that first read it, so latencies are late
by half an interval on average (about 8 ms at 60 grabs/s).
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise
from statistics import fmean, median, pstdev
from typing import Any

from collector.measurements.base import Figure, Measurement, Record, Sampler, Section, Summary
from collector.measurements.parsing import LineCounts, Parsed, Rows, log_lines
from collector.measurements.summarizing import by, rounded

GRAB_FIELDS = ("time", "frame")
FOUND_FIELDS = ("time", "content", "width", "height", "x", "y")
FRAME_FIELDS = (
    "frame", "guest_time", "client_time", "latency_ms", "shown", "grabs", "repeats", "held_ms",
    "frozen",
)  # fmt: skip
QUALITY_FIELDS = ("time", "frame", "psnr_db", "ssim")
FREEZE_MS = 100.0
# Without any latency measured, a frame drawn this long before the last grab counts as not shown.
NOT_YET_S = 1.0


def parse_grabs(text: str) -> Parsed:
    """``TIME FRAME`` per grab (-1 unreadable, -2 not found); ``# frame C WxH at X,Y``."""
    grabs = Rows(GRAB_FIELDS)
    found = Rows(FOUND_FIELDS)
    last_time = None
    lines = log_lines(text)
    counts = LineCounts(lines=len(lines))
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            try:
                time, frame = float(parts[0]), int(parts[1])
            except ValueError:
                counts.failed(line)
                continue
            last_time = time
            grabs.rows.append((time, frame))
        elif parts[:2] == ["#", "frame"]:
            try:
                if len(parts) != 6 or parts[4] != "at":
                    raise ValueError
                width, height = (int(v) for v in parts[3].split("x"))
                x, y = (int(v) for v in parts[5].split(","))
            except ValueError:
                counts.failed(line)
                continue
            found.rows.append((last_time, parts[2], width, height, x, y))
    counts.recognised = len(grabs.rows) + len(found.rows)
    return Parsed({"glass_grabs": grabs, "glass_found": found}, counts)


def parse_quality(text: str) -> Parsed:
    """``FRAME TIME PSNR_DB SSIM`` per sampled frame (the client measured them after the window)."""
    quality = Rows(QUALITY_FIELDS)
    lines = log_lines(text)
    counts = LineCounts(lines=len(lines))
    for line in lines:
        parts = line.split()
        if len(parts) != 4:
            continue
        try:
            quality.rows.append((float(parts[1]), int(parts[0]), float(parts[2]), float(parts[3])))
        except ValueError:
            counts.failed(line)
    counts.recognised = len(quality.rows)
    return Parsed({"glass_quality": quality}, counts)


def derive(experiment: Any) -> None:
    """``glass_frames`` from both sides' rows (see the module's doc)."""
    tables = experiment.tables
    grabs = tables.pop("glass_grabs", None)
    guest = tables.get("workload_frames")
    if grabs is None or not grabs.rows:
        return
    drawn = {}
    if guest is not None:
        at = guest.fields.index("time"), guest.fields.index("frame")
        drawn = {row[at[1]]: row[at[0]] for row in guest.rows}
    freeze_ms = _parameter(experiment, "glass", "freeze_ms", FREEZE_MS)
    frames = experiment.create_table("glass_frames", ("host", *FRAME_FIELDS))
    for host, rows in _by_host(grabs).items():
        frames.add_many((host, *row) for row in join(drawn, rows, freeze_ms))


def _by_host(table: Any) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in table.rows:
        out.setdefault(row[0], []).append(tuple(row[1:]))
    return out


def _parameter(experiment: Any, measurement: str, name: str, default: float) -> float:
    for m, n, value in experiment.parameters:
        if (m, n) == (measurement, name):
            if isinstance(value, dict):  # one value per host: the strictest
                value = min(value.values())
            try:
                return float(value)
            except (TypeError, ValueError):
                return default
    return default


def join(
    drawn: dict[int, float], grabs: list[tuple[float, int]], freeze_ms: float = FREEZE_MS
) -> list[tuple[Any, ...]]:
    """Rows of ``glass_frames`` (without host): guest frames against the client's reads."""
    first: dict[int, float] = {}
    counts: Counter[int] = Counter()
    repeats: Counter[int] = Counter()
    previous = None
    for t, value in sorted(grabs):
        if value < 0:
            continue
        counts[value] += 1
        if value != previous:
            if value in first:
                repeats[value] += 1
            else:
                first[value] = t
            previous = value
    if not first:
        return []
    last_look = max(t for t, _ in grabs)
    order = sorted(first, key=first.get)
    # held until the next new frame, or (the last one) at least until the last grab
    held = {a: (first[b] - first[a]) * 1000 for a, b in pairwise(order)}
    held[order[-1]] = (last_look - first[order[-1]]) * 1000
    latencies = [first[n] - drawn[n] for n in first if n in drawn]
    # A frame drawn later than this before the last grab may simply not have arrived yet.
    allowance = max(latencies) if latencies else NOT_YET_S
    low, high = min(first), max(first)
    numbers = sorted(
        {n for n, t in drawn.items() if low <= n and (n <= high or t <= last_look - allowance)}
        | set(first)
    )
    rows = []
    for n in numbers:
        guest_time, client_time = drawn.get(n), first.get(n)
        latency = None
        if guest_time is not None and client_time is not None:
            latency = round((client_time - guest_time) * 1000, 3)
        hold = held.get(n)
        rows.append((
            n, guest_time, client_time, latency, int(n in first), counts[n], repeats[n],
            None if hold is None else round(hold, 3),
            None if hold is None else int(hold > freeze_ms),
        ))  # fmt: skip
    return rows


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summarize(records: list[Record], quality: list[Record]) -> Section:
    """Per client: latency, frames shown, freezes, pacing and picture quality."""
    out: Section = {}
    sampled = by(quality, "host")
    for host, rows in by(records, "host").items():
        latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
        shown = sorted(r["client_time"] for r in rows if r["shown"])
        # from the first frame shown to the last grab: the last one was held that long
        last_look = max(r["client_time"] + r["held_ms"] / 1000 for r in rows if r["shown"])
        span = last_look - shown[0] if shown else 0.0
        intervals = [(b - a) * 1000 for a, b in pairwise(shown)]
        freezes = [r["held_ms"] for r in rows if r["frozen"]]
        q = sampled.get(host, [])
        psnr = [r["psnr_db"] for r in q if r["psnr_db"] is not None]
        ssim = [r["ssim"] for r in q if r["ssim"] is not None]
        out[host] = {
            "latency_p50_ms": rounded(median(latencies) if latencies else None),
            "latency_p95_ms": rounded(_percentile(latencies, 0.95)),
            "latency_p99_ms": rounded(_percentile(latencies, 0.99)),
            "latency_max_ms": rounded(max(latencies) if latencies else None),
            "shown_fps": rounded(len(shown) / span if span > 0 else None),
            "shown": len(shown),
            "never_shown": sum(1 for r in rows if not r["shown"]),
            "repeats": sum(r["repeats"] for r in rows),
            "freezes": len(freezes),
            "freeze_total_ms": rounded(sum(freezes)),
            "freeze_longest_ms": rounded(max(freezes) if freezes else None),
            "pacing_jitter_ms": rounded(pstdev(intervals) if len(intervals) > 1 else None),
            "psnr_mean_db": rounded(fmean(psnr) if psnr else None),
            "ssim_mean": rounded(fmean(ssim) if ssim else None, 4),
        }
    return out


MEASUREMENT = Measurement(
    name="glass",
    samplers=(Sampler("glass", {"output": parse_grabs, "quality": parse_quality}),),
    tables={
        "glass_grabs": GRAB_FIELDS,
        "glass_found": FOUND_FIELDS,
        "glass_quality": QUALITY_FIELDS,
    },
    derived={"glass_frames": FRAME_FIELDS},
    summaries=(
        Summary("glass_frames", summarize, (
            Figure("latency_p50_ms", "ms", headline=True),
            Figure("latency_p95_ms", "ms", headline=True),
            Figure("latency_p99_ms", "ms"),
            Figure("latency_max_ms", "ms"),
            Figure("shown_fps", "frames/s", headline=True),
            Figure("shown", "frames"),
            Figure("never_shown", "frames", headline=True),
            Figure("repeats", "frames"),
            Figure("freezes", "freezes", headline=True),
            Figure("freeze_total_ms", "ms", headline=True),
            Figure("freeze_longest_ms", "ms"),
            Figure("pacing_jitter_ms", "ms"),
            Figure("psnr_mean_db", "dB", headline=True),
            Figure("ssim_mean", headline=True),
        ), also_reads="glass_quality", section="glass"),
    ),
    derive=derive,
)  # fmt: skip
