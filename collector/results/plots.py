"""The report's plots, drawn with matplotlib into PNG bytes.

Figures are built with the object API (``matplotlib.figure.Figure``), never
pyplot, so no display, global state or GUI backend is involved and figures
are freed as soon as they are saved. Each function takes DataFrames already
read from the store and returns a Plot, or None when there is nothing to
draw, so a report simply has fewer plots for an experiment with fewer tables.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from collector.measurements.glass import FREEZE_MS
from collector.results import metrics

Tables = dict[str, pd.DataFrame]

WIDTH, HEIGHT, DPI = 9.0, 3.4, 100
A_COLOUR, B_COLOUR = "#1f77b4", "#d62728"
FREEZE_COLOUR = "#d62728"


@dataclass(frozen=True)
class Plot:
    name: str  # file name without .png
    title: str
    png: bytes


def _figure(title: str, ylabel: str, xlabel: str = "seconds since the window opened",
            height: float = HEIGHT) -> tuple[Figure, Any]:  # fmt: skip
    figure = Figure(figsize=(WIDTH, height), dpi=DPI)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _png(figure: Figure, *, fit: bool = False) -> bytes:
    # Fixed margins suit the one-axes plots and cost nothing; tight_layout measures
    # every label (a quarter of a plot's time) and is kept for the small multiples.
    if fit:
        figure.tight_layout()
    else:
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.91)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _finish(name: str, title: str, figure: Figure, axes: Any) -> Plot | None:
    if not axes.has_data():
        return None
    handles, _ = axes.get_legend_handles_labels()
    if handles:
        axes.legend(fontsize=8, loc="best")
    return Plot(name, title, _png(figure))


def _timed(frame: pd.DataFrame | None, start: float, column: str = "time") -> pd.DataFrame:
    """Rows with a time (``column``), with ``t`` in seconds since the window opened."""
    if frame is None or frame.empty or column not in frame:
        return pd.DataFrame()
    timed = frame[frame[column].notna()].copy()
    timed["t"] = timed[column].astype(float) - start
    return timed.sort_values("t")


def _groups(frame: pd.DataFrame, *keys: str) -> Iterable[tuple[str, pd.DataFrame]]:
    present = [k for k in keys if k in frame]
    if frame.empty:
        return []
    if not present:
        return [("", frame)]
    return (
        ("/".join(str(v) for v in (key if isinstance(key, tuple) else (key,))), group)
        for key, group in frame.groupby(present, sort=True, dropna=False)
    )


def _per_second(
    t: pd.Series, duration: float, weights: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Events (or their ``weights``) counted in each whole second of the window (empty: 0)."""
    seconds = max(math.ceil(duration), int(t.max()) + 1 if len(t) else 1)
    counts = np.bincount(
        np.clip(np.floor(t).astype(int), 0, None),
        weights=None if weights is None else weights.to_numpy(),
        minlength=seconds,
    )
    return np.arange(len(counts)) + 0.5, counts


def frame_rate(tables: Tables, start: float, duration: float) -> Plot | None:
    figure, axes = _figure("Frames per second", "frames/s")
    for name, group in _groups(_timed(tables.get("client_frames"), start), "host", "channel"):
        x, counts = _per_second(group["t"], duration)
        axes.step(x, counts, where="mid", label=f"client shown {name}")
    for name, group in _groups(_timed(tables.get("agent_frames"), start), "host"):
        x, counts = _per_second(group["t"], duration)
        axes.step(x, counts, where="mid", label=f"agent captured {name}", linestyle="--")
    reports = _timed(tables.get("spice_client_reports"), start)
    for name, group in _groups(reports, "host"):
        seconds = group["duration_ms"].astype(float) / 1000
        # a report spans its first to its last frame: one interval fewer than frames
        fps = (group["frames"].astype(float) - 1) / seconds.where(seconds > 0)
        axes.plot(group["t"], fps, marker="o", markersize=3, label=f"server: client reports {name}")
    client_drops = _timed(tables.get("client_drops"), start)
    for name, group in _groups(client_drops, "host"):
        x, counts = _per_second(group["t"], duration, group["count"].fillna(1).astype(float))
        axes.step(x, counts, where="mid", linestyle=":", label=f"client dropped {name}")
    drops = _timed(tables.get("spice_server_drops"), start)
    for name, group in _groups(drops, "host"):
        if "fps" in group and group["fps"].notna().any():
            axes.plot(group["t"], group["fps"], marker="x", linestyle="none",
                      label=f"server encoder fps {name}")  # fmt: skip
    return _finish("frame_rate", "Frames per second", figure, axes)


def frame_sizes(tables: Tables, start: float) -> Plot | None:
    figure, axes = _figure("Frame sizes", "kB per frame")
    for table, column, what in (
        ("agent_frames", "size_bytes", "agent"),
        ("spice_packets", "size", "server packets"),
        ("client_decode", "size", "client decoded"),
    ):
        for name, group in _groups(_timed(tables.get(table), start), "host"):
            if column in group and group[column].notna().any():
                axes.plot(group["t"], group[column].astype(float) / 1024, ".", markersize=3,
                          label=f"{what} {name}")  # fmt: skip
    return _finish("frame_sizes", "Frame sizes", figure, axes)


def bandwidth(tables: Tables, start: float) -> Plot | None:
    figure, axes = _figure("Bandwidth", "Mbit/s")
    connections = _timed(tables.get("network_connections"), start)
    for name, group in _groups(connections, "host"):
        per_time = group.groupby("t")[["rx_bytes_per_s", "tx_bytes_per_s"]].sum(min_count=1)
        for column, way in (("rx_bytes_per_s", "received"), ("tx_bytes_per_s", "sent")):
            if per_time[column].fillna(0).any():
                axes.plot(per_time.index, per_time[column] * 8 / 1e6, marker=".",
                          label=f"SPICE port {way} {name}")  # fmt: skip
    interfaces = _timed(tables.get("network_interface"), start)
    if interfaces.empty:  # without the network measurement: the system's interfaces
        interfaces = _timed(tables.get("system_net"), start)
        if not interfaces.empty:
            interfaces = interfaces[interfaces["interface"] != "lo"]
    for name, group in _groups(interfaces, "host", "interface"):
        for column, way in (("rx_bytes_per_s", "rx"), ("tx_bytes_per_s", "tx")):
            if group[column].fillna(0).any():
                axes.plot(group["t"], group[column] * 8 / 1e6, linestyle=":",
                          label=f"{name} {way}")  # fmt: skip
    return _finish("bandwidth", "Bandwidth", figure, axes)


def cpu(tables: Tables, start: float) -> Plot | None:
    figure, axes = _figure("CPU per process and per host", "% of one CPU (process), % (host)")
    processes = _timed(tables.get("process"), start)
    for name, group in _groups(processes, "host", "command"):
        per_sample = group.groupby("t")["cpu_pct"].sum(min_count=1)
        axes.plot(per_sample.index, per_sample.values, marker=".", label=name)
    for table, column in (("system", "cpu_busy"), ("test", "cpu")):
        for name, group in _groups(_timed(tables.get(table), start), "host"):
            axes.plot(group["t"], group[column], linestyle="--", label=f"{name} all CPUs")
    return _finish("cpu", "CPU", figure, axes)


def gpu(tables: Tables, start: float) -> Plot | None:
    figure, axes = _figure("GPU", "% busy")
    samples = _timed(tables.get("gpu_samples"), start)
    if not samples.empty:
        samples = samples[samples["metric"].astype(str).str.contains("util", case=False)]
    for name, group in _groups(samples, "host", "gpu", "metric"):
        axes.plot(group["t"], group["value"], marker=".", label=name)
    for name, group in _groups(_timed(tables.get("gpu_engines"), start), "host", "engine"):
        axes.plot(group["t"], group["busy_pct"], marker=".", label=name)
    return _finish("gpu", "GPU", figure, axes)


def delays(tables: Tables, start: float) -> Plot | None:
    figure, axes = _figure("Per-frame delays", "ms")
    series = (
        ("spice_client_reports", "video_delay_ms", "server: reported video delay", "o"),
        ("client_frames", "margin_ms", "client: margin before display", "."),
        ("client_late_frames", "late_ms", "client: late by", "x"),
        ("agent_frames", "capture_ms", "agent: capture", "."),
        ("agent_frames", "send_ms", "agent: send", "."),
    )
    for table, column, what, marker in series:
        for name, group in _groups(_timed(tables.get(table), start), "host"):
            if column in group and group[column].notna().any():
                axes.plot(group["t"], group[column], marker, markersize=3,
                          label=f"{what} {name}")  # fmt: skip
    return _finish("delays", "Per-frame delays", figure, axes)


def frame_intervals(tables: Tables) -> Plot | None:
    """Distribution of the time between two frames shown (and captured)."""
    figure, axes = _figure("Frame intervals", "frames", xlabel="ms between consecutive frames")
    sets = []
    for table, what, keys in (
        ("client_frames", "client", ("host", "channel")),
        ("agent_frames", "agent", ("host",)),
    ):
        for name, group in _groups(_timed(tables.get(table), 0.0), *keys):
            intervals = np.diff(group["t"].to_numpy()) * 1000
            if len(intervals):
                sets.append((f"{what} {name}", intervals))
    if not sets:
        return None
    everything = np.concatenate([s for _, s in sets])
    top = float(np.percentile(everything, 99.5)) * 1.1 or 1.0
    bins = np.linspace(0, top, 60)
    for name, intervals in sets:
        p95 = np.percentile(intervals, 95)
        axes.hist(np.clip(intervals, 0, top), bins=bins, histtype="step", linewidth=1.5,
                  label=f"{name}: mean {intervals.mean():.1f}, p95 {p95:.1f} ms")  # fmt: skip
    return _finish("frame_intervals", "Frame intervals", figure, axes)


# --- glass: what the user saw -------------------------------------------------------------


def glass_latency(tables: Tables, start: float) -> Plot | None:
    """Each frame's glass-to-glass latency, when the client first showed it; the frames
    never shown are ticks along the time axis, when the guest drew them."""
    title = "Glass-to-glass latency"
    figure, axes = _figure(title, "ms, guest's display to client's")
    frames = tables.get("glass_frames")
    for name, group in _groups(_timed(frames, start, "client_time"), "host"):
        latency = group["latency_ms"].astype(float)
        if latency.notna().any():
            axes.plot(group["t"], latency, ".", markersize=3,
                      label=f"{name}: p50 {latency.median():.1f} ms")  # fmt: skip
    if frames is not None and "shown" in frames:
        lost = _timed(frames[frames["shown"] == 0], start, "guest_time")
        for name, group in _groups(lost, "host"):
            # y in axes fractions: the ticks sit on the time axis whatever the latencies
            axes.plot(group["t"], np.full(len(group), 0.03), "|", markersize=12,
                      markeredgewidth=1.5, transform=axes.get_xaxis_transform(),
                      label=f"{name}: never shown ({len(group)}), when drawn")  # fmt: skip
    return _finish("glass_latency", title, figure, axes)


def glass_latency_distribution(tables: Tables) -> Plot | None:
    """Latencies per client, with the p50, p95 and p99 that ``show`` gives."""
    title = "Glass-to-glass latency distribution"
    figure, axes = _figure(title, "frames", xlabel="ms from the guest's display to the client's")
    sets = []
    for name, group in _groups(_timed(tables.get("glass_frames"), 0.0, "client_time"), "host"):
        latency = group["latency_ms"].astype(float).dropna().to_numpy()
        if len(latency):
            sets.append((name, latency))
    if not sets:
        return None
    everything = np.concatenate([s for _, s in sets])
    # outliers go to the last bin, as in frame_intervals, but every p99 stays in view
    top = max(float(np.percentile(everything, 99.5)), *(np.percentile(s, 99) for _, s in sets))
    low = float(everything.min())
    margin = (top - low) * 0.03 or 1.0
    bins = np.linspace(low - margin, top + margin, 60)
    for name, latency in sets:
        *_, patches = axes.hist(np.clip(latency, None, top + margin), bins=bins, histtype="step",
                                linewidth=1.5, label=f"{name}: {len(latency)} frames")  # fmt: skip
        colour = patches[0].get_edgecolor()
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            value = float(np.percentile(latency, q))  # linear, as glass's figures
            axes.axvline(value, color=colour, linestyle=style, linewidth=1,
                         label=f"{name}: p{q} {value:.1f} ms")  # fmt: skip
    return _finish("glass_latency_distribution", title, figure, axes)


def glass_freezes(tables: Tables, start: float, freeze_ms: float = FREEZE_MS) -> Plot | None:
    """How long each shown frame stayed on screen; a freeze is a frame held longer than
    ``freeze_ms`` (the experiment's glass.freeze_ms), drawn as a span over its time."""
    title = "Freezes"
    figure, axes = _figure(title, "ms until the next new frame")
    shown = _timed(tables.get("glass_frames"), start, "client_time")
    if not shown.empty:  # the last frame read: held for an unknown time
        shown = shown[shown["held_ms"].notna()]
    spans = 0
    for name, group in _groups(shown, "host"):
        held = group["held_ms"].astype(float)
        frozen = group["frozen"] == 1
        axes.plot(group["t"], held, ".", markersize=3, label=f"{name}: {int(frozen.sum())} "
                  f"freeze(s), {held[frozen].sum():.0f} ms in all")  # fmt: skip
        if not frozen.any():
            continue
        axes.plot(group["t"][frozen], held[frozen], "o", color=FREEZE_COLOUR, fillstyle="none",
                  markersize=7, label=f"{name}: frozen")  # fmt: skip
        for t, ms in zip(group["t"][frozen], held[frozen], strict=True):
            axes.axvspan(t, t + ms / 1000, color=FREEZE_COLOUR, alpha=0.15, linewidth=0,
                         label=None if spans else "frame held on screen")  # fmt: skip
            spans += 1
    if not axes.has_data():
        return None
    axes.axhline(freeze_ms, color="grey", linestyle="--", linewidth=1,
                 label=f"freeze threshold {freeze_ms:g} ms")  # fmt: skip
    axes.set_ylim(bottom=0)
    return _finish("glass_freezes", title, figure, axes)


def glass_quality(tables: Tables, start: float) -> Plot | None:
    """PSNR and SSIM of the sampled frames against their references, one panel each."""
    quality = _timed(tables.get("glass_quality"), start)
    if quality.empty:
        return None
    title = "Picture quality"
    figure = Figure(figsize=(WIDTH, HEIGHT * 1.6), dpi=DPI)
    panels = figure.subplots(2, 1, sharex=True)
    panels[0].set_title(f"{title} of the sampled frames (luma)", fontsize=11)
    panels[1].set_xlabel("seconds since the window opened")
    for axes, column, what, digits in zip(panels, ("psnr_db", "ssim"), ("PSNR (dB)", "SSIM"),
                                          (2, 4), strict=True):  # fmt: skip
        axes.set_ylabel(what)
        axes.grid(True, alpha=0.3)
        for name, group in _groups(quality, "host"):
            values = group[column].astype(float).replace([np.inf, -np.inf], np.nan)
            if values.notna().any():
                axes.plot(group["t"], values, "o-", markersize=3, linewidth=0.8,
                          label=f"{name}: mean {values.mean():.{digits}f}")  # fmt: skip
        if axes.has_data():
            axes.legend(fontsize=8, loc="best")
    if not any(axes.has_data() for axes in panels):
        return None
    return Plot("glass_quality", title, _png(figure, fit=True))


def experiment_plots(
    tables: Tables, start: float, duration: float, *, freeze_ms: float = FREEZE_MS
) -> list[Plot]:
    """Every plot an experiment's tables allow, in reading order."""
    plots = [
        frame_rate(tables, start, duration),
        frame_intervals(tables),
        glass_latency(tables, start),
        glass_latency_distribution(tables),
        glass_freezes(tables, start, freeze_ms),
        glass_quality(tables, start),
        frame_sizes(tables, start),
        delays(tables, start),
        bandwidth(tables, start),
        cpu(tables, start),
        gpu(tables, start),
    ]
    return [p for p in plots if p is not None]


# --- sweeps and comparisons ----------------------------------------------------------------


def against_parameter(points: pd.DataFrame, parameter: str, metric: str, name: str) -> Plot | None:
    """One metric against one swept parameter: each run a dot, the mean a line.

    ``points`` has a column per swept parameter, ``metric`` and ``series`` (the
    other parameters' values, so that a full sweep draws one line per setting
    of the others). The spread of a point's dots is its repetitions' spread.
    """
    data = points[[parameter, metric, "series"]].dropna(subset=[metric])
    data = data[data[metric].map(metrics.is_number)]
    if data.empty:
        return None
    numeric = all(metrics.is_number(v) for v in data[parameter])
    order = list(dict.fromkeys(points[parameter].dropna()))  # the sweep's own order
    position = float if numeric else (lambda v: float(order.index(v)))
    title = f"{metrics.label(metric)} vs {metrics.short_path(parameter)}"
    figure, axes = _figure(title, metrics.unit(metric) or metric.rsplit(".", 1)[-1],
                           xlabel=metrics.short_path(parameter))  # fmt: skip
    for series, group in data.groupby("series", sort=False):
        x = group[parameter].map(position).astype(float)
        y = group[metric].astype(float)
        line = axes.plot(x, y, "o", alpha=0.45, markersize=5)[0]
        means = y.groupby(x).agg(["mean", "std", "count"]).sort_index()
        axes.errorbar(means.index, means["mean"], yerr=means["std"].fillna(0),
                      color=line.get_color(), marker="_", markersize=14, capsize=4,
                      label=series or None)  # fmt: skip
    if not numeric:
        labels = [str(v) if len(str(v)) <= 28 else str(v)[:27] + "…" for v in order]
        axes.set_xticks(range(len(order)), labels, rotation=15 if len(order) > 6 else 0)
        axes.set_xlim(-0.5, len(order) - 0.5)
    return _finish(name, title, figure, axes)


def comparison(values: Sequence[tuple[str, list[float], list[float], str]]) -> Plot | None:
    """Small multiples: per metric, the runs of A and of B as dots, their means as bars."""
    if not values:
        return None
    columns = 3
    rows = math.ceil(len(values) / columns)
    figure = Figure(figsize=(WIDTH + 3, 2.3 * rows), dpi=DPI)
    for index, (metric, a, b, verdict) in enumerate(values):
        axes = figure.add_subplot(rows, columns, index + 1)
        for x, runs, colour in ((0, a, A_COLOUR), (1, b, B_COLOUR)):
            if runs:
                axes.bar(x, float(np.mean(runs)), color=colour, alpha=0.25, width=0.6)
                axes.plot([x] * len(runs), runs, "o", color=colour, markersize=4)
        axes.set_xticks([0, 1], ["A", "B"])
        axes.set_xlim(-0.6, 1.6)
        section, subject, figure_name = metrics.split(metric)
        axes.set_title(f"{subject} {figure_name}\n{section} · {verdict}", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(True, axis="y", alpha=0.3)
    return Plot("comparison", "A and B, run by run", _png(figure, fit=True))
