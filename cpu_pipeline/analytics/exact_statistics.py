"""Each group's mean and sample standard deviation, exactly as Python's `statistics` gives them.

Deal Brain's task calls `statistics.mean` and `statistics.stdev` on the stored doubles of one CPU:
both are correctly rounded from exact sums, so neither the order nor the count of the prices leaves
a trace in the last bits. A float sum in numpy does (it rounds at every addition), and a target or a
$/mark next to a rounding boundary would then round to the other side, or two equal $/mark differ.

Here the sums are exact instead, for all groups at once: every double is an integer mantissa times
a power of two; the mantissas, split into 13-bit limbs, are summed per group and binade by
`numpy.bincount` (float64 sums of integers stay exact below 2**53), and the few per-group totals are
combined with Python's integers, exact at any size. Mean and standard deviation are then rounded
once, from the exact values, as `statistics` rounds them.
"""

import math

import numpy as np

LIMB_BITS = 13
LIMBS = 4  # 4 limbs of 13 bits hold a 53-bit mantissa
# The largest addend is a square's cross term, 2 * (l0 * l3 + l1 * l2) < 2**29 (l3 holds the top 14
# bits), so a bincount over up to 2**24 values stays below 2**53: exact. Inputs go in chunks of 2**18,
# which also bounds the memory of the temporaries (about 25 MB) however many values there are.
CHUNK = 2**18
# statistics' width for its correctly rounded square root of a fraction: 2 * 53 + 3 bits.
_SQRT_BITS = 2 * 53 + 3


def grouped_mean_stdev(group: np.ndarray, values: np.ndarray, group_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group: `statistics.mean` and `statistics.stdev` of its values, bit for bit.

    `group` (ints in [0, group_count)) and `values` (positive finite float64) have one entry per value.
    Returns two float64 arrays of length `group_count`: the mean (NaN for a group without values) and
    the sample standard deviation, divisor n - 1 (NaN for a group with fewer than two values).
    Raises ValueError when a value is not a positive finite number.
    """
    values = np.asarray(values, dtype="float64")
    if not (np.isfinite(values) & (values > 0)).all():
        raise ValueError("grouped_mean_stdev takes positive finite values only")
    mean, stdev = np.full(group_count, np.nan), np.full(group_count, np.nan)
    if not len(values):
        return mean, stdev
    group = np.asarray(group, dtype="int64")
    chunks = [slice(start, start + CHUNK) for start in range(0, len(values), CHUNK)]
    # Binades numbered densely: a catalogue's prices span a few dozen at most, so bins stay few.
    lowest_binade = int(np.frexp(values.min())[1])
    present = np.zeros(int(np.frexp(values.max())[1]) - lowest_binade + 1, dtype=bool)
    for chunk in chunks:
        present[np.frexp(values[chunk])[1] - lowest_binade] = True
    binade_number = np.cumsum(present) - 1
    binades = np.flatnonzero(present)  # each binade's exponent, above the lowest
    bin_count = group_count * len(binades)

    count = np.zeros(bin_count, dtype="int64")
    sums = np.zeros((LIMBS, bin_count), dtype="int64")
    squares = np.zeros((2 * LIMBS - 1, bin_count), dtype="int64")
    for chunk in chunks:
        mantissa, exponent = np.frexp(values[chunk])  # value = mantissa * 2**exponent, mantissa in [0.5, 1)
        at = group[chunk] * len(binades) + binade_number[exponent - lowest_binade]
        count += np.bincount(at, minlength=bin_count)
        _add_limb_totals(at, (mantissa * 2.0**53).astype("int64"), sums, squares)

    # Per bin, the exact sum and sum of squares of the mantissas, as Python integers (object arrays),
    # scaled to the lowest binade; then per group, bins being contiguous.
    used = np.flatnonzero(count)
    shift = binades[used % len(binades)].astype(object)
    bin_sum = _from_limbs(sums[:, used]) << shift
    bin_squares = _from_limbs(squares[:, used]) << 2 * shift
    groups, starts = np.unique(used // len(binades), return_index=True)
    n = np.add.reduceat(count[used], starts)
    sum_ = np.add.reduceat(bin_sum, starts)
    sum_of_squares = np.add.reduceat(bin_squares, starts)
    # Each value is its 53-bit integer mantissa times 2**(its binade's exponent - 53).
    lowest = lowest_binade - 53
    for at, size, total, total_of_squares in zip(groups.tolist(), n.tolist(), sum_, sum_of_squares):
        mean[at] = _ratio(total, size, lowest)
        if size >= 2:
            # n * sum of squared deviations from the exact mean = n * sum(x**2) - sum(x)**2, exactly.
            stdev[at] = _sqrt_of_ratio(size * total_of_squares - total * total, size * (size - 1), 2 * lowest)
    return mean, stdev


def _add_limb_totals(at: np.ndarray, mantissas: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> None:
    """Add to each bin `at` names the sum of each limb of its mantissas (`sums`, one row a limb) and
    the sum of each power-of-2**13 term of their squares (`squares`, terms 0..6)."""
    mask = (1 << LIMB_BITS) - 1
    limbs = [(mantissas >> (LIMB_BITS * i)) & mask for i in range(LIMBS - 1)]
    limbs.append(mantissas >> (LIMB_BITS * (LIMBS - 1)))
    for i, limb in enumerate(limbs):
        sums[i] += _exact_bincount(at, limb, sums.shape[1])
    for term in range(2 * LIMBS - 1):
        # (sum of l_i 2**13i)**2 = sum over terms k of 2**13k * (sum of l_i * l_j with i + j = k)
        products = sum(limbs[i] * limbs[term - i] for i in range(max(0, term - LIMBS + 1), min(term, LIMBS - 1) + 1))
        squares[term] += _exact_bincount(at, products, squares.shape[1])


def _exact_bincount(at: np.ndarray, weights: np.ndarray, bin_count: int) -> np.ndarray:
    return np.bincount(at, weights=weights.astype("float64"), minlength=bin_count).astype("int64")


def _from_limbs(limbs: np.ndarray) -> np.ndarray:
    """Python integers (an object array) from their int64 limbs of LIMB_BITS bits (first axis)."""
    return sum(limb.astype(object) << (LIMB_BITS * i) for i, limb in enumerate(limbs))


def _ratio(numerator: int, denominator: int, exponent: int) -> float:
    """numerator * 2**exponent / denominator, correctly rounded (Python's int division is)."""
    if exponent >= 0:
        return (numerator << exponent) / denominator
    return numerator / (denominator << -exponent)


def _sqrt_of_ratio(numerator: int, denominator: int, exponent: int) -> float:
    """The square root of numerator * 2**exponent / denominator (an even exponent), correctly
    rounded: `statistics.stdev`'s method (an integer square root rounded to odd, then one division)."""
    if exponent >= 0:
        numerator <<= exponent
    else:
        denominator <<= -exponent
    shift = (numerator.bit_length() - denominator.bit_length() - _SQRT_BITS) // 2
    if shift >= 0:
        return float(_isqrt_round_to_odd(numerator, denominator << 2 * shift) << shift)
    return _isqrt_round_to_odd(numerator << -2 * shift, denominator) / (1 << -shift)


def _isqrt_round_to_odd(numerator: int, denominator: int) -> int:
    root = math.isqrt(numerator // denominator)
    return root | (root * root * denominator != numerator)
