"""`cpu-pipeline health`'s findings on a real instance: every sensor's and schedule's last tick, and a
running one that has failed its last ticks (CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT) makes it unhealthy.
The daemon and the freshness are tested on a served stack (test_freshness.py)."""

import re
import time

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType
from dagster._daemon.types import DaemonHeartbeat

from cpu_pipeline.defs.alerts.staleness import WRITE_BACK
from cpu_pipeline.ops.health import check_health
from cpu_pipeline_tests.sensor_ticks import FAILED, PROBE_ERROR, SKIPPED, SUCCESS, Instigator

WINDOW = 3600


@pytest.fixture
def instance():
    """An instance whose daemon beats and whose cpu table was just written back: healthy but for the ticks."""
    with dg.instance_for_test() as instance:
        for daemon in instance.get_required_daemon_types():
            instance.add_daemon_heartbeat(DaemonHeartbeat(time.time(), daemon, "test-daemon", errors=[]))
        instance.report_runless_asset_event(dg.AssetMaterialization(WRITE_BACK))
        yield instance


def test_every_sensors_and_schedules_last_tick_is_reported_and_a_single_failure_is_healthy(instance):
    Instigator(instance, "recalculate_cpu_metrics_nightly", kind=InstigatorType.SCHEDULE).ticks(SUCCESS)
    Instigator(instance, "recalculate_on_listing_change").ticks(SUCCESS, FAILED)
    Instigator(instance, "alert_on_failed_run")  # not ticked yet
    found = check_health(instance, WINDOW)
    assert found.healthy, found.problems
    line = found.line()
    assert line.startswith("OK: daemon heartbeat ")
    # Schedules, then sensors, each by name; an age as h:mm:ss.
    last_ticks = line.partition("; last ticks: ")[2]
    assert re.fullmatch(
        r"recalculate_cpu_metrics_nightly SUCCESS \d+:\d\d:\d\d ago, alert_on_failed_run none, "
        r"recalculate_on_listing_change FAILURE \d+:\d\d:\d\d ago",
        last_ticks,
    ), last_ticks
    ticks = {tick["name"]: tick for tick in found.as_json()["ticks"]}
    assert ticks["recalculate_on_listing_change"] | {"last_tick": None} == {
        "name": "recalculate_on_listing_change",
        "type": "sensor",
        "running": True,
        "last_status": "FAILURE",
        "last_tick": None,
        "failures_in_a_row": 1,
        "last_error": PROBE_ERROR,
    }
    assert ticks["recalculate_on_listing_change"]["last_tick"].endswith("+00:00")
    assert (ticks["recalculate_cpu_metrics_nightly"]["type"], ticks["alert_on_failed_run"]["last_status"]) == ("schedule", None)


def test_a_sensor_failing_its_last_ticks_is_unhealthy_until_it_ticks_again(instance):
    probe = Instigator(instance, "recalculate_on_listing_change")
    probe.ticks(FAILED, FAILED, FAILED)
    found = check_health(instance, WINDOW, tick_failures=3)
    assert not found.healthy
    assert found.problems == [f"the sensor recalculate_on_listing_change has failed its last 3 ticks (last error: {PROBE_ERROR})"]
    assert found.line().startswith("FAIL: the sensor recalculate_on_listing_change has failed its last 3 ticks")
    assert check_health(instance, WINDOW, tick_failures=4).healthy  # the count is CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT
    probe.ticks(SKIPPED)
    assert check_health(instance, WINDOW, tick_failures=3).healthy


def test_a_stopped_sensor_that_failed_is_reported_but_not_unhealthy(instance):
    stopped = Instigator(instance, "recalculate_on_listing_change")
    stopped.ticks(FAILED, FAILED, FAILED)
    stopped.stop()  # an operator stopped it: nothing is expected of it
    found = check_health(instance, WINDOW, tick_failures=3)
    assert found.healthy
    assert found.as_json()["ticks"][0]["running"] is False
