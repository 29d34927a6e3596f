from datetime import datetime, timedelta, timezone

import dagster as dg

from cpu_pipeline.defs.recalculation.schedules import recalculate_cpu_metrics_nightly


def _evaluate(late_by: timedelta):
    scheduled = datetime.now(timezone.utc).replace(microsecond=0) - late_by
    return recalculate_cpu_metrics_nightly(dg.build_schedule_context(scheduled_execution_time=scheduled))


def test_an_on_time_tick_requests_a_run():
    request = _evaluate(timedelta(seconds=5))
    assert isinstance(request, dg.RunRequest)
    assert "cpu_pipeline/scheduled_for" in request.tags


def test_a_tick_just_inside_the_expiry_still_runs():
    assert isinstance(_evaluate(timedelta(hours=1, minutes=59)), dg.RunRequest)


def test_a_tick_more_than_two_hours_late_requests_nothing_and_says_why():
    skip = _evaluate(timedelta(hours=2, minutes=1))
    assert isinstance(skip, dg.SkipReason)
    assert "late" in skip.skip_message and "expiry" in skip.skip_message


def test_the_schedule_is_nightly_in_utc_and_running_by_default():
    assert recalculate_cpu_metrics_nightly.cron_schedule == "30 2 * * *"
    assert recalculate_cpu_metrics_nightly.execution_timezone == "UTC"
    assert recalculate_cpu_metrics_nightly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert recalculate_cpu_metrics_nightly.job_name == "recalculate_cpu_metrics"
