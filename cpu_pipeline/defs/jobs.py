"""The job that recalculates everything: the five assets and their checks, in one process."""

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
    # The steps run one after another anyway; one process saves each step's interpreter start.
    executor_def=dg.in_process_executor,
    hooks={log_recalc_failed},
    # The instance's run coordinator lets one run with this tag key run at a time (dagster.yaml).
    tags={"dagster/max_runtime": MAX_RUNTIME_SECONDS, "cpu_pipeline/recalculation": "cpu"},
)
