"""Price history and trends: a daily snapshot of the rows the night's write-back wrote, and what it
says about the market, beside the write-back in a group of their own (`cpu_price_history`).

The history is partitioned by UTC day. Only today can be computed from live data, so a backfill of
another day fails with a clear message instead of writing today's numbers under an old date. After
every successful recalculation a sensor (`sensors.py`) fills today's partition, and the trends after it.
"""

from datetime import date, timedelta

import dagster as dg
import pandas as pd

from cpu_pipeline.analytics.spread import SPREAD_COLUMNS
from cpu_pipeline.analytics.trends import DEFAULT_DROP_SHARE, WINDOWS, largest_drops, price_trends
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline.lib.metadata import PREVIEW_ROWS, markdown
from cpu_pipeline.lib.pools import CPU_METRICS_POOL
from cpu_pipeline.lib.retries import read_retrying

GROUP = "cpu_price_history"
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC", end_offset=1)
# A trend's earlier price is the latest snapshot on or before the window's start, at most this much
# older: a few nights without a snapshot do not break a trend.
MISSED_NIGHTS_TOLERATED = timedelta(days=7)


class TrendsConfig(dg.Config):
    """Share of its price the good price must lose over 7 days to be flagged `price_drop`."""

    drop_share: float = DEFAULT_DROP_SHARE


def _today_only(context: dg.AssetExecutionContext, clock: Clock) -> date:
    day, today = date.fromisoformat(context.partition_key), clock.today()
    if day != today:
        raise dg.Failure(
            description=f"Partition {day} cannot be computed: the snapshot is taken from live data, which only "
            f"describes today ({today}, UTC). Materialise today's partition; past days are kept as "
            "they were recorded, and cannot be recomputed."
        )
    return day


@dg.asset(
    partitions_def=DAILY,
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    description="Every night's price targets and performance values, one row per CPU not in error and UTC "
    "day, in the table `cpu_analytics_history`: the rows `cpu_analytics` wrote. Rematerialising "
    "a day replaces that day only.",
)
def cpu_analytics_history(
    context: dg.AssetExecutionContext, app_database: AppDatabase, clock: Clock, cpu_analytics: pd.DataFrame
) -> dg.MaterializeResult:
    day = _today_only(context, clock)
    written = app_database.write_history(day, cpu_analytics)
    return dg.MaterializeResult(metadata={"day": day.isoformat(), "dagster/row_count": written})


@dg.asset(
    partitions_def=DAILY,
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
    day = _today_only(context, clock)
    since = day - timedelta(days=max(WINDOWS)) - MISSED_NIGHTS_TOLERATED
    history = read_retrying(context, lambda: app_database.load_history(since, day))
    trends = price_trends(history, cpus["id"], day, config.drop_share)
    # The spread flags come with the price targets, computed from the same prices.
    rows = trends.merge(cpu_price_targets[["cpu_id", *SPREAD_COLUMNS]], on="cpu_id")
    app_database.write_trends(rows)
    names = cpus.set_index("id")["name"]
    return dg.MaterializeResult(
        metadata={
            "day": day.isoformat(),
            "dagster/row_count": len(rows),
            **{f"cpus_with_{window}d_trend": int(rows[f"good_change_{window}d"].notna().sum()) for window in WINDOWS},
            "price_drops": int(rows["price_drop"].sum()),
            "wide_price_ranges": int(rows["wide_price_range"].sum()),
            "outlier_listings": int(rows["outlier_count"].sum()),
            "largest_drops": markdown(largest_drops(rows, names, PREVIEW_ROWS)),
        }
    )
