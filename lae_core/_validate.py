"""Argument checks shared by every public ``lae_core`` function.

Each check returns the cleaned value (a float, an int or a float64 array) or raises
``ValueError`` whose message starts with the argument's name, so that a page can show the
message to a visitor as it is.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
from collections.abc import Iterable

import numpy as np

LOSSES = ("unregularized", "product", "sum")


def choice(name: str, value, allowed: Iterable[str]) -> str:
    """``value`` must be one of ``allowed`` (strings)."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def kind(value) -> str:
    """A loss kind: 'unregularized', 'product' or 'sum'."""
    return choice("kind", value, LOSSES)


def real(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
         strict: bool = False) -> float:
    """A finite real number, optionally bounded (``strict`` makes the lower bound exclusive)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and np.issubdtype(value.dtype, np.number):
            value = value.item()
        else:
            raise ValueError(f"{name} must be a real number; got {value!r}")
    if isinstance(value, complex):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int or Fraction beyond float64: not finite in float64
        raise ValueError(f"{name} must be finite; got a number too large for float64") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        op = ">" if strict else "≥"
        raise ValueError(f"{name} must be {op} {minimum:g}; got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be ≤ {maximum:g}; got {value:g}")
    return value


def lam(value, name: str = "lam") -> float:
    """The regularization strength λ: finite and ≥ 0."""
    return real(name, value, minimum=0.0)


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number (bools refused), optionally bounded."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be ≤ {maximum}; got {value}")
    return value


def array(name: str, value, *, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """A finite float64 array; ``shape`` entries of ``None`` match any length."""
    # complex, dates and durations would convert silently (dropping the imaginary part)
    if getattr(value, "dtype", None) is not None and np.dtype(value.dtype).kind in "cmM":
        raise ValueError(f"{name} must be an array of real numbers; got dtype {value.dtype}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an array of real numbers") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("·" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}; got {arr.shape}")
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} must contain only finite numbers")
    return arr


def sequence_of(name: str, value, cls: type) -> list:
    """A list, tuple or other iterable (not text) whose items are all ``cls`` instances."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a sequence of {cls.__name__}; got {type(value).__name__}")
    items = list(value)
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise ValueError(f"{name}[{i}] must be a {cls.__name__}; got {type(item).__name__}")
    return items


def matrix(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """A finite 2-D float64 array, of ``shape`` when given."""
    return array(name, value, ndim=2, shape=shape)


def _all_finite(value) -> bool:
    """No NaN or ±inf anywhere in ``value`` (arrays, numbers, and tuples, lists, dicts and
    dataclasses of them)."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.isfinite(value).all())
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return bool(np.isfinite(value))
    if isinstance(value, (tuple, list)):
        return all(_all_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_all_finite(item) for item in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(_all_finite(getattr(value, f.name)) for f in dataclasses.fields(value))
    return True


class NotFinite(ValueError):
    """Raised by a ``finite_result`` function whose answer does not fit in float64."""


def finite_result(fn):
    """Decorator of a public function: a finite answer, or ``ValueError``.

    Arguments that pass validation may still be too large for the answer: x = 1e200 makes
    x² = inf. Inside ``fn`` NumPy's floating-point warnings are off (such a number simply becomes
    inf or NaN), and a result holding any non-finite number — or a Python float overflowing —
    raises ``ValueError`` (``NotFinite``) naming ``fn``'s arguments instead — those of the
    outermost such function when one calls another.
    """
    names = ", ".join(p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def refuse():
        return NotFinite(f"{names}: {fn.__name__} is not finite for these values — a number "
                          "exceeds float64's range (about 1.8e308); use smaller values")

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            with np.errstate(all="ignore"):
                result = fn(*args, **kwargs)
        except (OverflowError, NotFinite):
            raise refuse() from None
        if not _all_finite(result):
            raise refuse()
        return result

    return checked
