"""PCA as a Morse function on the Grassmannian: the loss, its gradient flow, critical points,
Morse indices and the F₂ Betti numbers they add up to.

Expected values come from the definitions (‖X − PX‖², finite differences, the Morse index as
the count of descending directions), hand evaluation, or independent counting.
"""

import math
from collections import Counter
from itertools import combinations, combinations_with_replacement

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lae_core.grassmann import (
    betti_numbers,
    disk_to_sphere,
    gr1_circle,
    gr1_critical_points,
    gr1_flow,
    gr1_gradient,
    gr1_hessian,
    gr1_loss,
    gr1_projection,
    grassmann_loss,
    index_table,
    principal_data,
    sphere_to_disk,
)


def orthogonal(rng, m):
    Q, R = np.linalg.qr(rng.standard_normal((m, m)))
    return Q * np.sign(np.diag(R))


def data_with_singular_values(sigma, n=None, seed=0):
    """X = U diag(σ) Vᵀ with random U, V; returns X and U (columns = principal directions)."""
    rng = np.random.default_rng(seed)
    m = len(sigma)
    n = n or m + 2
    U = orthogonal(rng, m)
    V = orthogonal(rng, n)[:, :m]
    return U @ np.diag(sigma) @ V.T, U


def unit(v):
    return v / np.linalg.norm(v)


def tangent_basis(u):
    """Orthonormal basis of u⊥ by Gram–Schmidt against the standard basis (test's own)."""
    basis = []
    for e in np.eye(len(u)):
        v = e - (e @ u) * u - sum((e @ b) * b for b in basis)
        if np.linalg.norm(v) > 1e-6:
            basis.append(unit(v))
    return np.array(basis[: len(u) - 1]).T


def great_circle(u, xi, t):
    return np.cos(t) * u + np.sin(t) * xi


SIGMA = np.array([3.0, 2.2, 1.5, 0.8])


# --------------------------------------------------------------------------------- loss


def test_gr1_loss_is_the_squared_reconstruction_error_of_the_line():
    X, _ = data_with_singular_values(SIGMA)
    rng = np.random.default_rng(1)
    for _ in range(5):
        u = unit(rng.standard_normal(4))
        expected = np.sum((X - np.outer(u, u) @ X) ** 2)
        assert gr1_loss(X, u) == pytest.approx(expected)


def test_gr1_loss_on_the_circle_matches_hand_formula():
    # X = diag(σ₁, σ₂), u = (cos θ, sin θ): residual energy σ₁² sin²θ + σ₂² cos²θ
    theta = np.linspace(0, np.pi, 181)
    u = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    loss = gr1_loss(np.diag([2.0, 1.0]), u)
    assert loss.shape == (181,)
    np.testing.assert_allclose(loss, 4 * np.sin(theta) ** 2 + np.cos(theta) ** 2, atol=1e-12)


def test_gr1_loss_evaluates_a_grid_of_directions_and_depends_only_on_the_line():
    X, _ = data_with_singular_values(SIGMA[:3])
    u = np.random.default_rng(2).standard_normal((7, 5, 3))
    loss = gr1_loss(X, u)
    assert loss.shape == (7, 5)
    np.testing.assert_allclose(gr1_loss(X, -3.5 * u), loss)
    assert loss[3, 2] == pytest.approx(gr1_loss(X, u[3, 2]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=3, max_size=3).filter(
    lambda v: np.linalg.norm(v) > 1e-3))
def test_gr1_loss_lies_between_the_smallest_and_largest_residuals(v):
    # ‖X‖² − σ₁² ≤ L_X(u) ≤ ‖X‖² − σ₃²
    sigma = np.array([2.0, 1.0, 0.5])
    X, _ = data_with_singular_values(sigma)
    total = np.sum(sigma**2)
    assert total - 4.0 - 1e-9 <= gr1_loss(X, v) <= total - 0.25 + 1e-9


# ----------------------------------------------------------------------------- gradient


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_gr1_gradient_matches_finite_differences_along_tangent_directions(seed):
    rng = np.random.default_rng(seed)
    X, _ = data_with_singular_values(SIGMA, seed=seed)
    u = unit(rng.standard_normal(4))
    g = gr1_gradient(X, u)
    assert abs(u @ g) < 1e-10  # tangent
    h = 1e-6
    for xi in tangent_basis(u).T:
        fd = (gr1_loss(X, great_circle(u, xi, h)) - gr1_loss(X, great_circle(u, xi, -h))) / (2 * h)
        assert g @ xi == pytest.approx(fd, abs=1e-6)


def test_gr1_gradient_of_a_batch_is_tangent_and_matches_single_evaluations():
    X, _ = data_with_singular_values(SIGMA[:3])
    u = np.random.default_rng(3).standard_normal((6, 4, 3))
    g = gr1_gradient(X, u)
    assert g.shape == u.shape
    unit_u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.sum(g * unit_u, axis=-1), 0.0, atol=1e-10)
    np.testing.assert_allclose(g[2, 1], gr1_gradient(X, u[2, 1]))


def test_gr1_gradient_vanishes_exactly_on_principal_directions():
    X, U = data_with_singular_values(SIGMA)
    for i in range(4):
        np.testing.assert_allclose(gr1_gradient(X, U[:, i]), 0.0, atol=1e-10)


# ------------------------------------------------------------------------------ hessian


@pytest.mark.parametrize("seed", range(5))
def test_gr1_hessian_is_the_second_derivative_along_great_circles(seed):
    rng = np.random.default_rng(seed)
    X, _ = data_with_singular_values(SIGMA, seed=seed)
    u = unit(rng.standard_normal(4))
    H = gr1_hessian(X, u)
    np.testing.assert_allclose(H @ u, 0.0, atol=1e-10)
    h = 1e-4
    for _ in range(4):
        xi = unit(tangent_basis(u) @ rng.standard_normal(3))
        f = [gr1_loss(X, great_circle(u, xi, t)) for t in (-h, 0.0, h)]
        assert xi @ H @ xi == pytest.approx((f[0] - 2 * f[1] + f[2]) / h**2, abs=1e-5)


# --------------------------------------------------------------------------------- flow


def test_gr1_flow_decreases_the_loss_and_ends_at_the_top_principal_direction():
    X, U = data_with_singular_values(SIGMA)
    u0 = np.array([0.1, -0.7, 0.4, 0.5])
    path = gr1_flow(X, u0, steps=400, dt=0.02)
    assert path.shape == (401, 4)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0)
    np.testing.assert_allclose(path[0], unit(u0))
    loss = gr1_loss(X, path)
    assert np.all(np.diff(loss) <= 1e-12)
    assert loss[0] - loss[-1] > 1.0
    assert abs(path[-1] @ U[:, 0]) == pytest.approx(1.0, abs=1e-9)  # ±u₁
    assert loss[-1] == pytest.approx(np.sum(SIGMA[1:] ** 2))


def test_gr1_flow_agrees_with_small_step_integration_of_the_negative_gradient():
    X, _ = data_with_singular_values(SIGMA, seed=4)
    u = unit(np.array([0.3, 0.3, -0.6, 0.2]))
    dt, sub = 0.01, 200
    path = gr1_flow(X, u, steps=10, dt=dt)
    for step in range(1, 11):  # explicit Euler with renormalisation, h = dt/sub
        for _ in range(sub):
            u = unit(u - (dt / sub) * gr1_gradient(X, u))
        np.testing.assert_allclose(path[step], u, atol=5e-4)


def test_gr1_flow_loss_decreases_at_the_rate_of_the_squared_gradient():
    # along a gradient flow, dL/dt = −‖grad L‖²
    X, _ = data_with_singular_values(SIGMA, seed=5)
    u0 = unit(np.array([1.0, 1.0, 1.0, 1.0]))
    h = 1e-5
    path = gr1_flow(X, u0, steps=2, dt=h)
    rate = (gr1_loss(X, path[2]) - gr1_loss(X, path[0])) / (2 * h)
    assert rate == pytest.approx(-np.sum(gr1_gradient(X, path[1]) ** 2), rel=1e-5)


def test_gr1_flow_from_a_start_orthogonal_to_u1_stays_on_the_saddles_stable_manifold():
    X = np.diag([3.0, 2.0, 1.0])
    path = gr1_flow(X, [0.0, 0.3, 1.0], steps=50, dt=0.5)
    np.testing.assert_allclose(path[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(path[-1], [0.0, 1.0, 0.0], atol=1e-9)


def test_gr1_flow_handles_huge_times_and_batches():
    X = np.diag([3.0, 2.0, 1.0])
    starts = np.array([[1.0, 1.0, 1.0], [-1.0, 0.5, 0.0], [0.0, 0.0, 2.0]])
    path = gr1_flow(X, starts, steps=3, dt=1e6)
    assert path.shape == (4, 3, 3)
    assert np.isfinite(path).all()
    np.testing.assert_allclose(path[-1], [[1, 0, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-12)
    assert gr1_flow(X, [1.0, 2.0, 3.0], steps=0, dt=1.0).shape == (1, 3)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_gr1_flow_from_random_starts_is_monotone_and_unit(seed):
    rng = np.random.default_rng(seed)
    X, U = data_with_singular_values(SIGMA, seed=seed)
    path = gr1_flow(X, rng.standard_normal(4), steps=60, dt=0.1)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0)
    assert np.all(np.diff(gr1_loss(X, path)) <= 1e-9)


# ---------------------------------------------------------------------- critical points


def test_gr1_critical_points_are_principal_directions_with_zero_gradient():
    X, U = data_with_singular_values(SIGMA)
    points = gr1_critical_points(X)
    assert len(points) == 4
    C = X @ X.T
    for i, p in enumerate(points):
        u = p.direction
        assert np.linalg.norm(u) == pytest.approx(1.0)
        assert abs(u @ U[:, i]) == pytest.approx(1.0)  # i-th principal direction, up to sign
        np.testing.assert_allclose(C @ u, SIGMA[i] ** 2 * u, atol=1e-10)
        np.testing.assert_allclose(gr1_gradient(X, u), 0.0, atol=1e-10)
        assert p.eigenvalue == pytest.approx(SIGMA[i] ** 2)
        assert p.loss == pytest.approx(np.sum(SIGMA**2) - SIGMA[i] ** 2)
        assert u[np.argmax(np.abs(u))] > 0  # sign convention


def test_gr1_morse_index_equals_the_number_of_larger_eigenvalues():
    X, _ = data_with_singular_values(SIGMA, seed=7)
    for p in gr1_critical_points(X):
        larger = int(np.sum(SIGMA**2 > p.eigenvalue + 1e-9))
        assert p.index == larger
        assert p.flat == 0
        expected = np.sort([2 * (p.eigenvalue - s**2) for s in SIGMA
                            if not math.isclose(s**2, p.eigenvalue)])
        np.testing.assert_allclose(p.hessian_eigenvalues, expected, atol=1e-9)


def test_gr1_morse_index_agrees_with_finite_difference_hessian_of_the_loss():
    X, _ = data_with_singular_values(SIGMA, seed=8)
    h = 1e-4
    for p in gr1_critical_points(X):
        B = tangent_basis(p.direction)
        n = B.shape[1]
        H = np.empty((n, n))
        for a in range(n):
            for b in range(n):
                def f(s, t):
                    v = s * B[:, a] + t * B[:, b]
                    r = np.linalg.norm(v)
                    return gr1_loss(X, great_circle(p.direction, v / r if r else v, r))
                H[a, b] = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h**2)
        assert int(np.sum(np.linalg.eigvalsh(H) < -1e-3)) == p.index


@pytest.mark.parametrize("m", [1, 2, 3, 5, 6])
def test_gr1_index_counts_are_the_betti_numbers_of_projective_space(m):
    # L_X is F₂-perfect on RP^{m−1}: one critical point of each index 0 … m − 1
    sigma = np.linspace(3.0, 0.5, m)
    X, _ = data_with_singular_values(sigma, seed=m)
    counts = Counter(p.index for p in gr1_critical_points(X))
    assert [counts[d] for d in range(m)] == betti_numbers(m, 1) == [1] * m
    assert [p.index for p in gr1_critical_points(X)] == list(range(m))


def test_gr1_repeated_eigenvalue_shows_up_as_a_flat_hessian_direction():
    points = gr1_critical_points(np.diag([2.0, 2.0, 1.0]))
    assert [p.flat for p in points] == [1, 1, 0]
    assert [p.index for p in points] == [0, 0, 2]


# ---------------------------------------------------------------------- Gr_k(R^m) table


def test_index_table_of_gr2_r4_has_six_rows_with_the_expected_indices():
    table = index_table(4, 2)
    assert len(table) == 6
    assert [row.index for row in table] == [0, 1, 2, 2, 3, 4]
    # d_I by hand: {1,3} discards 0 and 2; 1 sits after 0, 3 after 0 and 2 → 3
    by_subset = {row.I: row.index for row in table}
    assert by_subset == {(0, 1): 0, (0, 2): 1, (0, 3): 2, (1, 2): 2, (1, 3): 3, (2, 3): 4}
    counts = Counter(row.index for row in table)
    assert [counts[d] for d in range(5)] == betti_numbers(4, 2) == [1, 1, 2, 1, 1]


def test_index_table_gives_the_loss_of_each_principal_subspace():
    table = index_table(4, 2, sigma=SIGMA)
    X, U = data_with_singular_values(SIGMA, seed=9)
    for row in table:
        P = U[:, list(row.I)] @ U[:, list(row.I)].T
        discarded = [j for j in range(4) if j not in row.I]
        assert row.loss == pytest.approx(np.sum(SIGMA[discarded] ** 2))
        assert grassmann_loss(X, P) == pytest.approx(row.loss)
    assert index_table(4, 2)[0].loss is None


def cayley(S):
    n = S.shape[0]
    return np.linalg.solve(np.eye(n) - S / 2, np.eye(n) + S / 2)


@pytest.mark.parametrize("m, k", [(3, 1), (4, 2), (5, 2)])
def test_index_table_indices_equal_measured_hessian_inertia_of_the_loss(m, k):
    # at P_I, rotate u_i (i ∈ I) toward u_j (j ∉ I): those k(m − k) rotations chart Gr_k(R^m)
    sigma = np.linspace(3.0, 0.7, m)
    X, U = data_with_singular_values(sigma, seed=m + k)
    h = 1e-3
    for row in index_table(m, k):
        I = list(row.I)
        P = U[:, I] @ U[:, I].T
        gens = [np.outer(U[:, j], U[:, i]) - np.outer(U[:, i], U[:, j])
                for i in I for j in range(m) if j not in I]

        def f(S):
            R = cayley(S)
            return grassmann_loss(X, R @ P @ R.T)

        n = len(gens)
        H = np.empty((n, n))
        for a in range(n):
            for b in range(n):
                H[a, b] = (f(h * gens[a] + h * gens[b]) - f(h * gens[a] - h * gens[b])
                           - f(-h * gens[a] + h * gens[b]) + f(-h * gens[a] - h * gens[b])) / (
                    4 * h**2)
        eig = np.linalg.eigvalsh(0.5 * (H + H.T))
        assert int(np.sum(eig < -1e-3)) == row.index
        assert int(np.sum(np.abs(eig) <= 1e-3)) == 0


@pytest.mark.parametrize("m, k", [(m, k) for m in range(1, 8) for k in range(1, m + 1)])
def test_index_counts_equal_betti_numbers_so_the_loss_is_f2_perfect(m, k):
    counts = Counter(row.index for row in index_table(m, k))
    betti = betti_numbers(m, k)
    assert [counts[d] for d in range(len(betti))] == betti
    assert max(counts) == k * (m - k)  # the top cell: the dimension of Gr_k(R^m)


# ------------------------------------------------------------------------ betti numbers


def partitions_in_box(k, width):
    """Count partitions by size: non-increasing k-tuples with entries in 0 … width."""
    counts = Counter(sum(p) for p in combinations_with_replacement(range(width + 1), k))
    return [counts[d] for d in range(k * width + 1)]


def test_betti_numbers_of_small_grassmannians():
    assert betti_numbers(3, 1) == [1, 1, 1]  # RP²
    assert betti_numbers(2, 1) == [1, 1]  # RP¹, the circle
    assert betti_numbers(4, 2) == [1, 1, 2, 1, 1]
    assert betti_numbers(5, 2) == [1, 1, 2, 2, 2, 1, 1]
    assert betti_numbers(3, 3) == [1]  # a point


@pytest.mark.parametrize("m, k", [(m, k) for m in range(1, 10) for k in range(1, m + 1)])
def test_betti_numbers_count_partitions_in_the_box_and_sum_to_the_binomial(m, k):
    betti = betti_numbers(m, k)
    assert betti == partitions_in_box(k, m - k)
    assert sum(betti) == math.comb(m, k)
    assert betti == betti[::-1]  # Poincaré duality (F₂ coefficients)
    if k < m:
        assert betti == betti_numbers(m, m - k)  # Gr_k(R^m) ≅ Gr_{m−k}(R^m)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 40), data=st.data())
def test_betti_numbers_property(m, data):
    k = data.draw(st.integers(1, m))
    betti = betti_numbers(m, k)
    assert len(betti) == k * (m - k) + 1
    assert sum(betti) == math.comb(m, k)
    assert betti == betti[::-1]
    assert all(b >= 1 for b in betti)


def test_index_table_matches_a_direct_count_of_swaps():
    for m, k in [(5, 2), (6, 3)]:
        for row in index_table(m, k):
            out = [j for j in range(m) if j not in row.I]
            assert row.index == sum(1 for i in row.I for j in out if j < i)
        assert sorted(row.I for row in index_table(m, k)) == list(combinations(range(m), k))


# ---------------------------------------------------------------------- grassmann_loss


def test_grassmann_loss_of_a_line_equals_gr1_loss():
    X, _ = data_with_singular_values(SIGMA, seed=10)
    u = unit(np.array([1.0, -2.0, 0.5, 0.3]))
    assert grassmann_loss(X, np.outer(u, u)) == pytest.approx(gr1_loss(X, u))


def test_grassmann_loss_of_the_zero_and_identity_projections():
    X, _ = data_with_singular_values(SIGMA)
    assert grassmann_loss(X, np.zeros((4, 4))) == pytest.approx(np.sum(SIGMA**2))
    assert grassmann_loss(X, np.eye(4)) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------- RP² disk model


def test_disk_to_sphere_lifts_to_the_upper_hemisphere():
    a, b = np.meshgrid(np.linspace(-0.7, 0.7, 11), np.linspace(-0.7, 0.7, 9))
    u = disk_to_sphere(a, b)
    assert u.shape == (9, 11, 3)
    np.testing.assert_allclose(np.linalg.norm(u, axis=-1), 1.0)
    assert (u[..., 2] >= 0).all()
    np.testing.assert_array_equal(disk_to_sphere(0.0, 0.0), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(disk_to_sphere(0.6, 0.0), [0.6, 0.0, 0.8])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=3, max_size=3).filter(
    lambda v: np.linalg.norm(v) > 1e-3 and abs(v[2]) > 1e-6))
def test_sphere_to_disk_identifies_antipodes_and_inverts_disk_to_sphere(v):
    v = np.array(v)
    a, b = sphere_to_disk(v)
    assert a * a + b * b <= 1 + 1e-12
    assert sphere_to_disk(-v) == pytest.approx((a, b))
    lifted = disk_to_sphere(a, b)
    assert abs(lifted @ unit(v)) == pytest.approx(1.0)  # the same line


def test_rim_points_of_the_disk_are_antipodally_identified_lines():
    a, b = sphere_to_disk([1.0, 1.0, 0.0])
    c, d = sphere_to_disk([-1.0, -1.0, 0.0])
    assert (a, b) == pytest.approx((-c, -d))
    X = np.diag([3.0, 2.0, 1.0])
    assert gr1_loss(X, disk_to_sphere(a, b)) == pytest.approx(gr1_loss(X, disk_to_sphere(c, d)))


def test_loss_on_the_disk_has_its_minimum_at_the_top_direction():
    X = np.diag([1.0, 0.5, 2.0])  # top direction is e₃, the centre of the disk
    a, b = np.meshgrid(np.linspace(-0.7, 0.7, 15), np.linspace(-0.7, 0.7, 15))
    loss = gr1_loss(X, disk_to_sphere(a, b))
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    assert (a[i, j], b[i, j]) == pytest.approx((0.0, 0.0))


# ----------------------------------------------------------------------------- validation


X3 = np.diag([3.0, 2.0, 1.0])


@pytest.mark.parametrize("call, name", [
    (lambda: gr1_loss(np.ones(3), [1.0, 0, 0]), "X"),
    (lambda: gr1_loss(np.array([[1.0, np.nan]]), [1.0]), "X"),
    (lambda: gr1_loss(np.zeros((0, 3)), [1.0]), "X"),
    (lambda: gr1_loss(X3, [0.0, 0.0, 0.0]), "u"),
    (lambda: gr1_loss(X3, [[1.0, 0, 0], [0, 0, 0]]), "u"),
    (lambda: gr1_loss(X3, [1.0, 0.0]), "u"),
    (lambda: gr1_loss(X3, [1.0, np.inf, 0.0]), "u"),
    (lambda: gr1_gradient(X3, np.zeros(3)), "u"),
    (lambda: gr1_gradient("X", [1.0, 0, 0]), "X"),
    (lambda: gr1_hessian(X3, np.ones((2, 3))), "u"),
    (lambda: gr1_flow(X3, np.zeros(3), 10, 0.1), "u0"),
    (lambda: gr1_flow(X3, [1.0, 0, 0], -1, 0.1), "steps"),
    (lambda: gr1_flow(X3, [1.0, 0, 0], 2.5, 0.1), "steps"),
    (lambda: gr1_flow(X3, [1.0, 0, 0], 10, 0.0), "dt"),
    (lambda: gr1_flow(X3, [1.0, 0, 0], 10, np.nan), "dt"),
    (lambda: gr1_critical_points(np.array([[np.inf]])), "X"),
    (lambda: index_table(0, 1), "m"),
    (lambda: index_table(3, 4), "k"),
    (lambda: index_table(3, 0), "k"),
    (lambda: index_table(3.0, 1), "m"),
    (lambda: index_table(60, 30), "m"),
    (lambda: index_table(3, 1, sigma=[1.0, 2.0]), "sigma"),
    (lambda: index_table(3, 1, sigma=[1.0, 2.0, 3.0]), "sigma"),
    (lambda: index_table(3, 1, sigma=[1.0, 0.5, -1.0]), "sigma"),
    (lambda: betti_numbers(4, 5), "k"),
    (lambda: betti_numbers(True, 1), "m"),
    (lambda: betti_numbers(1000, 2), "m"),
    (lambda: disk_to_sphere(1.0, 1.0), "a"),
    (lambda: disk_to_sphere(np.nan, 0.0), "a"),
    (lambda: disk_to_sphere(0.0, [np.inf]), "b"),
    (lambda: disk_to_sphere([0.1, 0.2], [0.1, 0.2, 0.3]), "a"),
    (lambda: sphere_to_disk([0.0, 0.0, 0.0]), "u"),
    (lambda: sphere_to_disk([1.0, 0.0]), "u"),
    (lambda: grassmann_loss(X3, np.ones((3, 3))), "P"),
    (lambda: grassmann_loss(X3, np.triu(np.ones((3, 3)))), "P"),
    (lambda: grassmann_loss(X3, np.eye(2)), "P"),
    (lambda: grassmann_loss(X3, 2 * np.eye(3)), "P"),
])
def test_invalid_arguments_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


# ----------------------------------------------------------------------------- page helpers


def rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def test_gr1_circle_is_the_loss_of_the_line_at_angle_phi_with_its_angular_derivative():
    theta, s1, s2 = 0.4, 2.0, 0.5
    X = principal_data([s1, s2], rotation(theta), n=30, seed=3)
    phi = np.linspace(0.0, np.pi, 37)
    loss, slope = gr1_circle(X, phi)
    # hand formula: L = tr C − uᵀCu with C = R diag(σ²) Rᵀ
    np.testing.assert_allclose(loss, s1**2 * np.sin(phi - theta) ** 2 + s2**2 * np.cos(phi - theta) ** 2,
                               atol=1e-12)
    h = 1e-6
    fd = (gr1_circle(X, phi + h)[0] - gr1_circle(X, phi - h)[0]) / (2 * h)
    np.testing.assert_allclose(slope, fd, atol=1e-7)
    # period π: φ and φ + π are the same line
    np.testing.assert_allclose(gr1_circle(X, phi + np.pi)[0], loss, atol=1e-12)
    l0, s0 = gr1_circle(X, theta)
    assert np.ndim(l0) == 0 and l0 == pytest.approx(s2**2) and s0 == pytest.approx(0.0, abs=1e-12)


def test_principal_data_has_the_chosen_directions_and_singular_values_and_is_centred():
    rng = np.random.default_rng(5)
    U = orthogonal(rng, 3)
    sigma = np.array([1.0, 3.0, 2.0])  # any order
    X = principal_data(sigma, U, n=20, seed=2)
    assert X.shape == (3, 20)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(X @ X.T, U @ np.diag(sigma**2) @ U.T, atol=1e-12)
    np.testing.assert_array_equal(principal_data(sigma, U, n=20, seed=2), X)  # seeded


@pytest.mark.parametrize("call, name", [
    (lambda: gr1_circle(X3, 0.0), "X"),
    (lambda: gr1_circle(np.eye(2), np.nan), "phi"),
    (lambda: principal_data([1.0, 2.0], np.ones((2, 2)), 5), "U"),
    (lambda: principal_data([1.0], np.eye(2), 5), "sigma"),
    (lambda: principal_data([1.0, -1.0], np.eye(2), 5), "sigma"),
    (lambda: principal_data([1.0, 2.0], np.eye(2), 2), "n"),
    (lambda: principal_data([1.0, 2.0], np.eye(2), 5, -1), "seed"),
])
def test_page_helpers_reject_bad_arguments_naming_them(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_the_projection_on_a_line_leaves_residuals_orthogonal_to_it_whose_squares_are_the_loss():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 40))
    u = np.array([1.0, -2.0, 0.5])  # not normalised: the line, not the vector, matters
    foot = gr1_projection(X, u)
    unit = u / np.linalg.norm(u)
    residuals = X - foot
    np.testing.assert_allclose(unit @ residuals, 0.0, atol=1e-12)
    np.testing.assert_allclose(np.cross(foot.T, unit), 0.0, atol=1e-12)  # each foot lies on the line
    np.testing.assert_allclose(np.sum(residuals ** 2), gr1_loss(X, u), rtol=1e-12)
    np.testing.assert_allclose(gr1_projection(X, -3 * u), foot, atol=1e-12)
    with pytest.raises(ValueError, match="u"):
        gr1_projection(X, np.ones((2, 3)))
