"""What the served pages leave out, and the checks that make leaving it out safe (app/server.py,
app/shell.py).

* ``lae-landscapes serve`` turns off two of Bokeh's development checks (its own settings,
  ``BOKEH_VALIDATE_DOC`` and ``BOKEH_PERFORM_ERROR_DIAGNOSTICS``): the document integrity check
  on every page view, and the signature check of every callback Panel registers. The integrity
  check runs here instead, on every page and every Landscape mode.
* With ``--tune-memory`` (and only then) it freezes the objects of its start out of the garbage
  collector's walks.
* No page loads KaTeX, plotly.js or MathJax with its first request.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest
from bokeh.core.validation.check import check_integrity
from bokeh.document import Document

from app import server
from app.pages import landscape
from tests.support import ROOT, AppServer

PAGES = sorted(set(server.ROUTES) - {"/"})

# Calls app.server.serve with pn.serve replaced (nothing is served), then prints what it set.
SERVE_SETTINGS = r"""
import gc, json
import panel as pn
from bokeh.settings import settings
from app import server
seen = {}
pn.serve = lambda *a, **k: seen.update(k)
import sys
server.serve("127.0.0.1", 0, tune_memory="tune" in sys.argv)
print(json.dumps({"validate_doc": settings.perform_document_validation(),
                  "error_diagnostics": settings.perform_error_diagnostics(),
                  "frozen": gc.get_freeze_count(), "served": bool(seen)}))
"""


def serve_settings(*args, **env) -> dict:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOKEH_")}
    out = subprocess.run([sys.executable, "-c", SERVE_SETTINGS, *args], cwd=ROOT, env={**environ, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_serve_turns_bokehs_development_checks_off_and_freezes_its_start_only_when_tuning_memory():
    s = serve_settings()
    assert s["served"] and s["validate_doc"] is False and s["error_diagnostics"] is False
    assert s["frozen"] == 0  # a plain serve leaves the process's heap alone
    tuned = serve_settings("tune")
    assert tuned["served"] and tuned["frozen"] > 50_000  # modules, classes and functions: the app's imports


def test_bokehs_environment_variables_win():
    s = serve_settings(BOKEH_VALIDATE_DOC="true", BOKEH_PERFORM_ERROR_DIAGNOSTICS="true")
    assert s["validate_doc"] is True and s["error_diagnostics"] is True


def test_the_test_process_keeps_bokehs_checks():
    """The checks the server skips are on here: a page that broke them would fail these tests."""
    from bokeh.settings import settings

    assert settings.perform_document_validation() and settings.perform_error_diagnostics()


def integrity_issues(doc: Document) -> list[str]:
    issues = check_integrity(list(doc.models))
    return [f"{i.code} {i.name}: {i.text}" for i in issues.error + issues.warning]


@pytest.mark.parametrize("route", PAGES)
def test_every_page_passes_bokehs_integrity_check(route):
    doc = Document()
    server.ROUTES[route]().server_doc(doc)
    assert len(doc.models) > 50
    assert integrity_issues(doc) == []


def test_every_landscape_mode_passes_it():
    page = landscape.LandscapePage(sync_url=False)
    doc = Document()
    page.view().server_doc(doc)
    for mode in landscape.LandscapeState.param.mode.objects:
        page.state.mode = mode
        assert integrity_issues(doc) == [], mode


def test_the_integrity_check_sees_a_broken_document():
    """The check above can fail: a glyph naming a column its source lacks is an error."""
    from bokeh.plotting import figure

    fig = figure()
    fig.line(x="x", y="missing", source={"x": [1, 2]})
    doc = Document()
    doc.add_root(fig)
    assert any("BAD_COLUMN_NAME" in i for i in integrity_issues(doc))


def test_no_served_page_loads_katex_or_plotly_or_mathjax_up_front():
    """KaTeX and plotly.js load with the first formula or 3-D view a page draws (app.panes.LaTeX,
    app.plot3d); MathJax never (no page holds a Panel HTML pane). The deck keeps Panel's slides
    template, which holds one."""
    with AppServer() as srv:
        for route in PAGES + ["/grassmannian?embed=true", "/landscape?embed=true"]:
            html = urllib.request.urlopen(srv.url + route, timeout=60).read().decode()
            scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
            assert any("bokeh.min.js" in s for s in scripts), route  # the check sees the scripts
            assert not [s for s in scripts if re.search("katex|plotly", s)], route
            if not route.startswith("/lecture"):
                assert not [s for s in scripts if "mathjax" in s], route


def test_pages_scripts_and_styles_travel_compressed_and_versioned_ones_are_cached_for_good():
    """Tornado's gzip (``compress_response``): what a browser asks for with Accept-Encoding: gzip
    comes compressed; an asset whose address carries its version (?v=…) may be kept for good."""
    import gzip

    with AppServer() as srv:
        def get(path):
            request = urllib.request.Request(srv.url + path, headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.headers, r.read()

        headers, body = get("/landscape")
        assert headers["Content-Encoding"] == "gzip"
        html = gzip.decompress(body).decode()
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
        bokeh = next(s for s in scripts if "bokeh.min.js?v=" in s)
        headers, body = get("/" + bokeh)
        assert headers["Content-Encoding"] == "gzip" and len(gzip.decompress(body)) > 3 * len(body)
        assert "max-age=" in headers["Cache-Control"] and int(headers["Cache-Control"].split("=")[1]) >= 86400 * 365
        plain = urllib.request.urlopen(srv.url + "/" + bokeh, timeout=60)  # no Accept-Encoding: as it is
        assert plain.headers.get("Content-Encoding") is None and b"Bokeh Contributors" in plain.read(2000)
