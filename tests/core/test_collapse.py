"""Posterior collapse: shrinkage of W₂W₁, the decoder's singular values, pPCA, the pitchfork.

Expected values come from hand evaluation of the paper's closed forms, from brute-force
minimisation of the losses, or from the pPCA likelihood, never from the code under test.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lae_core import scalar
from lae_core.collapse import (
    collapsed,
    decoder_singular_values,
    measured_decoder_singular_values,
    measured_shrinkage,
    ppca_loading,
    scalar_diagonal_critical_points,
    shrinkage,
    surviving_count,
)

sigmas = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
lams = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)


def grid_argmin(f, lo, hi, rounds=6, points=2001):
    """Brute-force minimiser of a function of one variable: a fine grid, zoomed repeatedly."""
    for _ in range(rounds):
        grid = np.linspace(lo, hi, points)
        best = grid[np.argmin(f(grid))]
        step = (hi - lo) / (points - 1)
        lo, hi = best - 2 * step, best + 2 * step
    return best


def grid_argmin_2d(f, lo, hi, rounds=6, points=401):
    """Brute-force minimiser over a square, zoomed repeatedly around the best grid point."""
    (alo, ahi), (blo, bhi) = (lo, hi), (lo, hi)
    for _ in range(rounds):
        a, b = np.meshgrid(np.linspace(alo, ahi, points), np.linspace(blo, bhi, points),
                           indexing="ij")
        i, j = np.unravel_index(np.argmin(f(a, b)), a.shape)
        da, db = (ahi - alo) / (points - 1), (bhi - blo) / (points - 1)
        alo, ahi = a[i, j] - 2 * da, a[i, j] + 2 * da
        blo, bhi = b[i, j] - 2 * db, b[i, j] + 2 * db
    return a[i, j], b[i, j]


def random_orthonormal(rng, m, k):
    Q, _ = np.linalg.qr(rng.standard_normal((m, k)))
    return Q


# ----------------------------------------------------------------------------- shrinkage


def test_shrinkage_at_sigma_2_lambda_1_matches_hand_evaluation():
    # sum: 1 − 1/4; product: 1/(1 + 1/4); unregularized: 1
    assert shrinkage("sum", 2.0, 1.0) == pytest.approx(0.75)
    assert shrinkage("product", 2.0, 1.0) == pytest.approx(0.8)
    assert shrinkage("unregularized", 2.0, 1.0) == 1.0


def test_shrinkage_of_several_directions_matches_hand_evaluation():
    sigma = np.array([3.0, 2.0, 1.0, 0.5])
    # λ = 1: sum 1 − 1/σ² clipped at 0; product σ²/(σ² + 1)
    np.testing.assert_allclose(shrinkage("sum", sigma, 1.0), [8 / 9, 3 / 4, 0.0, 0.0])
    np.testing.assert_allclose(shrinkage("product", sigma, 1.0), [9 / 10, 4 / 5, 1 / 2, 1 / 5])
    np.testing.assert_array_equal(shrinkage("unregularized", sigma, 1.0), np.ones(4))


def test_shrinkage_keeps_the_shape_of_sigma():
    assert np.shape(shrinkage("sum", 2.0, 1.0)) == ()
    assert shrinkage("product", np.ones(5), 1.0).shape == (5,)
    assert shrinkage("sum", np.ones((4, 3)), 1.0).shape == (4, 3)


@pytest.mark.parametrize("x", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 4.0, 10.0])
def test_product_shrinkage_minimises_the_scalar_product_loss(x, lam):
    # L_π depends on the weights only through p = w₁w₂: x²(1 − p)² + λp²
    p_star = grid_argmin(lambda p: x**2 * (1 - p) ** 2 + lam * p**2, -1.0, 2.0)
    assert shrinkage("product", x, lam) == pytest.approx(p_star, abs=1e-6)


@pytest.mark.parametrize("x", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 4.0, 10.0])
def test_sum_shrinkage_minimises_the_scalar_sum_loss_over_both_weights(x, lam):
    def loss(w1, w2):
        return x**2 * (1 - w1 * w2) ** 2 + lam * (w1**2 + w2**2)

    w1, w2 = grid_argmin_2d(loss, -2.0, 2.0)
    if lam == 0.0:  # the minima form the hyperbola w₁w₂ = 1; any point of it will do
        assert w1 * w2 == pytest.approx(1.0, abs=1e-5)
    else:
        assert shrinkage("sum", x, lam) == pytest.approx(w1 * w2, abs=1e-5)


def test_matrix_product_loss_minimiser_has_the_product_shrinkage():
    # L_π is a convex quadratic in A = W₂W₁ (k = m): A(XXᵀ + λI) = XXᵀ at its minimum
    rng = np.random.default_rng(0)
    sigma, lam = np.array([3.0, 2.0, 0.7]), 1.5
    X = random_orthonormal(rng, 3, 3) @ np.diag(sigma) @ random_orthonormal(rng, 3, 3).T
    C = X @ X.T
    A = np.linalg.solve((C + lam * np.eye(3)).T, C.T).T
    np.testing.assert_allclose(np.linalg.svd(A, compute_uv=False),
                               shrinkage("product", sigma, lam), atol=1e-12)


def test_matrix_sum_loss_trained_by_gradient_descent_has_the_sum_shrinkage():
    rng = np.random.default_rng(1)
    sigma, lam = np.array([3.0, 2.0, 0.5]), 1.0  # the last direction (0.25 < 1) collapses
    X = random_orthonormal(rng, 3, 3) @ np.diag(sigma) @ random_orthonormal(rng, 3, 3).T
    W1, W2 = 0.1 * rng.standard_normal((3, 3)), 0.1 * rng.standard_normal((3, 3))
    for _ in range(6000):  # ∇ of ‖X − W₂W₁X‖² + λ(‖W₁‖² + ‖W₂‖²)
        R = X - W2 @ W1 @ X
        g1 = -2 * W2.T @ R @ X.T + 2 * lam * W1
        g2 = -2 * R @ X.T @ W1.T + 2 * lam * W2
        W1, W2 = W1 - 0.01 * g1, W2 - 0.01 * g2
    np.testing.assert_allclose(np.linalg.svd(W2 @ W1, compute_uv=False),
                               shrinkage("sum", sigma, lam), atol=1e-6)
    np.testing.assert_allclose(np.linalg.svd(W2, compute_uv=False),
                               decoder_singular_values(sigma, lam), atol=1e-6)


def test_zero_singular_value_gives_zero_for_product_and_sum_and_one_unregularized():
    for lam in (0.0, 1.0):
        assert shrinkage("sum", 0.0, lam) == 0.0
        assert shrinkage("product", 0.0, lam) == 0.0
        assert shrinkage("unregularized", 0.0, lam) == 1.0


def test_shrinkage_survives_extreme_singular_values_without_nan():
    sigma = np.array([0.0, 1e-200, 1e-150, 1.0, 1e150, 1e200])
    for kind in ("sum", "product"):
        values = shrinkage(kind, sigma, 1.0)
        assert np.isfinite(values).all()
        assert values[0] == values[1] == 0.0
        assert values[-1] == 1.0


@settings(max_examples=200, deadline=None)
@given(sigma=sigmas, lam=lams)
def test_shrinkage_lies_in_unit_interval_and_sum_shrinks_more(sigma, lam):
    s, p = shrinkage("sum", sigma, lam), shrinkage("product", sigma, lam)
    assert 0.0 <= s <= 1.0 and 0.0 <= p <= 1.0
    assert s <= p + 1e-15  # 1 − r ≤ 1/(1 + r) for r = λ/σ² ≥ 0 (they differ by ≈ r² near 0)


@settings(max_examples=200, deadline=None)
@given(sigma=st.floats(min_value=1e-3, max_value=1e3), lam=lams, extra=lams)
def test_shrinkage_does_not_increase_with_lambda(sigma, lam, extra):
    for kind in ("sum", "product"):
        assert shrinkage(kind, sigma, lam + extra) <= shrinkage(kind, sigma, lam) + 1e-15


@settings(max_examples=200, deadline=None)
@given(sigma=st.floats(min_value=1e-3, max_value=1e3), lam=lams,
       scale=st.floats(min_value=1e-2, max_value=1e2))
def test_shrinkage_depends_only_on_lambda_over_sigma_squared(sigma, lam, scale):
    for kind in ("sum", "product"):
        assert shrinkage(kind, scale * sigma, scale**2 * lam) == pytest.approx(
            shrinkage(kind, sigma, lam), abs=1e-12)


# ----------------------------------------------------------------------- decoder, collapse


@settings(max_examples=200, deadline=None)
@given(sigma=st.floats(min_value=1e-3, max_value=1e3), lam=lams)
def test_decoder_singular_values_squared_are_one_minus_lambda_over_sigma_squared(sigma, lam):
    expected = max(0.0, 1.0 - lam / sigma**2)
    assert decoder_singular_values(sigma, lam) ** 2 == pytest.approx(expected, abs=1e-12)


def test_lae_pca_recovers_eigenvalues_from_decoder_singular_values():
    # LAE-PCA: σ² = λ / (1 − s²) for every surviving direction
    sigma, lam = np.array([4.0, 3.0, 2.0]), 2.5
    s = decoder_singular_values(sigma, lam)
    np.testing.assert_allclose(lam / (1 - s**2), sigma**2)


def test_collapse_boundary_is_sigma_squared_equals_lambda():
    sigma = np.array([3.0, 2.0, 1.0])
    np.testing.assert_array_equal(collapsed(sigma, 4.0), [False, True, True])  # 2² = 4 collapses
    np.testing.assert_array_equal(collapsed(sigma, 3.99), [False, False, True])
    assert surviving_count(sigma, 4.0) == 1
    assert surviving_count(sigma, 3.99) == 2
    assert surviving_count(sigma, 0.0) == 3
    assert decoder_singular_values(2.0, 4.0) == 0.0


@settings(max_examples=200, deadline=None)
@given(sigma=st.lists(sigmas, min_size=1, max_size=8), lam=lams)
def test_collapsed_directions_are_exactly_those_with_zero_decoder(sigma, lam):
    mask = collapsed(sigma, lam)
    s = decoder_singular_values(sigma, lam)
    np.testing.assert_array_equal(mask, s == 0.0)
    assert surviving_count(sigma, lam) == len(sigma) - int(np.sum(mask))


def test_example_x_equals_2_collapses_once_lambda_passes_4():
    lams = np.linspace(0, 8, 81)
    alive = [surviving_count([2.0], lam) for lam in lams]
    np.testing.assert_array_equal(alive, (lams < 4).astype(int))


# --------------------------------------------------------------------------------- pPCA


def test_ppca_loading_equals_lae_decoder_times_sigma():
    rng = np.random.default_rng(2)
    U = random_orthonormal(rng, 5, 3)
    sigma, lam = np.array([3.0, 2.0, 1.5]), 2.0
    # LAE decoder at the L_σ minimum: W₂ = U (I − λΣ⁻²)^{1/2}
    W2 = U @ np.diag(np.sqrt(1 - lam / sigma**2))
    np.testing.assert_allclose(ppca_loading(U, sigma, lam), W2 @ np.diag(sigma), atol=1e-12)


def test_ppca_loading_with_rotation_is_lae_decoder_scaled_by_data_covariance_root():
    rng = np.random.default_rng(3)
    U = random_orthonormal(rng, 6, 2)
    O = random_orthonormal(rng, 4, 2).T  # (2, 4), orthonormal rows
    sigma, lam = np.array([2.5, 1.2]), 1.0
    W2 = U @ np.diag(np.sqrt(1 - lam / sigma**2)) @ O
    expected = U @ np.diag(sigma) @ U.T @ W2
    np.testing.assert_allclose(ppca_loading(U, sigma, lam, O), expected, atol=1e-12)
    assert ppca_loading(U, sigma, lam, O).shape == (6, 4)


def test_ppca_collapses_directions_below_the_noise():
    U = np.eye(3)
    W = ppca_loading(U, [3.0, 2.0, 1.0], 4.0)
    np.testing.assert_allclose(W, np.diag([math.sqrt(5.0), 0.0, 0.0]))


def test_ppca_model_covariance_matches_sample_covariance_in_the_top_directions():
    rng = np.random.default_rng(4)
    m = 5
    U_full = random_orthonormal(rng, m, m)
    sigma_full = np.array([3.0, 2.5, 1.5, 0.8, 0.5])
    S = U_full @ np.diag(sigma_full**2) @ U_full.T  # sample covariance XXᵀ
    tau2 = 1.0
    W = ppca_loading(U_full[:, :3], sigma_full[:3], tau2)
    model = W @ W.T + tau2 * np.eye(m)
    # top directions: model variance = sample variance σ²; the rest: noise τ²
    for i in range(m):
        u = U_full[:, i]
        expected = sigma_full[i] ** 2 if i < 3 else tau2
        assert u @ model @ u == pytest.approx(expected)
    eig = np.sort(np.linalg.eigvalsh(model))[::-1]
    np.testing.assert_allclose(eig, [9.0, 6.25, 2.25, 1.0, 1.0])
    np.testing.assert_allclose(np.diag(U_full.T @ S @ U_full)[:3], eig[:3])


def test_ppca_loading_maximises_the_gaussian_likelihood_for_fixed_noise():
    # ℓ(W) = −½(log det C + tr C⁻¹S), C = WWᵀ + τ²I (Tipping & Bishop 1999, eq. 4)
    rng = np.random.default_rng(5)
    m, q, tau2 = 4, 2, 0.7
    U = random_orthonormal(rng, m, m)
    sigma = np.array([2.0, 1.3, 0.6, 0.4])
    S = U @ np.diag(sigma**2) @ U.T

    def loglik(W):
        C = W @ W.T + tau2 * np.eye(m)
        return -0.5 * (np.linalg.slogdet(C)[1] + np.trace(np.linalg.solve(C, S)))

    W = ppca_loading(U[:, :q], sigma[:q], tau2)
    best = loglik(W)
    for _ in range(200):
        assert loglik(W + 1e-3 * rng.standard_normal(W.shape)) < best


# ------------------------------------------------------------ the poster's scalar example


def test_diagonal_critical_points_before_the_pitchfork():
    # x = 2, λ = 1: f(w) = 4(1 − w²)² + 2w²; f' = 4w(4w² − 3) → w = 0, ±√(3/4)
    points = scalar_diagonal_critical_points(2.0, 1.0)
    assert [p.w for p in points] == pytest.approx([-math.sqrt(0.75), 0.0, math.sqrt(0.75)])
    assert [p.type for p in points] == ["minimum", "maximum", "minimum"]
    assert points[0].loss == pytest.approx(4 * (1 - 0.75) ** 2 + 2 * 0.75)


def test_sum_loss_minima_merge_at_lambda_equals_x_squared():
    points = scalar_diagonal_critical_points(2.0, 4.0)
    assert [(p.w, p.type) for p in points] == [(0.0, "minimum")]
    assert points[0].second_derivative == 0.0  # degenerate: the fourth derivative decides


def test_after_the_pitchfork_only_the_origin_remains_a_minimum():
    points = scalar_diagonal_critical_points(2.0, 5.0)
    assert [(p.w, p.type) for p in points] == [(0.0, "minimum")]


@settings(max_examples=150, deadline=None)
@given(x=st.floats(min_value=-5.0, max_value=5.0).filter(lambda x: abs(x) > 0.1),
       lam=st.floats(min_value=0.0, max_value=30.0))
def test_diagonal_critical_points_are_zeros_of_the_derivative_and_types_match_neighbours(x, lam):
    def f(w):
        return x**2 * (1 - w**2) ** 2 + 2 * lam * w**2

    def df(w):  # central difference
        h = 1e-6
        return (f(w + h) - f(w - h)) / (2 * h)

    points = scalar_diagonal_critical_points(x, lam)
    assert points[len(points) // 2].w == 0.0
    # three while x² exceeds λ, one from λ = x² on (within 1e-9 of it the pitchfork is resolved
    # to rounding, so either)
    assert len(points) in ((3,) if x**2 > lam * (1 + 1e-9) else (1,) if x**2 <= lam else (1, 3))
    for p in points:
        assert abs(df(p.w)) < 1e-5 * (x**2 + lam)
        assert p.loss == pytest.approx(f(p.w))
        # a minimum lies below its neighbours, a maximum above
        h = 1e-3
        around = min(f(p.w - h), f(p.w + h)) - f(p.w)
        if p.type == "minimum":
            assert around >= -1e-12
        else:
            assert p.type == "maximum"
            assert max(f(p.w - h), f(p.w + h)) - f(p.w) <= 1e-12


def test_diagonal_minima_lie_where_the_sum_shrinkage_says():
    # on the diagonal, p = w² = shrinkage("sum", x, λ)
    for x, lam in [(2.0, 1.0), (3.0, 2.0), (1.5, 0.1)]:
        w = scalar_diagonal_critical_points(x, lam)[-1].w
        assert w**2 == pytest.approx(shrinkage("sum", x, lam))


def test_zero_data_and_zero_lambda_is_flat():
    assert [(p.w, p.type) for p in scalar_diagonal_critical_points(0.0, 0.0)] == [
        (0.0, "degenerate")]


# -------------------------------------- one source of truth with scalar.critical_sets (issue #18)


def diagonal_of_scalar_sets(x, lam):
    """(w, type on the diagonal) of L_σ's critical sets from ``scalar.critical_sets``: its points
    off the origin lie on w₁ = w₂; the origin's saddle descends along the diagonal (f has a
    maximum there); at λ = 0 the hyperbola w₁w₂ = 1 crosses the diagonal at ±1."""
    out = []
    for s in scalar.critical_sets("sum", x, lam):
        if s.shape == "point":
            assert s.points[0, 0] == s.points[0, 1]
            out.append((float(s.points[0, 0]), "maximum" if s.type == "saddle" else s.type))
        else:
            w = math.copysign(math.sqrt(s.points[0, 0] * s.points[0, 1]), s.points[0, 0])
            out.append((w, s.type))
    return sorted(out)


def assert_agree(x, lam):
    ours = [(p.w, p.type) for p in scalar_diagonal_critical_points(x, lam)]
    theirs = diagonal_of_scalar_sets(x, lam)
    if not theirs:  # x = λ = 0: the scalar loss is flat, f ≡ 0
        assert ours == [(0.0, "degenerate")] and x == 0 and lam == 0
        return
    assert [t for _, t in ours] == [t for _, t in theirs], (x, lam, ours, theirs)
    assert [w for w, _ in ours] == pytest.approx([w for w, _ in theirs], rel=1e-12, abs=1e-300), (x, lam)


def test_collapse_and_scalar_agree_at_every_slider_setting():
    """The Collapse page reads the diagonal critical points; the Landscape page the scalar sets:
    the same points and the same types over x ∈ [0, 2] (step 0.02) and λ ∈ [0, 10] (step 0.05),
    and at λ = x² as the sliders give it (x on its 0.01 steps, λ = x² rounded to 0.0001)."""
    for x in np.round(np.arange(0.0, 2.0001, 0.02), 2):
        for lam in np.round(np.arange(0.0, 10.0001, 0.05), 2):
            assert_agree(float(x), float(lam))
    for x in np.round(np.arange(0.0, 2.0001, 0.01), 2):
        assert_agree(float(x), float(np.round(x * x, 4)))


@pytest.mark.parametrize("x", [0.1, 0.5, 1.0, 1.7, 2.0])
@pytest.mark.parametrize("delta", [1e-6, 1e-8, 2.5e-8, 1e-10, 1e-12, 1e-14, 0.0, -1e-14, -1e-12, -1e-10, -1e-8])
def test_collapse_and_scalar_agree_within_1e_8_of_the_pitchfork(x, delta):
    assert_agree(x, x * x * (1 - delta))


def test_collapse_and_scalar_agree_at_x_point_one_lambda_point_zero_one():
    """Issue #21: here ``critical_sets`` listed three points and the Collapse page one."""
    assert_agree(0.1, 0.01)


def test_the_pitchfork_in_floats_is_three_points_exactly_while_the_gap_is_resolved():
    """Three points while x² − λ is more than rounding (λ = x²(1 − δ), δ ≥ 10⁻¹²), the minima at
    ±√δ; one (a minimum) from λ = x² on."""
    for x in (0.1, 1.0, 2.0):
        for delta in (1e-12, 1e-10, 2.5e-8, 1e-4):
            pts = scalar_diagonal_critical_points(x, x * x * (1 - delta))
            assert [p.type for p in pts] == ["minimum", "maximum", "minimum"]
            assert pts[-1].w == pytest.approx(math.sqrt(delta), rel=1e-4)
            assert pts[1].second_derivative < 0 < pts[0].second_derivative
        for delta in (0.0, -1e-12, -1e-4):
            assert [p.type for p in scalar_diagonal_critical_points(x, x * x * (1 - delta))] == ["minimum"]


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("call, name", [
    (lambda: shrinkage("l1", 1.0, 1.0), "kind"),
    (lambda: shrinkage("sum", -1.0, 1.0), "sigma"),
    (lambda: shrinkage("sum", [1.0, np.nan], 1.0), "sigma"),
    (lambda: shrinkage("sum", "abc", 1.0), "sigma"),
    (lambda: shrinkage("sum", 1.0, -0.5), "lam"),
    (lambda: shrinkage("product", 1.0, np.inf), "lam"),
    (lambda: decoder_singular_values([1.0, -2.0], 1.0), "sigma"),
    (lambda: decoder_singular_values(1.0, np.nan), "lam"),
    (lambda: collapsed(np.inf, 1.0), "sigma"),
    (lambda: collapsed(1.0, -1.0), "lam"),
    (lambda: surviving_count([1.0], "x"), "lam"),
    (lambda: ppca_loading(np.ones((3, 2)), [1.0, 1.0], 1.0), "U"),
    (lambda: ppca_loading(np.eye(3)[:, :2], [1.0, 1.0, 1.0], 1.0), "sigma"),
    (lambda: ppca_loading(np.eye(3)[:, :2], [1.0, -1.0], 1.0), "sigma"),
    (lambda: ppca_loading(np.eye(3)[:, :2], [1.0, 1.0], -1.0), "tau2"),
    (lambda: ppca_loading(np.eye(3)[:, :2], [1.0, 1.0], 1.0, O=np.ones((2, 2))), "O"),
    (lambda: ppca_loading(np.eye(3)[:, :2], [1.0, 1.0], 1.0, O=np.eye(3)), "O"),
    (lambda: scalar_diagonal_critical_points(np.nan, 1.0), "x"),
    (lambda: scalar_diagonal_critical_points(1.0, -1.0), "lam"),
])
def test_invalid_arguments_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_measured_values_read_the_closed_form_minimum_back_per_direction():
    rng = np.random.default_rng(4)
    U = random_orthonormal(rng, 4, 4)
    O = random_orthonormal(rng, 4, 4)
    sigma, lam = np.array([3.0, 2.0, 1.2, 0.5]), 1.0
    # Table 1 (sum loss): W₂ = U (I − λΣ⁻²)₊^{1/2} Oᵀ, W₁ = W₂ᵀ — written from the paper
    D = np.diag(np.sqrt(np.clip(1 - lam / sigma**2, 0, None)))
    W2 = U @ D @ O.T
    W1 = W2.T
    np.testing.assert_allclose(measured_decoder_singular_values(W2, U), np.diag(D), atol=1e-12)
    np.testing.assert_allclose(measured_shrinkage(W1, W2, U), np.diag(D) ** 2, atol=1e-12)
    # order follows U's columns, not sorted like an SVD
    np.testing.assert_allclose(measured_shrinkage(W1, W2, U[:, ::-1]), np.diag(D)[::-1] ** 2, atol=1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda: measured_shrinkage(np.eye(2), np.eye(3), np.eye(3)), "W1"),
    (lambda: measured_shrinkage(np.eye(3), np.eye(3), np.eye(2)), "U"),
    (lambda: measured_decoder_singular_values(np.eye(3), np.ones((3, 2))), "U"),
    (lambda: measured_decoder_singular_values([[np.nan]], [[1.0]]), "W2"),
])
def test_measured_values_reject_bad_arguments_naming_them(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
