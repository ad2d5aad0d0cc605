"""Two experiments side by side: each summary metric, its change, and whether
the change is larger than the run-to-run noise.

A side is an experiment and, when it is a point of a sweep, the other
recorded repetitions of that point; or a comma-separated list of experiments
run by hand under the same conditions. The noise comes from those
repetitions (collector.stats says how).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from collector.errors import CollectorError
from collector.results import metrics, stats
from collector.results.analysis import Results


@dataclass(frozen=True)
class Side:
    spec: str  # as the user typed it
    uuids: list[str]  # first the experiment(s) named, then the repetitions found

    @property
    def name(self) -> str:
        return self.uuids[0][:8] + (
            f" (+{len(self.uuids) - 1} runs)" if len(self.uuids) > 1 else ""
        )


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    rows: list[tuple[str, stats.Difference]]  # (metric, difference), in metric order
    summaries: pd.DataFrame  # one row per experiment of either side
    experiments: pd.DataFrame
    method: str = stats.METHOD

    @property
    def real(self) -> list[tuple[str, stats.Difference]]:
        return [(m, d) for m, d in self.rows if d.significant]


def compare(
    results: Results, a: str, b: str, *, everything: bool = False, repetitions: bool = True
) -> Comparison:
    experiments = results.experiments()
    side_a = _side(results, experiments, a, repetitions)
    side_b = _side(results, experiments, b, repetitions)
    overlap = set(side_a.uuids) & set(side_b.uuids)
    if overlap:
        raise CollectorError(
            f"A and B share experiment(s) {', '.join(sorted(overlap))}: compare different runs"
        )
    return _compare(results, experiments, side_a, side_b, everything=everything)


def _compare(
    results: Results, experiments: pd.DataFrame, a: Side, b: Side, *, everything: bool
) -> Comparison:
    summaries = results.summaries([*a.uuids, *b.uuids])
    rows = []
    for metric in metrics.metric_columns(summaries, everything=everything):
        values_a = metrics.values_of(summaries, metric, a.uuids)
        values_b = metrics.values_of(summaries, metric, b.uuids)
        rows.append((metric, _explained(stats.difference(values_a, values_b), a, b)))
    chosen = experiments[experiments["uuid"].isin([*a.uuids, *b.uuids])]
    return Comparison(a, b, rows, summaries, chosen)


def _explained(d: stats.Difference, a: Side, b: Side) -> stats.Difference:
    """Say so when a side has repetitions but too few of them have this metric."""
    for name, side, n in (("A", a, d.n_a), ("B", b, d.n_b)):
        if n < 2 <= len(side.uuids) and d.verdict.startswith(("noise unknown", "no value")):
            return replace(d, verdict=f"noise unknown: {n} of {len(side.uuids)} runs of {name} "
                                      "have a value")  # fmt: skip
    return d


def _side(results: Results, experiments: pd.DataFrame, spec: str, repetitions: bool) -> Side:
    named = [results.resolve(part) for part in _parts(spec)]
    if len(named) > 1 or not repetitions:
        return Side(spec, named)
    return Side(spec, metrics.repetitions_of(experiments, named[0]))


def _parts(spec: str) -> list[str]:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise CollectorError(f"no experiment in {spec!r}: give a UUID or UUID,UUID,...")
    return parts


# Columns of Results.experiments that describe a run, not the conditions it ran under.
NOT_CONDITIONS = frozenset({
    "uuid", "description", "status", "status_detail", "started_at", "ended_at", "duration",
    "sweep_id", *metrics.RUN_PARAMETERS,
})  # fmt: skip


def parameter_differences(c: Comparison) -> list[tuple[str, str, str]]:
    """(parameter, value in A, value in B) where the first runs of A and B differ."""
    a = c.experiments[c.experiments["uuid"] == c.a.uuids[0]].iloc[0]
    b = c.experiments[c.experiments["uuid"] == c.b.uuids[0]].iloc[0]
    return [
        (column, _shown(a[column]), _shown(b[column]))
        for column in c.experiments.columns
        # sweep.<path> repeats the parameter it set, which is listed under its own name
        if column not in NOT_CONDITIONS
        and not column.startswith("sweep.")
        and _shown(a[column]) != _shown(b[column])
    ]


def _shown(value: object) -> str:
    return "-" if metrics.missing(value) else str(value)


def format_comparison(c: Comparison) -> str:
    """The comparison as a terminal table: A, B, change, interval and verdict per metric."""
    lines = [
        f"A: {', '.join(u[:8] for u in c.a.uuids)}  ({len(c.a.uuids)} run(s))",
        f"B: {', '.join(u[:8] for u in c.b.uuids)}  ({len(c.b.uuids)} run(s))",
    ]
    differences = parameter_differences(c)
    lines += [f"  {name}: {a} -> {b}" for name, a, b in differences] or [
        "  (A and B ran with the same parameters)"
    ]
    lines += [
        f"noise test: {c.method}",
        "",
        f"{'METRIC':56} {'A':>10} {'B':>10} {'CHANGE':>9}  {'95% CI OF B-A':>21}  VERDICT",
    ]
    for metric, d in c.rows:
        name = metrics.label(metric)
        name = name if len(name) <= 56 else "…" + name[-55:]
        lines.append(
            f"{name:56} {_num(d.mean_a):>10} {_num(d.mean_b):>10} {_percent(d.relative):>9}  "
            f"{_interval(d):>21}  {d.verdict}"
        )
    if not c.rows:
        lines.append("(no metric both sides could be compared on)")
    real = len(c.real)
    lines.append("")
    lines.append(f"{real} of {len(c.rows)} metric(s) changed beyond the run-to-run noise")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _interval(d: stats.Difference) -> str:
    if d.low is None or d.high is None:
        return "-"
    return f"[{_num(d.low)}, {_num(d.high)}]"
