"""Metadata as the Dagster UI shows it best."""

import dagster as dg
import pandas as pd

# How many rows a preview table shows (a list of errors, twice as many).
PREVIEW_ROWS = 10


def markdown(frame: pd.DataFrame) -> dg.MetadataValue:
    """A frame as a Markdown table (`_none_` when empty).

    A missing value (None, NaN) is an empty cell, never `nan`; text is shown as it is, never parsed as
    a number (a CPU named `1e3` is not shown as `1000`).
    """
    if not len(frame):
        return dg.MetadataValue.md("_none_")
    text_columns = [i for i, column in enumerate(frame.columns) if not pd.api.types.is_numeric_dtype(frame[column])]
    cells = frame.astype(object).where(frame.notna(), None)  # tabulate's `missingval` replaces None only
    return dg.MetadataValue.md(cells.to_markdown(index=False, missingval="", disable_numparse=text_columns))
