"""LAE-PCA against SVD: the numbers behind ``lae_core.solvers``' defaults and variants.

Prints one JSON object:

* ``digits`` — scikit-learn's digits (m = 64, n = 1797, covariance units), k = 8, at λ = 1 and
  at ``pca.suggested_lam`` (σ₈²/4 ≈ 11.0): every method's iterations and solver seconds to a
  largest principal angle ≤ 1e-4 rad *and* eigenvalues σᵢ² within 1e-6 relative, beside
  NumPy's SVD and scikit-learn's randomized SVD of the same X (their seconds, and how close the
  randomized one gets); ``fastest`` names the quickest method; ``per_iteration`` splits a
  race's time into the step and the metrics.
* ``authors_benchmark`` — the authors' own problem (``algorithms.py``: m = 10, n = 10 000,
  k = 2, λ = 50, ``np.random.seed(0)`` data and start): iterations to the same targets with
  their step α = 1e-5 (our lr = α/2) and with our default learning rate.
* ``variants`` — each of ``solvers.VARIANTS`` against the authors' method it changes, in
  iterations to the targets (sum loss) or to convergence (other losses), over digits, the
  over-regularized data and random spectra; ``wins`` lists where the variant needs fewer.
* ``over_regularized`` — Petrevski's data, k = 8, λ = 10 (m₀ = 5 directions survive): the
  alignment heat map's (k − m₀) × (k − m₀) block with the sum loss and with the synthetic loss.
* ``page`` (with ``browser``) — the PCA page (app/pages/pca.py) in headless Chromium against a
  real server, once its default run is done (the server warm): opening /pca in a fresh browser
  context (empty cache) and again in the same one, to the first plot painted and to every plot
  of the first document painted (``benchmarks.browser``'s timing, navigation start → paint;
  the issue: ≤ 2 s warm), and to the last of the page's 8 plots painted (the sections under
  the race join the page once it is drawn),
  the server's share of an open in-process (build + first document), and *Run* → the first
  rows of the new race painted (pointer down → the paint after the race's first new data;
  the issue: ≤ 0.5 s).
* ``other_session`` (with ``browser``) — another visitor's λ change on the Landscape page
  (``benchmarks.browser.measure_changes``: slider set → every plot repainted) while nothing
  runs, while a digits race runs in a second browser context (L, GD untied and GD sync for
  up to 50 000 iterations: they do not converge, so it runs for the whole measurement, in
  the page's worker process, and streams to its page; that page paints nothing meanwhile,
  as its visitor's browser would be on another machine), and idle again after Cancel; the
  issue: within 1.5 × idle.

Seconds are single-threaded BLAS (``threadpoolctl``): on this shared 2-core machine a
multi-threaded OpenBLAS made a 64 × 1797 SVD a hundred times slower whenever the other core was
busy, which measures the neighbours rather than the algorithm. Each time is the best of
``REPEATS`` runs.

Run: ``.venv/bin/python benchmarks/bench_pca.py [--no-browser] [--no-core] [--url http://…] [--opens 5] [--changes 15]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):           # run as a script: make ``lae_core`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import scipy.linalg  # noqa: F401 - loaded before threadpool_limits, which limits only the BLAS loaded
import sklearn.utils.extmath  # noqa: F401 - (SciPy's is its own library: the randomized SVD's)
from threadpoolctl import threadpool_limits

from lae_core import pca, solvers

REPEATS = 3
TARGETS = dict(target_angle=1e-4, target_relative_error=1e-6)
MAX_ITER = 30_000


def _race_summary(run: pca.Race) -> dict:
    out = {"status": run.status, "iterations": int(run.iterations[-1]),
           "solver_seconds": float(run.seconds[-1]), "largest_angle": float(run.largest_angle[-1])}
    if run.relative_error is not None:
        out["eigenvalue_relative_error"] = float(run.relative_error[-1])
    return out


def _best_race(**kwargs) -> pca.Race:
    """The race with the least solver time of ``REPEATS`` (the iterates are the same each time)."""
    runs = [pca.race(**kwargs) for _ in range(REPEATS)]
    return min(runs, key=lambda r: r.seconds[-1])


def digits_section() -> dict:
    data = pca.digits()
    k = 8
    references = [pca.reference_pca(data.X, k) for _ in range(REPEATS)]
    exact, randomized = references[-1]
    exact_s = min(r[0].seconds for r in references)
    random_s = min(r[1].seconds for r in references)
    rel = float(np.max(np.abs(randomized.eigenvalues - exact.eigenvalues) / exact.eigenvalues))
    angle = pca.largest_principal_angle(randomized.directions, exact.directions)
    out = {"k": k, "m": data.X.shape[0], "n": data.X.shape[1],
           "eigenvalues": exact.eigenvalues.round(4).tolist(),
           "numpy_svd": {"seconds": exact_s},
           "randomized_svd": {"seconds": random_s, "largest_angle": angle,
                              "eigenvalue_relative_error": rel},
           "runs": {}}
    reference = (exact.directions, exact.eigenvalues)
    for lam in (1.0, pca.suggested_lam(exact.eigenvalues, k)):
        rows = {}
        for method in solvers.METHODS + solvers.VARIANTS:
            run = _best_race(method=method, k=k, lam=lam, X=data.X, reference=reference,
                             max_iter=MAX_ITER, **TARGETS)
            rows[method] = _race_summary(run)
        reached = {m: r for m, r in rows.items() if r["status"] == "reached"}
        fastest = min(reached, key=lambda m: reached[m]["solver_seconds"]) if reached else None
        out["runs"][f"lam={lam:.4g}"] = {"lam": lam, "methods": rows, "fastest": fastest}
    # where a race's time goes: the step against the metrics, per iteration
    per = {}
    for method in ("untied_gd", "exact_sync"):
        run = _best_race(method=method, k=k, lam=1.0, X=data.X, reference=reference, max_iter=300, tol=0.0)
        steps = int(run.iterations[-1])
        per[method] = {"iterations": steps,
                       "step_seconds": float(run.seconds[-1] - run.seconds[0]) / steps,
                       "metric_seconds": run.metric_seconds / (steps + 1)}
    out["per_iteration"] = per
    return out


def _authors_problem():
    """``algorithms.py``'s data and start: legacy ``np.random.seed(0)``, X then W1 then W2."""
    state = np.random.get_state()
    try:
        np.random.seed(0)
        X = np.random.normal(size=(10, 10_000))
        X = X - X.mean(axis=1, keepdims=True)
        W1 = np.random.normal(size=(2, 10))
        W2 = np.random.normal(size=(10, 2))
    finally:
        np.random.set_state(state)
    return X, W1, W2


def _authors_start(method, W1, W2) -> dict:
    """What the authors' table passes: [W2ᵀ, W2] to the sync methods, [W1, W2] to the others
    (tied_gd reads W2, exact_tied reads W1)."""
    return {"W2": W2} if method in ("sync_gd", "exact_sync", "sync_gd_averaged") else {"W1": W1, "W2": W2}


def authors_section() -> dict:
    X, W1, W2 = _authors_problem()
    lam, k, alpha = 50.0, 2, 1e-5
    out = {"m": 10, "n": 10_000, "k": k, "lam": lam, "authors_alpha": alpha, "methods": {}}
    for method in solvers.METHODS:
        start = _authors_start(method, W1, W2)
        row = {}
        lrs = {"default": None}
        if method in ("untied_gd", "sync_gd", "tied_gd"):
            lrs["authors"] = alpha / 2
        for name, lr in lrs.items():
            run = pca.race(method, k, lam, X=X, lr=lr, max_iter=200_000, **start, **TARGETS)
            row[name] = {**_race_summary(run), "lr": run.lr}
        out["methods"][method] = row
    return out


def _random_spectrum(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 200)) * np.exp(rng.normal(size=(12, 1)))
    return X - X.mean(axis=1, keepdims=True)


def variants_section() -> dict:
    pairs = {"untied_gd_simultaneous": "untied_gd", "sync_gd_averaged": "sync_gd",
             "exact_tied_averaged": "exact_tied"}
    digits = pca.digits().X
    over = pca.over_regularized(0).X
    cases = [("digits k=8", digits, 8, lam) for lam in (1.0, 11.0, 30.0)]
    cases += [("over_regularized k=4", over, 4, lam) for lam in (0.5, 2.0, 8.0)]
    for seed in range(3):
        X = _random_spectrum(seed)
        ev = np.linalg.eigvalsh(X @ X.T)[::-1]
        cases += [(f"random seed={seed} k=3", X, 3, float(ev[2] * f)) for f in (0.1, 0.5)]
    table, wins = [], {v: [] for v in pairs}
    for name, X, k, lam in cases:
        row = {"data": name, "lam": round(lam, 4), "kind": "sum"}
        for variant, original in pairs.items():
            for method in (variant, original):
                run = pca.race(method, k, lam, X=X, max_iter=MAX_ITER, **TARGETS)
                row[method] = int(run.iterations[-1]) if run.status == "reached" else run.status
            a, b = row[variant], row[original]
            if isinstance(a, int) and (not isinstance(b, int) or a < b):
                wins[variant].append(f"{name}, λ = {lam:.4g}: {a} against {b}")
        table.append(row)
    for kind in ("product", "unregularized"):
        for name, X, k, lam in [("digits k=8", digits, 8, 1.0), ("over_regularized k=6", over, 6, 2.0)]:
            row = {"data": name, "lam": lam, "kind": kind}
            for variant, original in pairs.items():
                for method in (variant, original):
                    run = solvers.solve(method, X, k, lam, kind=kind, max_iter=MAX_ITER, tol=1e-10)
                    row[method] = run.iterations if run.status == "converged" else run.status
                a, b = row[variant], row[original]
                if isinstance(a, int) and (not isinstance(b, int) or a < b):
                    wins[variant].append(f"{name}, {kind}, λ = {lam:g}: {a} against {b}")
            table.append(row)
    return {"pairs": pairs, "targets": "sum loss: iterations to the targets; product and unregularized: "
                                       "iterations to convergence (tol = 1e-10)", "table": table, "wins": wins}


def over_regularized_section() -> dict:
    data = pca.over_regularized(0)
    k, lam, w_sigma = 8, 10.0, 0.1
    m0 = pca.surviving_directions(data.eigenvalues, lam)
    out = {"k": k, "lam": lam, "m0_sum": m0,
           "m0_synthetic": pca.surviving_directions(data.eigenvalues, lam, kind="synthetic", w_sigma=w_sigma)}
    for label, kw in (("sum", {}), (f"synthetic w_sigma={w_sigma}", {"kind": "synthetic", "w_sigma": w_sigma})):
        run = solvers.solve("exact_sync", data.X, k, lam, max_iter=MAX_ITER, tol=1e-12, **kw)
        heat = pca.alignment(run.W2[-1], data.directions[:, :k])
        block = heat[m0:, m0:]
        out[label] = {"status": run.status, "diagonal_first_m0": np.diag(heat)[:m0].round(6).tolist(),
                      "noise_block_diagonal": np.diag(block).round(4).tolist(),
                      "noise_block_max_off_diagonal": float((block - np.diag(np.diag(block))).max())}
    return out


# --------------------------------------------------------------------------- the page, in a browser

#: a digits race that runs for the whole measurement: GD on L does not converge
LONG_RACE = "/pca?data=digits&k=8&loss=unregularized&methods=untied_gd,sync_gd&max_iter=50000&tol=1e-12&seed=4242"

#: JavaScript: on the next Run, when the race's sources start over (emptied) and when the first
#: new rows arrive (performance.now())
RUN_WATCH_JS = """() => {
  const W = window.__pcaRun = {reset: null, rows: null};
  const sources = [...Bokeh.documents[0].all_models].filter(
      (m) => m.type === "ColumnDataSource" && "authors" in m.data && "iteration" in m.data);
  for (const s of sources) {
    const seen = () => {
      const n = s.data.iteration.length;
      if (n === 0 && W.reset == null) W.reset = performance.now();
      else if (n > 0 && W.reset != null && W.rows == null) W.rows = performance.now();
    };
    s.connect(s.change, seen);
    s.connect(s.streaming, seen);
  }
  return sources.length;
}"""
#: JavaScript: [pointer down, first new rows, end of the first paint after them] of the last Run
RUN_DRAWN_JS = """() => {
  const W = window.__pcaRun, B = window.__laeBench;
  if (!W || W.rows == null) return null;
  const paint = B.paints.map((p) => p[2]).filter((t) => t >= W.rows).sort((a, b) => a - b)[0];
  return paint == null ? null : [B.pointer[B.pointer.length - 1], W.rows, paint];
}"""
#: the PCA page's Bokeh plots: the race's two, the eigen-digits, the heat map, the transpose
#: gaps and the embedding's three
PLOTS = 8
#: JavaScript: navigation start → the end of the first paint of the page's last plot to paint
COMPLETE_JS = """(n) => {
  const B = window.__laeBench;
  if (!B) return null;
  const ends = Object.values(B.firstPaints).sort((a, b) => a - b);
  return ends.length >= n ? ends[n - 1] : null;
}"""
RUN_STATUS_JS = """() => {
  if (!(window.Bokeh && Bokeh.documents && Bokeh.documents.length)) return "";
  const m = [...Bokeh.documents[0].all_models].find((m) => (m.css_classes || []).includes("run-status"));
  if (!m) return "";
  // app.panes.HTML: the pane's HTML is its data's ``object`` (parsed inert, for its text)
  return new DOMParser().parseFromString(m.data.object, "text/html").body.textContent;
}"""


def _summary(values) -> dict:
    from benchmarks import browser as bb

    return bb.summary(values)


def _wait_status(page, prefix: str, timeout_s: float) -> None:
    page.wait_for_function(f"() => ({RUN_STATUS_JS})().startsWith({json.dumps(prefix)})", timeout=timeout_s * 1000)


def _page_in_process(n: int) -> dict:
    """The server's share of an open: the page built into a Bokeh document, after a first one
    (its run finished, the imports done)."""
    from bokeh.document import Document

    from app.pages.pca import PCAPage

    first = PCAPage(sync_url=False)
    first.view()
    while first.job is not None:
        first.poll()
        time.sleep(0.05)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        PCAPage(sync_url=False).view().server_doc(Document())
        times.append(1e3 * (time.perf_counter() - t0))
    return _summary(times)


def page_section(chromium, base: str, n: int = 5) -> dict:
    from benchmarks import browser as bb

    context = chromium.new_context(viewport=bb.VIEWPORT)
    context.add_init_script(bb.INIT_JS)
    page = context.new_page()
    try:
        page.goto(base + "/pca")
        _wait_status(page, "Done", 600)                          # the default run, computed once
        warm = []
        for _ in range(n):                                        # the same context: scripts cached
            page.goto(base + "/pca", wait_until="commit")
            load = page.wait_for_function(bb.ALL_PAINTED_JS, timeout=120_000, polling="raf").json_value()
            load["complete_ms"] = page.wait_for_function(COMPLETE_JS, arg=PLOTS, timeout=120_000,
                                                         polling="raf").json_value()
            warm.append(load)
        _wait_status(page, "Done", 60)
        runs = []
        for _ in range(n):
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle")
            page.evaluate(RUN_WATCH_JS)
            page.locator(".run-button button").click()
            drawn = page.wait_for_function(RUN_DRAWN_JS, timeout=120_000, polling=20).json_value()
            runs.append({"to_first_rows_ms": drawn[1] - drawn[0], "to_first_paint_ms": drawn[2] - drawn[0]})
            _wait_status(page, "Done", 600)
        cold = bb.measure_cold_loads(chromium, base + "/pca", n)
    finally:
        context.close()
    return {"warm_open": {"first_plot_ms": _summary(x["first_plot_ms"] for x in warm),
                          "all_plots_ms": _summary(x["all_plots_ms"] for x in warm),
                          "every_section_ms": _summary(x["complete_ms"] for x in warm)},
            "cold_cache_open": {"first_plot_ms": cold["first_plot_ms"], "all_plots_ms": cold["all_plots_ms"]},
            "run_to_first_rows_ms": _summary(r["to_first_rows_ms"] for r in runs),
            "run_to_first_paint_ms": _summary(r["to_first_paint_ms"] for r in runs),
            "targets": {"warm_open_ms": 2000, "run_to_first_paint_ms": 500}}


def other_session_section(chromium, base: str, n: int = 15) -> dict:
    from benchmarks import browser as bb

    landscape = base + "/landscape"
    idle_before = bb.measure_changes(chromium, landscape, n, floor_changes=0)["repaint_ms"]
    racer = chromium.new_context(viewport=bb.VIEWPORT)
    try:
        page = racer.new_page()
        page.goto(base + LONG_RACE)
        _wait_status(page, "Running: racing", 300)
        # The racer's browser would be on its visitor's machine; here it shares this one's two
        # cores with the Landscape page's, so it stops painting (the server streams to it as ever).
        page.evaluate("() => { document.body.style.display = 'none'; }")
        during = bb.measure_changes(chromium, landscape, n, floor_changes=0)["repaint_ms"]
        still = page.evaluate(RUN_STATUS_JS)
        page.evaluate("() => { document.body.style.display = ''; }")
        page.locator(".cancel-button button").click()             # the race stops before idle again
        _wait_status(page, "Cancelled", 60)
    finally:
        racer.close()
    idle_after = bb.measure_changes(chromium, landscape, n, floor_changes=0)["repaint_ms"]
    idle = statistics.mean([idle_before["median"], idle_after["median"]])
    return {"idle_before_ms": idle_before, "during_race_ms": during, "idle_after_ms": idle_after,
            "race_still_running_at_the_end": still.startswith("Running"), "race_status_at_the_end": still,
            "median_ratio": during["median"] / idle, "target_ratio": 1.5,
            "within_target": during["median"] <= 1.5 * idle}


def browser_sections(server_url: str | None = None, n_opens: int = 5, n_changes: int = 15) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.support import chromium_launch_kwargs, server_unless

    with server_unless(server_url) as (base, _server), sync_playwright() as p:
        chromium = p.chromium.launch(**chromium_launch_kwargs())
        try:
            return {"page": page_section(chromium, base, n_opens),
                    "other_session": other_session_section(chromium, base, n_changes),
                    "chromium": chromium.version}
        finally:
            chromium.close()


def _load_average() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def run(*, core: bool = True, browser: bool = True, server_url: str | None = None, opens: int = 5,
        changes: int = 15) -> dict:
    out = {"load_average_at_start": _load_average()}
    if core:
        with threadpool_limits(1):
            out.update({"blas_threads": 1, "targets": TARGETS, "digits": digits_section(),
                        "authors_benchmark": authors_section(), "variants": variants_section(),
                        "over_regularized": over_regularized_section()})
    if browser:
        out.update(browser_sections(server_url, opens, changes))
        out["page"]["server_share_of_an_open_ms"] = _page_in_process(opens)
    out["load_average_at_end"] = _load_average()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-core", action="store_true", help="skip the solvers against SVD")
    parser.add_argument("--no-browser", action="store_true", help="skip the page in Chromium")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    parser.add_argument("--opens", type=int, default=5, help="timed opens of /pca, and Runs (default 5)")
    parser.add_argument("--changes", type=int, default=15,
                        help="timed Landscape λ changes, idle and during a race, each (default 15)")
    args = parser.parse_args(argv)
    print(json.dumps(run(core=not args.no_core, browser=not args.no_browser, server_url=args.url, opens=args.opens,
                         changes=args.changes), indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
