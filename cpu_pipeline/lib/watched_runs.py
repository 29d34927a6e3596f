"""Which runs on the instance the run status sensors act on: those that set out to materialise this code
location's assets, however they were launched.

A run status sensor sees only its own code location's runs unless it watches the whole instance
(`monitor_all_code_locations`): a run executed in-process (`dagster job execute`, `dg launch`,
`cpu-pipeline run`) belongs to no code location, and "Materialize all" or a single asset in the UI
runs Dagster's anonymous `__ASSET_JOB`, not `recalculate_cpu_metrics`. So the sensors watch the whole
instance and tell their runs by what each one set out to do, never by its job or its origin.
"""

import dagster as dg


def assets_targeted(context: dg.RunStatusSensorContext) -> set[dg.AssetKey]:
    """The assets of the sensor's code location that the context's run set out to materialise: empty
    for a run that targets none of them (another code location's, an op job).

    Read from the ASSET_MATERIALIZATION_PLANNED events Dagster logs as it creates a run, whatever
    launched it and before its first step: a run that failed before it started has them too; a
    re-execution from failure has those of the steps it runs again.

    Raises:
        AttributeError: the context has no repository (a test built it without `repository_def`);
            the daemon always gives one.
    """
    ours = context.repository_def.asset_graph.get_all_asset_keys()
    return planned_assets(context.instance, context.dagster_run.run_id) & ours


def planned_assets(instance: dg.DagsterInstance, run_id: str) -> set[dg.AssetKey]:
    """Every asset the run set out to materialise (its ASSET_MATERIALIZATION_PLANNED events), whatever
    launched it, queued or not yet started as well."""
    planned = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return {record.dagster_event.asset_key for record in planned}
