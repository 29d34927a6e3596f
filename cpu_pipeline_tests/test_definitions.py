"""The definitions load, and their graph is pinned: a renamed asset, check or edge fails here."""

import dagster as dg

from cpu_pipeline.definitions import defs

EXPECTED_DEPENDENCIES = {
    "cpus": set(),
    "listings": set(),
    "cpu_price_targets": {"cpus", "listings"},
    "cpu_performance_metrics": {"cpus", "cpu_price_targets"},
    "cpu_analytics": {"cpu_price_targets", "cpu_performance_metrics"},
}
HISTORY_DEPENDENCIES = {
    "cpu_analytics_history": {"cpu_analytics"},
    "cpu_price_trends": {"cpu_analytics_history", "cpus", "cpu_price_targets"},
}
ALL_DEPENDENCIES = {**EXPECTED_DEPENDENCIES, **HISTORY_DEPENDENCIES}
EXPECTED_CHECKS = {
    ("cpu_price_targets", "targets_ordered"),
    ("cpu_price_targets", "confidence_matches_sample_size"),
    ("cpu_performance_metrics", "error_rate_within_limits"),
    ("cpu_performance_metrics", "percentile_in_range"),
    ("cpu_performance_metrics", "rating_matches_percentile"),
    ("cpu_analytics", "every_cpu_accounted_for"),
}


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
        expected_group = "cpu_metrics" if spec.key.to_user_string() in EXPECTED_DEPENDENCIES else "cpu_price_history"
        assert spec.group_name == expected_group
        assert spec.description
        assert spec.owners == ["team:deal-brain"]
        assert "pandas" in spec.kinds
    loads = {spec.key.to_user_string(): spec.kinds for spec in defs.resolve_all_asset_specs()}
    assert "sqlite" in loads["cpus"] or "postgres" in loads["cpus"]


def test_the_job_covers_every_asset_and_check():
    job = defs.resolve_job_def("recalculate_cpu_metrics")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == set(EXPECTED_DEPENDENCIES)
    assert {(key.asset_key.to_user_string(), key.name) for key in job.asset_layer.asset_graph.asset_check_keys} == EXPECTED_CHECKS
    assert job.tags["dagster/max_runtime"] == "3600"


def test_the_nightly_schedule_targets_the_job():
    schedule = defs.resolve_schedule_def("recalculate_cpu_metrics_nightly")
    assert schedule.job_name == "recalculate_cpu_metrics"


def test_the_history_is_daily_in_utc_and_filled_after_each_recalculation():
    job = defs.resolve_job_def("snapshot_cpu_price_history")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == set(HISTORY_DEPENDENCIES)
    assert job.partitions_def.timezone == "UTC"
    sensor = defs.resolve_sensor_def("snapshot_after_recalculation")
    assert sensor.job_name == "snapshot_cpu_price_history"
