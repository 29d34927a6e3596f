"""The resources the data domains share, for the environment `DATABASE_URL` picks: unset, the
quickstart's embedded SQLite file with the demo catalogue; set, the database it names (Deal Brain's)."""

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.lib.app_database import AppDatabase, EmbeddedDemoDatabase
from cpu_pipeline.lib.clock import Clock


def app_database(configured: settings.Settings) -> AppDatabase:
    """The application database resource; a URL given in the environment reaches it as an EnvVar."""
    resource = EmbeddedDemoDatabase if configured.embedded_database else AppDatabase
    return resource(
        url=configured.resource_config("DATABASE_URL", configured.database_url),
        pipeline_schema=configured.resource_config("CPU_PIPELINE_SCHEMA", configured.pipeline_schema),
    )


@dg.definitions
def shared_resources() -> dg.Definitions:
    return dg.Definitions(resources={"app_database": app_database(settings.current()), "clock": Clock()})
