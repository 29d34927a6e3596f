"""The job as users run it, from the command line, against SQLite and a real PostgreSQL; the
written rows are read back from the database they were written to."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.database import demo_catalogue
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, cpu, listings_for

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(command: list[str], env: dict, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def _dagster_job_execute(url: str, dagster_home: str) -> subprocess.CompletedProcess:
    return _run([str(BIN / "dagster"), "job", "execute", "-m", "cpu_pipeline.definitions", "-j", "recalculate_cpu_metrics"],
                {"DATABASE_URL": url, "DAGSTER_HOME": dagster_home})


def test_dagster_job_execute_recalculates_the_demo_catalogue(database_url, dagster_home):
    engine = sa.create_engine(database_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(200, 3000, seed=3))
    engine.dispose()
    result = _dagster_job_execute(database_url, dagster_home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cpu_metrics.recalc.complete total=200 success=200 errors=0" in result.stderr
    table = catalogues.cpu_table(database_url)
    assert table["price_target_updated_at"].notna().all()
    assert set(table["price_target_confidence"]) <= {"high", "medium", "low", "insufficient"}
    assert table["performance_value_percentile"].dropna().between(0, 100).all()
    targets = table.dropna(subset=["price_target_good"])
    assert (targets["price_target_great"] <= targets["price_target_good"]).all()
    assert (targets["price_target_good"] <= targets["price_target_fair"]).all()
    # The run is recorded in the instance the user pointed DAGSTER_HOME at.
    runs = list((Path(dagster_home) / "history" / "runs").glob("*.db"))
    assert runs


def test_the_worked_case_round_trips_through_postgres(postgres_url, dagster_home):
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    result = _dagster_job_execute(postgres_url, dagster_home)
    assert result.returncode == 0, result.stderr[-3000:]
    table = catalogues.cpu_table(postgres_url)
    assert table.loc[1, ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]].tolist() == [
        352.80, 338.02, 367.58, 14.78]


def test_a_run_above_the_error_gate_exits_non_zero_and_writes_nothing(postgres_url, dagster_home):
    catalogues.write(postgres_url, [cpu(1), cpu(2)], listings_for(1, WORKED_HIGH) + listings_for(2, ["NaN", 300]))
    before = catalogues.cpu_table(postgres_url)
    result = _dagster_job_execute(postgres_url, dagster_home)
    assert result.returncode != 0
    assert "cpu_metrics.recalc.high_error_rate" in result.stderr
    assert "cpu_metrics.recalc.failed" in result.stderr
    pd.testing.assert_frame_equal(catalogues.cpu_table(postgres_url), before)


def test_dg_launch_runs_the_job(sqlite_url, dagster_home):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    result = _run([str(BIN / "dg"), "launch", "--job", "recalculate_cpu_metrics"],
                  {"DATABASE_URL": sqlite_url, "DAGSTER_HOME": dagster_home})
    assert result.returncode == 0, result.stderr[-3000:]
    assert catalogues.cpu_table(sqlite_url).loc[1, "price_target_good"] == 352.80


def test_the_quickstart_fills_the_embedded_default_and_prints_a_summary(tmp_path, dagster_home, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    env = {"CPU_PIPELINE_DATA_DIR": str(tmp_path / "data")}
    result = _run([str(BIN / "cpu-pipeline"), "run"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "recalculate_cpu_metrics: SUCCESS" in result.stdout
    assert "cpus_total=300  cpus_written=300" in result.stdout
    assert "Ten best-value CPUs" in result.stdout
    embedded = f"sqlite:///{tmp_path / 'data' / 'cpu_pipeline.sqlite'}"
    assert catalogues.cpu_table(embedded)["price_target_updated_at"].notna().all()
    # A second run finds the catalogue in place and recalculates it rather than refilling it.
    again = _run([str(BIN / "cpu-pipeline"), "run"], env)
    assert again.returncode == 0 and "Filled the embedded database" not in again.stderr


def test_todays_history_partition_materialises_from_the_cli_and_a_past_day_is_refused(sqlite_url, dagster_home):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    assert _dagster_job_execute(sqlite_url, dagster_home).returncode == 0
    today = datetime.now(timezone.utc).date()

    def materialize(day) -> subprocess.CompletedProcess:
        return _run([str(BIN / "dagster"), "asset", "materialize", "-m", "cpu_pipeline.definitions",
                     "--select", "cpu_analytics_history", "--partition", day.isoformat()],
                    {"DATABASE_URL": sqlite_url, "DAGSTER_HOME": dagster_home})

    result = materialize(today)
    assert result.returncode == 0, result.stderr[-3000:]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT cpu_id, day, price_target_good FROM cpu_analytics_history")).fetchall()
    assert [tuple(row) for row in rows] == [(1, today.isoformat(), 352.8)]
    past = materialize(today - timedelta(days=3))
    assert past.returncode != 0
    assert "cannot be computed" in past.stderr + past.stdout
