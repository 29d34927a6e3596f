"""Each test gets its own application database: a SQLite file, or a fresh PostgreSQL database, either
empty (the pipeline's own minimal tables are created by the catalogue writers) or shaped like a
migrated Deal Brain database.

PostgreSQL tests use the real server at TEST_DATABASE_URL and never skip: a server that cannot be
reached fails them, loudly.
"""

import contextlib
import http.server
import json
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

TEST_DATABASE_URL = os.getenv("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Deal Brain's cpu and listing as its migrations leave them (copied from a pg_dump; see the file's head).
DEAL_BRAIN_SCHEMA = Path(__file__).with_name("deal_brain_schema.sql")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "cpu_pipeline_test"):
    """A new, empty database on the test server, dropped afterwards; yields its URL."""
    server = sa.make_url(TEST_DATABASE_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url():
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def deal_brain_postgres_url():
    """A fresh PostgreSQL database with Deal Brain's empty `cpu` and `listing` (and the tables their
    foreign keys need), every type, constraint and extra column as a migrated Deal Brain database has them."""
    with fresh_postgres_database() as url:
        engine = sa.create_engine(url)
        connection = engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                cursor.execute(DEAL_BRAIN_SCHEMA.read_text())
            connection.commit()
        finally:
            connection.close()
            engine.dispose()
        yield url


@pytest.fixture(params=["postgres_url", "deal_brain_postgres_url"], ids=["minimal", "deal_brain"])
def shaped_postgres_url(request) -> str:
    """The same test on PostgreSQL in both shapes: the pipeline's own minimal tables, and Deal Brain's."""
    return request.getfixturevalue(request.param)


@contextlib.contextmanager
def login_role(url: str):
    """A new role on the test server that may log in and holds no privilege of its own; yields its name.

    Roles belong to the whole server: afterwards what it was granted in the database at `url` is
    revoked (DROP OWNED) and the role dropped.
    """
    role = f"cpu_pipeline_role_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
    try:
        yield role
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP OWNED BY {role}"))
            connection.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """The same test on both stores."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> str:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return str(home)


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def alert_receiver():
    """A local HTTP receiver for alerts: `.url`, `.received` (the JSON bodies), `.status` to answer."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.status = [], 200
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook():
    with alert_receiver() as receiver:
        yield receiver


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def alert_inbox():
    with alert_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def served(tmp_path_factory, alert_inbox):
    """The production stack (`make serve`'s processes) on the top-level dagster.yaml, firing every minute."""
    from cpu_pipeline import service
    from cpu_pipeline_tests.served import ROOT, Served, fill_app_database, wait_until_serving

    home = tmp_path_factory.mktemp("served_dagster_home")
    (home / "dagster.yaml").symlink_to(ROOT / "dagster.yaml")
    port = free_port()
    secret = f"pw-{uuid.uuid4().hex}"  # trust auth ignores it; the tests look for it everywhere
    with fresh_postgres_database("cpu_pipeline_dagster") as dagster_db, fresh_postgres_database("cpu_pipeline_app") as app_db:
        dagster_url, app_url = (sa.make_url(url).set(password=secret).render_as_string(hide_password=False)
                                for url in (dagster_db, app_db))
        fill_app_database(app_url)
        env = {
            "DAGSTER_PG_URL": dagster_url,
            "DATABASE_URL": app_url,
            "CPU_PIPELINE_SCHEDULE_CRON": "* * * * *",
            "ALERT_WEBHOOK_URL": alert_inbox.url,
            "CPU_PIPELINE_UI_BASE_URL": f"http://127.0.0.1:{port}",
        }
        stack = service.start(ROOT, home, port, env, log_dir=home)
        try:
            served = Served(stack, home, dagster_url, app_url, secret)
            wait_until_serving(served)
            yield served
        finally:
            stack.stop()
