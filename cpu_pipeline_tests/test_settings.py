import re
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
    assert configured.ui_base_url == "http://127.0.0.1:3000"
    assert configured.alert_webhook_url is configured.dagster_pg_url is configured.dagster_home is None
    assert configured.given == frozenset()


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
        assert f"{name}: " in message
    assert "the database URL scheme `mysql` is not supported" in message
    assert "s3cr3t" not in message


def test_a_variable_given_reaches_a_resource_as_an_env_var_and_a_default_as_its_value():
    configured = settings.read({"ALERT_WEBHOOK_URL": "https://hooks.example/token"})
    assert configured.resource_config("ALERT_WEBHOOK_URL", None) == dg.EnvVar("ALERT_WEBHOOK_URL")
    assert configured.resource_config("CPU_PIPELINE_SCHEMA", configured.pipeline_schema) == "cpu_pipeline"
