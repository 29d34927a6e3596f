"""The served stack, as operators run it: webserver and daemon on the top-level dagster.yaml with
Dagster's storage in PostgreSQL, driven over the GraphQL API."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from dagster import DagsterInstance, DagsterRunStatus
from dagster._daemon.types import DaemonHeartbeat
from dagster_graphql import DagsterGraphQLClientError

from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS
from cpu_pipeline.ops import launch, service
from cpu_pipeline.ops.run_launcher import _alive
from cpu_pipeline_tests.conftest import TEST_DATABASE_URL
from cpu_pipeline_tests.postgres import (
    scalar,
    wait_for_lock_wait,
    wait_until_backend_gone,
)
from cpu_pipeline_tests.served import LOCATION, ROOT, SCHEDULE, SCHEDULE_SELECTOR, fill_app_database
from cpu_pipeline_tests.test_definitions import (
    ALL_DEPENDENCIES,
    EXPECTED_CHECKS,
    EXPECTED_DEPENDENCIES,
)


def _execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def _wait_for_alert(inbox, run_id: str, timeout: float = 120) -> dict:
    """The alert about the run `run_id`, or about its retry (which names it as `first_run_id`): a run Dagster
    retries is alerted only by its retry's outcome."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for alert in list(inbox.received):
            if run_id in (alert.get("run_id"), alert.get("first_run_id")):
                return alert
        time.sleep(1)
    raise TimeoutError(f"no alert for run {run_id} within {timeout} s; received: {inbox.received}")


@pytest.fixture
def invalid_scores(served):
    """Make CPUs invalid with an SQL condition; their scores are put back afterwards."""
    snapshot = "CREATE TABLE IF NOT EXISTS scores_before AS SELECT id, cpu_mark_multi FROM cpu"
    _execute(served.app_url, snapshot)

    def make_invalid(condition: str) -> None:
        _execute(served.app_url, f"UPDATE cpu SET cpu_mark_multi = -1 WHERE {condition}")

    yield make_invalid
    _execute(served.app_url, "UPDATE cpu SET cpu_mark_multi = s.cpu_mark_multi FROM scores_before s WHERE cpu.id = s.id")
    _execute(served.app_url, "DROP TABLE scores_before")


@pytest.fixture
def schedule_running(served):
    """The every-minute schedule running for this test only; stopped again, its runs finished, afterwards."""
    served.set_schedule_running(True)
    yield
    served.set_schedule_running(False)


def test_the_lineage_is_served(served):
    nodes = served.graphql("{ assetNodes { assetKey { path } dependencyKeys { path } } }")["assetNodes"]
    served_graph = {"/".join(node["assetKey"]["path"]): {"/".join(d["path"]) for d in node["dependencyKeys"]} for node in nodes}
    assert served_graph == ALL_DEPENDENCIES


def test_the_nightly_schedule_is_running(served, schedule_running):
    schedule = served.graphql(
        """query($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
             ... on Schedule { cronSchedule executionTimezone scheduleState { status } } } }""",
        selector=SCHEDULE_SELECTOR,
    )["scheduleOrError"]
    assert schedule["scheduleState"]["status"] == "RUNNING"
    assert schedule["executionTimezone"] == "UTC"
    assert schedule["cronSchedule"] == "* * * * *"  # CPU_PIPELINE_SCHEDULE_CRON, set by the fixture


def test_a_launched_run_succeeds_and_its_rows_are_in_postgres(served):
    run_id = served.launch()
    assert served.wait_for_run(run_id) == "SUCCESS"
    assert scalar(served.dagster_url, "SELECT status FROM runs WHERE run_id = :run_id", run_id=run_id) == "SUCCESS"
    assert scalar(served.app_url, "SELECT count(*) FROM cpu WHERE price_target_updated_at IS NULL") == 0
    assert scalar(served.app_url, "SELECT count(*) FROM cpu WHERE performance_value_rating IS NOT NULL") > 50
    for asset, check in EXPECTED_CHECKS:
        executions = served.graphql(
            """query($key: AssetKeyInput!, $name: String!) { assetCheckExecutions(assetKey: $key, checkName: $name, limit: 20) {
                 runId status evaluation { severity } } }""",
            key={"path": [asset]},
            name=check,
        )["assetCheckExecutions"]
        [execution] = [e for e in executions if e["runId"] == run_id]
        assert execution["status"] == "SUCCEEDED", (asset, check, execution)
    # Right after the write-back, the sensor fills today's history partition.
    snapshots = """query { runsOrError(filter: {pipelineName: "snapshot_cpu_price_history", statuses: [SUCCESS]}) {
                     ... on Runs { results { runId } } } }"""
    deadline = time.monotonic() + 120
    while not served.graphql(snapshots)["runsOrError"]["results"] and time.monotonic() < deadline:
        time.sleep(2)
    assert served.graphql(snapshots)["runsOrError"]["results"], served.log("daemon")[-3000:]
    assert scalar(served.app_url, "SELECT count(*) FROM cpu_pipeline.cpu_analytics_history WHERE day = current_date") > 50
    assert scalar(served.app_url, "SELECT count(*) FROM cpu_pipeline.cpu_price_trends") == 120


def test_the_launch_deal_brain_copies_runs_the_job_and_writes_every_cpu(served):
    run_id = launch.launch_recalculation("127.0.0.1", served.stack.port)
    # Generous: the every-minute schedule may hold the one run slot, and this machine is often loaded.
    status = launch.wait_for_run(run_id, "127.0.0.1", served.stack.port, timeout=600)
    assert status == DagsterRunStatus.SUCCESS, served.log("daemon")[-3000:]
    run = served.graphql("""query($id: ID!) { runOrError(runId: $id) { ... on Run { jobName startTime } } }""", id=run_id)[
        "runOrError"
    ]
    assert run["jobName"] == "recalculate_cpu_metrics"
    # Every row was written by this run (or a scheduled one after it): none is left from before it.
    assert float(scalar(served.app_url, "SELECT extract(epoch FROM min(price_target_updated_at)) FROM cpu")) >= run["startTime"]
    assert (
        float(scalar(served.app_url, "SELECT extract(epoch FROM min(performance_metrics_updated_at)) FROM cpu"))
        >= run["startTime"]
    )
    assert (
        scalar(
            served.app_url,
            "SELECT count(*) FROM cpu WHERE NOT (price_target_great <= price_target_good "
            "AND price_target_good <= price_target_fair)",
        )
        == 0
    )
    assert scalar(served.app_url, "SELECT count(*) FROM cpu WHERE performance_value_rating IS NOT NULL") > 50


def test_the_daemon_fires_the_schedule_and_writes_the_analytics(served, schedule_running):
    query = """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
                 ... on Runs { results { runId status startTime } } } }"""
    tags = [{"key": "dagster/schedule_name", "value": SCHEDULE}]
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        finished = [run for run in served.graphql(query, tags=tags)["runsOrError"]["results"] if run["status"] == "SUCCESS"]
        if finished:
            break
        time.sleep(2)
    else:
        pytest.fail(f"the daemon launched no successful scheduled run within 150 s: {served.log('daemon')[-3000:]}")
    started = finished[0]["startTime"]
    latest = scalar(served.app_url, "SELECT extract(epoch FROM max(performance_metrics_updated_at)) FROM cpu")
    assert float(latest) >= started - 1


def test_two_launches_at_once_are_serialised_and_the_table_matches_one_run(served):
    # The job, and "Materialize all" of the group (Dagster's implicit asset job), launched together.
    first = served.launch()
    second = served.launch(job="__ASSET_JOB", asset_selection=list(EXPECTED_DEPENDENCIES))
    assert served.wait_for_run(first) == "SUCCESS"
    assert served.wait_for_run(second) == "SUCCESS"
    query = """query($id: ID!) { runOrError(runId: $id) { ... on Run { startTime endTime } } }"""
    windows = sorted(
        (served.graphql(query, id=run)["runOrError"]["startTime"], served.graphql(query, id=run)["runOrError"]["endTime"])
        for run in (first, second)
    )
    assert windows[0][1] <= windows[1][0], f"the runs overlapped: {windows}"
    # One run writes every row with one timestamp: a single distinct value means no mix of two runs.
    assert scalar(served.app_url, "SELECT count(DISTINCT price_target_updated_at) FROM cpu") == 1


def test_a_quarter_of_cpus_with_invalid_scores_alerts_and_writes_nothing(served, alert_inbox, invalid_scores):
    before = scalar(served.app_url, "SELECT max(price_target_updated_at) FROM cpu")
    invalid_scores("id % 4 = 0")
    run_id = served.launch()
    assert served.wait_for_run(run_id) == "FAILURE"
    alert = _wait_for_alert(alert_inbox, run_id)
    assert alert["event"] == "error_rate_failed"
    assert alert["error_rate"] == 0.25
    assert alert["run_url"] == f"{served.stack.url}/runs/{run_id}"
    assert alert["text"]
    assert scalar(served.app_url, "SELECT max(price_target_updated_at) FROM cpu") == before


def test_a_run_whose_app_database_is_unreachable_alerts(served, alert_inbox):
    unreachable = {"resources": {"app_database": {"config": {"url": "postgresql://postgres@127.0.0.1:1/nowhere"}}}}
    run_id = served.launch(unreachable)
    assert served.wait_for_run(run_id) == "FAILURE"
    assert _wait_for_alert(alert_inbox, run_id)["event"] == "run_failed"


def test_a_webhook_answering_500_changes_nothing_about_the_run(served, alert_inbox, invalid_scores):
    invalid_scores("id % 20 = 0")  # 5%: a warning, and the write-back goes ahead
    alert_inbox.status = 500
    try:
        run_id = served.launch()
        assert served.wait_for_run(run_id) == "SUCCESS"
        assert _wait_for_alert(alert_inbox, run_id)["event"] == "error_rate_warning"
    finally:
        alert_inbox.status = 200


def _worker_pid(served, run_id: str, timeout: float = 60) -> int:
    query = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
                 ... on EngineEvent { message } } } } }"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in served.graphql(query, id=run_id)["logsForRun"]["events"]:
            found = re.match(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
            if found:
                return int(found.group(1))
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} reported no worker process")


def test_a_run_worker_killed_during_the_write_back_loses_nothing_and_is_retried(served):
    run_id = served.launch()
    assert served.wait_for_run(run_id) == "SUCCESS"
    analytics = [*PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS]
    snapshot = "SELECT * FROM cpu ORDER BY id"
    before = pd.read_sql_query(snapshot, sa.create_engine(served.app_url))
    engine = sa.create_engine(served.app_url)
    blocker = engine.connect()
    transaction = blocker.begin()
    blocker.execute(sa.text("SELECT id FROM cpu WHERE id = 60 FOR UPDATE"))  # the UPDATE stops midway here
    try:
        killed = served.launch()
        waiting = wait_for_lock_wait(served.app_url, "UPDATE cpu SET")
        os.kill(_worker_pid(served, killed), signal.SIGKILL)
    finally:
        transaction.rollback()
        blocker.close()
    wait_until_backend_gone(served.app_url, waiting)
    pd.testing.assert_frame_equal(pd.read_sql_query(snapshot, engine), before)  # rows lost or half-written: 0
    assert served.wait_for_run(killed) == "FAILURE"  # run monitoring found the worker gone
    retries = served.graphql(
        """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) { ... on Runs { results { runId } } } }""",
        tags=[{"key": "dagster/parent_run_id", "value": killed}],
    )["runsOrError"]["results"]
    deadline = time.monotonic() + 120
    while not retries and time.monotonic() < deadline:
        time.sleep(2)
        retries = served.graphql(
            """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) { ... on Runs { results { runId } } } }""",
            tags=[{"key": "dagster/parent_run_id", "value": killed}],
        )["runsOrError"]["results"]
    [retry] = retries
    assert served.wait_for_run(retry["runId"]) == "SUCCESS"
    after = pd.read_sql_query(snapshot, engine)
    pd.testing.assert_frame_equal(after[analytics], before[analytics])  # the right values, written again
    assert (after["price_target_updated_at"] > before["price_target_updated_at"]).all()
    engine.dispose()


def test_a_run_past_its_maximum_runtime_is_failed_and_alerts(served, alert_inbox):
    # Another session holds the cpu table, so the run's load waits far past its 3 s maximum.
    engine = sa.create_engine(served.app_url)
    blocker = engine.connect()
    transaction = blocker.begin()
    blocker.execute(sa.text("LOCK TABLE cpu IN ACCESS EXCLUSIVE MODE"))
    try:
        run_id = served.launch(tags={"dagster/max_runtime": "3"})
        # Dagster's run retries (run_retries) take a run failed for its runtime once more, with the same
        # maximum: the retry, blocked too, fails and alerts, naming the first attempt; the first does not.
        alert = _wait_for_alert(alert_inbox, run_id, timeout=240)
        assert alert["event"] == "max_runtime_exceeded"
        assert served.client.get_run_status(run_id).value == "FAILURE"
        assert [received for received in alert_inbox.received if received.get("run_id") == run_id] == []
    finally:
        transaction.rollback()
        blocker.close()
        engine.dispose()
    assert served.wait_for_run(run_id) == "FAILURE"


def test_a_webhook_that_is_down_changes_nothing_about_the_run(served, alert_inbox):
    alert_inbox.shutdown()
    alert_inbox.server_close()  # nothing listens on its port any more
    unreachable = {"resources": {"app_database": {"config": {"url": "postgresql://postgres@127.0.0.1:1/nowhere"}}}}
    failing, succeeding = served.launch(unreachable), served.launch()
    assert served.wait_for_run(failing) == "FAILURE"
    assert served.wait_for_run(succeeding) == "SUCCESS"
    # The sensors run in the code server: their log lines are in its output.
    deadline = time.monotonic() + 90
    while "webhook at 127.0.0.1" not in served.log("code-server") and time.monotonic() < deadline:
        time.sleep(2)
    assert "webhook at 127.0.0.1" in served.log("code-server")


def test_serve_fails_at_once_without_dagster_pg_url(monkeypatch):
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    with pytest.raises(service.StackError, match="(?s)DAGSTER_PG_URL is not set.*make dev"):
        service.serve(ROOT, port=1)


def test_serve_fails_at_once_when_the_server_cannot_be_reached(monkeypatch):
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://dagster:s3cret@127.0.0.1:1/dagster")
    monkeypatch.setenv("DATABASE_URL", "postgresql://dealbrain:s3cret@127.0.0.1:1/dealbrain")
    with pytest.raises(service.StackError, match="Cannot reach") as failure:
        service.serve(ROOT, port=1)
    assert "s3cret" not in str(failure.value)


def test_serve_says_a_missing_dagster_database_as_every_command_says_a_database_error():
    url = sa.make_url(TEST_DATABASE_URL).set(database="no_dagster_database_e20").render_as_string(hide_password=False)
    with pytest.raises(service.StackError) as failure:
        service.check_dagster_pg_url(url)
    assert str(failure.value).startswith(
        'Cannot reach Dagster\'s PostgreSQL (DAGSTER_PG_URL): database "no_dagster_database_e20" does not exist on '
    )
    assert "or create the database" in str(failure.value) and "FATAL" not in str(failure.value)


def test_no_password_reaches_logs_run_records_errors_or_the_api(served):
    # Every run of the session so far (successes, failures, the unreachable database) is in storage.
    pattern = f"%{served.secret}%"
    for table, column in (("event_logs", "event"), ("runs", "run_body")):
        assert scalar(served.dagster_url, f"SELECT count(*) FROM {table} WHERE {column} LIKE :p", p=pattern) == 0
    assert scalar(served.dagster_url, "SELECT count(*) FROM event_logs") > 100
    assert served.secret not in served.log("webserver") + served.log("daemon") + served.log("code-server")
    resource = served.graphql(
        """query($selector: ResourceSelector!) { topLevelResourceDetailsOrError(resourceSelector: $selector) {
             ... on ResourceDetails { configuredValues { key value type } } } }""",
        selector={
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "resourceName": "app_database",
        },
    )["topLevelResourceDetailsOrError"]
    assert {"key": "url", "value": "DATABASE_URL", "type": "ENV_VAR"} in resource["configuredValues"]
    assert served.secret not in json.dumps(resource)


def test_the_webserver_listens_on_loopback_only(served):
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == served.stack.port
    ]
    assert listening == [f"0100007F:{served.stack.port:04X}"]


@contextlib.contextmanager
def _cpu_pipeline_serve(port: int, dagster_url: str, database_url: str, settings: dict[str, str] | None = None):
    """`cpu-pipeline serve` as an operator starts it, in a session of its own, with `settings` (variable:
    value) on top; yields it (its stdout and stderr as one text pipe) and the marker every process it starts
    carries in its environment. Afterwards every process with the marker is killed, wherever it went (an
    orphan is no longer a descendant)."""
    from cpu_pipeline_tests.conftest import free_port

    marker = uuid.uuid4().hex
    env = {
        **os.environ,
        "DAGSTER_PG_URL": dagster_url,
        "DATABASE_URL": database_url,
        "DAGSTER_PORT": str(port),
        "CPU_PIPELINE_TEST_MARKER": marker,
        "CPU_PIPELINE_CODE_SERVER_PORT": str(free_port()),  # tests run side by side
        **(settings or {}),
    }
    serving = subprocess.Popen(
        [str(Path(sys.executable).parent / "cpu-pipeline"), "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        start_new_session=True,
    )
    try:
        yield serving, marker
    finally:
        for pid in {serving.pid, *_marked(marker)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        serving.wait()


def _marked(marker: str) -> set[int]:
    """The live processes (zombies excluded) whose environment carries CPU_PIPELINE_TEST_MARKER=`marker`."""
    wanted = f"CPU_PIPELINE_TEST_MARKER={marker}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted in (entry / "environ").read_bytes().split(b"\0") and _alive(int(entry.name)):
                found.add(int(entry.name))
        except OSError:  # ended meanwhile
            continue
    return found


# What each process of the stack has in its command line.
CODE_SERVER_COMMAND, WEBSERVER_COMMAND, DAEMON_COMMAND = "dagster api grpc", "dagster-webserver", "dagster-daemon run"


def _pid_of(marker: str, command: str) -> int:
    """The one live process carrying `marker` whose command line holds `command`."""
    [pid] = [pid for pid in _marked(marker) if command in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")]
    return pid


def _wait_for_ui(port: int, serving: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serving.poll() is not None:
            pytest.fail(f"serve exited with {serving.returncode}: {serving.stdout.read()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(1)
    pytest.fail(f"serve did not serve the UI within {timeout} s")


def _wait_until_none_left(marker: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(1)
    left = _marked(marker)
    assert not left, f"{what}: " + "; ".join(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:150] for pid in left)


class _Output:
    """A process's text output, read line by line as it comes (a full pipe would stall the process)."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(process.stdout), daemon=True)
        self._reader.start()

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline:
                pytest.fail(f"no line with {text!r} within {timeout} s: {''.join(self.lines)[-3000:]}")
            time.sleep(0.5)

    def all(self) -> list[str]:
        self._reader.join(30)  # the pipe has closed: the process and every child writing to it are gone
        return self.lines


def _wait_until_every_sensor_ticked(port: int, timeout: float = 180) -> None:
    query = """{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors {
                 name sensorState { ticks(limit: 1) { status } } } } } } }"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30).json()
        sensors = [sensor for node in body["data"]["repositoriesOrError"]["nodes"] for sensor in node["sensors"]]
        if sensors and all(sensor["sensorState"]["ticks"] for sensor in sensors):
            return
        time.sleep(1)
    pytest.fail(f"not every sensor was evaluated within {timeout} s")


def test_make_serve_is_quiet_while_idle_and_stops_cleanly_on_ctrl_c(tmp_path):
    from cpu_pipeline_tests.conftest import free_port, fresh_postgres_database

    port = free_port()
    with (
        fresh_postgres_database("cpu_pipeline_serve") as dagster_url,
        _cpu_pipeline_serve(port, dagster_url, f"sqlite:///{tmp_path / 'app.sqlite'}") as (serving, marker),
    ):
        output = _Output(serving)
        _wait_for_ui(port, serving)
        assert len(_marked(marker)) == 4  # the command, the code server, the webserver, the daemon
        _pid_of(marker, CODE_SERVER_COMMAND)  # one code server, shared by the webserver and the daemon
        _wait_until_every_sensor_ticked(port)  # each tick did nothing: no run, no change, nothing overdue
        serving.send_signal(signal.SIGINT)
        assert serving.wait(60) == 0
        _wait_until_none_left(marker, 30, "processes outlived Ctrl-C")
        lines = output.all()
    assert [line for line in lines if " - INFO - " in line or " - DEBUG - " in line] == []
    assert lines[-1] == "stack stopped on request: no run was in progress.\n", lines[-20:]


def _wait_until_refused(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5)
        except requests.ConnectionError:
            return
        time.sleep(0.5)
    pytest.fail(f"the webserver still answered {timeout} s after Ctrl-C")


def _launch_held_at_the_write_back(port: int, app_url: str, blocker: sa.Connection) -> str:
    """Launch the job over GraphQL with row 60 of cpu locked by `blocker`: its write-back waits there."""
    blocker.execute(sa.text("SELECT id FROM cpu WHERE id = 60 FOR UPDATE"))
    run_id = launch.launch_recalculation("127.0.0.1", port)
    wait_for_lock_wait(app_url, "UPDATE cpu SET", timeout=300)
    return run_id


def _run_record(dagster_url: str, run_id: str) -> tuple[str, int]:
    """The run's status as stored, and how many RUN_FAILURE events it has (what the failure alert reacts to)."""
    failures = "SELECT count(*) FROM event_logs WHERE run_id = :run_id AND dagster_event_type = 'RUN_FAILURE'"
    return (
        scalar(dagster_url, "SELECT status FROM runs WHERE run_id = :run_id", run_id=run_id),
        scalar(dagster_url, failures, run_id=run_id),
    )


@contextlib.contextmanager
def _serve_on_postgres(tmp_path, settings: dict[str, str]):
    """`cpu-pipeline serve` on fresh PostgreSQL databases, the app's with the demo catalogue; yields the
    process, its output, its port, both URLs and the marker of its processes."""
    from cpu_pipeline_tests.conftest import free_port, fresh_postgres_database

    port = free_port()
    with (
        fresh_postgres_database("cpu_pipeline_serve") as dagster_url,
        fresh_postgres_database("cpu_pipeline_app") as app_url,
    ):
        fill_app_database(app_url)
        with _cpu_pipeline_serve(port, dagster_url, app_url, settings) as (serving, marker):
            output = _Output(serving)
            _wait_for_ui(port, serving)
            yield serving, output, port, dagster_url, app_url, marker
            _wait_until_none_left(marker, 60, "processes outlived Ctrl-C")


def test_ctrl_c_lets_a_run_in_progress_finish_within_the_grace_period(tmp_path, alert_inbox):
    settings = {"CPU_PIPELINE_STOP_GRACE_SECONDS": "300", "ALERT_WEBHOOK_URL": alert_inbox.url}
    with _serve_on_postgres(tmp_path, settings) as (serving, output, port, dagster_url, app_url, marker):
        engine = sa.create_engine(app_url)
        with engine.connect() as blocker:
            blocker.begin()
            run_id = _launch_held_at_the_write_back(port, app_url, blocker)
            serving.send_signal(signal.SIGINT)
            output.wait_for("Waiting up to 300 s for 1 run(s) in progress", timeout=60)
            _wait_until_refused(port)  # the webserver has stopped: nothing more is launched
            blocker.rollback()  # the write-back goes ahead within the grace
        engine.dispose()
        assert serving.wait(300) == 0
        lines = output.all()
        assert lines[-1] == f"stack stopped on request: run {run_id[:8]} SUCCESS.\n", lines[-20:]
        assert _run_record(dagster_url, run_id) == ("SUCCESS", 0)
        assert scalar(app_url, "SELECT count(*) FROM cpu WHERE price_target_updated_at IS NULL") == 0


def test_ctrl_c_cancels_a_run_still_in_progress_after_the_grace_period_never_failing_it(tmp_path, alert_inbox):
    settings = {"CPU_PIPELINE_STOP_GRACE_SECONDS": "3", "ALERT_WEBHOOK_URL": alert_inbox.url}
    with _serve_on_postgres(tmp_path, settings) as (serving, output, port, dagster_url, app_url, marker):
        engine = sa.create_engine(app_url)
        with engine.connect() as blocker:
            blocker.begin()
            run_id = _launch_held_at_the_write_back(port, app_url, blocker)
            queued = launch.launch_recalculation("127.0.0.1", port)  # behind it in the pool `cpu_metrics`
            serving.send_signal(signal.SIGINT)
            assert serving.wait(180) == 0  # the row lock is still held: the run had to be canceled
            blocker.rollback()
        engine.dispose()
        lines = output.all()
        stopped = f"stack stopped on request: run {run_id[:8]} CANCELED; 1 queued run(s) wait for the next start.\n"
        assert lines[-1] == stopped, lines[-20:]
        assert _run_record(dagster_url, run_id) == ("CANCELED", 0)  # no RUN_FAILURE: nothing for the failure alert
        assert _run_record(dagster_url, queued) == ("QUEUED", 0)
    assert [alert for alert in alert_inbox.received if alert.get("run_id") == run_id] == []


def _kill_and_wait_for_restart(marker: str, command: str, name: str, output: "_Output") -> None:
    """SIGKILL the stack's process running `command` and wait for serve's line saying it restarted it."""
    pid = _pid_of(marker, command)
    os.kill(pid, signal.SIGKILL)
    output.wait_for(f"the {name} (pid {pid}) killed by SIGKILL: restarted it as pid", timeout=60)


def _launch_once_the_code_server_answers(port: int, timeout: float = 180) -> str:
    """Launch the job, polling while the webserver has not got the code location back from the new code
    server: it cannot reach it yet (still loading), or holds the location in error until it reloads."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return launch.launch_recalculation("127.0.0.1", port)
        except DagsterGraphQLClientError as error:
            not_back = error.args[0] == "PipelineNotFoundError" or "DagsterUserCodeUnreachableError" in str(error)
            if not not_back or time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_serve_restarts_a_killed_daemon_and_webserver_and_the_run_in_progress_goes_on(tmp_path):
    settings = {"CPU_PIPELINE_STOP_GRACE_SECONDS": "300"}
    with _serve_on_postgres(tmp_path, settings) as (serving, output, port, dagster_url, app_url, marker):
        engine = sa.create_engine(app_url)
        with engine.connect() as blocker:
            blocker.begin()
            run_id = _launch_held_at_the_write_back(port, app_url, blocker)
            _kill_and_wait_for_restart(marker, DAEMON_COMMAND, "daemon", output)
            _kill_and_wait_for_restart(marker, WEBSERVER_COMMAND, "webserver", output)
            _wait_for_ui(port, serving)
            blocker.rollback()  # the write-back goes ahead: its worker was never touched
        engine.dispose()
        assert launch.wait_for_run(run_id, "127.0.0.1", port, timeout=300) == DagsterRunStatus.SUCCESS
        assert _run_record(dagster_url, run_id) == ("SUCCESS", 0)
        # The restarted daemon launches what is queued: a run launched now succeeds too.
        later = launch.launch_recalculation("127.0.0.1", port)
        assert launch.wait_for_run(later, "127.0.0.1", port, timeout=300) == DagsterRunStatus.SUCCESS
        assert serving.poll() is None
        serving.send_signal(signal.SIGINT)
        assert serving.wait(120) == 0
        lines = output.all()
    # (The snapshot sensor may have queued its run after the write-back: it waits for the next start.)
    assert lines[-1].startswith("stack stopped on request: no run was in progress"), lines[-20:]


def test_serve_restarts_a_killed_code_server_and_gives_up_on_a_webserver_that_keeps_dying(tmp_path, webhook):
    settings = {"ALERT_WEBHOOK_URL": webhook.url}
    with _serve_on_postgres(tmp_path, settings) as (serving, output, port, dagster_url, app_url, marker):
        _kill_and_wait_for_restart(marker, CODE_SERVER_COMMAND, "code server", output)
        # The webserver and the daemon find the new code server once it has loaded: a run launched then succeeds.
        run_id = _launch_once_the_code_server_answers(port)
        assert launch.wait_for_run(run_id, "127.0.0.1", port, timeout=300) == DagsterRunStatus.SUCCESS
        for _ in service.RESTART_DELAYS_SECONDS:
            _kill_and_wait_for_restart(marker, WEBSERVER_COMMAND, "webserver", output)
        os.kill(_pid_of(marker, WEBSERVER_COMMAND), signal.SIGKILL)
        assert serving.wait(120) == 1
        lines = output.all()
    gave_up = "the webserver died 5 times within 300 s, the last time killed by SIGKILL"
    assert [line for line in lines if line.startswith("serve gave up")] == [
        f"serve gave up: {gave_up}; it stops the stack and exits 1.\n"
    ]
    # The drain as on Ctrl-C: a run in progress then (the snapshot after the recalculation) may finish.
    assert lines[-1].startswith(f"stack stopped as {gave_up}: "), lines[-20:]
    [alert] = [alert for alert in webhook.received if alert.get("event") == "stack_gave_up"]
    assert alert["what_happened"] == f"serve gave up: {gave_up}; it stops the stack and exits 1"


def test_cpu_pipeline_drain_lets_the_run_in_progress_finish(served):
    """The systemd code server's ExecStop (deploy/systemd): `cpu-pipeline drain` waits for the run in progress."""
    env = {**os.environ, "DAGSTER_HOME": str(served.home), "DAGSTER_PG_URL": served.dagster_url}
    engine = sa.create_engine(served.app_url)
    with engine.connect() as blocker:
        blocker.begin()
        run_id = _launch_held_at_the_write_back(served.stack.port, served.app_url, blocker)
        draining = subprocess.Popen(
            [str(Path(sys.executable).parent / "cpu-pipeline"), "drain"],
            env={**env, "CPU_PIPELINE_STOP_GRACE_SECONDS": "300"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = _Output(draining)
        output.wait_for("Waiting up to 300 s for 1 run(s) in progress", timeout=120)
        blocker.rollback()
    engine.dispose()
    assert draining.wait(300) == 0
    assert output.all()[-1] == f"drained: run {run_id[:8]} SUCCESS.\n"
    assert _run_record(served.dagster_url, run_id) == ("SUCCESS", 0)


def test_a_hard_stop_of_serve_takes_the_webserver_the_daemon_and_their_code_servers_down(tmp_path):
    from cpu_pipeline_tests.conftest import free_port, fresh_postgres_database

    port = free_port()
    with (
        fresh_postgres_database("cpu_pipeline_serve") as dagster_url,
        _cpu_pipeline_serve(port, dagster_url, f"sqlite:///{tmp_path / 'app.sqlite'}") as (serving, marker),
    ):
        _wait_for_ui(port, serving)
        assert len(_marked(marker)) >= 3
        serving.kill()  # SIGKILL, as a supervisor's hard stop or the OOM killer: serve itself runs no code
        serving.wait()
        # They stop as on Ctrl-C, the daemon's threads finishing their tick: generous on a loaded machine.
        _wait_until_none_left(marker, 120, "processes outlived serve's SIGKILL")


def test_serve_refuses_to_start_a_second_daemon_on_an_instance_with_one_running(served):
    from cpu_pipeline_tests.conftest import free_port

    port = free_port()
    with _cpu_pipeline_serve(port, served.dagster_url, served.app_url) as (serving, _):
        # The served stack's daemon beats every 30 s: serve waits for one beat at most, then refuses.
        output, _ = serving.communicate(timeout=120)
    assert serving.returncode == 2, output
    named = re.search(r"another dagster-daemon \(daemon id ([\w-]+)\) is running on this instance", output)
    assert named, output
    engine = sa.create_engine(served.dagster_url)
    with engine.connect() as connection:
        running = set(connection.execute(sa.text("SELECT daemon_id FROM daemon_heartbeats")).scalars())
    engine.dispose()
    assert named.group(1) in running
    with pytest.raises(requests.ConnectionError):  # no second webserver either
        requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5)


def test_a_heartbeat_left_by_a_stopped_daemon_delays_serve_by_one_interval_at_most(postgres_url, tmp_path, monkeypatch, capsys):
    (tmp_path / "dagster.yaml").symlink_to(ROOT / service.PRODUCTION_INSTANCE / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - 60, "SCHEDULER", "long-stopped"))
        service.check_no_other_daemon(instance, interval=2)
        assert capsys.readouterr().out == ""  # older than one and a half intervals: no wait
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time(), "SCHEDULER", "just-stopped"))
        started = time.monotonic()
        service.check_no_other_daemon(instance, interval=2)  # no beat follows: it lets serve start
        assert time.monotonic() - started >= 2
        assert "waiting" in capsys.readouterr().out
