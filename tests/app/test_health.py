"""``/health`` tells an outside observer how many sessions the server holds and how much memory
it uses; and a page, once dropped, leaves none of its Panel objects behind (what made the
server's memory creep by a session's button and page per visitor).

The browser part drives a real Chromium against a real server: in a subprocess, so that its
Playwright instance cannot clash with pytest-playwright's in this process.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import urllib.request
import weakref

import pytest
from panel.viewable import Viewable

from app import server
from tests.support import ROOT, AppServer

# Opens ``url`` in a fresh browser context, waits until the Bokeh document is idle, prints
# "ready", and closes the browser when it reads a line on stdin.
OPEN_PAGE = r"""
import sys
from playwright.sync_api import sync_playwright
from tests.support import chromium_launch_kwargs
with sync_playwright() as p:
    browser = p.chromium.launch(**chromium_launch_kwargs())
    page = browser.new_context().new_page()
    page.goto(sys.argv[1])
    page.wait_for_function("() => !!(window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle)",
                           timeout=90_000, polling=100)
    print("ready", flush=True)
    sys.stdin.readline()
    browser.close()
"""


@pytest.fixture(scope="module")
def own_server():
    """A server of this module's own: the session fixture's is shared with other tests' pages."""
    with AppServer() as s:
        yield s


def health(srv) -> dict:
    with urllib.request.urlopen(srv.url + "/health", timeout=30) as r:
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.headers["Cache-Control"] == "no-store"
        return json.load(r)


def vm_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_an_idle_server_reports_no_session_and_its_own_resident_memory(own_server):
    h = health(own_server)
    assert h["sessions"] == 0 and h["connections"] == 0
    assert set(h["sessions_by_route"]) == set(server.ROUTES) and not any(h["sessions_by_route"].values())
    assert h["pid"] == own_server.proc.pid  # the server process itself, not a helper
    # the figure is that process's VmRSS (read here from outside), not the test's own memory
    assert h["rss_kind"] == "current"
    assert abs(h["rss_mib"] - vm_rss_mib(own_server.proc.pid)) < 5
    assert 20 < h["rss_mib"] < 2000 and h["cpu_s"] > 0
    assert len(h["gc"]["collections"]) == 3 and 0 <= h["gc"]["full_ms_max"] <= h["gc"]["full_ms"]


def test_full_garbage_collections_are_counted_and_timed():
    from app import health as app_health

    gc.callbacks.append(app_health._time_full_collections)
    try:
        before = app_health.gc_report()
        gc.collect(1)  # not a full one
        gc.collect()
        after = app_health.gc_report()
    finally:
        gc.callbacks.remove(app_health._time_full_collections)
    assert after["collections"][2] == before["collections"][2] + 1
    assert after["collections"][1] >= before["collections"][1] + 1
    assert after["full_ms"] > before["full_ms"] and after["full_ms_max"] > 0


def test_serve_tune_memory_runs_with_glibc_malloc_unless_told_otherwise_and_plain_serve_does_not():
    """``lae-landscapes serve --tune-memory`` restarts itself (same PID) under PYTHONMALLOC=malloc,
    so a class's memory goes back to the system; an explicit PYTHONMALLOC wins; a plain ``serve``
    runs with Python's own allocator and does not tune its heap."""
    for args, given, expected in ((("--tune-memory",), None, "malloc"), (("--tune-memory",), "pymalloc", "pymalloc"),
                                  ((), None, "pymalloc")):
        s = AppServer(*args)
        s.env.pop("PYTHONMALLOC", None)
        if given:
            s.env["PYTHONMALLOC"] = given
        with s:
            h = health(s)
            assert h["allocator"] == expected and h["pid"] == s.proc.pid
            assert h["tune_memory"] is bool(args)
            with open(f"/proc/{s.proc.pid}/environ", "rb") as f:  # what the interpreter started with
                running = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            assert running.get(b"PYTHONMALLOC") == (expected.encode() if given or args else None)


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_a_browser_tab_is_one_session_with_one_websocket_until_it_closes(own_server):
    before = health(own_server)
    tab = subprocess.Popen([sys.executable, "-c", OPEN_PAGE, own_server.url + "/landscape"], cwd=ROOT,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tab.stdout.readline().strip() == "ready", tab.stderr.read()[-3000:]
        h = health(own_server)
        assert h["sessions"] == 1 and h["connections"] == 1
        assert h["sessions_by_route"]["/landscape"] == 1
        assert h["created"] == before["created"] + 1  # one page view, one session
        assert h["rss_mib"] > before["rss_mib"]  # a session holds its page's models and arrays
    finally:
        tab.communicate("close\n", timeout=60)
    # the websocket closes with the tab; the session itself waits for Bokeh's next sweep
    assert wait_for(lambda: health(own_server)["connections"] == 0)
    assert health(own_server)["sessions"] == 1


def live_panel_objects() -> int:
    gc.collect()
    return sum(isinstance(o, Viewable) for o in gc.get_objects())


@pytest.mark.parametrize("route", sorted(set(server.ROUTES) - {"/"}))
def test_a_dropped_page_leaves_no_panel_object_alive(route):
    create = server.ROUTES[route]
    create()  # first use fills the caches that stay (templates, stylesheets)
    before = live_panel_objects()
    view = create()
    assert live_panel_objects() > before
    del view
    assert live_panel_objects() == before


def test_how_long_a_session_waits_for_its_browser_and_outlives_its_tab_can_be_set(monkeypatch):
    from app import health

    monkeypatch.delenv(health.UNUSED_LIFETIME_ENV, raising=False)
    monkeypatch.delenv(health.CLOSED_LIFETIME_ENV, raising=False)
    assert health.session_options() == {"unused_session_lifetime_milliseconds": 120_000,
                                        "check_unused_sessions_milliseconds": 5_000}
    assert health.closed_lifetime_ms() == 35_000
    monkeypatch.setenv(health.UNUSED_LIFETIME_ENV, " 90000 ")
    assert health.session_options()["unused_session_lifetime_milliseconds"] == 90_000
    monkeypatch.setenv(health.UNUSED_LIFETIME_ENV, "20000")  # a tab's session never outlives the first wait
    assert health.closed_lifetime_ms() == 20_000
    monkeypatch.setenv(health.CLOSED_LIFETIME_ENV, "2000")  # and Bokeh looks at least every half of it
    assert health.session_options() == {"unused_session_lifetime_milliseconds": 20_000,
                                        "check_unused_sessions_milliseconds": 1_000}
    for env in (health.UNUSED_LIFETIME_ENV, health.CLOSED_LIFETIME_ENV):
        for bad in ("soon", "1e4", "999", "-5", "3600001", "<script>"):
            monkeypatch.setenv(env, bad)
            with pytest.raises(ValueError, match=env):
                health.session_options()
        monkeypatch.setenv(env, "20000")


class FakeSession:
    """What ``sweep_closed_sessions`` reads of a Bokeh ``ServerSession``."""

    def __init__(self, connections=0, since_unsubscribe_ms=0.0):
        self.connection_count, self.milliseconds_since_last_unsubscribe = connections, since_unsubscribe_ms
        self.expiration_requested = False

    def request_expiration(self):
        self.expiration_requested = True


def test_a_closed_tabs_session_is_let_go_and_one_still_waiting_for_its_browser_is_not():
    from app.health import sweep_closed_sessions

    waiting, open_tab, closed_tab, just_closed = FakeSession(), FakeSession(1), FakeSession(1), FakeSession(1)
    sessions = [waiting, open_tab, closed_tab, just_closed]
    assert sweep_closed_sessions(sessions, 1000) == 0  # the three tabs are seen with a browser
    closed_tab.connection_count, closed_tab.milliseconds_since_last_unsubscribe = 0, 1500
    just_closed.connection_count, just_closed.milliseconds_since_last_unsubscribe = 0, 200
    waiting.milliseconds_since_last_unsubscribe = 10_000  # since it was made: no browser yet
    assert sweep_closed_sessions(sessions, 1000) == 1
    assert closed_tab.expiration_requested
    assert not (waiting.expiration_requested or open_tab.expiration_requested or just_closed.expiration_requested)
    assert sweep_closed_sessions(sessions, 1000) == 0  # asked once


def test_a_real_server_lets_a_closed_tab_go_soon_and_waits_longer_for_a_late_browser():
    env = {"LAE_UNUSED_SESSION_MS": "60000", "LAE_CLOSED_SESSION_MS": "1000"}
    with AppServer(env=env) as srv:
        with urllib.request.urlopen(srv.url + "/trajectories", timeout=60) as r:
            r.read()  # a page whose browser has not connected yet
        tab = subprocess.Popen([sys.executable, "-c", OPEN_PAGE, srv.url + "/collapse"], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert tab.stdout.readline().strip() == "ready", tab.stderr.read()[-3000:]
            time.sleep(2.5)  # seen with its websocket by a sweep (every second)
            assert health(srv)["sessions_by_route"]["/collapse"] == 1
        finally:
            tab.communicate("close\n", timeout=60)
        closed = time.monotonic()
        assert wait_for(lambda: health(srv)["sessions_by_route"]["/collapse"] == 0, timeout=30)
        assert time.monotonic() - closed < 10  # 1 s after its tab, found within a second, discarded within 0.5 s
        assert health(srv)["sessions_by_route"]["/trajectories"] == 1  # still waiting for its browser


class _Node:
    """An object in a reference cycle: only the cyclic collector frees it."""


def _cycle():
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return a


def test_frozen_sessions_are_left_out_of_collections_and_freed_by_the_release_after_a_discard():
    from app import health as app_health

    frozen_before = gc.get_freeze_count()
    try:
        session = _cycle()  # a live session's objects, in cycles like Bokeh's models
        ref = weakref.ref(session)
        app_health.freeze_live_objects()
        assert gc.get_freeze_count() > frozen_before
        assert not any(o is session for o in gc.get_objects())  # no collection walks it now
        del session  # the session is discarded: its objects are cyclic garbage
        gc.collect()
        assert ref() is not None  # a full collection left it alone: it was frozen
        kept = _cycle()  # a session still open
        app_health.release_memory()
        assert ref() is None  # the release after a discard collects the frozen garbage too
        assert gc.get_freeze_count() > 0 and not any(o is kept for o in gc.get_objects())  # the rest frozen again
    finally:
        if frozen_before == 0:
            gc.unfreeze()  # leave this test process as it was


def test_a_real_server_tuning_memory_freezes_each_new_session_and_collects_it_once_discarded():
    with AppServer("--tune-memory", env={"LAE_UNUSED_SESSION_MS": "1000"}) as srv:  # no browser: gone after 1 s

        def view_and_discard(route):
            before = health(srv)
            with urllib.request.urlopen(srv.url + route, timeout=60) as r:
                r.read()  # builds the session (and its page's HTML)
            built = wait_for(lambda: (h := health(srv))["freezes"] > before["freezes"] and h)
            assert built and built["sessions"] == 1
            discarded = wait_for(lambda: (h := health(srv))["sessions"] == 0 and h["trims"] > before["trims"] and h)
            assert discarded, health(srv)
            return before, built, discarded

        view_and_discard("/landscape")  # the first fills the caches that stay (templates, stylesheets)
        before, built, discarded = view_and_discard("/landscape")
        # the session's page (~15 000 objects) was frozen once built, and collected once discarded
        assert built["gc"]["frozen"] > before["gc"]["frozen"] + 5000
        assert discarded["gc"]["frozen"] < before["gc"]["frozen"] + 1000
