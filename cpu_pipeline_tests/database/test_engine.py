import os
import signal
import sqlite3
import threading
import time
import urllib.parse

import pytest
import sqlalchemy as sa

from cpu_pipeline.database.engine import (
    MissingDatabase,
    UnsupportedDatabaseURL,
    backend,
    connection_url,
    describe,
    driver_in_use,
    make_engine,
    masked,
)
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


@pytest.mark.parametrize(
    "url", ["postgresql://app:Zq@9%x/y:Secret@db:5432/dealbrain", "postgresql://app:pa#ss@db/x", "host=db password=x"]
)
def test_a_url_that_does_not_parse_one_way_is_refused_and_never_echoed_with_how_to_fix_it(url):
    assert masked(url) == "<database URL not shown: it does not parse>"
    with pytest.raises(UnsupportedDatabaseURL) as refusal:
        make_engine(url)
    assert "percent-encode special characters in the password" in str(refusal.value)
    assert "urllib.parse.quote(password, safe='')" in str(refusal.value)


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
    with pytest.raises(MissingDatabase, match=f"the SQLite database {tmp_path / path} does not exist, and nothing was created"):
        engine.connect()
    engine.dispose()
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
def test_an_interrupt_stops_a_statement_waiting_on_a_lock_and_cancels_it_on_the_server(postgres_url, lock, blocked):
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
