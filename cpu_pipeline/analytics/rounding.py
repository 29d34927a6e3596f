"""Rounding as Python's `round()` does: half to even, on the exact value.

Means and ratios of prices in whole cents are rational, so they are rounded exactly from their
integer numerator and denominator; a value at exactly half a cent is a true tie there, not an
accident of binary floating point. Values with a square root in them (the targets built from the
standard deviation) are irrational and are rounded from their float.
"""

import numpy as np

# Above this a scaled numerator could overflow int64: such values are rounded with Python's integers.
_INT64_SAFE = 2**62


def round_ratio(numerators: np.ndarray, denominators: np.ndarray, digits: int) -> np.ndarray:
    """round(numerator / denominator, digits) exactly, for whole non-negative numerators and positive
    denominators; NaN where either is NaN or the denominator is 0."""
    numerators = np.asarray(numerators, dtype="float64")
    denominators = np.asarray(denominators, dtype="float64")
    rounded = np.full(numerators.shape, np.nan)
    valid = ~np.isnan(numerators) & ~np.isnan(denominators) & (denominators != 0)
    scale = 10**digits
    top, bottom = numerators[valid], denominators[valid]
    if len(top) and max(top.max() * scale, bottom.max()) >= _INT64_SAFE:
        # Python integers: exact at any size.
        top = np.array([int(value) for value in top], dtype=object)
        bottom = np.array([int(value) for value in bottom], dtype=object)
    else:
        top, bottom = top.astype("int64"), bottom.astype("int64")
    scaled = top * scale
    quotient, remainder = scaled // bottom, scaled % bottom
    quotient = quotient + ((2 * remainder > bottom) | ((2 * remainder == bottom) & (quotient % 2 == 1)))
    rounded[valid] = [int(value) / scale for value in quotient] if quotient.dtype == object else quotient / scale
    return rounded


def round_floats(values: np.ndarray, digits: int) -> np.ndarray:
    """round(value, digits) on Python floats (numpy's own rounding scales first and can differ)."""
    return np.array([round(value, digits) if value == value else np.nan for value in values.tolist()], dtype="float64")
