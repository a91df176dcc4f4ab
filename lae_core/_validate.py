"""Argument checks shared by every public ``lae_core`` function.

Each check returns the cleaned value (a float, an int or a float64 array) or raises
``ValueError`` whose message starts with the argument's name, so that a page can show the
message to a visitor as it is.
"""

from __future__ import annotations

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
    value = float(value)
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
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
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


def matrix(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """A finite 2-D float64 array, of ``shape`` when given."""
    return array(name, value, ndim=2, shape=shape)
