"""Every page of the app opens in Chromium cleanly: no console error, no page error, nothing
fetched from any host but the app's own (the app must work with no internet), a plot drawn,
and no control clipped by the sidebar.

The routes come from ``app.server.ROUTES``, so a new page is covered the day it is routed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.server import ROUTES

pytestmark = pytest.mark.timeout(120)

#: JavaScript: how many Bokeh canvases have been drawn on (more than one colour in their pixels)
DRAWN_CANVASES = """() => {
    let drawn = 0;
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            const host = el.getRootNode().host;  // Bokeh draws in the shadow root of .bk-Canvas
            if (el.tagName === 'CANVAS' && el.width > 0 && el.height > 0 && host && host.classList.contains('bk-Canvas')) {
                const ctx = el.getContext('2d');
                if (ctx) {
                    const px = ctx.getImageData(0, 0, el.width, el.height).data;
                    const first = px.slice(0, 4).join();
                    for (let i = 4; i < px.length; i += 4 * 97) {
                        if (px.slice(i, i + 4).join() !== first) { drawn += 1; break; }
                    }
                }
            }
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    return drawn;
}"""


#: the sidebar's inputs, sliders and buttons (Playwright's CSS reaches into shadow roots)
SIDEBAR_CONTROLS = "#sidebar .bk-input, #sidebar .noUi-target, #sidebar button, #sidebar .bk-slider-title"


def controls_outside_the_sidebar(app) -> list[str]:
    """Visible sidebar controls wider than the sidebar: clipped, so e.g. a slider's top values
    can be neither seen nor reached."""
    sidebar = app.page.locator("#sidebar")
    if not sidebar.count():
        return []  # an embedded or sidebar-less page has nothing to clip
    box = sidebar.bounding_box()
    left, right = box["x"], box["x"] + box["width"]
    controls = app.page.locator(SIDEBAR_CONTROLS)
    clipped = []
    for i in range(controls.count()):
        c = controls.nth(i)
        if c.is_visible():
            b = c.bounding_box()
            if b["x"] < left - 0.5 or b["x"] + b["width"] > right + 0.5:
                label = c.evaluate("e => e.tagName + ' ' + (e.innerText || '').split(/\\n/)[0].slice(0, 30)")
                clipped.append(f"{label}: x {b['x']:.0f}–{b['x'] + b['width']:.0f} (sidebar {left:.0f}–{right:.0f})")
    return clipped


#: JavaScript: the template's busy spinners (Panel's BooleanStatus, css class "loader")
BUSY_SPINNERS = "() => [...Bokeh.documents[0].all_models].filter(m => (m.css_classes ?? []).includes('loader')).length"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_page_opens_cleanly(app, route):
    """No console or page error, no request off the app's host, a plot drawn, a live websocket,
    and every sidebar control inside the sidebar."""
    app.open(route)
    app.page.wait_for_load_state("networkidle")

    assert app.wait_until(lambda: app.page.evaluate(DRAWN_CANVASES) >= 1), "no Bokeh canvas was drawn"
    assert any(u.startswith(("ws://", "wss://")) for u in app.record.urls), "no websocket to the server"
    app.assert_clean()
    clipped = controls_outside_the_sidebar(app)
    assert not clipped, "controls overflow the sidebar:\n" + "\n".join(clipped)
    # No busy spinner: Panel's sent two messages per change to flicker it (shell.Template). The
    # lecture deck keeps its own: Panel's slides page embeds it by name.
    assert app.page.evaluate(BUSY_SPINNERS) == (1 if route == "/lecture" else 0)


def test_every_navigation_link_leads_to_a_routed_page_that_marks_itself_active(app):
    app.open("/")
    links = app.page.locator(".lae-nav a")
    hrefs = [links.nth(i).evaluate("a => new URL(a.href).pathname") for i in range(links.count())]
    assert hrefs, "no navigation links in the header"
    assert set(hrefs) <= set(ROUTES), f"links to unrouted pages: {sorted(set(hrefs) - set(ROUTES))}"

    active = app.page.locator(".lae-nav a.active")
    assert active.count() == 1, "the current page is not marked in the navigation"
    other = next(i for i, h in enumerate(hrefs) if h != active.evaluate("a => new URL(a.href).pathname"))
    links.nth(other).click()
    app.page.wait_for_url(lambda url: urlsplit(url).path == hrefs[other])
    app.wait_for_document()
    app.wait_until(lambda: active.count() == 1
                   and active.evaluate("a => new URL(a.href).pathname") == hrefs[other])
    app.assert_clean()

