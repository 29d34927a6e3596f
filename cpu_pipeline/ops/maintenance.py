"""Bounded storage: deleting the runs Dagster's storage no longer needs, with their events and compute logs.

Open-source Dagster keeps every run and every event forever and has no event-log retention; deleting a
run (`DagsterInstance.delete_run`) is how its events go, materialisations included. So a run is
deleted once it is older than the retention (CPU_PIPELINE_RUN_RETENTION_DAYS), unless:

- it has not finished (queued, starting, in progress, canceling): it is still watched;
- it holds the latest materialisation of an asset: the freshness policy of `cpu_analytics`, the overdue
  alert (`defs/alerts/staleness.py`), `cpu-pipeline health` and the UI's asset pages read it, so a
  quiet month never leaves an asset looking as though it had never been materialised; or the latest
  evaluation of an asset check, which the UI shows as the check's state;
- it is one the caller keeps (the maintenance run itself).

The retention is at least the freshness window (settings.py refuses less), so every run the alerts
may still need is kept anyway. Ticks are not runs: the instances' `retention:` block bounds them.

`delete_run` leaves one thing behind: the run's rows in the index of asset check executions (Dagster
1.13 deletes a run's event_logs and asset_event_tags rows, not its asset_check_executions rows, about
10 KB a recalculation: 90 MB a year at 25 recalculations a day, measured by benchmarks/storage_growth.py).
No public API deletes them, so they are deleted here, through the event log storage's own table.
"""

from collections.abc import Iterable, Set
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.compute_log_manager import ComputeIOType  # the stdout/stderr pair of a log key
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

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


def latest_check_evaluation_runs(instance: dg.DagsterInstance) -> set[str]:
    """The ids of the runs holding each asset check's latest execution on the instance."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):  # both instances' storages are SQL (SQLite, PostgreSQL)
        return set()
    table = AssetCheckExecutionsTable
    latest = sa.select(sa.func.max(table.c.id)).group_by(table.c.asset_key, table.c.check_name)
    with storage.index_connection() as connection:
        return set(connection.execute(sa.select(table.c.run_id).where(table.c.id.in_(latest))).scalars())


def delete_check_executions(instance: dg.DagsterInstance, run_id: str) -> int:
    """Delete the run's rows in the index of asset check executions, which `delete_run` leaves; returns how many."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return 0
    with storage.index_transaction() as connection:
        return connection.execute(AssetCheckExecutionsTable.delete().where(AssetCheckExecutionsTable.c.run_id == run_id)).rowcount


@dataclass(frozen=True)
class Removed:
    """What a pass removed: runs, their event rows, their asset check executions, and the bytes of their
    compute logs (stdout and stderr)."""

    runs: int = 0
    events: int = 0
    check_executions: int = 0
    compute_log_bytes: int = 0
    kept_latest: int = 0  # old finished runs kept because they hold an asset's latest materialisation or check

    def metadata(self) -> dict[str, dg.MetadataValue]:
        return {
            "runs_deleted": dg.MetadataValue.int(self.runs),
            "events_deleted": dg.MetadataValue.int(self.events),
            "check_executions_deleted": dg.MetadataValue.int(self.check_executions),
            "compute_log_bytes_deleted": dg.MetadataValue.int(self.compute_log_bytes),
            "old_runs_kept_as_latest": dg.MetadataValue.int(self.kept_latest),
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


def delete_run(instance: dg.DagsterInstance, run_id: str) -> Removed:
    """Delete the run, its events, its asset check executions and its compute logs (the local manager:
    the run's whole folder); returns what was removed."""
    removed = Removed(runs=1, events=len(instance.all_logs(run_id)), compute_log_bytes=compute_log_bytes(instance, run_id))
    instance.delete_run(run_id)
    checks = delete_check_executions(instance, run_id)
    instance.compute_log_manager.delete_logs(prefix=[run_id])
    return replace(removed, check_executions=checks)


def delete_old_runs(instance: dg.DagsterInstance, now: datetime, retention_days: int, keep: Set[str] = frozenset()) -> Removed:
    """Delete every finished run created more than `retention_days` before `now` (timezone-aware), with
    its events, asset check executions and compute logs, except those holding an asset's latest
    materialisation or a check's latest execution, and those in `keep`. Returns what was removed."""
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)
    old = [
        RunAge.of(record)
        for record in instance.get_run_records(dg.RunsFilter(statuses=list(FINISHED), created_before=cutoff), ascending=True)
    ]
    latest = latest_materialization_runs(instance) | latest_check_evaluation_runs(instance)
    removed = [delete_run(instance, run_id) for run_id in runs_to_delete(old, cutoff.timestamp(), latest | set(keep))]
    return Removed(
        runs=len(removed),
        events=sum(run.events for run in removed),
        check_executions=sum(run.check_executions for run in removed),
        compute_log_bytes=sum(run.compute_log_bytes for run in removed),
        kept_latest=sum(1 for run in old if run.run_id in latest),
    )
