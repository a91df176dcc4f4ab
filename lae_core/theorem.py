"""The Landscape Theorem for any small m, k: every critical manifold, stated and measured.

Kunin, Bloom, Goeva, Seed (ICML 2019), Landscape Theorem and Table 1. Data ``X = U Σ Vᵀ``
(``m × 2m``, built from ``σ`` and a seed); for every index set ``I ⊂ {1..m}`` with
``|I| = l ≤ k`` Table 1 names a critical manifold of each loss (``F_I`` for ``L`` and ``L_π``,
``V_I`` for ``L_σ``). This module puts, beside each, what the Hessian at one point of it says.

What the paper states (the ``theorem`` columns)::

    descending   d_I + (k − l)(m − l)              L, L_π
                 d_I + (k − l)(m₀ − l)             L_σ, m₀ = #{i : σᵢ² > λ}, only I ⊂ {1..m₀}
    flat         dim F_I = kl                      (G ∈ R^{k×l} of independent columns)
                 dim V_I = kl − l(l + 1)/2         (O ∈ R^{k×l} with orthonormal columns)

``d_I = #{(i, j) : i ∈ I, j ∉ I, j < i}``. The ``measured`` columns are the inertia of the exact
Hessian (``lae_core.landscape``) at the Table 1 point, with ``hessian_inertia``'s tolerance.

What the measurement shows, and why (each row carries these words where they apply):

- ``L`` and ``L_π`` with ``l < k``: the Hessian has ``2kl − l²`` flat directions, more than
  ``dim F_I = kl``. ``F_I`` pairs ``W₁ = G(…)U_Iᵀ`` only with the decoder built from ``G⁺``;
  adding to ``G⁺`` any ``B`` with ``BG = 0`` leaves ``W₂W₁`` — so the loss and the gradient —
  unchanged. The critical set through the point is its ``GL(k)``-orbit
  ``(W₁, W₂) ↦ (gW₁, W₂g⁻¹)``, of dimension ``k² − (k − l)² = 2kl − l²``
  (``landscape.critical_set_dimension``); ``F_I`` is a ``kl``-dimensional slice of it.
- ``L_σ`` at ``λ = 0`` is ``L``: the same ``GL(k)``-orbit, not the Stiefel manifold ``V_I``.
- ``L_σ`` at ``λ = σⱼ²`` (``j ∉ I``, ``l < k``): the pitchfork. Taking up ``u_j`` in an unused
  latent dimension changes the loss by ``2t²(λ − σⱼ²) + t⁴σⱼ²``, so each of the ``k − l``
  unused dimensions gains a flat direction. The row is flagged ``degenerate``; so is a row
  where ``|λ − σⱼ²|`` is below the Hessian's resolution (those directions read as flat; for
  ``σⱼ²`` just above λ they are missing from the measured descending count), and a row with
  ``i ∈ I`` and ``σᵢ²`` just above λ (about to merge into ``I∖{i}``: one more flat direction).
- ``L_σ`` with ``σᵢ² ≤ λ`` for some ``i ∈ I``: no such critical point (posterior collapse); the
  row is listed as gone, with the reason.

Everywhere else the measured counts equal the theorem's: ``tests/core/test_theorem.py`` checks a
sample of m, k and λ, and a sweep over every ``m ≤ 8``, ``k ≤ m``, loss and λ at, near and
between the σᵢ² found no other difference. The Hessian kernel is exactly the tangent space of
the symmetry group's orbit: ``GL(k)`` for ``L``, ``L_π`` (and ``L_σ`` at ``λ = 0``), ``O(k)``
for ``L_σ`` — each row carries the orbit's measured dimension.

Items in this module:

- ``KINDS``, ``DEFAULT_SIGMA``, ``MAX_M``, ``CLOSE_RTOL``, ``DEFAULT_STEP``, ``DEFAULT_JITTER``.
- ``default_sigma(m)``, ``check_spectrum(sigma, m=None)``, ``close_values_warning(sigma)``.
- ``Manifold`` (one row), ``Symmetry``, ``Table``; ``manifolds(kind, sigma, k, lam, *, seed=0)``.
- ``SymmetryComparison``; ``symmetry_comparison(sigma, k, lam, *, seed=0)`` — each loss's
  symmetry group beside its manifolds' dimensions, stated and measured, at ``I = {1..l}``.
- ``index_label(I)`` — the paper's 1-based ``{1, 3}``.
- ``EscapeRun``; ``escape(table, I, method, …)`` — leave a saddle along its most negative
  Hessian eigenvector (plus a small random push) and run a solver from there;
  ``EscapeProgress``, ``escape_steps(…, chunk)`` — the same run a chunk of steps at a time;
  ``ESCAPE_METHODS`` — the solvers that start from the pushed point, per loss.
- ``to_csv(table)`` — the table as CSV text with the page's column headers (``CSV_COLUMNS``).

Index sets are 0-based tuples in ascending order in the code (``I = (0, 2)`` is the paper's
``{1, 3}``); ``index_label`` and every sentence this module writes use the paper's 1-based form.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from dataclasses import dataclass, field

import numpy as np

from lae_core import _validate as v
from lae_core import collapse, landscape, solvers
from lae_core.landscape import Inertia

__all__ = [
    "CLOSE_RTOL",
    "CSV_COLUMNS",
    "DEFAULT_SIGMA",
    "DEFAULT_JITTER",
    "DEFAULT_STEP",
    "ESCAPE_METHODS",
    "EscapeProgress",
    "EscapeRun",
    "KINDS",
    "MAX_M",
    "Manifold",
    "Symmetry",
    "SymmetryComparison",
    "Table",
    "check_spectrum",
    "close_values_warning",
    "default_sigma",
    "escape",
    "escape_steps",
    "index_label",
    "manifolds",
    "symmetry_comparison",
    "to_csv",
]

# The paper's three losses, the ones the theorem is about.
KINDS = v.LOSSES

# The page's default spectrum: its first m values.
DEFAULT_SIGMA = (4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.3, 0.2)

# The table has Σ_{l ≤ k} C(m, l) rows of 2km × 2km Hessians (163 of 64 × 64 at m = 8, k = 4);
# m ≤ 8 keeps a full recomputation interactive.
MAX_M = len(DEFAULT_SIGMA)

# Neighbouring singular values closer than this (relative) draw a warning: the theorem assumes
# distinct values, and eigenvalues of order σᵢ² − σⱼ² then shrink towards the flat threshold.
CLOSE_RTOL = 1e-6

# Length (Frobenius norm in (W₁, W₂)) of the push off a saddle in ``escape``: small beside the
# weights of a Table 1 point (entries of order 1), large beside rounding.
DEFAULT_STEP = 0.05

# Length of the random push ``escape`` adds to the eigenvector's. A push along one eigenvector
# leaves the unused latent dimensions at zero, and gradient descent keeps them there (from the
# origin a rank-one push keeps W₂W₁ of rank one), so the run would stop at the best saddle of
# that invariant set; this much of a generic direction lets it leave every saddle in turn.
DEFAULT_JITTER = 1e-3

# ``escape`` names the manifold where a run ended when ‖W₂W₁ − P_I‖_F is at most this, P_I the
# product at the Table 1 point (its entries are at most 1).
_ENDPOINT_ATOL = 1e-3

# Table 1's G for L and L_π is Q₁ diag(s) Q₂ with s drawn from this range: condition number
# ≤ 4, well inside what ``hessian_inertia``'s tolerance is calibrated for (cond ≲ 10²).
_G_SINGULAR_RANGE = (0.5, 2.0)

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


# --------------------------------------------------------------------------- spectrum


def default_sigma(m: int) -> np.ndarray:
    """The first ``m`` values of ``DEFAULT_SIGMA`` (4, 3, 2, 1.5, 1, 0.5, 0.3, 0.2).

    Raises
    ------
    ValueError
        ``m`` not a whole number in ``1..MAX_M``.
    """
    m = v.integer("m", m, minimum=1, maximum=MAX_M)
    return np.array(DEFAULT_SIGMA[:m])


def _name(symbol: str, i: int) -> str:
    """``σ₃`` for ``_name("σ", 2)``: the paper's 1-based subscript."""
    return symbol + str(i + 1).translate(_SUBSCRIPTS)


def index_label(I) -> str:
    """The paper's 1-based form of a 0-based index set: ``(0, 2)`` → ``"{1, 3}"``, ``()`` → ``"∅"``.

    Raises
    ------
    ValueError
        ``I`` not a sequence of distinct whole numbers in ``0..MAX_M − 1``.
    """
    I = landscape._index_set(I, MAX_M, None)
    return "{" + ", ".join(str(i + 1) for i in sorted(I)) + "}" if I else "∅"


def check_spectrum(sigma, m: int | None = None) -> np.ndarray:
    """The singular values ``σ₁ > σ₂ > … > σ_m > 0`` the theorem assumes, or a ``ValueError``
    saying what is wrong in words a visitor can act on.

    Parameters
    ----------
    sigma : array_like, shape (m,)
        Singular values, largest first.
    m : int, optional
        The dimension the values are for; when given, ``sigma`` must hold exactly ``m``.

    Returns
    -------
    ndarray, shape (m,)

    Raises
    ------
    ValueError
        Message starting with ``sigma``: not a flat list of finite real numbers; empty; more
        than ``MAX_M`` values, or not ``m`` of them; a zero; a negative value; a repeated
        value; not descending; squares that overflow, underflow or coincide in float64.
        Naming ``m`` when ``m`` itself is not in ``1..MAX_M``.
    """
    if m is not None:
        m = v.integer("m", m, minimum=1, maximum=MAX_M)
    sigma = v.array("sigma", sigma, ndim=1)
    count = sigma.size
    if count == 0:
        raise ValueError("sigma must hold at least one singular value")
    if m is not None and count != m:
        raise ValueError(f"sigma holds {count} value{'s' * (count != 1)}, but m = {m} needs "
                         f"exactly {m}, one singular value per dimension")
    if count > MAX_M:
        raise ValueError(f"sigma holds {count} values; at most {MAX_M} (m ≤ {MAX_M})")
    for i, s in enumerate(sigma):
        if s == 0:
            raise ValueError(f"sigma has a zero, {_name('σ', i)} = 0: the theorem needs "
                             "full-rank data (every singular value > 0)")
        if s < 0:
            raise ValueError(f"sigma has a negative value, {_name('σ', i)} = {s:g}: singular "
                             "values are positive")
    for i in range(count - 1):
        if sigma[i + 1] == sigma[i]:
            raise ValueError(f"sigma repeats a value, {_name('σ', i)} = {_name('σ', i + 1)} = "
                             f"{sigma[i]:g}: the theorem assumes distinct singular values")
        if sigma[i + 1] > sigma[i]:
            raise ValueError(f"sigma must be descending (σ₁ > σ₂ > …), but {_name('σ', i + 1)} = "
                             f"{sigma[i + 1]:g} > {_name('σ', i)} = {sigma[i]:g}: list the "
                             "values largest first")
    # The theorem speaks of σᵢ²: they must exist, and stay distinct, in float64 too.
    with np.errstate(over="ignore", under="ignore"):
        squares = sigma * sigma
    if not np.isfinite(squares[0]):
        raise ValueError(f"sigma is too large: σ₁² = ({sigma[0]:g})² overflows float64")
    if squares[-1] == 0 or (np.diff(squares) >= 0).any():
        raise ValueError(f"sigma is too small: the squares of values down to {sigma[-1]:g} are "
                         "not distinct positive numbers in float64")
    return sigma


def close_values_warning(sigma) -> str | None:
    """Words for neighbouring singular values within ``CLOSE_RTOL`` (relative), else ``None``.

    ``σᵢ₊₁`` is close to ``σᵢ`` when ``σᵢ − σᵢ₊₁ ≤ CLOSE_RTOL · σᵢ``. The theorem assumes
    distinct values; the warning does not stop the computation.

    Raises
    ------
    ValueError
        As ``check_spectrum``.
    """
    sigma = check_spectrum(sigma)
    pairs = [f"{_name('σ', i)} = {float(a)!r} and {_name('σ', i + 1)} = {float(b)!r}"
             for i, (a, b) in enumerate(zip(sigma, sigma[1:])) if a - b <= CLOSE_RTOL * a]
    if not pairs:
        return None
    return ("; ".join(pairs) + f" are within {CLOSE_RTOL:g} relative of each other. The "
            "Landscape Theorem assumes distinct singular values: Hessian eigenvalues of order "
            "σᵢ² − σⱼ² are then tiny, and the measured counts may show extra flat directions.")


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Symmetry:
    """The group acting along a loss's critical manifolds (Section 2.3 of the paper, with the
    authors' erratum: "L₂-regularization reduces the symmetry group from GL_k(R) to O_k(R)").

    Attributes
    ----------
    group : {"GL(k)", "O(k)"}
        ``GL(k)`` for ``L``, ``L_π`` and ``L_σ`` at ``λ = 0``; ``O(k)`` for ``L_σ`` at ``λ > 0``.
    dimension : int
        The group's dimension: ``k²`` or ``k(k − 1)/2``.
    orbit_formula : str
        The dimension of the orbit through a Table 1 point with ``|I| = l``:
        ``"2kl − l²"`` or ``"kl − l(l + 1)/2"``.
    orbit_dimensions : tuple of int
        Those dimensions for ``l = 0, 1, …, k`` (``landscape.critical_set_dimension``); each
        row's ``orbit_dimension`` is the measured one.
    statement : str
        One paragraph: how the group acts, why it keeps the loss, and how its orbit compares
        with the paper's manifold.
    """

    group: str
    dimension: int
    orbit_formula: str
    orbit_dimensions: tuple
    statement: str = field(repr=False)


def _symmetry(kind: str, k: int, lam: float) -> Symmetry:
    dims = tuple(landscape.critical_set_dimension(kind, k, l, lam) for l in range(k + 1))
    if kind == "sum" and lam > 0:
        return Symmetry("O(k)", k * (k - 1) // 2, "kl − l(l + 1)/2", dims, (
            "O(k) acts by (W₁, W₂) ↦ (gW₁, W₂gᵀ): it keeps W₂W₁ and the norms ‖W₁‖, ‖W₂‖, so "
            "L_σ. A general g ∈ GL(k) changes ‖W₁‖² + ‖W₂‖²: regularization breaks GL(k) down "
            "to O(k). The orbit through a Table 1 point is the paper's V_I (O ranges over k × l "
            "matrices with orthonormal columns), of dimension kl − l(l + 1)/2, and away from "
            "λ = σⱼ² it is all of the Hessian's flat directions."))
    at_zero = " L_σ at λ = 0 is L, so it has the same symmetry." if kind == "sum" else ""
    return Symmetry("GL(k)", k * k, "2kl − l²", dims, (
        "GL(k) acts by (W₁, W₂) ↦ (gW₁, W₂g⁻¹): it keeps W₂W₁, so the loss." + at_zero +
        " The orbit through a Table 1 point with |I| = l has dimension k² − (k − l)² = 2kl − l² "
        "(the g that fix range(G) pointwise and act only on its complement move nothing), and "
        "it is all of the Hessian's flat directions. The paper's F_I (the decoder built from "
        "G⁺) is a kl-dimensional slice of it; the two agree when l = k."))


@dataclass(frozen=True, eq=False)
class Manifold:
    """One critical manifold of the table: the row for index set ``I``.

    Attributes
    ----------
    I : tuple of int
        0-based, ascending (``index_label`` gives the paper's ``{1, 3}``).
    l : int
        ``len(I)``.
    exists : bool
        ``False`` only for the sum loss when some ``σᵢ² ≤ λ``, ``i ∈ I``.
    gone_reason : str or None
        Why the manifold does not exist (``None`` when it does).
    loss : float or None
        The loss at the Table 1 point (its critical value).
    predicted_descending : int or None
        The theorem's ``d_I + (k − l)(m − l)`` (``m₀`` for ``L_σ``).
    predicted_flat : int or None
        ``dim F_I = kl`` (``L``, ``L_π``) or ``dim V_I = kl − l(l + 1)/2`` (``L_σ``).
    measured : Inertia or None
        ``(descending, flat, ascending)`` Hessian eigenvalue counts at the point.
    orbit_dimension : int or None
        Measured dimension of the symmetry group's orbit through the point: the rank of
        ``ξ ↦ (ξW₁, −W₂ξ)`` over the group's Lie algebra (``gl(k)`` or ``so(k)``).
    transpose_gap : float or None
        ``‖W₁ − W₂ᵀ‖_F`` at the point (0 for ``L_σ``: Transpose Theorem).
    degenerate : bool
        ``L_σ`` with ``λ = σⱼ²`` for some ``j`` (to the Hessian's resolution) where that adds
        flat directions; ``notes`` says which ``j`` and how many.
    is_global_min : bool
        ``I = {1..min(k, m₀)}``: the global minimum (the best surviving one for ``L_σ``).
    notes : tuple of str
        The words for every difference between the measured and the theorem's counts.
    W1 : ndarray, shape (k, m), or None
        The Table 1 point's encoder.
    W2 : ndarray, shape (m, k), or None
        Its decoder.
    """

    I: tuple
    l: int
    exists: bool
    gone_reason: str | None
    loss: float | None
    predicted_descending: int | None
    predicted_flat: int | None
    measured: Inertia | None
    orbit_dimension: int | None
    transpose_gap: float | None
    degenerate: bool
    is_global_min: bool
    notes: tuple
    W1: np.ndarray | None = field(default=None, repr=False)
    W2: np.ndarray | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The paper's 1-based index set, ``{1, 3}`` or ``∅``."""
        return index_label(self.I)

    @property
    def descending_differs(self) -> bool:
        """The measured descending count is not the theorem's (only for existing rows)."""
        return self.exists and self.measured.descending != self.predicted_descending

    @property
    def flat_differs(self) -> bool:
        """The measured flat count is not the dimension of the paper's manifold."""
        return self.exists and self.measured.flat != self.predicted_flat


@dataclass(frozen=True, eq=False)
class Table:
    """Every critical manifold for one (loss, σ, k, λ, seed), with the table-wide facts.

    Attributes
    ----------
    kind : {'unregularized', 'product', 'sum'}
    sigma : ndarray, shape (m,)
    k : int
    lam : float
    seed : int
    rows : tuple of Manifold
        One per ``I`` with ``|I| ≤ k``, by ``l`` then lexicographically; gone rows included.
    m0 : int
        ``#{i : σᵢ² > λ}`` for ``L_σ``; ``m`` for ``L`` and ``L_π`` (nothing collapses).
    symmetry : Symmetry
    close_warning : str or None
        ``close_values_warning(sigma)``.
    X : ndarray, shape (m, 2m)
        The data: mean-centred, singular values ``sigma`` (``landscape.random_data``).
    U : ndarray, shape (m, m)
        Its left singular vectors.
    """

    kind: str
    sigma: np.ndarray = field(repr=False)
    k: int
    lam: float
    seed: int
    rows: tuple = field(repr=False)
    m0: int
    symmetry: Symmetry = field(repr=False)
    close_warning: str | None = field(repr=False)
    X: np.ndarray = field(repr=False)
    U: np.ndarray = field(repr=False)

    @property
    def m(self) -> int:
        return self.sigma.size

    @property
    def survivors(self) -> int:
        """How many manifolds exist: ``Σ_{l ≤ min(k, m₀)} C(m₀, l)``."""
        return sum(row.exists for row in self.rows)

    @property
    def gone(self) -> tuple:
        """The rows that do not exist (``L_σ`` with ``σᵢ² ≤ λ`` for some ``i ∈ I``)."""
        return tuple(row for row in self.rows if not row.exists)

    @property
    def global_min(self) -> Manifold:
        """The row of the global minimum, ``I = {1..min(k, m₀)}``."""
        return next(row for row in self.rows if row.is_global_min)

    @property
    def ladder(self) -> tuple:
        """The critical-value ladder: existing rows by loss, lowest first (then by ``l``, ``I``);
        plot each as (``measured.descending``, ``loss``)."""
        return tuple(sorted((row for row in self.rows if row.exists),
                            key=lambda row: (row.loss, row.l, row.I)))

    @property
    def disagreements(self) -> tuple:
        """The existing rows whose measured counts differ from the theorem's."""
        return tuple(row for row in self.rows if row.descending_differs or row.flat_differs)

    def row(self, I) -> Manifold:
        """The row for ``I`` (0-based, in any order).

        Raises
        ------
        ValueError
            ``I`` not distinct indices in ``0..m−1``, or longer than ``k``.
        """
        I = tuple(sorted(landscape._index_set(I, self.m, self.k)))
        return next(row for row in self.rows if row.I == I)


def _paper_flat(kind: str, k: int, l: int) -> int:
    """Dimension of the paper's manifold: ``F_I`` (G ∈ R^{k×l} of full rank) for ``L``, ``L_π``;
    the Stiefel manifold ``V_I`` (O with orthonormal columns) for ``L_σ``."""
    return k * l - l * (l + 1) // 2 if kind == "sum" else k * l


@functools.lru_cache(maxsize=16)
def _draws(sigma: tuple, k: int, seed: int):
    """Everything random, independent of the loss and λ (so a λ change keeps the points' G):
    the data ``X`` (m × 2m), ``U``, and per index set (in table order) one G ∈ R^{k×l}
    with orthonormal factor O (its Q₁). Arrays are read-only: the cache shares them."""
    sigma = np.array(sigma)
    m = sigma.size
    X, U = landscape.random_data(m, 2 * m, sigma, seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    index_sets, Gs, Os = [], [], []
    for l in range(k + 1):
        for I in itertools.combinations(range(m), l):
            O = landscape._random_orthonormal(rng, k, l)
            Q2 = landscape._random_orthonormal(rng, l, l)
            G = (O * rng.uniform(*_G_SINGULAR_RANGE, l)) @ Q2
            index_sets.append(I)
            Gs.append(G)
            Os.append(O)
    for a in (X, U, *Gs, *Os):
        a.flags.writeable = False
    return X, U, tuple(index_sets), tuple(Gs), tuple(Os)


def _gone_reason(sigma: np.ndarray, I: tuple, lam: float) -> str:
    collapsed = [i for i in I if sigma[i] ** 2 <= lam]
    names = ", ".join(f"{_name('σ', i)}² = {sigma[i] ** 2:.4g}" for i in collapsed)
    last = max(I)  # the smallest σ in I: the manifold vanished when λ passed σ_last²
    into = index_label(tuple(i for i in I if i != last))
    verb = "is" if len(collapsed) == 1 else "are"
    if sigma[last] ** 2 == lam:
        when = (f"At exactly λ = {_name('σ', last)}² it merges into {into} (the pitchfork), so "
                "it has no point of its own.")
    else:
        when = (f"It merged into {into} when λ rose through {_name('σ', last)}² = "
                f"{sigma[last] ** 2:.4g}.")
    return (f"Gone: Table 1's W₁ = O(I − λΣ_I⁻²)^½U_Iᵀ needs σᵢ² > λ for every i ∈ I, but "
            f"{names} {verb} ≤ λ = {lam:.4g} — "
            f"{'that direction has' if len(collapsed) == 1 else 'those directions have'} "
            f"collapsed (posterior collapse). {when}")


def _orbit_dimensions(group: str, W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """Rank of ξ ↦ (ξW₁, −W₂ξ) (the group's infinitesimal action) at each point of a stack
    (R, k, m), (R, m, k), over gl(k) (basis E_ab) or so(k) (basis E_ab − E_ba, a < b)."""
    R, k, m = W1.shape
    eye = np.eye(k)
    # (E_ab W₁)[c, p] = δ_ca W₁[b, p];  (W₂ E_ab)[p, c] = W₂[p, a] δ_bc
    T1 = np.einsum("ca,rbp->rcpab", eye, W1).reshape(R, k * m, k * k)
    T2 = -np.einsum("rpa,bc->rpcab", W2, eye).reshape(R, m * k, k * k)
    T = np.concatenate([T1, T2], axis=1)
    if group == "O(k)":
        a, b = np.triu_indices(k, 1)
        T = T[:, :, a * k + b] - T[:, :, b * k + a]
    if T.shape[2] == 0:
        return np.zeros(R, dtype=int)
    return np.linalg.matrix_rank(T)


def _pitchfork_notes(kind, sigma, I, k, lam, tol, predicted, paper_flat):
    """The pitchfork directions of an existing ``L_σ`` row, and the counts they lead to.

    Two Hessian eigenvalues vanish as λ reaches a σ² (exact in the U basis, as in the scalar
    case of DESIGN.md):

    - ``j ∉ I``: taking up ``u_j`` in an unused latent dimension has curvature ``2(λ − σⱼ²)``,
      once per unused dimension (``k − l``);
    - ``i ∈ I``: shrinking ``u_i``'s part of the point towards ``I∖{i}`` has curvature
      ``4(σᵢ² − λ)`` (the branch of the pitchfork about to merge).

    One that is within ``tol`` of 0 reads as flat: ``k − l`` extra flat directions (taken from
    the descending ones when ``σⱼ² > λ``) for such a ``j``, one (taken from the ascending ones)
    for such an ``i``.

    Returns
    -------
    degenerate : bool
    expected_descending : int
        ``predicted`` less the descending directions that read as flat.
    extra_flat : int
    notes : list of str
    """
    if kind != "sum" or lam == 0:
        return False, predicted, 0, []
    l = len(I)
    notes, extra, expected = [], 0, predicted

    def how_close(j, curvature):
        if sigma[j] ** 2 == lam:
            return "exactly"
        return (f"to within the Hessian's resolution ({_name('σ', j)}² − λ = "
                f"{sigma[j] ** 2 - lam:.1e}: curvature {curvature:.1e}, flat threshold {tol:.1e})")

    for j in range(sigma.size):
        s_j, u_j = _name("σ", j), _name("u", j)
        if j in I:
            curvature = 4.0 * (sigma[j] ** 2 - lam)
            if abs(curvature) > tol:
                continue
            extra += 1
            rest = index_label(tuple(i for i in I if i != j))
            notes.append(
                f"Degenerate: λ = {s_j}² = {sigma[j] ** 2:.6g} {how_close(j, curvature)} — this "
                f"manifold is about to merge into {rest} (the pitchfork). Shrinking {u_j}'s part "
                f"of the point has curvature 4({s_j}² − λ), which reads as flat: 1 more flat "
                f"direction than dim V_I = {paper_flat}, 1 fewer ascending.")
            continue
        curvature = 2.0 * (lam - sigma[j] ** 2)
        if abs(curvature) > tol or l == k:
            continue  # with l = k there is no unused latent dimension to take u_j up
        extra += k - l
        text = (f"Degenerate: λ = {s_j}² = {sigma[j] ** 2:.6g} {how_close(j, curvature)} — the "
                f"pitchfork where the manifold {index_label(tuple(sorted(I + (j,))))} meets this "
                f"one. In each of the k − l = {k - l} unused latent dimensions, taking up {u_j} "
                f"changes the loss by 2t²(λ − {s_j}²) + t⁴{s_j}², whose t² term vanishes: "
                f"{k - l} more flat direction{'s' * (k - l > 1)} than dim V_I = {paper_flat}.")
        if curvature < 0:
            expected -= k - l
            text += (f" They descend in exact arithmetic ({s_j}² > λ, so the theorem counts "
                     f"{u_j} in m₀), too slowly for the Hessian to resolve: {k - l} fewer "
                     "measured descending directions.")
        notes.append(text)
    return bool(notes), expected, extra, notes


def _orbit_note(kind, k, l, lam, app_flat, paper_flat) -> str | None:
    """Words for the GL(k)-orbit being larger than the paper's manifold (None if it is not)."""
    if app_flat == paper_flat:
        return None
    if kind == "sum":
        return (f"Flat: the paper's V_I has dimension kl − l(l + 1)/2 = {paper_flat}, the Hessian "
                f"{app_flat} = 2kl − l². At λ = 0, L_σ is the unregularized L: nothing breaks "
                "GL(k) down to O(k), so the critical set through the point is its GL(k)-orbit "
                "(W₁, W₂) ↦ (gW₁, W₂g⁻¹), of dimension k² − (k − l)² = 2kl − l² "
                "(critical_set_dimension). V_I, and W₁ = W₂ᵀ (Transpose Theorem), need λ > 0.")
    return (f"Flat: the paper's F_I has dimension kl = {paper_flat}, the Hessian {app_flat} = "
            f"2kl − l². F_I pairs the encoder W₁ = G(…)U_Iᵀ only with the decoder built from G⁺, "
            f"but adding to G⁺ any B ∈ R^{{l×k}} with BG = 0 leaves W₂W₁ — so the loss and the "
            f"gradient — unchanged: l(k − l) = {l * (k - l)} more flat dimension"
            f"{'s' * (l * (k - l) > 1)}. The critical set through the point is its GL(k)-orbit "
            "(W₁, W₂) ↦ (gW₁, W₂g⁻¹), of dimension k² − (k − l)² = 2kl − l² "
            "(critical_set_dimension); F_I is a kl-dimensional slice of it, and the two agree "
            "only when l = k.")


def manifolds(kind: str, sigma, k: int, lam: float, *, seed: int = 0) -> Table:
    """Every critical manifold of Table 1 with the theorem's and the measured counts.

    The data is ``X, U = landscape.random_data(m, 2m, sigma, seed)``; each row's point is
    ``landscape.table1_point(kind, U, sigma, I, lam, G)`` with its own random ``G`` (``L``,
    ``L_π``: ``Q₁ diag(s) Q₂``, ``s ∈ [0.5, 2]``; ``L_σ``: the orthonormal ``Q₁``), drawn from a
    child of ``seed``'s generator and independent of ``kind`` and ``lam``. The Hessians of all
    rows are built as one stack and diagonalised by one ``np.linalg.eigvalsh`` call; each row's
    counts use ``hessian_inertia``'s tolerance ``1e4 · 2km · eps · max|μ|``.

    Parameters
    ----------
    kind : {'unregularized', 'product', 'sum'}
    sigma : array_like, shape (m,)
        Singular values of the data, ``1 ≤ m ≤ MAX_M``, positive, strictly descending.
    k : int
        Latent dimension, ``1 ≤ k ≤ m``.
    lam : float
        λ ≥ 0.
    seed : int
        Seed ≥ 0 for the data and the points.

    Returns
    -------
    Table

    Raises
    ------
    ValueError
        Naming the argument: unknown ``kind``; ``sigma`` as ``check_spectrum``; ``k`` not in
        ``1..m``; ``lam`` negative or not finite; ``seed`` not a whole number ≥ 0; ``sigma`` and
        ``lam`` so large that the Hessians overflow float64.
    """
    kind = v.choice("kind", kind, KINDS)
    sigma = check_spectrum(sigma)
    m = sigma.size
    k = v.integer("k", k, minimum=1, maximum=m)
    lam = v.lam(lam)
    seed = v.integer("seed", seed, minimum=0)
    too_large = ValueError("sigma and lam are too large for float64: the Hessian or the loss at "
                           "the Table 1 points overflows; use smaller values")
    # Checked here rather than by walking the finished table (v.finite_result): the Hessians
    # and the losses are the only numbers that can overflow once σ² is finite.
    try:
        with np.errstate(all="ignore"):
            table = _measure(kind, sigma, k, lam, seed)
    except v.NotFinite:
        raise too_large from None
    if table is None:
        raise too_large
    return table


def _measure(kind: str, sigma: np.ndarray, k: int, lam: float, seed: int) -> Table | None:
    """``manifolds`` after validation; ``None`` when a Hessian overflows."""
    if kind == "unregularized":
        measured = _unregularized_rows(tuple(sigma.tolist()), k, seed)
    else:
        measured = _measure_rows(kind, sigma, k, lam, seed, None)
    if measured is None:
        return None
    rows, m0, symmetry, X, U = measured
    return Table(kind=kind, sigma=sigma, k=k, lam=lam, seed=seed, rows=rows, m0=m0,
                 symmetry=symmetry, close_warning=close_values_warning(sigma), X=X, U=U)


@functools.lru_cache(maxsize=16)
def _unregularized_rows(sigma: tuple, k: int, seed: int):
    """L does not involve λ — not its points, Hessians, losses, counts or words — so its rows
    are measured once per σ, k and seed, and a λ change costs nothing."""
    return _measure_rows("unregularized", np.array(sigma), k, 0.0, seed, None)


def _measure_rows(kind: str, sigma: np.ndarray, k: int, lam: float, seed: int, wanted):
    """The rows for the index sets ``wanted`` (every one, in table order, when ``None``), each
    at its own point of ``_draws``, and ``(rows, m0, symmetry, X, U)``; ``None`` when a Hessian
    overflows."""
    X, U, index_sets, Gs, Os = _draws(tuple(sigma.tolist()), k, seed)
    m0 = collapse.surviving_count(sigma, lam) if kind == "sum" else sigma.size
    symmetry = _symmetry(kind, k, lam)
    global_I = tuple(range(min(k, m0)))
    if wanted is not None:
        position = {I: n for n, I in enumerate(index_sets)}
        index_sets = tuple(wanted)
        Gs = tuple(Gs[position[I]] for I in index_sets)
        Os = tuple(Os[position[I]] for I in index_sets)

    points = []
    for I, G, O in zip(index_sets, Gs, Os):
        if kind == "sum" and any(sigma[i] ** 2 <= lam for i in I):
            continue
        G = O if kind == "sum" else G
        # the draws are valid by construction (``_draws``), and σᵢ² > λ was checked above
        points.append((I, *landscape._table1_point(kind, U, sigma, I, lam, G)))

    measured_rows = {}
    if points:
        # One stack of Hessians, one eigensolver call: the cost of a λ change.
        W1s = np.array([p[1] for p in points])
        W2s = np.array([p[2] for p in points])
        hessians = landscape._hessians(kind, X @ X.T, lam, W1s, W2s)
        if not np.isfinite(hessians).all():
            return None
        eig = np.linalg.eigvalsh(hessians)
        tols = landscape._flat_tolerance(eig)
        counts = np.stack(landscape._inertia_counts(eig, tols), axis=1)
        orbits = _orbit_dimensions(symmetry.group, W1s, W2s)
        # landscape.loss's formula, once for the whole stack (its checks are the points' own)
        losses = landscape._loss_value(kind, X, lam, W1s, W2s)
        if not np.isfinite(losses).all():
            return None
    else:
        tols = counts = orbits = losses = ()

    for (I, W1, W2), tol, (down, flat, up), orbit, value in zip(points, tols, counts, orbits, losses):
        l = len(I)
        measured = Inertia(int(down), int(flat), int(up))
        predicted = landscape._predicted_descending(kind, sigma, I, k, lam)  # valid, as the point
        paper_flat = _paper_flat(kind, k, l)
        degenerate, expected_down, extra, notes = _pitchfork_notes(
            kind, sigma, I, k, lam, float(tol), predicted, paper_flat)
        expected_flat = landscape.critical_set_dimension(kind, k, l, lam) + extra
        differs = (measured.descending, measured.flat) != (predicted, paper_flat)
        explained = (measured.descending, measured.flat) == (expected_down, expected_flat)
        if not differs:
            words = []
        elif explained:
            orbit_words = _orbit_note(kind, k, l, lam, expected_flat - extra, paper_flat)
            words = ([orbit_words] if orbit_words else []) + notes
        else:
            words = notes + [_unexplained(measured, predicted, paper_flat, expected_down,
                                          expected_flat, close_values_warning(sigma))]
        W1.flags.writeable = W2.flags.writeable = False
        measured_rows[I] = Manifold(
            I=I, l=l, exists=True, gone_reason=None,
            loss=float(value),
            predicted_descending=predicted, predicted_flat=paper_flat, measured=measured,
            orbit_dimension=int(orbit), transpose_gap=float(np.linalg.norm(W1 - W2.T)),
            degenerate=degenerate, is_global_min=I == global_I, notes=tuple(words), W1=W1, W2=W2)

    rows = tuple(
        measured_rows.get(I) or Manifold(
            I=I, l=len(I), exists=False, gone_reason=_gone_reason(sigma, I, lam), loss=None,
            predicted_descending=None, predicted_flat=None, measured=None, orbit_dimension=None,
            transpose_gap=None, degenerate=False, is_global_min=False, notes=())
        for I in index_sets)
    return rows, m0, symmetry, X, U


@dataclass(frozen=True, eq=False)
class SymmetryComparison:
    """One loss's symmetry group beside the dimensions of its manifolds, stated and measured.

    Attributes
    ----------
    kind : {'unregularized', 'product', 'sum'}
    symmetry : Symmetry
        The group, its dimension and the orbit's dimension ``orbit_dimensions[l]`` as
        ``landscape.critical_set_dimension`` states it.
    rows : tuple of Manifold
        One per ``l = 0, 1, …, k``: the row of ``I = {1..l}`` as ``manifolds`` measures it (the
        same point), with ``predicted_flat`` (``dim F_I`` or ``dim V_I``), the measured orbit
        dimension and the Hessian's flat count; for ``L_σ`` with ``l > m₀`` a gone row.
    """

    kind: str
    symmetry: Symmetry
    rows: tuple = field(repr=False)


def symmetry_comparison(sigma, k: int, lam: float, *, seed: int = 0) -> tuple:
    """The symmetry of each loss side by side: for ``L``, ``L_π`` and ``L_σ`` (``KINDS``
    order), the group that moves along the critical manifolds (``GL(k)``; ``O(k)`` for ``L_σ``
    at ``λ > 0``) and, per ``l = |I| = 0..k``, the paper's manifold dimension (``kl``, or
    ``kl − l(l + 1)/2`` for ``V_I``), the orbit dimension stated and measured, and the Hessian's
    flat count — at the Table 1 point of ``I = {1..l}``, the one ``manifolds`` uses.

    Costs ``3(k + 1)`` Hessians (not the whole table's), so a page can show all three losses
    while it measures one.

    Parameters
    ----------
    sigma, k, lam, seed
        As ``manifolds``.

    Returns
    -------
    tuple of SymmetryComparison
        Three, in ``KINDS`` order.

    Raises
    ------
    ValueError
        As ``manifolds``.
    """
    sigma = check_spectrum(sigma)
    k = v.integer("k", k, minimum=1, maximum=sigma.size)
    lam = v.lam(lam)
    seed = v.integer("seed", seed, minimum=0)
    wanted = [tuple(range(l)) for l in range(k + 1)]
    out = []
    for kind in KINDS:
        with np.errstate(all="ignore"):
            try:
                measured = _measure_rows(kind, sigma, k, lam, seed, wanted)
            except v.NotFinite:
                measured = None
        if measured is None:
            raise ValueError("sigma and lam are too large for float64: the Hessian or the loss "
                             "at the Table 1 points overflows; use smaller values")
        rows, _, symmetry, _, _ = measured
        out.append(SymmetryComparison(kind=kind, symmetry=symmetry, rows=rows))
    return tuple(out)


def _unexplained(measured, predicted, paper_flat, expected_down, expected_flat, close) -> str:
    """Words for measured counts that the app's own derivation does not account for either."""
    expected = f"; the app's derivation expects descending {expected_down}, flat {expected_flat}"
    cause = (close if close else
             "No known cause: the point or its Hessian may be ill-conditioned for these numbers.")
    return (f"Measured descending {measured.descending}, flat {measured.flat}; the theorem says "
            f"descending {predicted}, flat {paper_flat}{expected}. {cause}")


# --------------------------------------------------------------------------- escape


@dataclass(frozen=True, eq=False)
class EscapeRun:
    """A solver run from a point pushed off a critical manifold along its most negative
    Hessian eigenvector.

    Attributes
    ----------
    start : tuple of int
        The row's ``I`` (0-based).
    method : str
    step : float
        Length of the push along the eigenvector (Frobenius norm in ``(W₁, W₂)``).
    jitter : float
        Length of the random push added to it.
    curvature : float
        The Hessian eigenvalue along the push (the most negative one; ≥ 0 at a minimum).
    descending : bool
        Whether the start row had a descending direction (``measured.descending > 0``).
    critical_loss : float
        The loss on the manifold.
    loss : ndarray, shape (T,)
        Loss per iterate; ``loss[0]`` is just after the push.
    transpose_gap : ndarray, shape (T,)
        ``‖W₁ − W₂ᵀ‖_F`` per iterate.
    status, message, iterations
        The solver's ``Trajectory`` fields.
    ended_at : tuple of int or None
        The existing row whose ``W₂W₁`` is nearest the final one, when within ``1e-3``
        (Frobenius); ``None`` when the run ended between manifolds.
    end_distance : float
        ``‖W₂W₁ − P_I‖_F`` to that nearest row's product ``P_I``.
    reached_global_min : bool
    summary : str
        Two sentences for the page.
    trajectory : solvers.Trajectory
    """

    start: tuple
    method: str
    step: float
    jitter: float
    curvature: float
    descending: bool
    critical_loss: float
    loss: np.ndarray = field(repr=False)
    transpose_gap: np.ndarray = field(repr=False)
    status: str
    message: str
    iterations: int
    ended_at: tuple | None
    end_distance: float
    reached_global_min: bool
    summary: str = field(repr=False)
    trajectory: solvers.Trajectory = field(repr=False)

    @property
    def end_loss(self) -> float:
        return float(self.loss[-1])

    @property
    def end_transpose_gap(self) -> float:
        return float(self.transpose_gap[-1])


@dataclass(frozen=True, eq=False)
class EscapeProgress:
    """Where an escape run stands after a chunk of solver steps (``escape_steps``).

    Attributes
    ----------
    start : tuple of int
        The row's ``I`` (0-based).
    method : str
    step, jitter : float
        Lengths of the push along the eigenvector and of the random push.
    curvature : float
        The Hessian eigenvalue along the push (the most negative one; ≥ 0 at a minimum).
    critical_loss : float
        The loss on the manifold.
    iterations : int
        Solver steps taken so far.
    max_iter : int
    loss : ndarray, shape (iterations + 1,)
        Loss per iterate so far; ``loss[0]`` is just after the push.
    transpose_gap : ndarray, shape (iterations + 1,)
        ``‖W₁ − W₂ᵀ‖_F`` per iterate so far.
    run : EscapeRun or None
        The finished run, on the last progress only.
    """

    start: tuple
    method: str
    step: float
    jitter: float
    curvature: float
    critical_loss: float
    iterations: int
    max_iter: int
    loss: np.ndarray = field(repr=False)
    transpose_gap: np.ndarray = field(repr=False)
    run: EscapeRun | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.run is not None

    @property
    def fraction(self) -> float:
        """Share of ``max_iter`` done: 1 once the run has finished (a converged run stops early)."""
        return 1.0 if self.done else self.iterations / self.max_iter


# The solvers an escape may use, per loss: those whose run starts from the pushed point and
# keeps a critical point where it is. The tied ones replace W₁ by W₂ᵀ at the start and
# exact_sync re-ties the weights after every step; Table 1's points of L and L_π have W₁ ≠ W₂ᵀ
# (W₁ = G(…)U_Iᵀ, W₂ = U_I(…)G⁺), so those solvers leave the manifold before any descent.
# Every critical point of L_σ has W₁ = W₂ᵀ (Transpose Theorem), so there all six may run.
ESCAPE_METHODS = {
    "unregularized": ("untied_gd", "sync_gd", "exact_untied"),
    "product": ("untied_gd", "sync_gd", "exact_untied"),
    "sum": solvers.METHODS,
}


def escape_steps(table: Table, I, method: str = "untied_gd", *, step: float = DEFAULT_STEP,
                 jitter: float = DEFAULT_JITTER, seed: int = 0, max_iter: int = 20000,
                 tol: float = 1e-10, lr: float | None = None, chunk: int = 250):
    """``escape`` a chunk of solver steps at a time, for a page that must stay responsive.

    The push and the run are ``escape``'s (the same iterates: ``escape`` is this iterator run to
    its end, and the solver's updates, learning rate and stopping rules are ``solvers.solve``'s
    general path). The arguments are checked on the call, before the first step.

    Parameters
    ----------
    table, I, method, step, jitter, seed, max_iter, tol, lr
        As ``escape``.
    chunk : int
        Solver steps between progress reports, ≥ 1.

    Returns
    -------
    iterator of EscapeProgress
        One after each chunk; the last one's ``run`` is the finished ``EscapeRun``.

    Raises
    ------
    ValueError
        As ``escape``; ``chunk`` not a whole number ≥ 1.
    """
    if not isinstance(table, Table):
        raise ValueError("table must be a Table from theorem.manifolds; got "
                         f"{type(table).__name__}")
    row = table.row(I)
    if not row.exists:
        raise ValueError(f"I = {row.label} names no critical point at λ = {table.lam:g}. "
                         f"{row.gone_reason}")
    method = v.choice("method", method, solvers.METHODS + solvers.VARIANTS)
    allowed = ESCAPE_METHODS[table.kind]
    if method not in allowed:
        raise ValueError(f"method: {method} does not start from the pushed point of "
                         f"{_LOSS_NAMES[table.kind]} (it ties W₁ to W₂ᵀ, and Table 1's points of "
                         f"this loss have W₁ ≠ W₂ᵀ); use one of {', '.join(allowed)}")
    step = v.real("step", step, minimum=0.0, strict=True)
    jitter = v.real("jitter", jitter, minimum=0.0)
    seed = v.integer("seed", seed, minimum=0)
    kind, k, lam = table.kind, table.k, table.lam

    with np.errstate(all="ignore"):
        mu, vectors = np.linalg.eigh(landscape.hessian(kind, table.X, lam, row.W1, row.W2))
    direction = vectors[:, 0]
    if direction[np.argmax(np.abs(direction))] < 0:
        direction = -direction
    noise = np.random.default_rng(seed).standard_normal(direction.size)
    push = step * direction + jitter * noise / np.linalg.norm(noise)
    km = k * table.m
    W1 = row.W1 + push[:km].reshape(row.W1.shape)
    W2 = row.W2 + push[km:].reshape(row.W2.shape)
    problem = solvers._prepare(method, table.X, k, lam, W1, W2, lr, max_iter, tol, None, 0, kind)
    chunk = v.integer("chunk", chunk, minimum=1)
    return _escape_chunks(table, row, problem, float(mu[0]), step, jitter, chunk)


_LOSS_NAMES = {"unregularized": "L", "product": "L_π", "sum": "L_σ"}


def _escape_chunks(table, row, p, curvature, step, jitter, chunk):
    """``escape_steps``' iterator: ``solvers._iterate``'s iterates, ``chunk`` at a time."""
    k, m = p.W1.shape
    W1s, W2s = [p.W1[None]], [p.W2[None]]
    losses = [np.array([landscape._loss_value(p.kind, p.F, p.lam, p.W1, p.W2, p.w_sigma)])]
    gaps = [solvers._gap(p.W1[None] - p.W2.T[None])]
    iterate = solvers._iterate(p)
    taken, outcome = 0, None
    while outcome is None:
        new1, new2, new_loss = [], [], []
        with np.errstate(all="ignore"):
            while len(new1) < chunk and outcome is None:
                try:
                    N1, N2, L = next(iterate)
                except StopIteration as stop:
                    outcome = stop.value
                    break
                new1.append(N1)
                new2.append(N2)
                new_loss.append(L)
                taken += 1
                if taken == p.max_iter:  # the last step's checks, then the run's end
                    try:
                        next(iterate)
                    except StopIteration as stop:
                        outcome = stop.value
        if new1:
            N1s, N2s = np.array(new1), np.array(new2)
            W1s.append(N1s)
            W2s.append(N2s)
            losses.append(np.array(new_loss))
            with np.errstate(all="ignore"):
                gaps.append(solvers._gap(N1s - np.swapaxes(N2s, 1, 2)))
        loss, gap = np.concatenate(losses), np.concatenate(gaps)
        run = None
        if outcome is not None:
            status, t, detail = outcome
            trajectory = solvers._trajectory(p, np.concatenate(W1s), np.concatenate(W2s), loss,
                                             status, t, detail)
            run = _escape_run(table, row, trajectory, curvature, step, jitter)
        yield EscapeProgress(start=row.I, method=p.method, step=step, jitter=jitter,
                             curvature=curvature, critical_loss=row.loss, iterations=taken,
                             max_iter=p.max_iter, loss=loss, transpose_gap=gap, run=run)


def _escape_run(table, row, run, curvature, step, jitter) -> EscapeRun:
    """Where a finished escape run ended, and the words for it."""
    k = table.k
    product = run.W2[-1] @ run.W1[-1]
    candidates = [r for r in table.rows if r.exists]
    distances = [float(np.linalg.norm(product - r.W2 @ r.W1)) for r in candidates]
    nearest = int(np.argmin(distances))
    end_distance = distances[nearest]
    ended_at = candidates[nearest].I if end_distance <= _ENDPOINT_ATOL else None
    reached = ended_at is not None and candidates[nearest].is_global_min
    gap = run.transpose_gap

    if ended_at is None:
        where = (f"ended between manifolds (the nearest, {candidates[nearest].label}, is "
                 f"{end_distance:.2g} away in W₂W₁)")
    else:
        best = ""
        if reached:
            best = (f" — the best surviving manifold (m₀ = {table.m0} < k = {k})"
                    if table.m0 < k else " — the global minimum")
        where = f"ended on {index_label(ended_at)}{best}"
    along = ("the most negative Hessian eigenvector" if row.measured.descending else
             f"the lowest-curvature direction ({row.label} has no descending direction)")
    random = f" and {jitter:g} in a random direction" if jitter else ""
    summary = (f"From {row.label} (loss {row.loss:.6g}), pushed {step:g} along {along} "
               f"(μ = {curvature:.3g}){random}: {run.method} {where} "
               f"after {run.iterations} iterations, loss {float(run.loss[-1]):.6g}, "
               f"‖W₁ − W₂ᵀ‖ = {float(gap[-1]):.3g}. The solver {run.message}.")
    return EscapeRun(start=row.I, method=run.method, step=step, jitter=jitter,
                     curvature=curvature, descending=row.measured.descending > 0,
                     critical_loss=row.loss, loss=run.loss, transpose_gap=gap, status=run.status,
                     message=run.message, iterations=run.iterations, ended_at=ended_at,
                     end_distance=end_distance, reached_global_min=reached, summary=summary,
                     trajectory=run)


@v.finite_result
def escape(table: Table, I, method: str = "untied_gd", *, step: float = DEFAULT_STEP,
           jitter: float = DEFAULT_JITTER, seed: int = 0, max_iter: int = 20000,
           tol: float = 1e-10, lr: float | None = None) -> EscapeRun:
    """Push a Table 1 point off its manifold downhill and let a solver run from there.

    The push is ``step · v + jitter · r``: ``v`` the unit eigenvector of the Hessian's most
    negative eigenvalue ``μ`` (its sign fixed so that its largest entry is positive), ``r`` a
    random unit vector from ``numpy.random.default_rng(seed)``. Along ``v`` alone the loss drops
    by about ``|μ| step² / 2``, but the run would keep the unused latent dimensions at zero and
    stop at the best saddle of that invariant set (``jitter = 0`` shows it); ``r`` lets it
    leave every saddle in turn. Then ``solvers.solve(method, table.X, k, λ, W1=…, W2=…,
    kind=table.kind, max_iter, tol, lr)``'s updates and stopping rules (its general path, for
    every shape). Where it ended is read off the product: the existing row with
    ``‖W₂W₁ − P_I‖_F ≤ 1e-3`` (``P_I`` the product at the row's point, which depends on ``I``
    and λ only). From a saddle a run ends at the global minimum — for ``L_σ`` with
    ``λ ≥ σ_k²``, the best surviving manifold ``I = {1..m₀}``. At a minimum (no negative
    eigenvalue) the push is along the lowest-curvature direction, and the run comes back.

    ``escape_steps`` gives the same run a chunk of steps at a time.

    Parameters
    ----------
    table : Table
        From ``manifolds``.
    I : sequence of int
        0-based index set of an existing row (any order).
    method : str
        A solver of ``ESCAPE_METHODS[table.kind]``: any of ``solvers.METHODS`` for ``L_σ``;
        ``untied_gd``, ``sync_gd`` or ``exact_untied`` for ``L`` and ``L_π`` (the others tie
        ``W₁`` to ``W₂ᵀ``, which moves these losses' points off their manifolds).
    step : float
        Length of the push along the eigenvector, ``> 0``.
    jitter : float
        Length of the random push, ``≥ 0``.
    seed : int
        Seed ≥ 0 of the random push.
    max_iter, tol, lr
        Passed to ``solvers.solve``.

    Returns
    -------
    EscapeRun

    Raises
    ------
    ValueError
        ``table`` not a ``Table``; ``I`` not an index set of the table, or of a manifold that is
        gone (the message says why); ``method`` not a solver, or one that ties the weights
        for ``L`` or ``L_π``; ``step`` not a finite number > 0; ``jitter`` negative or
        not finite; ``seed`` not a whole number ≥ 0; as ``solvers.solve`` for ``max_iter``,
        ``tol``, ``lr``.
    """
    steps = escape_steps(table, I, method, step=step, jitter=jitter, seed=seed,
                         max_iter=max_iter, tol=tol, lr=lr, chunk=max_iter)
    for progress in steps:
        pass
    return progress.run


# --------------------------------------------------------------------------- CSV


CSV_COLUMNS = ("I", "l", "loss", "descending (theorem)", "descending (measured)", "flat (theorem)",
               "flat (measured)", "ascending (measured)", "‖W₁ − W₂ᵀ‖")


def to_csv(table: Table) -> str:
    """The table as CSV text (UTF-8 characters, ``\\n`` line ends) with the columns
    ``CSV_COLUMNS``. ``I`` is 1-based (``{1, 3}``, ``∅``); numbers are written to 10
    significant digits; a gone manifold (``L_σ``) has only its ``I`` and ``l``.

    Raises
    ------
    ValueError
        ``table`` not a ``Table``.
    """
    if not isinstance(table, Table):
        raise ValueError("table must be a Table from theorem.manifolds; got "
                         f"{type(table).__name__}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in table.rows:
        if not row.exists:
            writer.writerow([row.label, row.l] + [""] * (len(CSV_COLUMNS) - 2))
            continue
        writer.writerow([row.label, row.l, f"{row.loss:.10g}", row.predicted_descending,
                         row.measured.descending, row.predicted_flat, row.measured.flat,
                         row.measured.ascending, f"{row.transpose_gap:.10g}"])
    return out.getvalue()
