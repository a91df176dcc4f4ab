"""The general m, k landscape (``lae_core.landscape``) against the mathematics of the paper.

Expected values come from finite differences, closed forms derived in the docstrings, the
scalar formulas of DESIGN.md, or the paper's statements (Table 1, Landscape Theorem,
Transpose Theorem) — never from the code under test.

Index sets ``I`` are 0-based, as in the module.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lae_core import landscape as ls

KINDS = ("unregularized", "product", "sum")
# Distinct singular values whose squares (9, 4.84, 2.56, 1.21, 0.49) leave room for λ
# below, between and above them.
SIGMA5 = np.array([3.0, 2.2, 1.6, 1.1, 0.7])
LAMS = (0.0, 0.5, 3.0, 20.0)


# --------------------------------------------------------------------------- helpers


def random_G(rng, kind, k, l):
    """Table 1's G: orthonormal columns for the sum loss, else independent with cond ≤ 4."""
    if l == 0:
        return np.zeros((k, 0))
    Q1 = np.linalg.qr(rng.standard_normal((k, l)))[0]
    if kind == "sum":
        return Q1
    Q2 = np.linalg.qr(rng.standard_normal((l, l)))[0]
    return (Q1 * rng.uniform(0.5, 2.0, l)) @ Q2


def richardson_derivative(f, h=1e-3):
    """f'(0) for a polynomial f of degree ≤ 4, exact up to rounding.

    The central difference of a t ↦ Σ a_p t^p of degree ≤ 4 is a₁ + a₃h² exactly, so
    (4·D(h) − D(2h)) / 3 removes the only error term.
    """
    def central(step):
        return (f(step) - f(-step)) / (2 * step)

    return (4 * central(h) - central(2 * h)) / 3


def flat(W1, W2):
    return np.concatenate([W1.ravel(), W2.ravel()])


def unflat(w, k, m):
    return w[: k * m].reshape(k, m), w[k * m :].reshape(m, k)


def random_problem(rng, m, k, n=None):
    """Data with singular values from SIGMA5 (scaled per draw) and random weights."""
    sigma = SIGMA5[:m] * rng.uniform(0.5, 1.5)
    X, U = ls.random_data(m, n or m + 3, sigma, int(rng.integers(1 << 30)))
    W1 = rng.standard_normal((k, m))
    W2 = rng.standard_normal((m, k))
    return X, U, sigma, W1, W2


def gradient_scale(X, lam, W1, W2):
    """Size of the gradient's terms, to judge 'zero' relative to the problem's scale."""
    c = np.linalg.norm(X, 2) ** 2 + lam
    a, b = np.linalg.norm(W1), np.linalg.norm(W2)
    return c * (a + b) * (1 + a * b)


def all_index_sets(m, k):
    for l in range(k + 1):
        yield from itertools.combinations(range(m), l)


# ------------------------------------------------------------------ loss, gradient, Hessian


@pytest.mark.parametrize("kind", KINDS)
def test_scalar_loss_matches_the_closed_forms_of_design(kind):
    """m = k = 1: L = x²(1−p)², L_π = L + λp², L_σ = L + λ(w₁² + w₂²) with p = w₁w₂."""
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, lam, w1, w2 = rng.standard_normal(), rng.uniform(0, 3), *rng.standard_normal(2)
        p = w1 * w2
        expected = x**2 * (1 - p) ** 2 + {
            "unregularized": 0.0, "product": lam * p**2, "sum": lam * (w1**2 + w2**2)}[kind]
        got = ls.loss(kind, [[x]], lam, [[w1]], [[w2]])
        assert isinstance(got, float)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_gradient_matches_finite_differences_of_the_loss(kind, seed):
    """Every entry of the gradient equals d/dt loss(W + t e_p) (Richardson, exact for quartics)."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 6))
    k = int(rng.integers(1, m + 1))
    X, _, _, W1, W2 = random_problem(rng, m, k, n=int(rng.integers(m + 1, m + 6)))
    lam = float(rng.uniform(0, 4))
    dW1, dW2 = ls.gradient(kind, X, lam, W1, W2)
    assert dW1.shape == (k, m) and dW2.shape == (m, k)
    w = flat(W1, W2)
    expected = np.empty_like(w)
    for p in range(w.size):
        e = np.zeros_like(w)
        e[p] = 1.0
        expected[p] = richardson_derivative(
            lambda t: ls.loss(kind, X, lam, *unflat(w + t * e, k, m)))
    scale = ls.loss(kind, X, lam, W1, W2) + np.abs(expected).max()
    np.testing.assert_allclose(flat(dW1, dW2), expected, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_hessian_matches_finite_differences_of_the_gradient(kind, seed):
    """Column p of the Hessian equals d/dt gradient(W + t e_p) (the gradient is cubic in t)."""
    rng = np.random.default_rng(100 + seed)
    m = int(rng.integers(1, 6))
    k = int(rng.integers(1, m + 1))
    X, _, _, W1, W2 = random_problem(rng, m, k)
    lam = float(rng.uniform(0, 4))
    H = ls.hessian(kind, X, lam, W1, W2)
    assert H.shape == (2 * k * m, 2 * k * m)
    np.testing.assert_array_equal(H, H.T)
    w = flat(W1, W2)
    expected = np.empty_like(H)
    for p in range(w.size):
        e = np.zeros_like(w)
        e[p] = 1.0
        expected[:, p] = richardson_derivative(
            lambda t: flat(*ls.gradient(kind, X, lam, *unflat(w + t * e, k, m))))
    np.testing.assert_allclose(H, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("kind", KINDS)
def test_scalar_hessian_matches_the_closed_form(kind):
    """m = k = 1, from L = x²(1−p)²: ∂²/∂w₁² = 2x²w₂², ∂²/∂w₁∂w₂ = 2x²(2p − 1); λp² adds
    2λw₂², 2λw₁² and 4λp; λ(w₁² + w₂²) adds 2λ on the diagonal."""
    x, lam, w1, w2 = 1.7, 0.6, 0.8, -1.3
    p = w1 * w2
    H = 2 * x**2 * np.array([[w2**2, 2 * p - 1], [2 * p - 1, w1**2]])
    if kind == "product":
        H = H + lam * np.array([[2 * w2**2, 4 * p], [4 * p, 2 * w1**2]])
    if kind == "sum":
        H = H + 2 * lam * np.eye(2)
    np.testing.assert_allclose(ls.hessian(kind, [[x]], lam, [[w1]], [[w2]]), H, rtol=1e-13)


# --------------------------------------------------------------------------- Table 1


def random_table1_draw(rng, kind):
    """A random (X, U, σ, I, λ, G) for Table 1, with I in random order and λ admissible."""
    m = int(rng.integers(1, 7))
    k = int(rng.integers(1, m + 1))
    l = int(rng.integers(0, k + 1))
    sigma = np.sort(rng.uniform(0.3, 3.0, m))[::-1]
    X, U = ls.random_data(m, m + int(rng.integers(1, 5)), sigma, int(rng.integers(1 << 30)))
    I = tuple(int(i) for i in rng.permutation(m)[:l])
    cap = min((sigma[i] ** 2 for i in I), default=10.0) if kind == "sum" else 10.0
    lam = float(rng.uniform(0, cap)) * float(rng.integers(0, 2))  # λ = 0 half the time
    return X, U, sigma, I, lam, random_G(rng, kind, k, l)


@pytest.mark.parametrize("kind", KINDS)
def test_table1_points_are_critical(kind):
    """Landscape Theorem / Table 1: the gradient vanishes at every Table 1 point (X = UΣVᵀ)."""
    rng = np.random.default_rng({"unregularized": 11, "product": 12, "sum": 13}[kind])
    for _ in range(150):
        X, U, sigma, I, lam, G = random_table1_draw(rng, kind)
        W1, W2 = ls.table1_point(kind, U, sigma, I, lam, G)
        assert W1.shape == (G.shape[0], U.shape[0]) and W2.shape == W1.T.shape
        dW1, dW2 = ls.gradient(kind, X, lam, W1, W2)
        size = np.linalg.norm(dW1) + np.linalg.norm(dW2)
        assert size <= 1e-12 * gradient_scale(X, lam, W1, W2), (I, lam)


def test_table1_formulas_are_specific_to_their_loss():
    """The three rows of Table 1 differ for λ > 0: a point of one loss is not critical for another
    (so the criticality test above can fail)."""
    rng = np.random.default_rng(5)
    sigma = SIGMA5[:3]
    X, U = ls.random_data(3, 8, sigma, 5)
    G = random_G(rng, "sum", 2, 2)
    for point_kind, loss_kind in [("unregularized", "product"), ("product", "sum"),
                                  ("sum", "unregularized")]:
        W1, W2 = ls.table1_point(point_kind, U, sigma, (0, 1), 1.0, G)
        dW1, dW2 = ls.gradient(loss_kind, X, 1.0, W1, W2)
        assert np.linalg.norm(dW1) + np.linalg.norm(dW2) > 1e-2 * gradient_scale(X, 1.0, W1, W2)


@pytest.mark.parametrize("kind, shrink", [
    ("unregularized", lambda s2, lam: np.ones_like(s2)),
    ("product", lambda s2, lam: 1 / (1 + lam / s2)),
    ("sum", lambda s2, lam: np.maximum(0, 1 - lam / s2)),
])
def test_table1_product_shrinks_singular_values_as_stated(kind, shrink):
    """DESIGN.md, posterior collapse: W2W1 = U_I diag(shrink(σ_I²)) U_Iᵀ with shrink = 1,
    1/(1 + λ/σ²) (product) or 1 − λ/σ² (sum)."""
    rng = np.random.default_rng(7)
    sigma = SIGMA5[:4]
    _, U = ls.random_data(4, 9, sigma, 7)
    I = (2, 0, 1)
    lam = 0.9
    W1, W2 = ls.table1_point(kind, U, sigma, I, lam, random_G(rng, kind, 3, 3))
    U_I = U[:, list(I)]
    expected = U_I @ np.diag(shrink(sigma[list(I)] ** 2, lam)) @ U_I.T
    np.testing.assert_allclose(W2 @ W1, expected, atol=1e-13)


def test_scalar_table1_points_match_design():
    """m = k = 1 (DESIGN.md): hyperbolas w₁w₂ = 1 and x²/(x² + λ); sum: w₁ = w₂ = ±√(1 − λ/x²),
    which exist only while x² > λ (the pitchfork at λ = x²)."""
    x, lam = 2.0, 1.5
    for g in (0.5, -3.0):
        W1, W2 = ls.table1_point("unregularized", [[1.0]], [x], [0], lam, [[g]])
        assert W1[0, 0] * W2[0, 0] == pytest.approx(1.0)
        W1, W2 = ls.table1_point("product", [[1.0]], [x], [0], lam, [[g]])
        assert W1[0, 0] * W2[0, 0] == pytest.approx(x**2 / (x**2 + lam))
    for o in (1.0, -1.0):
        W1, W2 = ls.table1_point("sum", [[1.0]], [x], [0], lam, [[o]])
        assert W1[0, 0] == W2[0, 0] == pytest.approx(o * np.sqrt(1 - lam / x**2))
    for past in (x**2, x**2 + 0.1):
        with pytest.raises(ValueError, match=r"^I\b.*lam"):
            ls.table1_point("sum", [[1.0]], [x], [0], past, [[1.0]])


def test_empty_index_set_gives_the_origin():
    _, U = ls.random_data(3, 6, SIGMA5[:3], 0)
    for kind in KINDS:
        W1, W2 = ls.table1_point(kind, U, SIGMA5[:3], [], 0.4, np.zeros((2, 0)))
        np.testing.assert_array_equal(W1, np.zeros((2, 3)))
        np.testing.assert_array_equal(W2, np.zeros((3, 2)))


def test_sum_loss_critical_points_have_encoder_equal_to_decoder_transpose():
    """Transpose Theorem: at every critical point of L_σ, W1 = W2ᵀ — here at Table 1 points."""
    rng = np.random.default_rng(21)
    for _ in range(100):
        X, U, sigma, I, lam, G = random_table1_draw(rng, "sum")
        W1, W2 = ls.table1_point("sum", U, sigma, I, lam, G)
        np.testing.assert_allclose(W1, W2.T, atol=1e-14)


def test_gradient_descent_on_the_sum_loss_ends_with_encoder_equal_to_decoder_transpose():
    """Transpose Theorem, reached rather than constructed: plain gradient descent on L_σ from an
    unbalanced start (W1 ≠ W2ᵀ) ends at a point with W1 = W2ᵀ."""
    rng = np.random.default_rng(3)
    X, _ = ls.random_data(3, 10, [2.0, 1.5, 0.5], 3)
    lam = 0.3
    W1, W2 = rng.standard_normal((2, 3)), 0.2 * rng.standard_normal((3, 2))
    assert np.abs(W1 - W2.T).max() > 0.5
    for _ in range(3000):
        dW1, dW2 = ls.gradient("sum", X, lam, W1, W2)
        W1, W2 = W1 - 0.02 * dW1, W2 - 0.02 * dW2
    assert max(np.abs(dW1).max(), np.abs(dW2).max()) < 1e-8
    np.testing.assert_allclose(W1, W2.T, atol=1e-8)


# --------------------------------------------------------------------------- inertia


def test_scalar_inertia_matches_design():
    """m = k = 1: the origin of L is a saddle (one down, one up); the hyperbola w₁w₂ = 1 is a
    degenerate minimum (one flat, one up); the sum-loss minimum is strict; the origin of L_σ is
    a saddle while x² > λ and a minimum once λ > x²."""
    x = 2.0
    assert ls.hessian_inertia("unregularized", [[x]], 0, [[0.0]], [[0.0]]) == (1, 0, 1)
    assert ls.hessian_inertia("unregularized", [[x]], 0, [[4.0]], [[0.25]]) == (0, 1, 1)
    w = np.sqrt(1 - 1.0 / x**2)
    assert ls.hessian_inertia("sum", [[x]], 1.0, [[w]], [[w]]) == (0, 0, 2)
    assert ls.hessian_inertia("sum", [[x]], 1.0, [[0.0]], [[0.0]]) == (1, 0, 1)
    assert ls.hessian_inertia("sum", [[x]], 5.0, [[0.0]], [[0.0]]) == (0, 0, 2)


def test_inertia_tolerance_can_be_given():
    inertia = ls.hessian_inertia("sum", [[2.0]], 1.0, [[0.0]], [[0.0]], tol=100.0)
    assert inertia == ls.Inertia(descending=0, flat=2, ascending=0)


@pytest.mark.parametrize("kind", KINDS)
def test_measured_inertia_matches_the_landscape_theorem(kind):
    """Measured Hessian inertia at every Table 1 point for m ≤ 5, all k ≤ m, all I with
    |I| ≤ k and λ ∈ {0, 0.5, 3, 20} (below, between and above the σ_i² = 9, 4.84, 2.56, 1.21,
    0.49), against ``predicted_descending`` and ``critical_set_dimension``.

    What was found (and why the prediction reads as it does):

    - unregularized and product: the paper's d_I + (k − l)(m − l) is measured exactly for every
      λ ≥ 0 — the product penalty λ‖W2W1‖² is quartic in an unused latent dimension, so it
      changes no second-order sign.
    - sum: the unmodified count over-states the descending directions whenever some unused
      σ_j² < λ. E.g. m = 3, k = 2, I = (0,), λ = 3: the paper's formula gives
      0 + 1·2 = 2, the Hessian has 1 negative eigenvalue. The Hessian is right: taking up u_j
      in the unused latent dimension changes the loss by exactly 2t²(λ ∓ σ_j²) + t⁴σ_j²
      (see the next test), which ascends for σ_j² < λ. The Landscape Theorem's own condition
      σ_j² > λ therefore restricts the count to j with σ_j² > λ, and so does the prediction.
    - flat count: the critical manifold through the point — {HK = D}, dimension 2kl − l², for
      L, L_π and L_σ at λ = 0; the Stiefel manifold, dimension kl − l(l+1)/2, for L_σ at
      λ > 0 — accounts for every zero eigenvalue (no further degeneracy for distinct σ and
      σ_j² ≠ λ).
    """
    rng = np.random.default_rng(31)
    checked = 0
    for m in range(1, 6):
        sigma = SIGMA5[:m]
        X, U = ls.random_data(m, m + 3, sigma, m)
        for k in range(1, m + 1):
            for I in all_index_sets(m, k):
                for lam in LAMS:
                    if kind == "sum" and any(sigma[i] ** 2 <= lam for i in I):
                        continue  # no such critical point (tested in the validation section)
                    W1, W2 = ls.table1_point(kind, U, sigma, I, lam, random_G(rng, kind, k, len(I)))
                    measured = ls.hessian_inertia(kind, X, lam, W1, W2)
                    where = dict(m=m, k=k, I=I, lam=lam, measured=measured)
                    assert sum(measured) == 2 * k * m
                    predicted = ls.predicted_descending(kind, sigma, I, k, lam)
                    assert measured.descending == predicted, where
                    assert measured.flat == ls.critical_set_dimension(kind, k, len(I), lam), where
                    checked += 1
    assert checked > 300


def test_paper_count_without_the_sum_condition_overstates_descent():
    """The concrete disagreement: m = 3, k = 2, σ = (3, 2.2, 1.6), I = (0,), λ = 3.

    The uncorrected d_I + (k − l)(m − l) = 0 + 1·2 = 2; the Hessian has one negative
    eigenvalue. Along E1 = t e u_jᵀ, E2 = ±t u_j eᵀ (e ⊥ O the unused latent direction, j ∉ I)
    we have W2E1 = 0, E2W1 = 0 and E2E1 = ±t² u_j u_jᵀ, so, with (I − W2W1)u_j = u_j,

        L_σ(W + E) − L_σ(W) = ∓2t²σ_j² + t⁴σ_j² + 2λt²  =  2t²(λ ∓ σ_j²) + t⁴σ_j².

    For j = 1 (σ_j² = 4.84 > λ) the minus sign descends; for j = 2 (σ_j² = 2.56 < λ) both
    signs ascend — that direction has collapsed, as the condition σ_j² > λ says.
    """
    sigma = np.array([3.0, 2.2, 1.6])
    lam, t = 3.0, 0.1
    X, U = ls.random_data(3, 7, sigma, 2)
    O = np.array([[0.6], [0.8]])
    e = np.array([-0.8, 0.6])  # unit, orthogonal to O
    W1, W2 = ls.table1_point("sum", U, sigma, (0,), lam, O)
    base = ls.loss("sum", X, lam, W1, W2)
    for j in (1, 2):
        for sign in (1, -1):
            E1 = t * np.outer(e, U[:, j])
            E2 = sign * t * np.outer(U[:, j], e)
            change = ls.loss("sum", X, lam, W1 + E1, W2 + E2) - base
            expected = 2 * t**2 * (lam - sign * sigma[j] ** 2) + t**4 * sigma[j] ** 2
            assert change == pytest.approx(expected, rel=1e-9)
    assert ls.hessian_inertia("sum", X, lam, W1, W2).descending == 1
    assert ls.predicted_descending("sum", sigma, (0,), 2, lam) == 1
    assert ls.d_index((0,), 3) + (2 - 1) * (3 - 1) == 2  # the uncorrected count


@pytest.mark.parametrize("kind", KINDS)
def test_measured_descending_directions_really_descend(kind):
    """Independent of the Hessian's signs: along each eigenvector v with eigenvalue μ, the
    symmetric second difference loss(W + tv) + loss(W − tv) − 2 loss(W) has the sign of μ."""
    rng = np.random.default_rng(41)
    for m in (2, 3, 4):
        sigma = SIGMA5[:m]
        X, U = ls.random_data(m, m + 3, sigma, 40 + m)
        for k in range(1, m + 1):
            for I in all_index_sets(m, k):
                lam = 0.5
                W1, W2 = ls.table1_point(kind, U, sigma, I, lam, random_G(rng, kind, k, len(I)))
                mu, vecs = np.linalg.eigh(ls.hessian(kind, X, lam, W1, W2))
                w, t = flat(W1, W2), 1e-3
                base = ls.loss(kind, X, lam, W1, W2)
                for value, vec in zip(mu, vecs.T):
                    if abs(value) < 1e-3:
                        continue
                    second = (ls.loss(kind, X, lam, *unflat(w + t * vec, k, m))
                              + ls.loss(kind, X, lam, *unflat(w - t * vec, k, m)) - 2 * base)
                    assert np.sign(second) == np.sign(value), (m, k, I, value, second)


def test_pitchfork_lambda_adds_one_flat_direction_per_unused_latent_dimension():
    """Sum loss at λ = σ_j² exactly (j ∉ I): the pair (λ ∓ σ_j²) above has a zero, so each of the
    k − l unused latent dimensions gains a flat direction; the descending count is unchanged
    (σ_j² > λ fails, so j is not counted)."""
    rng = np.random.default_rng(51)
    sigma = SIGMA5[:4]
    X, U = ls.random_data(4, 8, sigma, 51)
    lam = float(sigma[2] ** 2)
    for k in (2, 3, 4):
        for I in all_index_sets(4, k):
            if 2 in I or 3 in I:
                continue
            W1, W2 = ls.table1_point("sum", U, sigma, I, lam, random_G(rng, "sum", k, len(I)))
            measured = ls.hessian_inertia("sum", X, lam, W1, W2)
            l = len(I)
            assert measured.descending == ls.predicted_descending("sum", sigma, I, k, lam)
            assert measured.flat == ls.critical_set_dimension("sum", k, l, lam) + (k - l)


def test_inertia_resolves_a_lambda_just_below_the_pitchfork():
    """The default tolerance calls only rounding-level eigenvalues flat: at λ = σ₂²(1 − 1e-8) the
    origin of L_σ still has 3 descending directions per latent dimension (eigenvalues
    2(λ − σ_j²), the smallest ≈ −5e-8 against a largest ≈ 2(λ + σ₀²) ≈ 23)."""
    sigma = SIGMA5[:3]
    X, _ = ls.random_data(3, 7, sigma, 8)
    lam = float(sigma[2] ** 2) * (1 - 1e-8)
    assert ls.predicted_descending("sum", sigma, (), 3, lam) == 9
    assert ls.hessian_inertia("sum", X, lam, np.zeros((3, 3)), np.zeros((3, 3))) == (9, 0, 9)


def test_d_index_gives_the_grassmannian_betti_numbers():
    """DESIGN.md: d_I is the Morse index of span(u_I) on Gr_l(R^m), an F₂-perfect Morse function:
    Gr₁(R³) = RP² → 1, 1, 1 and Gr₂(R⁴) → 1, 1, 2, 1, 1 critical points of index 0, 1, …"""
    def counts(l, m):
        indices = [ls.d_index(I, m) for I in itertools.combinations(range(m), l)]
        return [indices.count(d) for d in range(max(indices) + 1)]

    assert counts(1, 3) == [1, 1, 1]
    assert counts(2, 4) == [1, 1, 2, 1, 1]
    assert ls.d_index([], 4) == 0
    assert ls.d_index((3, 1), 5) == 1 + 2  # j = 0 for i = 1; j = 0, 2 for i = 3


def test_global_minimum_has_no_descending_direction():
    """The top-k principal subspace (I = 0..k−1) is the minimum of all three losses."""
    sigma = SIGMA5
    for kind in KINDS:
        for k in range(1, 6):
            assert ls.predicted_descending(kind, sigma, range(k), k, 0.3) == 0


# --------------------------------------------------------------------------- random_data


def test_random_data_has_the_given_singular_values_and_centred_rows():
    sigma = [4.0, 2.5, 1.0]
    X, U = ls.random_data(4, 9, sigma, 3)
    assert X.shape == (4, 9) and U.shape == (4, 3)
    np.testing.assert_allclose(np.linalg.svd(X, compute_uv=False), sigma + [0.0], atol=1e-12)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-14)
    # U holds the left singular vectors, in order: UᵀX has orthogonal rows of norms σ.
    np.testing.assert_allclose((U.T @ X) @ (U.T @ X).T, np.diag(np.square(sigma)), atol=1e-12)
    X2, _ = ls.random_data(4, 9, sigma, 3)
    np.testing.assert_array_equal(X, X2)
    X3, _ = ls.random_data(4, 9, sigma, 4)
    assert not np.allclose(X, X3)


# --------------------------------------------------------------------------- validation


_X, _U = ls.random_data(3, 6, SIGMA5[:3], 0)
_W1, _W2 = np.ones((2, 3)), np.ones((3, 2))
_S3 = SIGMA5[:3]
_O = np.eye(3)[:, :1][:2]  # 2 × 1, orthonormal


def _weights_calls():
    for f in (ls.loss, ls.gradient, ls.hessian, ls.hessian_inertia):
        yield f, ("product", _X, 1.0, _W1, _W2), {}


BAD_CALLS = [
    # (function, args, kwargs, argument named)
    *[(f, ("ridge", *a[1:]), kw, "kind") for f, a, kw in _weights_calls()],
    *[(f, (a[0], a[1], -1.0, *a[3:]), kw, "lam") for f, a, kw in _weights_calls()],
    *[(f, (a[0], a[1], float("nan"), *a[3:]), kw, "lam") for f, a, kw in _weights_calls()],
    *[(f, (a[0], a[1], "1", *a[3:]), kw, "lam") for f, a, kw in _weights_calls()],
    *[(f, (a[0], np.full((3, 6), np.inf), *a[2:]), kw, "X") for f, a, kw in _weights_calls()],
    *[(f, (a[0], np.ones(3), *a[2:]), kw, "X") for f, a, kw in _weights_calls()],
    *[(f, (*a[:3], np.ones((2, 4)), a[4]), kw, "W1") for f, a, kw in _weights_calls()],
    *[(f, (*a[:3], np.ones((4, 3)), np.ones((3, 4))), kw, "W1") for f, a, kw in _weights_calls()],
    *[(f, (*a[:3], np.ones((0, 3)), np.ones((3, 0))), kw, "W1") for f, a, kw in _weights_calls()],
    *[(f, (*a[:4], np.ones((3, 1))), kw, "W2") for f, a, kw in _weights_calls()],
    *[(f, (*a[:4], np.ones((2, 3))), kw, "W2") for f, a, kw in _weights_calls()],
    (ls.hessian_inertia, ("sum", _X, 1.0, _W1, _W2), {"tol": -1.0}, "tol"),
    (ls.hessian_inertia, ("sum", _X, 1.0, _W1, _W2), {"tol": float("inf")}, "tol"),
    # table1_point(kind, U, sigma, I, lam, G)
    (ls.table1_point, ("pca", _U, _S3, [0], 1.0, _O), {}, "kind"),
    (ls.table1_point, ("sum", _U, _S3, [0], -0.5, _O), {}, "lam"),
    (ls.table1_point, ("sum", 2 * _U, _S3, [0], 1.0, _O), {}, "U"),
    (ls.table1_point, ("sum", _U[:, :2], _S3, [0], 1.0, _O), {}, "sigma"),
    (ls.table1_point, ("sum", _U, [1.0, 2.0, 3.0], [0], 1.0, _O), {}, "sigma"),
    (ls.table1_point, ("sum", _U, [3.0, 2.0, 2.0], [0], 1.0, _O), {}, "sigma"),
    (ls.table1_point, ("sum", _U, [3.0, 2.0, -1.0], [0], 1.0, _O), {}, "sigma"),
    (ls.table1_point, ("sum", _U, [3.0, np.nan, 1.0], [0], 1.0, _O), {}, "sigma"),
    (ls.table1_point, ("sum", _U, _S3, [3], 1.0, _O), {}, "I"),
    (ls.table1_point, ("sum", _U, _S3, [-1], 1.0, _O), {}, "I"),
    (ls.table1_point, ("sum", _U, _S3, [1, 1], 1.0, np.eye(2)), {}, "I"),
    (ls.table1_point, ("sum", _U, _S3, [0.0], 1.0, _O), {}, "I"),
    (ls.table1_point, ("sum", _U, _S3, 0, 1.0, _O), {}, "I"),
    (ls.table1_point, ("sum", _U, _S3, [0, 1, 2], 1.0, np.eye(2)), {}, "I"),
    (ls.table1_point, ("sum", _U, _S3, [2], 3.0, _O), {}, "I"),       # σ₂² = 2.56 ≤ λ
    (ls.table1_point, ("sum", _U, _S3, [0], 1.0, np.ones((2, 1))), {}, "G"),  # not orthonormal
    (ls.table1_point, ("product", _U, _S3, [0, 1], 1.0, np.ones((2, 2))), {}, "G"),  # dependent
    (ls.table1_point, ("product", _U, _S3, [0], 1.0, np.ones((2, 2))), {}, "G"),  # shape
    (ls.table1_point, ("product", _U, _S3, [0], 1.0, np.ones((4, 1))), {}, "G"),  # k > m
    (ls.table1_point, ("product", _U, _S3, [0], 1.0, np.ones(2)), {}, "G"),
    # predicted_descending(kind, sigma, I, k, lam)
    (ls.predicted_descending, ("tied", _S3, [0], 2, 1.0), {}, "kind"),
    (ls.predicted_descending, ("sum", _S3[::-1], [0], 2, 1.0), {}, "sigma"),
    (ls.predicted_descending, ("sum", _S3, [0], 4, 1.0), {}, "k"),
    (ls.predicted_descending, ("sum", _S3, [0], 0, 1.0), {}, "k"),
    (ls.predicted_descending, ("sum", _S3, [0], 1.5, 1.0), {}, "k"),
    (ls.predicted_descending, ("sum", _S3, [0, 1], 1, 1.0), {}, "I"),
    (ls.predicted_descending, ("sum", _S3, [5], 2, 1.0), {}, "I"),
    (ls.predicted_descending, ("sum", _S3, [2], 2, 3.0), {}, "I"),
    (ls.predicted_descending, ("sum", _S3, [0], 2, -1.0), {}, "lam"),
    # d_index, critical_set_dimension, random_data
    (ls.d_index, ([0, 0], 3), {}, "I"),
    (ls.d_index, ([0], 0), {}, "m"),
    (ls.critical_set_dimension, ("sums", 2, 1, 0.0), {}, "kind"),
    (ls.critical_set_dimension, ("sum", 2, 3, 0.0), {}, "l"),
    (ls.critical_set_dimension, ("sum", 0, 0, 0.0), {}, "k"),
    (ls.critical_set_dimension, ("sum", 2, 1, np.nan), {}, "lam"),
    (ls.random_data, (3, 3, [2.0, 1.0, 0.5], 0), {}, "n"),
    (ls.random_data, (2, 9, [2.0, 1.0, 0.5], 0), {}, "sigma"),
    (ls.random_data, (0, 9, [2.0], 0), {}, "m"),
    (ls.random_data, (3, 9, [2.0, 1.0], -1), {}, "seed"),
    (ls.random_data, (3, 9, [2.0, 1.0], 1.5), {}, "seed"),
]


@pytest.mark.parametrize("function, args, kwargs, name", BAD_CALLS,
                         ids=[f"{c[0].__name__}-{c[3]}-{i}" for i, c in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_argument(function, args, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        function(*args, **kwargs)


def test_good_versions_of_the_bad_calls_pass():
    """The fixtures above are valid apart from the one broken argument."""
    for f, args, kwargs in _weights_calls():
        f(*args, **kwargs)
    ls.table1_point("sum", _U, _S3, [0], 1.0, _O)
    ls.table1_point("product", _U, _S3, [0, 1], 1.0, np.eye(2))
    assert ls.predicted_descending("sum", _S3, [0], 2, 1.0) == 2
