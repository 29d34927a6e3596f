"""The job that keeps Dagster's storage bounded: one op, no asset, outside the pool `cpu_metrics`."""

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline.ops import maintenance


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Delete the finished runs older than CPU_PIPELINE_RUN_RETENTION_DAYS, with their events and "
    "compute logs, except those holding an asset's latest materialization; its output's metadata says what went.",
)
def delete_runs_past_retention(context: dg.OpExecutionContext, clock: Clock) -> dg.Output:
    days = settings.current().run_retention_days
    removed = maintenance.delete_old_runs(context.instance, clock.now(), days, keep={context.run_id})
    context.log.info(
        f"cpu_pipeline.maintenance retention_days={days} "
        + " ".join(f"{key}={value.value}" for key, value in removed.metadata().items())
    )
    # A Nothing output stores no value: the metadata shows on the run's step output in the UI.
    return dg.Output(None, metadata={"retention_days": dg.MetadataValue.int(days), **removed.metadata()})


@dg.job(
    description="Delete the runs past the retention (CPU_PIPELINE_RUN_RETENTION_DAYS) with their events and compute "
    "logs, keeping each asset's latest materialization: Dagster's storage stays bounded.",
)
def delete_old_runs() -> None:
    delete_runs_past_retention()
