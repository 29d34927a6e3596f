"""A simulated year of Dagster's storage on the production instance: how big its PostgreSQL tables and
its compute logs grow, with the storage maintenance (the daily `delete_old_runs`, and the instances'
tick retention) or `--without-maintenance` (as before either existed: nothing deleted, Dagster's default
tick retention).

Creates two PostgreSQL databases on the server (a fresh Dagster storage and an application database
with the demo catalogue, 500 CPUs and 10,000 listings) and a DAGSTER_HOME on the production instance's
dagster.yaml, then makes one real recalculation and its history snapshot there (`dagster job execute`,
in a subprocess: 105 event rows and about 300 KB in PostgreSQL, their compute logs on disk). Time is
simulated rather than waited for: each simulated day copies that pair of runs 25 times (the nightly run
at 02:30 and a change-triggered run every hour), every row of theirs (runs, run_tags, event_logs,
asset_event_tags, asset_check_executions) with a new run id and timestamps moved to the simulated hour,
and their compute log folder; and writes the ticks of the five sensors (every 30 s, 14,400 a day: the
snapshot and listing-change sensors' ticks that started a run SUCCESS, the others SKIPPED) and of the
two schedules. Then, as the daemon and the schedule would:

- tick retention: `DagsterInstance.purge_ticks` with the instance's retention settings (Dagster's own
  defaults `--without-maintenance`), every 4 simulated hours rather than after every tick;
- the maintenance: `cpu_pipeline.ops.maintenance.delete_old_runs` at 04:15 with the retention of
  CPU_PIPELINE_RUN_RETENTION_DAYS (`--retention-days`, 30), the same function the job runs;
- what autovacuum would do, checked every 4 simulated hours (`autovacuum`): this machine's PostgreSQL
  runs with autovacuum = off (a production server has it on), and without a vacuum the sizes would count
  dead rows whose space a production server reuses. The check reads statistics every connection has
  just flushed, after waiting for the server's transactions older than the 4 hours to end
  (`wait_for_older_transactions`): squeezed into seconds, neither the statistics' delay nor another
  database's transaction of a few minutes would stand for what they do on a server.

Prints, on the days of `--report`, the storage's size by table (pg_total_relation_size: rows, indexes and
TOAST), job_ticks's heap, indexes and TOAST, the database's size, the compute logs' bytes and the number
of run folders; then whether the size plateaued (day `--days` within 10% of day 60). Exits 1 when the
maintenance runs and it did not. The databases and the home are removed afterwards.

    .venv/bin/python benchmarks/storage_growth.py                        # a year, with the maintenance
    .venv/bin/python benchmarks/storage_growth.py --without-maintenance  # a year, nothing deleted
    .venv/bin/python benchmarks/storage_growth.py --days 3 --report 1,3  # a smoke run
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster import DagsterRunStatus
from dagster._core.scheduler.instigation import TickData
from dagster._serdes import deserialize_value

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers live in the repository, not in the installed package

from benchmarks.change_delay import wait_for_first_tick  # noqa: E402
from cpu_pipeline.database import demo_catalogue, schema  # noqa: E402
from cpu_pipeline.ops import maintenance, service  # noqa: E402
from cpu_pipeline.ops.launch import FINISHED, launch_recalculation, wait_for_run  # noqa: E402
from cpu_pipeline_tests.postgres import scratch_database  # noqa: E402

NIGHTLY = timedelta(hours=2, minutes=30)
CHANGE_TRIGGERED = [timedelta(hours=hour, minutes=5) for hour in range(24)]
SNAPSHOT_AFTER = timedelta(minutes=1)
MAINTENANCE_TIME = timedelta(hours=4, minutes=15)
TICK_INTERVAL_SECONDS = 30
# The daemon purges a sensor's old ticks after each of its ticks; the simulation, every few hours.
PURGE_EVERY_HOURS = 4
TICKS_PER_BLOCK = PURGE_EVERY_HOURS * 3600 // TICK_INTERVAL_SECONDS
# The five sensors; of their ticks, those of the snapshot sensor after each recalculation and of the
# listing-change sensor before each change-triggered run start a run, the rest are skipped.
SENSORS = (
    "alert_on_failed_run",
    "alert_on_error_rate_warning",
    "snapshot_after_recalculation",
    "recalculate_on_listing_change",
    "alert_on_overdue_recalculation",
)
SCHEDULES = {"recalculate_cpu_metrics_nightly": NIGHTLY, "delete_old_runs_daily": MAINTENANCE_TIME}
# The tables a run's rows are in, beside the event-keyed ones (asset_event_tags, asset_check_executions).
SHOWN_TABLES = ("event_logs", "runs", "run_tags", "asset_event_tags", "asset_check_executions", "job_ticks")
DEFAULT_REPORT = "1,30,60,90,180,365"


def make_template_runs(home: Path, env: dict, port: int, timeout: float = 600) -> list[str]:
    """One real recalculation and the history snapshot its sensor starts, on the served stack (`cpu-pipeline
    serve`'s webserver and daemon, run workers launched as in production) on the instance in `home`;
    their run ids, the recalculation's first. The stack is stopped afterwards."""
    stack = service.start(ROOT, home, port, env, log_dir=home)
    try:
        wait_for_first_tick(port, "snapshot_after_recalculation", timeout)
        recalculation = launch_recalculation("127.0.0.1", port)
        if wait_for_run(recalculation, "127.0.0.1", port, timeout) != DagsterRunStatus.SUCCESS:
            raise RuntimeError(f"the template recalculation {recalculation} did not succeed: see {home}")
        deadline = time.monotonic() + timeout
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            while time.monotonic() < deadline:
                snapshots = instance.get_run_records(
                    dg.RunsFilter(job_name="snapshot_cpu_price_history", statuses=list(FINISHED))
                )
                if snapshots:
                    snapshot = snapshots[0].dagster_run
                    if snapshot.status != DagsterRunStatus.SUCCESS:  # a copy of it would stand for no real snapshot
                        raise RuntimeError(f"the template snapshot {snapshot.run_id} ended {snapshot.status.value}")
                    return [recalculation, snapshot.run_id]
                time.sleep(1)
        finally:
            instance.dispose()
        raise TimeoutError(f"no snapshot run finished within {timeout} s of the recalculation")
    finally:
        stack.stop()


def _columns(connection: sa.Connection, table: str) -> dict[str, str]:
    rows = connection.execute(
        sa.text(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :table AND table_schema = 'public'"
        ),
        {"table": table},
    )
    return {name: kind for name, kind in rows if name != "id"}


class RunCopier:
    """Copies template runs, every row of theirs, under new run ids, their timestamps moved: a batch of
    copies in one statement per table."""

    EVENT_ID_COLUMNS = ("event_id", "evaluation_event_storage_id", "materialization_event_storage_id")

    def __init__(self, connection: sa.Connection, templates: list[str]):
        connection.execute(sa.text("CREATE TEMPORARY TABLE copies (seq int PRIMARY KEY, old text, new text, shift float8)"))
        connection.execute(sa.text("CREATE TEMPORARY TABLE event_map (new_run text, old_id bigint, new_id bigint)"))
        self.events = {
            run_id: connection.execute(sa.text("SELECT id FROM event_logs WHERE run_id = :id ORDER BY id"), {"id": run_id})
            .scalars()
            .all()
            for run_id in templates
        }
        self.statements = {}
        for table in ("runs", "run_tags", "event_logs", "asset_event_tags", "asset_check_executions"):
            # The template's rows, kept aside once: the copies read them there, not from tables that grow.
            if table == "asset_event_tags":
                rows = "event_id IN (SELECT id FROM template_event_logs)"
            else:
                rows = "run_id IN (SELECT unnest(CAST(:templates AS text[])))"
            connection.execute(
                sa.text(f"CREATE TEMPORARY TABLE template_{table} AS SELECT * FROM {table} WHERE {rows}"),
                {"templates": templates},
            )
            columns = _columns(connection, table)
            values = ", ".join(self._value(name, kind) for name, kind in columns.items())
            if table == "asset_event_tags":
                source = (
                    "template_asset_event_tags t JOIN event_map m ON t.event_id = m.old_id JOIN copies c ON c.new = m.new_run"
                )
            else:
                source = f"template_{table} t JOIN copies c ON t.run_id = c.old"
            order = " ORDER BY c.seq, t.id RETURNING id" if table == "event_logs" else ""
            self.statements[table] = sa.text(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {source}{order}")

    def _value(self, name: str, kind: str) -> str:
        if name == "run_id":
            return "c.new"
        if name in self.EVENT_ID_COLUMNS:
            return f"(SELECT new_id FROM event_map m2 WHERE m2.old_id = t.{name} AND m2.new_run = c.new)"
        if kind.startswith("timestamp"):
            return f"t.{name} + c.shift * interval '1 second'"
        if name in ("start_time", "end_time"):
            return f"t.{name} + c.shift"
        if kind in ("text", "character varying"):
            return f"replace(t.{name}, c.old, c.new)"  # a run's id in its body, tags and events
        return f"t.{name}"

    def copy(self, connection: sa.Connection, copies: list[tuple[str, float]]) -> list[str]:
        """Copy each (template run id, shift in seconds); the new run ids, in the same order."""
        new = [str(uuid.uuid4()) for _ in copies]
        connection.execute(sa.text("TRUNCATE copies, event_map"))
        connection.execute(
            sa.text("INSERT INTO copies SELECT * FROM unnest(:seq, :old, :new, :shift)"),
            {
                "seq": list(range(len(copies))),
                "old": [old for old, _ in copies],
                "new": new,
                "shift": [shift for _, shift in copies],
            },
        )
        connection.execute(self.statements["runs"])
        connection.execute(self.statements["run_tags"])
        # Sequence values are drawn in the order rows are inserted: by copy, then by the template's event id.
        new_ids = sorted(connection.execute(self.statements["event_logs"]).scalars().all())
        runs = [run for run, (old, _) in zip(new, copies) for _ in self.events[old]]
        old_ids = [event for old, _ in copies for event in self.events[old]]
        connection.execute(
            sa.text("INSERT INTO event_map SELECT * FROM unnest(:runs, :old_ids, :new_ids)"),
            {"runs": runs, "old_ids": old_ids, "new_ids": new_ids},
        )
        connection.execute(self.statements["asset_event_tags"])
        connection.execute(self.statements["asset_check_executions"])
        return new


@dataclass
class Instigator:
    """A sensor or schedule as its ticks name it, and a stored tick of each status to copy."""

    origin_id: str
    selector_id: str
    ticks: dict[str, int]  # status -> job_ticks.id


def served_sensors(connection: sa.Connection) -> dict[str, Instigator]:
    """The served stack's sensors, each with its latest tick of each status it wrote."""
    found = {}
    for tick_id, origin_id, selector_id, status, body in connection.execute(
        sa.text("SELECT id, job_origin_id, selector_id, status, tick_body FROM job_ticks WHERE type = 'SENSOR' ORDER BY id")
    ):
        name = deserialize_value(body, TickData).instigator_name
        found.setdefault(name, Instigator(origin_id, selector_id, {})).ticks[status] = tick_id
    missing = set(SENSORS) - set(found)
    if missing:
        raise RuntimeError(f"the served stack wrote no tick of {sorted(missing)}")
    return found


def write_ticks(
    connection: sa.Connection,
    instance: dg.DagsterInstance,
    sensors: dict[str, Instigator],
    hour: datetime,
    started: dict[str, int],
) -> None:
    """A block of hours of the sensors' ticks, copies of the served stack's (`started`: how many of a sensor's
    started a run: SUCCESS, copied from its SUCCESS tick, else from its skipped one), and the ticks of
    the schedules due in that hour (made here: the served stack ran none)."""
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus

    copy = sa.text(
        "INSERT INTO job_ticks (job_origin_id, selector_id, status, type, timestamp, tick_body, create_timestamp, "
        "update_timestamp) SELECT job_origin_id, selector_id, :status, type, at, tick_body, at, at "
        "FROM job_ticks, generate_series(0, :count - 1) AS g, "
        "LATERAL (SELECT CAST(:hour AS timestamp) + g * :step * interval '1 second' AS at) AS moved WHERE id = :tick"
    )
    naive_hour = hour.replace(tzinfo=None)
    for name in SENSORS:
        sensor, runs = sensors[name], started.get(name, 0)
        skipped = sensor.ticks.get("SKIPPED") or next(iter(sensor.ticks.values()))
        every_30_s = {"step": TICK_INTERVAL_SECONDS, "count": TICKS_PER_BLOCK - runs}
        connection.execute(copy, {"tick": skipped, "status": "SKIPPED", "hour": naive_hour, **every_30_s})
        if runs:
            success = sensor.ticks.get("SUCCESS", skipped)
            connection.execute(
                copy,
                {
                    "tick": success,
                    "status": "SUCCESS",
                    "hour": naive_hour,
                    "step": PURGE_EVERY_HOURS * 3600 / runs,
                    "count": runs,
                },
            )
    day = hour.replace(hour=0)
    for name, at in SCHEDULES.items():
        if not hour <= day + at < hour + timedelta(hours=PURGE_EVERY_HOURS):
            continue
        instance.create_tick(
            TickData(
                instigator_origin_id=f"origin-{name}",
                instigator_name=name,
                instigator_type=InstigatorType.SCHEDULE,
                status=TickStatus.SUCCESS,
                timestamp=(day + at).timestamp(),
                selector_id=f"selector-{name}",
                run_ids=[str(uuid.uuid4())],
            )
        )


def purge_ticks(instance: dg.DagsterInstance, sensors: dict[str, Instigator], now: datetime, with_retention: bool) -> None:
    """What the daemon does after each tick: delete the ticks past the retention of their status."""
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.instance.config import get_default_tick_retention_settings

    schedules = {name: Instigator(f"origin-{name}", f"selector-{name}", {}) for name in SCHEDULES}
    for kind, instigators in ((InstigatorType.SENSOR, sensors), (InstigatorType.SCHEDULE, schedules)):
        settings = instance.get_tick_retention_settings(kind) if with_retention else get_default_tick_retention_settings(kind)
        by_days = defaultdict(list)
        for status, days in settings.items():
            if days > 0:
                by_days[days].append(status)
        for instigator in instigators.values():
            for days, statuses in by_days.items():
                instance.purge_ticks(
                    instigator.origin_id, instigator.selector_id, (now - timedelta(days=days)).timestamp(), statuses
                )


def sizes(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables WHERE schemaname = 'public'")
        ).all()
        total = connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    return {**dict(rows), "database": total}


def count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def compute_logs(storage: Path) -> tuple[int, int, int]:
    """Every run's compute logs under the instance's storage folder: their bytes, the disk they take
    (whole blocks, the files' and their folders'), and how many run folders."""
    folders = list(storage.glob("*/compute_logs"))
    files = [file for folder in folders for file in folder.iterdir()]
    on_disk = sum(path.stat().st_blocks * 512 for path in [*files, *folders, *(folder.parent for folder in folders)])
    return sum(file.stat().st_size for file in files), on_disk, len(folders)


def autovacuum(engine: sa.Engine) -> None:
    """What autovacuum would do, with the server's autovacuum settings (PostgreSQL 15's defaults unless
    changed): VACUUM (not FULL) every table with more dead rows than autovacuum_vacuum_threshold (50) plus
    autovacuum_vacuum_scale_factor (a fifth) of its rows, or more rows inserted since its last vacuum than
    autovacuum_vacuum_insert_threshold (1,000) plus autovacuum_vacuum_insert_scale_factor (a fifth) of them;
    then ANALYZE every table with more rows changed since its last analysis than autovacuum_analyze_threshold
    (50) plus autovacuum_analyze_scale_factor (a tenth) of them (ANALYZE updates the row counts the
    thresholds scale with). A VACUUM of a table vacuums its TOAST table and its indexes too. The system
    catalogs too, as autovacuum does: the temporary tables the run copier truncates every block, and
    ANALYZE's statistics, leave dead rows in pg_class and pg_statistic."""
    setting = "CAST(current_setting('autovacuum_{}') AS float8)".format
    rows = "greatest(c.reltuples, 0)"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        due = connection.execute(
            sa.text(
                "SELECT format('%I.%I', s.schemaname, s.relname), "
                f"s.n_dead_tup > {setting('vacuum_threshold')} + {setting('vacuum_scale_factor')} * {rows} "
                f"OR s.n_ins_since_vacuum > {setting('vacuum_insert_threshold')} "
                f"+ {setting('vacuum_insert_scale_factor')} * {rows}, "
                f"s.n_mod_since_analyze > {setting('analyze_threshold')} + {setting('analyze_scale_factor')} * {rows} "
                "FROM pg_stat_all_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname IN ('public', 'pg_catalog')"
            )
        ).all()
        for table, vacuum, analyze in due:
            if vacuum:
                connection.execute(sa.text(f"VACUUM {table}"))
            if analyze:
                connection.execute(sa.text(f"ANALYZE {table}"))


def current_xid(engine: sa.Engine) -> int:
    """The server's next transaction id (64 bits), assigning none."""
    with engine.connect() as connection:
        query = "SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint)"
        return connection.execute(sa.text(query)).scalar()


def wait_for_older_transactions(engine: sa.Engine, since: int, timeout: float = 900) -> float:
    """Wait until no session on the server, in any database, still has a transaction or a snapshot from
    before transaction id `since` (a block's start); returns the seconds waited. PostgreSQL 15 recycles a
    deleted B-tree page only once it is older than every snapshot on the server (BTPageIsRecyclable checks
    the shared horizon), and a session of another database held open for minutes, which on a server
    would hold back a few minutes of page reuse, holds back weeks of simulated days: their indexes would
    grow on new pages while deleted ones wait. 4 simulated hours are 4 real hours on a server, long
    enough for ordinary transactions to end, so each block waits for those older than itself."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND ("
        "CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint) - age(backend_xmin) < :since "
        "OR CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint) - age(backend_xid) < :since)"
    )
    began = time.monotonic()
    with engine.connect() as connection:
        while connection.execute(query, {"since": since}).scalar():
            connection.rollback()  # a new snapshot for the next look
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"sessions on the server kept transactions older than xid {since} for {timeout} s")
            time.sleep(0.2)
    return time.monotonic() - began


def tick_relations(engine: sa.Engine) -> tuple[int, int, int]:
    """job_ticks's bytes in its heap (its rows' pages), its indexes and its TOAST table (with its index)."""
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT pg_relation_size(c.oid), pg_indexes_size(c.oid), "
                "coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) FROM pg_class c "
                "WHERE c.oid = CAST('job_ticks' AS regclass)"
            )
        ).one()


def flush_statistics_on_checkin() -> None:
    """Make every connection of this process flush its table statistics (the dead and inserted rows
    autovacuum's thresholds read) when it goes back to its pool. A PostgreSQL backend otherwise flushes
    them at most once a second, or 10 s later when idle: for a simulated day squeezed into a few seconds,
    hours of deletes would be missing from `autovacuum`'s check, which would then vacuum later than
    autovacuum does on a server, seconds of real time after a threshold is crossed."""

    def flush(dbapi_connection, connection_record) -> None:
        if dbapi_connection is None:  # invalidated
            return
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        # The backend flushes on going idle, before it answers the commit: the statistics are in once it returns.
        dbapi_connection.commit()

    sa.event.listen(sa.pool.Pool, "checkin", flush)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f}"


def simulate(args: argparse.Namespace, dagster_url: str, app_url: str, home: Path) -> dict[int, int]:
    """The simulated days; the database's size on each day reported."""
    engine = sa.create_engine(app_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(500, 10_000, seed=7))
    schema.create_pipeline_tables(engine)
    engine.dispose()
    (home / "dagster.yaml").symlink_to(ROOT / service.PRODUCTION_INSTANCE / "dagster.yaml")
    env = {"DAGSTER_PG_URL": dagster_url, "DATABASE_URL": app_url}
    os.environ.update(env)  # read by the instance's dagster.yaml in this process too
    templates = make_template_runs(home, env, args.port)
    began = time.monotonic()
    flush_statistics_on_checkin()
    storage = home / "storage"
    dagster = sa.create_engine(dagster_url)
    instance = dg.DagsterInstance.from_config(str(home))
    # Connections held in a pool, as Dagster's webserver holds them: its PostgreSQL storage otherwise opens
    # one per call (NullPool), which, for a year squeezed into minutes, would be most of the time.
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=5)
    template_events = sum(count_events(dagster, run_id) for run_id in templates)
    template_bytes, template_disk, _ = compute_logs(storage)
    if args.maintenance:
        mode = f"WITH the maintenance (delete_old_runs, {args.retention_days} days; the instance's tick retention)"
    else:
        mode = "WITHOUT the maintenance (no run deleted; Dagster's default tick retention)"
    print(
        f"template: a recalculation and its snapshot on the served stack, {template_events} event rows, "
        f"{template_bytes:,} bytes of compute logs ({template_disk:,} on disk); {mode}; "
        "VACUUM as autovacuum would, every 4 simulated hours (this server runs with autovacuum = off)",
        flush=True,
    )
    header = (
        ["day", "runs", "event rows", "ticks"]
        + [f"{table} MB" for table in SHOWN_TABLES]
        + ["job_ticks heap MB", "job_ticks indexes MB", "job_ticks TOAST MB"]
        + ["other MB", "database MB", "compute logs MB", "on disk MB", "run folders"]
    )
    print(" | ".join(header), flush=True)
    template_created = {run_id: instance.get_run_record_by_id(run_id).create_timestamp for run_id in templates}
    first_day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=args.days + 2)
    reported = {}
    waited = 0.0
    with dagster.connect() as connection:
        copier = RunCopier(connection, templates)
        sensors = served_sensors(connection)
        connection.commit()
        for day in range(1, args.days + 1):
            day_start = first_day + timedelta(days=day)
            for block in (day_start + timedelta(hours=hours) for hours in range(0, 24, PURGE_EVERY_HOURS)):
                block_xid = current_xid(dagster)
                block_end = block + timedelta(hours=PURGE_EVERY_HOURS)
                due = [day_start + at for at in (NIGHTLY, *CHANGE_TRIGGERED) if block <= day_start + at < block_end]
                copies = [
                    (run_id, (at + offset - template_created[run_id]).total_seconds())
                    for at in due
                    for run_id, offset in zip(templates, (timedelta(0), SNAPSHOT_AFTER))
                ]
                for (old, _), new in zip(copies, copier.copy(connection, copies)):
                    shutil.copytree(storage / old, storage / new)
                changes = sum(1 for at in due if at != day_start + NIGHTLY)
                started = {"snapshot_after_recalculation": len(due), "recalculate_on_listing_change": changes}
                write_ticks(connection, instance, sensors, block, started)
                connection.execute(sa.text("SELECT pg_stat_force_next_flush()"))  # held, never checked in
                connection.commit()
                purge_ticks(instance, sensors, block_end, args.maintenance)
                if args.maintenance and block <= day_start + MAINTENANCE_TIME < block_end:
                    maintenance.delete_old_runs(instance, day_start + MAINTENANCE_TIME, args.retention_days, keep=set(templates))
                waited += wait_for_older_transactions(dagster, block_xid)
                autovacuum(dagster)
            if day in args.report:
                size = sizes(dagster)
                log_bytes, log_disk, folders = compute_logs(storage)
                shown = [size.get(table, 0) for table in SHOWN_TABLES]
                other = sum(value for table, value in size.items() if table not in SHOWN_TABLES and table != "database")
                row = [
                    str(day),
                    f"{count(dagster, 'runs'):,}",
                    f"{count(dagster, 'event_logs'):,}",
                    f"{count(dagster, 'job_ticks'):,}",
                ]
                row += [_mb(value) for value in [*shown, *tick_relations(dagster)]] + [
                    _mb(other),
                    _mb(size["database"]),
                    _mb(log_bytes),
                    _mb(log_disk),
                    f"{folders:,}",
                ]
                print(" | ".join(row), flush=True)
                reported[day] = size["database"]
    instance.dispose()
    dagster.dispose()
    print(
        f"simulated {args.days} days in {time.monotonic() - began:,.0f} s (after the template runs), "
        f"{waited:,.0f} s of them waiting for other sessions' older transactions",
        flush=True,
    )
    return reported


def count_events(engine: sa.Engine, run_id: str) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM event_logs WHERE run_id = :run_id"), {"run_id": run_id}).scalar()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="the PostgreSQL server")
    parser.add_argument("--port", type=int, default=3098, help="the template stack's webserver port (default: %(default)s)")
    parser.add_argument("--days", type=int, default=365, help="simulated days (default: %(default)s)")
    parser.add_argument("--report", default=DEFAULT_REPORT, help="the days whose sizes are printed (default: %(default)s)")
    parser.add_argument("--retention-days", type=int, default=30, help="CPU_PIPELINE_RUN_RETENTION_DAYS (default: %(default)s)")
    parser.add_argument(
        "--without-maintenance", dest="maintenance", action="store_false", help="delete nothing; Dagster's tick retention"
    )
    args = parser.parse_args(argv)
    # Stopped by Ctrl-C or SIGTERM (even when started with them ignored), it still drops its databases.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    args.report = sorted({int(day) for day in args.report.split(",") if int(day) <= args.days} | {args.days})
    server = sa.make_url(args.server_url)
    with (
        scratch_database(server, "cpu_pipeline_storage_dagster") as dagster_url,
        scratch_database(server, "cpu_pipeline_storage_app") as app_url,
        tempfile.TemporaryDirectory() as home,
    ):
        reported = simulate(args, dagster_url, app_url, Path(home))
    if 60 in reported and args.days > 60:
        growth = reported[args.days] / reported[60] - 1
        plateau = abs(growth) <= 0.10
        print(f"day {args.days} vs day 60: {growth:+.1%} ({'plateau: within 10%' if plateau else 'no plateau: beyond 10%'})")
        return 0 if plateau or not args.maintenance else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
