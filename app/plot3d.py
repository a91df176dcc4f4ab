"""Plotly figures that load plotly.js only when first drawn.

Panel's Plotly pane makes every page load plotly.js (4.7 MB) up front, which alone costs about
a second of cold load; ``PlotlyFigure`` fetches the same bundled file — served by Panel itself,
never a CDN — the first time a figure is drawn, then redraws with ``Plotly.react``.
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
    """A plotly figure (``data``: list of traces, ``layout``) drawn in the browser."""

    data = param.List(default=[])
    layout = param.Dict(default={})
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
    export function render({ model, el }) {
      const div = document.createElement("div")
      div.className = "plotly-figure"
      div.style.width = "100%"
      div.style.height = "100%"
      el.appendChild(div)
      const draw = () => loadPlotly(model.src).then((Plotly) =>
        Plotly.react(div, model.data, model.layout, {displaylogo: false, responsive: true}))
      draw()
      model.on(["data", "layout"], draw)
    }
    """


def surface(w: np.ndarray, z: np.ndarray, title: str, z_title: str = "loss") -> dict:
    """``data`` and ``layout`` of a surface z (len(w) × len(w), rows along w₂) over w × w,
    rounded to 4 significant digits (plenty for the eye, a third of the bytes)."""
    return dict(
        data=[dict(type="surface", x=w.tolist(), y=w.tolist(), z=np.round(z, 4).tolist(),
                   colorscale="Viridis", showscale=False)],
        layout=dict(title=dict(text=title), margin=dict(l=0, r=0, t=30, b=0),
                    scene=dict(xaxis=dict(title=dict(text="w₁")), yaxis=dict(title=dict(text="w₂")),
                               zaxis=dict(title=dict(text=z_title)))))
