"""After every successful recalculation, today's snapshot."""

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.defs.price_history import assets as price_history
from cpu_pipeline.defs.price_history.jobs import snapshot_cpu_price_history

# The module, not the asset: Dagster collects every asset a defs module holds at its top level.
from cpu_pipeline.defs.recalculation import assets as recalculation
from cpu_pipeline.lib.watched_runs import assets_targeted


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    request_job=snapshot_cpu_price_history,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    description="After each successful run that wrote `cpu_analytics` back, however launched (the nightly "
    "schedule, the job, a Materialize of the group, the command line), take today's snapshot of the history "
    "and recompute the trends, unless the run did so itself.",
)
def snapshot_after_recalculation(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    run = context.dagster_run
    targeted = assets_targeted(context)
    if recalculation.cpu_analytics.key not in targeted:
        return dg.SkipReason(f"run {run.run_id} ({run.job_name}) wrote nothing back: no snapshot to take")
    if price_history.cpu_analytics_history.key in targeted:
        # "Materialize all" on the global graph: the run succeeded, so its own snapshot is today's.
        return dg.SkipReason(f"run {run.run_id} ({run.job_name}) took today's snapshot itself")
    # Keyed by the recalculation: however often the daemon sees that run, it is snapshotted once.
    return dg.RunRequest(run_key=run.run_id)
