"""`cpu-pipeline`: the run summary, the commands a database owner runs once (`setup`, `grants`), and `serve`'s refusals."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from cpu_pipeline import cli, settings
from cpu_pipeline.database import demo_catalogue
from cpu_pipeline.ops.health import DEFAULT_HEARTBEAT_TOLERANCE_SECONDS, DEFAULT_TICK_FAILURES
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for
from cpu_pipeline_tests.conftest import TEST_DATABASE_URL, free_port, login_role
from cpu_pipeline_tests.fake_postgres import refusing_server

CPU_PIPELINE = str(Path(sys.executable).with_name("cpu-pipeline"))


@pytest.fixture(autouse=True)
def code_location_of_this_tests_environment():
    """A command reads the environment afresh, but the code location it runs is built once per process,
    from `settings.current()`: as each command does in a process of its own, each test here builds it
    from its own environment (an earlier test module may have built it from another)."""

    def forget() -> None:
        settings.current.cache_clear()
        sys.modules.pop("cpu_pipeline.definitions", None)

    forget()
    yield
    forget()


def test_setup_says_what_it_created_and_that_a_second_run_needed_nothing(postgres_url, capsys, monkeypatch):
    catalogues.write(postgres_url, [cpu(1)], [])  # Deal Brain's tables, as its migrations leave them
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert cli.main(["setup"]) == 0
    first = capsys.readouterr().out
    assert "created schema cpu_pipeline in postgresql+psycopg2://" in first
    assert "created index ix_listing_updated_at on listing (updated_at)" in first  # the change probe's lookup
    assert "created table cpu_pipeline.cpu_analytics_history" in first and "created table cpu_pipeline.cpu_price_trends" in first
    assert "cpu-pipeline grants --role" in first
    assert cli.main(["setup"]) == 0
    again = capsys.readouterr().out
    assert "nothing to create: cpu_pipeline.cpu_analytics_history, cpu_pipeline.cpu_price_trends and what they need" in again


def test_setup_before_deal_brains_tables_says_it_skipped_the_indexes_and_how_to_get_them(postgres_url, capsys):
    assert cli.main(["setup", "--database-url", postgres_url]) == 0
    printed = capsys.readouterr().out
    assert "created table cpu_pipeline.cpu_price_trends" in printed
    assert (
        "skipped the indexes on listing (ix_listing_updated_at, ix_listing_active_prices): the database has no "
        "`listing` table yet; rerun `cpu-pipeline setup` after Deal Brain's migrations (or `cpu-pipeline generate`)"
    ) in printed
    catalogues.write(postgres_url, [cpu(1)], [])  # the migrations, run meanwhile
    assert cli.main(["setup", "--database-url", postgres_url]) == 0
    again = capsys.readouterr().out
    assert "created index ix_listing_active_prices" in again and "skipped" not in again


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
    assert errors[-1].startswith("failed: listing_figures: table `listing` has no column `adjusted_price_usd`: ")
    assert errors[-1].endswith("run its migrations (alembic upgrade head)")


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


# --- one line per mistake, the cause first ----------------------------------------------------------


def _run_failures(capsys) -> list[str]:
    assert cli.main(["run"]) == 1
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed: ")]


def test_run_on_a_missing_database_prints_its_cause_once_for_both_loads_and_is_not_retried(capsys, monkeypatch):
    url = sa.make_url(TEST_DATABASE_URL).set(database="no_such_database_e11").render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    started = time.monotonic()
    [failure] = _run_failures(capsys)
    assert time.monotonic() - started < 1 + 2 + 4  # no retry waited for
    assert failure.startswith('failed: cpus, listing_figures: database "no_such_database_e11" does not exist on 127.0.0.1:')


def test_run_on_a_known_cause_prints_the_progress_and_the_cause_without_a_traceback(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli.main(["run"]) == 1
    printed = capsys.readouterr()
    console = printed.out + printed.err
    assert 'STEP_FAILURE - Execution of step "cpus" failed.' in console  # the progress
    assert "Stack Trace" not in console and "Traceback" not in console and 'File "' not in console
    [failure] = [line for line in printed.err.splitlines() if line.startswith("failed: ")]
    assert failure.startswith(f"failed: cpus, listing_figures: the SQLite database {tmp_path / 'missing.sqlite'} does not exist")
    assert "sqlite:////absolute/path with four slashes" in failure
    assert len(console.splitlines()) < 20  # 297 lines before this printed the cause alone


def test_run_verbose_keeps_dagsters_tracebacks(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli.main(["run", "--verbose"]) == 1
    errors = capsys.readouterr().err
    assert "Stack Trace:" in errors and 'File "' in errors
    assert [line for line in errors.splitlines() if line.startswith("failed: ")][0].startswith("failed: cpus, listing_figures: ")


def test_run_on_an_unknown_error_keeps_its_traceback(sqlite_url, capsys, monkeypatch):
    from cpu_pipeline.database import bulk

    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, [300, 310]))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    def broken(engine):
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(bulk, "load_cpus", broken)
    assert cli.main(["run"]) == 1
    errors = capsys.readouterr().err
    assert "Stack Trace:" in errors and "in broken" in errors
    assert "failed: cpus: ZeroDivisionError: a bug of ours" in errors.splitlines()


def test_run_with_a_wrong_password_or_host_prints_the_cause_at_once(capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with refusing_server("28P01", 'password authentication failed for user "deal_brain"', asks_password=True) as port:
        monkeypatch.setenv("DATABASE_URL", f"postgresql://deal_brain:s3cr3t@127.0.0.1:{port}/deal_brain")
        [failure] = _run_failures(capsys)
    assert failure.startswith(f'failed: cpus, listing_figures: wrong password for user "deal_brain" on 127.0.0.1:{port}')
    monkeypatch.setenv("DATABASE_URL", "postgresql://deal_brain:s3cr3t@db.invalid/deal_brain")
    assert cli.main(["run"]) == 1
    errors = capsys.readouterr().err
    [failure] = [line for line in errors.splitlines() if line.startswith("failed: ")]
    assert failure.startswith('failed: cpus, listing_figures: unknown database host "db.invalid" (no such name in DNS)')
    assert "retries" not in failure and "RetryRequested" not in errors


def test_run_on_a_server_that_is_down_prints_the_cause_first_then_that_the_retries_ran_out(capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://deal_brain@127.0.0.1:{port}/deal_brain")
    assert cli.main(["run"]) == 1
    [failure] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed: ")]
    assert failure.startswith(f"failed: cpus, listing_figures: the database server at 127.0.0.1:{port} refuses connections")
    assert failure.endswith("(still so after the step's retries)")


def test_a_setting_that_cannot_be_read_stops_every_command_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("CPU_PIPELINE_MAX_RUNTIME_SECONDS", "1h")
    assert cli.main(["run"]) == 2
    assert capsys.readouterr().err == (
        "cpu-pipeline: CPU_PIPELINE_MAX_RUNTIME_SECONDS='1h': not a whole number above 0 (seconds without a unit: "
        "`3600`, not `1h`); accepted: a whole number of seconds above 0\n"
    )


def test_run_on_an_empty_database_says_which_table_is_missing_and_what_to_do(postgres_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    [cpus, *_] = _run_failures(capsys)
    assert cpus.startswith("failed: cpus: the application database has no table `cpu`: ")
    assert "cpu-pipeline generate" in cpus


def test_run_without_the_privilege_to_read_names_the_grants_command(postgres_url, capsys, monkeypatch):
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, [300, 310]))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with login_role(postgres_url) as role:
        monkeypatch.setenv("DATABASE_URL", sa.make_url(postgres_url).set(username=role).render_as_string(hide_password=False))
        failures = _run_failures(capsys)
    assert failures[0].startswith(f'failed: cpus, listing_figures: role "{role}" has no privilege for table cpu: ')
    assert f"`cpu-pipeline grants --role {role}`" in failures[0]


def test_run_takes_a_postgres_scheme_as_postgresql(postgres_url, capsys, monkeypatch):
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, [300, 310, 320, 330]))
    monkeypatch.setenv("DATABASE_URL", postgres_url.replace("postgresql://", "postgres://", 1))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli.main(["run"]) == 0
    assert "database: postgres://postgres@127.0.0.1" in capsys.readouterr().out
    assert catalogues.cpu_table(postgres_url)["price_target_updated_at"].notna().all()


def test_generate_into_a_missing_database_fails_in_one_line_with_its_cause(capsys):
    url = sa.make_url(TEST_DATABASE_URL).set(database="no_such_database_e11").render_as_string(hide_password=False)
    assert cli.main(["generate", "--database-url", url]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith('generate: database "no_such_database_e11" does not exist on 127.0.0.1:')


def test_health_on_a_missing_dagster_database_says_so_in_one_line_as_the_other_commands_do(capsys, monkeypatch):
    url = sa.make_url(TEST_DATABASE_URL).set(database="no_dagster_database_e20").render_as_string(hide_password=False)
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # instances/production reads DAGSTER_PG_URL
    assert cli.main(["health"]) == 1
    last = capsys.readouterr().err.splitlines()[-1]  # after dagster-postgres's own warnings as it retries
    assert last.startswith("health: cannot read the Dagster instance in ")
    assert ': database "no_dagster_database_e20" does not exist on 127.0.0.1:' in last and "FATAL" not in last


def test_generate_into_a_filled_database_names_the_replace_flag(sqlite_url, capsys):
    catalogues.write(sqlite_url, [], [])  # the file, with empty tables
    assert cli.main(["generate", "--database-url", sqlite_url, "--cpus", "20", "--listings", "50"]) == 0
    assert cli.main(["generate", "--database-url", sqlite_url, "--cpus", "20", "--listings", "50"]) == 1
    assert capsys.readouterr().err == (
        "generate: the cpu and listing tables already hold rows: pass --replace to delete them first\n"
    )
    assert cli.main(["generate", "--database-url", sqlite_url, "--cpus", "30", "--listings", "50", "--replace"]) == 0


def test_generate_writes_the_profile_asked_for_and_offers_every_profile(sqlite_url, capsys):
    catalogues.write(sqlite_url, [], [])
    arguments = ["generate", "--database-url", sqlite_url, "--cpus", "50", "--listings", "2000", "--replace"]
    assert cli.main([*arguments, "--profile", "lopsided"]) == 0
    expected = demo_catalogue.generate_catalogue(50, 2000, profile="lopsided")[1]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        written = connection.execute(sa.text("SELECT cpu_id FROM listing ORDER BY id")).scalars().all()
    engine.dispose()
    assert written == [None if pd.isna(cpu_id) else cpu_id for cpu_id in expected["cpu_id"]]
    with pytest.raises(SystemExit):
        cli.main([*arguments, "--profile", "nonesuch"])
    assert f"(choose from {', '.join(map(repr, demo_catalogue.PROFILES))})" in capsys.readouterr().err


# --- progress where work is long, and a quick --help ----------------------------------------------------


def test_generate_shows_a_progress_bar_on_a_terminal(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    catalogues.write(url, [], [])
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    command = [CPU_PIPELINE, "generate", "--database-url", url]
    with subprocess.Popen(
        [*command, "--cpus", "100", "--listings", "120000"], stdout=secondary, stderr=secondary, start_new_session=True
    ) as process:
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal is closed: the command has ended
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=300) == 0
    os.close(primary)
    text = shown.decode(errors="replace")
    assert re.search(r"writing: +100%\|[^|]*\| 120k/120k", text), text
    assert "wrote 100 CPUs and 120,000 listings" in text


def test_importing_the_command_line_imports_neither_dagster_nor_pandas_nor_sqlalchemy():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, cpu_pipeline.cli; print(sorted(m for m in sys.modules if '.' not in m))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not {"dagster", "pandas", "sqlalchemy"} & set(eval(loaded))


def _help(*command: str, capsys) -> str:
    with pytest.raises(SystemExit) as ended:
        cli.main([*command, "--help"])
    assert ended.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse's line breaks undone


@pytest.mark.parametrize("command", ["run", "setup", "grants", "generate", "serve", "health"])
def test_every_subcommands_help_gives_its_defaults_and_the_variables_it_reads(command, capsys):
    assert "environment: " in _help(command, capsys=capsys)
    subcommand = cli._parser()._subparsers._group_actions[0].choices[command]
    formatter = subcommand._get_formatter()
    for option in subcommand._actions:
        if option.option_strings not in (["-h", "--help"], ["--role"]):  # --role is required: it has no default
            shown = formatter._expand_help(option)  # the option's help as --help prints it
            assert "default: " in shown, f"{command} {option.option_strings}: {shown}"


def test_the_defaults_the_help_gives_are_the_settings_own(capsys):
    defaults = {variable.name: variable.default for variable in settings.VARIABLES}
    assert f"(default: $DAGSTER_PORT, else {defaults['DAGSTER_PORT']})" in _help("serve", capsys=capsys)
    assert f"(default: $DAGSTER_HOST, else {defaults['DAGSTER_HOST']}," in _help("serve", capsys=capsys)
    for command in ("setup", "grants"):
        assert f"(default: $CPU_PIPELINE_SCHEMA, else {defaults['CPU_PIPELINE_SCHEMA']})" in _help(command, capsys=capsys)
    shown = _help("health", capsys=capsys)
    assert f"(default: {DEFAULT_HEARTBEAT_TOLERANCE_SECONDS:g})" in shown
    assert f"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS (default: {defaults['CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS']}," in shown
    assert f"CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT (default: {defaults['CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT']})" in shown
    assert int(defaults["CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT"]) == DEFAULT_TICK_FAILURES


def test_the_options_left_out_take_the_environments_values(capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_PORT", "3111")
    monkeypatch.setenv("CPU_PIPELINE_SCHEMA", "from_env")
    args = cli._parser().parse_args(["serve"])
    configured = settings.read()
    assert (cli._with_defaults(args, configured).port, cli._with_defaults(args, configured).host) == (3111, "127.0.0.1")
    assert cli._with_defaults(cli._parser().parse_args(["setup"]), configured).schema == "from_env"
    assert cli._with_defaults(cli._parser().parse_args(["setup", "--schema", "given"]), configured).schema == "given"
