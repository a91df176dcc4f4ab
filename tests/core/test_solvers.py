"""The LAE-PCA solvers, checked against the authors' code and the paper's mathematics.

Expected values come from a reimplementation, written here, of the authors' updates as their
``algorithms.py`` and README write them (``authors_run`` below: their variable names, their
Kronecker-product solve); from ``np.linalg.svd`` of the data; from the loss written out as in
the paper (``paper_loss``, computed on ``X`` itself); and from its central finite differences —
never from the solver's own formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from lae_core import solvers
from lae_core.solvers import METHODS, VARIANTS, Trajectory, lae_pca, recovered_eigenvalues, solve

KINDS = ("sum", "product", "unregularized", "synthetic")
ALL = METHODS + VARIANTS
GD_METHODS = ("untied_gd", "sync_gd", "tied_gd")
W_SIGMA = 0.4                      # the synthetic loss's w_σ wherever a test needs one


def kw(kind):
    """The ``w_sigma`` keyword a loss kind needs."""
    return {"w_sigma": W_SIGMA} if kind == "synthetic" else {}


# --------------------------------------------------------------------------- helpers


def paper_loss(kind, X, lam, W1, W2, w_sigma=W_SIGMA):
    """‖X − W2W1X‖² + λ(‖W1‖² + ‖W2‖²) | λ‖W2W1‖² | 0 (paper, Section 2), and the synthetic
    w_σ L_σ + (1 − w_σ) L_π of Petrevski's report."""
    data = np.sum((X - W2 @ W1 @ X) ** 2)
    if kind == "sum":
        return data + lam * (np.sum(W1**2) + np.sum(W2**2))
    if kind == "product":
        return data + lam * np.sum((W2 @ W1) ** 2)
    if kind == "synthetic":
        return (w_sigma * paper_loss("sum", X, lam, W1, W2)
                + (1 - w_sigma) * paper_loss("product", X, lam, W1, W2))
    return data


def fd_gradient(kind, X, lam, W1, W2, h=1e-6):
    """Central finite differences of ``paper_loss`` in every entry of W1 and W2."""
    grads = []
    for which in (0, 1):
        W = (W1, W2)[which]
        G = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            plus, minus = [W1.copy(), W2.copy()], [W1.copy(), W2.copy()]
            plus[which][idx] += h
            minus[which][idx] -= h
            G[idx] = (paper_loss(kind, X, lam, *plus) - paper_loss(kind, X, lam, *minus)) / (2 * h)
        grads.append(G)
    return grads


def random_data(m=5, n=200, scales=(3.0, 2.0, 1.0, 0.5, 0.25), seed=7):
    """Mean-centred Gaussian data, rotated, with a well-separated spectrum."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(m, m)))
    X = Q @ (np.asarray(scales[:m])[:, None] * rng.normal(size=(m, n))) / math.sqrt(n)
    return X - X.mean(axis=1, keepdims=True)


def principal_angle(U, V):
    """Largest principal angle between the column spans of U and V (orthonormal columns)."""
    cosines = np.linalg.svd(U.T @ V, compute_uv=False)
    return float(np.arccos(np.clip(cosines.min(), -1.0, 1.0)))


def authors_run(method, X, lamb, alpha, W1, W2, steps):
    """The authors' LAE-PCA updates as ``algorithms.py`` writes them (``LAE_PCA_GD`` and
    ``LAE_PCA_exact`` with ``SyncMode.UNTIED / SYNC / TIED``; the README's GD-untied and GD-tied
    snippets are the same two GD updates), for ``steps`` steps; the list of (W1, W2) after
    each. The start is what their table passes: [W2ᵀ, W2] to the sync methods, [W1, W2] to
    the others."""
    m, k = W2.shape
    XXt = X @ X.T
    Im, Ik = np.eye(m), np.eye(k)
    W1, W2 = W1.copy(), W2.copy()
    if method in ("sync_gd", "exact_sync"):
        W1 = W2.T.copy()
    out = []
    for _ in range(steps):
        if method == "untied_gd":
            W1 -= alpha * ((W2.T @ (W2 @ W1 - Im)) @ XXt + lamb * W1)
            W2 -= alpha * (((W2 @ W1 - Im) @ XXt) @ W1.T + lamb * W2)
        elif method == "sync_gd":
            W1_update = alpha * ((W2.T @ (W2 @ W1 - Im)) @ XXt + lamb * W1)
            W2_update = alpha * (((W2 @ W1 - Im) @ XXt) @ W1.T + lamb * W2)
            W1 -= W1_update
            W2 -= W2_update
        elif method == "tied_gd":
            update = alpha * (((W2 @ W2.T - Im) @ XXt) @ W2 + lamb * W2)
            W2 -= update
            W1 = W2.T
        elif method == "exact_untied":
            LHS = np.kron(W2.T @ W2, XXt)
            np.fill_diagonal(LHS, LHS.diagonal() + lamb)
            RHS = (W2.T @ XXt).reshape((m * k, 1))
            W1 = scipy.linalg.solve(LHS, RHS, assume_a="pos").reshape((k, m))
            RHS = W1 @ XXt
            LHS = RHS @ W1.T + lamb * Ik
            W2 = scipy.linalg.solve(LHS, RHS, assume_a="pos").T
        elif method == "exact_sync":
            RHS = W2.T @ XXt
            LHS = RHS @ W2 + lamb * Ik
            W1 = scipy.linalg.solve(LHS, RHS, assume_a="pos")
            RHS = W1 @ XXt
            LHS = RHS @ W1.T + lamb * Ik
            W2 = scipy.linalg.solve(LHS, RHS, assume_a="pos").T
            W1 = (W1 + W2.T) / 2
            W2 = W1.T
        elif method == "exact_tied":
            RHS = W1 @ XXt
            LHS = RHS @ W1.T + lamb * Ik
            W2 = scipy.linalg.solve(LHS, RHS, assume_a="pos").T
            W1 = W2.T
        out.append((np.array(W1), np.array(W2)))
    return out


def authors_start(method, W1, W2):
    """Our ``solve`` keywords for the authors' start: the sync methods get only W2 (and start
    synchronised, W1 = W2ᵀ); the others get both (tied_gd reads W2, exact_tied reads W1)."""
    return {"W2": W2} if method in ("sync_gd", "exact_sync") else {"W1": W1, "W2": W2}


X5 = random_data()
U5, S5, _ = np.linalg.svd(X5)
EIG5 = S5**2                       # eigenvalues of X Xᵀ, about 7.4, 3.8, 0.82, 0.22, 0.056
LAM5 = EIG5[1] / 4                 # below σ₂²: two directions survive


# --------------------------------------------------------------------------- the authors' updates


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (5, 2)], ids=["scalar", "vector", "m5_k2"])
@pytest.mark.parametrize("method", METHODS)
def test_each_method_is_the_authors_update(method, shape):
    """Same data, start, λ and step (their α is our 2·lr) → the same iterates to 1e-10, on the
    scalar and vector plain-float paths and the general one."""
    m, k = shape
    X = random_data(m=m, n=60, seed=3 + m) * 2.0
    rng = np.random.default_rng(20 + m)
    W1, W2 = rng.normal(size=(k, m)), rng.normal(size=(m, k))
    lamb, alpha, steps = 0.3, 0.005, 60
    expected = authors_run(method, X, lamb, alpha, W1, W2, steps)
    run = solve(method, X, k, lamb, lr=alpha / 2, max_iter=steps, tol=0,
                **authors_start(method, W1, W2))
    assert run.iterations == steps
    for t, (E1, E2) in enumerate(expected, start=1):
        np.testing.assert_allclose(run.W1[t], E1, rtol=0, atol=1e-10, err_msg=f"W1 at step {t}")
        np.testing.assert_allclose(run.W2[t], E2, rtol=0, atol=1e-10, err_msg=f"W2 at step {t}")


def test_the_authors_benchmark_default_step_is_at_least_theirs():
    """``algorithms.py``'s own problem: m = 10, n = 10 000, k = 2, λ = 50, α = 1e-5, data and
    start from ``np.random.seed(0)``. Our default α = 2·lr is at least theirs, and stable."""
    state = np.random.get_state()
    np.random.seed(0)
    X = np.random.normal(size=(10, 10_000))
    X = X - X.mean(axis=1, keepdims=True)
    W1, W2 = np.random.normal(size=(2, 10)), np.random.normal(size=(10, 2))
    np.random.set_state(state)
    for method in GD_METHODS:
        run = solve(method, X, 2, 50.0, max_iter=3000, **authors_start(method, W1, W2))
        assert 2 * run.lr >= 1e-5, (method, run.lr)
        assert run.status != "diverged" and run.loss[-1] < 0.05 * run.loss[0]
        # and the same number of steps at their α lowers the loss less
        theirs = solve(method, X, 2, 50.0, lr=0.5e-5, max_iter=3000, **authors_start(method, W1, W2))
        assert run.loss[-1] <= theirs.loss[-1]


# --------------------------------------------------------------------------- LAE-PCA


@pytest.mark.parametrize("method", ALL)
def test_lae_pca_recovers_svd_directions_and_eigenvalues(method):
    directions, eigenvalues = lae_pca(X5, 2, LAM5, method=method, max_iter=20000, tol=1e-12)
    assert directions.shape == (5, 2) and eigenvalues.shape == (2,)
    np.testing.assert_allclose(np.abs(directions.T @ U5[:, :2]), np.eye(2), atol=1e-5)
    np.testing.assert_allclose(eigenvalues, EIG5[:2], rtol=1e-6)


def test_lae_pca_with_mini_batches_and_decaying_learning_rate_approaches_svd():
    lam, b = LAM5, 20
    run = solve("untied_gd", X5, 2, lam, batch_size=b, max_iter=1)
    W1, W2, lr = run.W1[0], run.W2[0], run.lr
    start_angle = principal_angle(U5[:, :2], np.linalg.svd(W2, full_matrices=False)[0])
    for stage in range(3):                    # lr, lr/4, lr/16: a step-decay schedule
        run = solve("untied_gd", X5, 2, lam, W1=W1, W2=W2, lr=lr, batch_size=b,
                    max_iter=2000, tol=0, seed=stage)
        W1, W2, lr = run.W1[-1], run.W2[-1], lr / 4
    U, s, _ = np.linalg.svd(W2, full_matrices=False)
    assert start_angle > 0.3
    assert principal_angle(U5[:, :2], U) < 1e-3
    np.testing.assert_allclose(lam / (1 - s**2), EIG5[:2], rtol=1e-2)


def test_lae_pca_refuses_a_mini_batch_run_that_cannot_converge():
    with pytest.raises(ValueError, match=r"lam.*converge"):
        lae_pca(X5, 2, LAM5, method="untied_gd", batch_size=20, max_iter=300)


def test_recovered_eigenvalues_invert_the_decoder_singular_values_of_table_1():
    # Table 1, sum loss: s² = 1 − λ/σ²; Petrevski's synthetic loss: s² = (σ² − w_σλ)/(σ² + w_πλ)
    sigma2, lam = np.array([16.0, 9.0, 4.0]), 2.5
    s_sum = np.sqrt(1 - lam / sigma2)
    np.testing.assert_allclose(recovered_eigenvalues(s_sum, lam), sigma2, rtol=1e-13)
    w = 0.3
    s_syn = np.sqrt((sigma2 - w * lam) / (sigma2 + (1 - w) * lam))
    np.testing.assert_allclose(recovered_eigenvalues(s_syn, lam, kind="synthetic", w_sigma=w), sigma2,
                               rtol=1e-13)
    # the authors' README's "eigenvalues" √(λ/(1 − s²)) are the singular values σ
    np.testing.assert_allclose(np.sqrt(recovered_eigenvalues(s_sum, lam)), np.sqrt(sigma2), rtol=1e-13)


@pytest.mark.parametrize("bad, name", [
    (dict(s=[1.0]), "s"), (dict(s=[-0.1]), "s"), (dict(s=[[0.5]]), "s"), (dict(s=[np.nan]), "s"),
    (dict(lam=0.0), "lam"), (dict(lam=-1.0), "lam"), (dict(kind="product"), "kind"),
    (dict(kind="bogus"), "kind"), (dict(kind="synthetic"), "w_sigma"),
    (dict(kind="synthetic", w_sigma=1.5), "w_sigma"), (dict(w_sigma=0.5), "w_sigma"),
])
def test_recovered_eigenvalues_validation_errors_name_the_argument(bad, name):
    args = dict(s=[0.5, 0.2], lam=1.0)
    args.update(bad)
    with pytest.raises(ValueError, match=name):
        recovered_eigenvalues(args.pop("s"), args.pop("lam"), **args)


# --------------------------------------------------------------------------- critical points


@pytest.mark.parametrize("method", ["untied_gd", "exact_untied", "sync_gd", "untied_gd_simultaneous"])
def test_sum_loss_limit_of_untied_solver_obeys_transpose_theorem(method):
    rng = np.random.default_rng(3)
    W1 = 1.5 * rng.normal(size=(2, 5))
    W2 = 0.2 * rng.normal(size=(5, 2))
    run = solve(method, X5, 2, LAM5, W1=W1, W2=W2, max_iter=20000, tol=1e-12)
    assert run.status == "converged", run.message
    assert run.transpose_gap[0] > 1.0
    np.testing.assert_allclose(run.W1[-1], run.W2[-1].T, atol=1e-6)
    for G in fd_gradient("sum", X5, LAM5, run.W1[-1], run.W2[-1]):
        np.testing.assert_allclose(G, 0.0, atol=1e-5)


# The authors' exact-tied step W ← D(Wᵀ) is an involution-like map for L_π and L (w ↦ c/w in
# the scalar case): it cycles there instead of converging (its own test below).
CONVERGING = [(method, kind) for method in ALL for kind in KINDS
              if not (method == "exact_tied" and kind in ("product", "unregularized"))]


@pytest.mark.parametrize("method, kind", CONVERGING)
def test_every_solver_stops_at_a_critical_point_of_its_loss(method, kind):
    X = random_data(m=3, n=40, seed=11)
    lam = 0.3 * np.linalg.svd(X, compute_uv=False)[1] ** 2
    run = solve(method, X, 2, lam, kind=kind, max_iter=20000, tol=1e-12, seed=5, **kw(kind))
    assert run.status == "converged", run.message
    for G in fd_gradient(kind, X, lam, run.W1[-1], run.W2[-1]):
        np.testing.assert_allclose(G, 0.0, atol=1e-5)


@pytest.mark.parametrize("kind", ["product", "unregularized"])
def test_authors_exact_tied_cycles_where_the_averaged_variant_converges(kind):
    # Scalar L_π and L: D(w) = x²w/(w²(x² + λ_π)) = c/w, so W ← D(Wᵀ) swaps two points forever.
    cycle = solve("exact_tied", [[1.5]], 1, 0.3, W1=[[0.2]], kind=kind, max_iter=1000)
    assert cycle.status == "oscillating" and cycle.iterations < 10
    assert "period-2 cycle" in cycle.message and "exact_tied_averaged" in cycle.message
    np.testing.assert_allclose(cycle.W2[-1], cycle.W2[-3], rtol=1e-12)
    c = 1.5**2 / (1.5**2 + (0.3 if kind == "product" else 0.0))
    np.testing.assert_allclose(cycle.W2[1:, 0, 0] * cycle.W2[:-1, 0, 0], c, rtol=1e-12)
    averaged = solve("exact_tied_averaged", [[1.5]], 1, 0.3, W1=[[0.2]], kind=kind, max_iter=1000)
    assert averaged.status == "converged"
    np.testing.assert_allclose(averaged.W2[-1, 0, 0] ** 2, c, rtol=1e-9)


def test_unregularized_gd_learns_the_projection_but_not_transposed_weights():
    # For L the critical points are W2 = U_k G⁺, W1 = G U_kᵀ with any invertible G (Table 1);
    # gradient descent keeps W1W1ᵀ − W2ᵀW2 nearly constant, so a lopsided start stays lopsided.
    X = random_data(m=4, n=100, scales=(2.0, 1.5, 1.0, 0.8), seed=1)
    U = np.linalg.svd(X)[0][:, :2]
    rng = np.random.default_rng(4)
    W1, W2 = 1.0 * rng.normal(size=(2, 4)), 0.3 * rng.normal(size=(4, 2))
    run = solve("untied_gd", X, 2, 0.0, W1=W1, W2=W2, kind="unregularized",
                max_iter=50000, tol=1e-12)
    assert run.status == "converged", run.message
    np.testing.assert_allclose(run.W2[-1] @ run.W1[-1], U @ U.T, atol=1e-7)
    assert run.transpose_gap[-1] > 0.5


# --------------------------------------------------------------------------- single steps


def _one_step(method, X, k, lam, kind, W1, W2, lr):
    run = solve(method, X, k, lam, W1=W1, W2=W2, lr=lr, max_iter=1, tol=0, kind=kind, **kw(kind))
    assert run.iterations == 1 and run.W1.shape[0] == 2
    return run.W1[1], run.W2[1]


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 1, 5), (4, 2, 9)], ids=["scalar", "vector", "m4_k2"])
@pytest.mark.parametrize("kind", KINDS)
def test_gd_step_is_learning_rate_times_finite_difference_gradient(kind, shape):
    m, k, n = shape
    rng = np.random.default_rng(8)
    X = rng.normal(size=(m, n))
    W1, W2 = rng.normal(size=(k, m)), rng.normal(size=(m, k))
    lam, lr = 0.7, 1e-3
    G1, G2 = fd_gradient(kind, X, lam, W1, W2)

    # untied GD (the authors'): the encoder's step, then the decoder's at the new encoder
    N1, N2 = _one_step("untied_gd", X, k, lam, kind, W1, W2, lr)
    np.testing.assert_allclose(N1, W1 - lr * G1, atol=1e-8)
    _, G2_new = fd_gradient(kind, X, lam, W1 - lr * G1, W2)
    np.testing.assert_allclose(N2, W2 - lr * G2_new, atol=1e-8)

    # sync GD and simultaneous untied GD: both blocks from the same point
    for method in ("sync_gd", "untied_gd_simultaneous"):
        N1, N2 = _one_step(method, X, k, lam, kind, W1, W2, lr)
        np.testing.assert_allclose(N1, W1 - lr * G1, atol=1e-8)
        np.testing.assert_allclose(N2, W2 - lr * G2, atol=1e-8)

    N1, N2 = _one_step("sync_gd_averaged", X, k, lam, kind, W1, W2, lr)
    np.testing.assert_allclose(N2, ((W1 - lr * G1).T + (W2 - lr * G2)) / 2, atol=1e-8)
    np.testing.assert_array_equal(N1, N2.T)

    # Regularized Oja's rule: the decoder's gradient taken at the tied point (Wᵀ, W).
    _, G2_tied = fd_gradient(kind, X, lam, W2.T, W2)
    N1, N2 = _one_step("tied_gd", X, k, lam, kind, None, W2, lr)
    np.testing.assert_allclose(N2, W2 - lr * G2_tied, atol=1e-8)
    np.testing.assert_array_equal(N1, N2.T)


def _decoder_minimises(kind, X, lam, W1, W2):
    """The decoder block is a convex quadratic: a zero block gradient means its minimum."""
    _, G2 = fd_gradient(kind, X, lam, W1, W2)
    np.testing.assert_allclose(G2, 0.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 1, 5), (4, 2, 9)], ids=["scalar", "vector", "m4_k2"])
@pytest.mark.parametrize("kind", KINDS)
def test_exact_steps_are_block_minimisations(kind, shape):
    m, k, n = shape
    rng = np.random.default_rng(9)
    X = rng.normal(size=(m, n))
    W1, W2 = rng.normal(size=(k, m)), rng.normal(size=(m, k))
    lam = 0.7

    N1, N2 = _one_step("exact_untied", X, k, lam, kind, W1, W2, None)
    G1, _ = fd_gradient(kind, X, lam, N1, W2)                  # encoder minimised given W2 …
    np.testing.assert_allclose(G1, 0.0, atol=1e-6)
    _decoder_minimises(kind, X, lam, N1, N2)                   # … then the decoder given it

    # exact sync: the encoder D(W2ᵀ)ᵀ (the decoder's minimiser for W1 = W2ᵀ, transposed),
    # the decoder's minimiser for it, then the average of the two
    N1, N2 = _one_step("exact_sync", X, k, lam, kind, None, W2, None)
    run = solve("exact_sync", X, k, lam, W2=W2, max_iter=1, tol=0, kind=kind, **kw(kind))
    E = _decoder_of(kind, X, lam, W2.T).T
    D = _decoder_of(kind, X, lam, E)
    np.testing.assert_allclose(run.W2[1], (E.T + D) / 2, atol=1e-10)
    np.testing.assert_array_equal(run.W1[1], run.W2[1].T)

    # exact tied: W ← D(Wᵀ) with W = W1ᵀ; averaged: W ← (W + D(Wᵀ))/2 with W = W2
    N1, N2 = _one_step("exact_tied", X, k, lam, kind, W1, W2, None)
    _decoder_minimises(kind, X, lam, W1, N2)
    np.testing.assert_array_equal(N1, N2.T)
    N1, N2 = _one_step("exact_tied_averaged", X, k, lam, kind, W1, W2, None)
    np.testing.assert_allclose(N2, (W2 + _decoder_of(kind, X, lam, W2.T)) / 2, atol=1e-10)


def _decoder_of(kind, X, lam, W1):
    """argmin over W2 of the loss for this W1, found by solving the zero-gradient condition
    from the finite-difference gradient's linearity in W2 (the loss is quadratic in W2)."""
    m, k = W1.shape[1], W1.shape[0]
    zero = np.zeros((m, k))
    g0 = fd_gradient(kind, X, lam, W1, zero)[1].ravel()
    columns = []
    for idx in range(m * k):
        e = np.zeros(m * k)
        e[idx] = 1.0
        columns.append(fd_gradient(kind, X, lam, W1, e.reshape(m, k))[1].ravel() - g0)
    H = np.array(columns).T
    return np.linalg.solve(H, -g0).reshape(m, k)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(KINDS),
       lam_scale=st.floats(0.01, 2.0), k=st.integers(1, 4))
def test_exact_untied_loss_never_increases(seed, kind, lam_scale, k):
    # Alternating exact minimisation: every half-step can only lower the loss.
    X = random_data(m=4, n=30, seed=seed)
    lam = lam_scale * np.linalg.svd(X, compute_uv=False)[0] ** 2
    run = solve("exact_untied", X, k, lam, kind=kind, max_iter=200, seed=seed, **kw(kind))
    assert np.all(np.diff(run.loss) <= 1e-10 * (1 + run.loss[0]))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(KINDS), scale=st.floats(0.1, 3.0))
def test_default_learning_rate_gives_a_decreasing_loss(seed, kind, scale):
    X = random_data(m=4, n=30, seed=seed)
    rng = np.random.default_rng(seed)
    W1, W2 = scale * rng.normal(size=(2, 4)), scale * rng.normal(size=(4, 2))
    run = solve("untied_gd", X, 2, 0.3, W1=W1, W2=W2, kind=kind, max_iter=300, **kw(kind))
    assert run.status != "diverged"
    assert np.all(np.diff(run.loss) <= 1e-10 * (1 + run.loss[0]))


# --------------------------------------------------------------------------- recorded values


@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("method", ALL)
def test_recorded_loss_is_the_full_batch_loss_of_each_iterate(method, batch_size):
    X = random_data(m=3, n=21, seed=2)
    run = solve(method, X, 2, 0.2, kind="sum", max_iter=40, batch_size=batch_size)
    expected = [paper_loss("sum", X, 0.2, a, b) for a, b in zip(run.W1, run.W2)]
    np.testing.assert_allclose(run.loss, expected, rtol=1e-10, atol=1e-12)
    assert run.W1.shape == (len(run.loss), 2, 3) and run.W2.shape == (len(run.loss), 3, 2)
    assert run.iterations == len(run.loss) - 1


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (3, 2)], ids=["scalar", "vector", "m3_k2"])
def test_recorded_synthetic_loss_is_the_weighted_sum_of_the_two_losses(shape):
    m, k = shape
    X = random_data(m=m, n=21, seed=2)
    run = solve("untied_gd", X, k, 0.2, kind="synthetic", w_sigma=W_SIGMA, max_iter=30)
    expected = [paper_loss("synthetic", X, 0.2, a, b) for a, b in zip(run.W1, run.W2)]
    np.testing.assert_allclose(run.loss, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["tied_gd", "exact_tied", "exact_tied_averaged", "sync_gd_averaged",
                                    "exact_sync"])
def test_tied_and_averaged_iterates_are_transposes(method):
    rng = np.random.default_rng(1)
    run = solve(method, X5, 2, LAM5, W1=rng.normal(size=(2, 5)), W2=rng.normal(size=(5, 2)),
                max_iter=50)
    first = 0 if "tied" in method else 1       # the averaging methods tie after their first step
    np.testing.assert_array_equal(run.W1[first:], np.swapaxes(run.W2[first:], 1, 2))


def test_the_authors_sync_gd_starts_tied_and_only_the_sum_loss_ties_it_again():
    # GD-sync is plain simultaneous GD from W1 = W2ᵀ: a step keeps that only when A commutes
    # with W Wᵀ (the scalar case), and the Transpose Theorem brings it back at the minimum.
    W2 = np.random.default_rng(2).normal(size=(5, 2))
    run = solve("sync_gd", X5, 2, LAM5, W2=W2, max_iter=20000, tol=1e-12)
    assert run.transpose_gap[0] == 0.0 and run.transpose_gap[1] > 1e-4
    assert run.status == "converged" and run.transpose_gap[-1] < 1e-8


@pytest.mark.parametrize("method, expected", [("tied_gd", "W2"), ("exact_tied_averaged", "W2"),
                                              ("exact_tied", "W1")])
def test_a_tied_method_starts_from_the_block_its_first_step_reads(method, expected):
    W1, W2 = np.array([[1.0, 0.0]]), np.array([[0.0], [3.0]])
    run = solve(method, np.eye(2), 1, 0.1, W1=W1, W2=W2, max_iter=1)
    W = W2 if expected == "W2" else W1.T
    np.testing.assert_array_equal(run.W2[0], W)
    np.testing.assert_array_equal(run.W1[0], W.T)
    only = solve(method, np.eye(2), 1, 0.1, W1=W1, max_iter=1)       # the other block's transpose
    np.testing.assert_array_equal(only.W2[0], W1.T)


@pytest.mark.parametrize("method", ["sync_gd", "exact_sync", "sync_gd_averaged"])
def test_a_sync_method_starts_synchronised(method):
    W2 = np.random.default_rng(0).normal(size=(5, 2))
    run = solve(method, X5, 2, LAM5, W2=W2, max_iter=1)
    np.testing.assert_array_equal(run.W1[0], W2.T)
    run = solve(method, X5, 2, LAM5, max_iter=1)                     # random start: W1 = W2ᵀ
    np.testing.assert_array_equal(run.W1[0], run.W2[0].T)
    W1 = np.ones((2, 5))
    run = solve(method, X5, 2, LAM5, W1=W1, W2=W2, max_iter=1)       # both given: as given
    np.testing.assert_array_equal(run.W1[0], W1)


def test_start_is_iterate_zero_and_the_seed_makes_runs_reproducible():
    W1, W2 = np.full((2, 5), 0.1), np.full((5, 2), -0.2)
    run = solve("untied_gd", X5, 2, LAM5, W1=W1, W2=W2, max_iter=3)
    np.testing.assert_array_equal(run.W1[0], W1)
    np.testing.assert_array_equal(run.W2[0], W2)
    a = solve("untied_gd", X5, 2, LAM5, max_iter=5, batch_size=10, seed=4)
    b = solve("untied_gd", X5, 2, LAM5, max_iter=5, batch_size=10, seed=4)
    c = solve("untied_gd", X5, 2, LAM5, max_iter=5, batch_size=10, seed=5)
    np.testing.assert_array_equal(a.W1, b.W1)
    assert not np.array_equal(a.W1, c.W1)


def test_continuing_a_run_from_its_last_iterate_is_the_same_run():
    # what a page does when it trains in chunks: W1, W2 of the last iterate, same lr
    whole = solve("sync_gd", X5, 2, LAM5, max_iter=60, tol=0, seed=3)
    first = solve("sync_gd", X5, 2, LAM5, max_iter=30, tol=0, seed=3)
    rest = solve("sync_gd", X5, 2, LAM5, W1=first.W1[-1], W2=first.W2[-1], lr=first.lr,
                 max_iter=30, tol=0)
    np.testing.assert_allclose(rest.W2[-1], whole.W2[-1], rtol=0, atol=1e-14)


def test_mini_batch_step_is_an_unbiased_estimate_of_the_full_step():
    # One step from a fixed start: averaged over batch draws (seeds) it matches the full step.
    X = random_data(m=2, n=6, scales=(2.0, 1.0), seed=3)
    W1, W2 = np.array([[0.3, -0.5]]), np.array([[0.8], [0.1]])
    full = solve("untied_gd", X, 1, 0.2, W1=W1, W2=W2, lr=0.01, max_iter=1, tol=0)
    steps = np.array([solve("untied_gd", X, 1, 0.2, W1=W1, W2=W2, lr=0.01, max_iter=1, tol=0,
                            batch_size=2, seed=s).W1[1].ravel() for s in range(400)])
    spread = steps.std(axis=0) / math.sqrt(len(steps))
    assert np.all(spread > 0)
    assert np.all(np.abs(steps.mean(axis=0) - full.W1[1].ravel()) <= 5 * spread)


# --------------------------------------------------------------------------- oscillation


def test_trajectories_page_at_lr_1_says_lower_the_learning_rate():
    # Issue #21, the Trajectories page's default state (x = 1, λ = 0.5, sum loss, start
    # (w₁, w₂) = (−1.4, 1.7), 2000 iterations, tol 1e-10) with the learning rate at 1: sync GD
    # and tied GD did not converge and the page said to raise the learning rate.
    for method in ("sync_gd", "tied_gd"):
        run = solve(method, [[1.0]], 1, 0.5, W1=[[-1.4]], W2=[[1.7]], lr=1.0, max_iter=2000,
                    tol=1e-10)
        assert run.status in ("oscillating", "diverged"), run.message
        assert "lower" in run.message and "raise" not in run.message


@pytest.mark.parametrize("method", ["sync_gd", "tied_gd"])
def test_sync_and_tied_gd_at_lr_1_oscillate_and_say_lower_it(method):
    # From the tied start 0.15 (where the page used to start tied GD): w ↦ w − 2(w³ − w/2) has
    # slope −1 at its fixed point w = 1/√2, so the steps alternate and barely shrink.
    run = solve(method, [[1.0]], 1, 0.5, W1=[[0.15]], W2=[[0.15]], lr=1.0, max_iter=2000, tol=1e-10)
    assert run.status == "oscillating", run.message
    assert "lower it (lr = 1)" in run.message and "raise" not in run.message
    steps = np.diff(run.W2[-4:, 0, 0])
    assert np.all(steps[1:] * steps[:-1] < 0)


def test_a_learning_rate_past_the_edge_stops_at_a_period_2_cycle():
    run = solve("tied_gd", [[1.0]], 1, 0.5, W2=[[0.15]], lr=1.2, max_iter=5000, tol=1e-10)
    assert run.status == "oscillating" and run.iterations < 500
    assert "period-2 cycle" in run.message and "lower it" in run.message
    # the two points of the cycle: w ↦ f(w) = w − 2.4(w³ − w/2) swaps them
    a, b = run.W2[-1, 0, 0], run.W2[-2, 0, 0]
    f = lambda w: w - 2.4 * (w**3 - 0.5 * w)  # noqa: E731
    np.testing.assert_allclose([f(a), f(b)], [b, a], atol=1e-9)
    assert abs(a - b) > 0.1


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (3, 2)], ids=["scalar", "vector", "m3_k2"])
def test_a_dying_oscillation_converges_and_is_not_called_a_cycle(shape):
    # The authors' exact tied step has slope 2λ/σ² − 1 ≈ −0.73 here: it alternates and converges.
    m, k = shape
    X = np.diag([1.5, 1.3, 1.2][:m])
    run = solve("exact_tied", X, k, 0.3, W1=np.full((k, m), 0.2), max_iter=10000, tol=1e-12)
    assert run.status == "converged", run.message


def test_a_mini_batch_run_is_not_called_oscillating():
    run = solve("untied_gd", X5, 2, LAM5, batch_size=20, max_iter=300)
    assert run.status == "max_iter" and "mini-batch noise" in run.message


# --------------------------------------------------------------------------- plain-float paths


@pytest.mark.parametrize("lr", [None, 0.9])
@pytest.mark.parametrize("batch_size", [None, 2])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ALL)
def test_scalar_fast_path_matches_the_general_path(method, kind, batch_size, lr):
    x = np.array([[1.5, -0.7, 0.3, 2.0, -1.1, 0.4]])
    kws = dict(max_iter=200, kind=kind, batch_size=batch_size, seed=3, **kw(kind))
    fast = solve(method, x, 1, 0.8, W1=[[0.4]], W2=[[1.3]], lr=lr, **kws)
    # The same problem run by the general m × k code ...
    p = solvers._prepare(method, x, 1, 0.8, [[0.4]], [[1.3]], lr, 200, 1e-10, batch_size, 3,
                         kind, kw(kind).get("w_sigma"))
    general = solvers._run_general(p)
    np.testing.assert_allclose(fast.W1, general.W1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.W2, general.W2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.loss, general.loss, rtol=1e-12, atol=1e-15)
    assert (fast.status, fast.iterations) == (general.status, general.iterations)
    # ... and embedded in m = 2 with an all-zero second coordinate, which must stay zero.
    X = np.vstack([x, np.zeros_like(x)])
    embedded = solve(method, X, 1, 0.8, W1=[[0.4, 0.0]], W2=[[1.3], [0.0]], lr=fast.lr, **kws)
    np.testing.assert_allclose(embedded.W1[:, :, :1], fast.W1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(embedded.W2[:, :1, :], fast.W2, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(embedded.W1[:, 0, 1], 0.0)
    np.testing.assert_allclose(embedded.loss, fast.loss, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("lam", [0.0, 0.6])
@pytest.mark.parametrize("batch_size", [None, 3])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ALL)
def test_vector_fast_path_matches_the_general_path(method, kind, batch_size, lam):
    """m = 2, k = 1 (the tied vector case) in plain floats: the same iterates, losses and
    outcome as the general NumPy code on the same problem, λ = 0 (pseudo-inverse) included."""
    X = np.array([[1.5, -0.7, 0.3, 2.0, -1.1, 0.4], [0.2, 0.9, -0.5, 0.8, 0.1, -1.3]])
    W1, W2 = [[0.4, -0.3]], [[1.1], [0.5]]
    fast = solve(method, X, 1, lam, W1=W1, W2=W2, max_iter=150, kind=kind, batch_size=batch_size,
                 seed=5, **kw(kind))
    p = solvers._prepare(method, X, 1, lam, W1, W2, None, 150, 1e-10, batch_size, 5, kind,
                         kw(kind).get("w_sigma"))
    general = solvers._run_general(p)
    assert fast.W1.shape == general.W1.shape and fast.W2.shape == general.W2.shape
    np.testing.assert_allclose(fast.W1, general.W1, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fast.W2, general.W2, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fast.loss, general.loss, rtol=1e-10, atol=1e-13)
    assert (fast.status, fast.iterations) == (general.status, general.iterations)


def test_vector_fast_path_is_taken(monkeypatch):
    """The page's tied vector case never reaches the NumPy loop (``make bench`` times it)."""
    def general(p):
        raise AssertionError("general path taken")
    monkeypatch.setattr(solvers, "_run_general", general)
    X = np.array([[1.0], [0.7]])
    for method in ALL:
        t = solve(method, X, 1, 0.5, W1=[[1.5, -0.5]], W2=[[0.3], [1.2]], lr=0.005, max_iter=50, tol=0.0)
        assert t.iterations == 50


@pytest.mark.parametrize("method", ALL)
def test_scalar_sum_loss_solvers_reach_the_closed_form_minimum(method):
    # L_σ = x²(1 − w1w2)² + λ(w1² + w2²) has minima w1 = w2 = ±√(1 − λ/x²) (x² > λ).
    run = solve(method, [[1.5]], 1, 0.3, W1=[[0.2]], W2=[[0.9]], max_iter=10000)
    assert run.status == "converged", run.message
    w = math.sqrt(1 - 0.3 / 1.5**2)
    np.testing.assert_allclose(np.abs([run.W1[-1, 0, 0], run.W2[-1, 0, 0]]), [w, w], rtol=1e-7)
    assert f"converged after {run.iterations} iteration" in run.message


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize("X", [[[1.5]], [[1.5], [0.5]], X5], ids=["scalar", "vector", "m5"])
@pytest.mark.parametrize("method", GD_METHODS + ("untied_gd_simultaneous", "sync_gd_averaged"))
def test_huge_learning_rate_diverges_and_says_so(method, X):
    k = 2 if np.shape(X) == X5.shape else 1
    run = solve(method, X, k, 0.3, lr=50.0, max_iter=1000)
    assert run.status == "diverged"
    assert "learning rate" in run.message and "diverged at iteration" in run.message
    assert 1 <= len(run.loss) < 1000 and run.iterations == len(run.loss) - 1
    for a in (run.W1, run.W2, run.loss):
        assert np.isfinite(a).all()
    assert run.loss[-1] <= 1e12 * (1 + run.loss[0])
    assert f"diverged at iteration {run.iterations + 1}" in run.message


def test_tol_zero_runs_every_step_and_max_iter_says_so():
    run = solve("exact_untied", X5, 2, LAM5, max_iter=37, tol=0)
    assert (run.status, run.iterations, len(run.loss)) == ("max_iter", 37, 38)
    assert "37 iterations" in run.message
    short = solve("untied_gd", X5, 2, LAM5, max_iter=5)
    assert short.status == "max_iter" and "max_iter" in short.message


def test_starting_at_a_critical_point_converges_at_once():
    run = solve("untied_gd", [[1.5]], 1, 0.3, W1=[[0.0]], W2=[[0.0]])
    assert (run.status, run.iterations) == ("converged", 1)


def test_trajectory_is_read_only():
    run = solve("exact_tied", X5, 2, LAM5)
    assert isinstance(run, Trajectory) and run.method == "exact_tied" and run.lr is None
    with pytest.raises(ValueError):
        run.loss[0] = 1.0
    with pytest.raises(AttributeError):
        run.status = "converged"


# --------------------------------------------------------------------------- validation

BAD_SOLVE_ARGUMENTS = [
    (dict(method="adam"), "method"),
    (dict(method="exact_sync_minimizer"), "method"),
    (dict(kind="l1"), "kind"),
    (dict(kind="synthetic"), "w_sigma"),
    (dict(kind="synthetic", w_sigma=-0.1), "w_sigma"),
    (dict(kind="synthetic", w_sigma=np.nan), "w_sigma"),
    (dict(kind="sum", w_sigma=0.5), "w_sigma"),
    (dict(X=[[1.0, np.nan]]), "X"),
    (dict(X=[1.0, 2.0]), "X"),
    (dict(X=np.zeros((2, 0))), "X"),
    (dict(X=[["a"]]), "X"),
    (dict(X=[[1e200, 1e200]]), "X"),
    (dict(k=0), "k"),
    (dict(k=3), "k"),
    (dict(k=1.5), "k"),
    (dict(lam=-0.1), "lam"),
    (dict(lam=np.inf), "lam"),
    (dict(lam="big"), "lam"),
    (dict(W1=np.zeros((2, 2))), "W1"),
    (dict(W1=[[np.inf, 0.0]]), "W1"),
    (dict(W2=np.zeros((1, 2))), "W2"),
    (dict(W1=[[1e200, 1e200]], W2=[[1e200], [1e200]]), "W1"),
    (dict(lr=0.0), "lr"),
    (dict(lr=-1.0), "lr"),
    (dict(lr=np.nan), "lr"),
    (dict(max_iter=0), "max_iter"),
    (dict(max_iter=10.0), "max_iter"),
    (dict(tol=-1e-3), "tol"),
    (dict(tol=np.nan), "tol"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=4), "batch_size"),
    (dict(seed=-1), "seed"),
    (dict(seed=True), "seed"),
]


@pytest.mark.parametrize("bad, name", BAD_SOLVE_ARGUMENTS,
                         ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD_SOLVE_ARGUMENTS)])
def test_solve_validation_errors_name_the_argument(bad, name):
    args = dict(method="untied_gd", X=[[1.0, 2.0, 0.5], [0.0, 1.0, -1.0]], k=1, lam=0.1)
    args.update(bad)
    positional = [args.pop(key) for key in ("method", "X", "k", "lam")]
    with pytest.raises(ValueError, match=name):
        solve(*positional, **args)


@pytest.mark.parametrize("bad, name", [
    (dict(lam=0.0), "lam"),
    (dict(lam=-1.0), "lam"),
    (dict(method="svd"), "method"),
    (dict(kind="product"), "kind"),
    (dict(max_iter=1), "lam"),
    (dict(k=6), "k"),
])
def test_lae_pca_validation_errors_name_the_argument(bad, name):
    args = dict(X=X5, k=2, lam=LAM5)
    args.update(bad)
    with pytest.raises(ValueError, match=name):
        lae_pca(args.pop("X"), args.pop("k"), args.pop("lam"), **args)


@pytest.mark.parametrize("method", ["sync_gd", "tied_gd"])
def test_a_run_whose_loss_wanders_at_max_iter_is_told_to_lower_the_learning_rate(method):
    """lr = 10^−0.1 from (1.5, 1.5) on x² = 1, λ = 0: the steps neither converge, diverge nor
    settle into a 2-cycle, and the loss keeps rising as often as it falls — raising max_iter or
    the learning rate would not help."""
    run = solve(method, [[1.0]], 1, 0.0, W1=[[1.5]], W2=[[1.5]], lr=10 ** -0.1, max_iter=2000, kind="sum")
    assert run.status == "max_iter"
    tail = np.diff(run.loss[-500:])
    assert (tail > 0).sum() > 50  # the loss really wanders
    assert "lower it" in run.message and "raise max_iter" not in run.message


def test_a_slow_run_still_falling_at_max_iter_is_told_to_raise_it():
    run = solve("untied_gd", [[1.0]], 1, 0.5, W1=[[0.01]], W2=[[0.02]], lr=1e-3, max_iter=50, kind="sum")
    assert run.status == "max_iter" and np.all(np.diff(run.loss[-12:]) < 0)
    assert run.message.endswith("raise max_iter or the learning rate")
