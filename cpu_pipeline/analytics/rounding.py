"""Rounding as Deal Brain's task does it: Python's `round()` on floats.

`round(x, digits)` rounds the exact binary value of the float, half to even; numpy's `round`
scales by a power of ten first, which can land a value on the other side of a boundary.
"""

import numpy as np


def round_floats(values: np.ndarray, digits: int) -> np.ndarray:
    """round(value, digits) for each float, as Python computes it; NaN stays NaN."""
    return np.array(
        [round(value, digits) if value == value else np.nan for value in np.asarray(values).tolist()], dtype="float64"
    )
