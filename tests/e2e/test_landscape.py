"""The Landscape page in a real Chromium: the λ-pitchfork under a dragged slider, the URL as a
shareable state, bad URLs, the page's modes, the 3-D view, and the README's screenshots.

Expected numbers come from the paper (Kunin et al. 2019, scalar case m = k = 1): the sum loss
x²(1−w₁w₂)² + λ(w₁² + w₂²) has minima at w₁ = w₂ = ±√(1 − λ/x²) while λ < x², and only the
origin once λ > x².
"""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import numpy as np
import pytest

from app.pages.landscape import MODES
from tests.e2e.conftest import ONE_POINT, THREE_POINTS
from tests.support import read_colour_bar_label as read_label

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


def num(z: float) -> str:
    """A coordinate as the page prints it: two decimals, a true minus sign."""
    return f"{z:.2f}".replace("-", "−")


def sum_minima(x: float, lam: float) -> str:
    """The paper's two sum-loss minima as the summary lists them (λ < x²)."""
    w = math.sqrt(1 - lam / x**2)
    return f"minimum ({num(w)}, {num(w)}), minimum ({num(-w)}, {num(-w)})"


def summary_matches_slider(app, x: float = 1.0):
    """The sum summary agrees with the paper at the λ the slider shows right now."""
    lam = app.slider_model("λ")["value"]
    text = app.summary("sum")
    if lam < x**2 - 0.01:
        assert text.startswith(THREE_POINTS) and sum_minima(x, lam) in text, (lam, text)
    elif lam > x**2 + 0.01:
        assert text == f"{ONE_POINT} — minimum (0.00, 0.00)", (lam, text)
    return lam


def url_follows_slider(app, title: str = "λ", name: str = "lam"):
    value = app.slider_model(title)["value"]
    query = app.query()
    assert name in query and math.isclose(float(query[name]), value, abs_tol=1e-9), (value, query)


# --------------------------------------------------------------------------- the pitchfork, dragged

def test_dragging_lambda_past_x_squared_merges_the_sum_minima_into_the_origin(app):
    app.open("/")
    assert app.summary("sum") == f"{THREE_POINTS} — saddle (0.00, 0.00), {sum_minima(1.0, 0.5)}"

    drag = app.grab_slider("λ")
    # Still below x² = 1: the minima slide towards the origin, as √(1 − λ) says, mid-drag.
    drag.move_to(0.8)
    lam = app.wait_until(lambda: summary_matches_slider(app))
    assert 0.7 < lam < 0.9
    # Past x²: the two minima have merged into the origin while the mouse is still down.
    drag.move_to(2.0)
    app.wait_until(lambda: app.summary("sum").startswith(ONE_POINT))
    lam = app.wait_until(lambda: summary_matches_slider(app))
    assert 1.8 < lam < 2.2 and drag.held
    app.wait_until(lambda: url_follows_slider(app))
    # Back below x²: they reappear.
    drag.move_to(0.5)
    app.wait_until(lambda: app.summary("sum").startswith(THREE_POINTS))
    drag.release()

    lam = app.wait_until(lambda: summary_matches_slider(app))
    assert 0.4 < lam < 0.6
    assert app.slider("λ").locator(".bk-slider-title").inner_text() == f"λ: {lam:.2f}"
    app.wait_until(lambda: url_follows_slider(app))
    app.assert_clean()


def _box(app, selector: str) -> dict:
    """The bounding box of the first element ``selector`` matches, as drawn."""
    box = app.page.locator(selector).first.bounding_box()
    assert box, f"{selector} is not drawn"
    return box


def test_a_summary_that_loses_a_line_keeps_its_height_and_what_is_below_stays(app):
    """Above x² the sum summary is one line, below it two (at this width). Once the page has
    shown both, dragging λ across x² leaves the summary as tall as its two lines and what is
    below it (the pitchfork's words) where it was, so the page does not jump under the
    lecturer's hand; the text itself is always whole, and a new width starts again from the
    text's own height."""
    app.open("/?lam=2")
    assert app.summary("sum").startswith(ONE_POINT)
    # a formula holds its typeset height, not that of the TeX source shown until KaTeX arrives
    formula = app.wait_until(lambda: app.held_height(".formula-sum"))
    assert formula["own"] <= formula["held"] < formula["own"] + 1.5, formula
    drag_lambda(app, 0.5)
    app.wait_until(lambda: app.summary("sum").startswith(THREE_POINTS))
    app.wait_until(lambda: _box(app, ".summary-sum")["height"] > 0)
    two_lines, below = _box(app, ".summary-sum"), _box(app, ".look-for")

    drag_lambda(app, 2.0)
    app.wait_until(lambda: app.summary("sum").startswith(ONE_POINT))
    one_line = _box(app, ".summary-sum .summary-text")
    assert one_line["height"] < two_lines["height"] * 0.75, (one_line, two_lines)  # the text did lose a line
    assert _box(app, ".summary-sum") == two_lines
    assert _box(app, ".look-for") == below

    # A narrower window: the one-line text takes its own height again.
    app.page.set_viewport_size({"width": VIEWPORT_NARROWER, "height": 1100})
    app.wait_until(lambda: _box(app, ".summary-sum")["height"] < two_lines["height"] * 0.75)
    # and grows, whole, when it has more to say
    drag_lambda(app, 0.5)
    app.wait_until(lambda: app.summary("sum").startswith(THREE_POINTS))
    app.wait_until(lambda: _box(app, ".summary-sum")["height"] >= two_lines["height"] * 0.9)
    text, pane = _box(app, ".summary-sum .summary-text"), _box(app, ".summary-sum")
    assert text["y"] + text["height"] <= pane["y"] + pane["height"] + 0.5, (text, pane)
    app.assert_clean()


def drag_lambda(app, lam: float) -> None:
    drag = app.grab_slider("λ")
    drag.move_to(lam)
    drag.release()
    app.wait_until(lambda: abs(app.slider_model("λ")["value"] - lam) < 0.15)


#: narrower than the tests' window, still wide enough for the three maps side by side
VIEWPORT_NARROWER = 1300

# --------------------------------------------------------------------------- the URL is the state

#: JavaScript: for each colour bar in the figures titled ``titles``, its ticks and their labels
#: over its current range and over each of ``ranges`` ([start, end] pairs), as BokehJS draws them
COLOUR_BAR_LABELS = """([titles, ranges]) => [...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'Figure' && m.title && titles.includes(m.title.text))
    .flatMap(f => f.right.filter(r => r.type === 'ColorBar'))
    .map(c => [[c.color_mapper.low, c.color_mapper.high], ...ranges].map(([a, b]) => {
        const ticks = c.ticker.get_ticks(a, b, null, 0).major;
        return [a, b, ticks, c.formatter.doFormat(ticks, {loc: 0})];
    }))"""
PAPER_TITLES = ["L (unregularized)", "L_π (product)", "L_σ (sum)"]


@pytest.mark.parametrize("log_color", ["true", "false"])
def test_a_shared_url_reopens_its_state(app, log_color):
    app.open(f"/?lam=1.5&x=1.2&mode=paper&log_color={log_color}")

    # x² = 1.44 < λ = 1.5: past the pitchfork.
    assert app.summary("sum") == f"{ONE_POINT} — minimum (0.00, 0.00)"
    assert app.slider_model("λ")["value"] == 1.5
    assert app.slider_model("x")["value"] == 1.2
    assert app.slider("λ").locator(".bk-slider-title").inner_text() == "λ: 1.50"
    assert app.model("Checkbox", {"label": "Log colour scale"}, ["active"]) == {"active": log_color == "true"}
    rng = random.Random(7)
    if log_color == "true":  # the log bar spans a decade at least (SurfacePlot.update)
        ranges = [[a, a + rng.choice([1, 1.3, 2.2, 4, 9, 25]) * rng.uniform(1, 1.2)]
                  for a in (rng.uniform(-14, 6) for _ in range(60))]
    else:  # losses from 10⁻¹³ to 10⁶
        ranges = [[a * scale, (a + span) * scale] for a, span, scale in
                  ((rng.uniform(-2, 2), rng.uniform(0.2, 5), 10 ** rng.randint(-13, 6)) for _ in range(60))]
    bars = app.page.evaluate(COLOUR_BAR_LABELS, [PAPER_TITLES, ranges])
    assert len(bars) == 3
    for bar in bars:
        for a, b, ticks, labels in bar:
            assert 2 <= len(ticks) <= 6, (a, b, ticks)
            assert len(labels) == len(ticks)
            assert all(a - 1e-9 <= t <= b + 1e-9 for t in ticks), (a, b, ticks)
            if log_color == "true":  # the bar runs over log₁₀ of the loss: "0.01" at −2, "10⁻⁵" at −5
                assert [read_label(label) for label in labels] == pytest.approx([10 ** t for t in ticks], rel=1e-6)
            else:  # the loss's values, 1, 2 or 5 × 10ⁿ apart, written with the digits they need
                assert [float(label) for label in labels] == pytest.approx(ticks, rel=1e-9, abs=1e-12)
                step = ticks[1] - ticks[0]
                assert np.allclose(np.diff(ticks), step, rtol=1e-9)
                assert round(step / 10 ** math.floor(math.log10(step) + 1e-9), 9) in (1, 2, 5)
    assert app.select("Mode").input_value() == MODES["paper"] and app.query()["mode"] == "paper"
    assert app.notices() == []
    app.assert_clean()


def test_a_url_below_the_pitchfork_shows_both_minima(app):
    app.open("/?lam=0.2&x=1")

    assert app.summary("sum") == f"{THREE_POINTS} — saddle (0.00, 0.00), {sum_minima(1.0, 0.2)}"
    assert "minimum (0.89, 0.89)" in app.summary("sum")  # √(1 − 0.2) = 0.894
    app.assert_clean()


def test_each_visitor_has_their_own_state(app, new_visitor):
    app.open("/")
    drag = app.grab_slider("λ")
    drag.move_to(2.0)
    drag.release()
    app.wait_until(lambda: app.summary("sum").startswith(ONE_POINT))

    other = new_visitor().open("/")
    assert other.summary("sum").startswith(THREE_POINTS) and other.slider_model("λ")["value"] == 0.5
    assert app.summary("sum").startswith(ONE_POINT)
    other.assert_clean()
    app.assert_clean()


# --------------------------------------------------------------------------- bad URLs

#: JavaScript: every place text containing ``needle`` became markup or script, in the document
#: and in every open shadow root (text inside a ``.notice`` is where it belongs, as plain text)
INJECTED = """(needle) => {
    const found = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            const notice = el.classList.contains('notice');
            if (el.tagName === 'SCRIPT' && el.textContent.includes(needle)) found.push('<script> ' + el.textContent);
            for (const a of el.attributes) {
                if (a.value.includes(needle)) found.push(`${el.tagName}[${a.name}]`);
            }
            if (notice && el.children.length) found.push('.notice with child elements: ' + el.innerHTML);
            for (const node of el.childNodes) {
                if (node.nodeType === Node.TEXT_NODE && node.textContent.includes(needle) && !notice) {
                    found.push(`text in ${el.tagName}.${[...el.classList].join('.')}: ${node.textContent}`);
                }
            }
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    return found;
}"""


def test_a_malformed_url_gets_plain_text_notices_and_the_page_keeps_working(app):
    app.open("/?lam=nan&x=abc&mode=<script>alert(1)</script>")

    notices = app.wait_until(app.notices)
    assert any(n.startswith("'lam' must be a finite number, not 'nan'") for n in notices), notices
    assert any(n.startswith("'x' must be a finite number, not 'abc'") for n in notices), notices
    assert any(n.startswith("'mode' must be one of") and "<script>alert(1)" in n for n in notices), notices
    assert app.page.evaluate(INJECTED, "alert(1)") == []
    assert app.record.dialogs == []
    # Defaults in force, and the page still answers the slider.
    assert app.select("Mode").input_value() == MODES["paper"]
    assert app.summary("sum").startswith(THREE_POINTS)
    drag = app.grab_slider("λ")
    drag.move_to(2.0)
    app.wait_until(lambda: app.summary("sum").startswith(ONE_POINT))
    drag.release()
    app.wait_until(lambda: app.query().get("mode") == "paper")
    assert app.record.dialogs == []
    app.assert_clean()


def test_an_out_of_range_lambda_is_clamped_with_a_notice(app):
    app.open("/?lam=99")

    # the notice pane shows once its stylesheets have loaded, which may follow the idle document
    app.wait_until(lambda: app.notices() == ["'lam' = '99' is outside [0, 4]; using 4."])
    assert app.slider_model("λ")["value"] == 4
    assert app.summary("sum") == f"{ONE_POINT} — minimum (0.00, 0.00)"
    app.assert_clean()


def test_the_address_bar_shows_the_corrected_state_after_a_bad_url(app):
    """A link copied after a correction reopens what was shown, without the notice again."""
    app.open("/?lam=99&x=abc")

    app.wait_until(lambda: (app.query().get("lam"), app.query().get("x")) == ("4", "1"))
    app.assert_clean()


# --------------------------------------------------------------------------- modes

def choose_mode(app, mode: str) -> None:
    """Pick a mode as a visitor does, by the words the selector shows (the URL keeps its key)."""
    app.select("Mode").select_option(label=MODES[mode])


def _visible_summaries(app) -> dict[str, str]:
    out = {}
    for kind in ("unregularized", "product", "sum", "alignment"):
        loc = app.page.locator(f".summary-{kind} .summary-text")
        if loc.count() and loc.is_visible():
            out[kind] = loc.inner_text()
    return out


def _slider_visible(app, title: str) -> bool:
    loc = app.slider(title)
    return loc.count() == 1 and loc.is_visible()


def test_alpha_mode_at_alpha_2_is_the_papers_sum_loss_and_follows_alpha(app):
    app.open("/")
    paper = app.summary("sum")
    choose_mode(app, "alpha")
    app.wait_until(lambda: app.query().get("mode") == "alpha")
    app.wait_until(lambda: _slider_visible(app, "α"))
    # α = 2 is the paper's L2 regularizer (the summary is re-sent with the mode: wait for it to settle)
    app.wait_until(lambda: app.summary("sum") == paper)

    drag = app.grab_slider("α")
    drag.move_to(1.0)
    drag.release()
    app.wait_until(lambda: app.summary("sum") != paper)
    app.wait_until(lambda: url_follows_slider(app, "α", "alpha"))
    app.assert_clean()


@pytest.mark.parametrize("mode, sum_contains", [
    # tied W = [w₁, w₂]ᵀ, X = diag(1, 0.7), λ = 0.5: minima along u₁ with ‖W‖² = 1 − λ/x² = 0.5;
    # none along u₂, since y² = 0.49 < λ
    ("tied", ["sum: 3 critical points", "minimum (0.71, 0.00)", "minimum (−0.71, 0.00)"]),
    # (y − w₂w₁x)² + λ(w₁² + w₂²), x = 1, y = 0.7, λ = 0.5: w₁ = w₂ = ±√(y/x − λ/x²) = ±0.447
    ("prediction", ["sum: 3 critical points", "minimum (0.45, 0.45)", "minimum (−0.45, −0.45)"]),
])
def test_switching_mode_redraws_the_summaries(app, mode, sum_contains):
    app.open("/")
    choose_mode(app, mode)

    app.wait_until(lambda: app.query().get("mode") == mode)
    app.wait_until(lambda: all(s in app.summary("sum") for s in sum_contains))
    assert set(_visible_summaries(app)) == {"unregularized", "product", "sum"}
    assert _slider_visible(app, "y")
    app.assert_clean()


def test_alignment_mode_shows_one_surface_and_its_own_sliders(app):
    app.open("/")
    choose_mode(app, "alignment")

    app.wait_until(lambda: set(_visible_summaries(app)) == {"alignment"})
    summary = _visible_summaries(app)["alignment"]
    assert re.match(r"alignment: \d+ critical points? — ", summary), summary
    assert not _slider_visible(app, "λ")
    for title in ("λ_pred", "λ_info", "λ_reg", "λ_self"):
        assert _slider_visible(app, title), title
    app.wait_until(lambda: app.query().get("mode") == "alignment")
    app.assert_clean()


# --------------------------------------------------------------------------- 3-D view

PLOTLY_STATE = """(el) => ({
    type: el._fullData && el._fullData[0] && el._fullData[0].type,
    title: el._fullLayout && el._fullLayout.title && el._fullLayout.title.text,
    canvases: el.querySelectorAll('canvas').length,
})"""


def test_the_3d_toggle_shows_a_plotly_surface(app):
    app.open("/")
    plot = app.page.locator(".js-plotly-plot")
    assert plot.count() == 0 or not plot.is_visible()

    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: plot.count() == 1 and plot.is_visible())
    state = app.wait_until(lambda: (s := plot.evaluate(PLOTLY_STATE))["canvases"] and s)
    assert state["type"] == "surface" and state["title"] == "L_σ (sum)", state
    # the surface's numbers came as binary arrays: z is 60 rows of 60, over w from −extent to extent
    z_shape, w = plot.evaluate("el => [[el.data[0].z.length, el.data[0].z[0].length], el.data[0].x]")
    assert z_shape == [60, 60] and len(w) == 60 and w[0] == -w[-1] < 0, (z_shape, w[:3])

    app.select("3-D surface of").select_option("product")
    app.wait_until(lambda: plot.evaluate(PLOTLY_STATE)["title"] == "L_π (product)")
    app.assert_clean()


# --------------------------------------------------------------------------- README screenshots

def _assert_real_picture(path: Path) -> None:
    from PIL import Image

    assert path.stat().st_size > 30_000, f"{path} is only {path.stat().st_size} bytes"
    with Image.open(path) as img:
        assert img.width == 1400 and img.height >= 1100, img.size
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 200, f"{path} has only {len(colours)} colours"


@pytest.mark.parametrize("query, name, sum_starts", [
    ("", "landscape.png", THREE_POINTS),
    ("?lam=1.5", "landscape-lambda-1.5.png", ONE_POINT),
])
def test_readme_screenshots(app, query, name, sum_starts):
    app.open("/" + query)
    app.page.wait_for_load_state("networkidle")
    assert app.summary("sum").startswith(sum_starts)
    # Every formula typeset by KaTeX before the picture is taken.
    app.wait_until(lambda: app.page.locator(".formula .katex").count() >= 3)

    path = app.screenshot(name)
    _assert_real_picture(path)
    app.assert_clean()


# --------------------------------------------------------------------------- issue #21: words per mode

def bokeh_title(app, starts: str) -> str:
    """The text of the Bokeh figure title that begins with ``starts``."""
    texts = app.page.evaluate("""(starts) => [...Bokeh.documents[0].all_models]
        .filter(m => m.type === 'Title' && typeof m.text === 'string' && m.text.startsWith(starts))
        .map(m => m.text)""", starts)
    assert len(texts) == 1, texts
    return texts[0]


def test_the_mode_selector_shows_words_and_each_mode_gets_its_own_pitchfork_words(app):
    app.open("/")
    options = app.select("Mode").locator("option").all_inner_texts()
    assert options == list(MODES.values())  # the words, never paper / alpha / tied / …
    assert "scalar autoencoder of the paper" in app.shown_text(".mode-help .mode-help-text")
    assert "Drag λ past x² = 1" in app.shown_text(".look-for .look-for-text")
    assert "Blue dotted: the product loss's level" in app.shown_text(".bifurcation-legend .legend-text")

    choose_mode(app, "prediction")  # x = 1, y = 0.7: the pitchfork moves to λ = xy
    app.wait_until(lambda: app.query().get("mode") == "prediction")
    app.wait_until(lambda: "Drag λ past xy = 0.7" in app.shown_text(".look-for .look-for-text"))
    assert bokeh_title(app, "L_σ:") == "L_σ: critical points against λ (pitchfork at λ = xy = 0.7)"
    assert "predicts a target y" in app.shown_text(".mode-help .mode-help-text")

    choose_mode(app, "alignment")  # no λ: no pitchfork, nothing to drag
    app.wait_until(lambda: "no pitchfork" in app.shown_text(".look-for .look-for-text"))
    assert "Drag λ" not in app.shown_text(".look-for .look-for-text")
    help_text = app.shown_text(".mode-help .mode-help-text")
    assert all(name in help_text for name in ("λ_pred", "λ_info", "λ_reg", "λ_self")), help_text
    app.wait_until(lambda: not app.page.locator(".bifurcation-legend").is_visible())
    assert not _slider_visible(app, "λ")
    app.assert_clean()


# --------------------------------------------------------------------------- issue #21: the 3-D view and the screen

#: JavaScript: the plotly figure as drawn — its box, its SVG layers and mode bar buttons — and the
#: boxes of the Bokeh figures and headings around it, through every shadow root
SCREEN_JS = """() => {
    const box = (el) => {
        const r = el.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    };
    const shown = (el) => el.getClientRects().length > 0 && el.getBoundingClientRect().width > 0;
    let plot = null;
    const boxes = [];
    const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.classList.contains('js-plotly-plot') && shown(el)) plot = el;
            else if ((el.classList.contains('bk-Figure') || /^H[1-6]$/.test(el.tagName)) && shown(el))
                boxes.push({name: el.tagName + ' ' + (el.textContent || '').trim().slice(0, 40), ...box(el)});
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(document);
    const out = {viewport: document.documentElement.clientWidth, document: document.documentElement.scrollWidth,
                 boxes, plot: null};
    if (plot) {
        const layers = [...plot.querySelectorAll('.main-svg')];
        out.plot = {...box(plot), name: 'plotly',
                    layers: layers.map(box), layer_position: layers.map((l) => getComputedStyle(l).position),
                    modebar: plot.querySelector('.modebar')
                        && getComputedStyle(plot.querySelector('.modebar')).position,
                    buttons: [...plot.querySelectorAll('.modebar-btn')].map(box)};
    }
    return out;
}"""
SCREENS = [(1280, 800), (1366, 768), (1920, 1080)]


def overlap(a: dict, b: dict) -> bool:
    """Boxes sharing more than a pixel both ways (touching edges do not overlap)."""
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1)


def settled_screen(app, plotly: bool) -> dict:
    """``SCREEN_JS`` once it reads the same twice (text panes and plots settle after the idle
    document), with the plotly figure drawn when ``plotly``."""
    last: list = [None]

    def same():
        now = app.page.evaluate(SCREEN_JS)
        if plotly:
            assert now["plot"] and len(now["plot"]["layers"]) >= 2, "plotly has not drawn yet"
        stable = now == last[0]
        last[0] = now
        if not stable:
            app.page.wait_for_timeout(300)
        return stable
    app.wait_until(same, timeout=30)
    return last[0]


def assert_fits(screen: dict) -> None:
    """No sideways scrolling, every figure (and the plotly view) inside the viewport, no two of
    them or of the headings overlapping; plotly's SVG layers on top of each other inside its
    figure and its mode bar one row of buttons (without plotly's CSS in the shadow root the layers
    stacked ~440 px below the plot and the buttons stood in a column of grey boxes)."""
    vw = screen["viewport"]
    assert screen["document"] <= vw, f"the document is {screen['document']} px wide in {vw} px"
    boxes = screen["boxes"] + ([screen["plot"]] if screen["plot"] else [])
    outside = [b for b in boxes if b["left"] < 0 or b["right"] > vw + 0.5]
    assert not outside, f"outside the {vw} px viewport: {outside}"
    clashes = [(a["name"], b["name"]) for i, a in enumerate(boxes) for b in boxes[i + 1:] if overlap(a, b)]
    assert not clashes, clashes
    plot = screen["plot"]
    if plot:
        assert set(plot["layer_position"]) == {"absolute"} and plot["modebar"] == "absolute", plot
        below = [layer for layer in plot["layers"]
                 if layer["bottom"] > plot["bottom"] + 1 or layer["top"] < plot["top"] - 1]
        assert not below, f"plotly layers outside its {plot['top']:.0f}–{plot['bottom']:.0f} px: {below}"
        tops = [b["top"] for b in plot["buttons"]]
        assert tops and max(tops) - min(tops) <= 2, f"the mode bar's buttons are not one row: {tops}"


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_landscape_page_with_its_3d_view_fits_the_screen(app, size):
    """With the sidebar open at 1280 × 800 the maps ran ~70 px past the right edge; at 1920 × 1080
    they were 340 px each in a 1 600 px area: now three share the row, at every size."""
    width, height = size
    app.page.set_viewport_size({"width": width, "height": height})
    app.open("/?show3d=true")
    screen = settled_screen(app, plotly=True)
    assert_fits(screen)
    figures = [b for b in screen["boxes"] if not b["name"].startswith("H")]
    top_row = [b for b in figures if abs(b["top"] - min(f["top"] for f in figures)) < 2]
    assert len(top_row) == 3, top_row  # the three maps side by side
    main_left = min(b["left"] for b in top_row)
    span = max(b["right"] for b in top_row) - main_left
    assert span >= 0.9 * (width - main_left), (span, width, main_left)  # the row uses the width
    assert screen["plot"]["right"] - screen["plot"]["left"] >= 0.9 * (width - main_left)
    app.assert_clean()


def test_the_3d_view_is_in_the_url_marks_the_critical_points_and_shows_both_wells(app):
    from app.plot3d import SURFACE_CAMERA

    app.open("/")
    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: app.query().get("show3d") == "true")  # the link opens the view open
    plot = app.page.locator(".js-plotly-plot")
    app.wait_until(lambda: plot.is_visible())
    traces = app.wait_until(lambda: plot.evaluate(
        "el => el._fullData && el._fullData.map(d => [d.type, d.name, d.x ? Array.from(d.x) : null])"))
    assert traces[0][0] == "surface"
    marks = {name: xs for kind, name, xs in traces[1:]}
    # x = 1, λ = 0.5: the saddle at the origin, the minima at ±√(1 − λ/x²) = ±0.707
    assert marks["saddle"] == [0] and sorted(marks["minimum"]) == pytest.approx([-0.7071, 0.7071], abs=1e-4)
    eye = plot.evaluate("el => el._fullLayout.scene.camera.eye")
    assert eye == pytest.approx(SURFACE_CAMERA["eye"])
    assert_fits(settled_screen(app, plotly=True))

    app.open("/?show3d=true&view3d=product")  # opened from the link: shown without a click
    app.wait_until(lambda: plot.is_visible())
    names = app.wait_until(lambda: plot.evaluate("el => el._fullData && el._fullData.map(d => d.name)"))
    assert "curve of minima" in names
    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: app.query().get("show3d") == "false" and not plot.is_visible())
    app.assert_clean()
