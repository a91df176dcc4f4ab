"""The PCA page in Chromium (issue #20): open /pca, run the default race and see it drawn with the
eigen-digit pairs, upload a bad CSV and read the notice (and a good one is raced), cancel a long
run and keep working, and the embed form fits a 16:9 iframe.
"""

from __future__ import annotations

import re
import time

import pytest

from app.shell import EMBED_SIZE
from tests.e2e.conftest import wait_until
from tests.e2e.test_embed_lecture import OVERFLOW_JS, frame_ready, iframe_snippet
from tests.e2e.test_smoke import DRAWN_CANVASES

pytestmark = pytest.mark.timeout(400)

#: JavaScript: the rows drawn of each race line (its source's "iteration" column), by source id
RACE_ROWS_JS = """() => Object.fromEntries([...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'ColumnDataSource' && 'authors' in m.data && 'iteration' in m.data)
    .map(m => [m.id, m.data.iteration.length]))"""
#: JavaScript: the texts HoloViews' labels show (the angle under each eigen-digit pair)
LABEL_TEXTS_JS = """() => [...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'ColumnDataSource' && 'text' in m.data).map(m => Array.from(m.data.text))"""
#: JavaScript: the image the eigen-digits are drawn as (its shape), if any
IMAGE_SHAPES_JS = """() => [...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'ColumnDataSource' && 'image' in m.data)
    .map(m => { const im = m.data.image[0]; return im && im.shape ? Array.from(im.shape) : null; })"""


def status(app) -> str:
    return app.shown_text(".run-status .status-text")


def wait_status(app, *starts: str, timeout: float = 300) -> None:
    """Wait for the run's status line to start with one of ``starts`` (saying where it is if not)."""
    try:
        app.wait_until(lambda: status(app).startswith(starts), timeout=timeout)
    except AssertionError:
        raise AssertionError(f"waited for {starts}: the status is {status(app)!r}, the notices "
                             f"{app.notices()}\n{app.server.log()[-2000:]}") from None


def wait_done(app, timeout: float = 300) -> None:
    wait_status(app, "Done", timeout=timeout)


def angle_labels(app) -> list[str]:
    """The texts under the eigen-digit pairs: "i: θ" for each of the k pairs."""
    for texts in app.page.evaluate(LABEL_TEXTS_JS):
        if texts and all(re.fullmatch(r"\d+: \d\.\d+(e-\d+)?", t) for t in texts):
            return texts
    return []


def test_the_default_race_runs_and_draws_eigen_digit_pairs(app):
    app.page.set_viewport_size({"width": 1280, "height": 800})
    app.open("/pca", timeout=60)
    wait_done(app)                                       # the shared default run, drawn
    assert app.wait_until(lambda: app.page.evaluate(DRAWN_CANVASES) >= 4)
    before = app.page.evaluate(RACE_ROWS_JS)
    assert sum(1 for n in before.values() if n > 10) == 6, before   # the authors' six solvers

    app.page.locator(".run-button button").click()
    started = time.monotonic()
    # a fresh run: the lines start over and fill again, the status says so as it goes
    app.wait_until(lambda: not status(app).startswith("Done"), timeout=30)
    wait_done(app)
    after = app.page.evaluate(RACE_ROWS_JS)
    assert sum(1 for n in after.values() if n > 10) == 6, after
    assert time.monotonic() - started < 300

    pairs = app.wait_until(lambda: angle_labels(app), timeout=30)
    assert [p.split(":")[0] for p in pairs] == [str(i) for i in range(1, 9)]
    assert all(float(p.split(": ")[1]) < 1e-3 for p in pairs)         # L_σ: ûᵢ = uᵢ
    shapes = [s for s in app.page.evaluate(IMAGE_SHAPES_JS) if s]
    assert any(s[1] == 8 * 9 - 1 for s in shapes), shapes              # 8 tiles of 8 pixels, 1 apart
    assert "learned the principal directions themselves" in app.shown_text(".eigen-words .words-text")
    assert "Only L_σ learned the directions" in app.shown_text(".directions-words .words-text")
    app.assert_clean()


def test_a_bad_csv_is_refused_in_a_notice_and_a_good_one_is_raced(app, tmp_path):
    app.open("/pca?data=over-regularized&k=4&lam=2&max_iter=300", timeout=60)
    wait_done(app)
    bad = tmp_path / "ragged.csv"
    bad.write_text("1,2,3\n4,5\n6,7,8\n")
    app.page.locator(".upload-input input[type=file]").set_input_files(str(bad))
    try:
        notices = app.wait_until(lambda: [n for n in app.notices() if "ragged.csv" in n], timeout=120)
    except AssertionError:
        raise AssertionError(f"no notice about ragged.csv: {app.notices()}, status {status(app)!r}\n"
                             f"{app.server.log()[-2000:]}") from None
    assert "row 2 has 2 values but row 1 has 3" in notices[0] and "The last good data is kept" in notices[0]
    assert "over-regularized" in app.shown_text(".shown-settings .shown-text")      # the data stays

    good = tmp_path / "mine.csv"
    good.write_text("\n".join(f"{i},{(i * 7) % 5},{(i * i) % 11}" for i in range(40)))
    app.page.locator(".upload-input input[type=file]").set_input_files(str(good))
    app.wait_until(lambda: "mine.csv (m = 3, n = 40)" in app.shown_text(".shown-settings .shown-text"), timeout=120)
    wait_done(app)
    assert app.query().get("data") == "upload"
    app.assert_clean()


def test_cancel_stops_a_long_run_and_the_page_keeps_working(app):
    # a run nobody else has, so it starts on opening, and long enough (20 s on an idle machine)
    # that it is still running when a slow page has loaded and shows it running
    app.open("/pca?data=digits&k=8&loss=unregularized&methods=untied_gd,sync_gd&max_iter=50000&tol=1e-12"
             "&seed=91", timeout=60)
    wait_status(app, "Running", timeout=120)
    app.page.locator(".cancel-button button").click()
    wait_status(app, "Cancelled", timeout=30)
    slider = app.slider("k (directions)")
    box = slider.locator(".noUi-target").bounding_box()
    app.page.mouse.click(box["x"] + 0.15 * box["width"], box["y"] + box["height"] / 2)
    app.wait_until(lambda: app.query().get("k") not in (None, "8"), timeout=30)
    app.wait_until(lambda: "press Run" in app.shown_text(".shown-settings .shown-text"))
    app.page.locator(".run-button button").click()
    wait_status(app, "Running", "Waiting", "Starting", timeout=30)
    app.page.locator(".cancel-button button").click()
    wait_status(app, "Cancelled", timeout=30)
    app.assert_clean()


#: JavaScript: from now on, log when rows are streamed to a race line, as [message, page time
#: in ms]: the number of the server's message that brought them (one read sends one message)
LOG_STREAMS_JS = """() => { window.__streams = []; const doc = Bokeh.documents[0]; let message = 0;
    const apply = doc.apply_json_patch.bind(doc);
    doc.apply_json_patch = (...args) => { message += 1; return apply(...args); };
    doc.on_change((ev) => { if (ev.kind === 'ColumnsStreamed' && 'authors' in ev.model.data)
        window.__streams.push([message, performance.now()]); }); }"""


def test_a_long_race_streams_its_rows_at_a_steady_pace_after_its_first_second(app):
    """Ten reads a second for the first second (the first rows show at once), then one each
    POLL_STEADY_MS: every read repaints both race plots in the visitor's browser."""
    from app.pages.pca import POLL_FAST_S, POLL_MS, POLL_STEADY_MS

    # a run nobody else has, so it starts on opening, and that races for ~16 s on an idle machine
    # (two solvers): it still races 5 s after a slow page has loaded
    app.open("/pca?data=digits&k=8&loss=unregularized&methods=untied_gd,sync_gd&max_iter=50000&tol=1e-12"
             "&seed=77", timeout=60)
    app.page.evaluate(LOG_STREAMS_JS)
    wait_status(app, "Running: racing", timeout=120)
    wait_until(lambda: len(app.page.evaluate("() => window.__streams")) >= 2, timeout=30)
    first = app.page.evaluate("() => window.__streams[0][1]")
    time.sleep(POLL_FAST_S + 4.0)
    assert status(app).startswith("Running: racing"), status(app)  # still racing: every read brings rows
    times = app.page.evaluate("() => window.__streams")
    # a read brings each line's new rows in one message (two lines', when one solver ends and
    # the next starts): a read's time is its message's first stream
    reads = [t for i, (message, t) in enumerate(times) if i == 0 or message != times[i - 1][0]]
    steady = [t for t in reads if t >= first + 1000 * POLL_FAST_S + POLL_STEADY_MS]
    gaps = [b - a for a, b in zip(steady, steady[1:])]
    assert len(gaps) >= 4, times  # the curves keep moving …
    # … at the steady pace, not every POLL_MS: counted as a rate, since the callback keeps its
    # schedule, so a read that runs late (a solver's end draws its decoder) is followed by the
    # next one on time, sooner than a period after it
    assert (steady[-1] - steady[0]) / len(gaps) >= 0.75 * POLL_STEADY_MS, gaps
    assert sorted(gaps)[len(gaps) // 2] <= POLL_STEADY_MS + 4 * POLL_MS, gaps
    app.page.locator(".cancel-button button").click()
    wait_status(app, "Cancelled", timeout=30)
    app.assert_clean()


def test_the_embed_fits_a_16_9_iframe_without_scrollbars(app):
    page = app.page
    page.set_viewport_size({"width": 1100, "height": 700})
    page.set_content(iframe_snippet(f"{app.server.url}/pca?embed=true"))
    inner = next(f for f in page.frames if f is not page.main_frame)
    wait_until(lambda: frame_ready(inner), page, timeout=60)
    assert wait_until(lambda: inner.evaluate(DRAWN_CANVASES) >= 1, page), "no plot drawn in the iframe"
    wait_until(lambda: inner.evaluate(DRAWN_CANVASES) >= 2, page, timeout=300)  # the race and the eigen-digits
    size = inner.evaluate(OVERFLOW_JS)
    assert size["cw"] == EMBED_SIZE[0] and size["ch"] == EMBED_SIZE[1]
    assert size["sw"] <= size["cw"] and size["sh"] <= size["ch"], f"scrollbars in the iframe: {size}"
    assert page.frame_locator("iframe").locator(".run-button").count() == 1
    app.assert_clean()


def test_readme_screenshot_of_the_pca_page(app):
    app.page.set_viewport_size({"width": 1400, "height": 1800})
    app.open("/pca", timeout=60)
    wait_done(app)
    app.wait_until(lambda: angle_labels(app), timeout=60)               # the eigen-digits are drawn
    app.wait_until(lambda: app.page.evaluate(DRAWN_CANVASES) >= 8, timeout=60)
    app.page.wait_for_load_state("networkidle")
    path = app.screenshot("pca.png")
    assert path.stat().st_size > 50_000
    app.assert_clean()
