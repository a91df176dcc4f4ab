"""The scalar linear autoencoder (m = k = 1) and the reference page's other two-weight modes.

Data x ∈ ℝ, encoder w₁, decoder w₂, product p = w₁w₂ (DESIGN.md, "Scalar case"):

=============  =====================================  ==========================================
loss           formula (α = 2 is the paper's)          critical sets (α = 2, x ≠ 0)
=============  =====================================  ==========================================
unregularized  x²(1 − p)²                              origin; hyperbola p = 1
product        x²(1 − p)² + λ|p|^α                     origin; hyperbola p = x²/(x² + λ)
sum            x²(1 − p)² + λ(|w₁|^α + |w₂|^α)          origin; w₁ = w₂ = ±√(1 − λ/x²) while x² > λ
=============  =====================================  ==========================================

Every formula here is the special case y = x of the *prediction* loss (y − p·x)² plus the same
regularizer — the reference page's "low-rank prediction" mode — so one set of functions
(``prediction_loss``, ``prediction_gradient``, ``prediction_hessian``,
``prediction_critical_sets``) carries the mathematics, and ``loss``, ``gradient``, ``hessian``
and ``critical_sets`` call it with y = x.

The other modes of the reference page are here too:

- ``tied_loss`` — the tied vector case m = 2, k = 1: W = [w₁, w₂]ᵀ, W₁ = Wᵀ, W₂ = W,
  X = diag(x, y): ‖X − WWᵀX‖²_F + regularizer.
- ``alignment_loss`` — weight alignment
  λ_pred(y − w₁x)² + λ_info(x − w₂w₁x)² + λ_reg(w₁² + w₂²) − 2λ_self·w₁w₂.

For the solvers moving on these landscapes: ``nearest_critical_set`` says which critical set a
run ended at, and ``samples`` makes n data points whose full batch is exactly the landscape drawn
(mini-batch runs).

Critical sets are *classified from the Hessian* at the set (Morse index = number of negative
eigenvalues); where the Hessian has a zero eigenvalue the set is marked ``degenerate`` and its
type is settled by higher-order terms of the loss around it. For α < 2 the regularizer has no
second derivative at 0 (for α ≤ 1 not even a first): points there where 0 lies in the
subdifferential are critical too — *non-smooth* ones (``CriticalSet.smooth`` is False), typed
by the loss around them, with no Morse index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lae_core import _validate as v
from lae_core._validate import LOSSES

__all__ = [
    "LOSSES", "CriticalSet",
    "loss", "gradient", "hessian", "critical_sets",
    "prediction_loss", "prediction_gradient", "prediction_hessian", "prediction_critical_sets",
    "tied_loss", "tied_gradient", "tied_hessian", "tied_critical_sets",
    "alignment_loss", "alignment_gradient", "alignment_hessian", "alignment_critical_sets",
    "critical_value_sum", "critical_product_level",
    "nearest_critical_set", "samples",
]

#: half-width of the window in which curves of critical points are sampled (|w| ≤ CURVE_LIMIT)
CURVE_LIMIT = 3.0
#: samples per curve branch
CURVE_SAMPLES = 121
#: bounds on the regularizer's power α (the reference page offers 0.5 … 4)
ALPHA_RANGE = (0.5, 4.0)
#: A computed number counts as zero — a Hessian eigenvalue, a gap such as x² − λ, a coefficient
#: of the loss's expansion — when it is within this fraction of the size of the numbers it is
#: made of: 64 ulps, above the few ulps of rounding in the closed forms and the refined roots,
#: and below any gap two slider positions make. One tolerance for all of them, so that a gap
#: the root search calls zero is also a zero eigenvalue and a vanishing coefficient.
_ROUNDING = 64 * np.finfo(float).eps


@dataclass(frozen=True)
class CriticalSet:
    """A connected set of critical points of a two-weight loss.

    Attributes
    ----------
    shape : "point" or "curve"
    points : ndarray (N, 2)
        (w₁, w₂) of the point (N = 1) or samples along the curve inside |w| ≤ 3.
    loss : float
        The loss on the set (constant along a curve of critical points).
    type : "minimum", "saddle" or "maximum"
        From the Hessian where it decides; otherwise from the loss around the set (a curve's
        type holds at each of its points; a "saddle" is any critical point that is neither).
    index : int or None
        Morse index: the number of negative Hessian eigenvalues; None where the loss has no
        Hessian (``smooth`` False).
    degenerate : bool
        True when the Hessian has a zero eigenvalue (always so along a curve, smooth or not).
    eigenvalues : ndarray (N, 2) or None
        Hessian eigenvalues, ascending, at each of ``points``; None where there is no Hessian.
    label : str
        What the set is, in words: "origin", "hyperbola w₁w₂ = 0.8 (w₁ > 0)", ….
    smooth : bool
        False where the loss is not twice differentiable on the set (the regularizer's |w|^α
        or |w₁w₂|^α at 0 with α < 2): a critical point because 0 lies in the subdifferential.
    """

    shape: str
    points: np.ndarray
    loss: float
    type: str
    index: int | None
    degenerate: bool
    eigenvalues: np.ndarray | None
    label: str
    smooth: bool = True


# --------------------------------------------------------------------------- validation

def _alpha(alpha) -> float:
    return v.real("alpha", alpha, minimum=ALPHA_RANGE[0], maximum=ALPHA_RANGE[1])


def _weights(w1, w2):
    w1 = v.array("w1", w1)
    w2 = v.array("w2", w2)
    try:
        np.broadcast_shapes(w1.shape, w2.shape)
    except ValueError:
        raise ValueError(f"w1 and w2 must broadcast together; got shapes {w1.shape} and {w2.shape}") from None
    return w1, w2


def _regularizer(kind, w1, w2, p, lam, alpha):
    """λ|p|^α (product), λ(|w₁|^α + |w₂|^α) (sum), 0 (unregularized)."""
    if kind == "unregularized" or lam == 0.0:
        return 0.0
    if kind == "product":
        return lam * (p * p if alpha == 2.0 else np.abs(p) ** alpha)
    if alpha == 2.0:
        return lam * (w1 * w1 + w2 * w2)
    return lam * (np.abs(w1) ** alpha + np.abs(w2) ** alpha)


def _dpow(w, alpha):
    """d/dw |w|^α = α|w|^{α−1} sign(w); at w = 0 it is 0 for α > 1 and undefined for α ≤ 1."""
    if alpha == 2.0:
        return 2.0 * w
    with np.errstate(divide="ignore", invalid="ignore"):
        d = alpha * np.abs(w) ** (alpha - 1.0) * np.sign(w)
    return d


def _d2pow(w, alpha):
    """d²/dw² |w|^α = α(α−1)|w|^{α−2}; at w = 0 undefined (infinite) for α < 2."""
    if alpha == 2.0:
        return np.full_like(np.asarray(w, dtype=float), 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return alpha * (alpha - 1.0) * np.abs(w) ** (alpha - 2.0)


def _refuse_undefined(name, w, alpha, order, exempt=False):
    """Derivatives of |w|^α at w = 0 exist only for α > order − 1 (α ≥ 2 for the Hessian).
    ``exempt`` marks entries of ``w`` where the loss has the derivative all the same."""
    undefined = (alpha <= 1.0) if order == 1 else (alpha < 2.0)
    if undefined and np.any((w == 0.0) & ~np.asarray(exempt)):
        what = "gradient" if order == 1 else "Hessian"
        raise ValueError(f"alpha: the {what} of |{name}|^α at {name} = 0 is undefined for α = {alpha:g}")


# --------------------------------------------------------------------------- prediction loss

def _loss(kind, w1, w2, x, y, lam, alpha):
    """``prediction_loss`` on arguments already checked."""
    p = w1 * w2
    r = y - x * p
    return r * r + _regularizer(kind, w1, w2, p, lam, alpha)


@v.finite_result
def prediction_loss(kind, w1, w2, x, y, lam, alpha=2.0):
    """Low-rank prediction loss (y − w₂w₁x)² plus the ``kind`` regularizer.

    Parameters
    ----------
    kind : "unregularized", "product" or "sum"
    w1, w2 : array_like
        Encoder and decoder weights; they broadcast against each other.
    x, y : float
        Input and target (y = x is the autoencoder).
    lam : float
        λ ≥ 0.
    alpha : float
        Power on the regularizer, 0.5 ≤ α ≤ 4: product λ|w₁w₂|^α, sum λ(|w₁|^α + |w₂|^α).

    Returns
    -------
    ndarray of the broadcast shape of w1 and w2 (a 0-d array for scalars).

    Raises
    ------
    ValueError
        naming the argument that is not finite, out of range or of the wrong kind.
    """
    kind = v.kind(kind)
    w1, w2 = _weights(w1, w2)
    x, y, lam, alpha = v.real("x", x), v.real("y", y), v.lam(lam), _alpha(alpha)
    return _loss(kind, w1, w2, x, y, lam, alpha)


@v.finite_result
def prediction_gradient(kind, w1, w2, x, y, lam, alpha=2.0):
    """Gradient (∂/∂w₁, ∂/∂w₂) of ``prediction_loss``.

    ∂/∂w₁ = −2x(y − px)·w₂ + R₁, ∂/∂w₂ = −2x(y − px)·w₁ + R₂ with the regularizer's part
    R = (2λp·w₂, 2λp·w₁) for the product and (2λw₁, 2λw₂) for the sum at α = 2.

    Raises ValueError (naming ``alpha``) where |w|^α has no derivative (w = 0, α ≤ 1).
    """
    kind = v.kind(kind)
    w1, w2 = _weights(w1, w2)
    x, y, lam, alpha = v.real("x", x), v.real("y", y), v.lam(lam), _alpha(alpha)
    return _gradient(kind, w1, w2, x, y, lam, alpha)


def _gradient(kind, w1, w2, x, y, lam, alpha):
    """``prediction_gradient`` on arguments already checked (it refuses where undefined)."""
    p = w1 * w2
    c = -2.0 * x * (y - x * p)
    g1, g2 = c * w2, c * w1
    if kind == "product" and lam:
        _refuse_undefined("w₁w₂", p, alpha, 1)
        dp = lam * _dpow(p, alpha)
        g1, g2 = g1 + dp * w2, g2 + dp * w1
    elif kind == "sum" and lam:
        _refuse_undefined("w", np.concatenate([np.ravel(w1), np.ravel(w2)]), alpha, 1)
        g1, g2 = g1 + lam * _dpow(w1, alpha), g2 + lam * _dpow(w2, alpha)
    shape = np.broadcast_shapes(w1.shape, w2.shape)
    return np.broadcast_to(g1, shape).copy(), np.broadcast_to(g2, shape).copy()


def _hessian(kind, w1, w2, x, y, lam, alpha):
    """``prediction_hessian`` on arguments already checked, at points where it exists."""
    w1, w2 = np.broadcast_arrays(np.asarray(w1, dtype=float), np.asarray(w2, dtype=float))
    p = w1 * w2
    # d/dw₁ of −2x(y − px)w₂ is 2x²w₂²; the mixed one is −2x(y − px) + 2x²p.
    h11 = 2.0 * x * x * w2 * w2
    h22 = 2.0 * x * x * w1 * w1
    h12 = -2.0 * x * (y - x * p) + 2.0 * x * x * p
    if kind == "product" and lam:
        d1, d2 = lam * _dpow(p, alpha), lam * _d2pow(p, alpha)
        # λ|w₁w₂|^α = O(|w|^{2α}) is o(|w|²) at the origin for α > 1: no second-order term there
        d2 = np.where((w1 == 0.0) & (w2 == 0.0), 0.0, d2)
        h11, h22, h12 = h11 + d2 * w2 * w2, h22 + d2 * w1 * w1, h12 + d2 * p + d1
    elif kind == "sum" and lam:
        h11, h22 = h11 + lam * _d2pow(w1, alpha), h22 + lam * _d2pow(w2, alpha)
    H = np.empty(np.shape(h11) + (2, 2))
    H[..., 0, 0], H[..., 0, 1], H[..., 1, 0], H[..., 1, 1] = h11, h12, h12, h22
    return H


@v.finite_result
def prediction_hessian(kind, w1, w2, x, y, lam, alpha=2.0):
    """Hessian of ``prediction_loss``: an array (..., 2, 2) over the broadcast shape.

    Data term: [[2x²w₂², 4x²p − 2xy], [4x²p − 2xy, 2x²w₁²]]; the product
    regularizer g(p) = λ|p|^α adds g''(p)·[[w₂², p], [p, w₁²]] + g'(p)·[[0, 1], [1, 0]]
    (nothing at the origin for α > 1, where it is o(|w|²)); the sum adds
    diag(λα(α−1)|w₁|^{α−2}, λα(α−1)|w₂|^{α−2}).

    Raises ValueError (naming ``alpha``) where the Hessian is undefined: α < 2 and w₁ or w₂ = 0
    (sum), α < 2 and w₁w₂ = 0 except at the origin with α > 1 (product).
    """
    kind = v.kind(kind)
    w1, w2 = _weights(w1, w2)
    x, y, lam, alpha = v.real("x", x), v.real("y", y), v.lam(lam), _alpha(alpha)
    return _defined_hessian(kind, w1, w2, x, y, lam, alpha)


def _defined_hessian(kind, w1, w2, x, y, lam, alpha):
    """``prediction_hessian`` on arguments already checked: refused where it is undefined."""
    if kind == "product" and lam:
        a, b = np.broadcast_arrays(w1, w2)
        _refuse_undefined("w₁w₂", a * b, alpha, 2, exempt=(a == 0.0) & (b == 0.0) & (alpha > 1.0))
    elif kind == "sum" and lam:
        _refuse_undefined("w", np.concatenate([np.ravel(w1), np.ravel(w2)]), alpha, 2)
    return _hessian(kind, w1, w2, x, y, lam, alpha)


# --------------------------------------------------------------------------- finding critical sets

def _roots(h, lo, hi, samples=2049):
    """All sign changes of the vectorised function h on (lo, hi], refined to full precision.

    Each bracket of a sign change is narrowed by the Illinois method (regula falsi that halves
    the value kept at a stale end): superlinear, ~10 evaluations of h instead of bisection's
    ~55, and never outside the bracket. A step whose value is not finite (a pole between two
    samples) is a bisection step instead, so a bracket always ends at float resolution.
    """
    t = np.linspace(lo, hi, samples)[1:]
    f = h(t)
    idx = np.flatnonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)
    roots = [t[i] for i in np.flatnonzero(f == 0.0)]
    a, b, fa, fb = t[idx], t[idx + 1], f[idx], f[idx + 1]
    tiny = 4 * np.finfo(float).eps
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(200):  # the bisection fallback halves a bracket: 200 steps reach any width
            open_ = np.abs(b - a) > tiny * np.maximum(np.abs(a), np.abs(b)) + 1e-300
            if not open_.any():
                break
            c = (a * fb - b * fa) / (fb - fa)
            mid = 0.5 * (a + b)
            inside = np.isfinite(c) & (c > np.minimum(a, b)) & (c < np.maximum(a, b))
            c = np.where(inside, c, mid)
            fc = h(c)
            bad = ~np.isfinite(fc)
            if bad.any():
                c = np.where(bad, mid, c)
                fc = np.where(bad, h(c), fc)
            fc = np.where(open_, fc, fb)
            c = np.where(open_, c, b)
            hit = fc == 0.0
            flip = (np.sign(fc) != np.sign(fb)) & ~hit & open_
            # the root lies between b and c: b becomes the far end; else keep a, halving its value
            a, fa = np.where(flip, b, a), np.where(flip, fb, np.where(open_, 0.5 * fa, fa))
            a, fa = np.where(hit, c, a), np.where(hit, 0.0, fa)
            b, fb = c, fc
    return sorted(list(0.5 * (a + b)) + roots)


def _root(h, a, b) -> float:
    """The root of h in a bracket [a, b] whose ends have opposite signs (or a zero), to float
    resolution: ``_roots``'s Illinois steps on Python floats, where one bracket costs ~1 µs a
    step instead of NumPy's ~30 small-array calls; a step from a non-finite end bisects."""
    a, b = float(a), float(b)
    fa, fb = h(a), h(b)
    if fa == 0.0:
        return a
    tiny = 4 * np.finfo(float).eps
    for _ in range(200):  # the bisection fallback halves a bracket: 200 steps reach any width
        if fb == 0.0 or abs(b - a) <= tiny * max(abs(a), abs(b)) + 1e-300:
            return b
        c = (a * fb - b * fa) / (fb - fa) if math.isfinite(fa) and math.isfinite(fb) else math.nan
        if not min(a, b) < c < max(a, b):
            c = 0.5 * (a + b)
        fc = h(c)
        if (fc > 0.0) != (fb > 0.0):  # the root lies between b and c: b becomes the far end
            a, fa = b, fb
        else:  # keep a, halving its value
            fa *= 0.5
        b, fb = c, fc
    return 0.5 * (a + b)


def _sum_radii(a, x2, lam, alpha):
    """t > 0 of the sum loss's critical points off the origin, |w₁| = |w₂| = t.

    With a = |xy| > 0 they are the roots of h(t) = 2(a − x²t²) − λα·t^{α−2} on (0, √a/|x|):
    α = 2: t² = (a − λ)/x² while a − λ is more than rounding (``_ROUNDING``); at the pitchfork
    the pair merges into the origin. α > 2: h falls from 2a to below 0, one root. α < 2: h rises
    from −∞ to its maximum at t_m = (λα(2 − α)/(4x²))^{1/(4−α)} and falls again: two roots (an
    inner saddle and an outer minimum) while h(t_m) > 0, one double root (the fold) where h(t_m)
    is 0 to rounding, none below. The inner root lies above (λα/2a)^{1/(2−α)}, where h < 0; where
    that bound underflows the root is closer to the origin than float64 resolves and not listed.
    """
    if a == 0.0 or x2 == 0.0:
        return []
    if alpha == 2.0:
        gap = a - lam
        return [float(np.sqrt(gap / x2))] if gap > _ROUNDING * (a + lam) else []

    def h(t):
        return 2.0 * (a - x2 * t * t) - lam * alpha * t ** (alpha - 2.0)

    t_end = math.sqrt(a / x2)  # h(t_end) = −λα·t_end^{α−2} < 0
    if alpha > 2.0:
        return [_root(h, 0.0, t_end)]
    # the two factors apart: 4x² overflows for |x| near 1e154, where t_m is still a float
    power = 1.0 / (4.0 - alpha)
    t_m = (lam * alpha * (2.0 - alpha) / 4.0) ** power / x2 ** power
    if t_m == 0.0:  # λ so small against x² that h's maximum underflows: the inner root is
        # closer to the origin than float64 resolves; the outer one is where h falls from ≈ 2a
        probe = t_end * 1e-8
        try:
            rising = h(probe) > 0.0
        except (OverflowError, ZeroDivisionError):
            rising = False
        if not rising:
            raise ValueError(f"λ = {lam:g} is too small against x² = {x2:g} for float64 to place the sum "
                             f"loss's critical points at α = {alpha:g}")
        return [_root(h, probe, t_end)]
    if not t_m < t_end:
        return []
    top = h(t_m)
    if abs(top) <= _ROUNDING * (2.0 * a + 2.0 * x2 * t_m * t_m + lam * alpha * t_m ** (alpha - 2.0)):
        return [float(t_m)]
    if top < 0.0:
        return []
    t_lo = (lam * alpha / (2.0 * a)) ** (1.0 / (2.0 - alpha))
    inner = [_root(h, t_lo, t_m)] if t_lo > 0.0 else []
    return inner + [_root(h, t_m, t_end)]


def _product_levels(a, x2, lam, alpha):
    """q > 0 with g'(±q) = 0 for g(p) = (y − px)² + λ|p|^α (p = sign(xy)·q): the product loss's
    hyperbolas w₁w₂ = sign(xy)·q.

    For q > 0, sign(xy)·g'(sign(xy)·q) = k(q) = 2(x²q − a) + λα·q^{α−1} (a = |xy| > 0; no
    root of the other sign, where every term has the sign of p). α = 2: q = a/(x² + λ).
    α > 1: k rises from −2a, one root below a/x². α = 1: q = (2a − λ)/(2x²) while 2a − λ is
    more than rounding; from λ = 2a on the hyperbola has merged into the axes. α < 1: k falls
    from +∞ to its minimum at q_m = (λα(1 − α)/(2x²))^{1/(2−α)} and rises again: two roots (an
    inner hyperbola of maxima, an outer one of minima) while k(q_m) < 0, a double root (the
    fold) where k(q_m) is 0 to rounding. The inner one lies above (λα/2a)^{1/(1−α)}, where k > 0.
    """
    if a == 0.0 or x2 == 0.0:
        return []
    if alpha == 2.0:
        return [a / (x2 + lam)]
    if alpha == 1.0:
        gap = 2.0 * a - lam
        return [gap / (2.0 * x2)] if gap > _ROUNDING * (2.0 * a + lam) else []

    def k(q):
        return 2.0 * (x2 * q - a) + lam * alpha * q ** (alpha - 1.0)

    q_end = a / x2  # k(q_end) = λα·q_end^{α−1} > 0
    if alpha > 1.0:
        return [_root(k, 0.0, q_end)]
    q_m = (lam * alpha * (1.0 - alpha) / (2.0 * x2)) ** (1.0 / (2.0 - alpha))
    if q_m == 0.0:  # λ so small that k's minimum underflows: only the outer root is a float
        tiny = float(np.finfo(float).tiny)
        return [_root(k, tiny, q_end)] if k(tiny) < 0.0 else []
    if not q_m < q_end:
        return []
    bottom = k(q_m)
    if abs(bottom) <= _ROUNDING * (2.0 * a + 2.0 * x2 * q_m + lam * alpha * q_m ** (alpha - 1.0)):
        return [float(q_m)]
    if bottom > 0.0:
        return []
    q_lo = (lam * alpha / (2.0 * a)) ** (1.0 / (1.0 - alpha))
    inner = [_root(k, q_lo, q_m)] if q_lo > 0.0 else []
    return inner + [_root(k, q_m, q_end)]


def _hyperbola(c, limit=CURVE_LIMIT, samples=CURVE_SAMPLES):
    """Samples of both branches of w₁w₂ = c (c ≠ 0) inside |w| ≤ limit, as two (N, 2) arrays.

    The parameter is the log-ratio s: w₁ = √|c|·eˢ, w₂ = sign(c)·√|c|·e⁻ˢ, which spaces
    samples evenly along the curve's asymptotes.
    """
    r = np.sqrt(abs(c))
    s_max = max(np.log(limit / r), 0.0)
    s = np.linspace(-s_max, s_max, samples if s_max > 0 else 1)
    a, b = r * np.exp(s), np.sign(c) * r * np.exp(-s)
    branch = np.column_stack([a, b])
    return branch, -branch


#: unit directions every 5°, the axes and diagonals among them exactly, along which the loss
#: is expanded around the origin (``_origin_expansion``)
_RAYS = np.round(np.column_stack([np.cos(np.deg2rad(np.arange(0, 360, 5))),
                                  np.sin(np.deg2rad(np.arange(0, 360, 5)))]), 15)
_RAYS.setflags(write=False)


def _origin_expansion(kind, x, y, lam, alpha):
    """The loss along each ray r·(c, s) of ``_RAYS`` minus its value at the origin, as terms
    (power of r, coefficient per ray):

    (y − x·r²cs)² − y² = −2xy·cs·r² + x²c²s²·r⁴, plus λ(|c|^α + |s|^α)·r^α (sum) or
    λ|cs|^α·r^{2α} (product).
    """
    c, s = _RAYS[:, 0], _RAYS[:, 1]
    cs = c * s
    terms = [(2.0, -2.0 * x * y * cs), (4.0, x * x * cs * cs)]
    if kind == "sum" and lam:
        terms.append((alpha, lam * (np.abs(c) ** alpha + np.abs(s) ** alpha)))
    elif kind == "product" and lam:
        terms.append((2.0 * alpha, lam * np.abs(cs) ** alpha))
    return terms


def _leading_type(terms) -> str:
    """Minimum, maximum or saddle from the loss near the origin: along each ray the term with the
    lowest power of r whose coefficient (summed over terms of that power) is not 0 to rounding
    gives the sign of the loss's change for small r.

    For these losses the sign so found holds uniformly near the origin: a regularizer term that
    leads is bounded below by λ·min over the rays (sum), or outgrows the data term as cs → 0
    (product), and equal powers (α = 2 for the sum, α = 1 for the product) combine into one
    coefficient per ray.
    """
    sign = np.zeros(len(_RAYS))
    open_ = np.ones(len(_RAYS), dtype=bool)
    for power in sorted({p for p, _ in terms}):
        group = [c for p, c in terms if p == power]
        total, size = np.sum(group, axis=0), np.sum(np.abs(group), axis=0)
        here = open_ & (np.abs(total) > _ROUNDING * size)
        sign[here] = np.sign(total[here])
        open_ &= ~here
    if (sign >= 0).all():
        return "minimum"
    if (sign <= 0).all():
        return "maximum"
    return "saddle"


def _ring_type(loss_fn, point) -> str:
    """Minimum, maximum or saddle from the loss on a circle of radius 10⁻³ around ``point`` (where
    a zero Hessian eigenvalue leaves the type to higher-order terms, away from the origin)."""
    f0 = float(loss_fn(point[0], point[1]))
    theta = np.linspace(0.0, 2.0 * np.pi, 72, endpoint=False)
    ring = loss_fn(point[0] + 1e-3 * np.cos(theta), point[1] + 1e-3 * np.sin(theta)) - f0
    slack = 1e-13 * (1.0 + abs(f0))
    if (ring >= -slack).all():
        return "minimum"
    if (ring <= slack).all():
        return "maximum"
    return "saddle"


def _classify(shape, points, loss_fn, hess_fn, label, settle=None, zero_tol=None, eig=None):
    """Build a CriticalSet, reading type and index off the Hessian at every sample point.

    A Hessian eigenvalue counts as zero when |μ| ≤ ``_ROUNDING``·max|μ| at that point (or
    ``zero_tol(eigenvalues)`` when given): the closed-form points are exact to a few ulps. A
    curve is flat along itself, so one zero eigenvalue there leaves the type to the other.
    Where zero eigenvalues leave the type open it is ``settle()`` — by default the loss on a
    ring around the middle sample (e.g. the fold where two roots of ``_sum_radii`` merge).
    ``eig``: the eigenvalues at ``points`` when already known.
    """
    points = np.atleast_2d(np.asarray(points, dtype=float))
    if eig is None:
        eig = np.linalg.eigvalsh(hess_fn(points[:, 0], points[:, 1]))
    if zero_tol is None:
        tol = _ROUNDING * np.abs(eig).max(axis=1, keepdims=True)
    else:
        tol = zero_tol(eig)
    neg, pos = eig < -tol, eig > tol
    zeros = (~neg & ~pos).sum(axis=1)
    decided = zeros <= (1 if shape == "curve" else 0)
    if (neg.any(axis=1) & pos.any(axis=1)).any():
        kind_ = "saddle"
    elif decided.any():
        kind_ = "maximum" if neg[decided].any() else "minimum"
    elif settle is not None:
        kind_ = settle()
    else:
        kind_ = _ring_type(loss_fn, points[len(points) // 2])
    return CriticalSet(shape=shape, points=points, loss=float(loss_fn(points[0, 0], points[0, 1])),
                       type=kind_, index=int(neg.sum(axis=1).max()), degenerate=bool(zeros.any()),
                       eigenvalues=eig, label=label)


def _classify_points(pts, loss_fn, hess_fn) -> list:
    """A point CriticalSet for each of ``pts`` (a list of (w₁, w₂)), named by its coordinates,
    with the Hessians' eigenvalues taken in one call for all of them."""
    if not len(pts):
        return []
    pts = np.asarray(pts, dtype=float)
    eig = np.linalg.eigvalsh(hess_fn(pts[:, 0], pts[:, 1]))
    return [_classify("point", pt, loss_fn, hess_fn, f"({_fmt(pt[0])}, {_fmt(pt[1])})", eig=e[None])
            for pt, e in zip(pts, eig)]


def _non_smooth(shape, points, loss, kind_, label):
    """A CriticalSet where the loss has no Hessian: no index or eigenvalues."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    return CriticalSet(shape=shape, points=points, loss=float(loss), type=kind_, index=None,
                       degenerate=shape == "curve", eigenvalues=None, label=label, smooth=False)


def _fmt(z: float) -> str:
    return f"{z:.3g}".replace("-", "−")


@v.finite_result
def prediction_critical_sets(kind, x, y, lam, alpha=2.0):
    """Every critical set of ``prediction_loss`` for the given x, y, λ, α.

    A point is critical where 0 lies in the loss's subdifferential: where the gradient
    vanishes, and at the kinks of the regularizer where it holds the data term's slope in
    check (Clarke's subdifferential for α ≥ 1, where the loss is locally Lipschitz; the
    limiting one for α < 1 — every local minimum is critical). With a = |xy|:

    - the origin, always (the data term's gradient and 0 ∈ ∂ of the regularizer vanish there);
      listed first.
    - unregularized (or λ = 0): the hyperbola p = y/x.
    - product λ|p|^α: the hyperbolas p = sign(xy)·q at the roots q of
      2(x²q − a) + λα·q^{α−1} = 0 (``_product_levels``; q = a/(x² + λ) at α = 2); and both
      axes — curves of non-smooth minima where |p|^α's kink holds: α < 1, or α = 1 with λ ≥ 2a
      (the 1-D loss (y − px)² + λ|p| rises both ways from p = 0).
    - sum: w₁ = ±t, w₂ = ±sign(xy)·t at the roots t of 2(a − x²t²) = λα·t^{α−2}
      (``_sum_radii``; t² = (a − λ)/x² at α = 2, while a − λ exceeds rounding). The
      stationarity equations force |w₁| = |w₂| when λ > 0, and off the origin the axes are not
      critical (the regularizer's slope along the axis does not vanish), so no other points exist.

    Types come from the Hessian where it exists and decides; at the origin otherwise (α < 2, or
    a zero eigenvalue as at the pitchfork λ = a) from the loss's expansion along rays
    (``_leading_type``): for the sum with α < 2 the regularizer's λ|w|^α outgrows the data
    term's 2|xy·w₁w₂| ≤ |xy||w|², a minimum at every λ > 0 (its basin, of radius about
    (λ/|xy|)^{1/(2−α)}, may be far smaller than the map's pixels). A product loss depends on p
    alone, so its axes have the origin's type.

    Degenerate data:

    - x = 0 (or x² underflowing): the data term is the constant y², so the *unregularized*
      loss (and any loss at λ = 0) is flat and every point is critical — the function returns
      an empty list, as no set is isolated; the product loss λ|p|^α has the origin and its
      minima on both axes, the sum loss the origin only.
    - y = 0 with λ = 0, or with the product: x²p² (+ λ|p|^α) ≥ 0 vanishes exactly on both axes,
      the origin and two curves of minima.

    Returns
    -------
    list of CriticalSet, origin first.
    """
    kind = v.kind(kind)
    x, y, lam, alpha = v.real("x", x), v.real("y", y), v.lam(lam), _alpha(alpha)
    return _critical_sets(kind, x, y, lam, alpha)


def _critical_sets(kind, x, y, lam, alpha):
    """``prediction_critical_sets`` on arguments already checked."""
    reg = kind if lam > 0 else "unregularized"
    x2 = x * x
    if x2 == 0.0:
        if reg == "unregularized":
            return []  # flat: every point is critical (see docstring)
        b = 0.0  # no data term left in float64
    else:
        b = x * y
    a, sign = abs(b), (1.0 if b >= 0 else -1.0)

    def f(s, t):
        return _loss(reg, s, t, x, y, lam, alpha)

    def hess(s, t):
        return _hessian(reg, s, t, x, y, lam, alpha)

    def origin_type():  # from the loss's expansion along rays, where the Hessian leaves it open
        return _leading_type(_origin_expansion(reg, x, y if x2 else 0.0, lam, alpha))

    origin = np.zeros((1, 2))
    if reg == "unregularized" or (reg == "sum" and alpha >= 2.0) or (reg == "product" and alpha > 1.0):
        out = [_classify("point", origin, f, hess, "origin", settle=origin_type)]
    else:
        out = [_non_smooth("point", origin, y * y, origin_type(), "origin")]

    if reg == "unregularized":
        axes = b == 0.0  # x²p²: zero on both axes
    elif reg == "product":  # the kink of λ|p|^α at p = 0 holds the data term's slope −2xy
        axes = b == 0.0 or alpha < 1.0 or (alpha == 1.0 and 2.0 * a - lam <= _ROUNDING * (2.0 * a + lam))
    else:
        axes = False
    if axes:
        t = np.linspace(-CURVE_LIMIT, CURVE_LIMIT, CURVE_SAMPLES)
        z = np.zeros_like(t)
        for pts, name in ((np.column_stack([t, z]), "axis w₂ = 0"),
                          (np.column_stack([z, t]), "axis w₁ = 0")):
            if reg == "unregularized" or alpha >= 2.0:
                out.append(_classify("curve", pts, f, hess, name, settle=origin_type))
            else:  # the loss is a function of p alone: the axes have the origin's type
                out.append(_non_smooth("curve", pts, y * y, out[0].type, name))

    if reg == "sum":
        out += _classify_points([[s * t, s * sign * t] for t in _sum_radii(a, x2, lam, alpha)
                                 for s in (1.0, -1.0)], f, hess)
        return out
    if reg == "unregularized":
        levels = [y / x] if b != 0.0 else []
    else:
        levels = [sign * q for q in _product_levels(a, x2, lam, alpha)]
    for c in levels:
        for branch, side in zip(_hyperbola(c), ("w₁ > 0", "w₁ < 0")):
            out.append(_classify("curve", branch, f, hess, f"hyperbola w₁w₂ = {_fmt(c)} ({side})"))
    return out


# --------------------------------------------------------------------------- the autoencoder (y = x)

@v.finite_result
def loss(kind, w1, w2, x, lam, alpha=2.0):
    """Scalar LAE loss: x²(1 − w₁w₂)² plus λ|w₁w₂|^α (product) or λ(|w₁|^α + |w₂|^α) (sum).

    Broadcasts w1 against w2; see ``prediction_loss`` (this is y = x) for parameters and errors.
    """
    kind, (w1, w2), x, lam, alpha = v.kind(kind), _weights(w1, w2), v.real("x", x), v.lam(lam), _alpha(alpha)
    return _loss(kind, w1, w2, x, x, lam, alpha)


@v.finite_result
def gradient(kind, w1, w2, x, lam, alpha=2.0):
    """(∂L/∂w₁, ∂L/∂w₂) of the scalar loss; e.g. sum at α = 2:
    (−2x²(1 − p)w₂ + 2λw₁, −2x²(1 − p)w₁ + 2λw₂)."""
    kind, (w1, w2), x, lam, alpha = v.kind(kind), _weights(w1, w2), v.real("x", x), v.lam(lam), _alpha(alpha)
    return _gradient(kind, w1, w2, x, x, lam, alpha)


@v.finite_result
def hessian(kind, w1, w2, x, lam, alpha=2.0):
    """Hessian of the scalar loss, shape (..., 2, 2); e.g. sum at α = 2:
    [[2x²w₂² + 2λ, 2x²(2p − 1)], [2x²(2p − 1), 2x²w₁² + 2λ]]."""
    kind, (w1, w2), x, lam, alpha = v.kind(kind), _weights(w1, w2), v.real("x", x), v.lam(lam), _alpha(alpha)
    return _defined_hessian(kind, w1, w2, x, x, lam, alpha)


@v.finite_result
def critical_sets(kind, x, lam, alpha=2.0):
    """Every critical set of the scalar loss (DESIGN.md: origin plus a hyperbola or two points).

    At α = 2:

    - unregularized: origin (saddle, eigenvalues ±2x²) and the hyperbola w₁w₂ = 1 (two
      branches of degenerate minima).
    - product: origin (a saddle for every λ: its Hessian is [[0, −2x²], [−2x², 0]]) and the
      hyperbola w₁w₂ = x²/(x² + λ) (two branches of degenerate minima).
    - sum: origin, and w₁ = w₂ = ±√(1 − λ/x²) only while x² − λ exceeds rounding (64 ulps of
      x² + λ); at λ = x² they merge into the origin (a pitchfork), which turns from a saddle
      into a minimum — degenerate at λ = x², where x²w⁴ along the diagonal makes it one.

    Other α (see ``prediction_critical_sets``): for α < 2 the origin is a non-smooth critical
    point (a minimum of the sum loss; of the product loss a minimum for α < 1 or λ ≥ 2x² at
    α = 1, whose axes are then non-smooth curves of minima too, else a saddle).

    x = 0: the unregularized loss (and any loss at λ = 0) is identically 0, so every point is
    critical and the list is empty; the product loss λ|p|^α has the origin and minima on both
    axes (two curves); the sum loss has the origin only. Both signs of x give the same sets.
    """
    kind = v.kind(kind)
    x, lam, alpha = v.real("x", x), v.lam(lam), _alpha(alpha)
    return _critical_sets(kind, x, x, lam, alpha)


@v.finite_result
def critical_value_sum(x, lam):
    """The sum loss's nonzero critical weight on the diagonal: √(1 − λ/x²), or 0 from the
    pitchfork on (x² − λ within rounding of 0, or negative) — as ``critical_sets`` lists it."""
    x, lam = v.real("x", x), v.lam(lam)
    radii = _sum_radii(x * x, x * x, lam, 2.0)
    return radii[0] if radii else 0.0


@v.finite_result
def critical_product_level(x, lam):
    """The product loss's hyperbola level w₁w₂ = x²/(x² + λ) (returned as 0 when x = λ = 0)."""
    x, lam = v.real("x", x), v.lam(lam)
    return x * x / (x * x + lam) if x * x + lam > 0 else 0.0


# --------------------------------------------------------------------------- tied vector case

@v.finite_result
def tied_loss(kind, w1, w2, x, y, lam, alpha=2.0):
    """Tied vector case m = 2, k = 1: W = [w₁, w₂]ᵀ, W₁ = Wᵀ, W₂ = W, X = diag(x, y).

    ‖X − WWᵀX‖²_F = x²(1 − w₁²)² + y²(1 − w₂²)² + w₁²w₂²(x² + y²), plus
    product: λ Σᵢⱼ |(WWᵀ)ᵢⱼ|^α = λ(|w₁|^{2α} + 2|w₁w₂|^α + |w₂|^{2α}) (λ(w₁² + w₂²)² at α = 2),
    sum: λ(‖W₁‖^α_α + ‖W₂‖^α_α) = 2λ(|w₁|^α + |w₂|^α).

    (The authors' three.js page leaves out the cross term w₁²w₂²(x² + y²) of the
    reconstruction error; this is the full Frobenius norm.)
    """
    kind = v.kind(kind)
    w1, w2 = _weights(w1, w2)
    x, y, lam, alpha = v.real("x", x), v.real("y", y), v.lam(lam), _alpha(alpha)
    return _tied_loss(kind, w1, w2, x, y, lam, alpha)


def _tied_loss(kind, w1, w2, x, y, lam, alpha=2.0):
    """``tied_loss`` on arguments already checked."""
    a, b = w1 * w1, w2 * w2
    out = x * x * (1 - a) ** 2 + y * y * (1 - b) ** 2 + a * b * (x * x + y * y)
    if kind == "product" and lam:
        out = out + lam * ((a + b) ** 2 if alpha == 2.0
                           else a ** alpha + 2 * np.abs(w1 * w2) ** alpha + b ** alpha)
    elif kind == "sum" and lam:
        out = out + 2 * lam * (a + b if alpha == 2.0 else np.abs(w1) ** alpha + np.abs(w2) ** alpha)
    return out


def _tied_derivatives(kind, w1, w2, x, y, lam):
    """∂f/∂a, ∂f/∂b, ∂²f/∂a², ∂²f/∂a∂b, ∂²f/∂b² of the tied loss as f(a = w₁², b = w₂²), α = 2."""
    a, b = w1 * w1, w2 * w2
    s = x * x + y * y
    fa = -2 * x * x * (1 - a) + b * s
    fb = -2 * y * y * (1 - b) + a * s
    faa, fab, fbb = 2 * x * x + 0 * a, s + 0 * a, 2 * y * y + 0 * a
    if kind == "product" and lam:
        fa, fb = fa + 2 * lam * (a + b), fb + 2 * lam * (a + b)
        faa, fab, fbb = faa + 2 * lam, fab + 2 * lam, fbb + 2 * lam
    elif kind == "sum" and lam:
        fa, fb = fa + 2 * lam, fb + 2 * lam
    return fa, fb, faa, fab, fbb


@v.finite_result
def tied_gradient(kind, w1, w2, x, y, lam):
    """Gradient of ``tied_loss`` at α = 2: (2w₁·∂f/∂a, 2w₂·∂f/∂b) with a = w₁², b = w₂²."""
    kind = v.kind(kind)
    w1, w2 = np.broadcast_arrays(*_weights(w1, w2))
    x, y, lam = v.real("x", x), v.real("y", y), v.lam(lam)
    fa, fb, *_ = _tied_derivatives(kind, w1, w2, x, y, lam)
    return 2 * w1 * fa, 2 * w2 * fb


@v.finite_result
def tied_hessian(kind, w1, w2, x, y, lam):
    """Hessian of ``tied_loss`` at α = 2, shape (..., 2, 2):
    [[2f_a + 4w₁²f_aa, 4w₁w₂f_ab], [4w₁w₂f_ab, 2f_b + 4w₂²f_bb]]."""
    kind = v.kind(kind)
    w1, w2 = np.broadcast_arrays(*_weights(w1, w2))
    x, y, lam = v.real("x", x), v.real("y", y), v.lam(lam)
    return _tied_hessian(kind, w1, w2, x, y, lam)


def _tied_hessian(kind, w1, w2, x, y, lam):
    """``tied_hessian`` on arguments already checked (w1 and w2 of one shape)."""
    fa, fb, faa, fab, fbb = _tied_derivatives(kind, w1, w2, x, y, lam)
    h11 = 2 * fa + 4 * w1 * w1 * faa
    h22 = 2 * fb + 4 * w2 * w2 * fbb
    h12 = 4 * w1 * w2 * fab
    return np.stack([np.stack([h11, h12], -1), np.stack([h12, h22], -1)], -2)


@v.finite_result
def tied_critical_sets(kind, x, y, lam):
    """Critical sets of the tied vector loss at α = 2.

    ∇ = (2w₁f_a, 2w₂f_b): each weight is 0 or zeroes its partial derivative. Both nonzero
    needs f_a = f_b = 0, a linear system in (a, b) whose determinant is −(x² − y²)² and whose
    solution has a and b of opposite signs — no real point unless x² = y², where the loss
    depends on w₁² + w₂² only and the critical set is a circle. So the critical sets are the
    origin, (±√a*, 0) and (0, ±√b*) with a* the level for x (1; x²/(x² + λ); 1 − λ/x² while
    x² − λ exceeds rounding, as for ``critical_sets``) and b* the same for y — the Table 1
    points with I = {1} and I = {2} — or, when x² = y², the origin and the circle of radius
    √a*. A zero x (or y) leaves its axis out.
    """
    kind = v.kind(kind)
    x, y, lam = v.real("x", x), v.real("y", y), v.lam(lam)

    def f(a, b):
        return _tied_loss(kind, a, b, x, y, lam)

    def hess(a, b):
        return _tied_hessian(kind, a, b, x, y, lam)

    def level(z):
        if z == 0.0:
            return None
        if kind == "unregularized" or lam == 0:
            return 1.0
        if kind == "product":
            return z * z / (z * z + lam)
        # the pitchfork where the scalar sum loss has it: x² − λ within rounding of 0 is at it
        return 1.0 - lam / (z * z) if _sum_radii(z * z, z * z, lam, 2.0) else None

    out = [_classify("point", [[0.0, 0.0]], f, hess, "origin")]
    ax, ay = level(x), level(y)
    if x * x == y * y and ax is not None:
        theta = np.linspace(0.0, 2.0 * np.pi, 2 * CURVE_SAMPLES)
        circle = np.sqrt(ax) * np.column_stack([np.cos(theta), np.sin(theta)])
        out.append(_classify("curve", circle, f, hess, f"circle w₁² + w₂² = {_fmt(ax)}"))
        return out
    pts = []
    for lev, axis in ((ax, 0), (ay, 1)):
        if lev is None:
            continue
        for sign in (1.0, -1.0):
            pt = [0.0, 0.0]
            pt[axis] = sign * np.sqrt(lev)
            pts.append(pt)
    return out + _classify_points(pts, f, hess)


# --------------------------------------------------------------------------- weight alignment

def _alignment_args(x, y, lam_pred, lam_info, lam_reg, lam_self):
    return (v.real("x", x), v.real("y", y), v.lam(lam_pred, "lam_pred"), v.lam(lam_info, "lam_info"),
            v.lam(lam_reg, "lam_reg"), v.real("lam_self", lam_self))


@v.finite_result
def alignment_loss(w1, w2, x, y, lam_pred, lam_info, lam_reg, lam_self):
    """Weight alignment: λ_pred(y − w₁x)² + λ_info(x − w₂w₁x)² + λ_reg(w₁² + w₂²) − 2λ_self·w₁w₂.

    w₁ predicts y from x, w₂ decodes x back from w₁x, λ_self rewards w₁ and w₂ for agreeing.
    λ_pred, λ_info, λ_reg ≥ 0; λ_self any real. Broadcasts w1 against w2.
    """
    w1, w2 = _weights(w1, w2)
    x, y, a, b, c, d = _alignment_args(x, y, lam_pred, lam_info, lam_reg, lam_self)
    return a * (y - w1 * x) ** 2 + b * (x - w2 * w1 * x) ** 2 + c * (w1 * w1 + w2 * w2) - 2 * d * w1 * w2


@v.finite_result
def alignment_gradient(w1, w2, x, y, lam_pred, lam_info, lam_reg, lam_self):
    """Gradient of ``alignment_loss``:
    ∂/∂w₁ = −2λ_pred·x(y − w₁x) − 2λ_info·x²w₂(1 − p) + 2λ_reg·w₁ − 2λ_self·w₂,
    ∂/∂w₂ = −2λ_info·x²w₁(1 − p) + 2λ_reg·w₂ − 2λ_self·w₁."""
    w1, w2 = np.broadcast_arrays(*_weights(w1, w2))
    x, y, a, b, c, d = _alignment_args(x, y, lam_pred, lam_info, lam_reg, lam_self)
    q = 1 - w1 * w2
    return (-2 * a * x * (y - w1 * x) - 2 * b * x * x * w2 * q + 2 * c * w1 - 2 * d * w2,
            -2 * b * x * x * w1 * q + 2 * c * w2 - 2 * d * w1)


@v.finite_result
def alignment_hessian(w1, w2, x, y, lam_pred, lam_info, lam_reg, lam_self):
    """Hessian of ``alignment_loss``, shape (..., 2, 2):
    [[2λ_pred·x² + 2λ_info·x²w₂² + 2λ_reg, 2λ_info·x²(2p − 1) − 2λ_self],
     [·, 2λ_info·x²w₁² + 2λ_reg]]."""
    w1, w2 = np.broadcast_arrays(*_weights(w1, w2))
    x, y, a, b, c, d = _alignment_args(x, y, lam_pred, lam_info, lam_reg, lam_self)
    h11 = 2 * a * x * x + 2 * b * x * x * w2 * w2 + 2 * c
    h22 = 2 * b * x * x * w1 * w1 + 2 * c
    h12 = 2 * b * x * x * (2 * w1 * w2 - 1) - 2 * d
    return np.stack([np.stack([h11, h12], -1), np.stack([h12, h22], -1)], -2)


#: h(w₁) below is 2N(w₁)/D(w₁)² with N a polynomial of degree ≤ 5 (D = λ_reg + λ_info·x²w₁²):
#: more sign changes than that mean N vanishes identically — up to rounding — along a family
_ALIGNMENT_MAX_ROOTS = 5


@v.finite_result
def alignment_critical_sets(x, y, lam_pred, lam_info, lam_reg, lam_self, limit=10.0):
    """Isolated critical points of ``alignment_loss`` with |w₁| ≤ limit.

    ∂/∂w₂ = 0 gives w₂ = w₁·(λ_info·x² + λ_self)/(λ_reg + λ_info·x²w₁²) wherever the
    denominator is nonzero; substituting turns ∂/∂w₁ = 0 into one equation in w₁, whose roots
    are found by sign changes on a fine grid and bisection. Where the denominator vanishes
    (λ_reg = 0 at w₁ = 0) the point (0, −λ_pred·xy/(λ_info·x² + λ_self)) is checked directly.
    Each candidate is kept only if the gradient vanishes there; a family of critical points
    (e.g. x = 0, where the loss no longer depends on w₂ when λ_reg = λ_self = 0) is not listed.
    (Nor is one that is a family only up to rounding — e.g. λ_reg, λ_pred ≈ 1e-45 — recognised
    by more roots than the equation's degree, 5, allows.)
    """
    x, y, a, b, c, d = _alignment_args(x, y, lam_pred, lam_info, lam_reg, lam_self)
    limit = v.real("limit", limit, minimum=0.0, strict=True)
    e = b * x * x + d
    args = (x, y, a, b, c, d)

    def w2_of(w1):
        with np.errstate(divide="ignore", invalid="ignore"):
            return w1 * e / (c + b * x * x * w1 * w1)

    def h(w1):
        w2 = w2_of(w1)
        bad = ~np.isfinite(w2)  # the pole of w₂(w₁): no sign information there
        return np.where(bad, np.nan, alignment_gradient(w1, np.where(bad, 0.0, w2), *args)[0])

    roots = _roots(h, -limit, limit, samples=8193)
    if len(roots) > _ALIGNMENT_MAX_ROOTS:
        return []  # more roots than the numerator's degree allows: a family (numerically), not listed
    cands = [(t, float(w2_of(t))) for t in roots if np.isfinite(w2_of(t))]
    if c == 0.0 and e != 0.0:
        cands.append((0.0, -a * x * y / e))
    if c != 0.0:
        cands.append((0.0, 0.0))  # w₂(0) = 0; kept below only if ∂/∂w₁ vanishes there too
    out, seen = [], []
    scale = 1.0 + a * x * x + b * x * x + c + abs(d) + abs(a * x * y)
    for pt in cands:
        g = np.hypot(*alignment_gradient(pt[0], pt[1], *args))
        if g > 1e-7 * scale * (1 + np.hypot(*pt) ** 3):
            continue
        if any(np.hypot(pt[0] - q[0], pt[1] - q[1]) < 1e-6 for q in seen):
            continue
        seen.append(pt)
        # root-found points: an eigenvalue within 1e-8 of 0 is zero as far as they resolve it
        out.append(_classify("point", [pt], lambda s, t: alignment_loss(s, t, *args),
                             lambda s, t: alignment_hessian(s, t, *args),
                             f"({_fmt(pt[0])}, {_fmt(pt[1])})",
                             zero_tol=lambda eig: 1e-8 * (1.0 + np.abs(eig).max())))
    return out


# --------------------------------------------------------------------------- where a run ends

def nearest_critical_set(sets, point):
    """The critical set closest to ``point`` in the (w₁, w₂) plane, and its distance.

    Which critical set did a solver reach? Compare its last iterate with every set: a point
    set by the Euclidean distance to its point; a curve by the distance to the polyline through
    its samples (straight segments between consecutive samples, so a point lying on the curve
    between two samples is at distance ≈ 0 — the chord error of the sampled hyperbolas and
    circles is below 10⁻³ — not half a sample spacing). A curve is sampled only inside
    |w| ≤ ``CURVE_LIMIT``; beyond it the distance is to the sampled window's end.

    Parameters
    ----------
    sets : sequence of CriticalSet
        For example ``critical_sets(...)`` or ``tied_critical_sets(...)``.
    point : array_like, shape (2,)
        (w₁, w₂), finite.

    Returns
    -------
    (CriticalSet or None, float)
        The nearest set (the first of equally near ones, so the list's order breaks ties) and
        its distance; ``(None, inf)`` when ``sets`` is empty (e.g. a flat loss, x = 0).

    Raises
    ------
    ValueError
        ``point`` is not two finite numbers; ``sets`` is not a sequence of CriticalSet with
        finite (N, 2) points; the distance does not fit in float64.
    """
    q = v.array("point", point, shape=(2,))
    sets = v.sequence_of("sets", sets, CriticalSet)
    best, best_d = None, np.inf
    for i, s in enumerate(sets):
        pts = np.atleast_2d(v.array(f"sets[{i}].points", s.points))
        if pts.ndim != 2 or pts.shape[0] < 1 or pts.shape[1] != 2:
            raise ValueError(f"sets[{i}].points must have shape (N, 2) with N ≥ 1; got {pts.shape}")
        with np.errstate(all="ignore"):  # a distance beyond float64 is refused below
            if s.shape == "curve" and len(pts) > 1:
                a, d = pts[:-1], pts[1:] - pts[:-1]
                length2 = np.einsum("ij,ij->i", d, d)
                t = np.divide(np.einsum("ij,ij->i", q - a, d), length2, out=np.zeros_like(length2),
                              where=length2 > 0)
                nearest = a + np.clip(t, 0.0, 1.0)[:, None] * d
            else:
                nearest = pts
            dist = float(np.min(np.hypot(nearest[:, 0] - q[0], nearest[:, 1] - q[1])))
        if not np.isfinite(dist):
            raise ValueError(f"point, sets[{i}]: their distance exceeds float64's range")
        if dist < best_d:
            best, best_d = s, dist
    return best, best_d


# --------------------------------------------------------------------------- mini-batch data

@v.finite_result
def samples(values, n, seed=0):
    """``n`` mean-centred samples whose scatter matrix is exactly ``diag(values)²``.

    ``X = diag(values) Vᵀ`` with ``V`` (n × m) a random matrix of orthonormal columns, all
    orthogonal to the all-ones vector. Hence ``X Xᵀ = diag(values²)`` and ``X 1 = 0``: every
    loss of the LAE, which depends on the data only through ``X Xᵀ`` (solvers module), is on
    the full batch exactly the loss with data ``diag(values)``, while a mini-batch of the
    columns sees a noisy, unbiased estimate of it. With ``values = [x]`` these are ``n``
    numbers xᵢ with Σ xᵢ = 0 and Σ xᵢ² = x² (the scalar LAE); with ``values = [x, y]`` they
    are ``n`` points in the plane whose full batch is the tied case's ``X = diag(x, y)``.

    Parameters
    ----------
    values : array_like, shape (m,)
        Finite reals (any sign, zeros and repeats allowed); ``m ≥ 1``.
    n : int
        Number of samples, ``n ≥ m + 1`` (centring costs one dimension).
    seed : int
        Seed ≥ 0 of ``numpy.random.default_rng``; the same seed gives the same samples.

    Returns
    -------
    ndarray, shape (m, n)

    Raises
    ------
    ValueError
        ``values`` empty, not 1-D or not finite; ``n`` not a whole number ≥ m + 1; ``seed``
        not a whole number ≥ 0.
    """
    values = v.array("values", values, ndim=1)
    m = values.size
    if m < 1:
        raise ValueError("values must hold at least one number")
    n = v.integer("n", n, minimum=m + 1)
    seed = v.integer("seed", seed, minimum=0)
    Z = np.random.default_rng(seed).standard_normal((n, m))
    Z -= Z.mean(axis=0)             # columns in the complement of the ones vector
    V, R = np.linalg.qr(Z)          # orthonormal columns spanning the same space
    V *= np.where(np.diag(R) < 0, -1.0, 1.0)
    return values[:, None] * V.T
