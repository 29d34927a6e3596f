"""Metadata as the Dagster UI shows it best."""

import dagster as dg
import pandas as pd

# How many rows a preview table shows (a list of errors, twice as many).
PREVIEW_ROWS = 10


def markdown(frame: pd.DataFrame) -> dg.MetadataValue:
    """A frame as a Markdown table (`_none_` when empty)."""
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "_none_")
