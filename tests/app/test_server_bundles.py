"""No page needs Bokeh's WebGL bundle (194 kB) or its MathJax bundle (1.8 MB): every page is
built here in a document, with every mode of the Landscape page drawn once (the mode switch adds
maps), and Bokeh's own tests of "this document needs WebGL / MathJax" must say no."""

from __future__ import annotations

import pytest
from bokeh.document import Document
from bokeh.embed.bundle import _use_gl, _use_mathjax

from app import server
from app.pages import landscape

PAGES = sorted(set(server.ROUTES) - {"/"})


@pytest.mark.parametrize("route", PAGES)
def test_no_page_holds_a_model_from_a_bundle_left_out(route):
    view = server.ROUTES[route]()
    doc = Document()
    view.server_doc(doc)
    models = set(doc.models)
    assert len(models) > 50
    assert not _use_gl(models) and not _use_mathjax(models)


def test_no_mode_of_the_landscape_page_adds_one():
    page = landscape.LandscapePage(sync_url=False)
    doc = Document()
    page.view().server_doc(doc)
    for mode in landscape.LandscapeState.param.mode.objects:
        page.state.mode = mode
        models = set(doc.models)
        assert not _use_gl(models) and not _use_mathjax(models), mode
    assert page.state.mode == landscape.LandscapeState.param.mode.objects[-1]
