"""Dagster's standard commands in the repository root of a fresh clone with no variable set: `dg check
defs`, `dg list defs`, `dagster definitions validate`, `dg launch`, a bare `dagster dev` and `dg dev`.
They run on the embedded instance (the top-level dagster.yaml, in a throwaway .tmp_dagster_home_*) and
the embedded database, and write nothing git does not ignore."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from cpu_pipeline import settings
from cpu_pipeline_tests.conftest import free_port
from cpu_pipeline_tests.served import LOCATION, ROOT

BIN = Path(sys.executable).parent


def _git(repository: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", *args]
    return subprocess.run(command, cwd=repository, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository as a fresh clone of the working tree would have it (tracked files and new ones git
    does not ignore), committed in a repository of its own so that `git status` shows what a command wrote."""
    clone = tmp_path_factory.mktemp("clone")
    for name in _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0"):
        if name and (ROOT / name).is_file():  # a file deleted from the working tree stays listed until committed
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    _git(clone, "init", "-q")
    _git(clone, "add", ".")
    _git(clone, "commit", "-q", "-m", "fresh clone")
    return clone


def _environment(clone: Path) -> dict[str, str]:
    """This environment without any variable the pipeline or Dagster's instance reads (DAGSTER_HOME,
    DAGSTER_PG_URL, DATABASE_URL, ...), importing the clone's code rather than the installed checkout's."""
    environment = {name: value for name, value in os.environ.items() if name not in settings.BY_NAME}
    return {**environment, "PYTHONPATH": str(clone)}


def _run(clone: Path, *command: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=clone,
        env=_environment(clone),
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )
    assert result.returncode == 0, f"{' '.join(command)}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def _assert_nothing_but_ignored_files_written(clone: Path) -> None:
    assert _git(clone, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    "command",
    [("dg", "check", "defs"), ("dagster", "definitions", "validate", "-m", "cpu_pipeline.definitions")],
    ids=["dg check defs", "dagster definitions validate"],
)
def test_the_definitions_load_in_a_fresh_clone(clone, command):
    _run(clone, *command)
    _assert_nothing_but_ignored_files_written(clone)


def test_dg_list_defs_lists_the_jobs_in_a_fresh_clone(clone):
    listed = json.loads(_run(clone, "dg", "list", "defs", "--json").stdout)
    assert {"recalculate_cpu_metrics", "snapshot_cpu_price_history"} <= {job["name"] for job in listed["jobs"]}
    _assert_nothing_but_ignored_files_written(clone)


def test_dg_launch_recalculates_the_embedded_database_in_a_fresh_clone(clone):
    _run(clone, "dg", "launch", "--job", "recalculate_cpu_metrics")
    engine = sa.create_engine(f"sqlite:///{clone / 'data' / 'cpu_pipeline.sqlite'}")
    with engine.connect() as connection:
        total, written = connection.execute(sa.text("SELECT count(*), count(price_target_updated_at) FROM cpu")).one()
    engine.dispose()
    assert total > 100 and written == total  # the demo catalogue, every CPU written by the run
    _assert_nothing_but_ignored_files_written(clone)


@pytest.mark.parametrize("command", [("dagster", "dev"), ("dg", "dev")], ids=["dagster dev", "dg dev"])
def test_the_ui_serves_the_code_location_in_a_fresh_clone(clone, command):
    port = free_port()
    log = clone.parent / f"{'_'.join(command)}.log"
    with log.open("w") as output:
        ui = subprocess.Popen(
            [str(BIN / command[0]), *command[1:], "-p", str(port)],
            cwd=clone,
            env=_environment(clone),
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: [signal.signal(number, signal.SIG_DFL) for number in (signal.SIGINT, signal.SIGTERM)],
            start_new_session=True,
        )
    try:
        assert _location_status(ui, port, log) == "LOADED", log.read_text()[-3000:]
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            ui.wait(60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(ui.pid, signal.SIGKILL)  # whatever of its group outlived SIGTERM
        ui.wait()
    _assert_nothing_but_ignored_files_written(clone)


def _location_status(ui: subprocess.Popen, port: int, log: Path, timeout: float = 240) -> str:
    """The code location's load status as the UI reports it, once it reports one; fails if the UI exits."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ui.poll() is not None:
            pytest.fail(f"it exited with {ui.returncode}: {log.read_text()[-3000:]}")
        try:
            entries = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5).json()
            statuses = {entry["name"]: entry["loadStatus"] for entry in entries["data"]["workspaceOrError"]["locationEntries"]}
            if statuses.get(LOCATION) not in (None, "LOADING"):
                return statuses[LOCATION]
        except (requests.RequestException, ValueError, KeyError, TypeError):
            pass
        time.sleep(1)
    pytest.fail(f"the UI did not report the code location {LOCATION} within {timeout} s: {log.read_text()[-3000:]}")
