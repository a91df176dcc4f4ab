"""Browser measurements of the Landscape page in headless Chromium, against the real server.

What is timed, and how (DESIGN.md, "Numbers it must reach"):

* **Slider → all plots repainted.** The λ slider's Bokeh ``Slider`` model is set from the browser
  side (``model.value = v``), exactly what dragging the slider does; ``t0 = performance.now()``
  just before the set. An init script wraps Bokeh's ``PlotView.prototype._actual_paint`` (the
  method that draws a plot's canvas; it runs inside a ``requestAnimationFrame`` callback) and
  ``PlotView.prototype.request_paint`` (every invalidation of a plot: new data, a moved span,
  a new colour bar range), and listeners on every ``ColumnDataSource`` record when new data
  arrives. A change is complete when the image source of every visible surface has new data,
  every visible plot that was asked to repaint after ``t0`` has painted after its last request,
  and nothing has happened (websocket frame, data change, paint request) for a quiet period.
  ``t1`` = the end of the last such paint. So ``t1 − t0`` holds the websocket send, the server
  callback, the transfer, Bokeh's decoding and the repaint (with its wait for an animation
  frame); the quiet period does not enter it.
* **Websocket bytes per change.** Counted twice: by Playwright (``page.on("websocket")``,
  frames in both directions from the set until the change is complete) and by the init
  script's ``WebSocket`` wrapper (which also timestamps frames, for the breakdown). They must
  agree.
* **Cold load → first rendered plot.** A fresh browser context per load (empty cache);
  the time from navigation start (``performance.timeOrigin``) to the end of the first
  ``_actual_paint`` of a visible plot, and to the moment every visible plot has painted.

Once per run the canvas pixels of every visible plot are hashed before and after a change (and
screenshots saved), to prove that a repaint with new pixels really happened.

``benchmarks.pages`` uses the same init script (which also notes pointer-downs, to time clicks,
and wraps ``Plotly.react`` once plotly.js loads, to time the 3-D figures), ``_open``,
``measure_cold_loads`` (any page's URL), ``summary`` and ``breakdown`` for every control of every
page.

Run alone: ``python -m benchmarks.browser --changes 5 --cold 1`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from tests.support import SHOWN_FIRST_JS, chromium_launch_kwargs, server_unless

#: λ values the benchmark cycles through: each differs from the previous one, and with x = 1
#: (the default) the walk crosses λ = x² back and forth, so the sum loss's minima appear and vanish.
LAMBDAS = (0.3, 0.7, 1.2, 0.45, 1.6, 0.9, 2.4, 0.2, 1.05, 3.1, 0.6, 1.35)
SLIDER_TITLE = "λ"
VIEWPORT = {"width": 1600, "height": 1000}

# Installed with page.add_init_script: runs in every document before the page's own scripts.
INIT_JS = r"""
(() => {
  if (window.top !== window || window.__laeBench) return;
  // sent/recv: [time, bytes, message type, the frame's number on the socket since the page opened,
  // counting only frames with a payload (Playwright does not report empty ones), else null]
  const B = window.__laeBench = {paints: [], requests: [], changes: [], sent: [], recv: [], nSent: 0, nRecv: 0,
                                 firstPaint: null, firstPaintId: null, firstPaints: {},
                                 hookedAt: null, lateHook: null,
                                 pointer: [], plotlyStarted: [], plotlyDone: []};
  // a click or tap starts when the pointer goes down (benchmarks.pages times clicks from here)
  window.addEventListener("pointerdown", () => B.pointer.push(performance.now()), true);
  // plotly.js is loaded on demand (app/plot3d.py) and sets window.Plotly: wrap its react() so a
  // 3-D figure's redraw can be timed to the end of its drawing (the promise react returns)
  let plotly;
  Object.defineProperty(window, "Plotly", {configurable: true, enumerable: true, get: () => plotly, set: (P) => {
    plotly = P;
    if (!P || typeof P.react !== "function" || P.__laeBench) return;
    const react = P.react;
    P.react = function (...args) {
      const s = performance.now();
      B.plotlyStarted.push(s);
      const done = () => B.plotlyDone.push([s, performance.now()]);
      let r;
      try { r = react.apply(this, args); } catch (e) { done(); throw e; }
      Promise.resolve(r).then(done, done);
      return r;
    };
    P.__laeBench = true;
  }});
  const enc = new TextEncoder();
  const size = (d) => typeof d === "string" ? enc.encode(d).length
                                           : (d == null ? 0 : (d.byteLength ?? d.size ?? 0));
  // Bokeh's protocol: a message is a JSON header frame {"msgid", "msgtype", ...}, then metadata,
  // content and buffer frames; note the header's msgtype so a reply can be told from an "OK".
  const msgtype = (d) => {
    if (typeof d !== "string" || d.length > 400 || !d.startsWith("{")) return null;
    try { const h = JSON.parse(d); return typeof h.msgtype === "string" && "msgid" in h ? h.msgtype : null; }
    catch (e) { return null; }
  };
  const Native = window.WebSocket;
  class BenchWebSocket extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        const n = size(ev.data);
        B.recv.push([performance.now(), n, msgtype(ev.data), n > 0 ? B.nRecv++ : null]);
      });
    }
    send(data) {
      const n = size(data);
      B.sent.push([performance.now(), n, null, n > 0 ? B.nSent++ : null]);
      return super.send(data);
    }
  }
  window.WebSocket = BenchWebSocket;
  // [number of the first non-empty frame among xs (or the next number), how many there are]
  B.numbered = (xs, next) => {
    const nos = xs.map((x) => x[3]).filter((no) => no != null);
    return [nos.length ? nos[0] : next, nos.length];
  };
  const hook = () => {
    if (B.hookedAt != null) return true;
    const Bk = window.Bokeh;
    if (!Bk || !Bk.Models || typeof Bk.Models.get !== "function") return false;
    let Plot = null;
    try { Plot = Bk.Models.get("Plot"); } catch (e) { return false; }
    if (!Plot || !Plot.prototype.default_view) return false;
    const proto = Plot.prototype.default_view.prototype;
    const paint = proto._actual_paint, request = proto.request_paint;
    if (typeof paint !== "function" || typeof request !== "function") return false;
    proto._actual_paint = function (...args) {
      const s = performance.now();
      try { return paint.apply(this, args); }
      finally {
        const e = performance.now(), id = this.model.id;
        B.paints.push([id, s, e]);
        if (B.firstPaint == null) { B.firstPaint = e; B.firstPaintId = id; }
        if (!(id in B.firstPaints)) B.firstPaints[id] = e;
      }
    };
    proto.request_paint = function (...args) {
      B.requests.push([this.model.id, performance.now()]);
      return request.apply(this, args);
    };
    B.hookedAt = performance.now();
    try { B.lateHook = [...Bk.index.all_views()].some((v) => (v._render_count ?? 0) > 0); }
    catch (e) { B.lateHook = false; }
    return true;
  };
  if (!hook()) {
    const timer = setInterval(() => { if (hook()) clearInterval(timer); }, 2);
    document.addEventListener("DOMContentLoaded", hook);
  }
})();
"""

# The page's figures, their visible state and data sources; installs the data listeners.
SETUP_JS = r"""
(title) => {
  SHOWN_FIRST
  const B = window.__laeBench;
  if (!B || B.hookedAt == null) throw new Error("paint hook not installed (Bokeh API changed?)");
  const doc = Bokeh.documents[0];
  const models = [...doc.all_models];
  const sliders = models.filter((m) => m.type === "Slider" && m.title === title);
  const slider = shownFirst(sliders)[0];
  if (!slider) throw new Error(`no Slider titled ${title}`);
  B.slider = slider;
  const views = [...Bokeh.index.all_views()].filter((v) => typeof v._actual_paint === "function");
  B.views = views;
  const columns = (s) => typeof s.columns === "function" ? [...s.columns()] : Object.keys(s.data);
  const figures = [], images = [];
  const seen = new Set();
  for (const v of views) {
    const sources = [];
    for (const r of v.model.renderers) {
      const s = r.data_source;
      if (!s || seen.has(s.id)) continue;
      seen.add(s.id);
      const cols = columns(s);
      sources.push({id: s.id, columns: cols});
      if (v.is_displayed && cols.includes("image")) images.push(s.id);
      const log = () => B.changes.push([s.id, performance.now()]);
      s.connect(s.properties.data.change, log);
      if (s.streaming) s.connect(s.streaming, log);
      if (s.patching) s.connect(s.patching, log);
    }
    figures.push({id: v.model.id, title: v.model.title?.text ?? null, displayed: !!v.is_displayed,
                  renders: v._render_count ?? null, sources});
  }
  return {figures, images, slider_value: slider.value, lateHook: B.lateHook};
}
""".replace("SHOWN_FIRST", SHOWN_FIRST_JS)

# One change: set the slider, wait until every affected plot has repainted, return the timeline.
CHANGE_JS = r"""
async ({value, expect, quietMs, timeoutMs, pixels, any}) => {
  const B = window.__laeBench;
  const shown = B.views.filter((v) => v.is_displayed);
  const hash = (v) => {
    const c = v.canvas_view?.primary?.canvas;
    if (!c || !c.getContext) return null;
    const d = new Uint32Array(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.buffer);
    let h = 2166136261;
    for (let i = 0; i < d.length; i++) { h = Math.imul(h ^ d[i], 16777619); }
    return (h >>> 0).toString(16);
  };
  const before = pixels ? Object.fromEntries(shown.map((v) => [v.model.id, hash(v)])) : null;
  B.paints = []; B.requests = []; B.changes = []; B.sent = []; B.recv = [];
  const t0 = performance.now();
  B.slider.value = value;
  const tset = performance.now();
  const last = (xs, i) => xs.length ? Math.max(...xs.map((x) => x[i])) : -Infinity;
  return await new Promise((resolve) => {
    const finish = (timedOut) => {
      const ids = new Set(shown.map((v) => v.model.id));
      const affected = {};
      for (const [id, t] of B.requests) if (ids.has(id)) affected[id] = Math.max(affected[id] ?? -Infinity, t);
      let t1 = -Infinity;
      const per = {};
      for (const [id, req] of Object.entries(affected)) {
        const p = B.paints.find((p) => p[0] === id && p[1] >= req);
        per[id] = p ? [p[1] - t0, p[2] - t0] : null;
        if (p) t1 = Math.max(t1, p[2]);
      }
      const applied = Math.max(...expect.map((id) => last(B.changes.filter((c) => c[0] === id), 1)));
      // (with "any", a source that did not change contributes -Infinity and drops out of the max)
      const rel = (t) => Number.isFinite(t) ? t - t0 : null;
      const inWindow = (xs, hi) => xs.filter((x) => x[0] >= t0 && x[0] <= hi).reduce((a, x) => a + x[1], 0);
      const firstRecv = B.recv.find((r) => r[0] >= t0);
      // the reply that carried the new data: the last PATCH-DOC header before the data was applied
      const replies = B.recv.filter((r) => r[0] >= t0 && r[0] <= applied && r[2] === "PATCH-DOC");
      const reply = replies.length ? replies[replies.length - 1] : null;
      const recvBeforeApply = B.recv.filter((r) => r[0] <= applied);
      const paints = B.paints.filter((p) => p[1] >= t0);
      resolve({
        value, timed_out: timedOut, slider_value: B.slider.value,
        total_ms: rel(t1), set_ms: tset - t0,
        first_sent_ms: B.sent.length ? B.sent[0][0] - t0 : null,
        first_recv_ms: firstRecv ? firstRecv[0] - t0 : null,
        reply_ms: reply ? reply[0] - t0 : null,
        first_paint_start_ms: paints.some((p) => p[1] >= applied)
          ? Math.min(...paints.filter((p) => p[1] >= applied).map((p) => p[1])) - t0 : null,
        messages_recv: B.recv.filter((r) => r[0] >= t0 && r[2]).map((r) => [r[0] - t0, r[2]]),
        frame_sizes_recv: B.recv.filter((r) => r[0] >= t0).map((r) => r[1]),
        last_recv_before_apply_ms: recvBeforeApply.length ? recvBeforeApply[recvBeforeApply.length - 1][0] - t0 : null,
        data_applied_ms: rel(applied),
        paint_ms_sum: paints.reduce((a, p) => a + p[2] - p[1], 0),
        paint_ms_max: paints.reduce((a, p) => Math.max(a, p[2] - p[1]), 0),
        n_paints: paints.length, affected_plots: Object.keys(affected).length, per_plot_ms: per,
        frames_recv: B.recv.length, frames_sent: B.sent.length,
        numbered_recv: B.numbered(B.recv, B.nRecv), numbered_sent: B.numbered(B.sent, B.nSent),
        bytes_recv: B.recv.reduce((a, r) => a + r[1], 0), bytes_sent: B.sent.reduce((a, r) => a + r[1], 0),
        bytes_until_t1: Number.isFinite(t1) ? inWindow(B.recv, t1) + inWindow(B.sent, t1) : null,
        changed_sources: [...new Set(B.changes.map((c) => c[0]))],
        pixels_before: before,
        pixels_after: pixels ? Object.fromEntries(shown.map((v) => [v.model.id, hash(v)])) : null,
      });
    };
    const tick = () => {
      const now = performance.now();
      const changed = new Set(B.changes.map((c) => c[0]));
      if (any ? expect.some((id) => changed.has(id)) : expect.every((id) => changed.has(id))) {
        let pending = false;
        for (const v of shown) {
          const id = v.model.id;
          const req = last(B.requests.filter((r) => r[0] === id), 1);
          if (req > -Infinity && !B.paints.some((p) => p[0] === id && p[1] >= req)) { pending = true; break; }
        }
        const lastEvent = Math.max(last(B.requests, 1), last(B.paints, 2), last(B.recv, 0), last(B.changes, 1));
        if (!pending && now - lastEvent >= quietMs) return finish(false);
      }
      if (now - t0 > timeoutMs) return finish(true);
      setTimeout(tick, 10);
    };
    setTimeout(tick, 0);
  });
}
"""

# The browser-side floor: the same plots get new data set in the browser itself (the surfaces'
# image, contour and marker sources rotated among the three plots, the bifurcation's span moved),
# not sent to the server (setv sync: false), timed to the last repaint as in CHANGE_JS.
FLOOR_JS = r"""
async ({n, quietMs}) => {
  const B = window.__laeBench;
  const shown = B.views.filter((v) => v.is_displayed);
  const surfaces = shown.filter((v) => v.model.renderers.some((r) => r.data_source && r.data_source.data.image));
  const spans = [...Bokeh.documents[0].all_models].filter((m) => m.type === "Span");
  const sources = surfaces.map((v) => v.model.renderers.map((r) => r.data_source).filter((s) => s));
  const out = [];
  for (let k = 0; k < n; k++) {
    await new Promise((r) => setTimeout(r, quietMs));
    const datas = sources.map((ss) => ss.map((s) => s.data));
    B.paints = []; B.requests = [];
    const t0 = performance.now();
    sources.forEach((ss, i) => ss.forEach((s, j) => {
      const other = datas[(i + 1) % datas.length][j];
      if (other) s.setv({data: {...other}}, {sync: false});
    }));
    for (const sp of spans) sp.setv({location: (sp.location ?? 0) + (k % 2 ? -0.37 : 0.37)}, {sync: false});
    await new Promise((resolve) => {
      const tick = () => {
        const pending = shown.some((v) => {
          const reqs = B.requests.filter((r) => r[0] === v.model.id);
          if (!reqs.length) return false;
          const req = Math.max(...reqs.map((r) => r[1]));
          return !B.paints.some((p) => p[0] === v.model.id && p[1] >= req);
        });
        if (!pending && B.paints.length) return resolve();
        setTimeout(tick, 5);
      };
      tick();
    });
    out.push(Math.max(...B.paints.map((p) => p[2])) - t0);
  }
  return out;
}
"""

# Cold load: has every visible plot painted once? (the hook records each plot's first paint)
ALL_PAINTED_JS = r"""
() => {
  const B = window.__laeBench;
  if (!B || B.firstPaint == null || !window.Bokeh || !Bokeh.index) return null;
  const shown = [...Bokeh.index.all_views()].filter((v) => typeof v._actual_paint === "function" && v.is_displayed);
  if (!shown.length || !shown.every((v) => v.model.id in B.firstPaints)) return null;
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const top = [...res].sort((a, b) => b.transferSize - a.transferSize).slice(0, 8)
    .map((r) => [r.name.replace(location.origin, ""), r.transferSize, Math.round(r.responseEnd - r.startTime)]);
  return {resource_kb: res.reduce((a, r) => a + r.transferSize, 0) / 1000, n_resources: res.length,
          largest_resources: top,first_plot_ms: B.firstPaint, all_plots_ms: Math.max(...shown.map((v) => B.firstPaints[v.model.id])),
          n_plots: shown.length, late_hook: B.lateHook,
          response_end_ms: nav ? nav.responseEnd : null,
          dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
          load_event_ms: nav ? nav.loadEventEnd : null,
          ws_open_ms: B.sent.length ? B.sent[0][0] : null,
          first_ws_recv_ms: B.recv.length ? B.recv[0][0] : null,
          ws_bytes_recv: B.recv.reduce((a, r) => a + r[1], 0)};
}
"""


def _numbers(values, keep_inf: bool = False) -> list[float]:
    return sorted(float(v) for v in values
                  if v is not None and not math.isnan(v) and (keep_inf or math.isfinite(v)))


def percentile(values, q: float, keep_inf: bool = False) -> float:
    """The q-th percentile (0–100) by linear interpolation; NaN for no values. With ``keep_inf``
    an infinite value (a change that never finished) counts, as the slowest of all."""
    xs = _numbers(values, keep_inf)
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi or xs[lo] == xs[hi]:
        return xs[lo]
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values, keep_inf: bool = False) -> dict:
    xs = _numbers(values, keep_inf)
    return {"n": len(xs), "median": percentile(xs, 50, keep_inf), "p95": percentile(xs, 95, keep_inf),
            "min": xs[0] if xs else math.nan, "max": xs[-1] if xs else math.nan}


class FrameCounter:
    """Playwright's own count of websocket payload bytes, both directions, for all sockets of a page.

    Playwright hears of a frame through the browser's network events, which may reach Python
    after the ``page.evaluate`` that saw the frame in the page has returned (or before, for a
    frame the page has not handled yet). So a change's frames are picked by their numbers on the
    socket, which the page reports (:meth:`frames`), waiting briefly for late ones: the two counts
    of the same frames' bytes must then agree exactly.
    """

    def __init__(self, page):
        self.page = page
        self.sizes = {"recv": [], "sent": []}
        page.on("websocket", self._socket)

    @staticmethod
    def _size(payload) -> int:
        return len(payload.encode("utf-8")) if isinstance(payload, str) else len(payload)

    def _socket(self, ws):
        ws.on("framereceived", lambda payload: self._add("recv", payload))
        ws.on("framesent", lambda payload: self._add("sent", payload))

    def _add(self, direction: str, payload) -> None:
        if size := self._size(payload):  # the page numbers only frames with a payload, as here
            self.sizes[direction].append(size)

    def total(self) -> int:
        return sum(self.sizes["recv"]) + sum(self.sizes["sent"])

    def frames(self, rec: dict, timeout_ms: float = 2000) -> int:
        """Bytes of the frames the page counted in ``rec`` (by their numbers on the socket)."""
        spans = {"recv": rec["numbered_recv"], "sent": rec["numbered_sent"]}
        deadline = time.monotonic() + timeout_ms / 1000
        while any(len(self.sizes[d]) < first + n for d, (first, n) in spans.items()) and time.monotonic() < deadline:
            self.page.wait_for_timeout(10)  # lets Playwright deliver the pending frame events
        return sum(sum(self.sizes[d][first:first + n]) for d, (first, n) in spans.items())


def _open(browser, url: str, *, timeout_ms: float = 60_000):
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(INIT_JS)
    page = context.new_page()
    counter = FrameCounter(page)
    page.goto(url, wait_until="commit", timeout=timeout_ms)
    load = page.wait_for_function(ALL_PAINTED_JS, timeout=timeout_ms, polling="raf").json_value()
    return context, page, counter, load


def measure_changes(browser, url: str, n_changes: int, *, warmup: int = 2, quiet_ms: float = 120,
                    timeout_ms: float = 5000, shots: Path | None = None, floor_changes: int = 10) -> dict:
    """Time ``n_changes`` λ changes (after ``warmup`` ≥ 1 untimed ones) on a page opened at ``url``."""
    warmup = max(warmup, 1)
    context, page, counter, load = _open(browser, url)
    try:
        page.wait_for_timeout(500)  # let the first layout settle (fonts, KaTeX) before timing
        setup = page.evaluate(SETUP_JS, SLIDER_TITLE)
        visible = setup["images"]
        if len(visible) < 1:
            raise RuntimeError(f"no visible image source found on the page: {setup['figures']}")
        # The warm-up changes learn which surfaces a λ change really updates (all three today; a
        # page that skips a surface whose loss does not depend on λ must not stall the timer);
        # every timed change then waits for all of those.
        expect, learned = visible, set()
        records, verify = [], None
        previous = setup["slider_value"]
        i = 0
        for k in range(warmup + n_changes):
            value = LAMBDAS[i % len(LAMBDAS)]
            i += 1
            if value == previous:  # every set must be a real change
                value = LAMBDAS[i % len(LAMBDAS)]
                i += 1
            check = k == warmup  # the first timed change also proves that the pixels changed
            if check and shots is not None:
                page.screenshot(path=str(shots / "landscape-before.png"))
            if k == warmup:
                expect = [sid for sid in visible if sid in learned]
                if not expect:
                    raise RuntimeError("no surface changed its data in the warm-up λ changes")
            warm = k < warmup
            rec = page.evaluate(CHANGE_JS, {"value": value, "expect": expect, "any": warm,
                                            "quietMs": 2 * quiet_ms if warm else quiet_ms,
                                            "timeoutMs": timeout_ms, "pixels": check})
            if warm:
                learned |= set(rec["changed_sources"])
            rec["playwright_bytes"] = counter.frames(rec)
            previous = value
            if check:
                before, after = rec.pop("pixels_before"), rec.pop("pixels_after")
                changed = sorted(pid for pid in after if after[pid] != before.get(pid))
                verify = {"plots": len(after), "plots_with_new_pixels": changed,
                          "image_plots_repainted": all(
                              f["id"] in changed for f in setup["figures"]
                              if f["displayed"] and any(s["id"] in expect for s in f["sources"]))}
                if shots is not None:
                    page.screenshot(path=str(shots / "landscape-after.png"))
                    verify["screenshots"] = [str(shots / "landscape-before.png"), str(shots / "landscape-after.png")]
            else:
                rec.pop("pixels_before", None)
                rec.pop("pixels_after", None)
            if k >= warmup:
                records.append(rec)
        floor = page.evaluate(FLOOR_JS, {"n": floor_changes, "quietMs": quiet_ms}) if floor_changes else []
        timed_out = sum(r["timed_out"] for r in records)
        mismatch = [r for r in records if r["bytes_recv"] + r["bytes_sent"] != r["playwright_bytes"]]
        return {
            "url": url, "changes": len(records), "warmup": warmup, "quiet_ms": quiet_ms,
            "timed_out": timed_out, "figures": setup["figures"], "visible_image_sources": visible,
            "expected_image_sources": expect,
            "initial_load": load, "verify_repaint": verify,
            # a change that never completed counts as infinitely slow, not as missing
            "repaint_ms": summary((math.inf if r["timed_out"] or r["total_ms"] is None else r["total_ms"]
                                   for r in records), keep_inf=True),
            "ws_kb_per_change": summary(r["playwright_bytes"] / 1000 for r in records),
            "ws_bytes_mismatch_js_vs_playwright": len(mismatch),
            "breakdown_ms": breakdown(records),
            "client_only_floor_ms": summary(floor),
            "paint_ms_by_plot": {
                f"{f['title']} ({f['id']})": summary(r["per_plot_ms"][f["id"]][1] - r["per_plot_ms"][f["id"]][0]
                                                     for r in records if r["per_plot_ms"].get(f["id"]))
                for f in setup["figures"] if f["displayed"]},
            "records": records,
        }
    finally:
        context.close()


#: the stages of one change, in order: (label, start key, end key) in a record; they add up to
#: the total (``None`` start = t0)
STAGES = (
    ("set → websocket send", None, "first_sent_ms"),
    ("send → reply's first frame (server: Panel scheduling, callback, Bokeh serialization)",
     "first_sent_ms", "reply_ms"),
    ("reply's first → last frame (transfer, message dispatch)", "reply_ms", "last_recv_before_apply_ms"),
    ("last frame → data applied (Bokeh decode, apply, incl. formula/HTML updates)",
     "last_recv_before_apply_ms", "data_applied_ms"),
    ("data applied → first plot paint starts (wait for animation frame, layout)",
     "data_applied_ms", "first_paint_start_ms"),
    ("first paint starts → last plot painted (painting)", "first_paint_start_ms", "total_ms"),
)


def breakdown(records) -> dict:
    """Median / p95 of each stage of a change, and of the paint time itself."""
    out = {}
    for label, a, b in STAGES:
        out[label] = summary((r[b] - (r[a] if a else 0.0))
                             if r.get(b) is not None and (a is None or r.get(a) is not None) else None
                             for r in records)
    out["(paint time, all plots summed)"] = summary(r["paint_ms_sum"] for r in records)
    out["(paint time, slowest plot)"] = summary(r["paint_ms_max"] for r in records)
    out["(first frame back: Bokeh's OK to the slider patch)"] = summary(r["first_recv_ms"] for r in records)
    return out


def measure_cold_loads(browser, url: str, n: int, *, timeout_ms: float = 60_000, settled_js: str | None = None) -> dict:
    """``n`` page loads, each in a fresh context (empty cache), timed from navigation start. With
    ``settled_js`` (a JavaScript predicate) each load also waits for it after the plots, and
    ``settled_ms`` is when it first held (polled every 20 ms)."""
    loads = []
    for _ in range(n):
        context, page, counter, load = _open(browser, url, timeout_ms=timeout_ms)
        if settled_js is not None:
            page.wait_for_function(settled_js, timeout=timeout_ms, polling=20)
            load["settled_ms"] = page.evaluate("() => performance.now()")
        load["playwright_ws_bytes"] = counter.total()
        context.close()
        loads.append(load)
    out = {"loads": loads, "first_plot_ms": summary(x["first_plot_ms"] for x in loads),
           "all_plots_ms": summary(x["all_plots_ms"] for x in loads),
           "late_hook": any(x["late_hook"] for x in loads)}
    if settled_js is not None:
        out["settled_ms"] = summary(x["settled_ms"] for x in loads)
    return out


def run(n_changes: int = 40, n_cold: int = 5, *, out_dir: Path | None = None, server_url: str | None = None,
        route: str = "/") -> dict:
    """Start the server (unless ``server_url``), Chromium, and take every browser measurement."""
    from playwright.sync_api import sync_playwright

    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    with server_unless(server_url) as (base, _server):
        url = base + route
        started = time.monotonic()
        with sync_playwright() as p:
            browser = p.chromium.launch(**chromium_launch_kwargs())
            try:
                changes = measure_changes(browser, url, n_changes, shots=out_dir)
                cold = measure_cold_loads(browser, url, n_cold) if n_cold else None
                version = browser.version
            finally:
                browser.close()
    return {"url": url, "chromium": version, "seconds": time.monotonic() - started,
            "changes": changes, "cold_load": cold}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="directory for screenshots")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    args = parser.parse_args(argv)
    result = run(args.changes, args.cold, out_dir=args.out, server_url=args.url)
    json.dump(result, sys.stdout, indent=1, allow_nan=True, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
