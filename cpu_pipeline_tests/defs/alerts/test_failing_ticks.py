"""`alert_on_failing_ticks`: one alert per streak of failed ticks, `recovered` when the streak ends, on a
real instance whose instigator states and ticks are stored as the daemon stores them."""

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType

from cpu_pipeline import settings
from cpu_pipeline.defs.alerts.failing_ticks import SENSOR_NAME, alert_on_failing_ticks
from cpu_pipeline.defs.alerts.resources import AlertWebhook
from cpu_pipeline_tests.sensor_ticks import FAILED, PROBE_ERROR, SKIPPED, SUCCESS, Instigator, SensorTicks


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def _watcher(instance, webhook) -> SensorTicks:
    return SensorTicks(alert_on_failing_ticks, instance, {"alert_webhook": AlertWebhook(url=webhook.url)})


def _events(webhook) -> list[tuple[str, str]]:
    return [(alert["event"], alert["instigator"]) for alert in webhook.received]


def test_three_failed_ticks_in_a_row_alert_once_and_a_good_tick_says_recovered(instance, webhook):
    probe = Instigator(instance, "recalculate_on_listing_change")
    watcher = _watcher(instance, webhook)
    probe.ticks(SUCCESS, FAILED, FAILED)
    watcher.tick()
    assert webhook.received == []  # two: not yet
    probe.ticks(FAILED)
    watcher.tick()
    probe.ticks(FAILED, FAILED)
    watcher.tick()  # the same streak: no second alert
    probe.ticks(SKIPPED)  # it ran, with nothing to do: no error
    watcher.tick()
    watcher.tick()
    assert _events(webhook) == [
        ("ticks_failing", "recalculate_on_listing_change"),
        ("recovered", "recalculate_on_listing_change"),
    ]
    failing, recovered = webhook.received
    assert "the sensor recalculate_on_listing_change has failed 3 ticks in a row" in failing["text"]
    assert f"(last error: {PROBE_ERROR})" in failing["text"]
    assert failing["instigator_type"] == "sensor" and failing["text"].startswith(":rotating_light:")
    assert recovered["text"].startswith(":white_check_mark:")


def test_a_schedule_failing_three_nights_alerts_and_the_count_is_a_setting(instance, webhook, monkeypatch):
    nightly = Instigator(instance, "recalculate_cpu_metrics_nightly", kind=InstigatorType.SCHEDULE)
    watcher = _watcher(instance, webhook)
    monkeypatch.setenv("CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT", "2")
    settings.current.cache_clear()
    try:
        nightly.ticks(FAILED, FAILED)
        watcher.tick()
    finally:
        settings.current.cache_clear()
    [alert] = webhook.received
    assert (alert["event"], alert["instigator_type"]) == ("ticks_failing", "schedule")
    assert "the schedule recalculate_cpu_metrics_nightly has failed 2 ticks in a row" in alert["text"]


def test_a_streak_that_ended_and_a_new_one_between_two_looks_says_both(instance, webhook):
    probe = Instigator(instance, "recalculate_on_listing_change")
    watcher = _watcher(instance, webhook)
    probe.ticks(FAILED, FAILED, FAILED)
    watcher.tick()
    probe.ticks(SUCCESS, FAILED, FAILED, FAILED)  # e.g. while the daemon ran without this sensor's code location
    watcher.tick()
    assert [event for event, _ in _events(webhook)] == ["ticks_failing", "recovered", "ticks_failing"]


def test_the_watcher_watches_neither_itself_nor_other_code_locations_nor_stopped_sensors(instance, webhook):
    itself = Instigator(instance, SENSOR_NAME)
    elsewhere = Instigator(instance, "recalculate_on_listing_change", repository="another_repository")
    stopped = Instigator(instance, "alert_on_overdue_recalculation")
    stopped.stop()
    watcher = _watcher(instance, webhook)
    for instigator in (itself, elsewhere, stopped):
        instigator.ticks(FAILED, FAILED, FAILED, FAILED)
    watcher.tick()
    itself.ticks(SUCCESS)
    watcher.tick()
    assert webhook.received == []


def test_an_alert_the_webhook_did_not_take_is_sent_at_the_next_look_and_only_once(instance, webhook):
    probe = Instigator(instance, "recalculate_on_listing_change")
    watcher = _watcher(instance, webhook)
    probe.ticks(FAILED, FAILED, FAILED)
    webhook.status = 500
    watcher.tick()
    webhook.status = 200
    watcher.tick()
    watcher.tick()
    assert _events(webhook) == [("ticks_failing", "recalculate_on_listing_change")] * 2  # the refused one, then the taken one
