"""The history and the trends over several simulated days, on SQLite and PostgreSQL; the day is
passed in (a fixed clock), never taken from the real one."""

import statistics
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS
from cpu_pipeline.database import schema
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.metadata import plain_text
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, cpu, listings_for
from cpu_pipeline_tests.materialize import materialize

FIRST_DAY = date(2026, 10, 1)


def _set_prices(url: str, cpu_id: int, prices: list[float]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM listing WHERE cpu_id = :id"), {"id": cpu_id})
    engine.dispose()
    catalogues.write(url, [], listings_for(cpu_id, prices))


def _table(url: str, name: str, pipeline_schema: str = schema.DEFAULT_PIPELINE_SCHEMA) -> pd.DataFrame:
    """One of the pipeline's tables (`history` or `trends`), read from where it lives."""
    engine = sa.create_engine(url)
    table = getattr(schema.pipeline_tables_in(engine, pipeline_schema), name)
    with engine.connect() as connection:
        frame = pd.read_sql_query(sa.select(table), connection)
    engine.dispose()
    return frame


def _seed_history(url: str, good_by_day: dict[date, dict[int, float]]) -> None:
    """Earlier nights' snapshots, written through the store as the history asset writes them."""
    database = AppDatabase(url=url)
    for day, goods in good_by_day.items():
        rows = pd.DataFrame(
            {
                "cpu_id": list(goods),
                "price_target_good": list(goods.values()),
                "price_target_sample_size": 2,
                "price_target_confidence": "low",
            }
        )
        database.write_history(day, rows.reindex(columns=["cpu_id", *PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS]))
    database.engine.dispose()


def _good(prices: list[float]) -> float:
    """Deal Brain's rule, as docs/rules.md says: Python's round of the float mean of the stored prices."""
    return round(statistics.mean(prices), 2)


def _falling(night: int) -> list[float]:
    return [round(200 * 0.99**night, 2), round(220 * 0.99**night, 2)]


def test_the_history_of_thirty_nights_and_tonight_give_the_trends(sqlite_url):
    # CPU 1 gets 1% cheaper every night; CPU 2 stays put with one far outlier; CPU 3 has one price.
    # Thirty nights are seeded through the store; tonight's runs through Dagster, like the nightly job.
    catalogues.write(
        sqlite_url,
        [cpu(1), cpu(2), cpu(3)],
        listings_for(1, _falling(30)) + listings_for(2, [100, 101, 102, 103, 900]) + listings_for(3, [50]),
    )
    stable = _good([100, 101, 102, 103, 900])
    _seed_history(sqlite_url, {FIRST_DAY + timedelta(days=night): {1: _good(_falling(night)), 2: stable} for night in range(30)})
    last = FIRST_DAY + timedelta(days=30)
    with dg.instance_for_test() as instance:
        assert materialize(sqlite_url, day=last, instance=instance).success
    history = _table(sqlite_url, "history")
    assert len(history) == 30 * 2 + 3
    assert list(history.columns[:2]) == ["cpu_id", "day"]
    trends = _table(sqlite_url, "trends").set_index("cpu_id")
    assert pd.to_datetime(trends["as_of"]).dt.date.eq(last).all()
    good = {night: _good(_falling(night)) for night in (0, 23, 30)}
    assert trends.loc[1, "price_target_good"] == good[30]
    assert trends.loc[1, "good_change_7d"] == round(good[30] - good[23], 2)
    assert trends.loc[1, "good_change_30d"] == round(good[30] - good[0], 2)
    assert trends.loc[1, "good_change_30d_pct"] == round((good[30] - good[0]) / good[0] * 100, 2)
    assert not trends.loc[1, "price_drop"]  # about 6.8% in 7 days: under the 10% threshold
    assert trends.loc[2, "good_change_7d"] == 0.0
    assert trends.loc[2, "outlier_count"] == 1 and trends.loc[2, "wide_price_range"]
    assert pd.isna(trends.loc[3, "outlier_count"]) and pd.isna(trends.loc[3, "wide_price_range"])


def test_a_sharp_drop_is_flagged(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, [250, 260]))
    _seed_history(sqlite_url, {FIRST_DAY + timedelta(days=night): {1: 305.0} for night in range(7)})
    with dg.instance_for_test() as instance:
        result = materialize(sqlite_url, day=FIRST_DAY + timedelta(days=7), instance=instance)
    [trends] = result.asset_materializations_for_node("cpu_price_trends")
    assert trends.metadata["price_drops"].value == 1
    assert "Test CPU 1" in plain_text(trends.metadata["largest_drops"].value)
    assert bool(_table(sqlite_url, "trends").loc[0, "price_drop"])


def test_each_snapshot_is_filed_under_its_day_and_a_second_one_that_day_replaces_it(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1), cpu(2)], listings_for(1, [100, 110]) + listings_for(2, [200, 220]))
    second = FIRST_DAY + timedelta(days=1)
    with dg.instance_for_test() as instance:
        assert materialize(sqlite_url, day=FIRST_DAY, instance=instance).success
        assert materialize(sqlite_url, day=second, instance=instance).success
        _set_prices(sqlite_url, 1, [120, 130])
        result = materialize(sqlite_url, day=second, instance=instance)
    assert result.success
    [snapshot] = result.asset_materializations_for_node("cpu_analytics_history")
    assert snapshot.partition is None and snapshot.metadata["day"].value == second.isoformat()
    history = _table(sqlite_url, "history").set_index(["cpu_id", "day"]).sort_index()
    assert sorted({str(day) for day in history.index.get_level_values("day")}) == [FIRST_DAY.isoformat(), second.isoformat()]
    assert history["price_target_good"].tolist() == [105.0, 125.0, 210.0, 210.0]


def test_on_postgres_only_the_history_needs_the_setup_and_it_says_so(postgres_url):
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    with dg.instance_for_test() as instance:
        result = materialize(postgres_url, day=FIRST_DAY, instance=instance)
    assert not result.success
    failed = {event.step_key: event.step_failure_data.error.to_string() for event in result.get_step_failure_events()}
    assert list(failed) == ["cpu_analytics_history"]  # the write-back went ahead; the trends never started
    assert "`cpu_pipeline.cpu_analytics_history` does not exist" in failed["cpu_analytics_history"]
    assert "`cpu-pipeline setup`" in failed["cpu_analytics_history"]
    assert catalogues.cpu_table(postgres_url).loc[1, "price_target_good"] == 352.80
    assert not sa.inspect(sa.create_engine(postgres_url)).has_schema("cpu_pipeline")  # the job created nothing


def test_the_pipeline_schema_is_configurable(postgres_url):
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    engine = sa.create_engine(postgres_url)
    schema.create_pipeline_tables(engine, "pipeline_own")
    with dg.instance_for_test() as instance:
        assert materialize(postgres_url, day=FIRST_DAY, instance=instance, pipeline_schema="pipeline_own").success
    assert _table(postgres_url, "history", "pipeline_own")["price_target_good"].tolist() == [352.80]
    assert _table(postgres_url, "trends", "pipeline_own")["cpu_id"].tolist() == [1]
    assert sa.inspect(engine).get_table_names(schema="public") == ["cpu", "listing"]
