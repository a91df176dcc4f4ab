"""The app's text and formulas (app/panes.py): a change sends the new text and nothing else, and no
page holds one of Panel's HTML-model panes.

Panel (1.9) re-sends every property of its HTML or LaTeX pane when its object changes, with the
design's stylesheets worked out as for a component outside the page: the browser lays the whole
page out again (about 60 ms per pane in Chromium on a page's first change). And a page holding a
Panel HTML, Markdown or Str pane loads Bokeh's MathJax bundle (1.8 MB) in case it holds TeX. The
app's ``HTML`` and ``LaTeX`` are components of its own whose change is their text.
"""

from __future__ import annotations

import re

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.embed.bundle import _use_mathjax
from panel.io.resources import _panel_use_mathjax

from app import panes, server

PAIRS = [(pn.pane.HTML, panes.HTML, "<b>x &amp; y</b>", "<i>λ = 2</i>"),
         (pn.pane.LaTeX, panes.LaTeX, r"$x^2$", r"$\sqrt{1 - \lambda/x^2}$")]
IDS = ["HTML", "LaTeX"]


def _model(pane, doc=None):
    """The pane drawn as the app draws it, in a column of a document; its (one) model."""
    doc = doc or Document()
    pn.Column(pane, sizing_mode="stretch_width").server_doc(doc)
    [model] = {model.id: model for model, _parent in pane._models.values() if model.document is doc}.values()
    return model


@pytest.mark.parametrize("plain, ours, first, second", PAIRS, ids=IDS)
def test_a_change_of_the_apps_text_changes_its_text_and_nothing_else(plain, ours, first, second):
    pane = ours(first, sizing_mode="stretch_width")
    model = _model(pane)
    before = {name: getattr(model, name) for name in model.properties() if name != "data"}
    stylesheets = list(model.stylesheets)
    pane.object = second
    assert model.data.object == second
    assert {name: getattr(model, name) for name in model.properties() if name != "data"} == before
    assert model.stylesheets == stylesheets  # the very same stylesheet models, no new ones


@pytest.mark.parametrize("plain, ours, first, second", PAIRS, ids=IDS)
def test_the_check_sees_panels_own_pane_resend_its_stylesheets(plain, ours, first, second):
    """What the app's components avoid (and the test above would see): Panel's pane, changed the
    same way inside a template, gets new stylesheets."""
    pane = plain(first, sizing_mode="stretch_width")
    template = pn.template.BootstrapTemplate(title="t")
    template.main.append(pn.Column(pane, sizing_mode="stretch_width"))
    doc = Document()
    template.server_doc(doc)
    [model] = {m.id: m for m, _ in pane._models.values() if m.document is doc}.values()
    before, events = list(model.stylesheets), []
    doc.on_change(lambda e: events.append(getattr(e, "attr", None)))
    pane.object = second
    assert "stylesheets" in events and len(model.stylesheets) > len(before)


def test_the_formula_component_carries_katex_served_by_the_app():
    model = _model(panes.LaTeX(r"$x$"))
    assert panes.KATEX_DIST.startswith("static/extensions/panel/bundled/katex/katex@")
    assert model.data.src == panes.KATEX_DIST
    # Panel points the address at its own files in a session (at its CDN outside one, as here)
    tail = panes.KATEX_DIST.removeprefix("static/extensions/panel/") + "katex.min.css"
    sheets = [str(getattr(s, "url", "")).split("?")[0] for s in model.stylesheets]
    assert any(s.endswith(tail) for s in sheets), sheets


@pytest.mark.parametrize("route", sorted(set(server.ROUTES) - {"/", "/lecture"}))
def test_every_text_of_every_page_is_the_apps_and_no_page_needs_mathjax(route):
    """No Panel HTML, Markdown, Str or LaTeX pane on a page (the deck's template has Panel's own)."""
    view = server.ROUTES[route]()
    areas = [getattr(view, a) for a in ("header", "sidebar", "main") if hasattr(view, a)] or [view]
    plain = [f"{type(p).__name__} {p.css_classes}" for area in areas for obj in area
             for kind in (pn.pane.HTML, pn.pane.Markdown, pn.pane.Str, pn.pane.LaTeX) for p in obj.select(kind)]
    ours = [p for area in areas for obj in area for p in obj.select(panes.HTML)]
    assert ours and not plain, f"{route}: Panel's own text panes: {plain}"
    doc = Document()
    view.server_doc(doc)
    assert not _panel_use_mathjax(doc.roots) and not _use_mathjax(set(doc.models)), route


@pytest.mark.parametrize("route", ["/landscape", "/theorem", "/collapse"])
def test_no_formula_holds_html_which_it_would_show_as_text(route):
    """``panes.LaTeX`` sets its text as text (nothing in it is parsed as HTML): a tag in a
    formula would show as '<b>' on the page."""
    view = server.ROUTES[route]()
    areas = [getattr(view, a) for a in ("header", "sidebar", "main") if hasattr(view, a)] or [view]
    formulas = [p for area in areas for obj in area for p in obj.select(panes.LaTeX)]
    assert formulas and all(p.object for p in formulas), route
    for p in formulas:
        assert not re.search(r"</?[a-zA-Z][^>]*>", p.object), (route, p.object[:200])
