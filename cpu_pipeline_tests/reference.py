"""Deal Brain's CPU analytics recomputed one CPU at a time, from the rows as written.

Written from Deal Brain's own task (`CPUAnalyticsService.calculate_price_targets` and
`calculate_performance_value`) and docs/rules.md, independently of `cpu_pipeline.analytics`, as the
oracle of the property tests: the stored doubles go into Python's `statistics.mean` and
`statistics.stdev`, and the results through Python's `round()`, exactly as the task does; the
percentile is `(better / peers) * 100` in floats. What the task lacks, the pipeline's notion of a
CPU in error, follows docs/rules.md ("Errors and the gate").
"""

import math
import statistics

MISSING = "missing"
INVALID = "invalid"
ERROR = "error"


def read_number(value):
    """A stored value as a float, or MISSING (NULL), or INVALID (present but not a finite number)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING  # SQLite stores a float NaN as NULL
    if isinstance(value, str) and "_" in value:
        return INVALID  # float() would accept the digit separator
    try:
        number = float(value)  # text as the store reads it: surrounding whitespace ignored, correctly rounded
    except (TypeError, ValueError):
        return INVALID
    return number if math.isfinite(number) else INVALID


def read_score(value):
    """A PassMark score: a positive whole float, None when missing (NULL or 0), or INVALID."""
    number = read_number(value)
    if number is MISSING or number == 0:
        return None
    if number is INVALID or number < 0 or number % 1 != 0:
        return INVALID
    return number


def confidence(n: int) -> str:
    return "high" if n >= 10 else "medium" if n >= 5 else "low" if n >= 2 else "insufficient"


def rating(percentile: float) -> str:
    return "excellent" if percentile <= 25 else "good" if percentile <= 50 else "fair" if percentile <= 75 else "poor"


def reference(cpus: list[dict], listings: list[dict]) -> dict[int, dict | str]:
    """Per CPU id: ERROR, or the 10 values the pipeline must write into its analytics columns."""
    prices = {cpu["id"]: [] for cpu in cpus}
    in_error = set()
    for listing in listings:
        cpu_id = listing.get("cpu_id")
        if listing["status"] != "active" or cpu_id not in prices:
            continue
        price = read_number(listing.get("adjusted_price_usd"))
        if price is INVALID:
            in_error.add(cpu_id)
        elif price is not MISSING and price > 0:
            prices[cpu_id].append(price)

    scores = {}
    for cpu in cpus:
        multi, single = read_score(cpu.get("cpu_mark_multi")), read_score(cpu.get("cpu_mark_single"))
        if INVALID in (multi, single):
            in_error.add(cpu["id"])
        scores[cpu["id"]] = multi, single

    # Peers: CPUs not in error with a multi-thread score and at least one price (single not needed).
    peer_ratios = [
        statistics.mean(prices[i]) / scores[i][0] for i in prices if i not in in_error and scores[i][0] is not None and prices[i]
    ]

    expected = {}
    for cpu_id, p in prices.items():
        if cpu_id in in_error:
            expected[cpu_id] = ERROR
            continue
        values = dict.fromkeys(
            [
                "price_target_good",
                "price_target_great",
                "price_target_fair",
                "price_target_stddev",
                "dollar_per_mark_single",
                "dollar_per_mark_multi",
                "performance_value_percentile",
                "performance_value_rating",
            ]
        )
        values.update(price_target_sample_size=len(p), price_target_confidence=confidence(len(p)))
        if len(p) >= 2:
            mean, sd = statistics.mean(p), statistics.stdev(p)
            values.update(
                price_target_good=round(mean, 2),
                price_target_great=round(max(mean - sd, 0.0), 2),
                price_target_fair=round(mean + sd, 2),
                price_target_stddev=round(sd, 2),
            )
        multi, single = scores[cpu_id]
        if multi is not None and single is not None and p:
            average = statistics.mean(p)
            ratio = average / multi
            percentile = (sum(peer < ratio for peer in peer_ratios) / len(peer_ratios)) * 100
            values.update(
                dollar_per_mark_single=round(average / single, 4),
                dollar_per_mark_multi=round(ratio, 4),
                performance_value_percentile=round(percentile, 1),
                performance_value_rating=rating(percentile),
            )
        expected[cpu_id] = values
    return expected
