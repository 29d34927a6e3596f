"""Bounded storage: which runs go (a pure selection), and the job deleting them on a real instance whose
storage is in PostgreSQL, with their events and compute logs, keeping the latest materialisations."""

import contextlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from cpu_pipeline.definitions import defs
from cpu_pipeline.ops import maintenance
from cpu_pipeline.ops.maintenance import RunAge, runs_to_delete

NOW = datetime(2026, 6, 1, 4, 15, tzinfo=UTC)
DAY = 86400.0


def _age(run_id: str, status: dg.DagsterRunStatus, days_old: float) -> RunAge:
    return RunAge(run_id, status, NOW.timestamp() - days_old * DAY)


def test_finished_runs_older_than_the_cutoff_go_unless_protected():
    runs = [
        _age("old-success", dg.DagsterRunStatus.SUCCESS, 40),
        _age("old-failure", dg.DagsterRunStatus.FAILURE, 31),
        _age("old-canceled", dg.DagsterRunStatus.CANCELED, 365),
        _age("recent", dg.DagsterRunStatus.SUCCESS, 29),
        _age("latest-materialization", dg.DagsterRunStatus.SUCCESS, 90),
        _age("old-queued", dg.DagsterRunStatus.QUEUED, 40),
        _age("old-started", dg.DagsterRunStatus.STARTED, 40),
        _age("old-canceling", dg.DagsterRunStatus.CANCELING, 40),
        _age("old-not-started", dg.DagsterRunStatus.NOT_STARTED, 40),
    ]
    cutoff = NOW.timestamp() - 30 * DAY
    assert runs_to_delete(runs, cutoff, {"latest-materialization"}) == ["old-success", "old-failure", "old-canceled"]


def test_a_run_created_exactly_at_the_cutoff_is_kept_and_nothing_is_selected_from_nothing():
    cutoff = NOW.timestamp() - 30 * DAY
    assert runs_to_delete([_age("edge", dg.DagsterRunStatus.SUCCESS, 30)], cutoff, set()) == []
    assert runs_to_delete([], cutoff, set()) == []


# --- on a real instance -----------------------------------------------------------------------------


@dg.asset
def gadget() -> int:
    print("gadget computed: a line for the compute logs")
    return 1


@dg.asset_check(asset=gadget)
def gadget_is_one() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset
def widget() -> int:
    print("widget computed")
    return 2


@dg.op
def breaks() -> None:
    print("about to fail")
    raise RuntimeError("broken on purpose")


@dg.job
def broken() -> None:
    breaks()


@contextlib.contextmanager
def postgres_instance(postgres_url: str, home: Path):
    """A Dagster instance whose run, event-log and schedule storage is the database at `postgres_url`,
    its compute logs under `home`, as the production instance keeps them."""
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  postgres:\n    postgres_url: {postgres_url}\ntelemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


def _make_old(postgres_url: str, run_id: str, days: float) -> None:
    """Move the run's creation `days` before now, as if it had been made then."""
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE runs SET create_timestamp = create_timestamp - :days * interval '1 day' WHERE run_id = :id"),
                {"days": days, "id": run_id},
            )
    finally:
        engine.dispose()


def _unfinished_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> str:
    """A run that has not finished (a queued run needs a code location's origin: a starting one stands for it)."""
    return instance.add_run(dg.DagsterRun(job_name="unfinished", run_id=str(uuid.uuid4()), status=status)).run_id


def _run_folder(home: Path, run_id: str) -> Path:
    return home / "storage" / run_id


def test_the_job_deletes_old_runs_with_their_events_and_logs_and_keeps_the_latest_and_the_recent(postgres_url, tmp_path):
    home = tmp_path / "dagster_home"
    with postgres_instance(postgres_url, home) as instance:
        first_gadget = dg.materialize([gadget, gadget_is_one], instance=instance).run_id
        latest_gadget = dg.materialize([gadget, gadget_is_one], instance=instance).run_id
        failed = broken.execute_in_process(instance=instance, raise_on_error=False).run_id
        recent_widget = dg.materialize([widget], instance=instance).run_id
        starting = _unfinished_run(instance, dg.DagsterRunStatus.STARTING)
        for run_id in (first_gadget, latest_gadget, failed, starting):
            _make_old(postgres_url, run_id, 45)

        doomed = (first_gadget, failed)
        events = {run_id: len(instance.all_logs(run_id)) for run_id in doomed}
        log_bytes = {run_id: maintenance.compute_log_bytes(instance, run_id) for run_id in doomed}
        assert all(events.values()) and all(log_bytes.values())  # they had something to delete
        assert all(_run_folder(home, run_id).is_dir() for run_id in (*doomed, latest_gadget, recent_widget))

        result = defs.resolve_job_def("delete_old_runs").execute_in_process(instance=instance)
        assert result.success

        for run_id in doomed:
            assert instance.get_run_by_id(run_id) is None
            assert instance.all_logs(run_id) == []
            assert not _run_folder(home, run_id).exists()
        [check] = _check_history(instance)  # the first run's evaluation went with it; the latest stays
        assert check.run_id == latest_gadget
        for run_id in (latest_gadget, recent_widget, starting, result.run_id):
            assert instance.get_run_by_id(run_id) is not None
        for run_id in (latest_gadget, recent_widget):
            assert instance.all_logs(run_id) and _run_folder(home, run_id).is_dir()
        assert instance.get_latest_materialization_event(gadget.key).run_id == latest_gadget

        # What it removed is the step's output metadata, shown on the run in the UI.
        [output] = [event for event in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)]
        metadata = {key: value.value for key, value in output.dagster_event.event_specific_data.metadata.items()}
        assert metadata == {
            "retention_days": 30,
            "runs_deleted": 2,
            "events_deleted": sum(events.values()),
            "check_executions_deleted": 1,
            "compute_log_bytes_deleted": sum(log_bytes.values()),
            "old_runs_kept_as_latest": 1,
        }

        # A second pass finds nothing more to delete, and keeps its own run and the first pass's.
        again = defs.resolve_job_def("delete_old_runs").execute_in_process(instance=instance)
        assert again.success and instance.get_run_by_id(result.run_id) is not None
        [output] = [event for event in instance.all_logs(again.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)]
        assert output.dagster_event.event_specific_data.metadata["runs_deleted"].value == 0


def _check_history(instance: dg.DagsterInstance) -> list:
    return list(instance.event_log_storage.get_asset_check_execution_history(gadget_is_one.check_key, limit=10))


def test_an_old_run_holding_a_checks_latest_evaluation_is_kept_with_it(postgres_url, tmp_path):
    with postgres_instance(postgres_url, tmp_path / "dagster_home") as instance:
        checked = dg.materialize([gadget, gadget_is_one], instance=instance).run_id
        unchecked = dg.materialize([gadget], instance=instance).run_id  # the latest materialisation, no check
        for run_id in (checked, unchecked):
            _make_old(postgres_url, run_id, 60)
        removed = maintenance.delete_old_runs(instance, datetime.now(UTC), 30)
        assert (removed.runs, removed.kept_latest) == (0, 2)
        assert [execution.run_id for execution in _check_history(instance)] == [checked]


def test_a_pass_never_deletes_the_run_it_is_told_to_keep_nor_a_run_in_progress(postgres_url, tmp_path):
    with postgres_instance(postgres_url, tmp_path / "dagster_home") as instance:
        old = dg.materialize([widget], instance=instance).run_id
        older = dg.materialize([widget], instance=instance).run_id  # latest of widget, but kept by `keep` too
        started = _unfinished_run(instance, dg.DagsterRunStatus.STARTED)
        for run_id in (old, older, started):
            _make_old(postgres_url, run_id, 400)
        removed = maintenance.delete_old_runs(instance, datetime.now(UTC), 30, keep={old})
        assert (removed.runs, removed.kept_latest) == (0, 1)
        assert all(instance.get_run_by_id(run_id) for run_id in (old, older, started))


@pytest.mark.parametrize("days", [1, 7])
def test_a_retention_of_days_deletes_runs_older_than_that_many_days(postgres_url, tmp_path, days):
    with postgres_instance(postgres_url, tmp_path / "dagster_home") as instance:
        older, newer, latest = (dg.materialize([gadget], instance=instance).run_id for _ in range(3))
        _make_old(postgres_url, older, days + 0.01)
        _make_old(postgres_url, newer, days - 0.01)
        removed = maintenance.delete_old_runs(instance, datetime.now(UTC), days)
        assert removed.runs == 1
        assert instance.get_run_by_id(older) is None
        assert instance.get_run_by_id(newer) and instance.get_run_by_id(latest)


def test_the_maintenance_run_wakes_none_of_the_run_status_sensors(tmp_path):
    from cpu_pipeline.defs.alerts.resources import AlertWebhook
    from cpu_pipeline.defs.alerts.sensors import alert_on_error_rate_warning
    from cpu_pipeline.defs.price_history.sensors import snapshot_after_recalculation
    from cpu_pipeline_tests.sensor_ticks import SensorTicks

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        snapshot = SensorTicks(snapshot_after_recalculation, instance, {})
        warning = SensorTicks(alert_on_error_rate_warning, instance, {"alert_webhook": AlertWebhook()})
        assert defs.resolve_job_def("delete_old_runs").execute_in_process(instance=instance).success
        assert snapshot.tick().run_requests == []
        assert warning.tick().run_requests == []


def test_the_maintenance_job_runs_outside_the_recalculations_pool():
    job = defs.resolve_job_def("delete_old_runs")
    assert [node.definition.pool for node in job.graph.node_dict.values()] == [None]
    assert not job.asset_layer.executable_asset_keys
    assert defs.resolve_schedule_def("delete_old_runs_daily").default_status == dg.DefaultScheduleStatus.RUNNING


# --- tick retention: the instances' `retention:` block ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SENSOR_TICKS_KEPT = {"STARTED": 30, "SKIPPED": 1, "SUCCESS": 30, "FAILURE": 30}
SCHEDULE_TICKS_KEPT = dict.fromkeys(SENSOR_TICKS_KEPT, 90)


@pytest.mark.parametrize("instance_file", ["dagster.yaml", "instances/production/dagster.yaml"])
def test_both_instances_load_with_the_tick_retention_the_daemon_applies(instance_file, postgres_url, tmp_path, monkeypatch):
    from dagster._core.definitions.run_request import InstigatorType

    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)  # read by the production instance only
    (tmp_path / "dagster.yaml").symlink_to(ROOT / instance_file)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        # What the sensor daemon and the scheduler read before purging a sensor's or a schedule's ticks.
        kept = {
            kind: {status.value: days for status, days in instance.get_tick_retention_settings(kind).items()}
            for kind in (InstigatorType.SENSOR, InstigatorType.SCHEDULE)
        }
    finally:
        instance.dispose()
    assert kept == {InstigatorType.SENSOR: SENSOR_TICKS_KEPT, InstigatorType.SCHEDULE: SCHEDULE_TICKS_KEPT}
