"""A run launcher whose run workers run monitoring can check on.

Dagster's DefaultRunLauncher starts each run worker as a local process but cannot tell run
monitoring whether it is still alive, so a worker killed outright (SIGKILL, the OOM killer) would
leave its run STARTED forever, and run retries would never see it. This launcher answers from the
worker's process id, which the run's own event log records ("Started process for run (pid: N)").
"""

from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if record.message.startswith("Started process for run"):
            pid = record.dagster_event.engine_event_data.metadata.get("pid")
            return int(pid.value) if pid is not None else None
    return None


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped by its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


class LocalRunLauncher(DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        pid = _worker_pid(self._instance, run.run_id)
        if pid is None:
            # Run monitoring fails any status but RUNNING; a run executed in process (`cpu-pipeline
            # run`) records no worker, and must not be failed for it.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no separate run worker process recorded")
        if _alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run worker process {pid} is gone", run_worker_id=str(pid))
