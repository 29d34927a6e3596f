"""The listings summarised per CPU: the few figures every rule needs, never the listings themselves.

For each CPU with active listings, over its `active` listings (P: their adjusted prices that are
positive finite numbers, as stored; the list price is never used):

- `active_listings`; `sample_size`, n = |P|;
- `price_sum` and `price_sum_of_squares`: float sums over P (in any order: the rules that use them
  allow for that, `price_statistics`), over the *ordinary* prices only, those in `ORDINARY_PRICES`;
  `extreme_prices` counts the others, whose squares, sums or IQR fences could leave the float range
  (PostgreSQL refuses such arithmetic with an error): a CPU with any is always recomputed exactly;
- `price_q1`, `price_q3`: the quartiles of P by linear interpolation, with PostgreSQL's own formula
  (`percentile_cont`: lo + f * (hi - lo)), so that both stores give the same doubles; NaN with an
  extreme price (between subnormal prices the interpolation underflows, which PostgreSQL refuses);
- `outlier_count`: the prices of P outside [Q1 - 1.5 IQR, Q3 + 1.5 IQR] (Deal Brain's product plan),
  for n >= 4 and no extreme price, else NA;
- `invalid_prices`: active listings whose price is present but not a finite number (the CPU is in
  error), `first_invalid_listing` the smallest such listing id and `first_invalid_price` its value as stored.

On PostgreSQL the database computes these in one statement (`database/bulk.py`); on SQLite
`summarise` computes the same from the rows, chunk by chunk.
"""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.validation import parse_numbers

FIGURE_COLUMNS = [
    "cpu_id",
    "active_listings",
    "sample_size",
    "price_sum",
    "price_sum_of_squares",
    "extreme_prices",
    "price_q1",
    "price_q3",
    "outlier_count",
    "invalid_prices",
    "first_invalid_listing",
    "first_invalid_price",
]
# Within these bounds a price's square, and the sums of a billion of them, stay normal doubles, and
# the IQR fences stay finite.
ORDINARY_PRICES = (1e-100, 1e100)
OUTLIER_MIN_PRICES = 4
IQR_FENCE = 1.5


def quartiles_and_outliers(at: np.ndarray, prices: np.ndarray, group_count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group of `at` (ints in [0, group_count)): Q1 and Q3 of its `prices` (NaN without prices), and
    how many lie outside the 1.5 IQR fences (-1 below `OUTLIER_MIN_PRICES` prices).

    The quartiles are PostgreSQL's `percentile_cont`, double for double: with n prices sorted, position
    p * (n - 1), lo and hi its floor and ceiling, lo + f * (hi - lo) where f is the fractional part.
    """
    order = np.lexsort((prices, at))
    at, prices = at[order], prices[order]
    n = np.bincount(at, minlength=group_count)
    start = np.cumsum(n) - n
    present = n > 0
    quartiles = []
    for p in (0.25, 0.75):
        position = p * (n[present] - 1).astype("float64")
        lo, hi = np.floor(position).astype("int64"), np.ceil(position).astype("int64")
        low, high = prices[start[present] + lo], prices[start[present] + hi]
        with np.errstate(over="ignore", invalid="ignore"):
            value = np.where(lo == hi, low, low + (position - lo) * (high - low))
        quartile = np.full(group_count, np.nan)
        quartile[present] = value
        quartiles.append(quartile)
    q1, q3 = quartiles
    with np.errstate(over="ignore", invalid="ignore"):
        iqr = q3 - q1
        outside = (prices < (q1 - IQR_FENCE * iqr)[at]) | (prices > (q3 + IQR_FENCE * iqr)[at])
    outliers = np.bincount(at[outside], minlength=group_count)
    return q1, q3, np.where(n >= OUTLIER_MIN_PRICES, outliers, -1)


def _active(listings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The active listings that name a CPU: a mask over `listings`, their CPU ids, prices (NaN where
    missing or invalid) and whether each price is invalid."""
    cpu_id = pd.to_numeric(listings["cpu_id"], errors="coerce").to_numpy(dtype="float64")
    names_a_cpu = np.isfinite(cpu_id) & (cpu_id == np.floor(cpu_id))  # NaN, text or 1.5 name no CPU
    active = (listings["status"] == "active").to_numpy() & names_a_cpu
    prices, invalid = parse_numbers(listings["adjusted_price_usd"])
    return active, cpu_id[active].astype("int64"), prices.to_numpy()[active], invalid.to_numpy()[active]


def usable_prices(listings: pd.DataFrame, cpu_ids) -> pd.DataFrame:
    """P of the CPUs `cpu_ids` from `listings` (as `summarise` takes them): `cpu_id`, `price`."""
    _, cpu_id, prices, _ = _active(listings)
    keep = (prices > 0) & np.isin(cpu_id, np.asarray(list(cpu_ids), dtype="int64"))
    return pd.DataFrame({"cpu_id": cpu_id[keep], "price": prices[keep]})


def summarise(listings: pd.DataFrame) -> pd.DataFrame:
    """The figures (`FIGURE_COLUMNS`, one row per CPU id with active listings, by id) of `listings`
    (`id`, `cpu_id`, `status`, `adjusted_price_usd`, as stored). A CPU's listings must all be in the
    frame: a caller reading in chunks splits them between CPUs."""
    active, cpu_id, prices, invalid = _active(listings)
    ids, at = np.unique(cpu_id, return_inverse=True)
    listing_ids = listings["id"].to_numpy()[active]
    usable = prices > 0
    ordinary = usable & (prices >= ORDINARY_PRICES[0]) & (prices <= ORDINARY_PRICES[1])
    count = len(ids)
    q1, q3, outliers = quartiles_and_outliers(at[usable], prices[usable], count)
    extreme = np.bincount(at[usable & ~ordinary], minlength=count)
    # As PostgreSQL's statement gives them: none for a CPU with an extreme price (recomputed exactly).
    q1, q3 = (np.where(extreme > 0, np.nan, quartile) for quartile in (q1, q3))
    figures = pd.DataFrame(
        {
            "cpu_id": ids,
            "active_listings": np.bincount(at, minlength=count),
            "sample_size": np.bincount(at[usable], minlength=count),
            "price_sum": np.bincount(at[ordinary], weights=prices[ordinary], minlength=count),
            "price_sum_of_squares": np.bincount(at[ordinary], weights=prices[ordinary] ** 2, minlength=count),
            "extreme_prices": extreme,
            "price_q1": q1,
            "price_q3": q3,
            # Missing (NA) below OUTLIER_MIN_PRICES prices or with an extreme price.
            "outlier_count": pd.arrays.IntegerArray(outliers.astype(np.int64), (outliers < 0) | (extreme != 0)),
            "invalid_prices": np.bincount(at[invalid], minlength=count),
        }
    )
    stored = listings["adjusted_price_usd"].to_numpy()[active]
    first = pd.DataFrame({"at": at[invalid], "id": listing_ids[invalid], "price": stored[invalid]})
    first = first.sort_values("id", kind="stable").drop_duplicates("at")
    first_listing, first_price = pd.array([pd.NA] * count, dtype="Int64"), np.full(count, None, dtype=object)
    first_listing[first["at"].to_numpy()] = first["id"].to_numpy()
    first_price[first["at"].to_numpy()] = [str(value) for value in first["price"]]
    figures["first_invalid_listing"] = first_listing
    figures["first_invalid_price"] = first_price
    return figures[FIGURE_COLUMNS]
