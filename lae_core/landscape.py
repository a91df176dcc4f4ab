"""The general m, k landscape of a linear autoencoder (Kunin, Bloom, Goeva, Seed, ICML 2019).

Data ``X`` is ``m × n`` (mean-centred rows), ``X = U Σ Vᵀ`` with ``σ₁ > σ₂ > … > 0``;
the encoder ``W1`` is ``k × m`` and the decoder ``W2`` is ``m × k``, with ``1 ≤ k ≤ m``.
The three losses (paper, Section 2)::

    unregularized  L   = ‖X − W2 W1 X‖²_F
    product        L_π = L + λ ‖W2 W1‖²_F
    sum            L_σ = L + λ (‖W1‖²_F + ‖W2‖²_F)

Items in this module:

- ``loss``, ``gradient``, ``hessian`` — the loss, its exact gradient (full factor 2) and its
  exact analytic Hessian in the flattened weights ``(W1.ravel(), W2.ravel())``.
- ``hessian_inertia`` — measured (descending, flat, ascending) eigenvalue counts.
- ``table1_point`` — the critical points of Table 1 (Landscape Theorem).
- ``d_index``, ``predicted_descending`` — the Landscape Theorem's count of descending
  directions, ``d_I + (k − l)(m − l)``, restricted for the sum loss to the directions the
  theorem's condition ``σ_j² > λ`` allows (see ``predicted_descending``).
- ``critical_set_dimension`` — the dimension of the critical manifold through a Table 1 point,
  which is the number of exactly flat Hessian directions there.
- ``random_data`` — mean-centred data with exactly prescribed singular values.

Index sets ``I`` are **0-based** throughout (the paper's ``{1, …, m}`` shifted down by one):
``I = (0, 2)`` means the first and third singular vectors.

Every public function validates its arguments and raises ``ValueError`` whose message starts
with (or names) the offending argument.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from lae_core import _validate as v

__all__ = [
    "Inertia",
    "critical_set_dimension",
    "d_index",
    "gradient",
    "hessian",
    "hessian_inertia",
    "loss",
    "predicted_descending",
    "random_data",
    "table1_point",
]

# Orthonormality (UᵀU = I, OᵀO = I) is checked entry-wise to this absolute tolerance: loose
# enough for matrices from QR or SVD in float64, tight enough to refuse a typed-in guess.
_ORTHONORMAL_ATOL = 1e-8

# Default relative tolerance factor of ``hessian_inertia`` (see its docstring).
_INERTIA_EPS_FACTOR = 1e4


class Inertia(NamedTuple):
    """Counts of negative, ~zero and positive Hessian eigenvalues (they sum to 2km)."""

    descending: int
    flat: int
    ascending: int


# --------------------------------------------------------------------------- validation


def _weights(X, W1, W2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check ``X`` (m × n), ``W1`` (k × m), ``W2`` (m × k) with 1 ≤ k ≤ m."""
    X = v.matrix("X", X)
    m, n = X.shape
    if m < 1 or n < 1:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    W1 = v.matrix("W1", W1, shape=(None, m))
    k = W1.shape[0]
    if not 1 <= k <= m:
        raise ValueError(f"W1 must have k rows with 1 ≤ k ≤ m = {m}; got k = {k}")
    W2 = v.matrix("W2", W2, shape=(m, k))
    return X, W1, W2


def _sigma(sigma) -> np.ndarray:
    """Singular values: 1-D, positive and strictly descending, as the paper assumes."""
    sigma = v.array("sigma", sigma, ndim=1)
    if sigma.size == 0:
        raise ValueError("sigma must hold at least one singular value")
    if not (sigma > 0).all():
        raise ValueError("sigma must be positive (the singular values of full-rank data)")
    if not (np.diff(sigma) < 0).all():
        raise ValueError("sigma must be strictly descending (σ₁ > σ₂ > …, distinct values)")
    return sigma


def _index_set(I, size: int, k: int | None) -> tuple[int, ...]:
    """``I``: distinct 0-based indices into ``range(size)``, at most ``k`` of them."""
    if isinstance(I, (str, bytes)) or isinstance(I, numbers.Number):
        raise ValueError(f"I must be a sequence of distinct 0-based indices; got {I!r}")
    try:
        items = list(I)
    except TypeError:
        raise ValueError(f"I must be a sequence of distinct 0-based indices; got {I!r}") from None
    out = []
    for i in items:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral):
            raise ValueError(f"I must hold whole-number indices; got {i!r}")
        i = int(i)
        if not 0 <= i < size:
            raise ValueError(f"I holds index {i}, outside 0..{size - 1} (indices are 0-based)")
        out.append(i)
    if len(set(out)) != len(out):
        raise ValueError(f"I must hold distinct indices; got {tuple(out)}")
    if k is not None and len(out) > k:
        raise ValueError(f"I may hold at most k = {k} indices; got {len(out)}")
    return tuple(out)


def _sum_condition(sigma: np.ndarray, I: tuple[int, ...], lam: float) -> None:
    """Table 1's sum-loss point exists only if σ_i² > λ for every i ∈ I."""
    for i in I:
        if not sigma[i] ** 2 > lam:
            raise ValueError(
                f"I holds index {i} with sigma[{i}]² = {sigma[i] ** 2:g} ≤ lam = {lam:g}; the "
                "sum-loss critical point of Table 1 needs σ_i² > λ for every i in I"
            )


# --------------------------------------------------------------------------- loss and derivatives


def _product_lam(kind: str, lam: float) -> float:
    # λ enters the product loss through A = W2 W1; the sum loss adds it on the factors.
    return lam if kind == "product" else 0.0


#: The losses ``loss`` and ``gradient`` know: the paper's three and the synthetic loss
#: ``w_σ L_σ + (1 − w_σ) L_π`` of Petrevski's follow-up report.
LOSS_KINDS = (*v.LOSSES, "synthetic")


def _loss_kind(kind, w_sigma) -> tuple[str, float | None]:
    """The checked ``(kind, w_sigma)``: ``w_sigma`` in [0, 1] is needed by the synthetic loss
    and refused by the others (where it would be silently meaningless)."""
    kind = v.choice("kind", kind, LOSS_KINDS)
    if kind == "synthetic":
        if w_sigma is None:
            raise ValueError("w_sigma must be given for kind='synthetic': the weight w_σ of L_σ "
                             "in w_σ L_σ + (1 − w_σ) L_π, 0 ≤ w_σ ≤ 1")
        return kind, v.real("w_sigma", w_sigma, minimum=0.0, maximum=1.0)
    if w_sigma is not None:
        raise ValueError(f"w_sigma applies only to kind='synthetic'; got kind={kind!r}")
    return kind, None


def _penalties(kind: str, lam: float, w_sigma: float | None = None) -> tuple[float, float]:
    """``(λ_σ, λ_π)``: the weights of ``‖W1‖²_F + ‖W2‖²_F`` and of ``‖W2W1‖²_F`` in a loss —
    sum ``(λ, 0)``, product ``(0, λ)``, unregularized ``(0, 0)``, synthetic
    ``(w_σλ, (1 − w_σ)λ)``, since ``w_σ L_σ + w_π L_π = L + w_σλ(‖W1‖² + ‖W2‖²) + w_πλ‖W2W1‖²``
    when ``w_σ + w_π = 1``."""
    if kind == "sum":
        return lam, 0.0
    if kind == "product":
        return 0.0, lam
    if kind == "synthetic":
        return w_sigma * lam, (1.0 - w_sigma) * lam
    return 0.0, 0.0


@v.finite_result
def loss(kind: str, X, lam: float, W1, W2, *, w_sigma: float | None = None) -> float:
    """The loss ``L``, ``L_π``, ``L_σ`` or the synthetic loss at the weights ``(W1, W2)``.

    With ``P = W2W1`` (paper, Section 2; the synthetic loss from Petrevski's report)::

        unregularized  L   = ‖X − PX‖²_F
        product        L_π = L + λ‖P‖²_F
        sum            L_σ = L + λ(‖W1‖²_F + ‖W2‖²_F)
        synthetic          = w_σ L_σ + w_π L_π,  w_π = 1 − w_σ
                           = L + w_σλ(‖W1‖²_F + ‖W2‖²_F) + w_πλ‖P‖²_F

    The synthetic loss is ``L_σ`` at ``w_σ = 1`` and ``L_π`` at ``w_σ = 0``.

    Parameters
    ----------
    kind : {'unregularized', 'product', 'sum', 'synthetic'}
    X : array_like, shape (m, n)
        Data (the loss is defined for any ``X``; the paper's ``X`` is mean-centred).
    lam : float
        λ ≥ 0 (ignored by the unregularized loss, but still checked).
    W1 : array_like, shape (k, m)
        Encoder, ``1 ≤ k ≤ m``.
    W2 : array_like, shape (m, k)
        Decoder.
    w_sigma : float, optional
        ``w_σ`` in [0, 1], for ``kind='synthetic'`` only (required there).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Unknown ``kind``; ``lam`` negative or not finite; ``X``, ``W1``, ``W2`` not finite,
        of mismatched shapes, or ``k`` outside ``1..m`` (named ``W1``); ``w_sigma`` missing
        for the synthetic loss, given for another, or outside [0, 1].
    """
    kind, w_sigma = _loss_kind(kind, w_sigma)
    lam = v.lam(lam)
    X, W1, W2 = _weights(X, W1, W2)
    return _loss_value(kind, X, lam, W1, W2, w_sigma)


def _loss_value(kind: str, X: np.ndarray, lam: float, W1: np.ndarray, W2: np.ndarray,
                w_sigma: float | None = None):
    """``loss`` without validation: for callers that validated once and call it many times.

    The solvers pass a thin factor ``F`` with ``F Fᵀ = X Xᵀ`` in place of ``X`` (the loss
    depends on ``X`` only through ``X Xᵀ``). ``W1`` (k, m) and ``W2`` (m, k) give a float;
    stacks ``W1`` (T, k, m) and ``W2`` (T, m, k) give the T losses as an array (T,) — the
    solvers' fast paths compute a whole run's losses in one call.
    """
    lam_sum, lam_prod = _penalties(kind, lam, w_sigma)
    # The residual form is more accurate than tr((I−P)C(I−P)ᵀ) near a perfect fit.
    R = X - W2 @ (W1 @ X)
    if W1.ndim == 2:
        value = float(np.vdot(R, R))
        if lam_prod:
            P = W2 @ W1
            value += lam_prod * float(np.vdot(P, P))
        if lam_sum:
            value += lam_sum * (float(np.vdot(W1, W1)) + float(np.vdot(W2, W2)))
        return value
    value = np.einsum("tij,tij->t", R, R)
    if lam_prod:
        P = W2 @ W1
        value += lam_prod * np.einsum("tij,tij->t", P, P)
    if lam_sum:
        value += lam_sum * (np.einsum("tij,tij->t", W1, W1) + np.einsum("tij,tij->t", W2, W2))
    return value


def _grad_A(kind: str, X: np.ndarray, lam: float, W1: np.ndarray, W2: np.ndarray,
            w_sigma: float | None = None) -> np.ndarray:
    """∂/∂P of the part of the loss that depends on P = W2W1: −2(X − PX)Xᵀ + 2λ_π P."""
    _, lam_prod = _penalties(kind, lam, w_sigma)
    P = W2 @ W1
    return -2.0 * (X - P @ X) @ X.T + 2.0 * lam_prod * P


@v.finite_result
def gradient(kind: str, X, lam: float, W1, W2, *,
             w_sigma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The exact gradient ``(∂loss/∂W1, ∂loss/∂W2)`` (full factor 2, not the half gradient).

    With ``(λ_σ, λ_π)`` = ``(λ, 0)`` (sum), ``(0, λ)`` (product), ``(0, 0)`` (unregularized),
    ``(w_σλ, (1 − w_σ)λ)`` (synthetic) and ``Γ = ∂loss/∂P = −2(X − W2W1X)Xᵀ + 2λ_π W2W1``::

        ∂/∂W1 = W2ᵀ Γ + 2λ_σ W1
        ∂/∂W2 = Γ W1ᵀ + 2λ_σ W2

    Parameters and raised errors are those of ``loss``.

    Returns
    -------
    dW1 : ndarray, shape (k, m)
    dW2 : ndarray, shape (m, k)
    """
    kind, w_sigma = _loss_kind(kind, w_sigma)
    lam = v.lam(lam)
    X, W1, W2 = _weights(X, W1, W2)
    lam_sum, _ = _penalties(kind, lam, w_sigma)
    gamma = _grad_A(kind, X, lam, W1, W2, w_sigma)
    dW1 = W2.T @ gamma
    dW2 = gamma @ W1.T
    if lam_sum:
        dW1 = dW1 + 2.0 * lam_sum * W1
        dW2 = dW2 + 2.0 * lam_sum * W2
    return dW1, dW2


def _hessians(kind: str, C: np.ndarray, lam: float, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """``hessian`` without validation, for a stack of points at once.

    ``C = XXᵀ`` (m × m); ``W1`` of shape (..., k, m) and ``W2`` of shape (..., m, k) give a
    result of shape (..., 2km, 2km). The blocks are Kronecker products (see ``hessian``), so
    building a stack costs O(k²m²) per point, not the 2km Hessian-vector products it replaces.
    """
    k, m = W1.shape[-2:]
    km = k * m
    stack = W1.shape[:-2]
    W1 = W1.reshape(-1, k, m)
    W2 = W2.reshape(-1, m, k)
    S = C + _product_lam(kind, lam) * np.eye(m)
    W1S = W1 @ S
    gamma = 2.0 * (W2 @ W1S - C)
    W2tW2 = np.swapaxes(W2, 1, 2) @ W2
    W1SW1t = W1S @ np.swapaxes(W1, 1, 2)
    H = np.empty((W1.shape[0], 2 * km, 2 * km))
    H[:, :km, :km] = 2.0 * np.einsum("rab,pq->rapbq", W2tW2, S).reshape(-1, km, km)
    H[:, km:, km:] = 2.0 * np.einsum("pq,rab->rpaqb", np.eye(m), W1SW1t).reshape(-1, km, km)
    H12 = np.einsum("ab,rqp->rapqb", np.eye(k), gamma) + 2.0 * np.einsum("rqa,rbp->rapqb", W2, W1S)
    H[:, :km, km:] = H12.reshape(-1, km, km)
    H[:, km:, :km] = np.swapaxes(H[:, :km, km:], 1, 2)
    if kind == "sum":
        H += 2.0 * lam * np.eye(2 * km)
    H = 0.5 * (H + np.swapaxes(H, 1, 2))
    return H.reshape(*stack, 2 * km, 2 * km)


@v.finite_result
def hessian(kind: str, X, lam: float, W1, W2) -> np.ndarray:
    """The exact Hessian of the loss in the flattened weights.

    The coordinates are ``np.concatenate([W1.ravel(), W2.ravel()])`` (C order), so the
    result is ``2km × 2km``, rows and columns ``0..km−1`` for ``W1`` and ``km..2km−1`` for
    ``W2``. For a direction ``(E1, E2)``, with ``A = W2W1``, ``S = XXᵀ + λ_π I``
    (``λ_π = λ`` for the product loss, 0 otherwise), ``Γ = 2(AS − XXᵀ)`` and
    ``δA = W2E1 + E2W1``, the Hessian-vector product is::

        H·(E1, E2) = ( E2ᵀΓ + 2W2ᵀ δA S ,  Γ E1ᵀ + 2 δA S W1ᵀ )  (+ 2λ (E1, E2) for the sum loss)

    Read off entry by entry (``⊗`` the Kronecker product, which C-order flattening gives for
    ``vec(PEQ) = (P ⊗ Qᵀ) vec(E)``)::

        H₁₁ = 2 (W2ᵀW2) ⊗ S                                    (W1, W1)
        H₂₂ = 2 I_m ⊗ (W1 S W1ᵀ)                               (W2, W2)
        H₁₂[(a, p), (q, b)] = δ_ab Γ_qp + 2 (W2)_qa (W1 S)_bp   (W1, W2), and H₂₁ = H₁₂ᵀ

    plus ``2λ I`` for the sum loss. No finite differences are involved, so the entries are
    accurate to float64 rounding; the result is symmetrised to remove rounding asymmetry.

    Parameters and raised errors are those of ``loss``.

    Returns
    -------
    ndarray, shape (2km, 2km)
    """
    kind = v.kind(kind)
    lam = v.lam(lam)
    X, W1, W2 = _weights(X, W1, W2)
    return _hessians(kind, X @ X.T, lam, W1, W2)


@v.finite_result
def hessian_inertia(kind: str, X, lam: float, W1, W2, *, tol: float | None = None) -> Inertia:
    """Measured inertia: how many Hessian eigenvalues are negative, ~zero and positive.

    An eigenvalue ``μ`` counts as flat when ``|μ| ≤ tol``. The default is relative::

        tol = 1e4 · 2km · eps · max|μ|      (eps = float64 machine epsilon ≈ 2.2e-16)

    Why this size: the flat directions of a critical manifold (the G-orbits of Table 1) have
    eigenvalue exactly 0 in exact arithmetic; in float64 they come out at the rounding level of
    the eigensolver (``≲ 2km · eps · max|μ|``) plus the effect of the point itself being
    critical only up to rounding, which the factor 1e4 covers for reasonably conditioned
    weights (cond(W) ≲ 10²). Genuine eigenvalues are differences such as ``σ_j² − σ_i²`` or
    ``σ_j² − λ``; they are called flat only when they are within ``1e4 · 2km · eps`` (about
    ``1e-10`` for 2km = 50) relative of vanishing — then the point is degenerate for all
    practical purposes, which is what the app should report. Measured over all Table 1 points
    with m ≤ 5, every k, I and λ ∈ {0, 0.5, 3, 20}, and cond(G) up to 100: flat eigenvalues
    ≤ 3e-15, genuine ones ≥ 5e-6 relative to ``max|μ|``. Pass ``tol`` (absolute, ≥ 0) to override.

    Parameters
    ----------
    kind, X, lam, W1, W2
        As for ``loss``.
    tol : float, optional
        Absolute threshold for |eigenvalue| to count as flat.

    Returns
    -------
    Inertia
        ``(descending, flat, ascending)``, a named tuple of ints summing to ``2km``.

    Raises
    ------
    ValueError
        As for ``loss``; ``tol`` negative or not finite.
    """
    H = hessian(kind, X, lam, W1, W2)
    if tol is not None:
        tol = v.real("tol", tol, minimum=0.0)
    eig = np.linalg.eigvalsh(H)
    if tol is None:
        tol = float(_flat_tolerance(eig))
    descending, flat, ascending = _inertia_counts(eig, tol)
    return Inertia(int(descending), int(flat), int(ascending))


def _flat_tolerance(eig: np.ndarray) -> np.ndarray:
    """``hessian_inertia``'s default threshold, ``1e4 · N · eps · max|μ|``, for eigenvalues
    ``eig`` of shape (..., N); shape (...)."""
    eps = np.finfo(np.float64).eps
    return _INERTIA_EPS_FACTOR * eig.shape[-1] * eps * np.max(np.abs(eig), axis=-1)


def _inertia_counts(eig: np.ndarray, tol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(descending, flat, ascending) counts of eigenvalues ``eig`` (..., N) against ``tol``
    (a number or an array of shape (...)): ``μ < −tol``, ``|μ| ≤ tol``, ``μ > tol``."""
    tol = np.asarray(tol)[..., None]
    descending = np.sum(eig < -tol, axis=-1)
    ascending = np.sum(eig > tol, axis=-1)
    return descending, eig.shape[-1] - descending - ascending, ascending


# --------------------------------------------------------------------------- Table 1


@v.finite_result
def table1_point(kind: str, U, sigma, I, lam: float, G) -> tuple[np.ndarray, np.ndarray]:
    """A critical point of Table 1 of the paper (Landscape Theorem).

    With ``U_I`` the columns ``I`` of ``U``, ``Σ_I = diag(sigma[I])`` and ``l = len(I)``::

        unregularized  W1 = G U_Iᵀ,                     W2 = U_I G⁺
        product        W1 = G (I + λΣ_I⁻²)^{−1/2} U_Iᵀ,  W2 = U_I (I + λΣ_I⁻²)^{−1/2} G⁺
        sum            W1 = O (I − λΣ_I⁻²)^{1/2} U_Iᵀ,   W2 = U_I (I − λΣ_I⁻²)^{1/2} Oᵀ

    (``G`` plays ``O`` for the sum loss.) When ``X = U Σ Vᵀ`` the gradient of the loss vanishes
    there, and ``W2W1 = U_I D U_Iᵀ`` with ``D = 1`` (unregularized), ``σ²/(σ² + λ)`` (product)
    or ``1 − λ/σ²`` (sum) — the shrinkage of the paper. For the sum loss ``W1 = W2ᵀ``
    (Transpose Theorem). The empty ``I`` (``l = 0``, ``G`` of shape ``(k, 0)``) gives the origin.

    Parameters
    ----------
    kind : {'unregularized', 'product', 'sum'}
    U : array_like, shape (m, r)
        Left singular vectors of the data, orthonormal columns.
    sigma : array_like, shape (r,)
        Singular values, positive and strictly descending.
    I : sequence of int
        ``l ≤ k`` distinct **0-based** indices into ``range(r)``; column ``a`` of ``G`` pairs
        with ``I[a]``.
    lam : float
        λ ≥ 0.
    G : array_like, shape (k, l)
        ``1 ≤ k ≤ m``; independent columns, and orthonormal columns for the sum loss.

    Returns
    -------
    W1 : ndarray, shape (k, m)
    W2 : ndarray, shape (m, k)

    Raises
    ------
    ValueError
        Unknown ``kind``; bad ``lam``; ``U`` not a matrix with orthonormal columns;
        ``sigma`` not positive strictly descending or of length other than ``U``'s column
        count; ``I`` not distinct in-range indices or longer than ``k``; ``G`` of the wrong
        shape, with ``k`` outside ``1..m``, dependent columns, or (sum) non-orthonormal
        columns; for the sum loss some ``σ_i² ≤ λ`` with ``i ∈ I`` (message names ``I`` and
        ``lam``).
    """
    kind = v.kind(kind)
    lam = v.lam(lam)
    U = v.matrix("U", U)
    m, r = U.shape
    if m < 1 or r < 1:
        raise ValueError(f"U must have at least one row and one column; got shape {U.shape}")
    if r > m or not np.allclose(U.T @ U, np.eye(r), rtol=0.0, atol=_ORTHONORMAL_ATOL):
        raise ValueError("U must have orthonormal columns (left singular vectors of X)")
    sigma = _sigma(sigma)
    if sigma.size != r:
        raise ValueError(f"sigma must hold one value per column of U ({r}); got {sigma.size}")
    G = v.matrix("G", G)
    k = G.shape[0]
    if not 1 <= k <= m:
        raise ValueError(f"G must have k rows with 1 ≤ k ≤ m = {m}; got k = {k}")
    I = _index_set(I, r, k)
    l = len(I)
    if G.shape[1] != l:
        raise ValueError(f"G must have shape (k, len(I)) = ({k}, {l}); got {G.shape}")

    if kind == "sum":
        if not np.allclose(G.T @ G, np.eye(l), rtol=0.0, atol=_ORTHONORMAL_ATOL):
            raise ValueError("G must have orthonormal columns for the sum loss (Table 1's O)")
        _sum_condition(sigma, I, lam)
    elif l and np.linalg.matrix_rank(G) < l:
        raise ValueError("G must have linearly independent columns (Table 1)")
    return _table1_point(kind, U, sigma, I, lam, G)


def _table1_point(kind: str, U: np.ndarray, sigma: np.ndarray, I, lam: float,
                  G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``table1_point`` without validation: for callers whose ``U``, ``sigma``, ``I`` and ``G``
    are valid by construction (``theorem.manifolds`` draws them once and places ~160 points per
    λ change; checking each point again — ``U``'s orthonormality, ``G``'s rank by an SVD — would
    be a third of that change's time)."""
    l = len(I)
    U_I = U[:, list(I)]
    s2 = sigma[list(I)] ** 2
    if kind == "unregularized":
        scale = np.ones(l)
    elif kind == "product":
        scale = (1.0 + lam / s2) ** -0.5
    else:
        scale = np.sqrt(1.0 - lam / s2)
    # W1 = G·diag(scale)·U_Iᵀ for all three; the decoder closes with G⁺, or Oᵀ (= O⁺) for sum.
    closing = G.T if kind == "sum" or l == 0 else np.linalg.pinv(G)
    W1 = (G * scale) @ U_I.T
    W2 = (U_I * scale) @ closing
    return W1, W2


# --------------------------------------------------------------------------- predicted index


def d_index(I, m: int) -> int:
    """``d_I = #{(i, j) : i ∈ I, j ∉ I, j < i}`` — the Grassmannian Morse index of ``span(u_I)``.

    Parameters
    ----------
    I : sequence of int
        Distinct 0-based indices into ``range(m)``.
    m : int
        Dimension, ``m ≥ 1``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        ``m`` not a whole number ≥ 1; ``I`` not distinct indices in ``0..m−1``.
    """
    m = v.integer("m", m, minimum=1)
    return _d_index(_index_set(I, m, None))


def _d_index(I) -> int:
    inside = set(I)
    return sum(1 for i in I for j in range(i) if j not in inside)


@v.finite_result
def predicted_descending(kind: str, sigma, I, k: int, lam: float) -> int:
    """The Landscape Theorem's number of descending directions at the Table 1 point for ``I``.

    The paper's count is ``d_I + (k − l)(m − l)`` with ``m = len(sigma)``, ``l = len(I)``:
    ``d_I`` rotations of a kept direction ``u_i`` toward a better, unused ``u_j`` (``j < i``),
    and, for each of the ``k − l`` unused latent dimensions, one way down per unused ``u_j``.

    For the **sum loss** the theorem's own condition ``σ_j² > λ`` decides which unused
    directions can be taken up: adding ``u_j`` to an unused latent dimension changes the loss
    to second order by an indefinite form with eigenvalues ``2(λ ∓ σ_j²)`` (scaled), so it
    descends only when ``σ_j² > λ``; for ``σ_j² < λ`` it ascends (posterior collapse). So
    only such ``j`` count, in ``d_I`` (automatically, since ``j < i`` gives
    ``σ_j > σ_i > √λ``) and in the second term, which becomes
    ``(k − l) · #{j ∉ I : σ_j² > λ}``. At ``σ_j² = λ`` exactly the direction is flat, not
    descending.

    For the **product loss** the paper's count holds unchanged for every λ ≥ 0: the penalty
    ``λ‖W2W1‖²`` is quartic in a new latent dimension and orthogonal to the kept ones, so it
    does not alter the second-order picture (measured in ``tests/core/test_landscape.py``).

    Parameters
    ----------
    kind : {'unregularized', 'product', 'sum'}
    sigma : array_like, shape (m,)
        All ``m`` singular values of the data, positive and strictly descending.
    I : sequence of int
        ``l ≤ k`` distinct 0-based indices into ``range(m)``.
    k : int
        Latent dimension, ``1 ≤ k ≤ m``.
    lam : float
        λ ≥ 0.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Unknown ``kind``; bad ``sigma``, ``k``, ``lam`` or ``I``; for the sum loss some
        ``σ_i² ≤ λ`` with ``i ∈ I`` (that critical point does not exist; message names ``I``
        and ``lam``).
    """
    kind = v.kind(kind)
    lam = v.lam(lam)
    sigma = _sigma(sigma)
    m = sigma.size
    k = v.integer("k", k, minimum=1, maximum=m)
    I = _index_set(I, m, k)
    if kind == "sum":
        _sum_condition(sigma, I, lam)
    return _predicted_descending(kind, sigma, I, k, lam)


def _predicted_descending(kind: str, sigma: np.ndarray, I, k: int, lam: float) -> int:
    """``predicted_descending`` without validation: for callers whose arguments are valid by
    construction and whose ``I`` satisfies the sum loss's ``σ_i² > λ`` (``theorem.manifolds``
    counts ~160 points per λ change)."""
    m, l = sigma.size, len(I)
    if kind != "sum":
        return _d_index(I) + (k - l) * (m - l)
    inside = set(I)
    takes_up = [j for j in range(m) if j not in inside and sigma[j] ** 2 > lam]
    d = sum(1 for i in I for j in takes_up if j < i)
    return d + (k - l) * len(takes_up)


def critical_set_dimension(kind: str, k: int, l: int, lam: float) -> int:
    """Dimension of the critical manifold through the Table 1 point with ``|I| = l``.

    - unregularized, product, and sum at ``λ = 0`` (where it *is* the unregularized loss):
      the points ``W1 = K U_Iᵀ``, ``W2 = U_I H`` with ``HK = D`` (``D`` the fixed diagonal of
      Table 1) are all critical, since the gradient only sees ``W2W1`` through ranges inside
      ``span(U_I)``; ``K ∈ R^{k×l}`` is free (of full rank) and ``H`` is fixed on ``range(K)``:
      ``2kl − l²``. Table 1's ``H = G⁺`` is one point of each such fibre; for ``l = k`` the set
      is the ``GL(k)``-orbit of one point.
    - sum, ``λ > 0``: ``W1 = O D U_Iᵀ = W2ᵀ`` (Transpose Theorem) with ``O`` in the Stiefel
      manifold of ``k × l`` matrices with orthonormal columns: ``kl − l(l + 1)/2``; for
      ``l = k`` this is the ``O(k)``-orbit.

    At a non-degenerate configuration (distinct ``σ``, and ``σ_j² ≠ λ`` for the sum loss) this
    is exactly the number of zero Hessian eigenvalues (checked in the tests); at ``σ_j² = λ``
    the Hessian has further zero eigenvalues (the pitchfork where critical points appear).

    Parameters
    ----------
    kind : {'unregularized', 'product', 'sum'}
    k : int
        Latent dimension, ``k ≥ 1``.
    l : int
        ``len(I)``, ``0 ≤ l ≤ k``.
    lam : float
        λ ≥ 0.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Unknown ``kind``; ``k`` not ≥ 1; ``l`` not in ``0..k``; bad ``lam``.
    """
    kind = v.kind(kind)
    k = v.integer("k", k, minimum=1)
    l = v.integer("l", l, minimum=0, maximum=k)
    lam = v.lam(lam)
    if kind == "sum" and lam > 0:
        return k * l - l * (l + 1) // 2
    return 2 * k * l - l * l


# --------------------------------------------------------------------------- data


def _random_orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Haar-distributed ``rows × cols`` matrix with orthonormal columns (QR with sign fix)."""
    Q, R = np.linalg.qr(rng.standard_normal((rows, cols)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


@v.finite_result
def random_data(m: int, n: int, sigma, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean-centred data ``X = U diag(sigma) Vᵀ`` with exactly the given singular values.

    ``U`` is a random ``m × r`` matrix with orthonormal columns; ``V`` is a random ``n × r``
    matrix with orthonormal columns all orthogonal to the all-ones vector (taken inside the
    Householder basis of ``1⊥``), so every row of ``X`` has zero mean.

    Parameters
    ----------
    m : int
        Number of variables (rows), ``m ≥ 1``.
    n : int
        Number of samples (columns), ``n ≥ r + 1`` (centring costs one dimension).
    sigma : array_like, shape (r,)
        ``1 ≤ r ≤ m`` positive, strictly descending singular values.
    seed : int, optional
        Seed (≥ 0) for ``numpy.random.default_rng``; ``None`` draws fresh entropy.

    Returns
    -------
    X : ndarray, shape (m, n)
    U : ndarray, shape (m, r)
        The left singular vectors, in the order of ``sigma``.

    Raises
    ------
    ValueError
        ``m`` or ``n`` not whole numbers or too small; ``sigma`` not positive strictly
        descending or longer than ``m``; ``seed`` not a whole number ≥ 0.
    """
    m = v.integer("m", m, minimum=1)
    sigma = _sigma(sigma)
    r = sigma.size
    if r > m:
        raise ValueError(f"sigma may hold at most m = {m} values; got {r}")
    n = v.integer("n", n, minimum=r + 1)
    if seed is not None:
        seed = v.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)

    # Householder reflection H = I − 2wwᵀ/‖w‖² maps e₁ to 1/√n; its other columns span 1⊥.
    ones = np.full(n, 1.0 / np.sqrt(n))
    w = ones.copy()
    w[0] -= 1.0
    norm2 = float(w @ w)
    H = np.eye(n) if norm2 == 0.0 else np.eye(n) - 2.0 * np.outer(w, w) / norm2
    V = H[:, 1:] @ _random_orthonormal(rng, n - 1, r)
    U = _random_orthonormal(rng, m, r)
    X = (U * sigma) @ V.T
    return X, U
