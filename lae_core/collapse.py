"""Posterior collapse: how each regularizer shrinks the data's principal directions.

Data X = U Σ Vᵀ with singular values σ_i. At the global minimum of each loss the map W₂W₁ is
diagonal in the principal directions, and its singular value along u_i depends only on λ/σ_i²
(Kunin et al., ICML 2019, Table 1 and §4):

- unregularized L = ‖X − W₂W₁X‖²_F           : 1
- product L_π = L + λ‖W₂W₁‖²_F              : 1 / (1 + λ/σ²)        (= σ²/(σ² + λ))
- sum     L_σ = L + λ(‖W₁‖²_F + ‖W₂‖²_F)     : max(0, 1 − λ/σ²)

For L_σ the decoder is W₂ = U_I (I − λΣ_I⁻²)^{1/2} Oᵀ, so its singular values are
√max(0, 1 − λ/σ²): every direction with σ_i² ≤ λ *collapses* to zero, exactly as in
probabilistic PCA with noise variance τ² = λ (Tipping & Bishop 1999), whose maximum-likelihood
loading is W_pPCA = U (Σ² − τ²I)₊^{1/2} O.

Public items
------------
shrinkage, decoder_singular_values, collapsed, surviving_count, ppca_loading,
measured_shrinkage and measured_decoder_singular_values (the same numbers read off trained
weights), scalar_diagonal_critical_points (the poster's example f(w) = x²(1 − w²)² + 2λw²) and its
result type DiagonalCriticalPoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lae_core import _validate as _v
from lae_core import scalar

__all__ = [
    "DiagonalCriticalPoint",
    "collapsed",
    "decoder_singular_values",
    "measured_decoder_singular_values",
    "measured_shrinkage",
    "ppca_loading",
    "scalar_diagonal_critical_points",
    "shrinkage",
    "surviving_count",
]

# Orthonormality tolerance (relative to the numbers' own scale).
_ORTHONORMAL_ATOL = 1e-8


def _singular_values(sigma, name: str = "sigma") -> np.ndarray:
    """Finite, non-negative array of any shape (a scalar gives a 0-d array)."""
    sigma = _v.array(name, sigma)
    if sigma.size and (sigma < 0).any():
        raise ValueError(f"{name} must be ≥ 0 (singular values); got minimum {sigma.min():g}")
    return sigma


def _out(values: np.ndarray):
    """0-d results come back as NumPy scalars, like a NumPy ufunc."""
    return values[()]


def shrinkage(kind, sigma, lam):
    """Singular value of W₂W₁ along a principal direction, at the loss's global minimum.

    For a direction whose data singular value is σ (Table 1 of the paper, per direction):

    - ``"unregularized"``: 1
    - ``"product"``:       1 / (1 + λ/σ²)
    - ``"sum"``:           max(0, 1 − λ/σ²)

    Parameters
    ----------
    kind : {"unregularized", "product", "sum"}
        Which loss.
    sigma : float or array_like, any shape
        Data singular values σ ≥ 0 (finite). The result broadcasts over it, so a page can pass
        a whole grid of σ values and plot the curve against σ².
    lam : float
        Regularization strength λ ≥ 0.

    Returns
    -------
    float or ndarray
        Same shape as ``sigma`` (a NumPy scalar for scalar input), values in [0, 1].

    Notes
    -----
    The formulas assume the direction is one of the k the autoencoder keeps (k ≥ the number of
    directions considered); with fewer hidden units the remaining directions get 0.

    σ = 0 (the data has no energy along the direction) makes the loss flat there at λ = 0 and
    pins the map to 0 for λ > 0. By convention ``"product"`` and ``"sum"`` report 0 (the
    minimum-norm minimiser, and the λ → 0⁺ limit), while ``"unregularized"`` reports 1 (the
    constant curve continued to σ = 0; any value is a minimiser there).

    Raises
    ------
    ValueError
        If ``kind`` is unknown, ``sigma`` is non-finite or negative, or ``lam`` is non-finite
        or negative; the message names the argument.
    """
    kind = _v.kind(kind)
    sigma = _singular_values(sigma)
    lam = _v.lam(lam)
    if kind == "unregularized":
        return _out(np.ones_like(sigma))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        s2 = sigma * sigma
        alive = s2 > 0  # σ² underflowing to 0 counts as σ = 0
        ratio = np.divide(lam, s2, out=np.full_like(s2, np.inf), where=alive)  # λ/σ², may be inf
        if kind == "product":
            values = 1.0 / (1.0 + ratio)
        else:  # sum
            values = np.maximum(0.0, 1.0 - ratio)
    values = np.where(alive, values, 0.0)
    return _out(values)


def decoder_singular_values(sigma, lam):
    """Singular values of the decoder W₂ at a global minimum of the sum loss L_σ.

    W₂ = U (I − λΣ⁻²)^{1/2} Oᵀ, so along a direction with data singular value σ the decoder
    has singular value √max(0, 1 − λ/σ²) (0 for σ = 0). Because W₁ = W₂ᵀ at the minimum,
    these are the square roots of ``shrinkage("sum", sigma, lam)``. LAE-PCA inverts this:
    σ² = λ / (1 − s²).

    Parameters
    ----------
    sigma : float or array_like, any shape
        Data singular values σ ≥ 0.
    lam : float
        λ ≥ 0.

    Returns
    -------
    float or ndarray
        Same shape as ``sigma``, values in [0, 1).

    Raises
    ------
    ValueError
        If ``sigma`` or ``lam`` is non-finite or negative (message names the argument).
    """
    return _out(np.sqrt(shrinkage("sum", sigma, lam)))


def collapsed(sigma, lam):
    """Which directions collapse under L_σ: the boolean mask σ_i² ≤ λ.

    Parameters
    ----------
    sigma : float or array_like, any shape
        Data singular values σ ≥ 0.
    lam : float
        λ ≥ 0.

    Returns
    -------
    bool or ndarray of bool
        Same shape as ``sigma``. At the boundary σ² = λ the direction counts as collapsed
        (its decoder singular value is exactly 0).

    Raises
    ------
    ValueError
        If ``sigma`` or ``lam`` is non-finite or negative (message names the argument).
    """
    sigma = _singular_values(sigma)
    lam = _v.lam(lam)
    with np.errstate(over="ignore"):
        return _out(sigma * sigma <= lam)


def surviving_count(sigma, lam) -> int:
    """Number of directions that survive L_σ (σ_i² > λ), i.e. the rank of W₂ at the minimum.

    Parameters
    ----------
    sigma : float or array_like
        Data singular values σ ≥ 0.
    lam : float
        λ ≥ 0.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``sigma`` or ``lam`` is non-finite or negative (message names the argument).
    """
    return int(np.count_nonzero(~np.asarray(collapsed(sigma, lam))))


@_v.finite_result
def ppca_loading(U, sigma, tau2, O=None) -> np.ndarray:
    """Maximum-likelihood loading of probabilistic PCA (Tipping & Bishop 1999, eq. 7).

    W_pPCA = U (Σ² − τ²I)₊^{1/2} O, where ``(·)₊`` clips negative entries to 0: a direction
    whose variance σ_i² does not exceed the noise τ² gets a zero column (posterior collapse).

    Relation to the regularized LAE: at a minimum of L_σ the decoder is
    W₂ = U (I − λΣ⁻²)^{1/2} O (the paper's Oᵀ). With τ² = λ the two share their column space
    and differ by Σ, since (I − λΣ⁻²)^{1/2} Σ = (Σ² − λI)^{1/2}:

        W_pPCA = W₂ Σ (for O = I),   in general W_pPCA = (U Σ Uᵀ) W₂.

    Parameters
    ----------
    U : array_like, shape (m, l)
        Orthonormal columns: the principal directions used.
    sigma : array_like, shape (l,)
        σ_i ≥ 0 with σ_i² the covariance eigenvalue along column i of ``U``. With the
        covariance taken as S = XXᵀ (the LAE loss's scaling, no 1/n) these are the singular
        values of X.
    tau2 : float
        Noise variance τ² ≥ 0.
    O : array_like, shape (l, k), optional
        Orthonormal rows (O Oᵀ = I_l, so k ≥ l): the rotational freedom of the latent space.
        Defaults to I_l.

    Returns
    -------
    ndarray, shape (m, k)
        The loading matrix; ``W Wᵀ + τ² I`` is the model covariance.

    Raises
    ------
    ValueError
        If ``U`` lacks orthonormal columns, ``sigma`` has the wrong length or negative entries,
        ``tau2`` is negative or non-finite, or ``O`` has the wrong shape or non-orthonormal
        rows; the message names the argument.
    """
    U = _v.matrix("U", U)
    m, l = U.shape
    if l == 0 or m == 0:
        raise ValueError(f"U must have at least one row and one column; got shape {U.shape}")
    if not np.allclose(U.T @ U, np.eye(l), rtol=0.0, atol=_ORTHONORMAL_ATOL):
        raise ValueError("U must have orthonormal columns (UᵀU = I)")
    sigma = _v.array("sigma", sigma, shape=(l,))
    if (sigma < 0).any():
        raise ValueError(f"sigma must be ≥ 0 (singular values); got minimum {sigma.min():g}")
    tau2 = _v.real("tau2", tau2, minimum=0.0)
    if O is None:
        O = np.eye(l)
    else:
        O = _v.matrix("O", O)
        if O.shape[0] != l or O.shape[1] < l:
            raise ValueError(f"O must have shape ({l}, k) with k ≥ {l}; got {O.shape}")
        if not np.allclose(O @ O.T, np.eye(l), rtol=0.0, atol=_ORTHONORMAL_ATOL):
            raise ValueError("O must have orthonormal rows (O Oᵀ = I)")
    scale = np.sqrt(np.maximum(sigma * sigma - tau2, 0.0))
    return (U * scale) @ O


def _trained(name: str, W, U, shape_of) -> tuple[np.ndarray, np.ndarray]:
    W = _v.matrix(name, W)
    U = _v.matrix("U", U)
    if U.shape[0] != shape_of(W):
        raise ValueError(f"U must have {shape_of(W)} rows (one per data variable); got shape {U.shape}")
    if not np.allclose(U.T @ U, np.eye(U.shape[1]), rtol=0.0, atol=_ORTHONORMAL_ATOL):
        raise ValueError("U must have orthonormal columns (UᵀU = I)")
    return W, U


@_v.finite_result
def measured_shrinkage(W1, W2, U) -> np.ndarray:
    """How much trained weights keep of each principal direction: u_iᵀ W₂W₁ u_i.

    At a global minimum W₂W₁ = U diag(s) Uᵀ on the data's span (Table 1), so this reads off
    ``shrinkage(kind, σ_i, λ)`` from weights that a solver actually produced; away from a
    minimum it is the map's gain along u_i.

    Parameters
    ----------
    W1 : array_like, shape (k, m)
        Encoder.
    W2 : array_like, shape (m, k)
        Decoder.
    U : array_like, shape (m, r)
        Orthonormal columns: the principal directions u_i of the data.

    Returns
    -------
    ndarray, shape (r,)

    Raises
    ------
    ValueError
        If the shapes do not match or ``U`` lacks orthonormal columns (message names it).
    """
    W2, U = _trained("W2", W2, U, lambda W: W.shape[0])
    W1 = _v.matrix("W1", W1, shape=(W2.shape[1], W2.shape[0]))
    return np.einsum("ij,ij->j", U, W2 @ (W1 @ U))


@_v.finite_result
def measured_decoder_singular_values(W2, U) -> np.ndarray:
    """The decoder's gain along each principal direction: ‖W₂ᵀ u_i‖.

    At a minimum of L_σ, W₂ = U (I − λΣ⁻²)₊^{1/2} Oᵀ, so this equals
    ``decoder_singular_values(σ_i, λ)`` (per direction, unlike an SVD, which would sort them
    and mix collapsed directions).

    Parameters
    ----------
    W2 : array_like, shape (m, k)
    U : array_like, shape (m, r)
        Orthonormal columns.

    Returns
    -------
    ndarray, shape (r,)

    Raises
    ------
    ValueError
        If the shapes do not match or ``U`` lacks orthonormal columns (message names it).
    """
    W2, U = _trained("W2", W2, U, lambda W: W.shape[0])
    return np.linalg.norm(W2.T @ U, axis=0)


@dataclass(frozen=True)
class DiagonalCriticalPoint:
    """A critical point of f(w) = x²(1 − w²)² + 2λw² (L_σ on the diagonal w₁ = w₂ = w).

    Attributes
    ----------
    w : float
        Position on the diagonal.
    type : str
        ``"minimum"`` or ``"maximum"`` of f (``"degenerate"`` only when f is constant,
        x = λ = 0).
    loss : float
        f(w).
    second_derivative : float
        f''(w); 0 at the pitchfork λ = x², where the fourth derivative decides.
    """

    w: float
    type: str
    loss: float
    second_derivative: float


@_v.finite_result
def scalar_diagonal_critical_points(x, lam) -> list[DiagonalCriticalPoint]:
    """Critical points of the poster's example f(w) = x²(1 − w²)² + 2λw².

    This is L_σ for m = k = 1 restricted to the diagonal w₁ = w₂ = w (where all its minima
    lie). f'(w) = 4w(x²w² − x² + λ), so the critical points are

    - w = 0 always: a maximum while x² > λ, a minimum once λ ≥ x²;
    - w = ±√(1 − λ/x²) while x² > λ: minima (f'' = 8(x² − λ) > 0).

    At λ = x² the pair merges into the origin (a pitchfork): f''(0) = 0 there and the fourth
    derivative 24x² > 0 makes it a minimum.

    They are read off ``scalar.critical_sets("sum", x, λ)`` — one source of truth for the
    Landscape and Collapse pages, including where the pitchfork is in floats (x² − λ within
    64 ulps of x² + λ is at it) — and every critical set of L_σ meets the diagonal: its points
    lie on it (λ > 0), its hyperbola w₁w₂ = 1 (λ = 0) crosses it at ±1. The type is the sign of
    f''(w) = (1, 1)·H·(1, 1)ᵀ from the Hessian H of L_σ; where H is degenerate (the pitchfork),
    the type ``critical_sets`` settles from higher-order terms (a minimum).

    Parameters
    ----------
    x : float
        Scalar data (any finite real; only x² matters).
    lam : float
        λ ≥ 0.

    Returns
    -------
    list of DiagonalCriticalPoint
        Sorted by w: ``[origin]`` or ``[−w*, origin, +w*]``. With x = λ = 0, f ≡ 0 and the
        origin is reported as ``"degenerate"``.

    Raises
    ------
    ValueError
        If ``x`` is non-finite or ``lam`` is non-finite or negative (message names it).
    """
    x = _v.real("x", x)
    lam = _v.lam(lam)
    sets = scalar.critical_sets("sum", x, lam)
    if not sets:  # x = λ = 0: f ≡ 0, every point critical
        return [DiagonalCriticalPoint(w=0.0, type="degenerate", loss=0.0, second_derivative=0.0)]
    ws = np.array([s.points[0, 0] if s.shape == "point"
                   # the hyperbola w₁w₂ = c > 0 (λ = 0) meets the diagonal at sign(w₁)·√c
                   else np.copysign(np.sqrt(s.points[0, 0] * s.points[0, 1]), s.points[0, 0]) for s in sets])
    H = scalar.hessian("sum", ws, ws, x, lam)
    f2 = H[:, 0, 0] + 2.0 * H[:, 0, 1] + H[:, 1, 1]
    points = [DiagonalCriticalPoint(w=float(w), type=s.type if s.degenerate and s.shape == "point"
                                    else ("minimum" if d2 > 0 else "maximum"),
                                    loss=s.loss, second_derivative=float(d2))
              for s, w, d2 in zip(sets, ws, f2)]
    return sorted(points, key=lambda p: p.w)
