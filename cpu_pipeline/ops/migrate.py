"""`cpu-pipeline migrate`: move an instance's Dagster storage to the installed Dagster's schema, as
`dagster instance migrate` does (`DagsterInstance.upgrade()`), with what an operator needs around it.

In order: it refuses while a dagster-daemon of the instance sends heartbeats (service.py's check: the
stack must be stopped, not only the daemon, but the daemon is what can be seen from the storage); it
does nothing when the storage is already migrated (storage_schema.py); it backs the storage up (each
SQLite database copied with SQLite's online backup; a PostgreSQL storage dumped with `pg_dump` in its
custom format, restorable with `pg_restore`) and refuses without a backup unless told one was made;
then it migrates and prints what it did, one line each. A password never shows: URLs are printed
masked, pg_dump gets it through PGPASSWORD, its errors are scrubbed.
"""

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from cpu_pipeline.database.engine import masked, scrub
from cpu_pipeline.ops import service, storage_schema


class MigrationRefused(RuntimeError):
    """Nothing was migrated; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """Where a backup went and how it was made, as one line for the operator."""

    path: Path
    how: str
    size: int  # bytes

    def __str__(self) -> str:
        return f"backed up the storage to {self.path} ({self.how}, {self.size / 1e6:.1f} MB)"


def migrate(
    instance: dg.DagsterInstance,
    home: Path,
    backup_root: Path | None = None,
    back_up: bool = True,
    say: Callable[[str], None] = print,
) -> None:
    """Migrate the storage of `instance`, the Dagster instance in `home` (its DAGSTER_HOME), first
    backing it up under `backup_root` (default: `home`/backups) in a folder named by the UTC time,
    unless `back_up` is False. Each step is told through `say`, one line each.

    Raises MigrationRefused, having changed nothing, when a daemon of the instance is running or the
    backup cannot be made (pg_dump missing or failing).
    """
    try:
        service.check_no_other_daemon(instance)
    except service.StackError as error:
        raise MigrationRefused(f"{error} Stop the whole stack (webserver, daemon, run workers) before migrating.") from None
    before = storage_schema.revisions(instance)
    pending_data = storage_schema.pending_data_migrations(instance)
    if not any(revision.behind for revision in before) and not pending_data:
        say(f"nothing to migrate: the storage of {home} is at Dagster {storage_schema.DAGSTER_VERSION}'s schema")
        return
    if back_up:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        say(str(_back_up(instance, (backup_root or home / "backups") / stamp)))
    else:
        say("no backup made (--no-backup): the backup you made is the way back")
    say(f"migrating the storage of {home} to Dagster {storage_schema.DAGSTER_VERSION}'s schema")
    instance.upgrade()
    for old, new in zip(before, storage_schema.revisions(instance), strict=True):
        if old.current != new.current:
            say(f"{new.storage}: schema {old.current or 'unrecorded'} -> {new.current}")
    left = storage_schema.pending_data_migrations(instance)
    for done in pending_data:
        if done not in left:
            say(f"{done}: done")
    if still := storage_schema.pending_migrations(instance):
        raise RuntimeError(f"Dagster's migration left work pending: {'; '.join(still)}")
    say(f"the storage of {home} is ready for Dagster {storage_schema.DAGSTER_VERSION}")


def _back_up(instance: dg.DagsterInstance, folder: Path) -> Backup:
    if isinstance(instance.run_storage, SqliteRunStorage):
        return _copy_sqlite_databases(instance, folder)
    urls = {storage.postgres_url for storage in (instance.run_storage, instance.event_log_storage, instance.schedule_storage)}
    if len(urls) != 1:  # the instances here keep all three in one database (dagster.yaml's `storage: postgres`)
        raise MigrationRefused(
            "the run, event log and schedule storages are in different databases: back each up, then pass --no-backup"
        )
    return _pg_dump(urls.pop(), folder)


def _copy_sqlite_databases(instance: dg.DagsterInstance, folder: Path) -> Backup:
    """Each SQLite database of the storage (history/runs.db, history/runs/*.db, schedules/schedules.db
    under the storage's base_dir) copied into `folder` under the same relative path, with SQLite's
    online backup: a consistent copy, write-ahead log included."""
    storage = instance.get_ref().storage_data
    if storage is None or "base_dir" not in storage.config_dict:
        raise MigrationRefused(
            "this SQLite storage is configured per storage, not by one base_dir: back it up, then pass --no-backup"
        )
    base = Path(storage.config_dict["base_dir"])
    databases = sorted(path for part in ("history", "schedules") for path in (base / part).rglob("*.db"))
    for database in databases:
        copy = folder / database.relative_to(base)
        copy.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(database)) as source, contextlib.closing(sqlite3.connect(copy)) as target:
            source.backup(target)
    size = sum((folder / database.relative_to(base)).stat().st_size for database in databases)
    return Backup(folder, f"{len(databases)} SQLite databases copied", size)


def _pg_dump(url: str, folder: Path) -> Backup:
    """The database at `url` dumped into `folder`/dagster.dump (pg_dump's custom format)."""
    dump = folder / "dagster.dump"
    if shutil.which("pg_dump") is None:
        raise MigrationRefused(
            f"pg_dump is not installed here, so nothing was backed up or migrated: back the database up where it is "
            f"(`pg_dump --format=custom --file=dagster.dump '{masked(url)}'`, or a snapshot of the server), "
            "then run `cpu-pipeline migrate --no-backup`"
        )
    target, password = _libpq_url(url)
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    done = subprocess.run(
        ["pg_dump", "--format=custom", f"--file={dump}", target], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        dump.unlink(missing_ok=True)
        reason = scrub(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}", url)
        raise MigrationRefused(f"pg_dump of {masked(url)} failed, so nothing was migrated: {reason}")
    return Backup(dump, f"pg_dump of {masked(url)}", dump.stat().st_size)


def _libpq_url(url: str) -> tuple[str, str | None]:
    """`url` (SQLAlchemy's form, with a driver or not) as a libpq URI for pg_dump, without its password,
    and the password apart (in the userinfo or as a `password` query parameter)."""
    parsed = sa.make_url(url)
    password = parsed.password or parsed.query.get("password")
    plain = parsed.set(drivername="postgresql", password=None).difference_update_query(["password"])
    return plain.render_as_string(hide_password=False), str(password) if password else None
