"""Measure SPICE video streaming with Ansible, and keep the results as Experiments.

The Ansible roles under ``roles/`` do the measuring; this package plans a run
from the config, turns the raw files the roles fetch into tables, and stores
them (SQLite locally, PostgreSQL when shared). Its subpackages:

- ``config``: benchmark.yaml and secure.yaml, loaded, validated and planned;
- ``running``: the playbooks driven through ansible-runner, sweeps, doctor,
  the lab, and ingest (a run directory into an Experiment);
- ``measurements``: one module per measurement, declaring its samplers,
  parsers, tables and figures;
- ``store``: the Experiment, the SQLite file, the shared database, one reader;
- ``results``: summaries, pandas access, statistics, comparisons and reports.

The names below are the public way in, for notebooks and scripts::

    from collector import open_results
    db = open_results("results/benchmark.db")
"""

from __future__ import annotations

import importlib
from typing import Any

from collector.version import __version__

# name -> module that defines it; imported on first use, so `python -m collector`
# does not pay for pandas when it only lists experiments.
_PUBLIC = {
    "open_results": "collector.results.analysis",
    "Results": "collector.results.analysis",
    "Experiment": "collector.store.experiment",
    "load_config": "collector.config.load",
}
# the module notebooks imported before the subpackages: `from collector import analysis`
_MODULES = {"analysis": "collector.results.analysis"}

__all__ = ["__version__", *_PUBLIC, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'collector' has no attribute {name!r}")
