"""The address bar holds the page's state, and Back and Forward step through the states.

A page writes its state into the query string as it changes (``Page.write_url``), so that a
copied link reopens it, and reads it back on Back and Forward, so that the address bar, a copied
link and a reload always show the state on screen. (Panel's ``Location`` pushes a history entry
for every write, the one made as the page loads among them, and never reads the address again.)

``AddressBar`` is a hidden component that does both directions:

- **Writing.** The server sets ``query`` (the whole query string, ``"?…"``). The browser puts it
  in the address without reloading. With ``replace`` the current history entry is rewritten; a
  new entry is pushed otherwise. The page replaces on its first write (the address it was
  opened with becomes the canonical one, not an extra entry), after Back or Forward, and always
  when embedded (an iframe's entries would be the host page's Back button's).
- **Reading.** On Back or Forward (``popstate``) to an entry of another query, the browser sends
  the address's query string. The page reads it as it reads a link's (``app.query.parse``:
  checked, clamped, notices), with a parameter left out of it at its default, and redraws.

The browser does not echo an address back after writing it: a write is one small message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

import param
from panel.custom import JSComponent

log = logging.getLogger("lae_landscapes")

#: a query string from the browser longer than this is not read (the page keeps its state)
MAX_QUERY = 8192
#: nor one with more fields than this
MAX_FIELDS = 100


def query_string(values: dict[str, str]) -> str:
    """``"?name=value&…"`` (form-encoded, as Panel's ``Location`` wrote it), ``""`` for none."""
    return "?" + urlencode(values) if values else ""


def read_query(search: object) -> dict[str, list[str]] | None:
    """A query string from the browser as ``name → [values]`` (blank values kept, as a link's
    are read), or ``None`` if it is not one: not a string, longer than ``MAX_QUERY``, more
    than ``MAX_FIELDS`` fields."""
    if not isinstance(search, str) or len(search) > MAX_QUERY:
        return None
    try:
        return parse_qs(search.removeprefix("?"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # more fields than max_num_fields
        return None


class AddressBar(JSComponent):
    """Keeps the browser's address at ``query`` and reports Back / Forward to ``on_back``
    (called with the address's query as ``name → [values]``)."""

    query = param.String(default="", doc="the query string the address carries: '?…', or '' for none")
    replace = param.Boolean(default=True, doc="rewrite the current history entry instead of pushing one")

    _esm = """
    export function render({ model }) {
      let pending = false
      let shown = window.location.search  // the query of the entry the page shows
      const write = () => {
        pending = false
        const q = model.query
        shown = q
        if (q === window.location.search || (q === "" && window.location.search === "?")) return
        const url = window.location.pathname + q + window.location.hash
        if (model.replace) window.history.replaceState(window.history.state, "", url)
        else window.history.pushState(null, "", url)
      }
      // query and replace arrive in one message: write once, after both
      const schedule = () => { if (!pending) { pending = true; queueMicrotask(write) } }
      write()
      model.on(["query", "replace"], schedule)
      // one listener per window, whichever view last rendered
      window.removeEventListener("popstate", window.__laeAddressPopped)
      // an entry of the query shown is no change of state (a new hash: the deck's slide turns);
      // on a slow link the server may hold a newer query already, which a report would undo
      window.__laeAddressPopped = () => {
        const q = window.location.search
        if (q === shown) return
        shown = q
        model.send_msg({ search: q })
      }
      window.addEventListener("popstate", window.__laeAddressPopped)
      model.on("remove", () => window.removeEventListener("popstate", window.__laeAddressPopped))
    }
    """

    def __init__(self, on_back: Callable[[dict[str, list[str]]], None] | None = None, **params):
        params.setdefault("styles", {"display": "none"})
        params.setdefault("margin", 0)
        super().__init__(**params)
        self._on_back = on_back

    def _handle_msg(self, data) -> None:
        """The browser's report of Back or Forward; anything else (from a crafted client) is
        logged in one line and ignored."""
        args = read_query(data.get("search") if isinstance(data, dict) else None)
        if args is None:
            log.warning("address bar: ignored a message that is not a query string: %.120r", data)
            return
        if self._on_back is not None:
            self._on_back(args)
