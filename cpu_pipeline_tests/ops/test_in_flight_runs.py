import json
import time

import dagster as dg
from dagster._core.storage.tags import GRPC_INFO_TAG

from cpu_pipeline.ops import in_flight_runs
from cpu_pipeline_tests.conftest import free_port


def _run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, code_server_port: int | None = None) -> str:
    """A run as stored, with the code server that started it (Dagster's grpc_info tag) unless None."""
    tags = {GRPC_INFO_TAG: json.dumps({"host": "127.0.0.1", "port": code_server_port})} if code_server_port else {}
    run = dg.DagsterRun(job_name="recalculate_cpu_metrics", status=status, tags=tags)
    instance.add_run(run)
    return run.run_id


def test_the_runs_in_flight_are_those_a_code_server_started_and_not_finished():
    with dg.instance_for_test() as instance:
        started = _run(instance, dg.DagsterRunStatus.STARTED, free_port())
        starting = _run(instance, dg.DagsterRunStatus.STARTING, free_port())
        _run(instance, dg.DagsterRunStatus.STARTED)  # executed in its own process by a command: not the stack's
        _run(instance, dg.DagsterRunStatus.SUCCESS, free_port())
        assert sorted(in_flight_runs.in_flight(instance)) == sorted([started, starting])


def test_nothing_in_flight_drains_at_once_and_silently(capsys):
    with dg.instance_for_test() as instance:
        _run(instance, dg.DagsterRunStatus.SUCCESS, free_port())
        started = time.monotonic()
        assert in_flight_runs.drain(instance, grace_seconds=60) == []
        assert time.monotonic() - started < 5
    assert capsys.readouterr().out == ""


def test_a_run_whose_code_server_is_gone_is_marked_canceled_after_the_grace_never_failed(capsys):
    with dg.instance_for_test() as instance:
        run_id = _run(instance, dg.DagsterRunStatus.STARTED, free_port())  # nothing listens on the port
        [ending] = in_flight_runs.drain(instance, grace_seconds=0.5, cancel_timeout=0.5)
        assert ending == in_flight_runs.Ending(run_id, None)  # still in flight: its processes would be stopped now
        [ending] = in_flight_runs.mark_canceled(instance, [ending])
        assert ending.canceled_here
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED
        assert not instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    printed = capsys.readouterr().out
    assert "Waiting up to 0 s for 1 run(s) in progress" in printed
    assert str(ending) == f"run {run_id[:8]} CANCELED (its worker did not answer; stopped with the stack)"


def test_a_run_that_finished_meanwhile_keeps_its_own_status():
    with dg.instance_for_test() as instance:
        run_id = _run(instance, dg.DagsterRunStatus.SUCCESS, free_port())
        [ending] = in_flight_runs.mark_canceled(instance, [in_flight_runs.Ending(run_id, None)])
        assert ending == in_flight_runs.Ending(run_id, dg.DagsterRunStatus.SUCCESS)
        assert str(ending) == f"run {run_id[:8]} SUCCESS"
