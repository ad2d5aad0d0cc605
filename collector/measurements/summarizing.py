"""Helpers the measurements' summaries share: grouping, means, percentiles, rates.

A summary takes one experiment's rows of a table as dicts and returns plain
numbers, so ``show --json``, reports and comparisons reuse them as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from statistics import fmean
from typing import Any

from collector.measurements.base import Record

SECONDS_PER_DAY = 86400


def by(records: list[Record], *keys: str) -> dict[Any, list[Record]]:
    """Records grouped by one key (the value) or several (a tuple), in key order."""
    groups: dict[Any, list[Record]] = defaultdict(list)
    for r in records:
        groups[r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)].append(r)
    return dict(sorted(groups.items()))


def mean(records: list[Record], field: str) -> float | None:
    found = [r[field] for r in records if r.get(field) is not None]
    return round(fmean(found), 2) if found else None


def known(records: list[Record], field: str) -> list[Any]:
    return [r[field] for r in records if r.get(field) is not None]


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def largest(found: list[float]) -> float | None:
    return max(found) if found else None


def p95(found: list[float]) -> float | None:
    """95th percentile, interpolated between the two nearest ranks (numpy's default)."""
    if not found:
        return None
    ordered = sorted(found)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timeline(records: list[Record]) -> list[float]:
    """The records' times in order: ``time`` (controller's clock), else ``time_of_day``.

    ``time`` is None when the log had only its own clock time and the host's
    offset was not known; ``time_of_day`` then gives the same spacing, once a
    run across midnight is unwrapped.
    """
    times = known(records, "time")
    days = known(records, "time_of_day")
    if len(times) >= len(days):
        return sorted(times)
    unwrapped: list[float] = []
    shift = 0.0
    for day in days:
        if unwrapped and day + shift < unwrapped[-1] - SECONDS_PER_DAY / 2:
            shift += SECONDS_PER_DAY
        unwrapped.append(day + shift)
    return sorted(unwrapped)


def rate(times: list[float]) -> float | None:
    """Events per second between the first and the last one."""
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


def mbit(bytes_per_s: float | None) -> float | None:
    return None if bytes_per_s is None else round(bytes_per_s * 8 / 1e6, 3)


def sample_totals(samples: Iterable[list[Record]], field: str) -> list[float]:
    """Per sample, the field added up over the sample's lines that have it."""
    return [sum(found) for found in (known(s, field) for s in samples) if found]
