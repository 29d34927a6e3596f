"""The job that recalculates everything: the five assets and their checks."""

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.defs.recalculation.assets import GROUP


@dg.failure_hook
def log_recalc_failed(context: dg.HookContext) -> None:
    # The error's class alone: the step's failure event, just before, holds the whole error, and
    # `cpu-pipeline run` prints its cause once; repeating the message here printed it once more a step.
    context.log.error(f"cpu_metrics.recalc.failed step={context.step_key} error={type(context.op_exception).__name__}")


recalculate_cpu_metrics = dg.define_asset_job(
    "recalculate_cpu_metrics",
    selection=dg.AssetSelection.groups(GROUP),
    description="Recalculate every CPU's price targets and performance value and write them into the `cpu` table.",
    hooks={log_recalc_failed},
    # Run monitoring fails a run past this (CPU_PIPELINE_MAX_RUNTIME_SECONDS).
    tags={"dagster/max_runtime": settings.current().max_runtime_seconds},
)
