"""Bounded storage: deleting the runs Dagster's storage no longer needs, with their events and compute logs.

Open-source Dagster keeps every run and every event forever and has no event-log retention; deleting a
run (`DagsterInstance.delete_run`) is how its events go, materialisations included. So a run is
deleted once it is older than the retention (CPU_PIPELINE_RUN_RETENTION_DAYS), unless:

- it has not finished (queued, starting, in progress, canceling): it is still watched;
- it holds the latest materialisation of an asset: the freshness policy of `cpu_analytics`, the overdue
  alert (`defs/alerts/staleness.py`), `cpu-pipeline health` and the UI's asset pages read it, so a
  quiet month never leaves an asset looking as though it had never been materialised;
- it is one the caller keeps (the maintenance run itself).

The retention is at least the freshness window (settings.py refuses less), so every run the alerts
may still need is kept anyway. Ticks are not runs: the instances' `retention:` block bounds them.
"""

from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.storage.compute_log_manager import ComputeIOType  # the stdout/stderr pair of a log key

# The statuses of a run that is over: nothing will write to it or its logs again.
FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


@dataclass(frozen=True)
class RunAge:
    """What the selection needs of a run: its id, its status and when it was created (seconds since the epoch)."""

    run_id: str
    status: dg.DagsterRunStatus
    created: float

    @classmethod
    def of(cls, record: dg.RunRecord) -> "RunAge":
        return cls(record.dagster_run.run_id, record.dagster_run.status, record.create_timestamp.timestamp())


def runs_to_delete(runs: Iterable[RunAge], cutoff: float, protected: Set[str]) -> list[str]:
    """The ids of the runs to delete, in the order given: finished, created before `cutoff` (seconds
    since the epoch), and not in `protected`."""
    return [run.run_id for run in runs if run.status in FINISHED and run.created < cutoff and run.run_id not in protected]


def latest_materialization_runs(instance: dg.DagsterInstance) -> set[str]:
    """The ids of the runs holding each asset's latest materialisation on the instance, whichever
    code location or job made it."""
    runs = set()
    for record in instance.get_asset_records():
        latest = record.asset_entry.last_materialization_record
        if latest is not None:
            runs.add(latest.run_id)
    return runs


@dataclass(frozen=True)
class Removed:
    """What a pass removed: runs, their event rows, and the bytes of their compute logs (stdout and stderr)."""

    runs: int = 0
    events: int = 0
    compute_log_bytes: int = 0
    kept_latest: int = 0  # old finished runs kept because they hold an asset's latest materialisation

    def metadata(self) -> dict[str, dg.MetadataValue]:
        return {
            "runs_deleted": dg.MetadataValue.int(self.runs),
            "events_deleted": dg.MetadataValue.int(self.events),
            "compute_log_bytes_deleted": dg.MetadataValue.int(self.compute_log_bytes),
            "old_runs_kept_for_latest_materialization": dg.MetadataValue.int(self.kept_latest),
        }


def compute_log_bytes(instance: dg.DagsterInstance, run_id: str) -> int:
    """The size of the run's captured stdout and stderr, as the instance's compute log manager holds them."""
    manager = instance.compute_log_manager
    total = 0
    for io_type in ComputeIOType:
        try:
            keys = manager.get_log_keys_for_log_key_prefix([run_id, "compute_logs"], io_type)
        except FileNotFoundError:  # the local manager: a run that captured nothing has no folder
            continue
        for key in keys:
            data, _ = manager.get_log_data_for_type(key, io_type, offset=0, max_bytes=None)
            total += len(data or b"")
    return total


def delete_run(instance: dg.DagsterInstance, run_id: str) -> tuple[int, int]:
    """Delete the run, its events and its compute logs (the local manager: the run's whole folder);
    returns (events, compute log bytes) removed."""
    events = len(instance.all_logs(run_id))
    log_bytes = compute_log_bytes(instance, run_id)
    instance.delete_run(run_id)
    instance.compute_log_manager.delete_logs(prefix=[run_id])
    return events, log_bytes


def delete_old_runs(instance: dg.DagsterInstance, now: datetime, retention_days: int, keep: Set[str] = frozenset()) -> Removed:
    """Delete every finished run created more than `retention_days` before `now` (timezone-aware), with
    its events and compute logs, except those holding an asset's latest materialisation and those in
    `keep`. Returns what was removed."""
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)
    old = [
        RunAge.of(record)
        for record in instance.get_run_records(dg.RunsFilter(statuses=list(FINISHED), created_before=cutoff), ascending=True)
    ]
    latest = latest_materialization_runs(instance)
    doomed = runs_to_delete(old, cutoff.timestamp(), latest | set(keep))
    events = log_bytes = 0
    for run_id in doomed:
        run_events, run_log_bytes = delete_run(instance, run_id)
        events += run_events
        log_bytes += run_log_bytes
    kept_latest = sum(1 for run in old if run.run_id in latest)
    return Removed(runs=len(doomed), events=events, compute_log_bytes=log_bytes, kept_latest=kept_latest)
