"""The Trajectories page in a real Chromium: a click on the map moves the start and plays the
runs from there, the player animates, steps and pauses with named buttons, the paths grow with
the frame, a too-large learning rate says so first while the page keeps working, the iteration
axis goes log, the solvers of one hue differ in dash and marker, the page fits the screens a
class uses, and the Transpose Theorem shows in the outcome text: with the sum loss untied and
tied GD both end with ‖W₁ − W₂ᵀ‖ ≈ 0 (Kunin et al. 2019: every critical point of L_σ has
W₁ = W₂ᵀ).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
COUNTER = re.compile(r"Iteration (\d+) of (\d+)")
GAP = re.compile(r"‖W₁ − W₂ᵀ‖ = ([0-9.e+-]+)")

#: JavaScript: the page position of data point (w₁, w₂) on the map
MAP_PIXEL = """([w1, w2]) => {
    const fig = [...Bokeh.documents[0].all_models].find(m => m.name === 'trajectory-map');
    const view = Bokeh.index.find_one(fig);
    const box = view.el.getBoundingClientRect();
    return [box.left + view.frame.x_scale.compute(w1), box.top + view.frame.y_scale.compute(w2)];
}"""
#: JavaScript: (w₁, w₂) of the start marker as the browser holds it
START_MARKER = """() => {
    const r = [...Bokeh.documents[0].all_models].find(m => m.type === 'GlyphRenderer' && m.name === 'start');
    return [r.data_source.data.w1[0], r.data_source.data.w2[0]];
}"""
#: JavaScript: [direction, value] of the player (direction 0: paused)
PLAYER = """() => {
    const p = [...Bokeh.documents[0].all_models].find(m => m.type && m.type.endsWith('.Player'));
    return [p.direction, p.value];
}"""
#: JavaScript: the template's busy indicator has stopped spinning
IDLE = """() => ![...Bokeh.documents[0].all_models].some(
    m => m.css_classes && m.css_classes.includes('loader') && m.css_classes.includes('spin'))"""
#: JavaScript: are all numbers of every path and current-iterate source finite?
PATHS_FINITE = """() => [...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'ColumnDataSource' && m.data.it !== undefined)
    .every(s => ['w1', 'w2', 'it', 'loss', 'gap'].every(k => Array.from(s.data[k]).every(Number.isFinite)))"""


def counter(app) -> tuple[int, int]:
    text = app.page.locator(".iteration-counter").inner_text()
    match = COUNTER.search(text)
    assert match, text
    return int(match.group(1)), int(match.group(2))


def outcome(app, method: str) -> str:
    return app.page.locator(f".outcome-{method} .outcome-text").inner_text()


def gap(text: str) -> float:
    match = GAP.search(text)
    assert match, text
    return float(match.group(1))


def open_page(app, query: str = ""):
    app.open("/trajectories" + query)
    # the page opens on the finished runs: the counter at the last iteration
    app.wait_until(lambda: counter(app)[0] == counter(app)[1] > 0)
    return app


# --------------------------------------------------------------------------- the start

def test_clicking_the_map_moves_the_start_and_plays_from_iteration_0(app):
    open_page(app)
    assert app.page.evaluate(START_MARKER) == [-1.4, 1.7]
    x, y = app.page.evaluate(MAP_PIXEL, [0.6, -1.1])
    app.page.mouse.click(x, y)
    app.wait_until(lambda: _start_near(app, 0.6, -1.1))
    # issue #21: the new runs play from their start (they used to jump to their end)
    app.wait_until(lambda: app.page.evaluate(PLAYER)[0] == 1)
    playing, last = counter(app)
    assert playing < last / 2, (playing, last)
    app.wait_until(lambda: counter(app)[0] > playing)
    # every solver starts again from there; untied GD falls into the nearer minimum
    app.wait_until(lambda: "at (−0.707, −0.707)" in outcome(app, "untied_gd"))
    text = outcome(app, "untied_gd")
    assert "converged after" in text and "reaching the minimum" in text, text
    app.assert_clean()


def _start_near(app, w1: float, w2: float):
    s1, s2 = app.page.evaluate(START_MARKER)
    assert math.isclose(s1, w1, abs_tol=0.03) and math.isclose(s2, w2, abs_tol=0.03), (s1, s2)
    q = app.query()
    assert "w1" in q and "w2" in q, q
    assert math.isclose(float(q["w1"]), s1) and math.isclose(float(q["w2"]), s2), q
    assert float(app.page.locator(".start-w1 input").input_value()) == pytest.approx(s1)
    assert float(app.page.locator(".start-w2 input").input_value()) == pytest.approx(s2)


# --------------------------------------------------------------------------- the animation

def test_play_advances_the_iteration_counter_step_steps_and_pause_stops_it(app):
    open_page(app)
    _, last = counter(app)
    pane = app.page.locator(".iteration-counter-pane").first
    width_at_end = pane.bounding_box()["width"]
    app.page.locator("button.play").click()
    # play at the last frame starts over from 0, then counts up
    app.wait_until(lambda: 10 <= counter(app)[0] < last)
    first = counter(app)[0]
    # with fewer digits than at the end, the counter is as wide: a wider one moved the page
    assert len(str(first)) < len(str(last)), (first, last)
    assert pane.bounding_box()["width"] == width_at_end
    app.wait_until(lambda: counter(app)[0] > first + 10)
    app.page.locator("button.pause").click()
    # the player has stopped and the server has drawn its last frame
    app.wait_until(lambda: app.page.evaluate(PLAYER) == [0, counter(app)[0]])
    paused = counter(app)[0]
    app.page.wait_for_timeout(600)  # twelve frame intervals: a running player would have moved
    assert counter(app)[0] == paused and app.page.evaluate(PLAYER) == [0, paused]

    # the current-iterate markers sit at that iteration (or a run's end)
    its = app.page.evaluate("""() => [...Bokeh.documents[0].all_models]
        .find(m => m.type === 'ColumnDataSource' && m.data.color !== undefined && m.data.it !== undefined
              && m.data.it.length <= 6).data.it""")
    assert its and max(its) == paused

    app.page.locator("button.next").click()  # one step: two iterations per frame by default
    app.wait_until(lambda: counter(app)[0] == paused + 2)
    assert app.page.evaluate(PATHS_FINITE)
    app.assert_clean()


# --------------------------------------------------------------------------- divergence

def test_a_too_large_learning_rate_says_diverged_and_the_page_keeps_working(app):
    open_page(app)
    drag = app.grab_slider("Learning rate")
    drag.move_to(0.0)  # lr = 10⁰ = 1
    drag.release()
    app.wait_until(lambda: app.query().get("lr_exp") == "0")
    app.wait_until(lambda: re.search(r"diverged at iteration \d+ — lower the learning rate \(now 1\)",
                                     outcome(app, "untied_gd")))
    assert app.page.evaluate(PATHS_FINITE), "a non-finite number reached the plots"
    assert not [n for n in app.notices() if "Could not update" in n]

    drag = app.grab_slider("Learning rate")
    drag.move_to(-1.3)
    drag.release()
    app.wait_until(lambda: "converged after" in outcome(app, "untied_gd"))
    # and the player still animates
    app.page.locator("button.play").click()
    app.wait_until(lambda: 0 < counter(app)[0] < counter(app)[1])
    app.page.locator("button.pause").click()
    app.assert_clean()


# --------------------------------------------------------------------------- the Transpose Theorem

def test_sum_loss_untied_and_tied_gd_end_with_w1_equal_to_w2_transpose(app):
    open_page(app, "?kind=sum&methods=untied_gd,tied_gd")
    for method in ("untied_gd", "tied_gd"):
        text = outcome(app, method)
        assert "converged after" in text and "reaching the minimum" in text, text
        assert gap(text) < 1e-6, text

    # the unregularized loss does not force it: untied GD stops with W₁ ≠ W₂ᵀ
    app.select("Loss").select_option(label="L (unregularized)")
    app.wait_until(lambda: gap(outcome(app, "untied_gd")) > 1e-3)
    assert "need not equal" in outcome(app, "untied_gd")
    app.wait_until(lambda: app.query().get("kind") == "unregularized")

    # a solver added by its checkbox draws at once (exact untied: the authors' exact tied step
    # is the involution w ↦ c/w on this loss, a period-2 cycle)
    app.page.locator(".methods label", has_text="exact untied").click()
    app.wait_until(lambda: "converged after" in outcome(app, "exact_untied"))
    app.wait_until(lambda: app.query().get("methods") == "untied_gd,tied_gd,exact_untied")
    app.assert_clean()


# --------------------------------------------------------------------------- README screenshot

def test_readme_screenshot(app):
    open_page(app)
    app.page.wait_for_load_state("networkidle")
    app.wait_until(lambda: app.page.evaluate(IDLE))  # no busy spinner in the picture
    assert app.page.locator(".outcome").count() == 3
    path = app.screenshot("trajectories.png")
    assert path.stat().st_size > 30_000
    app.assert_clean()


#: JavaScript: set the player's value as a scrub would, then return the current-iterate markers
#: and every path, as the browser holds them
SCRUB = """(v) => {
    [...Bokeh.documents[0].all_models].find(m => m.type && m.type.endsWith('.Player')).value = v;
}"""
MARKERS = """() => {
    const models = [...Bokeh.documents[0].all_models];
    const cur = models.find(m => m.type === 'ColumnDataSource' && m.data.color !== undefined
                             && m.data.it !== undefined && m.data.it.length <= 6);
    const paths = models.filter(m => m.type === 'ColumnDataSource' && m.data.it !== undefined && m.syncable
                                && m.data.color === undefined && m.data.it.length > 0);
    return {w1: Array.from(cur.data.w1), it: Array.from(cur.data.it),
            paths: paths.map(p => Array.from(p.data.w1))};
}"""


def test_a_frame_drawn_in_the_browser_puts_each_marker_on_its_path_at_that_iteration(app):
    """Frames are drawn in the browser (FRAME_JS) from the paths the server sent: at iteration
    v every marker sits on its own path at min(v, run length − 1), and the counter agrees."""
    open_page(app, "?methods=untied_gd,tied_gd,exact_untied&lam=0.5")
    _, last = counter(app)
    v = max(1, last // 3)
    app.page.evaluate(SCRUB, v)
    app.wait_until(lambda: counter(app)[0] == v)
    got = app.page.evaluate(MARKERS)
    assert sorted(got["it"]) == sorted(min(v, len(p) - 1) for p in got["paths"])
    expected = sorted(p[min(v, len(p) - 1)] for p in got["paths"])
    assert sorted(got["w1"]) == pytest.approx(expected, abs=1e-6)
    app.wait_until(lambda: app.query().get("lam") == "0.5")
    app.assert_clean()


#: JavaScript: [solver, iterates drawn] of every path renderer (map, loss and ‖W₁ − W₂ᵀ‖ plots)
DRAWN = """() => [...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'GlyphRenderer' && m.name && m.data_source.data.gap !== undefined && m.visible)
    .map(r => [r.name, r.data_source.data.w1.length])"""


def test_the_paths_grow_with_the_frame(app):
    """Issue #21: the whole path showed from the start of the animation. Every path (map, loss
    and ‖W₁ − W₂ᵀ‖ plots) draws iterates 0 … v at frame v (a run that ended earlier: all of it)."""
    open_page(app, "?methods=untied_gd,tied_gd,exact_untied")
    lengths = {r[0]: r[1] for r in app.page.evaluate(DRAWN)}
    assert len(app.page.evaluate(DRAWN)) == 9 and min(lengths.values()) > 1  # 3 solvers × 3 plots, at the end
    for v in (0, 3, 40):
        app.page.evaluate(SCRUB, v)
        app.wait_until(lambda v=v: counter(app)[0] == v)
        app.wait_until(lambda v=v: all(n == min(v + 1, lengths[name]) for name, n in app.page.evaluate(DRAWN)))
    app.page.locator("button.last").click()
    app.wait_until(lambda: all(n == lengths[name] for name, n in app.page.evaluate(DRAWN)))
    # a new λ while paused mid-way: the new paths are drawn up to that iteration too
    app.page.evaluate(SCRUB, 10)
    app.wait_until(lambda: counter(app)[0] == 10)
    drag = app.grab_slider("λ")
    drag.move_to(0.3)
    drag.release()
    app.wait_until(lambda: app.query().get("lam") not in (None, "0.5"))
    app.wait_until(lambda: all(n == 11 for _, n in app.page.evaluate(DRAWN)))
    assert counter(app)[0] == 10
    app.assert_clean()


#: JavaScript: [class, aria-label, title] of every button and input the player draws
PLAYER_CONTROLS = """() => {
    const p = [...Bokeh.documents[0].all_models].find(m => m.type && m.type.endsWith('.Player'));
    const root = Bokeh.index.find_one(p).shadow_el;
    return [...root.querySelectorAll('button, input')].map(
        b => [b.className || b.type, b.getAttribute('aria-label'), b.getAttribute('title')]);
}"""


def test_the_player_buttons_are_named(app):
    open_page(app)
    controls = app.page.evaluate(PLAYER_CONTROLS)
    assert len([c for c in controls if c[0] != "range"]) == 9, controls
    for name, label, title in controls:
        assert label, f"the player's {name} has no aria-label"
        assert name == "range" or title == label, (name, label, title)
    assert app.page.get_by_role("button", name="Play", exact=True).count() == 1
    assert app.page.get_by_role("button", name="Pause", exact=True).count() == 1
    app.page.get_by_role("button", name="First iteration").click()
    app.wait_until(lambda: counter(app)[0] == 0)
    app.assert_clean()


def test_a_too_large_learning_rate_is_said_first_and_plainly(app):
    """Issue #21: at lr = 1 sync and tied GD oscillated and were told to raise the learning rate."""
    open_page(app, "?methods=sync_gd,tied_gd,exact_untied&lr_exp=0")
    for method in ("sync_gd", "tied_gd"):
        item = app.page.locator(f".outcome-{method}")
        assert "too-large" in item.get_attribute("class")
        text = outcome(app, method)
        assert text.startswith("Learning rate too large:") and "lower" in text.lower(), text
        assert "raise" not in text.lower(), text
        assert app.page.locator(f".outcome-{method} .verdict").is_visible()
    assert "too large" not in outcome(app, "exact_untied")
    app.assert_clean()


def test_the_iteration_axis_goes_log_and_the_url_keeps_it(app):
    open_page(app)
    app.select("Iteration axis").select_option(label="log (runs of very different lengths)")
    app.wait_until(lambda: app.query().get("iteration_axis") == "log")
    scales = """() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Figure')
                 .map(f => [f.title ? f.title.text : '', f.x_scale.type])"""
    app.wait_until(lambda: sorted(t for title, t in app.page.evaluate(scales) if "per iteration" in title)
                   == ["LogScale", "LogScale"])
    app.page.reload()
    app.wait_for_document()
    app.wait_until(lambda: app.select("Iteration axis").evaluate("s => s.selectedOptions[0].text").startswith("log"))
    assert sorted(t for title, t in app.page.evaluate(scales) if "per iteration" in title) == ["LogScale", "LogScale"]
    app.assert_clean()


#: JavaScript: each path renderer's solver and dash, and the current-iterate markers' shapes
STYLES = """() => {
    const models = [...Bokeh.documents[0].all_models];
    const lines = models.filter(m => m.type === 'GlyphRenderer' && m.name && m.data_source.data.gap !== undefined)
        .map(r => [r.name, Array.isArray(r.glyph.line_dash) ? r.glyph.line_dash : r.glyph.line_dash.value]);
    const current = models.find(m => m.type === 'ColumnDataSource' && m.data.marker !== undefined
                                && m.data.it !== undefined);
    return {lines, markers: Array.from(current.data.marker)};
}"""


def test_the_two_blues_and_the_two_oranges_differ_in_dash_and_marker(app):
    open_page(app, "?methods=untied_gd,sync_gd,tied_gd,exact_untied,exact_sync,exact_tied")
    styles = app.page.evaluate(STYLES)
    dashes = {}
    for name, dash in styles["lines"]:
        dashes.setdefault(name, set()).add(tuple(dash))
    assert all(len(d) == 1 for d in dashes.values()), dashes  # the same on the map and both side plots
    for a, b in (("untied GD", "sync GD"), ("exact untied", "exact sync")):
        assert dashes[a] != dashes[b], dashes
    # markers in METHODS order: untied GD, sync GD, tied GD, exact untied, exact sync, exact tied
    m = styles["markers"]
    assert m[0] != m[1] and m[3] != m[4], m
    # the sidebar's and the outcome list's swatches carry the dash and the marker too
    sync_item = app.page.locator(".outcome-sync_gd svg.swatch")
    assert sync_item.locator("line").get_attribute("stroke-dasharray")
    assert app.page.locator(".outcome-untied_gd svg.swatch line").get_attribute("stroke-dasharray") is None
    checkbox = app.page.locator(".methods label", has_text="sync GD").locator("span")
    background = checkbox.evaluate("e => getComputedStyle(e, '::after').backgroundImage")
    assert "stroke-dasharray" in background and "svg" in background
    app.assert_clean()


# --------------------------------------------------------------------------- the screens a class uses

#: JavaScript: the page boxes of every plot and of the page's text and player blocks, and the
#: document's scroll and client widths
LAYOUT = """() => {
    const box = (el) => { const r = el.getBoundingClientRect();
                          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; };
    const plots = [...Bokeh.documents[0].all_models].filter(m => m.type === 'Figure')
        .map(f => ({name: f.title ? f.title.text : f.id, ...box(Bokeh.index.find_one(f).el)}));
    const deep = (selector) => {
        const found = [];
        const walk = (root) => { for (const el of root.querySelectorAll('*')) {
            if (el.matches(selector)) found.push(el); if (el.shadowRoot) walk(el.shadowRoot); } };
        walk(document);
        return found;
    };
    const blocks = [];
    for (const sel of ['.iteration-counter', '.trajectory-player', '.frame-step', '.outcome-list', '.solver-legend',
                       '.map-legend', '.notes', 'h1', 'h2', 'h3']) {
        for (const el of deep(sel)) { const b = box(el); if (b.width > 0) blocks.push({name: sel, ...b}); }
    }
    const sidebar = document.querySelector('#sidebar');
    return {plots, blocks, sidebar: sidebar ? box(sidebar) : null,
            scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth};
}"""


def _overlap(a, b) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1)


def _layout_at(app, width, height) -> dict:
    app.page.set_viewport_size({"width": width, "height": height})
    open_page(app)
    app.page.wait_for_load_state("networkidle")
    app.wait_until(lambda: len(app.page.evaluate(LAYOUT)["plots"]) == 3)
    return app.page.evaluate(LAYOUT)


@pytest.mark.parametrize("width, height", [(1280, 800), (1366, 768), (1920, 1080)])
def test_the_page_fits_the_screen_with_the_sidebar_open(app, width, height):
    """Issue #21: no horizontal scrolling, every plot inside the viewport's width, nothing
    overlapping, at the projector modes a lecture hall uses."""
    layout = _layout_at(app, width, height)
    assert layout["sidebar"] and layout["sidebar"]["width"] > 200, "the sidebar is not open"
    assert layout["scroll"] <= layout["client"] == width, f"horizontal scrolling: {layout['scroll']} > {width}"
    for plot in layout["plots"]:
        assert layout["sidebar"]["right"] - 1 <= plot["left"] and plot["right"] <= width, plot
    things = layout["plots"] + layout["blocks"]
    for i, a in enumerate(things):
        for b in things[i + 1:]:
            assert not _overlap(a, b), f"{a['name']} overlaps {b['name']}: {a} {b}"
    app.assert_clean()


def test_the_plots_grow_on_a_1080p_screen(app):
    """Issue #21: at 1920 × 1080 the plots use the width (they stayed 560 and 470 px wide)."""
    small = {p["name"]: p["width"] for p in _layout_at(app, 1280, 800)["plots"]}
    large = {p["name"]: p["width"] for p in _layout_at(app, 1920, 1080)["plots"]}
    assert small.keys() == large.keys()
    for name in small:
        assert large[name] >= 1.3 * small[name], (name, small[name], large[name])
    # the map's column and the side plots' column fill the pane beside the sidebar
    side = max(w for name, w in large.items() if "per iteration" in name)
    map_width, = (w for name, w in large.items() if "per iteration" not in name)
    assert map_width + side >= 0.8 * (1920 - 300), large
    app.assert_clean()
