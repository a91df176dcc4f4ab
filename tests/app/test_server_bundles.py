"""The served pages load only the Bokeh script bundles they use (app/server.py).

Bokeh's WebGL bundle (194 kB) and its MathJax bundle (1.8 MB) are left out of every served page.
That is safe only while no page holds a model that needs them: every page is built here in a
document, with every mode of the Landscape page drawn once (the mode switch adds maps), and
Bokeh's own tests of "this document needs WebGL / MathJax" must say no. (Browser tests of every
page — tests/e2e/test_smoke.py — see the pages draw with no console error.)
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from bokeh.document import Document
from bokeh.embed.bundle import _use_gl, _use_mathjax

from app import server
from app.pages import landscape
from tests.support import AppServer

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


def test_the_served_html_asks_for_none_of_them():
    with AppServer() as srv:
        for route in PAGES:
            html = urllib.request.urlopen(srv.url + route, timeout=60).read().decode()
            scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
            assert any("bokeh.min.js" in s for s in scripts), route  # the check sees the scripts
            assert any("bokeh-widgets" in s for s in scripts), route
            assert any("bokeh-tables" in s for s in scripts), route  # panel.min.js needs it
            left_out = [s for s in scripts if re.search(r"bokeh-(gl|mathjax)", s)]
            assert left_out == [], route
