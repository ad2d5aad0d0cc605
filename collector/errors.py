"""Errors a user can act on.

Every error the tool reports on purpose is a CollectorError: the CLI prints
its message on one line and exits non-zero, without a traceback. Messages
name what is wrong and where, and never carry a secret value.
"""

from __future__ import annotations


class CollectorError(Exception):
    """A failure with a message meant for the user."""

    exit_code = 2


class ConfigError(CollectorError):
    """The configuration is unreadable or invalid.

    ``source`` is the file (or "command line") and ``key_path`` the place in
    it, e.g. ``measurements[1].test.interval``.
    """

    def __init__(self, source: str, key_path: str, problem: str) -> None:
        self.source = source
        self.key_path = key_path
        self.problem = problem
        where = f"{source}: {key_path}" if key_path else source
        super().__init__(f"{where}: {problem}")


class StoreError(CollectorError):
    """The local database is missing, not this tool's, or cannot be written."""


class StoreLocked(StoreError):
    """Another process held the database's write lock for longer than the wait allowed."""
