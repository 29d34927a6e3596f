"""Spread and outliers, from Deal Brain's product plan; beside the targets, never changing them.

- `wide_price_range`: the sample standard deviation exceeds 30% of the mean (n >= 2; else NULL).
- `outlier_count`: for a CPU with at least 4 prices in P, how many lie outside
  [Q1 - 1.5 IQR, Q3 + 1.5 IQR] (quartiles by linear interpolation, numpy's and pandas' default;
  NULL below 4 prices).

Both come with the price targets (`price_targets.price_targets`), from the same prices and statistics.
"""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.price_samples import PriceSamples

WIDE_RANGE_SHARE = 0.30
OUTLIER_MIN_PRICES = 4
SPREAD_COLUMNS = ["wide_price_range", "outlier_count"]


def wide_price_range(sample_size: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> pd.arrays.BooleanArray:
    """Per CPU: whether sd > 30% of the mean; NA below two prices."""
    wide = pd.array(sd > WIDE_RANGE_SHARE * mean, dtype="boolean")
    wide[sample_size < 2] = pd.NA
    return wide


def outlier_count(samples: PriceSamples) -> pd.arrays.IntegerArray:
    """Per CPU: how many of its prices lie outside the 1.5 IQR fences; NA below four prices."""
    enough = samples.count() >= OUTLIER_MIN_PRICES
    prices = pd.DataFrame({"at": samples.at, "price": samples.prices})
    prices = prices[enough[prices["at"].to_numpy()]]
    by_cpu = prices.groupby("at")["price"]
    q1, q3 = by_cpu.quantile(0.25), by_cpu.quantile(0.75)
    low = (q1 - 1.5 * (q3 - q1)).reindex(prices["at"]).to_numpy()
    high = (q3 + 1.5 * (q3 - q1)).reindex(prices["at"]).to_numpy()
    outside = (prices["price"].to_numpy() < low) | (prices["price"].to_numpy() > high)
    counts = np.bincount(prices["at"].to_numpy()[outside], minlength=samples.cpu_count)
    outliers = pd.array(counts, dtype="Int64")
    outliers[~enough] = pd.NA
    return outliers
