"""The application database as a Dagster resource, picked by one environment variable.

`DATABASE_URL` set: Deal Brain's database at that SQLAlchemy URL (any scheme Deal Brain itself uses,
connected with psycopg2), configured through `EnvVar` so the URL (and its password) never lands in
the run's config; `CPU_PIPELINE_SCHEMA` names the schema of the pipeline's own tables. Unset: the
embedded SQLite file in the project's data folder, filled with the demo catalogue on first use.
"""

import os
from collections.abc import Callable
from datetime import date, datetime, timezone

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import PrivateAttr

from cpu_pipeline.database import bulk, demo_catalogue, schema
from cpu_pipeline.database.engine import (
    DatabaseUnavailable,
    backend,
    describe,
    driver_in_use,
    embedded_database_url,
    is_connection_error,
    make_engine,
    masked,
)


class AppDatabase(dg.ConfigurableResource):
    """Deal Brain's application database: its `cpu` and `listing` tables, and the pipeline's own two
    tables in the PostgreSQL schema `pipeline_schema` (on SQLite, in the same file)."""

    url: str
    pipeline_schema: str = schema.DEFAULT_PIPELINE_SCHEMA
    fill_with_demo_when_empty: bool = False
    write_lock_timeout_seconds: float = 600

    _engine: sa.Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = make_engine(self.url)
        context.log.info(f"connecting to {self.display_url} with {driver_in_use(self.url)}")
        if self.fill_with_demo_when_empty and demo_catalogue.fill_if_empty(self._engine):
            context.log.info(f"Filled the embedded database {self.display_url} with the demo catalogue")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def display_url(self) -> str:
        return masked(self.url)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def load_cpus(self) -> pd.DataFrame:
        return self._reading(bulk.load_cpus)

    def load_listings(self) -> pd.DataFrame:
        return self._reading(bulk.load_listings)

    def write_analytics(self, rows: pd.DataFrame, updated_at: datetime) -> int:
        return bulk.write_analytics(self.engine, rows, updated_at, self.write_lock_timeout_seconds)

    @property
    def pipeline_tables(self) -> schema.PipelineTables:
        return schema.pipeline_tables_in(self.engine, self.pipeline_schema)

    def write_history(self, day: date, rows: pd.DataFrame) -> int:
        return bulk.write_history(self.engine, self.pipeline_tables.history, day, rows)

    def load_history(self, since: date, until: date) -> pd.DataFrame:
        return self._reading(lambda engine: bulk.load_history(engine, self.pipeline_tables.history, since, until))

    def write_trends(self, rows: pd.DataFrame) -> int:
        return bulk.write_trends(self.engine, self.pipeline_tables.trends, rows)

    def _reading(self, load: Callable[[sa.Engine], pd.DataFrame]) -> pd.DataFrame:
        try:
            return load(self.engine)
        except sa.exc.DBAPIError as error:
            if is_connection_error(error):
                raise DatabaseUnavailable(f"cannot reach the application database {describe(error, self.url)}") from None
            raise


class Clock(dg.ConfigurableResource):
    """Today's date in UTC, the day the daily partitions are named by; tests fix it to replay days."""

    fixed_day: str | None = None

    def today(self) -> date:
        return date.fromisoformat(self.fixed_day) if self.fixed_day else datetime.now(timezone.utc).date()


def app_database_url() -> str:
    return os.getenv("DATABASE_URL") or embedded_database_url()


def pipeline_schema_name() -> str:
    """The schema of the pipeline's own tables: `CPU_PIPELINE_SCHEMA`, else `cpu_pipeline`."""
    return os.getenv("CPU_PIPELINE_SCHEMA") or schema.DEFAULT_PIPELINE_SCHEMA


def app_database() -> AppDatabase:
    own_schema = dg.EnvVar("CPU_PIPELINE_SCHEMA") if os.getenv("CPU_PIPELINE_SCHEMA") else schema.DEFAULT_PIPELINE_SCHEMA
    if os.getenv("DATABASE_URL"):
        return AppDatabase(url=dg.EnvVar("DATABASE_URL"), pipeline_schema=own_schema)
    return AppDatabase(url=embedded_database_url(), pipeline_schema=own_schema, fill_with_demo_when_empty=True)


def app_database_kind() -> str:
    """The Dagster kind of the configured database: `postgres` or `sqlite`."""
    return backend(app_database_url())
