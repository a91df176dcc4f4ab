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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import panel
import param
from panel.custom import JSComponent

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
      let pending = false
      const draw = () => {
        div.style.display = model.shown ? "" : "none"
        div.style.height = model.plot_height + "px"
        if (!model.shown || pending) return
        pending = true  // several properties arrive in one message: draw once, after all of them
        queueMicrotask(() => {
          pending = false
          if (!model.shown) return
          loadPlotly(model.src).then((Plotly) =>
            Plotly.react(div, resolve(model.data, model.arrays, model.fixed), model.layout,
                         {displaylogo: false, responsive: true}))
        })
      }
      draw()
      model.on(["data", "layout", "arrays", "fixed", "shown", "plot_height"], draw)
    }
    """


def float32(a) -> np.ndarray:
    """An array as the browser gets it: float32 (7 significant digits: plenty for the eye)."""
    return np.ascontiguousarray(a, dtype=np.float32)


def surface(w: np.ndarray, z: np.ndarray, title: str, z_title: str = "loss") -> dict:
    """``data``, ``arrays`` and ``layout`` of a surface z (len(w) × len(w), rows along w₂) over w × w."""
    return dict(
        data=[dict(type="surface", x="@w", y="@w", z="@z", colorscale="Viridis", showscale=False)],
        arrays=dict(w=float32(w), z=float32(z)),
        layout=dict(title=dict(text=title), margin=dict(l=0, r=0, t=30, b=0),
                    scene=dict(xaxis=dict(title=dict(text="w₁")), yaxis=dict(title=dict(text="w₂")),
                               zaxis=dict(title=dict(text=z_title)))))
