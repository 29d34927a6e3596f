from datetime import UTC, datetime, timedelta

import dagster as dg

from cpu_pipeline.defs.alerts.resources import AlertWebhook
from cpu_pipeline.defs.recalculation.schedules import recalculate_cpu_metrics_nightly
from cpu_pipeline.lib.clock import Clock

TICK = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)


def _evaluate(late_by: timedelta, webhook_url: str | None = None):
    """The 02:30 tick of 2026-11-30, evaluated `late_by` after it (the Clock fixed there)."""
    context = dg.build_schedule_context(
        scheduled_execution_time=TICK,
        resources={"clock": Clock(fixed_now=(TICK + late_by).isoformat()), "alert_webhook": AlertWebhook(url=webhook_url)},
    )
    return recalculate_cpu_metrics_nightly(context)


def test_an_on_time_tick_requests_a_run_and_alerts_nobody(webhook):
    request = _evaluate(timedelta(seconds=5), webhook.url)
    assert webhook.received == []
    assert isinstance(request, dg.RunRequest)
    assert request.tags["cpu_pipeline/scheduled_for"] == "2026-11-30T02:30:00+00:00"


def test_a_tick_just_inside_the_expiry_still_runs():
    assert isinstance(_evaluate(timedelta(hours=1, minutes=59)), dg.RunRequest)


def test_a_tick_more_than_two_hours_late_requests_nothing_says_why_and_alerts(webhook):
    skip = _evaluate(timedelta(hours=2, minutes=1), webhook.url)
    assert isinstance(skip, dg.SkipReason)
    assert skip.skip_message.startswith("Tick for 2026-11-30T02:30:00+00:00 evaluated 2:01:00 late, past the 2:00:00 expiry")
    [alert] = webhook.received
    assert alert["event"] == "schedule_tick_skipped"
    assert alert["scheduled_for"] == "2026-11-30T02:30:00+00:00"
    assert alert["what_happened"] == f"the nightly recalculation was skipped: {skip.skip_message}"


def test_the_schedule_is_nightly_in_utc_and_running_by_default():
    assert recalculate_cpu_metrics_nightly.cron_schedule == "30 2 * * *"
    assert recalculate_cpu_metrics_nightly.execution_timezone == "UTC"
    assert recalculate_cpu_metrics_nightly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert recalculate_cpu_metrics_nightly.job_name == "recalculate_cpu_metrics"
