"""``workload``: what the guest's screen shows during the window (a moving ball by default).

Any command's output and status are attached to the experiment, and its
``name`` is a parameter to sweep the content by. The marked contents
(``marked-ball``, ``marked-text``, ``marked-motion``; roles/glass/files/glass.py
``play``) also log each frame as it reached the guest's display, for the
``glass`` measurement:

- ``workload_content``: the ``# content NAME WxH fps F`` header;
- ``workload_frames``: ``FRAME TIME`` per frame drawn (guest clock, moved to
  the controller's at ingest), the warm-up's too: a frame drawn then may reach
  the client's screen in the window, and its latency needs its draw time.
"""

from __future__ import annotations

from collector.measurements.base import Measurement, Sampler
from collector.measurements.parsing import LineCounts, Parsed, Rows, log_lines

CONTENT_FIELDS = ("content", "width", "height", "fps")
FRAME_FIELDS = ("time", "frame")


def parse(text: str) -> Parsed:
    content = Rows(CONTENT_FIELDS)
    frames = Rows(FRAME_FIELDS)
    lines = log_lines(text)
    counts = LineCounts(lines=len(lines))
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            try:
                frames.rows.append((float(parts[1]), int(parts[0])))
            except ValueError:
                counts.failed(line)
        elif parts[:2] == ["#", "content"]:
            try:
                if len(parts) != 6 or parts[4] != "fps":
                    raise ValueError
                width, height = (int(v) for v in parts[3].split("x"))
                content.rows.append((parts[2], width, height, float(parts[5])))
            except ValueError:
                counts.failed(line)
    counts.recognised = len(content.rows) + len(frames.rows)
    return Parsed({"workload_content": content, "workload_frames": frames}, counts)


MEASUREMENT = Measurement(
    name="workload",
    samplers=(Sampler("workload", {"output": parse}),),
    tables={"workload_content": CONTENT_FIELDS, "workload_frames": FRAME_FIELDS},
    warmup_tables=frozenset({"workload_frames"}),
)
