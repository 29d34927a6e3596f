import os
import signal
import sqlite3
import threading
import time
import urllib.parse

import psycopg2
import pytest
import sqlalchemy as sa

from cpu_pipeline.database.engine import (
    DatabaseRefused,
    DatabaseUnavailable,
    MissingDatabase,
    UnsupportedDatabaseURL,
    backend,
    connection_url,
    database_error,
    describe,
    driver_in_use,
    explain,
    make_engine,
    masked,
)
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.conftest import TEST_DATABASE_URL, free_port, login_role
from cpu_pipeline_tests.fake_postgres import refusing_server
from cpu_pipeline_tests.postgres import scalar, wait_for_lock_wait

# Deal Brain's own URLs (DATABASE_URL names asyncpg, SYNC_DATABASE_URL psycopg 3) and the plain forms.
DEAL_BRAIN_FORMS = ["postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2", "postgresql", "postgres"]


@pytest.mark.parametrize("scheme", DEAL_BRAIN_FORMS)
def test_every_postgres_form_connects_with_psycopg2_to_the_same_place(scheme):
    target = connection_url(f"{scheme}://deal_brain:s3cr3t@db.example:6432/deal_brain?application_name=nightly")
    assert target.drivername == "postgresql+psycopg2"
    assert (target.username, target.password, target.host, target.port, target.database) == (
        "deal_brain",
        "s3cr3t",
        "db.example",
        6432,
        "deal_brain",
    )
    assert dict(target.query) == {"application_name": "nightly"}
    assert driver_in_use(f"{scheme}://u@h/db") == f"psycopg2 (URL scheme {scheme})"
    assert backend(f"{scheme}://u@h/db") == "postgres"


def test_sqlite_stays_sqlite():
    assert connection_url("sqlite:////tmp/app.sqlite").render_as_string() == "sqlite:////tmp/app.sqlite"
    assert driver_in_use("sqlite:////tmp/app.sqlite") == "sqlite3 (URL scheme sqlite)"


@pytest.mark.parametrize("mode", ["disable", "require", "verify-full"])
def test_asyncpgs_ssl_becomes_libpqs_sslmode(mode):
    assert dict(connection_url(f"postgresql+asyncpg://u@h/db?ssl={mode}").query) == {"sslmode": mode}


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql+asyncpg://u@h/db?ssl=true", "`ssl=true` has no libpq equivalent; use one of disable, allow"),
        ("postgresql+asyncpg://u@h/db?ssl=require&sslmode=require", "both `ssl` and `sslmode`"),
        ("postgresql://u@h/db?ssl=require", 'invalid connection option "ssl"'),  # not asyncpg's URL: not translated
        (
            "postgresql+asyncpg://u@h/db?prepared_statement_cache_size=0",
            'invalid connection option "prepared_statement_cache_size"',
        ),
    ],
)
def test_a_parameter_libpq_cannot_take_fails_at_once_rather_than_being_dropped(url, message):
    with pytest.raises(UnsupportedDatabaseURL, match=message):
        connection_url(url)


@pytest.mark.parametrize("url", ["mysql+pymysql://deal_brain:s3cr3t@db/deal_brain", "postgresql+pg8000://deal_brain:s3cr3t@db/x"])
def test_an_unknown_scheme_is_named_with_the_accepted_ones_and_never_the_password(url):
    with pytest.raises(UnsupportedDatabaseURL) as failure:
        make_engine(url)
    message = str(failure.value)
    assert f"scheme `{sa.make_url(url).drivername}` is not supported" in message
    assert all(f"`{scheme}://`" in message for scheme in [*DEAL_BRAIN_FORMS, "sqlite"])
    assert "s3cr3t" not in message


def test_an_engine_from_deal_brains_url_uses_psycopg2():
    engine = make_engine("postgresql+asyncpg://u:p@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()


# --- secrets: no fragment of one is ever shown, whatever the URL's shape ------------------------------

# (URL, the secret's fragments that must never be shown): a password pasted without percent-encoding,
# with `@`, `/`, `:`, `%`, `#`, `?`; a percent-encoded one; secrets in the query string; a libpq
# keyword string; URLs that do not parse at all.
SECRET_SHAPES = [
    ("postgresql://app:Zq@9%x/y:Secret@db:5432/dealbrain", ["Zq", "9%x", "Secret"]),
    ("postgresql+asyncpg://app:Zq%409%25x%2Fy%3ASecret@db:5432/dealbrain", ["Zq", "9%x", "Secret", "Zq%409%25x"]),
    ("postgresql://app:Pa55/w0rd@db/dealbrain", ["Pa55", "w0rd"]),
    ("postgresql://app:pa#ss@db/dealbrain", ["pa#ss", "ss@db"]),
    ("postgresql://app:pa?ss@db/dealbrain", ["pa?ss", "ss@db"]),
    ("postgresql://app:Sec:ret99@db/dealbrain", ["Sec:ret99", "ret99"]),
    ("postgresql://app:S3cr3t%zz@db/dealbrain", ["S3cr3t"]),
    ("postgresql://app@db/dealbrain?password=Secret9&sslmode=require", ["Secret9"]),
    ("postgresql://app@db/dealbrain?sslpassword=KeySecret&passfile=/home/app/.pgpass", ["KeySecret", "pgpass"]),
    ("postgresql://app@db/dealbrain?password=Sec&ret42", ["Sec", "ret42"]),
    ("postgresql://app@db/dealbrain?password=Sec&ret42=1", ["Sec", "ret42"]),
    ("host=db user=app password=Secret42 dbname=dealbrain", ["Secret42"]),
    ("postgresql://app:Secret42@db:port/dealbrain", ["Secret42"]),
    ("app:Secret42@db/dealbrain", ["Secret42"]),
    ("sqlite://app:Secret42@db/dealbrain", ["Secret42"]),
]


def _shown(text: str, fragments: list[str]) -> list[str]:
    return [fragment for fragment in fragments if fragment in text]


@pytest.mark.parametrize("url, fragments", SECRET_SHAPES)
def test_no_fragment_of_a_secret_is_shown_whatever_the_urls_shape(url, fragments):
    assert _shown(masked(url), fragments) == []
    try:
        connection_url(url)
    except UnsupportedDatabaseURL as refusal:
        assert _shown(str(refusal), fragments) == []
    # Whatever a driver's message quotes from the URL (here: all of it, and each of its pieces).
    quoted = f'could not translate host name "{url}" to address; {" ".join(fragments)}'
    assert _shown(describe(RuntimeError(quoted), url), fragments) == []


@pytest.mark.parametrize("url", ["postgresql://app:Zq@9%x/y:Secret@db:5432/dealbrain", "postgresql://app:pa#ss@db/x"])
def test_a_url_that_does_not_parse_one_way_is_refused_and_never_echoed_with_how_to_fix_it(url):
    assert masked(url) == "<database URL not shown: it does not parse>"
    with pytest.raises(UnsupportedDatabaseURL) as refusal:
        make_engine(url)
    assert "percent-encode special characters in the password" in str(refusal.value)
    assert "urllib.parse.quote(password, safe='')" in str(refusal.value)


@pytest.mark.parametrize("url", ["host=db password=x", "db.internal:5432/deal_brain"])
def test_a_url_without_a_scheme_is_told_to_start_with_one_and_not_to_encode_its_password(url):
    with pytest.raises(UnsupportedDatabaseURL) as refusal:
        make_engine(url)
    message = str(refusal.value)
    assert "(no scheme:// at its start)" in message and "start it with one of `postgresql+asyncpg://`" in message
    assert "percent-encode" not in message and "password=x" not in message


def test_an_sqlite_url_with_a_host_explains_three_and_four_slashes():
    with pytest.raises(UnsupportedDatabaseURL) as refusal:
        make_engine("sqlite://srv/data/app.sqlite")  # two slashes: `srv` is read as a host
    assert "sqlite:///relative/path from the working folder, sqlite:////absolute/path with four slashes" in str(refusal.value)


def test_a_percent_encoded_password_reaches_the_driver_as_typed():
    password = "Zq@9%x/y:Secret"
    url = f"postgresql://app:{urllib.parse.quote(password, safe='')}@db:5432/dealbrain"
    assert connection_url(url).password == password
    assert masked(url) == "postgresql://app:***@db:5432/dealbrain"


def test_masked_keeps_what_identifies_the_database():
    url = "postgresql+asyncpg://deal_brain:s3cr3t@db.example:6432/deal_brain?ssl=require&application_name=nightly"
    assert masked(url) == "postgresql+asyncpg://deal_brain:***@db.example:6432/deal_brain?ssl=require&application_name=nightly"
    assert masked("postgresql://app@db/x?password=s3cr3t&sslmode=require") == "postgresql://app@db/x?password=***&sslmode=require"
    assert masked("sqlite:////srv/data/app.sqlite") == "sqlite:////srv/data/app.sqlite"


# --- SQLite: a file that does not exist is an error, and nothing is created --------------------------


@pytest.mark.parametrize("path", ["app.sqlite", "dat/x.db", "deeper/still/x.db"])
def test_a_missing_sqlite_file_fails_clearly_and_nothing_is_created(tmp_path, path):
    engine = make_engine(f"sqlite:///{tmp_path / path}")
    expected = f"the SQLite database {tmp_path / path} does not exist, and nothing was created"
    with pytest.raises(MissingDatabase, match=expected) as missing:
        engine.connect()
    engine.dispose()
    assert "sqlite:////absolute/path with four slashes" in str(missing.value)  # the mistake most often made
    assert list(tmp_path.iterdir()) == []


def test_an_existing_sqlite_file_is_opened_and_only_the_embedded_default_is_created(tmp_path):
    existing = tmp_path / "app.sqlite"
    sqlite3.connect(existing).close()
    with make_engine(f"sqlite:///{existing}").begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    embedded = tmp_path / "data" / "cpu_pipeline.sqlite"
    with make_engine(f"sqlite:///{embedded}", create_missing_file=True).connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    assert embedded.is_file()


# --- a cancel reaches the server ----------------------------------------------------------------------

BLOCKED_UPDATE = "UPDATE locked SET x = 2"
# Generous, for a loaded machine: the cancel takes well under a second.
CANCEL_DEADLINE_SECONDS = 30
RUNNING = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = :text AND state = 'active'"


@pytest.mark.parametrize(
    "lock, blocked",
    [
        ("SELECT x FROM locked FOR UPDATE", BLOCKED_UPDATE),  # the write-back's UPDATE behind a row lock
        ("SELECT pg_advisory_xact_lock(7)", "SELECT pg_advisory_xact_lock(7)"),  # behind the write-back lock
    ],
)
def test_an_interrupt_stops_a_statement_waiting_on_a_lock_and_cancels_it_on_the_server(
    postgres_url, lock, blocked, sigint_interrupts
):
    holder = sa.create_engine(postgres_url)
    with holder.begin() as connection:
        connection.execute(sa.text("CREATE TABLE locked (x INTEGER)"))
        connection.execute(sa.text("INSERT INTO locked VALUES (1)"))
    engine = make_engine(postgres_url)
    with holder.connect() as holding:
        holding.execute(sa.text(lock))

        # Interrupt this thread (as Ctrl-C or Dagster's termination does) once the statement waits.
        def interrupt_once_waiting():
            pid = wait_for_lock_wait(postgres_url, blocked)
            os.kill(os.getpid(), signal.SIGINT)
            # Should the interrupt not reach the server, end the wait after a while, so that the test fails, not hangs.
            wait_until_backend_idle(postgres_url, pid, timeout=CANCEL_DEADLINE_SECONDS)
            scalar(postgres_url, "SELECT pg_cancel_backend(:pid)", pid=pid)

        interrupter = threading.Thread(target=interrupt_once_waiting)
        interrupter.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt), engine.begin() as connection:
            connection.execute(sa.text("SET LOCAL lock_timeout = '600s'"))
            connection.execute(sa.text(blocked))
        interrupter.join()
        # The statement stopped while the lock is still held: nothing of it is left on the server.
        assert time.monotonic() - started < CANCEL_DEADLINE_SECONDS
        running = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = :text AND state = 'active'"
        )
        assert scalar(postgres_url, running, text=blocked) == 0
        holding.rollback()
    engine.dispose()
    holder.dispose()


@pytest.fixture
def sigint_interrupts():
    """SIGINT raises KeyboardInterrupt in this test, as in a fresh Python process, whatever handler the
    process holds by then: a shell can start the suite with SIGINT ignored, and a library may leave its
    own (Dagster's `capture_interrupts` turns SIGINT into a flag while a run executes). In a fresh-clone
    CI run under xdist, the interrupt once never became a KeyboardInterrupt in this test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def wait_until_backend_idle(url: str, pid: int, timeout: float) -> None:
    """Until the server process `pid` runs no statement (or is gone), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND state = 'active'", pid=pid):
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)


def test_statements_still_run_and_fail_as_usual_on_postgres(postgres_url):
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT :x + 1"), {"x": 1}).scalar() == 2
        with pytest.raises(sa.exc.ProgrammingError, match="no_such_table"):
            connection.execute(sa.text("SELECT * FROM no_such_table"))
    engine.dispose()


# --- a driver error said in one line: the cause first, what to do, and whether a retry can fix it -----


def _connection_failure(url: str) -> sa.exc.DBAPIError:
    engine = make_engine(url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as raised:
            engine.connect()
    finally:
        engine.dispose()
    return raised.value


def _said(url: str) -> DatabaseRefused | DatabaseUnavailable:
    said = database_error(_connection_failure(url), url)
    assert "\n" not in str(said) and "s3cr3t" not in str(said)
    assert str(said).endswith(f"({masked(url)})")  # which database, last
    return said


@pytest.mark.parametrize(
    "sqlstate, fatal, asks_password, kind, said",
    [
        (
            "28P01",
            'password authentication failed for user "deal_brain"',
            True,
            DatabaseRefused,
            'wrong password for user "deal_brain" on 127.0.0.1:{port}: correct the password in the database URL',
        ),
        (
            "57P03",
            "the database system is shutting down",
            False,
            DatabaseUnavailable,
            "the database server at 127.0.0.1:{port} is shutting down: wait until it is up again",
        ),
        (
            "57P03",
            "the database system is starting up",
            False,
            DatabaseUnavailable,
            "the database server at 127.0.0.1:{port} is starting up",
        ),
        (
            "53300",
            "sorry, too many clients already",
            False,
            DatabaseUnavailable,
            "the database server at 127.0.0.1:{port} has no connection slot free",
        ),
        (
            "28000",
            'no pg_hba.conf entry for host "127.0.0.1", user "deal_brain", database "deal_brain", no encryption',
            False,
            DatabaseRefused,
            'the server at 127.0.0.1:{port} admits no connection of user "deal_brain" to "deal_brain" from this host',
        ),
    ],
    ids=["wrong password", "shutting down", "starting up", "too many connections", "not in pg_hba.conf"],
)
def test_a_server_refusing_the_connection_is_said_cause_first_and_retried_only_when_it_can_pass(
    sqlstate, fatal, asks_password, kind, said
):
    with refusing_server(sqlstate, fatal, asks_password=asks_password) as port:
        found = _said(f"postgresql://deal_brain:s3cr3t@127.0.0.1:{port}/deal_brain")
    assert type(found) is kind
    assert str(found).startswith(said.format(port=port))


def test_a_server_that_is_down_is_said_to_refuse_and_is_retried():
    port = free_port()
    found = _said(f"postgresql://deal_brain:s3cr3t@127.0.0.1:{port}/deal_brain")
    assert type(found) is DatabaseUnavailable
    assert str(found).startswith(f"the database server at 127.0.0.1:{port} refuses connections: start PostgreSQL")


def test_a_mistyped_host_is_said_unknown_and_never_retried():
    found = _said("postgresql://deal_brain:s3cr3t@db.invalid/deal_brain")  # .invalid never resolves (RFC 2606)
    assert type(found) is DatabaseRefused
    assert str(found).startswith('unknown database host "db.invalid" (no such name in DNS): correct the host')


def test_a_dns_server_failing_for_now_is_retried():
    # glibc's EAI_AGAIN, which no test machine can be made to give on demand: libpq's message, as it words it.
    failure = psycopg2.OperationalError(
        'could not translate host name "db.example" to address: Temporary failure in name resolution\n'
    )
    url = "postgresql://deal_brain@db.example/deal_brain"
    found = database_error(sa.exc.OperationalError("connect", {}, failure), url)
    assert type(found) is DatabaseUnavailable
    assert str(found).startswith('the database host "db.example" could not be looked up for now (DNS)')


def test_a_missing_database_or_role_is_said_so_and_never_retried():
    server = sa.make_url(TEST_DATABASE_URL)
    missing_database = server.set(database="no_such_database_e11").render_as_string(hide_password=False)
    found = _said(missing_database)
    assert type(found) is DatabaseRefused
    assert str(found).startswith('database "no_such_database_e11" does not exist on ')
    found = _said(server.set(username="no_such_role_e11").render_as_string(hide_password=False))
    assert type(found) is DatabaseRefused
    assert str(found).startswith('no role "no_such_role_e11" on ')


def test_a_connection_cut_midway_is_retried(postgres_url):
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            scalar(postgres_url, "SELECT pg_terminate_backend(:pid)", pid=pid)
            with pytest.raises(sa.exc.DBAPIError) as raised:
                connection.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    found = database_error(raised.value, postgres_url)
    assert type(found) is DatabaseUnavailable
    assert str(found).startswith("the connection to the database server at 127.0.0.1:")
    assert "(server closed the connection unexpectedly)" in str(found)


def test_a_missing_privilege_names_the_table_and_the_grants_command(postgres_url):
    catalogues.write(postgres_url, [], [])
    with login_role(postgres_url) as role:
        url = sa.make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
        engine = make_engine(url)
        try:
            with pytest.raises(sa.exc.DBAPIError) as raised, engine.connect() as connection:
                connection.execute(sa.text("SELECT id FROM cpu"))
        finally:
            engine.dispose()
        found = database_error(raised.value, url)
    assert type(found) is DatabaseRefused
    assert str(found).startswith(
        f'role "{role}" has no privilege for table cpu: '
        f"the database's owner runs what `cpu-pipeline grants --role {role}` prints"
    )


def test_errors_of_the_data_or_of_sqlite_are_left_as_they_are(postgres_url, sqlite_url):
    for url in (postgres_url, sqlite_url):
        engine = make_engine(url, create_missing_file=True)
        try:
            with pytest.raises(sa.exc.DBAPIError) as raised, engine.connect() as connection:
                connection.execute(sa.text("SELECT * FROM no_such_table"))
        finally:
            engine.dispose()
        assert database_error(raised.value, url) is None


# --- one translation of every database error, for every command ------------------------------------------


def _failed_statement(url: str, statement: str) -> sa.exc.DBAPIError:
    engine = make_engine(url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as raised, engine.connect() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()
    return raised.value


def test_explain_says_a_missing_table_with_what_to_do_on_postgres_and_sqlite(postgres_url, sqlite_url):
    sqlite3.connect(sa.make_url(sqlite_url).database).close()
    for url in (postgres_url, sqlite_url):
        said = explain(_failed_statement(url, "SELECT * FROM cpu"), url)
        assert said.startswith("the application database has no table `cpu`: point DATABASE_URL at Deal Brain's database")
        assert "cpu-pipeline generate" in said and "relation" not in said and "no such table" not in said
    said = explain(_failed_statement(postgres_url, "SELECT * FROM cpu_pipeline.cpu_price_trends"), postgres_url)
    assert said.startswith("the pipeline's table `cpu_pipeline.cpu_price_trends` does not exist") and "cpu-pipeline setup" in said


def test_explain_says_a_connection_failure_as_database_error_does_and_never_the_password():
    with refusing_server("28P01", 'password authentication failed for user "deal_brain"', asks_password=True) as port:
        url = f"postgresql://deal_brain:s3cr3t@127.0.0.1:{port}/deal_brain"
        said = explain(_failed_statement(url, "SELECT 1"), url)
    assert said.startswith(f'wrong password for user "deal_brain" on 127.0.0.1:{port}: correct the password')
    assert "FATAL" not in said and "s3cr3t" not in said


def test_explain_says_the_pipelines_own_errors_by_their_message_and_others_by_their_first_line(postgres_url):
    missing = "the SQLite database /x does not exist"
    assert explain(MissingDatabase(missing), "sqlite:////x") == missing
    url = "postgresql://u:s3cr3t@h/db"
    assert explain(RuntimeError("s3cr3t went wrong\nsecond line"), url) == "*** went wrong"
    said = explain(_failed_statement(postgres_url, "SELECT 1/0"), postgres_url)
    assert said == f"{masked(postgres_url)}: division by zero"  # an error of the statement: as the server says it
