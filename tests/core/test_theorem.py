"""The Landscape Theorem table (``lae_core.theorem``) against the paper and independent
constructions.

Expected counts are written here from the paper's statement (d_I + (k − l)(m − l), m₀ for L_σ,
dim F_I = kl, dim V_I = kl − l(l + 1)/2); where the measured Hessian disagrees, the disagreement is
reproduced by a construction written in the test — a curve of critical points checked with
finite-difference gradients, the symmetry group's orbit built with a matrix exponential, the loss
along a pitchfork direction — never by calling the code under test for the expected value.

Index sets are 0-based, as in the module.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from lae_core import landscape as ls
from lae_core import solvers
from lae_core import theorem as th

KINDS = ("unregularized", "product", "sum")
SIGMA4 = np.array([4.0, 3.0, 2.0, 1.5])          # σ² = 16, 9, 4, 2.25
SIGMA5 = np.array([4.0, 3.0, 2.0, 1.5, 1.0])     # σ² = 16, 9, 4, 2.25, 1


# --------------------------------------------------------------------------- the paper, here


def d_I(I, m):
    """#{(i, j) : i ∈ I, j ∉ I, j < i} (Landscape Theorem)."""
    return sum(1 for i in I for j in range(m) if j not in I and j < i)


def m0_of(kind, sigma, lam):
    return int(np.sum(sigma**2 > lam)) if kind == "sum" else len(sigma)


def paper_descending(kind, sigma, I, k, lam):
    """d_I + (k − l)(m − l); for L_σ, m₀ = #{σᵢ² > λ} in place of m."""
    return d_I(I, len(sigma)) + (k - len(I)) * (m0_of(kind, sigma, lam) - len(I))


def paper_flat(kind, k, l):
    """dim F_I = kl (G ∈ R^{k×l} of full rank); dim V_I = kl − l(l + 1)/2 (Stiefel)."""
    return k * l - l * (l + 1) // 2 if kind == "sum" else k * l


def gl_orbit_dimension(k, l):
    """k² − (k − l)²: GL(k) minus the stabiliser of a rank-l point, GL(k − l) on the complement."""
    return k * k - (k - l) ** 2


def closed_form_loss(kind, sigma, I, lam):
    """The loss at a Table 1 point, from W₂W₁ = U_I D U_Iᵀ:
    L: Σ_{j∉I} σⱼ²;  L_π: + Σ_{i∈I} λσᵢ²/(σᵢ² + λ);  L_σ: + Σ_{i∈I} (2λ − λ²/σᵢ²)."""
    rest = sum(sigma[j] ** 2 for j in range(len(sigma)) if j not in I)
    s2 = np.array([sigma[i] ** 2 for i in I])
    if kind == "unregularized":
        return rest
    if kind == "product":
        return rest + float(np.sum(lam * s2 / (s2 + lam)))
    return rest + float(np.sum(2 * lam - lam**2 / s2))


def all_index_sets(m, k):
    for l in range(k + 1):
        yield from itertools.combinations(range(m), l)


def richardson_gradient(f, w, h=1e-3):
    """∇f(w) by central differences with one Richardson step: exact for quartic f."""
    grad = np.empty_like(w)
    for p in range(w.size):
        e = np.zeros_like(w)
        e[p] = 1.0

        def central(step):
            return (f(w + step * e) - f(w - step * e)) / (2 * step)

        grad[p] = (4 * central(h) - central(2 * h)) / 3
    return grad


def flat(W1, W2):
    return np.concatenate([W1.ravel(), W2.ravel()])


def loss_of(table, w):
    k, m = table.k, table.m
    W1, W2 = w[: k * m].reshape(k, m), w[k * m :].reshape(m, k)
    return ls.loss(table.kind, table.X, table.lam, W1, W2)


# --------------------------------------------------------------------------- counts


CASES = [  # (kind, sigma, k, lam): l < k throughout; λ below, between and above the σᵢ²
    *[(kind, SIGMA4, 2, lam) for kind in KINDS for lam in (0.0, 0.5, 6.0)],
    *[(kind, SIGMA5, 3, lam) for kind in KINDS for lam in (0.3, 3.0, 12.0, 20.0)],
    ("unregularized", th.default_sigma(3), 1, 0.0),
    ("sum", th.default_sigma(6), 2, 1.8),
    ("product", th.default_sigma(8), 4, 2.0),
    ("sum", th.default_sigma(8), 4, 0.7),
]


@pytest.mark.parametrize("kind, sigma, k, lam", CASES)
def test_rows_are_every_index_set_with_the_papers_counts(kind, sigma, k, lam):
    """One row per I with |I| ≤ k; the theorem columns are the paper's; the measured descending
    count is the paper's; the measured flat count is dim V_I for L_σ (λ > 0) and 2kl − l² — not
    dim F_I = kl — for L and L_π (and L_σ at λ = 0), with the words that say why on every row
    where the two differ."""
    table = th.manifolds(kind, sigma, k, lam, seed=1)
    m = len(sigma)
    assert [row.I for row in table.rows] == list(all_index_sets(m, k))
    assert len(table.rows) == sum(math.comb(m, l) for l in range(k + 1))
    assert table.m0 == m0_of(kind, sigma, lam)
    for row in table.rows:
        l = len(row.I)
        exists = kind != "sum" or all(sigma[i] ** 2 > lam for i in row.I)
        assert row.exists == exists and row.l == l
        if not exists:
            assert row.measured is None and row.gone_reason.startswith("Gone")
            continue
        assert row.predicted_descending == paper_descending(kind, sigma, row.I, k, lam)
        assert row.predicted_flat == paper_flat(kind, k, l)
        assert row.measured.descending == row.predicted_descending, row
        group_acts = kind != "sum" or lam == 0
        expected_flat = gl_orbit_dimension(k, l) if group_acts else paper_flat(kind, k, l)
        assert row.measured.flat == expected_flat, row
        assert sum(row.measured) == 2 * k * m
        expected_loss = closed_form_loss(kind, sigma, row.I, lam)
        assert row.loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
        assert not row.degenerate
        if row.measured.flat != row.predicted_flat:
            assert len(row.notes) == 1 and "2kl − l²" in row.notes[0]
            assert ("λ = 0" in row.notes[0]) == (kind == "sum")
        else:
            assert row.notes == ()


def test_sum_loss_keeps_only_index_sets_above_lambda_and_says_why():
    """σ² = 16, 9, 4, 2.25 and λ = 3 (between σ₃² and σ₄²): m₀ = 3, so with k = 2 the 1 + 3 + 3 = 7
    sets inside {1, 2, 3} survive and the 4 that hold index 4 are gone, each with its reason."""
    table = th.manifolds("sum", SIGMA4, 2, 3.0)
    assert table.m0 == 3
    assert table.survivors == 7 and len(table.gone) == 4
    assert [row.label for row in table.gone] == ["{4}", "{1, 4}", "{2, 4}", "{3, 4}"]
    reason = table.row((1, 3)).gone_reason
    assert "σ₄² = 2.25" in reason and "≤ λ = 3" in reason and "posterior collapse" in reason
    assert "merged into {2} when λ rose through σ₄²" in reason
    assert table.global_min.I == (0, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_manifolds_vanish_as_lambda_crosses_each_sigma_squared(kind):
    """The number of manifolds is Σ_{l ≤ min(k, m₀)} C(m₀, l) at every λ: it drops as λ passes
    each σᵢ² for L_σ, and never for L and L_π."""
    sigma, k = SIGMA5, 3
    for lam in (0.0, 0.5, 1.5, 3.0, 6.0, 10.0, 17.0, 20.0):
        table = th.manifolds(kind, sigma, k, lam)
        m0 = m0_of(kind, sigma, lam)
        assert table.m0 == m0
        assert table.survivors == sum(math.comb(m0, l) for l in range(min(k, m0) + 1))


@pytest.mark.parametrize("kind", KINDS)
def test_global_minimum_is_the_top_principal_subspace_and_the_lowest_rung(kind):
    """The global minimum is I = {1..min(k, m₀)}: the lowest loss on the ladder, no descending
    direction, flagged on exactly one row; the ladder lists the existing rows by loss."""
    for lam in (0.0, 1.2, 5.0, 20.0):
        table = th.manifolds(kind, SIGMA5, 3, lam)
        flagged = [row for row in table.rows if row.is_global_min]
        assert len(flagged) == 1 and flagged[0] is table.global_min
        best = table.global_min
        assert best.I == tuple(range(min(3, m0_of(kind, SIGMA5, lam))))
        assert best.measured.descending == 0
        losses = [row.loss for row in table.ladder]
        assert losses == sorted(losses)
        assert table.ladder[0].loss == pytest.approx(best.loss, rel=1e-12)
        assert len(table.ladder) == table.survivors


def test_sum_loss_points_have_encoder_equal_to_decoder_transpose():
    """Transpose Theorem at every row of L_σ; L and L_π need not (their G is not orthogonal)."""
    assert all(row.transpose_gap < 1e-12 for row in th.manifolds("sum", SIGMA5, 3, 0.8).rows
               if row.exists)
    gaps = [row.transpose_gap for row in th.manifolds("product", SIGMA5, 3, 0.8).rows if row.l]
    assert min(gaps) > 1e-3


def test_batched_counts_equal_hessian_inertia_at_each_point():
    """The table's one stacked eigensolver call counts as ``landscape.hessian_inertia`` does,
    point by point (that function is checked against finite differences in test_landscape)."""
    for kind in KINDS:
        table = th.manifolds(kind, SIGMA5, 3, 2.0, seed=4)
        for row in table.rows[::3]:
            if row.exists:
                assert row.measured == ls.hessian_inertia(kind, table.X, table.lam, row.W1, row.W2)


def test_unregularized_rows_do_not_depend_on_lambda():
    """L has no λ: at λ = 17 each row's loss and Hessian inertia (landscape's, at the row's point)
    are those of λ = 0.3, and so are the table's rows."""
    low, high = (th.manifolds("unregularized", SIGMA5, 3, lam, seed=2) for lam in (0.3, 17.0))
    assert (low.lam, high.lam) == (0.3, 17.0)
    for a, b in zip(low.rows, high.rows):
        assert (a.I, a.loss, a.measured, a.notes) == (b.I, b.loss, b.measured, b.notes)
        assert b.loss == pytest.approx(ls.loss("unregularized", high.X, 17.0, b.W1, b.W2), rel=1e-12)
        assert b.measured == ls.hessian_inertia("unregularized", high.X, 17.0, b.W1, b.W2)
        assert b.loss == pytest.approx(closed_form_loss("unregularized", SIGMA5, b.I, 17.0), rel=1e-9)


def test_points_are_critical_and_fixed_by_the_seed():
    rng = np.random.default_rng(0)
    for kind in KINDS:
        table = th.manifolds(kind, SIGMA4, 2, 1.1, seed=7)
        for row in (r for r in table.rows if r.exists):
            grad = richardson_gradient(lambda w: loss_of(table, w), flat(row.W1, row.W2))
            assert np.abs(grad).max() < 1e-8, (kind, row.I)
        again = th.manifolds(kind, SIGMA4, 2, 1.1, seed=7)
        other = th.manifolds(kind, SIGMA4, 2, 1.1, seed=8)
        row = table.rows[int(rng.integers(1, len(table.rows)))]
        np.testing.assert_array_equal(again.row(row.I).W1, row.W1)
        assert not np.allclose(other.row(row.I).W1, row.W1)


# ------------------------------------------------------------ the disagreement, reproduced


def row_parts(table, row):
    """U_I and the diagonal D of Table 1 for the row (written from the paper)."""
    I = list(row.I)
    s2 = table.sigma[I] ** 2
    D = {"unregularized": np.ones_like(s2), "product": (1 + table.lam / s2) ** -0.5,
         "sum": np.sqrt(1 - table.lam / s2)}[table.kind]
    return table.U[:, I], D


@pytest.mark.parametrize("kind", ["unregularized", "product"])
def test_flat_directions_beyond_F_I_form_a_curve_of_critical_points(kind):
    """m = 4, k = 3, I = {1, 3} (l = 2 < k): the Hessian has 2kl − l² = 8 flat directions, F_I only
    kl = 6. The curve W₂(t) = W₂ + t U_I B with BW₁ = 0 keeps W₂W₁, its points are critical
    (finite-difference gradient 0), and it leaves F_I: with W₁ fixed, F_I's only decoder is the
    row's own. So the critical set is larger than F_I, as the measurement says."""
    table = th.manifolds(kind, SIGMA4, 3, 0.7, seed=3)
    row = table.row((0, 2))
    k, l = 3, 2
    assert (row.predicted_flat, row.measured.flat) == (k * l, 2 * k * l - l * l) == (6, 8)
    assert row.flat_differs and "BG = 0" in row.notes[0] and "GL(k)-orbit" in row.notes[0]

    U_I, D = row_parts(table, row)
    G = row.W1 @ U_I / D                          # W₁ = G D U_Iᵀ
    np.testing.assert_allclose(row.W2, U_I @ np.diag(D) @ np.linalg.pinv(G), atol=1e-12)  # in F_I
    P = row.W1 @ np.linalg.pinv(row.W1)           # projector onto range(W₁) ⊂ R^k
    B = np.random.default_rng(1).standard_normal((l, k)) @ (np.eye(k) - P)
    assert np.abs(B @ row.W1).max() < 1e-12 and np.linalg.norm(B) > 0.1
    for t in (0.3, -0.8):
        W2t = row.W2 + t * U_I @ B
        np.testing.assert_allclose(W2t @ row.W1, row.W2 @ row.W1, atol=1e-12)
        grad = richardson_gradient(lambda w: loss_of(table, w), flat(row.W1, W2t))
        assert np.abs(grad).max() < 1e-8
        assert np.linalg.norm(W2t - row.W2) == pytest.approx(abs(t) * np.linalg.norm(U_I @ B))


@pytest.mark.parametrize("kind, lam", [("unregularized", 0.0), ("product", 1.5), ("sum", 0.0)])
def test_hessian_kernel_is_the_tangent_space_of_the_GL_k_orbit(kind, lam):
    """The orbit (gW₁, W₂g⁻¹), g = exp(tξ), keeps the loss and consists of critical points, so
    its tangent space lies in the Hessian's kernel; built here with a matrix exponential, it has
    dimension k² − (k − l)² at every row — the measured flat count. (L_σ at λ = 0 is L.)"""
    table = th.manifolds(kind, SIGMA5, 3, lam, seed=2)
    k = 3
    rng = np.random.default_rng(5)
    for row in table.rows[::2]:
        tangents = []
        for a, b in itertools.product(range(k), repeat=2):
            xi = np.zeros((k, k))
            xi[a, b] = 1.0
            h = 1e-5
            plus = flat(expm(h * xi) @ row.W1, row.W2 @ expm(-h * xi))
            minus = flat(expm(-h * xi) @ row.W1, row.W2 @ expm(h * xi))
            tangents.append((plus - minus) / (2 * h))
        s = np.linalg.svd(np.array(tangents), compute_uv=False)
        rank = int(np.sum(s > 1e-6 * max(s.max(), 1.0)))
        assert rank == gl_orbit_dimension(k, row.l) == row.measured.flat == row.orbit_dimension
        xi = rng.standard_normal((k, k))
        W1g, W2g = expm(0.4 * xi) @ row.W1, row.W2 @ expm(-0.4 * xi)
        assert ls.loss(kind, table.X, lam, W1g, W2g) == pytest.approx(row.loss, rel=1e-12)
        grad = richardson_gradient(lambda w: loss_of(table, w), flat(W1g, W2g))
        assert np.abs(grad).max() < 1e-7 * (1 + np.abs(flat(W1g, W2g)).max() ** 3)
    assert table.symmetry.group == "GL(k)"
    assert table.symmetry.orbit_dimensions == tuple(gl_orbit_dimension(k, l) for l in range(k + 1))


def test_sum_loss_symmetry_is_O_k_and_general_GL_k_moves_the_loss():
    """L_σ, λ > 0: the orthogonal g keep the loss and their orbit has the Stiefel dimension
    kl − l(l + 1)/2 = the measured flat count; a non-orthogonal g raises ‖W₁‖² + ‖W₂‖²."""
    table = th.manifolds("sum", SIGMA5, 3, 0.6, seed=2)
    assert table.symmetry.group == "O(k)" and table.symmetry.dimension == 3
    rng = np.random.default_rng(9)
    for row in (r for r in table.rows if r.l):
        assert row.orbit_dimension == paper_flat("sum", 3, row.l) == row.measured.flat
        Q = expm(rng.standard_normal() * np.array([[0, 1, 0], [-1, 0, 2], [0, -2, 0.0]]))
        rotated = ls.loss("sum", table.X, 0.6, Q @ row.W1, row.W2 @ Q.T)
        assert rotated == pytest.approx(row.loss, rel=1e-12)
        g = np.diag([1.5, 1.0, 1.0]) @ Q
        assert ls.loss("sum", table.X, 0.6, g @ row.W1, row.W2 @ np.linalg.inv(g)) > row.loss + 1e-3


# --------------------------------------------------------------------------- degenerate λ


def test_lambda_equal_to_sigma_squared_flags_the_pitchfork_rows():
    """L_σ at λ = σ₃² = 4 exactly (k = 3): sets holding index 3 are gone ("merges"), those holding
    4 too (σ₄² < λ); the others are degenerate, with k − l extra flat directions and the
    theorem's descending count (u₃ is not in m₀ = 2)."""
    table = th.manifolds("sum", SIGMA4, 3, 4.0)
    assert table.m0 == 2
    for row in table.rows:
        if 2 in row.I or 3 in row.I:
            assert not row.exists
            if 2 in row.I and 3 not in row.I:
                assert "At exactly λ = σ₃² it merges into" in row.gone_reason
            continue
        k, l = 3, row.l
        assert row.degenerate and row.measured.descending == row.predicted_descending
        assert row.measured.flat == row.predicted_flat + (k - l)
        assert any("λ = σ₃² = 4 exactly" in note for note in row.notes)


def test_pitchfork_direction_changes_the_loss_only_at_fourth_order():
    """Independent of the Hessian: at λ = σⱼ², taking up u_j in the unused latent direction e,
    (W₁, W₂) + t(e u_jᵀ, ±u_j eᵀ), changes L_σ by 2t²(λ ∓ σⱼ²) + t⁴σⱼ²: with + exactly t⁴σⱼ², no
    t² term — a flat direction — and with − the ascent 4λt² + t⁴σⱼ²."""
    lam = float(SIGMA4[2] ** 2)
    table = th.manifolds("sum", SIGMA4, 2, lam)
    row = table.row((0,))
    O = row.W1 @ table.U[:, [0]]                   # k × 1, W₁ = O D u₁ᵀ
    e = np.array([-O[1, 0], O[0, 0]]) / np.linalg.norm(O)
    u = table.U[:, 2]
    for t in (0.1, 0.03):
        for sign, expected in ((1, t**4 * lam), (-1, 4 * lam * t**2 + t**4 * lam)):
            change = ls.loss("sum", table.X, lam, row.W1 + t * np.outer(e, u),
                             row.W2 + sign * t * np.outer(u, e)) - row.loss
            assert change == pytest.approx(expected, rel=1e-6)
    assert row.degenerate and row.measured.flat == row.predicted_flat + 1


def test_lambda_within_rounding_of_sigma_squared_is_degenerate_and_explained():
    """λ = σ₃²(1 ∓ 1e-13): the curvatures 2(λ − σ₃²) and 4(σ₃² − λ) are below the Hessian's
    resolution. Just below, u₃ counts in m₀ but its k − l descending directions read as flat
    (noted); {…3…} rows are about to merge (one flat, noted). At 1e-6 away nothing is degenerate."""
    s2, k = float(SIGMA4[2] ** 2), 3
    below = th.manifolds("sum", SIGMA4, k, s2 * (1 - 1e-13))
    assert below.m0 == 3
    for row in (r for r in below.rows if r.exists):
        assert row.degenerate
        if 2 in row.I:
            assert row.measured.flat == row.predicted_flat + 1
            assert row.measured.descending == row.predicted_descending
            assert any("about to merge" in note for note in row.notes)
        else:
            assert row.measured.flat == row.predicted_flat + (k - row.l)
            assert row.measured.descending == row.predicted_descending - (k - row.l)
            assert any("too slowly for the Hessian to resolve" in note for note in row.notes)
    above = th.manifolds("sum", SIGMA4, k, s2 * (1 + 1e-13))
    assert all(row.degenerate for row in above.rows if row.exists)
    for lam in (s2 * (1 - 1e-6), s2 * (1 + 1e-6)):
        table = th.manifolds("sum", SIGMA4, k, lam)
        assert not table.disagreements and not any(row.degenerate for row in table.rows)


@pytest.mark.parametrize("kind", KINDS)
def test_every_disagreement_has_words_and_none_is_unexplained(kind):
    """Over m = 5, every k, λ at, near and between the σᵢ²: each row whose measured counts differ
    from the theorem's carries notes, and all of them are accounted for by the app's derivation."""
    sigma = SIGMA5
    squares = [float(s) for s in sigma**2]
    lams = [0.0, 0.7, 20.0] + squares + [s * (1 - 1e-13) for s in squares]
    for k in range(1, 5):
        for lam in lams if kind == "sum" else lams[:3]:
            for row in th.manifolds(kind, sigma, k, lam).rows:
                if row.exists and (row.descending_differs or row.flat_differs):
                    assert row.notes, row
                assert not any(note.startswith("Measured") for note in row.notes), row


# --------------------------------------------------------------------------- spectra


def test_close_values_draw_a_warning_and_counts_still_hold():
    close = [4.0, 3.0, 2.0, 2.0 * (1 - 1e-7), 1.0]
    warning = th.close_values_warning(close)
    assert "σ₃" in warning and "σ₄" in warning and "distinct" in warning
    assert th.close_values_warning([4.0, 3.0, 2.0, 2.0 * (1 - 1e-5), 1.0]) is None
    for kind in KINDS:
        table = th.manifolds(kind, close, 2, 0.5)
        assert table.close_warning == warning
        for row in table.rows:
            assert row.measured.descending == paper_descending(kind, np.array(close), row.I, 2, 0.5)


def test_nearly_equal_values_are_not_hidden():
    """σ₃, σ₄ 1e-12 apart: eigenvalues of order σ₃² − σ₄² read as flat. Every row whose counts
    then differ from the paper's (with the GL(k)-orbit's flat count) says so, naming the values."""
    sigma = np.array([4.0, 3.0, 2.0, 2.0 * (1 - 1e-12), 1.0])
    table = th.manifolds("unregularized", sigma, 2, 0.0)

    def expected(row):
        return paper_descending("unregularized", sigma, row.I, 2, 0.0), gl_orbit_dimension(2, row.l)

    off = [row for row in table.rows
           if (row.measured.descending, row.measured.flat) != expected(row)]
    assert off
    for row in off:
        assert any("σ₃ = 2.0 and σ₄ = 1.999999999998" in note for note in row.notes), row


BAD_SPECTRA = [
    ([1.0, 2.0, 0.5], None, r"^sigma must be descending .*σ₂ = 2 > σ₁ = 1"),
    ([2.0, 0.0, -1.0], None, r"^sigma has a zero, σ₂ = 0"),
    ([2.0, -1.0], None, r"^sigma has a negative value, σ₂ = -1"),
    ([3.0, 1.5, 1.5], None, r"^sigma repeats a value, σ₂ = σ₃ = 1.5.*distinct"),
    ([3.0, 2.0, 1.0], 4, r"^sigma holds 3 values, but m = 4 needs exactly 4"),
    ([3.0, 2.0, 1.0], 2, r"^sigma holds 3 values, but m = 2 needs exactly 2"),
    ([], None, r"^sigma must hold at least one"),
    (list(range(9, 0, -1)), None, r"^sigma holds 9 values; at most 8"),
    ([3.0, float("nan")], None, r"^sigma must contain only finite"),
    ([3.0, float("inf")], None, r"^sigma must contain only finite"),
    ("4 3 2", None, r"^sigma must"),
    ([[3.0, 2.0]], None, r"^sigma must have 1 dimension"),
    ([3.0, 2.0], 9, r"^m must be ≤ 8"),
]


@pytest.mark.parametrize("sigma, m, message", BAD_SPECTRA)
def test_bad_spectra_are_refused_in_words(sigma, m, message):
    with pytest.raises(ValueError, match=message):
        th.check_spectrum(sigma, m)
    if m is None:
        with pytest.raises(ValueError, match=message):
            th.manifolds("sum", sigma, 1, 0.5)


@pytest.mark.parametrize("args, name", [
    (("ridge", SIGMA4, 2, 0.5), "kind"),
    (("synthetic", SIGMA4, 2, 0.5), "kind"),
    (("sum", SIGMA4, 0, 0.5), "k"),
    (("sum", SIGMA4, 5, 0.5), "k"),
    (("sum", SIGMA4, 2.0, 0.5), "k"),
    (("sum", SIGMA4, 2, -0.1), "lam"),
    (("sum", SIGMA4, 2, float("nan")), "lam"),
    (("sum", [1e200, 1e199], 1, 0.5), "sigma"),
    (("sum", [1e-170, 1e-171], 1, 0.5), "sigma"),
    (("product", [1e154, 1e153], 1, 0.5), "sigma"),
])
def test_bad_arguments_name_themselves(args, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        th.manifolds(*args)
    with pytest.raises(ValueError, match=r"^seed\b"):
        th.manifolds("sum", SIGMA4, 2, 0.5, seed=-1)


@pytest.mark.parametrize("kind, sigma, lam", [
    ("product", [1e150, 1e149], 0.5), ("product", [2.0, 1.0], 1e307),
    ("sum", [1e150, 1e149, 1e148], 1e299), ("sum", [1e-100, 1e-101, 1e-102], 1e-201)])
def test_extreme_but_representable_scales_keep_the_theorem(kind, sigma, lam):
    table = th.manifolds(kind, sigma, 2 if len(sigma) == 3 else 1, lam)
    for row in (r for r in table.rows if r.exists):
        assert row.measured.descending == row.predicted_descending
        assert row.measured.flat == row.predicted_flat


HOSTILE = st.sampled_from([0.0, -0.0, float("nan"), float("inf"), -1.0, 1e200, 1e154, 1e-200,
                           5e-324])
SPECTRA = st.lists(st.one_of(st.floats(0.05, 5.0), st.floats(0.05, 5.0), HOSTILE), max_size=4)


@settings(max_examples=40, deadline=None, database=None)
@given(sigma=st.one_of(SPECTRA, SPECTRA.map(lambda s: sorted(s, reverse=True))),
       kind=st.sampled_from(KINDS), k=st.integers(0, 5),
       lam=st.one_of(st.floats(0.0, 30.0), HOSTILE, st.sampled_from([1e308, 16.0, 9.0])))
def test_any_input_gives_finite_rows_or_a_value_error(sigma, kind, k, lam):
    """DESIGN.md, bad input: a table whose every number is finite, or ValueError — no other
    exception, no floating-point warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            table = th.manifolds(kind, sigma, k, lam)
        except ValueError:
            return
    for row in (r for r in table.rows if r.exists):
        assert math.isfinite(row.loss) and math.isfinite(row.transpose_gap)
        assert sum(row.measured) == 2 * table.k * table.m


def test_default_spectrum_and_labels():
    np.testing.assert_array_equal(th.default_sigma(8), [4, 3, 2, 1.5, 1, 0.5, 0.3, 0.2])
    np.testing.assert_array_equal(th.default_sigma(2), [4, 3])
    assert th.index_label((0, 2)) == "{1, 3}" and th.index_label(()) == "∅"
    assert th.index_label([3, 1]) == "{2, 4}"
    with pytest.raises(ValueError, match="^m"):
        th.default_sigma(9)
    with pytest.raises(ValueError, match="^I"):
        th.index_label((0, 0))


# --------------------------------------------------------------------------- escape


@pytest.mark.parametrize("method", solvers.METHODS)
def test_escape_from_a_saddle_ends_at_the_global_minimum(method):
    """L_σ, m = 4, k = 2, λ = 0.5, from the saddle {2, 3}: every solver ends on {1, 2}, at the
    closed-form minimum loss, with W₁ = W₂ᵀ; the push itself went downhill."""
    table = th.manifolds("sum", SIGMA4, 2, 0.5)
    start = table.row((1, 2))
    assert start.measured.descending == 2
    run = th.escape(table, (2, 1), method)
    assert run.start == (1, 2) and run.descending and run.curvature < 0
    assert run.loss[0] < start.loss
    assert run.ended_at == (0, 1) and run.reached_global_min
    assert run.end_loss == pytest.approx(closed_form_loss("sum", SIGMA4, (0, 1), 0.5), rel=1e-8)
    assert run.end_transpose_gap < 1e-6
    assert run.loss.shape == run.transpose_gap.shape == (run.iterations + 1,)
    assert "ended on {1, 2} — the global minimum" in run.summary


@pytest.mark.parametrize("kind", ["unregularized", "product"])
def test_escape_from_the_origin_ends_at_the_global_minimum(kind):
    table = th.manifolds(kind, SIGMA4, 2, 1.0)
    run = th.escape(table, (), "untied_gd")
    assert run.ended_at == (0, 1) and run.reached_global_min and run.end_distance < 1e-6
    assert run.end_loss == pytest.approx(closed_form_loss(kind, SIGMA4, (0, 1), 1.0), rel=1e-8)


def test_without_jitter_the_run_stays_in_the_invariant_set_of_its_push():
    """From the origin a push along one eigenvector is rank one, and gradient descent keeps
    W₂W₁ rank one: it ends on the saddle {1}, the best point of that set."""
    table = th.manifolds("product", SIGMA4, 2, 1.0)
    run = th.escape(table, (), "untied_gd", jitter=0.0)
    assert run.ended_at == (0,) and not run.reached_global_min
    assert np.linalg.matrix_rank(run.trajectory.W2[-1] @ run.trajectory.W1[-1], tol=1e-6) == 1


def test_over_regularized_escape_ends_at_the_best_surviving_manifold():
    """λ = 5 > σ₃² = 4 with k = 3: m₀ = 2, the best surviving manifold is {1, 2}."""
    table = th.manifolds("sum", SIGMA4, 3, 5.0)
    assert table.m0 == 2 and table.global_min.I == (0, 1)
    run = th.escape(table, (1,), "exact_untied")
    assert run.ended_at == (0, 1) and run.reached_global_min
    assert "best surviving manifold (m₀ = 2 < k = 3)" in run.summary


def test_escape_from_the_minimum_comes_back():
    table = th.manifolds("sum", SIGMA4, 2, 0.5)
    run = th.escape(table, (0, 1), "exact_tied")
    assert not run.descending and run.ended_at == (0, 1)
    assert "no descending direction" in run.summary


def test_escape_refuses_bad_requests():
    table = th.manifolds("sum", SIGMA4, 2, 3.0)
    with pytest.raises(ValueError, match=r"^I = \{4\} names no critical point.*Gone"):
        th.escape(table, (3,))
    with pytest.raises(ValueError, match="^I"):
        th.escape(table, (0, 1, 2))
    with pytest.raises(ValueError, match="^step"):
        th.escape(table, (1,), step=0.0)
    with pytest.raises(ValueError, match="^jitter"):
        th.escape(table, (1,), jitter=-1.0)
    with pytest.raises(ValueError, match="^method"):
        th.escape(table, (1,), "newton")
    with pytest.raises(ValueError, match="^table"):
        th.escape("table", (1,))


def pushed_start(table, row, step, jitter, seed):
    """The escape's start, built here from its description: ``step`` along the unit eigenvector
    of the most negative Hessian eigenvalue (largest entry positive) plus ``jitter`` along a
    unit vector drawn from ``default_rng(seed)``."""
    _, vectors = np.linalg.eigh(ls.hessian(table.kind, table.X, table.lam, row.W1, row.W2))
    v = vectors[:, 0] * np.sign(vectors[np.argmax(np.abs(vectors[:, 0])), 0])
    r = np.random.default_rng(seed).standard_normal(v.size)
    w = flat(row.W1, row.W2) + step * v + jitter * r / np.linalg.norm(r)
    k, m = table.k, table.m
    return w[: k * m].reshape(k, m), w[k * m :].reshape(m, k)


@pytest.mark.parametrize("kind, method", [("sum", "tied_gd"), ("sum", "exact_sync"),
                                          ("product", "untied_gd"),
                                          ("unregularized", "exact_untied")])
def test_escape_in_chunks_is_the_solvers_run_from_the_pushed_point(kind, method):
    """``escape_steps`` reports every 7 steps; the iterates are those of ``solvers.solve`` from
    the start described in the docstring (built here), and the last report carries the run."""
    table = th.manifolds(kind, SIGMA4, 2, 0.5, seed=1)
    row = table.row((1, 3))
    reports = list(th.escape_steps(table, (1, 3), method, seed=3, chunk=7))
    W1, W2 = pushed_start(table, row, th.DEFAULT_STEP, th.DEFAULT_JITTER, 3)
    reference = solvers.solve(method, table.X, 2, 0.5, W1=W1, W2=W2, kind=kind, max_iter=20000,
                              tol=1e-10)
    steps = [r.iterations for r in reports]
    assert steps == [min(7 * (i + 1), reference.iterations) for i in range(len(reports))]
    assert all(not r.done for r in reports[:-1]) and reports[-1].done
    assert [r.fraction for r in reports[:-1]] == [s / 20000 for s in steps[:-1]]
    for r in reports:
        assert r.loss.shape == r.transpose_gap.shape == (r.iterations + 1,)
        np.testing.assert_allclose(r.loss, reference.loss[: r.iterations + 1], rtol=1e-12)
    run = reports[-1].run
    assert run.iterations == reference.iterations and run.status == reference.status
    np.testing.assert_allclose(run.transpose_gap, reference.transpose_gap, rtol=1e-9, atol=1e-13)
    assert run.ended_at == (0, 1) and run.reached_global_min
    assert reports[0].curvature == run.curvature < 0 and reports[0].critical_loss == row.loss


def test_escape_steps_checks_its_arguments_before_the_first_step():
    table = th.manifolds("sum", SIGMA4, 2, 3.0)
    with pytest.raises(ValueError, match=r"^I = \{4\} names no critical point"):
        th.escape_steps(table, (3,))
    with pytest.raises(ValueError, match="^chunk"):
        th.escape_steps(table, (1,), chunk=0)
    with pytest.raises(ValueError, match="^max_iter"):
        th.escape_steps(table, (1,), max_iter=0)
    with pytest.raises(ValueError, match="^method"):
        th.escape_steps(table, (1,), "newton")


@pytest.mark.parametrize("kind", ["unregularized", "product"])
def test_solvers_that_tie_the_weights_are_refused_for_L_and_L_pi(kind):
    """Table 1's points of L and L_π have W₁ ≠ W₂ᵀ. From such a critical point (no push) the
    untied solvers and sync GD (its start used as given) stay where they are; the tied ones
    (W₁ ← W₂ᵀ at the start) and exact_sync (re-ties after each step) leave it at once, so they
    could not escape from the chosen manifold and are refused."""
    table = th.manifolds(kind, SIGMA4, 2, 1.0)
    row = table.row((1,))
    assert np.linalg.norm(row.W1 - row.W2.T) > 1e-3
    for method in solvers.METHODS:
        run = solvers.solve(method, table.X, 2, 1.0, W1=row.W1, W2=row.W2, kind=kind, max_iter=1,
                            tol=0)
        moved = max(np.linalg.norm(run.W1[i] - row.W1) + np.linalg.norm(run.W2[i] - row.W2)
                    for i in (0, 1))
        if method in th.ESCAPE_METHODS[kind]:
            assert moved < 1e-9, method
        else:
            assert moved > 1e-3, method
            with pytest.raises(ValueError, match=f"^method: {method} does not start from"):
                th.escape(table, (1,), method)
    assert set(th.ESCAPE_METHODS[kind]) == {"untied_gd", "sync_gd", "exact_untied"}
    assert set(th.ESCAPE_METHODS["sum"]) == set(solvers.METHODS)


@pytest.mark.parametrize("lam", [0.0, 0.7, 5.0])
def test_symmetry_side_by_side_states_and_measures_each_losss_manifolds(lam):
    """GL(k) for L and L_π (and L_σ at λ = 0), O(k) for L_σ at λ > 0; per l = 0..k, the paper's
    dimension (kl or kl − l(l + 1)/2), the orbit's dimension (k² − (k − l)² or Stiefel's) and the
    Hessian's flat count, at the point ``manifolds`` uses for I = {1..l}; gone for L_σ past m₀."""
    k = 3
    compared = th.symmetry_comparison(SIGMA5, k, lam, seed=4)
    assert [c.kind for c in compared] == list(KINDS)
    for c in compared:
        orthogonal = c.kind == "sum" and lam > 0
        assert c.symmetry.group == ("O(k)" if orthogonal else "GL(k)")
        assert c.symmetry.dimension == (k * (k - 1) // 2 if orthogonal else k * k)
        table = th.manifolds(c.kind, SIGMA5, k, lam, seed=4)
        assert [row.I for row in c.rows] == [tuple(range(l)) for l in range(k + 1)]
        for l, row in enumerate(c.rows):
            if c.kind == "sum" and l > m0_of("sum", SIGMA5, lam):
                assert not row.exists and "posterior collapse" in row.gone_reason
                continue
            orbit = paper_flat("sum", k, l) if orthogonal else gl_orbit_dimension(k, l)
            assert row.predicted_flat == paper_flat(c.kind, k, l)
            assert c.symmetry.orbit_dimensions[l] == orbit == row.orbit_dimension
            assert row.measured.flat == orbit
            same = table.row(row.I)
            np.testing.assert_array_equal(row.W1, same.W1)
            expected = closed_form_loss(c.kind, SIGMA5, row.I, lam)
            assert row.loss == same.loss == pytest.approx(expected)
    with pytest.raises(ValueError, match="^k"):
        th.symmetry_comparison(SIGMA4, 5, 1.0)
    with pytest.raises(ValueError, match="^sigma"):
        th.symmetry_comparison([1.0, 2.0], 1, 1.0)


# --------------------------------------------------------------------------- CSV


def test_csv_has_the_page_columns_and_the_rows():
    table = th.manifolds("sum", SIGMA4, 2, 3.0)
    rows = list(csv.reader(io.StringIO(th.to_csv(table))))
    assert rows[0] == ["I", "l", "loss", "descending (theorem)", "descending (measured)",
                       "flat (theorem)", "flat (measured)", "ascending (measured)", "‖W₁ − W₂ᵀ‖"]
    assert len(rows) == 1 + len(table.rows)
    by_label = {r[0]: r for r in rows[1:]}
    assert by_label["{4}"] == ["{4}", "1", "", "", "", "", "", "", ""]
    top = by_label["{1, 2}"]
    assert float(top[2]) == pytest.approx(closed_form_loss("sum", SIGMA4, (0, 1), 3.0), rel=1e-9)
    assert [int(x) for x in top[3:8]] == [0, 0, 1, 1, 2 * 2 * 4 - 1]
    assert by_label["∅"][1] == "0"
    with pytest.raises(ValueError, match="^table"):
        th.to_csv([])
