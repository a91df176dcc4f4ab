"""A text pane's change sends the new text, not the stylesheets again (app/panes.py, with
``app.compat``'s ``text_panes_send_text`` applied as in the server).

Panel (1.9) re-sends every property of an HTML or LaTeX pane when its object changes, with the
design's stylesheets worked out as for a component outside the template: the pane gains
``bootstrap.min.css`` and the theme's CSS, and the browser lays the whole page out again (about
60 ms per pane in Chromium on a page's first change).
"""

from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document

from app import panes, server

CASES = [(pn.pane.HTML, panes.HTML, "<b>x & y</b>", "<i>λ = 2</i>"),
         (pn.pane.LaTeX, panes.LaTeX, r"$x^2$", r"$\sqrt{1 - \lambda/x^2}$")]


def _in_template(pane):
    """The pane drawn the way the app draws it: inside the Bootstrap template, in a document."""
    template = pn.template.BootstrapTemplate(title="t")
    template.main.append(pn.Column(pane, sizing_mode="stretch_width"))
    doc = Document()
    template.server_doc(doc)
    models = list({model.id: model for model, _parent in pane._models.values() if model.document is doc}.values())
    assert len(models) == 1
    return models[0]


def _change(cls, first, second):
    pane = cls(first, sizing_mode="stretch_width")
    model = _in_template(pane)
    before, events = list(model.stylesheets), []
    model.document.on_change(lambda e: events.append(getattr(e, "attr", None)))
    pane.object = second
    return model, before, events


@pytest.mark.parametrize("plain, ours, first, second", CASES, ids=["HTML", "LaTeX"])
def test_a_change_sends_only_the_text(plain, ours, first, second):
    model, before, events = _change(ours, first, second)
    assert events == ["text"]
    assert model.stylesheets == before  # the very same stylesheet models, no new ones
    # the text is what Panel's own pane makes of the object (escaped for HTML)
    reference, _, _ = _change(plain, first, second)
    assert model.text == reference.text
    assert model.text != _in_template(ours(first)).text


@pytest.mark.parametrize("plain, ours, first, second", CASES, ids=["HTML", "LaTeX"])
def test_the_check_sees_panels_own_pane_resend_its_stylesheets(plain, ours, first, second):
    """The canary: Panel's pane, changed the same way, gets new stylesheets, so the test above can
    fail. (If a Panel release stops doing this, this test fails and the patch can go.)"""
    model, before, events = _change(plain, first, second)
    assert "stylesheets" in events and len(model.stylesheets) > len(before)


def test_html_in_the_text_stays_escaped():
    model, _, _ = _change(panes.HTML, "", '<img src=x onerror="alert(1)">')
    assert "<img" not in model.text and "&lt;img" in model.text


def test_panel_never_picks_them_by_itself():
    assert type(pn.panel("<b>text</b>")) is pn.pane.Markdown
    assert pn.pane.HTML.get_pane_type("<b>text</b>") not in (panes.HTML, panes.LaTeX)
    assert type(pn.panel(r"$x$")) is not panes.LaTeX


@pytest.mark.parametrize("route", sorted(set(server.ROUTES) - {"/"}))
def test_every_text_pane_of_every_page_is_ours(route):
    view = server.ROUTES[route]()
    areas = [getattr(view, a) for a in ("header", "sidebar", "main") if hasattr(view, a)] or [view]
    found = [p for area in areas for obj in area for kind in (pn.pane.HTML, pn.pane.LaTeX) for p in obj.select(kind)]
    plain = [f"{type(p).__name__} {p.css_classes}" for p in found if not isinstance(p, (panes.HTML, panes.LaTeX))]
    assert found and not plain, f"{route}: Panel's own text panes, which resend their stylesheets: {plain}"
