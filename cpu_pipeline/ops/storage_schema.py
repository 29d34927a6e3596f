"""Whether an instance's storage is ready for the installed Dagster, by Dagster's own bookkeeping.

Dagster never migrates an existing storage by itself (`dagster instance migrate` does, through
`DagsterInstance.upgrade()`), and a Dagster started on an older storage runs until it needs what the
migration adds: then scheduled runs or the pools page fail (dagster issues #30735, #27876, #34162).
`serve`, `make dev` (`cpu-pipeline preflight`) and `cpu-pipeline migrate` ask here first.

What `upgrade()` does, and so what is checked here: each storage's schema (run, event log, schedule)
moves to its Alembic head (`alembic_version()`: the storage's revision and the installed Dagster's
head, as `dagster instance info` shows them), then the run, asset and schedule data migrations that
are not yet recorded as done in the storage's secondary_indexes table are run.
"""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.migration import ASSET_DATA_MIGRATIONS
from dagster._core.storage.runs.migration import REQUIRED_DATA_MIGRATIONS
from dagster._core.storage.schedules.migration import REQUIRED_SCHEDULE_DATA_MIGRATIONS

DAGSTER_VERSION = dg.__version__

MIGRATE_COMMAND = "cpu-pipeline migrate"


@dataclass(frozen=True)
class Revision:
    """One storage's schema revision against the installed Dagster's head (Alembic revision ids)."""

    storage: str  # "run storage", "event log storage", "schedule storage"
    current: str | None  # None: no revision recorded
    head: str | None

    @property
    def behind(self) -> bool:
        return self.current != self.head

    def __str__(self) -> str:
        return f"{self.storage}: schema {self.current or 'unrecorded'}, Dagster {DAGSTER_VERSION}'s is {self.head}"


def revisions(instance: dg.DagsterInstance) -> list[Revision]:
    """The schema revision of each of the instance's three storages, with the installed Dagster's head."""
    storages = {
        "run storage": instance.run_storage,
        "event log storage": instance.event_log_storage,
        "schedule storage": instance.schedule_storage,
    }
    return [Revision(name, *storage.alembic_version()) for name, storage in storages.items()]


def pending_data_migrations(instance: dg.DagsterInstance) -> list[str]:
    """The data migrations `DagsterInstance.upgrade()` would run: those not recorded as done, as
    "<storage>: data migration <name>"."""
    pending = [
        *(("run storage", name) for name in REQUIRED_DATA_MIGRATIONS if not instance.run_storage.has_built_index(name)),
        *(
            ("event log storage", name)
            for name in ASSET_DATA_MIGRATIONS
            if not instance.event_log_storage.has_secondary_index(name)
        ),
        *(
            ("schedule storage", name)
            for name in REQUIRED_SCHEDULE_DATA_MIGRATIONS
            if not instance.schedule_storage.has_built_index(name)
        ),
    ]
    return [f"{storage}: data migration {name}" for storage, name in pending]


def pending_migrations(instance: dg.DagsterInstance) -> list[str]:
    """What `DagsterInstance.upgrade()` would still do on the instance's storage, one phrase each
    (a schema behind its head, then each data migration not done); empty when the storage is ready."""
    return [str(revision) for revision in revisions(instance) if revision.behind] + pending_data_migrations(instance)


def out_of_date(instance: dg.DagsterInstance, home: Path) -> str | None:
    """None when the storage of the instance in `home` (its DAGSTER_HOME) is ready for the installed
    Dagster; else one line saying what is pending and naming the command that migrates it."""
    pending = pending_migrations(instance)
    if not pending:
        return None
    return (
        f"the Dagster storage of the instance in {home} needs migrating to Dagster {DAGSTER_VERSION} "
        f"({'; '.join(pending)}): stop every process using it, then run `DAGSTER_HOME={home} {MIGRATE_COMMAND}` "
        "(docs/operations.md, Upgrades)"
    )
