"""`cpu-pipeline`: the run summary, the commands a database owner runs once (`setup`, `grants`), and `serve`'s refusals."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from cpu_pipeline import cli
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for


def test_setup_says_what_it_created_and_that_a_second_run_needed_nothing(postgres_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert cli.main(["setup"]) == 0
    first = capsys.readouterr().out
    assert "created schema cpu_pipeline in postgresql+psycopg2://" in first
    assert "created table cpu_pipeline.cpu_analytics_history" in first and "created table cpu_pipeline.cpu_price_trends" in first
    assert "cpu-pipeline grants --role" in first
    assert cli.main(["setup"]) == 0
    assert "nothing to create: cpu_pipeline.cpu_analytics_history and cpu_pipeline.cpu_price_trends already exist" in (
        capsys.readouterr().out
    )


def test_setup_takes_the_schema_from_the_environment_or_the_option(postgres_url, capsys, monkeypatch):
    monkeypatch.setenv("CPU_PIPELINE_SCHEMA", "from_env")
    assert cli.main(["setup", "--database-url", postgres_url]) == 0
    assert cli.main(["setup", "--database-url", postgres_url, "--schema", "from_option"]) == 0
    assert {"from_env", "from_option"} <= set(sa.inspect(sa.create_engine(postgres_url)).get_schema_names())


def test_grants_prints_statements_for_the_role_in_that_database(postgres_url, capsys):
    catalogues.write(postgres_url, [], [])
    assert cli.main(["grants", "--role", "nightly", "--database-url", postgres_url]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("-- the privileges of nightly in postgresql+psycopg2://")
    assert printed[1] == f"GRANT CONNECT ON DATABASE {sa.make_url(postgres_url).database} TO nightly;"
    assert len(printed) == 8 and all(line.startswith("GRANT ") and line.endswith(" TO nightly;") for line in printed[1:])


def test_the_commands_fail_in_one_line_without_a_url_with_a_bad_one_or_on_sqlite(sqlite_url, capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["setup"]) == 2
    assert capsys.readouterr().err == "setup: set DATABASE_URL or pass --database-url\n"
    assert cli.main(["grants", "--role", "r", "--database-url", "mysql://u:s3cr3t@h/db"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("grants: the database URL scheme `mysql` is not supported") and "s3cr3t" not in error
    assert cli.main(["grants", "--role", "r", "--database-url", sqlite_url]) == 1
    assert capsys.readouterr().err == "grants: grants apply to PostgreSQL; sqlite has no roles\n"


@pytest.mark.parametrize("database_url", [None, ""], ids=["unset", "empty"])  # empty: `${DATABASE_URL}` on a host without it
def test_serve_refuses_to_start_without_database_url(database_url, capsys, monkeypatch):
    # Unreachable on purpose: the refusal comes before any connection (the old code failed here instead).
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://dagster@127.0.0.1:1/dagster")
    if database_url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["serve", "--port", "1"]) == 2
    assert capsys.readouterr().err.splitlines()[0].startswith("serve: DATABASE_URL is not set: the served stack recalculates")


def test_run_prints_a_failed_steps_whole_reason_first_line_first(sqlite_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, [300, 310]))
    with sa.create_engine(sqlite_url).begin() as connection:
        connection.execute(sa.text("ALTER TABLE listing DROP COLUMN adjusted_price_usd"))
    assert cli.main(["run"]) == 1
    errors = capsys.readouterr().err.splitlines()
    # The step's own error, not Dagster's wrapper around it ("Error occurred while executing op ...").
    assert errors[-1] == "failed: listings: SchemaMismatch: table `listing` has no column `adjusted_price_usd`"


def test_run_prints_every_line_of_a_reason_that_spans_several(sqlite_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    catalogues.write(sqlite_url, [cpu(1, multi="n/a")], listings_for(1, [300, 310]))  # every CPU in error: the gate fails
    assert cli.main(["run"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[-2:] == [
        "failed: cpu_performance_metrics: DagsterAssetCheckFailedError: 1 blocking asset check failed with ERROR severity:",
        "  cpu_performance_metrics: error_rate_within_limits",
    ]


def test_a_reason_is_told_from_its_root_and_dagsters_wrappers_are_left_out():
    # The chain Dagster records for a load that exhausted its retries (as test_faults' unreachable database shows).
    unreachable = SimpleNamespace(
        cls_name="DatabaseUnavailable",
        message="cpu_pipeline.database.engine.DatabaseUnavailable: cannot reach the application database x: refused\n",
        cause=None,
    )
    retried = SimpleNamespace(cls_name="RetryRequested", message="Exceeded max_retries of 3\n", cause=unreachable)
    wrapper = SimpleNamespace(
        cls_name="DagsterExecutionStepExecutionError",
        message='dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "cpus":\n',
        cause=retried,
    )
    assert cli.failure_reason(wrapper) == (
        "DatabaseUnavailable: cannot reach the application database x: refused\nRetryRequested: Exceeded max_retries of 3"
    )
