"""PCA as a Morse function on the Grassmannian (Kunin et al., ICML 2019, §5).

Data X ∈ R^{m×n} with C = XXᵀ = U Σ² Uᵀ, σ₁² > σ₂² > …. PCA minimises

    L_X(P) = ‖X − PX‖²_F = tr C − tr(PC)

over the Grassmannian Gr_k(R^m) = {P ∈ R^{m×m} : P = P² = Pᵀ, tr P = k}. Its critical points
are the principal subspaces P_I = U_I U_Iᵀ (I a k-subset of the principal directions); the one
spanned by {u_i : i ∈ I} has Morse index

    d_I = #{(i, j) : i ∈ I, j ∉ I, j < i},

the number of ways to swap a kept direction for a larger discarded one. L_X is an F₂-perfect
Morse function: the number of critical points of index d equals the F₂ Betti number b_d of
Gr_k(R^m), the number of Schubert cells of dimension d (the coefficient of q^d in the Gaussian
binomial [m choose k]_q). RP² = Gr₁(R³) → 1, 1, 1; Gr₂(R⁴) → 1, 1, 2, 1, 1.

For k = 1 a line is a unit vector u up to sign (Gr₁(R^m) = RP^{m−1}) and the loss is
L_X(u) = ‖X − uuᵀX‖² = tr C − uᵀCu; the ``gr1_*`` functions work on the unit sphere.

Public items
------------
gr1_loss, gr1_gradient, gr1_hessian, gr1_flow, gr1_critical_points (→ CriticalPoint),
gr1_circle (Gr₁(R²) by the line's angle), index_table (→ IndexRow), betti_numbers,
disk_to_sphere, sphere_to_disk, grassmann_loss, principal_data (example data with chosen
principal directions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from lae_core import _validate as _v

__all__ = [
    "CriticalPoint",
    "IndexRow",
    "betti_numbers",
    "disk_to_sphere",
    "gr1_circle",
    "gr1_critical_points",
    "gr1_flow",
    "gr1_gradient",
    "gr1_hessian",
    "gr1_loss",
    "gr1_projection",
    "grassmann_loss",
    "index_table",
    "principal_data",
    "sphere_to_disk",
]

MAX_TABLE_ROWS = 100_000  # index_table lists C(m, k) rows; a page must not ask for billions
MAX_BETTI_M = 100         # betti_numbers is exact integer arithmetic, O(k · k(m − k))
MAX_FLOW_STEPS = 1_000_000
_PROJECTION_ATOL = 1e-8
_DISK_ATOL = 1e-12


# --------------------------------------------------------------------------- validation


def _data(X) -> np.ndarray:
    X = _v.matrix("X", X)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    return X


def _directions(name: str, u, m: int) -> np.ndarray:
    """``u`` of shape (..., m), every vector nonzero; returns them normalised to unit length."""
    u = _v.array(name, u)
    if u.ndim < 1 or u.shape[-1] != m:
        raise ValueError(f"{name} must have shape (..., {m}) (one entry per row of X); "
                         f"got {u.shape}")
    size = np.max(np.abs(u), axis=-1, keepdims=True)
    if (size == 0).any():
        raise ValueError(f"{name} must be a nonzero vector (a direction); got a zero vector")
    u = u / size  # rescale first so that the norm can neither overflow nor underflow
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


def _out(values: np.ndarray):
    return values[()]


# --------------------------------------------------------------------------- Gr₁: the sphere


@_v.finite_result
def gr1_loss(X, u):
    """PCA loss of the line through u: L_X(u) = ‖X − uuᵀX‖²_F = ‖X‖²_F − ‖uᵀX‖².

    Parameters
    ----------
    X : array_like, shape (m, n)
        Data, one column per sample.
    u : array_like, shape (m,) or (..., m)
        Direction(s) of the line(s); any nonzero vectors, normalised here. A batch (e.g. a
        grid of directions for a plot) is evaluated at once.

    Returns
    -------
    float or ndarray, shape u.shape[:-1]
        Loss values ≥ 0 (a NumPy scalar for a single u). Even in u: the line, not the vector,
        matters.

    Raises
    ------
    ValueError
        If ``X`` is not a finite non-empty matrix, or ``u`` has the wrong last dimension, is
        non-finite or contains a zero vector; the message names the argument.
    """
    X = _data(X)
    u = _directions("u", u, X.shape[0])
    C = X @ X.T
    captured = np.einsum("...i,ij,...j->...", u, C, u)
    return _out(np.maximum(np.trace(C) - captured, 0.0))


@_v.finite_result
def gr1_projection(X, u) -> np.ndarray:
    """Each sample's foot on the line through u: the columns of uuᵀX (u normalised).

    The residuals X − uuᵀX are what ``gr1_loss`` sums the squares of; each is orthogonal to u.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Data, one column per sample.
    u : array_like, shape (m,)
        Direction of the line; any nonzero vector.

    Returns
    -------
    ndarray, shape (m, n)

    Raises
    ------
    ValueError
        As ``gr1_loss``; ``u`` must be one vector.
    """
    X = _data(X)
    u = _directions("u", u, X.shape[0])
    if u.ndim != 1:
        raise ValueError(f"u must be one direction of shape ({X.shape[0]},); got shape {u.shape}")
    return np.outer(u, u @ X)


@_v.finite_result
def gr1_gradient(X, u):
    """Riemannian gradient of ``gr1_loss`` on the unit sphere.

    grad L_X(u) = (I − uuᵀ)(−2Cu) = −2(Cu − (uᵀCu)u), C = XXᵀ: the Euclidean gradient of
    tr C − uᵀCu projected onto the tangent space {ξ : uᵀξ = 0}.

    Parameters
    ----------
    X : array_like, shape (m, n)
    u : array_like, shape (m,) or (..., m)
        Nonzero direction(s); the gradient is taken at the normalised u/‖u‖.

    Returns
    -------
    ndarray, shape u.shape
        Tangent vectors: ``uᵀg = 0``. Zero exactly at eigenvectors of C.

    Raises
    ------
    ValueError
        As for ``gr1_loss``.
    """
    X = _data(X)
    u = _directions("u", u, X.shape[0])
    C = X @ X.T
    Cu = u @ C  # C is symmetric: (..., m) @ C is C applied to each u
    rayleigh = np.einsum("...i,...i->...", u, Cu)[..., None]
    return -2.0 * (Cu - rayleigh * u)


def _hessian(C: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Riemannian Hessian of tr C − uᵀCu at unit u, as the operator P H P on R^m."""
    m = u.shape[0]
    P = np.eye(m) - np.outer(u, u)
    # Hess f(u) = P ∇²f̄ P − (uᵀ∇f̄(u)) P with f̄(u) = tr C − uᵀCu: ∇f̄ = −2Cu, ∇²f̄ = −2C.
    H = P @ (-2.0 * C) @ P + 2.0 * (u @ C @ u) * P
    return 0.5 * (H + H.T)


def _tangent_basis(u: np.ndarray) -> np.ndarray:
    """Orthonormal basis of u⊥ (columns), shape (m, m − 1)."""
    Q, _ = np.linalg.qr(u.reshape(-1, 1), mode="complete")
    return Q[:, 1:]


@_v.finite_result
def gr1_hessian(X, u) -> np.ndarray:
    """Riemannian Hessian of ``gr1_loss`` on the unit sphere, at any point u.

    Hess L_X(u) = P(−2C)P + 2(uᵀCu)P with P = I − uuᵀ: the projected Euclidean Hessian plus
    the curvature (Weingarten) term of the sphere. For a unit tangent ξ, ξᵀ Hess ξ is the
    second derivative of L_X along the great circle cos(t)u + sin(t)ξ at t = 0.

    Parameters
    ----------
    X : array_like, shape (m, n)
    u : array_like, shape (m,)
        A nonzero direction (normalised here).

    Returns
    -------
    ndarray, shape (m, m)
        Symmetric; it maps u to 0 and the tangent space u⊥ to itself. Its eigenvalues on u⊥
        (m − 1 of them) are the Hessian's; the extra 0 belongs to the normal direction u.

    Raises
    ------
    ValueError
        As for ``gr1_loss`` (``u`` must be a single vector).
    """
    X = _data(X)
    u = _v.array("u", u, ndim=1)
    u = _directions("u", u, X.shape[0])
    return _hessian(X @ X.T, u)


@_v.finite_result
def gr1_flow(X, u0, steps, dt) -> np.ndarray:
    """Negative gradient flow of ``gr1_loss`` on the unit sphere, sampled every ``dt``.

    The flow u' = −grad L_X(u) = 2(Cu − (uᵀCu)u) (Oja's ODE) is integrated *exactly*: it is
    the linear flow v' = 2Cv seen through normalisation, so

        u(t) = e^{2Ct} u₀ / ‖e^{2Ct} u₀‖.

    This is evaluated in the eigenbasis of C in log space, so no step size is too large and
    nothing overflows. From a generic start the path tends to ±u₁ (the top principal
    direction); a start orthogonal to u₁ stays in u₁⊥ and tends to the top direction there
    (the stable manifold of a saddle).

    Parameters
    ----------
    X : array_like, shape (m, n)
    u0 : array_like, shape (m,) or (..., m)
        Nonzero start direction(s), normalised here.
    steps : int
        Number of samples after the start, 0 ≤ steps ≤ 1 000 000.
    dt : float
        Time between samples, > 0.

    Returns
    -------
    ndarray, shape (steps + 1, m) or (steps + 1, ..., m)
        Unit vectors u(s·dt), s = 0 … steps; row 0 is u₀/‖u₀‖.

    Raises
    ------
    ValueError
        If ``X`` or ``u0`` is invalid (as for ``gr1_loss``), ``steps`` is not a whole number in
        range, or ``dt`` is not a finite positive number; the message names the argument.
    """
    X = _data(X)
    u0 = _directions("u0", u0, X.shape[0])
    steps = _v.integer("steps", steps, minimum=0, maximum=MAX_FLOW_STEPS)
    dt = _v.real("dt", dt, minimum=0.0, strict=True)
    eigenvalues, Q = np.linalg.eigh(X @ X.T)
    c = u0 @ Q  # coordinates in the eigenbasis, (..., m)
    t = dt * np.arange(steps + 1).reshape((steps + 1,) + (1,) * c.ndim)
    # Measure growth against the largest eigenvalue the start actually has a component along,
    # so that component keeps a finite log size and the others can only shrink.
    top = np.max(np.where(c != 0, eigenvalues, -np.inf), axis=-1, keepdims=True)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_size = np.log(np.abs(c)) + 2.0 * (eigenvalues - top) * t  # log|c_i e^{2(λ_i−top)t}|
    log_size = np.where(c != 0, log_size, -np.inf)
    log_size -= log_size.max(axis=-1, keepdims=True)
    v = np.sign(c) * np.exp(log_size)
    v = v @ Q.T
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@dataclass(frozen=True)
class CriticalPoint:
    """A critical point of L_X on RP^{m−1}: a principal direction.

    Attributes
    ----------
    direction : ndarray, shape (m,)
        Unit eigenvector of XXᵀ, sign fixed so that its largest-magnitude entry is positive.
    eigenvalue : float
        σ² for this direction (its eigenvalue of XXᵀ).
    loss : float
        L_X = ‖X‖²_F − σ².
    index : int
        Morse index *measured* from the Riemannian Hessian on the tangent space: the number
        of eigenvalues below −tolerance. For distinct σ it equals the number of principal
        directions with larger σ.
    flat : int
        Number of Hessian eigenvalues within tolerance of 0 (nonzero only when σ repeats,
        where L_X is not Morse).
    hessian_eigenvalues : ndarray, shape (m − 1,)
        The tangent-space Hessian eigenvalues, ascending (2(σ_i² − σ_j²), j ≠ i).
    """

    direction: np.ndarray = field(compare=False)
    eigenvalue: float
    loss: float
    index: int
    flat: int
    hessian_eigenvalues: np.ndarray = field(compare=False, repr=False)


@_v.finite_result
def gr1_critical_points(X) -> list[CriticalPoint]:
    """The m critical points of L_X on RP^{m−1}, with Morse indices measured from the Hessian.

    Each eigenvector u_i of C = XXᵀ is a critical point (grad = 0). Its index is counted from
    the eigenvalues of the Riemannian Hessian restricted to u_i⊥ (see ``gr1_hessian``), with
    tolerance 1000·m·ε·σ₁²; the paper predicts i for the i-th direction (0-based), one
    critical point per index, which are the F₂ Betti numbers of RP^{m−1}.

    Parameters
    ----------
    X : array_like, shape (m, n)

    Returns
    -------
    list of CriticalPoint
        Length m, ordered by index (then by loss): the top principal direction first.

    Raises
    ------
    ValueError
        If ``X`` is not a finite non-empty matrix (message names ``X``).
    """
    X = _data(X)
    m = X.shape[0]
    C = X @ X.T
    eigenvalues, Q = np.linalg.eigh(C)
    total = float(np.trace(C))
    tol = 1000.0 * m * np.finfo(float).eps * max(float(eigenvalues[-1]), 0.0)
    points = []
    for i in range(m - 1, -1, -1):
        u = Q[:, i]
        u = u if u[np.argmax(np.abs(u))] > 0 else -u
        B = _tangent_basis(u)
        h = np.linalg.eigvalsh(B.T @ _hessian(C, u) @ B)
        points.append(CriticalPoint(
            direction=u,
            eigenvalue=float(eigenvalues[i]),
            loss=max(total - float(u @ C @ u), 0.0),
            index=int(np.count_nonzero(h < -tol)),
            flat=int(np.count_nonzero(np.abs(h) <= tol)),
            hessian_eigenvalues=h,
        ))
    return sorted(points, key=lambda p: (p.index, p.loss))


# --------------------------------------------------------------------------- Gr_k(R^m)


@dataclass(frozen=True)
class IndexRow:
    """One principal subspace of Gr_k(R^m).

    Attributes
    ----------
    I : tuple of int
        The kept principal directions, 0-based, increasing (0 is the largest σ).
    index : int
        d_I = #{(i, j) : i ∈ I, j ∉ I, j < i}.
    loss : float or None
        Σ_{j∉I} σ_j², when ``sigma`` was given.
    """

    I: tuple[int, ...]
    index: int
    loss: float | None = None


def _check_m_k(m, k) -> tuple[int, int]:
    m = _v.integer("m", m, minimum=1)
    k = _v.integer("k", k, minimum=1, maximum=m)
    return m, k


@_v.finite_result
def index_table(m, k, sigma=None) -> list[IndexRow]:
    """Every critical point of L_X on Gr_k(R^m) with its Morse index d_I.

    Parameters
    ----------
    m : int
        Ambient dimension, ≥ 1.
    k : int
        Subspace dimension, 1 ≤ k ≤ m. C(m, k) must not exceed ``MAX_TABLE_ROWS``.
    sigma : array_like, shape (m,), optional
        Singular values of X, non-increasing and ≥ 0; adds each subspace's loss
        Σ_{j∉I} σ_j².

    Returns
    -------
    list of IndexRow
        C(m, k) rows ordered by index, then lexicographically by I.

    Raises
    ------
    ValueError
        If ``m`` or ``k`` is not a whole number in range (or the table would be too long), or
        ``sigma`` has the wrong shape, negative entries or is not sorted; the message names
        the argument.
    """
    m, k = _check_m_k(m, k)
    rows = math.comb(m, k)
    if rows > MAX_TABLE_ROWS:
        raise ValueError(f"m, k: Gr_{k}(R^{m}) has C({m}, {k}) = {rows} principal subspaces, "
                         f"more than the {MAX_TABLE_ROWS} a table may list")
    variances = None
    if sigma is not None:
        sigma = _v.array("sigma", sigma, shape=(m,))
        if (sigma < 0).any():
            raise ValueError(f"sigma must be ≥ 0 (singular values); got minimum {sigma.min():g}")
        if (np.diff(sigma) > 0).any():
            raise ValueError("sigma must be sorted in non-increasing order (σ₁ ≥ σ₂ ≥ …)")
        variances = sigma * sigma
    table = []
    for I in combinations(range(m), k):
        kept = set(I)
        # for each kept i, count the discarded j that come before it (larger σ)
        index = sum(1 for i in I for j in range(i) if j not in kept)
        loss = None
        if variances is not None:
            loss = float(sum(variances[j] for j in range(m) if j not in kept))
        table.append(IndexRow(I=I, index=index, loss=loss))
    return sorted(table, key=lambda row: (row.index, row.I))


def betti_numbers(m, k) -> list[int]:
    """F₂ Betti numbers b_0 … b_{k(m−k)} of Gr_k(R^m).

    b_d is the number of Schubert cells of dimension d, i.e. of partitions of d that fit in a
    k × (m − k) box: the coefficient of q^d in the Gaussian binomial

        [m choose k]_q = Π_{i=1}^{k} (1 − q^{m−k+i}) / (1 − q^i),

    expanded here with exact integers. (With F₂ coefficients every cellular boundary map of
    the real Grassmannian vanishes, so cells and Betti numbers agree.)

    Parameters
    ----------
    m : int
        1 ≤ m ≤ ``MAX_BETTI_M``.
    k : int
        1 ≤ k ≤ m.

    Returns
    -------
    list of int
        Length k(m − k) + 1, symmetric (Poincaré duality), summing to C(m, k).
        RP² = Gr₁(R³) → [1, 1, 1]; Gr₂(R⁴) → [1, 1, 2, 1, 1].

    Raises
    ------
    ValueError
        If ``m`` or ``k`` is not a whole number in range (message names it).
    """
    m = _v.integer("m", m, minimum=1, maximum=MAX_BETTI_M)
    m, k = _check_m_k(m, k)
    dim = k * (m - k)
    coeffs = [1] + [0] * dim
    for i in range(1, k + 1):
        # multiply by (1 − q^a), a = m − k + i (descending so each old value is used once)
        a = m - k + i
        for d in range(dim, a - 1, -1):
            coeffs[d] -= coeffs[d - a]
        # divide by (1 − q^i): the quotient is again a polynomial ([m−k+i choose i]_q)
        for d in range(i, dim + 1):
            coeffs[d] += coeffs[d - i]
    return coeffs


@_v.finite_result
def grassmann_loss(X, P) -> float:
    """PCA loss of a subspace given by its orthogonal projection: L_X(P) = ‖X − PX‖²_F.

    Parameters
    ----------
    X : array_like, shape (m, n)
    P : array_like, shape (m, m)
        An orthogonal projection: P = Pᵀ and P² = P (entrywise within 1e-8). Its trace is the
        subspace dimension k.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``X`` is not a finite non-empty matrix, or ``P`` has the wrong shape or is not a
        symmetric idempotent matrix; the message names the argument.
    """
    X = _data(X)
    m = X.shape[0]
    P = _v.matrix("P", P, shape=(m, m))
    if not np.allclose(P, P.T, rtol=0.0, atol=_PROJECTION_ATOL):
        raise ValueError("P must be symmetric (P = Pᵀ) to be an orthogonal projection")
    if not np.allclose(P @ P, P, rtol=0.0, atol=_PROJECTION_ATOL):
        raise ValueError("P must be idempotent (P² = P) to be an orthogonal projection")
    R = X - P @ X
    return float(np.sum(R * R))


# --------------------------------------------------------------------------- RP² disk model


@_v.finite_result
def disk_to_sphere(a, b) -> np.ndarray:
    """Disk model of RP²: (a, b) in the closed unit disk ↦ (a, b, √(1 − a² − b²)).

    The upper hemisphere seen from above; every line through 0 in R³ meets it, once inside
    the disk, twice (antipodal rim points, identified) on the rim.

    Parameters
    ----------
    a, b : float or array_like
        Disk coordinates, broadcast together; a² + b² ≤ 1 (within 1e-12).

    Returns
    -------
    ndarray, shape broadcast(a, b).shape + (3,)
        Unit vectors with third component ≥ 0.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is non-finite, they do not broadcast, or a point lies outside the
        disk; the message names the arguments.
    """
    a = _v.array("a", a)
    b = _v.array("b", b)
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(f"a and b must broadcast together; got shapes {a.shape} and {b.shape}") \
            from None
    r2 = a * a + b * b
    if r2.size and r2.max() > 1.0 + _DISK_ATOL:
        raise ValueError("a, b must lie in the closed unit disk (a² + b² ≤ 1); "
                         f"got a² + b² = {r2.max():g}")
    return np.stack([a, b, np.sqrt(np.maximum(1.0 - r2, 0.0))], axis=-1)


@_v.finite_result
def sphere_to_disk(u):
    """Inverse of ``disk_to_sphere``: the line through u as a point (a, b) of the disk.

    u is normalised and, if it points into the lower hemisphere, replaced by −u (the same
    line); then (a, b) = (u₁, u₂). Lines in the plane u₃ = 0 land on the rim, where (a, b)
    and (−a, −b) are the same point of RP².

    Parameters
    ----------
    u : array_like, shape (3,) or (..., 3)
        Nonzero vectors.

    Returns
    -------
    (a, b) : tuple of float or ndarray, each of shape u.shape[:-1]

    Raises
    ------
    ValueError
        If ``u`` is non-finite, not of shape (..., 3), or contains a zero vector (message
        names ``u``).
    """
    u = _directions("u", u, 3)
    u = np.where(u[..., 2:3] < 0, -u, u)
    return _out(u[..., 0]), _out(u[..., 1])


# --------------------------------------------------------------------------- Gr₁(R²) by angle


@_v.finite_result
def gr1_circle(X, phi):
    """L_X on Gr₁(R²) = RP¹ by the line's angle: the line through u(φ) = (cos φ, sin φ).

    Returns the loss L_X(u(φ)) (``gr1_loss``) and its derivative in φ, which is the
    Riemannian gradient (``gr1_gradient``) paired with the unit tangent u'(φ) = (−sin φ, cos φ):

        dL/dφ = grad L_X(u(φ)) · u'(φ).

    For X with principal directions at angles θ (σ₁) and θ + π/2 (σ₂) this is
    L = σ₁² sin²(φ − θ) + σ₂² cos²(φ − θ) and dL/dφ = (σ₁² − σ₂²) sin 2(φ − θ); both have
    period π (φ and φ + π are the same line). The negative gradient flow on RP¹ moves φ in
    the direction of −dL/dφ.

    Parameters
    ----------
    X : array_like, shape (2, n)
        Data in the plane, one column per sample.
    phi : float or array_like, any shape
        Angles in radians.

    Returns
    -------
    loss, slope : float or ndarray, each of phi's shape

    Raises
    ------
    ValueError
        If ``X`` is not a finite matrix with two rows, or ``phi`` is not finite (message names
        the argument).
    """
    X = _data(X)
    if X.shape[0] != 2:
        raise ValueError(f"X must have 2 rows (data in the plane); got shape {X.shape}")
    phi = _v.array("phi", phi)
    u = np.stack([np.cos(phi), np.sin(phi)], axis=-1)
    tangent = np.stack([-np.sin(phi), np.cos(phi)], axis=-1)
    loss = np.asarray(gr1_loss(X, u))
    slope = np.einsum("...i,...i->...", gr1_gradient(X, u), tangent)
    return _out(loss), _out(np.asarray(slope))


# --------------------------------------------------------------------------- example data


@_v.finite_result
def principal_data(sigma, U, n, seed=0) -> np.ndarray:
    """Data X = U diag(σ) Vᵀ with chosen principal directions U and singular values σ.

    V (n × r) has orthonormal columns orthogonal to the all-ones vector (drawn as in
    ``lae_core.landscape.random_data`` from ``seed``), so X is mean-centred, XXᵀ = U Σ² Uᵀ and
    the σ_i need not be sorted or distinct (a tie makes L_X non-Morse; a page shows that).

    Parameters
    ----------
    sigma : array_like, shape (r,)
        Singular values σ_i ≥ 0, in the order of U's columns.
    U : array_like, shape (m, r)
        Orthonormal columns: the principal directions.
    n : int
        Number of samples, n ≥ r + 1.
    seed : int
        Seed ≥ 0 for V.

    Returns
    -------
    ndarray, shape (m, n)

    Raises
    ------
    ValueError
        If ``sigma`` is negative, non-finite or does not match U's columns, ``U`` lacks
        orthonormal columns, or ``n``/``seed`` is out of range (message names the argument).
    """
    from lae_core.landscape import random_data  # data construction lives there

    U = _v.matrix("U", U)
    m, r = U.shape
    if r < 1 or r > m:
        raise ValueError(f"U must have between 1 and m = {m} columns; got shape {U.shape}")
    if not np.allclose(U.T @ U, np.eye(r), rtol=0.0, atol=1e-8):
        raise ValueError("U must have orthonormal columns (UᵀU = I)")
    sigma = _v.array("sigma", sigma, shape=(r,))
    if (sigma < 0).any():
        raise ValueError(f"sigma must be ≥ 0 (singular values); got minimum {sigma.min():g}")
    n = _v.integer("n", n, minimum=r + 1)
    seed = _v.integer("seed", seed, minimum=0)
    # random_data's X0 = U0 diag(s0) Vᵀ: recover its V, then put our own U and σ around it.
    s0 = np.arange(r, 0, -1, dtype=float)
    X0, U0 = random_data(r, n, s0, seed)
    Vt = (U0.T @ X0) / s0[:, None]
    return (U * sigma) @ Vt
