"""The one way the tests materialise the pipeline's assets in process: against a given database,
with the resources the code location gives them."""

from datetime import date

import dagster as dg

from cpu_pipeline.database import schema
from cpu_pipeline.defs.price_history import assets as price_history
from cpu_pipeline.defs.recalculation import assets as recalculation
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock

RECALCULATION = [
    recalculation.cpus,
    recalculation.listing_figures,
    recalculation.cpu_price_targets,
    recalculation.cpu_performance_metrics,
    recalculation.cpu_analytics,
]
PRICE_HISTORY = [price_history.cpu_analytics_history, price_history.cpu_price_trends]


def materialize(
    url: str,
    *,
    day: date | None = None,
    run_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    pipeline_schema: str = schema.DEFAULT_PIPELINE_SCHEMA,
) -> dg.ExecuteInProcessResult:
    """The recalculation's five assets on the database at `url`; with a `day`, also the price history's
    snapshot and trends, the Clock fixed to `day`. Never raises on a failed step."""
    resources = {"app_database": AppDatabase(url=url, pipeline_schema=pipeline_schema)}
    if day is None:
        return dg.materialize(RECALCULATION, resources=resources, run_config=run_config, instance=instance, raise_on_error=False)
    return dg.materialize(
        RECALCULATION + PRICE_HISTORY,
        resources={**resources, "clock": Clock(fixed_day=day.isoformat())},
        run_config=run_config,
        instance=instance,
        raise_on_error=False,
    )
