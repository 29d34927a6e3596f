from datetime import date

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from cpu_pipeline.analytics import listing_figures, write_back
from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS
from cpu_pipeline.database import schema
from cpu_pipeline.defs.recalculation import assets, checks
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.metadata import plain_text
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, WORKED_MEDIUM, cpu, listings_for
from cpu_pipeline_tests.conftest import fresh_postgres_database
from cpu_pipeline_tests.materialize import materialize


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def _healthy_catalogue(count: int) -> tuple[list[dict], list[dict]]:
    cpus = [cpu(i, multi=5_000 + 100 * i, single=1_000 + 10 * i) for i in range(1, count + 1)]
    listings = [row for i in range(1, count + 1) for row in listings_for(i, [100 + i, 120 + i, 140 + i])]
    return cpus, listings


def test_the_worked_cases_are_written_to_the_cent(sqlite_url):
    catalogues.write(
        sqlite_url,
        [cpu(1), cpu(2, multi=8_000), cpu(3, multi=12_000, single=2_500), cpu(4, multi=None)],
        listings_for(1, WORKED_HIGH) + listings_for(2, WORKED_MEDIUM) + listings_for(3, [500]) + listings_for(4, [250, 260]),
    )
    result = materialize(sqlite_url)
    assert result.success
    table = catalogues.cpu_table(sqlite_url)
    assert table.loc[1, ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]].tolist() == [
        352.80,
        338.02,
        367.58,
        14.78,
    ]
    assert table.loc[1, "price_target_confidence"] == "high"
    assert table.loc[2, ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]].tolist() == [
        400.00,
        389.20,
        410.80,
        10.80,
    ]
    assert table.loc[2, "price_target_confidence"] == "medium"
    # One listing: insufficient targets, but a performance value.
    assert table.loc[3, "price_target_confidence"] == "insufficient"
    assert table.loc[3, "price_target_sample_size"] == 1
    assert table.loc[3, "dollar_per_mark_single"] == 0.2
    assert table.loc[3, "dollar_per_mark_multi"] == round(500 / 12_000, 4)
    # No multi-thread score: targets, but no performance value and no place among the peers.
    assert table.loc[4, "price_target_good"] == 255.0
    assert pd.isna(table.loc[4, "performance_value_percentile"])
    # Peers: 1 (352.8/10000), 2 (400/8000), 3 (500/12000): strictly lower counts over 3 peers.
    assert table["performance_value_percentile"].tolist()[:3] == [0.0, 66.7, 33.3]
    assert table["performance_value_rating"].tolist()[:3] == ["excellent", "fair", "good"]
    assert table["price_target_updated_at"].notna().all()
    assert table["performance_metrics_updated_at"].notna().all()


def test_metadata_reports_counts_error_rate_and_a_preview(sqlite_url):
    catalogues.write(sqlite_url, *_healthy_catalogue(12))
    result = materialize(sqlite_url)
    [written] = [m for m in result.asset_materializations_for_node("cpu_analytics")]
    metadata = {key: value.value for key, value in written.metadata.items()}
    assert metadata["cpus_total"] == 12
    assert metadata["cpus_written"] == 12
    assert metadata["cpus_in_error"] == 0
    assert metadata["error_rate_percent"] == 0.0
    assert metadata["cpus_with_targets"] == 12
    assert metadata["cpus_rated"] == 12
    [loaded] = result.asset_materializations_for_node("listing_figures")
    assert loaded.metadata["dagster/row_count"].value == 12  # one row per CPU: the listings summarised
    assert loaded.metadata["active_listings"].value == 36


def _preview(result: dg.ExecuteInProcessResult, node: str, name: str) -> str:
    [materialization] = result.asset_materializations_for_node(node)
    return materialization.metadata[name].value


def _preview_column(preview: str, column: int) -> list[str]:
    """One column's cells of a Markdown table, as shown (the header and the rule left out)."""
    return [line[column] for line in _cells(preview)[1:]]


def test_a_latin1_database_is_recalculated_with_its_names_intact():
    with fresh_postgres_database(encoding="LATIN1") as url:
        catalogues.write(
            url,
            [cpu(1, name="Intel® Core i5-8500"), cpu(2, multi=8_000)],
            listings_for(1, WORKED_HIGH) + listings_for(2, WORKED_MEDIUM),
        )
        schema.create_pipeline_tables(sa.create_engine(url))
        result = materialize(url, day=date(2026, 11, 29))  # the history and the trends written there too
        assert result.success
        assert result.asset_materializations_for_node("cpu_analytics_history")[0].metadata["dagster/row_count"].value == 2
        table = catalogues.cpu_table(url)
        assert table.loc[1, "name"] == "Intel® Core i5-8500"
        assert table.loc[[1, 2], "price_target_good"].tolist() == [352.80, 400.00]
        assert table.loc[[1, 2], "performance_value_rating"].tolist() == ["excellent", "good"]
        assert _preview_column(_preview(result, "cpu_analytics", "best_value"), 0) == ["Intel® Core i5-8500", "Test CPU 2"]
        # Neither the name's LATIN1 byte nor Python's rendering of bytes reaches an event, log or metadata.
        assert not any("\\xae" in str(event) or "b'Intel" in str(event) for event in result.all_events)


def test_previews_show_names_as_stored_and_a_missing_value_as_an_empty_cell(postgres_url):
    # Model numbers alone for names (text that looks like numbers) and one name empty: shown as stored,
    # the empty one as an empty cell, never `nan`.
    catalogues.write(
        postgres_url,
        [cpu(1, name=""), cpu(2, name="5600", multi=8_000), cpu(3, name="1e3", multi=12_000, single=2_500)],
        listings_for(1, WORKED_HIGH) + listings_for(2, WORKED_MEDIUM) + listings_for(3, [500, 510, 520, 505, 515]),
    )
    result = materialize(postgres_url)
    assert result.success
    best_value = _preview(result, "cpu_analytics", "best_value")
    assert _preview_column(best_value, 0) == ["", "1e3", "5600"]
    assert "nan" not in best_value.lower()


def test_values_that_can_no_longer_be_computed_are_overwritten(sqlite_url):
    stale = {
        "price_target_good": 999.0,
        "price_target_great": 900.0,
        "price_target_fair": 1100.0,
        "price_target_stddev": 99.0,
        "price_target_sample_size": 40,
        "price_target_confidence": "high",
        "dollar_per_mark_single": 1.0,
        "dollar_per_mark_multi": 0.5,
        "performance_value_percentile": 10.0,
        "performance_value_rating": "excellent",
    }
    catalogues.write(
        sqlite_url, [cpu(1, **stale), cpu(2)], listings_for(2, [100, 110]) + listings_for(1, [50], status="archived")
    )
    assert materialize(sqlite_url).success
    row = catalogues.cpu_table(sqlite_url).loc[1]
    assert row["price_target_sample_size"] == 0
    assert row["price_target_confidence"] == "insufficient"
    assert (
        row[
            [
                "price_target_good",
                "price_target_great",
                "price_target_fair",
                "price_target_stddev",
                "dollar_per_mark_single",
                "dollar_per_mark_multi",
                "performance_value_percentile",
                "performance_value_rating",
            ]
        ]
        .isna()
        .all()
    )


def test_below_the_warning_threshold_the_gate_passes(sqlite_url):
    catalogues.write(sqlite_url, *_healthy_catalogue(10))
    result = materialize(sqlite_url)
    assert _check(result, checks.ERROR_RATE).passed


def test_above_the_warning_threshold_the_gate_warns_and_the_write_back_goes_ahead(sqlite_url):
    cpus, listings = _healthy_catalogue(20)
    cpus[0].update(cpu_mark_multi=-5, price_target_good=123.45, price_target_sample_size=7)  # 1 of 20: 5%
    catalogues.write(sqlite_url, cpus, listings)
    result = materialize(sqlite_url)
    assert result.success
    gate = _check(result, checks.ERROR_RATE)
    assert not gate.passed
    assert gate.severity == dg.AssetCheckSeverity.WARN
    assert gate.metadata["error_rate"].value == 0.05  # the share the alert sensors read
    # The percentage an operator reads, in the check and on both assets, as the command line prints it (5.00%).
    assert gate.metadata["error_rate_percent"].value == 5.0
    for node in ("cpu_performance_metrics", "cpu_analytics"):
        [materialization] = result.asset_materializations_for_node(node)
        assert materialization.metadata["error_rate_percent"].value == 5.0
        assert "error_rate" not in materialization.metadata
        # The thresholds are the check's, never plotted beside the asset's own figures.
        assert not {"warn_above", "fail_above"} & set(materialization.metadata)
    table = catalogues.cpu_table(sqlite_url)
    # The CPU in error keeps its previous values; every other CPU is written.
    assert table.loc[1, "price_target_good"] == 123.45
    assert table.loc[1, "price_target_sample_size"] == 7
    assert pd.isna(table.loc[1, "price_target_updated_at"])
    assert table.loc[2:, "price_target_updated_at"].notna().all()
    [performance] = result.asset_materializations_for_node("cpu_performance_metrics")
    assert "Test CPU 1" in plain_text(performance.metadata["errors"].value)
    # The stored value as a plain number, never numpy's repr (np.int64(-5)).
    assert "cpu_mark_multi is not a whole non-negative number: -5 " in performance.metadata["errors"].value
    assert "np." not in performance.metadata["errors"].value


def test_above_the_failure_threshold_nothing_is_written_and_the_run_fails(sqlite_url):
    cpus, listings = _healthy_catalogue(10)
    cpus[0]["cpu_mark_single"] = "fast"
    cpus[1]["cpu_mark_multi"] = 12.5
    listings[6]["adjusted_price_usd"] = "NaN"  # a listing of CPU 3: 3 of 10 CPUs in error
    catalogues.write(sqlite_url, cpus, listings)
    before = catalogues.cpu_table(sqlite_url)
    result = materialize(sqlite_url)
    assert not result.success
    gate = _check(result, checks.ERROR_RATE)
    assert gate.severity == dg.AssetCheckSeverity.ERROR and not gate.passed
    assert gate.metadata["cpus_in_error"].value == 3
    assert result.asset_materializations_for_node("cpu_analytics") == []
    pd.testing.assert_frame_equal(catalogues.cpu_table(sqlite_url), before)


def test_the_thresholds_are_configurable(sqlite_url):
    cpus, listings = _healthy_catalogue(10)
    cpus[0]["cpu_mark_multi"] = -1
    cpus[1]["cpu_mark_multi"] = -1
    catalogues.write(sqlite_url, cpus, listings)
    config = {"ops": {"cpu_performance_metrics": {"config": {"warn_above": 0.25, "fail_above": 0.5}}}}
    result = materialize(sqlite_url, run_config=config)
    assert result.success
    assert _check(result, checks.ERROR_RATE).passed
    strict = {"ops": {"cpu_performance_metrics": {"config": {"warn_above": 0.0, "fail_above": 0.1}}}}
    assert not materialize(sqlite_url, run_config=strict).success


def test_the_derivations_can_be_called_directly_with_frames(sqlite_url):
    rows = [cpu(1), cpu(2, multi=-3)], listings_for(1, WORKED_MEDIUM) + listings_for(2, [10, 20])
    catalogues.write(sqlite_url, *rows)  # where the step reads the prices of a CPU it recomputes exactly
    cpus, figures = pd.DataFrame(rows[0]), listing_figures.summarise(pd.DataFrame(rows[1]))
    targets = assets.cpu_price_targets(
        context=dg.build_asset_context(), app_database=AppDatabase(url=sqlite_url), cpus=cpus, listing_figures=figures
    )
    assert targets.value.set_index("cpu_id").loc[1, "price_target_good"] == 400.0
    assert all(check.passed for check in targets.check_results)
    performance = assets.cpu_performance_metrics(
        context=dg.build_asset_context(), config=checks.ErrorRateGate(), cpus=cpus, cpu_price_targets=targets.value
    )
    gate = next(check for check in performance.check_results if check.check_name == checks.ERROR_RATE)
    assert gate.metadata["error_rate"].value == 0.5 and gate.severity == dg.AssetCheckSeverity.ERROR


@pytest.mark.parametrize(
    "rate, severity",
    [
        (0.0, None),
        (0.02, None),
        (0.021, dg.AssetCheckSeverity.WARN),
        (0.1, dg.AssetCheckSeverity.WARN),
        (0.11, dg.AssetCheckSeverity.ERROR),
    ],
)
def test_gate_boundaries(rate, severity):
    performance = pd.DataFrame(
        {"error": [None] * 10, "percentile_unrounded": [None] * 10, "performance_value_rating": [None] * 10}
    )
    gate = checks.performance_results(performance, rate, checks.ErrorRateGate())[0]
    assert gate.passed == (severity is None)
    if severity:
        assert gate.severity == severity


def _columns(materialization: dg.AssetMaterialization) -> dict[str, str]:
    return {column.name: column.type for column in materialization.metadata["dagster/column_schema"].value.columns}


def test_each_table_like_asset_carries_its_column_schema_and_row_count_and_the_write_back_its_table(sqlite_url):
    catalogues.write(sqlite_url, *_healthy_catalogue(3))
    result = materialize(sqlite_url)
    [loaded] = result.asset_materializations_for_node("cpus")
    assert _columns(loaded)["name"] == "text" and _columns(loaded)["cpu_mark_multi"] == "integer"
    assert loaded.metadata["dagster/row_count"].value == 3
    [performance] = result.asset_materializations_for_node("cpu_performance_metrics")
    assert _columns(performance)["dollar_per_mark_multi"] == "float"
    assert _columns(performance)["performance_value_rating"] == "text"
    assert performance.metadata["dagster/row_count"].value == 3
    [written] = result.asset_materializations_for_node("cpu_analytics")
    assert written.metadata["dagster/table_name"].value == "cpu"
    assert list(_columns(written)) == ["cpu_id", *PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS]
    [description] = [
        c.description for c in written.metadata["dagster/column_schema"].value.columns if c.name == "price_target_great"
    ]
    assert "mean - sd" in description
    assert written.metadata["dagster/row_count"].value == 3


def test_the_catalogue_shows_every_cpu_with_its_targets_values_and_error(sqlite_url):
    cpus, listings = _healthy_catalogue(20)
    cpus[4].update(name="AMD Ryzen 5 5600", cpu_mark_multi=-5)  # in error: kept out of the write, not of the catalogue
    cpus.append(cpu(21, name="Intel Core i3-9100"))  # no listings: no targets, not rated
    catalogues.write(sqlite_url, cpus, listings)
    result = materialize(sqlite_url)
    [written] = result.asset_materializations_for_node("cpu_analytics")
    catalogue = written.metadata["catalogue"].value
    assert [column.name for column in catalogue.schema.columns] == ["name", "good", "n", "confidence"]
    rows = {plain_text(record.data["name"]): record.data for record in catalogue.records}
    assert len(rows) == 21 and list(rows) == sorted(rows)  # every CPU, in error or not, by name
    assert rows["AMD Ryzen 5 5600"]["n"] == 3
    first = catalogues.cpu_table(sqlite_url).loc[1]
    for column, shown in (
        ("price_target_good", "good"),
        ("price_target_sample_size", "n"),
        ("price_target_confidence", "confidence"),
    ):
        assert rows["Test CPU 1"][shown] == first[column]
    assert rows["Intel Core i3-9100"]["confidence"] == "insufficient"
    assert rows["Intel Core i3-9100"]["good"] is None
    # Names stay on one line in the UI: their spaces are no-break spaces.
    assert rows["Intel Core i3-9100"]["name"] == "Intel\u00a0Core\u00a0i3-9100"
    # One view of the counts per rating (rows) and per confidence (columns); 19 rated CPUs, 2 not rated.
    counts = {line[0]: line[1:] for line in _cells(written.metadata["cpus_by_rating_and_confidence"].value)}
    assert counts["rating"] == ["high", "medium", "low", "insufficient", "total"]
    assert counts["not rated"] == ["0", "0", "1", "1", "2"]
    assert counts["total"] == ["0", "0", "20", "1", "21"]
    assert sum(int(counts[rating][-1]) for rating in ("excellent", "good", "fair", "poor")) == 19


def _cells(preview: str) -> list[list[str]]:
    """Every line of a Markdown table, the header included, as its cells (the caption above it and the
    rule left out; no-break spaces read as spaces)."""
    lines = [line for line in plain_text(preview).splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[:1] + lines[2:]]


def test_best_value_ranks_only_cpus_with_at_least_medium_confidence_and_shows_n_and_confidence(sqlite_url):
    # CPU 3 has the cheapest points of all, but from two listings (low confidence): left out, and said so.
    catalogues.write(
        sqlite_url,
        [cpu(1), cpu(2, name="AMD Ryzen 5 5600", multi=8_000), cpu(3, multi=50_000), cpu(4, multi=12_000)],
        listings_for(1, WORKED_HIGH) + listings_for(2, WORKED_MEDIUM) + listings_for(3, [100, 110]) + listings_for(4, [500]),
    )
    result = materialize(sqlite_url)
    assert result.success
    best_value = _preview(result, "cpu_analytics", "best_value")
    assert best_value.startswith(write_back.BEST_VALUE_RULE + "\n\n")
    rule = " ".join(line.strip() for line in write_back.BEST_VALUE_RULE.splitlines())
    assert "Ranked only among CPUs with at least `medium` confidence (5+ listings priced, n)" in rule
    [header, *rows] = _cells(best_value)
    assert header == ["name", "$/multi", "percentile", "n", "confidence"]
    assert [(row[0], row[3], row[4]) for row in rows] == [("Test CPU 1", "10", "high"), ("AMD Ryzen 5 5600", "7", "medium")]
    assert "| AMD\u00a0Ryzen\u00a05\u00a05600 |" in best_value


def test_a_cpu_the_databases_float_sum_cannot_decide_is_recomputed_exactly_and_counted(postgres_url):
    # Summed in floats these give a mean that rounds to 455.57; statistics.mean rounds to 455.56.
    catalogues.write(postgres_url, [cpu(1), cpu(2)], listings_for(1, [259.74, 668.754, 438.201]) + listings_for(2, WORKED_HIGH))
    result = materialize(postgres_url)
    assert result.success
    assert catalogues.cpu_table(postgres_url).loc[1, "price_target_good"] == 455.56
    [targets] = result.asset_materializations_for_node("cpu_price_targets")
    assert targets.metadata["cpus_recomputed_exactly"].value == 1
    [summary] = result.asset_materializations_for_node("listing_figures")
    assert summary.metadata["dagster/row_count"].value == 2  # one row per CPU: no listing left the database
