import dagster as dg
import pytest

from cpu_pipeline import settings
from cpu_pipeline.database.engine import DatabaseUnavailable, backend
from cpu_pipeline.defs.resources import app_database
from cpu_pipeline.lib.app_database import AppDatabase, EmbeddedDemoDatabase
from cpu_pipeline_tests.materialize import materialize


def test_the_url_is_shown_with_its_password_masked():
    database = AppDatabase(url="postgresql://deal_brain:s3cr3t@db.example:5432/deal_brain")
    assert database.display_url == "postgresql://deal_brain:***@db.example:5432/deal_brain"


def test_database_url_picks_the_database_through_an_env_var(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5432/x")
    configured = app_database(settings.read())
    assert not isinstance(configured, EmbeddedDemoDatabase)  # Deal Brain's database is never filled with demo data
    assert backend(settings.read().database_url) == "postgres"
    assert configured.url == dg.EnvVar("DATABASE_URL")  # resolved at run time; the value never enters the config


def test_cpu_pipeline_schema_names_the_pipelines_schema_through_an_env_var(monkeypatch):
    monkeypatch.delenv("CPU_PIPELINE_SCHEMA", raising=False)
    assert app_database(settings.read()).pipeline_schema == "cpu_pipeline"
    monkeypatch.setenv("CPU_PIPELINE_SCHEMA", "analytics_own")
    assert app_database(settings.read()).pipeline_schema == dg.EnvVar("CPU_PIPELINE_SCHEMA")


def test_without_database_url_the_embedded_default_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("CPU_PIPELINE_DATA_DIR", str(tmp_path))
    configured = app_database(settings.read())
    assert configured.url == f"sqlite:///{tmp_path / 'cpu_pipeline.sqlite'}"
    assert isinstance(configured, EmbeddedDemoDatabase)  # the quickstart's: filled with the demo catalogue on first use
    assert backend(settings.read().database_url) == "sqlite"


def test_an_unreachable_database_is_named_without_its_password():
    database = AppDatabase(url="postgresql://deal_brain:s3cr3t@127.0.0.1:1/deal_brain")
    with pytest.raises(DatabaseUnavailable) as failure:
        database.load_cpus()
    assert "postgresql://deal_brain:***@127.0.0.1:1/deal_brain" in str(failure.value)
    assert "s3cr3t" not in str(failure.value)


def test_a_run_on_a_mistyped_sqlite_path_fails_in_one_line_and_creates_nothing(tmp_path):
    missing = tmp_path / "dat" / "x.db"
    result = materialize(f"sqlite:///{missing}")
    assert not result.success
    error = next(event.step_failure_data.error for event in result.all_events if event.is_step_failure)
    while error.cause is not None:  # Dagster's own wrapper first, the pipeline's error last
        error = error.cause
    assert error.message.startswith(f"cpu_pipeline.database.engine.MissingDatabase: the SQLite database {missing} does not exist")
    assert len(error.message.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_default_is_created_with_its_folder(tmp_path):
    embedded = EmbeddedDemoDatabase(url=f"sqlite:///{tmp_path / 'data' / 'cpu_pipeline.sqlite'}")
    with embedded.engine.connect():  # created, empty: the resource fills it when a run starts
        pass
    assert (tmp_path / "data" / "cpu_pipeline.sqlite").is_file()
