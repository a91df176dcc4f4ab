"""The Panel server: routes every page of the registry (``app.pages``), serves ``static/``,
answers ``/liveness`` and ``/health`` (any other path: the app's own 404 page, ``NotFoundHandler``),
and applies ``app.compat``'s fixes before it serves."""

from __future__ import annotations

import asyncio
import gc
import html
import logging
import os
import sys
from urllib.parse import unquote

import panel as pn
from bokeh.settings import settings as _bokeh_settings
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from app import compat, health, pages, shell

#: URL path → page factory; "/" opens the registry's HOME page
ROUTES = pages.routes()

ORIGIN_ENV = "LAE_ALLOW_WEBSOCKET_ORIGIN"


class RefusedValueFilter(logging.Filter):
    """Bokeh's log line for a change the browser's message may not make — a word for λ, sent by
    anything but a browser's slider — as one warning line of the app's log. Bokeh refuses the
    value with its property check and sends the visitor an ERROR reply, and the session goes on;
    but it logs "error handling message" with a traceback and the whole message, as if the
    server had failed. Other failures keep Bokeh's line and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.getMessage().startswith("error handling message") and _refused_by_a_property_check(exc):
            shell.log.warning("a change from the browser was refused: %.300s", exc)
            return False
        return True


def _refused_by_a_property_check(exc: BaseException | None) -> bool:
    """A ``ValueError`` raised by Bokeh's ``Property.prepare_value`` (its innermost frame)."""
    from bokeh.core.property.bases import Property

    if not isinstance(exc, ValueError):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code is Property.prepare_value.__code__


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


#: the 404 page's look: the header's navy and the navigation's green, as the pages have them
NOT_FOUND_CSS = """
body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222; }
header { background: #23395d; color: #fff; padding: 14px 24px; font-size: 1.5em; }
header a { color: #fff; text-decoration: none; }
main { padding: 18px 24px; max-width: 46em; line-height: 1.5; }
h1 { color: #23395d; font-size: 1.6em; margin: 0.4em 0; }
code { background: #f2f4f8; padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
ul { padding-left: 1.2em; }
li { margin: 0.35em 0; }
li a { color: #23395d; font-weight: 600; }
li a:hover { border-bottom: 2px solid #7fd4a0; }
"""
#: a path is quoted at most this long on the 404 page
NOT_FOUND_QUOTE = 120


def not_found_page(path: str) -> str:
    """The 404 page for ``path``: plain HTML in the app's colours with a link to every page of the
    registry (``app.pages.PAGES``, in the navigation's order). ``path`` is the request's, as sent
    (percent-encoded); it is quoted decoded, escaped and cut at ``NOT_FOUND_QUOTE`` characters.
    The links are relative to the path (``../`` once per folder), so that they lead to the app's
    pages behind a proxy that serves it under a prefix."""
    up = "../" * max(path.count("/") - 1, 0) or "./"
    shown = unquote(path, errors="replace")
    shown = shown if len(shown) <= NOT_FOUND_QUOTE else shown[:NOT_FOUND_QUOTE] + "…"
    links = "".join(f'<li><a href="{html.escape(up + entry.slug, quote=True)}">{html.escape(entry.title)}</a></li>'
                    for entry in pages.PAGES)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Page not found · LAE Landscapes</title><style>{NOT_FOUND_CSS}</style></head><body>"
            f'<header><a href="{html.escape(up, quote=True)}">LAE Landscapes</a></header><main>'
            "<h1>Page not found</h1>"
            f"<p>There is no page at <code>{html.escape(shown)}</code>. The app's pages are:</p>"
            f"<ul>{links}</ul></main></body></html>")


class NotFoundHandler(web.RequestHandler):
    """Every path no route answers (Tornado's ``default_handler_class``): ``not_found_page`` with
    status 404, for any method, instead of Tornado's bare "404: Not Found"."""

    def prepare(self) -> None:
        raise web.HTTPError(404)

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(not_found_page(self.request.path))


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


#: said on standard error when ``serve`` runs more than one worker process (``--num-procs``)
SHARED_PORT_WARNING = (
    "lae-landscapes serve --num-procs {n}: the worker processes share one port and each new "
    "connection goes to any of them, so a page's websocket usually reaches another process than "
    "the one that built the page, which builds it again (measured: 8 page loads made 15 sessions), "
    "and the first copy waits unused until it expires. To use several cores for a class, run one "
    "process per port behind nginx, which keeps each browser on one process: docs/deploy.md, "
    "'Several processes behind nginx'.")


def freeze_startup_objects() -> None:
    """``--tune-memory``: leave the objects of the server's start (modules, classes, functions:
    ~150 000) out of every later garbage collection. A full collection walks every tracked object
    and the server answers no one meanwhile; a class arriving at once makes several."""
    gc.collect()
    health.freeze_live_objects()


def serve(address: str = "127.0.0.1", port: int = 5006, *, num_procs: int = 1,
          allow_websocket_origin: list[str] | None = None, show: bool = False, tune_memory: bool = False,
          **kwargs):
    """Start the server and block; ``allow_websocket_origin`` adds to the app's own host.
    ``num_procs`` other than 1 is Bokeh's shared-port workers, with the cost
    ``SHARED_PORT_WARNING`` says (0: one per core). ``tune_memory``: see ``app.health``.

    Raises ``ValueError`` for a bad argument, ``RuntimeError`` when a security fix of
    ``app.compat`` cannot be applied to the installed libraries."""
    if num_procs < 0:
        raise ValueError(f"num_procs: {num_procs} (1 or more; 0 for one per core)")
    origins = default_origins(address, port) + list(allow_websocket_origin or []) + origins_from_env()
    wildcards = [o for o in origins if _any_host(o)]
    if wildcards:
        raise ValueError(f"allow_websocket_origin: {wildcards[0]!r} (like '*') would let any site open the "
                         "app's websocket; name the origins (host:port)")
    compat.apply()
    # no extension: KaTeX (app.panes.LaTeX) and plotly.js (app.plot3d) load with the first
    # formula or 3-D view a page draws, not with every page
    pn.extension(notifications=False)
    use_production_settings()
    logging.getLogger("bokeh.server.protocol_handler").addFilter(RefusedValueFilter())
    if num_procs != 1:
        print(SHARED_PORT_WARNING.format(n=num_procs), file=sys.stderr, flush=True)
    pn.state.on_session_created(_install_closed_tab_filter)  # in each worker process's loop
    extra_patterns = [health.route(tune=tune_memory), *kwargs.pop("extra_patterns", [])]
    kwargs = {**health.session_options(), **kwargs}  # how long a session waits for its browser
    if tune_memory:
        freeze_startup_objects()
    # compress_response: Tornado's gzip for every text response (scripts, styles, the page): a
    # class opening the app on the lecture hall's Wi-Fi moves a third of the bytes
    return pn.serve(ROUTES, address=address, port=port, num_procs=num_procs, websocket_origin=origins,
                    show=show, liveness=True, static_dirs={"assets": str(shell.STATIC)},
                    title="LAE Landscapes", extra_patterns=extra_patterns, compress_response=True,
                    default_handler_class=NotFoundHandler, **kwargs)
