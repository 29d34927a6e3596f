"""What must hold of the analytics; each function counts the rows that break a rule."""

import numpy as np
import pandas as pd

from cpu_pipeline.analytics.performance import rating
from cpu_pipeline.analytics.price_targets import confidence

TARGETS = ["price_target_great", "price_target_good", "price_target_fair", "price_target_stddev"]


def unordered_targets(price_targets: pd.DataFrame) -> int:
    """Rows whose targets are not finite with 0 <= great <= good <= fair, or present without two prices."""
    values = price_targets[TARGETS]
    great, good, fair = (values[column] for column in TARGETS[:3])
    computed = price_targets["sample_size"] >= 2
    ordered = np.isfinite(values).all(axis=1) & (great >= 0) & (great <= good) & (good <= fair)
    return int((computed & ~ordered).sum() + (~computed & values.notna().any(axis=1)).sum())


def confidence_mismatches(price_targets: pd.DataFrame) -> int:
    """Rows whose confidence does not follow from their sample size."""
    return int((price_targets["price_target_confidence"] != confidence(price_targets["sample_size"])).sum())


def percentiles_out_of_range(performance: pd.DataFrame) -> int:
    """Rows whose unrounded percentile is outside [0, 100)."""
    percentile = performance["percentile_unrounded"]
    return int((percentile.notna() & ~((percentile >= 0) & (percentile < 100))).sum())


def rating_mismatches(performance: pd.DataFrame) -> int:
    """Rows whose rating does not follow from their unrounded percentile."""
    expected = rating(performance["percentile_unrounded"]).fillna("")
    return int((performance["performance_value_rating"].fillna("") != expected).sum())
