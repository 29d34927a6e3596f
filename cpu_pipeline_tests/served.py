"""The served stack for the tests: code server, webserver and daemon as real processes on a free port, Dagster's
storage in a fresh PostgreSQL database, the app data in another; stopped even when a test fails."""

import contextlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa
from dagster_graphql import DagsterGraphQLClient

from cpu_pipeline.database import demo_catalogue, schema
from cpu_pipeline.ops import launch, service

ROOT = Path(__file__).resolve().parents[1]
LOCATION = launch.LOCATION
JOB = "recalculate_cpu_metrics"
SCHEDULE = "recalculate_cpu_metrics_nightly"
SCHEDULE_SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "scheduleName": SCHEDULE}
LISTING_CHANGE_SENSOR = "recalculate_on_listing_change"


@dataclass
class Served:
    stack: service.Stack
    home: Path
    dagster_url: str
    app_url: str
    secret: str  # the password in both URLs

    @property
    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.stack.port)

    def graphql(self, query: str, **variables) -> dict:
        response = requests.post(f"{self.stack.url}/graphql", json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def launch(
        self, run_config: dict | None = None, job: str = JOB, tags: dict | None = None, asset_selection: list[str] | None = None
    ) -> str:
        return self.client.submit_job_execution(
            job, repository_location_name=LOCATION, run_config=run_config or {}, tags=tags, asset_selection=asset_selection
        )

    def wait_for_run(self, run_id: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.client.get_run_status(run_id).value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                return status
            time.sleep(1)
        raise TimeoutError(f"run {run_id} did not finish within {timeout} s; see {self.home}/*.log")

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text()

    def set_schedule_running(self, running: bool, timeout: float = 600) -> None:
        """Start or stop the every-minute schedule; when stopping, wait until every run it (or anything
        else) launched has finished, so that the one run slot is free for the next test. The deadline is
        a loaded machine's: the runs launched beside the schedule's (test_every_run_watched launches the
        served ways at once) queue one by one in the pool, each with its snapshot, and 180 s ran out once
        at a load of about 12."""
        if running:
            started = self.graphql(
                """mutation($selector: ScheduleSelector!) {
                startSchedule(scheduleSelector: $selector) { __typename } }""",
                selector=SCHEDULE_SELECTOR,
            )
            assert started["startSchedule"]["__typename"] == "ScheduleStateResult", started
            return
        state = self.graphql(
            """query($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
                                  ... on Schedule { scheduleState { id status } } } }""",
            selector=SCHEDULE_SELECTOR,
        )["scheduleOrError"]["scheduleState"]
        if state["status"] == "RUNNING":
            stopped = self.graphql("""mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }""", id=state["id"])
            assert stopped["stopRunningSchedule"]["__typename"] == "ScheduleStateResult", stopped
        deadline = time.monotonic() + timeout
        while self.unfinished_runs():
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs still in progress {timeout} s after the schedule stopped")
            time.sleep(1)

    def unfinished_runs(self) -> list[str]:
        """The ids of the runs on the instance that are queued, starting or in progress."""
        unfinished = """query { runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
                          ... on Runs { results { runId } } } }"""
        return [run["runId"] for run in self.graphql(unfinished)["runsOrError"]["results"]]

    def _sensor_state(self, name: str) -> dict:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": name}
        return self.graphql(
            """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
                 ... on Sensor { sensorState { id status ticks(limit: 1) { status } } } } }""",
            selector=selector,
        )["sensorOrError"]["sensorState"]

    def stop_sensor(self, name: str) -> None:
        state = self._sensor_state(name)
        if state["status"] == "RUNNING":
            stopped = self.graphql("""mutation($id: String) { stopSensor(id: $id) { __typename } }""", id=state["id"])
            assert stopped["stopSensor"]["__typename"] == "StopSensorMutationResult", stopped

    def wait_for_sensor_tick(self, name: str, timeout: float = 180) -> None:
        """Poll until the daemon has evaluated the sensor at least once."""
        deadline = time.monotonic() + timeout
        while not self._sensor_state(name)["ticks"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sensor {name} was not evaluated within {timeout} s; see {self.home}/daemon.log")
            time.sleep(1)


@contextlib.contextmanager
def served_stack(tmp_path_factory, inbox, settings: dict[str, str] | None = None, listing_change_running: bool = False):
    """The production stack (`make serve`'s processes) on its dagster.yaml, its cron every minute, its
    sensors every 5 s, alerting `inbox`, with `settings` (variable: value) on top; yields a Served, stops
    everything afterwards.

    The schedule is stopped (a test that wants it starts it: a scheduled run would compete for the one
    run slot with the run a test launches and waits for), and so is the listing-change sensor unless
    `listing_change_running`; then it has taken its baseline before the stack is yielded.
    """
    from cpu_pipeline_tests.conftest import free_port, fresh_postgres_database

    home = tmp_path_factory.mktemp("served_dagster_home")
    (home / "dagster.yaml").symlink_to(ROOT / service.PRODUCTION_INSTANCE / "dagster.yaml")
    port = free_port()
    secret = f"pw-{uuid.uuid4().hex}"  # trust auth ignores it; the tests look for it everywhere
    with fresh_postgres_database("cpu_pipeline_dagster") as dagster_db, fresh_postgres_database("cpu_pipeline_app") as app_db:
        dagster_url, app_url = (
            sa.make_url(url).set(password=secret).render_as_string(hide_password=False) for url in (dagster_db, app_db)
        )
        fill_app_database(app_url)
        env = {
            "DAGSTER_PG_URL": dagster_url,
            "DATABASE_URL": app_url,
            "CPU_PIPELINE_SCHEDULE_CRON": "* * * * *",
            "ALERT_WEBHOOK_URL": inbox.url,
            "CPU_PIPELINE_UI_BASE_URL": f"http://127.0.0.1:{port}",
            # The tests wait for what the sensors do (alerts, snapshots): every 5 s rather than a user's 30.
            "CPU_PIPELINE_SENSOR_INTERVAL_SECONDS": "5",
            **(settings or {}),
        }
        stack = service.start(ROOT, home, port, env, log_dir=home, code_server_port=free_port())
        try:
            served = Served(stack, home, dagster_url, app_url, secret)
            wait_until_serving(served)
            served.set_schedule_running(False)
            if listing_change_running:
                served.wait_for_sensor_tick(LISTING_CHANGE_SENSOR)
            else:
                served.stop_sensor(LISTING_CHANGE_SENSOR)
            yield served
        finally:
            stack.stop()


def wait_until_serving(served: Served, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    query = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in served.stack.processes.values()):
            logs = "".join(served.log(name)[-2000:] for name in ("webserver", "daemon", "code-server"))
            raise RuntimeError(f"the stack died: {logs}")
        try:
            if served.graphql(query)["repositoriesOrError"]["nodes"]:
                return
        except (requests.RequestException, AssertionError, KeyError):
            pass
        time.sleep(1)
    raise TimeoutError(f"the webserver did not serve the code location within {timeout} s")


def fill_app_database(url: str) -> None:
    """The demo catalogue, and the pipeline's own schema as `cpu-pipeline setup` creates it."""
    engine = sa.create_engine(url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(120, 2000, seed=11))
    schema.create_pipeline_tables(engine)
    engine.dispose()
