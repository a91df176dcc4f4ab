"""The app's frame: the template with header and navigation, the notice area, URL state, and
the error guard every page's callbacks run inside.

A page subclasses ``Page``: it names its ``state_class`` (a ``param.Parameterized`` whose
``URL_PARAMS`` are kept in the query string) and implements ``build()`` → (sidebar, main) and
``redraw(changed)``.
"""

from __future__ import annotations

import html
import logging
import math
import os
import time
from pathlib import Path

import panel as pn
from bokeh.models import CustomJS

from app import compat, panes, query
from app.address import AddressBar, query_string
from app.pages import PAGES

#: CSS, logo and favicon: static/ at the top of a checkout; inside the package (app/static/) where
#: the wheel puts them (pyproject.toml maps the one onto the other)
STATIC = next(p for p in (Path(__file__).resolve().parent.parent / "static",
                          Path(__file__).resolve().parent / "static") if p.is_dir())
log = logging.getLogger("lae_landscapes")

#: Test-only fault injection. With ``LAE_TEST_FAULT="name=value"`` in the server's environment
#: (read once, at import) every guarded callback raises ``RuntimeError("injected test fault")``
#: while the page state's parameter ``name`` equals ``value`` (numbers compared as numbers),
#: so a browser test can watch a failing callback become a notice and the session recover.
#: Unset — as it always is outside the tests — it does nothing.
FAULT_ENV = "LAE_TEST_FAULT"


def _fault_trigger(raw: str | None) -> tuple[str, str] | None:
    name, sep, value = (raw or "").partition("=")
    return (name.strip(), value.strip()) if sep and name.strip() else None


FAULT = _fault_trigger(os.environ.get(FAULT_ENV))


def inject_fault(state) -> None:
    """Raise the injected test fault if ``FAULT`` is set and ``state`` matches it."""
    if FAULT is None:
        return
    name, wanted = FAULT
    if name not in getattr(state, "param", {}):
        return
    value = getattr(state, name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            hit = math.isclose(float(value), float(wanted), rel_tol=0.0, abs_tol=1e-9)
        except ValueError:
            hit = False
    else:
        hit = str(value) == wanted
    if hit:
        raise RuntimeError("injected test fault")


class _Live(compat.LiveChanges):
    """A control whose change reaches the page's callback at once (``app.compat.live_controls``):
    a control change is the app's hot path, and the page redraws in one message anyway."""


class _InRange(compat.ValuesInRange):
    """A slider that takes from the browser only a number within its range
    (``app.compat.slider_values_in_range``)."""


#: BokehJS draws a slider with noUiSlider, which writes the handle's ``aria-valuenow`` (and
#: ``-valuemin``, ``-valuemax``) to one decimal — λ = 0.99 is read out as "1.0" — and its
#: ``aria-valuetext`` in its own format. This keeps all four at what the slider shows: the numbers
#: to the step's decimals (0.99, 2000, -1.3) and the text as written after the title ("0.05" for
#: the learning rate, whose slider moves its logarithm). A MutationObserver on each handle puts
#: them back whenever noUiSlider rewrites them (every move, by mouse, keys or the server).
#: Run once per document, when it is ready (``describe_sliders_as_shown``).
SLIDER_ARIA_JS = """
const decimals = (step) => {
  const [mantissa, exponent] = String(step).split('e');
  return Math.max(0, (mantissa.split('.')[1] || '').length - Number(exponent || 0));
};
const NAMES = ['aria-valuenow', 'aria-valuemin', 'aria-valuemax', 'aria-valuetext'];
const describe = (view, handle) => {
  const {value, start, end, step} = view.model;
  const d = decimals(step);
  const number = (v) => String(Number(Number(v).toFixed(d)));
  const shown = view.el.shadowRoot.querySelector('.bk-slider-value')?.textContent;
  const want = [number(value), number(start), number(end), shown || number(value)];
  NAMES.forEach((name, i) => { if (handle.getAttribute(name) !== want[i]) handle.setAttribute(name, want[i]); });
};
const watched = window.__laeAriaSliders ?? (window.__laeAriaSliders = new WeakSet());
for (const view of Bokeh.index.all_views()) {
  const handle = view.model.type === 'Slider' ? view.el.shadowRoot?.querySelector('.noUi-handle') : null;
  if (handle == null || watched.has(view)) continue;
  watched.add(view);
  new MutationObserver(() => describe(view, handle)).observe(handle, {attributes: true, attributeFilter: NAMES});
  describe(view, handle);
}
"""


def describe_sliders_as_shown() -> None:
    """Make the sliders of this session's document tell assistive technology the value they show
    (``SLIDER_ARIA_JS``, run when the document is ready). Call it while building a page."""
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.js_on_event("document_ready", CustomJS(code=SLIDER_ARIA_JS))


class LiveFloatSlider(_Live, _InRange, pn.widgets.FloatSlider):
    """A float slider whose value reaches the server as it is dragged."""


class LiveIntSlider(_Live, _InRange, pn.widgets.IntSlider):
    """An integer slider whose value reaches the server as it is dragged."""


class LiveSelect(_Live, pn.widgets.Select):
    pass


class LiveCheckbox(_Live, pn.widgets.Checkbox):
    pass


class LiveCheckBoxGroup(_Live, pn.widgets.CheckBoxGroup):
    pass


class LiveToggle(_Live, pn.widgets.Toggle):
    pass


class LiveFloatInput(_Live, pn.widgets.FloatInput):
    pass


class LiveIntInput(_Live, pn.widgets.IntInput):
    pass


class LiveTextInput(_Live, pn.widgets.TextInput):
    """A text box whose value (sent on Enter or leaving the box) reaches the server at once."""


ACTIVE = ' class="active"'
APP_CSS = (STATIC / "app.css").read_text()
NOTICE_CSS = """
.notice { padding: 6px 10px; margin: 2px 0; border-radius: 4px; font-size: 13px; }
.notice-warning { background: #fff4d6; border-left: 4px solid #e0a800; color: #4a3b00; }
.notice-error { background: #fde2e1; border-left: 4px solid #c9302c; color: #5a1210; }
"""


def show(component, shown: bool) -> None:
    """Show or hide ``component`` with CSS (``display: none`` on its element), not with Panel's
    ``visible``: BokehJS answers a change of ``visible`` with a layout pass over the whole
    document (on the Landscape page, a mode switch took 250–450 ms, most of it that), while a
    style change only restyles the element and the page reflows like any HTML."""
    styles = {**component.styles, "display": None if shown else "none"}  # None: BokehJS removes it
    if styles != component.styles:
        component.styles = styles


def shown(component) -> bool:
    return component.visible and component.styles.get("display") != "none"


class Notices:
    """Plain-text notices above a page: escaped, never rendered as HTML from user input."""

    def __init__(self):
        self.pane = panes.HTML("", css_classes=["notices"], sizing_mode="stretch_width", visible=False,
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


#: the frame around every page (a Jinja template of Panel's ``Template``): see its header
PAGE_TEMPLATE = (STATIC / "page.html").read_text()
SIDEBAR_WIDTH = 300


class IndexedOnce:
    """A template (a mixin before Panel's class) whose ``server_doc`` has Bokeh index the
    document's models once, when every area is in: Panel adds a template's areas one by one, and
    Bokeh walks every model of the document after each (100–300 ms of a page's build)."""

    def server_doc(self, doc=None, title=None, location=True):
        if doc is None:
            return super().server_doc(doc, title, location)
        with doc.models.freeze():
            return super().server_doc(doc, title, location)


class Frame(IndexedOnce, pn.template.Template):
    """The pages' frame: ``static/page.html`` with three roots — the header's "Copy link", the
    sidebar and the main area. Plain HTML around them (title, navigation, the sidebar's toggle)
    needs no model, and the page loads no script it does not use: Panel's own templates add a
    hidden HTML pane to every page, which makes it load Bokeh's MathJax bundle (1.8 MB), and
    Bootstrap (with its script) besides."""

    def __init__(self, slug: str, sidebar, main):
        nav = "".join(
            f'<a href="./{entry.slug}"{ACTIVE if entry.slug == slug else ""}>{html.escape(entry.title)}</a>'
            for entry in PAGES if entry.nav)
        header = pn.Row(copy_link_button(), margin=0)
        super().__init__(PAGE_TEMPLATE, items={"header_items": header, "sidebar": sidebar, "main": main})
        #: what each area holds (as Panel's own templates name them)
        self.header, self.sidebar, self.main = [header], [sidebar], [main]
        for name, value in (("app_css", APP_CSS), ("nav", nav), ("home", f"./{PAGES[0].slug}"),
                            ("sidebar_width", SIDEBAR_WIDTH), ("app_favicon", "assets/favicon.svg")):
            self.add_variable(name, value)

    def __repr__(self) -> str:
        # Panel's templates write out every component of the page in their repr (for a
        # notebook's display), and do it again for each area added: ~30 ms of every page's build.
        return f"{type(self).__name__}(header, sidebar, main)"


class Page:
    """Base of every page: state from the URL, notices, guarded redraws, the template."""

    slug = "page"
    title = "Page"
    state_class = None

    def __init__(self, *, sync_url: bool = True, **overrides):
        """``overrides`` set the state; ``sync_url=False`` makes a page part of another (a
        lecture slide): it neither reads the URL query nor writes it."""
        self.notices = Notices()
        self.sync_url = sync_url
        self.state = self.state_class(**overrides)
        names = self.state.URL_PARAMS
        if sync_url:
            args = pn.state.session_args if pn.state.curdoc and pn.state.curdoc.session_context else {}
            values, notices = query.parse(self.state, names, args or {})
            self.state.param.update(**values)
            for text in notices:
                self.notices.show(text)
        self.settle(overrides)
        self.state.param.watch(self._changed, names)
        #: the browser's address (``view()`` makes it, for a page that syncs its URL)
        self.address: AddressBar | None = None
        self._replace_next = False  # set by Back / Forward: the next write rewrites that entry
        self._last_write = -math.inf
        self._waiting_to_be_shown: list | None = None

    def when_shown(self, fn) -> None:
        """Run ``fn`` (guarded) once the page's view is in the browser: Panel's ``onload``, or,
        for a view that joins a page already open (a lecture slide built on demand), when its
        host calls ``shown()``."""
        if self._waiting_to_be_shown is not None:
            self._waiting_to_be_shown.append(fn)
        else:
            pn.state.onload(lambda: self.guarded(fn))

    def defer_shown(self) -> None:
        """Keep ``when_shown`` callbacks until ``shown()`` (before ``build()``)."""
        self._waiting_to_be_shown = []

    def shown(self) -> None:
        """The page's view is in the browser: run what waited for it."""
        waiting, self._waiting_to_be_shown = self._waiting_to_be_shown or [], None
        for fn in waiting:
            self.guarded(fn)

    # subclasses
    def settle(self, overrides: dict) -> None:
        """Correct what the link and ``overrides`` set that the page cannot show (a notice for
        each correction). Nothing watches the state yet: ``build()`` draws the settled state."""

    def build(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def redraw(self, changed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _changed(self, *events):
        changed = tuple(e.name for e in events)
        self.guarded(self.redraw, changed)
        if self.sync_url:
            self.schedule_url()

    def guarded(self, fn, *args):
        """Run a callback; a failure becomes a notice and the session keeps working. All the
        model changes it makes reach the browser as one message. (With ``LAE_TEST_FAULT`` set
        in the server's environment the callback fails on purpose; see ``inject_fault``.)"""
        try:
            with pn.io.hold():
                inject_fault(self.state)  # test-only: inert unless LAE_TEST_FAULT is set
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
        to the browser and, but for the first, a new entry in its history."""
        doc = pn.state.curdoc
        if not (doc and doc.session_context):
            self.write_url()
            return
        if not getattr(self, "_url_pending", False):
            self._url_pending = True

            def flush():
                self._url_pending = False
                self.write_url()

            doc.add_timeout_callback(flush, self.URL_DELAY_MS)

    def url_query(self) -> str:
        """The query string of the page's state (and ``embed=true`` when embedded)."""
        extra = {"embed": "true"} if getattr(self, "embedded", False) else {}
        return query_string({**query.encode(self.state, self.state.URL_PARAMS), **extra})

    #: a write this soon after the one before (s) rewrites that one's history entry: a drag
    #: (written every URL_DELAY_MS while it lasts) is one entry, not one per pause
    HISTORY_PAUSE_S = 1.0

    def write_url(self):
        """Put the state in the address: a new history entry, so that Back returns to the state
        before; in place for the first write, the one after Back or Forward, one that follows
        another within HISTORY_PAUSE_S, and always when embedded (see ``app.address``)."""
        if self.address is None:
            return
        now = time.monotonic()
        replace = (self._replace_next or getattr(self, "embedded", False)
                   or now - self._last_write < self.HISTORY_PAUSE_S)
        self._replace_next, self._last_write = False, now
        self.address.param.update(query=self.url_query(), replace=replace)

    def make_address(self) -> AddressBar:
        """The hidden component that keeps the address at the state (after ``build()``: the
        state the page opens with, written in place of the address it was opened with)."""
        self.address = AddressBar(on_back=self.back_to, query=self.url_query(), replace=True)
        return self.address

    def back_to(self, args: dict) -> None:
        """Back or Forward: show the state the address holds, read as a link's query is (a
        parameter it leaves out takes its default); the address is then rewritten in place."""
        names = self.state.URL_PARAMS
        values, notices = query.parse(self.state, names, args)
        for name in names:
            if name not in values:
                default = self.state.param[name].default
                values[name] = list(default) if isinstance(default, list) else default
        for text in notices:
            self.notices.show(text)
        changed = {k: v for k, v in values.items() if getattr(self.state, k) != v}
        self._replace_next = True
        if changed:
            self.state.param.update(**changed)  # redraws, then writes the address (in place)
        else:
            self.write_url()

    def compact(self):  # pragma: no cover - abstract
        """The page's essentials in EMBED_SIZE (after ``build()``): a row of its main controls
        over its key plots. Embed mode and the lecture slides show this."""
        raise NotImplementedError

    def view(self):
        describe_sliders_as_shown()
        if _flag("embed"):
            return self.embed_view()
        sidebar, main = self.build()
        address = [self.make_address()] if self.sync_url else []
        return Frame(self.slug, pn.Column(sidebar, width=SIDEBAR_WIDTH, margin=0),
                     pn.Column(self.notices.pane, main, *address, sizing_mode="stretch_width"))


    def embed_view(self):
        """``?embed=true``: no header, navigation or sidebar — the compact view, sized for a
        16:9 iframe (EMBED_SIZE), with a way out to the full page and a copy-link control."""
        self.embedded = True
        self.build()
        full = pn.widgets.Button(label=f"LAE Landscapes · {self.title} ↗", color="light",
                                 css_classes=["full-page"], height=26, margin=(0, 4),
                                 description="Open the full page, in this state, in a new tab")
        full.js_on_click(code=f"window.open({URL_WITHOUT_EMBED_JS}, '_blank', 'noopener');")
        if pn.state.curdoc and pn.state.curdoc.session_context:
            pn.config.raw_css = [*pn.config.raw_css, EMBED_PAGE_CSS]  # this session's document only
        address = [self.make_address()] if self.sync_url else []
        bar = pn.Row(full, copy_link_button(compact=True), *address, css_classes=["embed-bar"], margin=0)
        return pn.Column(bar, self.notices.pane, self.compact(), css_classes=["embed"],
                         width=EMBED_SIZE[0], margin=0)


#: an embedded page fits an iframe this size (16:9) without scrollbars
EMBED_SIZE = (960, 540)
EMBED_PAGE_CSS = "html, body { margin: 0; padding: 0; }"
#: the page's address without ``embed=…``: the full page in the same state
URL_WITHOUT_EMBED_JS = ("(() => { const u = new URL(window.location.href); u.searchParams.delete('embed'); "
                        "return u.toString(); })()")

COPY_JS = """
const button = source;  // the Button's own model (see copy_link_button: not an arg)
const url = window.location.href;
const done = (ok) => {
  const label = button.label;
  button.label = ok ? "✓ Link copied" : "Copy failed: use the address bar";
  setTimeout(() => { button.label = label; }, 1500);
};
const fallback = () => {
  const area = document.createElement("textarea");
  area.value = url; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
  document.body.appendChild(area); area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove(); done(ok);
};
window.__laeCopiedLink = url;
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(url).then(() => done(true), fallback);
} else {
  fallback();
}
"""


def copy_link_button(compact: bool = False):
    """"Copy link": puts the page's address — its whole state (and ``embed=true`` when embedded)
    — on the clipboard, in the
    browser (no round trip); on plain http, where the Clipboard API is missing, through a
    hidden text area."""
    button = pn.widgets.Button(label="Copy link", color="light", css_classes=["copy-link"],
                               width=110 if not compact else 96, height=30 if not compact else 26,
                               margin=(8, 10) if not compact else (0, 4),
                               description="Copy a link to this page in its current state")
    # No args: Panel keeps every JS callback in a registry keyed weakly by its button, so an arg
    # holding the button itself would keep it (and its session's objects) alive for ever.
    button.js_on_click(code=COPY_JS)
    return button


def _flag(name: str) -> bool:
    args = pn.state.session_args if pn.state.curdoc and pn.state.curdoc.session_context else {}
    values = args.get(name) or []
    return bool(values) and values[-1].decode("utf-8", "replace").lower() in query.TRUE
