"""Fixes to other libraries' internals, each named, gated to the versions it was written against.

Everything in the app that replaces or wraps a private attribute of Panel, Bokeh or Tornado is
here, and only for a security hole or a bug a visitor would see — never for speed (a speed-up of
a library's internals is written up in docs/performance.md for upstream instead). Each fix is a
``Patch``: what it fixes (the upstream behaviour, in a sentence or two), the library versions it
was written and tested against, and the function that applies it. ``apply()`` applies them all;
``app.server.serve`` calls it, never an import. Outside its tested versions a patch is skipped with
one warning line naming it — except the security fix, which refuses to start the server unless a
probe finds the upstream hole closed.

Each patch has a canary test in tests/app/test_compat.py that shows the upstream behaviour is still
there: the day upstream fixes it, that test fails and says the patch can go.

The patches:

- ``websocket_origin_check`` (security) — Tornado 6.6 lets a websocket handshake it judges
  same-origin through without asking the handler's ``check_origin``: one whose ``Sec-Fetch-Site``
  is ``same-origin``, or whose ``Origin`` names the ``Host`` it came with. Behind a DNS-rebinding
  page (evil.example resolved to the lecturer's 127.0.0.1) both hold for any name, so the origin
  list (the app's own host and ``LAE_ALLOW_WEBSOCKET_ORIGIN``) meant nothing for them. Here every
  handshake that carries an ``Origin`` is checked against the list.
- ``queued_message_dispatch`` — Panel writes a page's changes only while the document is marked
  as blocked, and a dispatch that has written its messages clears the mark once their writes are
  flushed, even when another message was queued meanwhile whose dispatch waits for the socket. That
  one then finds no mark and returns: the last change of a drag (its plots, or the address) stays
  queued until the page's next change, and the visitor sees the plots stop one step short.
- ``late_session_stylesheets`` — Panel points a session's stylesheets at its own files only while
  it writes the page's HTML. A session Bokeh makes for a browser that connects after its page's
  session was discarded has no HTML written for it, so every stylesheet in it points at
  cdn.holoviz.org: offline, the page has no styles.
- ``player_resizes_with_its_end`` — Panel's Player view resizes its range input only when its
  value changes (and sets the value before the maximum on first render, which clamps it to 100):
  a Player whose ``end`` grows shows a track that stops at the old end.
- ``live_controls`` — Panel holds every change a browser makes to a widget for 50 ms before the
  page's callback sees it; a slider dragged in front of a class answers 50 ms late on every step.
  ``app.shell``'s live controls mark their values as changes Panel hands over at once.
- ``slider_values_in_range`` — anything can write to a page's websocket; a slider value outside
  the slider's range (or a word, or NaN) is refused by the page's state with a traceback. The app's
  sliders take the nearer end of their range, or ignore a value that is not a finite number.
- ``long_digit_query`` — Panel's ``Location`` converts every all-digit query value with ``int()``,
  and one longer than Python's 4300-digit limit raises: the page fails with a 500 before the
  app can refuse the value with a notice. Such a value stays text. (The pages keep the address
  themselves, ``app.address``; Panel's Location stays only because its templates embed one.)
- ``websocket_nodelay`` — Tornado leaves Nagle's algorithm on for a websocket and Bokeh writes a
  message as several frames: the frames after the first wait for the browser's delayed
  acknowledgement, so a change reaches the page 0 or 40 ms late, by the luck of that timer.
"""

from __future__ import annotations

import logging
import math
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from types import SimpleNamespace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

log = logging.getLogger("lae_landscapes")


@dataclass(frozen=True)
class Patch:
    """One fix: ``install()`` applies it; ``tested`` maps each library it touches to the versions
    it was written and tested against; ``security`` patches refuse to start outside them unless
    ``upstream_fixed()`` finds the hole closed."""

    name: str
    fixes: str
    tested: dict[str, str]
    install: Callable[[], None]
    security: bool = False
    upstream_fixed: Callable[[], bool] | None = None

    def untested(self) -> list[str]:
        """``"panel 1.10.0 (tested: >=1.9.4,<1.10)"`` for each library outside its tested range."""
        out = []
        for library, spec in self.tested.items():
            version = metadata.version(library)
            if Version(version) not in SpecifierSet(spec):
                out.append(f"{library} {version} (tested: {spec})")
        return out


#: names of the patches applied in this process
applied: set[str] = set()


# --------------------------------------------------------------------------- websocket_origin_check


def _listed_origins_only(self, check):
    """Tornado's ``_check_cross_origin`` for a page's websocket: a handshake with an ``Origin``
    is let through only if ``check`` (Bokeh's origin list) allows it."""
    origin = self.request.headers.get("Origin") or self.request.headers.get("Sec-Websocket-Origin")
    if origin is None:
        return None  # not a browser: no page of another site is behind it
    return None if check(origin) else f"Origin {origin!r} is not in the allowed list"


def tornado_asks_about_same_origin_handshakes() -> bool:
    """Whether Tornado's own cross-origin check asks ``check_origin`` about a handshake whose
    ``Origin`` names its ``Host`` (what a DNS-rebinding page sends): the upstream fix."""
    from tornado.web import RequestHandler
    from tornado.websocket import WebSocketHandler

    check_cross_origin = getattr(WebSocketHandler, "_check_cross_origin", None)
    matches_host = getattr(RequestHandler, "_origin_matches_host", None)
    if check_cross_origin is None:
        return False  # cannot tell
    headers = {"Host": "evil.example:5006", "Origin": "http://evil.example:5006"}
    fake = SimpleNamespace(request=SimpleNamespace(headers=_Headers(headers)))
    if matches_host is not None:
        fake._origin_matches_host = lambda origin: matches_host(fake, origin)
    try:
        return check_cross_origin(fake, lambda origin: False) is not None
    except Exception:  # noqa: BLE001 - a changed signature: the fix cannot be confirmed
        return False


class _Headers(dict):
    """Case-insensitive ``get``, as Tornado's ``HTTPHeaders``."""

    def get(self, name, default=None):
        return next((v for k, v in self.items() if k.lower() == name.lower()), default)


def _install_origin_check() -> None:
    import panel.io.server as panel_server

    panel_server.WSHandler._check_cross_origin = _listed_origins_only


# --------------------------------------------------------------------------- queued_message_dispatch


async def _dispatch_msgs_when_the_socket_is_free(doc):
    """Panel's ``_dispatch_msgs`` that writes every message queued when it starts: the document
    is marked as blocked again if messages wait. It also waits on the socket's own write lock (the
    lock serves its waiters in order, so messages keep Bokeh's and Panel's order), where Panel's
    own would put them aside and look again after ``asyncio.sleep(0.01)``."""
    import panel.io.document as panel_document

    for conn in list(panel_document._WRITE_MSGS.get(doc, {})):
        lock = getattr(conn._socket, "write_lock", None)
        if lock is not None and lock._block._value == 0:  # held: the test Panel itself makes
            async with lock:
                pass
    if panel_document._WRITE_MSGS.get(doc):
        panel_document._WRITE_BLOCK[doc] = True  # messages wait: this dispatch writes them
    await _PANEL_DISPATCH(doc)


_PANEL_DISPATCH = None


def _install_dispatch() -> None:
    import panel.io.document as panel_document

    global _PANEL_DISPATCH
    if panel_document._dispatch_msgs is not _dispatch_msgs_when_the_socket_is_free:
        _PANEL_DISPATCH = panel_document._dispatch_msgs
        panel_document._dispatch_msgs = _dispatch_msgs_when_the_socket_is_free


# --------------------------------------------------------------------------- late_session_stylesheets


def local_stylesheets(session_context) -> None:
    """Before a websocket's session builds its document: Panel writes local addresses into every
    stylesheet it makes while the document's ``dist_url`` is set. Only sessions made for a
    websocket (``…/ws``); a page's own session is left to Panel. The routes are all one level
    deep, so the address is the one Panel gives their HTML."""
    from panel.io.resources import LOCAL_DIST

    request = getattr(session_context, "request", None)
    doc = getattr(session_context, "_document", None)
    if doc is not None and str(getattr(request, "path", "")).endswith("/ws"):
        doc._template_variables.setdefault("dist_url", LOCAL_DIST)


def _install_local_stylesheets() -> None:
    import panel as pn

    pn.state.on_session_created(local_stylesheets)


# --------------------------------------------------------------------------- player_resizes_with_its_end

#: a Player's ``end`` change re-runs the view's update for ``value`` (without changing the value)
PLAYER_END_JS = "cb_obj.properties.value.change.emit()"


def resize_player_with_its_end(player) -> None:
    """Make ``player``'s track follow its ``end`` (once the patch is applied; a no-op otherwise)."""
    if "player_resizes_with_its_end" in applied:
        player.jscallback(end=PLAYER_END_JS)


# --------------------------------------------------------------------------- live_controls


class LiveChanges:
    """A widget whose browser changes reach the page's callback at once, once ``live_controls``
    is applied (Bokeh's names: ``value`` for sliders, selects and inputs; ``active`` for check
    boxes and toggles)."""

    _priority_changes: list[str] = []


def _install_live_controls() -> None:
    LiveChanges._priority_changes = ["value", "active"]


# --------------------------------------------------------------------------- slider_values_in_range


class ValuesInRange:
    """A slider that takes from the browser only a number within its range (once
    ``slider_values_in_range`` is applied): one outside it is taken as the nearer end, one that
    is not a finite number is ignored, each with one warning line."""

    _values_in_range = False

    def _process_property_change(self, props):
        if not ValuesInRange._values_in_range:
            return super()._process_property_change(props)
        props = dict(props)  # Panel keeps the browser's own values to tell its echoes apart
        for name in ("value", "value_throttled"):
            if name not in props:
                continue
            value = props[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                log.warning("slider %r: ignored %.40r from the browser (not a finite number)", self.name, value)
                del props[name]
            elif not self.start <= value <= self.end:
                props[name] = min(max(value, self.start), self.end)
                log.warning("slider %r: %.40r from the browser is outside [%s, %s]; took %s",
                            self.name, value, self.start, self.end, props[name])
        return super()._process_property_change(props)


def _install_values_in_range() -> None:
    ValuesInRange._values_in_range = True


# --------------------------------------------------------------------------- long_digit_query

_PARSE_QUERY = None


def _parse_query_keeping_long_digits(query: str) -> dict:
    """Panel's ``parse_query``, with a query it cannot convert (a value of more digits than
    ``int()`` takes) read as text."""
    try:
        return _PARSE_QUERY(query)
    except ValueError:
        return dict(urllib.parse.parse_qsl(query[1:]))


def _install_long_digit_query() -> None:
    import panel.io.location as panel_location

    global _PARSE_QUERY
    if panel_location.parse_query is not _parse_query_keeping_long_digits:
        _PARSE_QUERY = panel_location.parse_query
        panel_location.parse_query = _parse_query_keeping_long_digits


# --------------------------------------------------------------------------- websocket_nodelay

_WS_OPEN = None


def _open_without_nagle(self, *args, **kwargs):
    if self.ws_connection is not None:
        self.set_nodelay(True)
    return _WS_OPEN(self, *args, **kwargs)


def _install_nodelay() -> None:
    import panel.io.server as panel_server

    global _WS_OPEN
    if panel_server.WSHandler.open is not _open_without_nagle:
        _WS_OPEN = panel_server.WSHandler.open
        panel_server.WSHandler.open = _open_without_nagle


# --------------------------------------------------------------------------- the list

PANEL = ">=1.9.4,<1.10"
BOKEH = ">=3.9.2,<3.10"
TORNADO = ">=6.6.1,<6.7"

PATCHES: tuple[Patch, ...] = (
    Patch("websocket_origin_check", "Tornado lets same-origin-looking websocket handshakes skip the origin list",
          {"tornado": TORNADO, "panel": PANEL}, _install_origin_check, security=True,
          upstream_fixed=tornado_asks_about_same_origin_handshakes),
    Patch("queued_message_dispatch", "Panel's write dispatch can leave a drag's last change queued",
          {"panel": PANEL}, _install_dispatch),
    Patch("late_session_stylesheets", "a session made for a late browser points its stylesheets at the CDN",
          {"panel": PANEL}, _install_local_stylesheets),
    Patch("player_resizes_with_its_end", "the Player's track does not follow a new end",
          {"panel": PANEL, "bokeh": BOKEH}, lambda: None),
    Patch("live_controls", "Panel holds a widget's browser change for 50 ms",
          {"panel": PANEL}, _install_live_controls),
    Patch("slider_values_in_range", "a crafted slider value raises in the page's state",
          {"panel": PANEL}, _install_values_in_range),
    Patch("long_digit_query", "Panel's Location fails on a query value of thousands of digits",
          {"panel": PANEL}, _install_long_digit_query),
    Patch("websocket_nodelay", "a websocket message's later frames wait up to 40 ms for an ACK",
          {"tornado": TORNADO, "panel": PANEL}, _install_nodelay),
)


def apply(patches: tuple[Patch, ...] = PATCHES) -> set[str]:
    """Apply every patch whose libraries are at their tested versions; skip the others with one
    warning line each. Raises ``RuntimeError`` for a security patch outside its tested versions
    unless its upstream fix is detected. Returns the names applied (also kept in ``applied``)."""
    for patch in patches:
        if patch.name in applied:
            continue
        untested = patch.untested()
        if untested:
            if patch.security:
                if patch.upstream_fixed is not None and patch.upstream_fixed():
                    log.warning("compat: %s not needed: the upstream fix is there (%s)", patch.name,
                                ", ".join(untested))
                    continue
                raise RuntimeError(f"compat: {patch.name} ({patch.fixes}) is written for other versions: "
                                   f"{', '.join(untested)}; the upstream fix is not detected, so the server "
                                   "does not start. Install the tested versions (requirements.lock).")
            log.warning("compat: skipped %s (%s): %s", patch.name, patch.fixes, ", ".join(untested))
            continue
        patch.install()
        applied.add(patch.name)
    return set(applied)
