"""``scalar.nearest_critical_set`` — which critical set a solver run reached — checked against
hand-made sets, and ``scalar.samples`` — mini-batch data whose full batch is the drawn landscape."""

import math

import numpy as np
import pytest

from lae_core import scalar
from lae_core.scalar import CriticalSet


def hand_made(shape, points, label, type_="minimum"):
    points = np.asarray(points, dtype=float)
    return CriticalSet(shape=shape, points=points, loss=0.0, type=type_, index=0,
                       degenerate=shape == "curve", eigenvalues=np.zeros((len(points), 2)), label=label)


ORIGIN = hand_made("point", [[0.0, 0.0]], "origin", "saddle")
RIGHT = hand_made("point", [[3.0, 0.0]], "(3, 0)")
# a vertical curve sampled at its two ends only: its middle is far from every sample
WALL = hand_made("curve", [[1.0, -2.0], [1.0, 2.0]], "wall w₁ = 1")


def test_a_point_on_a_curve_between_two_samples_is_at_distance_zero():
    s, d = scalar.nearest_critical_set([ORIGIN, WALL, RIGHT], (1.0, 0.3))
    assert s is WALL and d == pytest.approx(0.0, abs=1e-15)


def test_distance_to_a_curve_is_to_its_segments_not_its_samples():
    s, d = scalar.nearest_critical_set([WALL], (1.5, 0.0))
    assert s is WALL and d == pytest.approx(0.5)  # the nearest sample is √(0.25 + 4) away


def test_beyond_a_sampled_curve_the_distance_is_to_its_end():
    s, d = scalar.nearest_critical_set([WALL], (1.0, 5.0))
    assert d == pytest.approx(3.0)


def test_point_sets_are_compared_by_euclidean_distance():
    s, d = scalar.nearest_critical_set([ORIGIN, RIGHT], (2.6, 0.3))
    assert s is RIGHT and d == pytest.approx(math.hypot(0.4, 0.3))


def test_ties_go_to_the_first_set_in_the_list():
    s, d = scalar.nearest_critical_set([ORIGIN, RIGHT], (1.5, 0.0))
    assert s is ORIGIN and d == pytest.approx(1.5)


def test_no_sets_gives_none_at_infinite_distance():
    assert scalar.nearest_critical_set([], (0.2, 0.1)) == (None, math.inf)


def test_the_sum_loss_minimum_is_found_among_the_computed_sets():
    w = math.sqrt(1 - 0.5)
    s, d = scalar.nearest_critical_set(scalar.critical_sets("sum", 1.0, 0.5), (w, w))
    assert s.type == "minimum" and d < 1e-12


def test_a_point_on_the_unregularized_hyperbola_reaches_it_within_the_chord_error():
    # w₁w₂ = 1 at w₁ = 1.2345: between samples of the sampled branch
    s, d = scalar.nearest_critical_set(scalar.critical_sets("unregularized", 1.0, 0.0), (1.2345, 1 / 1.2345))
    assert s.shape == "curve" and "w₁ > 0" in s.label and d < 1e-3


@pytest.mark.parametrize("point", [(1.0,), (1.0, 2.0, 3.0), (np.nan, 0.0), (np.inf, 1.0), "ab"])
def test_a_point_that_is_not_two_finite_numbers_is_refused(point):
    with pytest.raises(ValueError, match="point"):
        scalar.nearest_critical_set([ORIGIN], point)


# --------------------------------------------------------------------------- samples

@pytest.mark.parametrize("values", [[1.3], [0.8, 0.5], [0.7, 0.7], [0.0, 1.0], [-2.0]])
@pytest.mark.parametrize("n", [3, 20, 200])
def test_samples_have_exactly_the_requested_scatter_and_zero_mean(values, n):
    X = scalar.samples(values, n, seed=3)
    assert X.shape == (len(values), n)
    np.testing.assert_allclose(X @ X.T, np.diag(np.square(values)), atol=1e-12)
    np.testing.assert_allclose(X.sum(axis=1), 0.0, atol=1e-12)


def test_scalar_samples_square_sum_to_x_squared_so_the_full_batch_loss_is_the_scalar_loss():
    x, lam, w1, w2 = 1.3, 0.4, 0.7, -0.2
    X = scalar.samples([x], 25, seed=1)[0]
    # the paper's loss for data x₁ … xₙ: Σᵢ (xᵢ − w₂w₁xᵢ)² + λ(w₁² + w₂²)
    full_batch = np.sum((X - w2 * w1 * X) ** 2) + lam * (w1 ** 2 + w2 ** 2)
    assert full_batch == pytest.approx(float(scalar.loss("sum", w1, w2, x, lam)), rel=1e-12)


def test_samples_depend_on_the_seed_and_only_on_it():
    a, b, c = (scalar.samples([1.0], 10, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("args, name", [(([], 5), "values"), (([[1.0]], 5), "values"),
                                        (([np.nan], 5), "values"), (([1.0], 1), "n"),
                                        (([1.0, 2.0], 2), "n"), (([1.0], 2.5), "n")])
def test_samples_refuse_bad_arguments_naming_them(args, name):
    with pytest.raises(ValueError, match=name):
        scalar.samples(*args)


def test_samples_refuse_a_negative_seed():
    with pytest.raises(ValueError, match="seed"):
        scalar.samples([1.0], 5, seed=-1)
