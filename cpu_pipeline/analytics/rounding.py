"""Rounding as Python's `round()` does: half to even, on the exact value.

Means and ratios of prices in whole cents are rational, so they are rounded exactly from their
numerator and denominator; a value at exactly half a cent is a true tie there, not an accident of
binary floating point. Values with a square root in them (the targets built from the standard
deviation) are irrational and are rounded from their float.
"""

from fractions import Fraction

import numpy as np


def round_ratio(numerators: np.ndarray, denominators: np.ndarray, digits: int) -> np.ndarray:
    """round(numerator / denominator, digits) exactly; NaN where either is NaN or the denominator is 0."""
    return np.array(
        [
            float(round(Fraction(int(top), int(bottom)), digits)) if top == top and bottom == bottom and bottom else np.nan
            for top, bottom in zip(np.asarray(numerators, dtype="float64").tolist(), np.asarray(denominators, dtype="float64").tolist())
        ],
        dtype="float64",
    )


def round_floats(values: np.ndarray, digits: int) -> np.ndarray:
    """round(value, digits) on Python floats (numpy's own rounding scales first and can differ)."""
    return np.array([round(value, digits) if value == value else np.nan for value in values.tolist()], dtype="float64")
