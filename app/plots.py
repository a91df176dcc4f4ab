"""Bokeh plotting pieces shared by the pages: a loss surface with its critical sets, and the
λ-bifurcation diagram.

Each piece builds its Bokeh figure once and then only replaces the data of its
``ColumnDataSource``s, so a slider change sends new numbers over the websocket and no new
models: that is what keeps a slider drag under the repaint budget (docs/performance.md).

The surface is sent as 8-bit colour indices (the palette has 256 colours, so nothing visible
is lost) — a quarter of float32's bytes — while its colour bar keeps the loss's real scale.
The colour bar keeps one linear colour mapper, one ticker and one formatter for good: on a log
scale (the mapper's tag "log") the bar runs over log₁₀ of the loss, and the ticker and formatter
(``COLOUR_BAR_TICKS``, ``COLOUR_BAR_LABELS``) put the ticks at round values of the loss and label
them with it. Giving a ``ColorBar`` another mapper makes BokehJS lay the whole page out again
(~60–100 ms per figure in Chromium), and ticks sent from the server on every change cost a layout
of the figure each time (~20 ms on a λ change); ticks computed in the browser cost neither.
"""

from __future__ import annotations

import html
import math

import numpy as np
import panel as pn
from bokeh.models import (BoxSelectTool, ColorBar, ColumnDataSource, CustomJSTicker, CustomJSTickFormatter,
                          GlyphRenderer, HoverTool, LassoSelectTool, LinearColorMapper, PolySelectTool, Range1d, Span,
                          TapTool)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure
from contourpy import LineType, contour_generator

#: marker and colour of a critical set, by type (DESIGN.md: "marker by type")
MARKERS = {"minimum": "circle", "saddle": "triangle", "maximum": "square"}
COLORS = {"minimum": "#2ca02c", "saddle": "#ff7f0e", "maximum": "#d62728"}
LEGEND = "● minimum  ▲ saddle  ■ maximum  — curve of minima  ⊙ dotted marker = non-smooth"
PLURAL = {"minimum": "minima", "saddle": "saddles", "maximum": "maxima"}


def number(z: float, digits: int = 2) -> str:
    """A number for a visitor to read: fixed digits, a true minus sign, no "−0.00"."""
    text = f"{z:.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", "−")

PALETTE = Viridis256
POINT_COLUMNS = ("x", "y", "marker", "color", "alpha", "label", "index", "loss", "eig1", "eig2")
#: every HOVER_STRIDE-th sample of a curve carries a hover tooltip (all of them are drawn)
HOVER_STRIDE = 6
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def _grid(extent: float, n: int) -> np.ndarray:
    return np.linspace(-extent, extent, n)


#: JavaScript (a ``CustomJSTicker``'s ``major_code``): the colour bar's ticks between
#: ``cb_data.start`` and ``.end``. Linear: 1, 2 or 5 × 10ⁿ apart, at most six. Log (the bar runs
#: over log₁₀ of the loss): every whole decade when there are three or more (every second, …
#: beyond six); else 1, 2, 5 × 10ⁿ (or 1, 3 × 10ⁿ, or 10ⁿ: at most six ticks); under three of
#: those, round values of the loss.
COLOUR_BAR_TICKS = """
const {start: a, end: b} = cb_data;
const log = mapper.tags.includes("log");
const eps = 1e-9;
const nice = (lo, hi, target) => {  // 1, 2 or 5 × 10ⁿ apart, at most target + 1 of them
  const span = hi - lo;
  if (!(span > 0)) return [];
  const base = 10 ** Math.floor(Math.log10(span / target));
  const step = base * ([1, 2, 5, 10].find((f) => span / (base * f) <= target));
  const out = [];
  for (let i = Math.ceil(lo / step - eps); i <= Math.floor(hi / step + eps); i++) out.push(+(i * step).toPrecision(12));
  return out;
};
if (!log) return nice(a, b, 5);
const lo = Math.ceil(a - eps), hi = Math.floor(b + eps);
if (hi - lo >= 2) {
  const stride = Math.max(1, Math.ceil((hi - lo + 1) / 6));
  const out = [];
  for (let k = lo; k <= hi; k += stride) out.push(k);
  return out;
}
let values = [];
for (const mantissas of [[1, 2, 5], [1, 3], [1]]) {
  values = [];
  for (let k = lo - 1; k <= hi; k++)
    for (const m of mantissas) {
      const v = +(m * 10 ** k).toPrecision(12), t = Math.log10(v);
      if (t >= a - eps && t <= b + eps) values.push(v);
    }
  if (values.length <= 6) break;
}
if (values.length < 3) values = nice(10 ** a, 10 ** b, 4).filter((v) => v > 0);
return values.map(Math.log10);
"""

#: JavaScript (a ``CustomJSTickFormatter``'s ``code``): linear, as many decimals as the step
#: between ticks needs (powers of ten written out below 10⁻³ and from 10⁵); log, the loss at the
#: tick — 0.01 … 1000 plainly, 10⁻⁵ or 10⁶ beyond, 0.002 or 25 between decades.
COLOUR_BAR_LABELS = """
const log = mapper.tags.includes("log");
if (!log) {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : (Math.abs(tick) || 1);
  const top = Math.max(...ticks.map(Math.abs));
  if (tick !== 0 && (step < 1e-3 || top >= 1e5))
    return tick.toExponential(Math.min(10, Math.max(1, Math.ceil(Math.log10(top / step) - 1e-9))));
  return tick.toFixed(Math.min(10, Math.max(0, -Math.floor(Math.log10(step) + 1e-9))));
}
const k = Math.round(tick);
if (Math.abs(tick - k) < 1e-9 && (k < -2 || k > 3)) {
  const sup = {"-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"};
  return "10" + String(k).split("").map((c) => sup[c]).join("");
}
return String(+(10 ** tick).toPrecision(6));
"""


def derive_unused_glyphs(fig) -> None:
    """Let the browser derive each renderer's glyphs for unselected and muted data (``"auto"``)
    on a figure with no selection tool and no legend that mutes, where they are never drawn:
    Bokeh's ``figure`` makes both as models of their own, two per renderer (28 of the Landscape
    page's ~300), which every visitor's document carries."""
    selects = (TapTool, BoxSelectTool, LassoSelectTool, PolySelectTool)
    if any(isinstance(tool, selects) for tool in fig.tools) or any(
            legend.click_policy == "mute" for legend in fig.legend):
        return
    for renderer in fig.renderers:
        if isinstance(renderer, GlyphRenderer):
            renderer.nonselection_glyph = renderer.muted_glyph = "auto"


class SurfacePlot:
    """A heat map of a two-weight loss, its contour lines, and its critical sets on top.

    Parameters
    ----------
    title : str
    extent : float
        The map shows w₁, w₂ ∈ [−extent, extent].
    n : int
        Grid points per axis.
    x_range, y_range : Range1d, optional
        Shared ranges, so that several maps pan and zoom together.
    """

    def __init__(self, title: str, extent: float = 2.0, n: int = 200, *, x_range=None, y_range=None,
                 width: int = 340, height: int = 320, contour_levels: int = 10):
        self.extent, self.n, self.contour_levels = extent, n, contour_levels
        self.w = _grid(extent, n)
        x_range = x_range or Range1d(-extent, extent, bounds=(-extent, extent))
        y_range = y_range or Range1d(-extent, extent, bounds=(-extent, extent))
        self.figure = fig = figure(title=title, x_range=x_range, y_range=y_range, width=width, height=height,
                                   tools=TOOLS, toolbar_location="above", match_aspect=True,
                                   x_axis_label="w₁", y_axis_label="w₂")
        fig.grid.visible = False
        self.image_mapper = LinearColorMapper(palette=PALETTE, low=0, high=255)
        self.image = ColumnDataSource(dict(image=[np.zeros((n, n), np.uint8)], x=[-extent], y=[-extent],
                                           dw=[2 * extent], dh=[2 * extent]))
        fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.image, color_mapper=self.image_mapper)
        self.contours = ColumnDataSource(dict(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32)))
        fig.line("x", "y", source=self.contours, line_color="white", line_alpha=0.45, line_width=1)
        self.bar_mapper = LinearColorMapper(palette=PALETTE, low=0, high=1)
        # Log or linear is a tag of the bar's mapper, read by the ticker and the formatter: a
        # change of their own arguments would lay the figure out again, and with a model among
        # them make Bokeh walk the whole document for references (~15 ms each).
        self.bar_ticker = CustomJSTicker(args=dict(mapper=self.bar_mapper), major_code=COLOUR_BAR_TICKS)
        self.bar_labels = CustomJSTickFormatter(args=dict(mapper=self.bar_mapper), code=COLOUR_BAR_LABELS)
        self.colorbar = ColorBar(color_mapper=self.bar_mapper, ticker=self.bar_ticker, formatter=self.bar_labels,
                                 width=10, title="loss", padding=4)
        fig.add_layout(self.colorbar, "right")
        self.curves = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        fig.multi_line("xs", "ys", source=self.curves, line_color="color", line_width=3, line_alpha=0.9)
        self.points = ColumnDataSource({k: [] for k in POINT_COLUMNS})
        scatter = fig.scatter("x", "y", source=self.points, marker="marker", fill_color="color",
                              fill_alpha="alpha", line_color="white", line_alpha="alpha", size=13)
        fig.add_tools(HoverTool(renderers=[scatter], tooltips=[
            ("", "@label"), ("(w₁, w₂)", "(@x{0.000}, @y{0.000})"),
            ("Morse index", "@index"), ("loss", "@loss{0.0000}"),
            ("Hessian eigenvalues", "@eig1{0.000}, @eig2{0.000}")]))
        derive_unused_glyphs(fig)

    def update(self, z: np.ndarray, sets, *, log: bool = False) -> None:
        """Show loss values ``z`` (n × n, rows along w₂) and ``sets`` (``CriticalSet`` list)."""
        lo, hi = float(z.min()), float(z.max())
        if log:
            # Log colour needs positive values: shift a loss that dips below zero (alignment).
            shift = 0.0 if lo > 0 else (-lo if lo < 0 else 0.0)
            top = hi + shift
            floor = max(lo + shift, top * 1e-4, 1e-12)
            zz = np.log10(np.clip(z + shift, floor, None))
            a, b = float(np.log10(floor)), float(np.log10(max(top, floor * 10)))
            title = "loss" if shift == 0 else f"loss + {shift:.3g}"
        else:
            zz, a, b = z, lo, hi if hi > lo else lo + 1.0
            title = "loss"
        self.bar_mapper.update(low=a, high=b, tags=["log"] if log else [])  # read by COLOUR_BAR_TICKS
        self.colorbar.title = title
        index = np.clip((zz - a) * (255.0 / (b - a)), 0, 255).astype(np.uint8)
        self.image.data["image"] = [index]  # only this column changes: only it is sent
        self.contours.data = self._contour_lines(zz, a, b)
        self._show_sets(sets)

    def _contour_lines(self, zz, a, b):
        """Contour lines at evenly spaced levels of the (possibly log) colour scale, as one
        line broken by NaN between pieces, from a half-resolution grid (the lines are smooth)."""
        step = 2 if self.n >= 150 else 1
        w = self.w[::step]
        gen = contour_generator(w, w, zz[::step, ::step], line_type=LineType.ChunkCombinedNan)
        xs, ys = [], []
        for level in np.linspace(a, b, self.contour_levels + 2)[1:-1]:
            points = gen.lines(level)[0][0]  # ChunkCombinedNan: one chunk, NaN between pieces
            if points is not None and len(points):
                xs += [points[:, 0], [np.nan]]
                ys += [points[:, 1], [np.nan]]
        if not xs:
            return dict(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32))
        return dict(x=np.concatenate(xs).astype(np.float32), y=np.concatenate(ys).astype(np.float32))

    def _show_sets(self, sets) -> None:
        """Points get visible markers; a curve is drawn as a line and also contributes every
        ``HOVER_STRIDE``-th sample as an invisible, hoverable marker. These columns are short
        (a few dozen rows, curves 121 samples): they go as JSON lists, not binary — each binary
        array travels as two websocket messages of its own, which the browser takes one task
        each to receive (~50 such messages cost ~6 ms of a λ change).

        Where the loss has no Hessian (a non-smooth set: ``s.smooth`` False) the marker has a dot
        in its middle, the hover says "non-smooth" for the Morse index and NaN for the
        eigenvalues."""
        rows = []
        curves = dict(xs=[], ys=[], color=[])
        for s in sets:
            if s.shape == "curve":
                curves["xs"].append(_short(s.points[:, 0]))
                curves["ys"].append(_short(s.points[:, 1]))
                curves["color"].append(COLORS[s.type])
                keep = slice(None, None, HOVER_STRIDE)
            else:
                keep = slice(None)
            eig = s.eigenvalues[keep] if s.smooth else np.full((len(s.points[keep]), 2), np.nan)
            rows.append((s, s.points[keep], eig))
        count = [len(p) for _, p, _ in rows]
        cat = (lambda arrays: np.concatenate(arrays) if arrays else np.zeros((0, 2)))
        pts, eig = cat([p for _, p, _ in rows]), cat([e for _, _, e in rows])
        repeat = (lambda values, dtype=None: np.repeat(np.asarray(values, dtype=dtype), count)
                  if rows else np.zeros(0, dtype))
        label = [s.type + (", non-smooth" if not s.smooth else ", degenerate" if s.degenerate else "")
                 + " — " + s.label for s, _, _ in rows]
        self.points.data = dict(
            x=_short(pts[:, 0]), y=_short(pts[:, 1]),
            marker=list(repeat([MARKERS[s.type] + ("" if s.smooth else "_dot") for s, _, _ in rows], object)),
            color=list(repeat([COLORS[s.type] for s, _, _ in rows], object)),
            alpha=_short(repeat([1.0 if s.shape == "point" else 0.0 for s, _, _ in rows], np.float64)),
            label=list(repeat(label, object)),
            index=list(repeat([str(s.index) if s.smooth else "non-smooth" for s, _, _ in rows], object)),
            loss=_short(repeat([s.loss for s, _, _ in rows], np.float64)),
            eig1=_short(eig[:, 0]), eig2=_short(eig[:, 1]))
        self.curves.data = curves


#: 10⁰ … 10²², each exactly a float (5²² < 2⁵³), so a product or quotient by one is rounded once
_POW10 = np.array([float(10 ** k) for k in range(23)])


def _short(values) -> list[float]:
    """A short numeric column as a JSON list, to 7 significant digits (float32's, what the
    binary columns carried; the screen and the tooltips show 3–4).

    Rounded as arrays, not one ``f"{v:.7g}"`` per value (~4 % of a λ change's server time):
    v·10ᵈ rounded to an integer k (d = 6 − the decimal exponent of v), then k / 10ᵈ, correctly
    rounded, is the float nearest the 7-digit decimal — the one ``float(f"{v:.7g}")`` gives,
    except where v lies within an ulp of halfway between two such decimals. Values whose d is
    beyond ±22 (|v| < 1e-16 or ≥ 1e29), and columns under 32 values, are formatted one by one;
    NaN, ±inf and 0 stay as they are.
    """
    v = np.asarray(values, dtype=float).ravel()
    if len(v) < 32:  # numpy's per-call overhead outweighs the loop's
        return [float(f"{x:.7g}") for x in v]
    out = v.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        d = 6.0 - np.floor(np.log10(np.abs(v)))
    fast = np.abs(d) <= 22  # False for NaN, ±inf (d NaN) and 0 (d = inf)
    if fast.any():
        x, dd = v[fast], d[fast]
        scale = _POW10[np.abs(dd).astype(np.intp)]
        out[fast] = np.where(dd >= 0, np.round(x * scale) / scale, np.round(x / scale) * scale)
    for i in np.flatnonzero(~fast & np.isfinite(d)):  # finite, non-zero, far from 1
        out[i] = float(f"{v[i]:.7g}")
    return out.tolist()


class BifurcationPlot:
    """Critical weights against λ, coloured by type, with the current λ marked."""

    def __init__(self, title: str, lam_max: float, *, width: int = 420, height: int = 300,
                 y_label: str = "critical w₁ (= w₂ on the diagonal)"):
        self.figure = fig = figure(title=title, width=width, height=height, tools=TOOLS,
                                   toolbar_location="above", x_axis_label="λ", y_axis_label=y_label,
                                   x_range=Range1d(0, lam_max))
        self.dots = ColumnDataSource(dict(lam=[], w=[], color=[], type=[]))
        r = fig.scatter("lam", "w", source=self.dots, color="color", size=4)
        self.lines = ColumnDataSource(dict(xs=[], ys=[], color=[], name=[]))
        fig.multi_line("xs", "ys", source=self.lines, line_color="color", line_width=2, line_dash="dotted")
        fig.add_tools(HoverTool(renderers=[r], tooltips=[("λ", "@lam{0.000}"), ("w", "@w{0.000}"),
                                                         ("type", "@type")]))
        # on the overlay level, moving the marker repaints only that layer, not the dots
        self.marker = Span(location=0, dimension="height", line_color="#444", line_width=2, line_dash="dotted",
                           level="overlay")
        fig.add_layout(self.marker)
        derive_unused_glyphs(fig)

    def caption(self, title: str, y_label: str) -> None:
        """A new title and y-axis label (each change lays the figure out again: not per λ)."""
        if self.figure.title.text != title:
            self.figure.title.text = title
        if self.figure.yaxis[0].axis_label != y_label:
            self.figure.yaxis[0].axis_label = y_label

    def update(self, lam_values, rows, lines=()) -> None:
        """``rows``: (λ, w, type) triples; ``lines``: (xs, ys, colour, name) dotted guides."""
        self.dots.data = dict(lam=[r[0] for r in rows], w=[r[1] for r in rows],
                              color=[COLORS[r[2]] for r in rows], type=[r[2] for r in rows])
        self.lines.data = dict(xs=[l[0] for l in lines], ys=[l[1] for l in lines],
                               color=[l[2] for l in lines], name=[l[3] for l in lines])
        self.figure.x_range.update(start=float(lam_values[0]), end=float(lam_values[-1]))

    def mark(self, lam: float) -> None:
        self.marker.location = float(lam)


# --------------------------------------------------------------------------- layouts that fit the screen

#: a row's items wrap onto the next line when the page is too narrow for them side by side
WRAP = {"flex-wrap": "wrap"}


def wrapping_row(*items, **kwargs) -> pn.Row:
    """A row as wide as the page whose items (``share``s) wrap when they do not fit."""
    return pn.Row(*items, sizing_mode="stretch_width", styles=WRAP, **kwargs)


def share(*objects, basis: int, max_width: int | None = None, **kwargs) -> pn.Column:
    """A column taking its share of a ``wrapping_row``: ``basis`` pixels or more — with less
    room it wraps onto the next line — and at most ``max_width``."""
    return pn.Column(*objects, sizing_mode="stretch_width", min_width=basis, max_width=max_width,
                     styles={"flex": f"1 1 {basis}px"}, **kwargs)


def scaled(fig) -> pn.pane.Bokeh:
    """``fig`` as wide as its container, its height keeping the width : height it was made with."""
    fig.sizing_mode = "scale_width"
    return pn.pane.Bokeh(fig, sizing_mode="scale_width")


def fixed(pane: pn.pane.Bokeh, width: int, height: int) -> pn.pane.Bokeh:
    """A ``scaled`` figure back to a fixed size (the compact views: an embed, a slide)."""
    pane.object.update(sizing_mode="fixed", width=width, height=height)
    pane.param.update(sizing_mode="fixed", width=width, height=height)
    return pane


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(i: int) -> str:
    """``i`` in subscript digits: σ + sub(3) → σ₃."""
    return str(i).translate(SUBSCRIPTS)


def titled_figure(title: str, width: int, height: int, **kwargs):
    """A Bokeh figure as the pages draw them: the shared tools above it, a 13 px title."""
    fig = figure(title=title, width=width, height=height, tools=TOOLS, toolbar_location="above", **kwargs)
    fig.title.text_font_size = "13px"
    return fig


def heading(title: str, text: str):
    """A section heading with a line of explanation under it (both escaped)."""
    from app import panes

    return panes.HTML(f'<h3 style="margin:18px 0 2px 0;color:#23395d">{html.escape(title)}</h3>'
                      f'<div style="color:#444;font-size:13.5px">{html.escape(text)}</div>',
                      sizing_mode="stretch_width")


def legend_line(text: str, size: int, **params):
    """A line of legend symbols in monospace, as written (escaped)."""
    from app import panes

    return panes.HTML(f'<pre style="margin:0;font-size:{size}px;color:#555">{html.escape(text)}</pre>', **params)


def status(text: str) -> str:
    """A status line as HTML: escaped, in a span the browser tests can find."""
    return f'<span class="status-text">{html.escape(text)}</span>'


#: CSS for the plain HTML tables of numbers the pages show (``pn.pane.HTML(stylesheets=[TABLE_CSS])``)
TABLE_CSS = """
table.lae-table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums;
                  margin: 4px 0 8px 0; }
table.lae-table th, table.lae-table td { padding: 4px 12px; border-bottom: 1px solid #e4e4e4;
                                         text-align: right; white-space: nowrap; }
table.lae-table thead th { border-bottom: 2px solid #23395d; color: #23395d; font-weight: 600; }
table.lae-table tbody th { text-align: left; font-weight: 500; color: #333; }
table.lae-table td.collapsed { color: #aaa; }
table.lae-table tr.highlight td, table.lae-table tr.highlight th { background: #eef3fb; }
"""


def log_decades(values, floor: float = 1e-16) -> tuple[float, float]:
    """The whole decades [10^a, 10^b] (a < b) around the finite positive ``values`` (those below
    ``floor`` count as ``floor``): a log axis fixed to them keeps its ticks, and so its size,
    while the data move inside — Bokeh then repaints the plot without a layout pass."""
    v = np.asarray(values, dtype=float).ravel()
    v = np.maximum(v[np.isfinite(v)], floor)
    if v.size == 0:
        return floor, 1.0
    a = math.floor(math.log10(v.min()))
    b = max(math.ceil(math.log10(v.max())), a + 1)
    return 10.0 ** a, 10.0 ** b
