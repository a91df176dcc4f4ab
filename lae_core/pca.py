"""PCA from an LAE: data sets, reference PCA, error metrics, the alignment heat map and a race
runner for long LAE-PCA runs (Kunin, Bloom, Goeva, Seed, ICML 2019, Section 6; Petrevski's
follow-up report for the over-regularized data and the synthetic loss).

Data convention: ``X`` is ``m × n``, one sample per column, each row mean-centred. The digits
and the visitor's uploads are also divided by ``√n``, so that ``X Xᵀ`` is the sample covariance
matrix (the 1/n one) and its eigenvalues ``σᵢ²`` are variances in the data's own units — λ is
then a variance too, independent of the number of samples: a direction collapses (``L_σ``'s
posterior collapse, pPCA's noise τ² = λ) exactly when its variance ``σᵢ² ≤ λ``. Petrevski's
over-regularized data is his construction as it is, with singular values ``σᵢ = (21 − i)/5``.

Items in this module (all pure functions of arrays, except the timings of ``reference_pca``
and ``race``):

- ``DataSet`` — ``X`` with what a page shows beside it (labels, the image shape, the exact
  principal directions when the construction knows them).
- ``digits`` — scikit-learn's bundled 8 × 8 digits (1 797 samples, m = 64), with labels.
- ``over_regularized`` — Petrevski's m = 20, n = 30 data with σᵢ = (21 − i)/5.
- ``parse_upload`` — a visitor's CSV or ``.npy`` file (rows = samples), checked, in memory.
- ``ReferencePCA``, ``reference_pca`` — NumPy's SVD and scikit-learn's ``randomized_svd`` of the
  same data, timed.
- ``decoder_directions``, ``largest_principal_angle``, ``direction_cosines``,
  ``authors_svd_error``, ``alignment``, ``surviving_directions`` — how far a decoder is from
  PCA (see each docstring); the recovered eigenvalues are ``solvers.recovered_eigenvalues``.
- ``Race``, ``race`` — one solver run recording those metrics and the elapsed seconds per
  iteration, with a progress callback and a cancel event, for a worker thread.

Default λ for digits: ``suggested_lam`` gives ``σ_k²/4`` — every one of the k directions
survives (``s_k² = 3/4``), and reading the eigenvalues back off ``λ/(1 − s²)`` turns an error
``d(s²)`` of the decoder into a relative error ``dσ²/σ² = (σ²/λ) d(s²)`` — at most 16 times
``d(s²)`` for digits' k = 8, against 179 times at λ = 1. ``benchmarks/bench_pca.py`` runs both.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lae_core import _validate as v
from lae_core import landscape, solvers

__all__ = ["DataSet", "Race", "ReferencePCA", "alignment", "authors_svd_error", "decoder_directions",
           "digits", "direction_cosines", "largest_principal_angle", "over_regularized", "parse_upload",
           "race", "reference_pca", "suggested_lam", "surviving_directions"]

#: A visitor's file may hold at most this many bytes, rows (samples) and columns (variables).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_ROWS = 5000
MAX_UPLOAD_COLUMNS = 1000

# Orthonormal columns are checked entry-wise to this absolute tolerance (as landscape does).
_ORTHONORMAL_ATOL = 1e-8

# ``race`` calls ``progress`` after the first step, then at most this often (seconds), and once
# at the end.
_PROGRESS_EVERY = 0.1


# --------------------------------------------------------------------------- data sets


@dataclass(frozen=True, eq=False)
class DataSet:
    """Data for LAE-PCA, in the module's convention.

    Attributes
    ----------
    name : str
    X : ndarray, shape (m, n)
        One sample per column, rows mean-centred (and divided by √n for digits and uploads).
    labels : ndarray of int, shape (n,), or None
        A class per sample (digits: the digit), for colouring an embedding.
    image_shape : tuple of int, or None
        ``(8, 8)`` for digits: a direction (length m) is drawn as an image of this shape.
    directions : ndarray, shape (m, r), or None
        The exact principal directions when the construction knows them (over_regularized).
    eigenvalues : ndarray, shape (r,), or None
        The exact eigenvalues of ``X Xᵀ`` in that case, descending.
    description : str
        One sentence for the page.
    """

    name: str
    X: np.ndarray = field(repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    image_shape: tuple[int, int] | None = None
    directions: np.ndarray | None = field(default=None, repr=False)
    eigenvalues: np.ndarray | None = field(default=None, repr=False)
    description: str = ""


def _covariance_data(samples: np.ndarray) -> np.ndarray:
    """Rows = samples (n × m) → ``X`` (m × n), rows centred and divided by √n."""
    n = samples.shape[0]
    centred = samples - samples.mean(axis=0)
    return np.ascontiguousarray(centred.T / math.sqrt(n))


def digits() -> DataSet:
    """scikit-learn's bundled handwritten digits (``load_digits``; no download).

    1 797 images of 8 × 8 pixels with values 0–16, so ``m = 64`` and ``n = 1797``; ``X`` is
    centred and divided by √n (``X Xᵀ`` is the pixel covariance: its eigenvalues run 178.9,
    163.6, 141.7, 101.0, 69.5, 59.1, 51.9, 44.0, 40.3, … and vanish after the 61st).

    Returns
    -------
    DataSet
        With ``labels`` (the digits 0–9) and ``image_shape = (8, 8)``.
    """
    from sklearn.datasets import load_digits    # scikit-learn imports slowly: only when asked

    bunch = load_digits()
    X = _covariance_data(np.asarray(bunch.data, dtype=float))
    return DataSet("digits", X, np.asarray(bunch.target, dtype=int), (8, 8),
                   description="scikit-learn's 1 797 handwritten digits, 8 × 8 pixels (m = 64), "
                               "centred, X Xᵀ = the pixel covariance")


@v.finite_result
def over_regularized(seed: int = 0) -> DataSet:
    """Petrevski's over-regularized data: ``m = 20``, ``n = 30``, ``σᵢ = (21 − i)/5``.

    ``X = U diag(σ) Vᵀ`` with the singular values 4.0, 3.8, …, 0.2 and random orthonormal
    ``U`` (20 × 20) and ``V`` (30 × 20) drawn from ``seed`` (``landscape.random_data``, whose
    ``V`` is orthogonal to the all-ones vector, so every row of ``X`` has mean 0). The
    eigenvalues of ``X Xᵀ`` are ``σᵢ² = 16, 14.44, …, 0.04``; with λ between them only the
    ``m₀ = #{σᵢ² > λ}`` top directions survive the sum loss, and a decoder with ``k > m₀``
    has ``k − m₀`` collapsed columns.

    Parameters
    ----------
    seed : int
        Seed ≥ 0 of ``numpy.random.default_rng``.

    Returns
    -------
    DataSet
        With the exact ``directions`` (U) and ``eigenvalues`` (σ²).

    Raises
    ------
    ValueError
        ``seed`` not a whole number ≥ 0.
    """
    seed = v.integer("seed", seed, minimum=0)
    sigma = (21.0 - np.arange(1, 21)) / 5.0
    X, U = landscape.random_data(20, 30, sigma, seed=seed)
    return DataSet("over-regularized", X, directions=U, eigenvalues=sigma**2,
                   description="Petrevski's construction: m = 20, n = 30, singular values "
                               "σᵢ = (21 − i)/5 = 4.0, 3.8, …, 0.2")


def _numbers_only(array: np.ndarray, what: str) -> np.ndarray:
    """A 2-D array of real numbers (ints or floats), finite, within the size limits."""
    if array.dtype.hasobject:
        raise ValueError(f"{what} holds Python objects (a pickled array); only numbers are read")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{what} must hold real numbers (ints or floats); it holds "
                         f"{array.dtype} values")
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D table (rows = samples, columns = variables); "
                         f"got {array.ndim} dimension(s), shape {array.shape}")
    return _check_table(array.astype(float), what)


def _check_table(table: np.ndarray, what: str) -> np.ndarray:
    rows, columns = table.shape
    if rows > MAX_UPLOAD_ROWS or columns > MAX_UPLOAD_COLUMNS:
        raise ValueError(f"{what} is too big: {rows} rows × {columns} columns; at most "
                         f"{MAX_UPLOAD_ROWS} rows (samples) × {MAX_UPLOAD_COLUMNS} columns")
    if columns < 1:
        raise ValueError(f"{what} has no columns")
    if rows < 2:
        raise ValueError(f"{what} has {rows} row(s); PCA needs at least 2 samples (rows)")
    bad = ~np.isfinite(table)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"{what}: row {r + 1}, column {c + 1} is {float(table[r, c])}; every value "
                         "must be a finite number (no NaN or infinity)")
    return table


def _read_npy(data: bytes, what: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"{what} holds Python objects (a pickled array); only numbers are "
                             "read, and pickles are never loaded") from None
        raise ValueError(f"{what} is not a readable .npy array ({exc})") from None
    except (OSError, EOFError, TypeError) as exc:
        raise ValueError(f"{what} is not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{what} is not a single .npy array")
    return _numbers_only(array, what)


def _read_csv(data: bytes, what: str) -> np.ndarray:
    if b"\x00" in data:
        raise ValueError(f"{what} is binary, not a text CSV file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text; a CSV file of numbers is expected") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{what} is empty")
    if len(lines) > MAX_UPLOAD_ROWS:
        raise ValueError(f"{what} is too big: {len(lines)} rows; at most {MAX_UPLOAD_ROWS} rows "
                         f"(samples) × {MAX_UPLOAD_COLUMNS} columns")
    first = lines[0]
    delimiter = next((d for d in ",;\t" if d in first), None)
    if delimiter is None:
        rows = [line.split() for line in lines]
    else:
        rows = list(csv.reader(lines, delimiter=delimiter))
    width = len(rows[0])
    if width > MAX_UPLOAD_COLUMNS:
        raise ValueError(f"{what} is too big: {width} columns; at most {MAX_UPLOAD_COLUMNS}")
    table = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{what}: row {i + 1} has {len(row)} values but row 1 has {width}; "
                             "every row must have the same number of columns")
        for j, cell in enumerate(row):
            try:
                table[i, j] = float(cell)
            except ValueError:
                hint = " (a header row is not allowed: numbers only)" if i == 0 else ""
                raise ValueError(f"{what}: row {i + 1}, column {j + 1} is {cell.strip()[:40]!r}, "
                                 f"not a number{hint}") from None
    return _check_table(table, what)


def parse_upload(data: bytes, filename: str) -> DataSet:
    """A visitor's file of numbers as a ``DataSet`` (rows = samples, columns = variables).

    ``.npy`` (recognised by its name or its magic bytes) is read with
    ``np.load(allow_pickle=False)``: ints or floats, 2-D. Anything else is read as CSV text
    (UTF-8; separated by commas, semicolons, tabs or spaces; numbers only, no header row). At
    most ``MAX_UPLOAD_BYTES`` (10 MiB), ``MAX_UPLOAD_ROWS`` (5 000) rows and
    ``MAX_UPLOAD_COLUMNS`` (1 000) columns; at least 2 rows. The ``n × m`` table becomes ``X``
    (m × n), centred and divided by √n (module docstring). Nothing is written to disk.

    Parameters
    ----------
    data : bytes
        The file's contents.
    filename : str
        Its name as the visitor's browser gave it (only its extension is used).

    Returns
    -------
    DataSet

    Raises
    ------
    ValueError
        With a message for the visitor saying what is wrong: too big, binary or not UTF-8,
        a pickled or non-numeric ``.npy``, a cell that is not a number (its row and column),
        NaN or infinity, rows of different lengths, fewer than 2 rows, every column constant,
        values so large that the covariance overflows.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ValueError(f"data must be the file's bytes; got {type(data).__name__}")
    if not isinstance(filename, str):
        raise ValueError(f"filename must be a string; got {type(filename).__name__}")
    name = filename.strip() or "the file"
    what = f"The file {name[:80]!r}" if filename.strip() else "The file"
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"{what} is too big: {len(data) / 2**20:.1f} MiB; at most "
                         f"{MAX_UPLOAD_BYTES // 2**20} MiB")
    if not data:
        raise ValueError(f"{what} is empty")
    if name.lower().endswith(".npy") or data.startswith(b"\x93NUMPY"):
        table = _read_npy(data, what)
    else:
        table = _read_csv(data, what)
    if not (table.max(axis=0) > table.min(axis=0)).any():
        raise ValueError(f"{what}: every column is constant, so there is no variance to find "
                         "directions in")
    with np.errstate(all="ignore"):
        X = _covariance_data(table)
        A = X @ X.T
    if not (np.isfinite(X).all() and np.isfinite(A).all()):
        raise ValueError(f"{what} holds values too large: their covariance overflows float64")
    rows, columns = table.shape
    return DataSet(name, X, description=f"{name}: {rows} samples × {columns} variables, centred, "
                                        "X Xᵀ = the covariance")


@v.finite_result
def suggested_lam(eigenvalues, k: int) -> float:
    """A default λ for LAE-PCA with k directions: ``σ_k²/4`` (module docstring).

    Parameters
    ----------
    eigenvalues : array_like, shape (r,)
        Eigenvalues of ``X Xᵀ``, descending, ``r ≥ k``.
    k : int
        ``1 ≤ k ≤ r``.

    Returns
    -------
    float
        ``σ_k² / 4`` (0 when ``σ_k² = 0``: the k-th direction carries no variance).

    Raises
    ------
    ValueError
        ``eigenvalues`` not finite, non-negative and descending; ``k`` out of range.
    """
    ev = v.array("eigenvalues", eigenvalues, ndim=1)
    if ev.size == 0 or (ev < 0).any() or (np.diff(ev) > 0).any():
        raise ValueError("eigenvalues must be non-negative and descending (σ₁² ≥ σ₂² ≥ …)")
    k = v.integer("k", k, minimum=1, maximum=ev.size)
    return float(ev[k - 1]) / 4.0


# --------------------------------------------------------------------------- reference PCA


@dataclass(frozen=True, eq=False)
class ReferencePCA:
    """PCA of ``X`` by a library routine, timed.

    Attributes
    ----------
    method : str
        ``"numpy.linalg.svd"`` or ``"sklearn randomized_svd"``.
    directions : ndarray, shape (m, k)
        The top k left singular vectors of ``X`` (principal directions), each signed so that
        its largest-magnitude entry is positive.
    eigenvalues : ndarray, shape (k,)
        Their eigenvalues of ``X Xᵀ`` (squared singular values), descending.
    seconds : float
        Wall time of the routine on ``X``.
    """

    method: str
    directions: np.ndarray = field(repr=False)
    eigenvalues: np.ndarray = field(repr=False)
    seconds: float


def _sign_fixed(U: np.ndarray) -> np.ndarray:
    """Columns flipped so that each one's largest-magnitude entry is positive."""
    idx = np.argmax(np.abs(U), axis=0)
    signs = np.sign(U[idx, np.arange(U.shape[1])])
    return U * np.where(signs == 0, 1.0, signs)


@v.finite_result
def reference_pca(X, k: int, *, seed: int = 0) -> tuple[ReferencePCA, ReferencePCA]:
    """The top-k PCA of ``X`` by NumPy's SVD and by scikit-learn's randomized SVD, timed.

    ``np.linalg.svd(X, full_matrices=False)`` (LAPACK's divide and conquer, exact to rounding)
    and ``sklearn.utils.extmath.randomized_svd(X, k, random_state=seed)`` (Halko et al., with
    scikit-learn's default oversampling and power iterations) on the same ``X``.

    Parameters
    ----------
    X : array_like, shape (m, n)
    k : int
        ``1 ≤ k ≤ min(m, n)``.
    seed : int
        Seed ≥ 0 of the randomized SVD.

    Returns
    -------
    (ReferencePCA, ReferencePCA)
        NumPy's, then scikit-learn's.

    Raises
    ------
    ValueError
        ``X`` not a finite 2-D array; ``k`` out of range; ``seed`` < 0.
    """
    from sklearn.utils.extmath import randomized_svd

    X = v.matrix("X", X)
    m, n = X.shape
    if m < 1 or n < 1:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    k = v.integer("k", k, minimum=1, maximum=min(m, n))
    seed = v.integer("seed", seed, minimum=0, maximum=2**32 - 1)
    t0 = time.perf_counter()
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    exact = ReferencePCA("numpy.linalg.svd", _sign_fixed(U[:, :k]), S[:k] ** 2, time.perf_counter() - t0)
    t0 = time.perf_counter()
    U, S, _ = randomized_svd(X, k, random_state=seed)
    randomized = ReferencePCA("sklearn randomized_svd", _sign_fixed(U), S**2, time.perf_counter() - t0)
    return exact, randomized


# --------------------------------------------------------------------------- error metrics


def _decoder_and_reference(W2, U, *, columns: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Checked decoder ``W2`` (m × k) and reference directions ``U`` (m × r, orthonormal,
    ``r ≥ k`` when ``columns``)."""
    W2 = v.matrix("W2", W2)
    m, k = W2.shape
    if m < 1 or not 1 <= k <= m:
        raise ValueError(f"W2 must be an m × k decoder with 1 ≤ k ≤ m; got shape {W2.shape}")
    U = v.matrix("U", U)
    if U.shape[0] != m or U.shape[1] < 1 or U.shape[1] > m:
        raise ValueError(f"U must have m = {m} rows and between 1 and {m} columns; got {U.shape}")
    if columns and U.shape[1] < k:
        raise ValueError(f"U must hold at least k = {k} directions; got {U.shape[1]}")
    if not np.allclose(U.T @ U, np.eye(U.shape[1]), rtol=0.0, atol=_ORTHONORMAL_ATOL):
        raise ValueError("U must have orthonormal columns (the principal directions)")
    return W2, U


def _decoder_svd(W2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    U, s, _ = np.linalg.svd(W2, full_matrices=False)
    return U, s


@v.finite_result
def decoder_directions(W2) -> tuple[np.ndarray, np.ndarray]:
    """The decoder's left singular vectors and singular values, ``W2 = Û S Rᵀ`` — LAE-PCA's
    principal directions (each up to sign) and the ``s`` of ``σ² = λ/(1 − s²)``.

    Parameters
    ----------
    W2 : array_like, shape (m, k)

    Returns
    -------
    directions : ndarray, shape (m, k)
        Orthonormal columns in the order of ``s``, each signed so that its largest-magnitude
        entry is positive.
    s : ndarray, shape (k,)
        Descending.

    Raises
    ------
    ValueError
        ``W2`` not a finite m × k matrix with ``1 ≤ k ≤ m``.
    """
    W2 = v.matrix("W2", W2)
    m, k = W2.shape
    if m < 1 or not 1 <= k <= m:
        raise ValueError(f"W2 must be an m × k decoder with 1 ≤ k ≤ m; got shape {W2.shape}")
    U, s = _decoder_svd(W2)
    return _sign_fixed(U), s


def _largest_angle(Uh: np.ndarray, Uk: np.ndarray) -> float:
    # sin θ_max = ‖(I − ÛÛᵀ) U_k‖₂, its square the top eigenvalue of the k × k matrix RᵀR:
    # accurate for small angles, where arccos of the cosines loses every digit below 1e-8.
    R = Uk - Uh @ (Uh.T @ Uk)
    top = float(np.linalg.eigvalsh(R.T @ R)[-1])
    return math.asin(min(1.0, math.sqrt(max(top, 0.0))))


@v.finite_result
def largest_principal_angle(W2, U) -> float:
    """The largest principal angle (radians) between the decoder's k-dim subspace and PCA's.

    ``θ_max = arcsin ‖(I − ÛÛᵀ) U_k‖₂``, with ``Û`` the decoder's ``k`` left singular vectors
    (its column space when it has full rank) and ``U_k`` the first ``k`` columns of ``U``.
    0 when the subspaces agree (whatever the directions inside them), π/2 when some direction
    of one is orthogonal to the other.

    Parameters
    ----------
    W2 : array_like, shape (m, k)
    U : array_like, shape (m, r)
        True principal directions, orthonormal, ``r ≥ k`` (the first k are used).

    Returns
    -------
    float in [0, π/2]

    Raises
    ------
    ValueError
        Bad ``W2``; ``U`` of the wrong shape, with fewer than k columns, or not orthonormal.
    """
    W2, U = _decoder_and_reference(W2, U)
    return _largest_angle(_decoder_svd(W2)[0], U[:, : W2.shape[1]])


@v.finite_result
def direction_cosines(W2, U) -> np.ndarray:
    """``|⟨ûᵢ, uᵢ⟩|`` for i = 1..k: each decoder direction against the principal direction of
    the same rank — 1 when the LAE has learned the directions themselves, not just their span.

    Parameters and raised errors are those of ``largest_principal_angle``.

    Returns
    -------
    ndarray, shape (k,), in [0, 1]
    """
    W2, U = _decoder_and_reference(W2, U)
    k = W2.shape[1]
    Uh = _decoder_svd(W2)[0]
    return np.minimum(1.0, np.abs(np.einsum("ij,ij->j", Uh, U[:, :k])))


def _authors_error(Uh: np.ndarray, Uk: np.ndarray) -> float:
    return float(np.minimum(np.linalg.norm(Uk - Uh, axis=0), np.linalg.norm(Uk + Uh, axis=0)).sum())


@v.finite_result
def authors_svd_error(W2, U) -> float:
    """The authors' error metric (``compute_svd_error`` in their ``algorithms.py``)::

        Σᵢ₌₁ᵏ min(‖uᵢ − ûᵢ‖, ‖uᵢ + ûᵢ‖)

    the distance of each decoder direction ``ûᵢ`` (left singular vectors of ``W2``, descending)
    from the principal direction ``uᵢ``, up to sign. 0 exactly when every direction is learned;
    at most ``k·√2``.

    Parameters and raised errors are those of ``largest_principal_angle``.

    Returns
    -------
    float
    """
    W2, U = _decoder_and_reference(W2, U)
    return _authors_error(_decoder_svd(W2)[0], U[:, : W2.shape[1]])


@v.finite_result
def alignment(W2, U) -> np.ndarray:
    """The alignment heat map: ``|Ûᵀ U|``, the |cosines| between the decoder's left singular
    vectors (rows, in descending order of singular value) and the principal directions
    (columns, in descending order of eigenvalue).

    A decoder that has learned the principal directions gives the identity in its first k
    columns (Theorem: ``W2 = U_k (I − λΣ_k⁻²)^{1/2} Oᵀ``). Only the subspace learned (the
    unregularized or product loss) gives a full k × k block that is orthogonal but not
    diagonal. On over-regularized data (``m₀ = #{σᵢ² > λ} < k``) the sum loss collapses
    ``k − m₀`` decoder columns to zero; their singular vectors are an arbitrary orthonormal
    completion, so rows and columns ``m₀ + 1 … k`` hold a ``(k − m₀) × (k − m₀)`` block of
    noise. The synthetic loss ``w_σ L_σ + w_π L_π`` collapses only where ``σᵢ² ≤ w_σλ`` and
    removes it.

    Parameters
    ----------
    W2 : array_like, shape (m, k)
    U : array_like, shape (m, r)
        Principal directions, orthonormal (any number ``1 ≤ r ≤ m`` of them).

    Returns
    -------
    ndarray, shape (k, r), entries in [0, 1]

    Raises
    ------
    ValueError
        Bad ``W2``; ``U`` of the wrong shape or not orthonormal.
    """
    W2, U = _decoder_and_reference(W2, U, columns=False)
    return np.minimum(1.0, np.abs(_decoder_svd(W2)[0].T @ U))


@v.finite_result
def surviving_directions(eigenvalues, lam, *, kind="sum", w_sigma=None) -> int:
    """``m₀ = #{σᵢ² > λ_σ}``: how many directions a minimum of the loss keeps.

    The weight penalty ``λ_σ`` (λ for the sum loss, ``w_σλ`` for the synthetic loss) collapses
    every direction with ``σᵢ² ≤ λ_σ``; the product and unregularized losses collapse none.

    Parameters
    ----------
    eigenvalues : array_like, shape (r,)
        Eigenvalues of ``X Xᵀ`` (any order), ≥ 0.
    lam : float
        λ ≥ 0.
    kind : {"sum", "product", "unregularized", "synthetic"}
    w_sigma : float, optional
        For ``kind="synthetic"`` only (required there).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        ``eigenvalues`` not finite and ≥ 0; bad ``lam``, ``kind`` or ``w_sigma``.
    """
    kind, w_sigma = landscape._loss_kind(kind, w_sigma)
    lam = v.lam(lam)
    ev = v.array("eigenvalues", eigenvalues, ndim=1)
    if (ev < 0).any():
        raise ValueError("eigenvalues must be ≥ 0 (eigenvalues of X Xᵀ)")
    lam_sum, _ = landscape._penalties(kind, lam, w_sigma)
    return int(np.sum(ev > lam_sum))


# --------------------------------------------------------------------------- the race


@dataclass(frozen=True, eq=False)
class Race:
    """One solver run with PCA's error metrics at every iteration (``race``).

    Attributes
    ----------
    method, kind : str
    lam : float
    w_sigma : float or None
    lr : float or None
        As ``solvers.Trajectory.lr``.
    iterations : ndarray of int, shape (T,)
        0, 1, …, T − 1 (iteration 0 is the start).
    seconds : ndarray, shape (T,)
        Elapsed solver time up to each iterate: the set-up (``X Xᵀ`` and its eigendecomposition)
        at iteration 0, then the steps; the metrics' own time is left out, as the authors'
        timer leaves out ``compute_svd_error``.
    loss : ndarray, shape (T,)
    transpose_gap : ndarray, shape (T,)
        ``‖W1 − W2ᵀ‖_F``.
    largest_angle : ndarray, shape (T,)
        ``largest_principal_angle``, radians.
    cosines : ndarray, shape (T, k)
        ``direction_cosines``.
    authors_error : ndarray, shape (T,)
        ``authors_svd_error``.
    eigenvalues : ndarray, shape (T, k), or None
        ``solvers.recovered_eigenvalues`` of the decoder (sum and synthetic losses; ``None``
        for the others, whose decoder does not give them); ``inf`` where a singular value is
        ≥ 1 (early iterates).
    relative_error : ndarray, shape (T,), or None
        ``max_i |σ̂ᵢ² − σᵢ²| / σᵢ²`` against the reference eigenvalues, over the directions with
        ``σᵢ² > 0`` (``inf`` as above).
    status : {"converged", "oscillating", "max_iter", "diverged", "reached", "cancelled"}
        As ``solvers.Trajectory.status``; ``"reached"``: the targets were met.
    message : str
    metric_seconds : float
        Total time spent on the metrics (not in ``seconds``).
    W1 : ndarray, shape (k, m)
    W2 : ndarray, shape (m, k)
        The last iterate.
    """

    method: str
    kind: str
    lam: float
    w_sigma: float | None
    lr: float | None
    iterations: np.ndarray = field(repr=False)
    seconds: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    transpose_gap: np.ndarray = field(repr=False)
    largest_angle: np.ndarray = field(repr=False)
    cosines: np.ndarray = field(repr=False)
    authors_error: np.ndarray = field(repr=False)
    eigenvalues: np.ndarray | None = field(repr=False)
    relative_error: np.ndarray | None = field(repr=False)
    status: str
    message: str
    metric_seconds: float
    W1: np.ndarray = field(repr=False)
    W2: np.ndarray = field(repr=False)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def _reference(reference, A: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(directions (m, ≥k), eigenvalues (≥k,))``, or exact ones from ``A``."""
    m = A.shape[0]
    if reference is None:
        E, V = np.linalg.eigh(A)
        return V[:, ::-1][:, :k], np.maximum(E[::-1][:k], 0.0)
    try:
        U, ev = reference
    except (TypeError, ValueError):
        raise ValueError("reference must be a pair (directions (m × k), eigenvalues (k,))") from None
    U = v.matrix("reference", U)
    ev = v.array("reference", ev, ndim=1)
    if U.shape[0] != m or U.shape[1] < k or ev.size < k:
        raise ValueError(f"reference must give at least k = {k} directions of length m = {m} "
                         f"and their eigenvalues; got {U.shape} and {ev.shape}")
    if not np.allclose(U.T @ U, np.eye(U.shape[1]), rtol=0.0, atol=_ORTHONORMAL_ATOL):
        raise ValueError("reference: the directions must be orthonormal")
    if (ev[:k] <= 0).any():
        raise ValueError("reference: the eigenvalues must be > 0")
    return U[:, :k], ev[:k]


def race(method, k, lam, *, X=None, A=None, reference=None, kind="sum", w_sigma=None,
         W1=None, W2=None, lr=None, max_iter=10_000, tol=1e-12, seed=0, batch_size=None,
         target_angle=None, target_relative_error=None,
         progress: Callable[[float], object] | None = None, cancel=None,
         stream: Callable[[dict], object] | None = None) -> Race:
    """Run one LAE-PCA solver, recording PCA's error metrics and the time at every iteration.

    The run is ``solvers.solve``'s (the same updates, start, learning rate and stopping rules)
    without storing the iterates. It stops when the solver stops, when ``target_angle`` (and
    ``target_relative_error``, if given) are met — status ``"reached"`` — or when ``cancel``
    is set — status ``"cancelled"``, with everything recorded so far. For a worker thread:
    it calls ``progress(fraction)`` (fraction of ``max_iter`` done, in [0, 1]) after the first
    step, then at most every 0.1 s, and once at the end, and checks ``cancel.is_set()`` before
    every step. At the same
    moments it hands ``stream`` the iterates recorded since its last call, so that a page can
    draw the race while it runs: a dict of arrays, one entry per iterate, with the keys
    ``iteration``, ``seconds``, ``loss``, ``transpose_gap``, ``largest_angle``,
    ``authors_error`` and ``relative_error`` (``None`` where ``Race.relative_error`` is). The
    pieces, joined, are the returned ``Race``'s columns.

    Cost per iteration, after forming ``X Xᵀ`` once: the step O(m²k) (O(m²b) more per
    mini-batch of b columns), the loss O(mkr) with ``r = rank(X Xᵀ) ≤ m`` (through the thin
    factor ``F Fᵀ = X Xᵀ``), the metrics O(mk²) (the SVD of the m × k decoder and products
    with the k reference directions). Nothing is O(mnk).

    Parameters
    ----------
    method : str
        One of ``solvers.METHODS`` or ``solvers.VARIANTS``.
    k : int
        ``1 ≤ k ≤ m``.
    lam : float
        λ ≥ 0.
    X : array_like, shape (m, n), optional
        The data; or give ``A`` (exactly one of the two).
    A : array_like, shape (m, m), optional
        ``X Xᵀ`` (symmetric positive semi-definite); no mini-batches then.
    reference : (array_like (m, r), array_like (r,)), optional
        Principal directions (orthonormal, ``r ≥ k``) and their eigenvalues to measure
        against; default the exact ones, from the eigendecomposition of ``X Xᵀ`` (not timed).
    kind, w_sigma, W1, W2, lr, max_iter, tol, seed, batch_size
        As ``solvers.solve``; ``tol`` defaults to 1e-12 here.
    target_angle : float, optional
        Stop when the largest principal angle is at most this (radians, > 0) …
    target_relative_error : float, optional
        … and the recovered eigenvalues are within this relative error (> 0; sum and
        synthetic losses).
    progress : callable, optional
        Called with the fraction done.
    cancel : threading.Event, optional
        Anything with ``is_set()``; set it to stop the run.
    stream : callable, optional
        Called with the rows recorded since its last call (see above).

    Returns
    -------
    Race

    Raises
    ------
    ValueError
        As ``solvers.solve``; both or neither of ``X`` and ``A``; ``A`` not symmetric PSD;
        a bad ``reference``; ``target_angle`` or ``target_relative_error`` not > 0, or
        ``target_relative_error`` for a loss without eigenvalues; ``progress`` or ``stream``
        not callable; ``cancel`` without ``is_set``.
    """
    if target_angle is not None:
        target_angle = v.real("target_angle", target_angle, minimum=0.0, strict=True)
    if target_relative_error is not None:
        target_relative_error = v.real("target_relative_error", target_relative_error,
                                       minimum=0.0, strict=True)
    if progress is not None and not callable(progress):
        raise ValueError("progress must be a callable taking the fraction done")
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise ValueError("cancel must be a threading.Event (anything with is_set())")
    if stream is not None and not callable(stream):
        raise ValueError("stream must be a callable taking the rows recorded since its last call")
    # NumPy's floating-point warnings are off inside (a number too large becomes inf, as in
    # ``solvers.solve``); a result that is not finite where it must be is a ValueError.
    try:
        with np.errstate(all="ignore"):
            t0 = time.perf_counter()
            p = solvers._prepare(method, X, k, lam, W1, W2, lr, max_iter, tol, batch_size, seed, kind,
                                 w_sigma, A=A)
            setup = time.perf_counter() - t0
            U, true_ev = _reference(reference, p.A, p.W1.shape[0])
            readable = p.kind in ("sum", "synthetic") and p.lam > 0
            if target_relative_error is not None and not readable:
                raise ValueError("target_relative_error: only the sum and synthetic losses (λ > 0) "
                                 "give eigenvalues to compare")
            run = _run_race(p, _Recorder(p, U, true_ev, readable), setup, target_angle,
                            target_relative_error, progress, cancel, stream)
    except OverflowError:         # a Python float beyond float64 (the default learning rate)
        run = None
    if run is None or not v._all_finite((run.seconds, run.loss, run.transpose_gap, run.largest_angle,
                                         run.cosines, run.authors_error, run.W1, run.W2)) or (
            run.eigenvalues is not None and np.isnan(run.eigenvalues).any()):
        raise ValueError("X, A, W1, W2, lam: the race's numbers exceed float64's range (about "
                         "1.8e308); use smaller values")
    return run


class _Recorder:
    """The race's columns, one entry per iterate, and the time spent computing them."""

    def __init__(self, p, U: np.ndarray, true_ev: np.ndarray, readable: bool):
        self.p, self.U, self.true_ev, self.readable = p, U, true_ev, readable
        self.columns = {name: [] for name in ("seconds", "loss", "gap", "angle", "cosines", "error", "ev")}
        self.seconds = 0.0

    def record(self, W1: np.ndarray, W2: np.ndarray, loss: float, elapsed: float) -> None:
        t0 = time.perf_counter()
        c, U = self.columns, self.U
        Uh, s = _decoder_svd(W2)
        c["seconds"].append(elapsed)
        c["loss"].append(loss)
        c["gap"].append(float(solvers._gap((W1 - W2.T)[None])[0]))
        c["angle"].append(_largest_angle(Uh, U))
        c["cosines"].append(np.minimum(1.0, np.abs(np.einsum("ij,ij->j", Uh, U))))
        c["error"].append(_authors_error(Uh, U))
        if self.readable:
            c["ev"].append(solvers._recovered_eigenvalues(s, self.p.lam, self.p.lam_prod))
        self.seconds += time.perf_counter() - t0

    def rows(self, start: int) -> dict:
        """The iterates recorded from ``start`` on, as ``race``'s ``stream`` receives them."""
        c = self.columns
        stop = len(c["seconds"])
        rel = None
        if self.readable:
            rel = (_relative_error(np.array(c["ev"][start:stop]), self.true_ev) if stop > start
                   else np.zeros(0))
        return {"iteration": np.arange(start, stop), "seconds": np.array(c["seconds"][start:stop]),
                "loss": np.array(c["loss"][start:stop]), "transpose_gap": np.array(c["gap"][start:stop]),
                "largest_angle": np.array(c["angle"][start:stop]),
                "authors_error": np.array(c["error"][start:stop]), "relative_error": rel}

    def reached(self, target_angle, target_relative_error) -> bool:
        c = self.columns
        if target_angle is None or c["angle"][-1] > target_angle:
            return False
        return (target_relative_error is None
                or float(_relative_error(c["ev"][-1][None], self.true_ev)[0]) <= target_relative_error)


def _run_race(p, rec: _Recorder, setup: float, target_angle, target_relative_error, progress,
              cancel, stream) -> Race:
    """``solvers._iterate``'s run, each iterate recorded; the stopping rules of ``race``."""
    streamed = 0

    def report(fraction: float) -> None:
        nonlocal streamed
        if progress is not None:
            progress(fraction)
        if stream is not None:
            rows = rec.rows(streamed)
            streamed += len(rows["iteration"])
            stream(rows)

    elapsed = setup
    rec.record(p.W1, p.W2, landscape._loss_value(p.kind, p.F, p.lam, p.W1, p.W2, p.w_sigma), elapsed)
    W1, W2 = p.W1, p.W2
    steps = solvers._iterate(p)
    last_report = -math.inf  # the first step is reported at once: a page shows the run's start
    status, t, detail = "max_iter", 0, (math.inf, 0.0)
    while True:
        if rec.reached(target_angle, target_relative_error):
            status = "reached"
            break
        if cancel is not None and cancel.is_set():
            status = "cancelled"
            break
        s0 = time.perf_counter()
        try:
            W1, W2, loss = next(steps)
        except StopIteration as stop:
            status, t, detail = stop.value
            elapsed += time.perf_counter() - s0
            break
        elapsed += time.perf_counter() - s0
        t += 1
        rec.record(W1, W2, loss, elapsed)
        if time.perf_counter() - last_report >= _PROGRESS_EVERY:
            report(min(1.0, t / p.max_iter))
            last_report = time.perf_counter()
    report(min(1.0, t / p.max_iter) if status == "cancelled" else 1.0)

    c = rec.columns
    T = len(c["seconds"])
    if status == "reached":
        message = f"reached the targets after {solvers._plural(T - 1)}"
    elif status == "cancelled":
        message = f"cancelled after {solvers._plural(T - 1)}"
    else:
        message = solvers._message(p, status, t, detail)
    ev = rel = None
    if rec.readable:
        ev = np.array(c["ev"])
        rel = _relative_error(ev, rec.true_ev)
    return Race(p.method, p.kind, p.lam, p.w_sigma, p.lr, np.arange(T), np.array(c["seconds"]),
                np.array(c["loss"]), np.array(c["gap"]), np.array(c["angle"]), np.array(c["cosines"]),
                np.array(c["error"]), ev, rel, status, message, rec.seconds, np.array(W1), np.array(W2))


def _relative_error(estimates: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``max_i |σ̂ᵢ² − σᵢ²| / σᵢ²`` per row of ``estimates`` (T, k), over the directions with
    ``σᵢ² > 0`` (0 when there are none); ``inf`` where an estimate is ``inf``."""
    keep = truth > 0
    if not keep.any():
        return np.zeros(len(estimates))
    with np.errstate(invalid="ignore", over="ignore"):
        rel = np.max(np.abs(estimates[:, keep] - truth[keep]) / truth[keep], axis=1)
    return np.where(np.isfinite(estimates).all(axis=1), rel, np.inf)
