import threading
import time
from datetime import datetime

import pandas as pd
import psycopg2
import pytest
import sqlalchemy as sa

from cpu_pipeline.analytics.validation import parse_numbers
from cpu_pipeline.database import io
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for


def _rows(cpu_ids, good: float, confidence: str = "low") -> pd.DataFrame:
    return pd.DataFrame({"cpu_id": cpu_ids, "price_target_good": good, "price_target_sample_size": 2,
                         "price_target_confidence": confidence})


def test_loads_keep_nan_text_apart_from_null(database_url):
    prices = [300, None, "NaN"] if database_url.startswith("postgresql") else [300, None, "NaN", "abc", " 12.5 "]
    catalogues.write(database_url, [cpu(1)], listings_for(1, prices))
    engine = sa.create_engine(database_url)
    listings = io.load_listings(engine).sort_values("id")
    values, invalid = parse_numbers(listings["adjusted_price_usd"])
    assert values.iloc[0] == 300 and pd.isna(values.iloc[1])
    assert invalid.tolist()[:3] == [False, False, True]  # NULL is missing; 'NaN' is invalid
    assert listings["status"].dtype == "category"
    assert io.load_cpus(engine)["name"].tolist() == ["Test CPU 1"]


def test_a_missing_table_or_column_is_named(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with pytest.raises(io.SchemaMismatch, match="no table `cpu`"):
        io.load_cpus(engine)
    catalogues.write(sqlite_url, [cpu(1)], [])
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE cpu DROP COLUMN performance_value_rating"))
    with pytest.raises(io.SchemaMismatch, match="table `cpu` has no column `performance_value_rating`"):
        io.load_cpus(engine)


def test_the_write_back_changes_only_the_given_cpus_and_stamps_them(database_url):
    catalogues.write(database_url, [cpu(1), cpu(2, price_target_good=5.0)], [])
    engine = sa.create_engine(database_url)
    stamp = datetime(2026, 11, 29, 2, 30)
    assert io.write_analytics(engine, _rows([1], 123.45), stamp) == 1
    table = catalogues.cpu_table(database_url)
    assert table.loc[1, "price_target_good"] == 123.45
    assert pd.Timestamp(table.loc[1, "performance_metrics_updated_at"]) == pd.Timestamp(stamp)
    assert table.loc[2, "price_target_good"] == 5.0 and pd.isna(table.loc[2, "price_target_updated_at"])


def test_a_failing_write_back_changes_nothing(postgres_url):
    catalogues.write(postgres_url, [cpu(i) for i in range(1, 6)], [])
    before = catalogues.cpu_table(postgres_url)
    engine = sa.create_engine(postgres_url)
    # The last row cannot be stored (varchar(16)): the whole write-back rolls back.
    rows = _rows([1, 2, 3, 4, 5], 99.0)
    rows.loc[4, "price_target_confidence"] = "x" * 40
    with pytest.raises(psycopg2.DataError):
        io.write_analytics(engine, rows, datetime(2026, 11, 29))
    pd.testing.assert_frame_equal(catalogues.cpu_table(postgres_url), before)


def _holding_the_write_back_lock(url: str):
    engine = sa.create_engine(url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": io.WRITE_BACK_LOCK_KEY})
    return engine, connection, transaction


def test_a_second_write_back_waits_for_the_lock_and_never_interleaves(postgres_url):
    catalogues.write(postgres_url, [cpu(i) for i in range(1, 51)], [])
    engine = sa.create_engine(postgres_url)
    holder, connection, transaction = _holding_the_write_back_lock(postgres_url)  # another instance's write-back
    done = []
    writers = [threading.Thread(target=lambda good=good: done.append(
        io.write_analytics(sa.create_engine(postgres_url), _rows(list(range(1, 51)), good), datetime.now())))
        for good in (111.0, 222.0)]
    for writer in writers:
        writer.start()
    time.sleep(1.5)
    assert done == []  # both wait on the lock; the table is untouched meanwhile
    assert catalogues.cpu_table(postgres_url)["price_target_good"].isna().all()
    transaction.rollback()
    connection.close()
    holder.dispose()
    for writer in writers:
        writer.join(60)
    assert done == [50, 50]
    goods = catalogues.cpu_table(postgres_url)["price_target_good"]
    assert goods.nunique() == 1 and goods.iloc[0] in (111.0, 222.0)
    engine.dispose()


def test_a_write_back_that_waits_too_long_fails_clearly_and_writes_nothing(postgres_url):
    catalogues.write(postgres_url, [cpu(1)], [])
    holder, connection, transaction = _holding_the_write_back_lock(postgres_url)
    try:
        with pytest.raises(io.WriteBackBusy, match="another write-back .* held its lock .* nothing was written"):
            io.write_analytics(sa.create_engine(postgres_url), _rows([1], 1.0), datetime.now(), lock_timeout_seconds=0.5)
    finally:
        transaction.rollback()
        connection.close()
        holder.dispose()
    assert pd.isna(catalogues.cpu_table(postgres_url).loc[1, "price_target_good"])
