"""Recalculation on change: `recalculate_cpu_metrics` soon after the listings change and settle.

The nightly schedule stays the full safety net; this sensor only brings the targets forward. Its runs
are the real job (maximum runtime, failure hook, alerts, history snapshot), each carrying the change
signal it was requested for in its run key (numbered: a signal can come back to an earlier value) and in
the tag `LISTING_CHANGE_TAG`, so the UI says why it ran. Each change it acts on is also recorded as an
observation of the external asset `deal_brain/listing` whose data version is the signal: the asset's
page shows when the source changed, and the `listing_figures` materialisation of the run that followed names
that observation as its input.

While a recalculation is queued or in progress (a run set to write the targets back, however launched)
the sensor requests none: the change stays pending in its cursor and is requested once that run has
ended (the run may have read the listings before it), so one run catches every change made during another.
"""

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.database.engine import DatabaseUnavailable
from cpu_pipeline.defs.deal_brain import assets as deal_brain
from cpu_pipeline.defs.recalculation import assets as recalculation
from cpu_pipeline.defs.recalculation.jobs import recalculate_cpu_metrics
from cpu_pipeline.lib import debounce
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline.lib.watched_runs import planned_assets

LISTING_CHANGE_TAG = "cpu_pipeline/listing_change"
# Dagster's tag for an asset event's data version (DATA_VERSION_TAG, which dagster 1.13 does not export).
DATA_VERSION_TAG = "dagster/data_version"
# A burst of changes that never settles (an importer writing for an hour) still gets a run this often.
MAX_WAIT_SECONDS = 300
# A run in one of these has not finished reading and writing: a change seen now may come after its read.
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _unfinished_recalculation(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """A queued or unfinished run that is to write the targets back, however it was launched: the job
    (nightly, this sensor, by hand), "Materialize all" (Dagster's `__ASSET_JOB`), `cpu-pipeline run`.
    Told by what it set out to do, as the run status sensors tell theirs (`lib/watched_runs.py`)."""
    for run in instance.get_runs(dg.RunsFilter(statuses=UNFINISHED)):
        if recalculation.cpu_analytics.key in planned_assets(instance, run.run_id):
            return run
    return None


@dg.sensor(
    job=recalculate_cpu_metrics,
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Recalculates when the `listing` table has changed and then settled for one interval "
    f"(at the latest {MAX_WAIT_SECONDS // 60} minutes after the first change of a burst), once no "
    "recalculation is queued or in progress; records each change it acts on as an observation of `deal_brain/listing`.",
)
def recalculate_on_listing_change(
    context: dg.SensorEvaluationContext, app_database: AppDatabase, clock: Clock
) -> dg.SensorResult | dg.SkipReason | None:
    try:
        signal = app_database.listing_change_signal()
    except DatabaseUnavailable as error:
        return dg.SkipReason(str(error))  # the next evaluation tries again; the cursor stays as it was
    unfinished = _unfinished_recalculation(context.instance)
    state, requested = debounce.evaluate(
        debounce.Debounce.from_cursor(context.cursor),
        signal,
        clock.now().timestamp(),
        MAX_WAIT_SECONDS,
        run_in_progress=unfinished is not None,
    )
    context.update_cursor(state.to_cursor())
    if requested:
        observation = dg.AssetObservation(
            asset_key=deal_brain.LISTING.key,
            description=f"Changed; {recalculate_cpu_metrics.name} requested with run key {state.run_key}",
            tags={DATA_VERSION_TAG: signal},
            metadata={"run_key": state.run_key},
        )
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=state.run_key, tags={LISTING_CHANGE_TAG: signal})],
            asset_events=[observation],
        )
    if unfinished is not None and signal != state.requested:
        return dg.SkipReason(
            f"The listings changed ({signal}); recalculation run {unfinished.run_id} ({unfinished.job_name}) is "
            f"{unfinished.status.value.lower()}: one run after it ends catches the change"
        )
    return None  # nothing changed, or a burst still settling: nothing to say every interval
