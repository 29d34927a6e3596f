import numpy as np
import pandas as pd

from cpu_pipeline.column_descriptions import COLUMN_DESCRIPTIONS
from cpu_pipeline.lib.metadata import markdown, plain_text, table


def _cells(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in table.splitlines()[2:]]


def test_a_missing_value_is_an_empty_cell_and_text_is_never_read_as_a_number():
    frame = pd.DataFrame(
        {
            "name": ["", None, "1e3", "5600"],
            "good_change_30d_pct": [-1.5, np.nan, 2.0, 0.25],
            "rating": ["good", None, "fair", "poor"],
        }
    )
    assert _cells(markdown(frame).value) == [
        ["", "-1.5", "good"],
        ["", "", ""],
        ["1e3", "2", "fair"],
        ["5600", "0.25", "poor"],
    ]


def test_an_empty_frame_says_none():
    assert markdown(pd.DataFrame({"name": []})).value == "_none_"


def test_a_name_stays_on_one_line_and_a_caption_goes_above_the_table():
    frame = pd.DataFrame({"name": ["Intel Core i5-8500"], "reason": ["a price is not a number"]})
    table = markdown(frame, caption="Ranked by value.").value
    assert table.splitlines() == [
        "Ranked by value.",
        "",
        "| name | reason |",
        "|---|---|",
        "| Intel\u00a0Core\u00a0i5-8500 | a price is not a number |",  # only the name's spaces are joined
    ]
    assert plain_text(table).splitlines()[-1] == "| Intel Core i5-8500 | a price is not a number |"
    assert markdown(frame.head(0), caption="Ranked by value.").value == "Ranked by value.\n\n_none_"


def test_a_table_value_shows_short_headers_described_by_the_full_names():
    frame = pd.DataFrame({"name": ["AMD Ryzen 5 5600"], "price_target_good": [352.8], "price_target_sample_size": [np.int64(7)]})
    frame.loc[1] = ["Intel N100", np.nan, 0]
    value = table(frame, {"price_target_good": "good", "price_target_sample_size": "n"})
    assert [(column.name, column.type) for column in value.schema.columns] == [
        ("name", "text"),
        ("good", "float"),
        ("n", "integer"),
    ]
    assert [column.description for column in value.schema.columns] == [
        COLUMN_DESCRIPTIONS[name] for name in ("name", "price_target_good", "price_target_sample_size")
    ]
    assert [record.data for record in value.records] == [
        {"name": "AMD\u00a0Ryzen\u00a05\u00a05600", "good": 352.8, "n": 7},
        {"name": "Intel\u00a0N100", "good": None, "n": 0},
    ]
    assert all(type(record.data["n"]) is int for record in value.records)  # numpy's int64 is no record value
