import numpy as np
import pandas as pd

from cpu_pipeline.analytics.validation import parse_numbers, parse_scores


def test_text_that_reads_as_a_finite_number_is_that_number():
    values, invalid = parse_numbers(pd.Series(["300", " 12.50 ", 7, 1.5, None], dtype=object))
    assert values.tolist()[:4] == [300.0, 12.5, 7.0, 1.5] and np.isnan(values.iloc[4])
    assert not invalid.any()


def test_present_values_that_are_not_finite_numbers_are_invalid():
    values, invalid = parse_numbers(pd.Series(["abc", "NaN", "inf", "-Infinity", "", float("inf")], dtype=object))
    assert invalid.all()
    assert values.isna().all()  # an invalid value never passes on as a number


def test_in_a_float_column_nan_is_null_and_infinity_invalid():
    values, invalid = parse_numbers(pd.Series([1.0, np.nan, np.inf]))
    assert invalid.tolist() == [False, False, True]
    assert values.iloc[0] == 1.0 and values.iloc[1:].isna().all()


def test_scores_must_be_whole_non_negative_numbers_and_missing_is_no_error():
    cpus = pd.DataFrame(
        {
            "cpu_mark_multi": pd.Series([1000, "2000", None, 0, -5, "12.5", "fast"], dtype=object),
            "cpu_mark_single": pd.Series([100, 200, 300, 400, 500, 600, None], dtype=object),
        }
    )
    scores = parse_scores(cpus)
    assert scores["score_error"].isna().tolist() == [True, True, True, True, False, False, False]
    assert scores["cpu_mark_multi"].tolist()[:2] == [1000.0, 2000.0]
    assert "cpu_mark_multi" in scores.loc[4, "score_error"] and "-5" in scores.loc[4, "score_error"]
    assert "'fast'" in scores.loc[6, "score_error"]
