import numpy as np
import pandas as pd

from cpu_pipeline.analytics import invariants


def _targets(**overrides) -> pd.DataFrame:
    row = {
        "sample_size": 3,
        "price_target_great": 90.0,
        "price_target_good": 100.0,
        "price_target_fair": 110.0,
        "price_target_stddev": 10.0,
        "price_target_confidence": "low",
    }
    return pd.DataFrame([row, {**row, **overrides}])


def test_well_formed_targets_break_no_rule():
    assert invariants.unordered_targets(_targets()) == 0
    assert invariants.confidence_mismatches(_targets()) == 0


def test_each_broken_ordering_is_counted():
    assert invariants.unordered_targets(_targets(price_target_great=101.0)) == 1
    assert invariants.unordered_targets(_targets(price_target_great=-1.0)) == 1
    assert invariants.unordered_targets(_targets(price_target_fair=np.inf)) == 1
    assert invariants.unordered_targets(_targets(sample_size=1, price_target_confidence="insufficient")) == 1


def test_a_confidence_that_does_not_follow_from_the_sample_size_is_counted():
    assert invariants.confidence_mismatches(_targets(price_target_confidence="high")) == 1


def test_percentiles_and_ratings_are_checked_against_the_unrounded_percentile():
    performance = pd.DataFrame(
        {"percentile_unrounded": [0.0, 25.5, 100.0, np.nan], "performance_value_rating": ["excellent", "excellent", "poor", None]}
    )
    assert invariants.percentiles_out_of_range(performance) == 1
    assert invariants.rating_mismatches(performance) == 1
