import dagster as dg

from cpu_pipeline.defs.price_history.sensors import snapshot_after_recalculation
from cpu_pipeline.lib.clock import Clock


def test_a_successful_recalculation_requests_todays_snapshot():
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job())
        context = dg.build_run_status_sensor_context(
            sensor_name="snapshot_after_recalculation",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name="noop"),
            resources={"clock": Clock(fixed_now="2026-11-30T23:59:30+00:00")},
        )
        request = snapshot_after_recalculation(context)
    assert request.run_key == run.run_id
    assert request.partition_key == "2026-11-30"  # the UTC day of the Clock
