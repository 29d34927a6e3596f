"""The job as users run it, from the command line, against SQLite and a real PostgreSQL (the
pipeline's own minimal tables, and Deal Brain's real ones); the written rows are read back from the
database they were written to."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from cpu_pipeline.analytics.write_back import BEST_VALUE_RULE
from cpu_pipeline.database import demo_catalogue, schema
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, cpu, listings_for
from cpu_pipeline_tests.conftest import login_role
from cpu_pipeline_tests.postgres import relations

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Every form of URL Deal Brain's settings use (asyncpg's with its own ssl parameter) or libpq knows.
URL_FORMS = {
    "postgresql+asyncpg": {"ssl": "disable"},
    "postgresql+psycopg": {},
    "postgresql+psycopg2": {},
    "postgresql": {},
    "postgres": {},
}
WRITTEN_VALUES = [column for column in schema.ANALYTICS_COLUMNS if not column.endswith("_updated_at")]


def _run(command: list[str], env: dict, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def _dagster_job_execute(url: str, dagster_home: str) -> subprocess.CompletedProcess:
    return _run(
        [str(BIN / "dagster"), "job", "execute", "-m", "cpu_pipeline.definitions", "-j", "recalculate_cpu_metrics"],
        {"DATABASE_URL": url, "DAGSTER_HOME": dagster_home},
    )


def _run_log(dagster_home: str) -> str:
    """The messages the instance stored for its latest run, a line each. Not the command's stderr: Dagster
    passes a run's console through its log capture (a `tail -F` of a file), whose last lines a process
    that exits at once can leave uncopied (seen on a loaded machine: the failure hook's line missing)."""
    with dg.DagsterInstance.from_config(dagster_home) as instance:
        [record] = instance.get_run_records(limit=1)
        return "\n".join(event.user_message for event in instance.all_logs(record.dagster_run.run_id))


def _execute(url: str, statements: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statements)
    finally:
        engine.dispose()


@pytest.mark.parametrize("store", ["sqlite_url", "postgres_url", "deal_brain_postgres_url"])
def test_dagster_job_execute_recalculates_the_demo_catalogue(store, request, dagster_home):
    database_url = request.getfixturevalue(store)
    cpus, listings = demo_catalogue.generate_catalogue(200, 3000, seed=3)
    catalogues.write(database_url, catalogues.records(cpus), catalogues.records(listings))
    result = _dagster_job_execute(database_url, dagster_home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cpu_metrics.recalc.complete total=200 success=200 errors=0" in _run_log(dagster_home)
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


def test_the_worked_case_round_trips_through_postgres(shaped_postgres_url, dagster_home):
    postgres_url = shaped_postgres_url
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    result = _dagster_job_execute(postgres_url, dagster_home)
    assert result.returncode == 0, result.stderr[-3000:]
    table = catalogues.cpu_table(postgres_url)
    assert table.loc[1, ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]].tolist() == [
        352.80,
        338.02,
        367.58,
        14.78,
    ]


def test_a_run_above_the_error_gate_exits_non_zero_and_writes_nothing(shaped_postgres_url, dagster_home):
    postgres_url = shaped_postgres_url
    catalogues.write(postgres_url, [cpu(1), cpu(2)], listings_for(1, WORKED_HIGH) + listings_for(2, ["NaN", 300]))
    before = catalogues.cpu_table(postgres_url)
    result = _dagster_job_execute(postgres_url, dagster_home)
    assert result.returncode != 0
    assert "cpu_metrics.recalc.high_error_rate" in _run_log(dagster_home)
    assert "cpu_metrics.recalc.failed" in _run_log(dagster_home)
    pd.testing.assert_frame_equal(catalogues.cpu_table(postgres_url), before)


def test_the_drop_in_issues_catalogue_gets_deal_brains_values_on_its_real_schema(deal_brain_postgres_url, dagster_home):
    # Stored doubles as the valuation rules leave them; rounding them to cents first would move A's
    # good and fair by a cent, tie B with C, and turn D's good of 117.31 into 117.30.
    url = deal_brain_postgres_url
    catalogues.write(
        url,
        [
            cpu(1, multi=10_000, single=2_000),
            cpu(2, multi=1_000, single=500),
            cpu(3, multi=1_000, single=500),
            cpu(4, multi=None, single=None),
            cpu(5, multi=None, single=None),
        ],
        listings_for(1, [209.366, 209.336])
        + listings_for(2, [100.004])
        + listings_for(3, [100.001])
        + listings_for(4, [156.39000000000001, 78.22])
        + listings_for(5, [156.39, 78.22]),
    )
    result = _dagster_job_execute(url, dagster_home)
    assert result.returncode == 0, result.stderr[-3000:]
    table = catalogues.cpu_table(url)
    targets = ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]
    assert table.loc[1, targets].tolist() == [209.35, 209.33, 209.37, 0.02]
    assert table.loc[4, targets].tolist() == [117.31, 62.03, 172.58, 55.27]
    assert table.loc[5, "price_target_good"] == 117.30
    values = ["performance_value_percentile", "performance_value_rating", "dollar_per_mark_single", "dollar_per_mark_multi"]
    assert table.loc[1, values[:2]].tolist() == [0.0, "excellent"]
    assert table.loc[2, values].tolist() == [66.7, "fair", 0.2, 0.1]
    assert table.loc[3, values].tolist() == [33.3, "good", 0.2, 0.1]
    assert table.loc[[2, 3], "price_target_confidence"].tolist() == ["insufficient", "insufficient"]


def test_the_job_writes_the_same_rows_whichever_form_of_deal_brains_url_it_is_given(deal_brain_postgres_url, dagster_home):
    url = deal_brain_postgres_url
    catalogues.write(
        url,
        [cpu(1), cpu(2, multi=1000, single=500), cpu(3, multi=1000, single=500), cpu(4)],
        listings_for(1, WORKED_HIGH) + listings_for(2, [100.004]) + listings_for(3, [100.001, 97.27799999999999]),
    )
    secret = f"pw-{uuid.uuid4().hex}"  # trust auth ignores it; it must never be shown
    written, stamps = [], []
    for scheme, query in URL_FORMS.items():
        form = sa.make_url(url).set(drivername=scheme, password=secret, query=query).render_as_string(hide_password=False)
        result = _dagster_job_execute(form, dagster_home)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"with psycopg2 (URL scheme {scheme})" in result.stderr
        assert secret not in result.stdout + result.stderr
        table = catalogues.cpu_table(url)
        assert (table["updated_at"] == table["price_target_updated_at"]).all()
        stamps.append(table["price_target_updated_at"].max())
        written.append(table[WRITTEN_VALUES])
    assert stamps == sorted(set(stamps))  # each run wrote every row anew
    for other in written[1:]:
        pd.testing.assert_frame_equal(other, written[0])
    assert written[0].loc[1, "price_target_good"] == 352.80
    assert written[0]["price_target_confidence"].tolist() == ["high", "insufficient", "low", "insufficient"]


def test_an_unknown_url_scheme_fails_at_once_naming_it_and_the_accepted_ones(dagster_home):
    result = _dagster_job_execute("mysql+pymysql://deal_brain:s3cr3t-pw@127.0.0.1/deal_brain", dagster_home)
    assert result.returncode != 0
    assert "the database URL scheme `mysql+pymysql` is not supported; accepted: `postgresql+asyncpg://`" in result.stderr
    assert "s3cr3t-pw" not in result.stdout + result.stderr


def test_both_jobs_run_as_a_role_holding_exactly_the_printed_grants_and_create_nothing(shaped_postgres_url, dagster_home):
    url = shaped_postgres_url
    catalogues.write(url, [cpu(1), cpu(2)], listings_for(1, WORKED_HIGH) + listings_for(2, [100.004, 100.001]))
    owner = {"DATABASE_URL": url}
    setup = _run([str(BIN / "cpu-pipeline"), "setup"], owner)
    assert setup.returncode == 0 and "created schema cpu_pipeline" in setup.stdout, setup.stderr
    # What PostgreSQL grants every role by default goes too, so the role has exactly what is printed.
    database = sa.make_url(url).database
    _execute(url, f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC')
    with login_role(url) as role:
        printed = _run([str(BIN / "cpu-pipeline"), "grants", "--role", role], owner)
        assert printed.returncode == 0, printed.stderr
        _execute(url, printed.stdout)
        as_role = sa.make_url(url).set(username=role).render_as_string(hide_password=False)
        for probe in ("CREATE TABLE public.probe (i integer)", "CREATE TEMPORARY TABLE probe (i integer)"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                _execute(as_role, probe)
        before = relations(url)

        recalculation = _dagster_job_execute(as_role, dagster_home)
        assert recalculation.returncode == 0, recalculation.stderr[-3000:]
        history = _run(
            [
                str(BIN / "dagster"),
                "job",
                "execute",
                "-m",
                "cpu_pipeline.definitions",
                "-j",
                "snapshot_cpu_price_history",
            ],
            {"DATABASE_URL": as_role, "DAGSTER_HOME": dagster_home},
        )
        assert history.returncode == 0, history.stderr[-3000:]
        assert relations(url) == before  # no table, sequence, index or temporary schema appeared anywhere

    table = catalogues.cpu_table(url)
    assert table.loc[1, "price_target_good"] == 352.80 and table.loc[2, "price_target_confidence"] == "low"
    assert (table["updated_at"] == table["price_target_updated_at"]).all()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = [
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            for table in schema.pipeline_tables("cpu_pipeline")
        ]
    engine.dispose()
    assert counts == [2, 2]  # today's snapshot and the trends, one row per CPU


def test_dg_launch_runs_the_job(sqlite_url, dagster_home):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    result = _run(
        [str(BIN / "dg"), "launch", "--job", "recalculate_cpu_metrics"],
        {"DATABASE_URL": sqlite_url, "DAGSTER_HOME": dagster_home},
    )
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
    # Ranked only among CPUs with at least medium confidence, said above the list, n and confidence beside each.
    best = result.stdout.split("Ten best-value CPUs:\n", 1)[1]
    assert best.startswith(BEST_VALUE_RULE + "\n\n| name | $/multi | percentile | n | confidence |\n")
    ranked = [line.split(" | ") for line in best.splitlines()[6:16]]
    assert len(ranked) == 10 and all(row[-1] in ("high |", "medium |") and int(row[-2]) >= 5 for row in ranked)
    assert "\u00a0" not in result.stdout  # names as stored, copied from the terminal
    embedded = f"sqlite:///{tmp_path / 'data' / 'cpu_pipeline.sqlite'}"
    assert catalogues.cpu_table(embedded)["price_target_updated_at"].notna().all()
    # A second run finds the catalogue in place and recalculates it rather than refilling it.
    again = _run([str(BIN / "cpu-pipeline"), "run"], env)
    assert again.returncode == 0 and "Filled the embedded database" not in again.stderr


def test_todays_snapshot_materialises_from_the_cli(sqlite_url, dagster_home):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    assert _dagster_job_execute(sqlite_url, dagster_home).returncode == 0
    today = datetime.now(UTC).date()
    result = _run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "cpu_pipeline.definitions", "--select", "cpu_analytics_history"],
        {"DATABASE_URL": sqlite_url, "DAGSTER_HOME": dagster_home},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT cpu_id, day, price_target_good FROM cpu_analytics_history")).fetchall()
    assert [tuple(row) for row in rows] == [(1, today.isoformat(), 352.8)]


def test_subnormal_prices_are_recalculated_alike_on_both_stores(sqlite_url, postgres_url, dagster_home):
    # PostgreSQL refuses a float underflow with an error, which interpolating quartiles between such
    # prices once met: the whole run failed there, not on SQLite.
    for url in (sqlite_url, postgres_url):
        catalogues.write(url, [cpu(1), cpu(2)], listings_for(1, [5e-324, 1e-323, 2.5e-323]) + listings_for(2, WORKED_HIGH))
        result = _dagster_job_execute(url, dagster_home)
        assert result.returncode == 0, result.stderr[-3000:]
    on_sqlite, on_postgres = (catalogues.cpu_table(url)[WRITTEN_VALUES] for url in (sqlite_url, postgres_url))
    pd.testing.assert_frame_equal(on_postgres, on_sqlite, check_dtype=False)
    assert on_postgres.loc[1, "price_target_sample_size"] == 3
