"""The Panel server: routes every page, serves ``static/``, answers ``/liveness``."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import urllib.parse
from math import isfinite
from types import FunctionType

import bokeh.server.protocol_handler as _bokeh_protocol_handler
import panel as pn
import panel.io.document as _panel_document
import panel.io.location as _panel_location
import panel.io.server as _panel_server
from bokeh.core.has_props import HasProps
from bokeh.core.property.bases import Property
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.core.property.instance import InstanceDefault
from bokeh.core.serialization import _MAX_SAFE_INT, Serializer
from bokeh.document.json import PatchJson
from bokeh.model import Model
from bokeh.protocol.messages.patch_doc import patch_doc as _PatchDoc
from bokeh.server.protocol_handler import ProtocolHandler
from bokeh.settings import settings as _bokeh_settings
from panel.io.resources import LOCAL_DIST
from panel.reactive import Reactive
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from app import health, shell
from app.pages import collapse, grassmann, landscape, lecture, trajectories

#: URL path → page factory; "/" opens on the Landscape page
ROUTES = {"/": landscape.create, "/landscape": landscape.create, "/trajectories": trajectories.create,
          "/collapse": collapse.create, "/grassmannian": grassmann.create, "/lecture": lecture.create}

EXTENSIONS = ("katex",)  # plotly.js is loaded on demand by app.plot3d
ORIGIN_ENV = "LAE_ALLOW_WEBSOCKET_ORIGIN"


# Panel adds Bokeh's MathJax bundle (1.8 MB) to any page holding an HTML pane, in case it holds
# TeX; this app renders its formulas with KaTeX (LaTeX panes), so MathJax would only slow the
# cold load. Likewise Bokeh's WebGL bundle (194 kB): no page has a WebGL plot
# (tests/app/test_server_bundles.py checks every page's models). (The data-table bundle has to
# stay: panel.min.js requires it as it loads.) Panel exposes no setting for a served page, hence
# this narrow wrapper.
_bundle_resources = _panel_server.bundle_resources

#: Bokeh's script bundles no page of this app needs
UNUSED_BOKEH_BUNDLES = ("bokeh-gl",)


def _bundle_resources_without_mathjax(roots, resources, *args, **kwargs):
    kwargs.setdefault("enable_mathjax", False)
    if resources is not None and hasattr(resources, "clone"):
        resources = resources.clone()
        resources.components[:] = [c for c in resources.components if c not in UNUSED_BOKEH_BUNDLES]
    return _bundle_resources(roots, resources, *args, **kwargs)


_panel_server.bundle_resources = _bundle_resources_without_mathjax

# A page's changes reach the browser as soon as the socket is free. Panel writes a callback's
# changes after it returns; when Bokeh is still writing its reply to the slider's message then
# (it is: the reply's coroutine resumes only after the callback, on the same event loop), Panel
# puts the changes aside and looks again after a fixed `asyncio.sleep(0.01)` — 10 ms added to
# every slider change. Waiting on the socket's own write lock instead hands the changes over the
# moment Bokeh's reply is out (the lock serves its waiters in order, so the order of messages is
# Bokeh's and Panel's as before). tests/app/test_server_writes.py checks both sides of this.
#
# And none of them is left behind. Panel writes only while the document is marked as blocked
# (_WRITE_BLOCK), and a dispatch that has written its messages clears the mark once their writes
# are flushed, even when another message was queued meanwhile and its dispatch has not run yet
# (it waits for the socket's lock). That one then found no mark, returned, and the message stayed
# queued until the page's next change: the last change of a drag — its plots or its address —
# never reached the browser. Seen with raw websocket clients under load (tests/perf/wsload.py:
# the address of 1 visitor in 20 stuck at an earlier λ); Panel's own dispatch does the same.
_dispatch_msgs = _panel_document._dispatch_msgs


async def _dispatch_msgs_when_the_socket_is_free(doc):
    for conn in list(_panel_document._WRITE_MSGS.get(doc, {})):
        lock = getattr(conn._socket, "write_lock", None)
        if lock is not None and lock._block._value == 0:  # held (the test Panel itself makes)
            async with lock:
                pass
    if _panel_document._WRITE_MSGS.get(doc):
        _panel_document._WRITE_BLOCK[doc] = True  # messages wait: this dispatch writes them
    await _dispatch_msgs(doc)


_panel_document._dispatch_msgs = _dispatch_msgs_when_the_socket_is_free

# Only the listed origins open a page's websocket. Tornado 6.6 lets any handshake it judges
# same-origin through without asking the handler's check_origin (Bokeh's origin list): one whose
# Sec-Fetch-Site is "same-origin", or whose Origin names the Host header it came with. Behind a
# DNS-rebinding page (evil.example resolved to the lecturer's 127.0.0.1) both hold for any name,
# so the list — the app's own host:port and LAE_ALLOW_WEBSOCKET_ORIGIN — meant nothing for them.
# Here every handshake that carries an Origin is checked against the list, as before Tornado 6.6
# (tests/app/test_safe_defaults.py sends such handshakes to a real server).


def _listed_origins_only(self, check):
    origin = self.request.headers.get("Origin") or self.request.headers.get("Sec-Websocket-Origin")
    if origin is None:
        return None  # not a browser: no page of another site is behind it
    return None if check(origin) else f"Origin {origin!r} is not in the allowed list"


_panel_server.WSHandler._check_cross_origin = _listed_origins_only

# A page's websocket sends without delay. Nagle's algorithm is on for it (Tornado leaves it on
# and neither Bokeh nor Panel turns it off): Bokeh writes a message as several websocket frames,
# and the frames after the first waited for the browser to acknowledge it, which Linux delays by
# up to 40 ms — measured with raw websocket clients (tests/perf/wsload.py), a λ change took 14 or
# 56 ms back to back, by the luck of that timer. Browsers send with Nagle off; so does this now.
_ws_open = _panel_server.WSHandler.open


def _open_without_nagle(self, *args, **kwargs):
    if self.ws_connection is not None:
        self.set_nodelay(True)
    return _ws_open(self, *args, **kwargs)


_panel_server.WSHandler.open = _open_without_nagle

# Panel's Location converts every all-digit query value with int(): one longer than Python's
# 4300-digit limit (sys.get_int_max_str_digits) raises, and the page fails with a 500 before
# app.query can refuse the value with a notice. Such a query stays text here.
_parse_query = _panel_location.parse_query


def _parse_query_keeping_long_digits(query: str) -> dict:
    try:
        return _parse_query(query)
    except ValueError:
        return dict(urllib.parse.parse_qsl(query[1:]))


_panel_location.parse_query = _parse_query_keeping_long_digits

# Nor does the browser's report of its own address count as the server being busy. Panel marks
# every change from the browser in its global busy counter, for the template's busy spinner
# (which the pages do without, as for their controls: shell._Live); after each write of the
# state into the address the browser reports the new one, and the marking — a uuid4, three
# updates of a read-only parameter and their watchers — was ~5 % of a λ change on the server.
_panel_location.Location._busy__ignore = ["href", "hostname", "pathname", "protocol", "port",
                                          "search", "hash", "reload"]

# A value the browser's change may not take — a word for λ, sent by anything but a browser's
# slider — is refused by Bokeh's property check, and the visitor gets Bokeh's ERROR reply and
# keeps their session. Bokeh logged each as "error handling message" with a traceback, as if the
# server had failed, and the whole message with it. Such a refusal is now one warning line; any
# other failure while handling a message is still logged by Bokeh, with its traceback.
_bokeh_handle = ProtocolHandler.handle
_PREPARE_VALUE = Property.prepare_value.__code__


def _refused_by_a_property_check(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return isinstance(exc, ValueError) and tb is not None and tb.tb_frame.f_code is _PREPARE_VALUE


async def _handle_refusing_bad_values_quietly(self, message, connection):
    if message.msgtype != "PATCH-DOC":
        return await _bokeh_handle(self, message, connection)
    try:
        return await self._handlers["PATCH-DOC"](message, connection)
    except Exception as exc:  # as Bokeh's handle: logged, and an ERROR reply to the browser
        if _refused_by_a_property_check(exc):
            shell.log.warning("a change from the browser was refused: %.300s", exc)
        else:
            _bokeh_protocol_handler.log.error("error handling message\n message: %r \n error: %r",
                                              message, exc, exc_info=True)
        return connection.error(message, repr(exc))


ProtocolHandler.handle = _handle_refusing_bad_values_quietly

# A visitor who leaves while the server is writing to their tab: Panel does not await the failed
# write, and asyncio logs "Task exception was never retrieved" with a traceback
# (holoviz/panel#3341), sometimes much later (when the task is collected). It is no fault of
# the app; a traceback in the log should mean one, so this becomes a debug line.


def _drop_closed_tab_writes(loop, context):
    if isinstance(context.get("exception"), (WebSocketClosedError, StreamClosedError)):
        shell.log.debug("a message to a closed tab was dropped")
        return
    loop.default_exception_handler(context)


def _install_closed_tab_filter(session_context=None) -> None:
    loop = asyncio.get_event_loop()  # the server's: session callbacks run on it
    if loop.get_exception_handler() is None:
        loop.set_exception_handler(_drop_closed_tab_writes)


# Panel points a session's stylesheets at its own files (not its CDN) only while it writes the
# page's HTML (panel.io.server.server_html_page_for_session sets the document's "dist_url" and
# rewrites them). A session Bokeh makes when a browser connects after its page's session was
# discarded (a tab slower than UNUSED_LIFETIME_MS, as in a class of 20 opening the app at once on
# a busy server) has no HTML written for it: every stylesheet in it pointed at cdn.holoviz.org —
# a request leaving the machine, and a page with no styles offline. Set before the session's
# document is built, "dist_url" makes Panel write local addresses into every stylesheet as it
# makes it (tests/e2e/test_late_browser.py). Only such sessions (made for a websocket, ".../ws"):
# a page's own session is left to Panel. The routes are all one level deep, so the address is
# the one Panel gives their HTML.
def _local_stylesheets(session_context) -> None:
    request = getattr(session_context, "request", None)
    doc = getattr(session_context, "_document", None)
    if doc is not None and str(getattr(request, "path", "")).endswith("/ws"):
        doc._template_variables.setdefault("dist_url", LOCAL_DIST)


def default_origins(address: str, port: int) -> list[str]:
    """The app's own host only: what a browser on this machine sends as Origin."""
    hosts = {"localhost", "127.0.0.1", address if address not in ("0.0.0.0", "::", "") else "localhost"}
    return sorted(f"{h}:{port}" for h in hosts)


def _any_host(origin: str) -> bool:
    """Bokeh matches an origin pattern label by label with ``*`` as a wildcard, so not only
    ``*`` but ``*:*``, ``*:5006`` and ``*.*`` admit every host."""
    host = origin.strip().rsplit(":", 1)[0] if ":" in origin else origin.strip()
    return all(label == "*" for label in host.split("."))


def origins_from_env() -> list[str]:
    raw = os.environ.get(ORIGIN_ENV, "")
    return [o.strip() for o in raw.split(",") if o.strip()]


#: Bokeh's development checks, done by the tests instead of on every page view: a document's
#: integrity check (~40 ms of each page's first request; tests/app/test_server_bundles.py runs
#: it on every page and Landscape mode) and the signature check of each of the ~230 callbacks
#: Panel registers per session (~20 ms). Bokeh's own settings; its environment variables win.
PRODUCTION_SETTINGS = {"perform_document_validation": "BOKEH_VALIDATE_DOC",
                       "perform_error_diagnostics": "BOKEH_PERFORM_ERROR_DIAGNOSTICS"}


def use_production_settings() -> None:
    for name, env in PRODUCTION_SETTINGS.items():
        if env not in os.environ:
            getattr(_bokeh_settings, name).set_value(False)


#: Bokeh's own ``HasProps._overridden_defaults`` (the function), and its answers by class
_BOKEH_OVERRIDDEN_DEFAULTS = HasProps._overridden_defaults.__func__
_MODEL_DEFAULTS: dict[type, dict] = {}
#: Bokeh's own ``PropertyDescriptor.is_unstable`` and ``HasProps.themed_values`` (the functions)
_BOKEH_IS_UNSTABLE = PropertyDescriptor.__dict__["is_unstable"].__func__
_BOKEH_THEMED_VALUES = HasProps.themed_values


def _overridden_defaults_of(cls) -> dict:
    """Bokeh's ``HasProps._overridden_defaults``, worked out once per model class: Bokeh merges
    the ``__overridden_defaults__`` of the whole class hierarchy again for every property
    default it looks up (a fresh dict each time, ~7 % of a page view). Each class's own dict is
    written once, when the class is made (``MetaHasProps``), so the merge never changes."""
    merged = _MODEL_DEFAULTS.get(cls)
    if merged is None:
        merged = _MODEL_DEFAULTS[cls] = _BOKEH_OVERRIDDEN_DEFAULTS(cls)
    return merged


def _is_unstable(cls, value) -> bool:
    """Bokeh's ``PropertyDescriptor.is_unstable`` without the two imports it runs on every call
    (~4 % of a page view): the same test, with the names bound once."""
    return isinstance(value, (FunctionType, InstanceDefault))


def _themed_values(self):
    """Bokeh's ``HasProps.themed_values`` read from the instance's ``__dict__``, where
    ``apply_theme`` puts them: Bokeh's ``getattr(self, "__themed_values__", None)`` misses twice
    and raises (through ``HasProps.__getattr__``) for every model without a theme — ~21 000 calls
    per page view, ~1.3 µs each."""
    return self.__dict__.get("__themed_values__")


def cache_model_defaults() -> None:
    """Make building a page's Bokeh models cheaper (a Landscape page makes ~350): three of Bokeh's
    per-property lookups, redone for every model, now reuse their answer or take the short way.
    Same results (tests/app/test_model_defaults.py checks every model class against Bokeh's own)."""
    HasProps._overridden_defaults = classmethod(_overridden_defaults_of)
    HasProps.themed_values = _themed_values
    PropertyDescriptor.is_unstable = classmethod(_is_unstable)


class _ReferencesOnDemand(Serializer):
    """Bokeh's ``Serializer`` for a document's changes, told which models the browser has by a
    lookup when it meets one rather than by a table of them all made first. Bokeh's
    ``patch_doc.create`` passes every synced model of the document (a Landscape page has ~300) and
    the serializer builds ``{id(model): model.ref}`` for each of them (a ``Ref`` apiece) — for
    every message, though a slider change's message names a dozen models and the address's one.
    A model is synced when the document holds it and it is not new, as in
    ``DocumentModelManager.synced_references``; the document does not change while its message is
    made (the session's lock is held). And a list whose items are their own encoding goes whole
    (``_encode_list``)."""

    def __init__(self, document, **kwargs) -> None:
        super().__init__(**kwargs)
        self._document_models = document.models

    def get_ref(self, obj):
        ref = self._references.get(id(obj))
        if ref is None and isinstance(obj, Model):
            models = self._document_models
            if models._models.get(obj.id) is obj and obj not in models._new_models:
                ref = self._references[id(obj)] = obj.ref
        return ref

    def has_ref(self, obj) -> bool:
        return self.get_ref(obj) is not None

    def _encode_list(self, obj):
        """A list of plain finite floats, of strings or of safe integers is its own encoding (what
        ``Serializer.encode`` returns for each item): taken whole, not item by item (~1.5 µs an
        item; a λ change's short columns hold ~1 500 of them)."""
        kinds = set(map(type, obj))
        if len(kinds) == 1:
            [kind] = kinds
            if (kind is str or (kind is float and all(map(isfinite, obj)))
                    or (kind is int and -_MAX_SAFE_INT < min(obj) and max(obj) <= _MAX_SAFE_INT)):
                return list(obj)
        return super()._encode_list(obj)


def _create_patch(cls, events, **metadata):
    """Bokeh's ``patch_doc.create`` (bokeh/protocol/messages/patch_doc.py, 3.9) with
    ``_ReferencesOnDemand`` for its serializer: the same message; a λ change's is made in
    0.3–0.4 ms in-process instead of 1.3."""
    header = cls.create_header()
    if not events:
        raise ValueError("PATCH-DOC message requires at least one event")
    docs = {event.document for event in events}
    if len(docs) != 1:
        raise ValueError("PATCH-DOC message configured with events for more than one document")
    [doc] = docs
    serializer = _ReferencesOnDemand(doc)
    patch_json = PatchJson(events=serializer.encode(events))
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    msg = cls(header, metadata, patch_json)
    msg.add_buffers(*serializer.buffers)
    return msg


#: Bokeh's own ``patch_doc.create`` and Panel's ``Reactive._update_properties`` (the functions)
_BOKEH_CREATE_PATCH = _PatchDoc.create.__func__
_PANEL_UPDATE_PROPERTIES = Reactive._update_properties


def _update_properties(self, *events, doc):
    """Panel's ``Reactive._update_properties`` asking the design for its parameters only when they
    are used: they only add the design's stylesheets to a change of ``stylesheets``, but Panel
    worked them out for every change of every pane and widget (a path lookup on disk among them,
    ~0.5 ms of a λ change)."""
    if any(event.name == "stylesheets" for event in events):
        return _PANEL_UPDATE_PROPERTIES(self, *events, doc=doc)
    return self._process_param_change({event.name: event.new for event in events})


def lighter_changes() -> None:
    """Make each change a page sends cheaper: Bokeh's message made without a table of every model
    and with plain lists taken whole (``_create_patch``), Panel's design asked only about
    stylesheets (``_update_properties``).
    Same messages (tests/app/test_lighter_changes.py checks them against Bokeh's and Panel's)."""
    _PatchDoc.create = classmethod(_create_patch)
    Reactive._update_properties = _update_properties


def freeze_startup_objects() -> None:
    """Leave the objects of the server's start (modules, classes, functions: ~150 000) out of
    every later garbage collection. A full collection walks every tracked object and the server
    answers no one meanwhile; a class arriving at once makes several, and each walked these too
    (~40 % of the ~300 ms of one with 20 sessions open; ``/health`` reports them). Each session's
    objects are left out likewise once its page is built (``health.freeze_live_objects``)."""
    gc.collect()
    health.freeze_live_objects()


#: what ``serve`` sets for the whole process before serving, in this order (by name: the tests
#: keep all but the one they check out of their own process, tests.support.serve_settings_except)
PROCESS_WIDE = ("use_production_settings", "cache_model_defaults", "lighter_changes", "freeze_startup_objects")

#: said on standard error when ``serve`` runs more than one worker process (``--num-procs``)
SHARED_PORT_WARNING = (
    "lae-landscapes serve --num-procs {n}: the worker processes share one port and each new "
    "connection goes to any of them, so a page's websocket usually reaches another process than "
    "the one that built the page, which builds it again (measured: 8 page loads made 15 sessions), "
    "and the first copy waits unused until it expires. To use several cores for a class, run one "
    "process per port behind nginx, which keeps each browser on one process: README, "
    "'Scale-out behind nginx'.")


def serve(address: str = "127.0.0.1", port: int = 5006, *, num_procs: int = 1,
          allow_websocket_origin: list[str] | None = None, show: bool = False, **kwargs):
    """Start the server and block; ``allow_websocket_origin`` adds to the app's own host.
    ``num_procs`` other than 1 is Bokeh's shared-port workers, with the cost
    ``SHARED_PORT_WARNING`` says (0: one per core)."""
    if num_procs < 0:
        raise ValueError(f"num_procs: {num_procs} (1 or more; 0 for one per core)")
    pn.extension(*EXTENSIONS, notifications=False)
    for setting in PROCESS_WIDE:
        globals()[setting]()
    origins = default_origins(address, port) + list(allow_websocket_origin or []) + origins_from_env()
    wildcards = [o for o in origins if _any_host(o)]
    if wildcards:
        raise ValueError(f"allow_websocket_origin: {wildcards[0]!r} (like '*') would let any site open the "
                         "app's websocket; name the origins (host:port)")
    if num_procs != 1:
        print(SHARED_PORT_WARNING.format(n=num_procs), file=sys.stderr, flush=True)
    pn.state.on_session_created(_install_closed_tab_filter)  # in each worker process's loop
    pn.state.on_session_created(_local_stylesheets)
    extra_patterns = [health.route(), *kwargs.pop("extra_patterns", [])]  # /health: sessions, memory
    kwargs = {**health.session_options(), **kwargs}  # how long a session waits for its browser
    return pn.serve(ROUTES, address=address, port=port, num_procs=num_procs, websocket_origin=origins,
                    show=show, liveness=True, static_dirs={"assets": str(shell.STATIC)},
                    title="LAE Landscapes", extra_patterns=extra_patterns, **kwargs)
