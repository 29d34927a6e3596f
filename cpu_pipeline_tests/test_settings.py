import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from cpu_pipeline import settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cpu_pipeline"


def test_the_readme_documents_every_variable_as_the_settings_declare_it():
    assert settings.readme_table() in (ROOT / "README.md").read_text()


def test_nothing_else_in_the_package_reads_the_environment():
    reads = re.compile(r"os\.getenv\(|os\.environ\.get\(|os\.environ\[|EnvVar\(")
    readers = sorted(str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py") if reads.search(path.read_text()))
    assert readers == ["cpu_pipeline/settings.py"]


def test_unset_or_empty_variables_take_their_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    configured = settings.read({"CPU_PIPELINE_SCHEMA": "", "DAGSTER_PORT": ""})
    assert configured.embedded_database
    assert configured.database_url == f"sqlite:///{tmp_path / 'data' / 'cpu_pipeline.sqlite'}"
    assert (configured.pipeline_schema, configured.schedule_cron, configured.max_runtime_seconds) == (
        "cpu_pipeline",
        "30 2 * * *",
        3600,
    )
    assert (configured.dagster_host, configured.dagster_port) == ("127.0.0.1", 3000)
    assert (configured.sensor_interval_seconds, configured.dagster_log_level, configured.stop_grace_seconds) == (
        30,
        "warning",
        60,
    )
    assert configured.ui_base_url == "http://127.0.0.1:3000"
    assert configured.alert_webhook_url is configured.dagster_pg_url is configured.dagster_home is None
    assert configured.given == frozenset()
    assert (configured.freshness_window_seconds, configured.freshness_warn_seconds) == (93600, 90000)
    assert configured.tick_failures_before_alert == 3


@pytest.mark.parametrize(
    "given, warn",
    [
        ({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": "7200"}, 3600),  # unset: an hour below the window
        ({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": "600"}, 60),  # at least a minute
        ({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": "60"}, None),  # no room below a minute: no warning
        ({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": "60", "CPU_PIPELINE_FRESHNESS_WARN_SECONDS": ""}, None),
        ({"CPU_PIPELINE_FRESHNESS_WARN_SECONDS": "43200"}, 43200),
    ],
)
def test_the_freshness_warning_comes_before_the_failure(given, warn):
    assert settings.read(given).freshness_warn_seconds == warn


def test_a_warn_window_not_below_the_fail_window_is_refused_in_one_line():
    with pytest.raises(settings.SettingsError) as failure:
        settings.read({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": "3600", "CPU_PIPELINE_FRESHNESS_WARN_SECONDS": "3600"})
    assert str(failure.value) == (
        "CPU_PIPELINE_FRESHNESS_WARN_SECONDS='3600': not below CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS (3600); accepted: "
        + settings.BY_NAME["CPU_PIPELINE_FRESHNESS_WARN_SECONDS"].accepted
    )


def test_the_values_given_are_read_and_typed(tmp_path):
    configured = settings.read(
        {
            "DATABASE_URL": "postgresql+asyncpg://u:p@db/deal_brain",
            "CPU_PIPELINE_DATA_DIR": str(tmp_path),
            "CPU_PIPELINE_SCHEDULE_CRON": "* * * * *",
            "CPU_PIPELINE_MAX_RUNTIME_SECONDS": "3",
            "DAGSTER_PORT": "3111",
        }
    )
    assert not configured.embedded_database and configured.database_url == "postgresql+asyncpg://u:p@db/deal_brain"
    assert configured.data_dir == tmp_path
    assert (configured.schedule_cron, configured.max_runtime_seconds, configured.dagster_port) == ("* * * * *", 3, 3111)


def test_every_invalid_value_is_named_at_once_and_no_secret_is_repeated():
    with pytest.raises(settings.SettingsError) as failure:
        settings.read(
            {
                "DATABASE_URL": "mysql://u:s3cr3t@db/x",
                "ALERT_WEBHOOK_URL": "hooks.example/s3cr3t-token",
                "CPU_PIPELINE_SCHEDULE_CRON": "every night",
                "CPU_PIPELINE_MAX_RUNTIME_SECONDS": "0",
                "DAGSTER_PORT": "http",
            }
        )
    message = str(failure.value)
    for name in (
        "DATABASE_URL",
        "ALERT_WEBHOOK_URL",
        "CPU_PIPELINE_SCHEDULE_CRON",
        "CPU_PIPELINE_MAX_RUNTIME_SECONDS",
        "DAGSTER_PORT",
    ):
        assert f"{name}=" in message or f"{name} (value not shown" in message
    assert "the database URL scheme `mysql` is not supported" in message
    assert "s3cr3t" not in message


def test_a_variable_given_reaches_a_resource_as_an_env_var_and_a_default_as_its_value():
    configured = settings.read({"ALERT_WEBHOOK_URL": "https://hooks.example/token"})
    assert configured.resource_config("ALERT_WEBHOOK_URL", None) == dg.EnvVar("ALERT_WEBHOOK_URL")
    assert configured.resource_config("CPU_PIPELINE_SCHEMA", configured.pipeline_schema) == "cpu_pipeline"


# A value each variable cannot take, and what its message says about it: every variable has one, so a
# new variable comes with its validation.
BAD_VALUES = {
    "DATABASE_URL": ("postgresql://app:Zq@9%x/y:Secret@db:5432/dealbrain", "percent-encode special characters"),
    "CPU_PIPELINE_DATA_DIR": (str(Path(__file__)), "exists and is not a folder"),
    "CPU_PIPELINE_SCHEMA": ("pg_catalogue", "`pg_` names are PostgreSQL's own"),
    "CPU_PIPELINE_SCHEDULE_CRON": ("every night", "not a cron expression of five fields"),
    "CPU_PIPELINE_MAX_RUNTIME_SECONDS": ("1h", "not a whole number above 0"),
    "CPU_PIPELINE_SENSOR_INTERVAL_SECONDS": ("30s", "not a whole number above 0"),
    "CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": ("59", "below 60 seconds"),
    "CPU_PIPELINE_FRESHNESS_WARN_SECONDS": ("93600", "not below CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS (93600)"),
    "CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT": ("0", "not a whole number above 0"),
    "CPU_PIPELINE_RUN_RETENTION_DAYS": ("30d", "not a whole number of days above 0"),
    "ALERT_WEBHOOK_URL": ("hooks.example/Secret-token", "not an http:// or https:// URL"),
    "CPU_PIPELINE_UI_BASE_URL": ("localhost:3000", "not an http:// or https:// URL"),
    "DAGSTER_PG_URL": ("sqlite:////srv/dagster.sqlite", "Dagster's storage needs PostgreSQL"),
    "DAGSTER_HOST": ("my host", "neither an IP address nor a host name"),
    "DAGSTER_PORT": ("70000", "not a TCP port"),
    "CPU_PIPELINE_CODE_SERVER_HOST": ("code server", "neither an IP address nor a host name"),
    "CPU_PIPELINE_CODE_SERVER_PORT": ("0", "not a TCP port"),
    "DAGSTER_LOG_LEVEL": ("verbose", "not one of Dagster's log levels"),
    "CPU_PIPELINE_STOP_GRACE_SECONDS": ("1m", "not a whole number above 0"),
    "DAGSTER_HOME": ("data/dagster_home", "not an absolute path"),
}


def test_every_variable_has_a_bad_value_tested():
    assert set(BAD_VALUES) == set(settings.BY_NAME)


@pytest.mark.parametrize("name", BAD_VALUES)
def test_a_bad_value_is_named_with_the_variable_its_value_unless_secret_and_what_is_accepted(name):
    value, reason = BAD_VALUES[name]
    variable = settings.BY_NAME[name]
    with pytest.raises(settings.SettingsError) as failure:
        settings.read({name: value})
    message = str(failure.value)
    assert reason in message
    assert message.endswith(f"; accepted: {variable.accepted}")
    if variable.secret:
        assert message.startswith(f"{name} (value not shown: {variable.secret}): ")
        assert "Secret" not in message
    else:
        assert message.startswith(f"{name}={value!r}: ")


@pytest.mark.parametrize(
    "name, value",
    [
        ("DAGSTER_HOST", "0.0.0.0"),
        ("DAGSTER_HOST", "::1"),
        ("DAGSTER_HOST", "dagster.internal.example"),
        ("CPU_PIPELINE_SCHEMA", "analytics_own"),
        ("CPU_PIPELINE_MAX_RUNTIME_SECONDS", " 7200 "),
        ("DAGSTER_PG_URL", "postgresql://dagster:p%40ss@db:5432/dagster"),
        ("DAGSTER_LOG_LEVEL", "INFO"),
    ],
)
def test_good_values_pass(name, value):
    settings.read({name: value})


def test_zero_seconds_is_said_to_be_no_more_than_zero_without_the_hint_about_units():
    with pytest.raises(settings.SettingsError) as failure:
        settings.read({"CPU_PIPELINE_MAX_RUNTIME_SECONDS": "0"})
    assert str(failure.value).startswith("CPU_PIPELINE_MAX_RUNTIME_SECONDS='0': 0 is not above 0; accepted: ")
    assert "`1h`" not in str(failure.value)


def test_an_unsupported_scheme_lists_the_accepted_ones_once():
    with pytest.raises(settings.SettingsError) as failure:
        settings.read({"DATABASE_URL": "mysql://deal_brain:s3cr3t@db/deal_brain"})
    message = str(failure.value)
    assert "the database URL scheme `mysql` is not supported; accepted: `postgresql+asyncpg://`" in message
    assert message.count("accepted: ") == 1 and message.count("`postgresql+psycopg://`") == 1


def test_the_default_schedule_passes_dagsters_own_check_which_reading_the_settings_skips():
    from dagster._utils.schedules import is_valid_cron_string

    assert is_valid_cron_string(settings.DEFAULT_SCHEDULE_CRON)
    assert settings.read({}).schedule_cron == settings.DEFAULT_SCHEDULE_CRON


def test_reading_the_default_settings_imports_no_dagster():
    # `show` reads them, and answers in well under the seconds importing Dagster takes.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from cpu_pipeline import settings; settings.read(); print('dagster' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        env={key: value for key, value in os.environ.items() if not key.startswith(("CPU_PIPELINE_", "DAGSTER_"))},
    ).stdout
    assert loaded.strip() == "False"


def test_a_run_retention_of_zero_days_is_said_to_be_no_more_than_zero():
    with pytest.raises(settings.SettingsError, match=r"^CPU_PIPELINE_RUN_RETENTION_DAYS='0': 0 is not above 0; accepted: "):
        settings.read({"CPU_PIPELINE_RUN_RETENTION_DAYS": "0"})


@pytest.mark.parametrize("value", ["-3", "2.5", "a month"])
def test_a_run_retention_that_is_no_whole_number_of_days_is_refused(value):
    with pytest.raises(settings.SettingsError, match=r"^CPU_PIPELINE_RUN_RETENTION_DAYS=.*not a whole number of days above 0"):
        settings.read({"CPU_PIPELINE_RUN_RETENTION_DAYS": value})


def test_the_run_retention_defaults_to_30_days_and_is_refused_below_the_freshness_window():
    assert settings.read({}).run_retention_days == 30
    assert settings.read({"CPU_PIPELINE_RUN_RETENTION_DAYS": "2"}).run_retention_days == 2  # 48 h >= 26 h
    with pytest.raises(settings.SettingsError) as failure:
        settings.read({"CPU_PIPELINE_RUN_RETENTION_DAYS": "1"})  # 24 h, below the default window of 26 h
    message = str(failure.value)
    window = "(CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS=93600"
    assert message.startswith(f"CPU_PIPELINE_RUN_RETENTION_DAYS='1': below the freshness window {window}")
    assert message.endswith(f"; accepted: {settings.BY_NAME['CPU_PIPELINE_RUN_RETENTION_DAYS'].accepted}")
    assert "\n" not in message
    # The window is the other side of the rule: a longer window refuses the default retention.
    with pytest.raises(settings.SettingsError, match="CPU_PIPELINE_RUN_RETENTION_DAYS='30': below the freshness window"):
        settings.read({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": str(31 * 86400)})
    assert settings.read({"CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": str(30 * 86400)}).run_retention_days == 30


def test_the_log_level_is_passed_on_as_dagster_spells_it():
    assert settings.read({"DAGSTER_LOG_LEVEL": "Debug"}).dagster_log_level == "debug"


def test_a_bad_value_stops_the_code_location_from_loading_with_the_message(tmp_path):
    environ = {**os.environ, "CPU_PIPELINE_MAX_RUNTIME_SECONDS": "1h", "DAGSTER_HOME": str(tmp_path)}
    validated = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-m", "cpu_pipeline.definitions"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_reset_signals,
        start_new_session=True,
    )
    assert validated.returncode != 0
    assert "CPU_PIPELINE_MAX_RUNTIME_SECONDS='1h': not a whole number above 0" in validated.stdout + validated.stderr


def _reset_signals():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_every_sensor_looks_as_often_as_the_sensor_interval_says():
    # The definitions read their settings once, when loaded: a fresh interpreter loads them with the variable set.
    environ = {**os.environ, "CPU_PIPELINE_SENSOR_INTERVAL_SECONDS": "45"}
    intervals = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cpu_pipeline.definitions import defs\n"
            "print(sorted({s.minimum_interval_seconds for s in defs.get_repository_def().sensor_defs}))",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_reset_signals,
        start_new_session=True,
        check=True,
    ).stdout
    assert intervals.strip().splitlines()[-1] == "[45]"
