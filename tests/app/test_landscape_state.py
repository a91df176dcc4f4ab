"""The Landscape page without a browser: URL parsing, the state → numbers path, the summary."""

import html
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


# --------------------------------------------------------------------------- issue #21: each mode's own words

def built_page(**state) -> LandscapePage:
    page = LandscapePage(sync_url=False, **state)
    page.build()
    return page


def test_the_mode_selector_shows_words_and_the_url_keeps_the_key():
    """The selector showed the raw keys paper / alpha / tied / prediction / alignment."""
    page = built_page()
    select = page.widgets["mode"]
    assert list(select.options) == [landscape.MODES[m] for m in ("paper", "alpha", "tied", "prediction", "alignment")]
    assert not set(select.options) & {"paper", "alpha", "tied", "prediction", "alignment"}
    select.value = "tied"  # the widget's value is still the key …
    assert page.state.mode == "tied" and query.encode(page.state, ["mode"]) == {"mode": "tied"}  # … and so is the URL's
    assert select.labels[select.values.index("tied")] == "Tied vector case (m = 2, k = 1)"


def test_each_mode_is_explained_in_one_line_under_the_selector():
    page = built_page()
    for mode in landscape.MODES:
        page.state.mode = mode
        assert landscape.MODE_HELP[mode] in html.unescape(page.mode_help.object)
        assert "\n" not in landscape.MODE_HELP[mode]
    alignment = landscape.MODE_HELP["alignment"]
    # what each weight multiplies, as the authors' js/landscape.js writes the loss
    for term in ("λ_pred (y − w₁x)²", "λ_info (x − w₂w₁x)²", "λ_reg (w₁² + w₂²)", "−2λ_self w₁w₂"):
        assert term in alignment, term


def _branch_end(rows) -> float:
    """The largest λ at which the rows have a critical point off the origin."""
    return max(lam for lam, w, _ in rows if w != 0)


def test_the_paper_pitchfork_is_titled_at_x_squared_and_says_the_blue_dots_are_the_product_loss():
    page = built_page(x=1.2)
    fig = page.bifurcation.figure
    assert fig.title.text == "L_σ: critical points against λ (pitchfork at λ = x² = 1.44)"
    assert fig.yaxis[0].axis_label == "critical w₁ (= w₂ on the diagonal)"
    assert "Drag λ past x² = 1.44" in page.look_for.object
    legend = page.bifurcation_legend.object
    assert "Blue dotted: the product loss" in legend and legend.count("x²/(x²+λ)") == 2
    # the words say dotted: the guides are drawn dotted, in blue
    (guides,) = [r for r in fig.renderers if "xs" in r.data_source.data]
    assert guides.glyph.line_dash == "dotted" and set(guides.data_source.data["color"]) == {"#1f77b4"}
    assert shell_shown(page.pitchfork_plot)


def shell_shown(component) -> bool:
    from app import shell

    return shell.shown(component)


def test_prediction_mode_bifurcates_at_lambda_equals_xy_not_x_squared():
    """(y − w₂w₁x)² + λ(w₁² + w₂²): on the diagonal w² = (xy − λ)/x², so the minima reach the
    origin at λ = xy (0.7 for x = 1, y = 0.7), where the paper mode's caption said x² = 1."""
    page = built_page(mode="prediction", x=1.0, y=0.7)
    rows, lines = page.state.bifurcation_rows()
    assert _branch_end(rows) == pytest.approx(0.7, abs=1e-3) and lines == ()
    assert page.bifurcation.figure.title.text == "L_σ: critical points against λ (pitchfork at λ = xy = 0.7)"
    words = page.look_for.object
    assert "Drag λ past xy = 0.7" in words and "x² = " not in words


def test_alpha_one_is_a_saddle_node_at_the_closed_form_fold():
    """α = 1: on the diagonal f(w) = x²(1 − w²)² + 2λ|w|; off the origin f' = 0 where
    λ = 2x²w(1 − w²), largest at w = 1/√3: a saddle and a minimum meet and vanish at
    λ = 4x²/(3√3) ≈ 0.770 (x = 1) — a saddle-node, not a pitchfork at x²."""
    page = built_page(mode="alpha", alpha=1.0, x=1.0)
    fold = 4 / (3 * np.sqrt(3))
    assert _branch_end(page.state.bifurcation_rows()[0]) == pytest.approx(fold, abs=1e-4)
    assert page.bifurcation.figure.title.text == f"L_σ with α = 1: a saddle-node at λ ≈ {fold:.2f}"
    words = page.look_for.object
    assert "saddle-node" in words and "non-smooth" in words and "Drag λ past x²" not in words
    page.state.alpha = 3.0  # flatter than w² at 0: the minima shrink and never vanish
    assert page.bifurcation.figure.title.text == "L_σ with α = 3: the minima shrink, never vanish"
    assert _branch_end(page.state.bifurcation_rows()[0]) == landscape.LAM_GRID[-1]
    page.state.alpha = 2.0  # the paper's pitchfork
    assert page.bifurcation.figure.title.text == "L_σ: critical points against λ (pitchfork at λ = x² = 1)"


@pytest.mark.parametrize("x, y, first, second", [(1.0, 0.7, ("y²", 0.49, "w₂"), ("x²", 1.0, "w₁")),
                                                 (0.6, 1.1, ("x²", 0.36, "w₁"), ("y²", 1.21, "w₂"))])
def test_the_tied_mode_bifurcates_at_y_squared_and_x_squared_on_the_axes(x, y, first, second):
    """Tied W = [w₁, w₂]ᵀ, X = diag(x, y): the critical points off the origin lie on the axes with
    ‖W‖² = 1 − λ/σ² for σ² = x², y² — the pair along the smaller variance goes first."""
    page = built_page(mode="tied", x=x, y=y)
    rows, _ = page.state.bifurcation_rows()
    off_origin = {}
    for lam, w, _ in rows:
        off_origin.setdefault(lam, []).append(w)
    for lam, ws in off_origin.items():
        ws = sorted(abs(w) for w in ws if w != 0)
        if 0.01 < lam < first[1] - 0.01:  # both pairs
            assert ws == pytest.approx(sorted(2 * [np.sqrt(1 - lam / first[1]), np.sqrt(1 - lam / second[1])]))
        elif first[1] + 0.01 < lam < second[1] - 0.01:  # the pair along the larger variance
            assert ws == pytest.approx(2 * [np.sqrt(1 - lam / second[1])])
        elif lam > second[1] + 0.01:
            assert ws == []
    assert _branch_end(rows) == pytest.approx(second[1], abs=1e-3)
    fig = page.bifurcation.figure
    assert fig.title.text == (f"Tied L_σ: critical points on the axes against λ (λ = y² = {y * y:.3g}, "
                              f"x² = {x * x:.3g})")
    assert "nonzero" in fig.yaxis[0].axis_label and "diagonal" not in fig.yaxis[0].axis_label
    words = page.look_for.object
    assert "not on the diagonal" in words
    assert words.index(f"past {first[0]} = {first[1]:.3g}: the pair on the {first[2]} axis") < words.index(
        f"past {second[0]} = {second[1]:.3g} the pair on the {second[2]} axis")


def test_alignment_mode_has_no_pitchfork_and_no_lambda_to_drag():
    """Alignment mode showed an empty pitchfork and "Drag λ past x²" beside a page without a λ slider."""
    page = built_page(mode="alignment")
    assert not shell_shown(page.pitchfork_plot) and page.state.bifurcation_rows() == ((), ())
    words = page.look_for.object
    assert "no pitchfork" in words and "Drag λ" not in words and "λ_self" in words
    page.state.mode = "paper"
    assert shell_shown(page.pitchfork_plot) and "Drag λ past x²" in page.look_for.object


def test_the_caption_changes_with_x_and_mode_but_a_lambda_change_leaves_it_alone():
    page = built_page()
    title = page.bifurcation.figure.title
    events = []
    title.on_change("text", lambda attr, old, new: events.append(new))
    page.state.lam = 1.7
    page.state.log_color = False
    assert events == []
    page.state.x = 1.5
    assert events == ["L_σ: critical points against λ (pitchfork at λ = x² = 2.25)"]


def test_the_shape_legend_says_what_a_dotted_marker_is():
    assert "dotted marker = non-smooth" in plots.LEGEND
    page = built_page(mode="alpha", alpha=1.0, lam=2.0)
    assert page.surfaces["sum"].points.data["marker"] == ["circle_dot"]  # a dot in the marker


# --------------------------------------------------------------------------- issue #21: the 3-D view

def test_three_d_shown_is_part_of_the_state_and_the_url():
    st = LandscapeState()
    values, notices = query.parse(st, st.URL_PARAMS, args(show3d="true", view3d="product"))
    assert values == {"show3d": True, "view3d": "product"} and not notices
    page = built_page(**values)
    assert page.plot3d.shown and page.show3d.value
    assert page.plot3d.layout["title"]["text"] == "L_π (product)"
    page.show3d.value = False  # the toggle is the state's
    assert not page.state.show3d and not page.plot3d.shown
    assert query.encode(page.state, ["show3d"]) == {"show3d": "false"}


def _marks(page) -> dict:
    """name → (x, y, z, loss) of each critical-set trace of the 3-D figure."""
    a = page.plot3d.arrays
    out = {}
    for trace in page.plot3d.data[1:]:
        key = trace["x"][1:-2]
        out[trace["name"]] = tuple(np.asarray(a[f"{key}_{c}"], float) for c in ("x", "y", "z", "loss"))
    return out


def test_the_3d_surface_marks_the_papers_critical_points():
    """x = 1, λ = 0.5: L_σ has a saddle at the origin (loss x² = 1) and minima at
    ±(√0.5, √0.5) with loss (1 − 0.5)² + 2·0.5·0.5 = 0.75; each marker sits just above the loss."""
    page = built_page(show3d=True)
    assert page.plot3d.data[0]["type"] == "surface"
    marks = _marks(page)
    assert set(marks) == {"saddle", "minimum"}
    x, y, z, loss = marks["minimum"]
    assert sorted(x) == pytest.approx([-np.sqrt(0.5), np.sqrt(0.5)], abs=1e-6) and np.allclose(x, y)
    assert loss == pytest.approx([0.75, 0.75], abs=1e-6) and np.all(z > loss) and np.all(z - loss < 2.0)
    x, y, z, loss = marks["saddle"]
    assert (x, y, loss) == (pytest.approx([0.0]), pytest.approx([0.0]), pytest.approx([1.0]))
    symbols = {t["name"]: t["marker"]["symbol"] for t in page.plot3d.data[1:]}
    assert symbols == {"saddle": "diamond", "minimum": "circle"}
    colours = {t["name"]: t["marker"]["color"] for t in page.plot3d.data[1:]}
    assert colours == {"saddle": plots.COLORS["saddle"], "minimum": plots.COLORS["minimum"]}
    page.state.lam = 1.5  # past x²: the minima merged into the origin, now the only minimum (loss x² = 1)
    marks = _marks(page)
    assert set(marks) == {"minimum"}
    assert [list(v) for v in marks["minimum"][:2]] == [[0.0], [0.0]] and marks["minimum"][3] == pytest.approx([1.0])


def test_the_3d_product_surface_draws_its_curve_of_minima_inside_the_plot():
    """L_π's minima lie on the hyperbola w₁w₂ = x²/(x² + λ) = 2/3 (x = 1, λ = 0.5): drawn as a
    line, broken (NaN) between its branches and where it leaves |w| ≤ 2."""
    page = built_page(show3d=True, view3d="product")
    x, y, z, loss = _marks(page)["curve of minima"]
    inside = ~np.isnan(x)
    assert np.isnan(x).sum() >= 2 and inside.sum() > 20
    assert x[inside] * y[inside] == pytest.approx(2 / 3, rel=1e-5)
    assert np.abs(x[inside]).max() <= 2 and np.abs(y[inside]).max() <= 2
    (trace,) = [t for t in page.plot3d.data if t["name"] == "curve of minima"]
    assert trace["mode"] == "lines"


def test_non_smooth_points_get_the_open_marker_in_3d():
    page = built_page(mode="alpha", alpha=1.0, lam=2.0, show3d=True)
    symbols = {t["name"]: t["marker"]["symbol"] for t in page.plot3d.data[1:] if t["mode"] == "markers"}
    assert symbols == {"minimum (non-smooth)": "circle-open"}


def test_the_3d_camera_looks_across_the_diagonal_so_both_wells_show():
    """The sum loss's wells lie on the diagonal w₁ = w₂: seen along it (plotly's default eye
    (1.25, 1.25, 1.25)) one hides behind the other. Seen from across it their screen positions
    differ by the component of their separation (1, 1) perpendicular to the view."""
    from app.plot3d import SURFACE_CAMERA

    page = built_page(show3d=True)
    scene = page.plot3d.layout["scene"]
    assert scene["camera"] == SURFACE_CAMERA and page.plot3d.layout["uirevision"]
    eye = np.array([scene["camera"]["eye"][c] for c in "xyz"], float)
    ground = eye[:2] / np.linalg.norm(eye[:2])
    along = abs(ground @ np.array([1.0, 1.0]) / np.sqrt(2))  # 1: looking along the diagonal, 0: across it
    assert along < 0.5
    elevation = np.degrees(np.arctan2(eye[2], np.linalg.norm(eye[:2])))
    assert 30 < elevation < 65  # from above enough to see into the wells, low enough to see their depth
