"""The configuration: benchmark.yaml and secure.yaml, loaded, merged, validated and planned.

``load_config`` is the way in; the modules split its work: ``yamlfile``
(strict YAML), ``roles`` (the measurement roles' argument specs), ``merge``
(secure.yaml into benchmark.yaml), ``validate`` (the schema), ``model`` (the
result), ``plan`` (which measurement runs where) and ``secrets`` (masking).
"""

from collector.config.load import load_config
from collector.config.model import Config, MeasurementConfig

__all__ = ["Config", "MeasurementConfig", "load_config"]
