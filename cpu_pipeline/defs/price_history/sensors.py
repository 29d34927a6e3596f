"""After every successful recalculation, today's snapshot."""

import dagster as dg

from cpu_pipeline.defs.price_history.jobs import snapshot_cpu_price_history
from cpu_pipeline.defs.recalculation.jobs import recalculate_cpu_metrics
from cpu_pipeline.lib.clock import Clock


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[recalculate_cpu_metrics],
    request_job=snapshot_cpu_price_history,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
    description="After each successful recalculation (the nightly one included), fill today's history partition.",
)
def snapshot_after_recalculation(context: dg.RunStatusSensorContext, clock: Clock) -> dg.RunRequest:
    return dg.RunRequest(run_key=context.dagster_run.run_id, partition_key=clock.today().isoformat())
