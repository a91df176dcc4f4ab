"""Every control of every page reaches the server's callback at once.

Panel holds a browser-side widget change for 50 ms (``Syncable._debounce``) unless the Bokeh
property that carries it is a "priority change"; on this app a control change is the hot path
(DESIGN.md: ≤ 100 ms from control to repaint), so no page may keep a debounced control.
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
