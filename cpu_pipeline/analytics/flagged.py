"""The CPUs behind the trend and spread counts: which ones are dropping, spread wide or have outliers."""

import pandas as pd

FLAGGED_COLUMNS = [
    "cpu_id",
    "name",
    "price_drop",
    "good_change_7d_pct",
    "wide_price_range",
    "outlier_count",
    "price_target_good",
]


def flagged_cpus(trends: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """Every CPU of `trends` (the rows of `cpu_price_trends`) that a flag names: a `price_drop`, a
    `wide_price_range` or at least one outlier; `names` maps a CPU id to its name.

    Columns `FLAGGED_COLUMNS`; the dropping CPUs first, largest drop first, then the most outliers,
    then by name.
    """
    dropping = trends["price_drop"].fillna(False).astype(bool)
    named = dropping | trends["wide_price_range"].fillna(False).astype(bool) | (trends["outlier_count"].fillna(0) > 0)
    flagged = trends[named].assign(
        name=lambda frame: frame["cpu_id"].map(names),
        drop=lambda frame: frame["good_change_7d_pct"].where(dropping[named]),  # the others, by their outliers
    )
    ordered = flagged.sort_values(["drop", "outlier_count", "name"], ascending=[True, False, True], na_position="last")
    return ordered[FLAGGED_COLUMNS].reset_index(drop=True)
