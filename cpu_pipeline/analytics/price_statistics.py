"""Each CPU's mean and standard deviation of P from its float sums, exact wherever it matters.

Deal Brain's task writes values computed with `statistics.mean` and `statistics.stdev` (correctly
rounded from the exact sums) and then Python's `round`. The listing figures carry float sums (a
database's `sum(double precision)`, or numpy's), which can be off in their last bits. What is written
only depends on a handful of comparisons, though: which side of a rounding boundary (half a cent, half
of 0.0001 $/mark) a value lies, whether sd > 30% of the mean, and how two CPUs' $ per multi-thread
mark compare. So each value is computed from the sums together with a proven bound on its error, and
wherever the bound leaves a comparison undecided (the value within its error of a boundary, two CPUs'
$/mark intervals overlapping, or a CPU with an extreme price: `listing_figures.ORDINARY_PRICES`) the
CPU is marked `needs_exact`: the caller fetches its prices and `with_exact_statistics` recomputes it
exactly (`exact_statistics.grouped_mean_stdev`). Every other CPU's float value differs from the exact
one by less than its error, on the same side of every boundary, so rounding it writes the same value.

The error bounds (u = 2**-53, γ(k) = k u / (1 - k u); Higham, Accuracy and Stability of Numerical
Algorithms, 2nd ed., §3.1 and §4.2): a float sum of k non-negative terms, in any order or grouping, is
within γ(k - 1) of the exact sum; each further operation adds one rounding. `_error_bounds` adds these
up for the mean, the variance and its square root, then doubles the total: the margin is at least
twice the largest error the sums can carry, so it never misses a CPU that needs an exact recompute,
at the cost of recomputing a few that would have rounded the same (counted in the asset's metadata).
"""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.exact_statistics import grouped_mean_stdev
from cpu_pipeline.analytics.listing_figures import quartiles_and_outliers
from cpu_pipeline.analytics.spread import WIDE_RANGE_SHARE
from cpu_pipeline.analytics.validation import parse_scores

UNIT_ROUNDOFF = 2.0**-53
SAFETY = 2.0
# (digits, columns): the written values rounded to that many decimals.
TARGET_DIGITS, VALUE_DIGITS = 2, 4


def _gamma(k: np.ndarray) -> np.ndarray:
    return k * UNIT_ROUNDOFF / (1 - k * UNIT_ROUNDOFF)


def _error_bounds(n: np.ndarray, sum_: np.ndarray, sum_of_squares: np.ndarray) -> tuple[np.ndarray, ...]:
    """The float mean and sd from the sums, and bounds on their distance from `statistics.mean` and
    `statistics.stdev` of the exact prices (NaN where n is too small for the value)."""
    u = UNIT_ROUNDOFF
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sum_error = 1.01 * _gamma(n) * sum_  # 1.01: the bound holds for the exact sum, within 1% of the float one
        squares_error = 1.01 * _gamma(n + 1) * sum_of_squares  # each square rounds once more
        mean = sum_ / n
        # |float mean - exact mean| <= sum_error / n + u mean; statistics.mean is within u of the exact mean.
        mean_error = SAFETY * (sum_error / n + 2.02 * u * mean)
        # n * variance numerator: sum_of_squares - sum**2 / n, each part with its own error.
        square_of_sum = sum_ * sum_ / n
        square_of_sum_error = (sum_error * (2 * sum_ + sum_error) + u * sum_ * sum_) / n + u * square_of_sum
        numerator = sum_of_squares - square_of_sum
        numerator_error = squares_error + square_of_sum_error + u * np.abs(numerator)
        variance = np.maximum(numerator, 0.0) / (n - 1)
        variance_error = SAFETY * (numerator_error / (n - 1) + 2 * u * variance)
        sd = np.sqrt(variance)
        # |sqrt(a) - sqrt(b)| <= min(sqrt(|a - b|), |a - b| / sqrt(a)); the roots round once each.
        root_error = np.where(variance > 0, np.minimum(np.sqrt(variance_error), variance_error / sd), np.sqrt(variance_error))
        sd_error = SAFETY * (root_error + 3 * u * sd)
    return mean, mean_error, sd, sd_error


def _near_boundary(value: np.ndarray, error: np.ndarray, digits: int) -> np.ndarray:
    """Whether `round(v, digits)` could differ for some v within `error` of `value`: a boundary
    (k + 1/2) 10**-digits lies within the error, or the value is too large to tell."""
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = value * scale
        distance = np.abs(scaled - np.floor(scaled) - 0.5) / scale
        # scaled and the subtraction each round once: allow for both, relative to the value and to 1.
        slack = 4 * UNIT_ROUNDOFF * (np.abs(value) + 1)
        return ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0**50) | (distance <= error + slack)


def _overlapping(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Which intervals [lower, upper] overlap another: sorted by lower end, a cluster continues while
    the next interval starts at or before the furthest end so far; every member of a cluster of two
    or more is marked."""
    order = np.argsort(lower, kind="stable")
    lo, hi = lower[order], upper[order]
    reach = np.maximum.accumulate(hi)
    starts_cluster = np.ones(len(lo), dtype=bool)
    starts_cluster[1:] = lo[1:] > reach[:-1]
    cluster = np.cumsum(starts_cluster)
    sizes = np.bincount(cluster)
    marked = np.zeros(len(lo), dtype=bool)
    marked[order] = sizes[cluster] > 1
    return marked


def price_statistics(cpus: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU of `cpus` (`id`), in its order, from the listing `figures` (`listing_figures.
    FIGURE_COLUMNS`, any CPUs): `cpu_id`, `sample_size`, `mean_price` (n >= 1) and `sd_price` (n >= 2) in
    dollars as the float sums give them, with `mean_error` and `sd_error` (their bounds: NaN where the
    sums cannot tell, for extreme prices), `exact` (False), the quartiles, the outlier count and the
    invalid-price columns of the figures."""
    ids = pd.Index(pd.to_numeric(cpus["id"], errors="coerce"))
    aligned = figures.set_index("cpu_id").reindex(ids)
    n = aligned["sample_size"].fillna(0).to_numpy(dtype="float64")
    sum_, squares = aligned["price_sum"].to_numpy(dtype="float64"), aligned["price_sum_of_squares"].to_numpy(dtype="float64")
    mean, mean_error, sd, sd_error = _error_bounds(n, sum_, squares)
    unknown = aligned["extreme_prices"].fillna(0).to_numpy() > 0
    return pd.DataFrame(
        {
            "cpu_id": cpus["id"].to_numpy(),
            "sample_size": n.astype("int64"),
            "mean_price": np.where(n >= 1, mean, np.nan),
            "sd_price": np.where(n >= 2, sd, np.nan),
            "mean_error": np.where(unknown, np.nan, mean_error),
            "sd_error": np.where(unknown, np.nan, sd_error),
            "exact": np.zeros(len(cpus), dtype=bool),
            "price_q1": aligned["price_q1"].to_numpy(dtype="float64"),
            "price_q3": aligned["price_q3"].to_numpy(dtype="float64"),
            "outlier_count": pd.array(aligned["outlier_count"].to_numpy(), dtype="Int64"),
            "invalid_prices": aligned["invalid_prices"].fillna(0).to_numpy(dtype="int64"),
            "first_invalid_listing": pd.array(aligned["first_invalid_listing"].to_numpy(), dtype="Int64"),
            "first_invalid_price": aligned["first_invalid_price"].to_numpy(dtype=object),
        }
    )


def needs_exact(cpus: pd.DataFrame, statistics: pd.DataFrame) -> np.ndarray:
    """Per CPU (aligned with `cpus` and `statistics`): whether its float values cannot decide what is
    written, so that it must be recomputed exactly; False for the CPUs already `exact`.

    Call it again after `with_exact_statistics`: a CPU whose values were unknown (extreme prices) is
    only placed among its peers' $/mark once it is exact.
    """
    n = statistics["sample_size"].to_numpy()
    mean, sd = statistics["mean_price"].to_numpy(), statistics["sd_price"].to_numpy()
    exact = statistics["exact"].to_numpy()
    mean_error = np.where(exact, 0.0, statistics["mean_error"].to_numpy())
    sd_error = np.where(exact, 0.0, statistics["sd_error"].to_numpy())
    has_mean, has_sd = (n >= 1) & ~exact, (n >= 2) & ~exact
    with np.errstate(invalid="ignore"):
        unknown = (has_mean & ~(np.isfinite(mean) & np.isfinite(mean_error))) | (
            has_sd & ~(np.isfinite(sd) & np.isfinite(sd_error))
        )
        # The targets: good, fair, stddev and great (floored at zero) to the cent; the spread flag.
        edge = 4 * UNIT_ROUNDOFF * (mean + np.nan_to_num(sd))
        great, great_error = mean - sd, mean_error + sd_error + edge
        flagged = unknown.copy()
        flagged |= has_sd & _near_boundary(mean, mean_error, TARGET_DIGITS)
        flagged |= has_sd & _near_boundary(mean + sd, mean_error + sd_error + edge, TARGET_DIGITS)
        flagged |= has_sd & _near_boundary(sd, sd_error, TARGET_DIGITS)
        flagged |= has_sd & ((np.abs(great) <= great_error) | ((great > 0) & _near_boundary(great, great_error, TARGET_DIGITS)))
        flagged |= has_sd & (np.abs(sd - WIDE_RANGE_SHARE * mean) <= sd_error + WIDE_RANGE_SHARE * mean_error + edge)
    # The performance value: $ per mark to 0.0001; the order of $ per multi-thread mark among the peers
    # (here every CPU with a price and a multi-thread score: a superset of the peers is safe).
    scores = parse_scores(cpus.reset_index(drop=True))
    for column in ("cpu_mark_single", "cpu_mark_multi"):
        score = scores[column].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = mean / score
            ratio_error = mean_error / score + 4 * UNIT_ROUNDOFF * ratio
            flagged |= has_mean & (score > 0) & _near_boundary(ratio, ratio_error, VALUE_DIGITS)
        if column == "cpu_mark_multi":
            placed = np.flatnonzero((n >= 1) & (score > 0) & ~unknown)
            lower, upper = ratio[placed] - ratio_error[placed], ratio[placed] + ratio_error[placed]
            flagged[placed[_overlapping(lower, upper)]] = True
    return flagged & ~exact


def with_exact_statistics(statistics: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """`statistics` with the CPUs in `prices` (`cpu_id`, `price`: all of each one's usable prices, any
    order) recomputed exactly: `statistics.mean`, `statistics.stdev`, the quartiles and the outlier count,
    as the task and `listing_figures` define them; those CPUs become `exact`.

    Raises ValueError when a CPU's price count differs from its sample size (its listings changed
    between the two reads: the step fails and is run again rather than write a mix).
    """
    result = statistics.copy()
    position = pd.Index(pd.to_numeric(result["cpu_id"], errors="coerce")).get_indexer(prices["cpu_id"])
    rows, at = np.unique(position[position >= 0], return_inverse=True)
    values = prices["price"].to_numpy(dtype="float64")[position >= 0]
    counts = np.bincount(at, minlength=len(rows))
    changed = counts != result["sample_size"].to_numpy()[rows]
    if changed.any():
        ids = result["cpu_id"].to_numpy()[rows][changed][:5].tolist()
        raise ValueError(f"the listings of CPUs {ids} changed between the summary and the exact read of their prices")
    mean, sd = grouped_mean_stdev(at, values, len(rows))
    q1, q3, outliers = quartiles_and_outliers(at, values, len(rows))
    result.loc[rows, ["mean_price", "sd_price", "price_q1", "price_q3"]] = np.column_stack([mean, sd, q1, q3])
    result.loc[rows, ["mean_error", "sd_error"]] = 0.0
    result.loc[rows, "exact"] = True
    result.loc[rows, "outlier_count"] = pd.array(np.where(outliers >= 0, outliers, 0), dtype="Int64")
    result.loc[rows[outliers < 0], "outlier_count"] = pd.NA
    return result


def exact_where_needed(cpus: pd.DataFrame, figures: pd.DataFrame, usable_prices) -> pd.DataFrame:
    """`price_statistics`, then `with_exact_statistics` until no CPU `needs_exact`: `usable_prices(cpu_ids)`
    returns those CPUs' usable prices (`cpu_id`, `price`), read from wherever the figures came from.
    Usually one read, of a handful of CPUs; a second when a CPU with extreme prices must first be exact
    to be placed among its peers."""
    statistics = price_statistics(cpus, figures)
    while (pending := needs_exact(cpus, statistics)).any():
        statistics = with_exact_statistics(statistics, usable_prices(statistics["cpu_id"].to_numpy()[pending].tolist()))
    return statistics
