"""The scalar LAE (m = k = 1) and the reference page's two-weight modes, checked against the
paper's closed forms (DESIGN.md), finite differences and direct matrix arithmetic."""

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lae_core import scalar

KINDS = scalar.LOSSES
finite = st.floats(-3, 3, allow_nan=False)
positive = st.floats(0.1, 3, allow_nan=False)
lams = st.floats(0, 3, allow_nan=False)


def fd_gradient(f, w1, w2, h=1e-6):
    return ((f(w1 + h, w2) - f(w1 - h, w2)) / (2 * h), (f(w1, w2 + h) - f(w1, w2 - h)) / (2 * h))


def fd_hessian(g, w1, w2, h=1e-6):
    """Columns are central differences of the gradient along w1 and w2."""
    a1, a2 = g(w1 + h, w2)
    b1, b2 = g(w1 - h, w2)
    c1, c2 = g(w1, w2 + h)
    d1, d2 = g(w1, w2 - h)
    return np.array([[(a1 - b1) / (2 * h), (c1 - d1) / (2 * h)], [(a2 - b2) / (2 * h), (c2 - d2) / (2 * h)]])


def probe(f, point, radius=1e-2, n=720):
    """Loss on a circle around ``point`` minus the loss at the point."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return f(point[0] + radius * np.cos(t), point[1] + radius * np.sin(t)) - f(*point)


# ---------------------------------------------------------------- the formulas themselves

def test_loss_matches_the_paper_formulas_at_hand_computed_values():
    # x = 2, λ = 0.5, (w1, w2) = (1, 0.25): p = 0.25, x²(1 − p)² = 4·0.5625 = 2.25
    assert scalar.loss("unregularized", 1.0, 0.25, 2.0, 0.5) == pytest.approx(2.25)
    assert scalar.loss("product", 1.0, 0.25, 2.0, 0.5) == pytest.approx(2.25 + 0.5 * 0.0625)
    assert scalar.loss("sum", 1.0, 0.25, 2.0, 0.5) == pytest.approx(2.25 + 0.5 * (1 + 0.0625))
    # α = 3: product λ|p|³, sum λ(|w1|³ + |w2|³)
    assert scalar.loss("product", -1.0, 0.25, 2.0, 0.5, alpha=3) == pytest.approx(4 * 1.25**2 + 0.5 * 0.25**3)
    assert scalar.loss("sum", -1.0, 0.25, 2.0, 0.5, alpha=3) == pytest.approx(4 * 1.25**2 + 0.5 * (1 + 0.25**3))


def test_loss_broadcasts_a_grid_from_two_vectors():
    w = np.linspace(-2, 2, 7)
    z = scalar.loss("sum", w[None, :], w[:, None], 1.0, 0.3)
    assert z.shape == (7, 7)
    assert z[2, 5] == pytest.approx(float(scalar.loss("sum", w[5], w[2], 1.0, 0.3)))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KINDS), finite, finite, finite, lams, st.sampled_from([2.0, 2.5, 3.0, 4.0]))
def test_gradient_matches_finite_differences(kind, w1, w2, x, lam, alpha):
    g = scalar.gradient(kind, w1, w2, x, lam, alpha=alpha)
    fd = fd_gradient(lambda a, b: scalar.loss(kind, a, b, x, lam, alpha=alpha), w1, w2)
    scale = 1 + abs(float(scalar.loss(kind, w1, w2, x, lam, alpha=alpha)))
    assert np.allclose(g, fd, atol=1e-5 * scale * 10)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KINDS), finite, finite, finite, lams)
def test_hessian_matches_finite_differences_of_the_gradient(kind, w1, w2, x, lam):
    H = scalar.hessian(kind, w1, w2, x, lam)
    fd = fd_hessian(lambda a, b: scalar.gradient(kind, a, b, x, lam), w1, w2)
    assert H.shape == (2, 2)
    assert np.allclose(H, fd, atol=1e-5 * (1 + np.abs(H).max()))
    assert np.allclose(H, H.T)


def test_hessian_is_vectorised_over_arrays():
    w1 = np.linspace(-1, 1, 5)
    H = scalar.hessian("product", w1, 0.5, 1.2, 0.4)
    assert H.shape == (5, 2, 2)
    assert np.allclose(H[3], scalar.hessian("product", w1[3], 0.5, 1.2, 0.4))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KINDS), finite, finite, finite, finite, lams)
def test_prediction_loss_gradient_and_hessian_match_finite_differences(kind, w1, w2, x, y, lam):
    f = lambda a, b: scalar.prediction_loss(kind, a, b, x, y, lam)  # noqa: E731
    g = scalar.prediction_gradient(kind, w1, w2, x, y, lam)
    assert np.allclose(g, fd_gradient(f, w1, w2), atol=1e-4 * (1 + abs(float(f(w1, w2)))))
    H = scalar.prediction_hessian(kind, w1, w2, x, y, lam)
    fd = fd_hessian(lambda a, b: scalar.prediction_gradient(kind, a, b, x, y, lam), w1, w2)
    assert np.allclose(H, fd, atol=1e-5 * (1 + np.abs(H).max()))


def test_prediction_loss_is_the_low_rank_formula():
    # (y − w2·w1·x)² with x = 2, y = 3, w1 = 0.5, w2 = 1: (3 − 1)² = 4
    assert scalar.prediction_loss("unregularized", 0.5, 1.0, 2.0, 3.0, 0.7) == pytest.approx(4.0)
    assert scalar.prediction_loss("sum", 0.5, 1.0, 2.0, 3.0, 0.7) == pytest.approx(4.0 + 0.7 * 1.25)


# ---------------------------------------------------------------- critical sets of the paper

def by_label(sets):
    return {s.label: s for s in sets}


@pytest.mark.parametrize("x, lam", [(1.0, 0.5), (2.0, 1.0), (-1.5, 2.0), (0.7, 0.1)])
def test_sum_loss_critical_points_are_the_origin_and_plus_minus_root_of_one_minus_lambda_over_x2(x, lam):
    sets = scalar.critical_sets("sum", x, lam)
    origin = sets[0]
    assert origin.label == "origin" and np.allclose(origin.points, 0)
    w = np.sqrt(1 - lam / x**2)  # DESIGN.md: w1 = w2 = ±√(1 − λ/x²)
    others = sorted((tuple(s.points[0]) for s in sets[1:]))
    assert np.allclose(others, [(-w, -w), (w, w)])
    for s in sets[1:]:
        assert s.type == "minimum" and s.index == 0 and not s.degenerate
        assert s.loss == pytest.approx(x**2 * (1 - w * w) ** 2 + 2 * lam * w * w)
    # the origin's Hessian is [[2λ, −2x²], [−2x², 2λ]]: eigenvalues 2λ ± 2x², one negative
    assert origin.type == "saddle" and origin.index == 1
    assert np.allclose(origin.eigenvalues[0], sorted([2 * lam - 2 * x**2, 2 * lam + 2 * x**2]))


def test_sum_loss_minima_merge_at_lambda_equals_x_squared():
    """The pitchfork: three critical points while λ < x², one (the origin, now a minimum) after."""
    x = 1.5
    counts = {lam: len(scalar.critical_sets("sum", x, lam)) for lam in np.linspace(0.05, 4.5, 90)}
    assert all(n == (3 if lam < x**2 else 1) for lam, n in counts.items())
    at = scalar.critical_sets("sum", x, x**2)
    assert len(at) == 1 and at[0].type == "minimum" and at[0].degenerate  # eigenvalues 0, 4λ
    after = scalar.critical_sets("sum", x, 3.0)[0]
    assert after.type == "minimum" and after.index == 0 and not after.degenerate
    # the two minima slide continuously into the origin: |w| → 0 as λ → x²
    near = scalar.critical_sets("sum", x, x**2 - 1e-6)
    assert len(near) == 3 and np.abs(near[1].points).max() < 1e-3


@pytest.mark.parametrize("kind, level", [("unregularized", lambda x, lam: 1.0),
                                         ("product", lambda x, lam: x * x / (x * x + lam))])
@pytest.mark.parametrize("x, lam", [(1.0, 0.5), (2.0, 3.0), (-0.8, 0.2)])
def test_product_and_unregularized_minima_lie_on_the_hyperbola(kind, level, x, lam):
    sets = scalar.critical_sets(kind, x, lam)
    assert sets[0].label == "origin" and sets[0].type == "saddle" and sets[0].index == 1
    curves = sets[1:]
    assert len(curves) == 2 and all(s.shape == "curve" for s in curves)
    for s in curves:
        p = s.points[:, 0] * s.points[:, 1]
        assert np.allclose(p, level(x, lam))
        assert np.abs(s.points).max() <= 3 + 1e-9
        assert s.type == "minimum" and s.index == 0 and s.degenerate
        assert np.allclose(s.eigenvalues[:, 0], 0, atol=1e-8)  # flat along the curve
    assert {np.sign(s.points[0, 0]) for s in curves} == {1.0, -1.0}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x, lam, alpha", [(1.0, 0.5, 2.0), (1.3, 0.4, 3.0), (1.0, 0.5, 1.5),
                                           (0.9, 0.2, 1.0), (2.0, 1.0, 4.0), (1.0, 0.0, 2.0)])
def test_every_critical_set_has_zero_gradient_and_its_type_matches_the_loss_around_it(kind, x, lam, alpha):
    f = lambda a, b: scalar.loss(kind, a, b, x, lam, alpha=alpha)  # noqa: E731
    sets = scalar.critical_sets(kind, x, lam, alpha=alpha)
    assert sets
    for s in sets:
        for pt in s.points[:: max(1, len(s.points) // 7)]:
            g = fd_gradient(f, *pt, h=1e-7)
            assert np.hypot(*g) < 1e-5, (s.label, pt, g)
        ring = probe(f, s.points[len(s.points) // 2], radius=1e-3)
        slack = 1e-12
        if s.type == "minimum":
            assert (ring >= -slack).all()
        elif s.type == "maximum":
            assert (ring <= slack).all()
        else:
            assert ring.min() < 0 < ring.max()


def test_alpha_below_two_lists_the_non_smooth_origin_beside_the_smooth_points():
    """(This test said the origin was left out for α < 2 — the bug of issue #21: it is a minimum.)
    α = 1, x = 1, λ = 0.5: 2(1 − t²) = 0.5/t ⇒ 4t³ − 4t + 1 = 0, roots ≈ 0.2696 and 0.8376, and
    the origin, where λ(|w₁| + |w₂|) has its kink."""
    sums = scalar.critical_sets("sum", 1.0, 0.5, alpha=1.0)
    origin, others = sums[0], sums[1:]
    assert origin.label == "origin" and not origin.smooth and origin.type == "minimum"
    assert origin.index is None and origin.eigenvalues is None
    ts = sorted(abs(s.points[0, 0]) for s in others)
    assert np.allclose(ts, [0.26959, 0.26959, 0.83762, 0.83762], atol=1e-4)
    assert all(s.smooth for s in others)
    with pytest.raises(ValueError, match="alpha"):
        scalar.hessian("sum", 0.0, 1.0, 1.0, 0.5, alpha=1.5)


def test_x_zero_does_not_crash_and_returns_the_documented_sets():
    assert scalar.critical_sets("unregularized", 0.0, 1.0) == []  # flat: every point critical
    assert scalar.critical_sets("sum", 0.0, 0.0) == []
    (origin,) = scalar.critical_sets("sum", 0.0, 1.0)
    assert origin.type == "minimum" and not origin.degenerate
    # (this said [axis, axis]: the origin, where the axes cross, is listed first now)
    origin, *axes = scalar.critical_sets("product", 0.0, 1.0)
    assert origin.label == "origin" and origin.type == "minimum"
    assert len(axes) == 2 and all(s.type == "minimum" and s.shape == "curve" for s in axes)
    assert all((s.points[:, 0] * s.points[:, 1] == 0).all() for s in axes)
    for kind in KINDS:
        assert np.isfinite(scalar.loss(kind, 1.0, 2.0, 0.0, 1.0))


# ---------------------------------------------------------------- non-smooth critical points (α < 2)
# Issue #21: for α ≤ 1 the regularizer has a kink at 0 and for 1 < α < 2 no second derivative
# there; points where 0 lies in the subdifferential are critical points too.

ALPHAS = [0.5, 1.0, 1.5, 3.0]


def one_sided_slopes(f, point, h=1e-9, n=72):
    """(f(w + h·d) − f(w)) / h for unit directions d every 5°. At a critical point — smooth or
    not, 0 in the subdifferential — none is below −O(h); at a smooth point that is not critical
    the steepest one is −|∇f|."""
    t = np.arange(n) * 2 * np.pi / n
    return (f(point[0] + h * np.cos(t), point[1] + h * np.sin(t)) - f(*point)) / h


def ring_type(f, point, radius):
    ring = probe(f, point, radius=radius)
    slack = 1e-13 * (1 + abs(float(f(*point))))
    if (ring >= -slack).all():
        return "minimum"
    if (ring <= slack).all():
        return "maximum"
    return "saddle"


def test_alpha_one_lambda_two_has_the_minimum_at_the_origin_and_along_the_axes():
    """What the lecturer saw (issue #21): α = 1, λ = 2, x = 1. Sum: near 0 the loss rises by
    2(|w₁| + |w₂|) − 2w₁w₂ + … > 0, a minimum at the kink. Product: (1 − p)² + 2|p| is 1 + p²
    for p ≥ 0 and 1 + 4|p| + p² for p < 0, so every point with w₁w₂ = 0 is a minimum."""
    (origin,) = scalar.critical_sets("sum", 1.0, 2.0, alpha=1.0)
    assert (origin.label, origin.type, origin.smooth, origin.index) == ("origin", "minimum", False, None)
    origin, *axes = scalar.critical_sets("product", 1.0, 2.0, alpha=1.0)
    assert (origin.label, origin.type, origin.smooth) == ("origin", "minimum", False)
    assert sorted(s.label for s in axes) == ["axis w₁ = 0", "axis w₂ = 0"]
    for s in axes:
        assert s.shape == "curve" and s.type == "minimum" and not s.smooth and s.eigenvalues is None
        assert (s.points[:, 0] * s.points[:, 1] == 0).all()
        assert np.allclose(scalar.loss("product", *s.points.T, 1.0, 2.0, alpha=1.0), 1.0)


@pytest.mark.parametrize("alpha, lam", [(1.0, 0.78), (1.0, 1.5), (1.5, 1.0), (0.5, 3.0)])
@pytest.mark.parametrize("kind", ["sum", "product"])
def test_the_origin_is_listed_where_only_non_smooth_points_are_critical(kind, alpha, lam):
    """The settings of issue #21 where ``critical_sets`` returned nothing."""
    sets = scalar.critical_sets(kind, 1.0, lam, alpha=alpha)
    assert sets and sets[0].label == "origin"


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("kind", ["sum", "product"])
@pytest.mark.parametrize("x", [0.3, 1.0, 1.7])
def test_every_listed_point_is_critical_and_smooth_exactly_where_the_hessian_exists(kind, alpha, x):
    for lam in np.linspace(0.0, 4.0, 17):
        f = lambda a, b, lam=lam: scalar.loss(kind, a, b, x, lam, alpha=alpha)  # noqa: E731
        sets = scalar.critical_sets(kind, x, lam, alpha=alpha)
        assert sets[0].label == "origin" and np.array_equal(sets[0].points, [[0.0, 0.0]])
        for s in sets:
            for pt in s.points[:: max(1, len(s.points) // 9)]:
                slopes = one_sided_slopes(f, pt)
                assert slopes.min() > -1e-4 * (1 + x * x + lam), (lam, s.label, pt, slopes.min())
            if s.smooth:
                eig = np.linalg.eigvalsh(scalar.hessian(kind, s.points[:, 0], s.points[:, 1], x, lam, alpha=alpha))
                assert np.allclose(eig, s.eigenvalues, atol=1e-12 * (1 + np.abs(eig).max()))
                assert s.index == int((eig < -1e-9 * (1 + np.abs(eig).max())).sum(axis=1).max())
            else:
                assert s.index is None and s.eigenvalues is None
                with pytest.raises(ValueError, match="alpha"):
                    scalar.hessian(kind, s.points[len(s.points) // 2, 0], s.points[len(s.points) // 2, 1],
                                   x, lam, alpha=alpha)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
@pytest.mark.parametrize("kind", ["sum", "product"])
@pytest.mark.parametrize("x, lam", [(1.0, 0.3), (1.0, 2.5), (1.7, 0.5), (0.5, 1.0)])
def test_non_smooth_sets_have_the_type_the_loss_around_them_shows(kind, alpha, x, lam):
    """Where the Hessian does not exist the type is read off the loss itself: on a ring of radius
    10⁻⁵ around the point (well inside the basin for these λ, x and α)."""
    f = lambda a, b: scalar.loss(kind, a, b, x, lam, alpha=alpha)  # noqa: E731
    non_smooth = [s for s in scalar.critical_sets(kind, x, lam, alpha=alpha) if not s.smooth]
    # the origin at least — but λ|w₁w₂|^α = o(|w|²) leaves the product's origin smooth for α > 1
    assert bool(non_smooth) == (kind == "sum" or alpha <= 1)
    for s in non_smooth:
        assert ring_type(f, s.points[len(s.points) // 2], 1e-5) == s.type, s.label


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("kind", ["sum", "product"])
@pytest.mark.parametrize("x, lam", [(1.0, 0.3), (1.0, 2.0), (1.7, 0.5), (0.4, 1.0), (1.0, 0.05)])
def test_every_basin_on_the_map_holds_a_listed_minimum(kind, alpha, x, lam):
    """An independent search: every local minimum of the loss sampled on the page's window
    (401 × 401, away from its edge) lies within 1.5 grid steps of a listed minimum set."""
    w = np.linspace(-2.0, 2.0, 401)
    z = scalar.loss(kind, w[None, :], w[:, None], x, lam, alpha=alpha)
    inner = z[1:-1, 1:-1]
    lowest = np.ones_like(inner, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                lowest &= inner <= z[1 + di:z.shape[0] - 1 + di, 1 + dj:z.shape[1] - 1 + dj]
    minima = [s for s in scalar.critical_sets(kind, x, lam, alpha=alpha) if s.type == "minimum"]
    for i, j in zip(*np.nonzero(lowest)):
        _, d = scalar.nearest_critical_set(minima, (w[j + 1], w[i + 1]))
        assert d <= 0.015, (w[j + 1], w[i + 1], d)


def test_product_loss_with_alpha_below_one_has_a_hyperbola_of_maxima_inside_its_minima():
    """α = 0.5, λ = 0.3, x = 1: g(p) = (1 − p)² + 0.3√p for p > 0 has a local maximum near
    p = 0 (the square root rises faster than the data term falls) and a minimum near p = 1."""
    sets = scalar.critical_sets("product", 1.0, 0.3, alpha=0.5)
    g = lambda p: (1 - p) ** 2 + 0.3 * np.sqrt(p)  # noqa: E731
    h = 1e-6
    levels = {}
    for s in sets:
        if s.label.startswith("hyperbola"):
            p = float(np.median(s.points[:, 0] * s.points[:, 1]))
            assert (g(p + h) - g(p - h)) / (2 * h) == pytest.approx(0.0, abs=1e-6)
            second = (g(p + 1e-4) - 2 * g(p) + g(p - 1e-4)) / 1e-8
            assert s.type == ("maximum" if second < 0 else "minimum") and s.smooth
            levels[round(p, 6)] = s.type
    assert levels[min(levels)] == "maximum" and levels[max(levels)] == "minimum"
    assert len(levels) == 2


def test_two_roots_close_to_the_fold_are_both_found_and_classified():
    """α = 1, x = 1: the sum loss's saddle and minimum on the diagonal merge at a fold where
    h(t) = 2(1 − t²) − λ/t has a double root: t = 1/√3, λ = 4/(3√3). A billionth below that λ
    they are 3·10⁻⁵ apart — between two samples of a fine grid. In the positive quadrant the
    loss is the polynomial (1 − w₁w₂)² + λ(w₁ + w₂): exact rational arithmetic classifies them."""
    lam = 4 / (3 * np.sqrt(3)) * (1 - 1e-9)
    sets = [s for s in scalar.critical_sets("sum", 1.0, lam, alpha=1.0) if s.points[0, 0] > 0]
    assert len(sets) == 2
    inner, outer = sorted(sets, key=lambda s: s.points[0, 0])
    assert 0 < outer.points[0, 0] - inner.points[0, 0] < 1e-4
    Q, lq = Fraction, Fraction(lam)

    def exact(w1, w2):
        return (1 - w1 * w2) ** 2 + lq * (w1 + w2)

    for s, expected in ((inner, "saddle"), (outer, "minimum")):
        t = Q(s.points[0, 0])
        d = Q(1, 10**7)
        along = [exact(t + d, t + d) - exact(t, t), exact(t - d, t - d) - exact(t, t)]
        across = [exact(t + d, t - d) - exact(t, t), exact(t - d, t + d) - exact(t, t)]
        assert all(v > 0 for v in across)
        assert all(v > 0 for v in along) == (expected == "minimum")
        assert all(v < 0 for v in along) == (expected == "saddle")
        assert s.type == expected and not s.degenerate


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
def test_x_zero_with_alpha_below_two_keeps_the_regularizers_minima(alpha):
    """x = 0 leaves λ|p|^α (product: minima on both axes) and λ(|w₁|^α + |w₂|^α) (sum: the
    origin): not a flat loss."""
    (origin,) = scalar.critical_sets("sum", 0.0, 1.0, alpha=alpha)
    assert origin.type == "minimum" and not origin.smooth
    origin, *axes = scalar.critical_sets("product", 0.0, 1.0, alpha=alpha)
    assert origin.type == "minimum" and len(axes) == 2
    assert all(s.type == "minimum" and not s.smooth for s in axes)


# ---------------------------------------------------------------- near the pitchfork λ = x², in floats

def exact_sum_loss(w1, w2, x, lam):
    """L_σ at α = 2 in exact rational arithmetic on the given floats."""
    w1, w2, x, lam = map(Fraction, (w1, w2, x, lam))
    return x * x * (1 - w1 * w2) ** 2 + lam * (w1 * w1 + w2 * w2)


def exact_type(point, x, lam, radius):
    """Minimum / maximum / saddle from the exact loss at 24 points on a circle of ``radius``
    (rational approximations of cos and sin are good enough: the circle need not be round)."""
    base = exact_sum_loss(*point, x, lam)
    rises = []
    for k in range(24):
        c = Fraction(np.cos(k * np.pi / 12)).limit_denominator(10**6)
        s = Fraction(np.sin(k * np.pi / 12)).limit_denominator(10**6)
        r = Fraction(radius)
        rises.append(exact_sum_loss(Fraction(point[0]) + r * c, Fraction(point[1]) + r * s, x, lam) - base)
    if all(v > 0 for v in rises):
        return "minimum"
    if all(v < 0 for v in rises):
        return "maximum"
    return "saddle"


NEAR = [1e-6, 1e-8, 2.5e-8, 1e-10, 0.0, -1e-10]


@pytest.mark.parametrize("x", [0.1, 1.0, 1.7])
@pytest.mark.parametrize("delta", NEAR)
def test_near_the_pitchfork_the_sum_loss_is_classified_right_or_honestly_degenerate(x, delta):
    """λ = x²(1 − δ) as floats. Issue #21: for 0 < δ ≲ 2.5·10⁻⁸ the origin — an index-1 saddle
    with eigenvalue −2x²δ — was called a minimum, and the page listed "minimum (degenerate)"
    three times. Checked here in exact arithmetic: each listed point is a saddle or minimum as
    the exact loss around it says, or (only where x² − λ is within rounding of 0) one degenerate
    minimum at the origin."""
    lam = x * x * (1 - delta)
    sets = scalar.critical_sets("sum", x, lam)
    gap = Fraction(x) ** 2 - Fraction(lam)  # x² − λ exactly, for the floats given
    if len(sets) == 1:
        (origin,) = sets
        assert origin.label == "origin" and origin.type == "minimum"
        if gap > 0:  # honest only when the floats cannot tell the two sides apart
            assert origin.degenerate and gap <= Fraction(1, 10**13) * Fraction(x) ** 2
        assert exact_type((0.0, 0.0), x, lam, x * 1e-3 if gap <= 0 else 1e-12) == "minimum" or origin.degenerate
        return
    assert delta > 0 and len(sets) == 3
    origin, *minima = sets
    w = float(np.sqrt(delta))  # the paper's ±√(1 − λ/x²)
    assert (origin.type, origin.index, origin.degenerate) == ("saddle", 1, False)
    assert exact_type((0.0, 0.0), x, lam, w / 10) == "saddle"
    for s in minima:
        assert (s.type, s.index, s.degenerate) == ("minimum", 0, False)
        assert np.abs(s.points[0]) == pytest.approx([w, w], rel=1e-5)
        assert exact_type(s.points[0], x, lam, w / 100) == "minimum"
    assert minima[0].points[0] == pytest.approx(-minima[1].points[0])  # two points, not one


def test_x_point_one_lambda_point_zero_one_is_one_point_or_three_right_ones():
    """The floats 0.1 and 0.01: 0.1² exceeds 0.01 by 2·10⁻¹⁸ (0.1 is not exactly a tenth). Either
    answer is honest — the pitchfork (one degenerate minimum) or a saddle with two minima 10⁻⁸
    away — but never three "degenerate minima" at one place."""
    sets = scalar.critical_sets("sum", 0.1, 0.01)
    assert len(sets) == 1 or [s.type for s in sets] == ["saddle", "minimum", "minimum"]
    assert sets[0].type == "minimum" or sets[0].index == 1
    pts = [tuple(s.points[0]) for s in sets]
    assert len(set(pts)) == len(pts)


def test_critical_value_sum_agrees_with_the_listed_minima():
    for x, lam in [(1.0, 0.5), (0.1, 0.01), (1.0, 1.0 - 1e-10), (1.0, 1.0), (2.0, 5.0), (0.3, 0.09)]:
        minima = [s.points[0, 0] for s in scalar.critical_sets("sum", x, lam) if s.label != "origin"]
        assert scalar.critical_value_sum(x, lam) == pytest.approx(max(minima, default=0.0), rel=1e-12)


# ---------------------------------------------------------------- tied vector case m = 2, k = 1

def tied_by_matrices(kind, w1, w2, x, y, lam):
    W = np.array([[w1], [w2]])
    X = np.diag([x, y])
    rec = np.linalg.norm(X - W @ W.T @ X) ** 2
    reg = {"unregularized": 0.0, "product": lam * np.linalg.norm(W @ W.T) ** 2,
           "sum": lam * (np.linalg.norm(W.T) ** 2 + np.linalg.norm(W) ** 2)}[kind]
    return rec + reg


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KINDS), finite, finite, finite, finite, lams)
def test_tied_loss_is_the_frobenius_norm_of_x_minus_w_wt_x(kind, w1, w2, x, y, lam):
    assert float(scalar.tied_loss(kind, w1, w2, x, y, lam)) == pytest.approx(
        tied_by_matrices(kind, w1, w2, x, y, lam), rel=1e-9, abs=1e-9)
    g = scalar.tied_gradient(kind, w1, w2, x, y, lam)
    fd = fd_gradient(lambda a, b: scalar.tied_loss(kind, a, b, x, y, lam), w1, w2)
    assert np.allclose(g, fd, atol=1e-4 * (1 + abs(tied_by_matrices(kind, w1, w2, x, y, lam))))
    H = scalar.tied_hessian(kind, w1, w2, x, y, lam)
    assert np.allclose(H, fd_hessian(lambda a, b: scalar.tied_gradient(kind, a, b, x, y, lam), w1, w2),
                       atol=1e-5 * (1 + np.abs(H).max()))


@pytest.mark.parametrize("kind", KINDS)
def test_tied_critical_points_are_table1_points_on_the_axes(kind):
    x, y, lam = 1.2, 0.8, 0.3
    sets = scalar.tied_critical_sets(kind, x, y, lam)
    pts = np.array([s.points[0] for s in sets])
    level = {"unregularized": lambda z: 1.0, "product": lambda z: z * z / (z * z + lam),
             "sum": lambda z: 1 - lam / z**2}[kind]
    expect = [(0, 0), (np.sqrt(level(x)), 0), (-np.sqrt(level(x)), 0), (0, np.sqrt(level(y))), (0, -np.sqrt(level(y)))]
    assert np.allclose(sorted(map(tuple, pts)), sorted(expect))
    for s in sets:
        g = fd_gradient(lambda a, b: scalar.tied_loss(kind, a, b, x, y, lam), *s.points[0], h=1e-7)
        assert np.hypot(*g) < 1e-5
    types = {s.label: s.type for s in sets}
    assert types["origin"] == "maximum"  # both data directions descend from W = 0
    assert [s.type for s in sets if s.points[0, 1] == 0 and s.points[0, 0] != 0] == ["minimum"] * 2  # top direction
    assert [s.type for s in sets if s.points[0, 0] == 0 and s.points[0, 1] != 0] == ["saddle"] * 2


def test_tied_sum_loss_drops_a_direction_once_lambda_exceeds_its_variance():
    assert len(scalar.tied_critical_sets("sum", 1.2, 0.5, 0.3)) == 3  # y² = 0.25 < λ: only x survives


def test_tied_equal_variances_give_a_circle_of_minima():
    sets = scalar.tied_critical_sets("sum", 1.0, 1.0, 0.36)
    circle = sets[1]
    assert circle.shape == "curve" and circle.type == "minimum" and circle.degenerate
    assert np.allclose(np.hypot(*circle.points.T), np.sqrt(0.64))


# ---------------------------------------------------------------- weight alignment

ALIGN = dict(x=1.0, y=0.8, lam_pred=1.0, lam_info=1.0, lam_reg=0.2, lam_self=0.1)


@settings(max_examples=100, deadline=None)
@given(finite, finite, finite, finite, lams, lams, lams, finite)
def test_alignment_gradient_and_hessian_match_finite_differences(w1, w2, x, y, a, b, c, d):
    args = (x, y, a, b, c, d)
    f = lambda s, t: scalar.alignment_loss(s, t, *args)  # noqa: E731
    g = scalar.alignment_gradient(w1, w2, *args)
    assert np.allclose(g, fd_gradient(f, w1, w2), atol=1e-4 * (1 + abs(float(f(w1, w2)))))
    H = scalar.alignment_hessian(w1, w2, *args)
    fd = fd_hessian(lambda s, t: scalar.alignment_gradient(s, t, *args), w1, w2)
    assert np.allclose(H, fd, atol=1e-5 * (1 + np.abs(H).max()))


def test_alignment_loss_formula_at_a_hand_computed_point():
    # λ_pred(y − w1x)² + λ_info(x − w2w1x)² + λ_reg(w1² + w2²) − 2λ_self·w1w2 at w = (1, 2):
    # 1·(0.8 − 1)² + 1·(1 − 2)² + 0.2·5 − 2·0.1·2 = 0.04 + 1 + 1 − 0.4
    assert float(scalar.alignment_loss(1.0, 2.0, **ALIGN)) == pytest.approx(1.64)


@pytest.mark.parametrize("params", [ALIGN, dict(ALIGN, lam_reg=0.0), dict(ALIGN, lam_self=-0.5, y=-1.0),
                                    dict(ALIGN, lam_reg=1.5, lam_self=0.0)])
def test_alignment_critical_points_have_zero_gradient_and_the_global_minimum_is_among_them(params):
    sets = scalar.alignment_critical_sets(**params)
    assert sets
    args = tuple(params.values())
    for s in sets:
        assert np.hypot(*scalar.alignment_gradient(*s.points[0], *args)) < 1e-6
    # brute force over a grid: the lowest critical value is the grid minimum (within grid error)
    w = np.linspace(-4, 4, 801)
    grid_min = scalar.alignment_loss(w[None, :], w[:, None], *args).min()
    assert min(s.loss for s in sets) <= grid_min + 1e-6
    assert any(s.type == "minimum" for s in sets)


# ---------------------------------------------------------------- validation and purity

@pytest.mark.parametrize("call, name", [
    (lambda: scalar.loss("sums", 0, 0, 1, 1), "kind"),
    (lambda: scalar.loss("sum", np.nan, 0, 1, 1), "w1"),
    (lambda: scalar.loss("sum", 0, [np.inf], 1, 1), "w2"),
    (lambda: scalar.loss("sum", [0, 1], [0, 1, 2], 1, 1), "w1 and w2"),
    (lambda: scalar.loss("sum", 0, 0, "one", 1), "x"),
    (lambda: scalar.loss("sum", 0, 0, 1, -1), "lam"),
    (lambda: scalar.loss("sum", 0, 0, 1, float("nan")), "lam"),
    (lambda: scalar.loss("sum", 0, 0, 1, 1, alpha=9), "alpha"),
    (lambda: scalar.gradient("product", 0, 0, float("inf"), 1), "x"),
    (lambda: scalar.hessian(3, 0, 0, 1, 1), "kind"),
    (lambda: scalar.critical_sets("sum", 1, -0.1), "lam"),
    (lambda: scalar.critical_sets("sum", None, 1), "x"),
    (lambda: scalar.gradient("sum", 0.0, 1.0, 1.0, 0.5, alpha=0.5), "alpha"),
    (lambda: scalar.tied_loss("sum", 0, 0, 1, np.nan, 1), "y"),
    (lambda: scalar.tied_critical_sets("sum", 1, 1, -1), "lam"),
    (lambda: scalar.alignment_loss(0, 0, 1, 1, -1, 1, 1, 0), "lam_pred"),
    (lambda: scalar.alignment_critical_sets(1, 1, 1, 1, 1, np.inf), "lam_self"),
    (lambda: scalar.prediction_critical_sets("sum", 1, True, 1), "y"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_lae_core_imports_no_user_interface_library():
    code = ("import sys, lae_core, lae_core.scalar, importlib, pkgutil\n"
            "for m in pkgutil.iter_modules(lae_core.__path__): importlib.import_module('lae_core.' + m.name)\n"
            "bad = [m for m in ('panel', 'bokeh', 'holoviews', 'param', 'plotly') if m in sys.modules]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- the root finder

@pytest.mark.parametrize("h, lo, hi, expected", [
    (np.cos, 0.0, 10.0, [np.pi / 2, 3 * np.pi / 2, 5 * np.pi / 2]),
    (lambda t: t ** 3 - 2.0, 0.0, 3.0, [2.0 ** (1 / 3)]),
    (lambda t: (t - 0.3) * (t - 0.7) * (t + 0.2), -1.0, 1.0, [-0.2, 0.3, 0.7]),
    (lambda t: np.exp(t) - 1e6, 0.0, 20.0, [np.log(1e6)]),
])
def test_roots_are_found_to_full_precision_in_few_evaluations(h, lo, hi, expected):
    calls = []

    def counted(t):
        calls.append(np.size(t))
        return h(t)

    roots = scalar._roots(counted, lo, hi)
    assert roots == pytest.approx(expected, rel=8 * np.finfo(float).eps, abs=1e-15)
    assert len(calls) <= 1 + 15  # the samples, then ~10 Illinois steps (bisection would take ~50)


def test_a_pole_between_samples_ends_in_a_bracket_of_the_pole_not_in_nan():
    roots = scalar._roots(lambda t: 1.0 / (t - 0.5003), 0.0, 1.0)
    assert roots == pytest.approx([0.5003], abs=1e-12)


@pytest.mark.parametrize("lam", [5e-324, 1e-320, 1e-310])
@pytest.mark.parametrize("alpha", [0.5, 0.9])
def test_a_subnormal_lambda_for_alpha_below_one_gives_the_hyperbola_of_minima_not_a_zero_division(lam, alpha):
    """k(q) = 2(x²q − a) + λα·q^{α−1}: its minimum q_m underflows to 0 for such λ, where k is not
    defined; the outer root (the product loss's minima, w₁w₂ → y/x as λ → 0) is still found."""
    for y in (1.0, 0.7):
        sets = scalar.prediction_critical_sets("product", 1.0, y, lam, alpha)
        levels = [float(s.points[0, 0] * s.points[0, 1]) for s in sets if s.label.startswith("hyperbola")]
        assert levels == pytest.approx([y, y], rel=1e-9)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
@pytest.mark.parametrize("x", [1e154, 1.3e154])
def test_an_x_whose_four_x_squared_overflows_gives_points_or_a_value_error_not_a_zero_division(x, alpha):
    """t_m = (λα(2 − α)/(4x²))^{1/(4−α)}: 4x² overflowed to inf for |x| ≳ 0.9e154 (x² still a
    float), t_m came out 0 and h(0) = 0^{α−2} raised ZeroDivisionError (make stress's fuzz)."""
    try:
        sets = scalar.prediction_critical_sets("sum", x, 1.0, 1.0, alpha)
    except ValueError:
        return
    for s in sets:
        assert np.isfinite(s.points).all()


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
def test_the_smallest_lambda_gives_the_sum_losss_outer_minima_at_the_unregularized_ones(alpha):
    """λ = 5e-324: h's maximum t_m underflows to 0 (h(0) raised ZeroDivisionError); the inner
    saddles sit closer to the origin than float64 resolves, the outer minima at |w₁| = |w₂| → 1
    (x = y = 1, λ → 0) are still found."""
    sets = scalar.prediction_critical_sets("sum", 1.0, 1.0, 5e-324, alpha)
    off = sorted(tuple(s.points[0]) for s in sets if s.label != "origin")
    assert off == [pytest.approx((-1.0, -1.0), abs=1e-12), pytest.approx((1.0, 1.0), abs=1e-12)]
