"""Deal Brain's CPU analytics as pure functions on pandas DataFrames: no Dagster, no database.

- `validation`: reading loosely typed scores and prices, and what makes a CPU's data invalid.
- `listing_figures`: the per-CPU figures of the listings (counts, float sums, quartiles, outliers, invalid prices).
- `price_statistics`: each CPU's mean and sd from those figures, recomputed exactly wherever a written value depends on it.
- `price_targets`: great / good / fair from the mean and spread of each CPU's active listings,
  with the spread flags (`spread`) from the same prices.
- `performance`: dollars per benchmark point, the percentile among peers, and the rating.
- `write_back`: the rows written back, the errors, the error rate, the best-value preview.
- `invariants`: what must hold of the outputs (the asset checks count the rows that break them).
- `exact_statistics`: each CPU's `statistics.mean` and `statistics.stdev`, bit for bit, for all CPUs at once.
- `rounding`: Python's `round()` on floats, as Deal Brain's task rounds.
- `spread`: the wide-range and outlier flags; `trends`: the 7- and 30-day price trends.
"""
