"""Where the application database is, and how to connect to it.

Deal Brain's own `DATABASE_URL` names its async driver (`postgresql+asyncpg://`) and its
`SYNC_DATABASE_URL` psycopg 3 (`postgresql+psycopg://`); the pipeline connects to the same server,
database, user and password with its own driver, psycopg2, whichever of them it is given.

A URL carries secrets in its userinfo (the password) and in its query string (`password=`,
`sslpassword=`, `passfile=`). No text this module returns or raises holds a fragment of them:
`masked` shows a URL, `scrub` cleans any other message, and a URL whose parts are ambiguous (most
often a password pasted without percent-encoding, as in `app:Zq@9%x/y:Secret@db`) is refused, never
echoed, rather than split in the wrong place and sent to the wrong host.
"""

import re
import threading
import urllib.parse
from dataclasses import dataclass
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
ACCEPTED_SCHEMES = ", ".join(f"`{scheme}://`" for scheme in DRIVERS)
# asyncpg's `ssl=` takes the same modes as libpq's `sslmode=`.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

# The query parameters whose values are secrets (libpq's), and those `masked` shows as they are;
# any other parameter is shown as *** whole, its name included (it may be a piece of a password
# whose `&` was not percent-encoded).
SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile"})
SHOWN_PARAMETERS = frozenset(
    {
        "application_name",
        "channel_binding",
        "client_encoding",
        "connect_timeout",
        "dbname",
        "fallback_application_name",
        "gssencmode",
        "host",
        "hostaddr",
        "keepalives",
        "keepalives_count",
        "keepalives_idle",
        "keepalives_interval",
        "load_balance_hosts",
        "port",
        "ssl",
        "sslcert",
        "sslcrl",
        "sslkey",
        "sslmode",
        "sslrootcert",
        "target_session_attrs",
        "user",
    }
)
URL_SHAPE = "scheme://user:password@host:port/database?parameter=value"
PERCENT_ENCODE = "percent-encode special characters in the password, e.g. with urllib.parse.quote(password, safe='')"
# SQLAlchemy's reading of an SQLite URL: what follows `sqlite:///` is the path, so an absolute one adds its own `/`.
SQLITE_PATHS = "sqlite:///relative/path from the working folder, sqlite:////absolute/path with four slashes"
NOT_SHOWN = "<database URL not shown: it does not parse>"
# A fragment of a secret at least this long is scrubbed wherever it appears; a single character says nothing.
FRAGMENT_LENGTH = 2


class UnsupportedDatabaseURL(ValueError):
    """The URL names a scheme or parameter the pipeline cannot connect with, or does not parse; the
    message says which, and never holds a secret (nor, for a URL that does not parse, any of it)."""


class MissingDatabase(UnsupportedDatabaseURL):
    """The URL names an SQLite file that does not exist; nothing was created."""


def embedded_database_url(data_dir: Path) -> str:
    """The embedded SQLite file in the project's working data folder (`CPU_PIPELINE_DATA_DIR`)."""
    return f"sqlite:///{data_dir / 'cpu_pipeline.sqlite'}"


def _scheme(url: str) -> str | None:
    found = re.match(r"([A-Za-z][A-Za-z0-9+]*)://", url)
    return found.group(1) if found else None


def _split(url: str) -> urllib.parse.SplitResult:
    """The URL's parts, when it parses one way only; raises UnsupportedDatabaseURL saying why not,
    without repeating any of it."""

    def refuse(reason: str, advice: str = PERCENT_ENCODE) -> UnsupportedDatabaseURL:
        return UnsupportedDatabaseURL(
            f"the database URL does not parse as {URL_SHAPE} ({reason}); it is not shown, as it may hold a password: " + advice
        )

    scheme = _scheme(url)
    if scheme is None:
        raise refuse("no scheme:// at its start", f"start it with one of {ACCEPTED_SCHEMES}")
    parts = urllib.parse.urlsplit(url)
    if scheme == "sqlite":
        if parts.netloc:
            raise refuse(f"an SQLite URL names a file and takes no user, password or host: {SQLITE_PATHS}")
        return parts
    if "#" in url:
        raise refuse("it holds a `#`")
    if parts.netloc.count("@") > 1 or "@" in parts.path + parts.query:
        raise refuse("it holds more than one `@`, or one after the host")
    if any("=" not in pair for pair in parts.query.split("&") if parts.query):
        raise refuse("a query parameter has no `=`: a piece of a password given there with an `&` in it?")
    userinfo = parts.netloc.rpartition("@")[0]
    if re.search("%(?![0-9A-Fa-f]{2})", userinfo):
        raise refuse("a `%` in the user or password is not followed by two hexadecimal digits")
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when asked)
    except ValueError:
        raise refuse("the port is not a number from 0 to 65535") from None
    return parts


def _query(parts: urllib.parse.SplitResult) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(parts.query, keep_blank_values=True)


def masked(url: str) -> str:
    """The URL as it may be shown in logs, metadata and the UI: the password and every secret
    query parameter as ***, any parameter it does not know as *** whole; `NOT_SHOWN` when it does
    not parse. An SQLite URL (a path, no secret) is shown as it is."""
    try:
        parts = _split(url)
    except UnsupportedDatabaseURL:
        return NOT_SHOWN
    if _scheme(url) == "sqlite":
        return url
    userinfo, at, host = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    shown = f"{_scheme(url)}://{user}{':***' if colon else ''}{at}{host}{parts.path}"
    if parts.query:
        shown += "?" + "&".join(
            f"{name}={value}" if name in SHOWN_PARAMETERS else f"{name}=***" if name in SECRET_PARAMETERS else "***"
            for name, value in _query(parts)
        )
    return shown


def _secrets(url: str) -> list[str]:
    """Every secret in the URL, in every spelling a message could quote it in, with its fragments; for
    a URL that does not parse, all that may be one: from the user's `:` to the last `@`, the query
    string, or all of it without a scheme:// (a libpq keyword string)."""
    try:
        parts = _split(url)
    except UnsupportedDatabaseURL:
        after_scheme = url.partition("://")[2]
        userinfo = after_scheme.rpartition("@")[0]
        secrets = [userinfo.partition(":")[2] or userinfo, after_scheme.partition("?")[2]] if after_scheme else [url]
    else:
        raw_password = parts.netloc.rpartition("@")[0].partition(":")[2]
        pairs = [pair.partition("=") for pair in parts.query.split("&")]
        secret_values = [value for name, _, value in pairs if name in SECRET_PARAMETERS]
        # Beside a secret, a parameter no one knows may be a piece of it (an `&` in it): all of it is secret.
        unknown = [name + equals + value for name, equals, value in pairs if name not in SHOWN_PARAMETERS | SECRET_PARAMETERS]
        secrets = [raw_password, *secret_values, *(unknown if secret_values else [])]
    spellings = {form for secret in secrets for form in (secret, urllib.parse.unquote(secret), urllib.parse.quote(secret))}
    # Pieces between the URL's delimiters (`9%x` of `Zq@9%x/y`: a host name a driver quotes) and words.
    fragments = {
        piece
        for spelling in spellings
        for delimiters in (r"[@/:?#&=]+", r"[^A-Za-z0-9]+")
        for piece in re.split(delimiters, spelling)
    }
    return sorted((text for text in spellings | fragments if len(text) >= FRAGMENT_LENGTH), key=len, reverse=True)


def scrub(message: str, url: str) -> str:
    """`message` (a driver's or a library's) with every secret of `url`, and each longer fragment of
    one, replaced by ***: whatever the message quotes (a host name cut out of a mis-split password)."""
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return message


def connection_url(url: str) -> sa.URL:
    """The URL the pipeline connects with: the given one, its scheme mapped to the pipeline's own driver.

    Server, database, user, password and libpq parameters are kept; asyncpg's `ssl=<mode>` becomes
    libpq's `sslmode=<mode>`. Raises UnsupportedDatabaseURL for a URL that does not parse one way
    only, a scheme outside `DRIVERS`, and a query parameter libpq does not know (rather than
    connect without it).
    """
    parts = _split(url)
    try:
        given = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise UnsupportedDatabaseURL(f"the database URL does not parse as {URL_SHAPE}; {PERCENT_ENCODE}") from None
    if given.drivername not in DRIVERS:
        raise UnsupportedDatabaseURL(
            f"the database URL scheme `{given.drivername}` is not supported; accepted: {ACCEPTED_SCHEMES}"
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
        if SECRET_PARAMETERS.intersection(name for name, _ in _query(parts)):
            # A name libpq does not know may be a piece of the password beside it (an `&` in it).
            raise UnsupportedDatabaseURL(
                "the database URL's query string holds a parameter libpq does not know (not named: it may be part "
                f"of the password given there); {PERCENT_ENCODE}"
            ) from None
        raise UnsupportedDatabaseURL(f"the database URL's query parameters: {str(error).strip()}") from None
    return given.set(drivername=driver, query=query)


def driver_in_use(url: str) -> str:
    """What the log says about the connection, e.g. `psycopg2 (URL scheme postgresql+asyncpg)`."""
    return f"{DRIVER_NAMES[connection_url(url).drivername]} (URL scheme {sa.make_url(url).drivername})"


def backend(url: str) -> str:
    """`postgres` or `sqlite`: the Dagster kind of the database behind the URL; raises UnsupportedDatabaseURL."""
    name = connection_url(url).get_backend_name()
    return "postgres" if name == "postgresql" else name


def make_engine(url: str, *, create_missing_file: bool = False) -> sa.Engine:
    """An engine on the pipeline's own driver for any accepted URL; raises UnsupportedDatabaseURL.

    SQLite: a file that does not exist is not created (connecting raises MissingDatabase, and
    nothing is written to disk) unless `create_missing_file`, which creates its folder too: the
    embedded default's only. PostgreSQL: every statement can be interrupted (see `_cancellable`).
    """
    target = connection_url(url)
    if target.get_backend_name() == "sqlite":
        path = Path(target.database) if target.database not in (None, "", ":memory:") else None
        if path is not None and create_missing_file:
            path.parent.mkdir(parents=True, exist_ok=True)
        # A second writer waits for the first instead of failing at once with "database is locked".
        engine = sa.create_engine(target, connect_args={"timeout": 60})
        if path is not None and not create_missing_file:
            sa.event.listen(engine, "do_connect", _existing_file_only(path))
        return engine
    engine = sa.create_engine(target, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    _cancellable(engine)
    return engine


def _existing_file_only(path: Path):
    """A `do_connect` hook: refuses a file that does not exist, and opens the one that does read-write
    without create (SQLite's `mode=rw`), so that not even a file removed meanwhile is made again."""

    def connect(dialect, connection_record, cargs, cparams):
        if not path.is_file():
            raise MissingDatabase(
                f"the SQLite database {path} does not exist, and nothing was created: check the path in the "
                f"database URL (DATABASE_URL; {SQLITE_PATHS}), or leave DATABASE_URL unset for the embedded demo database"
            )
        cargs[0] = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=rw"
        cparams["uri"] = True

    return connect


# How often a thread waiting for a statement looks up, so that an interrupt is handled within this.
_INTERRUPT_POLL_SECONDS = 0.2
# How long an interrupted statement waits for the server to confirm its cancel.
_CANCEL_GRACE_SECONDS = 10


def _cancellable(engine: sa.Engine) -> None:
    """Make every statement on `engine` stop on an interrupt, on the server too.

    psycopg2 runs a statement in one C call that a signal cannot break into, so a run terminated
    while its write-back waits for a row lock would otherwise wait as long as the lock is held.
    Each statement runs on a helper thread while the calling thread waits in short steps; an
    interrupt that reaches the caller meanwhile (Ctrl-C's KeyboardInterrupt, Dagster's termination,
    raised by its SIGINT handler) sends the server a cancel for the statement, waits for it to end,
    and is raised again; SQLAlchemy then discards the connection, and its transaction with it.
    (psycopg2's own wait callbacks would do the same, but rule out the COPY the bulk reads use.)
    """

    def execute(cursor, statement, parameters, context) -> bool:
        return _run_cancellably(cursor, lambda: cursor.execute(statement, parameters))

    def execute_no_params(cursor, statement, context) -> bool:
        return _run_cancellably(cursor, lambda: cursor.execute(statement))

    def executemany(cursor, statement, parameters, context) -> bool:
        return _run_cancellably(cursor, lambda: cursor.executemany(statement, parameters))

    sa.event.listen(engine, "do_execute", execute)
    sa.event.listen(engine, "do_execute_no_params", execute_no_params)
    sa.event.listen(engine, "do_executemany", executemany)


def _run_cancellably(cursor, statement) -> bool:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            statement()
        except BaseException as error:  # handed to the calling thread, which raises it
            failures.append(error)

    worker = threading.Thread(target=run, name="cpu_pipeline-statement", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_INTERRUPT_POLL_SECONDS)
    except BaseException:  # an interrupt: KeyboardInterrupt, DagsterExecutionInterruptedError
        cursor.connection.cancel()
        worker.join(_CANCEL_GRACE_SECONDS)
        raise
    if failures:
        raise failures[0]
    return True  # SQLAlchemy: the statement has been executed


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached for a reason that can pass (refused, reset, shutting down, timed
    out): worth a retry. One line, the cause first, then what to do; never a secret."""


class DatabaseRefused(RuntimeError):
    """The database cannot be used as the URL says (unknown host, no such database or role, wrong password,
    no privilege): a retry would fail the same way. One line, the cause first, then what to do; never a secret."""


@dataclass(frozen=True)
class _Diagnosis:
    """What a driver message matching `pattern` means: `says` (formatted with the pattern's groups and
    the URL's `host`, `port`, `user`, `database`) and whether a retry can fix it."""

    pattern: str
    retryable: bool
    says: str


# libpq's own words for each connection failure: psycopg2 gives a failure to connect no SQLSTATE
# (pgcode is None), so its message text is all there is to tell them apart. Checked in this order.
_CONNECTION_FAILURES = (
    # DNS: NXDOMAIN (glibc, macOS, Android's wordings) will not come back; EAI_AGAIN ("Temporary failure") may.
    _Diagnosis(
        r'could not translate host name "(?P<name>[^"]*)" to address: (Name or service not known|nodename nor '
        r"servname provided|No address associated with hostname|Name has no usable address)",
        False,
        'unknown database host "{name}" (no such name in DNS): correct the host in the database URL',
    ),
    _Diagnosis(
        r'could not translate host name "(?P<name>[^"]*)" to address',
        True,
        'the database host "{name}" could not be looked up for now (DNS): check the network and the DNS server',
    ),
    _Diagnosis(
        r'database "(?P<name>[^"]*)" does not exist',
        False,
        'database "{name}" does not exist on {host}:{port}: correct the database name in the database URL, '
        "or create the database",
    ),
    _Diagnosis(
        r'password authentication failed for user "(?P<name>[^"]*)"',
        False,
        'wrong password for user "{name}" on {host}:{port}: correct the password in the database URL '
        "(percent-encoded: @ as %40, : as %3A, / as %2F)",
    ),
    _Diagnosis(
        r"no password supplied",
        False,
        'the server at {host}:{port} asks user "{user}" for a password and the database URL gives none: '
        "add it (scheme://user:password@host/database)",
    ),
    _Diagnosis(
        r'role "(?P<name>[^"]*)" does not exist',
        False,
        'no role "{name}" on {host}:{port}: correct the user in the database URL, or create the role',
    ),
    _Diagnosis(
        r'role "(?P<name>[^"]*)" is not permitted to log in',
        False,
        'role "{name}" may not log in on {host}:{port}: the database\'s owner runs ALTER ROLE {name} LOGIN',
    ),
    _Diagnosis(
        r"no pg_hba\.conf entry",
        False,
        'the server at {host}:{port} admits no connection of user "{user}" to "{database}" from this host '
        "(pg_hba.conf): its administrator adds an entry",
    ),
    _Diagnosis(
        r"Connection refused",
        True,
        "the database server at {host}:{port} refuses connections: start PostgreSQL, or correct the host and "
        "port in the database URL",
    ),
    _Diagnosis(
        r"timeout expired|timed out",
        True,
        "no answer from the database server at {host}:{port} within the connect timeout: check that it is up "
        "and reachable from this host (firewall, VPN)",
    ),
    _Diagnosis(
        r"the database system is (?P<state>shutting down|starting up|in recovery mode|not yet accepting "
        r"connections|not accepting connections)",
        True,
        "the database server at {host}:{port} is {state}: wait until it is up again",
    ),
    _Diagnosis(
        r"too many (clients|connections)|remaining connection slots are reserved",
        True,
        "the database server at {host}:{port} has no connection slot free: wait, or raise its max_connections",
    ),
)
# A connection lost after it was made: the server restarted or a proxy or the network cut it.
_LOST = _Diagnosis(
    "",
    True,
    "the connection to the database server at {host}:{port} failed or was lost ({reason}): check that the server "
    "is up and reachable from this host",
)
_PERMISSION_DENIED = "42501"  # insufficient_privilege


def database_error(error: BaseException, url: str) -> "DatabaseUnavailable | DatabaseRefused | None":
    """`error` (a driver error raised through SQLAlchemy) said in one line, cause first, then what to do,
    naming the database by its masked URL and scrubbed of its secrets: DatabaseUnavailable when a retry
    can fix it, DatabaseRefused when it cannot; None for an error of the data or the statement, which
    the caller raises as it is.

    A failure to reach or keep the server that none of libpq's known messages describes is taken as one
    that can pass (a bounded retry costs seconds; giving up on a server that was restarting costs a night).
    """
    if not isinstance(getattr(error, "orig", None), psycopg2.Error):
        return None  # SQLite's: a file, no server to reach
    reason = (str(error.orig).strip().splitlines() or [""])[0]
    code = error.orig.pgcode
    target = _where(url)
    if code == _PERMISSION_DENIED:
        found = re.search(r"permission denied for (.*)", reason)
        return DatabaseRefused(
            scrub(
                f'role "{target["user"]}" has no privilege for {found.group(1) if found else "a statement"}: the '
                f"database's owner runs what `cpu-pipeline grants --role {target['user']}` prints ({masked(url)})",
                url,
            )
        )
    if not is_connection_error(error):
        return None
    for diagnosis in _CONNECTION_FAILURES:
        found = re.search(diagnosis.pattern, reason, re.IGNORECASE)
        if found:
            break
    else:
        diagnosis, found = _LOST, None
    says = diagnosis.says.format(**target, **(found.groupdict() if found else {}), reason=_without_location(reason))
    kind = DatabaseUnavailable if diagnosis.retryable else DatabaseRefused
    return kind(scrub(f"{says} ({masked(url)})", url))


def _where(url: str) -> dict[str, str]:
    """The URL's host, port, user and database as libpq takes them when the URL leaves them out."""
    try:
        target = connection_url(url)
    except UnsupportedDatabaseURL:
        target = sa.make_url("postgresql://")
    return {
        "host": target.host or "localhost",
        "port": str(target.port or 5432),
        "user": target.username or "(the login name)",
        "database": target.database or "",
    }


def _without_location(reason: str) -> str:
    """libpq's message without its `connection to server at "h", port p failed: ` prefix, which the
    message gives already."""
    return re.sub(r"^connection to server (at|on) .*? failed: (FATAL:\s+)?", "", reason).strip()


def is_connection_error(error: BaseException) -> bool:
    """True for a failure to reach or keep the server, false for anything the data or the schema caused.

    PostgreSQL gives every error it raises a SQLSTATE; connection failures have none (refused,
    unknown host) or are in class 08 (connection exception) or 57P (the server shut down). Whether a
    retry can fix it is `database_error`'s to say.
    """
    if not isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return False
    code = getattr(error.orig, "pgcode", None)
    return error.connection_invalidated or code is None or code.startswith(("08", "57P"))


def describe(error: BaseException, url: str) -> str:
    """The first line of a driver error, naming the database by its masked URL, scrubbed of its secrets."""
    reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0]
    return f"{masked(url)}: {scrub(reason, url)}"


# Deal Brain's tables, which its migrations create, and what to do when one is missing.
DEAL_BRAIN_TABLES = ("cpu", "listing")


def missing_table(table: str) -> str:
    """What to do about a missing table: Deal Brain's (`cpu`, `listing`) come from its migrations or the demo
    catalogue, the pipeline's own from `cpu-pipeline setup`."""
    if table.rpartition(".")[2] in DEAL_BRAIN_TABLES:
        return (
            f"the application database has no table `{table}`: point DATABASE_URL at Deal Brain's database "
            "(its migrations create `cpu` and `listing`; the pipeline creates only its own tables), or fill a "
            "test database with `cpu-pipeline generate`"
        )
    return (
        f"the pipeline's table `{table}` does not exist: the database's owner creates it (and its schema) once with "
        "`cpu-pipeline setup` (see docs/application_database.md)"
    )


# A statement naming a table or column the database lacks: PostgreSQL's words, then SQLite's.
_MISSING_TABLE = re.compile(r'relation "(?P<table>[^"]+)" does not exist|no such table: (?P<sqlite_table>\S+)')
_MISSING_COLUMN = re.compile(r"column (?P<column>\S+) does not exist|no such column: (?P<sqlite_column>\S+)")


def explain(error: BaseException, url: str) -> str:
    """Any error met on the database at `url`, said in one line, the cause first, then what to do, naming
    the database by its masked URL and scrubbed of its secrets: the one translation every command prints.

    A driver error (SQLAlchemy's DBAPIError) is said by `database_error` when the server cannot be
    reached or refuses, by `missing_table` when a statement names a table the database lacks (a database
    not migrated, or not Deal Brain's), else by its first line (`describe`); any other error (the
    pipeline's own: UnsupportedDatabaseURL, MissingDatabase, SchemaMismatch, DatabaseRefused ...) by the
    first line of its message, which says it already. A library's error raised from a driver error (as
    dagster-postgres's "too many retries for DB connection") is said by the driver error, its cause.
    """
    driver_error = error
    while driver_error is not None and not isinstance(driver_error, sa.exc.DBAPIError):
        driver_error = driver_error.__cause__
    if driver_error is None:
        return scrub((str(error).strip().splitlines() or [type(error).__name__])[0], url)
    error = driver_error
    known = database_error(error, url)
    if known is not None:
        return str(known)
    reason = (str(error.orig).strip().splitlines() or [""])[0]
    table = _MISSING_TABLE.search(reason)
    if table:
        return scrub(f"{missing_table(table['table'] or table['sqlite_table'])} ({masked(url)})", url)
    column = _MISSING_COLUMN.search(reason)
    if column:
        return scrub(
            f"the database has no column {column['column'] or column['sqlite_column']}: it is not at Deal Brain's "
            f"current schema; run its migrations (alembic upgrade head) ({masked(url)})",
            url,
        )
    return describe(error, url)
