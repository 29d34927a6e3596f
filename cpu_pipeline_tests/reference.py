"""Deal Brain's CPU analytics recomputed one CPU at a time, exactly, from the rows as written.

Written from the rules in the README, independently of `cpu_pipeline.analytics`, as the oracle of
the property tests. Prices and means are Fractions and are rounded half to even on the exact
value; great / fair / stddev carry a square root, so their unrounded exact values are returned too
(the pipeline rounds them from a float, and may differ only right at a half-cent boundary).
"""

import math
import statistics
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction

MISSING = "missing"
INVALID = "invalid"
ERROR = "error"


def read_number(value):
    """A stored value as a Fraction, or MISSING (NULL), or INVALID (present but not a finite number)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING  # SQLite stores a float NaN as NULL
    # A float written here stands for the decimal it was generated from: its shortest repr.
    text = repr(value) if isinstance(value, float) else value
    try:
        number = Decimal(text)  # strips surrounding whitespace; reads 'NaN', 'inf', 'Infinity' as non-finite
    except (InvalidOperation, TypeError, ValueError):
        return INVALID
    return Fraction(number) if number.is_finite() else INVALID


def read_score(value):
    """A PassMark score: a positive Fraction, None when missing (NULL or 0), or INVALID."""
    number = read_number(value)
    if number is MISSING or number == 0:
        return None
    if number is INVALID or number < 0 or number.denominator != 1:
        return INVALID
    return number


def exact_sqrt(value: Fraction) -> Fraction:
    """The square root: exact when `value` is the square of a rational (only then can it sit exactly
    on a rounding tie), else correct to 60 significant digits."""
    top, bottom = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if top * top == value.numerator and bottom * bottom == value.denominator:
        return Fraction(top, bottom)
    with localcontext(prec=60):
        return Fraction((Decimal(value.numerator) / Decimal(value.denominator)).sqrt())


def confidence(n: int) -> str:
    return "high" if n >= 10 else "medium" if n >= 5 else "low" if n >= 2 else "insufficient"


def rating(percentile: Fraction) -> str:
    return "excellent" if percentile <= 25 else "good" if percentile <= 50 else "fair" if percentile <= 75 else "poor"


@dataclass
class Expected:
    """One CPU's 10 written analytics values (floats, as they are stored), and the exact unrounded
    great / fair / stddev."""

    values: dict
    unrounded: dict = field(default_factory=dict)


def reference(cpus: list[dict], listings: list[dict]) -> dict[int, Expected | str]:
    """Per CPU id: ERROR, or what the pipeline must write into its analytics columns."""
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
    peer_ratios = [statistics.mean(prices[i]) / scores[i][0]
                   for i in prices if i not in in_error and scores[i][0] is not None and prices[i]]

    expected = {}
    for cpu_id, p in prices.items():
        if cpu_id in in_error:
            expected[cpu_id] = ERROR
            continue
        values = dict.fromkeys(["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev",
                                "dollar_per_mark_single", "dollar_per_mark_multi",
                                "performance_value_percentile", "performance_value_rating"])
        values.update(price_target_sample_size=len(p), price_target_confidence=confidence(len(p)))
        unrounded = {}
        if len(p) >= 2:
            mean, sd = statistics.mean(p), exact_sqrt(statistics.variance(p))
            values["price_target_good"] = float(round(mean, 2))
            unrounded = {"price_target_great": max(mean - sd, Fraction(0)),
                         "price_target_fair": mean + sd, "price_target_stddev": sd}
            values.update({column: float(round(value, 2)) for column, value in unrounded.items()})
        multi, single = scores[cpu_id]
        if multi is not None and single is not None and p:
            average = statistics.mean(p)
            percentile = Fraction(100 * sum(ratio < average / multi for ratio in peer_ratios), len(peer_ratios))
            values.update(dollar_per_mark_single=float(round(average / single, 4)),
                          dollar_per_mark_multi=float(round(average / multi, 4)),
                          performance_value_percentile=float(round(percentile, 1)),
                          performance_value_rating=rating(percentile))
        expected[cpu_id] = Expected(values, unrounded)
    return expected
