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


# Joins the words of a cell that must stay on one line: the UI's tables wrap at spaces, and a CPU
# name broken a word a line ("Intel / Core / i9-12900") reads badly.
NO_BREAK_SPACE = "\u00a0"


def markdown(frame: pd.DataFrame, *, caption: str | None = None, one_line: tuple[str, ...] = ("name",)) -> dg.MetadataValue:
    """A frame as a Markdown table (`_none_` when empty), with `caption` as a paragraph above it.

    A missing value (None, NaN) is an empty cell, never `nan`; text is shown as it is, never parsed as
    a number (a CPU named `1e3` is not shown as `1000`); a number as its shortest form to 15 digits
    (`2`, `352.8`); in the columns `one_line`, spaces are no-break spaces (`NO_BREAK_SPACE`), so the UI
    keeps a CPU name on one line. Written directly, a column at a time, then a row per line: the whole
    catalogue (thousands of CPUs) takes a few tens of milliseconds, where a table formatter's alignment
    took half a second.
    """
    above = [caption, ""] if caption else []
    if not len(frame):
        return dg.MetadataValue.md("\n".join([*above, "_none_"]))
    columns = [_cells(frame.iloc[:, position], frame.columns[position] in one_line) for position in range(frame.shape[1])]
    lines = [*above, _row(map(str, frame.columns)), "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += [_row(row) for row in zip(*columns)]
    return dg.MetadataValue.md("\n".join(lines))


def plain_text(markdown_text: str) -> str:
    """A `markdown` value as a terminal shows it: its no-break spaces back to spaces, so that a name
    copied from it is the name as stored."""
    return markdown_text.replace(NO_BREAK_SPACE, " ")


def _cells(values: pd.Series, one_line: bool = False) -> list[str]:
    cells = [_cell(value) for value in values.astype(object).where(values.notna(), None).tolist()]
    return [cell.replace(" ", NO_BREAK_SPACE) for cell in cells] if one_line else cells


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


def table(frame: pd.DataFrame, headers: Mapping[str, str], *, one_line: tuple[str, ...] = ("name",)) -> dg.MetadataValue:
    """A frame as Dagster's table value, which the UI lists inline on the asset's page: a record per
    row, each column under its short header from `headers` (`name` -> `name` where none is given), the
    schema's types and descriptions those of the full names (`column_schema`). A missing value is
    None (an empty cell); in the columns `one_line`, spaces are no-break spaces, as in `markdown`."""
    shown = [headers.get(name, name) for name in frame.columns]
    schema = column_schema(frame)
    columns = [
        dg.TableColumn(header, column.type, description=column.description)
        for header, column in zip(shown, schema.columns, strict=True)
    ]
    cells = [
        [_one_line(value) if name in one_line else value for value in frame[name].astype(object).where(frame[name].notna(), None)]
        for name in frame.columns
    ]
    records = [dg.TableRecord(dict(zip(shown, [_plain(value) for value in row], strict=True))) for row in zip(*cells)]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def _one_line(value):
    return value.replace(" ", NO_BREAK_SPACE) if isinstance(value, str) else value


def _plain(value):
    """A cell as the Python scalar a table record holds (numpy's integers and floats as int and float)."""
    return value.item() if hasattr(value, "item") else value


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
