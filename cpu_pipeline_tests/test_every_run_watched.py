"""Every recalculation on the served instance, however it is launched, is snapshotted when it succeeds
and alerted, exactly once, when it fails: the job and "Materialize all" and a single asset over
GraphQL (as the UI launches them), the schedule, and `dagster job execute`, `dg launch` and
`cpu-pipeline run` on the same DAGSTER_HOME, whose runs carry no code location at all."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from cpu_pipeline_tests.served import LOCATION, ROOT, Served
from cpu_pipeline_tests.test_definitions import EXPECTED_DEPENDENCIES

BIN = Path(sys.executable).parent
JOB = "recalculate_cpu_metrics"
COMMANDS = {
    "dagster_job_execute": [str(BIN / "dagster"), "job", "execute", "-m", "cpu_pipeline.definitions", "-j", JOB],
    "dg_launch": [str(BIN / "dg"), "launch", "--job", JOB],
    "cpu_pipeline_run": [str(BIN / "cpu-pipeline"), "run"],
}
LAUNCHES = ["job", "materialize_all", "single_asset", "schedule", *COMMANDS]
# Upstream of the write-back: a single-asset launch of `cpu_analytics` reads their stored values.
UPSTREAM_OF_WRITE_BACK = sorted(set(EXPECTED_DEPENDENCIES) - {"cpu_analytics"})
RUNS = """query($filter: RunsFilter) { runsOrError(filter: $filter) {
          ... on Runs { results { runId status tags { key } } } } }"""
# What the daemon tags the runs it launches with; a run from the command line has neither.
LAUNCHED_BY_DAEMON = {"dagster/schedule_name", "dagster/sensor_name"}


def _runs(served: Served, **run_filter) -> dict[str, str]:
    """Run id to status, for the runs that match a GraphQL RunsFilter."""
    return {run["runId"]: run["status"] for run in served.graphql(RUNS, filter=run_filter)["runsOrError"]["results"]}


def _command_line_runs(served: Served) -> set[str]:
    """The recalculations on the instance that the daemon did not launch (the listing-change sensor may)."""
    runs = served.graphql(RUNS, filter={"pipelineName": JOB})["runsOrError"]["results"]
    return {run["runId"] for run in runs if not {tag["key"] for tag in run["tags"]} & LAUNCHED_BY_DAEMON}


def _poll(served: Served, what: str, found: Callable, timeout: float = 300):
    """`found()`'s first truthy value, polled until `timeout` seconds have passed (the machine is often
    loaded); past it, TimeoutError saying `what` did not happen, with the end of the daemon's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(2)
    raise TimeoutError(f"{what} within {timeout} s; the daemon's log ends: {served.log('daemon')[-3000:]}")


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _command_line(served: Served, name: str) -> str:
    """Run one of COMMANDS on the served instance's home, as an operator would; the id of its run."""
    before = _command_line_runs(served)
    env = {**os.environ, "DAGSTER_HOME": str(served.home), "DAGSTER_PG_URL": served.dagster_url, "DATABASE_URL": served.app_url}
    process = subprocess.Popen(
        COMMANDS[name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_default_signals,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    new = _command_line_runs(served) - before
    assert len(new) == 1, output[-3000:]
    return new.pop()


def _scheduled(served: Served) -> str:
    """The first run the every-minute schedule launches from now on; the schedule is stopped again, and
    every run finished, before it returns."""
    tags = [{"key": "dagster/schedule_name", "value": "recalculate_cpu_metrics_nightly"}]
    before = set(_runs(served, tags=tags))
    served.set_schedule_running(True)
    try:
        new = _poll(served, "no scheduled run", lambda: set(_runs(served, tags=tags)) - before)
    finally:
        served.set_schedule_running(False)
    return min(new)  # at most two ticks passed; either is a run of the schedule


def _launch(served: Served, how: str) -> str:
    """Launch a recalculation the way `how` names; the id of its run."""
    if how == "job":
        return served.launch()
    if how == "materialize_all":  # the group page's button: Dagster's anonymous asset job
        return served.launch(job="__ASSET_JOB", asset_selection=list(EXPECTED_DEPENDENCIES))
    if how == "single_asset":  # the write-back alone, on its upstream's stored values
        assert served.wait_for_run(served.launch(job="__ASSET_JOB", asset_selection=UPSTREAM_OF_WRITE_BACK)) == "SUCCESS"
        return served.launch(job="__ASSET_JOB", asset_selection=["cpu_analytics"])
    if how == "schedule":
        return _scheduled(served)
    return _command_line(served, how)


@pytest.mark.parametrize("how", LAUNCHES)
def test_a_successful_recalculation_is_snapshotted(served, how):
    run_id = _launch(served, how)
    assert served.wait_for_run(run_id) == "SUCCESS", served.log("daemon")[-3000:]
    # The snapshot sensor keys the run it requests by the recalculation's run id.
    snapshot = {"pipelineName": "snapshot_cpu_price_history", "tags": [{"key": "dagster/run_key", "value": run_id}]}
    _poll(served, f"no successful snapshot for the {how} run {run_id}", lambda: "SUCCESS" in _runs(served, **snapshot).values())


@pytest.fixture
def listing_table_missing(served):
    """Every recalculation fails at `listings` while the table is away (and so would a single
    `listings`); it is put back afterwards."""
    engine = sa.create_engine(served.app_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE listing RENAME TO listing_away"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE listing_away RENAME TO listing"))
        engine.dispose()


def _launch_failing(served: Served, how: str) -> str:
    if how == "single_asset":
        return served.launch(job="__ASSET_JOB", asset_selection=["listings"])
    return _launch(served, how)


def _latest_tick(served: Served, sensor: str) -> float:
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": sensor}
    state = served.graphql(
        """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
             ... on Sensor { sensorState { ticks(limit: 1) { timestamp status } } } } }""",
        selector=selector,
    )["sensorOrError"]["sensorState"]
    return max((tick["timestamp"] for tick in state["ticks"] if tick["status"] != "STARTED"), default=0.0)


@pytest.mark.parametrize("how", LAUNCHES)
def test_a_failed_recalculation_alerts_exactly_once(served, alert_inbox, listing_table_missing, how):
    run_id = _launch_failing(served, how)
    assert served.wait_for_run(run_id) == "FAILURE"

    def alerts() -> list[dict]:
        return [alert for alert in list(alert_inbox.received) if alert.get("run_id") == run_id]

    [alert] = _poll(served, f"no alert for the {how} run {run_id}", alerts, timeout=180)
    assert alert["event"] == "run_failed"
    assert alert["run_url"] == f"{served.stack.url}/runs/{run_id}"
    # A tick begun after the alert arrived has read past the run's failure: any second alert is sent by now.
    alerted = time.time()
    _poll(served, "no tick of alert_on_failed_run after the alert", lambda: _latest_tick(served, "alert_on_failed_run") > alerted)
    assert len(alerts()) == 1, alerts()
