"""Recalculation on change: `recalculate_cpu_metrics` soon after the listings change and settle.

The nightly schedule stays the full safety net; this sensor only brings the targets forward. Its runs
are the real job (maximum runtime, failure hook, alerts, history snapshot), queued behind any running
recalculation by the pool, each carrying the change signal it was requested for in its run key (numbered:
a signal can come back to an earlier value) and in the tag `LISTING_CHANGE_TAG`, so the UI says why it ran.
"""

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.database.engine import DatabaseUnavailable
from cpu_pipeline.defs.recalculation.jobs import recalculate_cpu_metrics
from cpu_pipeline.lib import debounce
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock

LISTING_CHANGE_TAG = "cpu_pipeline/listing_change"
# A burst of changes that never settles (an importer writing for an hour) still gets a run this often.
MAX_WAIT_SECONDS = 300


@dg.sensor(
    job=recalculate_cpu_metrics,
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Recalculates when the `listing` table has changed and then settled for one interval "
    f"(at the latest {MAX_WAIT_SECONDS // 60} minutes after the first change of a burst).",
)
def recalculate_on_listing_change(
    context: dg.SensorEvaluationContext, app_database: AppDatabase, clock: Clock
) -> dg.RunRequest | dg.SkipReason | None:
    try:
        signal = app_database.listing_change_signal()
    except DatabaseUnavailable as error:
        return dg.SkipReason(str(error))  # the next evaluation tries again; the cursor stays as it was
    state, requested = debounce.evaluate(
        debounce.Debounce.from_cursor(context.cursor), signal, clock.now().timestamp(), MAX_WAIT_SECONDS
    )
    context.update_cursor(state.to_cursor())
    if requested:
        return dg.RunRequest(run_key=state.run_key, tags={LISTING_CHANGE_TAG: signal})
    return None  # nothing changed, or a burst still settling: nothing to say every interval
