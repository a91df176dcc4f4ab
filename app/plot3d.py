"""A rotatable 3-D surface that loads plotly.js only when it is first shown.

Panel's Plotly pane makes every page load plotly.js (4.7 MB) up front, which alone costs about
a second of cold load; this component fetches the same bundled file — served by Panel itself,
never a CDN — the first time a 3-D view is drawn, then redraws with ``Plotly.react``.
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


class Surface3D(JSComponent):
    """A plotly surface of ``z`` over the grid ``x`` × ``y`` (rows of z along y)."""

    x = param.List(default=[])
    y = param.List(default=[])
    z = param.List(default=[])
    title = param.String(default="")
    z_title = param.String(default="loss")
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
      div.className = "surface-3d"
      div.style.width = "100%"
      div.style.height = "100%"
      el.appendChild(div)
      const draw = () => loadPlotly(model.src).then((Plotly) => Plotly.react(div, [{
          type: "surface", x: model.x, y: model.y, z: model.z, colorscale: "Viridis", showscale: false,
        }], {
          title: {text: model.title}, margin: {l: 0, r: 0, t: 30, b: 0},
          scene: {xaxis: {title: {text: "w₁"}}, yaxis: {title: {text: "w₂"}}, zaxis: {title: {text: model.z_title}}},
        }, {displaylogo: false, responsive: true}))
      draw()
      model.on(["x", "y", "z", "title"], draw)
    }
    """

    def show(self, w: np.ndarray, z: np.ndarray, title: str) -> None:
        """Draw the surface z (len(w) × len(w)) over w × w, rounded to 4 significant digits."""
        self.param.update(x=w.tolist(), y=w.tolist(), z=np.round(z, 4).tolist(), title=title)
