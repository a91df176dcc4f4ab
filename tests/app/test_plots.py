"""Helpers of ``app.plots`` checked against what they promise."""

import math

import pytest

from app import plots


@pytest.mark.parametrize("values, decades", [
    ([3e-5, 20.0], (1e-5, 1e2)),
    ([1.0, 1.0], (1.0, 10.0)),                 # one value: a whole decade above it
    ([0.0, 0.5, float("nan"), float("inf")], (1e-16, 1.0)),  # zero at the floor; non-finite ignored
    ([], (1e-16, 1.0)),
    ([7e-12, 9.9e-3], (1e-12, 1e-2)),
])
def test_log_decades_are_the_whole_decades_around_the_data(values, decades):
    lo, hi = plots.log_decades(values)
    assert (lo, hi) == pytest.approx(decades, rel=1e-12)
    finite = [v for v in values if math.isfinite(v)]
    assert all(lo <= max(v, 1e-16) <= hi for v in finite)
