"""``network_conditions``: a bandwidth cap (and netem delay and loss) on the host-client link.

The conditions live as long as the role's sampler; what ``tc`` applied is
attached to the experiment, nothing is parsed.
"""

from __future__ import annotations

from collector.measurements.base import Measurement, Sampler

MEASUREMENT = Measurement(name="network_conditions", samplers=(Sampler("network_conditions"),))
