"""The Trajectories page without a browser: state → paths, outcomes in words, divergence,
the animation frame, clicks on the map, URL state."""

import math
import re

import numpy as np
import pytest
from bokeh.events import Tap

from app import query
from app.pages import trajectories
from app.pages.trajectories import TrajectoriesPage, TrajectoryState
from lae_core import scalar, solvers

GAP = re.compile(r"‖W₁ − W₂ᵀ‖ = ([0-9.e+-]+)")


def args(**kw):
    return {k: [v.encode() if isinstance(v, str) else v for v in (vals if isinstance(vals, list) else [vals])]
            for k, vals in kw.items()}


def built(**state):
    page = TrajectoriesPage(**state)
    page.build()
    return page


def outcome(page, method):
    text = page.outcomes.object
    item = re.search(rf'class="outcome outcome-{method}[^"]*">(.*?)</li>', text)
    assert item, f"no outcome for {method} in {text!r}"
    return item.group(1)


def gap_in(text):
    return float(GAP.search(text).group(1))


# --------------------------------------------------------------------------- state → paths

def test_default_state_runs_every_selected_solver_from_the_start_with_finite_paths():
    st = TrajectoryState(methods=list(solvers.METHODS))
    runs = st.runs()
    assert [r.method for r in runs] == [m for m in solvers.METHODS if m in st.methods]
    for r in runs:
        assert np.isfinite(r.w1).all() and np.isfinite(r.w2).all() and np.isfinite(r.loss).all()
        assert r.w1.shape == r.w2.shape == r.loss.shape == r.gap.shape == (r.frames,)
        if r.method in trajectories.TIED_START:
            # tied and sync solvers start from a tied point: the authors' exact tied step reads
            # W₁, the others start from W₂ (sync: W₁ = W₂ᵀ at initialisation)
            w = st.w1 if r.method == "exact_tied" else st.w2
            assert r.w1[0] == r.w2[0] == w
        else:
            assert (r.w1[0], r.w2[0]) == (st.w1, st.w2)


def test_the_path_loss_is_the_loss_on_the_map():
    st = TrajectoryState(kind="product", lam=0.8, x=1.3)
    for r in st.runs():
        np.testing.assert_allclose(r.loss, scalar.loss("product", r.w1, r.w2, 1.3, 0.8), rtol=1e-12, atol=1e-14)


def test_paths_reach_the_browser_as_float32_and_the_log_axes_floor_zero_at_1e_16():
    page = built(methods=["tied_gd"])
    data = page.sources["tied_gd"].data
    assert all(np.asarray(v).dtype == np.float32 for v in data.values())
    assert data["gap"].min() == np.float32(trajectories.LOG_FLOOR)  # tied: the gap is exactly 0
    assert len(page.sources["untied_gd"].data["w1"]) == 0 and not page.map_lines["untied_gd"].visible


def test_the_background_is_the_selected_loss_with_its_critical_sets():
    page = built(kind="unregularized", x=1.5)
    z, sets = page.state.background()
    w = np.linspace(-2, 2, trajectories.N)
    np.testing.assert_allclose(z, scalar.loss("unregularized", w[None, :], w[:, None], 1.5, 0.5))
    assert [s.label for s in sets] == [s.label for s in scalar.critical_sets("unregularized", 1.5, 0.5)]
    assert "L (unregularized)" in page.surface.figure.title.text


# --------------------------------------------------------------------------- outcomes in words

@pytest.mark.parametrize("method", ["untied_gd", "tied_gd"])
def test_sum_loss_gd_converges_to_a_minimum_with_w1_equal_to_w2_transpose(method):
    page = built(kind="sum", methods=["untied_gd", "tied_gd"])
    text = outcome(page, method)
    assert re.search(r"converged after \d+ iterations at \(0\.707, 0\.707\) with loss 0\.75, "
                     r"reaching the minimum at \(0\.707, 0\.707\)", text), text
    assert gap_in(text) < 1e-6


def test_untied_gd_on_the_unregularized_loss_keeps_a_transpose_gap_and_says_why():
    page = built(kind="unregularized", methods=["untied_gd"])
    text = outcome(page, "untied_gd")
    assert "reaching the hyperbola w₁w₂ = 1 (w₁ &gt; 0), a curve of minima" in text
    assert gap_in(text) > 0.1 and "need not equal" in text


def test_a_too_large_learning_rate_diverges_in_words_and_draws_only_finite_numbers():
    page = built(lr_exp=0.0, methods=["untied_gd", "exact_untied"])
    text = outcome(page, "untied_gd")
    assert re.search(r"diverged at iteration \d+ — lower the learning rate", text), text
    assert "converged after" in outcome(page, "exact_untied")  # the others keep going
    for source in page.sources.values():
        assert all(np.isfinite(np.asarray(v)).all() for v in source.data.values())
    assert all(np.isfinite(v).all() for v in page.current.data.values() if v and isinstance(v[0], float))
    page.state.lr_exp = -1.3
    assert "converged after" in outcome(page, "untied_gd") and page.notices.items == []


@pytest.mark.parametrize("mode", ["scalar", "tied"])
def test_at_learning_rate_1_sync_and_tied_gd_are_told_to_lower_it_not_raise_it(mode):
    # Issue #21: they oscillated (or diverged) and the words said to raise the learning rate.
    page = built(mode=mode, lr_exp=0.0, methods=["sync_gd", "tied_gd"])
    for method in ("sync_gd", "tied_gd"):
        text = outcome(page, method)
        assert re.search(r"(diverged at iteration \d+ — lower|Lower) the learning rate", text), text
        assert "Raise" not in text


def test_an_oscillating_run_says_so():
    page = built(w1=0.15, w2=0.15, lr_exp=0.0, methods=["tied_gd"])
    text = outcome(page, "tied_gd")
    assert "oscillates without converging" in text and "Lower the learning rate." in text, text


def test_a_run_stopped_by_the_iteration_limit_says_so_with_a_hint():
    page = built(max_iter=10, methods=["untied_gd", "exact_untied"])
    assert "stopped at the iteration limit after 10 iterations" in outcome(page, "untied_gd")
    assert "Raise the iteration limit or the learning rate." in outcome(page, "untied_gd")


def test_mini_batches_use_data_whose_full_batch_is_the_map_and_their_noise_shows():
    st = TrajectoryState(minibatch=True, n=30, batch_size=3, seed=7, methods=["untied_gd"])
    X = st.data()
    np.testing.assert_allclose(X @ X.T, [[st.x ** 2]])
    noisy, = st.runs()
    full, = TrajectoryState(methods=["untied_gd"]).runs()
    assert noisy.trajectory.status == "max_iter" and full.trajectory.status == "converged"
    assert "Mini-batch noise" in st.outcome(noisy, st.background()[1])
    page = built(minibatch=True, n=30, batch_size=3, seed=7)
    assert "n = 30 samples" in page.notes.object and "b = 3" in page.notes.object


def test_a_batch_larger_than_n_is_clamped_to_n():
    page = built(minibatch=True, n=10, batch_size=50)
    assert page.state.batch_size == 10 and page.batch_widgets[1].end == 10
    page.state.n = 6
    assert page.state.batch_size == 6


def test_tied_case_draws_tied_losses_and_marks_untied_methods_as_decoder_paths():
    page = built(mode="tied", x=1.0, y=0.7, lam=0.5, methods=["untied_gd", "tied_gd"])
    z, sets = page.state.background()
    w = np.linspace(-2, 2, trajectories.N)
    np.testing.assert_allclose(z, scalar.tied_loss("sum", w[None, :], w[:, None], 1.0, 0.7, 0.5))
    runs = {r.method: r for r in page.runs}
    assert runs["tied_gd"].in_plane and not runs["untied_gd"].in_plane
    assert page.map_lines["untied_gd"].glyph.line_dash == [6]  # Bokeh's "dashed"
    assert page.map_lines["tied_gd"].glyph.line_dash == []
    assert "(decoder W₂ drawn, dashed)" in outcome(page, "untied_gd")
    # tied GD reaches the minimum (±√(1 − λ/x²), 0) of the tied loss
    assert re.search(r"reaching the minimum at \(−?0\.707, 0\)", outcome(page, "tied_gd")), outcome(page, "tied_gd")
    assert "decoder W₂" in page.notes.object
    np.testing.assert_allclose(runs["tied_gd"].loss,
                               scalar.tied_loss("sum", runs["tied_gd"].w1, runs["tied_gd"].w2, 1.0, 0.7, 0.5))


def test_x_zero_says_the_loss_is_flat():
    page = built(kind="unregularized", x=0.0, methods=["exact_untied"])
    assert "flat" in outcome(page, "exact_untied")


def test_no_solver_selected_asks_for_one_and_keeps_the_player_valid():
    page = built(methods=[])
    assert page.outcomes.object == "" and "Choose at least one solver" in page.notes.object
    assert page.player.end >= 1 and "Iteration 0 of 0" in page.counter.object


# --------------------------------------------------------------------------- animation and clicks

def test_an_animation_frame_moves_only_the_markers_and_the_counter():
    """The server's frame (after a redraw); the browser draws the player's frames with the
    same result (FRAME_JS, checked in tests/e2e/test_trajectories.py)."""
    page = built()
    paths = {m: page.sources[m].data for m in solvers.METHODS}
    page.show_frame(5)
    assert {m: page.sources[m].data for m in solvers.METHODS} == paths  # same objects: nothing resent
    for r, w1, it in zip(page.runs, page.current.data["w1"], page.current.data["it"]):
        j = min(5, r.frames - 1)
        assert it == j and w1 == r.w1[j]
    assert page.loss_span.location == page.gap_span.location == 5
    assert f"Iteration 5 of {page.player.end}" in page.counter.object
    assert len(page.current.data["w1"]) == len(page.state.methods)


def test_the_player_ends_at_the_longest_run_and_keeps_a_scrubbed_position():
    page = built()
    assert page.player.end == max(r.frames for r in page.runs) - 1
    page.player.value = 3
    page.state.lam = 0.4
    assert page.player.value == 3


def test_a_click_on_the_map_moves_the_start_clamped_and_rounded():
    page = built()
    page.surface.figure._trigger_event(Tap(page.surface.figure, x=0.51234, y=-3.0))
    assert (page.state.w1, page.state.w2) == (0.512, -2.0)
    assert page.start_source.data == dict(w1=[0.512], w2=[-2.0])
    assert all(r.w1[0] == 0.512 for r in page.runs if r.method == "untied_gd")
    page.set_start(math.nan, 0.3)  # ignored
    assert (page.state.w1, page.state.w2) == (0.512, -2.0)


def test_a_failing_redraw_shows_an_error_notice_and_the_session_keeps_working(monkeypatch):
    page = built()
    original = solvers.solve

    def broken(*a, **k):
        raise RuntimeError("/secret/path exploded")

    monkeypatch.setattr(solvers, "solve", broken)
    page.state.lr_exp = -2.0
    (level, text), = page.notices.items
    assert level == "error" and "/secret" not in text
    monkeypatch.setattr(solvers, "solve", original)
    page.state.lr_exp = -1.3
    assert page.notices.items == [] and "converged after" in page.outcomes.object


# --------------------------------------------------------------------------- URL

def test_state_round_trips_through_the_url():
    st = TrajectoryState(mode="tied", kind="product", lam=1.25, x=0.8, y=0.3, w1=-0.25, w2=1.5,
                         methods=["sync_gd", "exact_tied"], lr_exp=-2.5, max_iter=700, tol_exp=-8,
                         minibatch=True, n=50, batch_size=7, seed=42)
    encoded = query.encode(st, st.URL_PARAMS)
    assert encoded["methods"] == "sync_gd,exact_tied"
    values, notices = query.parse(TrajectoryState(), st.URL_PARAMS, args(**encoded))
    assert not notices and all(values[k] == getattr(st, k) for k in st.URL_PARAMS)


@pytest.mark.parametrize("name, raw", [("methods", "untied_gd,<b>x</b>"), ("lr_exp", "nan"), ("lr_exp", "7"),
                                       ("w1", "-1e308"), ("mode", "vector"), ("max_iter", "1e9"),
                                       ("minibatch", "maybe"), ("seed", "-4")])
def test_hostile_url_values_become_valid_state_with_a_notice(name, raw):
    st = TrajectoryState()
    values, notices = query.parse(st, st.URL_PARAMS, args(**{name: raw}))
    st.param.update(**values)
    assert notices and all(len(n) < 300 for n in notices)
    assert st.runs() is not None  # the state draws


def test_a_page_opened_from_a_url_list_runs_exactly_those_solvers():
    st = TrajectoryState()
    values, _ = query.parse(st, st.URL_PARAMS, args(methods="exact_tied,sync_gd,exact_tied"))
    page = built(**values)
    assert [r.method for r in page.runs] == ["sync_gd", "exact_tied"]


def test_the_mini_batch_and_y_controls_show_only_when_they_apply_with_css():
    """Shown and hidden with ``display: none`` (app.shell.show), never with Panel's ``visible``
    (which makes BokehJS lay out the whole page again)."""
    from app import shell

    page = built()
    assert not any(shell.shown(w) for w in page.batch_widgets) and not shell.shown(page.y_slider)
    page.state.minibatch = True
    assert all(shell.shown(w) for w in page.batch_widgets)
    page.state.mode = "tied"
    assert shell.shown(page.y_slider)
    page.state.param.update(minibatch=False, mode="scalar")
    assert not any(shell.shown(w) for w in page.batch_widgets) and not shell.shown(page.y_slider)
    assert all(w.visible for w in [*page.batch_widgets, page.y_slider])
