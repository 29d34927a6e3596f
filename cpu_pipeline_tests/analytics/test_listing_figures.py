import numpy as np
import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.analytics.listing_figures import quartiles_and_outliers, summarise
from cpu_pipeline_tests.catalogues import listings_for


def test_the_quartiles_are_postgresqls_percentile_cont_double_for_double(postgres_url):
    rng = np.random.default_rng(5)
    groups = [rng.uniform(1, 5000, size) * rng.choice([1, 0.967], size) for size in (1, 2, 3, 4, 5, 7, 10, 101, 1000)]
    at = np.concatenate([np.full(len(prices), group) for group, prices in enumerate(groups)])
    q1, q3, _ = quartiles_and_outliers(at, np.concatenate(groups), len(groups))
    with sa.create_engine(postgres_url).connect() as connection:
        for group, prices in enumerate(groups):
            expected = connection.execute(
                sa.text(
                    "SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY x), percentile_cont(0.75) WITHIN GROUP (ORDER BY x) "
                    "FROM unnest(CAST(:prices AS float8[])) AS x"
                ),
                {"prices": prices.tolist()},
            ).one()
            assert (q1[group], q3[group]) == tuple(expected), group


def test_outliers_are_counted_against_the_fences_from_four_prices():
    at = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    prices = np.array([100.0, 101.0, 102.0, 103.0, 500.0, 1.0, 2.0, 900.0])
    _, _, outliers = quartiles_and_outliers(at, prices, 2)
    assert outliers.tolist() == [1, -1]  # 500 lies outside; three prices are too few to tell


def test_the_figures_of_active_listings_per_cpu():
    listings = pd.DataFrame(
        listings_for(1, [300.0, None, float("nan"), 150.0, -5.0, 0.0, "abc", 2e200])
        + listings_for(1, [999.0], status="archived", first_id=5000)
        + listings_for(2, [10.0, 11.0, 12.0, 13.0])
        + [{"id": 9000, "cpu_id": None, "status": "active", "adjusted_price_usd": 5.0}]
    )
    figures = summarise(listings).set_index("cpu_id")
    one, two = figures.loc[1], figures.loc[2]
    assert (one["active_listings"], one["sample_size"], one["extreme_prices"]) == (8, 3, 1)
    assert one["price_sum"] == 450.0  # the ordinary prices only: 2e200 is left to the exact recompute
    assert (one["invalid_prices"], one["first_invalid_listing"], one["first_invalid_price"]) == (1, 1006, "abc")
    assert pd.isna(one["outlier_count"])  # an extreme price: counted exactly later
    assert (two["sample_size"], two["price_sum"], two["price_sum_of_squares"], two["outlier_count"]) == (4, 46.0, 534.0, 0)
    assert (two["price_q1"], two["price_q3"]) == (10.75, 12.25)
    assert list(figures.index) == [1, 2]  # a listing without a CPU counts for none
