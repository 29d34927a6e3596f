"""The job that recalculates everything: the five assets and their checks."""

import os

import dagster as dg

MAX_RUNTIME_SECONDS = int(os.getenv("CPU_PIPELINE_MAX_RUNTIME_SECONDS", "3600"))


@dg.failure_hook
def log_recalc_failed(context: dg.HookContext) -> None:
    error = context.op_exception
    context.log.error(f"cpu_metrics.recalc.failed step={context.step_key} error={error!r}")


recalculate_cpu_metrics = dg.define_asset_job(
    "recalculate_cpu_metrics",
    selection=dg.AssetSelection.groups("cpu_metrics"),
    description="Recalculate every CPU's price targets and performance value and write them into the `cpu` table.",
    hooks={log_recalc_failed},
    tags={"dagster/max_runtime": MAX_RUNTIME_SECONDS},
)
