"""The nightly recalculation."""

from datetime import timedelta

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.defs.alerts.resources import AlertWebhook, alert_message
from cpu_pipeline.defs.recalculation.jobs import recalculate_cpu_metrics
from cpu_pipeline.lib.clock import Clock

# As the seed's Celery task expired after two hours: a daemon catching up after downtime must not
# recalculate in the middle of the day.
TICK_EXPIRES_AFTER = timedelta(hours=2)


@dg.schedule(
    job=recalculate_cpu_metrics,
    cron_schedule=settings.current().schedule_cron,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Recalculate the CPU analytics every night (cron from CPU_PIPELINE_SCHEDULE_CRON, UTC).",
)
def recalculate_cpu_metrics_nightly(
    context: dg.ScheduleEvaluationContext, clock: Clock, alert_webhook: AlertWebhook
) -> dg.RunRequest | dg.SkipReason:
    scheduled = context.scheduled_execution_time
    lateness = clock.now() - scheduled
    if lateness > TICK_EXPIRES_AFTER:
        reason = (
            f"Tick for {scheduled.isoformat()} evaluated {lateness} late, past the {TICK_EXPIRES_AFTER} expiry; "
            "the next scheduled tick will recalculate."
        )
        # A night without a recalculation is news: say so, as well as recording the skip on the tick.
        link = alert_webhook.automation_link()
        summary = f"the nightly recalculation was skipped: {reason}"
        alert = alert_message(
            "schedule_tick_skipped", summary, link, "schedules", ":warning:", scheduled_for=scheduled.isoformat()
        )
        alert_webhook.send(alert, context.log)
        return dg.SkipReason(reason)
    return dg.RunRequest(tags={"cpu_pipeline/scheduled_for": scheduled.isoformat()})
