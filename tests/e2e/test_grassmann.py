"""The Grassmannian page in a real Chromium: the Gr₂(ℝ⁴) index table, the table following m
and k, the flow button on Gr₁(ℝ²), RP²'s counts against its Betti numbers, the 3-D sphere, a
shared link, and the README figure.

Expected numbers come from the paper (Kunin et al. 2019, §5): the principal subspaces of
Gr₂(ℝ⁴) have indices 0, 1, 2, 2, 3, 4 and the F₂ Betti numbers are 1, 1, 2, 1, 1; RP² has one
critical point of each index 0, 1, 2; a cloud rotated by θ has its best line at φ = θ.
"""

from __future__ import annotations

import math

import pytest

from app.pages import grassmann as page_module
from tests.e2e.test_landscape import SCREENS, assert_fits, settled_screen

pytestmark = pytest.mark.timeout(120)



def table_indices(app) -> list[int]:
    cells = app.page.locator(".index-table tbody tr.index-row td.d-index")
    return [int(t) for t in cells.all_inner_texts()]


def betti_rows(app) -> tuple[list[str], list[str]]:
    counts = app.page.locator(".betti-table tr.counts td").all_inner_texts()
    betti = app.page.locator(".betti-table tr.betti td").all_inner_texts()
    return counts, betti


def slider_value(app, title: str) -> float:
    return app.slider_model(title)["value"]


def test_grassmannian_page_shows_the_gr2_r4_table_with_indices_0_1_2_2_3_4(app):
    app.open("/grassmannian")

    assert app.page.locator(".index-table tbody tr.index-row").count() == 6
    assert table_indices(app) == [0, 1, 2, 2, 3, 4]
    subspaces = app.page.locator(".index-table td.col-I").all_inner_texts()
    assert subspaces == ["{1, 2}", "{1, 3}", "{1, 4}", "{2, 3}", "{2, 4}", "{3, 4}"]
    losses = [float(t) for t in app.page.locator(".index-table td.col-loss").all_inner_texts()]
    assert losses == pytest.approx([6.25, 11.25, 13, 18.25, 20, 25])  # σ = 4, 3, 2, 1.5: Σ_{j∉I} σ_j²
    assert betti_rows(app) == (["1", "1", "2", "1", "1"], ["1", "1", "2", "1", "1"])
    # RP²: one critical point per index, next to its Betti numbers 1, 1, 1
    assert app.page.locator(".space-count-table tr.measured td").all_inner_texts() == ["1", "1", "1"]
    assert app.page.locator(".space-count-table tr.betti td").all_inner_texts() == ["1", "1", "1"]
    app.assert_clean()


def test_the_table_follows_m_and_k_and_stays_perfect(app):
    app.open("/grassmannian")
    handle = app.slider("m (ambient dimension)").locator(".noUi-handle")
    handle.press("ArrowRight")  # m = 5: Gr₂(ℝ⁵) has C(5, 2) = 10 critical points
    app.wait_until(lambda: len(table_indices(app)) == 10)
    assert table_indices(app) == [0, 1, 2, 2, 3, 3, 4, 4, 5, 6]
    assert betti_rows(app) == (["1", "1", "2", "2", "2", "1", "1"],) * 2
    app.wait_until(lambda: app.query().get("m") == "5")

    app.slider("k (subspace dimension, k < m)").locator(".noUi-handle").press("ArrowLeft")  # k = 1: RP⁴
    app.wait_until(lambda: table_indices(app) == [0, 1, 2, 3, 4])
    assert betti_rows(app) == (["1"] * 5,) * 2
    app.assert_clean()


def test_flow_moves_the_line_down_to_the_first_principal_direction(app):
    app.open("/grassmannian?plane_angle=30&phi=100")
    status = app.page.locator(".flow-status .status-text")
    app.page.locator(".flow-button button").click()

    app.wait_until(lambda: "arrived" in status.inner_text(), timeout=20)
    phi = slider_value(app, "φ, the line's angle (°)")
    assert phi == pytest.approx(30.0, abs=0.3)  # u₁ of a cloud rotated by 30°
    app.wait_until(lambda: math.isclose(float(app.query()["phi"]), phi, abs_tol=1e-6))
    assert app.page.locator(".flow-button button").inner_text().startswith("▶")
    app.assert_clean()


def test_a_shared_link_reopens_its_state_and_bad_values_get_notices(app):
    app.open("/grassmannian?m=5&k=3&sigma=5,4,3,2,1&phi=45")
    assert table_indices(app) == [0, 1, 2, 2, 3, 3, 4, 4, 5, 6]  # Gr₃(ℝ⁵) ≅ Gr₂(ℝ⁵)
    assert float(app.page.locator(".index-table td.col-loss").first.inner_text()) == pytest.approx(5.0)  # 2² + 1²
    assert slider_value(app, "φ, the line's angle (°)") == 45
    app.assert_clean()

    app.open("/grassmannian?m=3&k=4&seed=abc")
    notices = app.wait_until(app.notices)
    assert any("k must be smaller than m = 3" in n for n in notices), notices
    assert any(n.startswith("'seed' must be a finite number") for n in notices), notices
    assert table_indices(app) == [0, 1, 2]
    app.assert_clean()


SPHERE_DRAWN = """(el) => {
  const s = el.data[0], lines = el.data[1]
  let min = Infinity, max = -Infinity
  for (const row of s.surfacecolor) for (const v of row) { min = Math.min(min, v); max = Math.max(max, v) }
  return {rows: s.z.length, cols: s.z[0].length, min, max,
          gaps: lines.x.filter((v) => v === null).length, points: lines.x.length}
}"""


def test_the_3d_sphere_is_drawn_on_demand(app):
    app.open("/grassmannian")
    plot = app.page.locator(".js-plotly-plot")
    assert plot.count() == 0 or not plot.is_visible()

    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: plot.count() == 1 and plot.is_visible(), timeout=30)
    kinds = app.wait_until(lambda: plot.evaluate("(el) => el._fullData && el._fullData.map(d => d.type)"))
    assert kinds[0] == "surface" and kinds.count("scatter3d") == 5  # two flow-line sets, three ±u_i
    # the binary arrays arrived as plotly wants them: z as rows of the grid, gaps between flow lines
    drawn = lambda: plot.evaluate(SPHERE_DRAWN)  # noqa: E731
    d = drawn()
    assert (d["rows"], d["cols"]) == page_module.SPHERE_U.shape[:2], d  # the (φ, θ) grid, row by row
    # default σ = 3, 2, 1: L_X runs from σ₂² + σ₃² = 5 (at ±u₁) to σ₁² + σ₂² = 13 (at ±u₃)
    assert abs(d["min"] - 5.0) < 0.05 and abs(d["max"] - 13.0) < 0.05, d
    assert d["gaps"] == 42 and d["points"] > 10 * d["gaps"], d

    # σ₁ = 4 (the space's slider, which ends at 4) recolours the same sphere: max σ₁² + σ₂² = 20
    app.page.evaluate("""() => [...Bokeh.documents[0].all_models].find(
        (m) => m.type === "Slider" && m.title === "σ₁" && m.end === 4).value = 4""")
    app.wait_until(lambda: abs(drawn()["max"] - 20.0) < 0.05)
    assert abs(drawn()["min"] - 5.0) < 0.05

    # hiding and showing again keeps the figure
    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: not plot.is_visible())
    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: plot.is_visible())
    app.assert_clean()


def test_readme_screenshot_of_the_grassmannian_page(app):
    app.page.set_viewport_size({"width": 1400, "height": 1750})
    app.open("/grassmannian")
    app.page.wait_for_load_state("networkidle")
    assert table_indices(app) == [0, 1, 2, 2, 3, 4]

    path = app.screenshot("grassmannian.png")
    assert path.stat().st_size > 50_000
    app.assert_clean()


# ----------------------------------------------------------------------------- issue #21

@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_grassmannian_page_with_its_sphere_fits_the_screen(app, size):
    """At 1280 × 800 with the sidebar open the three Gr₁(ℝ²) plots ran past the right edge, and
    with the 3-D sphere open its plotly layers stacked below it, over the next section's heading."""
    width, height = size
    app.page.set_viewport_size({"width": width, "height": height})
    app.open("/grassmannian?show3d=true")  # the link opens the sphere
    screen = settled_screen(app, plotly=True)
    assert_fits(screen)
    sphere = screen["plot"]
    section_3 = next(b for b in screen["boxes"] if b["name"].startswith("H3 3 · Gr_k"))
    assert sphere["bottom"] <= section_3["top"], (sphere, section_3)
    figures = [b for b in screen["boxes"] if not b["name"].startswith("H")]
    top_row = [f for f in figures if abs(f["top"] - min(g["top"] for g in figures)) < 2]
    assert len(top_row) == 3, top_row  # the data, L_X(φ) and the circle side by side
    left = min(f["left"] for f in top_row)
    assert max(f["right"] for f in top_row) - left >= 0.9 * (width - left)
    app.page.locator(".show-3d button").click()
    app.wait_until(lambda: app.query().get("show3d") == "false")
    app.assert_clean()
