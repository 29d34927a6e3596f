"""Each test gets its own application database: a SQLite file, or a fresh PostgreSQL database, either
empty (the pipeline's own minimal tables are created by the catalogue writers) or shaped like a
migrated Deal Brain database.

PostgreSQL tests use the real server at TEST_DATABASE_URL and never skip: a server that cannot be
reached fails them, loudly.

Markers come from what a test uses, never by hand (`pytest_collection_modifyitems` below): `postgres`
(a PostgreSQL fixture, or a database made with `fresh_postgres_database`), `served` (the served stack),
`ui` (Chromium). `make test-fast` runs the tests with none of them.
"""

import ast
import contextlib
import http.server
import inspect
import json
import os
import socket
import textwrap
import threading
import types
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from cpu_pipeline_tests.postgres import scratch_database

TEST_DATABASE_URL = os.getenv("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Deal Brain's cpu and listing as its migrations leave them (copied from a pg_dump; see the file's head).
DEAL_BRAIN_SCHEMA = Path(__file__).with_name("deal_brain_schema.sql")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


# --- markers, from what each test uses --------------------------------------------------------------

# The fixtures that reach the PostgreSQL server, start the served stack, or drive Chromium. A test is
# marked when it uses one, directly or through other fixtures (item.fixturenames is that closure:
# test_properties' postgres_engine, test_service's invalid_scores and schedule_running, test_ui's page
# all count through the fixtures they take).
POSTGRES_FIXTURES = {"postgres_url", "deal_brain_postgres_url", "shaped_postgres_url", "served", "fresh_stack"}
SERVED_FIXTURES = {"served", "fresh_stack"}
UI_FIXTURES = {"page"}
# What a test's code (or a helper of the test package it calls) uses to do the same without a
# fixture: the helper that creates a database on the server (and login_role, which needs one); the
# command `cpu-pipeline serve` (or `make serve`), as a string it runs; Playwright's entry point.
POSTGRES_HELPERS = {"fresh_postgres_database", "login_role", "TEST_DATABASE_URL"}
SERVED_COMMANDS = {"serve"}
UI_HELPERS = {"sync_playwright"}
# `slow`, for what takes seconds by its nature rather than by what it needs: a hypothesis test (a
# few dozen to a few hundred whole catalogues), and a test that starts one of the project's command
# line programs (a new Python process importing Dagster: 3 to 7 s each).
CLI_PROGRAMS = {"dagster", "dg", "cpu-pipeline"}


def _code(item) -> tuple[set[str], set[str]]:
    """The names a test's source refers to and the strings it holds, with those of the helpers it calls
    from the test package, followed through each other. Read from the source, not the compiled code,
    which pytest's assertion rewriting fills with strings of its own."""
    test = getattr(item, "function", None)
    test = getattr(getattr(test, "hypothesis", None), "inner_test", test)  # a @given test's own body
    names, strings, pending, seen = set(), set(), [test], set()
    while pending:
        function = pending.pop()
        if not isinstance(function, types.FunctionType) or function in seen:
            continue
        seen.add(function)
        try:
            source = textwrap.dedent(inspect.getsource(function))
        except OSError:  # made at run time (hypothesis' strategies): no source, nothing of ours to find
            continue
        found = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.Attribute):
                found.add(node.attr)
            elif isinstance(node, ast.alias):
                found.add(node.asname or node.name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
        names |= found
        helpers = (function.__globals__.get(name) for name in found)
        pending += [helper for helper in helpers if getattr(helper, "__module__", "").startswith("cpu_pipeline_tests")]
    return names, strings


def _picks_postgres_by_name(item, names: set[str]) -> bool:
    """A parameter that picks a PostgreSQL fixture by its name: `database_url`'s "postgres" (it takes
    f"{param}_url"), or a test's own parameter that its code hands to request.getfixturevalue, as is
    ("postgres_url") or with "_url" appended ("postgres")."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("database_url") == "postgres":
        return True
    if "getfixturevalue" not in names:
        return False
    return any(isinstance(value, str) and {value, f"{value}_url"} & POSTGRES_FIXTURES for value in params.values())


def markers_for(item) -> set[str]:
    fixtures = set(item.fixturenames)
    names, strings = _code(item)
    markers = set()
    if fixtures & POSTGRES_FIXTURES or names & POSTGRES_HELPERS or _picks_postgres_by_name(item, names):
        markers.add("postgres")
    if fixtures & SERVED_FIXTURES or strings & SERVED_COMMANDS:
        markers |= {"served", "postgres"}  # the stack keeps Dagster's storage in PostgreSQL
    if fixtures & UI_FIXTURES or names & UI_HELPERS:
        markers.add("ui")
    if getattr(getattr(item, "function", None), "is_hypothesis_test", False) or strings & CLI_PROGRAMS:
        markers.add("slow")
    return markers


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in sorted(markers_for(item)):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)
    # The files with served tests first, each file's tests in their order: those tests mostly wait on the
    # stack's daemon, and pytest-xdist (pyproject's addopts) hands out whole files in this order, so the
    # other process's tests fill that wait rather than a served file running alone at the end.
    served_files = {item.path for item in items if item.get_closest_marker("served")}
    items.sort(key=lambda item: item.path not in served_files)


_running = None  # the test being run, for the check in fresh_postgres_database


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _running
    _running = item
    try:
        return (yield)
    finally:
        _running = None


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "cpu_pipeline_test", encoding: str | None = None):
    """`postgres.scratch_database` on the test server (TEST_DATABASE_URL), for a test marked `postgres`."""
    if _running is not None and _running.get_closest_marker("postgres") is None:
        pytest.fail(
            f"{_running.nodeid} creates a PostgreSQL database but is not marked `postgres`, so `make test-fast` "
            "would run it: use a PostgreSQL fixture, or teach conftest's markers_for how it gets there",
            pytrace=False,
        )
    with scratch_database(sa.make_url(TEST_DATABASE_URL), prefix, encoding) as url:
        yield url


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
    """The production stack (`make serve`'s processes) on its dagster.yaml, firing every minute (stopped)."""
    from cpu_pipeline_tests.served import served_stack

    with served_stack(tmp_path_factory, alert_inbox) as served:
        yield served
