"""Performance value: what a CPU's typical price buys in PassMark points, against its peers.

Only for a CPU with both scores present and non-zero and at least one price in P (one is enough),
with avg = the mean of P:
    dollar_per_mark_single = round(avg / cpu_mark_single, 4)
    dollar_per_mark_multi  = round(avg / cpu_mark_multi, 4)
The peers are all CPUs not in error with cpu_mark_multi > 0 and a non-empty P (a peer needs no
single-thread score). percentile = (peers whose unrounded avg / cpu_mark_multi is strictly lower)
/ (number of peers) * 100, written rounded to one decimal: ties share the lower percentile and a
CPU never counts itself. The rating comes from the unrounded percentile.
"""

from bisect import bisect_left
from fractions import Fraction

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.rounding import round_ratio
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

    Columns: `cpu_id`, `name`, the four written performance columns, `percentile_unrounded`, and `error`:
    every reason the CPU is in error (its own scores, its listings' prices), else None.
    """
    scores = parse_scores(cpus).reset_index(drop=True)
    targets = price_targets.reset_index(drop=True)
    error = pd.Series(
        ["; ".join(r for r in reasons if r) or None for reasons in zip(scores["score_error"], targets["price_error"])],
        dtype=object,
    )
    multi = scores["cpu_mark_multi"].to_numpy()
    single = scores["cpu_mark_single"].to_numpy()
    total_cents = targets["total_cents"].to_numpy()
    cents_denominator = 100 * targets["sample_size"].to_numpy()

    priced = error.isna().to_numpy() & (targets["sample_size"].to_numpy() >= 1)
    peer = priced & (multi > 0)
    valued = peer & (single > 0)
    percentile = _percentiles(total_cents, cents_denominator * np.where(peer, multi, 0), peer, valued)
    percentile_unrounded = pd.Series([float(value) if value is not None else np.nan for value in percentile])
    return pd.DataFrame(
        {
            "cpu_id": cpus["id"].to_numpy(),
            "name": cpus["name"].to_numpy(),
            "dollar_per_mark_single": round_ratio(np.where(valued, total_cents, np.nan), cents_denominator * single, 4),
            "dollar_per_mark_multi": round_ratio(np.where(valued, total_cents, np.nan), cents_denominator * multi, 4),
            "performance_value_percentile": _round_percentiles(percentile),
            "performance_value_rating": rating(percentile_unrounded),
            "percentile_unrounded": percentile_unrounded,
            "error": error,
        }
    )


def _round_percentiles(percentiles: list) -> np.ndarray:
    known = [value if value is not None else Fraction(0) for value in percentiles]
    present = np.array([value is not None for value in percentiles], dtype=bool)
    numerators = np.array([value.numerator for value in known], dtype="float64")
    denominators = np.array([value.denominator for value in known], dtype="float64")
    return round_ratio(np.where(present, numerators, np.nan), denominators, 1)


def _percentiles(numerators: np.ndarray, denominators: np.ndarray, peer: np.ndarray, valued: np.ndarray) -> list:
    """Exact percentiles (Fractions, None where not valued) of numerator / denominator among the peers.

    Compared exactly: two CPUs tie only when their dollars per mark are truly equal.
    """
    ratios = [Fraction(int(top), int(bottom)) if is_peer else None
              for top, bottom, is_peer in zip(numerators.tolist(), denominators.tolist(), peer.tolist())]
    peers = sorted(ratio for ratio in ratios if ratio is not None)
    return [Fraction(100 * bisect_left(peers, ratio), len(peers)) if is_valued else None
            for ratio, is_valued in zip(ratios, valued.tolist())]
