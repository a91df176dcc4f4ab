"""Load without browsers: N Landscape visitors as raw Bokeh-protocol clients, M λ changes each.

    python -m benchmarks.wsload [--sessions 20 --changes 50] [--url http://… [--health-url http://… …]]   # prints JSON
    python -m benchmarks.wsload --sessions 30 --duration-s 60 [--interval-s 1] [--memory] [--tune-memory]  # paced

The server's own latency and CPU per change under N visitors, as if every visitor's browser
ran on a machine of its own (``benchmarks.load`` drives Chromium tabs on the server's own
cores, and their CPU dominates there). One asyncio loop — one process, at most one core, a
few ms of CPU per change — plays every visitor: it parses the JSON frames (to see which models
changed) and leaves the binary buffers unread. As far as the server can tell it is a browser:
it asks for the same page and websocket and sends what BokehJS sends (as recorded from
Chromium's websocket frames), on a socket with Nagle's algorithm off, as a browser's is.

What happens, in order:

1. **Open.** All N visitors at once, each: ``GET /landscape`` (the server builds the session
   and writes the page; the page holds the session's token) and open the page's websocket,
   ``ws://…/landscape/ws`` with the subprotocols ``["bokeh", token]`` and the page's Origin,
   as BokehJS does. The server speaks first (``ACK``); the visitor asks for the document
   (``PULL-DOC-REQ``) and finds in the reply the ``Slider`` titled λ, the data sources with an
   ``image`` column and the ``Location``. Then it sends what a page sends once it is built:
   the ``BrowserInfo`` properties (one ``PATCH-DOC`` each), any ``Location`` property the page's
   own address differs in, and the ``document_ready`` event. That event matters: until it
   comes Panel takes the session as not yet connected and drops what every callback changes
   (the full document, it assumes, is still to be sent), so a client without it would measure
   redraws that never leave the server. A visitor is open when every one of these has its OK.
2. **Warm-up and learning.** Each visitor makes ``--learn`` (4) untimed λ changes, each
   followed by 300 ms with no message; the updates (event kind, model, attribute) to image
   sources that arrived after every one of them are what a change is waited for from then
   on. The image bytes must differ from one λ to the next, or the server did not redraw.
3. **Changes.** All N visitors then make their M changes at the same time, no think time: a
   change is one ``PATCH-DOC`` with a ``ModelChanged`` of the slider's ``value`` (what
   BokehJS sends while the slider is dragged; ``shell.LiveFloatSlider`` makes Panel act on it
   at once), complete when every learned update has arrived in a message (all its buffers
   read) received after the send; latency = that arrival − the send. The next change follows
   at once. The server's CPU (``/health``'s ``cpu_s``) and this process's own CPU are read
   before and after, and, where this machine's ``/proc`` shows the server, how long it waited,
   runnable, for a core (``server_run_queue_ms_per_change``: what other work on a shared
   machine added).

   **Paced** (``--duration-s``, ``interval_s``): each visitor instead changes λ once every
   ``--interval-s`` (1 s) for ``--duration-s``, as a class does, its phase spread evenly over
   the interval (visitor i of N starts i/N of an interval after the first), on a fixed clock:
   a change goes at its time whether or not the one before has been answered, because BokehJS
   sends a ``PATCH-DOC`` for every ``value`` a slider takes without waiting for a reply
   (``ClientSession._document_changed``). Such a change is counted (``overruns``). Answers are
   told apart by the λ they were drawn for, because Panel may fold a value it has not acted
   on yet into the next one (``Syncable._server_change``), which then has the only answer:
   learning (step 2) also finds the updates whose new value is the λ sent (the bifurcation
   diagram's λ marker); a message carrying the learned updates completes the oldest waiting
   change of that λ (the oldest of all when it names none), and every older change still
   waiting with it, since the screen now shows a later λ (``superseded``). How late each send
   was against its clock is reported (``send_lag_ms``: this client's own delay).
4. **Address.** The server writes the state into the page's address 250 ms after a change
   (``shell.Page.schedule_url``, through the page's ``app.address.AddressBar``); each visitor
   waits for it to show its last λ.
5. **Close.** Every websocket closes; ``/health`` is polled until the session count is 0.

With ``memory`` (``--memory``) the server's resident memory is measured as well, as
``benchmarks.load`` does: before step 1 one warm-up visitor per app process (straight to the
process) opens, learns and leaves, and once that session is discarded and the memory holds
still, the memory is each process's **baseline**; ``/health`` is sampled every 0.5 s through
steps 1–4; per extra session = Σ (peak − baseline) over the processes / N. After step 5 the
polling goes on until every process is within 15 % of its baseline (or 15 s after the last
session went: the server hands memory back 2 s after discarding sessions), and how long that
took is reported. The memory figures mean what DESIGN.md asks only for a server started with
``--tune-memory`` (``/health``'s ``tune_memory``; ``--tune-memory`` here starts it so).

Like a browser, each visitor answers a new address written into Panel's Location (``search``;
the pages themselves write theirs through ``AddressBar``, which the browser does not answer)
with the ``href`` it now has. It answers nothing else, and does not load the
page's scripts and stylesheets, or report its plots' sizes and auto-ranged axes once they are
laid out (a browser's five more ``PATCH-DOC`` on opening; nothing the server does per change).

Errors: visitors that fail to open (HTTP, websocket, no ACK, no λ slider, no image source),
``ERROR`` replies from the server, changes that time out (``--timeout``), websockets the
server closes, image data that did not change between two λ, an address that never shows the
last λ, more sessions created than visitors (Bokeh discarded a session before its websocket
came), sessions still open ``--gone-timeout`` s after closing, and tracebacks or ERROR lines in
the server's log (when this script started the server).
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
import uuid
import zlib
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from benchmarks.load import (LAMBDAS, ROUTE, SLIDER, MemorySampler, cycle, gc_delta, health_async, loadavg,
                             problem_kinds, server_log_errors, summary, wait_sessions_gone)
from tests.support import AppServer

TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')
#: what BokehJS's BrowserInfo view reports (panel.models.browser): a desktop browser's values
BROWSER_INFO = {"dark_mode": False, "device_pixel_ratio": 1, "language": "en-US", "webdriver": False,
                "timezone": "UTC", "timezone_offset": 0, "webgl": True}
LOCATION_PARTS = ("pathname", "search", "hash")


class ServerError(Exception):
    """An ERROR reply."""


class WebsocketClosed(Exception):
    """The server closed the websocket."""


def _json(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _map_keys(rep) -> list:
    """The keys of a serialized map: ``{"type": "map", "entries": [[k, v], …]}`` or a plain dict."""
    if isinstance(rep, dict):
        if rep.get("type") == "map":
            return [k for k, _ in rep.get("entries", [])]
        return list(rep)
    return []


def _map_get(rep, key):
    if isinstance(rep, dict):
        if rep.get("type") == "map":
            return next((v for k, v in rep.get("entries", []) if k == key), None)
        return rep.get(key)
    return None


def all_models(doc: dict) -> dict[str, dict]:
    """Every model of a serialized document (``PULL-DOC-REPLY``'s ``doc``), by id: each is
    written out in full once (``{"type": "object", "name", "id", "attributes"}``) and referred
    to as ``{"id"}`` after that."""
    out, stack = {}, [doc]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            if o.get("type") == "object" and "id" in o and "name" in o:
                out[o["id"]] = o
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return out


def _buffer_ids(obj, ids: set) -> list[str]:
    """The buffer references (``{"id": …}`` naming one of ``ids``) inside ``obj``, in order."""
    out, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            if len(o) == 1 and isinstance(o.get("id"), str) and o["id"] in ids:
                out.append(o["id"])
            else:
                stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(reversed(o))
    return out


def _retrieved(fut) -> None:
    if not fut.cancelled():
        fut.exception()


def _event_key(ev: dict) -> tuple | None:
    model = ev.get("model")
    if not isinstance(model, dict) or "id" not in model:
        return None
    return ev.get("kind"), model["id"], ev.get("attr")


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _lam_of(search: str) -> float | None:
    values = parse_qs(search.lstrip("?")).get("lam")
    try:
        return float(values[-1]) if values else None
    except ValueError:
        return None


class Watch:
    """What one change to ``value`` waits for (``expect``), or, learning (``expect`` None), what
    it saw."""

    def __init__(self, expect: frozenset | None, value=None):
        self.expect, self.value = expect, value
        self.msgid: str | None = None
        self.t0 = 0.0
        self.arrived: dict[tuple, float] = {}
        self.superseded = False  # paced: answered by a message drawn for a later λ
        self.seen: set[tuple] = set()  # learning: updates of image sources
        self.echo: set[tuple] = set()  # learning: updates whose new value is the λ sent
        self.image_messages = 0  # learning: messages with such an update
        self.digests: set[int] = set()  # learning: CRC-32 of the image buffers
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()

    def fail(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class Visitor:
    """One visitor: its session's page request and websocket, and what it reported."""

    def __init__(self, base_url: str, name: str, http: AsyncHTTPClient, *, slider=SLIDER):
        self.base_url, self.name, self.http, self.slider = base_url.rstrip("/"), name, http, slider
        parts = urlsplit(self.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.ws_url = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}{parts.path}{ROUTE}/ws"
        self.ws = None
        self.problems: list[str] = []
        self.models: dict[str, dict] = {}
        self.slider_id = self.location_id = self.address_id = None
        self.slider_value = None
        self.image_sources: set[str] = set()
        self.location: dict[str, str] = {}
        self.url_lams: list[float | None] = []
        self.bytes_in = self.frames_in = self.messages_in = 0
        self.keep_buffers = False  # learning: keep the image buffers to compare them
        self.watch: Watch | None = None
        self.pending: list[Watch] = []  # paced changes not yet answered, oldest first
        self.echo: frozenset = frozenset()  # learned: the updates that carry the λ drawn
        self.closed = False
        self.closing = False
        self.open_s = math.nan
        self._replies: dict[str, asyncio.Future] = {}
        self._ack: asyncio.Future | None = None
        self._url_changed = asyncio.Event()
        self._last_rx = 0.0
        self._rx_reset()

    # ------------------------------------------------------------------ the wire

    def _rx_reset(self):
        self._stage, self._header, self._content, self._buffers = 0, None, None, {}
        self._nbuf, self._buf_id = 0, None

    def _on_frame(self, frame) -> None:
        """Tornado's message callback, one websocket frame at a time: header, metadata and
        content (text), then ``num_buffers`` pairs of buffer header (text) and buffer (binary)."""
        if frame is None:
            self._on_close()
            return
        self.frames_in += 1
        self.bytes_in += len(frame)
        try:
            stage = self._stage
            if stage == 0:
                self._header = json.loads(frame)
                self._stage = 1
            elif stage == 1:
                self._stage = 2  # metadata: always {} from Bokeh
            elif stage == 2:
                self._content = frame
                self._nbuf = self._header.get("num_buffers") or 0
                if self._nbuf:
                    self._stage = 3
                else:
                    self._complete()
            elif stage == 3:
                if not isinstance(frame, str):
                    raise ValueError("binary frame where a buffer header was expected")
                self._buf_id = json.loads(frame)["id"] if self.keep_buffers else None
                self._stage = 4
            else:
                if not isinstance(frame, bytes):
                    raise ValueError("text frame where a buffer was expected")
                self._buffers[self._buf_id or len(self._buffers)] = frame if self.keep_buffers else None
                if len(self._buffers) == self._nbuf:
                    self._complete()
                else:
                    self._stage = 3
        except Exception as exc:  # noqa: BLE001 - a protocol problem is an error in the figures
            self.problems.append(f"{self.name}: bad frame from the server: {type(exc).__name__}: {exc}")
            self._rx_reset()

    def _complete(self) -> None:
        t = time.perf_counter()
        header, content, buffers = self._header, self._content, self._buffers
        self._rx_reset()
        self.messages_in += 1
        self._last_rx = t
        msgtype = header.get("msgtype")
        if msgtype == "ACK":
            if self._ack is not None and not self._ack.done():
                self._ack.set_result(t)
            return
        content = json.loads(content)
        reqid = header.get("reqid")
        fut = self._replies.pop(reqid, None) if reqid is not None else None
        if msgtype == "ERROR":  # reported by whoever waits for the reply, else here
            error = ServerError(str(content.get("text", content))[:300])
            paced = next((w for w in self.pending if reqid is not None and w.msgid == reqid), None)
            if self.watch is not None and reqid is not None and reqid == self.watch.msgid:
                self.watch.fail(error)
            elif paced is not None:
                self.pending.remove(paced)
                paced.fail(error)
            elif fut is not None and not fut.done():
                fut.set_exception(error)
            else:
                self.problems.append(f"{self.name}: server ERROR reply: {error}")
        elif fut is not None and not fut.done():
            fut.set_result((msgtype, content))
        if msgtype == "PATCH-DOC":
            self._patch(content, buffers, t)

    def _patch(self, content: dict, buffers: dict, t: float) -> None:
        w = self.watch
        image_message = False
        answered, drawn_for = [], None  # paced: the learned updates in this message, and its λ
        for ev in content.get("events", ()):
            key = _event_key(ev)
            if key is None:
                continue
            kind, model, attr = key
            if model == self.slider_id and kind == "ModelChanged" and attr == "value":
                self.slider_value = ev.get("new")  # the server set the slider (it took another value)
            if model == self.address_id and kind == "ModelChanged" and attr == "query":
                # app.address.AddressBar: the browser puts it in the address, and sends nothing back
                self.url_lams.append(_lam_of(ev.get("new") or ""))
                self._url_changed.set()
            if model == self.location_id and kind == "ModelChanged" and attr in LOCATION_PARTS:
                self.location[attr] = ev.get("new") or ""
                if attr == "search":
                    self.url_lams.append(_lam_of(self.location["search"]))
                    self._url_changed.set()
                self._echo_href()
            if self.pending:
                if key in self.echo and _number(ev.get("new")):
                    drawn_for = ev["new"]
                if key in self.pending[0].expect:
                    answered.append(key)
                continue
            if w is None:
                continue
            if w.expect is not None:
                if key in w.expect and key not in w.arrived:
                    w.arrived[key] = t
                    if len(w.arrived) == len(w.expect) and not w.done.done():
                        w.done.set_result(t)
            elif model in self.image_sources:
                w.seen.add(key)
                image_message = True
                if self.keep_buffers and buffers:
                    image = _map_get(ev.get("data") if kind == "ColumnDataChanged" else ev.get("new"), "image")
                    ids = _buffer_ids(image, set(buffers))
                    if ids:
                        w.digests.add(zlib.crc32(b"".join(buffers[i] for i in ids)))
            elif kind == "ModelChanged" and _number(ev.get("new")) and _number(w.value) \
                    and math.isclose(ev["new"], w.value, rel_tol=1e-9, abs_tol=1e-12):
                w.echo.add(key)
        if image_message:
            w.image_messages += 1
        if answered:
            self._answer(answered, drawn_for, t)

    def _answer(self, keys: list[tuple], drawn_for, t: float) -> None:
        """Paced: ``keys`` (learned updates) arrived at ``t`` in a message drawn for λ =
        ``drawn_for`` (None: it does not say). They go to the oldest waiting change of that λ
        (the server answers in order: a later change of the same λ waits behind it), else to
        the oldest waiting change; a change they complete completes every older one."""
        target = None
        if drawn_for is not None:
            target = next((w for w in self.pending if _number(w.value)
                           and math.isclose(w.value, drawn_for, rel_tol=1e-9, abs_tol=1e-12)), None)
        target = target or self.pending[0]
        for key in keys:
            target.arrived.setdefault(key, t)
        if len(target.arrived) < len(target.expect):
            return
        i = self.pending.index(target)
        for older in self.pending[:i]:
            older.superseded = True
            if not older.done.done():
                older.done.set_result(t)
        if not target.done.done():
            target.done.set_result(t)
        del self.pending[:i + 1]

    def _on_close(self) -> None:
        self.closed = True
        if not self.closing:
            code = getattr(self.ws, "close_code", None)
            self.problems.append(f"{self.name}: websocket closed by the server (code {code})")
        err = WebsocketClosed("websocket closed")
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(err)
        self._replies.clear()
        if self._ack is not None and not self._ack.done():
            self._ack.set_exception(err)
        if self.watch is not None:
            self.watch.fail(err)
        for w in self.pending:
            w.fail(err)
        self.pending.clear()
        self._url_changed.set()

    def send(self, msgtype: str, content: dict, *, reply: bool = False) -> tuple[str, asyncio.Future | None]:
        """Send a message as BokehJS does (three text frames; no buffers); with ``reply`` a
        future for the server's answer (OK, or ServerError for ERROR)."""
        if self.closed or self.ws is None:
            raise WebsocketClosed("websocket closed")
        msgid = uuid.uuid4().hex.upper()
        fut = None
        if reply:
            fut = asyncio.get_running_loop().create_future()
            self._replies[msgid] = fut
        try:
            for frame in (_json({"msgid": msgid, "msgtype": msgtype}), "{}", _json(content)):
                # a write that fails later (the server closed) is reported by _on_close
                self.ws.write_message(frame).add_done_callback(_retrieved)
        except WebSocketClosedError:
            self._on_close()
            raise WebsocketClosed("websocket closed") from None
        return msgid, fut

    def patch(self, events: list[dict], *, reply: bool = False):
        return self.send("PATCH-DOC", {"events": events}, reply=reply)

    def _model_changed(self, model_id: str, attr: str, new) -> dict:
        return {"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": new}

    def _echo_href(self) -> None:
        """The browser's Location view pushes the new address and reports its ``href``."""
        if self.closed or self.closing:
            return
        href = self.origin + "".join(self.location.get(k, "") for k in LOCATION_PARTS)
        try:
            self.patch([self._model_changed(self.location_id, "href", href)])
        except WebsocketClosed:
            pass

    # ------------------------------------------------------------------ a visit

    async def open(self, timeout: float = 120.0) -> None:
        """Step 1: the page, the websocket, the document, what a built page sends."""
        t0 = time.perf_counter()
        page = await self.http.fetch(self.base_url + ROUTE, request_timeout=timeout, connect_timeout=timeout)
        m = TOKEN.search(page.body.decode("utf-8", "replace"))
        if not m:
            raise RuntimeError("no session token in the page")
        self._ack = asyncio.get_running_loop().create_future()
        headers = {"Origin": self.origin}
        # as a browser does: the page's cookies go with its websocket (behind deploy/nginx.conf
        # the visitor's cookie is what keeps the websocket on the process that built the page)
        cookies = [c.split(";", 1)[0].strip() for c in page.headers.get_list("Set-Cookie")]
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        request = HTTPRequest(self.ws_url, headers=headers, connect_timeout=timeout, request_timeout=timeout)
        self.ws = await websocket_connect(request, subprotocols=["bokeh", m.group(1)],
                                          on_message_callback=self._on_frame, max_message_size=256 << 20)
        # Tornado turns Nagle's algorithm back on once the handshake is done; a browser's socket
        # has it off. With it on, the 2nd and 3rd frames of every message wait for the server's
        # delayed ACK of the 1st: 40 ms added to every change.
        self.ws.protocol.set_nodelay(True)
        await asyncio.wait_for(self._ack, timeout)
        _, reply = self.send("PULL-DOC-REQ", {}, reply=True)
        _, content = await asyncio.wait_for(reply, timeout)
        self._read_document(content["doc"])
        answers = []
        # the Location view sets these from window.location; BokehJS sends those that changed
        page_url = urlsplit(self.base_url + ROUTE)
        attrs = self.models[self.location_id]["attributes"] if self.location_id else {}
        for attr, value in {"pathname": page_url.path, "search": "", "hash": "",
                            "href": self.base_url + ROUTE, "hostname": page_url.hostname or "",
                            "protocol": page_url.scheme + ":", "port": str(page_url.port or "")}.items():
            if self.location_id and attrs.get(attr, "") != value:
                answers.append(self.patch([self._model_changed(self.location_id, attr, value)], reply=True)[1])
        for info in (i for i, rep in self.models.items() if rep["name"].endswith("BrowserInfo")):
            for attr, value in BROWSER_INFO.items():
                if self.models[info]["attributes"].get(attr) != value:
                    answers.append(self.patch([self._model_changed(info, attr, value)], reply=True)[1])
        ready = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
        answers.append(self.patch([{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": ready}],
                                  reply=True)[1])
        await asyncio.wait_for(asyncio.gather(*answers), timeout)
        self.open_s = time.perf_counter() - t0

    def _read_document(self, doc: dict) -> None:
        self.models = all_models(doc)
        kind, title = self.slider
        sliders = [i for i, rep in self.models.items()
                   if (rep["name"] == kind or rep["name"].endswith("." + kind))
                   and rep.get("attributes", {}).get("title") == title]
        if not sliders:
            raise RuntimeError(f"no {kind} titled {title!r} in the document")
        shown = [i for i in sliders if self.models[i]["attributes"].get("visible", True) is not False]
        self.slider_id = (shown or sliders)[0]
        self.slider_value = self.models[self.slider_id]["attributes"].get("value")
        for i, rep in self.models.items():
            if rep["name"].endswith("ColumnDataSource") and "image" in _map_keys(rep["attributes"].get("data")):
                self.image_sources.add(i)
        if not self.image_sources:
            raise RuntimeError("no data source with an image column in the document")
        # the data of the page's app.address.AddressBar: the query string the address carries
        # (a data model Panel names after the component's class; ``query`` is set from the start)
        self.address_id = next((i for i, rep in self.models.items()
                                if rep["name"].startswith("AddressBar") and "query" in (rep.get("attributes") or ())),
                               None)
        if self.address_id:
            self.url_lams.append(_lam_of(self.models[self.address_id]["attributes"].get("query") or ""))
        self.location_id = next((i for i, rep in self.models.items() if rep["name"].endswith(".Location")), None)
        if self.location_id:
            attrs = self.models[self.location_id]["attributes"]
            self.location = {k: attrs.get(k, "") or "" for k in LOCATION_PARTS}

    def _set(self, value, watch: Watch) -> None:
        self.watch = watch
        watch.t0 = time.perf_counter()
        watch.msgid, _ = self.patch([self._model_changed(self.slider_id, "value", value)])

    def _send(self, watch: Watch) -> None:
        """Paced: send the change ``watch`` is for, whatever is still waiting."""
        watch.t0 = time.perf_counter()
        watch.msgid, _ = self.patch([self._model_changed(self.slider_id, "value", watch.value)])
        self.pending.append(watch)

    async def learn(self, values, *, quiet_ms: float = 300, timeout: float = 60.0) -> dict:
        """Step 2: untimed changes, each until ``quiet_ms`` pass with no message after an update
        to an image source; the updates seen after every change (``expect``), those whose new
        value was the λ sent after every change (``echo``), and whether the image bytes changed
        from each λ to the next."""
        self.keep_buffers = True
        seen, echo, per_change, digests, messages = None, None, [], [], []
        try:
            for value in values:
                w = Watch(None, value)
                self._set(value, w)
                deadline = w.t0 + timeout
                while True:
                    await asyncio.sleep(0.02)
                    now = time.perf_counter()
                    if w.done.done():  # failed: an ERROR reply or the websocket closed
                        w.done.result()
                    if w.seen and now - self._last_rx >= quiet_ms / 1000:
                        break
                    if now > deadline:
                        raise TimeoutError(f"no image update within {timeout:g} s of λ = {value}")
                seen = set(w.seen) if seen is None else seen & w.seen
                echo = set(w.echo) if echo is None else echo & w.echo
                per_change.append(sorted(w.seen))
                digests.append(frozenset(w.digests))
                messages.append(w.image_messages)
        finally:
            self.keep_buffers = False
            self.watch = None
        for (a, da), (b, db) in zip(zip(values, digests), zip(values[1:], digests[1:])):
            if not da or da == db:
                self.problems.append(f"{self.name}: image data did not change from λ = {a} to λ = {b}")
        if not seen:
            raise RuntimeError("no update to an image source came after every λ change")
        return {"expect": frozenset(seen), "echo": frozenset(echo or ()), "image_messages": messages,
                "images_changed": all(da and da != db for da, db in zip(digests, digests[1:])),
                "same_every_change": all(set(map(tuple, p)) == seen for p in per_change)}

    async def change(self, value, expect: frozenset, timeout: float) -> float:
        """Step 3: one timed change; its latency (ms), ∞ when it timed out or failed."""
        w = Watch(expect, value)
        try:
            self._set(value, w)
        except WebsocketClosed:
            self.problems.append(f"{self.name}: change to λ = {value}: websocket closed")
            self.watch = None
            return math.inf
        try:
            return await self._outcome(w, timeout)
        finally:
            self.watch = None

    async def paced_change(self, value, expect: frozenset, timeout: float) -> tuple[float, bool]:
        """Step 3, paced: send one change now, waiting or not, and wait for its answer (or a
        later λ's); its latency (ms, ∞ when it timed out or failed) and whether a later λ's
        answer completed it."""
        w = Watch(expect, value)
        try:
            self._send(w)
        except WebsocketClosed:
            self.problems.append(f"{self.name}: change to λ = {value}: websocket closed")
            return math.inf, False
        latency = await self._outcome(w, timeout)
        if w in self.pending:  # timed out: later answers are not for it
            self.pending.remove(w)
        return latency, w.superseded

    async def _outcome(self, w: Watch, timeout: float) -> float:
        """Wait for ``w``: its latency (ms); ∞ (and a problem) when it times out or fails."""
        value, expect = w.value, w.expect
        try:
            await asyncio.wait({w.done}, timeout=timeout)
            if not w.done.done():
                raise TimeoutError
            return (w.done.result() - w.t0) * 1000
        except TimeoutError:
            missing = sorted(map(str, expect - set(w.arrived)))
            self.problems.append(f"{self.name}: change to λ = {value} timed out after {timeout:g} s "
                                 f"(missing {len(missing)}: {', '.join(missing)[:200]})")
        except ServerError as exc:
            self.problems.append(f"{self.name}: change to λ = {value} failed: {exc}")
        except WebsocketClosed:
            self.problems.append(f"{self.name}: change to λ = {value}: websocket closed")
        return math.inf

    async def wait_url(self, value, timeout: float = 5.0) -> bool:
        """Step 4: until the address shows ``lam=value`` (as the last one written)."""
        deadline = time.perf_counter() + timeout
        while not (self.url_lams and self.url_lams[-1] is not None and math.isclose(self.url_lams[-1], value)):
            left = deadline - time.perf_counter()
            if left <= 0 or self.closed:
                return False
            self._url_changed.clear()
            try:
                await asyncio.wait_for(self._url_changed.wait(), left)
            except (asyncio.TimeoutError, TimeoutError):
                return False
        return True

    def close(self) -> None:
        self.closing = True
        if self.ws is not None and not self.closed:
            self.ws.close()


# --------------------------------------------------------------------------- the run

#: memory: after closing, each process is back within this fraction of its baseline
RECOVERED_WITHIN = 0.15
#: the server hands memory back ``app.health.RELEASE_DELAY_S`` (2 s) after discarding sessions:
#: what has not come back this long after the last session went stays
RECOVERY_GRACE_S = 15.0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def run_queue_s(pid: int) -> float | None:
    """How long process ``pid`` has waited, runnable, for a core so far (s; ``/proc/<pid>/schedstat``'s
    second field), or None where it cannot be read (another machine, no /proc): on a shared
    machine, the part of a change's latency that other work put on the server."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _waited(h0: dict, h1: dict) -> float | None:
    """``run_queue_s`` of the process that answered ``h0`` and ``h1``, between the two (None:
    unknown). Read only just after ``h1``: a small overcount, never an undercount."""
    if h0.get("pid") != h1.get("pid") or "waited_s" not in h0:
        return None
    now = run_queue_s(h1["pid"])
    return None if now is None or h0["waited_s"] is None else now - h0["waited_s"]


async def _healths(urls: list[str]) -> list[dict]:
    """``/health`` of every app process behind ``urls``, in order."""
    return list(await asyncio.gather(*(health_async(u) for u in urls)))


def _total(answers: list[dict]) -> dict:
    """The processes' CPU time, sessions open and created, summed."""
    return {k: sum(a[k] for a in answers) for k in ("cpu_s", "sessions", "created")}


async def _sessions_gone(urls: list[str], timeout: float) -> None:
    await asyncio.gather(*(wait_sessions_gone(u, timeout=timeout, settle=0) for u in urls))


async def _baselines(urls: list[str], *, n_learn: int, quiet_ms: float, timeout_s: float, gone_timeout_s: float,
                     lambdas, slider) -> tuple[list[float], list[str]]:
    """Memory, step 0: a warm-up visitor straight to each app process opens, learns and leaves;
    once its session is discarded and the memory holds still, each process's memory (MiB) is
    its baseline. Also the warm-up visitors' problems."""
    http = AsyncHTTPClient(force_instance=True)

    async def warm_up(url: str, name: str) -> list[str]:
        v = Visitor(url, name, http, slider=slider)
        try:
            await asyncio.wait_for(v.open(timeout_s), timeout_s + 5)
            await v.learn(cycle(lambdas, n_learn, previous=v.slider_value), quiet_ms=quiet_ms, timeout=timeout_s)
        finally:
            v.close()
        return v.problems

    try:
        problems = await asyncio.gather(*(warm_up(u, f"warm-up {i + 1}") for i, u in enumerate(urls)))
    finally:
        http.close()
    gone = await asyncio.gather(*(wait_sessions_gone(u, timeout=gone_timeout_s) for u in urls))
    return [h["rss_mib"] for h in gone], [p for ps in problems for p in ps]


async def _recovery(urls: list[str], baselines: list[float], t_close: float, timeout: float) -> dict:
    """Memory, after step 5: poll ``/health`` until every process holds no session and is within
    RECOVERED_WITHIN of its baseline (at most RECOVERY_GRACE_S after the last session went, and
    ``timeout`` in all); how long each took (s, ∞ when not reached) and the last answers."""
    limits = [b * (1 + RECOVERED_WITHIN) for b in baselines]
    zero_s = back_s = None
    trace = []
    while True:
        answers = await _healths(urls)
        elapsed = time.perf_counter() - t_close
        trace.append([round(elapsed, 1), sum(a["sessions"] for a in answers), [a["rss_mib"] for a in answers]])
        if zero_s is None and not any(a["sessions"] for a in answers):
            zero_s = elapsed
        if zero_s is not None and back_s is None and all(a["rss_mib"] <= lim for a, lim in zip(answers, limits)):
            back_s = elapsed
        if back_s is not None or elapsed > timeout or (zero_s is not None and elapsed > zero_s + RECOVERY_GRACE_S):
            break
        await asyncio.sleep(0.5)
    return {"sessions_zero_s": math.inf if zero_s is None else zero_s,
            "recovery_s": math.inf if back_s is None else back_s, "limits": limits,
            "trace": trace[:: max(1, len(trace) // 30)], "answers": answers}


async def measure(base_url: str, n_sessions: int, n_changes: int, *, server: AppServer | None = None,
                  servers: list[AppServer] = (), n_learn: int = 4, quiet_ms: float = 300, timeout_s: float = 30.0,
                  open_timeout_s: float = 120.0, learn_timeout_s: float = 60.0, gone_timeout_s: float = 90.0,
                  lambdas=LAMBDAS, slider=SLIDER, health_urls: list[str] | None = None,
                  interval_s: float | None = None, memory: bool = False) -> dict:
    """Steps 1–5 against the server at ``base_url`` (``server``, or ``servers`` behind a proxy: the
    ones this process started, whose logs are searched for errors; ``gone_timeout_s`` ≤ 0: close
    without waiting for the sessions to go; ``health_urls``: the app processes to ask for
    ``/health``, when ``base_url`` is a proxy in front of several; ``interval_s``: paced, each
    visitor's ``n_changes`` changes this far apart; ``memory``: step 0 and the memory figures);
    the figures as a dict."""
    if interval_s is not None and not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval_s must be a positive number of seconds, not {interval_s!r}")
    if memory and gone_timeout_s <= 0:
        raise ValueError("memory needs gone_timeout_s > 0: the recovery is measured after the sessions go")
    base_url = base_url.rstrip("/")
    health_urls = [u.rstrip("/") for u in health_urls or [base_url]]
    logged = [server] if server else list(servers)
    problems: list[str] = []
    result: dict = {"url": base_url + ROUTE, "sessions": n_sessions, "changes_per_session": n_changes,
                    "learn_changes": n_learn, "timeout_s": timeout_s, "paced": interval_s is not None}
    if interval_s is not None:
        result.update({"interval_s": interval_s, "duration_s": n_changes * interval_s})
    baselines = []
    if memory:
        t = time.perf_counter()
        baselines, warm_problems = await _baselines(health_urls, n_learn=n_learn, quiet_ms=quiet_ms,
                                                    timeout_s=learn_timeout_s, gone_timeout_s=gone_timeout_s,
                                                    lambdas=lambdas, slider=slider)
        problems += warm_problems
        result["warmup_discarded_s"] = time.perf_counter() - t
    log_marks = [len(s.log()) for s in logged]
    http = AsyncHTTPClient(force_instance=True, max_clients=max(10, n_sessions))
    visitors = [Visitor(base_url, f"visitor {i + 1}", http, slider=slider) for i in range(n_sessions)]
    samplers = [MemorySampler(u, interval=0.5) for u in health_urls] if memory else []
    latencies: dict[str, list[float]] = {}
    lags: dict[str, list[float]] = {}
    sent_at: dict[str, list[float]] = {}
    overruns: dict[str, int] = {}
    superseded: dict[str, int] = {}
    try:
        for sampler in samplers:
            await sampler.__aenter__()
        # 1. open, all at once
        before = await _healths(health_urls)
        t = time.perf_counter()
        opened = await asyncio.gather(*(asyncio.wait_for(v.open(open_timeout_s), open_timeout_s + 5)
                                        for v in visitors), return_exceptions=True)
        open_wall = time.perf_counter() - t
        for v, r in zip(visitors, opened):
            if isinstance(r, BaseException):
                v.problems.append(f"{v.name}: failed to open: {type(r).__name__}: {str(r)[:300]}")
        live = [v for v, r in zip(visitors, opened) if not isinstance(r, BaseException)]
        after_open = await _healths(health_urls)

        # 2. warm-up and learning, all at once
        values = {v.name: cycle(lambdas, n_learn + n_changes, previous=v.slider_value) for v in live}

        async def learn(v):
            try:
                return await v.learn(values[v.name][:n_learn], quiet_ms=quiet_ms, timeout=learn_timeout_s)
            except Exception as exc:  # noqa: BLE001 - a visitor that fails is an error, not a crash
                v.problems.append(f"{v.name}: learning failed: {type(exc).__name__}: {str(exc)[:300]}")
                return None

        t = time.perf_counter()
        learned = dict(zip((v.name for v in live), await asyncio.gather(*(learn(v) for v in live))))
        learn_wall = time.perf_counter() - t
        ready = [v for v in live if learned[v.name] is not None]
        after_learn = await _healths(health_urls)

        # 3. the changes: all at once, no think time; or paced, each visitor on its own clock
        for v in ready:
            latencies[v.name], lags[v.name], sent_at[v.name], overruns[v.name], superseded[v.name] = [], [], [], 0, 0
            v.echo = learned[v.name]["echo"]

        async def changes(v):
            expect = learned[v.name]["expect"]
            for value in values[v.name][n_learn:]:
                latencies[v.name].append(await v.change(value, expect, timeout_s))
                if v.closed:
                    break

        async def paced_changes(v, start: float, phase: float):
            expect, sent = learned[v.name]["expect"], []
            for i, value in enumerate(values[v.name][n_learn:]):
                due = start + phase + i * interval_s
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
                if v.closed:
                    break
                now = time.perf_counter()
                lags[v.name].append(1000 * (now - due))
                sent_at[v.name].append(now - start)
                overruns[v.name] += bool(v.pending)  # sent while an earlier change is unanswered
                sent.append(asyncio.ensure_future(v.paced_change(value, expect, timeout_s)))
            for latency, later in await asyncio.gather(*sent):
                latencies[v.name].append(latency)
                superseded[v.name] += later

        bytes0 = sum(v.bytes_in for v in ready)
        messages0 = sum(v.messages_in for v in ready)
        h0, c0, t0 = await _healths(health_urls), _cpu(), time.perf_counter()
        for h in h0:
            h["waited_s"] = run_queue_s(h["pid"]) if "pid" in h else None
        if interval_s is None:
            await asyncio.gather(*(changes(v) for v in ready))
        else:
            # phases spread evenly over one interval, from a moment after the schedule is made
            start = time.perf_counter() + 0.05
            await asyncio.gather(*(paced_changes(v, start, i * interval_s / len(ready))
                                   for i, v in enumerate(ready)))
        wall, c1 = time.perf_counter() - t0, _cpu()
        h1 = await _healths(health_urls)
        waited = [_waited(a, b) for a, b in zip(h0, h1)]
        load_after = loadavg()
        received = sum(v.bytes_in for v in ready) - bytes0
        messages = sum(v.messages_in for v in ready) - messages0

        # 4. the address follows λ (where the last change went through)
        checked = [v for v in ready if latencies[v.name] and math.isfinite(latencies[v.name][-1])]
        url_ok = await asyncio.gather(*(v.wait_url(values[v.name][-1]) for v in checked))
        for v, ok in zip(checked, url_ok):
            if not ok and not v.closed:
                v.problems.append(f"{v.name}: the address never showed the last λ = {values[v.name][-1]} "
                                  f"(last written: lam={v.url_lams[-1] if v.url_lams else None})")
    finally:
        for sampler in reversed(samplers):
            await sampler.__aexit__(None, None, None)
        # 5. close; the sessions go
        for v in visitors:
            v.close()
        t_close = time.perf_counter()
        http.close()
    gone_s = None  # not waited for (gone_timeout_s ≤ 0)
    recovery = None
    if memory:
        recovery = await _recovery(health_urls, baselines, t_close, gone_timeout_s)
        gone_s = recovery["sessions_zero_s"]
        if not math.isfinite(gone_s):
            problems.append(f"server: sessions still open {gone_timeout_s:g} s after closing")
        final = recovery.pop("answers")
    else:
        if gone_timeout_s > 0:
            try:
                await _sessions_gone(health_urls, gone_timeout_s)
                gone_s = time.perf_counter() - t_close
            except TimeoutError as exc:
                problems.append(f"server: {exc}")
                gone_s = math.inf
        final = await _healths(health_urls)

    created = _total(after_open)["created"] - _total(before)["created"]
    if created > n_sessions:
        problems.append(f"server: {created} sessions created for {n_sessions} visitors: "
                        f"{created - n_sessions} discarded before their websocket came")
    all_latencies = [x for v in ready for x in latencies[v.name]]
    made = len(all_latencies)
    completed = sum(math.isfinite(x) for x in all_latencies)
    problems = [p for v in visitors for p in v.problems] + problems
    problems += [f"{v.name}: made {len(latencies[v.name])} of {n_changes} changes"
                 for v in ready if len(latencies[v.name]) != n_changes]
    problems += [f"server log: {line}" for s, mark in zip(logged, log_marks) for line in server_log_errors(s, mark)]
    per = (lambda x: x / made if made else math.nan)  # noqa: E731
    first = learned[ready[0].name] if ready else None
    cpu_s = _total(h1)["cpu_s"] - _total(h0)["cpu_s"]
    result.update({
        "changes": made, "completed": completed, "errors": len(problems), "problems": problems[:50],
        "problem_kinds": problem_kinds(problems),
        "latency_ms": summary(all_latencies),
        "server_cpu_ms_per_change": per(1000 * cpu_s),
        "client_cpu_ms_per_change": per(1000 * (c1 - c0)),
        "throughput_changes_per_s": made / wall if wall else math.nan,
        "bytes_received_per_change": per(received),
        "messages_received_per_change": per(messages),
        "changes_wall_s": wall, "loadavg_after_changes": load_after,
        "opened": len(live), "ready": len(ready), "sessions_created": created,
        "sessions_seen_open": _total(after_open)["sessions"],
        "open_s": {"wall": open_wall, "per_visitor": summary(v.open_s for v in live)},
        "learn_wall_s": learn_wall,
        "server_cpu_s": {"open": _total(after_open)["cpu_s"] - _total(before)["cpu_s"],
                         "learn": _total(after_learn)["cpu_s"] - _total(after_open)["cpu_s"], "changes": cpu_s},
        "learned": None if not first else {
            "updates": sorted(map(list, first["expect"])),
            "lambda_carried_by": sorted(map(list, first["echo"])),
            "image_messages_per_change": first["image_messages"],
            # the same kinds of update (the model ids differ from session to session)
            "same_for_every_visitor": len({tuple(sorted((k, a) for k, _, a in learned[v.name]["expect"]))
                                           for v in ready}) == 1,
            "same_after_every_change": all(learned[v.name]["same_every_change"] for v in ready)},
        "checks": {
            "image_data_changed_with_lambda": bool(ready) and all(learned[v.name]["images_changed"] for v in ready),
            "address_shows_last_lambda": bool(checked) and len(checked) == len(ready) and all(url_ok),
            "url_lams_sample": ready[0].url_lams[-5:] if ready else [],
            # what each visitor's slider shows: its first value, unless the server set another
            "slider_values": [v.slider_value for v in ready],
        },
        "sessions_zero_s": gone_s, "final_sessions": _total(final)["sessions"],
        # how long the servers waited, runnable, for a core during the changes (other work on the
        # machine; None where /proc cannot tell)
        "server_run_queue_ms_per_change": None if None in waited else per(1000 * sum(waited)),
        "per_process": [{"health_url": u, "visitors": a["created"] - b["created"], "sessions_seen_open": a["sessions"],
                         "server_cpu_s_changes": e["cpu_s"] - s["cpu_s"], "run_queue_s_changes": w,
                         "full_gc_changes": gc_delta(s, e), "tune_memory": a.get("tune_memory"),
                         "allocator": a.get("allocator")}
                        for u, b, a, s, e, w in zip(health_urls, before, after_open, h0, h1, waited)],
        "per_visitor_ms": [[round(x, 1) for x in latencies[v.name]] for v in ready],
    })
    if interval_s is not None:
        result.update({"overruns": sum(overruns.values()), "superseded": sum(superseded.values()),
                       "send_lag_ms": summary(x for v in ready for x in lags[v.name]),
                       # when each visitor sent each change, from the start of the schedule (s)
                       "per_visitor_sent_s": [[round(x, 3) for x in sent_at[v.name]] for v in ready]})
    if memory:
        peaks = [s.peak_rss for s in samplers]
        per_session = sum(p - b for p, b in zip(peaks, baselines)) / n_sessions
        for proc, b, p, a in zip(result["per_process"], baselines, peaks, final):
            proc["rss_mib"] = {"baseline": b, "peak": p, "final": a["rss_mib"]}
        result.update({
            "rss_mib": {"baseline": baselines, "peak": peaks, "per_session": per_session,
                        "final": [a["rss_mib"] for a in final], "limit": recovery["limits"]},
            "recovery_s": recovery["recovery_s"], "recovery_trace": recovery["trace"],
            "health_failures": [f for s in samplers for f in s.failures],
        })
    return result


@contextmanager
def _server_unless(url: str | None, env: dict | None, args: tuple[str, ...]):
    """``(url, None)`` for a running server; else a fresh ``AppServer(*args)`` as ``(its URL,
    it)``, stopped on exit, with the tail of its log on stderr when the body fails."""
    if url:
        yield url.rstrip("/"), None
        return
    server = AppServer(*args, env=env).start()
    try:
        yield server.url, server
    except Exception:
        sys.stderr.write("--- server log ---\n" + server.log()[-4000:] + "\n")
        raise
    finally:
        server.stop()


def run(n_sessions: int = 20, n_changes: int = 50, *, server_url: str | None = None,
        server_env: dict | None = None, server_args: tuple[str, ...] = (), **kwargs) -> dict:
    """Start a server (unless ``server_url``; ``server_env`` adds to its environment,
    ``server_args`` to its command line) and run the load (``kwargs``: ``measure``'s); the
    figures as a dict."""
    with _server_unless(server_url, server_env, tuple(server_args)) as (base, server):
        started = time.monotonic()
        result = asyncio.run(measure(base, n_sessions, n_changes, server=server, **kwargs))
    result["seconds"] = time.monotonic() - started
    result["loadavg"] = loadavg()
    result["cpus"] = os.cpu_count()
    result["server_env"] = server_env or {}
    result["server_args"] = list(server_args)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--changes", type=int, default=50, help="changes per visitor, back to back (default 50)")
    parser.add_argument("--duration-s", type=float, default=None,
                        help="paced: each visitor changes λ every --interval-s for this long (replaces --changes)")
    parser.add_argument("--interval-s", type=float, default=1.0,
                        help="paced: seconds between one visitor's changes (default 1)")
    parser.add_argument("--learn", type=int, default=4, help="untimed warm-up changes per visitor (default 4)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a change may take (default 30)")
    parser.add_argument("--gone-timeout", type=float, default=90.0,
                        help="seconds to wait for the sessions to go after closing (default 90)")
    parser.add_argument("--memory", action="store_true",
                        help="measure the server's memory per session and after closing (a warm-up visitor first)")
    parser.add_argument("--tune-memory", action="store_true",
                        help="start the server with --tune-memory (as the Docker image runs it)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the started server's environment, e.g. LAE_CLOSED_SESSION_MS=2000 (repeatable)")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    parser.add_argument("--health-url", action="append", default=None, metavar="URL",
                        help="with --url a proxy: an app process behind it to ask for /health (repeat for each)")
    args = parser.parse_args(argv)
    if args.duration_s is not None and not (args.duration_s > 0 and args.interval_s > 0):
        parser.error("--duration-s and --interval-s must be positive")
    env = dict(item.split("=", 1) for item in args.server_env)
    paced = args.duration_s is not None
    n_changes = max(1, round(args.duration_s / args.interval_s)) if paced else args.changes
    result = run(args.sessions, n_changes, server_url=args.url, server_env=env,
                 server_args=("--tune-memory",) if args.tune_memory else (), n_learn=args.learn,
                 timeout_s=args.timeout, gone_timeout_s=args.gone_timeout, health_urls=args.health_url,
                 interval_s=args.interval_s if paced else None, memory=args.memory)
    json.dump(result, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
