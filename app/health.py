"""``/health``: what the load and soak tests read from outside the server process.

``GET /health`` answers ``{"sessions": …, "sessions_by_route": {…}, "connections": …,
"rss_mib": …, "cpu_s": …, "allocator": …, "gc": {…}, "pid": …}``:

* ``sessions`` — the live Bokeh sessions of this process, summed over every route (Bokeh's own
  ``BokehTornado.get_sessions``). A session closes when its browser tab does, and Bokeh discards
  it ~35–40 s after that (``CLOSED_LIFETIME_MS``); one no browser has connected to yet waits
  ``UNUSED_LIFETIME_MS`` (120 s) for it.
* ``connections`` — open websockets to those sessions.
* ``created``, ``destroyed`` — sessions this process has created and discarded so far. A page
  view creates one session; more than one per view means Bokeh discarded a session before its
  browser connected (``UNUSED_LIFETIME_MS`` ran out) and made a new one when it did.
* ``trims`` — how often memory was handed back to the system (see ``release_memory``).
* ``rss_mib`` — the process's resident memory now (``VmRSS`` in ``/proc/self/status``; where
  there is no ``/proc``, the peak from ``getrusage``, and ``rss_kind`` says so).
* ``cpu_s`` — the CPU time this process has used so far (user + system, seconds).
* ``allocator`` — Python's memory allocator, ``malloc`` (what ``lae-landscapes serve
  --tune-memory`` runs with, ``app.cli.SERVER_MALLOC``) or ``pymalloc`` (Python's default).
* ``tune_memory`` — whether this server tunes its heap (``serve --tune-memory``: see
  ``freeze_live_objects`` and ``release_memory``).
* ``gc`` — Python's cyclic garbage collector in this process: ``collections`` per generation
  (0, 1, 2) and the time of the full (generation 2) ones, ``full_ms`` in total and
  ``full_ms_max`` the longest: the server runs nothing else while one runs. ``frozen``: the
  objects it leaves out of its walks — the start-up's and the live sessions' (see
  ``freeze_live_objects``) — counted exactly at each release and added to at each freeze (the
  objects it moves); those freed since are still counted. Counting them all walks them all
  (~5 ms for 500 000): per call of an endpoint a load test polls 4 times a second it put 10 ms
  of server CPU on each change of a 20-visitor run, and per freeze 8 % on each page view.
* ``pid`` — this process (with ``--num-procs`` > 1 each worker answers for itself).

Nothing in it names a file, a visitor or a session id.
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import sys
import time
import weakref

from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback

PATH = r"/health"
#: a session discard releases memory this long after it, together with the discards in between
RELEASE_DELAY_S = 2.0

#: Two lifetimes for a session with no browser connected (Bokeh has one for both, its
#: ``unused_session_lifetime``, 15 s by default).
#:
#: * UNUSED_LIFETIME_MS — a session no browser has connected to yet. Its clock starts when the
#:   page's HTML is made, before the browser has loaded the scripts: when a class arrives at once
#:   on a 2-core server, building their sessions (~0.5 s of CPU each) and loading their tabs can
#:   take the last tabs more than 40 s, and a session thrown away before its browser connects is
#:   built again when it does, twice the work. This is Bokeh's setting
#:   (``LAE_UNUSED_SESSION_MS`` sets another).
#: * CLOSED_LIFETIME_MS — a session whose tab has closed: ``sweep_closed_sessions`` asks Bokeh
#:   to discard it once its last websocket has been gone this long, so its memory comes back
#:   within ~45 s (the load test allows 60 s), however long the first wait is.
#:
#: Bokeh looks for sessions to discard every CHECK_UNUSED_MS.
UNUSED_LIFETIME_MS = 120_000
CLOSED_LIFETIME_MS = 35_000
CHECK_UNUSED_MS = 5_000
#: how often ``sweep_closed_sessions`` looks for sessions with a browser (a tab open for less
#: than this may count as never connected, and wait UNUSED_LIFETIME_MS)
SWEEP_MS = 1_000

counts = {"created": 0, "destroyed": 0, "trims": 0, "freezes": 0}
_pending_release = None
_freeze_scheduled = False
_installed = False
#: ``serve --tune-memory``: sessions' objects frozen out of the collector's walks once built, and
#: the memory of discarded sessions collected and handed back to the system (off by default: it
#: changes how the whole process manages its heap)
tune_memory = False
_full_gc = {"ms": 0.0, "max_ms": 0.0, "started": None, "frozen": 0}


def _time_full_collections(phase: str, info: dict) -> None:
    """A ``gc.callbacks`` entry: times the generation-2 collections."""
    if info.get("generation") != 2:
        return
    if phase == "start":
        _full_gc["started"] = time.perf_counter()
    elif _full_gc["started"] is not None:
        ms = 1000 * (time.perf_counter() - _full_gc["started"])
        _full_gc["started"] = None
        _full_gc["ms"] += ms
        _full_gc["max_ms"] = max(_full_gc["max_ms"], ms)


def gc_report() -> dict:
    return {"collections": [g["collections"] for g in gc.get_stats()],
            "full_ms": round(_full_gc["ms"], 1), "full_ms_max": round(_full_gc["max_ms"], 1),
            "frozen": _full_gc["frozen"]}


def _libc_malloc_trim():
    """glibc's ``malloc_trim``, or None (musl, macOS: nothing to call)."""
    try:
        return ctypes.CDLL(None).malloc_trim  # the symbols the process already has: its libc's
    except (OSError, AttributeError):
        return None


_malloc_trim = _libc_malloc_trim()


def freeze_live_objects() -> None:
    """Leave every object alive now — the sessions built so far — out of the cyclic collector's
    walks (``gc.freeze``, which only moves lists: it costs nothing however many there are).

    A session's page is tens of thousands of objects (Bokeh models, param objects) that live as
    long as its tab. Python walks every tracked object in a full collection, and it makes one
    each time the objects that have survived grow by a quarter: while a class opens the page
    (each new session a quarter more) and now and then while they change sliders; the server
    answers no one meanwhile (``/health``'s ``full_ms_max``). Frozen, the sessions' objects are still freed by reference
    counting as usual; only those in reference cycles wait for ``release_memory``, which runs
    after every discard of sessions. Scheduled once per burst from ``_session_created``: it runs
    after the session's page is built."""
    global _freeze_scheduled
    _freeze_scheduled = False
    moving = sum(len(gc.get_objects(generation)) for generation in range(3))  # only the unfrozen
    gc.freeze()
    counts["freezes"] += 1
    _full_gc["frozen"] += moving


def release_memory() -> None:
    """Collect every object that is garbage — the frozen ones included (``gc.unfreeze``, a full
    collection, then ``gc.freeze`` again for the sessions still alive) — then ask glibc to
    return the free pages of its heap to the system.

    A discarded session's objects are freed, but glibc keeps the freed pages for reuse, so the
    resident memory stays at its peak; ``malloc_trim(0)`` hands back every whole free page.
    Python's own small-object allocator (pymalloc) returns a 1 MiB arena only once every object
    in it is gone, which a few long-lived objects prevent: under pymalloc this releases a few
    MiB; under ``PYTHONMALLOC=malloc`` (every object in glibc's heap; what ``lae-landscapes
    serve --tune-memory`` runs with) it gets most of a visitor burst's memory back, at some 20 %
    more server CPU per change when the server is saturated. This full collection walks every
    live session and the start-up's objects: one per burst of discards, instead of the
    collections Python would make by itself while sessions are opened and used."""
    global _pending_release
    _pending_release = None
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _full_gc["frozen"] = gc.get_freeze_count()
    if _malloc_trim is not None:
        _malloc_trim(0)
        counts["trims"] += 1


def _session_created(session_context) -> None:
    """Count; start the sweep of closed tabs; schedule ``freeze_live_objects`` (Bokeh builds the
    session's page right after this hook, before the loop runs anything else)."""
    global _freeze_scheduled
    counts["created"] += 1
    _start_sweep(session_context)
    if tune_memory and not _freeze_scheduled:
        _freeze_scheduled = True
        IOLoop.current().add_callback(freeze_live_objects)


def _session_destroyed(session_context) -> None:
    """Count, and schedule ``release_memory`` (at most one pending: a burst of discards —
    Bokeh discards every expired session in one sweep — shares one release)."""
    global _pending_release
    counts["destroyed"] += 1
    if tune_memory and _pending_release is None:
        _pending_release = IOLoop.current().call_later(RELEASE_DELAY_S, release_memory)


def install() -> None:
    """Register the session counters and the memory release (once; before the server starts)."""
    global _installed
    import panel as pn

    if not _installed:
        pn.state.on_session_created(_session_created)
        pn.state.on_session_destroyed(_session_destroyed)
        gc.callbacks.append(_time_full_collections)
        _installed = True


def resident_mib() -> tuple[float, str]:
    """(resident memory in MiB, "current" or "peak")."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024, "current"  # the kernel reports kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024), "peak"


def sessions_by_route(bokeh_app) -> dict[str, dict[str, int]]:
    """Per route: live sessions, and the websockets connected to them."""
    out = {}
    for path in sorted(bokeh_app.app_paths):
        sessions = bokeh_app.get_sessions(path)
        out[path] = {"sessions": len(sessions), "connections": sum(s.connection_count for s in sessions)}
    return out


class HealthHandler(web.RequestHandler):
    """The JSON above; ``self.application`` is the Bokeh server's Tornado application."""

    async def get(self):
        routes = sessions_by_route(self.application)
        rss, kind = resident_mib()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write({"sessions": sum(r["sessions"] for r in routes.values()),
                    "connections": sum(r["connections"] for r in routes.values()), **counts,
                    "sessions_by_route": {p: r["sessions"] for p, r in routes.items()},
                    "rss_mib": round(rss, 2), "rss_kind": kind, "cpu_s": round(sum(os.times()[:2]), 3),
                    "allocator": os.environ.get("PYTHONMALLOC") or "pymalloc", "tune_memory": tune_memory,
                    "gc": gc_report(),
                    "pid": os.getpid()})


#: environment variables: another UNUSED_LIFETIME_MS or CLOSED_LIFETIME_MS (ms, 1000 – 3 600 000),
#: e.g. a longer first wait on a slow server whose visitors' browsers take long to connect
UNUSED_LIFETIME_ENV = "LAE_UNUSED_SESSION_MS"
CLOSED_LIFETIME_ENV = "LAE_CLOSED_SESSION_MS"


def _env_ms(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw[:40]!r}: not a whole number of milliseconds") from None
    if not 1_000 <= value <= 3_600_000:
        raise ValueError(f"{name}={value}: must be between 1000 and 3600000 ms")
    return value


def unused_lifetime_ms() -> int:
    """How long a session waits for its first browser (a ValueError names a bad setting)."""
    return _env_ms(UNUSED_LIFETIME_ENV, UNUSED_LIFETIME_MS)


def closed_lifetime_ms() -> int:
    """How long a session outlives its tab: never longer than the first wait."""
    return min(_env_ms(CLOSED_LIFETIME_ENV, CLOSED_LIFETIME_MS), unused_lifetime_ms())


def session_options() -> dict:
    """Bokeh server options for ``pn.serve``: how long a session waits for its browser (and a
    check of both settings, so that a bad one stops the server before it starts)."""
    lifetime, closed = unused_lifetime_ms(), closed_lifetime_ms()
    return {"unused_session_lifetime_milliseconds": lifetime,
            "check_unused_sessions_milliseconds": min(CHECK_UNUSED_MS, closed // 2)}


_had_browser: "weakref.WeakSet" = weakref.WeakSet()  # sessions seen with a websocket
_swept_contexts: set[int] = set()


def sweep_closed_sessions(sessions, closed_ms: float) -> int:
    """Ask Bokeh to discard each session whose browser has been gone ``closed_ms`` (Bokeh's next
    look for unused sessions discards it); remember those with a browser now. Returns how many
    it asked for."""
    asked = 0
    for session in list(sessions):
        if session.connection_count:
            _had_browser.add(session)
        elif (session in _had_browser and not session.expiration_requested
              and session.milliseconds_since_last_unsubscribe > closed_ms):
            session.request_expiration()
            asked += 1
    return asked


def _start_sweep(session_context) -> None:
    """Once per application (route) of this process, on its loop: ``sweep_closed_sessions``
    every SWEEP_MS."""
    server = session_context.server_context  # its sessions: the route's (it holds them weakly)
    if id(server.application_context) in _swept_contexts:
        return
    _swept_contexts.add(id(server.application_context))
    closed_ms = closed_lifetime_ms()
    PeriodicCallback(lambda: sweep_closed_sessions(server.sessions, closed_ms), SWEEP_MS).start()


def route(*, tune: bool = False) -> tuple:
    """The Tornado route for ``pn.serve(..., extra_patterns=[route()])``; installs the counters
    (and, with ``tune``, the heap tuning of ``serve --tune-memory``)."""
    global tune_memory
    tune_memory = tune
    install()
    return (PATH, HealthHandler)
