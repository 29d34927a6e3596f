"""A test's PostgreSQL server: scratch databases; watching a statement waiting on a lock, a backend going
away, what exists."""

import contextlib
import time
import uuid
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def scratch_database(server: sa.URL, prefix: str, encoding: str | None = None) -> Iterator[str]:
    """A new, empty database on `server`, named `prefix` and a random suffix, dropped afterwards even
    with sessions left in it; yields its URL. With an `encoding` (`LATIN1`, `SQL_ASCII`, ...) the
    database has that server encoding, and the C locale, which suits any."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        encoded = f" ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" if encoding else ""
        connection.execute(sa.text(f'CREATE DATABASE "{name}"{encoded}'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def scalar(url: str, query: str, **params):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(query), params).scalar()
    finally:
        engine.dispose()


def wait_for_lock_wait(url: str, prefix: str, timeout: float = 120, count: int = 1) -> int:
    """The pid of a server process whose statement, starting with `prefix`, waits on a lock, once
    `count` such statements wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                pids = (
                    connection.execute(
                        sa.text(
                            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND query LIKE :prefix"
                        ),
                        {"prefix": prefix + "%"},
                    )
                    .scalars()
                    .all()
                )
        finally:
            engine.dispose()
        if len(pids) >= count:
            return pids[0]
        time.sleep(0.2)
    raise TimeoutError(f"fewer than {count} statement(s) {prefix!r} waited on a lock within {timeout} s")


def wait_until_backend_gone(url: str, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid", pid=pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def relations(url: str) -> set[tuple[str, str, str]]:
    """Every schema, and every relation (table, sequence, index, ...) in the database: (schema, name, kind).

    A schema alone is ("schema", name, ""): a session that ever made a temporary table leaves its `pg_temp_N`.
    """
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text(
                    "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "UNION ALL SELECT 'schema', nspname, '' FROM pg_namespace"
                )
            ).all()
    finally:
        engine.dispose()
    return {tuple(row) for row in found}
