"""The text panes every page sets: HTML the app writes, and formulas.

``HTML`` is a small component of the app's own (Panel's public ``JSComponent``): the browser puts
its ``object`` into the element, and a change sends the new text and nothing else. (Panel's HTML
pane sends every property again when its text changes, stylesheets among them worked out as for
a component outside the page — the browser lays the page out again — and any page holding one
loads Bokeh's MathJax bundle, 1.8 MB, in case it holds TeX.) Its ``object`` is HTML the app
writes: anything that came from a visitor is escaped (``html.escape``) before it gets here.

``LaTeX`` is the same for text with formulas, typeset by KaTeX in the browser (Panel's LaTeX pane
resends its stylesheets as its HTML pane does, and costs the server ~4 ms per change).

Use them for every text a page sets or shows; ``pn.panel`` never picks them by itself.

A pane whose text changes with a slider can hold its height (``hold_height``): it keeps the
tallest height its text has had at its present width, so a shorter text leaves the pane as it is.
Every change of a pane's size makes BokehJS lay the whole page out again (it measures every
plot's axes: ~30 ms on the Landscape page), and the plots below stop jumping up and down as a
text between them gains and loses a line.
"""

from __future__ import annotations

from pathlib import Path

import panel as pn
import param
from panel.custom import JSComponent


#: ``holdHeight(el)``: from now on ``el`` does not shrink at its present width (a grow-only
#: min-height, set when the browser reports a new size, after its layout, so a change forces
#: none); a new width (a resized window, the pane hidden or shown) starts again from the text's
#: own height. Sizes are the element's own CSS pixels (its computed height, rounded up: a held
#: height below a fractional one would still move), which a slide's zoom does not scale.
_HOLD_HEIGHT = """
function holdHeight(el) {
  let width = null
  new ResizeObserver(([entry]) => {
    const now = entry.borderBoxSize[0].inlineSize
    if (now !== width) {
      width = now
      el.style.minHeight = ""
    }
    const height = parseFloat(getComputedStyle(el).height)
    if (height > 0) el.style.minHeight = `${Math.ceil(height)}px`
  }).observe(el)
}
"""


class HTML(JSComponent):
    """HTML the app writes (``object``), shown in the page as it is; a change sends the text."""

    object = param.String(default="", doc="HTML made by the app; a visitor's text is escaped before it gets here")
    hold_height = param.Boolean(default=False, constant=True,
                                doc="keep the tallest height the text has had at this width")

    _esm = _HOLD_HEIGHT + """
    export function render({ model, el }) {
      const show = () => { el.innerHTML = model.object }
      show()
      if (model.hold_height) holdHeight(el)
      model.on("object", show)
    }
    """

    def __init__(self, object: str = "", **params):
        super().__init__(object=object, **params)


# KaTeX as Panel bundles and serves it (never a CDN)
_KATEX = sorted((Path(pn.__file__).parent / "dist" / "bundled" / "katex").glob("katex@*"))
KATEX_DIST = f"static/extensions/panel/bundled/katex/{_KATEX[-1].name}/dist/" if _KATEX else ""


class LaTeX(JSComponent):
    """Text with formulas between ``$ … $`` (``$$ … $$`` on a line of their own), typeset by KaTeX
    in the browser; a change sends the new text. KaTeX's script loads with the first formula a
    page draws (a page that names the ``katex`` extension has it already: the static export), so
    it is not on the page's first request."""

    object = param.String(default="", doc="text with formulas between $ … $; the text is not HTML")
    src = param.String(default=KATEX_DIST, doc="where KaTeX's files are served (relative to the page)")
    hold_height = param.Boolean(default=False, constant=True,
                                doc="keep the tallest height the text has had at this width")

    _esm = _HOLD_HEIGHT + """
    function load(url) {
      return new Promise((resolve, reject) => {
        const s = document.createElement("script")
        s.src = new URL(url, document.baseURI).href
        s.onload = resolve
        s.onerror = () => reject(new Error("could not load KaTeX from the app"))
        document.head.appendChild(s)
      })
    }
    function loadKatex(dist) {
      if (window.katex && window.renderMathInElement) return Promise.resolve()
      if (!window.__laeKatex)
        window.__laeKatex = (window.katex ? Promise.resolve() : load(dist + "katex.min.js"))
          .then(() => window.renderMathInElement ? null : load(dist + "contrib/auto-render.min.js"))
      return window.__laeKatex
    }
    const DELIMITERS = [{left: "$$", right: "$$", display: true}, {left: "$", right: "$", display: false}]
    export function render({ model, el }) {
      const draw = () => {
        el.textContent = model.object
        if (window.renderMathInElement)
          window.renderMathInElement(el, {delimiters: DELIMITERS, throwOnError: false})
      }
      draw()
      // held from the first typeset text on: the TeX source shown until KaTeX arrives is longer
      const hold = () => { if (model.hold_height) holdHeight(el) }
      if (window.renderMathInElement) hold()
      else loadKatex(model.src).then(() => { draw(); hold() }, (e) => console.warn(e.message))
      model.on("object", draw)
    }
    """

    def __init__(self, object: str = "", **params):
        # KaTeX's stylesheet inside the component (its own fonts come from beside it)
        params["stylesheets"] = [KATEX_DIST + "katex.min.css", *params.get("stylesheets", [])]
        super().__init__(object=object, **params)
