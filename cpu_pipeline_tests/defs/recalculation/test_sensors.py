import sys

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from cpu_pipeline.database import demo_catalogue
from cpu_pipeline.definitions import defs
from cpu_pipeline.defs.deal_brain.assets import LISTING
from cpu_pipeline.defs.recalculation.sensors import LISTING_CHANGE_TAG, UNFINISHED, recalculate_on_listing_change
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline_tests.sensor_ticks import SensorTicks
from cpu_pipeline_tests.test_definitions import EXPECTED_DEPENDENCIES

JOB = "recalculate_cpu_metrics"


def _evaluate(url: str, cursor: str | None, now: str):
    """One evaluation at `now`, on an instance with no runs."""
    resources = {"app_database": AppDatabase(url=url), "clock": Clock(fixed_now=now)}
    with dg.build_sensor_context(cursor=cursor, resources=resources, instance=dg.DagsterInstance.ephemeral()) as context:
        return recalculate_on_listing_change(context), context.cursor


def _ticks(url: str, instance: dg.DagsterInstance) -> SensorTicks:
    """The sensor evaluated tick after tick on `instance`, on the real clock."""
    return SensorTicks(recalculate_on_listing_change, instance, {"app_database": AppDatabase(url=url), "clock": Clock()})


def _catalogue(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(10, 100, seed=5))
    return engine


def _change_listing(engine: sa.Engine, price: float) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE listing SET adjusted_price_usd = :price WHERE id = 1"), {"price": price})


def _run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, job: str = JOB, assets: list[str] | None = None):
    """A run of the code location's `job` (of `assets` only, if given) in `status`, as the daemon or the
    UI creates it: with its code location's origin (Dagster queues only such a run) and its planned assets."""
    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name="cpu_pipeline.definitions"),
        location_name="cpu_pipeline.definitions",
    )
    origin = RemoteRepositoryOrigin(location, "__repository__").get_job_origin(job)
    selection = {dg.AssetKey(name) for name in assets} if assets else None
    job_def = defs.resolve_job_def(job)
    if selection:
        job_def = job_def.get_subset(asset_selection=selection)
    return instance.create_run_for_job(job_def, status=status, asset_selection=selection, remote_job_origin=origin)


def test_a_change_requests_one_run_of_the_job_once_settled_tagged_with_its_signal(sqlite_url):
    engine = _catalogue(sqlite_url)
    result, cursor = _evaluate(sqlite_url, None, "2026-11-30T10:00:00")
    assert result is None  # the first evaluation takes a baseline
    _change_listing(engine, 1.5)
    result, cursor = _evaluate(sqlite_url, cursor, "2026-11-30T10:00:30")
    assert result is None  # changed: wait one interval for it to settle
    result, cursor = _evaluate(sqlite_url, cursor, "2026-11-30T10:01:00")
    [request] = result.run_requests
    assert request.run_key == f"1:{request.tags[LISTING_CHANGE_TAG]}"  # numbered: a signal can come back
    assert "price_total=" in request.run_key
    assert _evaluate(sqlite_url, cursor, "2026-11-30T10:01:30")[0] is None  # nothing new: no second run
    assert recalculate_on_listing_change.job_name == "recalculate_cpu_metrics"
    assert recalculate_on_listing_change.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_change_acted_on_is_an_observation_of_the_listing_table_versioned_by_its_signal(sqlite_url):
    engine = _catalogue(sqlite_url)
    with dg.instance_for_test() as instance:
        ticks = _ticks(sqlite_url, instance)
        assert ticks.tick().asset_events == []  # nothing changed: nothing observed
        _change_listing(engine, 1.5)
        ticks.tick()  # the change seen, settling: not yet acted on
        tick = ticks.tick()
    [request] = tick.run_requests
    [observation] = tick.asset_events
    assert isinstance(observation, dg.AssetObservation)
    assert observation.asset_key == LISTING.key == dg.AssetKey(["deal_brain", "listing"])
    assert observation.data_version == request.tags[LISTING_CHANGE_TAG]
    assert observation.metadata["run_key"] == dg.TextMetadataValue(request.run_key)


@pytest.mark.parametrize("status", UNFINISHED, ids=lambda status: status.value)
def test_no_run_while_one_is_queued_or_in_progress_and_one_after_it_for_a_change_made_during_it(sqlite_url, status):
    engine = _catalogue(sqlite_url)
    with dg.instance_for_test() as instance:
        ticks = _ticks(sqlite_url, instance)
        # A recalculation queued or running (the nightly one, or one this sensor requested): whatever it
        # read, a change made now may come after its read.
        run = _run(instance, status)
        assert run.status == status
        _change_listing(engine, 1.5)
        _change_listing(engine, 2.5)
        held = [ticks.tick() for _ in range(3)]  # long enough to have settled
        instance.report_run_canceled(run)
        after = ticks.tick()
        assert ticks.tick().run_requests == []  # one run catches every change made during the other
    assert [tick.run_requests for tick in held] == [[], [], []]
    assert [tick.asset_events for tick in held] == [[], [], []]
    assert f"recalculation run {run.run_id} ({JOB}) is {status.value.lower()}" in held[-1].skip_message
    [request] = after.run_requests
    assert after.asset_events[0].data_version == request.tags[LISTING_CHANGE_TAG]


def test_materialize_all_holds_the_change_back_and_a_run_that_writes_nothing_back_does_not(sqlite_url):
    engine = _catalogue(sqlite_url)
    with dg.instance_for_test() as instance:
        ticks = _ticks(sqlite_url, instance)
        # "Materialize all" in the UI: Dagster's own job, every asset, the write-back among them.
        materialize_all = _run(instance, dg.DagsterRunStatus.STARTED, job="__ASSET_JOB", assets=list(EXPECTED_DEPENDENCIES))
        _run(instance, dg.DagsterRunStatus.STARTED, job="__ASSET_JOB", assets=["cpus"])  # reads, writes nothing back
        _run(instance, dg.DagsterRunStatus.STARTED, job="snapshot_cpu_price_history")
        _change_listing(engine, 1.5)
        held = [ticks.tick(), ticks.tick()]
        instance.report_run_canceled(materialize_all)
        [request] = ticks.tick().run_requests
    assert [tick.run_requests for tick in held] == [[], []]
    assert f"recalculation run {materialize_all.run_id} (__ASSET_JOB) is started" in held[-1].skip_message
    assert request.tags[LISTING_CHANGE_TAG]


def test_an_unreachable_database_skips_and_keeps_the_cursor():
    url = "postgresql://nobody@127.0.0.1:1/none"
    result, cursor = _evaluate(url, '{"requested": "a", "previous": "a", "changed_since": null}', "2026-11-30T10:00:00")
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message.startswith("the database server at 127.0.0.1:1 refuses connections")
    assert cursor == '{"requested": "a", "previous": "a", "changed_since": null}'
