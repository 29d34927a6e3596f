"""Price history and trends: a daily snapshot of the rows the night's write-back wrote, and what it
says about the market, beside the write-back in a group of their own (`cpu_price_history`).

Neither asset is partitioned: the history is keyed by UTC day in its table, and each materialisation
files what the write-back wrote under today's date (the Clock's), replacing that day's rows only.
Dagster's partitions are for data any key of which can be computed at any time; a snapshot can only
be taken of today, from the live tables. Daily partitions from a fixed first day showed every day
before the first snapshot as "Missing" (never fillable); a past day's partition, when asked for, could
only be refused, and the refusal turned the asset red; and a partitioned asset on the lineage graph
made "Materialize all" open a partition dialog. Dynamic partitions, one added per snapshot, remove the
phantom days but not the other two: a snapshotted past day can still be asked for again, and the
global "Materialize all" still opens the dialog. Unpartitioned, there is no day to refuse, "Materialize
all" runs every asset and takes today's snapshot, and the days there are are the days in the table
(each materialisation's `day` metadata names its own).

After every successful recalculation a sensor (`sensors.py`) takes today's snapshot, and the trends
after it.
"""

from datetime import timedelta

import dagster as dg
import pandas as pd

from cpu_pipeline.analytics.flagged import flagged_cpus
from cpu_pipeline.analytics.spread import SPREAD_COLUMNS
from cpu_pipeline.analytics.trends import DEFAULT_DROP_SHARE, WINDOWS, largest_drops, price_trends
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline.lib.metadata import PREVIEW_ROWS, markdown, table_metadata
from cpu_pipeline.lib.pools import CPU_METRICS_POOL
from cpu_pipeline.lib.retries import read_retrying

GROUP = "cpu_price_history"
# A trend's earlier price is the latest snapshot on or before the window's start, at most this much
# older: a few nights without a snapshot do not break a trend.
MISSED_NIGHTS_TOLERATED = timedelta(days=7)


class TrendsConfig(dg.Config):
    """Share of its price the good price must lose over 7 days to be flagged `price_drop`."""

    drop_share: float = DEFAULT_DROP_SHARE


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    description="Every night's price targets and performance values, one row per CPU not in error and UTC "
    "day, in the table `cpu_analytics_history`: the rows `cpu_analytics` wrote, filed under the day the "
    "snapshot is taken (its `day` metadata). Materialising it again the same day replaces that day only.",
)
def cpu_analytics_history(app_database: AppDatabase, clock: Clock, cpu_analytics: pd.DataFrame) -> dg.MaterializeResult:
    day = clock.today()
    written = app_database.write_history(day, cpu_analytics)
    snapshot = cpu_analytics.assign(day=day)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(snapshot, table_name=app_database.pipeline_tables.history.fullname),
            "day": day.isoformat(),
            "dagster/row_count": written,
        }
    )


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    deps=["cpu_analytics_history"],
    description="Per CPU, in the table `cpu_price_trends`: the change of its good price over 7 and 30 days "
    "(dollars and percent), a `price_drop` flag, and the spread flags `wide_price_range` "
    "(sd > 30% of the mean) and `outlier_count` (outside the 1.5 IQR fences).",
)
def cpu_price_trends(
    context: dg.AssetExecutionContext,
    config: TrendsConfig,
    app_database: AppDatabase,
    clock: Clock,
    cpus: pd.DataFrame,
    cpu_price_targets: pd.DataFrame,
) -> dg.MaterializeResult:
    day = clock.today()
    since = day - timedelta(days=max(WINDOWS)) - MISSED_NIGHTS_TOLERATED
    history = read_retrying(context, lambda: app_database.load_history(since, day))
    trends = price_trends(history, cpus["id"], day, config.drop_share)
    # The spread flags come with the price targets, computed from the same prices.
    rows = trends.merge(cpu_price_targets[["cpu_id", *SPREAD_COLUMNS]], on="cpu_id")
    app_database.write_trends(rows)
    names = cpus.set_index("id")["name"]
    return dg.MaterializeResult(
        metadata={
            **table_metadata(rows, table_name=app_database.pipeline_tables.trends.fullname),
            "day": day.isoformat(),
            **{f"cpus_with_{window}d_trend": int(rows[f"good_change_{window}d"].notna().sum()) for window in WINDOWS},
            "price_drops": int(rows["price_drop"].sum()),
            "wide_price_ranges": int(rows["wide_price_range"].sum()),
            "outlier_listings": int(rows["outlier_count"].sum()),
            "largest_drops": markdown(largest_drops(rows, names, PREVIEW_ROWS)),
            # Which CPUs the three counts above are: every one, found by name in its dialog.
            "flagged_cpus": markdown(flagged_cpus(rows, names)),
        }
    )
