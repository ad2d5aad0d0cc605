"""HTML reports: one experiment, a sweep, or a comparison, with their plots.

Each report is a directory: ``report.html``, which embeds every plot so it
can be mailed or attached on its own, and the same plots as PNG files beside
it for slides and issues. The numbers come from the same code as ``show``
(collector.results.summaries) and ``compare``; this module only lays them out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import stdev
from typing import Any

import pandas as pd

from collector.errors import CollectorError
from collector.measurements import glass
from collector.results import htmlpage, metrics, plots
from collector.results.analysis import Results
from collector.results.compare import Comparison, parameter_differences
from collector.results.stats import METHOD
from collector.version import __version__

GENERATOR = f"python -m collector {__version__}"
REPORT = "report.html"
# Tables the report reads for its plots; the others are only counted.
PLOTTED_TABLES = (
    "client_frames", "client_late_frames", "client_drops", "client_decode", "agent_frames",
    "spice_client_reports", "spice_server_drops", "spice_packets", "network_connections",
    "network_interface", "system", "system_net", "test", "process", "gpu_samples", "gpu_engines",
    "glass_frames", "glass_quality",
)  # fmt: skip


@dataclass(frozen=True)
class Written:
    html: Path
    plots: list[Path]


def experiment_report(results: Results, uuid: str, directory: Path) -> Written:
    experiment = results.experiment(uuid)
    uuid = experiment["uuid"]
    tables = {
        name: results.table(name, [uuid]) for name in PLOTTED_TABLES if name in experiment["tables"]
    }
    start = experiment["started_at"] or _first_time(tables)
    duration = experiment["duration"] or 0.0
    freeze_ms = _parameter(experiment, "glass", "freeze_ms", glass.FREEZE_MS)
    drawn = (
        plots.experiment_plots(tables, start, duration, freeze_ms=freeze_ms)
        if start is not None
        else []
    )
    figures = results.figures([uuid])[uuid]
    hosts = results.table("hosts", [uuid]) if "hosts" in experiment["tables"] else pd.DataFrame()
    failures = (
        results.table("failures", [uuid])
        if experiment["tables"].get("failures")
        else pd.DataFrame()
    )
    sections = [
        htmlpage.section("Overview", _overview(experiment)),
        htmlpage.section("Figures", _figures_table(figures) if figures else
                         htmlpage.paragraph("No measurement table has figures.", note=True)),
        htmlpage.section("Plots", *_images(drawn) or [htmlpage.paragraph(
            "Nothing to plot: no table with times.", note=True)]),
        htmlpage.section("Parameters", _parameters_table(experiment["parameters"])),
        htmlpage.section("Hosts", _frame_table(hosts.drop(columns=["experiment_uuid"],
                                                          errors="ignore"))),
    ]  # fmt: skip
    if not failures.empty:
        sections.append(htmlpage.section("Failures", _frame_table(
            failures.drop(columns=["experiment_uuid"], errors="ignore"))))  # fmt: skip
    sections.append(htmlpage.section("Tables and attachments", _contents(experiment)))
    title = f"Experiment {uuid}"
    return _write(directory, title, sections, drawn)


def sweep_report(results: Results, sweep: str, directory: Path) -> Written:
    sweep_id, uuids = results.sweep(sweep)
    experiments = results.experiments()
    experiments = experiments[experiments["uuid"].isin(uuids)].reset_index(drop=True)
    swept = [c for c in metrics.swept_columns(experiments) if experiments[c].notna().any()]
    good = experiments[experiments["status"].isin(metrics.GOOD_STATUSES)].reset_index(drop=True)
    if good.empty:
        raise CollectorError(f"sweep {sweep_id} has no experiment that ended ok or partial")
    summaries = results.summaries(good["uuid"])
    merged = good[["uuid", *swept]].merge(summaries, on="uuid", how="left")
    chosen = metrics.metric_columns(summaries)
    varying = [m for m in chosen if merged[m].dropna().nunique() > 1]
    constant = [m for m in chosen if m not in varying]
    drawn = _sweep_plots(merged, swept, varying)
    sections = [
        htmlpage.section("Overview", _sweep_overview(sweep_id, experiments, swept)),
        htmlpage.section("Figures per point (mean ± standard deviation, runs)",
                         _points_table(merged, swept, chosen)),
        htmlpage.section("Plots", htmlpage.paragraph(
            "Each dot is a run; the bar is the mean of the point's runs and its whiskers one "
            "standard deviation.", note=True), *_images(drawn)),
        htmlpage.section("Experiments", _sweep_experiments(experiments, swept)),
    ]  # fmt: skip
    if constant:
        sections.insert(3, htmlpage.section("The same at every point", htmlpage.paragraph(
            ", ".join(metrics.label(m) for m in constant))))  # fmt: skip
    return _write(directory, f"Sweep {sweep_id}", sections, drawn)


def comparison_report(comparison: Comparison, directory: Path) -> Written:
    c = comparison
    chosen = []
    for metric, d in c.rows:
        a = metrics.values_of(c.summaries, metric, c.a.uuids)
        b = metrics.values_of(c.summaries, metric, c.b.uuids)
        if len(set(a + b)) > 1:  # a metric equal in every run (often 0) shows nothing
            chosen.append((metric, a, b, d.verdict))
    # the metrics that changed first, then the rest, so the top of the plot matters most
    chosen.sort(key=lambda item: item[3] != "real")
    drawn = [p for p in [plots.comparison(chosen)] if p is not None]
    sections = [
        htmlpage.section("Sides", _sides_table(c)),
        htmlpage.section("Parameters that differ", _parameter_differences(c)),
        htmlpage.section("Metrics", htmlpage.paragraph(
            f"Noise test: {METHOD}. A change is called real when that interval excludes zero; "
            "it needs at least two runs on each side (sweep repetitions, or UUID,UUID,... "
            "for runs made by hand).", note=True), _comparison_table(c)),
        htmlpage.section("Plots", *_images(drawn)),
    ]  # fmt: skip
    title = f"Compare {c.a.uuids[0][:8]} (A) and {c.b.uuids[0][:8]} (B)"
    return _write(directory, title, sections, drawn)


# --- writing ------------------------------------------------------------------------------


def _write(directory: Path, title: str, sections: list[str], drawn: list[plots.Plot]) -> Written:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for plot in drawn:
            path = directory / f"{plot.name}.png"
            path.write_bytes(plot.png)
            written.append(path)
        html = directory / REPORT
        html.write_text(htmlpage.page(title, sections, generator=GENERATOR), encoding="utf-8")
    except OSError as e:
        raise CollectorError(f"cannot write the report to {directory}: {e.strerror or e}") from None
    return Written(html, written)


def _images(drawn: Sequence[plots.Plot]) -> list[str]:
    return [htmlpage.image(p.png, p.title, f"{p.name}.png") for p in drawn]


def _first_time(tables: dict[str, pd.DataFrame]) -> float | None:
    times = [t["time"].min() for t in tables.values() if "time" in t and t["time"].notna().any()]
    return float(min(times)) if times else None


def _parameter(experiment: dict[str, Any], measurement: str, name: str, default: float) -> float:
    """A numeric parameter of the experiment; one value per host: the strictest, as at save."""
    for p in experiment["parameters"]:
        if (p["measurement"], p["name"]) == (measurement, name):
            value = p["value"]
            if isinstance(value, dict):
                value = min(value.values(), default=default)
            try:
                return float(value)
            except (TypeError, ValueError):
                return default
    return default


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _key_values(pairs: Sequence[tuple[str, Any]]) -> str:
    return htmlpage.table(["", ""], ([f"<th>{htmlpage.escape(k)}</th>", htmlpage.cell(v)]
                                     for k, v in pairs))  # fmt: skip


def _frame_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return htmlpage.paragraph("None recorded.", note=True)
    rows = ([htmlpage.cell(v) for v in record] for record in frame.itertuples(index=False))
    return htmlpage.table(list(frame.columns), rows)


# --- one experiment -----------------------------------------------------------------------


def _overview(e: dict[str, Any]) -> str:
    pairs: list[tuple[str, Any]] = [
        ("description", e.get("description") or ""),
        ("status", e["status"]),
        ("started", _when(e.get("started_at"))),
        ("window (s)", e.get("duration")),
        ("sweep", e.get("sweep_id") or "-"),
        ("uploaded", "yes" if e.get("imported") else "no"),
    ]
    pairs += [("problem", p) for p in filter(None, (e.get("status_detail") or "").split("; "))]
    return _key_values(pairs)


def _figures_table(figures: dict[str, dict[str, Any]]) -> str:
    rows = []
    for section, subjects in figures.items():
        for subject, values in subjects.items():
            if not isinstance(values, dict):  # a figure of the whole section
                values, subject = {subject: values}, ""
            for figure, value in values.items():
                metric = f"{section}.{subject}.{figure}"
                if isinstance(value, list):
                    value = ", ".join(str(v) for v in value)
                rows.append([htmlpage.cell(section), htmlpage.cell(subject), htmlpage.cell(figure),
                             htmlpage.cell(value, metric=metric)])  # fmt: skip
    return htmlpage.table(["table", "host / subject", "figure", "value"], rows)


def _parameters_table(parameters: list[dict[str, Any]]) -> str:
    rows = [
        [htmlpage.cell(p["measurement"]), htmlpage.cell(p["name"]),
         f"<td><code>{htmlpage.escape(json.dumps(p['value']))}</code></td>"]
        for p in parameters
    ]  # fmt: skip
    return htmlpage.table(["measurement", "name", "value"], rows)


def _contents(e: dict[str, Any]) -> str:
    tables = htmlpage.table(["table", "rows"], (
        [htmlpage.cell(name), htmlpage.cell(count)] for name, count in sorted(e["tables"].items())
    ))  # fmt: skip
    attachments = htmlpage.table(["attachment", "host", "bytes"], (
        [htmlpage.cell(a["name"]), htmlpage.cell(a.get("host") or ""), htmlpage.cell(a["size"])]
        for a in e["attachments"]
    ))  # fmt: skip
    return tables + attachments


# --- a sweep ------------------------------------------------------------------------------


def _sweep_overview(sweep_id: str, experiments: pd.DataFrame, swept: list[str]) -> str:
    statuses = experiments["status"].value_counts()
    pairs: list[tuple[str, Any]] = [
        ("sweep", sweep_id),
        ("experiments", len(experiments)),
        ("status", ", ".join(f"{n} {s}" for s, n in statuses.items())),
        ("first run", _when(experiments["started_at"].min())),
        ("last run", _when(experiments["started_at"].max())),
    ]
    for column in swept:
        values = list(dict.fromkeys(experiments[column].dropna()))
        pairs.append((metrics.short_path(column), ", ".join(str(v) for v in values)))
    if "sweep.repetition" in experiments:
        pairs.append(("repetitions", int(experiments["sweep.repetition"].max())))
    return _key_values(pairs)


def _swept_values(row: pd.Series, columns: list[str]) -> dict[str, Any]:
    """The row's values of the swept parameters it has (a full sweep's row has them all)."""
    return {c: row[c] for c in columns if not pd.isna(row[c])}


def _point_keys(merged: pd.DataFrame, swept: list[str]) -> pd.Series:
    return merged.apply(lambda r: metrics.point_label(_swept_values(r, swept)), axis=1)


def _points_table(merged: pd.DataFrame, swept: list[str], chosen: list[str]) -> str:
    points = _point_keys(merged, swept)
    order = list(dict.fromkeys(points))
    # column headings: the points' values only, the parameters named once above
    headings = list(dict.fromkeys(
        ", ".join(str(v) for v in _swept_values(r, swept).values()) for _, r in merged.iterrows()
    ))  # fmt: skip
    if len(headings) != len(order):  # values alone would be ambiguous: keep the names
        headings = order
    rows = []
    for metric in chosen:
        cells = [htmlpage.cell(metrics.label(metric)), htmlpage.cell(metrics.unit(metric))]
        for point in order:
            values = [float(v) for v in merged.loc[points == point, metric]
                      if metrics.is_number(v)]  # fmt: skip
            cells.append(_spread_cell(values, f"{point}|{metric}"))
        rows.append(cells)
    names = ", ".join(metrics.short_path(c) for c in swept)
    return htmlpage.paragraph(f"Columns: {names}.", note=True) + htmlpage.table(
        ["metric", "unit", *headings], rows
    )


def _spread_cell(values: list[float], key: str) -> str:
    if not values:
        return "<td>-</td>"
    mean = sum(values) / len(values)
    text = htmlpage.number(mean)
    if len(values) > 1:
        text += f" ± {stdev(values):.2g}"  # two digits are all a spread of a few runs can tell
    return (
        f'<td class="num" data-metric="{htmlpage.escape(key)}" data-value="{mean!r}" '
        f'data-runs="{len(values)}">{text} ({len(values)})</td>'
    )


def _sweep_plots(merged: pd.DataFrame, swept: list[str], varying: list[str]) -> list[plots.Plot]:
    drawn = []
    for parameter in swept:
        others = [c for c in swept if c != parameter]
        frame = merged.copy()
        frame["series"] = frame.apply(
            lambda r, o=others: metrics.point_label(_swept_values(r, o)) if o else "", axis=1
        )
        frame = frame[frame[parameter].notna()]
        # a baseline sweep moves one parameter at a time: only the series where this
        # parameter takes several values is a curve; the rest are other parameters' points
        spread = frame.groupby("series")[parameter].nunique()
        curves = spread[spread > 1].index
        if len(curves):
            frame = frame[frame["series"].isin(curves)]
        if len(curves) == 1:
            frame = frame.assign(series="")
        for metric in varying:
            name = _slug(f"{metrics.short_path(parameter)}--{metric}")
            plot = plots.against_parameter(frame, parameter, metric, name)
            if plot is not None:
                drawn.append(plot)
    return drawn


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120]


def _sweep_experiments(experiments: pd.DataFrame, swept: list[str]) -> str:
    rows = []
    for _, e in experiments.iterrows():
        point = metrics.point_label(_swept_values(e, swept))
        repetition = e.get("sweep.repetition")
        rows.append([htmlpage.cell(e["uuid"]), htmlpage.cell(e["status"]), htmlpage.cell(point),
                     htmlpage.cell(None if pd.isna(repetition) else int(repetition)),
                     htmlpage.cell(_when(e["started_at"]))])  # fmt: skip
    return htmlpage.table(["experiment", "status", "point", "run", "started"], rows)


# --- a comparison -------------------------------------------------------------------------


def _sides_table(c: Comparison) -> str:
    rows = []
    for name, side in (("A", c.a), ("B", c.b)):
        for uuid in side.uuids:
            e = c.experiments[c.experiments["uuid"] == uuid].iloc[0]
            rows.append([htmlpage.cell(name), htmlpage.cell(uuid), htmlpage.cell(e["status"]),
                         htmlpage.cell(e["description"]),
                         htmlpage.cell(_when(e["started_at"]))])  # fmt: skip
    return htmlpage.table(["side", "experiment", "status", "description", "started"], rows)


def _parameter_differences(c: Comparison) -> str:
    rows = [
        [htmlpage.cell(name), htmlpage.cell(a), htmlpage.cell(b)]
        for name, a, b in parameter_differences(c)
    ]
    if not rows:
        return htmlpage.paragraph("None: A and B ran with the same parameters.", note=True)
    return htmlpage.table(["parameter", "A", "B"], rows)


def _comparison_table(c: Comparison) -> str:
    rows, classes = [], []
    for metric, d in c.rows:
        interval = (
            f"[{htmlpage.number(d.low)}, {htmlpage.number(d.high)}]" if d.low is not None else "-"
        )
        relative = "-" if d.relative is None else f"{d.relative * 100:+.1f}%"
        rows.append([
            htmlpage.cell(metrics.label(metric)), htmlpage.cell(metrics.unit(metric)),
            htmlpage.cell(d.mean_a, metric=f"A|{metric}"), htmlpage.cell(d.n_a),
            htmlpage.cell(d.mean_b, metric=f"B|{metric}"), htmlpage.cell(d.n_b),
            htmlpage.cell(relative), htmlpage.cell(interval), htmlpage.cell(d.verdict),
        ])  # fmt: skip
        classes.append("real" if d.significant else "")
    return htmlpage.table(
        ["metric", "unit", "A mean", "A runs", "B mean", "B runs", "change", "95% CI of B-A",
         "verdict"], rows, row_class=classes,
    )  # fmt: skip
