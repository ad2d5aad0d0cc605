"""Which parser reads which raw file of which measurement role.

A role's collect phase fetches files to ``raw/<host>/<role>/``; this table is
the other half of the contract (docs/writing-a-measurement.md).
"""

from __future__ import annotations

from collections.abc import Callable

from collector.parsers import Rows, system, vmstat

Parser = Callable[[str], dict[str, Rows]]

PARSERS: dict[str, dict[str, Parser]] = {
    "test": {"output": vmstat.parse},
    "system": {"output": system.parse},
}


def parsers_for(role: str) -> dict[str, Parser]:
    """Raw file name → parser, for one role; a role without parsers has none."""
    return PARSERS.get(role, {})
