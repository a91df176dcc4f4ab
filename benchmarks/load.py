"""Load: N concurrent visitors on the Landscape page, each making M λ changes (issue 7).

    python -m benchmarks.load [--sessions 20 --changes 50] [--url http://…]   # prints JSON

What happens, in order:

1. **Warm-up and baseline.** One visitor opens ``/landscape``, makes a few λ changes and
   leaves; once the server has discarded that session (``/health`` → ``sessions == 0``) and
   its memory has held still for a moment, the server's resident memory is the **baseline**.
   So imports, first-call caches and the allocator's first growth are excluded from what the
   sessions are charged with: the baseline is a server that has already served one visitor
   and has none now — what a server looks like between visitors.
2. **Open.** One Chromium, N browser contexts (separate visitors: own cookies, cache and
   websocket), all opening ``/landscape`` at once (Playwright's async API); each waits until
   its Bokeh document is idle and every visible plot has painted.
3. **Changes.** All N visitors then make their M changes at the same time, each waiting for
   its previous change to be repainted before making the next (no think time: a worst case,
   the server is never idle). A change sets the λ ``Slider`` model from the browser, as a
   drag does; it is complete when every surface that λ updates has new data and every plot
   asked to repaint has painted after its last request (Bokeh's ``PlotView._actual_paint``,
   wrapped by an init script — the method of ``benchmarks.browser``, in a minimal form of its
   own here); latency = the end of the last such paint − the moment of the set.
4. **Memory while open.** ``/health`` is sampled every 0.25 s from step 2 to the end of
   step 3; per extra session = (peak − baseline) / N.
5. **Close and recovery.** Every context closes; ``/health`` is polled until the session
   count is 0 and memory is within 15 % of the baseline; the time that took is the recovery.
   (The server releases memory 2 s after it discards sessions: what has not come back 15 s
   after the last session went stays, and the recovery is reported as ∞.)

With ``--waves K`` steps 2–5 run K times on the same server: the memory a wave leaves behind
must be reused by the next, not added to.

Errors: console errors, uncaught page errors, failed requests, dialogs, error notices on the
page (caught as they appear, since the next good change clears them), changes that time
out, visitors that fail to open, ``/health`` not answering within 60 s, more sessions
created than pages opened (``/health``'s ``created``: Bokeh discarded a session before its
browser connected and made another), and tracebacks or ERROR lines in the server's log (when
this script started the server).

The server's CPU time per change (``/health``'s ``cpu_s``) is reported beside the latency: on
a 2-core machine with every visitor changing at once, a change waits for the others' (p95 ≈
N × CPU per change), whatever the browser does.

Beside it, ``machine``: the CPU every process of the run used per change (/proc: the server, the
Chromium tabs, the rest of Chromium, Playwright's driver, this script), and the mean latency
that the browser side alone forces on this machine, as if the server cost nothing
(``browser_floor_ms``, see ``machine_share``): the tabs share the server's cores here, where a
class's browsers run on their own machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import time
import urllib.request

from tests.support import SHOWN_FIRST_JS, AppServer, chromium_launch_kwargs, server_unless

ROUTE = "/landscape"
SLIDER = ("Slider", "λ")
#: each differs from the one before; with x = 1 the walk crosses λ = x² both ways
LAMBDAS = (0.3, 0.7, 1.2, 0.45, 1.6, 0.9, 2.4, 0.2, 1.05, 3.1, 0.6, 1.35)
VIEWPORT = {"width": 1400, "height": 1000}

#: the targets of issue 7
TARGETS = {"errors": 0, "p95_ms": 250.0, "mib_per_session": 8.0, "recovery_s": 60.0, "recovered_within": 0.15}

# Runs in every document before the page's scripts: records every plot paint and paint request.
INIT_JS = r"""
(() => {
  if (window.top !== window || window.__laeLoad) return;
  const L = window.__laeLoad = {paints: [], requests: [], changes: [], errorNotices: [], hooked: false};
  const hook = () => {
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
      finally { L.paints.push([this.model.id, s, performance.now()]); }
    };
    proto.request_paint = function (...args) {
      L.requests.push([this.model.id, performance.now()]);
      return request.apply(this, args);
    };
    L.hooked = true;
    return true;
  };
  if (!hook()) { const timer = setInterval(() => { if (hook()) clearInterval(timer); }, 2); }
})();
"""

# The document has arrived, is idle, and every visible plot has painted at least once.
READY_JS = r"""
() => {
  const L = window.__laeLoad;
  if (!L || !L.hooked || !window.Bokeh || !Bokeh.documents.length || !Bokeh.documents[0].is_idle) return false;
  const shown = [...Bokeh.index.all_views()].filter((v) => typeof v._actual_paint === "function" && v.is_displayed);
  const painted = new Set(L.paints.map((p) => p[0]));
  return shown.length > 0 && shown.every((v) => painted.has(v.model.id));
}
"""

# Finds the control (by model type and title), listens to every plot's data sources and to
# the page's notice area; returns the source ids (those with an image column separately).
SETUP_JS = r"""
({type, title}) => {
  SHOWN_FIRST
  const L = window.__laeLoad;
  const models = [...Bokeh.documents[0].all_models];
  const found = models.filter((m) => (m.type === type || String(m.type).endsWith("." + type))
                                     && (title == null || m.title === title));
  if (!found.length) throw new Error(`no ${type} titled ${title}`);
  L.control = shownFirst(found)[0];
  L.views = [...Bokeh.index.all_views()].filter((v) => typeof v._actual_paint === "function");
  const seen = new Set(), sources = [], images = [];
  for (const v of L.views) for (const r of v.model.renderers) {
    const s = r.data_source;
    if (!s || seen.has(s.id)) continue;
    seen.add(s.id); sources.push(s.id);
    const cols = typeof s.columns === "function" ? [...s.columns()] : Object.keys(s.data);
    if (v.is_displayed && cols.includes("image")) images.push(s.id);
    const log = () => L.changes.push([s.id, performance.now()]);
    s.connect(s.properties.data.change, log);
    if (s.patching) s.connect(s.patching, log);
    if (s.streaming) s.connect(s.streaming, log);
  }
  // an error notice lasts only until the next good change: catch it when it is shown
  for (const m of models) {
    if (!(m.css_classes ?? []).includes("notices") || !m.properties.text) continue;
    const check = () => {
      if (String(m.text).includes("notice-error"))
        L.errorNotices.push(String(m.text).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim());
    };
    m.connect(m.properties.text.change, check);
    check();
  }
  return {sources, images, value: L.control.value, start: L.control.start ?? null, end: L.control.end ?? null};
}
""".replace("SHOWN_FIRST", SHOWN_FIRST_JS)

# One change: set the control, wait until the expected sources have new data and every visible
# plot asked to repaint has painted, then for quietMs of nothing new. With ``learn`` any changed
# source will do and the answer lists what changed (to learn what a control updates).
CHANGE_JS = r"""
async ({value, expect, learn, quietMs, timeoutMs}) => {
  // The times measured are the ones recorded by the hooks (INIT_JS), not the polls' times:
  // polling less often only keeps this tab's own checks from taking CPU from 19 other tabs
  // and the server (every 4 ms in 20 tabs was 5000 wake-ups a second).
  const POLL_MS = 16;
  const L = window.__laeLoad;
  L.paints = []; L.requests = []; L.changes = [];
  const shown = L.views.filter((v) => v.is_displayed);
  const t0 = performance.now();
  L.control.value = value;
  return await new Promise((resolve) => {
    const finish = (timedOut) => {
      let t1 = -Infinity;
      for (const v of shown) {
        const id = v.model.id;
        const reqs = L.requests.filter((r) => r[0] === id);
        if (!reqs.length) continue;
        const req = Math.max(...reqs.map((r) => r[1]));
        const p = L.paints.find((p) => p[0] === id && p[1] >= req);
        if (p) t1 = Math.max(t1, p[2]);
      }
      resolve({timed_out: timedOut, ms: Number.isFinite(t1) && !timedOut ? t1 - t0 : null,
               changed: [...new Set(L.changes.map((c) => c[0]))], value: L.control.value});
    };
    const tick = () => {
      const now = performance.now();
      if (now - t0 > timeoutMs) return finish(true);
      const changed = new Set(L.changes.map((c) => c[0]));
      const arrived = learn ? changed.size > 0 : expect.every((id) => changed.has(id));
      if (arrived) {
        const pending = shown.some((v) => {
          const reqs = L.requests.filter((r) => r[0] === v.model.id);
          if (!reqs.length) return false;
          const req = Math.max(...reqs.map((r) => r[1]));
          return !L.paints.some((p) => p[0] === v.model.id && p[1] >= req);
        });
        const lastEvent = Math.max(-Infinity, ...L.changes.map((c) => c[1]), ...L.requests.map((r) => r[1]),
                                   ...L.paints.map((p) => p[2]));
        if (!pending && now - lastEvent >= quietMs) return finish(false);
        // all painted: look again when the quiet time would be over (an event in between
        // moves it on); still painting: soon
        return setTimeout(tick, pending ? POLL_MS : Math.max(POLL_MS, lastEvent + quietMs - now + 1));
      }
      setTimeout(tick, POLL_MS);
    };
    setTimeout(tick, 0);
  });
}
"""

SERVER_ERROR = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b")


# --------------------------------------------------------------------------- numbers

def percentile(values, q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; a change that never finished
    (``math.inf``) counts as the slowest; NaN when there are no values."""
    xs = sorted(v for v in values if v is not None and not math.isnan(v))
    if not xs:
        return math.nan
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi or xs[lo] == xs[hi]:
        return xs[lo]
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values) -> dict:
    xs = list(values)
    return {"n": len(xs), "median": percentile(xs, 50), "p95": percentile(xs, 95),
            "max": max(xs) if xs else math.nan}


# --------------------------------------------------------------------------- the server's side

def health(base_url: str, timeout: float = 60.0) -> dict:
    with urllib.request.urlopen(base_url.rstrip("/") + "/health", timeout=timeout) as r:
        return json.load(r)


async def health_async(base_url: str, timeout: float = 60.0) -> dict:
    return await asyncio.to_thread(health, base_url, timeout)


async def wait_sessions_gone(base_url: str, *, timeout: float = 90.0, settle: float = 2.0) -> dict:
    """Poll until the server holds no session, then until its memory holds still for ``settle``
    seconds (Panel collects the discarded documents' garbage just after); the last reading."""
    deadline = time.monotonic() + timeout
    h = await health_async(base_url)
    while h["sessions"] and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        h = await health_async(base_url)
    if h["sessions"]:
        raise TimeoutError(f"{h['sessions']} sessions still open after {timeout} s")
    still_since, last = time.monotonic(), h["rss_mib"]
    while time.monotonic() - still_since < settle and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        h = await health_async(base_url)
        if abs(h["rss_mib"] - last) > 0.5:
            still_since, last = time.monotonic(), h["rss_mib"]
    return h


# --------------------------------------------------------------------------- this machine's side

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float]]:
    """Every process's parent and CPU seconds used so far (/proc; {} where there is none)."""
    out: dict[int, tuple[int, float]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
        except (OSError, IndexError, ValueError):
            continue
    return out


def _descendants(root: int, processes: dict[int, tuple[int, float]]) -> set[int]:
    """``root`` and every process below it, in ``processes`` (``_processes()``)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in processes.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo += children.get(pid, [])
    return out


def process_kind(pid: int) -> str | None:
    """What a process of this load run is: the server, a Chromium renderer (a tab), the rest of
    Chromium (browser, GPU, network and other utility processes), Playwright's driver, or this
    script."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if pid == os.getpid():
        return "this script"
    if " serve" in cmd and ("app.cli" in cmd or "lae-landscapes" in cmd):
        return "server"
    if "--type=renderer" in cmd:
        return "chromium tabs (renderers)"
    if "chrom" in cmd:
        return "chromium (browser, GPU, network)"
    if "playwright" in cmd or "node" in cmd.split(" ", 1)[0]:
        return "playwright driver"
    return None


def cpu_by_kind() -> dict[str, float]:
    """CPU seconds used so far by each kind of process this script started (its server, the
    browser and the driver), from /proc; {} where there is none."""
    processes = _processes()
    out: dict[str, float] = {}
    for pid in _descendants(os.getpid(), processes):
        kind = process_kind(pid)
        if kind is not None and pid in processes:
            out[kind] = out.get(kind, 0.0) + processes[pid][1]
    return out


def machine_share(before: dict, after: dict, changes: int, n_sessions: int, quiet_ms: float) -> dict:
    """Where the machine's CPU went during the changes, in ms per change by kind of process, and
    what the browser side alone implies: with N visitors each changing again as soon as the last
    change is repainted, every change waits for the others', so a visitor's cycle is at least
    N × (CPU per change) / cores. ``browser_floor_ms`` is that bound with the server's share left
    out (as if the server cost nothing), less the quiet time each visitor waits after a repaint:
    no server, however fast, brings the mean latency below it on this machine. (Processes that
    exit during the phase drop out of the sums: a floor, not an estimate.)"""
    if not changes or not after:
        return {}
    per = {k: 1000 * (after[k] - before.get(k, 0.0)) / changes for k in after}
    cores = os.cpu_count() or 1
    browser_side = sum(v for k, v in per.items() if k != "server")
    return {"cpu_ms_per_change": {k: round(v, 1) for k, v in sorted(per.items(), key=lambda kv: -kv[1])},
            "cores": cores, "browser_side_ms_per_change": round(browser_side, 1),
            "browser_floor_ms": round(max(0.0, n_sessions * browser_side / cores - quiet_ms), 1)}


class MemorySampler:
    """Samples ``/health`` every ``interval`` seconds in the background; keeps the peak RSS,
    and the slowest answer (the longest the server's event loop kept a request waiting)."""

    def __init__(self, base_url: str, interval: float = 0.25):
        self.base_url, self.interval = base_url, interval
        self.peak_rss = 0.0
        self.peak_sessions = 0
        self.samples = 0
        self.slowest_s = 0.0
        self.failures: list[str] = []
        self._task = None

    async def _run(self):
        while True:
            t = time.monotonic()
            try:
                h = await health_async(self.base_url)
            except OSError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            else:
                self.peak_rss = max(self.peak_rss, h["rss_mib"])
                self.peak_sessions = max(self.peak_sessions, h["sessions"])
                self.samples += 1
            self.slowest_s = max(self.slowest_s, time.monotonic() - t)
            await asyncio.sleep(self.interval)

    async def __aenter__(self):
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc):
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        h = await health_async(self.base_url)  # one last reading, so a short phase has one too
        self.peak_rss = max(self.peak_rss, h["rss_mib"])


def gc_delta(a: dict, b: dict) -> dict:
    """The server's full (generation 2) garbage collections between two /health answers: how
    many, and their time (ms) — the server answers no one while one runs."""
    ga, gb = a.get("gc") or {}, b.get("gc") or {}
    if not ga or not gb:
        return {}
    return {"n": gb["collections"][2] - ga["collections"][2], "ms": round(gb["full_ms"] - ga["full_ms"], 1),
            "max_ms_so_far": gb["full_ms_max"]}


def problem_kinds(problems) -> dict[str, int]:
    """How often each kind of problem occurred (who had it and the numbers left out)."""
    kinds: dict[str, int] = {}
    for p in problems:
        text = re.sub(r"^(wave \d+: )?(visitor \d+|warm-up|landscape|trajectories): ", "", p)
        text = re.sub(r"\d+(\.\d+)?", "#", text)[:120]
        kinds[text] = kinds.get(text, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def server_log_errors(server: AppServer | None, since: int = 0) -> list[str]:
    """Tracebacks and ERROR lines the server logged (when this script started it)."""
    if server is None:
        return []
    return [line for line in server.log()[since:].splitlines() if SERVER_ERROR.search(line)]


# --------------------------------------------------------------------------- one visitor

class Visitor:
    """One browser context (a separate visitor) with one page, and everything it reported."""

    def __init__(self, browser, base_url: str, name: str = "visitor"):
        self.browser, self.base_url, self.name = browser, base_url.rstrip("/"), name
        self.context = self.page = None
        self.problems: list[str] = []
        self.setup: dict = {}

    async def open(self, route: str, *, timeout_ms: float = 120_000) -> "Visitor":
        """Go to ``route`` (in a new context, unless this visitor has a page) and wait until the
        document is idle and every visible plot has painted."""
        if self.context is None:
            self.context = await self.browser.new_context(viewport=VIEWPORT)
            await self.context.add_init_script(INIT_JS)
        if self.page is None:
            self.page = await self.context.new_page()
            self._listen(self.page)
        await self.page.goto(self.base_url + route, wait_until="commit", timeout=timeout_ms)
        await self.page.wait_for_function(READY_JS, timeout=timeout_ms, polling=100)
        return self

    def _listen(self, page):
        def console(msg):
            if msg.type == "error":
                self.problems.append(f"{self.name}: console error: {msg.text}")

        def dialog(d):
            self.problems.append(f"{self.name}: dialog: {d.type}: {d.message}")
            asyncio.ensure_future(d.dismiss())

        page.on("console", console)
        page.on("pageerror", lambda exc: self.problems.append(f"{self.name}: page error: {exc}"))
        page.on("requestfailed", lambda r: self.problems.append(f"{self.name}: request failed: {r.url}: {r.failure}"))
        page.on("dialog", dialog)

    async def control(self, model_type: str, title: str | None) -> dict:
        """Find the control to change (and listen to the plots' data and the notices)."""
        self.setup = await self.page.evaluate(SETUP_JS, {"type": model_type, "title": title})
        return self.setup

    async def change(self, value, expect=(), *, learn: bool = False, quiet_ms: float = 60,
                     timeout_ms: float = 20_000) -> dict:
        """Set the control to ``value`` and wait for the repaint; a timeout is a problem."""
        rec = await self.page.evaluate(CHANGE_JS, {"value": value, "expect": list(expect), "learn": learn,
                                                   "quietMs": quiet_ms, "timeoutMs": timeout_ms})
        if rec["timed_out"]:
            self.problems.append(f"{self.name}: change to {value} not repainted within {timeout_ms / 1000:g} s")
        return rec

    async def learn(self, values, *, quiet_ms: float = 300, timeout_ms: float = 60_000) -> list[str]:
        """Make untimed changes to ``values``; the ids of the sources they updated. (A longer
        timeout than a timed change's: a visitor learns while the others' pages are still being
        built, and the server may take that long to get to its first change.)"""
        learned = set()
        for v in values:
            learned |= set((await self.change(v, learn=True, quiet_ms=quiet_ms, timeout_ms=timeout_ms))["changed"])
        return sorted(learned)

    async def error_notices(self) -> list[str]:
        return await self.page.evaluate("() => window.__laeLoad ? window.__laeLoad.errorNotices : []")

    async def close(self):
        if self.context is not None:
            await self.context.close()
            self.context = self.page = None


def cycle(values, n: int, previous=None):
    """``n`` values from ``values`` in turn, none equal to the one before it."""
    out, i = [], 0
    while len(out) < n:
        v = values[i % len(values)]
        i += 1
        if v != previous:
            out.append(v)
            previous = v
    return out


async def landscape_visitor(browser, base_url: str, name: str, n_changes: int, ready: asyncio.Event,
                            go: asyncio.Event, *, quiet_ms: float, timeout_ms: float, think_ms: float = 0) -> dict:
    """Open ``/landscape``, learn what λ updates, set ``ready`` (also on failure), wait for
    ``go``, make the changes; the record."""
    v = Visitor(browser, base_url, name)
    out = {"name": name, "opened": False, "latencies_ms": [], "timed_out": 0, "error_notices": []}
    try:
        await v.open(ROUTE)
        out["opened"] = True
        setup = await v.control(*SLIDER)
        values = cycle(LAMBDAS, 2 + n_changes, previous=setup["value"])
        expect = [s for s in await v.learn(values[:2]) if s in setup["images"]]
        if not expect:
            raise RuntimeError("no surface changed its data when λ changed")
        ready.set()
        await go.wait()
        started = time.monotonic()
        for value in values[2:]:
            rec = await v.change(value, expect, quiet_ms=quiet_ms, timeout_ms=timeout_ms)
            out["latencies_ms"].append(math.inf if rec["timed_out"] or rec["ms"] is None else rec["ms"])
            out["timed_out"] += rec["timed_out"]
            if think_ms:
                await asyncio.sleep(think_ms / 1000)
        out["changes_s"] = time.monotonic() - started
        out["error_notices"] = await v.error_notices()
    except Exception as exc:  # noqa: BLE001 - a visitor that fails is an error in the figures, not a crash
        v.problems.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
    ready.set()
    out["problems"] = v.problems
    out["visitor"] = v
    return out


# --------------------------------------------------------------------------- the run

async def wave(browser, base_url: str, n_sessions: int, n_changes: int, *, level_before: float, baseline: float,
               quiet_ms: float, timeout_ms: float, think_ms: float, recovery_timeout: float) -> dict:
    """Steps 2–5 once: open N visitors at once, all change together, close, watch the recovery."""
    before = await health_async(base_url)
    go, ready = asyncio.Event(), [asyncio.Event() for _ in range(n_sessions)]
    async with MemorySampler(base_url) as sampler:
        t_open = time.monotonic()
        tasks = [asyncio.create_task(landscape_visitor(browser, base_url, f"visitor {i + 1}", n_changes, ready[i], go,
                                                       quiet_ms=quiet_ms, timeout_ms=timeout_ms, think_ms=think_ms))
                 for i in range(n_sessions)]
        # the changes start together, once every visitor is ready (or has failed)
        await asyncio.gather(*(e.wait() for e in ready))
        opened = await health_async(base_url)
        open_s = time.monotonic() - t_open
        t_changes, cpu_before = time.monotonic(), cpu_by_kind()
        go.set()
        visitors = await asyncio.gather(*tasks)
        changes_s, cpu_after = time.monotonic() - t_changes, cpu_by_kind()
        after = await health_async(base_url)
    peak = max(sampler.peak_rss, opened["rss_mib"], after["rss_mib"])

    # close everything; wait for the sessions to go and the memory to come back
    await asyncio.gather(*(v.pop("visitor").close() for v in visitors))
    t_close = time.monotonic()
    limits = {"baseline": baseline * (1 + TARGETS["recovered_within"]),
              "level_before": level_before * (1 + TARGETS["recovered_within"])}
    back = {"sessions": None, "baseline": None, "level_before": None}
    trace = []
    while time.monotonic() - t_close < recovery_timeout:
        h = await health_async(base_url)
        el = time.monotonic() - t_close
        trace.append((round(el, 1), h["sessions"], h["rss_mib"]))
        if h["sessions"] == 0:
            back["sessions"] = el if back["sessions"] is None else back["sessions"]
            for k, limit in limits.items():
                if back[k] is None and h["rss_mib"] <= limit:
                    back[k] = el
        # The server releases memory RELEASE_DELAY_S (2 s) after the discards: what has not
        # come back 15 s after the last session went will not come back later.
        if None not in back.values() or (back["sessions"] is not None and el > back["sessions"] + 15):
            break
        await asyncio.sleep(0.5)
    final = await health_async(base_url)

    latencies = [x for v in visitors for x in v["latencies_ms"]]
    problems = [p for v in visitors for p in v["problems"]]
    problems += [f"{v['name']}: error notice: {t}" for v in visitors for t in v["error_notices"]]
    problems += [f"{v['name']}: made {len(v['latencies_ms'])} of {n_changes} changes"
                 for v in visitors if len(v["latencies_ms"]) != n_changes and v["opened"]]
    problems += [f"/health did not answer: {f}" for f in sampler.failures]
    # one session per page view; more means Bokeh discarded a session before its browser
    # connected (it had waited longer than the unused-session lifetime) and made a new one
    created = after["created"] - before["created"]
    if created > n_sessions:
        problems.append(f"server: {created} sessions created for {n_sessions} page views: "
                        f"{created - n_sessions} discarded before their browser connected")
    made = len(latencies)
    inf = lambda x: math.inf if x is None else x  # noqa: E731
    return {
        "changes": made, "latencies_ms": latencies, "problems": problems, "sessions_created": created,
        "opened": sum(v["opened"] for v in visitors), "sessions_seen_open": opened["sessions"],
        "peak_sessions": sampler.peak_sessions, "open_s": open_s, "changes_wall_s": changes_s,
        "latency_ms": summary(latencies),
        "throughput_changes_per_s": made / changes_s if changes_s else math.nan,
        "server_cpu_s": {"open": opened["cpu_s"] - before["cpu_s"], "changes": after["cpu_s"] - opened["cpu_s"]},
        "server_cpu_ms_per_change": 1000 * (after["cpu_s"] - opened["cpu_s"]) / made if made else math.nan,
        "machine": machine_share(cpu_before, cpu_after, made, n_sessions, quiet_ms),
        "server_full_gc": {"open": gc_delta(before, opened), "changes": gc_delta(opened, after)},
        "rss_mib": {"level_before": level_before, "all_open": opened["rss_mib"], "after_changes": after["rss_mib"],
                    "peak": peak, "per_session": (peak - baseline) / n_sessions, "final": final["rss_mib"],
                    "limit_baseline": limits["baseline"], "limit_level_before": limits["level_before"],
                    "samples": sampler.samples},
        "health_slowest_answer_s": sampler.slowest_s,
        "sessions_zero_s": inf(back["sessions"]), "recovery_s": inf(back["baseline"]),
        "recovery_vs_level_before_s": inf(back["level_before"]),
        "recovery_trace": trace[:: max(1, len(trace) // 30)], "final_sessions": final["sessions"],
        "per_visitor_ms": [[round(x, 1) for x in v["latencies_ms"]] for v in visitors],
    }


async def _run(base_url: str, n_sessions: int, n_changes: int, *, server: AppServer | None, waves: int,
               quiet_ms: float, timeout_ms: float, recovery_timeout: float, think_ms: float) -> dict:
    from playwright.async_api import async_playwright

    result: dict = {"url": base_url + ROUTE, "sessions": n_sessions, "changes_per_session": n_changes,
                    "think_ms": think_ms, "waves": waves}
    async with async_playwright() as p:
        browser = await p.chromium.launch(**chromium_launch_kwargs())
        try:
            result["chromium"] = browser.version
            first = await health_async(base_url)
            # 1. warm-up visitor, then the baseline with no session open
            warm = Visitor(browser, base_url, "warm-up")
            await warm.open(ROUTE)
            setup = await warm.control(*SLIDER)
            await warm.learn(cycle(LAMBDAS, 4, previous=setup["value"]))
            problems = list(warm.problems) + [f"warm-up: error notice: {t}" for t in await warm.error_notices()]
            await warm.close()
            t = time.monotonic()
            base = await wait_sessions_gone(base_url)
            result["warmup_discarded_s"] = time.monotonic() - t
            baseline = base["rss_mib"]
            log_mark = len(server.log()) if server else 0
            runs, level = [], baseline
            for _ in range(waves):
                runs.append(await wave(browser, base_url, n_sessions, n_changes, level_before=level, baseline=baseline,
                                       quiet_ms=quiet_ms, timeout_ms=timeout_ms, think_ms=think_ms,
                                       recovery_timeout=recovery_timeout))
                level = runs[-1]["rss_mib"]["final"]
                if runs[-1]["final_sessions"]:  # the next wave needs a server without sessions
                    level = (await wait_sessions_gone(base_url))["rss_mib"]
        finally:
            await browser.close()

    for i, w in enumerate(runs, 1):
        problems += [f"wave {i}: {p}" if waves > 1 else p for p in w.pop("problems")]
    problems += [f"server log: {line}" for line in server_log_errors(server, log_mark)]
    latencies = [x for w in runs for x in w.pop("latencies_ms")]
    made, first_wave = len(latencies), runs[0]
    peak = max(w["rss_mib"]["peak"] for w in runs)
    per_session = (peak - baseline) / n_sessions
    rec_s = first_wave["recovery_s"]
    result.update({
        "changes": made, "errors": len(problems), "problems": problems[:50], "problem_kinds": problem_kinds(problems),
        "latency_ms": summary(latencies),
        "rss_mib": {"first": first["rss_mib"], "baseline": baseline, "peak": peak, "per_session": per_session,
                    "final": runs[-1]["rss_mib"]["final"]},
        "recovery_s": rec_s, "wave": runs,
    })
    result["targets"] = {
        "zero errors": {"figure": len(problems), "target": "0",
                        "met": not problems and made == waves * n_sessions * n_changes},
        "p95 change → repaint (ms)": {"figure": result["latency_ms"]["p95"], "target": "≤ 250",
                                      "met": result["latency_ms"]["p95"] <= TARGETS["p95_ms"]},
        "server memory per extra session (MiB)": {"figure": per_session, "target": "≤ 8",
                                                  "met": per_session <= TARGETS["mib_per_session"]},
        "after closing: sessions back to 0 (s)": {
            "figure": first_wave["sessions_zero_s"], "target": "≤ 60",
            "met": first_wave["sessions_zero_s"] <= TARGETS["recovery_s"]},
        "after closing: memory within 15 % of the baseline (s)": {
            "figure": rec_s, "target": "≤ 60", "met": rec_s <= TARGETS["recovery_s"]},
    }
    if waves > 1:
        later = max(w["recovery_vs_level_before_s"] for w in runs[1:])
        result["targets"]["later waves: memory within 15 % of the level before the wave (s)"] = {
            "figure": later, "target": "≤ 60", "met": later <= TARGETS["recovery_s"]}
    result["passed"] = all(t["met"] for t in result["targets"].values())
    return result


def run(n_sessions: int = 20, n_changes: int = 50, *, server_url: str | None = None, waves: int = 1,
        quiet_ms: float = 60, timeout_ms: float = 20_000, recovery_timeout: float = 90.0, think_ms: float = 0,
        server_env: dict | None = None) -> dict:
    """Start a server (unless ``server_url``; ``server_env`` adds to its environment) and run
    the load; the figures as a dict."""
    with server_unless(server_url, env=server_env) as (base, server):
        started = time.monotonic()
        result = asyncio.run(_run(base, n_sessions, n_changes, server=server, waves=waves, quiet_ms=quiet_ms,
                                  timeout_ms=timeout_ms, recovery_timeout=recovery_timeout, think_ms=think_ms))
    result["seconds"] = time.monotonic() - started
    result["loadavg"] = loadavg()
    result["server_env"] = server_env or {}
    return result


def loadavg() -> list[float] | None:
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--waves", type=int, default=1,
                        help="repeat open → changes → close this often on the same server (default 1)")
    parser.add_argument("--think-ms", type=float, default=0,
                        help="pause after each change (default 0: each visitor changes again at once)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the started server's environment, e.g. PYTHONMALLOC=malloc (repeatable)")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.server_env)
    result = run(args.sessions, args.changes, server_url=args.url, waves=args.waves, think_ms=args.think_ms,
                 server_env=env)
    json.dump(result, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
