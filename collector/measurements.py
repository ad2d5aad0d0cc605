"""Which parser reads which raw file of which measurement role.

A role's collect phase fetches each sampler's files to
``raw/<host>/<sampler>/``; a role's samplers are named ``<role>`` or
``<role>_<what>``. This table is the other half of the contract
(docs/writing-a-measurement.md): role -> {"<sampler>/<file>": parser}.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collector.errors import CollectorError
from collector.parsers import (
    Rows,
    intel_gpu_top,
    network,
    nvidia_smi,
    pidstat,
    remote_viewer,
    spice_server,
    streaming_agent,
    system,
    vmstat,
)
from collector.roles import discover_roles, resolve_measurement

Parser = Callable[[str], dict[str, Rows]]

PARSERS: dict[str, dict[str, Parser]] = {
    "test": {"test/output": vmstat.parse},
    "system": {"system/output": system.parse},
    "network": {"network/output": network.parse},
    "process": {"process/output": pidstat.parse},
    "gpu": {"gpu_nvidia/output": nvidia_smi.parse, "gpu_intel/output": intel_gpu_top.parse},
    "streaming_agent": {
        "streaming_agent/frames.log": streaming_agent.parse,
        "streaming_agent/output": streaming_agent.parse,
    },
    "spice_server": {
        "spice_server/output": spice_server.parse,
        "spice_server_recorder/output": spice_server.parse,
    },
    "remote_viewer": {"remote_viewer/output": remote_viewer.parse},
}


def parsers_for(role: str) -> dict[str, Parser]:
    """Raw file (relative to the host's raw directory) -> parser, for one role."""
    return PARSERS.get(role, {})


def parse_file(measurement: str, path: Path) -> dict[str, Rows]:
    """Every table the measurement's parsers find in one raw file.

    Each parser skips lines that are not its own, so a file is offered to all
    of the role's parsers and the tables that come out non-empty are kept.
    """
    role = resolve_measurement(measurement, discover_roles())
    if role is None or role not in PARSERS:
        known = ", ".join(sorted(PARSERS))
        raise CollectorError(
            f"no parser for measurement {measurement!r}; parsers exist for {known}"
        )
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise CollectorError(f"cannot read {path}: {e.strerror or e}") from None
    tables: dict[str, Rows] = {}
    for parse in dict.fromkeys(PARSERS[role].values()):
        for name, rows in parse(text).items():
            if rows.rows or name not in tables:
                tables[name] = rows
    return tables
