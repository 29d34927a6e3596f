"""End to end: no fragment of a secret in a database URL reaches a run's stored events, its metadata,
its error or the log printed, whatever the URL's shape, nor what any `cpu-pipeline` command prints; and
a run cancelled while its write-back waits on a lock stops within seconds on the served stack, its
statement cancelled on the server."""

import sys
import time
import urllib.parse

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._serdes import serialize_value

from cpu_pipeline import cli, settings
from cpu_pipeline.database import demo_catalogue
from cpu_pipeline_tests.conftest import free_port
from cpu_pipeline_tests.materialize import materialize
from cpu_pipeline_tests.postgres import scalar, wait_for_lock_wait

PASSWORD = "Zq@9%x/y:Secret"  # every character a URL's userinfo must percent-encode, and a `%`
PASSWORD_FRAGMENTS = ["Zq", "9%x", "Secret", urllib.parse.quote(PASSWORD, safe="")]


def _with_password(url: str, where: str) -> str:
    """The test database's URL with PASSWORD: percent-encoded in the userinfo or the query string, or
    pasted as it is (trust auth ignores it; the pipeline must never show it)."""
    plain = sa.make_url(url)
    server = f"{plain.host}:{plain.port}/{plain.database}"
    encoded = urllib.parse.quote(PASSWORD, safe="")
    return {
        "userinfo": f"postgresql://{plain.username}:{encoded}@{server}",
        # In SQLAlchemy's order (it sorts the parameters): the commands print the URL they connect with.
        "query": f"postgresql+psycopg2://{plain.username}@{server}?application_name=nightly&password={encoded}",
        "pasted": f"postgresql://{plain.username}:{PASSWORD}@{server}",
    }[where]


def _everything_shown(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> str:
    """All a run leaves behind: its stored events (messages, metadata, errors) as the UI reads them."""
    return "\n".join(serialize_value(record) for record in instance.all_logs(result.run_id))


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_a_run_with_a_password_anywhere_in_the_url_shows_no_fragment_of_it(postgres_url, where, capfd):
    engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(20, 200, seed=3))
    engine.dispose()
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(_with_password(postgres_url, where), instance=instance)
        shown = _everything_shown(result, instance) + capfd.readouterr().err
    assert result.success
    assert "connecting to postgresql" in shown and "with psycopg2" in shown  # the log line that names the database
    assert [fragment for fragment in PASSWORD_FRAGMENTS if fragment in shown] == []


def test_a_pasted_password_fails_the_run_saying_to_percent_encode_it_and_shows_no_fragment(postgres_url, capfd):
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(_with_password(postgres_url, "pasted"), instance=instance)
        shown = _everything_shown(result, instance) + capfd.readouterr().err
    assert not result.success
    # The resource fails to start: the run's failure event carries the error, as the UI shows it.
    assert "percent-encode special characters in the password" in shown
    assert [fragment for fragment in PASSWORD_FRAGMENTS if fragment in shown] == []


# --- what the command line prints -----------------------------------------------------------------


def _masked_form(url: str, where: str, scheme: str) -> str:
    """How a command shows `_with_password(url, where)`: the password as ***, the harmless parameter as given."""
    plain = sa.make_url(url)
    server = f"{plain.host}:{plain.port}/{plain.database}"
    return {
        "userinfo": f"{scheme}://{plain.username}:***@{server}",
        "query": f"{scheme}://{plain.username}@{server}?application_name=nightly&password=***",
    }[where]


def _forget_the_code_location() -> None:
    """As in test_cli.py: `run` builds the code location once per process, from `settings.current()`; a
    command runs in a process of its own, so each test here builds it from its own environment."""
    settings.current.cache_clear()
    sys.modules.pop("cpu_pipeline.definitions", None)


def _printed(command: list[str], capsys) -> tuple[int, str]:
    _forget_the_code_location()
    try:
        status = cli.main(command)
    finally:
        _forget_the_code_location()
    printed = capsys.readouterr()
    return status, printed.out + printed.err


def _assert_masked(shown: str, expected: str) -> None:
    assert expected in shown
    assert [fragment for fragment in PASSWORD_FRAGMENTS if fragment in shown] == []


# (the command, the status it ends with): each prints the database it works on. The URL it prints is the
# one it connects with, its driver named (postgresql+psycopg2).
OWNER_COMMANDS = {
    "setup": (["setup"], 0),
    "grants": (["grants", "--role", "nightly"], 0),
    "generate": (["generate", "--cpus", "3", "--listings", "10", "--replace"], 0),
}


@pytest.mark.parametrize("where", ["userinfo", "query"])
@pytest.mark.parametrize("command", OWNER_COMMANDS)
def test_setup_grants_and_generate_print_the_database_masked(postgres_url, command, where, capsys, monkeypatch):
    catalogues_engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(catalogues_engine, *demo_catalogue.generate_catalogue(3, 10, seed=3))
    catalogues_engine.dispose()
    args, expected_status = OWNER_COMMANDS[command]
    status, shown = _printed([*args, "--database-url", _with_password(postgres_url, where)], capsys)
    assert status == expected_status, shown
    _assert_masked(shown, _masked_form(postgres_url, where, "postgresql+psycopg2"))


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_run_prints_the_database_masked(postgres_url, where, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _with_password(postgres_url, where))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    status, shown = _printed(["run"], capsys)  # an empty database: the run fails, naming the missing table
    assert status == 1
    scheme = "postgresql" if where == "userinfo" else "postgresql+psycopg2"  # the URL as given
    _assert_masked(shown, f"database: {_masked_form(postgres_url, where, scheme)}")


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_show_names_a_database_it_cannot_read_masked(postgres_url, where, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _with_password(postgres_url, where))
    status, shown = _printed(["show", "Ryzen"], capsys)  # an empty database: no table cpu
    assert status == 1
    scheme = "postgresql" if where == "userinfo" else "postgresql+psycopg2"
    assert shown.startswith("show: the application database has no table `cpu`"), shown
    _assert_masked(shown, f"({_masked_form(postgres_url, where, scheme)})")


def _missing_database(postgres_url: str, where: str) -> str:
    """A URL with PASSWORD on the test server, of a database that does not exist."""
    return _with_password(sa.make_url(postgres_url).set(database="no_such_database_s3").render_as_string(False), where)


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_health_names_a_storage_it_cannot_open_masked(postgres_url, where, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    unreachable = _missing_database(postgres_url, where)
    monkeypatch.setenv("DAGSTER_PG_URL", unreachable)
    status, shown = _printed(["health"], capsys)
    assert status == 1
    scheme = "postgresql" if where == "userinfo" else "postgresql+psycopg2"
    _assert_masked(shown, f"(DAGSTER_PG_URL {_masked_form(unreachable, where, scheme)})")


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_serve_names_a_storage_it_cannot_reach_masked(postgres_url, where, capsys, monkeypatch):
    unreachable = _missing_database(postgres_url, where)
    monkeypatch.setenv("DAGSTER_PG_URL", unreachable)
    monkeypatch.setenv("DATABASE_URL", _with_password(postgres_url, where))
    status, shown = _printed(["serve", "--port", str(free_port())], capsys)
    assert status == 2
    scheme = "postgresql" if where == "userinfo" else "postgresql+psycopg2"
    assert shown.startswith("serve: Cannot reach Dagster's PostgreSQL (DAGSTER_PG_URL): "), shown
    _assert_masked(shown, _masked_form(unreachable, where, scheme))


# --- a cancel reaches the database ---------------------------------------------------------------------

# Generous, for a loaded machine: without the fix the run waits as long as the lock is held (here: until the deadline).
CANCEL_DEADLINE_SECONDS = 60
ACTIVE = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND state = 'active'"


def test_a_run_terminated_while_its_write_back_waits_on_a_row_lock_is_canceled_within_seconds(served):
    engine = sa.create_engine(served.app_url)
    with engine.connect() as blocker:
        transaction = blocker.begin()
        blocker.execute(sa.text("SELECT id FROM cpu WHERE id = 60 FOR UPDATE"))  # the write-back's UPDATE waits here
        try:
            run_id = served.launch()
            waiting = wait_for_lock_wait(served.app_url, "UPDATE cpu SET")
            terminated = time.monotonic()
            served.client.terminate_run(run_id)  # what the UI's Terminate does
            status = served.wait_for_run(run_id, timeout=CANCEL_DEADLINE_SECONDS)
            elapsed = time.monotonic() - terminated
            # Still holding the lock: the run's statement has been cancelled on the server, not let through.
            still_running = scalar(served.app_url, ACTIVE, pid=waiting)
        finally:
            transaction.rollback()
    engine.dispose()
    assert (status, still_running) == ("CANCELED", 0)
    assert elapsed < CANCEL_DEADLINE_SECONDS
    assert served.wait_for_run(served.launch()) == "SUCCESS"  # the next run is not kept queued


@pytest.mark.parametrize("where", ["userinfo", "query"])
@pytest.mark.parametrize("command", ["run", "show", "health"])
def test_a_usage_error_repeating_a_database_url_shows_it_masked(command, where, capsys):
    # These commands take the database from DATABASE_URL, not --database-url: argparse refuses the option
    # and repeats what it refused, which a newcomer who just ran `setup --database-url ...` passes.
    url = _with_password("postgresql://postgres@127.0.0.1:5432/deal_brain", where)
    args = [command, "1", "--database-url", url] if command == "show" else [command, "--database-url", url]
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2
    shown = capsys.readouterr().err
    assert "unrecognized arguments: --database-url" in shown
    scheme = "postgresql" if where == "userinfo" else "postgresql+psycopg2"  # the URL as given
    _assert_masked(shown, _masked_form("postgresql://postgres@127.0.0.1:5432/deal_brain", where, scheme))
