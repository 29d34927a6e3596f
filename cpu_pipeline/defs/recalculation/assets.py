"""The five assets of the group `cpu_metrics`: load `cpus` and `listing_figures` from Deal Brain's tables
(the external assets `deal_brain/cpu` and `deal_brain/listing`), derive the price targets and the
performance metrics with `cpu_pipeline.analytics`, and write them back into the `cpu` table
(`cpu_analytics`). Owners and kinds are applied by the root definitions.

Logs carry the seed task's event names (`cpu_metrics.recalc.*`) and the run id, so the existing
log alerts of Deal Brain keep working.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from cpu_pipeline.analytics import write_back
from cpu_pipeline.analytics.performance import performance_metrics
from cpu_pipeline.analytics.price_statistics import exact_where_needed
from cpu_pipeline.analytics.price_targets import price_targets
from cpu_pipeline.defs.deal_brain import assets as deal_brain
from cpu_pipeline.defs.recalculation import checks
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.metadata import PREVIEW_ROWS, TABLE_NAME, markdown, percent, table, table_metadata
from cpu_pipeline.lib.pools import CPU_METRICS_POOL
from cpu_pipeline.lib.retries import read_retrying

GROUP = "cpu_metrics"
WRITTEN_TABLE = deal_brain.CPU_TABLE  # Deal Brain's table the write-back writes


@dataclass(frozen=True)
class PerformanceMetrics:
    """The value of `cpu_performance_metrics`: the figures the gate judged, computed once and passed on,
    so the write-back reports the same errors and error rate rather than computing them again.

    `per_cpu`: one row per CPU, as `analytics.performance.performance_metrics` gives it;
    `errors`: the CPUs in error (`cpu_id`, `name`, `reason`); `error_rate`: CPUs in error / all CPUs.
    """

    per_cpu: pd.DataFrame
    errors: pd.DataFrame
    error_rate: float


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    deps=[deal_brain.CPU],
    description="Deal Brain's CPU catalogue: id, name, manufacturer and both PassMark scores, as stored.",
)
def cpus(context: dg.AssetExecutionContext, app_database: AppDatabase) -> dg.MaterializeResult[pd.DataFrame]:
    context.log.info(f"cpu_metrics.recalc.start database={app_database.display_url}")
    frame = read_retrying(context, app_database.load_cpus)
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame))


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    deps=[deal_brain.LISTING],
    description="Deal Brain's active listings summarised per CPU (one row per CPU): the count and float sums of "
    "the usable adjusted prices, their quartiles and outliers, and the listings whose price is not a finite number. "
    "On PostgreSQL the database computes them in one statement: no listing leaves it.",
)
def listing_figures(context: dg.AssetExecutionContext, app_database: AppDatabase) -> dg.MaterializeResult[pd.DataFrame]:
    frame = read_retrying(context, app_database.load_listing_figures)
    return dg.MaterializeResult(
        value=frame,
        metadata={**table_metadata(frame), "active_listings": int(frame["active_listings"].sum())},
    )


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    check_specs=checks.PRICE_TARGET_CHECKS,
    description="Per CPU: great / good / fair prices from the mean and sample standard deviation of its "
    "active listings' positive adjusted prices, with the sample size and a confidence; and the "
    "spread flags `wide_price_range` and `outlier_count` from the same prices. A CPU whose float sums "
    "could not decide a written value is recomputed exactly from its prices, read for it alone.",
)
def cpu_price_targets(
    context: dg.AssetExecutionContext, app_database: AppDatabase, cpus: pd.DataFrame, listing_figures: pd.DataFrame
):  # checks make several outputs: no annotation
    statistics = exact_where_needed(
        cpus, listing_figures, lambda cpu_ids: read_retrying(context, lambda: app_database.load_usable_prices(cpu_ids))
    )
    frame = price_targets(statistics)
    confidence = frame["price_target_confidence"].value_counts()
    return dg.MaterializeResult(
        value=frame,
        metadata={
            **table_metadata(frame),
            "cpus_with_targets": int((frame["sample_size"] >= 2).sum()),
            "cpus_insufficient": int(confidence.get("insufficient", 0)),
            **{f"confidence_{label}": int(confidence.get(label, 0)) for label in ("high", "medium", "low")},
            "cpus_with_invalid_prices": int(frame["price_error"].notna().sum()),
            # See analytics/price_statistics.py: how many CPUs the float sums could not decide.
            "cpus_recomputed_exactly": int(frame["recomputed_exactly"].sum()),
        },
        check_results=checks.price_target_results(frame),
    )


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    check_specs=checks.PERFORMANCE_CHECKS,
    description="Per CPU: dollars per single- and multi-thread PassMark point, the percentile of its value "
    "among its peers and a rating; and every CPU's errors, gated by the error rate.",
)
def cpu_performance_metrics(
    context: dg.AssetExecutionContext, config: checks.ErrorRateGate, cpus: pd.DataFrame, cpu_price_targets: pd.DataFrame
):  # checks make several outputs: no annotation
    frame = performance_metrics(cpus, cpu_price_targets)
    performance = PerformanceMetrics(per_cpu=frame, errors=write_back.errors(frame), error_rate=write_back.error_rate(frame))
    if performance.error_rate > config.warn_above:
        context.log.error(
            f"cpu_metrics.recalc.high_error_rate error_rate={performance.error_rate:.4f} "
            f"errors={len(performance.errors)} total={len(frame)} fail_above={config.fail_above}"
        )
    return dg.MaterializeResult(
        value=performance,
        metadata={
            **table_metadata(frame),
            "cpus_rated": int(frame["performance_value_rating"].notna().sum()),
            "cpus_in_error": len(performance.errors),
            "error_rate_percent": percent(performance.error_rate),
            "errors": markdown(performance.errors.head(PREVIEW_ROWS * 2)),
        },
        check_results=checks.performance_results(frame, performance.error_rate, config),
    )


@dg.asset(
    group_name=GROUP,
    pool=CPU_METRICS_POOL,
    check_specs=checks.WRITE_BACK_CHECKS,
    # The table it writes, as `deal_brain/cpu` names it: the UI shows them as one storage address, with
    # no edge from the write-back to the table the loader reads (a cycle).
    metadata={TABLE_NAME: WRITTEN_TABLE},
    description="The price targets and performance metrics written back into Deal Brain's `cpu` table, "
    "in one transaction; its value is the rows written. CPUs in error keep their previous values.",
)
def cpu_analytics(
    context: dg.AssetExecutionContext,
    app_database: AppDatabase,
    cpu_price_targets: pd.DataFrame,
    cpu_performance_metrics: PerformanceMetrics,
):
    performance = cpu_performance_metrics
    rows = write_back.analytics_rows(cpu_price_targets, performance.per_cpu)
    written = app_database.write_analytics(rows, datetime.now(UTC).replace(tzinfo=None))
    total, in_error = len(performance.per_cpu), len(performance.errors)
    context.log.info(f"cpu_metrics.recalc.complete total={total} success={written} errors={in_error}")
    catalogue = write_back.catalogue(cpu_price_targets, performance.per_cpu)
    return dg.MaterializeResult(
        value=rows,
        metadata={
            **table_metadata(rows, table_name=WRITTEN_TABLE),
            "database": app_database.display_url,
            "cpus_total": total,
            "cpus_written": written,
            "cpus_with_targets": int((rows["price_target_sample_size"] >= 2).sum()),
            "cpus_insufficient": int((rows["price_target_confidence"] == "insufficient").sum()),
            "cpus_rated": int(rows["performance_value_rating"].notna().sum()),
            "cpus_in_error": in_error,
            "error_rate_percent": percent(performance.error_rate),
            "cpus_by_rating_and_confidence": markdown(write_back.counts_by_rating_and_confidence(catalogue)),
            "best_value": markdown(
                write_back.best_value(cpu_price_targets, performance.per_cpu, PREVIEW_ROWS), caption=write_back.BEST_VALUE_RULE
            ),
            "errors": markdown(performance.errors.head(PREVIEW_ROWS * 2)),
            # Every CPU, by name, found with the browser's search; `cpu-pipeline show` gives all of one.
            # A table value, listed inline from its top with the columns its place on the page fits:
            # as Markdown, its dialog opened at its bottom (the UI focuses the Close button below it).
            "catalogue": table(catalogue[write_back.CATALOGUE_PREVIEW_COLUMNS], write_back.PREVIEW_HEADERS),
        },
        check_results=checks.write_back_results(total, written, in_error),
    )
