"""Spread and outliers, from Deal Brain's product plan; beside the targets, never changing them.

- `wide_price_range`: the sample standard deviation exceeds 30% of the mean (n >= 2; else NULL).
- `outlier_count`: for a CPU with at least 4 prices in P, how many lie outside
  [Q1 - 1.5 IQR, Q3 + 1.5 IQR] (quartiles by linear interpolation, numpy's and pandas' default;
  NULL below 4 prices).
"""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.price_targets import price_samples

WIDE_RANGE_SHARE = 0.30
OUTLIER_MIN_PRICES = 4


def spread(cpus: pd.DataFrame, listings: pd.DataFrame, price_targets: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU: `cpu_id`, `wide_price_range` (nullable boolean), `outlier_count` (nullable integer)."""
    targets = price_targets.reset_index(drop=True)
    wide = pd.array(targets["sd_price"] > WIDE_RANGE_SHARE * targets["mean_price"], dtype="boolean")
    wide[targets["sample_size"].to_numpy() < 2] = pd.NA

    samples, _, _ = price_samples(cpus, listings)
    enough = samples.count() >= OUTLIER_MIN_PRICES
    prices = pd.DataFrame({"at": samples.at, "price": samples.prices})
    prices = prices[enough[prices["at"].to_numpy()]]
    by_cpu = prices.groupby("at")["price"]
    q1, q3 = by_cpu.quantile(0.25), by_cpu.quantile(0.75)
    low = (q1 - 1.5 * (q3 - q1)).reindex(prices["at"]).to_numpy()
    high = (q3 + 1.5 * (q3 - q1)).reindex(prices["at"]).to_numpy()
    outside = (prices["price"].to_numpy() < low) | (prices["price"].to_numpy() > high)
    counts = np.bincount(prices["at"].to_numpy()[outside], minlength=len(cpus))
    outliers = pd.array(counts, dtype="Int64")
    outliers[~enough] = pd.NA
    return pd.DataFrame({"cpu_id": cpus["id"].to_numpy(), "wide_price_range": wide, "outlier_count": outliers})
