"""Bad numbers: every public ``lae_core`` function, fed hostile arguments, returns only finite
numbers or raises ``ValueError`` (DESIGN.md, "What bad input gets").

Each entry of ``FUZZ`` draws one call: a *valid* call (consistent shapes, finite numbers of
any size — 1e308 included) in which any subset of the arguments may be swapped for a hostile
value — NaN, ±inf, huge or negative numbers, 10⁴⁰⁰, wrong types (strings, None, lists, complex),
wrong shapes, empty arrays. The call must then either

- return a result whose every float (recursively through tuples, lists, dicts, dataclasses and
  the ``Trajectory`` of a solver run, which drops a diverging iterate rather than record it) is
  finite, or
- raise ``ValueError`` (``numpy.linalg.LinAlgError`` is one).

Anything else — TypeError, OverflowError, ZeroDivisionError, MemoryError, a RuntimeWarning
(overflow, invalid value; turned into an error here), a NaN or inf in the result — fails.
``test_every_public_function_is_fuzzed`` fails when a public function has no entry, so a new
function cannot slip past.

Examples per function: ``LAE_FUZZ_EXAMPLES`` (default 100; a stress run sets more, e.g. 3000).
The regression tests at the end pin the bugs this fuzzing found.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import math
import os
import time
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lae_core import collapse, grassmann, landscape, pca, scalar, solvers, theorem

MODULES = {"scalar": scalar, "landscape": landscape, "solvers": solvers, "collapse": collapse,
           "grassmann": grassmann, "pca": pca, "theorem": theorem}
EXAMPLES = int(os.environ.get("LAE_FUZZ_EXAMPLES", "100"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.filter_too_much])

NAN, INF = float("nan"), float("inf")
LOSSES = scalar.LOSSES

# --------------------------------------------------------------------------- building blocks

#: finite floats of every size: the ones a page uses, and the ones that overflow on squaring
BIG = [0.0, -0.0, 1.0, -1.0, 1e308, -1e308, 1e200, -1e200, 1e154, 1.5e154, 1e-308, 5e-324, -5e-324]
moderate = st.floats(-4, 4)
# a valid call is mostly of moderate numbers, so that it reaches the computation
finite_float = st.one_of(moderate, moderate, moderate, st.sampled_from(BIG),
                         st.floats(allow_nan=False, allow_infinity=False))
nonneg_float = finite_float.map(abs)
element = st.one_of(*[moderate] * 6, st.sampled_from(BIG))

#: anything that is not a finite real number
HOSTILE_SCALARS = [NAN, INF, -INF, -1.0, -1e308, 10**400, -(10**400), Fraction(10**400, 3), Decimal("NaN"),
                   Decimal("1e400"), np.float32("nan"), np.float64("inf"), np.array(np.nan), np.array(10.0**300),
                   np.longdouble("1e4000"), 1j, complex(1, 0), np.complex128(1 + 1j), True, np.bool_(True),
                   None, "banana", "1.0", "", b"2", [1.0], [], (1.0, 2.0), {"x": 1}, np.array([1.0, 2.0]),
                   np.array(["a"]), object()]
hostile_scalar = st.one_of(st.sampled_from(HOSTILE_SCALARS), st.floats(), st.integers(-(10**30), 10**30))

HOSTILE_ARRAYS = [None, "banana", "", [], [[]], [[1.0], [2.0, 3.0]], [1.0, "x"], [None, 1.0], {"a": 1},
                  NAN, INF, 1e308, np.array([NAN]), np.array([[INF, 1.0]]), np.array([1j, 2.0]),
                  np.array([[1 + 1j]]), np.zeros(0), np.zeros((0, 3)), np.zeros((3, 0)), np.ones((2, 2, 2)),
                  np.ones((1, 1, 1, 1)), np.array(["1", "x"]), np.array([np.datetime64("2020-01-01")]),
                  np.array([10**400], dtype=object), np.array([1.0, None], dtype=object),
                  np.array([True, False]), [[10**400]], [Fraction(1, 3), Decimal("2")], b"\x00\x01"]


@st.composite
def hostile_array(draw):
    """Non-finite, empty, ragged, complex, string or oddly-shaped arrays."""
    if draw(st.booleans()):
        return draw(st.sampled_from(HOSTILE_ARRAYS))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    values = draw(st.lists(st.one_of(element, st.sampled_from([NAN, INF, -INF])),
                           min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(values, dtype=float).reshape(shape)


HOSTILE_INTS = [-1, -(10**400), 2.5, 3.0, NAN, INF, "3", None, True, [2], np.float64(2.0), 1e308, 1j,
                Fraction(3, 1), Decimal(3)]
hostile_int = st.one_of(st.sampled_from(HOSTILE_INTS), st.integers(-(10**6), 0))
hostile_kind = st.sampled_from(["banana", "", "SUM", " sum", None, 1, ["sum"], b"sum", NAN, ("sum",)])


def matrix(rows, cols, elements=element):
    return st.lists(elements, min_size=rows * cols, max_size=rows * cols).map(
        lambda xs: np.array(xs, dtype=float).reshape(rows, cols))


def vector(size, elements=element):
    return st.lists(elements, min_size=size, max_size=size).map(lambda xs: np.array(xs, dtype=float))


def weights():
    """w₁, w₂: a scalar, a vector, or a grid pair that broadcasts (or, rarely, does not)."""
    return st.one_of(finite_float, st.integers(-3, 3),
                     st.integers(0, 4).flatmap(lambda n: st.tuples(vector(n), vector(n))),
                     st.tuples(vector(3).map(lambda a: a[None, :]), vector(2).map(lambda a: a[:, None])),
                     st.tuples(vector(2), vector(3)))


@st.composite
def weight_pair(draw):
    w = draw(weights())
    return w if isinstance(w, tuple) else (w, draw(st.one_of(finite_float, st.integers(-3, 3))))


def orthonormal(m, r, seed):
    """An m × r matrix with orthonormal columns (r ≤ m), from QR of a seeded Gaussian."""
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((m, r)))
    return Q


def scale(v, exponent):
    """``v`` times 10^exponent where that stays finite (else ``v``): valid calls hold finite numbers."""
    with np.errstate(over="ignore"):
        scaled = v * 10.0**exponent
    return scaled if np.isfinite(scaled).all() else v


seeds = st.integers(0, 2**32 - 1)
exponents = st.sampled_from([0] * 8 + [-3, 3, -150, 150, -300, 200, 307])


@st.composite
def descending(draw, size):
    """Positive, strictly descending values of any scale (singular values)."""
    steps = draw(st.lists(st.floats(0.01, 3), min_size=size, max_size=size))
    values = np.cumsum(steps)[::-1].copy()
    return scale(values, draw(exponents))


# --------------------------------------------------------------------------- the table

class Call:
    """A drawn call: the keyword arguments, shown by Hypothesis when a check fails."""

    def __init__(self, fn, kwargs):
        self.fn, self.kwargs = fn, kwargs

    def __repr__(self):
        return f"{self.fn.__module__}.{self.fn.__name__}(**{self.kwargs!r})"


def entry(valid, hostile, allow=None):
    """A FUZZ entry: ``valid`` draws a dict of keyword arguments of a valid call; ``hostile``
    maps argument names to strategies of bad values; ``allow(kwargs, result)`` accepts a
    documented non-finite result."""
    return {"valid": valid, "hostile": hostile, "allow": allow}


def kw(**strategies):
    return st.fixed_dictionaries(strategies)


@st.composite
def scalar_loss_args(draw, *, y=False, alpha=True, weights_=True):
    out = {"kind": draw(st.sampled_from(LOSSES))}
    if weights_:
        out["w1"], out["w2"] = draw(weight_pair())
    out["x"] = draw(finite_float)
    if y:
        out["y"] = draw(finite_float)
    out["lam"] = draw(nonneg_float)
    if alpha:
        out["alpha"] = draw(st.one_of(st.just(2.0), st.floats(0.5, 4.0), st.sampled_from([0.5, 1.0, 4.0])))
    return out


def scalar_hostile(*names):
    table = {"kind": hostile_kind, "w1": hostile_array(), "w2": hostile_array(), "x": hostile_scalar,
             "y": hostile_scalar, "lam": hostile_scalar, "alpha": st.one_of(hostile_scalar, st.sampled_from([0.4, 4.1]))}
    return {n: table[n] for n in names}


@st.composite
def alignment_args(draw, weights_=True, limit=False):
    out = {}
    if weights_:
        out["w1"], out["w2"] = draw(weight_pair())
    out.update(x=draw(finite_float), y=draw(finite_float), lam_pred=draw(nonneg_float),
               lam_info=draw(nonneg_float), lam_reg=draw(nonneg_float), lam_self=draw(finite_float))
    if limit:
        out["limit"] = draw(st.one_of(st.floats(0.1, 20), st.sampled_from([1e-300, 1e300])))
    return out


ALIGN_HOSTILE = {n: hostile_scalar for n in ("x", "y", "lam_pred", "lam_info", "lam_reg", "lam_self")}


@st.composite
def critical_set_list(draw):
    """Critical sets a solver's end point is compared with: real ones, or hand-made ones."""
    how = draw(st.sampled_from(["computed", "computed", "empty", "handmade"]))
    if how == "empty":
        return []
    if how == "computed":
        try:
            return scalar.critical_sets(draw(st.sampled_from(LOSSES)), draw(st.floats(-2, 2)),
                                        draw(st.floats(0, 4)))
        except ValueError:
            return []
    points = draw(st.one_of(matrix(draw(st.integers(1, 4)), 2), hostile_array()))
    return [scalar.CriticalSet(shape=draw(st.sampled_from(["point", "curve", "blob"])), points=points,
                               loss=0.0, type="minimum", index=0, degenerate=False,
                               eigenvalues=np.zeros((1, 2)), label="hand-made")]


@st.composite
def landscape_args(draw, tol=False):
    m = draw(st.integers(1, 4))
    k = draw(st.integers(1, m))
    n = draw(st.integers(1, 4))
    e = draw(exponents)
    out = {"kind": draw(st.sampled_from(LOSSES)), "X": scale(draw(matrix(m, n)), e), "lam": draw(nonneg_float),
           "W1": draw(matrix(k, m)), "W2": draw(matrix(m, k))}
    if tol:
        out["tol"] = draw(st.one_of(st.none(), nonneg_float))
    return out


LANDSCAPE_HOSTILE = {"kind": hostile_kind, "X": hostile_array(), "lam": hostile_scalar,
                     "W1": hostile_array(), "W2": hostile_array()}


@st.composite
def table1_args(draw):
    kind = draw(st.sampled_from(LOSSES))
    m = draw(st.integers(1, 4))
    r = draw(st.integers(1, m))
    k = draw(st.integers(1, m))
    l = draw(st.integers(0, min(k, r)))
    sigma = draw(descending(r))
    I = draw(st.permutations(range(r)))[:l]
    lam = draw(st.one_of(nonneg_float, st.just(float(sigma[-1]) ** 2 / 2 if sigma[-1] < 1e154 else 0.0)))
    G = orthonormal(k, l, draw(seeds)) if l else np.zeros((k, 0))
    if kind != "sum" and l:
        G = G @ np.diag(draw(vector(l, st.floats(0.5, 3))))
    return {"kind": kind, "U": orthonormal(m, r, draw(seeds)), "sigma": sigma, "I": I, "lam": lam, "G": G}


@st.composite
def index_set(draw, size=4):
    return tuple(draw(st.permutations(range(size)))[:draw(st.integers(0, size))])


hostile_index_set = st.sampled_from([None, 3, "01", [0, 0], [-1], [10**400], [1.5], [True], [[0]], {0: 1},
                                     np.array([0.0]), [np.nan], b"\x00"])


@st.composite
def predicted_args(draw):
    m = draw(st.integers(1, 4))
    k = draw(st.integers(1, m))
    sigma = draw(descending(m))
    I = draw(st.permutations(range(m)))[:draw(st.integers(0, k))]
    return {"kind": draw(st.sampled_from(LOSSES)), "sigma": sigma, "I": I, "k": k, "lam": draw(nonneg_float)}


@st.composite
def random_data_args(draw):
    m = draw(st.integers(1, 4))
    r = draw(st.integers(1, m))
    return {"m": m, "n": draw(st.integers(r + 1, 8)), "sigma": draw(descending(r)),
            "seed": draw(st.one_of(st.none(), seeds, st.just(10**30)))}


@st.composite
def solve_args(draw):
    m = draw(st.integers(1, 3))
    k = draw(st.integers(1, m))
    n = draw(st.integers(1, 5))
    out = {"method": draw(st.sampled_from(solvers.METHODS)), "X": scale(draw(matrix(m, n)), draw(exponents)),
           "k": k, "lam": draw(nonneg_float), "kind": draw(st.sampled_from(LOSSES)),
           "max_iter": draw(st.integers(1, 30)), "tol": draw(st.one_of(st.just(0.0), st.floats(0, 1e-2), nonneg_float)),
           "seed": draw(st.one_of(st.integers(0, 5), st.just(10**30)))}
    if draw(st.booleans()):
        out["W1"] = scale(draw(matrix(k, m)), draw(exponents))
    if draw(st.booleans()):
        out["W2"] = scale(draw(matrix(m, k)), draw(exponents))
    if draw(st.booleans()):
        out["lr"] = draw(st.one_of(st.floats(1e-4, 1.0), st.sampled_from([1e-300, 1e308, 5e-324, 10.0])))
    if draw(st.booleans()):
        out["batch_size"] = draw(st.integers(1, n))
    return out


SOLVE_HOSTILE = {"method": hostile_kind, "X": hostile_array(), "k": hostile_int, "lam": hostile_scalar,
                 "kind": hostile_kind, "W1": hostile_array(), "W2": hostile_array(),
                 "lr": st.one_of(hostile_scalar, st.just(0.0)), "max_iter": hostile_int, "tol": hostile_scalar,
                 "seed": hostile_int, "batch_size": hostile_int}


@st.composite
def lae_pca_args(draw):
    out = draw(solve_args())
    out.pop("kind")
    out["lam"] = draw(st.one_of(st.floats(1e-3, 2), st.floats(1e-3, 2), nonneg_float))
    out["max_iter"] = draw(st.integers(1, 300))
    out["tol"] = draw(st.one_of(st.floats(1e-9, 1e-3), st.just(0.0)))
    return out


@st.composite
def decoder_args(draw, columns=True):
    """A decoder W2 (m × k) and orthonormal directions U (m × r; r ≥ k when ``columns``)."""
    m = draw(st.integers(1, 4))
    k = draw(st.integers(1, m))
    r = draw(st.integers(k if columns else 1, m))
    return {"W2": scale(draw(matrix(m, k)), draw(exponents)), "U": orthonormal(m, r, draw(seeds))}


@st.composite
def upload_args(draw):
    """A small CSV (numbers, or any text), a small .npy, or junk bytes."""
    rows, cols = draw(st.integers(0, 5)), draw(st.integers(0, 4))
    table = scale(draw(matrix(rows, cols)), draw(exponents))
    form = draw(st.sampled_from(["csv", "text", "npy", "junk"]))
    if form == "csv":
        data = "\n".join(",".join(repr(float(x)) for x in row) for row in table).encode()
    elif form == "text":
        data = draw(st.text(max_size=60)).encode("utf-8", "surrogatepass")
    elif form == "npy":
        buf = io.BytesIO()
        np.save(buf, table)
        data = buf.getvalue()
    else:
        data = draw(st.binary(max_size=120))
    return {"data": data, "filename": draw(st.sampled_from(["a.csv", "a.npy", "a.txt", "", "x"]))}


@st.composite
def race_args(draw):
    out = draw(solve_args())
    out.pop("batch_size", None)
    out["method"] = draw(st.sampled_from(solvers.METHODS + solvers.VARIANTS))
    out["k"], out["lam"] = out["k"], out["lam"]
    if draw(st.booleans()):
        out["target_angle"] = draw(st.floats(1e-6, 1.0))
    return out


def race_allowed(kwargs, result):
    """A race documents ``inf`` recovered eigenvalues (and errors) where a decoder singular
    value is ≥ 1; nothing else may be non-finite, and nothing may be NaN."""
    for name in ("eigenvalues", "relative_error"):
        value = getattr(result, name)
        if value is not None and np.isnan(value).any():
            return False
    return not non_finite(dataclasses.replace(result, eigenvalues=None, relative_error=None))


def sigma_any():
    return st.one_of(nonneg_float, st.integers(0, 5), vector(3, element.map(abs)),
                     st.integers(0, 3).flatmap(lambda n: matrix(n, 2, element.map(abs))))


@st.composite
def ppca_args(draw):
    m = draw(st.integers(1, 4))
    l = draw(st.integers(1, m))
    out = {"U": orthonormal(m, l, draw(seeds)), "sigma": scale(draw(vector(l, element.map(abs))), draw(exponents)),
           "tau2": draw(nonneg_float)}
    if draw(st.booleans()):
        out["O"] = orthonormal(draw(st.integers(l, l + 2)), l, draw(seeds)).T
    return out


@st.composite
def trained_args(draw, encoder=True):
    m = draw(st.integers(1, 4))
    k = draw(st.integers(1, m))
    r = draw(st.integers(1, m))
    out = {"W2": scale(draw(matrix(m, k)), draw(exponents)), "U": orthonormal(m, r, draw(seeds))}
    if encoder:
        out["W1"] = scale(draw(matrix(k, m)), draw(exponents))
    return out


def data_matrix(rows=None):
    rows_ = st.integers(1, 4) if rows is None else st.just(rows)
    return st.tuples(rows_, st.integers(1, 4), exponents).flatmap(
        lambda t: matrix(t[0], t[1]).map(lambda X: scale(X, t[2])))


@st.composite
def gr1_args(draw, single=False, flow=False):
    X = draw(data_matrix())
    m = X.shape[0]
    batch = () if single else tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    u = draw(st.lists(element, min_size=int(np.prod(batch + (m,))), max_size=int(np.prod(batch + (m,)))))
    u = scale(np.array(u).reshape(batch + (m,)), draw(exponents))
    if not flow:
        return {"X": X, "u": u}
    return {"X": X, "u0": u, "steps": draw(st.integers(0, 20)),
            "dt": draw(st.one_of(st.floats(1e-3, 10), st.sampled_from([5e-324, 1e308, 1e-300])))}


@st.composite
def m_k(draw, max_m=8):
    m = draw(st.integers(1, max_m))
    return {"m": m, "k": draw(st.integers(1, m))}


@st.composite
def index_table_args(draw):
    out = draw(m_k())
    if draw(st.booleans()):
        out["sigma"] = scale(np.sort(draw(vector(out["m"], element.map(abs))))[::-1].copy(), draw(exponents))
    return out


@st.composite
def projection_args(draw):
    X = draw(data_matrix())
    m = X.shape[0]
    k = draw(st.integers(0, m))
    Q = orthonormal(m, k, draw(seeds)) if k else np.zeros((m, 0))
    return {"X": X, "P": Q @ Q.T}


@st.composite
def disk_args(draw):
    t = draw(st.floats(0, 2 * np.pi))
    r = draw(st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 1.0 + 1e-13, 5e-324])))
    shape = draw(st.sampled_from([(), (3,), (2, 2)]))
    return {"a": np.full(shape, r * math.cos(t)), "b": np.full(shape, r * math.sin(t))}


@st.composite
def circle_args(draw):
    phi = draw(st.one_of(finite_float, vector(draw(st.integers(0, 5)), st.one_of(element, finite_float))))
    return {"X": draw(data_matrix(2)), "phi": phi}


@st.composite
def principal_data_args(draw):
    m = draw(st.integers(1, 4))
    r = draw(st.integers(1, m))
    return {"sigma": scale(draw(vector(r, element.map(abs))), draw(exponents)), "U": orthonormal(m, r, draw(seeds)),
            "n": draw(st.integers(r + 1, 8)), "seed": draw(st.one_of(st.integers(0, 9), st.just(10**30)))}


@st.composite
def samples_args(draw):
    m = draw(st.integers(1, 3))
    return {"values": scale(draw(vector(m, st.one_of(element, finite_float))), draw(exponents)),
            "n": draw(st.integers(m + 1, 12)), "seed": draw(st.one_of(st.integers(0, 9), st.just(10**30)))}


def nearest_allowed(kwargs, result):
    """Documented: with no critical set to compare with, the answer is ``(None, inf)``."""
    return list(kwargs["sets"]) == [] and result[0] is None and result[1] == INF


W = {n: hostile_array() for n in ("w1", "w2")}

@st.composite
def theorem_args(draw, kind=True):
    """A small Landscape Theorem setting: m ≤ 4 singular values of any scale, 1 ≤ k < m, λ ≥ 0."""
    m = draw(st.integers(2, 4))
    out = {"sigma": draw(descending(m)), "k": draw(st.integers(1, m - 1)), "lam": draw(nonneg_float),
           "seed": draw(st.integers(0, 3))}
    if kind:
        out["kind"] = draw(st.sampled_from(LOSSES))
    return out


def theorem_table(args: dict):
    """``theorem.manifolds`` of a setting, or None where the setting is refused."""
    try:
        return theorem.manifolds(**args)
    except ValueError:
        return None


@st.composite
def escape_args(draw):
    """A table with more than one manifold, one of its rows and a solver the page offers for it."""
    table = draw(theorem_args().map(theorem_table).filter(lambda t: t is not None and len(t.ladder) > 1))
    I = draw(st.sampled_from([row.I for row in table.rows if row.exists]))
    return {"table": table, "I": I, "method": draw(st.sampled_from(theorem.ESCAPE_METHODS[table.kind])),
            "max_iter": draw(st.integers(1, 40))}


FUZZ = {
    # ---- scalar
    "scalar.loss": entry(scalar_loss_args(), scalar_hostile("kind", "w1", "w2", "x", "lam", "alpha")),
    "scalar.gradient": entry(scalar_loss_args(), scalar_hostile("kind", "w1", "w2", "x", "lam", "alpha")),
    "scalar.hessian": entry(scalar_loss_args(), scalar_hostile("kind", "w1", "w2", "x", "lam", "alpha")),
    "scalar.critical_sets": entry(scalar_loss_args(weights_=False), scalar_hostile("kind", "x", "lam", "alpha")),
    "scalar.prediction_loss": entry(scalar_loss_args(y=True), scalar_hostile("kind", "w1", "w2", "x", "y", "lam", "alpha")),
    "scalar.prediction_gradient": entry(scalar_loss_args(y=True),
                                        scalar_hostile("kind", "w1", "w2", "x", "y", "lam", "alpha")),
    "scalar.prediction_hessian": entry(scalar_loss_args(y=True),
                                       scalar_hostile("kind", "w1", "w2", "x", "y", "lam", "alpha")),
    "scalar.prediction_critical_sets": entry(scalar_loss_args(y=True, weights_=False),
                                             scalar_hostile("kind", "x", "y", "lam", "alpha")),
    "scalar.tied_loss": entry(scalar_loss_args(y=True), scalar_hostile("kind", "w1", "w2", "x", "y", "lam", "alpha")),
    "scalar.tied_gradient": entry(scalar_loss_args(y=True, alpha=False), scalar_hostile("kind", "w1", "w2", "x", "y", "lam")),
    "scalar.tied_hessian": entry(scalar_loss_args(y=True, alpha=False), scalar_hostile("kind", "w1", "w2", "x", "y", "lam")),
    "scalar.tied_critical_sets": entry(scalar_loss_args(y=True, alpha=False, weights_=False),
                                       scalar_hostile("kind", "x", "y", "lam")),
    "scalar.alignment_loss": entry(alignment_args(), {**W, **ALIGN_HOSTILE}),
    "scalar.alignment_gradient": entry(alignment_args(), {**W, **ALIGN_HOSTILE}),
    "scalar.alignment_hessian": entry(alignment_args(), {**W, **ALIGN_HOSTILE}),
    "scalar.alignment_critical_sets": entry(alignment_args(weights_=False, limit=True),
                                            {**ALIGN_HOSTILE, "limit": st.one_of(hostile_scalar, st.just(0.0))}),
    "scalar.critical_value_sum": entry(kw(x=finite_float, lam=nonneg_float), {"x": hostile_scalar, "lam": hostile_scalar}),
    "scalar.critical_product_level": entry(kw(x=finite_float, lam=nonneg_float),
                                           {"x": hostile_scalar, "lam": hostile_scalar}),
    "scalar.nearest_critical_set": entry(
        kw(sets=critical_set_list(), point=st.one_of(vector(2), vector(2, finite_float))),
        {"sets": st.sampled_from([None, 3, "sets", [None], [1, 2], [[0.0, 0.0]], {"a": 1}, [object()]]),
         "point": hostile_array()},
        allow=nearest_allowed),
    "scalar.samples": entry(samples_args(), {"values": hostile_array(), "n": hostile_int, "seed": hostile_int}),
    # ---- landscape
    "landscape.loss": entry(landscape_args(), LANDSCAPE_HOSTILE),
    "landscape.gradient": entry(landscape_args(), LANDSCAPE_HOSTILE),
    "landscape.hessian": entry(landscape_args(), LANDSCAPE_HOSTILE),
    "landscape.hessian_inertia": entry(landscape_args(tol=True), {**LANDSCAPE_HOSTILE, "tol": hostile_scalar}),
    "landscape.table1_point": entry(table1_args(), {"kind": hostile_kind, "U": hostile_array(),
                                                    "sigma": hostile_array(), "I": hostile_index_set,
                                                    "lam": hostile_scalar, "G": hostile_array()}),
    "landscape.d_index": entry(kw(I=index_set(), m=st.integers(4, 10)), {"I": hostile_index_set, "m": hostile_int}),
    "landscape.predicted_descending": entry(predicted_args(), {"kind": hostile_kind, "sigma": hostile_array(),
                                                               "I": hostile_index_set, "k": hostile_int,
                                                               "lam": hostile_scalar}),
    "landscape.critical_set_dimension": entry(
        st.integers(1, 6).flatmap(lambda k: kw(kind=st.sampled_from(LOSSES), k=st.just(k), l=st.integers(0, k),
                                              lam=nonneg_float)),
        {"kind": hostile_kind, "k": st.one_of(hostile_int, st.just(10**400)), "l": hostile_int, "lam": hostile_scalar}),
    "landscape.random_data": entry(random_data_args(), {"m": hostile_int, "n": hostile_int,
                                                        "sigma": hostile_array(), "seed": hostile_int}),
    # ---- solvers
    "solvers.solve": entry(solve_args(), SOLVE_HOSTILE),
    "solvers.lae_pca": entry(lae_pca_args(), {**SOLVE_HOSTILE, "kind": st.sampled_from(LOSSES)}),
    "solvers.recovered_eigenvalues": entry(
        st.one_of(kw(s=vector(3, st.floats(0.0, 0.999999)), lam=nonneg_float.filter(lambda x: x > 0)),
                  kw(s=vector(2, st.floats(0.0, 0.999999)), lam=st.floats(1e-3, 10.0), kind=st.just("synthetic"),
                     w_sigma=st.floats(0.0, 1.0))),
        {"s": hostile_array(), "lam": hostile_scalar, "kind": hostile_kind, "w_sigma": hostile_scalar}),
    # ---- pca
    "pca.digits": entry(kw(), {}),
    "pca.over_regularized": entry(kw(seed=st.integers(0, 5)), {"seed": hostile_int}),
    "pca.parse_upload": entry(upload_args(), {"data": st.sampled_from([None, "1,2\n3,4", 3, [b"1"], NAN]),
                                              "filename": st.sampled_from([None, 3, b"a.csv", ["a.csv"]])}),
    "pca.suggested_lam": entry(st.integers(1, 4).flatmap(lambda n: kw(eigenvalues=descending(n),
                                                                      k=st.integers(1, n))),
                               {"eigenvalues": hostile_array(), "k": hostile_int}),
    "pca.reference_pca": entry(st.tuples(data_matrix(), seeds).map(lambda t: {"X": t[0], "k": 1, "seed": t[1]}),
                               {"X": hostile_array(), "k": hostile_int, "seed": hostile_int}),
    "pca.decoder_directions": entry(decoder_args().map(lambda d: {"W2": d["W2"]}), {"W2": hostile_array()}),
    "pca.largest_principal_angle": entry(decoder_args(), {"W2": hostile_array(), "U": hostile_array()}),
    "pca.direction_cosines": entry(decoder_args(), {"W2": hostile_array(), "U": hostile_array()}),
    "pca.authors_svd_error": entry(decoder_args(), {"W2": hostile_array(), "U": hostile_array()}),
    "pca.alignment": entry(decoder_args(columns=False), {"W2": hostile_array(), "U": hostile_array()}),
    "pca.surviving_directions": entry(kw(eigenvalues=vector(3, element.map(abs)), lam=nonneg_float,
                                         kind=st.sampled_from(["sum", "product", "unregularized"])),
                                      {"eigenvalues": hostile_array(), "lam": hostile_scalar, "kind": hostile_kind,
                                       "w_sigma": hostile_scalar}),
    "pca.race": entry(race_args(), {**{n: h for n, h in SOLVE_HOSTILE.items() if n != "batch_size"},
                                    "target_angle": hostile_scalar, "target_relative_error": hostile_scalar,
                                    "progress": st.sampled_from([1, "x", None]),
                                    "cancel": st.sampled_from([True, 1, "x", None])},
                      allow=race_allowed),
    # ---- theorem
    "theorem.default_sigma": entry(kw(m=st.integers(1, theorem.MAX_M)), {"m": hostile_int}),
    "theorem.index_label": entry(kw(I=index_set()), {"I": hostile_index_set}),
    "theorem.check_spectrum": entry(st.integers(1, 6).flatmap(lambda n: kw(sigma=descending(n), m=st.just(n))),
                                    {"sigma": hostile_array(), "m": hostile_int}),
    "theorem.close_values_warning": entry(st.integers(1, 6).flatmap(lambda n: kw(sigma=descending(n))),
                                          {"sigma": hostile_array()}),
    "theorem.manifolds": entry(theorem_args(), {"kind": hostile_kind, "sigma": hostile_array(), "k": hostile_int,
                                                "lam": hostile_scalar, "seed": hostile_int}),
    "theorem.symmetry_comparison": entry(theorem_args(kind=False), {"sigma": hostile_array(), "k": hostile_int,
                                                                    "lam": hostile_scalar, "seed": hostile_int}),
    "theorem.escape": entry(escape_args(), {"table": st.sampled_from([None, 3, "table"]), "I": hostile_index_set,
                                            "method": hostile_kind, "max_iter": hostile_int,
                                            "step": hostile_scalar, "jitter": hostile_scalar}),
    "theorem.escape_steps": entry(escape_args(), {"table": st.sampled_from([None, 3, "table"]), "I": hostile_index_set,
                                                  "method": hostile_kind, "max_iter": hostile_int,
                                                  "chunk": hostile_int}),
    "theorem.to_csv": entry(theorem_args().map(theorem_table).filter(lambda t: t is not None)
                            .map(lambda t: {"table": t}), {"table": st.sampled_from([None, 3, "table", [1]])}),
    # ---- collapse
    "collapse.shrinkage": entry(kw(kind=st.sampled_from(LOSSES), sigma=sigma_any(), lam=nonneg_float),
                                {"kind": hostile_kind, "sigma": hostile_array(), "lam": hostile_scalar}),
    "collapse.decoder_singular_values": entry(kw(sigma=sigma_any(), lam=nonneg_float),
                                              {"sigma": hostile_array(), "lam": hostile_scalar}),
    "collapse.collapsed": entry(kw(sigma=sigma_any(), lam=nonneg_float), {"sigma": hostile_array(), "lam": hostile_scalar}),
    "collapse.surviving_count": entry(kw(sigma=sigma_any(), lam=nonneg_float),
                                      {"sigma": hostile_array(), "lam": hostile_scalar}),
    "collapse.ppca_loading": entry(ppca_args(), {"U": hostile_array(), "sigma": hostile_array(),
                                                 "tau2": hostile_scalar, "O": hostile_array()}),
    "collapse.measured_shrinkage": entry(trained_args(), {"W1": hostile_array(), "W2": hostile_array(),
                                                          "U": hostile_array()}),
    "collapse.measured_decoder_singular_values": entry(trained_args(encoder=False),
                                                       {"W2": hostile_array(), "U": hostile_array()}),
    "collapse.scalar_diagonal_critical_points": entry(kw(x=finite_float, lam=nonneg_float),
                                                      {"x": hostile_scalar, "lam": hostile_scalar}),
    # ---- grassmann
    "grassmann.gr1_loss": entry(gr1_args(), {"X": hostile_array(), "u": hostile_array()}),
    "grassmann.gr1_gradient": entry(gr1_args(), {"X": hostile_array(), "u": hostile_array()}),
    "grassmann.gr1_hessian": entry(gr1_args(single=True), {"X": hostile_array(), "u": hostile_array()}),
    "grassmann.gr1_flow": entry(gr1_args(flow=True), {"X": hostile_array(), "u0": hostile_array(),
                                                      "steps": st.one_of(hostile_int, st.just(10**400)),
                                                      "dt": st.one_of(hostile_scalar, st.just(0.0))}),
    "grassmann.gr1_critical_points": entry(kw(X=data_matrix()), {"X": hostile_array()}),
    "grassmann.index_table": entry(index_table_args(), {"m": st.one_of(hostile_int, st.just(10**400)),
                                                        "k": hostile_int, "sigma": hostile_array()}),
    "grassmann.betti_numbers": entry(m_k(max_m=100), {"m": st.one_of(hostile_int, st.just(10**400)),
                                                      "k": hostile_int}),
    "grassmann.grassmann_loss": entry(projection_args(), {"X": hostile_array(), "P": hostile_array()}),
    "grassmann.disk_to_sphere": entry(disk_args(), {"a": hostile_array(), "b": hostile_array()}),
    "grassmann.sphere_to_disk": entry(gr1_args().map(lambda d: {"u": d["u"]}).filter(lambda d: d["u"].shape[-1:] == (3,))
                                      | st.tuples(vector(3), exponents).map(lambda t: {"u": scale(*t)}),
                                      {"u": hostile_array()}),
    "grassmann.gr1_circle": entry(circle_args(), {"X": hostile_array(), "phi": hostile_array()}),
    "grassmann.gr1_projection": entry(gr1_args(single=True), {"X": hostile_array(), "u": hostile_array()}),
    "grassmann.principal_data": entry(principal_data_args(), {"sigma": hostile_array(), "U": hostile_array(),
                                                              "n": hostile_int, "seed": hostile_int}),
}

#: public callables that are result records, not computations: they hold what a function
#: returned (their fields are checked, recursively, in every fuzzed result)
RESULT_TYPES = {"scalar.CriticalSet", "landscape.Inertia", "solvers.Trajectory", "collapse.DiagonalCriticalPoint",
                "grassmann.CriticalPoint", "grassmann.IndexRow", "pca.DataSet", "pca.ReferencePCA", "pca.Race",
                "theorem.Manifold", "theorem.Symmetry", "theorem.SymmetryComparison", "theorem.Table",
                "theorem.EscapeRun", "theorem.EscapeProgress"}


def public_callables() -> set[str]:
    """Every public callable defined in a ``lae_core`` module (what a page may call)."""
    out = set()
    for short, module in MODULES.items():
        for name, obj in vars(module).items():
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__:
                out.add(f"{short}.{name}")
    return out


def resolve(name):
    short, attr = name.split(".")
    return getattr(MODULES[short], attr)


# --------------------------------------------------------------------------- checking a result

def non_finite(value, where="result", seen=None) -> list[str]:
    """Where a non-finite number sits in ``value`` (empty when there is none)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    if value is None or isinstance(value, (bool, np.bool_, str, int, np.integer)):
        return []
    if isinstance(value, (float, np.floating, complex, np.complexfloating)):
        return [] if np.isfinite(value) else [f"{where} = {value!r}"]
    if isinstance(value, (Fraction, Decimal)):  # handed back as given (a hand-made CriticalSet)
        return [] if math.isfinite(value) else [f"{where} = {value!r}"]
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [p for i, item in enumerate(value.ravel()) for p in non_finite(item, f"{where}.flat[{i}]", seen)]
        if np.issubdtype(value.dtype, np.number):
            bad = ~np.isfinite(value)
            return [f"{where} has {int(bad.sum())} non-finite entries, e.g. {value[bad].ravel()[0]!r}"] if bad.any() else []
        return []
    seen.add(id(value))
    if isinstance(value, (tuple, list)):
        return [p for i, item in enumerate(value) for p in non_finite(item, f"{where}[{i}]", seen)]
    if isinstance(value, dict):
        return [p for k, item in value.items() for p in non_finite(item, f"{where}[{k!r}]", seen)]
    if dataclasses.is_dataclass(value):
        out = [p for f in dataclasses.fields(value)
               for p in non_finite(getattr(value, f.name), f"{where}.{f.name}", seen)]
        if isinstance(value, solvers.Trajectory):
            out += non_finite(value.transpose_gap, f"{where}.transpose_gap", seen)
        return out
    return [f"{where} is of an unexpected type {type(value).__name__}"]


def check_call(call: Call, allow=None):
    """Run the call; it must give a finite result or a ValueError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow, invalid value, ComplexWarning…
        try:
            result = call.fn(**call.kwargs)
            if inspect.isgenerator(result):  # a run a chunk at a time: every chunk it yields
                result = list(result)
        except ValueError:
            return
        except Exception as exc:  # noqa: BLE001 - any other type is the finding
            raise AssertionError(f"{call!r} raised {type(exc).__name__}: {exc}") from exc
    problems = non_finite(result)
    if problems and not (allow and allow(call.kwargs, result)):
        raise AssertionError(f"{call!r} returned non-finite numbers: {'; '.join(problems[:3])}")


# --------------------------------------------------------------------------- the tests

def test_every_public_function_is_fuzzed():
    public = public_callables()
    missing = sorted(public - set(FUZZ) - RESULT_TYPES)
    stale = sorted((set(FUZZ) | RESULT_TYPES) - public)
    assert not missing, f"public lae_core functions without a fuzz entry: {missing}"
    assert not stale, f"fuzz entries for names that are not public lae_core callables: {stale}"
    assert all(inspect.isclass(resolve(n)) for n in RESULT_TYPES)
    assert all(inspect.isfunction(resolve(n)) for n in FUZZ)


def test_every_fuzz_entry_names_real_parameters():
    """A hostile value for a parameter the function does not have would test nothing."""
    for name, spec in FUZZ.items():
        params = inspect.signature(resolve(name)).parameters
        accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        unknown = [h for h in spec["hostile"] if h not in params and not accepts_kwargs]
        assert not unknown, f"{name}: no parameter {unknown}"


@pytest.mark.parametrize("name", sorted(FUZZ))
@FUZZ_SETTINGS
@given(data=st.data())
def test_hostile_arguments_give_finite_results_or_value_error(name, data):
    spec = FUZZ[name]
    kwargs = data.draw(spec["valid"], label="valid call")
    names = sorted(spec["hostile"])
    corrupt = data.draw(st.one_of(st.just([]), st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
                        if names else st.just([]), label="corrupted arguments")  # pca.digits() takes none
    for arg in corrupt:
        kwargs[arg] = data.draw(spec["hostile"][arg], label=arg)
    check_call(Call(resolve(name), kwargs), spec["allow"])


def test_the_checker_finds_non_finite_numbers_deep_inside_a_result():
    """The check itself: a NaN in a dataclass in a list, an inf in a tuple, a bad Trajectory."""
    bad_set = scalar.CriticalSet("point", np.array([[0.0, NAN]]), 0.0, "minimum", 0, False, np.zeros((1, 2)), "x")
    assert non_finite([bad_set])
    assert non_finite((1.0, {"a": np.array([1.0, INF])}))
    assert not non_finite((1, "ok", np.array([True]), [np.zeros(2)], None))
    with pytest.raises(AssertionError, match="raised TypeError"):
        check_call(Call(lambda: None + 1, {}))
    with pytest.raises(AssertionError, match="non-finite"):
        check_call(Call(lambda: np.array([NAN]), {}))
    check_call(Call(lambda: (_ for _ in ()).throw(np.linalg.LinAlgError("singular")), {}))


def test_linalg_error_is_a_value_error():
    """The contract lets LinAlgError through because it is a ValueError."""
    assert issubclass(np.linalg.LinAlgError, ValueError)


# --------------------------------------------------------------------------- regressions
# Each of these raised something other than ValueError, returned NaN or inf, or (the last but
# one) ran for tens of seconds, before the fix in lae_core that it is named after.

def test_a_whole_number_too_large_for_float64_is_refused_by_name():
    """_validate.real / array: float(10**400) raised OverflowError."""
    with pytest.raises(ValueError, match="^x must be finite"):
        scalar.loss("sum", 0.5, 0.5, 10**400, 0.5)
    with pytest.raises(ValueError, match="^lam must be finite"):
        collapse.shrinkage("sum", 1.0, Fraction(10**400, 3))
    with pytest.raises(ValueError, match="^X must be an array of real numbers"):
        landscape.loss("sum", [[10**400]], 0.5, [[1.0]], [[1.0]])


@pytest.mark.parametrize("value", [np.array([0.5 + 1j]), np.array([np.datetime64("2020-01-01")]),
                                   np.array([np.timedelta64(1, "s")])])
def test_complex_and_date_arrays_are_refused_not_silently_converted(value):
    """_validate.array: a complex array lost its imaginary part (ComplexWarning), a date became
    days since 1970."""
    with pytest.raises(ValueError, match="^w1 must be an array of real numbers"):
        scalar.loss("sum", value, 0.5, 1.0, 0.5)


@pytest.mark.parametrize("call", [
    lambda: scalar.loss("sum", 1e200, 1e200, 1.0, 0.5),                      # inf
    lambda: scalar.critical_product_level(1e200, 0.0),                       # inf/inf = nan
    lambda: scalar.tied_loss("sum", 1e100, 1e100, 1.0, 1.0, 0.5),            # inf
    lambda: scalar.alignment_gradient(1e200, 1e200, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0),  # ±inf
    lambda: landscape.loss("sum", [[1e200]], 0.5, [[1e200]], [[1.0]]),       # inf
    lambda: grassmann.gr1_loss([[1e200, 0.0]], [1.0]),                       # inf − inf = nan
    lambda: collapse.scalar_diagonal_critical_points(1e308, 0.0),            # nan loss
    lambda: solvers.solve("tied_gd", np.array([[-2.1e-300], [-1.4e-300]]), 1, 1e-271, kind="unregularized",
                          max_iter=29, tol=1e-158, seed=10**30, W2=np.array([[0.0], [1e186]]), batch_size=1),
])
def test_an_answer_beyond_float64_is_a_value_error_not_inf_nan_or_overflow_error(call):
    """_validate.finite_result: these returned inf or NaN (with a RuntimeWarning), or raised
    OverflowError from a Python float power (the solver's default learning rate)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="exceeds float64's range"):
            call()


def test_the_refusal_names_the_arguments_of_the_function_called():
    with pytest.raises(ValueError, match=r"^kind, w1, w2, x, lam, alpha: loss is not finite"):
        scalar.loss("sum", 1e200, 1e200, 1.0, 0.5)


def test_a_data_value_whose_square_underflows_is_treated_as_zero():
    """scalar.prediction_critical_sets: x = 5e-324 has x² = 0, and a / x² raised
    ZeroDivisionError; with no data term left in float64 it has the sets of x = 0."""
    for kind, lam, alpha in [("product", 3.5e149, 0.5), ("product", 1.0, 3.0), ("sum", 1.0, 3.0), ("sum", 0.5, 2.0)]:
        tiny = scalar.critical_sets(kind, 5e-324, lam, alpha)
        zero = scalar.critical_sets(kind, 0.0, lam, alpha)
        assert [(s.shape, s.type, s.label) for s in tiny] == [(s.shape, s.type, s.label) for s in zero]


@pytest.mark.parametrize("sets, match", [
    (None, "^sets must be a sequence of CriticalSet"), (3, "^sets must be a sequence"), ("sets", "^sets must be"),
    ([None], r"^sets\[0\] must be a CriticalSet"), ([[0.0, 0.0]], r"^sets\[0\] must be a CriticalSet"),
])
def test_nearest_critical_set_refuses_what_is_not_a_list_of_critical_sets(sets, match):
    """scalar.nearest_critical_set: these raised TypeError or AttributeError."""
    with pytest.raises(ValueError, match=match):
        scalar.nearest_critical_set(sets, (0.0, 0.0))


def hand_made(points):
    return scalar.CriticalSet("point", points, 0.0, "minimum", 0, False, np.zeros((1, 2)), "hand-made")


@pytest.mark.parametrize("points", [np.ones((1, 1, 1, 1)), np.zeros((0, 2)), np.ones((2, 3)), [[np.nan, 0.0]]])
def test_nearest_critical_set_refuses_malformed_points(points):
    """IndexError for the wrong shape; a NaN point made every distance NaN and the answer (None, inf)."""
    with pytest.raises(ValueError, match=r"^sets\[0\]\.points"):
        scalar.nearest_critical_set([hand_made(points)], (0.0, 0.0))


def test_nearest_critical_set_refuses_a_distance_beyond_float64():
    with pytest.raises(ValueError, match="exceeds float64's range"):
        scalar.nearest_critical_set([hand_made(np.array([[-1e308, 1e308]]))], (1e308, -1e308))
    # and still answers as documented when there is nothing to compare with
    assert scalar.nearest_critical_set([], (0.0, 0.0)) == (None, INF)


def test_alignment_parameters_that_make_a_family_return_no_isolated_points_quickly():
    """scalar.alignment_critical_sets: with λ_pred = λ_reg = 1.4e-45 the loss depends (to
    rounding) on w₁w₂ only — a curve of critical points — and the root search listed 4162
    "isolated" points in 9 s (8192 in 40 s for other values). The equation has degree 5."""
    start = time.perf_counter()
    sets = scalar.alignment_critical_sets(-0.8889646209982347, -1.0, 1.401298464324817e-45, 0.8889646209982347,
                                          1.401298464324817e-45, -0.8889646209982347, 10.565380295780916)
    assert sets == [] and time.perf_counter() - start < 2.0
    # the page's default alignment still has its one isolated minimum
    (point,) = scalar.alignment_critical_sets(1.0, 0.7, 1.0, 1.0, 0.2, 0.1)
    assert point.type == "minimum"


def test_transpose_gap_of_weights_near_1e200_is_finite():
    """solvers.Trajectory.transpose_gap: ‖W1 − W2ᵀ‖ squared 1e200 entries and came out inf."""
    W2 = np.array([[4e200], [2.4396197e200]])
    run = solvers.solve("exact_untied", np.array([[2.4e-150, 0.0], [-8.3e-151, 2.9e-150]]), 1, 3.7e16,
                        kind="unregularized", max_iter=14, tol=1e-200, W2=W2)
    assert np.isfinite(run.transpose_gap).all()
    assert run.transpose_gap[0] == pytest.approx(math.hypot(4.0, 2.4396197) * 1e200, rel=1e-9)
