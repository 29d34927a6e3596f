"""Launch `recalculate_cpu_metrics` on a running Dagster through its GraphQL API.

This is what Deal Brain's `POST /v1/cpus/recalculate-metrics` does instead of recalculating itself
(docs/switching_over.md shows the same lines to copy): the run goes
through the served stack like the nightly one, so it queues behind any recalculation in progress
(the pool `cpu_metrics`), is checked and gated the same way, and alerts when it fails.

    run_id = launch_recalculation("127.0.0.1", 3000)
    status = wait_for_run(run_id, "127.0.0.1", 3000)   # DagsterRunStatus.SUCCESS, FAILURE or CANCELED
"""

import time

from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

JOB = "recalculate_cpu_metrics"
# The code location's one name: workspace.yaml's `location_name` (`make dev`, `make serve`, the UI),
# pyproject.toml's for `dg` ([tool.dg.project]) and a bare `dagster dev` ([tool.dagster]);
# cpu_pipeline_tests/ops/test_launch.py checks each. A Definitions object's repository is always
# `__repository__`. Naming both saves the client a lookup and never picks another job of the same name
# in a larger workspace.
LOCATION = "cpu_pipeline.definitions"
REPOSITORY = "__repository__"

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def launch_recalculation(host: str = "127.0.0.1", port: int = 3000) -> str:
    """Submit one run of `recalculate_cpu_metrics` to the webserver at `host`:`port`; return its run id.

    Returns as soon as the run is submitted: it may wait in the queue behind another recalculation.

    Raises:
        dagster_graphql.DagsterGraphQLClientError: the webserver cannot be reached, or it refused the
            launch (the job or location not found, a Python error in the webserver).
    """
    client = DagsterGraphQLClient(host, port_number=port)
    return client.submit_job_execution(JOB, repository_location_name=LOCATION, repository_name=REPOSITORY)


def wait_for_run(
    run_id: str, host: str = "127.0.0.1", port: int = 3000, timeout: float = 3600, poll_seconds: float = 2
) -> DagsterRunStatus:
    """Poll the run's status until it finishes; return SUCCESS, FAILURE or CANCELED.

    `timeout` (seconds) covers the time in the queue as well as the run itself.

    Raises:
        TimeoutError: the run has not finished within `timeout`; it carries on regardless.
        dagster_graphql.DagsterGraphQLClientError: the webserver cannot be reached or knows no such run.
    """
    client = DagsterGraphQLClient(host, port_number=port)
    deadline = time.monotonic() + timeout
    while True:
        status = client.get_run_status(run_id)
        if status in FINISHED:
            return status
        if time.monotonic() >= deadline:
            raise TimeoutError(f"run {run_id} is still {status.value} after {timeout} s")
        time.sleep(poll_seconds)
