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

from app.pages import PAGES as PAGES_REGISTRY
from app.shell import EMBED_SIZE
from tests.e2e.conftest import wait_until
from tests.e2e.test_smoke import DRAWN_CANVASES
from tests.support import BUILT_SLIDES_JS

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
    # the deck's address holds the slide's state under its own name, not the page's query
    wait_until(lambda: set(parse_qs(urlsplit(page.url).query)) == {"s2.lam"}, page)
    assert urlsplit(page.url).fragment == "/slide-2"
    app.assert_clean()


#: JavaScript (an init script): the number of plots in the deck's document when it arrives
FIRST_DOCUMENT_PLOTS_JS = """(() => {
    const look = () => {
        if (window.Bokeh && Bokeh.documents.length) {
            window.__laeFirstPlots = [...Bokeh.documents[0].all_models].filter((m) => m.type === 'Figure').length;
        } else setTimeout(look, 2);
    };
    look();
})()"""


def test_the_deck_opens_before_its_pages_and_builds_the_linked_slide_first(app):
    """The deck's first document holds the slides' titles and words and no page; the pages
    follow, the slide the link opens first (the next waits until the browser has drawn it), and
    the solvers' slide opens on its finished runs, as its page does (its Player at the end,
    the track as long as the runs)."""
    app.page.add_init_script(FIRST_DOCUMENT_PLOTS_JS)
    app.open("/lecture#/slide-6")
    page = app.page
    assert page.evaluate("() => window.__laeFirstPlots") == 0
    built = page.wait_for_function(f"() => {{ const b = ({BUILT_SLIDES_JS})(); return b.length ? b : null; }}",
                                   polling="raf", timeout=30_000).json_value()
    assert built == [6], f"slides {built} arrived first, not the slide the link opens"
    app.wait_for_every_slide()
    solvers = 4
    assert "Solvers" in page.locator(f"#slide-{solvers} .slide-title").inner_text()
    player = """() => { const v = [...Bokeh.index.all_views()].find((v) => v.model.type.endsWith('.Player'));
        return [v.model.value, v.model.end, Number(v.sliderEl.value), Number(v.sliderEl.max)]; }"""
    value, end, track_value, track_end = wait_until(
        lambda: (lambda r: r if r[0] == r[1] > 100 else None)(page.evaluate(player)), page)
    assert track_value == track_end == end, f"the Player's track stops at {track_end}, not at the runs' end {end}"
    app.assert_clean()


# --------------------------------------------------------------------------- the deck on a projector

PROJECTOR = {"width": 1920, "height": 1080}
#: JavaScript: the present slide's box, its body text's size as drawn (computed size times the
#: zoom it is drawn at) and, per plot, the zoom it is drawn at and its size
PRESENT_SLIDE_JS = """() => {
    const slide = document.querySelector('.reveal .slides > section.present .lecture-slide');
    const r = slide.getBoundingClientRect();
    const body = [];
    const plots = [];
    const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.matches('.slide-note, .title-slide li')) {
                body.push({text: el.textContent.trim().slice(0, 40),
                           px: parseFloat(getComputedStyle(el).fontSize) * el.currentCSSZoom});
            }
            if (el.classList.contains('bk-Figure') && el.getClientRects().length) {
                const b = el.getBoundingClientRect();
                plots.push({zoom: el.currentCSSZoom, width: b.width});
            }
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(slide.shadowRoot);
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, viewport: innerWidth,
            height: innerHeight, body, plots};
}"""


def open_deck(app, slide: int = 0):
    """Open the deck on ``slide`` and wait until every slide's page has arrived."""
    app.open(f"/lecture#/slide-{slide}")
    page = app.page
    wait_until(lambda: page.evaluate("() => !!(window.Reveal && Reveal.isReady())"), page)
    wait_until(lambda: current_slide(page) == slide, page)
    app.wait_for_every_slide()
    app.wait_for_document()
    return page


def lam_on_slide(page, slide: int) -> float:
    """λ on slide ``slide``: the value of the Bokeh slider titled λ drawn in that section."""
    return page.evaluate("""(slide) => [...Bokeh.index.all_views()].find((v) => v.model.type === 'Slider'
        && v.model.title === 'λ' && document.querySelector(`#slide-${slide}`).contains(
            (() => { let n = v.el; while (n.getRootNode() !== document) n = n.getRootNode().host; return n; })())
    ).model.value""", slide)


def test_on_a_1080p_projector_every_slide_fills_the_screen_with_text_read_from_the_back(app):
    """At 1920 × 1080 each slide spans at least 80 % of the width and fits the height; its body
    text is at least 24 px as drawn; its plots are drawn at the screen's resolution (no zoom:
    sharp, and the mouse lands where it points), larger than designed."""
    app.page.set_viewport_size(PROJECTOR)
    page = open_deck(app)
    problems = []
    for i in range(page.evaluate("() => Reveal.getTotalSlides()")):
        page.evaluate("(i) => Reveal.slide(i)", i)
        wait_until(lambda: current_slide(page) == i, page)

        def fills():
            s = page.evaluate(PRESENT_SLIDE_JS)
            assert s["right"] - s["left"] >= 0.8 * s["viewport"], f"slide {i} is {s['right'] - s['left']:.0f} px wide"
            assert s["top"] >= 0 and s["bottom"] <= s["height"], f"slide {i} runs off the screen: {s}"
            return s
        s = wait_until(fills, page)
        assert s["body"], f"slide {i}: no body text found"
        problems += [f"slide {i}: {t['text']!r} is {t['px']:.1f} px" for t in s["body"] if t["px"] < 24]
        problems += [f"slide {i}: a plot drawn at zoom {p['zoom']:.2f}" for p in s["plots"]
                     if abs(p["zoom"] - 1) > 0.01]
    assert not problems, "\n".join(problems)
    app.assert_clean()


def test_a_summary_on_a_zoomed_slide_holds_its_own_height(app):
    """The summaries under a slide's maps keep the tallest height their text has had (so the
    plots below them do not jump), in the pane's own pixels: a slide scaled up to the projector
    must not hold the height as drawn, which left a blank band under every summary and made the
    slide too tall for the screen."""
    app.page.set_viewport_size(PROJECTOR)
    page = open_deck(app, 2)
    h = wait_until(lambda: app.held_height("section.present .summary-sum"), page)
    assert h["zoom"] > 1.1, f"the slide is not scaled up: {h}"
    assert h["own"] <= h["held"] < h["own"] + 1.5, h
    app.assert_clean()


def test_a_click_on_a_scaled_plot_lands_where_it_points(app):
    """On the solvers' slide at 1080p, a click on the map at (w₁, w₂) = (1, −1) starts the runs
    there: the scaled plot maps the mouse to its data as an unscaled one does."""
    app.page.set_viewport_size(PROJECTOR)
    page = open_deck(app, 4)
    title = "L_σ (sum) — λ"
    x, y = page.evaluate("""(title) => {
        const v = [...Bokeh.index.all_views()].find((v) => v.model.type === 'Figure'
            && (v.model.title?.text ?? '').startsWith(title));
        const r = v.el.getBoundingClientRect();
        return [r.left + v.frame.x_scale.compute(1.0), r.top + v.frame.y_scale.compute(-1.0)];
    }""", title)
    page.mouse.click(x, y)
    starts = """() => [...Bokeh.documents[0].all_models].filter((m) => m.type === 'ColumnDataSource'
        && m.data.w1 && m.data.w1.length === 1).map((m) => [m.data.w1[0], m.data.w2[0]])"""
    wait_until(lambda: any(abs(a - 1) < 0.05 and abs(b + 1) < 0.05 for a, b in page.evaluate(starts)), page)
    app.assert_clean()


def test_arrow_keys_move_a_focused_slider_and_the_clicker_turns_the_slide(app):
    page = open_deck(app, 2)
    handle = page.locator("#slide-2 .bk-Slider").filter(
        has=page.locator(".bk-slider-title", has_text=re.compile(r"^λ:"))).locator(".noUi-handle")
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_until(lambda: lam_on_slide(page, 2) == pytest.approx(0.52), page)
    assert current_slide(page) == 2, "an arrow key on a focused slider turned the slide"
    page.keyboard.press("End")
    wait_until(lambda: lam_on_slide(page, 2) == pytest.approx(4.0), page)
    page.keyboard.press("Home")
    wait_until(lambda: lam_on_slide(page, 2) == pytest.approx(0.0), page)
    assert current_slide(page) == 2
    handle.focus()
    page.keyboard.press("PageDown")  # a clicker's "next", with the slider still focused
    wait_until(lambda: current_slide(page) == 3, page)
    assert lam_on_slide(page, 2) == pytest.approx(0.0), "PageDown moved the slider as well"
    page.keyboard.press("ArrowRight")  # the slider was left behind: the arrows turn slides again
    wait_until(lambda: current_slide(page) == 4, page)
    page.keyboard.press("PageUp")
    wait_until(lambda: current_slide(page) == 3, page)
    app.assert_clean()


def test_a_reload_keeps_each_slides_sliders(app):
    page = open_deck(app, 2)
    handle = page.locator("#slide-2 .bk-Slider").filter(
        has=page.locator(".bk-slider-title", has_text=re.compile(r"^λ:"))).locator(".noUi-handle")
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_until(lambda: parse_qs(urlsplit(page.url).query).get("s2.lam") == ["0.53"], page)
    page.keyboard.press("PageDown")
    wait_until(lambda: urlsplit(page.url).fragment == "/slide-3", page)
    wait_until(lambda: parse_qs(urlsplit(page.url).query).get("s2.lam") == ["0.53"], page)  # kept
    page.reload()
    app.wait_for_document()
    wait_until(lambda: page.evaluate("() => !!(window.Reveal && Reveal.isReady())"), page)
    assert current_slide(page) == 3
    app.wait_for_every_slide()
    assert lam_on_slide(page, 2) == pytest.approx(0.53)
    assert lam_on_slide(page, 3) == pytest.approx(1.5), "another slide took slide 2's λ"
    app.assert_clean()


def test_a_slide_turn_on_a_slow_link_keeps_the_slides_state(app):
    """On a slow link the server can have written a newer address than the browser holds when
    the slide turns. The turn is a history entry of the address the browser holds, not Back:
    no slide goes back to it. The server's messages are held here from the change of λ until
    after the turn, then let through in order."""
    from app.pages.lecture import Lecture

    held, link = [], {}

    def route(ws):
        server = ws.connect_to_server()
        link.update(page=ws, holding=False)
        ws.on_message(server.send)
        server.on_message(lambda m: held.append(m) if link["holding"] else ws.send(m))

    app.page.route_web_socket(re.compile(r"/lecture/ws"), route)
    page = open_deck(app, 2)
    handle = page.locator("#slide-2 .bk-Slider").filter(
        has=page.locator(".bk-slider-title", has_text=re.compile(r"^λ:"))).locator(".noUi-handle")
    handle.focus()
    link["holding"] = True
    page.keyboard.press("End")
    wait_until(lambda: lam_on_slide(page, 2) == pytest.approx(4.0), page)
    page.wait_for_timeout(4 * Lecture.URL_DELAY_MS)  # the server writes ?s2.lam=4; it is held
    assert "s2.lam" not in page.url and held, "the server's messages were not held"
    page.keyboard.press("PageDown")
    wait_until(lambda: current_slide(page) == 3, page)
    page.wait_for_timeout(500)  # time for the server to take the turn for Back, if it did
    for message in held:  # a message arriving meanwhile is appended, and sent in turn
        link["page"].send(message)
    link["holding"] = False
    wait_until(lambda: "s2.lam" in page.url or lam_on_slide(page, 2) != pytest.approx(4.0), page)
    page.wait_for_timeout(500)
    assert lam_on_slide(page, 2) == pytest.approx(4.0), "the slide turn took slide 2 back to its start"
    assert parse_qs(urlsplit(page.url).query).get("s2.lam") == ["4"]
    app.assert_clean()


def test_speaker_notes_follow_the_deck(app, context):
    """Every slide has its notes (the registry's, and the title slide's); S opens them in a
    window of their own, which follows the slide shown."""
    from app.pages.lecture import TITLE_NOTES

    notes = [TITLE_NOTES] + [slide.notes for entry in PAGES_REGISTRY for slide in entry.slides]
    assert all(len(n) > 200 for n in notes), "a slide without its paragraph of notes"
    page = open_deck(app, 1)
    wait_until(lambda: page.evaluate("() => Reveal.getSlides().map((s) => Reveal.getSlideNotes(s))") == notes, page)
    page.locator(".reveal").click(position={"x": 5, "y": 5})
    with context.expect_page() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    wait_until(lambda: notes[1] in speaker.evaluate("() => document.body.innerText"), page)
    page.keyboard.press("ArrowRight")
    wait_until(lambda: notes[2] in speaker.evaluate("() => document.body.innerText"), page)
    assert "Slide 3 of" in speaker.evaluate("() => document.body.innerText")
    speaker.close()
    app.assert_clean()


def test_the_decks_words_say_what_is_true():
    """Slide 1 (the title): direction i collapses from λ = σᵢ² on (≥, not >); slide 7: PCA's loss
    has no more critical points than RP²'s topology forces, and no spurious local minima (it has
    critical points besides its minimum)."""
    from app.pages import lecture

    title = lecture._title_slide().objects[0].object
    assert "λ ≥ σᵢ²" in title and "λ > σᵢ²" not in title
    disk = next(s for e in PAGES_REGISTRY for s in e.slides if s.focus == "disk")
    assert "no more critical points than the topology of RP² forces" in disk.note
    assert "no spurious local minima" in disk.note and "no spurious critical points" not in disk.note
