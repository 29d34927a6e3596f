"""Reading loosely typed values, and the per-CPU errors they cause.

A loosely typed store (SQLite) lets text into numeric columns, and PostgreSQL's double precision
(and numeric) columns hold 'NaN' and infinities. Text that reads as a finite number counts as that
number; anything else that is present but not a finite number is invalid. Missing data (NULL) is
never an error.
"""

import numpy as np
import pandas as pd

SCORE_COLUMNS = ("cpu_mark_multi", "cpu_mark_single")


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The values as floats (NaN where missing or invalid), and a mask of the invalid ones.

    In a float column NaN can only mean NULL: SQLite stores NaN as NULL, and the PostgreSQL loader
    keeps a stored NaN or infinity as its text, which makes the column an object column. Text is
    read as Python's `float` reads it, correctly rounded (pandas' own parser can be an ulp off).
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.astype("float64")
        invalid = pd.Series(np.isinf(values.to_numpy()), index=raw.index)
        return values.where(~invalid), invalid
    missing = raw.isna()
    values = pd.Series([_read_float(value) for value in raw.tolist()], index=raw.index, dtype="float64")
    invalid = ~missing & ~np.isfinite(values)
    return values.where(~invalid), invalid


def _read_float(value) -> float:
    """A stored value as a float; NaN when it does not read as a number."""
    if isinstance(value, str) and "_" in value:
        return np.nan  # float() accepts digit separators ("1_000"); a stored number never has them
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def as_stored(value) -> str:
    """A stored value as an error message shows it: a number written plainly (`-1000.0`, never numpy's
    `np.float64(-1000.0)`), text in quotes (`'fast'`), so that text that looks like a number is told apart."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def parse_scores(cpus: pd.DataFrame) -> pd.DataFrame:
    """Per CPU (indexed like `cpus`): both scores as floats (NaN when missing) and `score_error`.

    A score is invalid when present and not a whole, finite, non-negative number; zero and NULL
    are missing data, not errors.
    """
    parsed = pd.DataFrame(index=cpus.index)
    reasons = pd.Series([[] for _ in range(len(cpus))], index=cpus.index, dtype=object)
    for column in SCORE_COLUMNS:
        values, invalid = parse_numbers(cpus[column])
        invalid |= values.notna() & ((values < 0) | (values % 1 != 0))
        for index in invalid[invalid].index:
            reasons[index].append(f"{column} is not a whole non-negative number: {as_stored(cpus.at[index, column])}")
        parsed[column] = values.where(~invalid)
    parsed["score_error"] = reasons.map(lambda found: "; ".join(found) or None)
    return parsed
