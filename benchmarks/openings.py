"""Opening and repainting against a baseline served in the same run (issue #22's figures).

    python -m benchmarks.openings [--rounds 6] [--changes 20] [--reference DIR] [--url URL]   # prints JSON

What is measured, alternating the order of the targets every round (the machine's speed drifts):

* **Cold open** of the app's ``/`` and of ``benchmarks.baseline`` (a minimal Panel page with one
  200 × 200 image and one slider): a fresh browser context each time (empty cache), from
  navigation start to the end of the first paint of a plot (``benchmarks.browser``'s hooks).
* **Bytes on the wire** of that first visit, from the browser's own resource timing: the
  document's and every resource's ``transferSize`` (compressed sizes as they travelled, headers
  included), after the page has settled; the websocket's bytes are counted apart.
* **A second open** in the same context: the scripts and styles fetched again (``transferSize`` >
  0: a cache hit, even a revalidated one without a body, counts as not fetched only at 0).
* **λ change → repaint** (``benchmarks.browser.measure_changes``) on the app's ``/``, on the
  baseline, and on ``--reference DIR`` (another checkout of the app, e.g. commit a50ea0c,
  served from its own directory with the same Python) when given.
* **Bokeh models per page**: every page of the registry built into a document in this process.

Servers are started on 127.0.0.1 and free ports and stopped by PID.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks import browser
from tests.support import ROOT, AppServer, chromium_launch_kwargs, free_port

SETTLE_MS = 1500
#: what a first visit's resources may add up to on the wire (issue #22)
BYTES_TARGET_KB = 1500.0

RESOURCE_BYTES_JS = r"""
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const kind = (r) => /\.css(\?|$)/.test(r.name) || r.initiatorType === "link" ? "style"
                    : /\.m?js(\?|$)/.test(r.name) || r.initiatorType === "script" ? "script"
                    : /\.(woff2?|ttf|otf)(\?|$)/.test(r.name) ? "font" : r.initiatorType;
  return {document: nav ? nav.transferSize : 0,
          resources: res.map((r) => ({name: r.name.replace(location.origin, ""), kind: kind(r),
                                      transfer: r.transferSize, encoded: r.encodedBodySize,
                                      decoded: r.decodedBodySize}))};
}
"""


class Baseline:
    """``python -m benchmarks.baseline`` on a free port, in its own process group."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.baseline", "--port", str(self.port)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/liveness", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the baseline page did not start")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)


class Reference(AppServer):
    """The app of another checkout (``directory``), served from there with this Python."""

    def __init__(self, directory: str):
        super().__init__()
        self.directory = Path(directory).resolve()

    def start(self) -> "Reference":
        import tests.support as support

        root = support.ROOT
        support.ROOT = self.directory  # AppServer runs the command from ROOT
        try:
            return super().start()
        finally:
            support.ROOT = root


def open_cold(chromium, url: str) -> dict:
    """A first visit in a fresh context, then a second open in the same context."""
    context, page, counter, load = browser._open(chromium, url)
    try:
        page.wait_for_timeout(SETTLE_MS)
        first = page.evaluate(RESOURCE_BYTES_JS)
        second = context.new_page()
        second.goto(url, wait_until="load")
        second.wait_for_timeout(SETTLE_MS)
        again = second.evaluate(RESOURCE_BYTES_JS)
    finally:
        context.close()
    wire = first["document"] + sum(r["transfer"] for r in first["resources"])
    refetched = [r["name"] for r in again["resources"] if r["kind"] in ("script", "style") and r["transfer"] > 0]
    return {"first_plot_ms": load["first_plot_ms"], "all_plots_ms": load["all_plots_ms"],
            "wire_kb": wire / 1000, "ws_kb": counter.total() / 1000,
            "uncompressed_kb": sum(r["decoded"] for r in first["resources"]) / 1000,
            "by_kind_kb": {k: sum(r["transfer"] for r in first["resources"] if r["kind"] == k) / 1000
                           for k in sorted({r["kind"] for r in first["resources"]})},
            "n_resources": len(first["resources"]), "second_open_refetched": refetched}


def model_counts() -> dict:
    """Bokeh models in each page's document, built in this process (the deck included)."""
    from bokeh.document import Document

    from app import compat
    from app.pages import PAGES

    compat.apply()
    counts = {}
    for entry in PAGES:
        doc = Document()
        view = entry.create()
        view.server_doc(doc)
        counts[entry.slug] = len(doc.models)
    return counts


def run(rounds: int = 6, changes: int = 20, *, url: str | None = None, reference: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    app = None if url else AppServer().start()
    ref = Reference(reference).start() if reference else None
    try:
        with Baseline() as base:
            targets = {"app": (url or app.url) + "/", "baseline": base.url + "/"}
            if ref:
                targets["reference"] = ref.url + "/"
            opens = {k: [] for k in targets}
            repaint = {k: [] for k in targets}
            ws_kb = {k: [] for k in targets}
            with sync_playwright() as p:
                chromium = p.chromium.launch(**chromium_launch_kwargs())
                try:
                    names = list(targets)
                    for r in range(rounds):
                        order = names[r % len(names):] + names[:r % len(names)]
                        for name in order:
                            opens[name].append(open_cold(chromium, targets[name]))
                        for name in order:
                            m = browser.measure_changes(chromium, targets[name], changes, floor_changes=0)
                            repaint[name] += [rec["total_ms"] if not rec["timed_out"] else float("inf")
                                              for rec in m["records"]]
                            ws_kb[name] += [rec["playwright_bytes"] / 1000 for rec in m["records"]]
                    version = chromium.version
                finally:
                    chromium.close()
    finally:
        if app:
            app.stop()
        if ref:
            ref.stop()
    out = {"chromium": version, "rounds": rounds, "changes_per_round": changes, "targets": targets,
           "cold_open_ms": {k: browser.summary(o["first_plot_ms"] for o in v) for k, v in opens.items()},
           "wire_kb": {k: browser.summary(o["wire_kb"] for o in v) for k, v in opens.items()},
           "first_visit_ws_kb": {k: browser.summary(o["ws_kb"] for o in v) for k, v in opens.items()},
           "by_kind_kb": {k: v[-1]["by_kind_kb"] for k, v in opens.items()},
           "second_open_refetched": {k: sorted({n for o in v for n in o["second_open_refetched"]})
                                     for k, v in opens.items()},
           "repaint_ms": {k: browser.summary(v, keep_inf=True) for k, v in repaint.items()},
           "ws_kb_per_change": {k: browser.summary(v) for k, v in ws_kb.items()},
           "models_per_page": model_counts()}
    app_open, base_open = out["cold_open_ms"]["app"]["median"], out["cold_open_ms"]["baseline"]["median"]
    out["cold_open_ratio"] = app_open / base_open
    if ref:
        out["repaint_vs_reference"] = {q: out["repaint_ms"]["app"][q] / out["repaint_ms"]["reference"][q]
                                       for q in ("median", "p95")}
    out["seconds"] = time.monotonic() - started
    return out


def table(r: dict) -> str:
    """The figures against issue #22's targets, one row each."""
    def ms(s):
        return f"{s['median']:.0f} ms (p95 {s['p95']:.0f})"

    rows = [("cold open of / (median)", ms(r["cold_open_ms"]["app"]),
             f"≤ 1.5 × baseline ({ms(r['cold_open_ms']['baseline'])}): {r['cold_open_ratio']:.2f} ×; ≤ 1200 ms"),
            ("first visit on the wire", f"{r['wire_kb']['app']['median']:.0f} kB (+ websocket "
             f"{r['first_visit_ws_kb']['app']['median']:.0f} kB)", f"≤ {BYTES_TARGET_KB:.0f} kB "
             f"(baseline {r['wire_kb']['baseline']['median']:.0f} kB)"),
            ("second open: scripts and styles fetched again", str(len(r["second_open_refetched"]["app"])), "0"),
            ("λ change → repaint", ms(r["repaint_ms"]["app"]), f"baseline {ms(r['repaint_ms']['baseline'])}"),
            ("websocket per λ change", f"{r['ws_kb_per_change']['app']['median']:.0f} kB", "≤ 150 kB")]
    if "repaint_vs_reference" in r:
        rows.append(("λ change → repaint against the reference checkout",
                     f"median {r['repaint_vs_reference']['median']:.2f} ×, p95 {r['repaint_vs_reference']['p95']:.2f} ×",
                     f"≤ 0.60 × / 0.65 × (reference {ms(r['repaint_ms']['reference'])})"))
    rows.append(("Bokeh models per page", ", ".join(f"{k} {v}" for k, v in r["models_per_page"].items()), "—"))
    head = "| metric | figure | target |\n| --- | --- | --- |\n"
    return head + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--url", default=None, help="an already running app (default: start one)")
    parser.add_argument("--reference", default=None, metavar="DIR", help="another checkout of the app to compare with")
    parser.add_argument("--table", action="store_true", help="print the table instead of JSON")
    args = parser.parse_args(argv)
    result = run(args.rounds, args.changes, url=args.url, reference=args.reference)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "openings.json").write_text(json.dumps(result, indent=1, default=str))
    print(table(result) if args.table else json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
