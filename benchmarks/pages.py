"""Browser figures for every control of every page: control → repaint (median, p95), websocket
bytes per change, the Trajectories animation frames, the Train button, and cold load → first
plot for each page (DESIGN.md: any control → repaint ≤ 100 ms median on the other pages; issue 4:
an animation frame ≤ 40 ms median).

How a change is timed (the method of ``benchmarks.browser``, generalised):

* ``benchmarks.browser.INIT_JS`` wraps Bokeh's paint (``PlotView._actual_paint``), paint requests,
  the websocket (bytes, message types), pointer-down events and ``Plotly.react``; ``INSTALL_JS``
  adds a ``Document.on_change`` listener that logs every model change the server sends (model,
  attribute, small values), and a frame clock: a ``requestAnimationFrame`` callback that posts a
  message, whose handler runs once that frame has been rendered.
* A control is operated as a visitor would: its Bokeh model's property is set from the browser
  side (a slider's ``value``, a select's ``value``, a checkbox group's ``active``, a text box's
  ``value`` as on Enter), or a real mouse click goes to a button or to the map (Playwright), timed
  from the pointer-down.
* ``quiet`` completion (most controls): content has changed (any model change the server sent
  or the page's own browser-side callbacks made, but the URL's, the busy spinner's and the
  operated control's own), every plot asked to repaint has painted, no 3-D figure is drawing,
  and nothing has happened for ``quiet_ms``. The change took (``total_ms``, the figure in the
  tables, as ``benchmarks.browser`` times the Landscape λ slider) until the last of: the last
  content change applied (HTML, tables and formulas are in the DOM then), the end of the last
  plot paint, the end of the last 3-D draw. ``frame_ms`` adds the rendering of that frame: the
  time until the frame clock's message after it ran. The quiet period enters neither.
* ``first`` completion (a control that starts an animation or training): the first model change
  of the kind the control is about (a data source, the progress bar becoming visible) has been
  applied and the plots it asked to repaint before the next frame have painted.
* ``ack`` completion (a control with no visible effect, e.g. the Train solver select): the
  server's acknowledgement; the page is watched for ``quiet_ms`` more to prove nothing changes.

Controls that switch what is shown (mode selects, toggles, checkboxes) cycle through their
values; each change is timed and the JSON keeps the figure per value. Each page is opened once
per scenario (a URL), controls run one after another, and each is put back to its first value
afterwards (untimed).

    python -m benchmarks.pages [--pages trajectories,collapse] [--changes 8] [--cold 3]   # prints JSON
    python -m benchmarks.pages --only "collapse: λ|grassmannian: φ" --changes 2 --uniform --warmup 1
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass

from benchmarks import browser
from tests.support import EVERY_SLIDE_BUILT_JS, SHOWN_FIRST_JS, AppServer, chromium_launch_kwargs

#: the pages with controls of their own; the lecture deck shows the other pages' compact views
#: (the same controls and code), so it is measured for its cold load only
PAGES = ("landscape", "theorem", "trajectories", "collapse", "grassmannian", "lecture")
ROUTES = {"landscape": "/landscape", "theorem": "/theorem", "trajectories": "/trajectories", "collapse": "/collapse",
          "grassmannian": "/grassmannian", "lecture": "/lecture"}
TITLES = {"landscape": "Landscape", "theorem": "Theorem", "trajectories": "Trajectories",
          "collapse": "Posterior collapse", "grassmannian": "Grassmannian", "lecture": "Lecture"}

#: issue 4: a change recomputes three solvers × 2 000 iterations — three gradient methods at a
#: small learning rate never converge early, so every path is 2 001 iterates long
TRAJ = "/trajectories?methods=untied_gd,sync_gd,tied_gd&lr_exp=-2.5&tol_exp=-14&max_iter=2000"

# --------------------------------------------------------------------------- browser side

# Installed once per opened page (after benchmarks.browser's init script): the change log, the
# frame clock, and the helpers every change uses.
INSTALL_JS = r"""
() => {
  SHOWN_FIRST
  const B = window.__laeBench;
  if (!B || B.hookedAt == null) throw new Error("paint hook not installed (Bokeh API changed?)");
  const doc = Bokeh.documents[0];
  if (!B.docHooked) {
    B.events = [];
    doc.on_change((ev) => {
      if (!ev || !ev.model) return;
      const v = ev.value;
      const small = v == null || typeof v === "boolean" || typeof v === "number"
                    || (typeof v === "string" && v.length <= 4000)
                    || (v instanceof Map && v.size <= 20)  // a dict such as styles
                    || (typeof v === "object" && v.constructor === Object && Object.keys(v).length <= 20);
      // the template's busy spinner ("loader" css class) is not the page's content
      const busy = Array.isArray(ev.model.css_classes) && ev.model.css_classes.includes("loader");
      B.events.push({t: performance.now(), id: ev.model.id, type: String(ev.model.type), attr: ev.attr ?? ev.kind,
                     sync: ev.sync !== false, value: small ? v : null, busy});
    });
    B.docHooked = true;
  }
  B.models = () => [...Bokeh.documents[0].all_models];
  // "panel.models.widgets.CustomSelect" → "Select", "Slider" → "Slider"
  B.typeName = (t) => String(t).split(".").pop().replace(/^Custom/, "");
  B.find = (spec) => {
    const ok = (m) => {
      if (spec.type && B.typeName(m.type) !== spec.type) return false;
      if (spec.title != null && m.title !== spec.title) return false;
      if (spec.label != null && m.label !== spec.label) return false;
      if (spec.css != null && !(m.css_classes ?? []).includes(spec.css)) return false;
      if (spec.name != null && m.name !== spec.name) return false;
      if (spec.end != null && m.end !== spec.end) return false;
      if (spec.option != null && !(m.options ?? []).some((o) => (Array.isArray(o) ? o[0] : o) === spec.option)) return false;
      return true;
    };
    const found = B.models().filter(ok);
    if (!found.length) throw new Error("no model matches " + JSON.stringify(spec));
    return shownFirst(found)[0];
  };
  // not content: the address bar (written 250 ms after a change, by design) and browser info
  B.excluded = (e) => e.busy || /Location|AddressBar|BrowserInfo/.test(e.type);
  B.plotViews = () => [...Bokeh.index.all_views()].filter((v) => typeof v._actual_paint === "function");
  // the plot views, walked once per change (walking the view tree at every poll would load the
  // very main thread being timed); walked again only when an unknown plot asks to repaint
  B.viewCache = null;
  B.shownIds = (ids) => {
    if (!B.viewCache || ids.some((id) => !B.viewCache.has(id))) {
      B.viewCache = new Map(B.plotViews().map((v) => [v.model.id, v]));
    }
    return new Set([...B.viewCache.values()].filter((v) => v.is_displayed).map((v) => v.model.id));
  };
  B.hash = (v) => {
    const c = v.canvas_view?.primary?.canvas;
    if (!c || !c.getContext || !c.width || !c.height) return null;
    const d = new Uint32Array(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.buffer);
    let h = 2166136261;
    for (let i = 0; i < d.length; i++) { h = Math.imul(h ^ d[i], 16777619); }
    return (h >>> 0).toString(16);
  };
  B.hashes = () => Object.fromEntries(B.plotViews().filter((v) => v.is_displayed).map((v) => [v.model.id, B.hash(v)]));
  // the frame clock: a rAF callback posts a message; its handler runs after that frame's rendering
  B.frameGen = B.frameGen ?? 0;
  B.startFrames = () => {
    B.frames = [];
    const gen = ++B.frameGen;
    const ch = new MessageChannel();
    const loop = () => { if (B.frameGen === gen) requestAnimationFrame(() => ch.port2.postMessage(0)); };
    ch.port1.onmessage = () => { if (B.frameGen === gen) { B.frames.push(performance.now()); loop(); } };
    loop();
  };
  B.stopFrames = () => { B.frameGen++; };
  B.arm = (pixels) => {
    B.before = pixels ? B.hashes() : null;
    B.paints = []; B.requests = []; B.sent = []; B.recv = []; B.events = []; B.pointer = [];
    B.plotlyStarted = []; B.plotlyDone = [];
    B.viewCache = null;
    B.shownIds([]);
    B.startFrames();
    B.tArm = performance.now();
    return B.tArm;
  };
  // wait until the change that started at t0 has reached the screen (see the module docstring)
  B.settle = (o) => new Promise((resolve) => {
    const t0 = o.t0;
    const last = (xs, f) => xs.reduce((a, x) => Math.max(a, f(x)), -Infinity);
    // content: what the server sent, and what the page's own browser-side callbacks changed
    // (the Trajectories player draws a frame in the browser) — not the operated control itself
    const isContent = (e) => e.t >= t0 && !B.excluded(e) && !(e.sync && e.id === o.self);
    const matches = (e) => {
      const m = o.match;
      if (!isContent(e)) return false;
      if (!m) return true;
      if (m.type && B.typeName(e.type) !== m.type) return false;
      if (m.attr && e.attr !== m.attr) return false;
      // m.key: the value is a dict (e.g. styles), compare its entry
      const v = m.key == null ? e.value : (e.value instanceof Map ? e.value.get(m.key) : e.value?.[m.key]);
      if ("value" in m && v !== m.value) return false;
      if (m.contains && !(typeof e.value === "string" && e.value.includes(m.contains))) return false;
      if (m.ids && !m.ids.includes(e.id)) return false;
      if (m.css) {
        let model = Bokeh.documents[0].get_model_by_id(e.id);
        // an app.panes component's text changes on its data model: the classes are its owner's
        if (model && !("css_classes" in model))
          model = [...Bokeh.documents[0].all_models].find((c) => c.data === model) ?? model;
        if (!model || !(model.css_classes ?? []).includes(m.css)) return false;
      }
      return true;
    };
    // every displayed plot asked to repaint in [lo, hi] has painted since: the end of its paint, or null
    const painted = (lo, hi) => {
      const asked = B.requests.filter(([, t]) => t >= lo && t <= hi);
      const shown = B.shownIds([...new Set(asked.map(([id]) => id))]), lastReq = new Map();
      for (const [id, t] of asked) if (shown.has(id)) lastReq.set(id, Math.max(lastReq.get(id) ?? -Infinity, t));
      let end = -Infinity;
      for (const [id, r] of lastReq) {
        const p = B.paints.find((p) => p[0] === id && p[1] >= r);
        if (!p) return null;
        end = Math.max(end, p[2]);
      }
      return end;
    };
    const plotlyBusy = () => B.plotlyStarted.filter((s) => s >= t0).length > B.plotlyDone.filter((d) => d[0] >= t0).length;
    const frameAfter = (t) => B.frames.find((f) => f >= t) ?? null;
    const finish = (timedOut, t1, tLast, tMatch) => {
      B.stopFrames();
      const end = performance.now();
      const rel = (t) => (t == null || !Number.isFinite(t)) ? null : t - t0;
      const upto = t1 ?? end;
      const content = B.events.filter((e) => isContent(e) && e.t <= upto);
      const changed = {};
      for (const e of content) { const k = e.type.replace(/^.*\./, "") + "." + e.attr; changed[k] = (changed[k] ?? 0) + 1; }
      const sent = B.sent.filter((s) => s[0] >= t0), recv = B.recv.filter((r) => r[0] >= t0);
      // the reply that carried the first content: the last PATCH-DOC header before it was applied
      const firstContent = content.length ? content[0].t : Infinity;
      const reply = recv.filter((r) => r[2] === "PATCH-DOC" && r[0] <= firstContent).pop();
      const applied = content.length ? Math.max(...content.map((e) => e.t)) : null;
      const beforeApply = applied == null ? [] : recv.filter((r) => r[0] <= applied);
      const paints = B.paints.filter((p) => p[1] >= t0 && p[2] <= upto);
      const afterApply = applied == null ? paints : paints.filter((p) => p[1] >= applied);
      const plotly = B.plotlyDone.filter((d) => d[0] >= t0);
      const ack = recv.find((r) => r[2] === "OK");
      const inWin = (xs, hi) => xs.filter((x) => x[0] <= hi).reduce((a, x) => a + x[1], 0);
      const after = B.before ? B.hashes() : null;
      resolve({
        // the repaint: the last content change, plot paint or 3-D draw; then its frame rendered
        timed_out: timedOut, total_ms: rel(tLast), frame_ms: rel(t1), match_ms: rel(tMatch),
        first_sent_ms: sent.length ? sent[0][0] - t0 : null,
        first_recv_ms: recv.length ? recv[0][0] - t0 : null,
        reply_ms: reply ? reply[0] - t0 : null, ack_ms: ack ? ack[0] - t0 : null,
        last_recv_before_apply_ms: beforeApply.length ? beforeApply[beforeApply.length - 1][0] - t0 : null,
        data_applied_ms: rel(applied),
        first_paint_start_ms: afterApply.length ? Math.min(...afterApply.map((p) => p[1])) - t0 : null,
        paint_end_ms: paints.length ? Math.max(...paints.map((p) => p[2])) - t0 : null,
        plotly_ms: plotly.length ? Math.max(...plotly.map((d) => d[1])) - t0 : null,
        paint_ms_sum: paints.reduce((a, p) => a + p[2] - p[1], 0),
        paint_ms_max: paints.reduce((a, p) => Math.max(a, p[2] - p[1]), 0),
        n_paints: paints.length, plots_painted: new Set(paints.map((p) => p[0])).size,
        content_events: content.length, changed,
        bytes_sent: inWin(sent, end), bytes_recv: inWin(recv, end),
        bytes_until_t1: inWin(sent, upto) + inWin(recv, upto),
        frames_recv: recv.length, frames_sent: sent.length,
        numbered_recv: B.numbered(recv, B.nRecv), numbered_sent: B.numbered(sent, B.nSent),
        plots_with_new_pixels: after ? Object.keys(after).filter((id) => after[id] !== B.before[id]).length : null,
        plots_hashed: after ? Object.keys(after).length : null,
        // what arrived, in order (the first 40 content changes and messages), for the record
        timeline: [...content.map((e) => [Math.round(e.t - t0), B.typeName(e.type) + "." + e.attr]),
                   ...recv.filter((r) => r[2]).map((r) => [Math.round(r[0] - t0), "← " + r[2]]),
                   ...sent.map((x) => [Math.round(x[0] - t0), "→ " + x[1] + " B"])]
                  .sort((a, b) => a[0] - b[0]).slice(0, 40),
      });
    };
    const tick = () => {
      const now = performance.now();
      if (o.mode === "quiet") {
        const content = B.events.filter(isContent);
        if (content.length && !plotlyBusy() && painted(t0, Infinity) != null) {
          const lastEvent = Math.max(last(B.recv, (r) => r[0]), last(B.events, (e) => e.t), last(B.requests, (r) => r[1]),
                                     last(B.paints, (p) => p[2]), last(B.plotlyDone, (d) => d[1]));
          if (now - lastEvent >= o.quietMs) {
            const tLast = Math.max(last(content, (e) => e.t), last(B.paints.filter((p) => p[1] >= t0), (p) => p[2]),
                                   last(B.plotlyDone.filter((d) => d[0] >= t0), (d) => d[1]));
            const f = frameAfter(tLast);
            if (f != null) return finish(false, f, tLast, content[0].t);
          }
        }
      } else if (o.mode === "first") {
        const hit = B.events.find(matches);
        if (hit) {
          const f0 = frameAfter(hit.t);
          if (f0 != null) {
            const end = painted(hit.t, f0);
            if (end != null) {
              const f = frameAfter(Math.max(hit.t, end));
              if (f != null) return finish(false, f, Math.max(hit.t, end), hit.t);
            }
          }
        }
      } else {  // "ack": the server's acknowledgement, then quiet: nothing visible may follow
        const ack = B.recv.find((r) => r[0] >= t0 && r[2] === "OK");
        if (ack && now - Math.max(ack[0], last(B.recv, (r) => r[0])) >= o.quietMs) return finish(false, null, ack[0], null);
      }
      if (now - t0 > o.timeoutMs) return finish(true, null, null, null);
      setTimeout(tick, 10);
    };
    setTimeout(tick, 0);
  });
  return B.models().length;
}
""".replace("SHOWN_FIRST", SHOWN_FIRST_JS)

# One change made by setting a model property from the browser side, timed to the screen.
SET_JS = r"""
async ({find, prop, value, settle, pixels}) => {
  const B = window.__laeBench;
  const model = B.find(find);
  B.arm(pixels);
  const t0 = performance.now();
  model[prop] = value;
  const rec = await B.settle({...settle, t0, self: model.id});
  rec.set_ms = 0;
  rec.value_after = model[prop];
  return rec;
}
"""

ARM_JS = "(pixels) => window.__laeBench.arm(pixels)"

# After a real click: timed from its pointer-down.
SETTLE_JS = r"""
async (settle) => {
  const B = window.__laeBench;
  const t0 = B.pointer.find((t) => t >= B.tArm) ?? B.tArm;
  const rec = await B.settle({...settle, t0});
  rec.set_ms = t0 - B.tArm;  // arm → pointer-down (Playwright's click), not part of the figure
  return rec;
}
"""

READ_JS = "([find, prop]) => { const v = window.__laeBench.find(find)[prop]; return Array.isArray(v) ? [...v] : v; }"

#: the page position of data point (w₁, w₂) on the Trajectories map
MAP_PIXEL_JS = r"""
([w1, w2]) => {
  const fig = [...Bokeh.documents[0].all_models].find((m) => m.name === "trajectory-map");
  const view = Bokeh.index.find_one(fig);
  // the point must be inside the viewport, or the click lands on nothing (and times out)
  const inside = (b) => b.top >= 0 && b.bottom <= window.innerHeight && b.left >= 0 && b.right <= window.innerWidth;
  if (!inside(view.el.getBoundingClientRect())) view.el.scrollIntoView({block: "center", inline: "center"});
  const box = view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(w1), box.top + view.frame.y_scale.compute(w2)];
}
"""

# Playback: the Player runs in the browser (a value change every `interval` ms, sent to the
# server, which moves the current-iterate markers and the counter). Each frame's latency: from the
# browser's value change to the end of the first rendered frame after the server's reply for
# that value (matched by the counter's "Iteration i") and the plots' repaint.
PLAYBACK_JS = r"""
async ({durationMs}) => {
  const B = window.__laeBench;
  const player = B.find({type: "Player"});
  const t0 = B.tArm;
  await new Promise((r) => setTimeout(r, durationMs));
  const values = B.events.filter((e) => e.id === player.id && e.attr === "value" && e.sync && e.t >= t0);
  // the counter's new text, set by the server or by the page's browser-side frame callback
  // (the counter is an app.panes.HTML: its text is its data's "object")
  const replies = B.events.filter((e) => (e.attr === "text" || e.attr === "object") && typeof e.value === "string"
                                         && e.value.includes("iteration-counter"));
  const shown = new Set(B.plotViews().filter((v) => v.is_displayed).map((v) => v.model.id));
  const out = [];
  let dropped = 0;
  for (const v of values) {
    const reply = replies.find((r) => r.t >= v.t && new RegExp(`Iteration ${Math.round(v.value)} of`).test(r.value));
    if (!reply) { dropped++; continue; }
    const f0 = B.frames.find((f) => f >= reply.t);
    if (f0 == null) { dropped++; continue; }
    let end = reply.t, ok = true;
    for (const [id, t] of B.requests) {
      if (t < reply.t || t > f0 || !shown.has(id)) continue;
      const p = B.paints.find((p) => p[0] === id && p[1] >= t);
      if (!p) { ok = false; break; }
      end = Math.max(end, p[2]);
    }
    const f = ok ? B.frames.find((x) => x >= end) : null;
    if (f == null) { dropped++; continue; }
    out.push({value: v.value, total_ms: end - v.t, frame_ms: f - v.t, reply_ms: reply.t - v.t});
  }
  const span = values.length > 1 ? values[values.length - 1].t - values[0].t : 0;
  B.stopFrames();
  return {frames: out, dropped, values_sent: values.length, seconds: span / 1000,
          bytes: B.recv.reduce((a, r) => a + r[1], 0) + B.sent.reduce((a, r) => a + r[1], 0)};
}
"""

# --------------------------------------------------------------------------- the controls


@dataclass(frozen=True)
class Control:
    """One control and how to operate it.

    ``find`` picks its Bokeh model (type, title, label, css class, name, end, option);
    ``action`` is ``set`` (``model[prop] = value``), ``click`` (Playwright clicks ``selector``)
    or ``tap`` (a click on the Trajectories map at the data point ``value``); ``values`` are
    cycled (a value equal to the current one is skipped); ``complete`` is ``quiet``, ``first``
    (with ``match``) or ``ack``; ``setup`` are untimed ``(find, prop, value)`` sets made first
    and undone after; ``stop`` is the selector of a button to click when the animation a click
    started is still running (its label starts with ■), ``reset`` an untimed ``(find, prop,
    values)`` set after each timed click, cycling ``values``; ``target`` says which figure
    applies: ``repaint`` (≤ 100 ms median; Landscape sliders 40 / 60 ms), ``frame`` (≤ 40 ms
    median) or ``info`` (no target: the Train button shows progress instead; a control that
    redraws nothing).
    """

    page: str
    name: str
    kind: str
    find: dict | None = None
    values: tuple = ()
    prop: str = "value"
    action: str = "set"
    complete: str = "quiet"
    match: dict | None = None
    selector: str | None = None
    setup: tuple = ()
    stop: str | None = None
    reset: tuple | None = None
    target: str = "repaint"
    changes: int | None = None
    pixels: bool = True       # the first timed change must give some plot new pixels
    #: the same change made in-process (``benchmarks.bench`` times the server's share): a state
    #: parameter, ``widget:<page attribute>`` (its ``value``) or ``call:<page method>``
    server: str | None = None
    server_setup: tuple = ()  # (server spec, value) made first

    @property
    def key(self) -> str:
        return f"{self.page}: {self.name}"


def _slider(title, end=None):
    return {"type": "Slider", "title": title, **({"end": end} if end is not None else {})}


SPECTRA = ("5, 2, 1", "3, 2.5, 2, 1.5, 1, 0.7, 0.4, 0.2", "6, 1", "4, 3, 2, 1.5, 1, 0.5", "2.5, 2, 0.3")
#: the Grassmannian's table uses the first m = 4 values: every spectrum gives it new losses
SPECTRA_M4 = ("5, 4, 3, 2", "3, 2.5, 2, 1.5, 1, 0.7, 0.4, 0.2", "6, 2, 1, 0.5", "4, 3, 2, 1.5, 1, 0.5",
              "2.5, 2, 1.2, 0.3")
SOURCE = {"type": "ColumnDataSource"}

SHOW_SPHERE = {"type": "Toggle", "label": "Show 3-D sphere"}
SHOW_SURFACE = {"type": "Toggle", "label": "Show the 3-D surface"}

#: (page, route, controls): a page opened once per scenario, its controls measured in turn
SCENARIOS = (
    ("trajectories", TRAJ, (
        Control("trajectories", "learning rate (3 solvers × 2000 iterations)", "slider", _slider("Learning rate"),
                (-2.4, -2.6, -2.3, -2.7, -2.2, -2.8), server="lr_exp", changes=12),
        Control("trajectories", "animation frame (Player value, drawn in the browser)", "player", {"type": "Player"},
                tuple(range(10, 2000, 97)), target="frame", changes=12),
        Control("trajectories", "λ", "slider", _slider("λ"), (0.3, 0.9, 1.4, 0.7, 0.2, 1.1), server="lam"),
        Control("trajectories", "x", "slider", _slider("x"), (0.8, 1.3, 1.7, 0.6, 1.1), server="x"),
        Control("trajectories", "landscape (scalar ↔ tied)", "select", {"type": "Select", "title": "Landscape"},
                ("tied", "scalar"), server="mode"),
        Control("trajectories", "loss (each of the three)", "select", {"type": "Select", "title": "Loss"},
                ("product", "unregularized", "sum"), server="kind"),
        Control("trajectories", "start w₁ (number box)", "number", {"type": "Spinner", "css": "start-w1"},
                (-1.0, 0.5, 1.2, -1.8, 0.3), server="w1"),
        Control("trajectories", "start w₂ (number box)", "number", {"type": "Spinner", "css": "start-w2"},
                (1.2, -0.5, 0.8, -1.6, 1.9), server="w2"),
        # a click starts the animation from iteration 0: timed to the first frame drawn, and the
        # player sent back to the end (untimed) before the next click
        Control("trajectories", "map click (start point)", "tap", action="tap",
                values=((0.6, -1.1), (-1.2, 0.4), (1.5, 1.2), (-0.5, -1.6), (0.9, 0.3), (-1.7, 1.1)),
                complete="first", match=SOURCE, reset=({"type": "Player"}, "direction", (0,)),
                server="call:set_start"),
        Control("trajectories", "solvers (checkboxes)", "checkbox group", {"type": "CheckboxGroup", "css": "methods"},
                ((0, 1, 2, 3, 4, 5), (0, 2), (1, 2, 5), (0, 1, 2, 3), (2,), (0, 1, 2)), prop="active", server="methods"),
        Control("trajectories", "iteration limit", "slider", _slider("Iteration limit"), (1500, 2500, 1000, 3000, 2000),
                server="max_iter"),
        # (at this learning rate the runs stop at a tolerance of 1e-7 or more: the paths change)
        Control("trajectories", "tolerance", "slider", _slider("Tolerance"), (-5, -7, -4, -6, -14), server="tol_exp"),
        Control("trajectories", "mini-batches (on ↔ off)", "checkbox", {"type": "Checkbox", "label": "Mini-batches"},
                (True, False), prop="active", server="minibatch"),
        Control("trajectories", "iterations per frame (player step, nothing redrawn)", "select",
                {"type": "Select", "title": "Iterations per frame"}, ("5", "1", "10", "2", "20"), target="info",
                pixels=False),
    )),
    ("trajectories", TRAJ + "&mode=tied", (
        Control("trajectories", "y (tied case)", "slider", _slider("y"), (0.4, 1.2, 0.9, 1.6, 0.5), server="y"),
    )),
    ("trajectories", TRAJ + "&minibatch=true", (
        Control("trajectories", "samples n (mini-batches)", "slider", _slider("Samples n"), (30, 60, 10, 100, 20),
                server="n"),
        Control("trajectories", "batch size (mini-batches)", "slider", _slider("Batch size"), (2, 8, 16, 5, 4),
                server="batch_size"),
        Control("trajectories", "seed (mini-batches)", "slider", _slider("Seed"), (1, 2, 3, 4, 5), server="seed"),
    )),
    ("collapse", "/collapse", (
        Control("collapse", "λ", "slider", _slider("λ"), (1.0, 2.5, 4.5, 3.0, 5.5, 0.5), server="lam", changes=12),
        Control("collapse", "x", "slider", _slider("x (the data X = [x])"), (1.5, 2.2, 0.8, 1.8, 1.2), server="x"),
        Control("collapse", "spectrum σ (text box, Enter)", "text", {"type": "TextInput", "css": "spectrum-input"},
                SPECTRA, server="widget:spectrum_input"),
        Control("collapse", "solver for Train (nothing redrawn until Train)", "select",
                {"type": "Select", "title": "Solver for “Train”"}, ("tied_gd", "exact_sync", "untied_gd"),
                complete="ack", target="info", pixels=False, server="method"),
        Control("collapse", "sweep button → first frame", "button", action="click", selector=".sweep-button button",
                complete="first", match=SOURCE, values=(None,), stop=".sweep-button button",
                reset=(_slider("λ"), "value", (1.5, 2.0, 1.2)), changes=6),
        Control("collapse", "Train button → progress bar shown", "button", action="click",
                selector=".train-button button", complete="first",
                match={"css": "train-progress-box", "attr": "styles", "key": "visibility", "value": "visible"}, values=(None,),
                stop=".train-button button", pixels=False, target="info", changes=6),
    )),
    ("grassmannian", "/grassmannian", (
        Control("grassmannian", "φ", "slider", _slider("φ, the line's angle (°)"), (20.0, 60.0, 110.0, 150.0, 85.0, 40.0),
                server="phi", changes=12),
        Control("grassmannian", "plane σ₁", "slider", _slider("σ₁", 3), (2.5, 1.5, 2.8, 1.2), server="plane_s1"),
        Control("grassmannian", "plane σ₂", "slider", _slider("σ₂", 3), (0.5, 1.5, 0.3, 1.8), server="plane_s2"),
        Control("grassmannian", "rotation of the cloud", "slider", _slider("rotation of the cloud (°)"),
                (10.0, 75.0, 140.0, 45.0, 120.0), server="plane_angle"),
        Control("grassmannian", "flow button → first frame", "button", action="click",
                selector=".flow-button button", complete="first", match=SOURCE, values=(None,),
                stop=".flow-button button", reset=(_slider("φ, the line's angle (°)"), "value", (100.0, 140.0, 70.0)),
                changes=6),
        Control("grassmannian", "space σ₁", "slider", _slider("σ₁", 4), (3.5, 2.5, 3.8, 2.8), server="space_s1"),
        Control("grassmannian", "space σ₂", "slider", _slider("σ₂", 4), (1.5, 2.5, 1.2, 2.8), server="space_s2"),
        Control("grassmannian", "space σ₃", "slider", _slider("σ₃", 4), (0.5, 1.5, 0.3, 1.8), server="space_s3"),
        Control("grassmannian", "rotation seed (number box)", "number", {"type": "Spinner", "title": "rotation seed"},
                (2, 3, 4, 5, 6, 7), server="seed"),
        Control("grassmannian", "show 3-D sphere (on ↔ off)", "toggle", SHOW_SPHERE, (True, False), prop="active",
                pixels=False, server="widget:show3d"),
        Control("grassmannian", "space σ₁ with the 3-D sphere shown", "slider", _slider("σ₁", 4), (3.5, 2.5, 3.8, 2.8),
                setup=((SHOW_SPHERE, "active", True),), server="space_s1",
                server_setup=(("widget:show3d", True),), changes=6),
        Control("grassmannian", "m (table only)", "slider", _slider("m (ambient dimension)"), (5, 3, 6, 4),
                pixels=False, server="m"),
        Control("grassmannian", "k (table only)", "slider", _slider("k (subspace dimension, k < m)"), (1, 3, 2),
                pixels=False, server="k"),
        Control("grassmannian", "spectrum σ (text box, Enter, table only)", "text",
                {"type": "TextInput", "css": "spectrum-input"}, SPECTRA_M4, pixels=False, server="widget:spectrum_input"),
    )),
    ("landscape", "/landscape", (
        # (benchmarks.browser times this slider for the headline figure; here, by the same method
        # as every other control, it is the reference the Theorem page's λ is held to)
        Control("landscape", "λ", "slider", _slider("λ"), (0.3, 0.7, 1.2, 0.45, 1.6, 0.9), server="lam", changes=12),
        Control("landscape", "x", "slider", _slider("x"), (0.8, 1.3, 1.7, 0.6, 1.1), server="x", changes=12),
        Control("landscape", "mode (each of the five)", "select", {"type": "Select", "option": "paper"},
                ("alpha", "tied", "prediction", "alignment", "paper"), server="mode", changes=10),
        Control("landscape", "log colour scale (on ↔ off)", "checkbox", {"type": "Checkbox", "label": "Log colour scale"},
                (False, True), prop="active", server="log_color"),
        Control("landscape", "show the 3-D surface (on ↔ off)", "toggle", SHOW_SURFACE, (True, False), prop="active",
                pixels=False, server="widget:show3d"),
        Control("landscape", "3-D surface of (loss select, 3-D shown)", "select",
                {"type": "Select", "option": "product", "title": "3-D surface of"}, ("product", "unregularized", "sum"),
                setup=((SHOW_SURFACE, "active", True),), pixels=False, server="view3d",
                server_setup=(("widget:show3d", True),)),
        Control("landscape", "λ with the 3-D surface shown", "slider", _slider("λ"), (0.3, 0.7, 1.2, 0.45, 1.6),
                setup=((SHOW_SURFACE, "active", True),), server="lam", server_setup=(("widget:show3d", True),)),
    )),
    # the Theorem page's λ: the default m = 4, k = 2 (the issue compares it with the Landscape
    # page's), and m = 8, k = 4 with all 163 manifolds; its server share is benchmarks/bench_theorem.py
    ("theorem", "/theorem?m=4&k=2&lam=1.5&loss=sum", (
        Control("theorem", "λ (m = 4, k = 2, L_σ)", "slider", _slider("λ"), (1.2, 2.6, 0.7, 3.4, 1.9, 5.0, 1.5, 2.3),
                changes=12),
    )),
    ("theorem", "/theorem?m=8&k=4&lam=1.5&loss=product", (
        Control("theorem", "λ (m = 8, k = 4, L_π, 163 manifolds)", "slider", _slider("λ"), (1.2, 2.6, 0.7, 3.4, 1.9),
                changes=8),
    )),
    ("landscape", "/landscape?mode=alpha", (
        Control("landscape", "α (mode alpha)", "slider", _slider("α"), (1.0, 3.0, 1.5, 3.5, 2.5), server="alpha"),
    )),
    ("landscape", "/landscape?mode=tied", (
        Control("landscape", "y (mode tied)", "slider", _slider("y"), (0.4, 1.2, 0.9, 1.6, 0.5), server="y"),
    )),
    ("landscape", "/landscape?mode=alignment", tuple(
        Control("landscape", f"{title} (mode alignment)", "slider", _slider(title), values, changes=6, server=name)
        for title, name, values in (("λ_pred", "lam_pred", (0.5, 1.5, 0.8, 1.2)),
                                    ("λ_info", "lam_info", (0.5, 1.5, 0.8, 1.2)),
                                    ("λ_reg", "lam_reg", (0.5, 0.1, 0.8, 0.3)),
                                    ("λ_self", "lam_self", (0.4, -0.3, 0.6, -0.1))))),
)


def controls(pages=PAGES) -> list[Control]:
    return [c for page, _route, cs in SCENARIOS if page in pages for c in cs]


# --------------------------------------------------------------------------- measuring

class Session:
    """A page opened in a fresh context, with the bench hooks installed."""

    def __init__(self, chromium, url: str, *, timeout_ms: float = 60_000):
        self.url = url
        self.context, self.page, self.counter, self.load = browser._open(chromium, url, timeout_ms=timeout_ms)
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        self.page.set_default_timeout(30_000)
        # the first layout settles (fonts, KaTeX; Trajectories moves its player to the last frame)
        self.page.wait_for_function("() => Bokeh.documents.length && Bokeh.documents[0].is_idle", timeout=timeout_ms)
        self.page.evaluate(INSTALL_JS)
        self.idle()

    def idle(self, quiet_ms: float = 250, timeout_ms: float = 10_000) -> None:
        """Wait (polling in the page) until no websocket message has arrived for ``quiet_ms``."""
        self.page.evaluate(
            """async ({quietMs, timeoutMs}) => {
                const B = window.__laeBench, start = performance.now();
                while (performance.now() - start < timeoutMs) {
                  const lastRecv = B.recv.length ? B.recv[B.recv.length - 1][0] : -Infinity;
                  if (performance.now() - Math.max(lastRecv, start) >= quietMs) return;
                  await new Promise((r) => setTimeout(r, 20));
                }
            }""", {"quietMs": quiet_ms, "timeoutMs": timeout_ms})

    def read(self, find: dict, prop: str = "value"):
        return self.page.evaluate(READ_JS, [find, prop])

    def set(self, find, prop, value, *, mode="quiet", match=None, quiet_ms=120, timeout_ms=8000, pixels=False):
        rec = self.page.evaluate(SET_JS, {"find": find, "prop": prop, "value": _js(value), "pixels": pixels,
                                          "settle": {"mode": mode, "match": match, "quietMs": quiet_ms,
                                                     "timeoutMs": timeout_ms}})
        rec["playwright_bytes"] = self.counter.frames(rec)
        return rec

    def click(self, do, *, mode="quiet", match=None, quiet_ms=120, timeout_ms=8000, pixels=False):
        """``do()`` makes the click (Playwright); the change is timed from its pointer-down."""
        self.page.evaluate(ARM_JS, pixels)
        do()
        rec = self.page.evaluate(SETTLE_JS, {"mode": mode, "match": match, "quietMs": quiet_ms, "timeoutMs": timeout_ms})
        rec["playwright_bytes"] = self.counter.frames(rec)
        return rec

    def label(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def close(self) -> None:
        self.context.close()


def _js(value):
    return list(value) if isinstance(value, tuple) else value


def _change(s: Session, c: Control, value, *, quiet_ms: float, pixels: bool, timeout_ms: float = 8000) -> dict:
    if c.action == "set":
        return s.set(c.find, c.prop, value, mode=c.complete, match=c.match, quiet_ms=quiet_ms, pixels=pixels,
                     timeout_ms=timeout_ms)
    if c.action == "click":
        return s.click(lambda: s.page.locator(c.selector).click(), mode=c.complete, match=c.match,
                       quiet_ms=quiet_ms, pixels=pixels, timeout_ms=timeout_ms)
    if c.action == "tap":
        # Bokeh takes a second tap within its double-tap interval (300 ms) for a double tap, which
        # the map does not answer: leave the previous tap that long behind (untimed)
        s.idle(400)
        x, y = s.page.evaluate(MAP_PIXEL_JS, list(value))
        return s.click(lambda: s.page.mouse.click(x, y), mode=c.complete, quiet_ms=quiet_ms, pixels=pixels,
                       timeout_ms=timeout_ms)
    raise ValueError(f"unknown action {c.action!r}")


def _after_click(s: Session, c: Control, k: int) -> None:
    """Stop the animation a timed click started (if it still runs) and reset, untimed."""
    if c.stop and s.label(c.stop).strip().startswith("■"):
        s.click(lambda: s.page.locator(c.stop).click(), quiet_ms=200)
    s.idle(200)
    if c.reset:
        find, prop, values = c.reset
        value = values[k % len(values)]
        if s.read(find, prop) != value:
            s.set(find, prop, value, quiet_ms=150)


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, abs_tol=1e-9)
    return a == b


#: JavaScript: whether a Player on the page is playing
PLAYING_JS = """() => window.__laeBench.models().some((m) => window.__laeBench.typeName(m.type) === "Player"
                                                          && m.direction !== 0)"""


def stop_playback(s: Session) -> None:
    """Pause a Player the control before left playing (a map click plays the runs from iteration
    0, some 50 s): its frames change the page all the time, and no change would be quiet."""
    if s.page.evaluate(PLAYING_JS):
        s.set({"type": "Player"}, "direction", 0, quiet_ms=200, timeout_ms=30_000)
        s.idle(200)


def measure(s: Session, c: Control, n: int, *, warmup: int = 2, quiet_ms: float = 120) -> dict:
    """Time ``n`` changes of control ``c`` (after ``warmup`` untimed ones) on an opened page."""
    stop_playback(s)
    undo = []
    for find, prop, value in c.setup:
        before = s.read(find, prop)
        if not _same(before, value):
            s.set(find, prop, value, quiet_ms=250, timeout_ms=30_000)
            undo.append((find, prop, before))
    initial = s.read(c.find, c.prop) if c.action == "set" else None
    records, warm_ms, previous, i = [], [], initial, 0
    verify = None
    started = time.monotonic()
    for k in range(warmup + n):
        value = c.values[i % len(c.values)]
        i += 1
        if c.action == "set" and _same(value, previous):
            value = c.values[i % len(c.values)]
            i += 1
        warm = k < warmup
        check = c.pixels and k == warmup
        # the first warm-up may load something once (plotly.js): give it time
        rec = _change(s, c, value, quiet_ms=2 * quiet_ms if warm else quiet_ms, pixels=check,
                      timeout_ms=30_000 if k == 0 else 15_000)
        rec["value"] = value
        previous = value
        if check:
            verify = {"plots": rec["plots_hashed"], "plots_with_new_pixels": rec["plots_with_new_pixels"]}
        if c.action == "click":
            _after_click(s, c, k)
        if warm:
            warm_ms.append(math.inf if rec["timed_out"] else rec["total_ms"])
        else:
            records.append(rec)
    if c.action == "set" and not _same(s.read(c.find, c.prop), initial):  # (a no-effect control: its "ack")
        s.set(c.find, c.prop, initial, mode="ack" if c.complete == "ack" else "quiet", quiet_ms=200,
              timeout_ms=30_000)
    for find, prop, value in reversed(undo):  # undo the setup
        s.set(find, prop, value, quiet_ms=200, timeout_ms=30_000)
    out = summarize(c, records, verify, time.monotonic() - started)
    # the first change of all may pay once (plotly.js loaded, a figure built on first use)
    out["warmup_ms"] = warm_ms
    return out


def _total_ms(r: dict) -> float:
    """A timed change's figure: ∞ for one that timed out."""
    return math.inf if r["timed_out"] or r["total_ms"] is None else r["total_ms"]


def summarize(c: Control, records: list[dict], verify: dict | None, seconds: float) -> dict:
    by_value = {}
    for r in records:
        by_value.setdefault(json.dumps(r["value"]), []).append(_total_ms(r))
    changed: dict[str, int] = {}
    for r in records:
        for k, v in r["changed"].items():
            changed[k] = changed.get(k, 0) + v
    bytes_key = "bytes_until_t1" if c.complete == "first" else "playwright_bytes"
    return {
        "page": c.page, "control": c.name, "key": c.key, "kind": c.kind, "action": c.action,
        "complete": c.complete, "target": c.target, "pixels_expected": c.pixels, "server": c.server,
        "url": None, "changes": len(records), "seconds": seconds,
        "timed_out": sum(r["timed_out"] for r in records),
        "repaint_ms": browser.summary((_total_ms(r) for r in records), keep_inf=True),
        "frame_ms": browser.summary(r["frame_ms"] for r in records),
        "by_value_median_ms": {v: browser.percentile(xs, 50, keep_inf=True) for v, xs in by_value.items()},
        "ws_kb_per_change": browser.summary(r[bytes_key] / 1000 for r in records),
        "ws_bytes_mismatch_js_vs_playwright": sum(
            1 for r in records if c.complete == "quiet" and r["bytes_recv"] + r["bytes_sent"] != r["playwright_bytes"]),
        "breakdown_ms": browser.breakdown(records),
        "paint_ms_sum": browser.summary(r["paint_ms_sum"] for r in records),
        "plots_painted": browser.summary(r["plots_painted"] for r in records),
        "changed_per_change": {k: v / max(len(records), 1) for k, v in sorted(changed.items())},
        "verify_repaint": verify,
        "records": [{k: v for k, v in r.items() if k not in ("changed",)} for r in records],
    }


# --------------------------------------------------------------------------- special runs

def measure_playback(s: Session, seconds: float = 3.0) -> dict:
    """Press play (from the first frame) and time every animation frame for ``seconds``."""
    s.page.evaluate(ARM_JS, False)
    s.page.locator(".trajectory-player button.play, button.play").first.click()
    result = s.page.evaluate(PLAYBACK_JS, {"durationMs": seconds * 1000})
    s.page.locator(".trajectory-player button.pause, button.pause").first.click()
    s.idle(250)
    frames = result["frames"]
    return {"control": "animation frames while playing", "frames_timed": len(frames),
            "values_sent": result["values_sent"], "dropped": result["dropped"], "seconds": result["seconds"],
            "repaint_ms": browser.summary(f["total_ms"] for f in frames),
            "frame_ms": browser.summary(f["frame_ms"] for f in frames),
            "reply_ms": browser.summary(f["reply_ms"] for f in frames),
            "frames_per_second": len(frames) / result["seconds"] if result["seconds"] else math.nan,
            "ws_kb_per_frame": result["bytes"] / 1000 / max(result["values_sent"], 1)}


TRAIN = ".train-button button"
PROGRESS_SHOWN = {"css": "train-progress-box", "attr": "styles", "key": "visibility", "value": "visible"}


def _training(s: Session) -> bool:
    return s.label(TRAIN).strip().startswith("■")


def _start_training(s: Session) -> None:
    s.click(lambda: s.page.locator(TRAIN).click(), mode="first", match=PROGRESS_SHOWN)


def _stop_training(s: Session) -> None:
    if _training(s):
        s.click(lambda: s.page.locator(TRAIN).click(), quiet_ms=200)
    s.idle(200)


def measure_training(s: Session, n: int) -> list[dict]:
    """The Train button's page stays responsive: x changes while training runs (training goes
    on), λ changes during training (they stop it), and one training run to its end."""
    x, lam = _slider("x (the data X = [x])"), _slider("λ")
    out = []
    # x during training: "first" completion on the change's own reply (training goes on all along)
    recs, values, k, attempts = [], (1.5, 2.2, 0.8, 1.8, 1.2, 2.0), 0, 0
    while len(recs) < n and attempts < 4 * n + 4:
        attempts += 1
        if not _training(s):
            _stop_training(s)
            _start_training(s)
        value = values[k % len(values)]
        k += 1
        # the reply to this change: the pitchfork's rule moves to λ = x² (training only moves the bar)
        rec = s.set(x, "value", value, mode="first", match={"type": "Span", "attr": "location", "value": value ** 2},
                    timeout_ms=8000)
        rec["value"] = value
        rec["training_ran_throughout"] = _training(s)
        if rec["training_ran_throughout"]:
            recs.append(rec)
    _stop_training(s)
    s.set(x, "value", 2.0, quiet_ms=150)
    out.append(_special("collapse", "x while Train runs (training continues)", "slider", recs, attempts))
    # λ during training: the change stops the training and repaints the spectrum; timed to its own
    # reply (the threshold rule moves to the new λ), as the bar's updates may pause at any time
    recs, values = [], (1.0, 2.5, 0.5, 3.0, 1.5, 2.0)
    for k in range(n):
        _stop_training(s)
        _start_training(s)
        value = values[k % len(values)]
        rec = s.set(lam, "value", value, mode="first", match={"type": "Span", "attr": "location", "value": value},
                    timeout_ms=8000)
        rec["value"] = value
        recs.append(rec)
    _stop_training(s)
    s.set(lam, "value", 1.5, quiet_ms=150)
    out.append(_special("collapse", "λ while Train runs (stops it)", "slider", recs, n))
    # one run to the end: click → the summary "Trained with …", and how often the bar moved
    _stop_training(s)
    rec = s.click(lambda: s.page.locator(TRAIN).click(), mode="first",
                  match={"css": "train-status", "attr": "object", "contains": "Trained with"}, timeout_ms=60_000)
    rec["value"] = None
    progress = s.page.evaluate("""() => window.__laeBench.events
        .filter((e) => !e.sync && e.attr === "value" && e.type.endsWith("Progress")).map((e) => e.t)""")
    gaps = [b - a for a, b in zip(progress, progress[1:])]
    whole = summarize(Control("collapse", "Train: click → trained, whole run (progress bar moving)", "button",
                              action="click", complete="first", target="info"), [rec], None, 0.0)
    whole.update(progress_updates=len(progress), progress_gap_ms=browser.summary(gaps))
    out.append(whole)
    s.idle(200)
    return out


def _special(page, name, kind, recs, attempts) -> dict:
    c = Control(page, name, kind, complete="first", server=None)
    r = summarize(c, recs, None, 0.0)
    r["attempts"] = attempts
    return r


# --------------------------------------------------------------------------- running

#: per page, what its cold load waits for after its first plots (``settled_ms``): the deck, until
#: every slide holds its page (the deck opens before them)
SETTLED = {"lecture": EVERY_SLIDE_BUILT_JS}


def cold_loads(chromium, base: str, pages, n) -> dict:
    """``n`` cold loads (fresh context, empty cache) of each page's plain route (``n``: a number,
    or a number per page)."""
    count = n if isinstance(n, dict) else dict.fromkeys(pages, n)
    return {page: browser.measure_cold_loads(chromium, base + ROUTES[page], count[page], settled_js=SETTLED.get(page))
            for page in pages if count.get(page)}


PLAYBACK, TRAINING = "trajectories: playback", "collapse: training"


def run_scenarios(chromium, base: str, pages=PAGES, n: int = 8, *, only=None, warmup: int = 2, uniform=False,
                  log=None) -> dict:
    """Every control of ``pages`` (or only those whose ``key`` is in ``only``, where ``PLAYBACK``
    and ``TRAINING`` name the special runs), ``n`` timed changes each unless the control asks
    for its own number (not with ``uniform``); returns {"controls", "playback", "errors"}."""
    say = log or (lambda *a: None)
    wanted = (lambda key: True) if only is None else (lambda key: key in only)
    results, errors, playback = [], [], None
    for page, route, ctls in SCENARIOS:
        ctls = [c for c in ctls if wanted(c.key)]
        extra = ((page == "trajectories" and route == TRAJ and wanted(PLAYBACK))
                 or (page == "collapse" and wanted(TRAINING)))
        if page not in pages or not (ctls or extra):
            continue
        s = Session(chromium, base + route)
        try:
            for c in ctls:
                t = time.monotonic()
                try:
                    r = measure(s, c, n if uniform else (c.changes or n), warmup=warmup)
                    r["url"] = route
                    r["page_errors"] = list(s.page_errors)
                    results.append(r)
                    say(f"  {c.key}: median {r['repaint_ms']['median']:.0f} ms, p95 {r['repaint_ms']['p95']:.0f} ms "
                        f"({time.monotonic() - t:.0f} s)")
                except Exception as exc:  # noqa: BLE001 - one broken control must not lose the others
                    errors.append({"control": c.key, "url": route, "error": f"{type(exc).__name__}: {exc}"[:2000]})
                    say(f"  {c.key}: FAILED {type(exc).__name__}: {str(exc)[:300]}")
                    s.close()
                    s = Session(chromium, base + route)
            if page == "trajectories" and route == TRAJ and wanted(PLAYBACK):
                try:
                    playback = measure_playback(s)
                    say(f"  {PLAYBACK}: frame median {playback['repaint_ms']['median']:.0f} ms")
                except Exception as exc:  # noqa: BLE001
                    errors.append({"control": PLAYBACK, "error": f"{type(exc).__name__}: {exc}"[:2000]})
            if page == "collapse" and wanted(TRAINING):
                try:
                    for r in measure_training(s, max(2, n // 2)):
                        r["url"] = route
                        r["page_errors"] = list(s.page_errors)
                        results.append(r)
                        say(f"  collapse: {r['control']}: median {r['repaint_ms']['median']:.0f} ms")
                except Exception as exc:  # noqa: BLE001
                    errors.append({"control": TRAINING, "error": f"{type(exc).__name__}: {exc}"[:2000]})
        finally:
            s.close()
    return {"controls": results, "playback": playback, "errors": errors}


def control(key: str) -> tuple[str, Control]:
    """The route and the control ``key`` names (the first scenario that has it)."""
    for _page, route, ctls in SCENARIOS:
        for c in ctls:
            if c.key == key:
                return route, c
    raise KeyError(key)


def alternate(chromium, base: str, keys, *, rounds: int = 4, n: int = 6, warmup: int = 1, log=None) -> dict:
    """Time the controls ``keys`` in alternating rounds (each round opens each page afresh and
    times ``n`` changes of its control), so that a slower minute of the machine falls on all of
    them alike; returns ``{key: summary of all its rounds' records}``."""
    say = log or (lambda *a: None)
    chosen = [(key, *control(key)) for key in keys]
    records: dict = {key: [] for key in keys}
    for r in range(rounds):
        for key, route, c in chosen:
            s = Session(chromium, base + route)
            try:
                records[key] += measure(s, c, n, warmup=warmup)["records"]
            finally:
                s.close()
        say(f"  round {r + 1} of {rounds}: " + ", ".join(
            f"{key} {browser.percentile([_total_ms(x) for x in records[key]], 50, keep_inf=True):.0f} ms"
            for key in keys))
    return {key: {"repaint_ms": browser.summary((_total_ms(x) for x in recs), keep_inf=True),
                  "frame_ms": browser.summary(x["frame_ms"] for x in recs), "changes": len(recs)}
            for key, recs in records.items()}


def run(n: int = 8, server_url: str | None = None, *, pages=PAGES, n_cold: int = 3, cold_pages=None,
        only=None, warmup: int = 2, uniform: bool = False, log=None) -> dict:
    """Start the server (unless ``server_url``) and Chromium; measure every control of ``pages``
    (``n`` timed changes each) and ``n_cold`` (a number, or a number per page) cold loads of
    each of ``cold_pages`` (default: ``pages``)."""
    from playwright.sync_api import sync_playwright

    def go(base):
        with sync_playwright() as p:
            chromium = p.chromium.launch(**chromium_launch_kwargs())
            try:
                out = run_scenarios(chromium, base, pages, n, only=only, warmup=warmup, uniform=uniform, log=log)
                chosen = pages if cold_pages is None else cold_pages
                out["cold_load"] = cold_loads(chromium, base, chosen, n_cold) if n_cold and chosen else {}
                out["chromium"] = chromium.version
                return out
            finally:
                chromium.close()

    started = time.monotonic()
    if server_url:
        out = go(server_url.rstrip("/"))
    else:
        with AppServer() as server:
            out = go(server.url)
    out["seconds"] = time.monotonic() - started
    return out


def parse_pages(text: str | None) -> tuple[str, ...]:
    if not text:
        return PAGES
    aliases = {"grassmann": "grassmannian", "posterior": "collapse", "traj": "trajectories"}
    chosen = []
    for part in text.split(","):
        name = aliases.get(part.strip().lower(), part.strip().lower())
        if name not in PAGES:
            raise argparse.ArgumentTypeError(f"unknown page {part!r}; choose from {', '.join(PAGES)}")
        chosen.append(name)
    return tuple(p for p in PAGES if p in chosen)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=8,
                        help="timed changes per control (default 8; the headline controls take 12, clicks 6)")
    parser.add_argument("--cold", type=int, default=3, help="cold loads per page (default 3)")
    parser.add_argument("--pages", type=parse_pages, default=PAGES, help=f"comma-separated, of {','.join(PAGES)}")
    parser.add_argument("--cold-pages", type=parse_pages, default=None, help="pages to cold-load (default: --pages)")
    parser.add_argument("--only", default=None,
                        help=f"'|'-separated control keys (\"page: control\", or {PLAYBACK!r}, {TRAINING!r})")
    parser.add_argument("--warmup", type=int, default=2, help="untimed changes before the timed ones (default 2)")
    parser.add_argument("--uniform", action="store_true", help="--changes for every control, whatever its own count")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    args = parser.parse_args(argv)
    only = None if args.only is None else {k.strip() for k in args.only.split("|") if k.strip()}
    if only is not None:
        known = {c.key for c in controls(PAGES)} | {PLAYBACK, TRAINING}
        unknown = sorted(only - known)
        if unknown:
            parser.error(f"unknown control keys {unknown}; known: {sorted(known)}")
    result = run(args.changes, args.url, pages=args.pages, n_cold=args.cold, cold_pages=args.cold_pages,
                 only=only, warmup=args.warmup, uniform=args.uniform,
                 log=lambda m: print(m, file=sys.stderr, flush=True))
    json.dump(result, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
