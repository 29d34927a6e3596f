import dagster as dg

from cpu_pipeline.defs.price_history.sensors import snapshot_after_recalculation
from cpu_pipeline.defs.recalculation.assets import cpus
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, cpu, listings_for
from cpu_pipeline_tests.materialize import materialize
from cpu_pipeline_tests.sensor_ticks import SensorTicks

CLOCK = Clock(fixed_now="2026-11-30T23:59:30+00:00")


def test_a_successful_write_back_requests_todays_snapshot_however_it_ran(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    with dg.instance_for_test() as instance:
        ticks = SensorTicks(snapshot_after_recalculation, instance, {"clock": CLOCK})
        # In process, as `dagster job execute` and `cpu-pipeline run` run it: a run of no code location.
        result = materialize(sqlite_url, instance=instance)
        assert result.success
        [request] = ticks.tick().run_requests
    assert request.run_key == result.run_id
    assert request.partition_key == "2026-11-30"  # the UTC day of the Clock


def test_a_run_that_writes_nothing_back_requests_no_snapshot(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    with dg.instance_for_test() as instance:
        ticks = SensorTicks(snapshot_after_recalculation, instance, {"clock": CLOCK})
        assert dg.materialize([cpus], resources={"app_database": AppDatabase(url=sqlite_url)}, instance=instance).success
        tick = ticks.tick()
    assert tick.run_requests == []
    assert "wrote nothing back" in tick.skip_message
