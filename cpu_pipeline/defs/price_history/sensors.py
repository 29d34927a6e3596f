"""After every successful recalculation, today's snapshot."""

import dagster as dg

from cpu_pipeline.defs.price_history.jobs import snapshot_cpu_price_history

# The module, not the asset: Dagster collects every asset a defs module holds at its top level.
from cpu_pipeline.defs.recalculation import assets as recalculation
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline.lib.watched_runs import assets_targeted


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    request_job=snapshot_cpu_price_history,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
    description="After each successful run that wrote `cpu_analytics` back, however launched (the nightly "
    "schedule, the job, Materialize all, the command line), fill today's history partition.",
)
def snapshot_after_recalculation(context: dg.RunStatusSensorContext, clock: Clock) -> dg.RunRequest | dg.SkipReason:
    run = context.dagster_run
    if recalculation.cpu_analytics.key not in assets_targeted(context):
        return dg.SkipReason(f"run {run.run_id} ({run.job_name}) wrote nothing back: no snapshot to take")
    return dg.RunRequest(run_key=run.run_id, partition_key=clock.today().isoformat())
