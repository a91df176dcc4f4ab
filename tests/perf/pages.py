"""Browser figures for the other pages: any control → repaint (DESIGN.md: ≤ 100 ms median),
and the Trajectories page's animation frames (issue 4: ≤ 40 ms median).

Same method as ``tests.perf.browser`` (its init script, paint hooks and CHANGE_JS): a control's
Bokeh model is set from the browser side, and the timer stops when every plot asked to repaint
has painted and the page has been quiet. The sources a control updates are learned in untimed
warm-up changes; each timed change then waits for all of them.

    python -m tests.perf.pages [--changes 20]     # prints JSON
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from tests.perf import browser
from tests.support import AppServer, chromium_launch_kwargs

#: (name, route, Bokeh model type, title or None, values to cycle through)
CONTROLS = (
    ("Trajectories: learning rate → 3 solvers × 2000 iterations redrawn", "/trajectories?methods=untied_gd,tied_gd,"
     "exact_untied&max_iter=2000&tol_exp=-16", "Slider", "Learning rate", (-1.3, -1.5, -1.1, -1.7, -1.2, -1.6)),
    ("Trajectories: animation frame", "/trajectories?methods=untied_gd,tied_gd,exact_untied&max_iter=2000&tol_exp=-16",
     "Player", None, tuple(range(10, 400, 23))),
    ("Posterior collapse: λ", "/collapse", "Slider", "λ", (1.0, 2.5, 4.5, 3.0, 5.5, 0.5)),
    ("Grassmannian: φ", "/grassmannian", "Slider", "φ, the line's angle (°)", (20.0, 60.0, 110.0, 150.0, 85.0, 40.0)),
)

# Like browser.SETUP_JS, for any model type (found by type, and title when given) and any page.
SETUP_JS = r"""
({type, title}) => {
  const B = window.__laeBench;
  if (!B || B.hookedAt == null) throw new Error("paint hook not installed");
  const models = [...Bokeh.documents[0].all_models];
  const found = models.filter((m) => (m.type === type || String(m.type).endsWith("." + type)) && (title == null || m.title === title));
  if (!found.length) throw new Error(`no ${type} titled ${title}`);
  B.slider = found.find((m) => m.visible !== false) ?? found[0];
  B.views = [...Bokeh.index.all_views()].filter((v) => typeof v._actual_paint === "function");
  const seen = new Set(), ids = [];
  for (const v of B.views) for (const r of v.model.renderers) {
    const s = r.data_source;
    if (!s || seen.has(s.id)) continue;
    seen.add(s.id); ids.push(s.id);
    const log = () => B.changes.push([s.id, performance.now()]);
    s.connect(s.properties.data.change, log);
    if (s.patching) s.connect(s.patching, log);
    if (s.streaming) s.connect(s.streaming, log);
  }
  return {sources: ids, value: B.slider.value};
}
"""


def measure_control(chromium, url: str, model_type: str, title: str | None, values, n: int,
                    *, warmup: int = 2, quiet_ms: float = 120, timeout_ms: float = 5000) -> dict:
    context, page, counter, _ = browser._open(chromium, url)
    try:
        page.wait_for_timeout(500)
        setup = page.evaluate(SETUP_JS, {"type": model_type, "title": title})
        learned, records, previous = set(), [], setup["value"]
        for k in range(warmup + n):
            value = values[k % len(values)]
            if value == previous:
                value = values[(k + 1) % len(values)]
            warm = k < warmup
            expect = setup["sources"] if warm else sorted(learned)
            if not warm and not expect:
                raise RuntimeError(f"{url}: no plot data changed in the warm-up")
            before = counter.total()
            rec = page.evaluate(browser.CHANGE_JS, {"value": value, "expect": expect, "any": warm,
                                                    "quietMs": 2 * quiet_ms if warm else quiet_ms,
                                                    "timeoutMs": timeout_ms, "pixels": False})
            rec["playwright_bytes"] = counter.total() - before
            previous = value
            if warm:
                learned |= set(rec["changed_sources"])
            else:
                records.append(rec)
        return {"url": url, "changes": len(records),
                "timed_out": sum(r["timed_out"] for r in records),
                "repaint_ms": browser.summary((math.inf if r["timed_out"] or r["total_ms"] is None else r["total_ms"]
                                               for r in records), keep_inf=True),
                "ws_kb_per_change": browser.summary(r["playwright_bytes"] / 1000 for r in records)}
    finally:
        context.close()


def run(n: int = 20, server_url: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    def measure(url_root):
        with sync_playwright() as p:
            chromium = p.chromium.launch(**chromium_launch_kwargs())
            try:
                return {name: measure_control(chromium, url_root + route, mtype, title, values, n)
                        for name, route, mtype, title, values in CONTROLS}
            finally:
                chromium.close()

    if server_url:
        return measure(server_url)
    with AppServer() as server:
        return measure(server.url)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args(argv)
    json.dump(run(args.changes), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
