"""The six LAE-PCA solvers and ``lae_pca`` (Kunin, Bloom, Goeva, Seed, ICML 2019, Section 6).

Data ``X`` is ``m × n`` (mean-centred rows); the encoder ``W1`` is ``k × m`` and the decoder
``W2`` is ``m × k``, with ``1 ≤ k ≤ m``. Write ``A = X Xᵀ`` and ``P = W2 W1``. The losses are::

    unregularized  L   = ‖X − P X‖²_F
    product        L_π = L + λ ‖P‖²_F
    sum            L_σ = L + λ (‖W1‖²_F + ‖W2‖²_F)        (the LAE-PCA loss)

All three depend on ``X`` only through ``A``, which is why the solvers work with ``A`` (m × m)
and never touch the ``n`` columns again except to draw mini-batches.

Items in this module:

- ``METHODS`` — the six solver variants of the authors' reference code.
- ``Trajectory`` — what a run returns: every iterate, its full-batch loss, and a plain-words
  ``status`` / ``message`` (converged, stopped at ``max_iter``, or diverged); its
  ``transpose_gap`` is ``‖W1 − W2ᵀ‖`` per iterate (the Transpose Theorem, live).
- ``solve`` — run one solver.
- ``lae_pca`` — train a sum-loss LAE and read the principal directions and eigenvalues off the
  decoder: ``W2 = U S Rᵀ`` gives directions ``U`` and eigenvalues ``σ² = λ / (1 − s²)``.

The methods (one step each; ``lr`` is the learning rate, ``∇`` the exact gradient)::

    untied_gd     (W1, W2) ← (W1, W2) − lr ∇L(W1, W2)            (both from the same point)
    sync_gd       untied_gd step, then W1 ← (W1 + W2ᵀ)/2, W2 ← W1ᵀ
    tied_gd       W ← W − lr ∇_{W2} L(Wᵀ, W),   W1 = Wᵀ, W2 = W   ("regularized Oja's rule")
    exact_untied  W1 ← argmin L(·, W2), then W2 ← argmin L(W1, ·)   (alternating minimisation)
    exact_sync    exact_untied sweep, then W1 ← (W1 + W2ᵀ)/2, W2 ← W1ᵀ
    exact_tied    W ← (W + argmin L(Wᵀ, ·)) / 2,  W1 = Wᵀ, W2 = W

Gradients (full factor 2; the reference code uses half of it, i.e. its learning rate is
twice ours)::

    E      = W2 W1 (A + λ_π I) − A          (λ_π = λ for the product loss, else 0)
    ∇_W1 L = 2 (W2ᵀ E + λ_σ W1)             (λ_σ = λ for the sum loss, else 0)
    ∇_W2 L = 2 (E W1ᵀ + λ_σ W2)

Closed-form block minimisers (set the block gradient to zero; a singular system, e.g. the
unregularized loss, takes the minimum-norm least-squares solution, i.e. the pseudo-inverse)::

    W1:  (W2ᵀW2) W1 (A + λ_π I) + λ_σ W1 = W2ᵀ A
         solved entry-wise in the eigenbases W2ᵀW2 = Q D Qᵀ, A = V Λ Vᵀ:
         (Qᵀ W1 V)_ij = (Qᵀ W2ᵀ V)_ij Λ_j / (D_i (Λ_j + λ_π) + λ_σ)
    W2:  W2 (W1 (A + λ_π I) W1ᵀ + λ_σ I) = A W1ᵀ

Why ``exact_tied`` is built this way. Like ``tied_gd`` it uses the decoder block: with
``W1 = Wᵀ`` held, ``W* = argmin L(Wᵀ, ·) = A W (Wᵀ (A + λ_π I) W + λ_σ I)⁻¹``. Its fixed points
``W = W*`` are critical points: with ``W = U S Rᵀ`` (thin SVD, ``S > 0``) and ``M = UᵀAU`` the
equation says that ``span U`` is A-invariant (spanned by principal directions) and
``S² (M + λ_π I) + λ_σ I = M``, so ``s_i² = 1 − λ/σ_i²`` (sum), ``σ_i² / (σ_i² + λ)`` (product)
or ``1`` (unregularized) — Table 1's points, where the encoder condition holds too.
The step is relaxed by ½ because the bare map oscillates: in the scalar case
``w ↦ w a / (w² a + λ)`` has slope ``2λ/a − 1`` at its fixed point (→ −1 as λ → 0), and for
``L_π`` and ``L`` it is the involution ``w ↦ c/w``, a 2-cycle. The averaged map has slope
``λ/a`` for ``L_σ`` and is Heron's square-root iteration (slope 0) for ``L_π`` and ``L``. (The
encoder block would not do: for ``L`` it returns ``W⁺ᵀ``, which never turns the column space of
``W``, so it stalls at non-critical points; the decoder's ``A W`` turns it like a power
iteration.)

Only ``exact_untied`` is guaranteed a non-increasing loss (each half-step is an exact block
minimisation); the averaging of ``exact_sync`` and ``exact_tied`` is not, and their losses can
rise for a step or two (so can the gradient methods' if ``lr`` is too large).

Conventions shared by every solver:

- Iterate 0 is the start. Tied methods start from ``W = W2``, or ``W1ᵀ`` when only ``W1`` is
  given, or the nearest tied point ``(W1ᵀ + W2)/2`` when both are given and differ.
- Default start: entries drawn from ``N(0, 1/m)`` by a child of ``np.random.default_rng(seed)``.
- Default ``lr`` (gradient methods): ``1 / β`` with the smoothness bound
  ``β = 2 [(a + λ_π)(1 + 3 R²) + λ_σ]``, where ``a`` bounds ``‖A‖₂`` (``σ₁²``; for mini-batches
  ``(n/b)`` × the sum of the ``b`` largest ``‖x_j‖²``, which bounds every batch's ``‖A_b‖₂``)
  and ``R² = max(1, ‖W1‖₂², ‖W2‖₂²)`` at the start. It bounds the Hessian's norm on the ball
  of spectral radius ``R``, and the minima lie in the unit ball.
- Mini-batches (``batch_size = b < n``): each step uses ``A_b = (n/b) X_B X_Bᵀ`` for ``b``
  columns drawn without replacement, so ``E[A_b] = A`` and the step is an unbiased estimate
  of the full one. Batches are consecutive slices of a fresh random permutation of the ``n``
  columns each epoch (random reshuffling; the last ``n mod b`` columns of each permutation
  are skipped), so every step's batch is a uniformly random ``b``-subset. The recorded loss
  is always the full-batch loss. (The reference code instead rescales λ by ``b/n``.)
- Convergence: the step ``‖(ΔW1, ΔW2)‖_F ≤ tol · (1 + ‖(W1, W2)‖_F)`` (the new iterate's
  norm). ``tol = 0`` switches the test off, so exactly ``max_iter`` steps run.
- Divergence: a loss that is not finite or exceeds ``10¹² · (1 + L₀)`` (``L₀`` the starting
  loss) stops the run; that iterate is dropped, so every returned number is finite.
- ``m = k = 1`` runs on a pure-Python float fast path (NumPy's per-call overhead dominates at
  that size); it performs the same arithmetic as the general path.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from lae_core import _validate as v
from lae_core.landscape import _loss_value as _loss  # one formula: the landscape's

__all__ = ["METHODS", "Trajectory", "lae_pca", "solve"]

METHODS = ("untied_gd", "sync_gd", "tied_gd", "exact_untied", "exact_sync", "exact_tied")
_GRADIENT_METHODS = frozenset(METHODS[:3])
_TIED_METHODS = frozenset(("tied_gd", "exact_tied"))

# A loss above _EXPLODE · (1 + starting loss) counts as diverged: far beyond anything a
# converging run visits, far below float overflow.
_EXPLODE = 1e12

# Relative cut-off below which an eigenvalue counts as zero in the pseudo-inverse
# (NumPy's ``pinv`` uses the same ``max(shape) · eps`` scale).
_EPS = np.finfo(np.float64).eps

# Each mini-batch draw permutes about this many column indices at once (whole epochs).
_BATCH_CHUNK = 1 << 16


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The iterates of one solver run.

    Attributes
    ----------
    W1 : ndarray, shape (T, k, m)
        Encoders; ``W1[0]`` is the start.
    W2 : ndarray, shape (T, m, k)
        Decoders; ``W2[0]`` is the start.
    loss : ndarray, shape (T,)
        Full-batch loss of each iterate (the run's ``kind``), all finite.
    status : {"converged", "max_iter", "diverged"}
    message : str
        One plain sentence saying what happened, for a student.
    iterations : int
        Steps taken that are in the trajectory (``T − 1``).
    method : str
        One of ``METHODS``.
    lr : float or None
        The learning rate used (``None`` for the exact methods).
    """

    W1: np.ndarray = field(repr=False)
    W2: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    status: str
    message: str
    iterations: int
    method: str
    lr: float | None = None

    @property
    def transpose_gap(self) -> np.ndarray:
        """``‖W1 − W2ᵀ‖_F`` at each iterate, shape (T,) — zero at every critical point of L_σ
        (Transpose Theorem), not forced for the unregularized or product loss."""
        D = self.W1 - np.swapaxes(self.W2, 1, 2)
        # divided by the largest entry first, so that entries of 1e200 do not overflow the squares
        scale = np.abs(D).max(axis=(1, 2), initial=0.0)
        return scale * np.linalg.norm(D / np.where(scale > 0, scale, 1.0)[:, None, None], axis=(1, 2))


# --------------------------------------------------------------------------- losses


def _split_lam(kind: str, lam: float) -> tuple[float, float]:
    """``(λ_σ, λ_π)``: the weight-norm and product-norm penalties of a loss kind."""
    if kind == "sum":
        return lam, 0.0
    if kind == "product":
        return 0.0, lam
    return 0.0, 0.0


# --------------------------------------------------------------------------- set-up


@dataclass
class _Problem:
    method: str
    kind: str
    lam: float
    lam_sum: float
    lam_prod: float
    X: np.ndarray
    A: np.ndarray             # X Xᵀ
    V: np.ndarray             # A = V diag(E) Vᵀ
    E: np.ndarray             # eigenvalues of A, tiny ones set to 0
    F: np.ndarray             # V diag(√E) restricted to E > 0: F Fᵀ = A
    W1: np.ndarray            # start
    W2: np.ndarray
    lr: float | None
    max_iter: int
    tol: float
    batch_size: int | None    # None: full batch
    batch_rng: np.random.Generator


def _eig_psd(A: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric PSD matrix with eigenvalues below ``rtol · max`` set to 0."""
    E, V = np.linalg.eigh(A)
    top = E[-1] if E.size else 0.0
    E = np.where(E > rtol * top, E, 0.0)
    return E, V


def _prepare(method, X, k, lam, W1, W2, lr, max_iter, tol, batch_size, seed, kind) -> _Problem:
    method = v.choice("method", method, METHODS)
    kind = v.kind(kind)
    X = v.matrix("X", X)
    m, n = X.shape
    if m < 1 or n < 1:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    k = v.integer("k", k, minimum=1, maximum=m)
    lam = v.lam(lam)
    max_iter = v.integer("max_iter", max_iter, minimum=1)
    tol = v.real("tol", tol, minimum=0.0)
    seed = v.integer("seed", seed, minimum=0)
    if lr is not None:
        lr = v.real("lr", lr, minimum=0.0, strict=True)
    if batch_size is not None:
        batch_size = v.integer("batch_size", batch_size, minimum=1, maximum=n)
        if batch_size == n:
            batch_size = None
    if W1 is not None:
        W1 = v.matrix("W1", W1, shape=(k, m)).copy()
    if W2 is not None:
        W2 = v.matrix("W2", W2, shape=(m, k)).copy()

    with np.errstate(over="ignore", invalid="ignore"):
        A = X @ X.T
    if not np.isfinite(A).all():
        raise ValueError("X is too large: X Xᵀ overflows float64")
    A = 0.5 * (A + A.T)
    rtol = max(m, k) * _EPS
    E, V = _eig_psd(A, rtol)
    pos = E > 0
    F = V[:, pos] * np.sqrt(E[pos])

    start_rng, batch_rng = np.random.default_rng(seed).spawn(2)
    scale = 1.0 / math.sqrt(m)
    W1r = start_rng.normal(scale=scale, size=(k, m))
    W2r = start_rng.normal(scale=scale, size=(m, k))
    if method in _TIED_METHODS:
        if W1 is None and W2 is None:
            W = W2r
        elif W1 is None:
            W = W2
        elif W2 is None:
            W = W1.T.copy()
        else:
            W = W2 if np.array_equal(W1, W2.T) else 0.5 * (W1.T + W2)
        W2 = np.ascontiguousarray(W)
        W1 = W2.T.copy()
    else:
        W1 = W1r if W1 is None else W1
        W2 = W2r if W2 is None else W2

    with np.errstate(over="ignore", invalid="ignore"):
        start_loss = _loss(kind, F, lam, W1, W2)
    if not math.isfinite(start_loss):
        raise ValueError("W1, W2: the start is too large — its loss overflows float64")

    lam_sum, lam_prod = _split_lam(kind, lam)
    if method not in _GRADIENT_METHODS:
        lr = None
    elif lr is None:
        if batch_size is None:
            a = float(E[-1])
        else:
            col = np.sort(np.einsum("ij,ij->j", X, X))[::-1]
            a = n / batch_size * float(col[:batch_size].sum())
        R2 = max(1.0, float(np.linalg.norm(W1, 2)) ** 2, float(np.linalg.norm(W2, 2)) ** 2)
        beta = 2.0 * ((a + lam_prod) * (1.0 + 3.0 * R2) + lam_sum)
        # A Python float: a NumPy scalar here would slow the scalar fast path fourfold.
        lr = 1.0 / beta if beta > 0 and math.isfinite(beta) else 1.0
        if lr == 0.0:
            raise ValueError("lr: X or the start is too large for a stable default learning "
                             "rate; pass lr")

    return _Problem(method, kind, lam, lam_sum, lam_prod, X, A, V, E, F,
                    W1, W2, lr, max_iter, tol, batch_size, batch_rng)


def _batch_chunks(rng: np.random.Generator, n: int, b: int):
    """Yield index arrays of shape (steps, b): consecutive slices of fresh permutations."""
    per_epoch = n // b
    epochs = max(1, _BATCH_CHUNK // n)
    base = np.tile(np.arange(n), (epochs, 1))
    while True:
        perm = rng.permuted(base, axis=1)[:, : per_epoch * b]
        yield perm.reshape(epochs * per_epoch, b)


# --------------------------------------------------------------------------- outcome


def _plural(t: int) -> str:
    return f"{t} iteration" + ("" if t == 1 else "s")


def _trajectory(p: _Problem, W1s, W2s, losses, status, t, detail) -> Trajectory:
    """Assemble the result and the sentence describing it."""
    gradient = p.method in _GRADIENT_METHODS
    if status == "converged":
        step, threshold = detail
        message = (f"converged after {_plural(t)} (the last step, {step:.2g}, was within "
                   f"tol·(1 + ‖W‖) = {threshold:.2g})")
        iterations = t
    elif status == "diverged":
        bad, limit = detail
        what = ("became infinite or NaN" if not math.isfinite(bad)
                else f"exceeded {limit:.3g}, 10¹² × (1 + the starting loss)")
        advice = (f"lower the learning rate (lr = {p.lr:.3g})" if gradient
                  else "the closed-form steps are numerically unstable for this data")
        message = f"diverged at iteration {t}: the loss {what} — {advice}"
        iterations = t - 1
    else:
        step, threshold = detail
        iterations = t
        if p.tol == 0:
            message = f"ran all {_plural(t)} (tol = 0 switches the convergence test off)"
        else:
            message = (f"stopped after {_plural(t)} (max_iter) without converging: the last "
                       f"step, {step:.2g}, was above tol·(1 + ‖W‖) = {threshold:.2g}")
            if p.batch_size is not None:
                message += " — mini-batch noise keeps the steps from shrinking to zero"
            elif gradient:
                message += " — raise max_iter or the learning rate"
            else:
                message += " — raise max_iter"
    for a in (W1s, W2s, losses):
        a.flags.writeable = False
    run = Trajectory(W1s, W2s, losses, status, message, iterations, p.method, p.lr)
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(run.transpose_gap).all():  # weights near 1e308 apart
            raise ValueError("W1, W2: too large — ‖W1 − W2ᵀ‖ along the run overflows float64")
    return run


# --------------------------------------------------------------------------- m = k = 1


def _run_scalar(p: _Problem) -> Trajectory:
    """``m = k = 1`` in plain floats: the general path's arithmetic, without NumPy calls."""
    method = p.method
    a = float(p.A[0, 0])
    ls, lp = p.lam_sum, p.lam_prod
    s = 2.0 * p.lr if p.lr is not None else 0.0
    c = 1.0 - s * ls
    tol = p.tol
    w1 = float(p.W1[0, 0])
    w2 = float(p.W2[0, 0])
    q = w2 * w1
    r = 1.0 - q
    L = a * (r * r) + ls * (w1 * w1 + w2 * w2) + lp * (q * q)
    limit = _EXPLODE * (1.0 + L)
    W1s, W2s, Ls = [w1], [w2], [L]
    if p.batch_size is None:
        a_steps = itertools.repeat(a)
    else:
        x2 = p.X[0] * p.X[0]
        scale = p.X.shape[1] / p.batch_size
        a_steps = itertools.chain.from_iterable(
            ((x2[idx].sum(axis=1)) * scale).tolist()
            for idx in _batch_chunks(p.batch_rng, p.X.shape[1], p.batch_size))
    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    untied_gd, sync_gd, tied_gd = method == "untied_gd", method == "sync_gd", method == "tied_gd"
    exact_sync, exact_tied = method == "exact_sync", method == "exact_tied"
    for t, at in zip(range(1, p.max_iter + 1), a_steps):
        att = at + lp
        if untied_gd or sync_gd:
            e = w2 * (w1 * att) - at
            n1 = c * w1 - s * (w2 * e)
            n2 = c * w2 - s * (e * w1)
            if sync_gd:
                n1 = n2 = 0.5 * (n1 + n2)
        elif tied_gd:
            e = w2 * (w2 * att) - at
            n1 = n2 = c * w2 - s * (e * w2)
        elif exact_tied:
            d = (w2 * att) * w2 + ls
            n2 = (at * w2) / d if d > 0.0 else 0.0
            n1 = n2 = 0.5 * (n2 + w2)
        else:
            d = (w2 * w2) * att + ls
            n1 = (w2 * at) / d if d > 0.0 else 0.0
            d = (n1 * att) * n1 + ls
            n2 = (at * n1) / d if d > 0.0 else 0.0
            if exact_sync:
                n1 = n2 = 0.5 * (n1 + n2)
        q = n2 * n1
        r = 1.0 - q
        L = a * (r * r) + ls * (n1 * n1 + n2 * n2) + lp * (q * q)
        if not L <= limit:
            status, detail = "diverged", (L, limit)
            break
        W1s.append(n1)
        W2s.append(n2)
        Ls.append(L)
        d1 = n1 - w1
        d2 = n2 - w2
        w1, w2 = n1, n2
        step = math.sqrt(d1 * d1 + d2 * d2)
        threshold = tol * (1.0 + math.sqrt(n1 * n1 + n2 * n2))
        if step <= threshold and tol > 0.0:
            status, detail = "converged", (step, threshold)
            break
    else:
        detail = (step, threshold) if t else detail
    T = len(Ls)
    return _trajectory(p, np.array(W1s).reshape(T, 1, 1), np.array(W2s).reshape(T, 1, 1),
                       np.array(Ls), status, t, detail)


def _run_vector(p: _Problem) -> Trajectory:
    """``m = 2, k = 1`` (the tied vector case) in plain floats: the general path's arithmetic,
    written out for W1 = [u1 u2], W2 = [w1 w2]ᵀ, without NumPy calls. (Mini-batch exact
    untied/sync steps need an eigendecomposition per batch and take the general path.)"""
    method, kind, lam = p.method, p.kind, p.lam
    ls, lp = p.lam_sum, p.lam_prod
    rtol = 2 * _EPS
    s = 2.0 * p.lr if p.lr is not None else 0.0
    c = 1.0 - s * ls
    tol = p.tol
    (u1, u2), (w1, w2) = p.W1[0].tolist(), p.W2[:, 0].tolist()
    F = p.F.T.tolist()                      # columns of the thin factor: F Fᵀ = X Xᵀ
    V = p.V.tolist()
    E = p.E.tolist()

    def loss(u1, u2, w1, w2):
        data = 0.0
        for f1, f2 in F:
            z = u1 * f1 + u2 * f2
            r1, r2 = f1 - w1 * z, f2 - w2 * z
            data += r1 * r1 + r2 * r2
        if kind == "sum":
            return data + lam * ((u1 * u1 + u2 * u2) + (w1 * w1 + w2 * w2))
        if kind == "product":
            return data + lam * ((w1 * w1 + w2 * w2) * (u1 * u1 + u2 * u2))
        return data

    def decoder(v1, v2, a11, a12, a22, t11, t22):
        """argmin over W2 for W1 = [v1 v2] (``_argmin_decoder`` with k = 1)."""
        b1, b2 = v1 * a11 + v2 * a12, v1 * a12 + v2 * a22
        m = (v1 * t11 + v2 * a12) * v1 + (v1 * a12 + v2 * t22) * v2
        if ls > 0.0:
            m += ls
        elif not m > rtol * max(m, 0.0):
            return 0.0, 0.0
        return b1 / m, b2 / m

    L = loss(u1, u2, w1, w2)
    limit = _EXPLODE * (1.0 + L)
    rows = [(u1, u2, w1, w2)]
    Ls = [L]
    if p.batch_size is None:
        A = p.A
        a_steps = itertools.repeat((float(A[0, 0]), float(A[0, 1]), float(A[1, 1])))
    else:
        X, scale = p.X, p.X.shape[1] / p.batch_size

        def a_steps_batched():
            for chunk in _batch_chunks(p.batch_rng, X.shape[1], p.batch_size):
                for idx in chunk:
                    Xb = X[:, idx]
                    Ab = (Xb @ Xb.T) * scale
                    yield float(Ab[0, 0]), float(Ab[0, 1]), float(Ab[1, 1])

        a_steps = a_steps_batched()
    untied_gd, sync_gd, tied_gd = method == "untied_gd", method == "sync_gd", method == "tied_gd"
    exact_tied, exact_sync = method == "exact_tied", method == "exact_sync"
    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    for t, (a11, a12, a22) in zip(range(1, p.max_iter + 1), a_steps):
        t11, t22 = a11 + lp, a22 + lp
        if untied_gd or sync_gd:
            r1, r2 = u1 * t11 + u2 * a12, u1 * a12 + u2 * t22
            e11, e12, e21, e22 = w1 * r1 - a11, w1 * r2 - a12, w2 * r1 - a12, w2 * r2 - a22
            n1 = c * u1 - s * (w1 * e11 + w2 * e21)
            n2 = c * u2 - s * (w1 * e12 + w2 * e22)
            m1 = c * w1 - s * (e11 * u1 + e12 * u2)
            m2 = c * w2 - s * (e21 * u1 + e22 * u2)
        elif tied_gd:
            r1, r2 = w1 * t11 + w2 * a12, w1 * a12 + w2 * t22
            e11, e12, e21, e22 = w1 * r1 - a11, w1 * r2 - a12, w2 * r1 - a12, w2 * r2 - a22
            m1 = c * w1 - s * (e11 * w1 + e12 * w2)
            m2 = c * w2 - s * (e21 * w1 + e22 * w2)
            n1, n2 = m1, m2
        elif exact_tied:
            m1, m2 = decoder(w1, w2, a11, a12, a22, t11, t22)
            m1, m2 = 0.5 * (m1 + w1), 0.5 * (m2 + w2)
            n1, n2 = m1, m2
        else:
            # argmin over W1 in the eigenbasis of A (``_argmin_encoder`` with k = 1)
            d = max(w1 * w1 + w2 * w2, 0.0)
            num = [(w1 * V[0][j] + w2 * V[1][j]) * E[j] for j in (0, 1)]
            den = [d * (E[j] + lp) if lp else d * E[j] for j in (0, 1)]
            if ls > 0.0:
                x = [num[j] / (den[j] + ls) for j in (0, 1)]
            else:
                cut = rtol * max(den)
                x = [num[j] / den[j] if den[j] > cut else 0.0 for j in (0, 1)]
            n1 = x[0] * V[0][0] + x[1] * V[0][1]
            n2 = x[0] * V[1][0] + x[1] * V[1][1]
            m1, m2 = decoder(n1, n2, a11, a12, a22, t11, t22)
        if sync_gd or exact_sync:
            m1, m2 = 0.5 * (m1 + n1), 0.5 * (m2 + n2)
            n1, n2 = m1, m2
        L = loss(n1, n2, m1, m2)
        if not L <= limit:
            status, detail = "diverged", (L, limit)
            break
        rows.append((n1, n2, m1, m2))
        Ls.append(L)
        d1, d2, d3, d4 = n1 - u1, n2 - u2, m1 - w1, m2 - w2
        u1, u2, w1, w2 = n1, n2, m1, m2
        step = math.sqrt(d1 * d1 + d2 * d2 + d3 * d3 + d4 * d4)
        threshold = tol * (1.0 + math.sqrt(n1 * n1 + n2 * n2 + m1 * m1 + m2 * m2))
        if step <= threshold and tol > 0.0:
            status, detail = "converged", (step, threshold)
            break
    else:
        detail = (step, threshold) if t else detail
    T = len(Ls)
    W = np.array(rows)
    return _trajectory(p, W[:, :2].reshape(T, 1, 2).copy(), W[:, 2:].reshape(T, 2, 1).copy(),
                       np.array(Ls), status, t, detail)


# --------------------------------------------------------------------------- general m, k


def _argmin_encoder(W2, V, E, lam_sum, lam_prod, rtol):
    """``argmin_W1 L(W1, W2)``: the minimum-norm solution of
    ``(W2ᵀW2) W1 (A + λ_π I) + λ_σ W1 = W2ᵀ A`` in the eigenbases of ``W2ᵀW2`` and ``A``."""
    D, Q = np.linalg.eigh(W2.T @ W2)
    np.maximum(D, 0.0, out=D)
    num = ((W2 @ Q).T @ V) * E
    den = np.multiply.outer(D, E + lam_prod) if lam_prod else np.multiply.outer(D, E)
    if lam_sum > 0.0:           # den ≥ λ_σ > 0: the system is regular
        den += lam_sum
        W1 = num / den
    else:                       # possibly singular: pseudo-inverse
        W1 = np.divide(num, den, out=np.zeros_like(num), where=den > rtol * den.max())
    return (Q @ W1) @ V.T


def _argmin_decoder(W1, A, At, lam_sum, rtol):
    """``argmin_W2 L(W1, W2)``: the minimum-norm solution of
    ``W2 (W1 (A + λ_π I) W1ᵀ + λ_σ I) = A W1ᵀ``."""
    B = W1 @ A
    M = (W1 @ At if At is not A else B) @ W1.T
    if lam_sum > 0.0:           # M ≥ λ_σ I: positive definite
        M.flat[:: M.shape[0] + 1] += lam_sum
        return np.linalg.solve(M, B).T
    D, Q = np.linalg.eigh(0.5 * (M + M.T))
    rhs = B.T @ Q
    W2 = np.divide(rhs, D, out=np.zeros_like(rhs), where=(D > rtol * max(D[-1], 0.0))[None, :])
    return W2 @ Q.T


def _run_general(p: _Problem) -> Trajectory:
    """Any ``m ≥ k ≥ 1`` with NumPy; the scalar fast path mirrors this step for step.

    Iterate ``t`` is row ``t`` of one preallocated buffer holding ``(W1.ravel(), W2.ravel())``,
    so each step writes its result in place and the step norm is a single subtraction.
    """
    method, kind, lam = p.method, p.kind, p.lam
    ls, lp = p.lam_sum, p.lam_prod
    k, m = p.W1.shape
    km = k * m
    rtol = max(m, k) * _EPS
    s = 2.0 * p.lr if p.lr is not None else 0.0
    c = 1.0 - s * ls            # weight decay of the sum loss folded into one product
    tol = p.tol
    F = p.F
    L = _loss(kind, F, lam, p.W1, p.W2)
    limit = _EXPLODE * (1.0 + L)

    capacity = min(p.max_iter + 1, max(64, (1 << 20) // (2 * km)))
    buf = np.empty((capacity, 2 * km))
    Ls = np.empty(capacity)
    buf[0, :km], buf[0, km:], Ls[0] = p.W1.ravel(), p.W2.ravel(), L
    G = np.empty(2 * km)
    G1, G2 = G[:km].reshape(k, m), G[km:].reshape(m, k)
    delta = np.empty(2 * km)

    eye_lp = lp * np.eye(m)
    full = p.batch_size is None
    if full:
        A_steps = itertools.repeat(p.A)
    else:
        X, scale = p.X, p.X.shape[1] / p.batch_size

        def batch_matrices():
            for chunk in _batch_chunks(p.batch_rng, X.shape[1], p.batch_size):
                for idx in chunk:
                    Xb = X[:, idx]
                    yield (Xb @ Xb.T) * scale

        A_steps = batch_matrices()
    untied_gd, sync_gd, tied_gd = method == "untied_gd", method == "sync_gd", method == "tied_gd"
    exact_tied, exact_sync = method == "exact_tied", method == "exact_sync"
    V, E = p.V, p.E

    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        for t, A in zip(range(1, p.max_iter + 1), A_steps):
            if t == capacity:
                capacity = min(p.max_iter + 1, 2 * capacity)
                buf, Ls = np.resize(buf, (capacity, 2 * km)), np.resize(Ls, capacity)
            W, N = buf[t - 1], buf[t]
            W1, W2 = W[:km].reshape(k, m), W[km:].reshape(m, k)
            N1, N2 = N[:km].reshape(k, m), N[km:].reshape(m, k)
            At = A + eye_lp if lp else A
            if untied_gd or sync_gd:
                Err = W2 @ (W1 @ At)
                Err -= A
                np.matmul(W2.T, Err, out=G1)
                np.matmul(Err, W1.T, out=G2)
                np.multiply(W, c, out=N)
                G *= s
                N -= G
            elif tied_gd:
                Err = W2 @ (W2.T @ At)
                Err -= A
                np.matmul(Err, W2, out=G2)
                np.multiply(W2, c, out=N2)
                G2 *= s
                N2 -= G2
                N1[...] = N2.T
            elif exact_tied:
                N2[...] = _argmin_decoder(W2.T, A, At, ls, rtol)
                N2 += W2
                N2 *= 0.5
                N1[...] = N2.T
            else:
                if not full:
                    E, V = _eig_psd(A, rtol)
                N1[...] = _argmin_encoder(W2, V, E, ls, lp, rtol)
                N2[...] = _argmin_decoder(N1, A, At, ls, rtol)
            if sync_gd or exact_sync:
                N2 += N1.T
                N2 *= 0.5
                N1[...] = N2.T
            L = _loss(kind, F, lam, N1, N2)
            if not L <= limit:
                status, detail = "diverged", (L, limit)
                break
            Ls[t] = L
            np.subtract(N, W, out=delta)
            step = math.sqrt(float(np.vdot(delta, delta)))
            threshold = tol * (1.0 + math.sqrt(float(np.vdot(N, N))))
            if step <= threshold and tol > 0.0:
                status, detail = "converged", (step, threshold)
                break
        else:
            detail = (step, threshold) if t else detail
    T = t + 1 if status != "diverged" else t
    W1s = np.ascontiguousarray(buf[:T, :km]).reshape(T, k, m)
    W2s = np.ascontiguousarray(buf[:T, km:]).reshape(T, m, k)
    return _trajectory(p, W1s, W2s, Ls[:T].copy(), status, t, detail)


# --------------------------------------------------------------------------- public API


@v.finite_result
def solve(method, X, k, lam, *, W1=None, W2=None, lr=None, max_iter=1000, tol=1e-10,
          batch_size=None, seed=0, kind="sum") -> Trajectory:
    """Train a linear autoencoder with one of the six LAE-PCA solvers.

    Parameters
    ----------
    method : str
        One of ``METHODS`` (see the module docstring for each update).
    X : array_like, shape (m, n)
        Data, one example per column (mean-centred for PCA).
    k : int
        Latent dimension, ``1 ≤ k ≤ m``.
    lam : float
        Regularization strength λ ≥ 0 (ignored by ``kind="unregularized"``).
    W1 : array_like, shape (k, m), optional
        Starting encoder; default random (see module docstring).
    W2 : array_like, shape (m, k), optional
        Starting decoder; default random. Tied methods use one matrix ``W = W2 = W1ᵀ``.
    lr : float, optional
        Learning rate > 0 of the gradient methods (ignored by the exact ones); default
        ``1 / β`` from the smoothness bound in the module docstring.
    max_iter : int
        Most steps to take, ≥ 1.
    tol : float
        Convergence when ``‖step‖_F ≤ tol·(1 + ‖(W1, W2)‖_F)``; ``tol ≥ 0``, 0 disables.
    batch_size : int, optional
        ``1 ≤ batch_size ≤ n``: columns per step (sampled without replacement, step rescaled
        by ``n / batch_size``); default (or ``n``) uses all columns.
    seed : int
        Seed ≥ 0 of ``np.random.default_rng`` for the random start and the batches.
    kind : {"sum", "product", "unregularized"}
        The loss to minimise: ``L_σ`` (LAE-PCA's), ``L_π`` or ``L``.

    Returns
    -------
    Trajectory
        ``W1`` (T, k, m), ``W2`` (T, m, k), ``loss`` (T,), ``status``, ``message``,
        ``iterations``, ``method``, ``lr``.

    Raises
    ------
    ValueError
        Naming the argument: unknown ``method`` or ``kind``; ``X`` not a finite 2-D array;
        ``k`` outside ``[1, m]``; ``lam < 0``; ``W1``/``W2`` of the wrong shape or not finite;
        ``lr ≤ 0``; ``max_iter < 1``; ``tol < 0``; ``batch_size`` outside ``[1, n]``;
        ``seed < 0``; any non-finite number.
    """
    p = _prepare(method, X, k, lam, W1, W2, lr, max_iter, tol, batch_size, seed, kind)
    if p.W1.shape == (1, 1):
        return _run_scalar(p)
    if p.W1.shape == (1, 2) and (p.batch_size is None or p.method not in ("exact_untied", "exact_sync")):
        return _run_vector(p)
    return _run_general(p)


@v.finite_result
def lae_pca(X, k, lam, method="exact_tied", **solve_kwargs):
    """Principal directions and eigenvalues of ``X Xᵀ`` from a trained sum-loss LAE.

    Trains ``L_σ`` with ``solve`` and takes the SVD of the final decoder ``W2 = U S Rᵀ``. At a
    minimum ``W2 = U_k (I − λ Σ_k⁻²)^{1/2} Oᵀ`` (Table 1), so the directions are ``U`` and the
    eigenvalues are ``σ_i² = λ / (1 − s_i²)``, largest first.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Mean-centred data.
    k : int
        Number of components, ``1 ≤ k ≤ m``.
    lam : float
        λ > 0; pick it below ``σ_k²``. Directions with ``σ_i² ≤ λ`` collapse (``s_i = 0``):
        their eigenvalue comes back as λ and their direction is arbitrary.
    method : str
        One of ``METHODS``; default ``"exact_tied"``.
    **solve_kwargs
        Passed to ``solve`` (``W1``, ``W2``, ``lr``, ``max_iter``, ``tol``, ``batch_size``,
        ``seed``); ``kind`` is always ``"sum"``.

    Returns
    -------
    directions : ndarray, shape (m, k)
        Orthonormal columns, the principal directions (each up to sign).
    eigenvalues : ndarray, shape (k,)
        Eigenvalues of ``X Xᵀ`` (squared singular values of ``X``), descending.

    Raises
    ------
    ValueError
        As ``solve``; also naming ``lam`` when λ = 0, when the solver did not converge, or
        when a decoder singular value ``s ≥ 1`` (no eigenvalue ``λ / (1 − s²)``); naming
        ``kind`` if it is passed.
    """
    lam = v.lam(lam)
    if lam == 0.0:
        raise ValueError("lam must be > 0 for LAE-PCA: the eigenvalues are read off as "
                         "λ / (1 − s²), and with λ = 0 every one would be 0")
    if "kind" in solve_kwargs:
        raise ValueError("kind cannot be set: LAE-PCA always trains the sum loss L_σ")
    run = solve(method, X, k, lam, kind="sum", **solve_kwargs)
    if run.status != "converged":
        raise ValueError(f"lam = {lam:g}: LAE-PCA needs a converged solver, but {method} "
                         f"{run.message}")
    U, s, _ = np.linalg.svd(run.W2[-1], full_matrices=False)
    if s[0] >= 1.0:
        raise ValueError(f"lam = {lam:g}: the decoder has singular value s = {s[0]:.6g} ≥ 1, "
                         "so λ / (1 − s²) is no eigenvalue; the run did not reach a minimum")
    return U, lam / (1.0 - s * s)
