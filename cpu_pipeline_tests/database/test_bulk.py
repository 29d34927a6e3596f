import threading
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from cpu_pipeline.analytics_columns import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS
from cpu_pipeline.database import bulk, demo_catalogue, schema
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for
from cpu_pipeline_tests.conftest import fresh_postgres_database
from cpu_pipeline_tests.postgres import relations, wait_for_lock_wait


def _rows(cpu_ids, good: float, confidence: str = "low") -> pd.DataFrame:
    return pd.DataFrame(
        {"cpu_id": cpu_ids, "price_target_good": good, "price_target_sample_size": 2, "price_target_confidence": confidence}
    )


def test_listing_figures_tell_an_invalid_price_from_a_missing_one(database_url):
    sqlite = not database_url.startswith("postgresql")
    prices = [300, None, "NaN", 150, -5, 0] + (["abc", " 12.5 "] if sqlite else [])
    catalogues.write(database_url, [cpu(1)], listings_for(1, prices) + listings_for(1, [999], status="archived", first_id=5000))
    figures = bulk.load_listing_figures(sa.create_engine(database_url)).set_index("cpu_id").loc[1]
    assert figures["active_listings"] == len(prices)
    assert figures["sample_size"] == (3 if sqlite else 2)  # 300, 150 (and 12.5): NULL, NaN, text, <= 0 are not prices
    assert figures["price_sum"] == (462.5 if sqlite else 450.0)
    assert figures["invalid_prices"] == (2 if sqlite else 1)  # NaN (and abc); NULL is missing, not invalid
    assert figures["first_invalid_listing"] == 1002 and figures["first_invalid_price"] == "NaN"
    assert bulk.load_cpus(sa.create_engine(database_url))["name"].tolist() == ["Test CPU 1"]


def test_both_stores_summarise_a_catalogue_alike_and_sqlite_alike_in_any_chunking(sqlite_url, postgres_url, monkeypatch):
    cpus, listings = demo_catalogue.generate_catalogue(60, 3000, seed=8)
    for url in (sqlite_url, postgres_url):
        engine = sa.create_engine(url)
        demo_catalogue.write_catalogue(engine, cpus, listings)
        engine.dispose()
    on_postgres = bulk.load_listing_figures(sa.create_engine(postgres_url)).set_index("cpu_id")
    on_sqlite = bulk.load_listing_figures(sa.create_engine(sqlite_url)).set_index("cpu_id")
    monkeypatch.setattr(bulk, "SQLITE_CHUNK_ROWS", 97)
    in_chunks = bulk.load_listing_figures(sa.create_engine(sqlite_url)).set_index("cpu_id")
    pd.testing.assert_frame_equal(in_chunks, on_sqlite)
    exact = ["active_listings", "sample_size", "extreme_prices", "price_q1", "price_q3", "outlier_count", "invalid_prices"]
    pd.testing.assert_frame_equal(on_sqlite[exact], on_postgres[exact], check_dtype=False)
    # Float sums in another order: equal to within a few ulps, which price_statistics allows for.
    for column in ("price_sum", "price_sum_of_squares"):
        np.testing.assert_allclose(on_sqlite[column], on_postgres[column], rtol=1e-12)


# Names as Deal Brain holds them: a sign outside ASCII, model numbers alone (which look like numbers), an empty one.
NAMES = ["Intel® Core i5-8500", "5600", "1e3", ""]


@pytest.mark.parametrize("encoding", ["UTF8", "LATIN1", "WIN1252", "SQL_ASCII"])
def test_text_arrives_as_stored_whatever_the_server_encoding(encoding):
    with fresh_postgres_database(encoding=encoding) as url:
        # A SQL_ASCII database stores the bytes it is sent, unchecked: Deal Brain sends UTF-8.
        url = f"{url}?client_encoding=utf8" if encoding == "SQL_ASCII" else url
        catalogues.write(url, [cpu(i + 1, name=name) for i, name in enumerate(NAMES)], listings_for(1, [300]))
        engine = sa.create_engine(url)
        cpus = bulk.load_cpus(engine)
        assert cpus["name"].tolist() == NAMES and cpus["manufacturer"].tolist() == ["Intel"] * len(NAMES)
        assert bulk.load_listing_figures(engine)["active_listings"].tolist() == [1]
        engine.dispose()


def test_bytes_that_are_not_utf8_in_a_sql_ascii_database_arrive_replaced_never_as_bytes():
    with fresh_postgres_database(encoding="SQL_ASCII") as url:
        # A client that wrote LATIN1 into a database that checks nothing: 0xAE is no UTF-8.
        catalogues.write(f"{url}?client_encoding=latin1", [cpu(1, name="Intel® Core i5-8500")], [])
        engine = sa.create_engine(url)
        assert bulk.load_cpus(engine)["name"].tolist() == ["Intel\N{REPLACEMENT CHARACTER} Core i5-8500"]
        engine.dispose()


def test_text_that_copy_escapes_and_missing_values_arrive_as_stored(postgres_url):
    # COPY's text format escapes these characters, and writes a NULL as `\N`, which a name may also read.
    names = ["\\N", "tab\there", "two\nlines", "C:\\cpu\\", "\r\b\f\v"]
    cpus = [cpu(i + 1, name=name, single=None) for i, name in enumerate(names)]
    catalogues.write(postgres_url, cpus, listings_for(1, [300, "NaN"]) + listings_for(2, [150]))
    engine = sa.create_engine(postgres_url)
    loaded = bulk.load_cpus(engine)
    assert loaded["name"].tolist() == names
    assert loaded["cpu_mark_multi"].dtype == np.int64
    assert loaded["cpu_mark_single"].dtype == np.float64 and loaded["cpu_mark_single"].isna().all()
    figures = bulk.load_listing_figures(engine).set_index("cpu_id")
    assert figures["first_invalid_price"].tolist() == ["NaN", None]  # a missing text is None, not the text NaN
    assert figures.loc[1, "first_invalid_listing"] == 1001 and np.isnan(figures.loc[2, "first_invalid_listing"])
    engine.dispose()


def test_prices_arrive_as_the_exact_doubles_stored(postgres_url):
    # Full-precision doubles, as the valuation rules leave them; pandas' fast CSV parser gets about one
    # in six of these an ulp wrong, which would move a mean across a rounding boundary.
    stored = np.random.default_rng(4).uniform(20, 2000, 2000) * 0.967
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, stored.tolist()))
    loaded = bulk.load_usable_prices(sa.create_engine(postgres_url), [1])["price"]
    assert sorted(loaded.to_numpy().tolist()) == sorted(stored.tolist())


def test_an_older_numeric_price_column_is_read_as_the_same_floats(postgres_url):
    catalogues.write(postgres_url, [cpu(1)], listings_for(1, [97.28, 0.1, 123456.78, None]))
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE listing ALTER COLUMN adjusted_price_usd TYPE numeric(10, 2)"))
    assert sorted(bulk.load_usable_prices(engine, [1])["price"].tolist()) == [0.1, 97.28, 123456.78]
    assert bulk.load_listing_figures(engine)["active_listings"].tolist() == [4]


def test_a_missing_table_or_column_is_named(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with pytest.raises(bulk.SchemaMismatch, match="no table `cpu`"):
        bulk.load_cpus(engine)
    catalogues.write(sqlite_url, [cpu(1)], [])
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE cpu DROP COLUMN performance_value_rating"))
    with pytest.raises(bulk.SchemaMismatch, match="table `cpu` has no column `performance_value_rating`"):
        bulk.load_cpus(engine)


def test_the_write_back_changes_only_the_given_cpus_and_stamps_them(database_url):
    catalogues.write(database_url, [cpu(1), cpu(2, price_target_good=5.0, updated_at=datetime(2020, 1, 1))], [])
    engine = sa.create_engine(database_url)
    stamp = datetime(2026, 11, 29, 2, 30)
    assert bulk.write_analytics(engine, _rows([1], 123.45), stamp) == 1
    table = catalogues.cpu_table(database_url)
    assert table.loc[1, "price_target_good"] == 123.45
    for column in ("price_target_updated_at", "performance_metrics_updated_at", "updated_at"):
        assert pd.Timestamp(table.loc[1, column]) == pd.Timestamp(stamp), column
    assert table.loc[2, "price_target_good"] == 5.0 and pd.isna(table.loc[2, "price_target_updated_at"])
    assert pd.Timestamp(table.loc[2, "updated_at"]) == pd.Timestamp(2020, 1, 1)


def test_the_write_back_stamps_deal_brains_updated_at_in_the_same_transaction(deal_brain_postgres_url):
    catalogues.write(deal_brain_postgres_url, [cpu(1), cpu(2)], [])
    stamp = datetime(2026, 11, 29, 2, 30)
    assert bulk.write_analytics(sa.create_engine(deal_brain_postgres_url), _rows([1, 2], 99.5), stamp) == 2
    table = catalogues.cpu_table(deal_brain_postgres_url)
    assert (table["updated_at"] == stamp).all() and (table["price_target_updated_at"] == stamp).all()
    assert (table["created_at"] != stamp).all()


def test_a_cpu_table_without_updated_at_is_written_all_the_same(database_url):
    catalogues.write(database_url, [cpu(1)], [])
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE cpu DROP COLUMN updated_at"))
    assert bulk.write_analytics(engine, _rows([1], 42.0), datetime(2026, 11, 29)) == 1
    table = catalogues.cpu_table(database_url)
    assert table.loc[1, "price_target_good"] == 42.0 and "updated_at" not in table


def test_the_write_back_stores_nan_as_null_and_counts_only_the_rows_it_changed(database_url):
    catalogues.write(database_url, [cpu(1, price_target_good=5.0), cpu(2)], [])
    rows = _rows([1, 2, 3], np.nan).assign(price_target_good=[np.nan, 0.1 + 0.2, 7.0])  # CPU 3 is not in the table
    assert bulk.write_analytics(sa.create_engine(database_url), rows, datetime(2026, 11, 29)) == 2
    table = catalogues.cpu_table(database_url)
    assert pd.isna(table.loc[1, "price_target_good"])
    assert table.loc[2, "price_target_good"] == 0.1 + 0.2  # every bit of the double
    assert table.loc[2, "price_target_confidence"] == "low" and table.loc[2, "price_target_sample_size"] == 2


def test_the_write_back_creates_nothing_not_even_a_temporary_table(postgres_url):
    catalogues.write(postgres_url, [cpu(i) for i in range(1, 6)], [])
    before = relations(postgres_url)
    assert bulk.write_analytics(sa.create_engine(postgres_url), _rows([1, 2, 3, 4, 5], 1.0), datetime(2026, 11, 29)) == 5
    assert relations(postgres_url) == before  # a temporary table would leave its pg_temp schema behind


def test_a_failing_write_back_changes_nothing(postgres_url):
    catalogues.write(postgres_url, [cpu(i) for i in range(1, 6)], [])
    before = catalogues.cpu_table(postgres_url)
    engine = sa.create_engine(postgres_url)
    # The last row cannot be stored (varchar(16)): the whole write-back rolls back.
    rows = _rows([1, 2, 3, 4, 5], 99.0)
    rows.loc[4, "price_target_confidence"] = "x" * 40
    with pytest.raises(sa.exc.DataError):
        bulk.write_analytics(engine, rows, datetime(2026, 11, 29))
    pd.testing.assert_frame_equal(catalogues.cpu_table(postgres_url), before)


def _holding_the_write_back_lock(url: str):
    engine = sa.create_engine(url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": bulk.WRITE_BACK_LOCK_KEY})
    return engine, connection, transaction


def test_a_second_write_back_waits_for_the_lock_and_never_interleaves(postgres_url):
    catalogues.write(postgres_url, [cpu(i) for i in range(1, 51)], [])
    engine = sa.create_engine(postgres_url)
    holder, connection, transaction = _holding_the_write_back_lock(postgres_url)  # another instance's write-back
    done = []
    writers = [
        threading.Thread(
            target=lambda good=good: done.append(
                bulk.write_analytics(sa.create_engine(postgres_url), _rows(list(range(1, 51)), good), datetime.now())
            )
        )
        for good in (111.0, 222.0)
    ]
    for writer in writers:
        writer.start()
    wait_for_lock_wait(postgres_url, "SELECT pg_advisory_xact_lock", count=2)
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
        with pytest.raises(bulk.WriteBackBusy, match="another write-back .* held its lock .* nothing was written"):
            bulk.write_analytics(sa.create_engine(postgres_url), _rows([1], 1.0), datetime.now(), lock_timeout_seconds=0.5)
    finally:
        transaction.rollback()
        connection.close()
        holder.dispose()
    assert pd.isna(catalogues.cpu_table(postgres_url).loc[1, "price_target_good"])


def test_on_postgres_the_pipeline_tables_must_be_set_up_and_are_never_created_by_a_job(postgres_url):
    engine = sa.create_engine(postgres_url)
    tables = schema.pipeline_tables("cpu_pipeline")
    with pytest.raises(bulk.SchemaMismatch, match=r"`cpu_pipeline.cpu_analytics_history` does not exist.*`cpu-pipeline setup`"):
        bulk.write_history(engine, tables.history, date(2026, 11, 29), _rows([1], 1.0))
    with pytest.raises(bulk.SchemaMismatch, match="`cpu-pipeline setup`"):
        bulk.load_history(engine, tables.history, date(2026, 11, 1), date(2026, 11, 29))
    assert not sa.inspect(engine).has_schema("cpu_pipeline")
    schema.create_pipeline_tables(engine, "cpu_pipeline")
    history = _rows([1], 1.0).reindex(columns=["cpu_id", *PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS])
    assert bulk.write_history(engine, tables.history, date(2026, 11, 29), history) == 1
    assert bulk.load_history(engine, tables.history, date(2026, 11, 1), date(2026, 11, 29))["cpu_id"].tolist() == [1]


def test_on_sqlite_the_pipeline_tables_are_created_on_first_use(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    tables = schema.pipeline_tables(None)
    assert bulk.load_history(engine, tables.history, date(2026, 11, 1), date(2026, 11, 29)).empty
    assert set(sa.inspect(engine).get_table_names()) == {"cpu_analytics_history"}


def test_a_days_snapshot_replaces_that_day_only_and_loads_by_range(database_url):
    engine = sa.create_engine(database_url)
    schema.create_pipeline_tables(engine)
    tables = schema.pipeline_tables_in(engine, schema.DEFAULT_PIPELINE_SCHEMA)

    def snapshot(day: date, cpu_ids: list[int], good: float) -> int:
        rows = _rows(cpu_ids, good).reindex(columns=["cpu_id", *PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS])
        return bulk.write_history(engine, tables.history, day, rows)

    assert snapshot(date(2026, 11, 28), [1, 2], 100.0) == 2
    assert snapshot(date(2026, 11, 29), [1, 2], 90.0) == 2
    assert snapshot(date(2026, 11, 29), [1], 80.5) == 1  # a re-run of the 29th replaces the 29th only
    loaded = bulk.load_history(engine, tables.history, date(2026, 11, 28), date(2026, 11, 29))
    loaded["day"] = pd.to_datetime(loaded["day"]).dt.date
    assert sorted(loaded.itertuples(index=False, name=None)) == [
        (1, date(2026, 11, 28), 100.0),
        (1, date(2026, 11, 29), 80.5),
        (2, date(2026, 11, 28), 100.0),
    ]
    assert bulk.load_history(engine, tables.history, date(2026, 11, 29), date(2026, 11, 29))["cpu_id"].tolist() == [1]
    engine.dispose()


def test_cpu_id_bounds_split_the_ids_evenly_and_an_empty_table_not_at_all(monkeypatch):
    monkeypatch.setattr(bulk, "FIGURE_RANGES", 4)
    assert bulk.cpu_id_bounds(1, 5000) == [1251, 2501, 3751]
    assert bulk.cpu_id_bounds(7, 7) == [7, 7, 7]  # empty ranges, never a gap
    assert bulk.cpu_id_bounds(None, None) == []


def test_balanced_bounds_give_each_range_an_equal_share_of_skewed_statistics(monkeypatch):
    monkeypatch.setattr(bulk, "FIGURE_RANGES", 4)
    # Ids 1..1000 spread evenly over 100 buckets, and id 100 holding 40% of the listings on its own.
    histogram = list(range(1, 1001, 10)) + [1000]
    bounds = bulk.balanced_cpu_id_bounds(0.02, [100], [0.4], histogram)
    # 40% is more than a range's share: the first range ends just past id 100 (the 5.7% below it and its
    # own 40%), and the three ranges after it share the other 52.3% equally: 17.4% each, 300 ids.
    assert bounds == pytest.approx([101, 401, 701], abs=2)
    # Without a popular id, the quarters of an even histogram.
    assert bulk.balanced_cpu_id_bounds(0.0, None, None, histogram) == pytest.approx([251, 501, 751], abs=2)
    # No statistics of ids (a table never analysed, or all NULL): no bounds, the caller splits evenly.
    assert bulk.balanced_cpu_id_bounds(1.0, None, None, None) == []
    assert bulk.balanced_cpu_id_bounds(0.0, None, None, [7]) == []


def test_the_ranges_are_balanced_by_the_listings_they_hold_once_listing_is_analysed(postgres_url):
    cpus, listings = demo_catalogue.generate_catalogue(200, 40_000, seed=5, profile="lopsided")
    engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(engine, cpus, listings)
    with engine.connect() as connection:  # never analysed (autovacuum is off here): evenly over cpu's ids
        assert bulk.figure_range_bounds(connection) == bulk.cpu_id_bounds(1, 200)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE listing"))
    with engine.connect() as connection:
        bounds = bulk.figure_range_bounds(connection)
    active = listings.loc[listings["status"] == "active", "cpu_id"].dropna().astype(int)
    edges = [-np.inf, *bounds, np.inf]
    held = [((active >= low) & (active < high)).sum() for low, high in zip(edges, edges[1:])]
    assert sum(held) == len(active)  # every id in exactly one range
    # Each range off its equal share by less than one CPU's listings (a CPU is never split) and a point
    # for ANALYZE's sample of 30,000 rows; ranges of equal width in ids are off by more.
    share, largest = 1 / bulk.FIGURE_RANGES, active.value_counts().iloc[0] / len(active)
    off = [abs(count / len(active) - share) for count in held]
    assert max(off) < largest + 0.01, (held, largest)
    even = np.histogram(active, [-np.inf, *bulk.cpu_id_bounds(1, 200), np.inf])[0] / len(active)
    assert max(abs(even - share)) > max(off)
    balanced, whole = (
        bulk._read(engine, bulk.listing_figures_query(split), text_columns=["first_invalid_price"]) for split in (bounds, [])
    )
    pd.testing.assert_frame_equal(balanced, whole)
    engine.dispose()


def test_the_figures_are_the_same_however_the_cpus_are_split_and_the_ranges_are_parallel_safe(postgres_url):
    cpus, listings = demo_catalogue.generate_catalogue(40, 4000, seed=12)
    engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(engine, cpus, listings)
    ids = cpus["id"]
    splits = [[], [int(ids.min()) - 100, int(ids.max()) + 100], [int(ids.median())] * 3, [int(ids.max()) + 1] * 2]
    with engine.begin() as connection:
        # Parallel workers as free as the planner finds them worth starting at millions of listings: a
        # part of the ranges' aggregations that is not parallel-safe would keep them out of any worker.
        for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
            connection.execute(sa.text(f"SET LOCAL {setting} = 0"))
        plan = "\n".join(connection.execute(sa.text(f"EXPLAIN {bulk.listing_figures_query([10, 20, 30])}")).scalars())
    assert "Gather" in plan
    whole = bulk._read(engine, bulk.listing_figures_query([]), text_columns=["first_invalid_price"])
    assert whole["cpu_id"].tolist() == sorted(listings.loc[listings["status"] == "active", "cpu_id"].dropna().unique())
    for split in splits:
        pd.testing.assert_frame_equal(
            bulk._read(engine, bulk.listing_figures_query(split), text_columns=["first_invalid_price"]), whole
        )
    pd.testing.assert_frame_equal(bulk.load_listing_figures(engine), whole)


def test_subnormal_prices_leave_the_quartiles_to_the_exact_recompute_on_both_stores(sqlite_url, postgres_url):
    # Interpolating between 5e-324 and 1e-323 underflows, which PostgreSQL refuses with an error.
    for url in (sqlite_url, postgres_url):
        catalogues.write(url, [cpu(1), cpu(2)], listings_for(1, [5e-324, 1e-323]) + listings_for(2, [100, 110]))
        figures = bulk.load_listing_figures(sa.create_engine(url)).set_index("cpu_id")
        assert figures.loc[1, "extreme_prices"] == 2
        assert np.isnan(figures.loc[1, "price_q1"]) and np.isnan(figures.loc[1, "price_q3"])
        assert (figures.loc[2, "price_q1"], figures.loc[2, "price_q3"]) == (102.5, 107.5)
