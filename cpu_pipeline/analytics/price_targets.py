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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.exact_statistics import grouped_mean_stdev
from cpu_pipeline.analytics.rounding import round_floats
from cpu_pipeline.analytics.validation import parse_numbers

CONFIDENCE_BY_MIN_SAMPLE = (("high", 10), ("medium", 5), ("low", 2))


def confidence(sample_size: pd.Series) -> pd.Series:
    conditions = [sample_size >= minimum for _, minimum in CONFIDENCE_BY_MIN_SAMPLE]
    labels = [label for label, _ in CONFIDENCE_BY_MIN_SAMPLE]
    return pd.Series(np.select(conditions, labels, "insufficient"), index=sample_size.index)


@dataclass
class PriceSamples:
    """P for every CPU at once: each usable price (a float, as stored) with its CPU's position in `cpus`."""

    at: np.ndarray
    prices: np.ndarray
    cpu_count: int

    def count(self) -> np.ndarray:
        return np.bincount(self.at, minlength=self.cpu_count)


def price_samples(cpus: pd.DataFrame, listings: pd.DataFrame) -> tuple[PriceSamples, np.ndarray, np.ndarray]:
    """The usable prices, and per listing its CPU's position (-1 when unknown) and whether it is an
    active listing of a known CPU whose price is present but not a finite number."""
    position = pd.Index(cpus["id"].to_numpy()).get_indexer(pd.to_numeric(listings["cpu_id"], errors="coerce"))
    prices, invalid = parse_numbers(listings["adjusted_price_usd"])
    active = (listings["status"] == "active").to_numpy() & (position >= 0)
    usable = active & (prices.to_numpy() > 0)
    return PriceSamples(position[usable], prices.to_numpy()[usable], len(cpus)), position, invalid.to_numpy() & active


def price_targets(cpus: pd.DataFrame, listings: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU in `cpus` (`id`), from `listings` (`id`, `cpu_id`, `status`, `adjusted_price_usd`).

    Columns: `cpu_id`, `sample_size` (n), `mean_price` (`statistics.mean` of P, NaN without prices)
    and `sd_price` (`statistics.stdev` of P, NaN below two prices), both unrounded dollars; the four
    `price_target_*` values in dollars, `price_target_confidence`, and `price_error`: why the CPU's
    listings make it an error (an active listing whose adjusted price is not a finite number), else None.
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
