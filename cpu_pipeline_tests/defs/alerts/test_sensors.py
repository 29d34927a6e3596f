import dagster as dg
import pytest

from cpu_pipeline.defs.alerts.resources import AlertWebhook
from cpu_pipeline.defs.alerts.sensors import alert_on_error_rate_warning, alert_on_failed_run
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for
from cpu_pipeline_tests.materialize import materialize


def _catalogue(url: str, invalid: int, total: int = 20) -> None:
    cpus = [cpu(i, multi=-1 if i <= invalid else 5_000 + i) for i in range(1, total + 1)]
    catalogues.write(url, cpus, [row for i in range(1, total + 1) for row in listings_for(i, [100 + i, 110 + i])])


def _failure_context(result, instance, webhook_resource):
    [failure] = [event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE] or [
        event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_failed_run",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_webhook": webhook_resource},
    ).for_run_failure()


def _success_context(result, instance, webhook_resource):
    [success] = [event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_SUCCESS]
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_error_rate_warning",
        dagster_event=success,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_webhook": webhook_resource},
    )


def test_a_quarter_of_cpus_in_error_sends_the_failure_alert(sqlite_url, webhook):
    _catalogue(sqlite_url, invalid=5)
    with dg.instance_for_test() as instance:
        result = materialize(sqlite_url, instance=instance)
        assert not result.success
        resource = AlertWebhook(url=webhook.url, ui_base_url="http://dagster.example:3000")
        alert_on_failed_run(_failure_context(result, instance, resource))
    [alert] = webhook.received
    assert alert["event"] == "error_rate_failed"
    assert alert["run_id"] == result.run_id
    assert alert["error_rate"] == 0.25
    assert (alert["cpus_in_error"], alert["cpus_total"]) == (5, 20)
    assert alert["run_url"] == f"http://dagster.example:3000/runs/{result.run_id}"
    assert "25.0%" in alert["text"] and alert["run_url"] in alert["text"]


def test_a_warning_error_rate_sends_the_warning_alert_after_a_successful_run(sqlite_url, webhook):
    _catalogue(sqlite_url, invalid=1)  # 5%: above 2%, below 10%
    with dg.instance_for_test() as instance:
        result = materialize(sqlite_url, instance=instance)
        assert result.success
        alert_on_error_rate_warning(_success_context(result, instance, AlertWebhook(url=webhook.url)))
    [alert] = webhook.received
    assert alert["event"] == "error_rate_warning"
    assert alert["error_rate"] == 0.05


def test_a_clean_run_sends_nothing(sqlite_url, webhook):
    _catalogue(sqlite_url, invalid=0)
    with dg.instance_for_test() as instance:
        result = materialize(sqlite_url, instance=instance)
        alert_on_error_rate_warning(_success_context(result, instance, AlertWebhook(url=webhook.url)))
    assert webhook.received == []


def test_a_run_that_cannot_reach_its_database_sends_run_failed(webhook, tmp_path):
    with dg.instance_for_test() as instance:
        result = materialize("postgresql://postgres@127.0.0.1:1/nowhere", instance=instance)
        assert not result.success
        alert_on_failed_run(_failure_context(result, instance, AlertWebhook(url=webhook.url)))
    [alert] = webhook.received
    assert alert["event"] == "run_failed"
    assert "error_rate" not in alert


@pytest.mark.parametrize("answer", [500, "down"])
def test_a_failing_webhook_is_logged_and_never_raises(sqlite_url, webhook, answer):
    _catalogue(sqlite_url, invalid=5)
    url = webhook.url
    if answer == "down":
        webhook.shutdown()
        webhook.server_close()
    else:
        webhook.status = answer
    resource = AlertWebhook(url=url, timeout_seconds=2)
    with dg.instance_for_test() as instance:
        result = materialize(sqlite_url, instance=instance)
        alert_on_failed_run(_failure_context(result, instance, resource))  # does not raise
    log = _ListLog()
    assert resource.send({"text": "probe"}, log) is False
    assert "webhook at 127.0.0.1" in log.lines[-1] and "failed" in log.lines[-1]
    assert "secret-token" not in " ".join(log.lines)


class _ListLog:
    def __init__(self):
        self.lines = []

    def error(self, message):
        self.lines.append(message)

    warning = error
