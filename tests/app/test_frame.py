"""The pages' templates build a page's document the way Panel's own do, only with less work:
Bokeh indexes the document's models once (not once per area), and the frame's repr does not
write out the whole page."""

from __future__ import annotations

import collections
import re

import panel as pn
import pytest
from bokeh.document import Document

from app import server, shell
from app.pages import lecture


def _built(view, counted: list) -> Document:
    """``view`` served into a new document, each index of its models counted in ``counted``."""
    doc = Document()
    recompute = doc.models.recompute

    def counting():
        counted.append(len(doc.roots))
        recompute()

    doc.models.recompute = counting
    view.server_doc(doc)
    return doc


def _areas(doc: Document) -> list[str]:
    """The document's roots by name (the deck's names end in an object's id)."""
    return [re.sub(r"-\d+$", "", root.name) for root in doc.roots]


def _kinds(doc: Document) -> collections.Counter:
    return collections.Counter(type(model).__name__ for model in doc.models)


@pytest.mark.parametrize("route", ["/landscape", "/theorem", "/lecture"])
def test_a_pages_document_is_indexed_once_and_holds_what_panels_own_build_holds(route, monkeypatch):
    ours: list = []
    doc = _built(server.ROUTES[route](), ours)
    assert len(ours) == 1 and ours[0] == len(doc.roots) > 1  # once, with every area in

    template = shell.Frame if route != "/lecture" else lecture.Deck
    monkeypatch.setattr(template, "server_doc", pn.template.BaseTemplate.server_doc)
    panels: list = []
    plain = _built(server.ROUTES[route](), panels)
    assert len(panels) > 1  # Panel's own build indexes the document again for each area
    assert _kinds(doc) == _kinds(plain)
    assert _areas(doc) == _areas(plain)


def test_the_frame_builds_without_writing_out_its_page():
    class Unprintable(pn.pane.Markdown):
        def __repr__(self, depth=0):
            raise AssertionError("the frame wrote out its page")

    frame = shell.Frame("landscape", pn.Column(Unprintable("sidebar")), pn.Column(Unprintable("main")))
    assert repr(frame) == "Frame(header, sidebar, main)"
    doc = frame.server_doc(Document())
    assert any(root.name == "main" for root in doc.roots)
