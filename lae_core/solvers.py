"""The LAE-PCA solvers as the authors wrote them, and ``lae_pca`` (Kunin, Bloom, Goeva, Seed,
ICML 2019, Section 6 and the repository's ``algorithms.py``).

Data ``X`` is ``m × n`` (mean-centred rows, one example per column); the encoder ``W1`` is
``k × m`` and the decoder ``W2`` is ``m × k``, with ``1 ≤ k ≤ m``. Write ``A = X Xᵀ`` and
``P = W2 W1``. The losses are ``lae_core.landscape``'s (computed there and only there)::

    unregularized  L   = ‖X − P X‖²_F
    product        L_π = L + λ ‖P‖²_F
    sum            L_σ = L + λ (‖W1‖²_F + ‖W2‖²_F)        (the LAE-PCA loss)
    synthetic          = w_σ L_σ + (1 − w_σ) L_π           (Petrevski's report)

Every one is ``L + λ_σ(‖W1‖² + ‖W2‖²) + λ_π‖P‖²`` with ``(λ_σ, λ_π)`` = ``(λ, 0)``, ``(0, λ)``,
``(0, 0)`` or ``(w_σλ, (1 − w_σ)λ)``, and depends on ``X`` only through ``A``: the solvers work
with ``A`` (m × m) and touch the ``n`` columns again only to draw mini-batches.

Items in this module:

- ``METHODS`` — the authors' six LAE-PCA algorithms, doing exactly their updates.
- ``VARIANTS`` — three other updates, each faster than its authors' counterpart somewhere
  (measured by ``benchmarks/bench_pca.py``; see "Variants" below).
- ``Trajectory`` — what a run returns: every iterate, its full-batch loss, and a plain-words
  ``status`` / ``message`` (converged, oscillating, stopped at ``max_iter``, or diverged); its
  ``transpose_gap`` is ``‖W1 − W2ᵀ‖`` per iterate (the Transpose Theorem, live).
- ``solve`` — run one solver.
- ``lae_pca`` — train a sum-loss LAE and read the principal directions and eigenvalues off the
  decoder.
- ``recovered_eigenvalues`` — ``σ² = λ / (1 − s²)`` from the decoder's singular values ``s``.

The authors' algorithms
-----------------------
Source: ``danielkunin/Regularized-Linear-Autoencoders``, ``algorithms.py`` — the newest stored
version with all six methods (``SyncMode.UNTIED / SYNC / TIED``, functions ``LAE_PCA_GD`` and
``LAE_PCA_exact``, labels ``'GD-untied'`` … ``'exact-tied'``; the index it was read from did not
expose that version's commit hash), and the README's two snippets (GD-untied and GD-tied, the
same in every README version read). Older versions of ``algorithms.py`` (commits ``00f402c``,
``b3731bf``) have the same GD-untied and Oja updates (``b3731bf`` the same GD-sync too) and
neither exact-sync nor exact-tied. Their step is written with the *half* gradient ``g`` and a step ``α``::

    g1 = W2ᵀ E + λ_σ W1,   g2 = E W1ᵀ + λ_σ W2,   E = W2 W1 (A + λ_π I) − A

(``g = ∇/2``; the authors have ``λ_π = 0``, ``λ_σ = λ``). Our ``lr`` multiplies the full
gradient ``∇ = 2g``, so **their α is our 2·lr** (``lr = α/2``), and one step is::

    untied_gd     W1 ← W1 − α g1(W1, W2);  then W2 ← W2 − α g2(W1_new, W2)   (sequential: the
                  W2 step uses the new W1)                                   "GD-untied"
    sync_gd       (W1, W2) ← (W1, W2) − α (g1, g2)(W1, W2)   (both from the same point), from a
                  start synchronised at initialisation, W1 = W2ᵀ             "GD-sync"
    tied_gd       W ← W − α [(W Wᵀ (A + λ_π I) − A) W + λ_σ W],  W1 = Wᵀ, W2 = W
                  ("regularized Oja's rule": the decoder's half gradient at (Wᵀ, W)) "GD-tied"
    exact_untied  W1 ← argmin L(·, W2), then W2 ← D(W1)   (alternating exact minimisation)
                                                                             "exact-untied"
    exact_sync    W1 ← D(W2ᵀ)ᵀ = (W2ᵀ(A + λ_π I)W2 + λ_σ I)⁻¹ W2ᵀ A, then W2 ← D(W1), then
                  W1 ← (W1 + W2ᵀ)/2, W2 ← W1ᵀ                               "exact-sync"
    exact_tied    W ← D(Wᵀ),  W1 = Wᵀ, W2 = W                                "exact-tied"

with the decoder's block minimiser ``D(W1) = argmin_W2 L(W1, W2) = A W1ᵀ (W1 (A + λ_π I) W1ᵀ +
λ_σ I)⁻¹``. The authors' ``exact_sync`` encoder step is ``D`` applied to ``W2ᵀ`` (the encoder
that the decoder formula gives when the weights are tied), not the encoder's minimiser.

The encoder's block minimiser (``exact_untied``) solves
``(W2ᵀW2) W1 (A + λ_π I) + λ_σ W1 = W2ᵀ A`` entry-wise in the eigenbases ``W2ᵀW2 = Q D Qᵀ``,
``A = V Λ Vᵀ``: ``(Qᵀ W1 V)_ij = (Qᵀ W2ᵀ V)_ij Λ_j / (D_i (Λ_j + λ_π) + λ_σ)`` — the authors
solve the same system as a ``km × km`` Kronecker product. A singular system (``λ_σ = 0``) takes
the minimum-norm least-squares solution (the pseudo-inverse) in both blocks.

Variants
--------
Each is kept because it needs fewer iterations than its authors' counterpart somewhere;
``benchmarks/bench_pca.py`` prints the comparison (iterations to a largest principal angle
≤ 1e-4 and eigenvalues within 1e-6 relative for the sum loss, to convergence for L_π and L;
digits in covariance units with k = 8, Petrevski's over-regularized data, random spectra)::

    untied_gd_simultaneous  both GD blocks from the same point (the authors' step is
                            sequential). Fewer on five of six random spectra (up to 1348
                            against 2549) and on L_π and L at small λ; more on digits (1931
                            against 1594 at λ = 1) and on the over-regularized data.
    sync_gd_averaged        sync_gd's step, then W1 ← (W1 + W2ᵀ)/2, W2 ← W1ᵀ (re-ties the
                            weights after every step). Fewer at small λ (digits, λ = 1: 974
                            against 1924) and on L_π and L (over-regularized L: 661 against
                            7157; digits L: 1929, where sync_gd had not converged after 30 000).
    exact_tied_averaged     W ← (W + D(Wᵀ))/2. The authors' W ← D(Wᵀ) overshoots: in the scalar
                            case ``w ↦ w a/(w²a + λ)`` has slope ``2λ/a − 1`` at its fixed point
                            (→ −1 as λ/σ² → 0, a slowly dying oscillation), and for L_π and L
                            it is the involution ``w ↦ c/w``, a period-2 cycle that never
                            converges. The averaged map has slope ``λ/a`` for L_σ and is
                            Heron's square-root iteration for L_π and L: it converges where
                            the authors' cycles, and needs fewer iterations at small λ/σ²
                            (digits, λ = 1: 171 against 1693); more at large λ (171 against
                            125 at λ = 11).

The project's earlier exact sync (the ``exact_untied`` sweep, then the averaging) is not kept:
it needed more iterations than the authors' ``exact_sync`` in every case the benchmark ran.

Conventions shared by every solver
----------------------------------
- Iterate 0 is the start. Untied methods start from ``(W1, W2)`` as given. Sync methods are
  synchronised at initialisation, as the authors start them: a missing ``W1`` is ``W2ᵀ`` (and
  a missing ``W2`` is ``W1ᵀ``); both given, they are used as given (so a run continued from
  its last iterate is the same run). Tied methods work on one matrix ``W`` (``W1 = Wᵀ``,
  ``W2 = W``): the block the authors' first step reads — ``W2`` for ``tied_gd`` and
  ``exact_tied_averaged``, ``W1ᵀ`` for ``exact_tied`` (its step is ``D(W1)``) — or the other
  one's transpose when that block is not given.
- Default start: entries drawn from ``N(0, 1/m)`` by a child of ``np.random.default_rng(seed)``
  (``W1`` and ``W2`` independent; a sync method's ``W1`` is that ``W2ᵀ``).
- Default ``lr`` (gradient methods): ``lr = 0.8 / h`` (α = 1.6/h), with
  ``h = max((a + λ_π) · max(R², 2) + λ_σ, 2λ_σ)``, ``a`` a bound on ``‖A‖₂`` (``σ₁²``; for
  mini-batches ``(n/b)`` × the sum of the ``b`` largest ``‖x_j‖²``, which bounds every batch's
  ``‖A_b‖₂``) and ``R² = max(‖W1‖₂², ‖W2‖₂²)`` at the start. ``h`` is the steepest curvature
  of the half gradient, ``(a + λ_π) R²`` at the start and ``2(a − λ)`` at the minimum (Table 1),
  and the step stays stable while ``α h < 2``. On the authors' benchmark (their data and
  start, R² = 15.2) this is α = 1.0095e-5, against their α = 1e-5 (19 490 iterations of
  untied GD to the targets above, against their 19 718); there tied and sync GD diverge
  at 1.45 times their step, untied GD at 1.65 times. Pass ``lr`` to choose.
- Mini-batches (``batch_size = b < n``): each step uses ``A_b = (n/b) X_B X_Bᵀ`` for ``b``
  columns drawn without replacement, so ``E[A_b] = A`` and the step is an unbiased estimate
  of the full one. Batches are consecutive slices of a fresh random permutation of the ``n``
  columns each epoch (random reshuffling; the last ``n mod b`` columns of each permutation
  are skipped), so every step's batch is a uniformly random ``b``-subset. The recorded loss
  is always the full-batch loss. (The authors' scalar visualisation instead rescales λ by
  ``b/n``.)
- Convergence: the step ``‖(ΔW1, ΔW2)‖_F ≤ tol · (1 + ‖(W1, W2)‖_F)`` (the new iterate's
  norm). ``tol = 0`` switches the test off, so exactly ``max_iter`` steps run. (The authors stop
  on ``‖W1 − W2ᵀ‖`` or on the update's norm, method by method; the updates are theirs, the
  stopping rule is ours and the same for all.)
- Oscillation: an iterate back within the convergence threshold of the one two steps before,
  and within a thousandth of its step (so not an oscillation that is dying out), is a
  period-2 cycle — the run stops, status ``"oscillating"``.
  A full-batch run that reaches ``max_iter`` while its last three steps alternate in
  direction (each at more than 120° to the one before) is also ``"oscillating"``. For a
  gradient method this means the step is too large for the steepest direction, and the
  message says to lower the learning rate.
- Divergence: a loss that is not finite or exceeds ``10¹² · (1 + L₀)`` (``L₀`` the starting
  loss) stops the run; that iterate is dropped, so every returned number is finite.
- ``m = k = 1`` and ``m = 2, k = 1`` run on plain-float paths (NumPy's per-call overhead
  dominates at that size) that perform the general path's arithmetic; their losses come from
  ``landscape`` in one vectorised call after the loop (and every ``_CHECK`` steps during it, to
  stop a diverging run).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from lae_core import _validate as v
from lae_core.landscape import _loss_kind, _loss_value, _penalties

__all__ = ["METHODS", "VARIANTS", "Trajectory", "lae_pca", "recovered_eigenvalues", "solve"]

METHODS = ("untied_gd", "sync_gd", "tied_gd", "exact_untied", "exact_sync", "exact_tied")
VARIANTS = ("untied_gd_simultaneous", "sync_gd_averaged", "exact_tied_averaged")
_ALL = METHODS + VARIANTS
_GRADIENT = frozenset(("untied_gd", "sync_gd", "tied_gd", "untied_gd_simultaneous", "sync_gd_averaged"))
_SYNC = frozenset(("sync_gd", "sync_gd_averaged", "exact_sync"))
_TIED = frozenset(("tied_gd", "exact_tied", "exact_tied_averaged"))
# methods that tie the weights after each step: W1 ← (W1 + W2ᵀ)/2, W2 ← W1ᵀ
_AVERAGED = frozenset(("sync_gd_averaged", "exact_sync"))
# methods that need the eigendecomposition of A (the encoder's block minimiser)
_ENCODER = frozenset(("exact_untied",))

# A loss above _EXPLODE · (1 + starting loss) counts as diverged: far beyond anything a
# converging run visits, far below float overflow (and never above the largest float, so that
# an infinite loss is always beyond it).
_EXPLODE = 1e12
_FLOAT_MAX = float(np.finfo(np.float64).max)


def _limit(start_loss: float) -> float:
    """The loss beyond which a run has diverged."""
    return min(_EXPLODE * (1.0 + start_loss), _FLOAT_MAX)

# The default step is α = 2·lr = 2·_LR_SCALE / h (module docstring): α h = 1.6 keeps a 25 %
# margin below the stability limit α h = 2 and is at least the authors' step on their benchmark.
_LR_SCALE = 0.8

# Steps alternating in direction: cos(Δ_t, Δ_{t−1}) at most this (an angle over 120°).
_ALTERNATE_COS = -0.5

# A period-2 cycle: the iterate is back within the convergence threshold of the one two steps
# before, and that distance is below _CYCLE × the step. A converging oscillation W_t − W* =
# r^t (W_0 − W*) with −1 < r < 0 has ‖W_t − W_{t−2}‖ / ‖W_t − W_{t−1}‖ = (1 + r)/|r|, so this
# leaves out every one that shrinks by more than 0.1 % a step.
_CYCLE = 1e-3

# Relative cut-off below which an eigenvalue counts as zero in the pseudo-inverse
# (NumPy's ``pinv`` uses the same ``max(shape) · eps`` scale).
_EPS = np.finfo(np.float64).eps

# Each mini-batch draw permutes about this many column indices at once (whole epochs).
_BATCH_CHUNK = 1 << 16

# The plain-float paths check the loss of their current iterate every _CHECK steps (to stop a
# diverging run); the losses of all iterates come from one vectorised call after the loop.
_CHECK = 64


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
    status : {"converged", "oscillating", "max_iter", "diverged"}
    message : str
        One plain sentence saying what happened, for a student.
    iterations : int
        Steps taken that are in the trajectory (``T − 1``).
    method : str
        One of ``METHODS`` or ``VARIANTS``.
    lr : float or None
        The learning rate used (``None`` for the exact methods); the authors' α is ``2·lr``.
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
        return _gap(self.W1 - np.swapaxes(self.W2, -1, -2))


def _gap(D: np.ndarray) -> np.ndarray:
    """Frobenius norms of the trailing two axes, scaled first so that 1e200 does not overflow."""
    scale = np.abs(D).max(axis=(-2, -1), initial=0.0)
    return scale * np.linalg.norm(D / np.where(scale > 0, scale, 1.0)[..., None, None], axis=(-2, -1))


# --------------------------------------------------------------------------- set-up


@dataclass
class _Problem:
    method: str
    kind: str
    lam: float
    w_sigma: float | None
    lam_sum: float            # λ_σ, the weight of ‖W1‖² + ‖W2‖²
    lam_prod: float           # λ_π, the weight of ‖W2W1‖²
    X: np.ndarray | None      # None when the problem was given as A (no mini-batches then)
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

    @property
    def gradient(self) -> bool:
        return self.method in _GRADIENT


def _eig_psd(A: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric PSD matrix with eigenvalues below ``rtol · max`` set to 0."""
    E, V = np.linalg.eigh(A)
    top = E[-1] if E.size else 0.0
    E = np.where(E > rtol * top, E, 0.0)
    return E, V


def _gram(X=None, A=None) -> tuple[np.ndarray | None, np.ndarray]:
    """Checked data ``X`` (m × n) and ``A = X Xᵀ``, or ``A`` alone (symmetric PSD, m × m)."""
    if (X is None) == (A is None):
        raise ValueError("X or A: give exactly one of the data X (m × n) and A = X Xᵀ (m × m)")
    if X is not None:
        X = v.matrix("X", X)
        m, n = X.shape
        if m < 1 or n < 1:
            raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            A = X @ X.T
        if not np.isfinite(A).all():
            raise ValueError("X is too large: X Xᵀ overflows float64")
        return X, 0.5 * A + 0.5 * A.T       # halves first: A + Aᵀ may overflow
    A = v.matrix("A", A)
    m = A.shape[0]
    if m < 1 or A.shape != (m, m):
        raise ValueError(f"A must be a square m × m matrix (X Xᵀ); got shape {A.shape}")
    scale = max(float(np.abs(A).max()), np.finfo(float).tiny)
    if not np.allclose(A, A.T, rtol=0.0, atol=1e-12 * scale):
        raise ValueError("A must be symmetric (A = X Xᵀ)")
    A = 0.5 * A + 0.5 * A.T
    if float(np.linalg.eigvalsh(A)[0]) < -1e-10 * scale:
        raise ValueError("A must be positive semi-definite (A = X Xᵀ has no negative eigenvalue)")
    return None, A


def _prepare(method, X, k, lam, W1, W2, lr, max_iter, tol, batch_size, seed, kind,
             w_sigma=None, A=None) -> _Problem:
    method = v.choice("method", method, _ALL)
    kind, w_sigma = _loss_kind(kind, w_sigma)
    X, A = _gram(X, A)
    m = A.shape[0]
    k = v.integer("k", k, minimum=1, maximum=m)
    lam = v.lam(lam)
    max_iter = v.integer("max_iter", max_iter, minimum=1)
    tol = v.real("tol", tol, minimum=0.0)
    seed = v.integer("seed", seed, minimum=0)
    if lr is not None:
        lr = v.real("lr", lr, minimum=0.0, strict=True)
    if batch_size is not None:
        if X is None:
            raise ValueError("batch_size: mini-batches need the data X, not only A = X Xᵀ")
        n = X.shape[1]
        batch_size = v.integer("batch_size", batch_size, minimum=1, maximum=n)
        if batch_size == n:
            batch_size = None
    if W1 is not None:
        W1 = v.matrix("W1", W1, shape=(k, m)).copy()
    if W2 is not None:
        W2 = v.matrix("W2", W2, shape=(m, k)).copy()

    rtol = max(m, k) * _EPS
    E, V = _eig_psd(A, rtol)
    pos = E > 0
    F = V[:, pos] * np.sqrt(E[pos])

    start_rng, batch_rng = np.random.default_rng(seed).spawn(2)
    scale = 1.0 / math.sqrt(m)
    W1r = start_rng.normal(scale=scale, size=(k, m))
    W2r = start_rng.normal(scale=scale, size=(m, k))
    if method in _TIED:
        if method == "exact_tied":
            W = W1.T if W1 is not None else W2 if W2 is not None else W1r.T
        else:
            W = W2 if W2 is not None else W1.T if W1 is not None else W2r
        W2 = np.ascontiguousarray(W)
        W1 = W2.T.copy()
    elif method in _SYNC:
        if W1 is None and W2 is None:
            W2 = W2r
        if W1 is None:
            W1 = W2.T.copy()
        elif W2 is None:
            W2 = W1.T.copy()
    else:
        W1 = W1r if W1 is None else W1
        W2 = W2r if W2 is None else W2

    lam_sum, lam_prod = _penalties(kind, lam, w_sigma)
    with np.errstate(over="ignore", invalid="ignore"):
        start_loss = _loss_value(kind, F, lam, W1, W2, w_sigma)
    if not math.isfinite(start_loss):
        raise ValueError("W1, W2: the start is too large — its loss overflows float64")

    if method not in _GRADIENT:
        lr = None
    elif lr is None:
        if batch_size is None:
            a = float(E[-1])
        else:
            col = np.sort(np.einsum("ij,ij->j", X, X))[::-1]
            a = X.shape[1] / batch_size * float(col[:batch_size].sum())
        R2 = max(float(np.linalg.norm(W1, 2)) ** 2, float(np.linalg.norm(W2, 2)) ** 2)
        h = max((a + lam_prod) * max(R2, 2.0) + lam_sum, 2.0 * lam_sum)
        # A Python float: a NumPy scalar here would slow the scalar fast path fourfold.
        lr = _LR_SCALE / h if h > 0 and math.isfinite(h) else 1.0
        if not math.isfinite(lr):           # h below about 4e-309: any step is as good
            lr = 1.0
        if lr == 0.0:
            raise ValueError("lr: X or the start is too large for a stable default learning "
                             "rate; pass lr")

    return _Problem(method, kind, lam, w_sigma, lam_sum, lam_prod, X, A, V, E, F,
                    W1, W2, lr, max_iter, tol, batch_size, batch_rng)


def _batch_chunks(rng: np.random.Generator, n: int, b: int):
    """Yield index arrays of shape (steps, b): consecutive slices of fresh permutations."""
    per_epoch = n // b
    epochs = max(1, _BATCH_CHUNK // n)
    base = np.tile(np.arange(n), (epochs, 1))
    while True:
        perm = rng.permuted(base, axis=1)[:, : per_epoch * b]
        yield perm.reshape(epochs * per_epoch, b)


def _batch_grams(p: _Problem):
    """``A`` for every step: the full ``X Xᵀ``, or ``(n/b) X_B X_Bᵀ`` of a fresh batch."""
    if p.batch_size is None:
        return itertools.repeat(p.A)
    X, scale = p.X, p.X.shape[1] / p.batch_size

    def batches():
        for chunk in _batch_chunks(p.batch_rng, X.shape[1], p.batch_size):
            for idx in chunk:
                Xb = X[:, idx]
                yield (Xb @ Xb.T) * scale

    return batches()


# --------------------------------------------------------------------------- outcome


def _plural(t: int) -> str:
    return f"{t} iteration" + ("" if t == 1 else "s")


def _alternates(d2: np.ndarray, d1: np.ndarray, d0: np.ndarray) -> bool:
    """Do the last three steps ``d2, d1, d0`` (oldest first, flat) alternate in direction?"""
    def cos(a, b):
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        return float(np.dot(a, b)) / (na * nb) if na > 0 and nb > 0 else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        return cos(d2, d1) <= _ALTERNATE_COS and cos(d1, d0) <= _ALTERNATE_COS


def _outcome_at_max_iter(p: _Problem, W1s: np.ndarray, W2s: np.ndarray) -> str:
    """``"oscillating"`` when a full-batch run's last three steps alternate, else ``"max_iter"``."""
    if p.batch_size is not None or p.tol == 0 or len(W1s) < 4:
        return "max_iter"
    W = np.concatenate([W1s[-4:].reshape(4, -1), W2s[-4:].reshape(4, -1)], axis=1)
    d = np.diff(W, axis=0)
    return "oscillating" if _alternates(d[0], d[1], d[2]) else "max_iter"


def _still_falling(losses: np.ndarray) -> bool:
    """Whether the full-batch loss is still falling steadily over the last quarter of a run (at
    least 8 iterates): lower at the end, and rising in at most a tenth of those steps. A run
    stopped by max_iter while falling wants more steps; one whose loss wanders takes steps too
    large for the landscape."""
    n = len(losses)
    if n < 8:
        return True
    tail = losses[-max(n // 4, 4):]
    rises = int(np.count_nonzero(np.diff(tail) > 0))
    return bool(tail[-1] < tail[0]) and rises <= len(tail) // 10


def _message(p: _Problem, status: str, t: int, detail: tuple, losses: np.ndarray | None = None) -> str:
    """The sentence describing a run's outcome."""
    if status == "converged":
        step, threshold = detail
        return (f"converged after {_plural(t)} (the last step, {step:.2g}, was within "
                f"tol·(1 + ‖W‖) = {threshold:.2g})")
    if status == "diverged":
        bad, limit = detail
        what = ("became infinite or NaN" if not math.isfinite(bad)
                else f"exceeded {limit:.3g}, 10¹² × (1 + the starting loss)")
        advice = (f"lower the learning rate (lr = {p.lr:.3g})" if p.gradient
                  else "the closed-form steps are numerically unstable for this data")
        return f"diverged at iteration {t}: the loss {what} — {advice}"
    step, threshold = detail[:2]
    if status == "oscillating":
        cycle = "between two points (a period-2 cycle)" if detail[2] else "in direction"
        if p.gradient:
            advice = (f"the learning rate is too large for the steepest direction: lower it "
                      f"(lr = {p.lr:.3g})")
        elif p.method == "exact_tied":
            advice = ("the closed-form step overshoots its fixed point here; exact_tied_averaged, "
                      "which averages each step with the last, damps this")
        else:
            advice = "the closed-form step overshoots here"
        return (f"oscillating after {_plural(t)}: the steps alternate {cycle} without "
                f"converging (the last step, {step:.2g}, was above tol·(1 + ‖W‖) = "
                f"{threshold:.2g}) — {advice}")
    if p.tol == 0:
        return f"ran all {_plural(t)} (tol = 0 switches the convergence test off)"
    message = (f"stopped after {_plural(t)} (max_iter) without converging: the last step, "
               f"{step:.2g}, was above tol·(1 + ‖W‖) = {threshold:.2g}")
    if p.batch_size is not None:
        return message + " — mini-batch noise keeps the steps from shrinking to zero"
    if p.gradient:
        if losses is not None and not _still_falling(losses):
            return message + (f" — the loss has stopped falling: the learning rate is too large for this "
                              f"landscape; lower it (lr = {p.lr:.3g})")
        return message + " — raise max_iter or the learning rate"
    return message + " — raise max_iter"


def _trajectory(p: _Problem, W1s, W2s, losses, status, t, detail) -> Trajectory:
    """Assemble the result."""
    iterations = t - 1 if status == "diverged" else t
    message = _message(p, status, t, detail, losses)
    for a in (W1s, W2s, losses):
        a.flags.writeable = False
    run = Trajectory(W1s, W2s, losses, status, message, iterations, p.method, p.lr)
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(run.transpose_gap).all():  # weights near 1e308 apart
            raise ValueError("W1, W2: too large — ‖W1 − W2ᵀ‖ along the run overflows float64")
    return run


def _finish_float_path(p: _Problem, W1s, W2s, status, t, detail) -> Trajectory:
    """The plain-float paths' iterates (T, k, m), (T, m, k) → a ``Trajectory``: their losses
    from ``landscape`` in one call, cut at the first that diverges."""
    with np.errstate(all="ignore"):
        losses = np.asarray(_loss_value(p.kind, p.F, p.lam, W1s, W2s, p.w_sigma), dtype=float)
    limit = _limit(float(losses[0]))
    bad = np.flatnonzero(~(losses <= limit))
    if bad.size:
        i = int(bad[0])
        status, t, detail = "diverged", i, (float(losses[i]), limit)
        W1s, W2s, losses = W1s[:i].copy(), W2s[:i].copy(), losses[:i].copy()
    elif status == "max_iter" and t:
        status = _outcome_at_max_iter(p, W1s, W2s)
        if status == "oscillating":
            detail = (*detail, False)
    return _trajectory(p, W1s, W2s, losses, status, t, detail)


# --------------------------------------------------------------------------- block minimisers


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
    """``D(W1) = argmin_W2 L(W1, W2)``: the minimum-norm solution of
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


# --------------------------------------------------------------------------- general m, k


def _step(p: _Problem, W1, W2, A, At, V, E, rtol):
    """One step of ``p.method`` from ``(W1, W2)`` with ``A`` (the batch's) and
    ``At = A + λ_π I``: the next ``(W1, W2)`` as new arrays."""
    method, ls, lp = p.method, p.lam_sum, p.lam_prod
    s = 2.0 * p.lr if p.lr is not None else 0.0      # the authors' α
    c = 1.0 - s * ls                                  # weight decay folded into one product
    if method == "untied_gd":
        N1 = c * W1 - s * (W2.T @ (W2 @ (W1 @ At) - A))
        N2 = c * W2 - s * ((W2 @ (N1 @ At) - A) @ N1.T)
    elif method in ("sync_gd", "untied_gd_simultaneous", "sync_gd_averaged"):
        Err = W2 @ (W1 @ At) - A
        N1 = c * W1 - s * (W2.T @ Err)
        N2 = c * W2 - s * (Err @ W1.T)
    elif method == "tied_gd":
        N2 = c * W2 - s * ((W2 @ (W2.T @ At) - A) @ W2)
        N1 = N2.T
    elif method in _ENCODER:
        N1 = _argmin_encoder(W2, V, E, ls, lp, rtol)
        N2 = _argmin_decoder(N1, A, At, ls, rtol)
    elif method == "exact_sync":
        N1 = _argmin_decoder(W2.T, A, At, ls, rtol).T
        N2 = _argmin_decoder(N1, A, At, ls, rtol)
    elif method == "exact_tied":
        N2 = _argmin_decoder(W1, A, At, ls, rtol)
        N1 = N2.T
    else:                                             # exact_tied_averaged
        N2 = 0.5 * (_argmin_decoder(W1, A, At, ls, rtol) + W2)
        N1 = N2.T
    if method in _AVERAGED:
        N2 = 0.5 * (N1.T + N2)
        N1 = N2.T
    return N1, N2


def _norm(D1: np.ndarray, D2: np.ndarray) -> float:
    """``‖(D1, D2)‖_F``."""
    return math.sqrt(float(np.vdot(D1, D1)) + float(np.vdot(D2, D2)))


def _iterate(p: _Problem):
    """The general m × k run, one accepted iterate at a time.

    Yields ``(W1, W2, loss)`` for iterates 1, 2, …; returns ``(status, t, detail)`` (the
    ``StopIteration`` value): the stopping rules of the module docstring, in one place for
    ``solve`` and ``pca.race``. ``detail`` is ``(step, threshold)``, ``(step, threshold,
    cycle)`` for ``"oscillating"`` and ``(loss, limit)`` for ``"diverged"``.
    """
    k, m = p.W1.shape
    rtol = max(m, k) * _EPS
    kind, lam, w_sigma, F, tol = p.kind, p.lam, p.w_sigma, p.F, p.tol
    eye_lp = p.lam_prod * np.eye(m)
    V, E = p.V, p.E
    full = p.batch_size is None
    W1, W2 = p.W1, p.W2
    limit = _limit(_loss_value(kind, F, lam, W1, W2, w_sigma))
    back = [None, None, None]            # iterates t − 1, t − 2, t − 3
    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        for t, A in zip(range(1, p.max_iter + 1), _batch_grams(p)):
            At = A + eye_lp if p.lam_prod else A
            if not full and p.method in _ENCODER:
                E, V = _eig_psd(A, rtol)
            N1, N2 = _step(p, W1, W2, A, At, V, E, rtol)
            L = _loss_value(kind, F, lam, N1, N2, w_sigma)
            if not L <= limit:
                return "diverged", t, (L, limit)
            yield N1, N2, L
            step = _norm(N1 - W1, N2 - W2)
            threshold = tol * (1.0 + _norm(N1, N2))
            back = [(W1, W2), back[0], back[1]]
            W1, W2 = N1, N2
            detail = (step, threshold)
            if tol > 0.0 and step <= threshold:
                return "converged", t, detail
            if tol > 0.0 and back[1] is not None:
                back2 = _norm(N1 - back[1][0], N2 - back[1][1])
                if back2 <= threshold and back2 <= _CYCLE * step:
                    return "oscillating", t, (step, threshold, True)
    if full and tol > 0.0 and back[2] is not None:
        flat = [np.concatenate([a.ravel(), b.ravel()]) for a, b in (back[2], back[1], back[0], (W1, W2))]
        if _alternates(flat[1] - flat[0], flat[2] - flat[1], flat[3] - flat[2]):
            return "oscillating", t, (*detail, False)
    return status, t, detail


def _run_general(p: _Problem) -> Trajectory:
    """Any ``m ≥ k ≥ 1`` with NumPy: ``_iterate``'s iterates stored in one growing buffer of
    rows ``(W1.ravel(), W2.ravel())``."""
    k, m = p.W1.shape
    km = k * m
    capacity = min(p.max_iter + 1, max(64, (1 << 20) // (2 * km)))
    buf = np.empty((capacity, 2 * km))
    Ls = np.empty(capacity)
    buf[0, :km], buf[0, km:] = p.W1.ravel(), p.W2.ravel()
    Ls[0] = _loss_value(p.kind, p.F, p.lam, p.W1, p.W2, p.w_sigma)
    T = 1
    run = _iterate(p)
    while True:
        try:
            N1, N2, L = next(run)
        except StopIteration as stop:
            status, t, detail = stop.value
            break
        if T == capacity:
            capacity = min(p.max_iter + 1, 2 * capacity)
            buf, Ls = np.resize(buf, (capacity, 2 * km)), np.resize(Ls, capacity)
        buf[T, :km], buf[T, km:], Ls[T] = N1.ravel(), N2.ravel(), L
        T += 1
    W1s = np.ascontiguousarray(buf[:T, :km]).reshape(T, k, m)
    W2s = np.ascontiguousarray(buf[:T, km:]).reshape(T, m, k)
    return _trajectory(p, W1s, W2s, Ls[:T].copy(), status, t, detail)


# --------------------------------------------------------------------------- m = k = 1


def _diverging(p: _Problem, W1: list, W2: list, limit: float) -> bool:
    """The plain-float paths' periodic check: is the current iterate's loss above ``limit``?"""
    k, m = p.W1.shape
    with np.errstate(all="ignore"):
        L = _loss_value(p.kind, p.F, p.lam, np.array(W1, dtype=float).reshape(k, m),
                        np.array(W2, dtype=float).reshape(m, k), p.w_sigma)
    return not L <= limit


def _run_scalar(p: _Problem) -> Trajectory:
    """``m = k = 1`` in plain floats: ``_step``'s arithmetic, without NumPy calls."""
    method = p.method
    ls, lp = p.lam_sum, p.lam_prod
    s = 2.0 * p.lr if p.lr is not None else 0.0
    c = 1.0 - s * ls
    tol = p.tol
    w1, w2 = float(p.W1[0, 0]), float(p.W2[0, 0])
    limit = _limit(_loss_value(p.kind, p.F, p.lam, p.W1, p.W2, p.w_sigma))
    W1s, W2s = [w1], [w2]
    if p.batch_size is None:
        a = float(p.A[0, 0])
        a_steps = itertools.repeat(a)
    else:
        x2 = p.X[0] * p.X[0]
        scale = p.X.shape[1] / p.batch_size
        a_steps = itertools.chain.from_iterable(
            ((x2[idx].sum(axis=1)) * scale).tolist()
            for idx in _batch_chunks(p.batch_rng, p.X.shape[1], p.batch_size))

    def decoder(u, at, att):
        """``D(u)`` (``_argmin_decoder`` with m = k = 1)."""
        d = (u * att) * u + ls
        return (u * at) / d if d > 0.0 else 0.0

    def encoder(w, at, att):
        """``argmin_W1 L(·, w)`` (``_argmin_encoder`` with m = k = 1)."""
        d = (w * w) * att + ls
        return (w * at) / d if d > 0.0 else 0.0

    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    simultaneous = method in ("sync_gd", "untied_gd_simultaneous", "sync_gd_averaged")
    averaged = method in _AVERAGED
    q1 = q2 = None                      # iterate t − 2
    for t, at in zip(range(1, p.max_iter + 1), a_steps):
        att = at + lp
        if method == "untied_gd":
            e = w2 * (w1 * att) - at
            n1 = c * w1 - s * (w2 * e)
            e = w2 * (n1 * att) - at
            n2 = c * w2 - s * (e * n1)
        elif simultaneous:
            e = w2 * (w1 * att) - at
            n1 = c * w1 - s * (w2 * e)
            n2 = c * w2 - s * (e * w1)
        elif method == "tied_gd":
            e = w2 * (w2 * att) - at
            n2 = c * w2 - s * (e * w2)
            n1 = n2
        elif method in _ENCODER:
            n1 = encoder(w2, at, att)
            n2 = decoder(n1, at, att)
        elif method == "exact_sync":
            n1 = decoder(w2, at, att)
            n2 = decoder(n1, at, att)
        elif method == "exact_tied":
            n2 = decoder(w1, at, att)
            n1 = n2
        else:                                       # exact_tied_averaged
            n2 = 0.5 * (decoder(w1, at, att) + w2)
            n1 = n2
        if averaged:
            n1 = n2 = 0.5 * (n1 + n2)
        W1s.append(n1)
        W2s.append(n2)
        step = math.hypot(n1 - w1, n2 - w2)
        threshold = tol * (1.0 + math.hypot(n1, n2))
        if not math.isfinite(threshold) or (t % _CHECK == 0 and _diverging(p, [n1], [n2], limit)):
            break                                   # the losses below say where it diverged
        detail = (step, threshold)
        if tol > 0.0 and step <= threshold:
            status = "converged"
            break
        if tol > 0.0 and q1 is not None:
            back2 = math.hypot(n1 - q1, n2 - q2)
            if back2 <= threshold and back2 <= _CYCLE * step:
                status, detail = "oscillating", (step, threshold, True)
                break
        q1, q2 = w1, w2
        w1, w2 = n1, n2
    T = len(W1s)
    return _finish_float_path(p, np.array(W1s).reshape(T, 1, 1), np.array(W2s).reshape(T, 1, 1),
                              status, t, detail)


# --------------------------------------------------------------------------- m = 2, k = 1


def _run_vector(p: _Problem) -> Trajectory:
    """``m = 2, k = 1`` (the tied vector case) in plain floats: ``_step``'s arithmetic written
    out for W1 = [u1 u2], W2 = [w1 w2]ᵀ, without NumPy calls. (Mini-batch steps of the
    methods that need the encoder's minimiser take an eigendecomposition per batch and run on
    the general path.)"""
    method = p.method
    ls, lp = p.lam_sum, p.lam_prod
    rtol = 2 * _EPS
    s = 2.0 * p.lr if p.lr is not None else 0.0
    c = 1.0 - s * ls
    tol = p.tol
    (u1, u2), (w1, w2) = p.W1[0].tolist(), p.W2[:, 0].tolist()
    V = p.V.tolist()
    E = p.E.tolist()
    limit = _limit(_loss_value(p.kind, p.F, p.lam, p.W1, p.W2, p.w_sigma))

    def decoder(v1, v2, a11, a12, a22, t11, t22):
        """``D([v1 v2])`` (``_argmin_decoder`` with k = 1)."""
        b1, b2 = v1 * a11 + v2 * a12, v1 * a12 + v2 * a22
        m = (v1 * t11 + v2 * a12) * v1 + (v1 * a12 + v2 * t22) * v2
        if ls > 0.0:
            m += ls
        elif not m > rtol * max(m, 0.0):
            return 0.0, 0.0
        return b1 / m, b2 / m

    def encoder(w1, w2):
        """``argmin_W1 L(·, [w1 w2]ᵀ)`` in the eigenbasis of A (``_argmin_encoder``, k = 1)."""
        d = max(w1 * w1 + w2 * w2, 0.0)
        num = [(w1 * V[0][j] + w2 * V[1][j]) * E[j] for j in (0, 1)]
        den = [d * (E[j] + lp) if lp else d * E[j] for j in (0, 1)]
        if ls > 0.0:
            x = [num[j] / (den[j] + ls) for j in (0, 1)]
        else:
            cut = rtol * max(den)
            x = [num[j] / den[j] if den[j] > cut else 0.0 for j in (0, 1)]
        return x[0] * V[0][0] + x[1] * V[0][1], x[0] * V[1][0] + x[1] * V[1][1]

    rows = [(u1, u2, w1, w2)]
    if p.batch_size is None:
        A = p.A
        a_steps = itertools.repeat((float(A[0, 0]), float(A[0, 1]), float(A[1, 1])))
    else:
        def a_steps_batched():
            for Ab in _batch_grams(p):
                yield float(Ab[0, 0]), float(Ab[0, 1]), float(Ab[1, 1])

        a_steps = a_steps_batched()
    simultaneous = method in ("sync_gd", "untied_gd_simultaneous", "sync_gd_averaged")
    averaged = method in _AVERAGED
    q = None                                     # iterate t − 2
    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    for t, (a11, a12, a22) in zip(range(1, p.max_iter + 1), a_steps):
        t11, t22 = a11 + lp, a22 + lp
        if method == "untied_gd" or simultaneous:
            r1, r2 = u1 * t11 + u2 * a12, u1 * a12 + u2 * t22
            e11, e12, e21, e22 = w1 * r1 - a11, w1 * r2 - a12, w2 * r1 - a12, w2 * r2 - a22
            n1 = c * u1 - s * (w1 * e11 + w2 * e21)
            n2 = c * u2 - s * (w1 * e12 + w2 * e22)
            if method == "untied_gd":            # the decoder's step uses the new encoder
                r1, r2 = n1 * t11 + n2 * a12, n1 * a12 + n2 * t22
                e11, e12, e21, e22 = w1 * r1 - a11, w1 * r2 - a12, w2 * r1 - a12, w2 * r2 - a22
                m1 = c * w1 - s * (e11 * n1 + e12 * n2)
                m2 = c * w2 - s * (e21 * n1 + e22 * n2)
            else:
                m1 = c * w1 - s * (e11 * u1 + e12 * u2)
                m2 = c * w2 - s * (e21 * u1 + e22 * u2)
        elif method == "tied_gd":
            r1, r2 = w1 * t11 + w2 * a12, w1 * a12 + w2 * t22
            e11, e12, e21, e22 = w1 * r1 - a11, w1 * r2 - a12, w2 * r1 - a12, w2 * r2 - a22
            m1 = c * w1 - s * (e11 * w1 + e12 * w2)
            m2 = c * w2 - s * (e21 * w1 + e22 * w2)
            n1, n2 = m1, m2
        elif method in _ENCODER:
            n1, n2 = encoder(w1, w2)
            m1, m2 = decoder(n1, n2, a11, a12, a22, t11, t22)
        elif method == "exact_sync":
            n1, n2 = decoder(w1, w2, a11, a12, a22, t11, t22)
            m1, m2 = decoder(n1, n2, a11, a12, a22, t11, t22)
        elif method == "exact_tied":
            m1, m2 = decoder(u1, u2, a11, a12, a22, t11, t22)
            n1, n2 = m1, m2
        else:                                    # exact_tied_averaged
            m1, m2 = decoder(u1, u2, a11, a12, a22, t11, t22)
            m1, m2 = 0.5 * (m1 + w1), 0.5 * (m2 + w2)
            n1, n2 = m1, m2
        if averaged:
            m1, m2 = 0.5 * (n1 + m1), 0.5 * (n2 + m2)
            n1, n2 = m1, m2
        rows.append((n1, n2, m1, m2))
        step = math.hypot(n1 - u1, n2 - u2, m1 - w1, m2 - w2)
        threshold = tol * (1.0 + math.hypot(n1, n2, m1, m2))
        if not math.isfinite(threshold) or (
                t % _CHECK == 0 and _diverging(p, [n1, n2], [m1, m2], limit)):
            break                                # the losses below say where it diverged
        detail = (step, threshold)
        if tol > 0.0 and step <= threshold:
            status = "converged"
            break
        if tol > 0.0 and q is not None:
            back2 = math.hypot(n1 - q[0], n2 - q[1], m1 - q[2], m2 - q[3])
            if back2 <= threshold and back2 <= _CYCLE * step:
                status, detail = "oscillating", (step, threshold, True)
                break
        q = (u1, u2, w1, w2)
        u1, u2, w1, w2 = n1, n2, m1, m2
    T = len(rows)
    W = np.array(rows)
    return _finish_float_path(p, W[:, :2].reshape(T, 1, 2).copy(), W[:, 2:].reshape(T, 2, 1).copy(),
                              status, t, detail)


# --------------------------------------------------------------------------- public API


@v.finite_result
def solve(method, X, k, lam, *, W1=None, W2=None, lr=None, max_iter=1000, tol=1e-10,
          batch_size=None, seed=0, kind="sum", w_sigma=None) -> Trajectory:
    """Train a linear autoencoder with one of the LAE-PCA solvers.

    Parameters
    ----------
    method : str
        One of ``METHODS`` (the authors' six) or ``VARIANTS`` (see the module docstring for
        each update).
    X : array_like, shape (m, n)
        Data, one example per column (mean-centred for PCA).
    k : int
        Latent dimension, ``1 ≤ k ≤ m``.
    lam : float
        Regularization strength λ ≥ 0 (ignored by ``kind="unregularized"``).
    W1 : array_like, shape (k, m), optional
        Starting encoder; default random (see the module docstring for each method's start).
    W2 : array_like, shape (m, k), optional
        Starting decoder; default random. Tied methods use one matrix ``W = W2 = W1ᵀ``.
    lr : float, optional
        Learning rate > 0 of the gradient methods, multiplying the full gradient (the authors'
        α, which multiplies the half gradient, is ``2·lr``); ignored by the exact methods.
        Default ``0.8 / h`` from the curvature bound in the module docstring.
    max_iter : int
        Most steps to take, ≥ 1.
    tol : float
        Convergence when ``‖step‖_F ≤ tol·(1 + ‖(W1, W2)‖_F)``; ``tol ≥ 0``, 0 disables (and
        with it the detection of oscillation).
    batch_size : int, optional
        ``1 ≤ batch_size ≤ n``: columns per step (sampled without replacement, step rescaled
        by ``n / batch_size``); default (or ``n``) uses all columns.
    seed : int
        Seed ≥ 0 of ``np.random.default_rng`` for the random start and the batches.
    kind : {"sum", "product", "unregularized", "synthetic"}
        The loss to minimise: ``L_σ`` (LAE-PCA's), ``L_π``, ``L`` or ``w_σ L_σ + (1 − w_σ) L_π``.
    w_sigma : float, optional
        ``w_σ`` in [0, 1], for ``kind="synthetic"`` only (required there).

    Returns
    -------
    Trajectory
        ``W1`` (T, k, m), ``W2`` (T, m, k), ``loss`` (T,), ``status`` ("converged",
        "oscillating", "max_iter" or "diverged"), ``message``, ``iterations``, ``method``,
        ``lr``.

    Raises
    ------
    ValueError
        Naming the argument: unknown ``method`` or ``kind``; ``X`` not a finite 2-D array;
        ``k`` outside ``[1, m]``; ``lam < 0``; ``W1``/``W2`` of the wrong shape or not finite;
        ``lr ≤ 0``; ``max_iter < 1``; ``tol < 0``; ``batch_size`` outside ``[1, n]``;
        ``seed < 0``; ``w_sigma`` missing for the synthetic loss, given for another, or
        outside [0, 1]; any non-finite number.
    """
    p = _prepare(method, X, k, lam, W1, W2, lr, max_iter, tol, batch_size, seed, kind, w_sigma)
    if p.W1.shape == (1, 1):
        return _run_scalar(p)
    if p.W1.shape == (1, 2) and (p.batch_size is None or p.method not in _ENCODER):
        return _run_vector(p)
    return _run_general(p)


def _recovered_eigenvalues(s: np.ndarray, lam: float, lam_prod: float) -> np.ndarray:
    """``λ / (1 − s²) − λ_π`` without checks (``inf`` where ``s ≥ 1``)."""
    s2 = s * s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = lam / (1.0 - s2) - lam_prod
    return np.where(s2 < 1.0, out, np.inf)


@v.finite_result
def recovered_eigenvalues(s, lam, *, kind="sum", w_sigma=None) -> np.ndarray:
    """The eigenvalues of ``X Xᵀ`` read off the decoder's singular values (LAE-PCA).

    At a minimum of ``L_σ`` the decoder is ``W2 = U_k (I − λΣ_k⁻²)^{1/2} Oᵀ`` (Table 1), so its
    singular values satisfy ``s_i² = 1 − λ/σ_i²`` and::

        σ_i² = λ / (1 − s_i²)                 (sum loss)

    ``σ_i²`` is the eigenvalue of ``X Xᵀ`` — the squared singular value of ``X``. (The authors'
    README computes ``√(λ / (1 − s²))`` and calls it "eigenvalues"; that is ``σ_i``, the singular
    value.) For the synthetic loss ``w_σ L_σ + w_π L_π`` the minimum has
    ``s_i² = (σ_i² − w_σλ) / (σ_i² + w_πλ)``, so::

        σ_i² = λ / (1 − s_i²) − w_π λ         (synthetic loss, w_π = 1 − w_σ)

    A collapsed direction (``σ_i² ≤ λ_σ``, ``s_i = 0``) gives back ``λ − w_πλ = λ_σ``, not its σ².

    Parameters
    ----------
    s : array_like, shape (k,)
        Singular values of the decoder, each in [0, 1).
    lam : float
        λ > 0.
    kind : {"sum", "synthetic"}
    w_sigma : float, optional
        ``w_σ`` in [0, 1], for ``kind="synthetic"`` only (required there).

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    ValueError
        ``s`` not a finite 1-D array with entries in [0, 1); ``lam`` not > 0; ``kind`` not
        "sum" or "synthetic"; ``w_sigma`` missing, misplaced or outside [0, 1].
    """
    kind, w_sigma = _loss_kind(kind, w_sigma)
    if kind not in ("sum", "synthetic"):
        raise ValueError(f"kind must be 'sum' or 'synthetic' (the losses whose decoder gives the "
                         f"eigenvalues); got {kind!r}")
    lam = v.real("lam", lam, minimum=0.0, strict=True)
    s = v.array("s", s, ndim=1)
    if s.size and not ((s >= 0).all() and (s < 1).all()):
        raise ValueError("s must hold decoder singular values in [0, 1): σ² = λ / (1 − s²) "
                         "needs s < 1")
    return _recovered_eigenvalues(s, lam, _penalties(kind, lam, w_sigma)[1])


@v.finite_result
def lae_pca(X, k, lam, method="exact_sync", **solve_kwargs):
    """Principal directions and eigenvalues of ``X Xᵀ`` from a trained sum-loss LAE.

    Trains ``L_σ`` with ``solve`` and takes the SVD of the final decoder ``W2 = U S Rᵀ``. At a
    minimum ``W2 = U_k (I − λ Σ_k⁻²)^{1/2} Oᵀ`` (Table 1), so the directions are ``U`` and the
    eigenvalues are ``σ_i² = λ / (1 − s_i²)`` (``recovered_eigenvalues``), largest first.

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
        One of ``METHODS`` or ``VARIANTS``; default ``"exact_sync"`` (the authors', the fewest
        iterations in ``benchmarks/bench_pca.py``).
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
    if "kind" in solve_kwargs or "w_sigma" in solve_kwargs:
        raise ValueError("kind cannot be set: LAE-PCA always trains the sum loss L_σ")
    run = solve(method, X, k, lam, kind="sum", **solve_kwargs)
    if run.status != "converged":
        raise ValueError(f"lam = {lam:g}: LAE-PCA needs a converged solver, but {method} "
                         f"{run.message}")
    U, s, _ = np.linalg.svd(run.W2[-1], full_matrices=False)
    if s[0] >= 1.0:
        raise ValueError(f"lam = {lam:g}: the decoder has singular value s = {s[0]:.6g} ≥ 1, "
                         "so λ / (1 − s²) is no eigenvalue; the run did not reach a minimum")
    return U, _recovered_eigenvalues(s, lam, 0.0)
