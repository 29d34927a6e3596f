"""Metadata as the Dagster UI shows it best: Markdown tables, column schemas, percentages."""

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from cpu_pipeline.column_descriptions import COLUMN_DESCRIPTIONS

# How many rows a preview table shows (a list of errors, twice as many).
PREVIEW_ROWS = 10
# The database table an asset is (Dagster's TableMetadataSet, which dagster 1.13 does not export).
TABLE_NAME = "dagster/table_name"

# pandas' inferred kind of a column's values -> the type the UI's column schema shows.
_COLUMN_TYPES = {
    "integer": "integer",
    "floating": "float",
    "mixed-integer-float": "float",
    "decimal": "float",
    "boolean": "boolean",
    "string": "text",
    "date": "date",
    "datetime": "timestamp",
    "datetime64": "timestamp",
}
_TYPES_OF_DTYPE_KINDS = {"i": "integer", "u": "integer", "f": "float", "b": "boolean", "M": "timestamp"}


def markdown(frame: pd.DataFrame) -> dg.MetadataValue:
    """A frame as a Markdown table (`_none_` when empty).

    A missing value (None, NaN) is an empty cell, never `nan`; text is shown as it is, never parsed as
    a number (a CPU named `1e3` is not shown as `1000`); a number as its shortest form to 15 digits
    (`2`, `352.8`). Written directly, a column at a time, then a row per line: the whole catalogue
    (thousands of CPUs) takes a few tens of milliseconds, where a table formatter's alignment took half
    a second.
    """
    if not len(frame):
        return dg.MetadataValue.md("_none_")
    columns = [_cells(frame.iloc[:, position]) for position in range(frame.shape[1])]
    lines = [_row(map(str, frame.columns)), "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += [_row(row) for row in zip(*columns)]
    return dg.MetadataValue.md("\n".join(lines))


def _cells(values: pd.Series) -> list[str]:
    return [_cell(value) for value in values.astype(object).where(values.notna(), None).tolist()]


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value).replace("|", "\\|").replace("\n", " ")


def column_schema(frame: pd.DataFrame, descriptions: Mapping[str, str] = COLUMN_DESCRIPTIONS) -> dg.TableSchema:
    """The frame's columns for `dagster/column_schema`: each one's name, the type of its values
    (`integer`, `float`, `boolean`, `text`, `date`, `timestamp`, or pandas' own word for a mix, such
    as `mixed` for a loosely typed SQLite column) and its description from `descriptions`."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name, _column_type(frame[name]), description=descriptions.get(name)) for name in frame.columns]
    )


def _column_type(values: pd.Series) -> str:
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "empty":  # every value missing: the dtype is all there is to say
        return _TYPES_OF_DTYPE_KINDS.get(values.dtype.kind, "text")
    return _COLUMN_TYPES.get(inferred, inferred)


def percent(share: float) -> float:
    """A share (0.04) as the percentage the command line prints (4.0 for 4.00%), to two decimals."""
    return round(share * 100, 2)


def table_metadata(frame: pd.DataFrame, table_name: str | None = None) -> dict:
    """Dagster's table metadata for a table-like value: `dagster/column_schema`, `dagster/row_count`
    and, for an asset that writes a database table, `dagster/table_name`."""
    named = {TABLE_NAME: table_name} if table_name else {}
    return {"dagster/column_schema": column_schema(frame), "dagster/row_count": len(frame), **named}
