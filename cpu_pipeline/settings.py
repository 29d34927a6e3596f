"""Every environment variable cpu_pipeline reads: declared here with its default, the values it
accepts and what it sets (`VARIABLES`), and read and validated together, at one time (`read`).

The code location reads them once, when it is loaded (`current`); a `cpu-pipeline` command once, when
it starts (`read`). Nothing else in the package reads the environment. The secrets a resource takes
(DATABASE_URL, ALERT_WEBHOOK_URL) reach it as `dagster.EnvVar` (`resource_config`), resolved when a
run starts, so their values never land in a run's config or the UI; no error repeats a secret.

A value that cannot be used stops the code location from loading, and any command from starting,
with one message per variable: its name, its value (unless secret) and what it accepts.

The README's table of variables is `readme_table()`; a test keeps the two the same.
"""

import functools
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# No Dagster imported here: every command reads the settings, and `show` answers in well under the
# seconds importing Dagster takes. What needs Dagster imports it when it runs.
from cpu_pipeline.database.engine import DRIVERS, UnsupportedDatabaseURL, backend, connection_url, embedded_database_url
from cpu_pipeline.database.schema import DEFAULT_PIPELINE_SCHEMA


class SettingsError(ValueError):
    """One or more variables hold values the pipeline cannot use; the message names each, with its value
    (never a secret's) and what it accepts."""


# Each parser returns the value it accepts, or raises ValueError saying why not, without repeating the
# value: `read` shows it where it is not a secret.


def _database_url(value: str) -> str:
    try:
        connection_url(value)
    except UnsupportedDatabaseURL as error:
        raise ValueError(str(error)) from None
    return value


def _dagster_pg_url(value: str) -> str:
    if _database_url(value) and backend(value) != "postgres":
        raise ValueError("Dagster's storage needs PostgreSQL, not SQLite")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http:// or https:// URL")
    return value


def _whole_number(value: str) -> int | None:
    return int(value) if re.fullmatch(r"\s*[0-9]+\s*", value) else None


def _above_zero(value: str, unit: str, example: str) -> int:
    """A whole number above 0 of `unit`s, written without the unit (`example`)."""
    number = _whole_number(value)
    if number is None:
        raise ValueError(f"not a whole number {unit}above 0 ({example})")
    if number == 0:
        raise ValueError("0 is not above 0")
    return number


def _seconds(value: str) -> int:
    return _above_zero(value, "", "seconds without a unit: `3600`, not `1h`")


def _freshness_window(value: str) -> int:
    seconds = _seconds(value)
    if seconds < MINIMUM_FRESHNESS_SECONDS:
        raise ValueError("below 60 seconds: a Dagster freshness policy's window is at least a minute")
    return seconds


def _count(value: str) -> int:
    count = _whole_number(value)
    if not count:
        raise ValueError("not a whole number above 0")
    return count


# Unset, the freshness warning comes this long before the failure (an hour late for a nightly run, at
# the default window of 26 hours), and never below Dagster's minimum of a minute.
FRESHNESS_WARN_LEAD_SECONDS = 3600
MINIMUM_FRESHNESS_SECONDS = 60


def default_freshness_warn(window_seconds: int) -> int | None:
    """The warn window when CPU_PIPELINE_FRESHNESS_WARN_SECONDS is unset: `FRESHNESS_WARN_LEAD_SECONDS`
    below the fail window, at least a minute; None (no warning) for a window of a minute, which leaves no room."""
    if window_seconds <= MINIMUM_FRESHNESS_SECONDS:
        return None
    return max(window_seconds - FRESHNESS_WARN_LEAD_SECONDS, MINIMUM_FRESHNESS_SECONDS)


def _days(value: str) -> int:
    return _above_zero(value, "of days ", "`30`, not `30d`")


def _port(value: str) -> int:
    port = _whole_number(value)
    if port is None or not 1 <= port <= 65535:
        raise ValueError("not a TCP port")
    return port


DEFAULT_SCHEDULE_CRON = "30 2 * * *"

# The levels Dagster's webserver and daemon accept (`--log-level`).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _log_level(value: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise ValueError("not one of Dagster's log levels")
    return value.lower()


def _cron(value: str) -> str:
    if value == DEFAULT_SCHEDULE_CRON:
        return value  # valid (a test checks): the check below imports Dagster, seconds no command should wait
    from dagster._utils.schedules import is_valid_cron_string  # the check Dagster applies to a schedule

    if not is_valid_cron_string(value):
        raise ValueError("not a cron expression of five fields (minute hour day month weekday)")
    return value


# PostgreSQL cuts a longer name short without a word, and keeps `pg_` for its own schemas.
_NAME_BYTES = 63


def _schema_name(value: str) -> str:
    if len(value.encode()) > _NAME_BYTES:
        raise ValueError(f"longer than {_NAME_BYTES} bytes, which PostgreSQL would cut short")
    if value.startswith("pg_") or "\0" in value:
        raise ValueError("`pg_` names are PostgreSQL's own, and a name holds no NUL")
    return value


_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if len(value) > 253 or not _HOST_NAME.fullmatch(value):
            raise ValueError("neither an IP address nor a host name") from None
    return value


def _folder(value: str) -> str:
    if Path(value).exists() and not Path(value).is_dir():
        raise ValueError("exists and is not a folder")
    return value


def _dagster_home(value: str) -> str:
    # Dagster's own checks, made here so that the message names the variable and says what to do.
    if not Path(value).is_absolute():
        raise ValueError("not an absolute path, as Dagster requires")
    if not Path(value).is_dir():
        raise ValueError("not an existing folder: create it (with a dagster.yaml) first")
    return value


@dataclass(frozen=True)
class Variable:
    """One environment variable: unset or empty, it takes its default."""

    name: str
    sets: str
    accepted: str
    default: str | None  # None: no value (an optional feature off, or computed from the others)
    shown_default: str | None = None  # the README's words for the default, where the value alone says too little
    parse: Callable[[str], object] = str
    secret: str = ""  # why the value is a secret: it reaches resources only as EnvVar, and no error repeats it


VARIABLES = (
    Variable(
        "DATABASE_URL",
        "Deal Brain's database",
        "a SQLAlchemy URL: " + ", ".join(f"`{scheme}://`" for scheme in DRIVERS if scheme != "sqlite") + " or `sqlite:///path`",
        None,
        "the embedded SQLite `cpu_pipeline.sqlite` in the data folder, with the demo catalogue",
        _database_url,
        secret="it holds the password",
    ),
    Variable(
        "CPU_PIPELINE_DATA_DIR",
        "the working data folder (the embedded database)",
        "a folder, relative to the working directory or absolute",
        "data",
        parse=_folder,
    ),
    Variable(
        "CPU_PIPELINE_SCHEMA",
        "the PostgreSQL schema of the pipeline's own tables (`cpu-pipeline setup` creates it)",
        "a PostgreSQL schema name: at most 63 bytes, not starting with `pg_`",
        DEFAULT_PIPELINE_SCHEMA,
        parse=_schema_name,
    ),
    Variable(
        "CPU_PIPELINE_SCHEDULE_CRON",
        "when `recalculate_cpu_metrics_nightly` runs, in UTC",
        "a cron expression of five fields",
        DEFAULT_SCHEDULE_CRON,
        parse=_cron,
    ),
    Variable(
        "CPU_PIPELINE_MAX_RUNTIME_SECONDS",
        "a recalculation's maximum runtime (the job's `dagster/max_runtime`)",
        "a whole number of seconds above 0",
        "3600",
        parse=_seconds,
    ),
    Variable(
        "CPU_PIPELINE_SENSOR_INTERVAL_SECONDS",
        "how often each sensor looks (the run alerts, the snapshot after a recalculation, the listing-change "
        "trigger, the overdue alert)",
        "a whole number of seconds above 0",
        "30",
        parse=_seconds,
    ),
    Variable(
        "CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS",
        "how old the last write-back of the `cpu` table may be before `recalculation_overdue` alerts "
        "(the freshness policy of `cpu_analytics`, and `cpu-pipeline health`)",
        "a whole number of seconds, 60 or more",
        "93600",
        "`93600` (26 hours)",
        parse=_freshness_window,
    ),
    Variable(
        "CPU_PIPELINE_FRESHNESS_WARN_SECONDS",
        "how old the last write-back of the `cpu` table may be before the freshness policy of `cpu_analytics` "
        "warns (the UI shows WARN; no alert)",
        "a whole number of seconds, 60 or more, below `CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS`",
        None,
        "an hour below the freshness window, at least 60: `90000` (25 hours) at the default window; none for a window of 60",
        parse=_freshness_window,
    ),
    Variable(
        "CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT",
        "how many ticks in a row a sensor or schedule may fail before `ticks_failing` alerts (and `cpu-pipeline health` fails)",
        "a whole number above 0",
        "3",
        parse=_count,
    ),
    Variable(
        "CPU_PIPELINE_RUN_RETENTION_DAYS",
        "how long Dagster keeps a finished run, its events and its compute logs before the daily "
        "`delete_old_runs` removes them (never the runs holding each asset's latest materialization)",
        "a whole number of days, at least the freshness window",
        "30",
        parse=_days,
    ),
    Variable(
        "ALERT_WEBHOOK_URL",
        "where alerts are POSTed, Slack-compatible",
        "an `http://` or `https://` URL",
        None,
        "none: alerts are only logged",
        _http_url,
        secret="it holds the token",
    ),
    Variable(
        "CPU_PIPELINE_UI_BASE_URL",
        "the UI address the alerts link to",
        "an `http://` or `https://` URL",
        "http://127.0.0.1:3000",
        parse=_http_url,
    ),
    Variable(
        "DAGSTER_PG_URL",
        "Dagster's own storage (runs, events, schedules) for `make serve`, read by `instances/production/dagster.yaml`",
        "a `postgresql://` URL",
        None,
        "none: required by `make serve`",
        _dagster_pg_url,
        secret="it holds the password",
    ),
    Variable(
        "DAGSTER_HOST",
        "the address the webserver binds (`make serve`, `make dev`)",
        "an IP address or host name; `0.0.0.0` for every interface",
        "127.0.0.1",
        parse=_host,
    ),
    Variable("DAGSTER_PORT", "the webserver's port (`make serve`, `make dev`)", "1 to 65535", "3000", parse=_port),
    Variable(
        "CPU_PIPELINE_CODE_SERVER_HOST",
        "where the served stack's code server listens and its webserver and daemon find it "
        "(`make serve`, `instances/production/workspace.yaml`)",
        "an IP address or host name",
        "127.0.0.1",
        parse=_host,
    ),
    Variable(
        "CPU_PIPELINE_CODE_SERVER_PORT",
        "the served stack's code server port (`make serve`, `instances/production/workspace.yaml`)",
        "1 to 65535",
        "4000",
        parse=_port,
    ),
    Variable(
        "DAGSTER_LOG_LEVEL",
        "what Dagster's webserver and daemon log (`make serve`, `make dev`); `info` adds two lines for every sensor tick",
        ", ".join(f"`{level}`" for level in LOG_LEVELS),
        "warning",
        parse=_log_level,
    ),
    Variable(
        "CPU_PIPELINE_STOP_GRACE_SECONDS",
        "how long Ctrl-C on `make serve` lets the runs in progress finish before it cancels them",
        "a whole number of seconds above 0",
        "60",
        parse=_seconds,
    ),
    Variable(
        "DAGSTER_HOME",
        "Dagster's instance folder, read by Dagster itself; `make run` and `make dev` set "
        "`data/dagster_home`, `make serve` `instances/production`",
        "an existing folder, as an absolute path (its `dagster.yaml` configures the instance)",
        None,
        "none: `cpu-pipeline run` uses a throwaway instance",
        _dagster_home,
    ),
)
BY_NAME = {variable.name: variable for variable in VARIABLES}


@dataclass(frozen=True)
class Settings:
    """The variables' values, validated; each field says which variable sets it."""

    database_url: str  # DATABASE_URL, else the embedded SQLite file in `data_dir`
    embedded_database: bool  # DATABASE_URL unset: the quickstart's database, filled with the demo catalogue
    data_dir: Path  # CPU_PIPELINE_DATA_DIR, resolved against the working directory
    pipeline_schema: str  # CPU_PIPELINE_SCHEMA
    schedule_cron: str  # CPU_PIPELINE_SCHEDULE_CRON
    max_runtime_seconds: int  # CPU_PIPELINE_MAX_RUNTIME_SECONDS
    sensor_interval_seconds: int  # CPU_PIPELINE_SENSOR_INTERVAL_SECONDS
    freshness_window_seconds: int  # CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS
    freshness_warn_seconds: int | None  # CPU_PIPELINE_FRESHNESS_WARN_SECONDS, else `default_freshness_warn`
    tick_failures_before_alert: int  # CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT
    run_retention_days: int  # CPU_PIPELINE_RUN_RETENTION_DAYS
    alert_webhook_url: str | None  # ALERT_WEBHOOK_URL
    ui_base_url: str  # CPU_PIPELINE_UI_BASE_URL
    dagster_pg_url: str | None  # DAGSTER_PG_URL
    dagster_host: str  # DAGSTER_HOST
    dagster_port: int  # DAGSTER_PORT
    code_server_host: str  # CPU_PIPELINE_CODE_SERVER_HOST
    code_server_port: int  # CPU_PIPELINE_CODE_SERVER_PORT
    dagster_log_level: str  # DAGSTER_LOG_LEVEL, in lower case
    stop_grace_seconds: int  # CPU_PIPELINE_STOP_GRACE_SECONDS
    dagster_home: Path | None  # DAGSTER_HOME
    given: frozenset[str]  # the variables set (and not empty)

    def resource_config(self, name: str, value: object) -> object:
        """`value` as a resource's config: `dagster.EnvVar(name)` when the variable is set, so that Dagster
        reads it when a run starts and the value never enters the run's config; `value` otherwise."""
        import dagster as dg

        return dg.EnvVar(name) if name in self.given else value


def read(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every variable in `VARIABLES` from `environ` (default: this process's environment).

    Raises SettingsError naming every variable whose value cannot be used, e.g.
    `CPU_PIPELINE_MAX_RUNTIME_SECONDS='1h': not a whole number of seconds above 0 (...); accepted: ...`.
    """
    environ = os.environ if environ is None else environ
    given = {variable.name: environ[variable.name] for variable in VARIABLES if environ.get(variable.name)}
    values, problems = {}, []

    def refuse(variable: Variable, raw: str, reason: object) -> None:
        shown = f" (value not shown: {variable.secret})" if variable.secret else f"={raw!r}"
        # An error that lists what it accepts (a database URL's schemes) is not followed by the same list.
        accepted = "" if "; accepted: " in str(reason) else f"; accepted: {variable.accepted}"
        problems.append(f"{variable.name}{shown}: {reason}{accepted}")

    for variable in VARIABLES:
        raw = given.get(variable.name, variable.default)
        try:
            values[variable.name] = None if raw is None else variable.parse(raw)
        except ValueError as error:
            refuse(variable, raw, error)
    window, warn = values.get("CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS"), values.get("CPU_PIPELINE_FRESHNESS_WARN_SECONDS")
    if window is not None and warn is not None and warn >= window:
        # Dagster's rule for a time-window freshness policy: the warning comes before the failure.
        reason = f"not below CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS ({window})"
        refuse(BY_NAME["CPU_PIPELINE_FRESHNESS_WARN_SECONDS"], given["CPU_PIPELINE_FRESHNESS_WARN_SECONDS"], reason)
    days = values.get("CPU_PIPELINE_RUN_RETENTION_DAYS")
    if days is not None and window is not None and days * 86400 < window:
        # Runs are kept at least as long as the freshness window: the overdue alert and `health` may still
        # need them (either variable may be the one set wrong: the message names both).
        reason = (
            f"below the freshness window (CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS={window}, {window / 86400:g} days): "
            "runs the overdue alert may still need would be deleted"
        )
        retention = BY_NAME["CPU_PIPELINE_RUN_RETENTION_DAYS"]
        refuse(retention, given.get(retention.name, retention.default), reason)
    if problems:
        raise SettingsError("; ".join(problems))
    data_dir = Path(values["CPU_PIPELINE_DATA_DIR"]).resolve()
    return Settings(
        database_url=values["DATABASE_URL"] or embedded_database_url(data_dir),
        embedded_database="DATABASE_URL" not in given,
        data_dir=data_dir,
        pipeline_schema=values["CPU_PIPELINE_SCHEMA"],
        schedule_cron=values["CPU_PIPELINE_SCHEDULE_CRON"],
        max_runtime_seconds=values["CPU_PIPELINE_MAX_RUNTIME_SECONDS"],
        sensor_interval_seconds=values["CPU_PIPELINE_SENSOR_INTERVAL_SECONDS"],
        freshness_window_seconds=window,
        freshness_warn_seconds=warn if warn is not None else default_freshness_warn(window),
        tick_failures_before_alert=values["CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT"],
        run_retention_days=values["CPU_PIPELINE_RUN_RETENTION_DAYS"],
        alert_webhook_url=values["ALERT_WEBHOOK_URL"],
        ui_base_url=values["CPU_PIPELINE_UI_BASE_URL"],
        dagster_pg_url=values["DAGSTER_PG_URL"],
        dagster_host=values["DAGSTER_HOST"],
        dagster_port=values["DAGSTER_PORT"],
        code_server_host=values["CPU_PIPELINE_CODE_SERVER_HOST"],
        code_server_port=values["CPU_PIPELINE_CODE_SERVER_PORT"],
        dagster_log_level=values["DAGSTER_LOG_LEVEL"],
        stop_grace_seconds=values["CPU_PIPELINE_STOP_GRACE_SECONDS"],
        dagster_home=Path(values["DAGSTER_HOME"]) if values["DAGSTER_HOME"] else None,
        given=frozenset(given),
    )


@functools.cache
def current() -> Settings:
    """The settings the code location is built from: read on first use, the same object afterwards."""
    return read()


def readme_table() -> str:
    """The README's table of variables, in Markdown."""
    rows = ["| variable | what it sets | accepted values | default |", "|---|---|---|---|"]
    for variable in VARIABLES:
        default = variable.shown_default or f"`{variable.default}`"
        sets = f"{variable.sets} (secret: {variable.secret})" if variable.secret else variable.sets
        rows.append(f"| `{variable.name}` | {sets} | {variable.accepted} | {default} |")
    return "\n".join(rows)
