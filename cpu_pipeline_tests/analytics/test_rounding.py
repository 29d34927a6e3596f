import numpy as np

from cpu_pipeline.analytics.rounding import round_floats


def test_floats_round_as_python_does_not_as_numpy():
    # 2.675 is stored as 2.67499999999999982236431605997495353221893310546875: Python rounds it down,
    # numpy scales by 100 first, lands on 267.5 and rounds to even, up.
    values = np.array([2.675, 0.125, 1.0005, np.nan])
    assert round_floats(values, 2)[:3].tolist() == [round(2.675, 2), round(0.125, 2), round(1.0005, 2)] == [2.67, 0.12, 1.0]
    assert np.round(2.675, 2) == 2.68
    assert np.isnan(round_floats(values, 2)[3])
