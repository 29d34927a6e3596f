from datetime import date

import dagster as dg

from cpu_pipeline.defs.price_history.sensors import snapshot_after_recalculation
from cpu_pipeline.defs.recalculation.assets import cpus
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, cpu, listings_for
from cpu_pipeline_tests.materialize import materialize
from cpu_pipeline_tests.sensor_ticks import SensorTicks


def test_a_successful_write_back_requests_one_snapshot_however_it_ran(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    with dg.instance_for_test() as instance:
        ticks = SensorTicks(snapshot_after_recalculation, instance, {})
        # In process, as `dagster job execute` and `cpu-pipeline run` run it: a run of no code location.
        result = materialize(sqlite_url, instance=instance)
        assert result.success
        [request] = ticks.tick().run_requests
        assert ticks.tick().run_requests == []  # the next tick: nothing new, nothing requested
    assert request.run_key == result.run_id
    # No partition: the snapshot takes the day it runs on, so no day can be asked for and refused.
    assert request.partition_key is None
    assert request.asset_selection is None  # the whole job: today's snapshot, then the trends


def test_a_run_that_writes_nothing_back_requests_no_snapshot(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    with dg.instance_for_test() as instance:
        ticks = SensorTicks(snapshot_after_recalculation, instance, {})
        assert dg.materialize([cpus], resources={"app_database": AppDatabase(url=sqlite_url)}, instance=instance).success
        tick = ticks.tick()
    assert tick.run_requests == []
    assert "wrote nothing back" in tick.skip_message


def test_a_run_that_took_the_snapshot_itself_requests_no_other(sqlite_url):
    # As "Materialize all" on the global graph does: the recalculation and the history in one run.
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    with dg.instance_for_test() as instance:
        ticks = SensorTicks(snapshot_after_recalculation, instance, {})
        result = materialize(sqlite_url, day=date(2026, 11, 30), instance=instance)
        assert result.success
        tick = ticks.tick()
    assert tick.run_requests == []
    assert f"run {result.run_id}" in tick.skip_message and "took today's snapshot itself" in tick.skip_message
