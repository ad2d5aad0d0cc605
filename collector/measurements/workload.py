"""``workload``: what the guest's screen shows during the window (a moving ball by default).

It measures nothing itself: its command's output and status are attached to
the experiment, and its ``name`` is a parameter to sweep the content by.
"""

from __future__ import annotations

from collector.measurements.base import Measurement, Sampler

MEASUREMENT = Measurement(name="workload", samplers=(Sampler("workload"),))
