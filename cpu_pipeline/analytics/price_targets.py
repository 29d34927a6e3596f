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

from cpu_pipeline.analytics.exact_statistics import grouped_mean_stdev
from cpu_pipeline.analytics.price_samples import price_samples
from cpu_pipeline.analytics.rounding import round_floats
from cpu_pipeline.analytics.spread import outlier_count, wide_price_range

CONFIDENCE_BY_MIN_SAMPLE = (("high", 10), ("medium", 5), ("low", 2))


def confidence(sample_size: pd.Series) -> pd.Series:
    conditions = [sample_size >= minimum for _, minimum in CONFIDENCE_BY_MIN_SAMPLE]
    labels = [label for label, _ in CONFIDENCE_BY_MIN_SAMPLE]
    return pd.Series(np.select(conditions, labels, "insufficient"), index=sample_size.index)


def price_targets(cpus: pd.DataFrame, listings: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU in `cpus` (`id`), from `listings` (`id`, `cpu_id`, `status`, `adjusted_price_usd`).

    Columns: `cpu_id`, `sample_size` (n), `mean_price` (`statistics.mean` of P, NaN without prices)
    and `sd_price` (`statistics.stdev` of P, NaN below two prices), both unrounded dollars; the four
    `price_target_*` values in dollars, `price_target_confidence`, `price_error`: why the CPU's
    listings make it an error (an active listing whose adjusted price is not a finite number), else None;
    and the spread flags from the same prices, `wide_price_range` and `outlier_count` (see `spread`).
    """
    samples, position, bad = price_samples(cpus, listings)
    n = samples.count()
    mean, sd = grouped_mean_stdev(samples.at, samples.prices, len(cpus))
    frame = pd.DataFrame(
        {
            "cpu_id": cpus["id"].to_numpy(),
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
    frame["price_error"] = _price_errors(listings, bad, position, len(cpus))
    frame["wide_price_range"] = wide_price_range(n, mean, sd)
    frame["outlier_count"] = outlier_count(samples)
    return frame


def _price_errors(listings: pd.DataFrame, bad: np.ndarray, position: np.ndarray, cpu_count: int) -> list:
    """Per CPU: a message naming its first active listing with a non-finite price, and how many it has."""
    errors: list = [None] * cpu_count
    bad_listings = listings.loc[bad, ["id", "adjusted_price_usd"]].assign(at=position[bad])
    for at, group in bad_listings.groupby("at", sort=False):
        first = group.iloc[0]
        errors[at] = (
            f"{len(group)} active listing(s) with an adjusted price that is not a finite number"
            f" (listing {first['id']}: {first['adjusted_price_usd']!r})"
        )
    return errors
