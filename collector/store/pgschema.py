"""The shared PostgreSQL database's schema: created when missing, upgraded in place.

``collector_schema`` holds the version. Each migration brings the schema one
version up and is applied exactly once, under an advisory lock, so two
uploads starting at once against a new or old database do not trip over
each other. Measurement tables follow the local ones: created on first
upload, and given the columns they gained since.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg2 import sql

from collector.store.names import validate_field_name, validate_table_name
from collector.store.remote import DEFAULT_SCHEMA, RemoteError

# pg_advisory_xact_lock key for schema changes: "SPBC" as in the SQLite application_id.
SCHEMA_LOCK = 0x53504243

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # The first layout.
    1: (
        "CREATE TABLE collector_schema (version integer NOT NULL)",
        "INSERT INTO collector_schema (version) VALUES (0)",
        """CREATE TABLE experiments (
            uuid uuid PRIMARY KEY,
            description text NOT NULL DEFAULT '',
            status text NOT NULL,
            status_detail text NOT NULL DEFAULT '',
            started_at double precision,
            ended_at double precision,
            created_at double precision NOT NULL
        )""",
        """CREATE TABLE parameters (
            experiment_uuid uuid NOT NULL REFERENCES experiments (uuid) ON DELETE CASCADE,
            measurement text NOT NULL,
            name text NOT NULL,
            value jsonb NOT NULL,
            PRIMARY KEY (experiment_uuid, measurement, name)
        )""",
        """CREATE TABLE attachments (
            experiment_uuid uuid NOT NULL REFERENCES experiments (uuid) ON DELETE CASCADE,
            name text NOT NULL,
            host text,
            media_type text NOT NULL,
            content bytea NOT NULL,
            size bigint NOT NULL
        )""",
        "CREATE INDEX attachments_experiment ON attachments (experiment_uuid)",
        """CREATE TABLE experiment_tables (
            experiment_uuid uuid NOT NULL REFERENCES experiments (uuid) ON DELETE CASCADE,
            table_name text NOT NULL,
            row_count bigint NOT NULL,
            PRIMARY KEY (experiment_uuid, table_name)
        )""",
        """CREATE TABLE table_columns (
            table_name text NOT NULL,
            column_name text NOT NULL,
            column_type text,
            position integer NOT NULL,
            PRIMARY KEY (table_name, column_name)
        )""",
    ),
    # Sweeps, and who uploaded what when.
    2: (
        "ALTER TABLE experiments ADD COLUMN sweep_id text",
        "ALTER TABLE experiments ADD COLUMN uploaded_at timestamptz NOT NULL DEFAULT now()",
        "ALTER TABLE experiments ADD COLUMN uploaded_by text",
        "ALTER TABLE experiments ADD COLUMN tool_version text",
        "CREATE INDEX experiments_sweep ON experiments (sweep_id)",
        "CREATE INDEX experiments_started_at ON experiments (started_at)",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)

# SQLite declared type -> PostgreSQL type. Untyped SQLite columns may mix
# numbers and text: they become text.
PG_TYPES = {"integer": "bigint", "real": "double precision", "text": "text", "blob": "bytea"}


def schema_version(cur) -> int | None:
    """None when this tool never touched the database."""
    cur.execute("SELECT to_regclass('collector_schema') IS NOT NULL")
    if not cur.fetchone()[0]:
        return None
    cur.execute("SELECT version FROM collector_schema")
    row = cur.fetchone()
    return row[0] if row else 0


# The fixed tables: with the measurement tables table_columns lists, this tool's layout.
FIXED_TABLES = (
    "collector_schema", "experiments", "parameters", "attachments", "experiment_tables",
    "table_columns",
)  # fmt: skip
OLD_HOME = "public"  # where this tool's tables were before they had a schema of their own


def ensure_schema(
    conn, *, schema: str = DEFAULT_SCHEMA, upto: int = SCHEMA_VERSION
) -> tuple[int | None, int]:
    """Create or upgrade the fixed tables in ``schema``; returns (version found, version now).

    The connection resolves names in ``schema`` only (RemoteSettings sets
    its search_path). This tool's tables from before they had a schema of
    their own are moved there from ``public`` first, under the same lock.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        found = schema_version(cur)
        if found is None and schema != OLD_HOME:
            found = _move_old_layout(cur, schema)
        if found is None:
            cur.execute("SELECT to_regclass('experiments') IS NOT NULL")
            if cur.fetchone()[0]:
                conn.rollback()
                raise RemoteError(
                    f"the remote database's schema {schema} has an experiments table that this "
                    "tool did not create; set databases.remote.schema to another schema"
                )
        if found is not None and found > SCHEMA_VERSION:
            conn.rollback()
            raise RemoteError(
                f"the remote database has schema version {found}, newer than this tool "
                f"knows ({SCHEMA_VERSION}): upgrade the tool"
            )
        current = found or 0
        for version in range(current + 1, upto + 1):
            for statement in MIGRATIONS[version]:
                cur.execute(statement)
            cur.execute("UPDATE collector_schema SET version = %s", (version,))
            current = version
    conn.commit()
    return found, current


def _move_old_layout(cur, schema: str) -> int | None:
    """Move this tool's tables out of ``public`` into ``schema``; the version moved, if any."""
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{OLD_HOME}.collector_schema",))
    if not cur.fetchone()[0]:
        return None
    cur.execute(sql.SQL("SELECT DISTINCT table_name FROM {}.table_columns").format(
        sql.Identifier(OLD_HOME)))  # fmt: skip
    measured = sorted(name for (name,) in cur.fetchall())
    for table in (*FIXED_TABLES, *measured):
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{OLD_HOME}.{table}",))
        if cur.fetchone()[0]:
            cur.execute(
                sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    sql.Identifier(OLD_HOME), sql.Identifier(table), sql.Identifier(schema)
                )
            )
    return schema_version(cur)


def ensure_tables(conn, tables: dict[str, list[tuple[str, str | None]]]) -> list[str]:
    """Create missing measurement tables and add missing columns; returns what changed."""
    changes: list[str] = []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for table, columns in tables.items():
            name = validate_table_name(table)
            existing = _columns(cur, name)
            if not existing:
                # No foreign key: checking it costs COPY half its speed, and rows
                # only ever arrive in the transaction that adds their experiment.
                cur.execute(
                    sql.SQL("CREATE TABLE {} (experiment_uuid uuid NOT NULL)").format(
                        sql.Identifier(name)
                    )
                )
                cur.execute(
                    sql.SQL("CREATE INDEX {} ON {} (experiment_uuid)").format(
                        sql.Identifier(f"idx-{name}"), sql.Identifier(name)
                    )
                )
                changes.append(f"created table {name}")
            for position, (column, kind) in enumerate(columns, start=1):
                column = validate_field_name(column)
                if column in existing:
                    continue
                cur.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                        sql.Identifier(name),
                        sql.Identifier(column),
                        sql.SQL(PG_TYPES.get(kind or "", "text")),
                    )
                )
                cur.execute(
                    "INSERT INTO table_columns (table_name, column_name, column_type, position) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (name, column, kind, position),
                )
                if existing:
                    changes.append(f"added column {name}.{column}")
    conn.commit()
    return changes


def _columns(cur, table: str) -> set[str]:
    cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        (table,),
    )
    return {name for (name,) in cur.fetchall()}


def remote_columns(conn, table: str) -> set[str]:
    with conn.cursor() as cur:
        return _columns(cur, table)


def quoted_columns(columns: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(validate_field_name(c)) for c in columns)
