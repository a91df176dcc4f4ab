"""The Posterior-collapse page without a browser: the example's count across λ = x², the
spectrum's survivors, the spectrum text and its notices, the sweep, training, the pPCA reading.

Expected numbers come from the paper's closed forms evaluated by hand (X = [2]: minima at
±√(1 − λ/4); the spectrum 4, 3, 2, 1.5, 1, 0.5 has σ² = 16, 9, 4, 2.25, 1, 0.25).
"""

import numpy as np
import pytest

from app import query
from app.pages import collapse as page_module
from app.pages.collapse import CollapsePage, CollapseState, count_text
from app.spectrum import DEFAULT_SPECTRUM, parse_spectrum


def args(**kw):
    return {k: [v.encode()] for k, v in kw.items()}


def built(**state):
    page = CollapsePage(**state)
    page.build()
    return page


def text(pane) -> str:
    """The visible text of an HTML pane (tags dropped)."""
    import re
    return re.sub(r"<[^>]+>", "", pane.object).replace("&#x27;", "'")


# ----------------------------------------------------------------------------- the example


def test_example_has_three_critical_points_below_lambda_4_and_one_above():
    st = CollapseState(x=2.0, lam=1.0)
    points = st.example_points()
    assert count_text(points) == "3 critical points"
    assert [p.w for p in points] == pytest.approx([-np.sqrt(0.75), 0.0, np.sqrt(0.75)])
    st.lam = 4.5
    assert count_text(st.example_points()) == "1 critical point"


def test_page_count_goes_from_three_to_one_as_lambda_crosses_x_squared():
    page = built(x=2.0, lam=3.9)
    assert text(page.count).startswith("3 critical points")
    assert "±0.16" in text(page.count)  # √(1 − 3.9/4) = 0.158
    page.state.lam = 4.0
    assert text(page.count).startswith("1 critical point")
    assert page.bifurcation.marker.location == 4.0


def test_bifurcation_rows_put_the_pitchfork_at_x_squared():
    st = CollapseState(x=1.5)
    rows = st.bifurcation_rows()
    nonzero = [lam for lam, w, kind in rows if w != 0]
    assert max(nonzero) < 1.5 ** 2 <= min(lam for lam, w, kind in rows if lam > max(nonzero))
    assert all(kind == "minimum" for lam, w, kind in rows if w != 0)


def test_sweep_runs_lambda_from_0_to_6_on_the_clock_and_stops(monkeypatch):
    started = []

    class FakeCallback:
        def stop(self):
            started.append("stopped")

    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: FakeCallback())
    page = built(lam=2.0)
    counts = []
    page.start_sweep(now=100.0)
    assert page.state.lam == 0.0 and page.sweep_button.label.startswith("■")
    for t in np.linspace(100.0, 100.0 + page_module.SWEEP_SECONDS + 0.5, 40):
        page.sweep_tick(now=t)
        counts.append(text(page.count).split(" on ")[0])
    assert page.state.lam == page_module.SWEEP_END == 6.0
    assert started == ["stopped"] and page.sweep_callback is None
    first_one = counts.index("1 critical point")
    assert set(counts[:first_one]) == {"3 critical points"} and set(counts[first_one:]) == {"1 critical point"}


def test_moving_lambda_by_hand_stops_the_sweep(monkeypatch):
    stops = []

    class FakeCallback:
        def stop(self):
            stops.append(True)

    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: FakeCallback())
    page = built()
    page.start_sweep(now=0.0)
    page.sweep_tick(now=1.0)
    page.state.lam = 5.0  # the visitor drags the slider
    assert stops and page.sweep_callback is None and page.state.lam == 5.0


# ----------------------------------------------------------------------------- the spectrum


def test_default_spectrum_keeps_four_directions_at_lambda_1_5():
    page = built(lam=1.5)
    assert text(page.survivors).startswith("4 of 6 directions survive; 2 collapsed")
    assert list(page.bars.data["label"][-2:]) == ["collapsed", "collapsed"]
    np.testing.assert_allclose(page.bars.data["top"][:4], np.sqrt(1 - 1.5 / np.array([16, 9, 4, 2.25])))
    assert page.collapsed_marks.data["x"] == [5, 6]


def test_boundary_sigma_squared_equal_to_lambda_counts_as_collapsed():
    st = CollapseState(lam=4.0)
    assert st.survivors_text().startswith("2 of 6 directions survive; 4 collapsed")


def test_typing_a_new_spectrum_updates_the_count_and_the_url_state():
    page = built(lam=1.5)
    page.spectrum_input.value = "0.5, 5, 1.2"
    assert page.state.sigma == "5, 1.2, 0.5"  # sorted, canonical
    assert page.spectrum_input.value == "5, 1.2, 0.5"
    assert text(page.survivors).startswith("1 of 3 directions survive")
    assert query.encode(page.state, page.state.URL_PARAMS)["sigma"] == "5, 1.2, 0.5"


@pytest.mark.parametrize("bad", ["", "abc", "1, two", "0, 1", "-1", "nan", "inf", "1, 1",
                                 "1,2,3,4,5,6,7,8,9", "1e999", "<b>1</b>"])
def test_bad_spectrum_input_gives_a_notice_and_keeps_the_spectrum(bad):
    page = built()
    before = text(page.survivors)
    page.spectrum_input.value = bad
    assert page.state.sigma == DEFAULT_SPECTRUM
    assert text(page.survivors) == before
    (level, notice), = page.notices.items
    assert level == "warning" and notice.startswith("σ")
    assert "<b>" not in page.notices.pane.object
    page.spectrum_input.value = "3, 2"  # a good value clears the notice
    assert page.notices.items == [] and page.state.sigma == "3, 2"


def test_parse_spectrum_sorts_and_accepts_spaces_or_semicolons():
    np.testing.assert_array_equal(parse_spectrum("1 3;2"), [3.0, 2.0, 1.0])


def test_shrinkage_curves_follow_the_three_formulas_at_the_spectrum():
    page = built(lam=2.0)
    s2 = np.array([16, 9, 4, 2.25, 1, 0.25])
    np.testing.assert_allclose(page.theory_marks["sum"].data["y"], np.maximum(0, 1 - 2.0 / s2))
    np.testing.assert_allclose(page.theory_marks["product"].data["y"], 1 / (1 + 2.0 / s2))
    np.testing.assert_allclose(page.theory_marks["unregularized"].data["y"], 1.0)
    assert page.threshold.location == 2.0


# ----------------------------------------------------------------------------- training


@pytest.mark.parametrize("method", ["untied_gd", "exact_sync", "exact_tied"])
def test_training_puts_measured_values_on_the_theory(monkeypatch, method):
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: type(
        "C", (), {"stop": lambda self: None})())
    page = built(lam=1.5, method=method)
    page.start_training()
    assert page.progress_shown and page.train_button.label.startswith("■")
    ticks = 0
    while page.training is not None and ticks < 200:
        page.train_tick()
        ticks += 1
    assert page.training is None and not page.progress_shown and page.notices.items == []
    s2 = np.array([16, 9, 4, 2.25, 1, 0.25])
    sigma = np.sqrt(s2)
    for kind, expected in [("sum", np.maximum(0, 1 - 1.5 / s2)), ("product", 1 / (1 + 1.5 / s2)),
                           ("unregularized", np.ones(6))]:
        if method == "exact_tied" and kind != "sum":
            continue  # the authors' exact tied step cycles on L_π and L (the test below)
        np.testing.assert_allclose(page.measured_marks[kind].data["y"], expected, atol=0.02)
    np.testing.assert_allclose(page.decoder_measured.data["y"], np.sqrt(np.maximum(0, 1 - 1.5 / sigma**2)),
                               atol=0.02)
    assert text(page.train_status).startswith(f"Trained with {page_module.SOLVERS[method]} at λ = 1.50")
    page.state.lam = 2.0  # the dots belonged to λ = 1.5
    assert len(page.decoder_measured.data["y"]) == 0


def test_training_with_the_authors_exact_tied_says_it_oscillates_on_the_product_loss(monkeypatch):
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: type(
        "C", (), {"stop": lambda self: None})())
    page = built(lam=1.5, method="exact_tied")
    page.start_training()
    ticks = 0
    while page.training is not None and ticks < 20:
        page.train_tick()
        ticks += 1
    assert page.training is None, "an oscillating run must end the training, not run to the limit"
    summary = text(page.train_status)
    assert "L_σ converged after" in summary and "L_π oscillating after" in summary, summary


def test_changing_lambda_during_training_stops_it(monkeypatch):
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: type(
        "C", (), {"stop": lambda self: None})())
    page = built()
    page.start_training()
    page.train_tick()
    page.state.lam = 0.7
    assert page.training is None and "stopped" in text(page.train_status)


# ----------------------------------------------------------------------------- pPCA and URL


def test_ppca_loading_is_the_decoder_times_sigma_with_the_current_numbers():
    st = CollapseState(lam=1.5)
    sigma, decoder, ppca, gone = st.ppca_columns()
    np.testing.assert_allclose(ppca, np.sqrt(np.maximum(sigma**2 - 1.5, 0)))
    np.testing.assert_allclose(ppca, decoder * sigma)
    assert list(gone) == [False] * 4 + [True] * 2
    assert "3.808 = 0.952" in st.ppca_formula()  # √(16 − 1.5) and √(1 − 1.5/16)


def test_url_spectrum_is_read_and_a_bad_one_is_refused_with_a_notice(monkeypatch):
    class FakeContext:
        pass

    class FakeDoc:
        session_context = FakeContext()

    for raw, sigma, notices in [("2,1", "2, 1", 0), ("1,x", DEFAULT_SPECTRUM, 1)]:
        monkeypatch.setattr(type(page_module.pn.state), "curdoc", property(lambda self: FakeDoc()))
        monkeypatch.setattr(type(page_module.pn.state), "session_args",
                            property(lambda self, raw=raw: args(sigma=raw, lam="99")))
        page = CollapsePage()
        assert page.state.sigma == sigma
        assert page.state.lam == page_module.LAM_MAX  # clamped by the shell
        assert len(page.notices.items) == 1 + notices


def test_lambda_out_of_range_in_the_url_is_clamped():
    st = CollapseState()
    values, notices = query.parse(st, st.URL_PARAMS, args(lam="-3", x="nan", method="bogus"))
    assert values == {"lam": 0.0, "x": 2.0, "method": "untied_gd"} and len(notices) == 3


# ----------------------------------------------------------------------------- issue #21


def test_the_solver_selector_shows_words_and_the_url_keeps_the_key():
    """The selector showed the raw keys untied_gd, exact_sync, …"""
    page = built()
    options = page.method_select.options
    assert list(options) == ["untied GD", "sync GD", "tied GD (Oja)", "exact untied", "exact sync", "exact tied"]
    assert not any("_" in label for label in options)
    page.method_select.value = "exact_sync"
    assert page.state.method == "exact_sync" and query.encode(page.state, ["method"]) == {"method": "exact_sync"}
    assert "averaged" in text(page.method_help)  # the chosen solver in one line under the selector
    page.method_select.value = "tied_gd"
    assert "Oja" in text(page.method_help)


def test_the_diagonal_bifurcation_is_worked_out_once_per_x(monkeypatch):
    """An x change recomputed the 201-λ diagonal bifurcation from scalar.critical_sets (~50 ms)
    every time; the rows depend on x alone, so a value of x already seen costs nothing."""
    calls = []
    original = page_module.collapse.scalar_diagonal_critical_points
    monkeypatch.setattr(page_module.collapse, "scalar_diagonal_critical_points",
                        lambda x, lam: calls.append(x) or original(x, lam))
    page = built(x=1.37)
    first = page.state.bifurcation_rows()
    assert len(calls) >= len(page_module.LAM_GRID)  # this x was new
    calls.clear()
    page.state.x = 1.5
    page.state.x = 1.37  # back to a value seen before: only the current λ's points are worked out
    assert 0 < calls.count(1.37) < 5 and set(calls) == {1.5, 1.37} and page.state.bifurcation_rows() is first
    assert CollapseState(x=1.37, lam=7.0).bifurcation_rows() is first  # λ does not enter
    # shared by every visitor, so nobody can change them for the others
    assert isinstance(first, tuple) and not page_module.LAM_GRID.flags.writeable
    # the pitchfork of f(w) = x²(1 − w²)² + 2λw² at λ = x², as before the cache
    nonzero = [lam for lam, w, _ in first if w != 0]
    assert max(nonzero) < 1.37 ** 2 <= min(lam for lam, w, _ in first if lam > max(nonzero))
