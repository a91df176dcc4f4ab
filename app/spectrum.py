"""The singular values σ₁ > σ₂ > … a visitor types into a page ("4, 3, 2, 1.5"): read them, write
them back in one canonical form, and take them from a link. Every page with a spectrum box
(Posterior collapse, Grassmannian) uses these; a value it refuses becomes a plain-text notice.
"""

from __future__ import annotations

import math

import numpy as np
import panel as pn

#: the spectrum the pages open with
DEFAULT_SPECTRUM = "4, 3, 2, 1.5, 1, 0.5"
#: at most this many singular values, each in (0, SIGMA_MAX]
MAX_DIRECTIONS, SIGMA_MAX = 8, 100.0


def parse_spectrum(text: str, *, max_count: int = MAX_DIRECTIONS, sort: bool = True) -> np.ndarray:
    """Singular values from text such as "4, 3, 2, 1.5" (commas, semicolons or spaces between).

    With ``sort`` they are returned sorted descending; without it, they must be typed strictly
    descending already (the order is the visitor's statement, as σ₁ > σ₂ > … in the paper).

    Raises ``ValueError`` (a message for the visitor, starting "σ") unless there are
    1 … ``max_count`` distinct finite numbers in (0, ``SIGMA_MAX``].
    """
    if not isinstance(text, str):
        raise ValueError("σ must be text: numbers separated by commas")
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("σ: enter at least one singular value, e.g. 4, 3, 2")
    if len(parts) > max_count:
        raise ValueError(f"σ: at most {max_count} singular values, not {len(parts)}")
    values = []
    for part in parts:
        part = part.strip()
        shown = part if len(part) <= 12 else part[:12] + "…"
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"σ: {shown!r} is not a number") from None
        if not math.isfinite(value) or not 0 < value <= SIGMA_MAX:
            raise ValueError(f"σ: every singular value must lie in (0, {SIGMA_MAX:g}]; got {shown}")
        values.append(value)
    values = np.array(values)
    if not sort and len(values) > 1 and not (np.diff(values) < 0).all():
        raise ValueError("σ: type the singular values in descending order, σ₁ > σ₂ > …")
    values = np.sort(values)[::-1]
    if len(values) > 1 and np.min(-np.diff(values)) <= 1e-9 * values[0]:
        raise ValueError("σ: the singular values must differ from each other")
    return values


def format_spectrum(values) -> str:
    """The canonical text of a spectrum: "4, 3, 2, 1.5, 1, 0.5"."""
    return ", ".join(f"{v:.6g}" for v in values)


def take_spectrum(page, typed: str, kept: str, **parse_options) -> None:
    """A page's spectrum box (``page.spectrum_input``) was edited: store the canonical text in
    ``page.state.sigma`` and show it in the box, or refuse the input with a plain-text notice
    ending in ``kept``."""
    try:
        values = parse_spectrum(typed, **parse_options)
    except ValueError as exc:
        page.notices.clear("warning")
        page.notices.show(f"{exc}. {kept}")
        return
    page.notices.clear("warning")
    text = format_spectrum(values)
    if page.spectrum_input.value != text:
        page.spectrum_input.value = text
    page.state.sigma = text


def spectrum_from_link(overrides: dict, default: str = DEFAULT_SPECTRUM, **parse_options) -> str | None:
    """Read the link's ``sigma`` (text, which the shell's URL reader leaves alone) into
    ``overrides`` in canonical form; returns a notice when the link's value is refused."""
    args = pn.state.session_args if pn.state.curdoc and pn.state.curdoc.session_context else {}
    raw = (args or {}).get("sigma")
    if not raw or "sigma" in overrides:
        return None
    text = raw[-1].decode("utf-8", "replace") if isinstance(raw[-1], bytes) else str(raw[-1])
    try:
        overrides["sigma"] = format_spectrum(parse_spectrum(text, **parse_options))
    except ValueError as exc:
        return f"'sigma' in the link: {exc}; using {default}."
    return None
