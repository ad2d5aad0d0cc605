"""Connect to the team's shared PostgreSQL database.

Connection parameters come from ``databases.remote`` of the merged config;
whatever it leaves out, libpq fills in its own ways (PGPASSWORD, PGHOST,
``~/.pgpass``, a ``service`` in ``pg_service.conf``), so a password need not
be in any file of the project. The password is passed to libpq as a keyword,
never in a DSN string, and libpq's error messages are classified into one
line the user can act on, with any secret masked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from collector.config.secrets import scrub
from collector.errors import CollectorError

CONNECT_TIMEOUT = 10
# This tool's tables live in a schema of their own, so that a database that
# already holds other tables (the old script's experiments, frames ...) is
# shared without touching them; databases.remote.schema names another.
DEFAULT_SCHEMA = "spice_bench"


class RemoteError(CollectorError):
    """The shared database cannot be used: unreachable, refused, missing, not PostgreSQL."""


@dataclass(frozen=True)
class RemoteSettings:
    """What to connect to; ``password`` stays out of repr and of every message."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    database: str | None = None
    sslmode: str | None = None
    service: str | None = None
    password: str | None = field(default=None, repr=False)
    source: str = "databases.remote"
    schema: str = DEFAULT_SCHEMA

    @classmethod
    def from_config(cls, remote: dict[str, Any] | None, config_file: str) -> RemoteSettings:
        if not remote:
            raise RemoteError(
                f"{config_file}: no databases.remote section: nothing to upload to "
                "(see README, section Uploading)"
            )
        return cls(
            host=remote.get("host"),
            port=remote.get("port"),
            user=remote.get("user"),
            # The old script's default: the database is named after the user.
            database=remote.get("database") or remote.get("user"),
            sslmode=remote.get("sslmode"),
            service=remote.get("service"),
            password=remote.get("password"),
            source=f"{config_file}: databases.remote",
            schema=remote.get("schema") or DEFAULT_SCHEMA,
        )

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.database,
            "sslmode": self.sslmode,
            "service": self.service,
            "password": self.password,
            "connect_timeout": CONNECT_TIMEOUT,
            "application_name": "spice-bench collector",
            # every name this tool uses resolves in its own schema, and only there
            "options": f"-c search_path={self.schema}",
        }
        return {k: v for k, v in kwargs.items() if v is not None}

    def describe(self) -> str:
        """Where, for messages: host:port/database as user (what libpq will use)."""
        host = self.host or os.environ.get("PGHOST") or "localhost"
        port = self.port or os.environ.get("PGPORT") or 5432
        user = self.user or os.environ.get("PGUSER") or "(libpq default user)"
        database = self.database or os.environ.get("PGDATABASE") or user
        service = f" (service {self.service})" if self.service else ""
        return f"{host}:{port}/{database} as {user}{service}"

    def secrets(self) -> Iterable[str]:
        extra = [os.environ["PGPASSWORD"]] if os.environ.get("PGPASSWORD") else []
        return [self.password, *extra] if self.password else extra


def connect(settings: RemoteSettings) -> psycopg2.extensions.connection:
    try:
        conn = psycopg2.connect(**settings.connect_kwargs())
    except psycopg2.Error as e:
        raise RemoteError(explain(e, settings)) from None
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            (version,) = cur.fetchone()
        conn.rollback()
    except psycopg2.Error as e:
        conn.close()
        raise RemoteError(explain(e, settings)) from None
    if "PostgreSQL" not in version:
        conn.close()
        raise RemoteError(f"{settings.describe()} is not a PostgreSQL server ({version[:60]})")
    return conn


_NOT_POSTGRES = "the server there does not speak PostgreSQL's protocol: is it a PostgreSQL server?"
_UNREACHABLE = "cannot reach the server (is it running, are host and port right?)"

# (fragments that must all be in libpq's message, what the user should hear)
_CAUSES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("password authentication failed",),
     "PostgreSQL refused the password for that user "
     "(set it in secure.yaml, PGPASSWORD or ~/.pgpass)"),
    (("no password supplied",),
     "the server wants a password and none was given "
     "(set it in secure.yaml, PGPASSWORD or ~/.pgpass)"),
    (("database", "does not exist"),
     "that database does not exist on the server (create it, or set databases.remote.database)"),
    (("role", "does not exist"), "that user does not exist on the server"),
    (("definition of service",), "unknown service name (see pg_service.conf)"),
    (("received invalid response to ssl negotiation",), _NOT_POSTGRES),
    (("expected authentication request",), _NOT_POSTGRES),
    (("server closed the connection unexpectedly",), _NOT_POSTGRES),
    (("could not connect",), _UNREACHABLE),
    (("connection refused",), _UNREACHABLE),
    (("is the server running",), _UNREACHABLE),
    (("timeout expired",), "cannot reach the server in time (host, port, firewall?)"),
    (("could not translate host name",), "unknown host name"),
)  # fmt: skip


def explain(error: BaseException, settings: RemoteSettings) -> str:
    """One line: where, what libpq says, and what it means."""
    detail = " ".join(str(error).split())
    lowered = detail.lower()
    meaning = next(
        (text for fragments, text in _CAUSES if all(f in lowered for f in fragments)), None
    )
    message = f"{settings.describe()}: {meaning}" if meaning else f"{settings.describe()}"
    message += f" [{detail[:300]}]" if detail else ""
    return scrub(message, settings.secrets())
