"""The Theorem page in Chromium: the table as a visitor reads it, λ dragged across σ₃² with rows
vanishing, an escape from a clicked saddle down to the global minimum, sorting, the CSV file, and a
bad spectrum refused in words.

Expected rows come from the paper: with σ = 4, 3, 2, 1.5 (σ² = 16, 9, 4, 2.25), m = 4, k = 2, the
sum loss has one manifold per I ⊂ {1..m₀} with |I| ≤ 2, m₀ = #{σᵢ² > λ}.
"""

from __future__ import annotations

import itertools
import re

import pytest

pytestmark = pytest.mark.timeout(180)

START = "/theorem?m=4&k=2&lam=1.5&loss=sum"


def labels(m0: int, k: int = 2) -> list[str]:
    """The index sets inside {1..m₀} with |I| ≤ k, as the paper writes them."""
    return ["{" + ", ".join(str(i + 1) for i in I) + "}" if I else "∅"
            for l in range(min(k, m0) + 1) for I in itertools.combinations(range(m0), l)]


def table_rows(app) -> list[list[str]]:
    """The table's rendered rows, cell texts left to right, top to bottom as shown (the grid
    positions its rows itself, so the document's order is not the screen's)."""
    # read in one step: a repaint between counting the rows and reading one would leave a gap
    found = app.page.locator(".theorem-table .slick-row").evaluate_all("""rows => rows
        .filter((row) => row.getClientRects().length > 0)
        .map((row) => [row.getBoundingClientRect().top,
                       [...row.querySelectorAll('.slick-cell')].map((cell) => cell.innerText.trim())])""")
    return [cells for _, cells in sorted(found)]


def shown_labels(app) -> list[str]:
    return [row[0].replace(" ⚠", "") for row in table_rows(app)]


def header_titles(app) -> list[str]:
    return [t.strip() for t in app.page.locator(".theorem-table .slick-header-column").all_inner_texts()]


def click_row(app, name: str) -> None:
    """Click the loss cell of the row whose I reads ``name``."""
    first = app.page.locator(".slick-cell.l0", has_text=re.compile(rf"^{re.escape(name)}( ⚠)?$"))
    row = app.page.locator(".theorem-table .slick-row").filter(has=first)
    row.locator(".slick-cell.l2").click()


def test_dragging_lambda_past_sigma3_squared_removes_the_rows_holding_3(app):
    app.open(START)
    app.wait_until(lambda: shown_labels(app) == labels(4))
    assert header_titles(app) == ["I", "l", "loss", "descending (theorem)", "descending (measured)",
                                  "flat (theorem)", "flat (measured)", "ascending (measured)", "‖W₁ − W₂ᵀ‖"]
    best = next(row for row in table_rows(app) if row[0] == "{1, 2}")
    assert best[2] == "11.8594" and best[3:5] == ["0", "0"]  # Σ_{j ∉ I} σⱼ² + Σ_{i ∈ I}(2λ − λ²/σᵢ²)
    assert "m₀ = #{i : σᵢ² > λ} = 4" in app.shown_text(".theorem-survivors .count-text")

    drag = app.grab_slider("λ")
    drag.move_to(3.0)
    app.wait_until(lambda: shown_labels(app) == labels(3))  # σ₄² = 2.25 passed
    drag.move_to(5.5)
    drag.release()
    app.wait_until(lambda: shown_labels(app) == labels(2))  # σ₃² = 4 passed: {1}, {2}, {1, 2} and ∅
    assert "m₀ = #{i : σᵢ² > λ} = 2" in app.shown_text(".theorem-survivors .count-text")
    gone = app.shown_text(".theorem-gone")
    assert gone.startswith("Gone at λ") and "{3}" in gone and "{3, 4}" in gone
    shown = app.slider_model("λ")["value"]
    assert 4.0 < shown < 9.0
    app.wait_until(lambda: float(app.query().get("lam", "nan")) == pytest.approx(shown, abs=1e-9))
    app.assert_clean()


def set_lambda(app, value: float) -> None:
    app.page.evaluate("""(value) => {
        const m = [...Bokeh.documents[0].all_models].find(m => m.type === 'Slider' && m.title === 'λ');
        m.value = value;
    }""", value)


def test_a_lambda_step_that_keeps_every_row_updates_the_numbers_in_sorted_order(app):
    """λ 4.5 → 5.5 keeps the same four manifolds: the losses change in place (L_σ at {1}:
    σ₂² + σ₃² + σ₄² + 2λ − λ²/σ₁² = 15.25 + 11 − 1.890625), and a sort by loss holds."""
    app.open("/theorem?m=4&k=2&lam=4.5&loss=sum")
    app.wait_until(lambda: shown_labels(app) == labels(2))
    app.page.locator(".theorem-table .slick-header-column").nth(2).click()  # loss, ascending
    app.wait_until(lambda: shown_labels(app) == ["{1, 2}", "{1}", "{2}", "∅"])
    assert table_rows(app)[1][2] == "22.9844"  # 15.25 + 9 − 1.265625
    set_lambda(app, 5.5)
    app.wait_until(lambda: table_rows(app)[1][:3] == ["{1}", "1", "24.3594"])
    losses = [float(row[2]) for row in table_rows(app)]
    assert losses == sorted(losses) and len(losses) == 4
    app.assert_clean()


def test_an_escape_from_a_clicked_saddle_ends_at_the_global_minimum(app):
    app.open(START)
    app.wait_until(lambda: "{2, 4}" in shown_labels(app))
    click_row(app, "{2, 4}")
    end = app.page.locator(".escape-end")
    app.wait_until(lambda: end.count() == 1 and end.inner_text() == "It reached the global minimum.", timeout=60)
    assert end.get_attribute("data-end") == "{1, 2}"
    summary = app.shown_text(".escape-summary")
    assert summary.startswith("From {2, 4}") and "ended on {1, 2} — the global minimum" in summary
    # the run is drawn: its loss falls from just below the saddle's value to the minimum's
    losses = app.page.evaluate("""() => [...Bokeh.documents[0].all_models]
        .find(m => m.type === 'ColumnDataSource' && 'iteration' in m.data && m.data.iteration.length > 10)
        .data.loss""")
    assert losses[0] < 24.75 and losses[-1] == pytest.approx(11.859375, rel=1e-6)
    app.assert_clean()


def test_sorting_by_loss_keeps_a_click_on_its_row(app):
    app.open(START)
    app.wait_until(lambda: len(table_rows(app)) == 11)
    app.page.locator(".theorem-table .slick-header-column").nth(2).click()  # loss, ascending
    app.wait_until(lambda: shown_labels(app)[0] == "{1, 2}")
    losses = [float(row[2]) for row in table_rows(app)]
    assert losses == sorted(losses)
    click_row(app, "∅")  # now the last row
    app.wait_until(lambda: app.page.locator(".escape-summary").count() == 1, timeout=60)
    assert app.shown_text(".escape-summary").startswith("From ∅ (loss 31.25)")
    app.assert_clean()


def cut_index_sets(app) -> list[str]:
    """The I cells the grid shows whose text is wider than the cell (and so cut)."""
    cells = app.page.locator(".theorem-table .slick-cell.l0")   # (Playwright reaches into the shadow DOM)
    assert cells.count() >= 5
    return cells.evaluate_all("(cells) => cells.filter((c) => c.scrollWidth > c.clientWidth)"
                              ".map((c) => c.textContent)")


def test_the_longest_index_sets_show_whole(app):
    app.open(START)                                      # the global minimum's row is bold
    app.wait_until(lambda: len(table_rows(app)) == 11)
    assert cut_index_sets(app) == []
    app.open("/theorem?m=8&k=4&lam=1.5&loss=product")   # every I with |I| ≤ 4: up to {5, 6, 7, 8}
    app.wait_until(lambda: len(table_rows(app)) > 5)
    header = app.page.locator(".theorem-table .slick-header-column").nth(1)
    header.click()
    header.click()                                       # l, descending: the four-element sets first
    app.wait_until(lambda: all(row[1] == "4" for row in table_rows(app)[:5]))
    assert [row[0] for row in table_rows(app) if len(row[0]) >= len("{1, 2, 3, 4}")], table_rows(app)
    assert cut_index_sets(app) == []
    app.assert_clean()


def test_download_csv_gives_the_table(app):
    app.open("/theorem?m=4&k=2&lam=3&loss=sum")
    app.wait_until(lambda: len(table_rows(app)) == 7)
    with app.page.expect_download() as download:
        app.page.locator(".csv-button button").click()
    path = download.value.path()
    lines = open(path, encoding="utf-8").read().splitlines()
    assert download.value.suggested_filename == "theorem-sum-m4-k2-lam3.csv"
    assert lines[0] == "I,l,loss,descending (theorem),descending (measured),flat (theorem),flat (measured)," \
                       "ascending (measured),‖W₁ − W₂ᵀ‖"
    assert len(lines) == 12 and '"{3, 4}",2,,,,,,,' in lines  # gone at λ = 3 > σ₄² = 2.25
    app.assert_clean()


def test_a_bad_spectrum_is_refused_in_words_and_the_table_stays(app):
    app.open(START)
    app.wait_until(lambda: len(table_rows(app)) == 11)
    box = app.page.locator(".spectrum-input input")
    box.fill("4, 3, 3, 1")
    box.press("Enter")
    app.wait_until(lambda: any("must differ" in n and "σ stays 4, 3, 2, 1.5." in n for n in app.notices()))
    box.fill("5, 2, 1.2, 0.5")
    box.press("Enter")
    app.wait_until(lambda: not app.notices() and "5, 2, 1.2, 0.5" in app.query().get("sigma", ""))
    app.wait_until(lambda: table_rows(app)[0][2] == "30.69")  # ∅: ‖X‖² = 25 + 4 + 1.44 + 0.25
    app.assert_clean()


def test_readme_screenshot_of_the_theorem_page(app):
    app.page.set_viewport_size({"width": 1400, "height": 1800})
    app.open(START)
    app.wait_until(lambda: shown_labels(app) == labels(4))
    app.page.wait_for_load_state("networkidle")
    path = app.screenshot("theorem.png")
    assert path.stat().st_size > 50_000
    app.assert_clean()
