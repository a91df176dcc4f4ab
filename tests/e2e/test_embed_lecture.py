"""In the lecture hall: embed mode in a 16:9 iframe, the "copy link" control, and the live
reveal.js deck at /lecture.

Embed mode is checked the way a slides site uses it: the README's iframe snippet (960 × 540)
on a host page, the app inside it — no header, navigation or sidebar, no scrollbars, and a
slider that still drives the plots over the iframe's websocket.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.shell import EMBED_SIZE
from tests.e2e.conftest import wait_until
from tests.e2e.test_smoke import DRAWN_CANVASES

pytestmark = pytest.mark.timeout(150)

PAGES = ("landscape", "theorem", "trajectories", "collapse", "grassmannian")
CHROME = "#header, #sidebar, .lae-nav, nav"
#: scroll and client sizes of a document: overflow means scrollbars
OVERFLOW_JS = """() => {
    const e = document.documentElement;
    return {sw: e.scrollWidth, cw: e.clientWidth, sh: e.scrollHeight, ch: e.clientHeight};
}"""


def iframe_snippet(src: str) -> str:
    """The README's snippet, verbatim in shape."""
    w, h = EMBED_SIZE
    return (f'<!doctype html><body style="margin:0"><iframe src="{src}" width="{w}" height="{h}" '
            f'style="border:0" title="LAE Landscapes"></iframe></body>')


def frame_ready(frame) -> bool:
    return frame.evaluate("() => !!(window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle)")


def drag_slider(page, slider, fraction: float) -> None:
    """Drag a rendered Bokeh slider's handle to ``fraction`` of its track."""
    handle = slider.locator(".noUi-handle").bounding_box()
    track = slider.locator(".noUi-target").bounding_box()
    x0, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x0, y)
    page.mouse.down()
    target = track["x"] + fraction * track["width"]
    for i in range(1, 16):
        page.mouse.move(x0 + (target - x0) * i / 15, y)
    page.mouse.up()


@pytest.mark.parametrize("slug", PAGES)
def test_embed_fits_a_16_9_iframe_without_chrome_or_scrollbars(app, slug):
    page = app.page
    page.set_viewport_size({"width": 1100, "height": 700})
    page.set_content(iframe_snippet(f"{app.server.url}/{slug}?embed=true"))
    frame = page.frame_locator("iframe")
    inner = next(f for f in page.frames if f is not page.main_frame)
    wait_until(lambda: frame_ready(inner), page, timeout=40)
    assert wait_until(lambda: inner.evaluate(DRAWN_CANVASES) >= 1, page), "no plot drawn in the iframe"

    assert frame.locator(CHROME).count() == 0, "embed mode still shows header, navigation or sidebar"
    size = inner.evaluate(OVERFLOW_JS)
    assert size["cw"] == EMBED_SIZE[0] and size["ch"] == EMBED_SIZE[1]
    assert size["sw"] <= size["cw"] and size["sh"] <= size["ch"], f"scrollbars in the iframe: {size}"
    # the controls are there and inside the frame
    sliders = frame.locator(".bk-Slider")
    assert sliders.count() >= 1
    for i in range(sliders.count()):
        box = sliders.nth(i).bounding_box()
        if box:
            assert box["x"] >= 0 and box["x"] + box["width"] <= EMBED_SIZE[0] + 0.5
    assert frame.locator(".copy-link").count() == 1 and frame.locator(".full-page").count() == 1
    app.assert_clean()


def test_embedded_slider_drives_the_plots(app):
    """λ dragged inside the iframe: the websocket (opened from the iframe) carries it, the sum
    surface's summary changes and the frame's own address follows, still embedded."""
    page = app.page
    page.set_viewport_size({"width": 1100, "height": 700})
    page.set_content(iframe_snippet(f"{app.server.url}/landscape?embed=true&lam=0.2&x=1"))
    inner = next(f for f in page.frames if f is not page.main_frame)
    wait_until(lambda: frame_ready(inner), page, timeout=40)
    frame = page.frame_locator("iframe")
    summary = frame.locator(".summary-sum .summary-text")
    assert "3 critical points" in summary.inner_text()
    label = frame.locator(".bk-slider-title", has_text=re.compile(r"^λ:"))
    drag_slider(page, frame.locator(".bk-Slider").filter(has=label), 0.5)  # λ ≈ 2 > x² = 1
    wait_until(lambda: "1 critical point" in summary.inner_text(), page)

    def lam_in_address():
        q = parse_qs(urlsplit(inner.url).query)
        assert q.get("embed") == ["true"] and float(q["lam"][0]) > 1.0
    wait_until(lam_in_address, page)
    app.assert_clean()


def test_the_full_page_from_an_embed_keeps_the_state(app, context):
    app.page.set_viewport_size({"width": EMBED_SIZE[0], "height": EMBED_SIZE[1]})
    app.open("/landscape?embed=true&lam=1.25&x=0.8")
    with context.expect_page() as opened:
        app.page.locator(".full-page button").click()
    full = opened.value
    full.wait_for_load_state()
    query = parse_qs(urlsplit(full.url).query)
    assert urlsplit(full.url).path == "/landscape" and "embed" not in query
    assert query["lam"] == ["1.25"] and query["x"] == ["0.8"]
    full.close()


def test_copy_link_puts_the_current_state_on_the_clipboard(app, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.server.url)
    app.open("/landscape?lam=0.2&x=1")
    drag = app.grab_slider("λ")
    drag.move_to(1.6)
    drag.release()
    app.wait_until(lambda: abs(float(app.query().get("lam", "nan")) - 1.6) < 0.06)
    button = app.page.locator(".copy-link button")
    button.click()
    app.wait_until(lambda: "Link copied" in button.inner_text())
    copied = app.page.evaluate("() => navigator.clipboard.readText()")
    assert copied == app.page.url
    # the copied link reopens the same state in a fresh tab
    other = context.new_page()
    other.goto(copied)
    wait_until(lambda: frame_ready(other.main_frame), other, timeout=40)
    model = other.evaluate("""() => [...Bokeh.documents[0].all_models]
        .find(m => m.type === 'Slider' && m.title === 'λ').value""")
    assert abs(model - float(app.query()["lam"])) < 1e-9
    other.close()
    app.assert_clean()


# --------------------------------------------------------------------------- lecture deck

def current_slide(page) -> int:
    return page.evaluate("() => Reveal.getIndices().h")


def test_lecture_deck_navigates_with_arrow_keys_and_keeps_the_slide_in_the_url(app):
    app.open("/lecture")
    page = app.page
    wait_until(lambda: page.evaluate("() => !!(window.Reveal && Reveal.isReady())"), page)
    total = page.evaluate("() => Reveal.getTotalSlides()")
    assert total >= 6, "the deck should walk through the paper's five topics after a title"
    assert current_slide(page) == 0
    page.locator(".reveal").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    wait_until(lambda: current_slide(page) == 1, page)
    page.keyboard.press("ArrowRight")
    wait_until(lambda: current_slide(page) == 2, page)
    wait_until(lambda: urlsplit(page.url).fragment == "/slide-2", page)
    page.keyboard.press("ArrowLeft")
    wait_until(lambda: current_slide(page) == 1, page)

    # a link to a slide opens that slide
    page.goto(app.server.url + "/lecture#/slide-4")
    app.wait_for_document()
    wait_until(lambda: page.evaluate("() => !!(window.Reveal && Reveal.isReady())"), page)
    wait_until(lambda: current_slide(page) == 4, page)
    assert "Transpose Theorem" in page.locator("#slide-4 .slide-title").inner_text()
    app.assert_clean()


def test_a_slider_on_a_slide_is_live(app):
    """On the pitchfork slide, drag λ past x² = 1: the sum loss's minima merge into the origin
    (its summary, computed by the server, says so) and the deck stays on that slide."""
    app.open("/lecture#/slide-2")
    page = app.page
    wait_until(lambda: page.evaluate("() => !!(window.Reveal && Reveal.isReady())"), page)
    wait_until(lambda: current_slide(page) == 2, page)
    slide = page.locator("#slide-2")
    summary = slide.locator(".summary-sum .summary-text")
    wait_until(lambda: "3 critical points" in summary.inner_text(), page)
    label = page.locator(".bk-slider-title", has_text=re.compile(r"^λ:"))
    drag_slider(page, slide.locator(".bk-Slider").filter(has=label), 0.6)  # λ ≈ 2.4
    wait_until(lambda: summary.inner_text().startswith("sum: 1 critical point"), page)
    assert current_slide(page) == 2
    assert urlsplit(page.url).query == "", "a slide's slider must not write the page's query"
    app.assert_clean()
