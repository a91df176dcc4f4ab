"""Plotly figures that load plotly.js only when first drawn, and take their numbers as binary arrays.

Panel's Plotly pane makes every page load plotly.js (4.7 MB) up front, which alone costs about
a second of cold load; ``PlotlyFigure`` fetches the same bundled file — served by Panel itself,
never a CDN — the first time a figure is drawn, then redraws with ``Plotly.react``.

Numbers travel as NumPy arrays in ``arrays`` (Bokeh sends them as binary buffers, 4 bytes a
float32, against ~8 characters of JSON text), and a trace names them with ``"@name"`` where plotly
expects an array. A 2-D array becomes a list of rows (a surface's z); NaN becomes a gap (null). Arrays
that never change (a sphere's grid) go in ``fixed``, sent once with the figure.
The trace list itself, small and usually unchanged, is only resent when it changes.

``shown`` shows or hides the figure inside its own element: the page around it reflows like any
HTML, without the whole-document layout pass Bokeh runs when a component's ``visible`` changes.

The figure lives in the component's shadow root, and plotly.js puts its CSS in ``<style
id="plotly.js-style-…">`` elements of ``document.head`` (its global rules when it loads, the mode
bar's when a figure draws one), which a shadow root does not see: without them the mode bar is a
stack of grey boxes and plotly's SVG layers, meant to lie on top of each other, stack below each
other and overflow the figure. The figure adopts those same rules into its shadow root
(``adoptedStyleSheets``, the public way to share CSS with one) after every draw, and a
``ResizeObserver`` resizes the plot (``Plotly.Plots.resize``) when its element changes width —
the sidebar opening or a row wrapping, which no window ``resize`` event reports.

``surface`` makes a loss surface with its critical sets marked on it; ``critical_marks`` the
markers alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import panel
import param
from panel.custom import JSComponent

from app import plots

# Not imported from panel.models.plotly: importing that model makes Panel put plotly.js on
# every page. The file is the one Panel bundles and serves under static/extensions/panel/.
_BUNDLED = sorted((Path(panel.__file__).parent / "dist" / "bundled" / "plotlyplot").glob("plotly-*.min.js"))
#: plotly.js as Panel bundles and serves it (a path relative to the app's root)
PLOTLY_JS = f"static/extensions/panel/bundled/plotlyplot/{_BUNDLED[-1].name}" if _BUNDLED else ""


class PlotlyFigure(JSComponent):
    """A plotly figure (``data``: list of traces, ``layout``) drawn in the browser, ``plot_height``
    pixels tall while ``shown``; a string ``"@name"`` in a trace stands for ``arrays[name]``."""

    data = param.List(default=[])
    layout = param.Dict(default={})
    arrays = param.Dict(default={}, doc="name → NumPy array, referred to as '@name' in the traces")
    fixed = param.Dict(default={}, doc="like ``arrays``, for arrays that never change (sent once)")
    shown = param.Boolean(default=False)
    plot_height = param.Integer(default=440, bounds=(50, None))
    src = param.String(default=PLOTLY_JS)

    _esm = """
    function loadPlotly(src) {
      if (window.Plotly) return Promise.resolve(window.Plotly)
      if (!window.__laePlotly) {
        window.__laePlotly = new Promise((resolve, reject) => {
          const s = document.createElement("script")
          s.src = new URL(src, document.baseURI).href
          s.onload = () => resolve(window.Plotly)
          s.onerror = () => reject(new Error("could not load plotly.js from the app"))
          document.head.appendChild(s)
        })
      }
      return window.__laePlotly
    }
    // a typed array from the server as plotly wants it: rows for 2-D, null for NaN (a gap)
    function plain(a) {
      const flat = Array.from(a, (x) => Number.isNaN(x) ? null : x)
      const shape = a.shape || [flat.length]
      if (shape.length !== 2) return flat
      const [n, m] = shape
      return Array.from({length: n}, (_, i) => flat.slice(i * m, (i + 1) * m))
    }
    // plotly.js's own rules, from document.head, as one sheet adopted by every figure's shadow root
    const plotlyRules = new CSSStyleSheet()
    let plotlyText = null
    function adoptPlotlyStyles(root) {
      const styles = document.head.querySelectorAll('style[id^="plotly.js-style-"]')
      const text = Array.from(styles, (s) => s.sheet ? Array.from(s.sheet.cssRules, (r) => r.cssText).join(" ") : "")
        .join(" ")
      if (text !== plotlyText) {
        plotlyRules.replaceSync(text)
        plotlyText = text
      }
      if (root instanceof ShadowRoot && !root.adoptedStyleSheets.includes(plotlyRules))
        root.adoptedStyleSheets = [...root.adoptedStyleSheets, plotlyRules]
    }
    const lookup = (dict, name) => dict instanceof Map ? dict.get(name) : dict[name]
    function resolve(value, arrays, fixed) {
      if (typeof value === "string" && value.startsWith("@")) {
        const name = value.slice(1)
        const a = lookup(arrays, name) ?? lookup(fixed, name)
        return a === undefined ? value : plain(a)
      }
      if (Array.isArray(value)) return value.map((v) => resolve(v, arrays, fixed))
      if (value && typeof value === "object" && value.constructor === Object) {
        const out = {}
        for (const [k, v] of Object.entries(value)) out[k] = resolve(v, arrays, fixed)
        return out
      }
      return value
    }
    export function render({ model, el }) {
      const div = document.createElement("div")
      div.className = "plotly-figure"
      div.style.width = "100%"
      el.appendChild(div)
      const root = el.getRootNode()
      let pending = false
      let width = 0
      const draw = () => {
        div.style.display = model.shown ? "" : "none"
        div.style.height = model.plot_height + "px"
        if (!model.shown || pending) return
        pending = true  // several properties arrive in one message: draw once, after all of them
        queueMicrotask(() => {
          pending = false
          if (!model.shown) return
          loadPlotly(model.src).then((Plotly) => {
            adoptPlotlyStyles(root)  // the global rules, there since plotly.js loaded
            return Plotly.react(div, resolve(model.data, model.arrays, model.fixed), model.layout,
                                {displaylogo: false, responsive: true})
          }).then(() => {
            adoptPlotlyStyles(root)  // and the mode bar's, added as it was drawn
            width = div.clientWidth
          })
        })
      }
      // a change of the element's width (not the window's) resizes the plot to it
      const resized = new ResizeObserver(() => {
        if (!model.shown || !div._fullLayout || !window.Plotly || div.clientWidth === width) return
        width = div.clientWidth
        window.Plotly.Plots.resize(div)
      })
      resized.observe(div)
      draw()
      model.on(["data", "layout", "arrays", "fixed", "shown", "plot_height"], draw)
      model.on("remove", () => {
        resized.disconnect()
        if (window.Plotly) window.Plotly.purge(div)
      })
    }
    """


def float32(a) -> np.ndarray:
    """An array as the browser gets it: float32 (7 significant digits: plenty for the eye)."""
    return np.ascontiguousarray(a, dtype=np.float32)


#: the surfaces' first view: from azimuth −45° (across the diagonal w₁ = w₂) and 46° up, so that
#: two wells on the diagonal — the sum loss's minima — lie side by side with the saddle between
#: them, not one behind the other as from plotly's default (1.25, 1.25, 1.25); the loss axis is
#: 0.6 of the others, so that the steep corners do not hide the middle
SURFACE_CAMERA = dict(eye=dict(x=1.1, y=-1.1, z=1.6), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=0))
SURFACE_ASPECT = dict(x=1, y=1, z=0.6)
#: plotly's marker for each type of critical point (scatter3d has no triangle: a saddle is a
#: diamond); a non-smooth point has the open form of its type's marker
SYMBOLS_3D = {"minimum": "circle", "saddle": "diamond", "maximum": "square"}


def critical_marks(sets, extent: float, lift: float) -> tuple[list[dict], dict]:
    """Traces and arrays that mark critical sets on a surface plot.

    ``sets`` are ``lae_core.scalar.CriticalSet``s: a point gets a marker (colour by type as on
    the maps, ``plots.COLORS``; symbol by type, ``SYMBOLS_3D``), a curve a line, cut where it
    leaves |w₁|, |w₂| ≤ ``extent``; each sits ``lift`` above the loss on it, so that the surface
    does not hide it. One trace per kind of set (shape, type, smooth or not) present, named for
    the legend; its coordinates go in the returned arrays (``mark_…``), the loss itself as the
    hover's ``customdata``.
    """
    groups: dict[tuple, list] = {}
    for s in sets:
        groups.setdefault((s.shape, s.type, s.smooth), []).append(s)
    traces, arrays = [], {}
    for (shape, kind, smooth), members in groups.items():
        key = f"mark_{shape}_{kind}" + ("" if smooth else "_nonsmooth")
        if shape == "point":
            xy = np.array([s.points[0] for s in members], dtype=float)
            loss = np.array([s.loss for s in members], dtype=float)
            name = kind + ("" if smooth else " (non-smooth)")
        else:  # the curves one after another, a NaN row (a gap) between them
            xy = np.concatenate([np.vstack([s.points, [[np.nan, np.nan]]]) for s in members])
            loss = np.concatenate([np.full(len(s.points) + 1, s.loss) for s in members])
            xy[(np.abs(xy) > extent).any(axis=1)] = np.nan
            name = f"curve of {plots.PLURAL[kind]}" + ("" if smooth else " (non-smooth)")
        for axis, values in (("x", xy[:, 0]), ("y", xy[:, 1]), ("z", loss + lift), ("loss", loss)):
            arrays[f"{key}_{axis}"] = float32(values)
        # uid: plotly matches a trace to its last draw by it, so a trace hidden from the legend
        # stays hidden, and only it, when other kinds of set come and go with λ
        trace = dict(type="scatter3d", uid=key, x=f"@{key}_x", y=f"@{key}_y", z=f"@{key}_z",
                     customdata=f"@{key}_loss", name=name, hovertemplate=(f"{name}<br>(w₁, w₂) = (%{{x:.3f}}, %{{y:.3f}})"
                                               "<br>loss = %{customdata:.4g}<extra></extra>"))
        if shape == "point":
            symbol = SYMBOLS_3D[kind] + ("" if smooth else "-open")
            trace.update(mode="markers", marker=dict(size=7, color=plots.COLORS[kind], symbol=symbol,
                                                     line=dict(color="white", width=1)))
        else:
            trace.update(mode="lines", line=dict(color=plots.COLORS[kind], width=6))
        traces.append(trace)
    return traces, arrays


def surface(w: np.ndarray, z: np.ndarray, title: str, z_title: str = "loss", sets=()) -> dict:
    """``data``, ``arrays`` and ``layout`` of a surface z (len(w) × len(w), rows along w₂) over
    w × w, with the critical ``sets`` marked on it (``critical_marks``), first seen from
    ``SURFACE_CAMERA``; a visitor's own turn of the view outlasts the next redraw (the layout's
    ``uirevision`` stays the same)."""
    finite = z[np.isfinite(z)]
    span = float(finite.max() - finite.min()) if finite.size else 1.0
    traces, marks = critical_marks(sets, float(np.max(np.abs(w))), 0.04 * (span or 1.0))
    return dict(
        data=[dict(type="surface", x="@w", y="@w", z="@z", colorscale="Viridis", showscale=False, name="loss"),
              *traces],
        arrays=dict(w=float32(w), z=float32(z), **marks),
        layout=dict(title=dict(text=title), margin=dict(l=0, r=0, t=30, b=0), uirevision="surface",
                    showlegend=bool(traces),
                    legend=dict(orientation="h", x=0.0, y=1.0, xanchor="left", yanchor="top",
                                bgcolor="rgba(255, 255, 255, 0.7)"),
                    scene=dict(camera=SURFACE_CAMERA, aspectmode="manual", aspectratio=SURFACE_ASPECT,
                               xaxis=dict(title=dict(text="w₁")),
                               yaxis=dict(title=dict(text="w₂")), zaxis=dict(title=dict(text=z_title)))))
