"""The Trajectories page in a real Chromium: a click on the map moves the start, the player
animates, steps and pauses, a too-large learning rate diverges in words while the page keeps
working, and the Transpose Theorem shows in the outcome text: with the sum loss untied and tied
GD both end with ‖W₁ − W₂ᵀ‖ ≈ 0 (Kunin et al. 2019: every critical point of L_σ has W₁ = W₂ᵀ).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import SCREENSHOTS

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

def test_clicking_the_map_moves_the_start(app):
    open_page(app)
    assert app.page.evaluate(START_MARKER) == [-1.4, 1.7]
    x, y = app.page.evaluate(MAP_PIXEL, [0.6, -1.1])
    app.page.mouse.click(x, y)
    app.wait_until(lambda: _start_near(app, 0.6, -1.1))
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
    app.page.locator("button.play").click()
    # play at the last frame starts over from 0, then counts up
    app.wait_until(lambda: 10 <= counter(app)[0] < last)
    first = counter(app)[0]
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

    # a solver added by its checkbox draws at once
    app.page.locator(".methods label", has_text="exact tied").click()
    app.wait_until(lambda: "converged after" in outcome(app, "exact_tied"))
    app.wait_until(lambda: app.query().get("methods") == "untied_gd,tied_gd,exact_tied")
    app.assert_clean()


# --------------------------------------------------------------------------- README screenshot

def test_readme_screenshot(app):
    open_page(app)
    app.page.wait_for_load_state("networkidle")
    app.wait_until(lambda: app.page.evaluate(IDLE))  # no busy spinner in the picture
    assert app.page.locator(".outcome").count() == 3
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "trajectories.png"
    app.page.screenshot(path=str(path), full_page=True)
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
    const paths = models.filter(m => m.type === 'ColumnDataSource' && m.data.it !== undefined
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
