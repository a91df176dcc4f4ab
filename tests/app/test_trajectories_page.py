"""The Trajectories page without a browser: state → paths, outcomes in words, divergence,
the animation frame, clicks on the map, URL state."""

import math
import re
import urllib.parse

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
    item = re.search(rf'class="outcome outcome-{method}[^"]*">.*?<span class="outcome-text">(.*?)</span></li>', text)
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
        assert text.startswith('<span class="verdict">Learning rate too large:</span> '), text
        assert re.search(r"(diverged at iteration \d+ — lower|Lower) the learning rate \(now 1\)", text), text
        assert "raise" not in text.lower()
        assert re.search(rf'class="outcome outcome-{method} \w+ too-large"', page.outcomes.object)


def test_an_oscillating_run_says_so():
    page = built(w1=0.15, w2=0.15, lr_exp=0.0, methods=["tied_gd"])
    run, = page.runs
    assert run.trajectory.status == "oscillating"
    text = outcome(page, "tied_gd")
    assert "oscillates without converging" in text and "Lower the learning rate (now 1)." in text, text


def test_a_bounded_run_that_never_settles_is_told_to_lower_the_learning_rate_not_raise_it():
    """Issue #21: at lr = 10^−0.1 from (1.5, 1.5) (L_σ, λ = 0, x = 1) sync and tied GD wander
    without converging or diverging and without a period-2 cycle; the page said to raise the
    iteration limit or the learning rate."""
    page = built(kind="sum", lam=0.0, x=1.0, w1=1.5, w2=1.5, lr_exp=-0.1, methods=["sync_gd", "tied_gd"])
    for run in page.runs:
        assert run.trajectory.status in ("max_iter", "oscillating")
        tail = run.loss[-len(run.loss) // 4:]
        assert np.diff(tail).max() > 1e-3, "the loss should still be going up and down"
        assert page.state.step_too_large(run)
        text = outcome(page, run.method)
        assert text.startswith('<span class="verdict">Learning rate too large:</span> '), text
        assert "Lower the learning rate (now 0.794)" in text and "raise" not in text.lower(), text


@pytest.mark.parametrize("mode", ["scalar", "tied"])
def test_no_run_at_the_default_learning_rate_is_called_too_large(mode):
    # (at λ = 3.9 from the map's corner lr = 0.05 is too large indeed: untied GD diverges there)
    for kind in ("sum", "product", "unregularized"):
        for w1, w2 in ((-1.4, 1.7), (0.15, 0.15), (2.0, -2.0)):
            for lam in (0.0, 0.5, 1.5):
                st = TrajectoryState(mode=mode, kind=kind, w1=w1, w2=w2, lam=lam, methods=list(solvers.METHODS))
                sets = st.background()[1]
                for run in st.runs():
                    assert not st.step_too_large(run), (kind, w1, w2, lam, run.method)
                    assert "too large" not in st.outcome(run, sets)


def test_a_slow_run_at_the_iteration_limit_is_still_told_to_raise_it():
    page = built(lr_exp=-4.0, max_iter=2000, methods=["untied_gd"])
    run, = page.runs
    assert run.trajectory.status == "max_iter" and np.all(np.diff(run.loss) <= 0)
    text = outcome(page, "untied_gd")
    assert "Raise the iteration limit or the learning rate." in text and "too large" not in text


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
    words = st.outcome(noisy, st.background()[1])
    assert "Mini-batch noise" in words and "too large" not in words  # noise raises the loss at any step
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
    # the decoder's path is faded and has no halo (dashes tell the solvers apart)
    assert page.map_lines["untied_gd"].glyph.line_alpha < 1 and not page.halos["untied_gd"].visible
    assert page.map_lines["tied_gd"].glyph.line_alpha == 1 and page.halos["tied_gd"].visible
    assert "(decoder W₂ drawn, faded)" in outcome(page, "untied_gd")
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


def test_a_click_on_the_map_plays_the_new_runs_from_iteration_0():
    """Issue #21: a click jumped to the runs' end; a lecturer wants to watch them go."""
    page = built()
    assert page.player.value == page.player.end and page.player.direction == 0
    page.surface.figure._trigger_event(Tap(page.surface.figure, x=0.6, y=-1.1))
    assert page.player.value == 0 and page.player.direction == 1
    assert page.current.data["it"] == [0] * len(page.runs)
    assert page.loss_span.location == 0 and "Iteration 0 of" in page.counter.object
    # any other change keeps the player where it is, a typed start too
    page.player.param.update(value=7, direction=0)
    page.state.lam = 0.4
    page.state.w1 = 0.5
    assert page.player.value == 7 and page.player.direction == 0 and page.loss_span.location == 7
    # a click on the same point plays the same runs again
    page.surface.figure._trigger_event(Tap(page.surface.figure, x=0.5, y=-1.1))
    assert page.player.value == 0 and page.player.direction == 1 and page.loss_span.location == 0


def test_the_paths_are_drawn_from_sources_the_browser_keeps_and_grows():
    """What is drawn of a path is the browser's (DRAWN_JS: iterates 0 … the frame's, so paths
    grow as the player runs; checked in tests/e2e/test_trajectories.py): its sources never
    talk back to the server, and hold the whole runs when the page opens (the first paint and
    a static export)."""
    page = built(methods=list(solvers.METHODS))
    renderers = [*page.map_lines.values(), *page.halos.values(),
                 *(r for pair in page.side_lines.values() for r in pair)]
    for r in renderers:
        assert any(r.data_source is page.drawn[m] for m in solvers.METHODS)
    for m in solvers.METHODS:
        assert page.drawn[m].syncable is False
        for column, values in page.sources[m].data.items():
            np.testing.assert_array_equal(page.drawn[m].data[column], values)
    grow = page.loss_span.js_property_callbacks["change:location"]
    assert all(page.sources[m].js_property_callbacks["change:data"] == grow for m in solvers.METHODS)


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
                         minibatch=True, n=50, batch_size=7, seed=42, iteration_axis="log")
    encoded = query.encode(st, st.URL_PARAMS)
    assert encoded["methods"] == "sync_gd,exact_tied"
    values, notices = query.parse(TrajectoryState(), st.URL_PARAMS, args(**encoded))
    assert not notices and all(values[k] == getattr(st, k) for k in st.URL_PARAMS)


@pytest.mark.parametrize("name, raw", [("methods", "untied_gd,<b>x</b>"), ("lr_exp", "nan"), ("lr_exp", "7"),
                                       ("w1", "-1e308"), ("mode", "vector"), ("max_iter", "1e9"),
                                       ("minibatch", "maybe"), ("seed", "-4"), ("iteration_axis", "sideways")])
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


# --------------------------------------------------------------------------- the iteration axis

def test_the_iteration_axis_switches_to_log_and_back():
    page = built(iteration_axis="log")
    last = page.player.end
    for fig in (page.loss_fig, page.gap_fig):
        assert type(fig.x_scale).__name__ == "LogScale" and type(fig.xaxis[0].ticker).__name__ == "LogTicker"
        assert (fig.x_range.start, fig.x_range.end) == (1, last)  # iteration 0 has no logarithm
    page.state.iteration_axis = "linear"
    for fig in (page.loss_fig, page.gap_fig):
        assert type(fig.x_scale).__name__ == "LinearScale" and type(fig.xaxis[0].ticker).__name__ == "BasicTicker"
        assert (fig.x_range.start, fig.x_range.end) == (0, last)


def test_runs_of_very_different_lengths_point_to_the_log_axis():
    page = built()  # exact untied takes a few iterations, untied GD about two hundred
    lengths = [r.frames - 1 for r in page.runs]
    assert max(lengths) >= 30 * min(lengths)
    assert f"The runs take {min(lengths)} to {max(lengths)} iterations: choose a log iteration axis" \
        in page.notes.object
    page.state.iteration_axis = "log"
    assert "log iteration axis" not in page.notes.object
    page.state.param.update(iteration_axis="linear", methods=["untied_gd", "tied_gd"])
    assert "log iteration axis" not in page.notes.object


# --------------------------------------------------------------------------- telling the solvers apart

def _hue_saturation(hex_colour):
    import colorsys
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, _, s = colorsys.rgb_to_hls(r, g, b)
    return 360 * h, s


def test_solvers_of_one_hue_differ_in_dash_and_marker_on_every_plot_and_swatch():
    """Issue #21: the two blues and the two oranges merge on a projector."""
    page = built(methods=list(solvers.METHODS))
    hues = {m: _hue_saturation(c) for m, c in trajectories.COLORS.items()}
    alike = [(a, b) for i, a in enumerate(solvers.METHODS) for b in solvers.METHODS[i + 1:]
             if hues[a][1] > 0.3 and hues[b][1] > 0.3 and abs(hues[a][0] - hues[b][0]) < 25]
    assert sorted(alike) == [("exact_untied", "exact_sync"), ("untied_gd", "sync_gd")]
    markers = dict(zip([r.method for r in page.runs], page.current.data["marker"]))
    checkbox_css = page.method_boxes.stylesheets[0]
    for a, b in alike:
        for lines in (page.map_lines, {m: pair[0] for m, pair in page.side_lines.items()},
                      {m: pair[1] for m, pair in page.side_lines.items()}):
            assert lines[a].glyph.line_dash != lines[b].glyph.line_dash
        assert markers[a] != markers[b]
        swatches = {m: trajectories.swatch(m) for m in (a, b)}
        assert ("stroke-dasharray" in swatches[a]) != ("stroke-dasharray" in swatches[b])
        assert ("<circle" in swatches[a]) != ("<circle" in swatches[b])
        for m in (a, b):
            assert swatches[m] in page.outcomes.object and swatches[m] in page.legend.object
            assert urllib.parse.quote(swatches[m]) in checkbox_css


def test_the_runs_open_finished_once_the_view_is_shown_and_not_before():
    """The page opens on its finished runs, once its view is in the browser (Panel's Player
    draws a value past 100 as 100 if it arrives with the view): out of a session at once; a
    view that joins an open page (a lecture slide) waits for its host's ``shown()``."""
    page = built()
    assert page.player.end > 100 and page.player.value == page.player.end
    later = TrajectoriesPage()
    later.defer_shown()
    later.build()
    assert later.player.value == 0
    later.shown()
    assert later.player.value == later.player.end
    later.shown()  # once only: nothing is left to run
    assert later.player.value == later.player.end
