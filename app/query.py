"""Page state in the URL query: read it defensively, write it back as the state changes.

A query value is never trusted: numbers must parse and be finite, are clamped into the
parameter's bounds, choices must be among the parameter's objects; anything else falls back
to the default. A list of choices (``param.ListSelector``) is written comma-separated; unknown
items are dropped. Every correction is described in a plain-text notice (the page escapes it),
and a value is quoted at most ``QUOTE`` characters long.
"""

from __future__ import annotations

import math

import param

QUOTE = 24
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _quote(raw: str) -> str:
    return repr(raw if len(raw) <= QUOTE else raw[:QUOTE] + "…")


def _decode(values) -> list[str]:
    out = []
    for value in values:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        out.append(str(value))
    return out


def parse(parameterized: param.Parameterized, names: list[str], args: dict) -> tuple[dict, list[str]]:
    """Values for ``names`` read from ``args`` (``pn.state.session_args``: name → list of bytes).

    Returns ``(values, notices)``: ``values`` holds only the names present in ``args`` (valid,
    clamped or reset to default), ``notices`` says what was corrected.
    """
    values, notices = {}, []
    for name in names:
        if name not in args:
            continue
        raw_all = _decode(args[name])
        if not raw_all:
            continue
        if len(raw_all) > 1:
            notices.append(f"'{name}' was given {len(raw_all)} times; the last value is used.")
        raw = raw_all[-1].strip()
        p = parameterized.param[name]
        default = p.default
        if isinstance(p, param.Boolean):
            low = raw.lower()
            if low in TRUE or low in FALSE:
                values[name] = low in TRUE
            else:
                notices.append(f"'{name}' must be true or false, not {_quote(raw)}; using {default}.")
                values[name] = default
        elif isinstance(p, param.ListSelector):
            values[name], notice = _parse_list(name, raw, p)
            if notice:
                notices.append(notice)
        elif isinstance(p, param.Selector):
            objects = list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)
            if raw in [str(o) for o in objects]:
                values[name] = objects[[str(o) for o in objects].index(raw)]
            else:
                notices.append(f"'{name}' must be one of {', '.join(map(str, objects))}, "
                               f"not {_quote(raw)}; using {default}.")
                values[name] = default
        elif isinstance(p, param.Number):
            try:
                number = float(raw)
            except ValueError:
                number = None
            if number is None or not math.isfinite(number):
                notices.append(f"'{name}' must be a finite number, not {_quote(raw)}; using {default:g}.")
                values[name] = default
                continue
            lo, hi = p.bounds if p.bounds else (None, None)
            clamped = number
            if lo is not None and clamped < lo:
                clamped = lo
            if hi is not None and clamped > hi:
                clamped = hi
            if clamped != number:
                notices.append(f"'{name}' = {_quote(raw)} is outside [{lo:g}, {hi:g}]; using {clamped:g}.")
            if isinstance(p, param.Integer):
                clamped = int(round(clamped))
            values[name] = clamped
    return values, notices


def _parse_list(name: str, raw: str, p: param.ListSelector) -> tuple[list, str | None]:
    """A comma-separated list of choices: known ones kept in the parameter's own order
    (duplicates once), unknown ones dropped with a notice; an empty string is the empty list."""
    objects = list(p.objects.values()) if isinstance(p.objects, dict) else list(p.objects)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    names = [str(o) for o in objects]
    chosen = [o for o, s in zip(objects, names) if s in items]
    unknown = [item for item in items if item not in names]
    if not unknown:
        return chosen, None
    shown = ", ".join(_quote(u) for u in unknown[:3]) + (" …" if len(unknown) > 3 else "")
    return chosen, (f"'{name}' takes a comma-separated list of {', '.join(names)}; "
                    f"ignored {shown}.")


def encode(parameterized: param.Parameterized, names: list[str]) -> dict[str, str]:
    """The query-string form of ``names``' current values (numbers to 6 significant digits)."""
    out = {}
    for name in names:
        value = getattr(parameterized, name)
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(map(str, value))
        elif isinstance(value, float):
            out[name] = f"{value:.6g}"
        else:
            out[name] = str(value)
    return out
