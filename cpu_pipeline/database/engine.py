"""Where the application database is, and how to connect to it."""

import os
from pathlib import Path

import sqlalchemy as sa


def data_dir() -> Path:
    """The project's working data folder (git-ignored): the embedded database and Dagster home live here."""
    return Path(os.getenv("CPU_PIPELINE_DATA_DIR", "data")).resolve()


def embedded_database_url() -> str:
    return f"sqlite:///{data_dir() / 'cpu_pipeline.sqlite'}"


def masked(url: str) -> str:
    """The URL as it may be shown in logs and the UI: with the password replaced by ***."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def backend(url: str) -> str:
    """`postgres` or `sqlite`: the Dagster kind of the database behind the URL."""
    name = sa.make_url(url).get_backend_name()
    return "postgres" if name == "postgresql" else name


def make_engine(url: str) -> sa.Engine:
    if backend(url) == "sqlite":
        Path(sa.make_url(url).database or ".").parent.mkdir(parents=True, exist_ok=True)
        # A second writer waits for the first instead of failing at once with "database is locked".
        return sa.create_engine(url, connect_args={"timeout": 60})
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached; the message names it, never with its password."""


def is_connection_error(error: BaseException) -> bool:
    """True for a failure to reach or keep the server (worth a retry), false for anything the data
    or the schema caused (a retry would fail the same way).

    PostgreSQL gives every error it raises a SQLSTATE; connection failures have none (refused,
    unknown host) or are in class 08 (connection exception) or 57P (the server shut down).
    """
    if not isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return False
    code = getattr(error.orig, "pgcode", None)
    return error.connection_invalidated or code is None or code.startswith(("08", "57P"))


def describe(error: BaseException, url: str) -> str:
    """The first line of a driver error, naming the database by its masked URL."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    password = sa.make_url(url).password
    if password:
        reason = reason.replace(password, "***")
    return f"{masked(url)}: {reason}"
