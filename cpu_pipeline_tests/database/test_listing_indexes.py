import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.database import bulk, demo_catalogue, listing_indexes, schema
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import cpu, listings_for


def _figures_plan(connection: sa.Connection) -> str:
    for name, value in bulk.FIGURES_SETTINGS.items():
        connection.execute(sa.text(f"SET LOCAL {name} = '{value}'"))
    query = bulk.listing_figures_query(bulk.figure_range_bounds(connection))
    return "\n".join(connection.execute(sa.text(f"EXPLAIN {query}")).scalars())


def test_setup_creates_each_index_once_and_none_on_a_listing_without_its_column(postgres_url):
    engine = sa.create_engine(postgres_url)
    schema.metadata.create_all(engine, tables=[schema.cpu, schema.listing])
    with engine.begin() as connection:
        assert [listing_indexes.create(connection, index) for index in listing_indexes.ALL] == [True, True]
        assert [listing_indexes.create(connection, index) for index in listing_indexes.ALL] == [False, False]
        connection.execute(sa.text("DROP INDEX ix_listing_updated_at"))
        connection.execute(sa.text("ALTER TABLE listing DROP COLUMN updated_at"))
        assert not listing_indexes.create(connection, listing_indexes.UPDATED_AT)  # an older shape: nothing to index


def test_the_figures_read_the_active_prices_index_alone_and_equal_those_of_a_sort(postgres_url):
    cpus, listings = demo_catalogue.generate_catalogue(40, 4000, seed=11)
    engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(engine, cpus, listings)
    # The cases the order matters for: ties at a fence (four equal prices), invalid prices (NaN sorts
    # last in the index), an inactive listing and a listing of no CPU, both left out by the index.
    edge_listings = [
        *listings_for(900, [100, 100, 100, 100, "NaN", "Infinity", 250, 40], first_id=900_000),
        *listings_for(900, [1], status="sold", first_id=900_100),
        {"id": 900_200, "cpu_id": None, "status": "active", "adjusted_price_usd": 10.0},
    ]
    catalogues.write(postgres_url, [cpu(900)], edge_listings)
    sorted_figures = bulk.load_listing_figures(engine)
    with engine.begin() as connection:
        assert "Index Only Scan" not in _figures_plan(connection)
        listing_indexes.create(connection, listing_indexes.ACTIVE_PRICES)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE listing"))  # as autovacuum leaves a settled table
    with engine.begin() as connection:
        plan = _figures_plan(connection)
    assert f"Index Only Scan using {listing_indexes.ACTIVE_PRICES.name}" in plan
    assert "Sort Key: listing.cpu_id" not in plan  # the index's order is the one the statement reads in
    pd.testing.assert_frame_equal(bulk.load_listing_figures(engine), sorted_figures)
    assert sorted_figures.set_index("cpu_id").loc[900, "outlier_count"] == 2  # 250 and 40 against fences at 100
