"""Collect SPICE streaming benchmark results into Experiment tables.

The Ansible roles under ``roles/`` do the measuring; this package plans a run
from the config, turns the raw files the roles fetch into tables, and stores
them (SQLite locally, PostgreSQL when shared).
"""

__version__ = "0.1.0"
