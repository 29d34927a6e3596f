"""The application database as a Dagster resource: Deal Brain's `cpu` and `listing`, and the
pipeline's own tables. Only these resources run SQL; the assets never know which database they are on.

`AppDatabase` reads and writes the database it is given. `EmbeddedDemoDatabase` is the quickstart's:
the embedded SQLite file, which it fills with the demo catalogue on first use, so that `make run`
and `make dev` need no configuration. `defs/resources.py` picks one from the settings.
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import ClassVar, TypeVar

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import PrivateAttr

from cpu_pipeline.database import bulk, change_signal, demo_catalogue, schema
from cpu_pipeline.database.engine import (
    database_error,
    driver_in_use,
    make_engine,
    masked,
)

T = TypeVar("T")


class AppDatabase(dg.ConfigurableResource):
    """Deal Brain's application database: its `cpu` and `listing` tables, and the pipeline's own two
    tables in the PostgreSQL schema `pipeline_schema` (on SQLite, in the same file)."""

    url: str
    pipeline_schema: str = schema.DEFAULT_PIPELINE_SCHEMA
    write_lock_timeout_seconds: float = 600

    _engine: sa.Engine | None = PrivateAttr(default=None)
    # A database that does not exist is an error, never created (an SQLite path mistyped); the embedded default's is.
    _creates_missing_database: ClassVar[bool] = False

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = self._make_engine()
        if context.run:  # a run says which database it works on; a sensor, connecting at every tick, does not
            context.log.info(f"connecting to {self.display_url} with {driver_in_use(self.url)}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def display_url(self) -> str:
        return masked(self.url)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    def _make_engine(self) -> sa.Engine:
        return make_engine(self.url, create_missing_file=self._creates_missing_database)

    def load_cpus(self) -> pd.DataFrame:
        return self._reading(bulk.load_cpus)

    def load_listing_figures(self) -> pd.DataFrame:
        return self._reading(bulk.load_listing_figures)

    def load_usable_prices(self, cpu_ids: list[int]) -> pd.DataFrame:
        return self._reading(lambda engine: bulk.load_usable_prices(engine, cpu_ids))

    def listing_change_signal(self) -> str:
        """A short text that changes whenever the `listing` table does (`database/change_signal.py`)."""
        return self._reading(change_signal.listing_change_signal)

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

    def _reading(self, load: Callable[[sa.Engine], T]) -> T:
        try:
            return load(self.engine)
        except sa.exc.DBAPIError as error:
            explained = database_error(error, self.url)  # DatabaseUnavailable (retried) or DatabaseRefused
            if explained is None:
                raise
            raise explained from None


class EmbeddedDemoDatabase(AppDatabase):
    """The quickstart's database: the embedded SQLite file, created with its folder where missing and
    filled with the demo catalogue when it holds no CPUs."""

    _creates_missing_database: ClassVar[bool] = True

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        if demo_catalogue.fill_if_empty(self.engine):
            context.log.info(f"Filled the embedded database {self.display_url} with the demo catalogue")
