"""The server's share of a λ change on the Theorem page (``app.pages.theorem``), in-process.

The issue's target: a λ change at m = 8, k = 4 — 163 manifolds, 64 × 64 Hessians — updates the
table and the ladder in ≤ 150 ms of server time. A change here is what the page's λ callback does
in the server: the page, built into a Bokeh document, gets a new λ (its redraw: ``lae_core``'s
table and symmetry comparison, the shared source of table, ladder and critical levels, the texts),
and the Bokeh events that makes are serialized as the PATCH-DOC the browser would receive. Every
figure is over ``CHANGES`` changes after two warm-up ones, λ stepping as a slider drag does.

* ``m8_k4.<loss>`` — ``redraw_ms``, ``serialize_ms``, ``total_ms`` (median and p95),
  ``patch_kb`` and the number of manifolds shown: L and L_π from λ = 1.5 in steps of 0.01,
  L_σ from λ = 0.005 in steps of 0.002 (below σ₈² = 0.04 of the default spectrum, so that all
  163 manifolds exist), and L_σ from λ = 1.5 (16 exist). L involves no λ: its table is measured
  once (``lae_core.theorem``), so its figure is the page's own share.
* ``m8_k4_ms`` — the slowest of those medians (total), against ``TARGET_MS``.
* ``m4_k2.sum`` and ``m4_k2_ms`` — the default page (m = 4, k = 2, L_σ, λ ≈ 1.5).
* ``browser`` (with ``browser=True``) — the issue's other figure: a λ change → repaint in
  Chromium at m = 4, k = 2 against the Landscape page's λ, both timed by ``benchmarks.pages``
  (the same method) in alternating rounds, and ``ratio`` of the medians against ``RATIO_TARGET``.

Run ``python -m benchmarks.bench_theorem [--browser] [--rounds 4]`` for JSON, or call ``run()``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):           # run as a script: make ``app`` and ``lae_core`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHANGES = 15
TARGET_MS = 150.0
RATIO_TARGET = 1.2
#: the controls ``benchmarks.pages`` times for the browser figure: the Theorem page's, its reference
THEOREM_KEY, LANDSCAPE_KEY = "theorem: λ (m = 4, k = 2, L_σ)", "landscape: λ"
#: (key, page settings, first λ, λ step)
CASES = (
    ("m8_k4.unregularized", dict(m=8, k=4, loss="unregularized"), 1.5, 0.01),
    ("m8_k4.product", dict(m=8, k=4, loss="product"), 1.5, 0.01),
    ("m8_k4.sum", dict(m=8, k=4, loss="sum"), 0.005, 0.002),
    ("m8_k4.sum_16_manifolds", dict(m=8, k=4, loss="sum"), 1.5, 0.01),
    ("m4_k2.sum", dict(m=4, k=2, loss="sum"), 1.5, 0.01),
)


def _summary(values) -> dict:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {"median": round(statistics.median(values), 2), "p95": round(p95, 2)}


def lambda_changes(settings: dict, lam: float, step: float = 0.01, changes: int = CHANGES) -> dict:
    """The server's share of ``changes`` λ changes on a Theorem page with ``settings``."""
    import panel as pn
    from bokeh.document import Document
    from bokeh.protocol import Protocol

    from app.pages.theorem import TheoremPage

    page = TheoremPage(sync_url=False, lam=lam, **settings)
    sidebar, main = page.build()
    doc = Document()
    doc.add_root(pn.Row(sidebar, main).get_root(doc))
    events: list = []
    doc.on_change(events.append)
    protocol = Protocol()
    redraw, serialize, kb, rows = [], [], [], set()
    for k in range(changes + 2):
        events.clear()
        t0 = time.perf_counter()
        page.state.lam = round(lam + step * (k + 1), 6)
        t1 = time.perf_counter()
        msg = protocol.create("PATCH-DOC", list(events))
        t2 = time.perf_counter()
        if page.notices.items and any(level == "error" for level, _ in page.notices.items):
            raise RuntimeError(f"the page failed to redraw: {page.notices.items}")
        if k >= 2:
            redraw.append(1e3 * (t1 - t0))
            serialize.append(1e3 * (t2 - t1))
            kb.append((len(msg.content_json) + sum(memoryview(b.data).nbytes for b in msg.buffers)) / 1000)
            rows.add(len(page.source.data["loss"]))
    return {"redraw_ms": _summary(redraw), "serialize_ms": _summary(serialize),
            "total_ms": _summary(a + b for a, b in zip(redraw, serialize)),
            "patch_kb": _summary(kb), "manifolds": sorted(rows)}


def browser_ratio(rounds: int = 4, changes: int = 6, log=None) -> dict:
    """The Theorem page's λ change → repaint (m = 4, k = 2) against the Landscape page's, in
    Chromium, alternating rounds on one server."""
    from playwright.sync_api import sync_playwright

    from benchmarks import pages
    from tests.support import AppServer, chromium_launch_kwargs

    with AppServer() as server, sync_playwright() as p:
        chromium = p.chromium.launch(**chromium_launch_kwargs())
        try:
            timed = pages.alternate(chromium, server.url, (THEOREM_KEY, LANDSCAPE_KEY), rounds=rounds, n=changes,
                                    log=log)
        finally:
            chromium.close()
    theorem, landscape = timed[THEOREM_KEY]["repaint_ms"]["median"], timed[LANDSCAPE_KEY]["repaint_ms"]["median"]
    ratio = theorem / landscape
    return {"theorem": timed[THEOREM_KEY], "landscape": timed[LANDSCAPE_KEY], "ratio": round(ratio, 3),
            "target_ratio": RATIO_TARGET, "within_target": ratio <= RATIO_TARGET}


def run(changes: int = CHANGES, browser: bool = False, log=None, *, rounds: int = 4, browser_changes: int = 6) -> dict:
    """Each case's figures, the headline medians ``m8_k4_ms`` and ``m4_k2_ms``, and with
    ``browser`` the repaint against the Landscape page's (``rounds`` of ``browser_changes``)."""
    results: dict = {key: lambda_changes(settings, lam, step, changes) for key, settings, lam, step in CASES}
    results["m8_k4_ms"] = max(v["total_ms"]["median"] for key, v in results.items() if key.startswith("m8_k4."))
    results["m4_k2_ms"] = results["m4_k2.sum"]["total_ms"]["median"]
    results["target_ms"] = TARGET_MS
    if browser:
        results["browser"] = browser_ratio(rounds, browser_changes, log=log)
    return results


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=CHANGES, help=f"in-process changes per case (default {CHANGES})")
    parser.add_argument("--browser", action="store_true", help="also the repaint in Chromium against the Landscape page's")
    parser.add_argument("--rounds", type=int, default=4, help="alternating browser rounds (default 4)")
    parser.add_argument("--browser-changes", type=int, default=6, help="timed changes per page and round (default 6)")
    args = parser.parse_args(argv)
    results = run(args.changes, args.browser, lambda m: print(m, file=sys.stderr, flush=True),
                  rounds=args.rounds, browser_changes=args.browser_changes)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0

if __name__ == "__main__":
    sys.exit(main())
