"""The Posterior-collapse page in a real Chromium: the X = [2] sweep across λ = x² = 4, the
spectrum editor's collapsed count, training real LAEs, a shared link, and the README figure.

Expected numbers come from the paper (Kunin et al. 2019): the sum loss on the diagonal,
f(w) = x²(1 − w²)² + 2λw², has minima ±√(1 − λ/x²) only while λ < x²; a direction with
σ² ≤ λ collapses (decoder singular value √(1 − λ/σ²)₊ = 0).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_landscape import SCREENS, assert_fits, settled_screen

pytestmark = pytest.mark.timeout(120)


#: JavaScript: the example's count text and the λ slider's value, read in one go (so that they
#: belong to the same repaint); the page is searched through every open shadow root
COUNT_AND_LAMBDA = """() => {
    const texts = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.classList.contains('count-text')) texts.push(el.textContent);
            if (el.shadowRoot) walk(el.shadowRoot);
        }
    };
    walk(document);
    const slider = [...Bokeh.documents[0].all_models].find(m => m.type === 'Slider' && m.title === 'λ');
    return {count: texts.find(t => t.includes('critical point')) || null, lam: slider.value};
}"""


def count(app) -> str:
    return app.shown_text(".collapse-count .count-text")


def survivors(app) -> str:
    return app.shown_text(".surviving-count .count-text")


def type_spectrum(app, text: str) -> None:
    box = app.page.locator(".spectrum-input input")
    box.fill(text)
    box.press("Enter")


def test_collapse_page_opens_with_the_posters_example_and_the_default_spectrum(app):
    app.open("/collapse")

    assert count(app) == "3 critical points"  # λ = 1.5 < x² = 4
    assert "minima at w = ±0.79" in app.page.locator(".collapse-count .count-detail").inner_text()  # √(1 − 1.5/4)
    assert survivors(app).startswith("4 of 6 directions survive; 2 collapsed")  # σ² = 1, 0.25 ≤ 1.5
    app.wait_until(lambda: app.page.locator(".formula .katex").count() >= 1)
    app.wait_until(lambda: app.page.locator(".ppca-formula .katex").count() >= 1)
    assert app.page.locator(".ppca-table tbody tr").count() == 5
    app.assert_clean()


def test_the_sweep_crosses_lambda_4_and_the_critical_points_go_from_3_to_1(app):
    app.open("/collapse")
    assert count(app) == "3 critical points"
    app.page.locator(".sweep-button button").click()
    app.wait_until(lambda: app.page.evaluate(COUNT_AND_LAMBDA)["lam"] < 1)  # the sweep starts at λ = 0

    seen = []

    def finished():
        sample = app.page.evaluate(COUNT_AND_LAMBDA)
        if not seen or seen[-1] != sample:
            seen.append(sample)
        return sample["lam"] == 6 and app.page.locator(".sweep-button button").inner_text().startswith("▶")

    app.wait_until(finished, timeout=30)
    lams = [s["lam"] for s in seen]
    assert lams == sorted(lams) and lams[-1] == 6, lams  # λ only grows, and stops at 6
    counts = [s["count"] for s in seen]
    first_one = counts.index("1 critical point")
    assert first_one > 0 and set(counts[:first_one]) == {"3 critical points"}, seen
    assert set(counts[first_one:]) == {"1 critical point"}, seen
    # every frame agrees with the paper: three critical points exactly while λ < x² = 4
    for s in seen:
        assert (s["count"] == "3 critical points") == (s["lam"] < 4), s
    assert any(s["lam"] < 4 for s in seen) and any(4 <= s["lam"] < 6 for s in seen)
    app.wait_until(lambda: app.query().get("lam") == "6")
    app.assert_clean()


def test_dragging_lambda_past_4_merges_the_minima_and_collapses_sigma_2(app):
    app.open("/collapse")
    drag = app.grab_slider("λ")
    drag.move_to(3.0)  # √(1 − 3/4) = 0.5; a mouse lands within a pixel, so read λ back

    def minima_follow_lambda():
        lam = app.slider_model("λ")["value"]
        assert 2.5 < lam < 3.5, lam
        expected = f"minima at w = ±{(1 - lam / 4) ** 0.5:.2f}"
        return expected in app.page.locator(".collapse-count .count-detail").inner_text()

    app.wait_until(minima_follow_lambda)
    assert count(app) == "3 critical points"
    drag.move_to(4.6)  # past x² = 4 — and past σ₃² = 4
    app.wait_until(lambda: count(app) == "1 critical point")
    drag.release()
    lam = app.slider_model("λ")["value"]
    assert 4 < lam < 5.2
    app.wait_until(lambda: survivors(app).startswith("2 of 6 directions survive; 4 collapsed"))  # 16, 9 > λ
    app.wait_until(lambda: app.query().get("lam") == f"{lam:g}")
    app.assert_clean()


def test_changing_the_spectrum_updates_the_collapsed_count(app):
    app.open("/collapse")
    assert survivors(app).startswith("4 of 6 directions survive")

    type_spectrum(app, "5, 1.2, 0.5")  # λ = 1.5: 1.44 and 0.25 collapse
    app.wait_until(lambda: survivors(app).startswith("1 of 3 directions survive; 2 collapsed"))
    assert "σ₂ = 1.2, σ₃ = 0.5" in survivors(app)
    app.wait_until(lambda: app.query().get("sigma") == "5, 1.2, 0.5")

    type_spectrum(app, "5, 1.3, 0.5")  # 1.69 > 1.5: survives
    app.wait_until(lambda: survivors(app).startswith("2 of 3 directions survive; 1 collapsed"))

    type_spectrum(app, "5, <b>x</b>")  # refused with a plain-text notice; the spectrum stays
    notices = app.wait_until(app.notices)
    assert notices[0].startswith("σ: '<b>x</b>' is not a number"), notices
    assert survivors(app).startswith("2 of 3 directions survive")
    app.assert_clean()


def test_train_shows_progress_and_puts_measured_values_on_the_theory(app):
    app.open("/collapse")  # untied gradient descent: thousands of steps, run in chunks
    progress = app.page.locator("progress.train-progress")
    app.page.locator(".train-button button").click()

    app.wait_until(lambda: progress.is_visible())  # a progress bar while it trains …
    status = app.page.locator(".train-status .status-text")
    app.wait_until(lambda: status.inner_text().startswith("Trained with untied GD at λ = 1.50"), timeout=30)
    assert not progress.is_visible()  # … gone when done
    # measured dots: the sum loss's decoder along each of the six directions, on √(1 − λ/σ²)₊
    measured = app.page.evaluate("""() => [...Bokeh.documents[0].all_models]
        .filter(m => m.type === 'ColumnDataSource' && 'x' in m.data && 'y' in m.data && m.data.y.length === 6
                && m.data.x.length === 6 && m.data.x[0] === 1)
        .map(m => Array.from(m.data.y))""")
    expected = [(1 - 1.5 / s2) ** 0.5 if s2 > 1.5 else 0.0 for s2 in (16, 9, 4, 2.25, 1, 0.25)]
    assert any(all(abs(a - b) < 0.02 for a, b in zip(values, expected)) for values in measured), measured
    app.assert_clean()


def test_a_shared_link_reopens_the_state_and_a_bad_spectrum_is_refused(app):
    app.open("/collapse?lam=4.5&x=2&sigma=3,2,1")
    assert count(app) == "1 critical point"
    assert survivors(app).startswith("1 of 3 directions survive")  # only 9 > 4.5
    assert app.slider_model("λ")["value"] == 4.5
    app.assert_clean()

    app.open("/collapse?sigma=1,nan,<script>")
    notices = app.wait_until(app.notices)
    assert any(re.match(r"'sigma' in the link: σ: .* using 4, 3, 2, 1.5, 1, 0.5", n) for n in notices), notices
    assert survivors(app).startswith("4 of 6")
    assert app.record.dialogs == []
    app.assert_clean()


def test_readme_screenshot_of_the_collapse_page(app):
    app.page.set_viewport_size({"width": 1400, "height": 1500})
    app.open("/collapse")
    app.page.locator(".train-button button").click()
    app.wait_until(lambda: app.page.locator(".train-status .status-text").inner_text().startswith("Trained"),
                   timeout=30)
    app.wait_until(lambda: app.page.locator(".katex").count() >= 2)
    app.page.wait_for_load_state("networkidle")

    path = app.screenshot("collapse.png")
    assert path.stat().st_size > 50_000
    app.assert_clean()


# ----------------------------------------------------------------------------- issue #21

def test_the_solver_selector_shows_words_and_explains_the_chosen_solver(app):
    app.open("/collapse")
    select = app.select("Solver for “Train”")
    options = select.locator("option").all_inner_texts()
    assert options == ["untied GD", "sync GD", "tied GD (Oja)", "exact untied", "exact sync", "exact tied"]
    assert "then one on the decoder W₂" in app.shown_text(".method-help .method-help-text")
    select.select_option(label="tied GD (Oja)")
    app.wait_until(lambda: app.query().get("method") == "tied_gd")  # the URL keeps the key
    app.wait_until(lambda: "Oja's rule" in app.shown_text(".method-help .method-help-text"))
    app.assert_clean()


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_collapse_page_fits_the_screen(app, size):
    """Two 525-px figures a row ran ~80 px past the right edge at 1280 × 800 with the sidebar
    open: now each pair shares its row at every size, and grows with the screen."""
    width, height = size
    app.page.set_viewport_size({"width": width, "height": height})
    app.open("/collapse")
    screen = settled_screen(app, plotly=False)
    assert_fits(screen)
    figures = [b for b in screen["boxes"] if not b["name"].startswith("H")]
    assert len(figures) == 4
    rows = {}
    for f in figures:
        rows.setdefault(round(f["top"]), []).append(f)
    assert sorted(len(r) for r in rows.values()) == [2, 2], rows  # side by side, two rows
    left = min(f["left"] for f in figures)
    for row in rows.values():
        assert max(f["right"] for f in row) - left >= 0.9 * (width - left)  # the pair uses the width
    app.assert_clean()
