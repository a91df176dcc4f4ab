"""Load without browsers: N Landscape visitors as raw Bokeh-protocol clients, M λ changes each.

    python -m benchmarks.wsload [--sessions 20 --changes 50] [--url http://… [--health-url http://… …]]   # prints JSON

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
   before and after.
4. **Address.** The server writes the state into the page's address 250 ms after a change
   (``shell.Page.schedule_url``, through the page's ``app.address.AddressBar``); each visitor
   waits for it to show its last λ.
5. **Close.** Every websocket closes; ``/health`` is polled until the session count is 0.

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
from urllib.parse import parse_qs, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from benchmarks.load import (LAMBDAS, ROUTE, SLIDER, cycle, health_async, loadavg, problem_kinds,
                             server_log_errors, summary, wait_sessions_gone)
from tests.support import AppServer, server_unless

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


def _lam_of(search: str) -> float | None:
    values = parse_qs(search.lstrip("?")).get("lam")
    try:
        return float(values[-1]) if values else None
    except ValueError:
        return None


class Watch:
    """What one change waits for (``expect``), or, learning (``expect`` None), what it saw."""

    def __init__(self, expect: frozenset | None, msgid: str | None = None):
        self.expect, self.msgid = expect, msgid
        self.t0 = 0.0
        self.arrived: dict[tuple, float] = {}
        self.seen: set[tuple] = set()  # learning: updates of image sources
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
            if self.watch is not None and reqid is not None and reqid == self.watch.msgid:
                self.watch.fail(error)
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
        if image_message:
            w.image_messages += 1

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

    async def learn(self, values, *, quiet_ms: float = 300, timeout: float = 60.0) -> dict:
        """Step 2: untimed changes, each until ``quiet_ms`` pass with no message after an update
        to an image source; the updates seen after every change, and whether the image bytes
        changed from each λ to the next."""
        self.keep_buffers = True
        seen, per_change, digests, messages = None, [], [], []
        try:
            for value in values:
                w = Watch(None)
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
        return {"expect": frozenset(seen), "image_messages": messages,
                "images_changed": all(da and da != db for da, db in zip(digests, digests[1:])),
                "same_every_change": all(set(map(tuple, p)) == seen for p in per_change)}

    async def change(self, value, expect: frozenset, timeout: float) -> float:
        """Step 3: one timed change; its latency (ms), ∞ when it timed out or failed."""
        w = Watch(expect)
        try:
            self._set(value, w)
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
        finally:
            self.watch = None
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

def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _health(urls: list[str]) -> dict:
    """``/health`` of every app process behind ``urls``: their CPU time, sessions open and created,
    summed (one URL: that server's answer)."""
    answers = await asyncio.gather(*(health_async(u) for u in urls))
    if len(answers) == 1:
        return answers[0]
    return {k: sum(a[k] for a in answers) for k in ("cpu_s", "sessions", "created")}


async def _sessions_gone(urls: list[str], timeout: float) -> None:
    await asyncio.gather(*(wait_sessions_gone(u, timeout=timeout, settle=0) for u in urls))


async def measure(base_url: str, n_sessions: int, n_changes: int, *, server: AppServer | None = None,
                  n_learn: int = 4, quiet_ms: float = 300, timeout_s: float = 30.0, open_timeout_s: float = 120.0,
                  learn_timeout_s: float = 60.0, gone_timeout_s: float = 90.0, lambdas=LAMBDAS,
                  slider=SLIDER, health_urls: list[str] | None = None) -> dict:
    """Steps 1–5 against the server at ``base_url`` (``server``: the one this process started,
    whose log is searched for errors; ``gone_timeout_s`` ≤ 0: close without waiting for the
    sessions to go; ``health_urls``: the app processes to ask for ``/health``, when
    ``base_url`` is a proxy in front of several); the figures as a dict."""
    base_url = base_url.rstrip("/")
    health_urls = [u.rstrip("/") for u in health_urls or [base_url]]
    log_mark = len(server.log()) if server else 0
    http = AsyncHTTPClient(force_instance=True, max_clients=max(10, n_sessions))
    visitors = [Visitor(base_url, f"visitor {i + 1}", http, slider=slider) for i in range(n_sessions)]
    problems: list[str] = []
    result: dict = {"url": base_url + ROUTE, "sessions": n_sessions, "changes_per_session": n_changes,
                    "learn_changes": n_learn, "timeout_s": timeout_s}
    try:
        # 1. open, all at once
        before = await _health(health_urls)
        t = time.perf_counter()
        opened = await asyncio.gather(*(asyncio.wait_for(v.open(open_timeout_s), open_timeout_s + 5)
                                        for v in visitors), return_exceptions=True)
        open_wall = time.perf_counter() - t
        for v, r in zip(visitors, opened):
            if isinstance(r, BaseException):
                v.problems.append(f"{v.name}: failed to open: {type(r).__name__}: {str(r)[:300]}")
        live = [v for v, r in zip(visitors, opened) if not isinstance(r, BaseException)]
        after_open = await _health(health_urls)

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
        after_learn = await _health(health_urls)

        # 3. the changes, all at once, no think time
        latencies: dict[str, list[float]] = {v.name: [] for v in ready}

        async def changes(v):
            expect = learned[v.name]["expect"]
            for value in values[v.name][n_learn:]:
                latencies[v.name].append(await v.change(value, expect, timeout_s))
                if v.closed:
                    break

        bytes0 = sum(v.bytes_in for v in ready)
        messages0 = sum(v.messages_in for v in ready)
        h0, c0, t0 = await _health(health_urls), _cpu(), time.perf_counter()
        await asyncio.gather(*(changes(v) for v in ready))
        wall, c1 = time.perf_counter() - t0, _cpu()
        h1 = await _health(health_urls)
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
        # 5. close; the sessions go
        for v in visitors:
            v.close()
        t_close = time.perf_counter()
        http.close()
    gone_s = None  # not waited for (gone_timeout_s ≤ 0)
    if gone_timeout_s > 0:
        try:
            await _sessions_gone(health_urls, gone_timeout_s)
            gone_s = time.perf_counter() - t_close
        except TimeoutError as exc:
            problems.append(f"server: {exc}")
            gone_s = math.inf
    final = await _health(health_urls)

    created = after_open["created"] - before["created"]
    if created > n_sessions:
        problems.append(f"server: {created} sessions created for {n_sessions} visitors: "
                        f"{created - n_sessions} discarded before their websocket came")
    all_latencies = [x for v in ready for x in latencies[v.name]]
    made = len(all_latencies)
    completed = sum(math.isfinite(x) for x in all_latencies)
    problems = [p for v in visitors for p in v.problems] + problems
    problems += [f"{v.name}: made {len(latencies[v.name])} of {n_changes} changes"
                 for v in ready if len(latencies[v.name]) != n_changes]
    problems += [f"server log: {line}" for line in server_log_errors(server, log_mark)]
    per = (lambda x: x / made if made else math.nan)  # noqa: E731
    first = learned[ready[0].name] if ready else None
    result.update({
        "changes": made, "completed": completed, "errors": len(problems), "problems": problems[:50],
        "problem_kinds": problem_kinds(problems),
        "latency_ms": summary(all_latencies),
        "server_cpu_ms_per_change": per(1000 * (h1["cpu_s"] - h0["cpu_s"])),
        "client_cpu_ms_per_change": per(1000 * (c1 - c0)),
        "throughput_changes_per_s": made / wall if wall else math.nan,
        "bytes_received_per_change": per(received),
        "messages_received_per_change": per(messages),
        "changes_wall_s": wall, "loadavg_after_changes": load_after,
        "opened": len(live), "ready": len(ready), "sessions_created": created,
        "sessions_seen_open": after_open["sessions"],
        "open_s": {"wall": open_wall, "per_visitor": summary(v.open_s for v in live)},
        "learn_wall_s": learn_wall,
        "server_cpu_s": {"open": after_open["cpu_s"] - before["cpu_s"],
                         "learn": after_learn["cpu_s"] - after_open["cpu_s"], "changes": h1["cpu_s"] - h0["cpu_s"]},
        "learned": None if not first else {
            "updates": sorted(map(list, first["expect"])),
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
        "sessions_zero_s": gone_s, "final_sessions": final["sessions"],
        "per_visitor_ms": [[round(x, 1) for x in latencies[v.name]] for v in ready],
    })
    return result


def run(n_sessions: int = 20, n_changes: int = 50, *, server_url: str | None = None,
        server_env: dict | None = None, **kwargs) -> dict:
    """Start a server (unless ``server_url``; ``server_env`` adds to its environment) and run
    the load (``kwargs``: ``measure``'s); the figures as a dict."""
    with server_unless(server_url, env=server_env) as (base, server):
        started = time.monotonic()
        result = asyncio.run(measure(base, n_sessions, n_changes, server=server, **kwargs))
    result["seconds"] = time.monotonic() - started
    result["loadavg"] = loadavg()
    result["cpus"] = os.cpu_count()
    result["server_env"] = server_env or {}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--learn", type=int, default=4, help="untimed warm-up changes per visitor (default 4)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a change may take (default 30)")
    parser.add_argument("--gone-timeout", type=float, default=90.0,
                        help="seconds to wait for the sessions to go after closing (default 90)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the started server's environment, e.g. LAE_CLOSED_SESSION_MS=2000 (repeatable)")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    parser.add_argument("--health-url", action="append", default=None, metavar="URL",
                        help="with --url a proxy: an app process behind it to ask for /health (repeat for each)")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.server_env)
    result = run(args.sessions, args.changes, server_url=args.url, server_env=env, n_learn=args.learn,
                 timeout_s=args.timeout, gone_timeout_s=args.gone_timeout, health_urls=args.health_url)
    json.dump(result, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
