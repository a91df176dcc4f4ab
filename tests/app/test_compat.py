"""``app.compat``: the fixes to other libraries' internals are few, named, gated to the versions
they were written against, and applied by ``serve`` only — and each has a canary here (or beside
the test of the app's behaviour, named in ``CANARIES``) that shows the upstream behaviour it works
around is still there. The day a canary fails, its patch can go."""

from __future__ import annotations

import inspect
import logging
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import panel as pn
import pytest
from bokeh.document import Document
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from app import compat
from tests.support import ROOT

#: each patch → where its canary is (this file unless named) and where the app's behaviour is tested
CANARIES = {
    "websocket_origin_check": "test_canary_tornado_lets_a_same_origin_looking_handshake_skip_the_check; "
                              "the app: tests/app/test_safe_defaults.py (a real server refuses them)",
    "queued_message_dispatch": "tests/app/test_server_writes.py::test_canary_panels_own_dispatch_leaves_the_last_"
                               "message_of_a_burst_queued",
    "late_session_stylesheets": "test_canary_a_document_without_html_gets_the_cdns_stylesheets; "
                                "the app: tests/e2e/test_late_browser.py",
    "player_resizes_with_its_end": "test_canary_panels_player_view_ignores_a_change_of_end; "
                                   "the app: tests/e2e/test_trajectories.py",
    "live_controls": "tests/app/test_live_controls.py::test_the_check_sees_a_debounced_control",
    "slider_values_in_range": "test_canary_panels_slider_takes_any_value_from_the_browser; "
                              "the app: tests/app/test_live_controls.py",
    "long_digit_query": "tests/e2e/test_hostile_urls.py::test_canary_panels_parser_fails_on_thousands_of_digits",
    "websocket_nodelay": "test_canary_neither_tornado_nor_bokeh_nor_panel_turns_nagle_off; "
                         "the app: tests/app/test_server_writes.py",
}


def test_every_patch_has_a_canary_named_here():
    assert set(CANARIES) == {p.name for p in compat.PATCHES}
    here = Path(__file__).read_text()
    for patch, where in CANARIES.items():
        for place in where.split("; "):
            place = place.removeprefix("the app: ").split(" ")[0]
            path, _, test = place.rpartition("::") if "::" in place else ("", "", place)
            if place.endswith(".py"):
                path, test = place, ""
            text = (ROOT / path).read_text() if path else here
            assert not test or re.search(rf"^def {test}\(", text, flags=re.M), f"{patch}: no {place}"


def test_each_patch_says_what_it_fixes_and_for_which_versions():
    for patch in compat.PATCHES:
        assert patch.fixes and patch.tested, patch.name
        assert f"``{patch.name}``" in compat.__doc__, f"{patch.name} is not described in the module docstring"
        for library, spec in patch.tested.items():
            SpecifierSet(spec)  # a valid range
            assert library in ("panel", "bokeh", "tornado"), library


def test_the_installed_libraries_are_the_tested_ones_so_every_patch_is_applied():
    assert compat.applied == {p.name for p in compat.PATCHES}
    assert all(not p.untested() for p in compat.PATCHES)


def test_pyproject_holds_every_patched_library_below_the_next_minor_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {Requirement(r).name: Requirement(r).specifier for r in project["dependencies"]}
    for patch in compat.PATCHES:
        for library, spec in patch.tested.items():
            assert library in declared, f"{library} is patched but not declared"
            assert declared[library] == SpecifierSet(spec), (library, str(declared[library]), spec)


# --------------------------------------------------------------------------- gating


def fake_patch(name, tested, *, security=False, upstream_fixed=None, installed=None):
    return compat.Patch(name, "a made-up fault", tested, lambda: installed.append(name) if installed is not None else None,
                        security=security, upstream_fixed=upstream_fixed)


@pytest.fixture
def fresh_applied(monkeypatch):
    monkeypatch.setattr(compat, "applied", set())


def test_a_patch_outside_its_versions_is_skipped_with_one_warning_naming_it(fresh_applied, caplog):
    installed = []
    patches = (fake_patch("old_fix", {"panel": "<1.0"}, installed=installed),
               fake_patch("current_fix", {"panel": ">=1.0"}, installed=installed))
    with caplog.at_level(logging.WARNING, logger="lae_landscapes"):
        assert compat.apply(patches) == {"current_fix"}
    assert installed == ["current_fix"]
    [record] = caplog.records
    assert "skipped old_fix" in record.getMessage() and "panel 1.9" in record.getMessage()


def test_a_security_patch_outside_its_versions_refuses_to_start(fresh_applied):
    patch = fake_patch("hole", {"tornado": "<6.0"}, security=True, upstream_fixed=lambda: False)
    with pytest.raises(RuntimeError, match="hole .* does not start"):
        compat.apply((patch,))


def test_a_security_patch_outside_its_versions_is_not_needed_once_upstream_fixed_it(fresh_applied, caplog):
    installed = []
    patch = fake_patch("hole", {"tornado": "<6.0"}, security=True, upstream_fixed=lambda: True, installed=installed)
    with caplog.at_level(logging.WARNING, logger="lae_landscapes"):
        assert compat.apply((patch,)) == set()
    assert installed == [] and "hole not needed" in caplog.text


def test_importing_the_app_patches_nothing_serve_applies_the_fixes():
    code = """
import panel.io.document as d, panel.io.server as s, tornado.websocket as w
import panel.io.location as loc
own = (d._dispatch_msgs, s.WSHandler._check_cross_origin, s.WSHandler.open, loc.parse_query)
import app.server, app.shell, app.export, app.cli
from app.pages import landscape, trajectories, collapse, grassmann, lecture
from app import compat
print(compat.applied == set(), (d._dispatch_msgs, s.WSHandler._check_cross_origin, s.WSHandler.open, loc.parse_query) == own)
pn_serve = app.server.pn.serve
app.server.pn.serve = lambda *a, **k: None
app.server.serve("127.0.0.1", 0)
print(compat.applied == {p.name for p in compat.PATCHES}, d._dispatch_msgs is compat._dispatch_msgs_when_the_socket_is_free)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["True", "True", "True", "True"]


# --------------------------------------------------------------------------- canaries


def test_canary_tornado_lets_a_same_origin_looking_handshake_skip_the_check():
    """Tornado's own check lets a handshake whose Origin names its Host through without asking
    ``check_origin`` (what a DNS-rebinding page sends), so the patch is needed."""
    assert not compat.tornado_asks_about_same_origin_handshakes()


def test_the_probe_sees_the_fix_when_tornado_asks():
    """The probe the security patch relies on outside its versions does tell the two apart."""
    from tornado.websocket import WebSocketHandler

    original = WebSocketHandler._check_cross_origin
    try:
        WebSocketHandler._check_cross_origin = compat._listed_origins_only
        assert compat.tornado_asks_about_same_origin_handshakes()
    finally:
        WebSocketHandler._check_cross_origin = original


def test_canary_a_document_without_html_gets_the_cdns_stylesheets():
    """A session whose page Panel never wrote (a late browser's) points its stylesheets at the CDN
    unless the document's ``dist_url`` is set, which is what the patch sets."""
    from panel.io.resources import CDN_DIST, LOCAL_DIST

    def urls(doc):
        model = pn.widgets.FloatSlider().get_root(doc)
        return [s.url for s in model.stylesheets if hasattr(s, "url")]

    assert urls(Document()) and all(u.startswith(CDN_DIST) for u in urls(Document()))
    doc = Document()
    session = type("Session", (), {"request": type("R", (), {"path": "/landscape/ws"})(), "_document": doc})()
    compat.local_stylesheets(session)
    assert urls(doc) and all(u.startswith(LOCAL_DIST) for u in urls(doc))


def test_canary_panels_player_view_ignores_a_change_of_end():
    """Panel's Player view listens to ``value`` but not to ``end``: its track keeps the old end."""
    js = (Path(pn.__file__).parent / "dist" / "panel.js").read_text()
    view = js[js.index("class PlayerView"):]
    watched = re.search(r"connect_signals\(\) \{.*?const \{([^}]*)\} = this\.model\.properties", view, flags=re.S)
    names = {n.strip() for n in watched.group(1).split(",")}
    assert "value" in names and "end" not in names


def test_canary_panels_slider_takes_any_value_from_the_browser():
    w = pn.widgets.FloatSlider(start=0, end=4, value=1)
    w._process_events({"value": 1e6})
    assert w.value == 1e6  # Panel's own: the page's state then raises on it


def test_canary_neither_tornado_nor_bokeh_nor_panel_turns_nagle_off():
    from bokeh.server.views.ws import WSHandler as BokehWSHandler
    from tornado.websocket import WebSocketHandler

    for opened in (compat._WS_OPEN, BokehWSHandler.open, WebSocketHandler.open):
        assert "set_nodelay" not in inspect.getsource(opened), opened
