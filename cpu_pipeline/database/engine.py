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
        return sa.create_engine(url)
    return sa.create_engine(url, pool_pre_ping=True)
