"""Summary figures as named metrics, and experiments grouped into sweep points.

A metric is one number of ``show``'s figures, named
``<section>.<subject>.<figure>``, e.g. ``client_frames.lab-client/1.fps``:
sections and figures never contain a dot, so the subject (a host, often with
an interface, command or channel) is what lies between the first and the
last one. Sweeps and comparisons work on these names so that every figure
``show`` knows is comparable without further code.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import pandas as pd

from collector.results.summaries import RUN_SECTIONS, figure

# Sweep parameters that name a run rather than a point of the sweep.
RUN_PARAMETERS = ("sweep.key", "sweep.repetition")
GOOD_STATUSES = ("ok", "partial")


def split(metric: str) -> tuple[str, str, str]:
    """(section, subject, figure) of a metric name."""
    section, _, rest = metric.partition(".")
    subject, _, figure = rest.rpartition(".")
    return section, subject, figure


def label(metric: str) -> str:
    section, subject, figure = split(metric)
    return f"{section} {subject} {figure}".replace("  ", " ")


def unit(metric: str) -> str:
    """The unit its measurement declares for the figure."""
    declared = figure(*_section_and_figure(metric))
    return declared.unit if declared else ""


def is_headline(metric: str) -> bool:
    """What reports plot and compare shows by default: what a codec or network decision
    turns on. The rest (sample counts, spans, sampler costs) stay in the tables and in
    ``compare --all``."""
    declared = figure(*_section_and_figure(metric))
    return bool(declared and declared.headline)


def _section_and_figure(metric: str) -> tuple[str, str]:
    section, _, figure = split(metric)
    return section, figure


def is_number(value: Any) -> bool:
    # numpy's integers are not ``int`` but are registered as numbers.Real
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and type(value).__name__ != "bool_"
        and not math.isnan(value)
    )


def metric_columns(summaries: pd.DataFrame, *, everything: bool = False) -> list[str]:
    """The numeric metrics among the columns of ``Results.summaries``, in a stable order."""
    chosen = []
    for column in summaries.columns:
        if column == "uuid" or "." not in column:
            continue
        section = split(column)[0]
        if not everything and (section in RUN_SECTIONS or not is_headline(column)):
            continue
        if any(is_number(v) for v in summaries[column]):
            chosen.append(column)
    return sorted(chosen)


def swept_columns(experiments: pd.DataFrame) -> list[str]:
    """The parameters a sweep varied (``sweep.<path>``), from ``Results.experiments``."""
    return sorted(
        c for c in experiments.columns if c.startswith("sweep.") and c not in RUN_PARAMETERS
    )


def point_label(values: dict[str, Any]) -> str:
    return ", ".join(f"{short_path(k)}={v}" for k, v in values.items()) or "(no swept parameter)"


def short_path(column: str) -> str:
    """``sweep.measurements/network_conditions/rate`` -> ``network_conditions/rate``."""
    path = column.removeprefix("sweep.")
    return path.removeprefix("measurements/")


def repetitions_of(experiments: pd.DataFrame, uuid: str) -> list[str]:
    """The experiment and the other recorded runs of its sweep point, good ones only.

    An experiment outside a sweep is its own only run; failed or interrupted
    runs of the point are left out, as their figures cover less than a window.
    """
    row = experiments.loc[experiments["uuid"] == uuid]
    if row.empty:
        return [uuid]
    row = row.iloc[0]
    if not isinstance(row.get("sweep_id"), str):
        return [uuid]
    same = experiments[
        (experiments["sweep_id"] == row["sweep_id"]) & experiments["status"].isin(GOOD_STATUSES)
    ]
    for column in swept_columns(experiments):
        value = row.get(column)
        matches = same[column].map(missing) if missing(value) else same[column] == value
        same = same[matches]
    found = list(same["uuid"])
    return found if uuid in found else [uuid, *found]


def values_of(summaries: pd.DataFrame, metric: str, uuids: Iterable[str]) -> list[float]:
    """A metric's numeric values over some experiments (those that have it)."""
    if metric not in summaries.columns:
        return []
    indexed = summaries.set_index("uuid")[metric]
    return [float(indexed[u]) for u in uuids if u in indexed.index and is_number(indexed[u])]


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
