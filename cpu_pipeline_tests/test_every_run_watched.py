"""Every recalculation on the served instance, however it is launched, is snapshotted when it succeeds
and alerted, exactly once, when it fails: the job and "Materialize all" and a single asset over
GraphQL (as the UI launches them), the schedule, and `dagster job execute`, `dg launch` and
`cpu-pipeline run` on the same DAGSTER_HOME, whose runs carry no code location at all.

One test launches every way for success, one for failure. The ways the served instance launches
start at once (their runs queue for its one run slot, so the minute the schedule waits for is spent
running the others); the command-line runs take no slot but read and write the same stored asset
values (the filesystem IO manager, whose files are not written atomically), so they go one after
another once nothing else runs, and each waits for its snapshot run before the next starts."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
# The ways the served instance launches itself, and so queues for its run slot.
SERVED_LAUNCHES = ["job", "materialize_all", "single_asset", "schedule"]
LAUNCHES = [*SERVED_LAUNCHES, *COMMANDS]
SNAPSHOT_SENSOR = "snapshot_after_recalculation"
ALERT_SENSOR = "alert_on_failed_run"
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


def _launch_failing(served: Served, how: str) -> str:
    if how == "single_asset":
        return served.launch(job="__ASSET_JOB", asset_selection=["listing_figures"])
    return _launch(served, how)


def _launch_served_ways(served: Served, launch: Callable[[Served, str], str]) -> dict[str, str]:
    """Each of SERVED_LAUNCHES at once, each from a thread of its own (the schedule waits for its
    minute, a single asset for its upstream run): way to run id."""
    with ThreadPoolExecutor(len(SERVED_LAUNCHES)) as threads:
        launched = {how: threads.submit(launch, served, how) for how in SERVED_LAUNCHES}
        return {how: future.result() for how, future in launched.items()}


def _ticks_since(served: Served, sensor: str, since: float) -> int:
    """How many evaluations of `sensor` began after `since` (a time.time()) and have ended."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": sensor}
    state = served.graphql(
        """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
             ... on Sensor { sensorState { ticks(limit: 10) { timestamp status } } } } }""",
        selector=selector,
    )["sensorOrError"]["sensorState"]
    return sum(tick["timestamp"] > since and tick["status"] != "STARTED" for tick in state["ticks"])


def _wait_until_settled(served: Served) -> None:
    """Until no run is queued or in progress on the instance, and an evaluation of the snapshot sensor
    begun since then has requested none: nothing else runs beside the next command-line run."""

    def settled() -> bool:
        if served.unfinished_runs():
            return False
        since = time.time()
        _poll(served, f"no evaluation of {SNAPSHOT_SENSOR}", lambda: _ticks_since(served, SNAPSHOT_SENSOR, since))
        return not served.unfinished_runs()

    _poll(served, "runs still queued or in progress", settled)


def _assert_every_run_ended(served: Served, run_ids: dict[str, str], status: str) -> None:
    ended = {how: served.wait_for_run(run_id) for how, run_id in run_ids.items()}
    assert ended == dict.fromkeys(run_ids, status), f"runs {run_ids}; the daemon's log ends: {served.log('daemon')[-3000:]}"


def _await_every_way(served: Served, run_ids: dict[str, str], what: str, done: Callable[[str], object], timeout: float = 300):
    """Poll until `done(run_id)` is truthy for each way's run; past `timeout` seconds, AssertionError
    naming each way whose run has not `what`, with the end of the daemon's log."""
    deadline = time.monotonic() + timeout
    pending = dict(run_ids)
    while pending := {how: run_id for how, run_id in pending.items() if not done(run_id)}:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"within {timeout} s, no run {what} for: {pending}; the daemon's log ends: {served.log('daemon')[-3000:]}"
            )
        time.sleep(2)


def test_a_successful_recalculation_is_snapshotted_however_launched(served):
    def snapshotted(run_id: str) -> bool:
        # The snapshot sensor keys the run it requests by the recalculation's run id.
        snapshot = {"pipelineName": "snapshot_cpu_price_history", "tags": [{"key": "dagster/run_key", "value": run_id}]}
        return "SUCCESS" in _runs(served, **snapshot).values()

    run_ids = _launch_served_ways(served, _launch)
    _assert_every_run_ended(served, run_ids, "SUCCESS")
    _await_every_way(served, run_ids, "snapshotted successfully", snapshotted)
    _wait_until_settled(served)
    for how in COMMANDS:
        run_id = _launch(served, how)
        _assert_every_run_ended(served, {how: run_id}, "SUCCESS")
        _await_every_way(served, {how: run_id}, "snapshotted successfully", snapshotted)


@pytest.fixture
def listing_table_missing(served):
    """Every recalculation fails at `listing_figures` while the table is away (and so would a single
    `listing_figures`); it is put back afterwards."""
    engine = sa.create_engine(served.app_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE listing RENAME TO listing_away"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE listing_away RENAME TO listing"))
        engine.dispose()


def test_a_failed_recalculation_alerts_exactly_once_however_launched(served, alert_inbox, listing_table_missing):
    run_ids = _launch_served_ways(served, _launch_failing)
    _wait_until_settled(served)
    run_ids |= {how: _launch_failing(served, how) for how in COMMANDS}  # one after another
    _assert_every_run_ended(served, run_ids, "FAILURE")

    def alerts(run_id: str) -> list[dict]:
        return [alert for alert in list(alert_inbox.received) if alert.get("run_id") == run_id]

    _await_every_way(served, run_ids, "alerted", alerts, timeout=180)
    # Evaluations begun after the last alert arrived have read past every run's failure: a second
    # alert for any of them is sent by the time two have ended.
    alerted = time.time()
    _poll(
        served,
        f"no two evaluations of {ALERT_SENSOR} after the last alert",
        lambda: _ticks_since(served, ALERT_SENSOR, alerted) >= 2,
    )
    assert {how: len(alerts(run_id)) for how, run_id in run_ids.items()} == dict.fromkeys(LAUNCHES, 1), alert_inbox.received
    for how, run_id in run_ids.items():
        [alert] = alerts(run_id)
        assert alert["event"] == "run_failed", how
        assert alert["run_url"] == f"{served.stack.url}/runs/{run_id}", how
