"""The PCA page without a browser: its runs in the worker process (the shared default run, a run
of the controls' settings, Cancel, a visitor who leaves), the tables for a fixed seed, the
pictures' numbers, the URL, and every kind of bad upload.

Expected values come from independent constructions written here: scikit-learn's ``PCA`` of the
digits, Petrevski's construction (its exact directions and σᵢ = (21 − i)/5), NumPy's SVD of the
decoder a picture shows, and the paper's m₀ = #{σᵢ² > λ_σ}.
"""

from __future__ import annotations

import html
import io
import re
import time

import numpy as np
import panel as pn
import pytest

from app.pages import pca as page_module
from app.pages.pca import PCAPage, PCAState
from lae_core import solvers

pytestmark = pytest.mark.timeout(600)

OVER = dict(data="over-regularized", k=4, lam=2.0, max_iter=400)   # m₀ = #{σᵢ² > 2} = 13 ≥ k


def text(pane) -> str:
    """The visible text of an HTML pane (tags dropped, entities read)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", pane.object or ""))


def table_rows(pane) -> list[list[str]]:
    """An HTML table's body rows as lists of cell texts."""
    body = pane.object.split("<tbody>")[1]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def finish(page: PCAPage, timeout: float = 400.0) -> PCAPage:
    """Poll the page (as its periodic callback would) until the run it shows has ended."""
    deadline = time.monotonic() + timeout
    while page.job is not None:
        page.poll()
        assert time.monotonic() < deadline, f"the run did not end: {page.status.object}"
        time.sleep(0.05)
    return page


def opened(**state) -> PCAPage:
    page = PCAPage(sync_url=False, **state)
    page.build()
    return page


def ran(**state) -> PCAPage:
    """A page whose controls are ``state``, after a fresh Run of them."""
    page = finish(opened(**state))
    page.run()
    return finish(page)


@pytest.fixture(scope="module")
def default_page():
    return finish(opened())


@pytest.fixture(scope="module")
def over_page():
    return ran(**OVER)


# --------------------------------------------------------------------------- opening


def test_the_page_opens_on_the_shared_default_run_and_a_second_visitor_gets_it_drawn_at_once(default_page):
    assert default_page.result["state"] == "done" and not default_page.stale()
    started = time.perf_counter()
    second = opened()
    assert second.result is not None and second.result["state"] == "done"
    assert second.result["data"] is default_page.result["data"]   # the very same run, computed once
    assert time.perf_counter() - started < 30
    drawn = {m: len(second.sources[m].data["iteration"]) for m in solvers.METHODS}
    assert all(n > 10 for n in drawn.values()), drawn


def test_the_drawn_page_passes_bokehs_checks_and_needs_no_webgl(default_page):
    """With its run drawn (eigen-digits, heat map, embedding), not only as it opens."""
    from bokeh.core.validation import check_integrity
    from bokeh.document import Document
    from bokeh.embed.bundle import _use_gl, _use_mathjax

    page = PCAPage(sync_url=False)
    doc = Document()
    page.view().server_doc(doc)
    assert page.result is not None and page.result["state"] == "done"
    images = [m for m in doc.models if type(m).__name__ == "Image"]
    assert len(images) >= 2, "the eigen-digits and the heat map are in the document"
    issues = check_integrity(list(doc.models))
    assert [f"{i.code} {i.name}" for i in issues.error + issues.warning] == []
    assert not _use_gl(set(doc.models)) and not _use_mathjax(set(doc.models))


def test_the_default_is_digits_k8_at_sigma8_squared_over_4(default_page):
    d = default_page.result["data"]
    assert (d["kind"], d["m"], d["n"], d["k"], d["loss"]) == ("digits", 64, 1797, 8, "sum")
    assert d["lam"] == pytest.approx(d["eigenvalues"][7] / 4, rel=1e-2) and PCAState().lam == d["lam"]


# --------------------------------------------------------------------------- the race


def test_every_solver_races_to_pcas_directions_beside_the_svds(default_page):
    result = default_page.result
    for method in solvers.METHODS:
        race = result["races"][method]
        assert race["status"] == "converged", (method, race["message"])
        assert float(race["last"]["angle"][0]) < 1e-6 and float(race["last"]["eigen"][0]) < 1e-9
        drawn = default_page.sources[method].data
        assert drawn["iteration"][-1] == race["iterations"]
        assert np.all(np.diff(drawn["seconds"]) >= 0)
    ref = result["reference"]["methods"]
    assert set(ref) == {"numpy.linalg.svd", "sklearn randomized_svd"}
    assert ref["numpy.linalg.svd"]["angle"] < 1e-12 and ref["sklearn randomized_svd"]["angle"] < 0.1
    assert [round(s, 6) for s in default_page.references.data["seconds"]] == \
           [round(ref[name]["seconds"], 6) for name in ref]
    rows = table_rows(default_page.race_table)
    assert [r[0] for r in rows] == ["NumPy SVD (the reference)", "scikit-learn randomized SVD",
                                    *(page_module.LABELS[m] for m in solvers.METHODS)]


def test_the_error_shown_switches_every_line_and_the_axis(default_page):
    page = default_page
    for metric in ("angle", "eigen", "authors"):
        page.state.metric = metric
        assert all(a.glyph.y == b.glyph.y == metric for a, b in page.lines.values())
        assert page.iter_fig.yaxis.axis_label == page_module.METRIC_NAMES[metric]
        assert page.y_range.start > 0 and page.y_range.end > page.y_range.start


# --------------------------------------------------------------------------- the tables


def test_the_digits_table_has_pcas_variances_and_lsigma_reads_them_back(default_page):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    raw = load_digits().data
    n = raw.shape[0]
    variances = PCA(n_components=8).fit(raw).explained_variance_ * (n - 1) / n   # our X Xᵀ is the 1/n covariance
    rows = table_rows(default_page.directions)
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    np.testing.assert_allclose([float(r[1]) for r in rows], variances, rtol=1e-5)
    np.testing.assert_allclose([float(r[3]) for r in rows], variances, rtol=1e-5)
    assert all(float(r[2]) > 1 - 1e-9 for r in rows)
    assert min(float(r[5]) for r in rows) < page_module.MIXED        # L: a mix of the components
    assert "Only L_σ learned the directions" in text(default_page.directions_words)


def test_the_directions_table_for_a_fixed_seed_is_petrevskis_spectrum_and_repeats(over_page):
    sigma2 = ((21 - np.arange(1, 5)) / 5.0) ** 2                      # 16, 14.44, 12.96, 11.56
    rows = table_rows(over_page.directions)
    np.testing.assert_allclose([float(r[1]) for r in rows], sigma2, rtol=1e-5)
    np.testing.assert_allclose([float(r[3]) for r in rows], sigma2, rtol=1e-5)
    assert all(abs(float(r[2]) - 1) < 1e-8 for r in rows)
    assert min(float(r[5]) for r in rows) < page_module.MIXED
    table = over_page.result["table"]
    assert table["unregularized"]["angle"] < 1e-6                    # L learned the subspace
    again = ran(**OVER)
    assert again.directions.object == over_page.directions.object     # the same seed: the same table
    other = ran(**{**OVER, "seed": 1})
    assert table_rows(other.directions) != rows                      # another start, another mix


# --------------------------------------------------------------------------- the pictures


def test_eigen_digits_pair_pcas_images_with_the_decoders_sign_aligned_directions(default_page):
    page = default_page
    method = page._decoder_method()
    assert method == "untied_gd"
    element, angles = page_module.eigen_element(page.result, method)
    U = page.result["reference"]["directions"]
    W2 = page.result["races"][method]["W2"]
    Uh = np.linalg.svd(W2, full_matrices=False)[0]
    for i in range(8):
        independent = np.arccos(min(1.0, abs(float(Uh[:, i] @ U[:, i]))))
        assert angles[i] == pytest.approx(independent, abs=1e-7) and angles[i] < 1e-6
    # the picture, top row first: PCA's uᵢ over the decoder's ûᵢ, each signed to agree with uᵢ
    image = np.flipud(element.get(0).dimension_values(2, flat=False))
    for i in range(8):
        aligned = Uh[:, i] * np.sign(Uh[:, i] @ U[:, i])
        np.testing.assert_allclose(image[0:8, 9 * i: 9 * i + 8], U[:, i].reshape(8, 8), atol=1e-12)
        np.testing.assert_allclose(image[9:17, 9 * i: 9 * i + 8], aligned.reshape(8, 8), atol=1e-9)
    assert np.isnan(image[8]).all() and np.isnan(image[:, 8]).all()
    assert page.eigen_pane.object is not None
    assert "learned the principal directions themselves" in text(page.eigen_words)


def test_the_mosaic_puts_each_direction_in_its_tile():
    U = np.arange(2 * 4 * 3, dtype=float).reshape(2 * 4, 3)
    shape = (2, 4)
    image = page_module.mosaic([U, -U, U], lambda v: v.reshape(shape), shape, hgap=1, vgap=1, label_gap=2)
    assert image.shape == (2 * 3 + 1 + 3, 3 * 5 - 1)
    np.testing.assert_array_equal(image[0:2, 5:9], U[:, 1].reshape(shape))
    np.testing.assert_array_equal(image[3:5, 10:14], -U[:, 2].reshape(shape))
    assert np.isnan(image[2]).all() and np.isnan(image[5:8]).all() and np.isnan(image[:, 4]).all()


def test_the_unregularized_decoders_directions_are_a_mix(over_page):
    page = ran(**{**OVER, "loss": "unregularized", "methods": ["untied_gd"]})
    element, angles = page_module.eigen_element(page.result, "untied_gd")
    assert max(angles) > 0.05
    assert "no principal directions" in text(page.eigen_words)
    assert "collapses no direction" in text(page.heat_words)


def test_the_heat_map_shows_the_noise_block_and_the_synthetic_loss_removes_it():
    common = dict(data="over-regularized", k=8, lam=10.0, max_iter=3000, methods=["exact_sync"], decoder="exact_sync")
    sigma2 = ((21 - np.arange(1, 21)) / 5.0) ** 2
    assert int(np.sum(sigma2 > 10.0)) == 5                             # m₀ of the sum loss
    page = ran(**common)
    _, heat, m0 = page_module.alignment_element(page.result, "exact_sync")
    assert m0 == 5 and heat.shape == (8, 16)
    np.testing.assert_allclose(np.diag(heat)[:5], 1.0, atol=1e-6)
    assert np.diag(heat)[5:].min() < 0.99                            # the 3 × 3 block is noise
    assert "m₀ = #{i : σᵢ² > λ_σ} = 5 < k = 8" in text(page.heat_words)
    page.state.param.update(loss="synthetic", w_sigma=0.12)          # λ_σ = 1.2: m₀ = 15 ≥ k
    assert page.stale()
    page.run()
    finish(page)
    _, heat, m0 = page_module.alignment_element(page.result, "exact_sync")
    assert m0 == 15
    np.testing.assert_allclose(np.diag(heat), 1.0, atol=1e-6)


def test_the_transpose_gap_closes_for_the_sum_loss_and_not_for_a_small_w_sigma(default_page):
    curves = default_page.result["gaps"]["curves"]
    assert [(c["kind"], c["w_sigma"]) for c in curves] == [("sum", None), ("synthetic", 0.5), ("synthetic", 0.05),
                                                           ("synthetic", 0.005)]
    final = [float(c["gap"][-1]) for c in curves]
    assert final[0] < 1e-6 and final[3] > 1e-3 and final[3] > 100 * final[0]
    assert [len(s.data["gap"]) for s in default_page.gap_sources] == [len(c["gap"]) for c in curves]


def test_the_embedding_colours_the_digits_and_lae_pca_lands_on_pca(default_page):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    emb = default_page.result["embedding"]
    raw = load_digits()
    scores = PCA(n_components=2).fit_transform(raw.data).T               # sklearn's own scores
    for key in ("pca", "lae"):
        ours = emb[key].astype(float)
        for i in range(2):                                                # up to the sign of each axis
            assert min(np.abs(ours[i] - scores[i]).max(), np.abs(ours[i] + scores[i]).max()) < 1e-2
    np.testing.assert_allclose(emb["lae"], emb["pca"], atol=1e-3)
    src = default_page.embed_sources["pca"].data
    assert len(src["x"]) == 1797 and len(set(src["color"])) == 10 and set(src["label"]) == {str(d) for d in range(10)}
    assert "colour = label" in default_page.embed_words.object


# --------------------------------------------------------------------------- runs and controls


def test_a_control_change_marks_the_shown_run_stale_until_run():
    page = finish(opened(**OVER))
    page.run()
    finish(page)
    assert not page.stale()
    page.state.k = 3
    assert page.stale() and "press Run" in text(page.shown)
    page.run()
    finish(page)
    assert not page.stale() and page.result["data"]["k"] == 3 and table_rows(page.directions)[-1][0] == "3"


def test_a_control_moved_before_the_runs_first_numbers_arrive_stands():
    """The run's first part sets the state to what it uses (k lowered to the rank, the data's
    λ), but not over a control the visitor moved after asking for it."""
    page = finish(opened(**OVER))
    page.run()
    page.state.k, page.state.lam = 3, 2.5          # before the page has polled the run at all
    finish(page)
    assert (page.state.k, page.state.lam) == (3, 2.5)
    assert (page.result["data"]["k"], page.result["data"]["lam"]) == (OVER["k"], OVER["lam"])
    assert page.stale() and "press Run" in text(page.shown)


def test_choosing_another_data_set_runs_it_at_its_default_lambda():
    page = finish(opened())
    page.state.data = "over-regularized"
    assert page.job is not None                                           # it runs at once
    finish(page)
    d = page.result["data"]
    assert (d["kind"], d["m"], d["lam"]) == ("over-regularized", 20, page_module.OVER_LAM)
    assert page.state.lam == page_module.OVER_LAM


def test_a_run_without_a_solver_is_refused_with_a_notice():
    page = finish(opened(**OVER))
    page.state.methods = []
    page.run()
    assert page.job is None and any("at least one solver" in t for _, t in page.notices.items)


def test_cancel_stops_the_run_and_the_session_keeps_working():
    page = finish(opened(**OVER))
    page.state.param.update(max_iter=50_000, tol=1e-12, methods=["untied_gd"], loss="unregularized")
    page.run()
    job = page.job
    deadline = time.monotonic() + 120
    while not job.parts and time.monotonic() < deadline:                  # it has started
        page.poll()
        time.sleep(0.05)
    page.cancel()
    assert page.job is None and "Cancelled" in text(page.status) and page.cancel_button.disabled
    assert job.finished.wait(60) and job.state == "cancelled"             # the worker stopped it
    page.state.param.update(max_iter=300, loss="sum")
    page.run()
    finish(page)
    assert page.result["state"] == "done" and page.result["races"]["untied_gd"]["iterations"] <= 300


def test_a_visitor_who_leaves_stops_their_run(monkeypatch):
    destroyed = []

    class FakeDoc:
        session_context = object()

        def on_session_destroyed(self, callback):
            destroyed.append(callback)

        def add_timeout_callback(self, callback, delay):
            pass

    class FakeCallback:
        def stop(self):
            pass

    monkeypatch.setattr(type(page_module.pn.state), "curdoc", property(lambda self: FakeDoc()))
    monkeypatch.setattr(type(page_module.pn.state), "session_args", property(lambda self: {}))
    monkeypatch.setattr(page_module.pn.state, "add_periodic_callback", lambda cb, period: FakeCallback())
    page = PCAPage(**{**OVER, "max_iter": 50_000, "tol": 1e-12, "loss": "unregularized", "methods": ["untied_gd"],
                      "seed": 77})  # a long run nobody else shares
    page.build()
    job = page.job
    assert job.viewers == 1 and destroyed
    for callback in destroyed:
        callback(None)
    assert job.finished.wait(60) and job.state == "cancelled" and job.viewers == 0


def test_k_above_the_datas_rank_is_lowered_with_a_notice():
    page = finish(opened(**OVER))
    page._uploaded(type("Event", (), {"new": b"1,2,3\n4,5,7\n1,0,1\n2,2,2\n"})())
    finish(page)
    assert page.result["data"]["k"] == 3 and page.state.k == 3
    assert any("more than the data's rank" in t for _, t in page.notices.items)


# --------------------------------------------------------------------------- uploads

def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


BAD_FILES = [
    ("words.csv", b"a,b,c\n1,2,3\n", "not a number"),
    ("nan.csv", b"1,2\n3,nan\n5,6\n", "finite"),
    ("inf.csv", b"1,2\ninf,4\n5,6\n", "finite"),
    ("ragged.csv", b"1,2,3\n4,5\n6,7,8\n", "same number of columns"),
    ("one-row.csv", b"1,2,3\n", "at least 2 samples"),
    ("junk.bin", bytes(range(256)) * 8, "binary"),
    ("big.csv", b"1," * (10 * 1024 * 1024), "too big"),
    ("wide.csv", (",".join(["1"] * 1001) + "\n") * 2, "too big"),
    ("pickled.npy", _npy(np.array([{"a": 1}], dtype=object)), "pickle"),
    ("empty.csv", b"", "empty"),
    ("constant.csv", b"1,2\n1,2\n1,2\n", "constant"),
]


@pytest.mark.parametrize("name, data, words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_upload_gets_a_notice_saying_what_is_wrong_and_the_last_good_data_stays(name, data, words):
    page = finish(opened(**OVER))
    good = b"1,2,3\n2,1,0\n3,5,1\n0,0,2\n5,1,1\n"
    page.upload_input.param.update(filename="good.csv", value=good)
    finish(page)
    assert page.result["data"]["kind"] == "upload" and page.result["data"]["name"] == "good.csv"
    before = page.result
    data = data.encode() if isinstance(data, str) else data
    page.upload_input.param.update(filename=name, value=data)
    finish(page)
    notices = [t for level, t in page.notices.items]
    assert any(words in t and "The last good data is kept" in t for t in notices), notices
    assert page.result is before and page.state.data == "upload" and page.upload == ("good.csv", good)
    assert "did not start" in text(page.status)


def test_a_run_that_ended_before_the_page_watched_it_is_drawn_at_once():
    """A refused file fails in the worker within milliseconds, possibly before the page starts
    polling: the page draws the end it finds, with no poll needed."""
    page = finish(opened(**OVER))
    spec = {**page_module.run_spec(page.state), "data": "upload", "upload": ("one.csv", b"1,2\n"), "lam": None}
    job = page_module.Job(-1, spec)
    job._end("failed", "The file 'one.csv' has 1 row(s); PCA needs at least 2 samples (rows)")
    page._attach(job)
    assert page.job is None and page.poll_callback is None
    assert any("one.csv" in t and "The last good data is kept" in t for _, t in page.notices.items)
    assert "did not start" in text(page.status)


def test_a_good_upload_is_raced_like_the_built_in_data_and_runs_again():
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(200, 6)) * np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    data = "\n".join(",".join(f"{x:.6f}" for x in row) for row in samples).encode()
    page = finish(opened(**OVER))
    page.upload_input.param.update(filename="mine.csv", value=data)
    finish(page)
    d = page.result["data"]
    assert (d["kind"], d["m"], d["n"], d["k"]) == ("upload", 6, 200, 4) and page.state.data == "upload"
    centred = samples - samples.mean(axis=0)
    expected = np.linalg.eigvalsh(centred.T @ centred / 200)[::-1]
    np.testing.assert_allclose(d["eigenvalues"], expected, rtol=1e-5)
    assert d["lam"] == pytest.approx(expected[3] / 4, rel=1e-2)
    assert page.upload_input.value is None                               # the bytes live on in one place only
    page.state.k = 2
    page.run()                                                            # the same upload, again
    finish(page)
    assert page.result["data"]["kind"] == "upload" and page.result["data"]["k"] == 2


def test_choosing_your_own_data_without_a_file_keeps_the_data():
    page = finish(opened(**OVER))
    page.state.data = "upload"
    assert page.state.data == "over-regularized" and page.job is None
    assert any("Upload a file first" in t for _, t in page.notices.items)


def test_a_link_cannot_name_uploaded_data(monkeypatch):
    from app import query

    values, notices = query.parse(PCAState(), PCAState.URL_PARAMS, {"data": [b"upload"], "k": [b"3"]})
    assert values == {"data": "upload", "k": 3} and not notices
    page = PCAPage(sync_url=False, **values)
    assert page.state.data == "digits"
    assert any("not part of a link" in t for _, t in page.notices.items)


def test_the_url_holds_every_control_and_reads_back():
    from app import query

    st = PCAState(k=5, lam=3.5, loss="synthetic", w_sigma=0.05, methods=["tied_gd", "exact_sync"],
                  variants=["exact_tied_averaged"], tol=1e-8, metric="angle", decoder="tied_gd", seed=3,
                  data="over-regularized", max_iter=700)
    encoded = query.encode(st, PCAState.URL_PARAMS)
    values, notices = query.parse(PCAState(), PCAState.URL_PARAMS, {k: [v.encode()] for k, v in encoded.items()})
    assert not notices
    back = PCAState(**values)
    assert all(getattr(back, n) == getattr(st, n) for n in PCAState.URL_PARAMS)
    assert back.solvers() == ("tied_gd", "exact_sync", "exact_tied_averaged")


def test_compact_view_is_data_loss_and_run_over_the_race_and_the_eigen_digits(default_page):
    page = opened()
    view = page.compact()
    assert page.iter_pane in view.select(type(page.iter_pane)) and page.eigen_pane in view.select(type(page.eigen_pane))
    assert page.run_button in view.select(type(page.run_button))


def test_rows_that_arrived_between_two_reads_reach_each_line_as_one_stream():
    def rows(method, *iterations):
        return ("rows", {"method": method, "iteration": np.array(iterations, dtype=np.int32),
                         "angle": np.array([0.5 ** i for i in iterations], dtype=np.float32)})

    merged = page_module.merge_rows([rows("untied_gd", 0, 1), rows("untied_gd", 2, 3), ("progress", (0.1, "racing")),
                                     rows("untied_gd", 4), rows("sync_gd", 0), rows("sync_gd", 1, 2)])
    assert [name for name, _ in merged] == ["rows", "progress", "rows", "rows"]
    first, _, after, other = (payload for _, payload in merged)
    assert first["method"] == "untied_gd" and first["iteration"].tolist() == [0, 1, 2, 3]
    assert first["angle"].tolist() == [1.0, 0.5, 0.25, 0.125] and first["angle"].dtype == np.float32
    assert after["iteration"].tolist() == [4]
    assert other["method"] == "sync_gd" and other["iteration"].tolist() == [0, 1, 2]


def test_a_run_is_read_ten_times_a_second_for_its_first_second_of_running_then_at_the_steady_pace():
    """The first second counts from the run's start, not from its wait in the worker's queue:
    its first rows show at once however long it waited."""
    page = finish(opened(**OVER))
    job = page_module.Job(-5, page_module.run_spec(page.state))
    page.job, page.cursor = job, 0
    page.poll_callback = callback = pn.state.add_periodic_callback(lambda: None, period=page_module.POLL_MS,
                                                                    start=False)
    page._polling_since = time.monotonic() - 10.0      # it has waited its turn for ten seconds
    page.poll()
    assert job.state == "queued" and callback.period == page_module.POLL_MS
    job._add("progress", (0.1, "racing"))             # it runs
    page.poll()
    assert callback.period == page_module.POLL_MS      # its first second
    page._polling_since -= page_module.POLL_FAST_S
    page.poll()
    assert callback.period == page_module.POLL_STEADY_MS
    page.job, page.poll_callback = None, None
