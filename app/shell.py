"""The app's frame: the template with header and navigation, the notice area, URL state, and
the error guard every page's callbacks run inside.

A page subclasses ``Page``: it names its ``state_class`` (a ``param.Parameterized`` whose
``URL_PARAMS`` are kept in the query string) and implements ``build()`` → (sidebar, main) and
``redraw(changed)``.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import panel as pn

from app import query

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("lae_landscapes")

#: (slug, title) of every page, in navigation order; a page module registers itself in app.server
NAV: list[tuple[str, str]] = [("landscape", "Landscape"), ("trajectories", "Trajectories"),
                              ("collapse", "Posterior collapse"), ("grassmannian", "Grassmannian")]


class LiveFloatSlider(pn.widgets.FloatSlider):
    """A float slider whose value reaches the server as it is dragged, without Panel's 50 ms
    debounce of widget changes (Syncable._debounce): a slider change is the app's hot path."""

    _priority_changes = ["value"]


ACTIVE = ' class="active"'
APP_CSS = (STATIC / "app.css").read_text()
NOTICE_CSS = """
.notice { padding: 6px 10px; margin: 2px 0; border-radius: 4px; font-size: 13px; }
.notice-warning { background: #fff4d6; border-left: 4px solid #e0a800; color: #4a3b00; }
.notice-error { background: #fde2e1; border-left: 4px solid #c9302c; color: #5a1210; }
"""


class Notices:
    """Plain-text notices above a page: escaped, never rendered as HTML from user input."""

    def __init__(self):
        self.pane = pn.pane.HTML("", css_classes=["notices"], sizing_mode="stretch_width", visible=False,
                                 stylesheets=[NOTICE_CSS])
        self.items: list[tuple[str, str]] = []

    def show(self, text: str, level: str = "warning") -> None:
        self.items.append((level, text))
        self._render()

    def clear(self, level: str | None = None) -> None:
        self.items = [i for i in self.items if level is not None and i[0] != level]
        self._render()

    def _render(self) -> None:
        body = "".join(f'<div class="notice notice-{lvl}" role="alert">{html.escape(t)}</div>'
                       for lvl, t in self.items)
        self.pane.object = body
        self.pane.visible = bool(self.items)


class Page:
    """Base of every page: state from the URL, notices, guarded redraws, the template."""

    slug = "page"
    title = "Page"
    state_class = None

    def __init__(self, **overrides):
        self.notices = Notices()
        self.state = self.state_class(**overrides)
        names = self.state.URL_PARAMS
        args = pn.state.session_args if pn.state.curdoc and pn.state.curdoc.session_context else {}
        values, notices = query.parse(self.state, names, args or {})
        self.state.param.update(**values)
        for text in notices:
            self.notices.show(text)
        self.state.param.watch(self._changed, names)

    # subclasses
    def build(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def redraw(self, changed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _changed(self, *events):
        changed = tuple(e.name for e in events)
        self.guarded(self.redraw, changed)
        self.schedule_url()

    def guarded(self, fn, *args):
        """Run a callback; a failure becomes a notice and the session keeps working. All the
        model changes it makes reach the browser as one message."""
        try:
            with pn.io.hold():
                fn(*args)
                if any(level == "error" for level, _ in self.notices.items):
                    self.notices.clear("error")
        except Exception as exc:  # noqa: BLE001 - the visitor gets a message, the log a traceback
            log.exception("callback failed on page %s", self.slug)
            message = str(exc) if isinstance(exc, ValueError) else "something went wrong drawing this view"
            self.notices.clear("error")
            self.notices.show(f"Could not update the page: {message}. The previous view is kept.", "error")

    #: the address bar follows the state this long after the last change (ms)
    URL_DELAY_MS = 250

    def schedule_url(self):
        """Write the URL once a drag pauses, not on every slider step: each write is a message
        to the browser, which echoes the new address back, competing with the next step."""
        doc = pn.state.curdoc
        if not (doc and doc.session_context):
            self.write_url()
            return
        if not getattr(self, "_url_pending", False):
            self._url_pending = True
            location = pn.state.location  # this session's, taken now: the timer runs outside it

            def flush():
                self._url_pending = False
                self.write_url(location)

            doc.add_timeout_callback(flush, self.URL_DELAY_MS)

    def write_url(self, location=None):
        location = location if location is not None else pn.state.location
        if location is not None:
            location.update_query(**query.encode(self.state, self.state.URL_PARAMS))

    def view(self):
        sidebar, main = self.build()
        embed = _flag("embed")
        if embed:
            return pn.Column(self.notices.pane, main, sidebar, css_classes=["embed"])
        template = pn.template.BootstrapTemplate(
            title="LAE Landscapes", favicon="assets/favicon.svg", header_background="#23395d",
            sidebar_width=300)
        template.config.raw_css.append(APP_CSS)
        nav = "".join(
            f'<a href="./{slug}"{ACTIVE if slug == self.slug else ""}>{html.escape(t)}</a>'
            for slug, t in NAV)
        template.header.append(pn.pane.HTML(f'<nav class="lae-nav">{nav}</nav>', stylesheets=[APP_CSS]))
        template.sidebar.append(sidebar)
        template.main.append(pn.Column(self.notices.pane, main, sizing_mode="stretch_width"))
        if pn.state.curdoc and pn.state.curdoc.session_context:
            # After the browser's Location has synced; before that its own (maybe corrected)
            # query string would overwrite ours, and a copied link would bring the notices back.
            pn.state.onload(self.write_url)
        return template


def _flag(name: str) -> bool:
    args = pn.state.session_args if pn.state.curdoc and pn.state.curdoc.session_context else {}
    values = args.get(name) or []
    return bool(values) and values[-1].decode("utf-8", "replace").lower() in query.TRUE
