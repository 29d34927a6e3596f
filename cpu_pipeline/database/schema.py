"""The part of Deal Brain's schema that the pipeline reads and writes, and the pipeline's own tables.

`cpu` and `listing` follow a migrated Deal Brain database (`double precision` prices, `created_at` /
`updated_at`); a real one has more columns. The demo catalogue creates them where they are missing
(`create_missing_tables`), never dropping or recreating them.

The pipeline's own tables, `cpu_analytics_history` and `cpu_price_trends`, live in a PostgreSQL schema
of their own (`cpu_pipeline` by default), which Deal Brain's Alembic does not compare and so never
drops. A database owner creates it once (`cpu-pipeline setup`); the nightly jobs never create anything
there. SQLite has no schemas: the embedded database keeps them in its one file, created on first use.
"""

from functools import cache
from typing import NamedTuple

import sqlalchemy as sa

from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS
from cpu_pipeline.database import listing_indexes

metadata = sa.MetaData()


def _created_and_updated_at() -> list[sa.Column]:
    """Deal Brain's row timestamps: naive, NOT NULL, the insert's time by default."""
    return [sa.Column(name, sa.DateTime, nullable=False, server_default=sa.func.now()) for name in ("created_at", "updated_at")]


cpu = sa.Table(
    "cpu",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("manufacturer", sa.String(64), nullable=False),
    sa.Column("cpu_mark_multi", sa.Integer),
    sa.Column("cpu_mark_single", sa.Integer),
    sa.Column("price_target_good", sa.Double),
    sa.Column("price_target_great", sa.Double),
    sa.Column("price_target_fair", sa.Double),
    sa.Column("price_target_stddev", sa.Double),
    sa.Column("price_target_sample_size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("price_target_confidence", sa.String(16)),
    sa.Column("price_target_updated_at", sa.DateTime),
    sa.Column("dollar_per_mark_single", sa.Double),
    sa.Column("dollar_per_mark_multi", sa.Double),
    sa.Column("performance_value_percentile", sa.Double),
    sa.Column("performance_value_rating", sa.String(16)),
    sa.Column("performance_metrics_updated_at", sa.DateTime),
    *_created_and_updated_at(),
)

listing = sa.Table(
    "listing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("cpu_id", sa.Integer, sa.ForeignKey("cpu.id"), index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("price_usd", sa.Double),
    sa.Column("adjusted_price_usd", sa.Double),
    *_created_and_updated_at(),
)

DEFAULT_PIPELINE_SCHEMA = "cpu_pipeline"


class PipelineTables(NamedTuple):
    """The pipeline's own tables, in one schema (None: the database's default, as on SQLite)."""

    history: sa.Table
    trends: sa.Table


@cache
def pipeline_tables(schema: str | None) -> PipelineTables:
    """The nightly snapshots (keyed by CPU and UTC day) and the trends they give (one row per CPU).

    Their keys are plain integers: no serial, no sequence.
    """
    own = sa.MetaData(schema=schema)
    history = sa.Table(
        "cpu_analytics_history",
        own,
        sa.Column("cpu_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date, primary_key=True),
        *(sa.Column(name, cpu.c[name].type) for name in (*PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS)),
    )
    trends = sa.Table(
        "cpu_price_trends",
        own,
        sa.Column("cpu_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("price_target_good", sa.Double),
        sa.Column("good_change_7d", sa.Double),
        sa.Column("good_change_7d_pct", sa.Double),
        sa.Column("good_change_30d", sa.Double),
        sa.Column("good_change_30d_pct", sa.Double),
        sa.Column("price_drop", sa.Boolean),
        sa.Column("wide_price_range", sa.Boolean),
        sa.Column("outlier_count", sa.Integer),
    )
    return PipelineTables(history, trends)


def pipeline_tables_in(engine: sa.Engine, schema: str) -> PipelineTables:
    """The pipeline's tables where they live on this engine: in `schema` on PostgreSQL, in the file on SQLite."""
    return pipeline_tables(schema if engine.dialect.name == "postgresql" else None)


# Every column the pipeline writes, in the order of the `cpu` table.
ANALYTICS_COLUMNS = [
    *PRICE_TARGET_COLUMNS,
    "price_target_updated_at",
    *PERFORMANCE_COLUMNS,
    "performance_metrics_updated_at",
]


def create_missing_tables(engine: sa.Engine) -> None:
    """Create Deal Brain's `cpu` and `listing` where they are missing (for the demo catalogue and tests)."""
    metadata.create_all(engine, checkfirst=True)


def create_pipeline_tables(engine: sa.Engine, schema: str = DEFAULT_PIPELINE_SCHEMA) -> list[str]:
    """Create the pipeline's schema (PostgreSQL) and its two tables where they are missing, in one transaction.

    Idempotent; returns what it created, e.g. `["schema cpu_pipeline", "table cpu_pipeline.cpu_price_trends"]`,
    empty when everything was there already. Needs the right to create a schema (the database's owner).
    """
    tables = pipeline_tables_in(engine, schema)
    created = []
    with engine.begin() as connection:
        inspector = sa.inspect(connection)
        if tables.history.schema is not None and tables.history.schema not in inspector.get_schema_names():
            connection.execute(sa.schema.CreateSchema(tables.history.schema))
            created.append(f"schema {tables.history.schema}")
        for table in tables:
            if not inspector.has_table(table.name, schema=table.schema):
                table.create(connection)
                created.append(f"table {table.fullname}")
    return created


def set_up(engine: sa.Engine, schema: str = DEFAULT_PIPELINE_SCHEMA) -> list[str]:
    """What `cpu-pipeline setup` creates, where missing: the pipeline's tables (`create_pipeline_tables`)
    and, on PostgreSQL, the indexes on `listing` that keep the pipeline's reads from scanning or sorting
    the whole table (`listing_indexes.ALL`). Returns what it created. Needs the database's owner; the
    jobs never create anything.
    """
    created = create_pipeline_tables(engine, schema)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for index in listing_indexes.ALL:
                if listing_indexes.create(connection, index):
                    created.append(f"index {index.name} on listing {index.definition}")
    return created
