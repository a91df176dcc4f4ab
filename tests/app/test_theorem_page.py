"""The Theorem page without a browser: the table's rows for m = 4, k = 2 across λ = σ₃², the
ladder's markers, marked cells and their notes, the CSV, the URL round trip, bad spectra and out
of range values, the escape and the sweep.

Expected rows and counts are written here from the paper's statement (the index sets inside
{1..m₀}, m₀ = #{σᵢ² > λ}; d_I + (k − l)(m₀ − l) descending directions); the default spectrum
4, 3, 2, 1.5 has σ² = 16, 9, 4, 2.25.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from urllib.parse import parse_qs

import numpy as np
import pytest
from bokeh.models import DataTable, GlyphRenderer

from app import query
from app.pages import theorem as page_module
from app.pages.theorem import TheoremPage, TheoremState
from lae_core import theorem

ISSUE_HEADERS = ["I", "l", "loss", "descending (theorem)", "descending (measured)", "flat (theorem)",
                 "flat (measured)", "ascending (measured)", "‖W₁ − W₂ᵀ‖"]
SIGMA = np.array([4.0, 3.0, 2.0, 1.5])


def args(**kw):
    return {k: [str(v).encode()] for k, v in kw.items()}


def built(**state) -> TheoremPage:
    page = TheoremPage(sync_url=False, **state)
    page.build()
    return page


def text(pane) -> str:
    """The visible text of an HTML pane (tags dropped, entities read)."""
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", pane.object))


def label(I) -> str:
    return "{" + ", ".join(str(i + 1) for i in I) + "}" if I else "∅"


def paper_rows(m: int, k: int, m0: int):
    """Every I ⊂ {1..m₀} with |I| ≤ k, by l and then lexicographically, with the theorem's
    d_I + (k − l)(m₀ − l)."""
    out = []
    for l in range(min(k, m0) + 1):
        for I in itertools.combinations(range(m0), l):
            d = sum(1 for i in I for j in range(m) if j not in I and j < i)
            out.append((label(I), d + (k - l) * (m0 - l)))
    return out


class FakeCallback:
    def __init__(self, log):
        self.log = log

    def stop(self):
        self.log.append("stopped")


@pytest.fixture
def callbacks(monkeypatch):
    """Periodic callbacks are recorded, not run: the test ticks them by hand."""
    log = []
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback",
                        lambda cb, period: log.append(("started", period)) or FakeCallback(log))
    return log


def with_link(monkeypatch, **query_args):
    """A page opened from a link whose query holds ``query_args``."""
    class FakeContext:
        pass

    class FakeDoc:
        session_context = FakeContext()

        def add_timeout_callback(self, callback, delay):
            pass

    monkeypatch.setattr(type(page_module.pn.state), "curdoc", property(lambda self: FakeDoc()))
    monkeypatch.setattr(type(page_module.pn.state), "session_args",
                        property(lambda self: args(**query_args)))
    return TheoremPage()


# ----------------------------------------------------------------------------- the table


@pytest.mark.parametrize("lam, m0", [(1.5, 4), (3.0, 3), (5.0, 2), (20.0, 0)])
def test_sum_loss_rows_for_m4_k2_are_the_index_sets_inside_m0(lam, m0):
    """Below σ₃² = 4 (λ = 3) the rows are the subsets of {1, 2, 3}; above it (λ = 5) only those
    of {1, 2}; the rest are listed as gone, and the page says m₀ and the count."""
    page = built(lam=lam, loss="sum")
    data = page.source.data
    expected = paper_rows(4, 2, m0)
    assert [s.replace(" ⚠", "") for s in data["label"]] == [name for name, _ in expected]
    assert data["d_theorem"] == [d for _, d in expected] == data["descending"]
    survivors = text(page.survivors)
    assert f"m₀ = #{{i : σᵢ² > λ}} = {m0} of m = 4" in survivors
    assert f"{len(expected)} of the 11 index sets" in survivors
    gone = text(page.gone)
    kept = {name for name, _ in expected}
    every = [label(I) for l in range(3) for I in itertools.combinations(range(4), l)]
    listed = gone.partition("): ")[2].partition("why")[0].split(", {")  # "{4}, {1, 4}, …"
    assert [("{" + n if i else n) for i, n in enumerate(listed) if n] == [n for n in every if n not in kept]
    if len(expected) < 11:
        assert f"Gone at λ = {lam:g} ({11 - len(expected)})" in gone and "posterior collapse" in gone


def test_the_global_minimum_row_is_highlighted_and_ringed():
    for lam, best in ((1.5, "{1, 2}"), (10.0, "{1}"), (17.0, "∅")):
        page = built(lam=lam, loss="sum")
        data = page.source.data
        flagged = [name for name, is_min in zip(data["label"], data["is_min"]) if is_min]
        assert flagged == [best]
        assert [name for name, ring in zip(data["label"], data["ring"]) if ring] == [best]
        assert min(data["loss"]) == data["loss"][data["label"].index(best)]


def test_the_table_has_the_issues_headers_sorts_and_picks_rows():
    page = built()
    assert [c.title for c in page.table.columns] == ISSUE_HEADERS == list(theorem.CSV_COLUMNS)
    assert page.table.sortable and page.table.selectable
    by_title = {c.title: c.field for c in page.table.columns}
    assert by_title["I"] == "order" and by_title["loss"] == "loss"  # sorts by index order, by value
    assert page.source.data["order"] == sorted(page.source.data["order"])


def test_lambda_at_sigma3_squared_says_degenerate_and_gone_not_mislabelled():
    """λ = 4 = σ₃² exactly: the manifolds holding 3 are gone (they merge into the origin's side
    of the pitchfork); the rows where u₃ could be taken up are degenerate, marked ⚠, with words."""
    page = built(lam=4.0, loss="sum")
    names = page.source.data["label"]
    assert [n.replace(" ⚠", "") for n in names] == ["∅", "{1}", "{2}", "{1, 2}"]
    degenerate = [n for n, d in zip(names, page.source.data["degenerate"]) if d]
    assert degenerate and all(n.endswith(" ⚠") for n in degenerate)
    assert "{1, 2} ⚠" not in names  # l = k: no latent dimension left to take u₃ up
    assert "pitchfork" in text(page.degenerate)
    assert "Degenerate: λ = σ₃² = 4 exactly" in text(page.notes)
    assert "At exactly λ = σ₃²" in text(page.gone)


def test_measured_cells_that_differ_are_marked_and_explained():
    """L with l < k: the Hessian has 2kl − l² flat directions, the paper's F_I kl — the cells are
    flagged and the note names the rows and the GL(k)-orbit."""
    page = built(loss="unregularized")
    data = page.source.data
    flagged = [n for n, f in zip(data["label"], data["f_differs"]) if f]
    assert flagged == ["{1}", "{2}", "{3}", "{4}"]  # l = 1 < k = 2
    assert [f for n, f in zip(data["label"], data["f_measured"]) if n in flagged] == [3] * 4  # 2·2·1 − 1
    assert not any(data["d_differs"])
    notes = text(page.notes)
    assert "{1}, {2}, {3}, {4} — Flat" in notes and "GL(k)-orbit" in notes
    assert "≠" in page.table.columns[6].formatter.template  # the flat (measured) cell carries the mark
    assert "Every measured count equals" in text(built(loss="sum").notes)


def test_the_ladder_has_one_marker_per_manifold_and_thins_as_lambda_passes_sigma_squared():
    page = built(loss="sum", lam=1.0)
    renderers = [r for r in page.ladder.renderers if isinstance(r, GlyphRenderer)]
    assert renderers and all(r.data_source is page.source for r in renderers)
    counts = []
    for lam in (1.0, 2.0, 3.0, 5.0, 10.0, 17.0):
        page.state.lam = lam
        counts.append(len(page.source.data["descending"]))
    assert counts == [11, 11, 7, 4, 2, 1]  # Σ_{l ≤ 2} C(m₀, l) for m₀ = 4, 4, 3, 2, 1, 0
    assert text(page.ladder_count) == "1 of 11 manifolds on the ladder at λ = 17: m₀ = 0."
    # the axes fit every critical value at every λ: between 0 and the origin's loss ‖X‖² = Σσᵢ²
    assert page.ladder.y_range.end == pytest.approx(1.06 * float(np.sum(SIGMA ** 2)))
    assert page.ladder.x_range.end == 2 * 4 + 0.5


def test_loss_and_product_keep_every_row_at_any_lambda():
    for loss in ("unregularized", "product"):
        page = built(loss=loss, lam=19.0)
        assert len(page.source.data["label"]) == 11 and page.gone.object == ""
        assert "nothing collapses" in text(page.survivors)


def test_csv_is_the_table_with_the_issues_headers():
    page = built(lam=3.0, loss="sum")
    page.send_csv()
    csv_text, name, count = page.table.tags
    assert csv_text == theorem.to_csv(page.table_now) and name.endswith(".csv") and count == 1
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0] == ISSUE_HEADERS
    assert len(rows) == 1 + 11 and {r[0] for r in rows[1:] if r[2] == ""} == {"{4}", "{1, 4}", "{2, 4}",
                                                                              "{3, 4}"}
    page.send_csv()
    assert page.table.tags[2] == 2  # a second click is a new download


def test_the_theorem_is_typeset_with_the_current_numbers():
    page = built()
    formula = page.theorem.object + page.theorem_numbers.object
    for piece in ("$m = 4$", "$k = 2$", r"$\sigma = (4, 3, 2, 1.5)$", r"$\lambda = 1.5$", "$m_0 = 4$",
                  r"$I = \{1, 2\}$", r"For $I = \{1, 3\}$", "$d_I = 1$", "$(k-l)(m_0-l) = (2-2)(4-2) = 0$",
                  "$1$ descending directions", "$16.5469$"):  # {1, 3}: 9 + 2.25 + (3 − 0.140625) + (3 − 0.5625)
        assert piece in formula, piece
    statement = page.theorem.object
    page.state.lam = 3.0
    assert page.theorem.object == statement and "$m_0 = 3$" in page.theorem_numbers.object


def test_symmetry_side_by_side_names_each_group():
    page = built(k=2)
    table = text(page.symmetry)
    assert table.count("GL(k), dimension 4") == 2 and "O(k), dimension 1" in table
    assert "≠ 3" in table  # L and L_π at l = 1: 2kl − l² = 3 flat directions, F_I has 2


# ----------------------------------------------------------------------------- state and URL


def test_url_round_trip_restores_the_state(monkeypatch):
    first = built(m=5, k=3, sigma="5, 4, 2.5, 1, 0.25", lam=2.25, loss="product", seed=42,
                  method="exact_untied")
    link = {name: values[-1] for name, values in parse_qs(first.url_query().removeprefix("?")).items()}
    assert link["sigma"] == "5, 4, 2.5, 1, 0.25" and link["lam"] == "2.25"
    second = with_link(monkeypatch, **link)
    assert not second.notices.items
    for name in TheoremState.URL_PARAMS:
        assert getattr(second.state, name) == getattr(first.state, name), name


def test_m_and_k_out_of_range_in_a_link_are_clamped_with_notices(monkeypatch):
    page = with_link(monkeypatch, m="99", k="7", lam="-2")
    assert (page.state.m, page.state.k, page.state.lam) == (8, 7, 0.0)
    page = with_link(monkeypatch, m="3", k="5")
    assert (page.state.m, page.state.k) == (3, 2)
    notices = [t for _, t in page.notices.items]
    assert any("'k' must be smaller than m = 3; using k = 2." in t for t in notices)
    assert page.state.sigma == "4, 3, 2"  # the default spectrum's first m values


@pytest.mark.parametrize("raw, problem", [
    ("4, 3, 2", "holds 3 values, but m = 4"),
    ("4, 3, 2, 1.5, 1", "holds 5 values, but m = 4"),
    ("3, 4, 2, 1", "descending order"),
    ("4, 0, 2, 1", "(0, 100]"),
    ("4, -3, 2, 1", "(0, 100]"),
    ("4, 3, 3, 1", "must differ"),
    ("4, three, 2, 1", "'three' is not a number"),
    ("<script>alert(1)</script>", "is not a number"),
    ("", "at least one"),
])
def test_a_bad_spectrum_gets_a_notice_naming_the_problem_and_keeps_the_state(raw, problem):
    page = built()
    before = page.source.data["loss"]
    page.spectrum_input.value = raw
    notices = [t for level, t in page.notices.items if level == "warning"]
    assert len(notices) == 1 and problem in notices[0] and "σ stays 4, 3, 2, 1.5." in notices[0]
    assert page.state.sigma == "4, 3, 2, 1.5" and page.source.data["loss"] == before
    assert "<script>" not in page.notices.pane.object  # shown as text, escaped


def test_a_good_spectrum_is_taken_exactly_and_redraws(monkeypatch):
    page = built()
    page.spectrum_input.value = "5; 2 1.25 0.5"
    assert page.state.sigma == page.spectrum_input.value == "5, 2, 1.25, 0.5"
    assert page.source.data["loss"][0] == pytest.approx(25 + 4 + 1.5625 + 0.25)  # ∅: ‖X‖² = Σσᵢ²
    assert not page.notices.items


def test_close_singular_values_draw_a_warning_and_the_table_stays():
    page = built()
    page.spectrum_input.value = "4, 3.9999999, 2, 1.5"
    assert page.state.sigma == "4, 3.9999999, 2, 1.5"  # kept exactly, not rounded to 4, 4
    warnings = [t for level, t in page.notices.items if level == "warning"]
    assert len(warnings) == 1 and "within 1e-06 relative" in warnings[0]
    assert len(page.source.data["label"]) == 11


def test_a_bad_spectrum_in_the_link_is_refused_with_a_notice(monkeypatch):
    page = with_link(monkeypatch, sigma="4, 3, 2, 1.5, 1", m="4")
    assert page.state.sigma == "4, 3, 2, 1.5"
    assert any("'sigma' in the link" in t and "holds 5 values" in t for _, t in page.notices.items)
    page = with_link(monkeypatch, sigma="nan")
    assert page.state.sigma == "4, 3, 2, 1.5" and len(page.notices.items) == 1


def test_changing_m_keeps_k_below_it_and_fits_the_spectrum():
    page = built(sigma="5, 2.5, 2, 1", k=3)
    page.state.m = 3
    assert (page.state.k, page.state.sigma) == (2, "5, 2.5, 2")
    assert page.widgets["k"].end == 2 and page.spectrum_input.value == "5, 2.5, 2"
    page.state.m = 6
    assert page.state.sigma == "5, 2.5, 2, 1.5, 1, 0.5"  # the default's smaller values follow
    assert len(page.table_now.rows) == 1 + 6 + 15  # every I with |I| ≤ 2 of 6 indices
    page.state.m = 8
    assert page.state.sigma == "5, 2.5, 2, 1.5, 1, 0.5, 0.3, 0.2"


def test_solver_choices_follow_the_loss_and_a_tied_solver_in_a_link_is_replaced(monkeypatch):
    page = built(loss="sum")
    assert list(page.method_select.options.values()) == list(theorem.ESCAPE_METHODS["sum"])
    page.state.method = "exact_tied"
    page.state.loss = "product"
    assert page.state.method == "untied_gd"
    assert list(page.method_select.options.values()) == ["untied_gd", "sync_gd", "exact_untied"]
    linked = with_link(monkeypatch, loss="unregularized", method="tied_gd")
    assert linked.state.method == "untied_gd"
    assert any("'method' tied_gd does not escape" in t for _, t in linked.notices.items)


@pytest.mark.parametrize("name, raw", [("lam", "nan"), ("m", "1e400"), ("k", "abc"), ("seed", "-5"),
                                       ("loss", "<b>x</b>"), ("method", "newton")])
def test_hostile_query_values_are_refused_with_a_notice(name, raw):
    st = TheoremState()
    values, notices = query.parse(st, st.URL_PARAMS, {name: [raw.encode()]})
    assert notices
    page = TheoremPage(sync_url=False, **values)
    page.build()
    assert all(level != "error" for level, _ in page.notices.items)


# ----------------------------------------------------------------------------- escape and sweep


def tick_to_the_end(page, limit=2000):
    for _ in range(limit):
        if page.escape_steps is None:
            return
        page.escape_tick()
    raise AssertionError("the escape did not finish")


@pytest.mark.parametrize("loss, method", [("sum", "untied_gd"), ("sum", "exact_tied"),
                                          ("product", "exact_untied"), ("unregularized", "sync_gd")])
def test_clicking_a_saddle_escapes_to_the_global_minimum(callbacks, loss, method):
    page = built(loss=loss, method=method)
    start = page.source.data["label"].index("{2, 4}")
    page.source.selected.indices = [start]
    assert page.chosen == (1, 3) and ("started", page_module.ESCAPE_PERIOD_MS) in callbacks
    assert r"For $I = \{2, 4\}$" in page.theorem_numbers.object
    tick_to_the_end(page)
    assert callbacks[-1] == "stopped" and not page.progress_shown
    status = text(page.escape_status)
    assert "ended on {1, 2} — the global minimum" in status and "It reached the global minimum." in status
    run = page.run_source.data
    assert run["iteration"] == list(range(len(run["loss"])))
    assert run["loss"][0] < page.source.data["loss"][start]  # the push went downhill
    assert run["loss"][-1] == pytest.approx(min(page.source.data["loss"]), rel=1e-8)
    assert page.ends.data["color"] == [page_module.START_COLOR, page_module.MIN_COLOR]


def test_over_regularized_escape_ends_at_the_best_surviving_manifold(callbacks):
    page = built(loss="sum", k=3, lam=5.0, method="exact_untied")  # m₀ = 2 < k = 3
    page.source.selected.indices = [page.source.data["label"].index("{2}")]
    tick_to_the_end(page)
    assert "It reached the best surviving manifold." in text(page.escape_status)


def test_a_change_of_lambda_stops_the_escape_and_clears_it(callbacks):
    page = built(m=8, k=4, loss="unregularized")
    page.source.selected.indices = [0]
    assert page.escape_steps is not None and page.progress_shown and page.run_button.label == "■ Stop"
    assert "Escaping from ∅" in text(page.escape_status)
    page.state.lam = 2.0
    assert page.escape_steps is None and callbacks[-1] == "stopped"
    assert page.run_source.data["loss"] == [] and page.chosen is None and not page.progress_shown
    assert "click a row to escape again" in text(page.escape_status)
    assert page.run_button.disabled and page.run_button.label == "▶ Run again"


def test_a_new_solver_reruns_the_escape_from_the_chosen_row(callbacks):
    page = built(loss="sum")
    page.source.selected.indices = [page.source.data["label"].index("{3}")]
    tick_to_the_end(page)
    assert "untied_gd ended on {1, 2}" in text(page.escape_status)
    page.method_select.value = "exact_sync"
    assert page.state.method == "exact_sync" and callbacks.count("stopped") >= 2
    tick_to_the_end(page)
    assert "exact_sync ended on {1, 2}" in text(page.escape_status)


def test_each_escape_tick_holds_the_server_briefly(callbacks):
    """m = 8, k = 4, L from the origin: thousands of steps, each tick at most its slice."""
    import time

    page = built(m=8, k=4, loss="unregularized")
    page.source.selected.indices = [0]
    longest = 0.0
    while page.escape_steps is not None:
        started = time.perf_counter()
        page.escape_tick()
        longest = max(longest, time.perf_counter() - started)
    assert "the global minimum" in text(page.escape_status)
    assert longest < 0.25  # the slice (30 ms) plus one chunk and the drawing, with room for a busy machine


def test_sweep_runs_lambda_across_every_sigma_squared_and_rows_vanish(callbacks):
    page = built(loss="sum", lam=2.0)
    page.start_sweep(now=100.0)
    assert page.state.lam == 0.0 and page.sweep_button.label.startswith("■")
    counts = []
    for t in np.linspace(100.0, 100.0 + page_module.SWEEP_SECONDS + 0.5, 60):
        page.sweep_tick(now=t)
        counts.append(len(page.source.data["label"]))
    assert page.state.lam == pytest.approx(1.1 * 16) and page.sweep_callback is None
    assert counts == sorted(counts, reverse=True) and counts[0] == 11 and counts[-1] == 1
    assert set(counts) == {11, 7, 4, 2, 1}


def test_moving_lambda_by_hand_stops_the_sweep(callbacks):
    page = built()
    page.start_sweep(now=0.0)
    page.state.lam = 3.3
    assert page.sweep_callback is None and page.sweep_button.label == "▶ Sweep λ"


def test_reroll_draws_a_new_seed_and_new_points():
    page = built()
    before = (page.state.seed, page.source.data["gap"])
    page.reroll_seed()
    assert page.state.seed != before[0]
    assert page.source.data["loss"] == pytest.approx(built().source.data["loss"])  # losses: only σ, λ
    assert page.table_now.seed == page.state.seed


def test_compact_view_is_the_ladder_with_lambda_beside_a_narrow_table():
    page = built()
    view = page.compact()
    tables = [obj.object for obj in view.select(page_module.pn.pane.Bokeh) if isinstance(obj.object, DataTable)]
    assert len(tables) == 1 and tables[0].source is page.source
    assert [c.title for c in tables[0].columns] == ["I", "loss", "descending (theorem)", "descending (measured)"]
    assert page.widgets["lam"] in view.select(page_module.pn.widgets.Widget)
    page.source.selected.indices = [3]  # a tap on the ladder: the compact view starts no escape
    assert page.escape_steps is None and page.chosen is None
