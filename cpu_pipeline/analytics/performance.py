"""Performance value: what a CPU's typical price buys in PassMark points, against its peers.

Source: Deal Brain's `CPUAnalyticsService.calculate_performance_value`. Only for a CPU with both
scores present and non-zero and at least one price in P (one is enough), with avg = the mean of P
(the correctly rounded `statistics.mean`, as for the targets), in floats:
    dollar_per_mark_single = round(avg / cpu_mark_single, 4)
    dollar_per_mark_multi  = round(avg / cpu_mark_multi, 4)
The peers are all CPUs not in error with cpu_mark_multi > 0 and a non-empty P (a peer needs no
single-thread score). percentile = (better / peers) * 100 in floats, in that order, where better
counts the peers whose unrounded float avg / cpu_mark_multi is strictly lower: equal floats tie and
share the lower percentile, and a CPU never counts itself. It is written as round(percentile, 1);
the rating comes from the unrounded percentile.

One deliberate difference from the task: it takes avg for $/mark from PostgreSQL's
`AVG(double precision)`, whose last bit depends on the order of the scan; here the same correctly
rounded mean serves the targets and $/mark.
"""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.rounding import round_floats
from cpu_pipeline.analytics.validation import parse_scores

RATING_BY_MAX_PERCENTILE = (("excellent", 25), ("good", 50), ("fair", 75))


def rating(percentile: pd.Series) -> pd.Series:
    """The rating for an unrounded percentile (NaN gives None)."""
    conditions = [percentile <= maximum for _, maximum in RATING_BY_MAX_PERCENTILE]
    labels = [label for label, _ in RATING_BY_MAX_PERCENTILE]
    rated = pd.Series(np.select(conditions, labels, "poor"), index=percentile.index, dtype=object)
    return rated.where(percentile.notna(), None)


def performance_metrics(cpus: pd.DataFrame, price_targets: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU, aligned with `cpus` and with the output of `price_targets.price_targets`.

    Columns: `cpu_id`, `name`, the four written performance columns ($ per mark in dollars, the
    percentile in percent), `percentile_unrounded`, and `error`: every reason the CPU is in error
    (its own scores, its listings' prices), else None.
    """
    scores = parse_scores(cpus).reset_index(drop=True)
    targets = price_targets.reset_index(drop=True)
    error = pd.Series(
        ["; ".join(r for r in reasons if r) or None for reasons in zip(scores["score_error"], targets["price_error"])],
        dtype=object,
    )
    multi = scores["cpu_mark_multi"].to_numpy()
    single = scores["cpu_mark_single"].to_numpy()
    mean = targets["mean_price"].to_numpy()

    priced = error.isna().to_numpy() & (targets["sample_size"].to_numpy() >= 1)
    peer = priced & (multi > 0)
    valued = peer & (single > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_multi = np.where(valued, mean / multi, np.nan)
        per_single = np.where(valued, mean / single, np.nan)
        peer_ratios = np.sort((mean / multi)[peer])
    better = np.searchsorted(peer_ratios, per_multi, side="left")
    percentile = pd.Series(np.where(valued, better / max(len(peer_ratios), 1) * 100, np.nan))
    return pd.DataFrame(
        {
            "cpu_id": cpus["id"].to_numpy(),
            "name": cpus["name"].to_numpy(),
            "dollar_per_mark_single": round_floats(per_single, 4),
            "dollar_per_mark_multi": round_floats(per_multi, 4),
            "performance_value_percentile": round_floats(percentile.to_numpy(), 1),
            "performance_value_rating": rating(percentile),
            "percentile_unrounded": percentile,
            "error": error,
        }
    )
