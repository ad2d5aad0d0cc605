"""``nvidia-smi stats`` output: one line per GPU, metric and sample.

Each line is ``<GPU index>, <metric>, <timestamp in µs since the epoch>, <value>``; the
metric name is padded with spaces to a common width (``temp    ``, ``memClk  ``) and is
kept as printed, stripped (``pwrDraw``, ``temp``, ``procClk``, ``memClk``, ``gpuUtil``,
``memUtil``, ``encUtil``, ``decUtil``, ``violPwr``, ``violThm``, ...). Metrics are sampled
at their own rates and printed in batches, so the lines are not in time order.

``time`` is the line's own timestamp (absolute, µs / 1e6); a sampler runner's
``<epoch> `` prefix, if any, is ignored. Lines that do not have four fields with an
integer GPU index and timestamp and a numeric value (``N/A``, a cut last line, noise)
are skipped.
"""

from __future__ import annotations

from collector.parsers import Rows

FIELDS = ("time", "gpu", "metric", "value")


def parse(text: str) -> dict[str, Rows]:
    table = Rows(FIELDS)
    rows = table.rows
    for line in text.splitlines():
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
            continue
        if row[2]:
            rows.append(row)
    return {"gpu_samples": table}
