"""Spread and outliers, from Deal Brain's product plan; beside the targets, never changing them.

- `wide_price_range`: the sample standard deviation exceeds 30% of the mean (n >= 2; else NULL).
- `outlier_count`: for a CPU with at least 4 prices in P, how many lie outside
  [Q1 - 1.5 IQR, Q3 + 1.5 IQR] (quartiles by linear interpolation, as PostgreSQL's `percentile_cont`
  computes them; NULL below 4 prices).

Both come with the price targets (`price_targets.price_targets`), from the same prices and statistics;
the outliers are counted with the listing figures (`listing_figures`), in the database on PostgreSQL.
"""

import numpy as np
import pandas as pd

WIDE_RANGE_SHARE = 0.30
SPREAD_COLUMNS = ["wide_price_range", "outlier_count"]


def wide_price_range(sample_size: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> pd.arrays.BooleanArray:
    """Per CPU: whether sd > 30% of the mean; NA below two prices."""
    wide = pd.array(sd > WIDE_RANGE_SHARE * mean, dtype="boolean")
    wide[sample_size < 2] = pd.NA
    return wide
