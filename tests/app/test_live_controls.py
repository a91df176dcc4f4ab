"""Every control of every page reaches the server's callback at once.

Panel holds a browser-side widget change for 50 ms (``Syncable._debounce``) unless the Bokeh
property that carries it is a "priority change"; on this app a control change is the hot path
(DESIGN.md: ≤ 100 ms from control to repaint), so no page may keep a debounced control
(``app.compat``'s ``live_controls``, applied in the test process as in the server).
"""

from __future__ import annotations

import panel as pn
import pytest

from app import server

PAGES = sorted(set(server.ROUTES) - {"/"})


def controls(route):
    view = server.ROUTES[route]()
    areas = [getattr(view, a) for a in ("header", "sidebar", "main") if hasattr(view, a)] or [view]
    found = [w for area in areas for obj in area for w in obj.select(pn.widgets.Widget)
             if "value" in w.param and not isinstance(w, (pn.widgets.Button, pn.widgets.indicators.Indicator))]
    assert found, f"{route}: no controls found"
    return found


@pytest.mark.parametrize("route", PAGES)
def test_no_control_waits_for_panels_debounce(route):
    slow = [f"{type(w).__name__} {w.name!r}" for w in controls(route)
            if w._rename.get("value", "value") not in w._priority_changes]
    assert not slow, f"{route}: these controls reach the server 50 ms late: {slow}"


def test_the_check_sees_a_debounced_control():
    """The test above can fail: Panel's own widgets are debounced."""
    for w in (pn.widgets.IntSlider(), pn.widgets.Select(options=[1]), pn.widgets.Checkbox(),
              pn.widgets.TextInput()):
        assert w._rename.get("value", "value") not in w._priority_changes


def sliders(route):
    return [w for w in controls(route) if isinstance(w, (pn.widgets.FloatSlider, pn.widgets.IntSlider))]


@pytest.mark.parametrize("route", [r for r in PAGES if r != "/lecture"])  # the deck's slides are the pages' own
def test_a_slider_takes_from_the_browser_only_a_number_in_its_range(route, caplog):
    """A browser's slider sends nothing else, but anything can write to a page's websocket: a
    value outside the range is taken as the nearer end, a non-finite one is ignored, and
    neither reaches the page's state as an exception (Panel would log it with a traceback)."""
    found = sliders(route)
    assert found, f"{route}: no sliders"
    for w in found:
        start, end = w.start, w.end
        w._process_events({"value": end + 1e6})
        assert w.value == end, w.name
        w._process_events({"value": -1e308})
        assert w.value == start, w.name
        for junk in (float("nan"), float("inf"), "1; alert(1)", None, True):
            w._process_events({"value": junk})
            assert w.value == start, (w.name, junk)
        middle = start + (end - start) // 2 if isinstance(w, pn.widgets.IntSlider) else (start + end) / 2
        w._process_events({"value": middle})
        assert w.value == middle, w.name
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info], caplog.text
