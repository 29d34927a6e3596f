"""The asset checks: their specs, and their results from the frames the assets just computed.

Every check is evaluated in the step that computes its asset (no re-query), and the checks on the
derived assets are blocking: a failure with severity ERROR keeps the write-back from running.
"""

import dagster as dg
import pandas as pd

from cpu_pipeline.analytics import invariants
from cpu_pipeline.lib.metadata import percent


class ErrorRateGate(dg.Config):
    """Share of CPUs in error above which the run warns, and above which it writes nothing and fails."""

    warn_above: float = 0.02
    fail_above: float = 0.10


ERROR_RATE = "error_rate_within_limits"
TARGETS_ORDERED = "targets_ordered"
CONFIDENCE_MATCHES = "confidence_matches_sample_size"
PERCENTILE_IN_RANGE = "percentile_in_range"
RATING_MATCHES = "rating_matches_percentile"
EVERY_CPU_ACCOUNTED = "every_cpu_accounted_for"

PRICE_TARGET_CHECKS = [
    dg.AssetCheckSpec(
        TARGETS_ORDERED,
        asset="cpu_price_targets",
        blocking=True,
        description="0 <= great <= good <= fair, all finite, and no targets without two prices.",
    ),
    dg.AssetCheckSpec(
        CONFIDENCE_MATCHES, asset="cpu_price_targets", blocking=True, description="The confidence follows from the sample size."
    ),
]
PERFORMANCE_CHECKS = [
    dg.AssetCheckSpec(
        ERROR_RATE,
        asset="cpu_performance_metrics",
        blocking=True,
        description="CPUs in error / all CPUs: warns above `warn_above`, fails (nothing written) above `fail_above`.",
    ),
    dg.AssetCheckSpec(
        PERCENTILE_IN_RANGE,
        asset="cpu_performance_metrics",
        blocking=True,
        description="Every unrounded percentile lies in [0, 100).",
    ),
    dg.AssetCheckSpec(
        RATING_MATCHES,
        asset="cpu_performance_metrics",
        blocking=True,
        description="Every rating follows from its unrounded percentile.",
    ),
]
WRITE_BACK_CHECKS = [
    dg.AssetCheckSpec(
        EVERY_CPU_ACCOUNTED, asset="cpu_analytics", description="Every CPU loaded was either written or reported in error."
    ),
]


def _rows_breaking(check_name: str, broken: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=check_name, passed=broken == 0, metadata={"rows_breaking_rule": broken})


def price_target_results(price_targets: pd.DataFrame) -> list[dg.AssetCheckResult]:
    return [
        _rows_breaking(TARGETS_ORDERED, invariants.unordered_targets(price_targets)),
        _rows_breaking(CONFIDENCE_MATCHES, invariants.confidence_mismatches(price_targets)),
    ]


def performance_results(performance: pd.DataFrame, error_rate: float, gate: ErrorRateGate) -> list[dg.AssetCheckResult]:
    in_error = int(performance["error"].notna().sum())
    severity = dg.AssetCheckSeverity.ERROR if error_rate > gate.fail_above else dg.AssetCheckSeverity.WARN
    gate_result = dg.AssetCheckResult(
        check_name=ERROR_RATE,
        passed=error_rate <= gate.warn_above,
        severity=severity,
        # The alert sensors read the rate and both thresholds as shares (0.04), the units of the run
        # config; an operator reads the percentage the command line prints (4.00%).
        metadata={
            "error_rate": error_rate,
            "error_rate_percent": percent(error_rate),
            "cpus_in_error": in_error,
            "cpus_total": len(performance),
            "warn_above": gate.warn_above,
            "fail_above": gate.fail_above,
        },
    )
    return [
        gate_result,
        _rows_breaking(PERCENTILE_IN_RANGE, invariants.percentiles_out_of_range(performance)),
        _rows_breaking(RATING_MATCHES, invariants.rating_mismatches(performance)),
    ]


def write_back_results(cpus_total: int, cpus_written: int, cpus_in_error: int) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=EVERY_CPU_ACCOUNTED,
            passed=cpus_written + cpus_in_error == cpus_total,
            metadata={"cpus_total": cpus_total, "cpus_written": cpus_written, "cpus_in_error": cpus_in_error},
        )
    ]
