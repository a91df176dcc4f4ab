"""The scalar LAE (m = k = 1) and the reference page's two-weight modes, checked against the
paper's closed forms (DESIGN.md), finite differences and direct matrix arithmetic."""

import subprocess
import sys

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


def test_alpha_below_two_leaves_out_points_where_the_hessian_is_undefined():
    sums = scalar.critical_sets("sum", 1.0, 0.5, alpha=1.0)
    assert all(np.abs(s.points).min() > 0 for s in sums)
    # α = 1, x = 1, λ = 0.5: 2(1 − t²) = 0.5/t  ⇒ 4t³ − 4t + 1 = 0, roots ≈ 0.2696 and 0.8376
    ts = sorted(abs(s.points[0, 0]) for s in sums)
    assert np.allclose(ts, [0.26959, 0.26959, 0.83762, 0.83762], atol=1e-4)
    with pytest.raises(ValueError, match="alpha"):
        scalar.hessian("sum", 0.0, 1.0, 1.0, 0.5, alpha=1.5)


def test_x_zero_does_not_crash_and_returns_the_documented_sets():
    assert scalar.critical_sets("unregularized", 0.0, 1.0) == []  # flat: every point critical
    assert scalar.critical_sets("sum", 0.0, 0.0) == []
    (origin,) = scalar.critical_sets("sum", 0.0, 1.0)
    assert origin.type == "minimum" and not origin.degenerate
    axes = scalar.critical_sets("product", 0.0, 1.0)
    assert len(axes) == 2 and all(s.type == "minimum" and s.shape == "curve" for s in axes)
    assert all((s.points[:, 0] * s.points[:, 1] == 0).all() for s in axes)
    for kind in KINDS:
        assert np.isfinite(scalar.loss(kind, 1.0, 2.0, 0.0, 1.0))


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
