import dagster as dg
import pytest

from cpu_pipeline.defs.alerts.resources import AlertWebhook
from cpu_pipeline.defs.alerts.sensors import alert_on_error_rate_warning, alert_on_failed_run
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for
from cpu_pipeline_tests.materialize import materialize
from cpu_pipeline_tests.sensor_ticks import REPOSITORY, SensorTicks


def _catalogue(url: str, invalid: int, total: int = 20) -> None:
    cpus = [cpu(i, multi=-1 if i <= invalid else 5_000 + i) for i in range(1, total + 1)]
    catalogues.write(url, cpus, [row for i in range(1, total + 1) for row in listings_for(i, [100 + i, 110 + i])])


def _alerts_for(sensor, instance, resource) -> SensorTicks:
    return SensorTicks(sensor, instance, {"alert_webhook": resource})


def test_a_quarter_of_cpus_in_error_sends_the_failure_alert(sqlite_url, webhook):
    _catalogue(sqlite_url, invalid=5)
    with dg.instance_for_test() as instance:
        resource = AlertWebhook(url=webhook.url, ui_base_url="http://dagster.example:3000")
        ticks = _alerts_for(alert_on_failed_run, instance, resource)
        result = materialize(sqlite_url, instance=instance)  # in process: a run of no code location
        assert not result.success
        ticks.tick()
        ticks.tick()  # a later tick reads past the failure: never a second alert for it
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
        ticks = _alerts_for(alert_on_error_rate_warning, instance, AlertWebhook(url=webhook.url))
        result = materialize(sqlite_url, instance=instance)
        assert result.success
        ticks.tick()
    [alert] = webhook.received
    assert alert["event"] == "error_rate_warning"
    assert alert["error_rate"] == 0.05


def test_a_clean_run_sends_nothing(sqlite_url, webhook):
    _catalogue(sqlite_url, invalid=0)
    with dg.instance_for_test() as instance:
        ticks = _alerts_for(alert_on_error_rate_warning, instance, AlertWebhook(url=webhook.url))
        assert materialize(sqlite_url, instance=instance).success
        ticks.tick()
    assert webhook.received == []


def test_a_run_that_cannot_reach_its_database_sends_run_failed(webhook, tmp_path):
    with dg.instance_for_test() as instance:
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        result = materialize("postgresql://postgres@127.0.0.1:1/nowhere", instance=instance)
        assert not result.success
        ticks.tick()
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
        ticks = _alerts_for(alert_on_failed_run, instance, resource)
        materialize(sqlite_url, instance=instance)
        [reaction] = ticks.tick().dagster_run_reactions
    assert reaction.error is None  # the sensor did not raise
    log = _ListLog()
    assert resource.send({"text": "probe"}, log) is False
    assert "webhook at 127.0.0.1" in log.lines[-1] and "failed" in log.lines[-1]
    assert "secret-token" not in " ".join(log.lines)


def test_a_failed_run_of_no_asset_of_the_code_location_sends_nothing(webhook):
    @dg.op
    def fails():
        raise RuntimeError("another team's job")

    @dg.job
    def elsewhere():
        fails()

    with dg.instance_for_test() as instance:
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        assert not elsewhere.execute_in_process(instance=instance, raise_on_error=False).success
        assert "targets none of this code location's assets" in ticks.tick().skip_message
    assert webhook.received == []


def test_a_failed_storage_maintenance_sends_run_failed(webhook, monkeypatch):
    from cpu_pipeline.definitions import defs
    from cpu_pipeline.ops import maintenance

    def fails(*args, **kwargs):
        raise RuntimeError("storage unreachable")

    monkeypatch.setattr(maintenance, "delete_old_runs", fails)
    with dg.instance_for_test() as instance:
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        result = defs.resolve_job_def("delete_old_runs").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        ticks.tick()
    [alert] = webhook.received
    assert (alert["event"], alert["job"], alert["run_id"]) == ("run_failed", "delete_old_runs", result.run_id)


class _ListLog:
    def __init__(self):
        self.lines = []

    def error(self, message):
        self.lines.append(message)

    warning = error


def test_a_canceled_run_sends_no_failure_alert_and_a_failed_one_does(webhook):
    # As `make serve` leaves a run it stopped (in_flight_runs.py), and as run monitoring leaves one whose worker died.
    job = REPOSITORY.get_job("recalculate_cpu_metrics")
    with dg.instance_for_test() as instance:
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        canceled, failed = (instance.create_run_for_job(job, asset_selection=None) for _ in range(2))
        instance.report_run_canceled(canceled, message="Canceled as `make serve` stopped")
        instance.report_run_failed(failed, message="interrupted unexpectedly")
        ticks.tick()
        ticks.tick()
    assert [alert["run_id"] for alert in webhook.received] == [failed.run_id]
