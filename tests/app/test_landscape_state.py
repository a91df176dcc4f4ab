"""The Landscape page without a browser: URL parsing, the state → numbers path, the summary."""

import re

import numpy as np
import panel as pn
import pytest

from app import plots, query
from app.pages import landscape
from app.pages.landscape import LandscapePage, LandscapeState, describe
from lae_core import scalar

HOSTILE = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "", "word", "9" * 5000,
           "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def args(**kw):
    return {k: [v.encode() if isinstance(v, str) else v for v in (vals if isinstance(vals, list) else [vals])]
            for k, vals in kw.items()}


@pytest.mark.parametrize("raw", HOSTILE)
@pytest.mark.parametrize("name", ["lam", "x", "alpha", "lam_self", "mode", "log_color"])
def test_hostile_query_values_become_valid_values_with_a_notice(name, raw):
    st = LandscapeState()
    values, notices = query.parse(st, st.URL_PARAMS, args(**{name: raw}))
    st.param.update(**values)  # must not raise: every value is valid
    value = getattr(st, name)
    p = st.param[name]
    if p.bounds if hasattr(p, "bounds") else False:
        assert p.bounds[0] <= value <= p.bounds[1] and np.isfinite(value)
    assert notices, f"{name}={raw!r} should produce a notice"
    assert all(len(n) < 300 for n in notices)  # long values are quoted shortened


def test_out_of_range_numbers_are_clamped_and_valid_ones_kept():
    st = LandscapeState()
    values, notices = query.parse(st, st.URL_PARAMS, args(lam="99", x="0.25", mode="tied"))
    assert values == {"lam": 4.0, "x": 0.25, "mode": "tied"}
    assert len(notices) == 1 and "lam" in notices[0] and "4" in notices[0]


def test_repeated_keys_use_the_last_value_and_say_so():
    st = LandscapeState()
    values, notices = query.parse(st, st.URL_PARAMS, args(lam=["0.3", "0.9"]))
    assert values == {"lam": 0.9} and "2 times" in notices[0]


def test_encode_round_trips_through_parse():
    st = LandscapeState(lam=1.23, x=0.5, mode="alpha", alpha=3.5, log_color=True)
    encoded = query.encode(st, st.URL_PARAMS)
    values, notices = query.parse(LandscapeState(), st.URL_PARAMS, args(**encoded))
    assert not notices
    assert all(values[k] == getattr(st, k) for k in st.URL_PARAMS)


def test_summary_reads_three_then_one_critical_point_across_lambda_equals_x_squared():
    assert describe("sum", scalar.critical_sets("sum", 1.0, 0.5)).startswith("sum: 3 critical points —")
    assert describe("sum", scalar.critical_sets("sum", 1.0, 1.5)) == "sum: 1 critical point — minimum (0.00, 0.00)"
    prod = describe("product", scalar.critical_sets("product", 1.0, 0.5))
    assert prod.startswith("product: 1 critical point and 2 curves") and "w₁w₂ = 0.667" in prod


@pytest.mark.parametrize("mode", list(landscape.MODES))
def test_every_mode_yields_finite_surfaces_and_summaries(mode):
    st = LandscapeState(mode=mode, alpha=1.5 if mode == "alpha" else 2.0)
    panels = st.panels()
    assert panels and all(p.z.shape == (landscape.N, landscape.N) and np.isfinite(p.z).all() for p in panels)
    assert all(p.summary and p.formula.count("$") % 2 == 0 for p in panels)
    rows, lines = st.bifurcation_rows()
    assert all(np.isfinite(r[1]) for r in rows)


@pytest.mark.parametrize("x", [1.0, 0.6, 1.7])
def test_the_pitchfork_is_the_papers_minima_plus_or_minus_sqrt_of_one_minus_lambda_over_x_squared(x):
    """L_σ (m = k = 1): minima at w₁ = w₂ = ±√(1 − λ/x²) while 0 < λ < x², then the origin
    alone; at λ = 0 the minima are the hyperbola w₁w₂ = 1 (a curve, not in these rows)."""
    rows, lines = LandscapeState(x=x).bifurcation_rows()
    for lam in landscape.LAM_GRID:
        here = sorted((w, kind) for at, w, kind in rows if at == lam)
        if lam == 0:
            assert here == [(0.0, "saddle")]
        elif lam < x * x - 1e-9:
            w = np.sqrt(1 - lam / x ** 2)
            assert [k for _, k in here] == ["minimum", "saddle", "minimum"], (lam, here)
            assert [v for v, _ in here] == pytest.approx([-w, 0.0, w], abs=1e-9)
        else:
            assert here == [(0.0, "minimum")], (lam, here)
    # the product loss's hyperbola level, as a guide: w₁w₂ = x²/(x² + λ)
    (_, upper, _, _), (_, lower, _, _) = lines
    assert upper == pytest.approx(np.sqrt(x * x / (x * x + landscape.LAM_GRID))) and lower == pytest.approx(-upper)


def test_bifurcation_rows_are_worked_out_once_per_setting_that_changes_them():
    first = LandscapeState(x=1.3).bifurcation_rows()
    # λ, the alignment weights, the colour scale, and (in the paper's mode) y and α do not enter
    same = LandscapeState(x=1.3, lam=2.0, y=1.9, alpha=3.0, lam_pred=0.1, log_color=False).bifurcation_rows()
    assert same is first
    assert LandscapeState(x=1.4).bifurcation_rows() is not first
    tied = LandscapeState(mode="tied", x=1.3, y=0.4).bifurcation_rows()
    assert LandscapeState(mode="tied", x=1.3, y=0.4, lam=3.0).bifurcation_rows() is tied
    assert LandscapeState(mode="tied", x=1.3, y=0.5).bifurcation_rows() != tied  # y enters here
    powered = LandscapeState(mode="alpha", x=1.3, alpha=1.5).bifurcation_rows()
    assert LandscapeState(mode="alpha", x=1.3, alpha=1.6).bifurcation_rows() != powered  # and α here
    # what is shared cannot be changed by one session for the others
    (_, upper, _, _), _ = first[1]
    with pytest.raises(ValueError, match="read-only"):
        upper[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        landscape.LAM_GRID[0] = 1.0


def test_x_zero_is_drawn_without_crashing_and_says_the_loss_is_flat():
    st = LandscapeState(x=0.0)
    texts = {p.key: p.summary for p in st.panels()}
    assert "flat" in texts["unregularized"]
    assert texts["sum"] == "sum: 1 critical point — minimum (0.00, 0.00)"


def test_page_updates_its_summaries_when_lambda_crosses_x_squared():
    page = LandscapePage()
    page.build()
    assert "3 critical points" in page.summaries["sum"].object
    page.state.lam = 1.5
    assert "1 critical point" in page.summaries["sum"].object
    assert page.bifurcation.marker.location == 1.5
    page.state.lam = 0.2
    assert "3 critical points" in page.summaries["sum"].object


def test_a_failing_redraw_shows_an_error_notice_and_the_session_keeps_working(monkeypatch):
    page = LandscapePage()
    page.build()
    original = LandscapeState.panels

    def broken(self):
        raise RuntimeError("/secret/path/file.py exploded")

    monkeypatch.setattr(LandscapeState, "panels", broken)
    page.state.lam = 0.9
    (level, text), = page.notices.items
    assert level == "error" and "/secret" not in text and "Could not update" in text
    monkeypatch.setattr(LandscapeState, "panels", original)
    page.state.lam = 1.5
    assert page.notices.items == [] and "1 critical point" in page.summaries["sum"].object


def test_notices_escape_html():
    page = LandscapePage()
    page.notices.show('<img src=x onerror=alert(1)>')
    assert "<img" not in page.notices.pane.object and "&lt;img" in page.notices.pane.object


@pytest.mark.parametrize("mode", ["paper", "alpha", "tied", "prediction"])
def test_unregularized_map_and_formula_do_not_depend_on_lambda(mode):
    """Why a λ change may skip the unregularized surface: nothing it shows depends on λ."""
    a = {p.key: p for p in LandscapeState(mode=mode, lam=0.3).panels()}["unregularized"]
    b = {p.key: p for p in LandscapeState(mode=mode, lam=2.7).panels()}["unregularized"]
    assert np.array_equal(a.z, b.z) and a.formula == b.formula and a.summary == b.summary


def test_a_lambda_change_leaves_the_unregularized_map_untouched_and_redraws_the_others():
    page = LandscapePage()
    page.build()
    before = {k: s.image.data["image"][0].copy() for k, s in page.surfaces.items()}
    page.state.lam = 2.5
    after = {k: s.image.data["image"][0] for k, s in page.surfaces.items()}
    assert page.surfaces["unregularized"].image.data["image"][0] is not None
    assert np.array_equal(before["unregularized"], after["unregularized"])
    assert not np.array_equal(before["sum"], after["sum"])


@pytest.mark.parametrize("mode", list(LandscapeState.param.mode.objects))
def test_each_mode_shows_its_maps_and_sliders_with_css_and_never_with_visible(mode):
    """A mode switch shows and hides with ``display: none`` (app.shell.show): Panel's ``visible``
    makes BokehJS lay out the whole document again (a switch took up to 450 ms)."""
    from bokeh.document import Document

    from app import shell

    page = LandscapePage(sync_url=False)
    sidebar, main = page.build()
    doc = Document()
    doc.add_root(pn.Row(sidebar, main).get_root(doc))  # the models exist: changes reach them
    for m in LandscapeState.param.mode.objects:  # arrive at ``mode`` from every other one
        page.state.mode = m
        page.state.mode = mode
        shown_maps = {k for k, col in page.columns.items() if shell.shown(col)}
        assert shown_maps == set(page.state.kinds()), (m, mode)
        sliders = {n for n in ("lam", "y", "alpha", "lam_pred") if shell.shown(page.widgets[n])}
        expected = {"paper": {"lam"}, "alpha": {"lam", "alpha"}, "tied": {"lam", "y"},
                    "prediction": {"lam", "y"}, "alignment": {"y", "lam_pred"}}[mode]
        assert sliders == expected, (m, mode)
        assert all(c.visible for c in page.columns.values())
        assert all(w.visible for w in page.widgets.values())
    # what the browser gets: "display: none" to hide, None (a removal) to show
    alpha = [m for m in doc.models if type(m).__name__ == "Slider" and m.title == page.widgets["alpha"].name]
    assert len(alpha) == 1 and alpha[0].styles["display"] == (None if mode == "alpha" else "none")


def test_show_hides_and_shows_with_the_elements_own_style():
    from app import shell

    w = pn.widgets.FloatSlider(styles={"color": "red"})
    shell.show(w, False)
    assert w.styles == {"color": "red", "display": "none"} and not shell.shown(w)
    shell.show(w, True)
    assert w.styles == {"color": "red", "display": None} and shell.shown(w)


# --------------------------------------------------------------------------- issue #21: the words on screen

SWEEP_LAMS = [0.0, 0.01, 0.3, 0.78, 1.0, 1.5, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("x", [0.0, 0.3, 1.0, 1.7])
def test_alpha_mode_summaries_list_the_origin_and_say_x_is_zero_only_when_it_is(alpha, x):
    """The α mode at α = 1, λ = 2, x = 1 said "the loss is flat here — every point is critical
    (x = 0)" under maps with a minimum at the origin. The origin is critical for every loss at
    every setting (the data term's gradient and 0 ∈ the regularizer's subdifferential vanish
    there), so every summary but a flat one lists it."""
    for lam in SWEEP_LAMS:
        for p in LandscapeState(mode="alpha", x=x, lam=lam, alpha=alpha).panels():
            if "flat" in p.summary:
                assert x == 0 and (p.key == "unregularized" or lam == 0), (lam, p.summary)
            else:
                first = p.summary.split(" — ", 1)[1]  # the origin comes first
                assert re.match(r"(minimum|saddle|maximum)( \((non-smooth|degenerate)\))? \(0\.00, 0\.00\)",
                                first), (lam, p.summary)
                assert "x = 0" not in p.summary


def test_alpha_one_lambda_two_x_one_reads_as_the_maps_show():
    texts = {p.key: p.summary for p in LandscapeState(mode="alpha", x=1.0, lam=2.0, alpha=1.0).panels()}
    assert texts["sum"] == "sum: 1 critical point — minimum (non-smooth) (0.00, 0.00)"
    assert texts["product"].startswith("product: 1 critical point and 2 curves of critical points — "
                                       "minimum (non-smooth) (0.00, 0.00), minima along the axis")
    assert texts["product"].count("non-smooth") == 3


@pytest.mark.parametrize("mode", ["paper", "alpha", "tied", "prediction", "alignment"])
def test_no_summary_says_x_is_zero_unless_it_is(mode):
    for x in (0.0, 0.01, 0.5, 1.0, 2.0):
        for lam in (0.0, 0.01, 0.5, 1.0, 4.0):
            for p in LandscapeState(mode=mode, x=x, lam=lam, alpha=1.0 if mode == "alpha" else 2.0).panels():
                assert ("x = 0" in p.summary) <= (x == 0), (x, lam, p.summary)


def test_near_lambda_equals_x_squared_the_summary_lists_distinct_points_of_the_right_types():
    """Issue #21: at x = 0.1, λ = 0.01 the page said "3 critical points — minimum (degenerate)"
    three times at one place. With λ = x²(1 − 2.5·10⁻⁸) the minima are ±√(2.5·10⁻⁸) = ±0.00016."""
    near = LandscapeState(x=1.0, lam=1.0 - 2.5e-8).panels(["sum"])[0].summary
    assert near == ("sum: 3 critical points — saddle (0.00, 0.00), minimum (0.00016, 0.00016), "
                    "minimum (−0.00016, −0.00016)")
    at = LandscapeState(x=0.1, lam=0.01).panels(["sum"])[0].summary
    parts = at.split(" — ")[1].split("), ")
    assert len(set(parts)) == len(parts)  # never the same words for two points
    assert at == "sum: 1 critical point — minimum (degenerate) (0.00, 0.00)" or at.startswith(
        "sum: 3 critical points — saddle (0.00, 0.00), minimum (")


def test_the_sum_formula_agrees_with_the_summary_on_either_side_of_the_pitchfork():
    """The L_σ formula said "minima at … — none" for λ ≥ x² while the summary and the map show the
    minimum at the origin."""
    for x, lam in [(1.0, 1.0), (1.0, 1.5), (0.1, 0.01), (0.5, 4.0), (0.0, 0.5)]:
        (p,) = LandscapeState(x=x, lam=lam).panels(["sum"])
        assert "none" not in p.formula and "only minimum is the origin" in p.formula
        assert p.summary.endswith("minimum (0.00, 0.00)") or "minimum (degenerate) (0.00, 0.00)" in p.summary
    (p,) = LandscapeState(x=1.0, lam=0.36).panels(["sum"])
    assert r"\pm 0.8" in p.formula and "minimum (0.80, 0.80)" in p.summary


def test_at_x_zero_every_formula_agrees_with_its_summary():
    """At x = 0 the L formula said "minima on w₁w₂ = 1" while the summary said the loss is flat."""
    panels = {p.key: p for p in LandscapeState(x=0.0, lam=0.5).panels()}
    assert "flat" in panels["unregularized"].formula and "flat" in panels["unregularized"].summary
    assert "w_1w_2 = 1" not in panels["unregularized"].formula
    assert "only minimum is the origin" in panels["sum"].formula
    assert "axes" in panels["product"].formula and "axis" in panels["product"].summary
    flat = {p.key: p for p in LandscapeState(x=0.0, lam=0.0).panels()}
    assert all("flat" in p.formula and "flat" in p.summary for p in flat.values())


def test_the_pitchfork_branches_are_sampled_densely_enough_to_meet_at_the_merge():
    """The sum branches sampled every 0.05 stopped at ±0.22 near λ = 0.95 (x = 1), so the merge
    looked like a jump: consecutive dots of a branch are now at most 0.03 apart in w."""
    for x in (1.0, 0.6, 1.7):
        rows, _ = LandscapeState(x=x).bifurcation_rows()
        branch = sorted((lam, w) for lam, w, kind in rows if w > 0)
        ws = [w for _, w in branch]
        assert max(abs(a - b) for a, b in zip(ws, ws[1:])) <= 0.03, x
        assert min(ws) < 0.03  # it reaches the origin's neighbourhood
        assert all(lam < x * x for lam, _ in branch)


def test_the_bifurcation_legend_names_what_each_curve_is():
    _, lines = LandscapeState(x=1.0).bifurcation_rows()
    names = [line[3] for line in lines]
    assert names and all("product" in n and "x²/(x²+λ)" in n for n in names)
    for mode in landscape.MODES:
        assert landscape.BIFURCATION_LEGEND[mode]
    assert "blue" in landscape.BIFURCATION_LEGEND["paper"].lower() and "product" in landscape.BIFURCATION_LEGEND["paper"]


def test_non_smooth_points_say_so_on_hover_instead_of_a_morse_index():
    page = LandscapePage()
    page.build()
    page.state.param.update(mode="alpha", alpha=1.0, lam=2.0, x=1.0)
    data = page.surfaces["sum"].points.data
    assert data["index"] == ["non-smooth"] and "non-smooth" in data["label"][0]
    assert data["marker"][0] != plots.MARKERS["minimum"]  # drawn apart from the smooth minima
    page.state.param.update(mode="paper", lam=0.5)
    data = page.surfaces["sum"].points.data
    assert data["index"] == ["1", "0", "0"] and data["marker"] == ["triangle", "circle", "circle"]
