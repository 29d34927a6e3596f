"""Price targets: Deal Brain's great / good / fair prices for each CPU.

Source: Deal Brain's `CPUAnalyticsService.calculate_price_targets`. P is the set of adjusted prices
of a CPU's listings with status `active` whose adjusted price is a positive number, as stored (the
doubles themselves, never rounded to cents first); the list price is never used. With n = |P| >= 2,
mean = `statistics.mean(P)` and sd = `statistics.stdev(P)` (divisor n - 1), both correctly rounded
from the exact values, then Python's `round` on the resulting floats:
    good = round(mean, 2), great = round(max(mean - sd, 0.0), 2), fair = round(mean + sd, 2),
    stddev = round(sd, 2); confidence `high` for n >= 10, `medium` for 5..9, `low` for 2..4.
With n < 2 the targets are NULL and the confidence `insufficient`.
"""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.rounding import round_floats
from cpu_pipeline.analytics.spread import wide_price_range
from cpu_pipeline.analytics.validation import as_stored

CONFIDENCE_BY_MIN_SAMPLE = (("high", 10), ("medium", 5), ("low", 2))


def confidence(sample_size: pd.Series) -> pd.Series:
    conditions = [sample_size >= minimum for _, minimum in CONFIDENCE_BY_MIN_SAMPLE]
    labels = [label for label, _ in CONFIDENCE_BY_MIN_SAMPLE]
    return pd.Series(np.select(conditions, labels, "insufficient"), index=sample_size.index)


def price_targets(statistics: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU, from its price `statistics` (`price_statistics.exact_where_needed`: aligned with
    the CPUs, every value either exact or within an error that changes nothing written).

    Columns: `cpu_id`, `sample_size` (n), `mean_price` and `sd_price` (dollars, unrounded; NaN without
    prices, and below two prices for sd); the four `price_target_*` values in dollars,
    `price_target_confidence`; `price_error`: why the CPU's listings make it an error (an active listing
    whose adjusted price is not a finite number), else None; the spread flags `wide_price_range` and
    `outlier_count` (see `spread`); and `recomputed_exactly`: whether its statistics were recomputed
    from its prices because the float sums could not decide a written value.
    """
    n = statistics["sample_size"].to_numpy()
    mean, sd = statistics["mean_price"].to_numpy(), statistics["sd_price"].to_numpy()
    frame = pd.DataFrame(
        {
            "cpu_id": statistics["cpu_id"].to_numpy(),
            "sample_size": n,
            "mean_price": mean,
            "sd_price": sd,
            "price_target_good": round_floats(np.where(n >= 2, mean, np.nan), 2),
            "price_target_great": round_floats(np.maximum(mean - sd, 0.0), 2),
            "price_target_fair": round_floats(mean + sd, 2),
            "price_target_stddev": round_floats(sd, 2),
        }
    )
    frame["price_target_confidence"] = confidence(frame["sample_size"])
    frame["price_error"] = [
        f"{count} active listing(s) with an adjusted price that is not a finite number (listing {listing}: {as_stored(price)})"
        if count
        else None
        for count, listing, price in zip(
            statistics["invalid_prices"], statistics["first_invalid_listing"], statistics["first_invalid_price"]
        )
    ]
    frame["wide_price_range"] = wide_price_range(n, mean, sd)
    frame["outlier_count"] = pd.array(statistics["outlier_count"].to_numpy(), dtype="Int64")
    frame["recomputed_exactly"] = statistics["exact"].to_numpy()
    return frame
