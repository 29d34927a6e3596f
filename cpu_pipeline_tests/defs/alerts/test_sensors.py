import dagster as dg
import pytest
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG, ROOT_RUN_ID_TAG, WILL_RETRY_TAG

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


# --- a run Dagster will retry ----------------------------------------------------------------------

# The production instance's run retries (instances/production/dagster.yaml): a crash is retried once,
# a failure on the data is not.
PRODUCTION_RETRIES = {"run_retries": {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}}
CRASHED = JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)


def _retry_of(instance: dg.DagsterInstance, failed: dg.DagsterRun) -> dg.DagsterRun:
    """The run Dagster's retry daemon launches for `failed` (auto_run_reexecution.py): in its run group
    (the tags `create_reexecuted_run` gives it), tagged with its retry number."""
    job = REPOSITORY.get_job("recalculate_cpu_metrics")
    group = {PARENT_RUN_ID_TAG: failed.run_id, ROOT_RUN_ID_TAG: failed.run_id}
    return instance.create_run_for_job(
        job, parent_run_id=failed.run_id, root_run_id=failed.run_id, tags={**group, RETRY_NUMBER_TAG: "1"}
    )


def _succeeded(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    event = dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name)
    instance.report_dagster_event(event, run_id=run.run_id)


@pytest.mark.parametrize("retry_outcome", ["fails", "succeeds"])
def test_a_crashed_run_that_will_be_retried_alerts_only_when_its_retry_fails(webhook, retry_outcome):
    job = REPOSITORY.get_job("recalculate_cpu_metrics")
    with dg.instance_for_test(overrides=PRODUCTION_RETRIES) as instance:
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        first = instance.create_run_for_job(job, asset_selection=None)
        instance.report_run_failed(first, message="run worker crashed", job_failure_data=CRASHED)
        assert instance.get_run_by_id(first.run_id).tags[WILL_RETRY_TAG] == "true"  # as Dagster sets it
        ticks.tick()
        assert webhook.received == []
        retry = _retry_of(instance, first)
        if retry_outcome == "fails":
            instance.report_run_failed(retry, message="run worker crashed again", job_failure_data=CRASHED)
            assert instance.get_run_by_id(retry.run_id).tags[WILL_RETRY_TAG] == "false"  # its last retry
        else:
            _succeeded(instance, retry)
        ticks.tick()
        ticks.tick()
    if retry_outcome == "succeeds":
        assert webhook.received == []
    else:
        [alert] = webhook.received
        fields = (alert["event"], alert["run_id"], alert["retry_number"], alert["first_run_id"])
        assert fields == ("run_failed", retry.run_id, 1, first.run_id)
        assert f"on its retry 1 (the first attempt: run {first.run_id[:8]})" in alert["text"]


def test_a_failure_read_before_dagster_tags_it_is_judged_as_the_retry_daemon_would(webhook, tmp_path):
    # The sensor reads the failure between the event and the tag Dagster adds after it: the run is stored
    # by an instance without run retries (no tag), and read by one with them, on the same storage.
    job = REPOSITORY.get_job("recalculate_cpu_metrics")
    with (
        dg.instance_for_test(temp_dir=str(tmp_path)) as writer,
        dg.instance_for_test(temp_dir=str(tmp_path), overrides=PRODUCTION_RETRIES) as instance,
    ):
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        crashed, on_its_data = (writer.create_run_for_job(job, asset_selection=None) for _ in range(2))
        writer.report_run_failed(crashed, message="run worker crashed", job_failure_data=CRASHED)
        step_failure = JobFailureData(error=None, failure_reason=RunFailureReason.STEP_FAILURE)
        writer.report_run_failed(on_its_data, message="a step failed", job_failure_data=step_failure)
        assert WILL_RETRY_TAG not in instance.get_run_by_id(crashed.run_id).tags
        ticks.tick()  # a run the sensor skips ends its tick (Dagster's run status sensor): the next one goes on
        ticks.tick()
    # The crash will be retried (max_retries 1): no alert; a failure on the data is not retried: one.
    assert [alert["run_id"] for alert in webhook.received] == [on_its_data.run_id]


def test_a_run_failed_on_its_data_with_run_retries_on_alerts_at_once(sqlite_url, webhook):
    _catalogue(sqlite_url, invalid=5)  # the error gate fails the run: retrying would fail it again
    with dg.instance_for_test(overrides=PRODUCTION_RETRIES) as instance:
        ticks = _alerts_for(alert_on_failed_run, instance, AlertWebhook(url=webhook.url))
        result = materialize(sqlite_url, instance=instance)
        assert instance.get_run_by_id(result.run_id).tags[WILL_RETRY_TAG] == "false"
        ticks.tick()
    [alert] = webhook.received
    assert (alert["event"], alert["run_id"]) == ("error_rate_failed", result.run_id)
