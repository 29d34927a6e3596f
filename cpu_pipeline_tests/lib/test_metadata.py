import numpy as np
import pandas as pd

from cpu_pipeline.lib.metadata import markdown


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
