"""The definitions load, and they are pinned: a renamed asset, check, job, schedule or sensor, a lost
edge, owner, kind, tag, description or partitioning, a changed default status: each fails here."""

from datetime import timedelta

import dagster as dg
from dagster._core.test_utils import mock_workspace_from_repos

from cpu_pipeline import settings
from cpu_pipeline.database.engine import backend
from cpu_pipeline.definitions import defs
from cpu_pipeline.defs.recalculation.assets import WRITTEN_TABLE

# Deal Brain's tables, external assets: the pipeline reads them, computes neither (defs/deal_brain/).
DEAL_BRAIN_TABLES = {"deal_brain/cpu": "cpu", "deal_brain/listing": "listing"}
# The recalculation's five assets, all the job runs.
EXPECTED_DEPENDENCIES = {
    "cpus": {"deal_brain/cpu"},
    "listing_figures": {"deal_brain/listing"},
    "cpu_price_targets": {"cpus", "listing_figures"},
    "cpu_performance_metrics": {"cpus", "cpu_price_targets"},
    "cpu_analytics": {"cpu_price_targets", "cpu_performance_metrics"},
}
HISTORY_DEPENDENCIES = {
    "cpu_analytics_history": {"cpu_analytics"},
    "cpu_price_trends": {"cpu_analytics_history", "cpus", "cpu_price_targets"},
}
ALL_DEPENDENCIES = {**dict.fromkeys(DEAL_BRAIN_TABLES, set()), **EXPECTED_DEPENDENCIES, **HISTORY_DEPENDENCIES}
EXPECTED_CHECKS = {
    ("cpu_price_targets", "targets_ordered"),
    ("cpu_price_targets", "confidence_matches_sample_size"),
    ("cpu_performance_metrics", "error_rate_within_limits"),
    ("cpu_performance_metrics", "percentile_in_range"),
    ("cpu_performance_metrics", "rating_matches_percentile"),
    ("cpu_analytics", "every_cpu_accounted_for"),
}

# The kind of the database the environment names (the embedded SQLite file unless DATABASE_URL is set).
DATABASE = backend(settings.current().database_url)
OWNERS = ["team:deal-brain"]


def _asset(
    group: str, kinds: set[str], freshness: tuple[timedelta, timedelta | None] | None = None, table: str | None = None
) -> dict:
    """An asset; `freshness` its (fail, warn) windows; with a `table`, the database table it is (`dagster/table_name`)."""
    return {
        "group": group,
        "owners": OWNERS,
        "kinds": kinds,
        "tags": {f"dagster/kind/{kind}": "" for kind in kinds},
        "metadata": {"dagster/table_name": table} if table else {},
        "partitions": None,  # none: the history is keyed by day in its table (price_history/assets.py)
        "pool": None if group == "deal_brain" else "cpu_metrics",  # Deal Brain's tables: computed by no op
        "described": True,
        "freshness": freshness,
    }


# Per asset: everything the UI shows about it, and the pool its runs queue in; deps are ALL_DEPENDENCIES.
ASSETS = {
    **{key: _asset("deal_brain", {DATABASE}, table=table) for key, table in DEAL_BRAIN_TABLES.items()},
    "cpus": _asset("cpu_metrics", {"pandas", DATABASE}),
    "listing_figures": _asset("cpu_metrics", {"pandas", DATABASE}),
    "cpu_price_targets": _asset("cpu_metrics", {"pandas", DATABASE}),  # reads the prices of CPUs it recomputes
    "cpu_performance_metrics": _asset("cpu_metrics", {"pandas"}),
    # (fail window, warn window): CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS, CPU_PIPELINE_FRESHNESS_WARN_SECONDS.
    "cpu_analytics": _asset(
        "cpu_metrics", {"pandas", DATABASE}, freshness=(timedelta(hours=26), timedelta(hours=25)), table="cpu"
    ),
    "cpu_analytics_history": _asset("cpu_price_history", {"pandas", DATABASE}),
    "cpu_price_trends": _asset("cpu_price_history", {"pandas", DATABASE}),
}
# Per check: whether it blocks the assets downstream of its asset when it fails with severity ERROR.
BLOCKING = {
    ("cpu_price_targets", "targets_ordered"): True,
    ("cpu_price_targets", "confidence_matches_sample_size"): True,
    ("cpu_performance_metrics", "error_rate_within_limits"): True,
    ("cpu_performance_metrics", "percentile_in_range"): True,
    ("cpu_performance_metrics", "rating_matches_percentile"): True,
    ("cpu_analytics", "every_cpu_accounted_for"): False,
}
JOBS = {
    "recalculate_cpu_metrics": {
        "assets": set(EXPECTED_DEPENDENCIES),
        "checks": EXPECTED_CHECKS,
        "tags": {"dagster/max_runtime": "3600"},
        "partitions": None,
        "described": True,
    },
    "snapshot_cpu_price_history": {
        "assets": set(HISTORY_DEPENDENCIES),
        "checks": set(),
        "tags": {},
        "partitions": None,
        "described": True,
    },
    "delete_old_runs": {  # storage maintenance: no asset, no pool
        "assets": set(),
        "checks": set(),
        "tags": {},
        "partitions": None,
        "described": True,
    },
}
SCHEDULES = {
    "recalculate_cpu_metrics_nightly": {
        "job": "recalculate_cpu_metrics",
        "cron": "30 2 * * *",
        "timezone": "UTC",
        "default_status": dg.DefaultScheduleStatus.RUNNING,
        "described": True,
    },
    "delete_old_runs_daily": {
        "job": "delete_old_runs",
        "cron": "15 4 * * *",
        "timezone": "UTC",
        "default_status": dg.DefaultScheduleStatus.RUNNING,
        "described": True,
    },
}
SENSORS = {
    "alert_on_failed_run": {
        "type": "RUN_STATUS",
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": 30,  # CPU_PIPELINE_SENSOR_INTERVAL_SECONDS
        "requests": None,
        "described": True,
    },
    "alert_on_error_rate_warning": {
        "type": "RUN_STATUS",
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": 30,  # CPU_PIPELINE_SENSOR_INTERVAL_SECONDS
        "requests": None,
        "described": True,
    },
    "snapshot_after_recalculation": {
        "type": "RUN_STATUS",
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": 30,  # CPU_PIPELINE_SENSOR_INTERVAL_SECONDS
        "requests": ["snapshot_cpu_price_history"],
        "described": True,
    },
}
SENSORS |= {
    "recalculate_on_listing_change": {
        "type": "STANDARD",
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": 30,
        "requests": ["recalculate_cpu_metrics"],
        "described": True,
    },
    "alert_on_overdue_recalculation": {
        "type": "STANDARD",
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": 30,
        "requests": None,
        "described": True,
    },
    "alert_on_failing_ticks": {
        "type": "STANDARD",
        "default_status": dg.DefaultSensorStatus.RUNNING,
        "minimum_interval_seconds": 30,
        "requests": None,
        "described": True,
    },
}
RESOURCES = {"app_database", "alert_webhook", "clock"}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_the_asset_graph_is_pinned():
    graph = defs.resolve_asset_graph()
    dependencies = {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert dependencies == ALL_DEPENDENCIES
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert checks == EXPECTED_CHECKS


def test_every_asset_explains_itself_in_the_ui():
    for spec in defs.resolve_all_asset_specs():
        key = spec.key.to_user_string()
        in_recalculation = "cpu_metrics" if key in EXPECTED_DEPENDENCIES else "cpu_price_history"
        expected_group = "deal_brain" if key in DEAL_BRAIN_TABLES else in_recalculation
        assert spec.group_name == expected_group
        assert spec.description
        assert spec.owners == ["team:deal-brain"]
        assert ("pandas" in spec.kinds) == (key not in DEAL_BRAIN_TABLES)  # Deal Brain's tables: the database's kind only
    loads = {spec.key.to_user_string(): spec.kinds for spec in defs.resolve_all_asset_specs()}
    assert "sqlite" in loads["cpus"] or "postgres" in loads["cpus"]


def _windows(policy: dg.FreshnessPolicy) -> tuple[timedelta, timedelta | None]:
    return policy.fail_window.to_timedelta(), policy.warn_window.to_timedelta() if policy.warn_window else None


def test_every_asset_is_pinned():
    snapshot = {}
    for spec in defs.resolve_all_asset_specs():
        computed = defs.resolve_assets_def(spec.key)
        snapshot[spec.key.to_user_string()] = {
            "group": spec.group_name,
            "owners": spec.owners,
            "kinds": spec.kinds,
            "tags": dict(spec.tags),
            "metadata": dict(spec.metadata),
            "partitions": spec.partitions_def,
            "pool": computed.op.pool if computed.is_executable else None,
            "described": bool(spec.description),
            "freshness": _windows(spec.freshness_policy) if spec.freshness_policy else None,
        }
        assert {dep.asset_key.to_user_string() for dep in spec.deps} == ALL_DEPENDENCIES[spec.key.to_user_string()]
    assert snapshot == ASSETS


def test_deal_brains_tables_head_the_lineage_and_the_write_back_names_the_table_it_writes():
    graph = defs.resolve_asset_graph()
    for key, table in DEAL_BRAIN_TABLES.items():
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.is_external and not node.is_executable  # nothing here can materialise Deal Brain's tables
        assert node.metadata["dagster/table_name"] == table
    # The write-back writes into `cpu` without being drawn upstream of it: no cycle, and its materialisations
    # name the same table as the external asset.
    assert DEAL_BRAIN_TABLES["deal_brain/cpu"] == WRITTEN_TABLE
    assert graph.get(dg.AssetKey("cpu_analytics")).child_keys == {dg.AssetKey("cpu_analytics_history")}
    # As the UI's GraphQL sees them, through the definitions' snapshot: one storage address, `cpu`.
    served = mock_workspace_from_repos([defs.get_repository_def()]).asset_graph
    same_table = served.get_assets_for_same_storage_address(dg.AssetKey(["deal_brain", "cpu"]))
    assert {node.key for node in same_table} == {dg.AssetKey("cpu_analytics")}
    assert served.get_assets_for_same_storage_address(dg.AssetKey(["deal_brain", "listing"])) == set()


def test_every_check_is_pinned():
    graph = defs.resolve_asset_graph()
    blocking = {}
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        assert spec.description, key
        blocking[(key.asset_key.to_user_string(), key.name)] = spec.blocking
    assert blocking == BLOCKING


def test_the_jobs_are_pinned():
    snapshot = {}
    for job in defs.resolve_all_job_defs():
        if job.name == "__ASSET_JOB":  # Dagster's own job behind "Materialize", not one of ours
            continue
        snapshot[job.name] = {
            "assets": {key.to_user_string() for key in job.asset_layer.executable_asset_keys},
            "checks": {(key.asset_key.to_user_string(), key.name) for key in job.asset_layer.asset_graph.asset_check_keys},
            "tags": dict(job.tags),
            "partitions": job.partitions_def,
            "described": bool(job.description),
        }
    assert snapshot == JOBS


def test_the_schedules_are_pinned():
    snapshot = {
        schedule.name: {
            "job": schedule.job_name,
            "cron": schedule.cron_schedule,
            "timezone": schedule.execution_timezone,
            "default_status": schedule.default_status,
            "described": bool(schedule.description),
        }
        for schedule in defs.schedules
    }
    assert snapshot == SCHEDULES


def test_the_sensors_are_pinned():
    snapshot = {
        sensor.name: {
            "type": sensor.sensor_type.value,
            "default_status": sensor.default_status,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
            "requests": [job.name for job in sensor.jobs] if sensor.has_jobs else None,
            "described": bool(sensor.description),
        }
        for sensor in defs.sensors
    }
    assert snapshot == SENSORS


def test_the_resources_and_the_executor_are_pinned():
    assert set(defs.resources) == RESOURCES
    assert defs.executor is dg.in_process_executor


def test_the_job_covers_every_asset_and_check():
    job = defs.resolve_job_def("recalculate_cpu_metrics")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == set(EXPECTED_DEPENDENCIES)
    assert {(key.asset_key.to_user_string(), key.name) for key in job.asset_layer.asset_graph.asset_check_keys} == EXPECTED_CHECKS
    assert job.tags["dagster/max_runtime"] == "3600"


def test_the_nightly_schedule_targets_the_job():
    schedule = defs.resolve_schedule_def("recalculate_cpu_metrics_nightly")
    assert schedule.job_name == "recalculate_cpu_metrics"


def test_the_history_is_filled_after_each_recalculation():
    job = defs.resolve_job_def("snapshot_cpu_price_history")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == set(HISTORY_DEPENDENCIES)
    sensor = defs.resolve_sensor_def("snapshot_after_recalculation")
    assert sensor.job_name == "snapshot_cpu_price_history"
