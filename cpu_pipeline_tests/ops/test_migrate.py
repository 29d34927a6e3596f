"""`cpu-pipeline migrate` and the refusals around it (`cpu-pipeline preflight`, which `make dev` runs, and
`serve`), on storage Dagster 1.9.0 wrote: fixtures/dagster_1_9_0, SQLite files and a PostgreSQL dump
(make_fixture.sh there says how they were made; the tests never run it)."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.definitions.selector import InstigatorSelector
from dagster._core.scheduler.instigation import InstigatorStatus, TickStatus
from dagster._daemon.types import DaemonHeartbeat

from cpu_pipeline.database import demo_catalogue, schema
from cpu_pipeline.definitions import defs
from cpu_pipeline.ops import service, storage_schema
from cpu_pipeline_tests.conftest import fresh_postgres_database

FIXTURE = Path(__file__).with_name("fixtures") / "dagster_1_9_0"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION = "cpu_pipeline.definitions"
SCHEDULE = "recalculate_cpu_metrics_nightly"
LISTING_CHANGE_SENSOR = "recalculate_on_listing_change"
SNAPSHOT_SENSOR = "snapshot_after_recalculation"
# How many materializations of each asset the fixture holds (old_release_instance.py): the failed
# recalculation got as far as cpus and listings.
FIXTURE_MATERIALIZATIONS = {
    "cpus": 2,
    "listings": 2,
    "cpu_price_targets": 1,
    "cpu_performance_metrics": 1,
    "cpu_analytics": 1,
    "cpu_analytics_history": 1,
    "cpu_price_trends": 1,
}
# A password as Deal Brain's settings may give one: it must never be printed.
SECRET = "S3cretPw"


def _old_sqlite_instance(home: Path) -> dict[str, str]:
    """The fixture's SQLite storage in `home`, with the embedded instance's dagster.yaml; its environment."""
    with tarfile.open(FIXTURE / "sqlite.tar.gz") as archive:
        archive.extractall(home, filter="data")
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    return {"DAGSTER_HOME": str(home)}


def _restore_dump(url: str) -> None:
    subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(FIXTURE / "postgres.sql")],
        check=True,
        capture_output=True,
    )


def _old_postgres_instance(home: Path, url: str) -> dict[str, str]:
    """The fixture's dump restored into the empty database at `url`, and `home` holding the production
    instance's dagster.yaml, connecting with a password (trust auth ignores it); its environment."""
    _restore_dump(url)
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / service.PRODUCTION_INSTANCE / "dagster.yaml").read_text())
    with_password = sa.make_url(url).set(password=SECRET).render_as_string(hide_password=False)
    return {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": with_password}


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


def _cpu_pipeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return _run([str(BIN / "cpu-pipeline"), *args], env)


@contextlib.contextmanager
def _instance(env: dict[str, str]):
    """The instance of `env`, opened in this process with that environment."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            yield instance
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _daemon_beating(env: dict[str, str], daemon_id: str):
    """A daemon's heartbeats on the instance of `env`, every half second, as a running dagster-daemon's."""
    stop = threading.Event()
    with _instance(env) as instance:

        def beat() -> None:
            while not stop.is_set():
                instance.add_daemon_heartbeat(DaemonHeartbeat(time.time(), "SCHEDULER", daemon_id, None))
                stop.wait(0.5)

        beating = threading.Thread(target=beat)
        beating.start()
        try:
            yield
        finally:
            stop.set()
            beating.join()


def _check_migrate_keeps_everything(env: dict[str, str], tmp_path: Path) -> list[str]:
    """Migrate the fixture's storage with the command, then check what survived and that the nightly job
    runs on it; returns migrate's lines."""
    refused = _cpu_pipeline(env, "preflight")  # what `make dev` runs first
    assert refused.returncode == 1, refused.stderr
    assert "needs migrating" in refused.stderr and "cpu-pipeline migrate" in refused.stderr

    migrated = _cpu_pipeline(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert SECRET not in migrated.stdout + migrated.stderr
    lines = migrated.stdout.splitlines()
    assert any(line.startswith("backed up the storage to ") for line in lines), lines
    assert any(line.startswith("run storage: schema ") and line.endswith(" -> 29b539ebc72a") for line in lines), lines
    assert "run storage: data migration backfill_end_timestamp: done" in lines
    assert lines[-1].endswith(f"is ready for Dagster {storage_schema.DAGSTER_VERSION}")

    with _instance(env) as instance:
        assert storage_schema.pending_migrations(instance) == []
        runs = {(run.job_name, run.status) for run in instance.get_runs()}
        assert runs == {
            ("recalculate_cpu_metrics", dg.DagsterRunStatus.SUCCESS),
            ("recalculate_cpu_metrics", dg.DagsterRunStatus.FAILURE),
            ("snapshot_cpu_price_history", dg.DagsterRunStatus.SUCCESS),
        }
        succeeded = dg.RunsFilter(job_name="recalculate_cpu_metrics", statuses=[dg.DagsterRunStatus.SUCCESS])
        [recalculated] = instance.get_runs(succeeded)
        [snapshot] = instance.get_runs(dg.RunsFilter(job_name="snapshot_cpu_price_history"))
        assert recalculated.tags["cpu_pipeline/scheduled_for"] == "2024-11-01T02:30:00+00:00"

        for asset, count in FIXTURE_MATERIALIZATIONS.items():
            assert len(instance.fetch_materializations(dg.AssetKey(asset), limit=10).records) == count, asset
        written = instance.get_latest_materialization_event(dg.AssetKey("cpu_analytics"))
        assert written.run_id == recalculated.run_id
        assert written.asset_materialization.metadata["cpus_written"].value == 3

        # Looked up by selector, as the daemon does, with today's definitions' names.
        states = {state.selector_id: state for state in instance.all_instigator_state()}

        def stored(name: str):
            return states[InstigatorSelector(location_name=LOCATION, repository_name="__repository__", name=name).get_id()]

        assert defs.resolve_schedule_def(SCHEDULE) and defs.resolve_sensor_def(LISTING_CHANGE_SENSOR)
        assert defs.resolve_sensor_def(SNAPSHOT_SENSOR)
        schedule, listing_change, snapshot_sensor = stored(SCHEDULE), stored(LISTING_CHANGE_SENSOR), stored(SNAPSHOT_SENSOR)
        assert schedule.status == InstigatorStatus.RUNNING
        assert listing_change.status == InstigatorStatus.STOPPED  # the operator's choice; in code it defaults to running
        assert snapshot_sensor.status == InstigatorStatus.RUNNING
        assert snapshot_sensor.instigator_data.cursor == recalculated.run_id
        for state, run in ((schedule, recalculated), (snapshot_sensor, snapshot)):
            [tick] = instance.get_ticks(state.instigator_origin_id, state.selector_id)
            assert (tick.status, tick.run_ids) == (TickStatus.SUCCESS, [run.run_id])

    # The nightly job on the migrated instance, against a demo catalogue.
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    engine = sa.create_engine(app_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(60, 800, seed=7))
    engine.dispose()
    job = defs.resolve_schedule_def(SCHEDULE).job_name
    executed = _run([str(BIN / "dagster"), "job", "execute", "-m", LOCATION, "-j", job], {**env, "DATABASE_URL": app_url})
    assert executed.returncode == 0, executed.stderr[-3000:]
    with _instance(env) as instance:
        [latest] = instance.get_runs(limit=1)
        assert (latest.job_name, latest.status) == (job, dg.DagsterRunStatus.SUCCESS)
        assert instance.get_latest_materialization_event(dg.AssetKey("cpu_analytics")).run_id == latest.run_id
        assert len(instance.fetch_materializations(dg.AssetKey("cpu_analytics"), limit=10).records) == 2
    engine = sa.create_engine(app_url)
    with engine.connect() as connection:
        query = f"SELECT count(*) FROM cpu WHERE {schema.PERFORMANCE_COLUMNS[0]} IS NOT NULL"
        rated = connection.execute(sa.text(query)).scalar()
    engine.dispose()
    assert rated > 0
    return lines


def _backup_folder(lines: list[str]) -> Path:
    [line] = [line for line in lines if line.startswith("backed up the storage to ")]
    return Path(line.removeprefix("backed up the storage to ").split(" (")[0])


def test_migrate_on_sqlite_storage_of_dagster_1_9_keeps_runs_states_and_assets_and_the_job_runs(tmp_path):
    env = _old_sqlite_instance(tmp_path / "home")
    lines = _check_migrate_keeps_everything(env, tmp_path)
    backup = _backup_folder(lines)
    assert backup.parent == tmp_path / "home" / "backups"
    copied = sorted(path.relative_to(backup).as_posix() for path in backup.rglob("*.db"))
    with tarfile.open(FIXTURE / "sqlite.tar.gz") as archive:
        assert copied == sorted(name for name in archive.getnames() if name.endswith(".db"))
    with sqlite3.connect(backup / "history" / "runs.db") as connection:  # the storage as it was
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (3,)
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision != "29b539ebc72a"


def test_migrate_on_postgres_storage_of_dagster_1_9_keeps_runs_states_and_assets_and_the_job_runs(postgres_url, tmp_path):
    env = _old_postgres_instance(tmp_path / "home", postgres_url)
    lines = _check_migrate_keeps_everything(env, tmp_path)
    dump = _backup_folder(lines)
    assert dump.name == "dagster.dump" and dump.parent.parent == tmp_path / "home" / "backups"
    with fresh_postgres_database() as restored:  # the dump holds the storage as it was
        subprocess.run(["pg_restore", "--no-owner", "-d", restored, str(dump)], check=True, capture_output=True)
        engine = sa.create_engine(restored)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "16e3655b4d9b"
            assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 3
        engine.dispose()


def test_migrate_without_pg_dump_says_how_to_back_up_and_changes_nothing_until_told(postgres_url, tmp_path):
    env = _old_postgres_instance(tmp_path / "home", postgres_url)
    # The password as a query parameter, the form SQLAlchemy's own masking leaves in full.
    env["DAGSTER_PG_URL"] = f"{postgres_url}?password={SECRET}"
    without = {**env, "PATH": str(BIN)}  # the virtual environment alone: no pg_dump
    refused = _cpu_pipeline(without, "migrate")
    assert refused.returncode == 1
    assert "pg_dump is not installed" in refused.stderr and "cpu-pipeline migrate --no-backup" in refused.stderr
    assert SECRET not in refused.stdout + refused.stderr
    with _instance(env) as instance:
        assert storage_schema.pending_migrations(instance)
    assert not (tmp_path / "home" / "backups").exists()

    migrated = _cpu_pipeline(without, "migrate", "--no-backup")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "no backup made (--no-backup)" in migrated.stdout
    with _instance(env) as instance:
        assert storage_schema.pending_migrations(instance) == []


def test_migrate_refuses_while_a_daemon_beats_and_changes_nothing(tmp_path):
    env = _old_sqlite_instance(tmp_path / "home")
    with _daemon_beating(env, "daemon-in-the-way"):
        refused = _cpu_pipeline(env, "migrate")
    assert refused.returncode == 1
    assert "migrate: refused: another dagster-daemon (daemon id daemon-in-the-way) is running" in refused.stderr
    assert not (tmp_path / "home" / "backups").exists()
    with _instance(env) as instance:
        assert storage_schema.pending_migrations(instance)


def test_preflight_refuses_a_second_daemon_on_the_instance_and_passes_a_ready_one(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env = {"DAGSTER_HOME": str(home)}
    ready = _cpu_pipeline(env, "preflight")
    assert ready.returncode == 0, ready.stderr
    assert "is ready" in ready.stdout
    with _daemon_beating(env, "first-make-dev"):
        refused = _cpu_pipeline(env, "preflight")
    assert refused.returncode == 1
    assert "another dagster-daemon (daemon id first-make-dev) is running on this instance" in refused.stderr


def _make_dev(home: Path) -> tuple[int, str]:
    """`make dev` on the instance in `home`: its exit status and output. Should its preflight let it
    through, Dagster's dev server is stopped (its whole process group) rather than left running."""
    make = subprocess.Popen(
        ["make", "dev", f"EMBEDDED_HOME={home}", "DAGSTER_PORT=1"],  # port 1: a UI that started could not serve
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = make.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
    return make.returncode, output


def test_make_dev_refuses_a_storage_needing_migration_and_a_second_daemon(tmp_path):
    program = "cpu-pipeline"
    old = tmp_path / "old"
    _old_sqlite_instance(old)
    status, output = _make_dev(old)
    assert status != 0 and f"{program} preflight" in output
    assert "needs migrating" in output and f"{program} migrate" in output
    assert "dagster dev" not in output  # never started

    ready = tmp_path / "ready"
    ready.mkdir()
    (ready / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with _daemon_beating({"DAGSTER_HOME": str(ready)}, "an-older-make-dev"):
        status, output = _make_dev(ready)
    assert status != 0
    assert "another dagster-daemon (daemon id an-older-make-dev) is running on this instance" in output
    assert "dagster dev" not in output


def test_migrate_on_a_migrated_storage_does_nothing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    done = _cpu_pipeline({"DAGSTER_HOME": str(home)}, "migrate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nothing to migrate")
    assert not (home / "backups").exists()


def test_migrate_refuses_a_folder_that_is_not_an_instance_and_one_it_cannot_open_in_one_line(tmp_path):
    refused = _cpu_pipeline({"DAGSTER_HOME": str(tmp_path)}, "migrate")
    assert refused.returncode == 1
    assert "holds no dagster.yaml" in refused.stderr
    assert list(tmp_path.iterdir()) == []  # Dagster would have made a default instance there

    (tmp_path / "dagster.yaml").write_text("storage:\n  no_such_storage: {}\n")
    refused = _cpu_pipeline({"DAGSTER_HOME": str(tmp_path)}, "migrate")
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"migrate: cannot open the Dagster instance in {tmp_path}: ")


def test_serve_refuses_a_storage_needing_migration_naming_the_command(postgres_url, monkeypatch):
    _restore_dump(postgres_url)
    monkeypatch.setenv("DAGSTER_PG_URL", postgres_url)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    with pytest.raises(service.StackError, match=r"needs migrating .*cpu-pipeline migrate"):
        service.serve(ROOT, port=1)
    with dg.DagsterInstance.from_config(str(ROOT / service.PRODUCTION_INSTANCE)) as instance:
        assert storage_schema.pending_migrations(instance)  # nothing was started on it, nothing changed
