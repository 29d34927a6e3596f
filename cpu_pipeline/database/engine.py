"""Where the application database is, and how to connect to it.

Deal Brain's own `DATABASE_URL` names its async driver (`postgresql+asyncpg://`) and its
`SYNC_DATABASE_URL` psycopg 3 (`postgresql+psycopg://`); the pipeline connects to the same server,
database, user and password with its own driver, psycopg2, whichever of them it is given.
"""

from pathlib import Path

import psycopg2.extensions
import sqlalchemy as sa

# The schemes the pipeline accepts, and the SQLAlchemy driver it connects with for each.
PSYCOPG2 = "postgresql+psycopg2"
DRIVERS = {
    "postgresql+asyncpg": PSYCOPG2,
    "postgresql+psycopg": PSYCOPG2,
    "postgresql+psycopg2": PSYCOPG2,
    "postgresql": PSYCOPG2,
    "postgres": PSYCOPG2,
    "sqlite": "sqlite",
}
DRIVER_NAMES = {PSYCOPG2: "psycopg2", "sqlite": "sqlite3"}
# asyncpg's `ssl=` takes the same modes as libpq's `sslmode=`.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class UnsupportedDatabaseURL(ValueError):
    """The URL names a scheme or parameter the pipeline cannot connect with; the message names it, never the password."""


def embedded_database_url(data_dir: Path) -> str:
    """The embedded SQLite file in the project's working data folder (`CPU_PIPELINE_DATA_DIR`)."""
    return f"sqlite:///{data_dir / 'cpu_pipeline.sqlite'}"


def masked(url: str) -> str:
    """The URL as it may be shown in logs and the UI: with the password replaced by ***."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def connection_url(url: str) -> sa.URL:
    """The URL the pipeline connects with: the given one, its scheme mapped to the pipeline's own driver.

    Server, database, user, password and libpq parameters are kept; asyncpg's `ssl=<mode>` becomes
    libpq's `sslmode=<mode>`. Raises UnsupportedDatabaseURL for a scheme outside `DRIVERS`, and for a
    query parameter libpq does not know (rather than connect without it).
    """
    try:
        given = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise UnsupportedDatabaseURL("the database URL cannot be parsed as scheme://user:password@host:port/database") from None
    if given.drivername not in DRIVERS:
        raise UnsupportedDatabaseURL(
            f"the database URL scheme `{given.drivername}` is not supported; accepted: "
            + ", ".join(f"`{scheme}://`" for scheme in DRIVERS)
        )
    driver = DRIVERS[given.drivername]
    if driver != PSYCOPG2:
        return given.set(drivername=driver)
    query = dict(given.query)
    if given.drivername == "postgresql+asyncpg" and "ssl" in query:
        if "sslmode" in query:
            raise UnsupportedDatabaseURL("the database URL gives both `ssl` and `sslmode`; keep one")
        if query["ssl"] not in SSL_MODES:
            raise UnsupportedDatabaseURL(
                f"the database URL's `ssl={query['ssl']}` has no libpq equivalent; use one of {', '.join(SSL_MODES)}"
            )
        query["sslmode"] = query.pop("ssl")
    try:
        psycopg2.extensions.parse_dsn(psycopg2.extensions.make_dsn(**query))
    except psycopg2.ProgrammingError as error:
        raise UnsupportedDatabaseURL(f"the database URL's query parameters: {str(error).strip()}") from None
    return given.set(drivername=driver, query=query)


def driver_in_use(url: str) -> str:
    """What the log says about the connection, e.g. `psycopg2 (URL scheme postgresql+asyncpg)`."""
    return f"{DRIVER_NAMES[connection_url(url).drivername]} (URL scheme {sa.make_url(url).drivername})"


def backend(url: str) -> str:
    """`postgres` or `sqlite`: the Dagster kind of the database behind the URL; raises UnsupportedDatabaseURL."""
    name = connection_url(url).get_backend_name()
    return "postgres" if name == "postgresql" else name


def make_engine(url: str) -> sa.Engine:
    """An engine on the pipeline's own driver for any accepted URL; raises UnsupportedDatabaseURL."""
    target = connection_url(url)
    if target.get_backend_name() == "sqlite":
        Path(target.database or ".").parent.mkdir(parents=True, exist_ok=True)
        # A second writer waits for the first instead of failing at once with "database is locked".
        return sa.create_engine(target, connect_args={"timeout": 60})
    return sa.create_engine(target, pool_pre_ping=True, connect_args={"connect_timeout": 10})


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
