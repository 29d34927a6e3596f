import os
import signal
import subprocess
import sys

import dagster as dg
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus

from cpu_pipeline.ops.run_launcher import LocalRunLauncher, _alive


def test_a_live_process_is_alive_and_a_killed_one_is_not_even_before_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, still a zombie: not reaped
        assert not _alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not _alive(child.pid)


def test_the_worker_of_a_run_is_checked_through_the_pid_its_run_recorded():
    with dg.instance_for_test(
        overrides={"run_launcher": {"module": "cpu_pipeline.ops.run_launcher", "class": "LocalRunLauncher"}}
    ) as instance:
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job())
        # Executed in process, nothing recorded a worker: never reported dead for it.
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        instance.report_engine_event(f"Started process for run (pid: {child.pid}).", run, EngineEventData.in_process(child.pid))
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
        child.kill()
        child.wait()
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.FAILED
