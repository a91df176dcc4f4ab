"""``make bench``: the numbers DESIGN.md and the issues say the app must reach, measured.

1. Core: one 1000 × 1000 scalar surface (``lae_core.scalar.loss``, sum loss), median of 21 runs;
   10 000 scalar solver steps (``benchmarks.bench_solvers.run()``, the slowest method).
2. Server share, in-process (no browser, no websocket): every control's change made on a page
   built into a Bokeh document — the page's redraw (lae_core and model updates) and the PATCH-DOC
   those changes make, serialized.
3. Browser, headless Chromium against one real server:
   * Landscape λ slider in depth (``benchmarks.browser``): repaint median / p95, websocket bytes,
     the stages of a change, the browser-only floor, a pixel check;
   * every control of every page (``benchmarks.pages``): control → repaint median / p95 (and to
     the rendered frame), websocket bytes per change; the Trajectories animation frames (set and
     while playing); the Train button (progress shown, the page responsive while it trains);
   * cold load → first rendered plot and → every plot, for every page.
4. The newer pages' and issues' own benchmarks (``--extras``, default all): ``bench_theorem``
   (the Theorem page's λ change at m = 8, k = 4, in-process), ``bench_pca`` (the solvers against
   SVD, and the PCA page in Chromium: its opening, Run → first rows, another visitor's λ change
   during a race) and ``openings`` (cold open, bytes on the wire and λ repaint against a plain
   Panel page, ``benchmarks.baseline``).

Prints a summary table against the targets (one row per page for its slowest control), a
detailed table with a row per control, the Landscape breakdown and the cold loads; writes
everything to ``bench-results/bench.json``. Exits 0 whether or not the targets are met (the
tables say so); non-zero only if the harness itself fails.

Targets: Landscape sliders median ≤ 40 ms and p95 ≤ 60 ms (DESIGN.md), any other control ≤ 100
ms median (the Train button excepted: it shows progress), an animation frame ≤ 40 ms median,
≤ 500 kB of websocket traffic per change, cold load → first plot ≤ 1.2 s median.

    python -m benchmarks.bench [--pages collapse,grassmannian] [--changes 40] [--control-changes 8]
                               [--cold 5] [--cold-other 3] [--no-browser] [--profile 3]
                               [--extras theorem,pca,openings]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import math
import os
import platform
import pstats
import sys
import time
import traceback
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import numpy as np

from benchmarks import browser, pages
from tests.support import ROOT, AppServer

OUT = ROOT / "bench-results"

TARGETS = {
    "surface_ms": 20.0,
    "solver_steps_ms": 50.0,
    "repaint_median_ms": 40.0,
    "repaint_p95_ms": 60.0,
    "control_median_ms": 100.0,
    "frame_median_ms": 40.0,
    "ws_kb": 500.0,
    "cold_load_ms": 1200.0,
}

PAGE_CLASSES = {"landscape": ("app.pages.landscape", "LandscapePage"),
                "trajectories": ("app.pages.trajectories", "TrajectoriesPage"),
                "collapse": ("app.pages.collapse", "CollapsePage"),
                "grassmannian": ("app.pages.grassmann", "GrassmannPage")}


def bench_surface(repeats: int = 21) -> dict:
    """One 1000 × 1000 sum-loss surface from ``lae_core.scalar.loss`` (two warm-up calls)."""
    from lae_core import scalar

    w = np.linspace(-2.0, 2.0, 1000)
    x, lam = 1.0, 0.5
    for _ in range(2):
        z = scalar.loss("sum", w[None, :], w[:, None], x, lam)
    assert z.shape == (1000, 1000) and np.isfinite(z).all()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scalar.loss("sum", w[None, :], w[:, None], x, lam)
        times.append(1e3 * (time.perf_counter() - t0))
    return browser.summary(times)


def bench_solvers() -> dict:
    """``benchmarks.bench_solvers.run()`` (written separately); ``{"missing": reason}`` if absent."""
    try:
        from benchmarks import bench_solvers
    except ImportError as exc:
        return {"missing": f"benchmarks/bench_solvers.py not importable: {exc}"}
    return dict(bench_solvers.run())


# --------------------------------------------------------------------------- server, in-process

def page_in_process(page: str, route: str):
    """The page ``route`` opens, built into a Bokeh document in this process (the URL's query
    read by the app's own parser), and a list that collects the document's change events."""
    import panel as pn
    from bokeh.document import Document

    from app import query

    module, name = PAGE_CLASSES[page]
    cls = getattr(importlib.import_module(module), name)
    args = {k: [v.encode() for v in vs] for k, vs in parse_qs(urlsplit(route).query).items()}
    values, _ = query.parse(cls.state_class(), cls.state_class.URL_PARAMS, args)
    p = cls(**values)
    sidebar, main = p.build()
    doc = Document()
    doc.add_root(pn.Row(sidebar, main).get_root(doc))
    events: list = []
    doc.on_change(events.append)
    return p, events


def apply_in_process(p, spec: str, value, kind: str = "") -> None:
    """Make a control's change as its server callback would (see ``pages.Control.server``)."""
    if spec.startswith("widget:"):
        getattr(p, spec.split(":", 1)[1]).value = value
    elif spec.startswith("call:"):
        getattr(p, spec.split(":", 1)[1])(*value)
    elif kind == "checkbox group":  # the browser's active indices → the solvers' names
        from lae_core.solvers import METHODS
        setattr(p.state, spec, [METHODS[i] for i in value])
    else:
        setattr(p.state, spec, value)


def _current(p, spec: str):
    if spec.startswith("widget:"):
        return getattr(p, spec.split(":", 1)[1]).value
    if spec.startswith("call:"):
        return None
    return getattr(p.state, spec)


def bench_server_control(page: str, route: str, c: pages.Control, changes: int = 10) -> dict:
    """The server's share of ``changes`` changes of control ``c``: redraw → Bokeh events, and
    the PATCH-DOC they make, serialized (after two warm-up changes)."""
    from bokeh.protocol import Protocol

    p, events = page_in_process(page, route)
    for spec, value in c.server_setup:
        apply_in_process(p, spec, value)
    protocol = Protocol()
    redraw, serialize, kb = [], [], []
    values = _changing_values(c.values, _current(p, c.server))
    for k in range(changes + 2):
        value = next(values)
        events.clear()
        t0 = time.perf_counter()
        apply_in_process(p, c.server, value, c.kind)
        t1 = time.perf_counter()
        msg = protocol.create("PATCH-DOC", list(events))
        t2 = time.perf_counter()
        if k >= 2:
            redraw.append(1e3 * (t1 - t0))
            serialize.append(1e3 * (t2 - t1))
            kb.append((len(msg.content_json) + sum(memoryview(b.data).nbytes for b in msg.buffers)) / 1000)
    return {"redraw_ms": browser.summary(redraw), "serialize_ms": browser.summary(serialize),
            "total_ms": browser.summary(a + b for a, b in zip(redraw, serialize)),
            "patch_kb": browser.summary(kb)}


def _changing_values(values, previous):
    """A control's values in turn, each a change: one equal to the value just set (``previous``
    at first) is skipped for the next."""
    i = 0
    while True:
        value = values[i % len(values)]
        i += 1
        if previous is not None and pages._same(value, previous):
            value = values[i % len(values)]
            i += 1
        previous = value
        yield value


def bench_server_redraw(changes: int = 30) -> dict:
    """The server's own share of a Landscape λ change (the DESIGN.md figure), as above."""
    c = pages.Control("landscape", "λ", "slider", values=browser.LAMBDAS, server="lam")
    return bench_server_control("landscape", "/landscape", c, changes)


def bench_server_controls(chosen, changes: int = 10, log=None) -> dict:
    """``bench_server_control`` for every control of ``chosen`` pages that has a server side.
    (Panel does not apply a ``JSComponent``'s changes outside a served session, so the 3-D
    figures' data are not in these figures; the browser's kB per change include them.)"""
    out = {}
    for page, route, controls in pages.SCENARIOS:
        if page not in chosen:
            continue
        for c in controls:
            if not c.server:
                continue
            try:
                out[c.key] = bench_server_control(page, route, c, changes)
            except Exception as exc:  # noqa: BLE001 - informational; the browser figures still stand
                out[c.key] = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
                if log:
                    log(f"  in-process {c.key}: {exc!r}")
    return out


def profile_control(key: str, changes: int = 10, top: int = 14) -> str:
    """cProfile of ``changes`` in-process changes of the control named ``key``: the functions
    with the most cumulative time (where the server's share goes) and the most own time."""
    for page, route, controls in pages.SCENARIOS:
        for c in controls:
            if c.key == key and c.server:
                p, _events = page_in_process(page, route)
                for spec, value in c.server_setup:
                    apply_in_process(p, spec, value)
                values = _changing_values(c.values, _current(p, c.server))
                prof = cProfile.Profile()
                for _ in range(changes):
                    value = next(values)
                    prof.enable()
                    apply_in_process(p, c.server, value, c.kind)
                    prof.disable()
                buf = io.StringIO()
                stats = pstats.Stats(prof, stream=buf)
                stats.sort_stats("cumulative").print_stats(top)      # which app code it is in
                stats.sort_stats("tottime").print_stats(top // 2)    # which functions do the work
                return buf.getvalue()
    return f"no in-process control named {key!r}"


# --------------------------------------------------------------------------- tables

def _fmt(v, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "∞ (timed out)"
    return f"{v:,.1f}{unit}" if abs(v) < 100 else f"{v:,.0f}{unit}"


def _verdict(ok) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**NO**")


def _finite(*values) -> bool:
    return all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)


def control_target(r: dict) -> tuple[str, bool | None]:
    """(target text, met?) for one control's result (see ``pages.Control.target``)."""
    med, p95 = r["repaint_ms"]["median"], r["repaint_ms"]["p95"]
    if r["target"] == "info":
        return "— (no target)", None
    if r["target"] == "frame":
        t = TARGETS["frame_median_ms"]
        return f"≤ {t:.0f} ms (median)", (med <= t) if _finite(med) else None
    if r["page"] == "landscape" and r["kind"] == "slider":
        a, b = TARGETS["repaint_median_ms"], TARGETS["repaint_p95_ms"]
        return f"median ≤ {a:.0f}, p95 ≤ {b:.0f} ms", (med <= a and p95 <= b) if _finite(med, p95) else None
    t = TARGETS["control_median_ms"]
    return f"≤ {t:.0f} ms (median)", (med <= t) if _finite(med) else None


def rows(core: dict, solvers: dict, web: dict | None, controls: dict | None = None) -> list[dict]:
    """The summary table: one dict per metric (metric, median, p95, target, pass)."""
    out = []
    s = core["surface_ms"]
    out.append(dict(metric="core: 1000×1000 scalar surface (ms)", median=s["median"], p95=s["p95"],
                    target=f"≤ {TARGETS['surface_ms']:.0f} ms (median)",
                    passed=s["median"] <= TARGETS["surface_ms"] if _finite(s["median"]) else None))
    steps = solvers.get("solver_10k_scalar_steps_ms")
    out.append(dict(metric="core: 10 000 scalar solver steps, slowest method (ms)", median=steps, p95=None,
                    target=f"≤ {TARGETS['solver_steps_ms']:.0f} ms",
                    passed=None if steps is None else steps <= TARGETS["solver_steps_ms"],
                    note=solvers.get("missing")))
    if web is not None:
        ch, cold = web["changes"], web["cold_load"]
        r = ch["repaint_ms"]
        ok = None
        if _finite(r["median"], r["p95"]):
            ok = r["median"] <= TARGETS["repaint_median_ms"] and r["p95"] <= TARGETS["repaint_p95_ms"]
        out.append(dict(metric=f"Landscape: λ slider → all plots repainted, {ch['changes']} changes (ms)",
                        median=r["median"], p95=r["p95"], target=f"median ≤ {TARGETS['repaint_median_ms']:.0f}, "
                                                                  f"p95 ≤ {TARGETS['repaint_p95_ms']:.0f} ms", passed=ok))
        kb = ch["ws_kb_per_change"]
        out.append(dict(metric="Landscape: websocket traffic per λ change (kB, both directions)", median=kb["median"],
                        p95=kb["p95"], target=f"≤ {TARGETS['ws_kb']:.0f} kB",
                        passed=kb["median"] <= TARGETS["ws_kb"] if _finite(kb["median"]) else None))
        if cold:
            c = cold["first_plot_ms"]
            out.append(dict(metric=f"Landscape: cold load → first rendered plot, {c['n']} fresh contexts (ms)",
                            median=c["median"], p95=c["p95"], target=f"≤ {TARGETS['cold_load_ms']:.0f} ms (median)",
                            passed=c["median"] <= TARGETS["cold_load_ms"] if _finite(c["median"]) else None))
            a = cold["all_plots_ms"]
            out.append(dict(metric="Landscape: cold load → every visible plot rendered (ms)", median=a["median"],
                            p95=a["p95"], target="—", passed=None))
    if controls:
        out += control_rows(controls, skip_cold={"landscape"} if web is not None and web.get("cold_load") else ())
    return out


def control_rows(controls: dict, skip_cold=()) -> list[dict]:
    """Summary rows from ``pages.run``: per page its slowest control (against its target), its
    largest websocket traffic per change, the animation frames, training, cold loads."""
    out = []
    results = controls.get("controls", [])
    for page in pages.PAGES:
        mine = [r for r in results if r["page"] == page]
        timed = [r for r in mine if r["target"] == "repaint"]
        if timed:
            met = sum(1 for r in timed if control_target(r)[1])
            worst = max(timed, key=lambda r: (r["repaint_ms"]["median"]
                                              if _finite(r["repaint_ms"]["median"]) else math.inf))
            target, ok = control_target(worst)
            out.append(dict(metric=f"{pages.TITLES[page]}: slowest control → repaint: {worst['control']}, "
                                   f"{worst['changes']} changes (ms; {met} of {len(timed)} controls meet their target)",
                            median=worst["repaint_ms"]["median"], p95=worst["repaint_ms"]["p95"], target=target,
                            passed=ok))
        for r in mine:
            if r["target"] == "frame":
                target, ok = control_target(r)
                out.append(dict(metric=f"{pages.TITLES[page]}: {r['control']} → repaint, {r['changes']} frames (ms)",
                                median=r["repaint_ms"]["median"], p95=r["repaint_ms"]["p95"], target=target,
                                passed=ok))
        if mine:
            heavy = max(mine, key=lambda r: r["ws_kb_per_change"]["median"]
                        if _finite(r["ws_kb_per_change"]["median"]) else -1)
            kb = heavy["ws_kb_per_change"]
            out.append(dict(metric=f"{pages.TITLES[page]}: most websocket traffic per change: {heavy['control']} (kB)",
                            median=kb["median"], p95=kb["p95"], target=f"≤ {TARGETS['ws_kb']:.0f} kB",
                            passed=kb["median"] <= TARGETS["ws_kb"] if _finite(kb["median"]) else None))
        if page == "trajectories" and controls.get("playback"):
            pb = controls["playback"]
            t = TARGETS["frame_median_ms"]
            f = pb["repaint_ms"]
            out.append(dict(metric=f"Trajectories: animation frames while playing, {pb['frames_timed']} frames "
                                   f"({pb['dropped']} not matched) (ms, browser value → repainted)",
                            median=f["median"], p95=f["p95"], target=f"≤ {t:.0f} ms (median)",
                            passed=f["median"] <= t if _finite(f["median"]) else None))
        for r in mine:
            if page == "collapse" and ("Train" in r["control"]) and r["target"] == "info":
                out.append(dict(metric=f"Posterior collapse: {r['control']} (ms)", median=r["repaint_ms"]["median"],
                                p95=r["repaint_ms"]["p95"], target="— (shows progress)", passed=None))
        cold = (controls.get("cold_load") or {}).get(page)
        if cold and page not in skip_cold:
            c = cold["first_plot_ms"]
            settled = (f"; every slide's page in: median {_fmt(cold['settled_ms']['median'])}"
                       if "settled_ms" in cold else "")
            out.append(dict(metric=f"{pages.TITLES[page]}: cold load → first rendered plot, {c['n']} loads (ms; "
                                   f"every plot: median {_fmt(cold['all_plots_ms']['median'])}{settled})",
                            median=c["median"], p95=c["p95"], target=f"≤ {TARGETS['cold_load_ms']:.0f} ms (median)",
                            passed=c["median"] <= TARGETS["cold_load_ms"] if _finite(c["median"]) else None))
    return out


def table(metrics: list[dict]) -> str:
    lines = ["| metric | median | p95 | target | pass |", "|---|---:|---:|---|---|"]
    for m in metrics:
        name = m["metric"] + (f" — {m['note']}" if m.get("note") else "")
        lines.append(f"| {name} | {_fmt(m['median'])} | {_fmt(m['p95'])} | {m['target']} | "
                     f"{_verdict(m['passed'])} |")
    return "\n".join(lines)


def detail_table(controls: dict, server: dict | None = None) -> str:
    """One row per control: browser repaint, to the rendered frame, bytes, the server's share."""
    lines = ["| page | control | n | median ms | p95 ms | to frame ms | kB / change | server ms | target | pass |"
             " per value (median ms) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    server = server or {}
    for r in controls.get("controls", []):
        target, ok = control_target(r)
        srv = server.get(r.get("key", f"{r['page']}: {r['control']}"), {})
        srv_ms = srv.get("total_ms", {}).get("median") if "total_ms" in srv else None
        values = r.get("by_value_median_ms", {})
        per = ", ".join(f"{k.strip(chr(34))}: {_fmt(v)}" for k, v in values.items()) if 1 < len(values) <= 6 else ""
        flags = []
        if r.get("timed_out"):
            flags.append(f"{r['timed_out']} timed out")
        v = r.get("verify_repaint")
        if r.get("pixels_expected") and v is not None and not v.get("plots_with_new_pixels"):
            flags.append("no plot got new pixels!")
        if r.get("page_errors"):
            flags.append(f"{len(r['page_errors'])} page errors")
        name = r["control"] + (f" ({'; '.join(flags)})" if flags else "")
        lines.append(f"| {pages.TITLES.get(r['page'], r['page'])} | {name} | {r['changes']} | "
                     f"{_fmt(r['repaint_ms']['median'])} | {_fmt(r['repaint_ms']['p95'])} | "
                     f"{_fmt(r.get('frame_ms', {}).get('median'))} | {_fmt(r['ws_kb_per_change']['median'])} | "
                     f"{_fmt(srv_ms)} | {target} | {_verdict(ok)} | {per} |")
    pb = controls.get("playback")
    if pb:
        lines.append(f"| Trajectories | animation frames while playing ({pb['frames_per_second']:.1f} frames/s reached "
                     f"the screen) | {pb['frames_timed']} | {_fmt(pb['repaint_ms']['median'])} | "
                     f"{_fmt(pb['repaint_ms']['p95'])} | {_fmt(pb['frame_ms']['median'])} | "
                     f"{_fmt(pb['ws_kb_per_frame'])} | — | ≤ 40 ms (median) | "
                     f"{_verdict(pb['repaint_ms']['median'] <= 40 if _finite(pb['repaint_ms']['median']) else None)} | |")
    return "\n".join(lines)


def breakdown_table(web: dict, server: dict | None = None) -> str:
    ch = web["changes"]
    lines = ["| stage of one Landscape λ change (ms) | median | p95 |", "|---|---:|---:|"]
    for label, s in ch["breakdown_ms"].items():
        lines.append(f"| {label} | {_fmt(s['median'])} | {_fmt(s['p95'])} |")
    if server and "redraw_ms" in server:
        r, z = server["redraw_ms"], server["serialize_ms"]
        lines.append(f"| (server share, in-process: page redraw → Bokeh events) | {_fmt(r['median'])} | "
                     f"{_fmt(r['p95'])} |")
        lines.append(f"| (server share, in-process: PATCH-DOC serialization, {_fmt(server['patch_kb']['median'])} kB) "
                     f"| {_fmt(z['median'])} | {_fmt(z['p95'])} |")
    for title, t in ch.get("paint_ms_by_plot", {}).items():
        lines.append(f"| (paint time: {title}) | {_fmt(t['median'])} | {_fmt(t['p95'])} |")
    f = ch.get("client_only_floor_ms")
    if f and f["n"]:
        lines.append(f"| (floor: same plots given new data in the browser, no server — "
                     f"{f['n']} changes) | {_fmt(f['median'])} | {_fmt(f['p95'])} |")
    return "\n".join(lines)


def cold_table(cold: dict) -> str:
    """Every page's cold load, from navigation start (medians)."""
    lines = ["| cold load, from navigation start (ms, median) | " + " | ".join(
        pages.TITLES.get(p, p) for p in cold) + " |", "|---|" + "---:|" * len(cold)]
    keys = (("HTML received (server builds the session)", "response_end_ms"),
            ("DOMContentLoaded (scripts and styles loaded)", "dom_content_loaded_ms"),
            ("websocket: first message", "ws_open_ms"),
            ("first plot painted", "first_plot_ms"),
            ("every visible plot painted", "all_plots_ms"))
    for label, key in keys:
        lines.append(f"| {label} | " + " | ".join(
            _fmt(browser.summary(x[key] for x in c["loads"])["median"]) for c in cold.values()) + " |")
    lines.append("| (visible plots) | " + " | ".join(str(c["loads"][0]["n_plots"]) for c in cold.values()) + " |")
    lines.append("| (websocket bytes during load, kB) | " + " | ".join(
        _fmt(browser.summary(x["ws_bytes_recv"] / 1000 for x in c["loads"])["median"]) for c in cold.values()) + " |")
    lines.append("| (static resources transferred, kB) | " + " | ".join(
        _fmt(browser.summary(x["resource_kb"] for x in c["loads"])["median"]) for c in cold.values()) + " |")
    return "\n".join(lines)


def report(result: dict) -> None:
    """Print the tables of a ``make bench`` result (as ``bench-results/bench.json`` holds it)."""
    web, controls = result.get("browser"), result.get("controls")
    if "core" in result and "solvers" in result:
        metrics = rows(result["core"], result["solvers"], web, controls)
        result["metrics"] = metrics
        print(f"load average at start / end: {' '.join(f'{x:.2f}' for x in result['machine']['loadavg_start'])} / "
              f"{' '.join(f'{x:.2f}' for x in result['machine']['loadavg_end'])} on {result['machine'].get('cpus')} CPUs\n")
        print(table(metrics))
        if controls:
            print("\nEvery control (n timed changes after 2 untimed; median / p95 to the repaint, to the rendered "
                  "frame; kB both directions; server = the same change in-process, redraw + serialization):\n")
            print(detail_table(controls, result.get("server_controls")))
            if controls.get("errors"):
                print("\nControls that could not be measured:")
                for e in controls["errors"]:
                    print(f"- {e['control']}: {e['error'][:300]}")
            if controls.get("cold_load"):
                print()
                print(cold_table(controls["cold_load"]))
        elif result.get("server_controls"):
            print("\n| control (in-process server share) | redraw ms | serialize ms | PATCH kB |\n|---|---:|---:|---:|")
            for k, v in result["server_controls"].items():
                if "total_ms" in v:
                    print(f"| {k} | {_fmt(v['redraw_ms']['median'])} | {_fmt(v['serialize_ms']['median'])} | "
                          f"{_fmt(v['patch_kb']['median'])} |")
        if web is not None:
            print()
            print(breakdown_table(web, result.get("server_in_process")))
            v = web["changes"]["verify_repaint"]
            print(f"\nrepaint check: {len(v['plots_with_new_pixels'])}/{v['plots']} visible plots have new pixels "
                  f"after a λ change (every surface: {'yes' if v['image_plots_repainted'] else 'NO'}); "
                  f"screenshots in {OUT.relative_to(ROOT)}/. "
                  f"Timed-out changes: {web['changes']['timed_out']}. "
                  f"Websocket byte counts, init script vs Playwright, disagree on "
                  f"{web['changes']['ws_bytes_mismatch_js_vs_playwright']} changes.")
        for key, text in (result.get("profiles") or {}).items():
            print(f"\n--- cProfile, in-process changes of {key} ---\n{text}")
    if result.get("extras"):
        print("\nThe Theorem and PCA pages, and the openings (benchmarks/bench_theorem.py, bench_pca.py, "
              "openings.py):\n")
        print(extras_table(result["extras"]))


# --------------------------------------------------------------------------- main

#: the benchmarks run after the others, each a ``run()`` of its module
EXTRAS = ("theorem", "pca", "openings")


def parse_extras(text: str) -> tuple[str, ...]:
    chosen = tuple(x for x in text.split(",") if x)
    unknown = sorted(set(chosen) - set(EXTRAS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)} (choose from {', '.join(EXTRAS)})")
    return chosen


def run_extra(name: str, browser_too: bool) -> dict:
    if name == "theorem":
        from benchmarks import bench_theorem
        return bench_theorem.run(browser=browser_too, log=lambda m: print(m, file=sys.stderr, flush=True))
    if name == "pca":
        from benchmarks import bench_pca
        return bench_pca.run(browser=browser_too)
    from benchmarks import openings
    return openings.run()


def extras_table(extras: dict) -> str:
    """One row per headline figure of the other benchmarks, against its target."""
    rows = []
    th = extras.get("theorem") or {}
    if "m8_k4_ms" in th:
        rows.append(("Theorem: λ change at m = 8, k = 4 (server, in-process)", f"{th['m8_k4_ms']:.0f} ms",
                     f"≤ {th['target_ms']:.0f} ms", th["m8_k4_ms"] <= th["target_ms"]))
    ratio = th.get("browser")
    if ratio:
        rows.append(("Theorem: λ change → repaint at m = 4, k = 2, against the Landscape page's λ (Chromium, "
                     "alternating)", f"{ratio['theorem']['repaint_ms']['median']:.0f} vs "
                     f"{ratio['landscape']['repaint_ms']['median']:.0f} ms, {ratio['ratio']:.2f} ×",
                     f"≤ {ratio['target_ratio']} ×", ratio["within_target"]))
    pc = extras.get("pca") or {}
    page, other = pc.get("page"), pc.get("other_session")
    if page:
        warm = page["warm_open"]["all_plots_ms"]["median"]
        rows.append(("PCA: open, warm server → every plot of the first document", f"{warm:.0f} ms", "≤ 2000 ms",
                     warm <= 2000))
        run = page["run_to_first_paint_ms"]["median"]
        rows.append(("PCA: Run → the race's first rows painted", f"{run:.0f} ms", "≤ 500 ms", run <= 500))
    if other:
        rows.append(("PCA: another visitor's Landscape λ change during a race", f"{other['median_ratio']:.2f} × idle",
                     "≤ 1.5 ×", other["within_target"]))
    op = extras.get("openings") or {}
    if "cold_open_ratio" in op:
        cold = op["cold_open_ms"]["app"]["median"]
        rows.append(("Cold open of / → first plot", f"{cold:.0f} ms ({op['cold_open_ratio']:.2f} × plain Panel)",
                     "≤ 1200 ms and ≤ 1.5 ×", cold <= 1200 and op["cold_open_ratio"] <= 1.5))
        wire = op["wire_kb"]["app"]["median"]
        rows.append(("First visit on the wire", f"{wire:.0f} kB", "≤ 1500 kB", wire <= 1500))
        again = len(op["second_open_refetched"]["app"])
        rows.append(("Second open: scripts and styles fetched again", str(again), "0", again == 0))
    for name, value in extras.items():
        if isinstance(value, dict) and "error" in value:
            rows.append((f"{name}: the benchmark failed", value["error"].strip().splitlines()[-1][:80], "—", False))
    head = "| metric | figure | target | met |\n| --- | --- | --- | --- |\n"
    return head + "\n".join(f"| {a} | {b} | {c} | {_verdict(d)} |" for a, b, c, d in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="LAE Landscapes benchmarks (DESIGN.md targets)")
    parser.add_argument("--pages", type=pages.parse_pages, default=pages.PAGES,
                        help=f"comma-separated pages to measure in the browser (default all: {','.join(pages.PAGES)})")
    parser.add_argument("--changes", type=int, default=40, help="timed Landscape λ changes (default 40)")
    parser.add_argument("--control-changes", type=int, default=8,
                        help="timed changes per control of every page (default 8, after 2 untimed; the headline "
                             "control of each page takes 12, a button that starts an animation 6)")
    parser.add_argument("--cold", type=int, default=5, help="cold loads of the Landscape page (default 5)")
    parser.add_argument("--cold-other", type=int, default=3, help="cold loads of every other page (default 3)")
    parser.add_argument("--no-browser", action="store_true", help="core and in-process server figures only")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile the N controls with the slowest server share (printed, and in the JSON)")
    parser.add_argument("--extras", type=parse_extras, default=EXTRAS,
                        help=f"the other benchmarks to run after these (default all: {','.join(EXTRAS)}; '' for none)")
    parser.add_argument("--report", type=str, default=None, metavar="JSON",
                        help="measure nothing: print the tables of an earlier run (e.g. bench-results/bench.json)")
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            report(json.load(f))
        return 0
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    started = time.monotonic()
    result = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "loadavg_start": os.getloadavg()},
              "targets": TARGETS, "pages": list(args.pages)}
    busy = os.getloadavg()[0]
    if busy > 0.5 * (os.cpu_count() or 1):
        say(f"note: load average {busy:.1f} on {os.cpu_count()} CPUs — other work is running; "
            "the figures below will be slower than on an idle machine")
    failed = None
    web = controls = None
    control_pages = [p for p in args.pages if p in PAGE_CLASSES]
    try:
        say("core: 1000×1000 surface …")
        result["core"] = {"surface_ms": bench_surface()}
        say("core: solvers …")
        result["solvers"] = bench_solvers()
        say("server, in-process: Landscape λ and every control …")
        try:
            result["server_in_process"] = bench_server_redraw()
        except Exception as exc:  # noqa: BLE001 - informational only; the app's API may move
            result["server_in_process"] = {"error": "".join(traceback.format_exception(exc))[-2000:]}
            say(f"server in-process timing skipped: {exc!r}")
        result["server_controls"] = bench_server_controls(control_pages, log=say)
        if args.profile:
            slow = sorted((k for k, v in result["server_controls"].items() if "total_ms" in v),
                          key=lambda k: -result["server_controls"][k]["total_ms"]["median"])[:args.profile]
            result["profiles"] = {k: profile_control(k) for k in slow}
        if not args.no_browser:
            with AppServer() as server:
                try:
                    if "landscape" in args.pages:
                        say(f"browser: Landscape, {args.changes} λ changes, {args.cold} cold loads …")
                        web = browser.run(args.changes, args.cold, out_dir=OUT, server_url=server.url)
                        result["browser"] = web
                    say(f"browser: every control of {', '.join(args.pages)} ({args.control_changes} changes each), "
                        f"cold loads …")
                    cold_pages = [p for p in args.pages if p != "landscape" or not web]
                    n_cold = {p: args.cold if p == "landscape" else args.cold_other for p in cold_pages}
                    controls = pages.run(args.control_changes, server.url, pages=args.pages, n_cold=n_cold,
                                         cold_pages=cold_pages, log=say)
                    if web is not None and web.get("cold_load"):
                        controls["cold_load"] = {"landscape": web["cold_load"], **controls.get("cold_load", {})}
                    result["controls"] = controls
                except Exception:
                    sys.stderr.write("--- server log ---\n" + server.log()[-4000:] + "\n")
                    raise
        for name in args.extras:
            if args.no_browser and name == "openings":  # it is a browser benchmark only
                continue
            say(f"{name} …")
            try:
                result.setdefault("extras", {})[name] = run_extra(name, not args.no_browser)
            except Exception as exc:  # noqa: BLE001 - one benchmark's failure keeps the others' figures
                result.setdefault("extras", {})[name] = {"error": "".join(traceback.format_exception(exc))[-4000:]}
                traceback.print_exc()
                failed = failed or exc
    except Exception as exc:  # noqa: BLE001 - the harness failed: say where, keep what was measured
        failed = exc
        result["error"] = "".join(traceback.format_exception(exc))
        traceback.print_exc()
    result["machine"]["loadavg_end"] = os.getloadavg()
    result["seconds"] = time.monotonic() - started

    sys.stderr.flush()
    report(result)
    OUT.mkdir(exist_ok=True)
    path = OUT / "bench.json"
    path.write_text(json.dumps(result, indent=1, default=str, allow_nan=True))
    sys.stdout.flush()
    say(f"\n{path.relative_to(ROOT)} written in {result['seconds']:.0f} s")
    if failed is not None:
        return 2
    if web is not None and not web["changes"]["verify_repaint"]["image_plots_repainted"]:
        say("harness error: a change did not repaint the surfaces' pixels — the timing is not trustworthy")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
