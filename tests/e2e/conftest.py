"""What every browser test shares: one real app server per session, the system Chromium, and
``app`` — a page on that server that records what went wrong in the browser and knows how to
wait for the page, read its state and drag its sliders.

Nothing here waits by sleeping for a condition: ``wait_until`` polls an assertion (as Panel's
own ``panel/tests/util.py`` does) and lets Playwright dispatch browser events between polls.
There is no skip: a browser test that cannot find Chromium fails with Playwright's error.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import EVERY_SLIDE_BUILT_JS, AppServer, chromium_launch_kwargs

VIEWPORT = {"width": 1400, "height": 1100}
#: how the Landscape page's sum-loss summary begins below λ = x² and above it (x = 1 by default)
THREE_POINTS, ONE_POINT = "sum: 3 critical points", "sum: 1 critical point"
E2E_DIR = Path(__file__).resolve().parent
#: where the screenshot tests write: a build folder, so that `make test` leaves the tracked files
#: alone; `make screenshots` points it at docs/screenshots (the README's pictures) on purpose
SCREENSHOTS = Path(os.environ.get("LAE_SCREENSHOTS") or E2E_DIR.parents[1] / "build" / "screenshots")


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


#: JavaScript: the document is idle and every component written as a module (``JSComponent``:
#: ``app.panes.HTML``, the address bar, the 3-D figures) has rendered
RENDERED_JS = """() => !!(window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].is_idle
    && [...Bokeh.index.all_views()].every((v) => !("compiled_module" in v) || v._rendered))"""


#: JavaScript, on a text pane's host: the height its text holds (min-height, px), the text's own
#: height (the pane's computed height without it), and the zoom the pane is drawn at
HELD_HEIGHT_JS = """(host) => {
    const el = host.shadowRoot.lastElementChild;
    const held = el.style.minHeight;
    el.style.minHeight = '';
    const own = parseFloat(getComputedStyle(el).height);
    el.style.minHeight = held;
    return {held: parseFloat(held), own, zoom: el.currentCSSZoom};
}"""


# --------------------------------------------------------------------------- server, browser

@pytest.fixture(scope="session")
def app_server():
    """``python -m app.cli serve`` on 127.0.0.1 and a free port, for the whole session."""
    with AppServer() as server:
        yield server


@pytest.fixture(scope="session")
def base_url(app_server):
    """The app server, as pytest-playwright's base URL (also replaces its fallback fixture,
    which pytest 9 warns about)."""
    return app_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments on top of ours: the system Chromium and the flags
    this sandbox needs; ``--headed`` and friends still win."""
    ours = chromium_launch_kwargs()
    merged = {**ours, **browser_type_launch_args}
    merged["args"] = ours["args"] + list(browser_type_launch_args.get("args", []))
    return merged


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


# --------------------------------------------------------------------------- waiting

def wait_until(condition, page=None, timeout: float = 15.0, interval: float = 0.05):
    """Poll ``condition`` until it returns a truthy value or ``None`` without raising
    ``AssertionError``; on timeout re-raise its last assertion (or say it stayed false).

    With ``page`` the pause between polls is ``page.wait_for_timeout``, so Playwright keeps
    dispatching console, request and dialog events while we wait.
    """
    deadline = time.monotonic() + timeout
    last: AssertionError | None = None
    while True:
        try:
            result = condition()
            if result is None or result:
                return result
            last = None
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            if last is not None:
                raise AssertionError(f"still failing after {timeout} s: {last}") from last
            raise AssertionError(f"condition {getattr(condition, '__name__', condition)!r} "
                                 f"still false after {timeout} s")
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)


# --------------------------------------------------------------------------- the page under test

class BrowserRecord:
    """Everything the browser reported: console errors, page errors, failed requests,
    dialogs, and every URL it asked for (documents, scripts, images, websockets)."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[tuple[int, str, str]] = []   # (document, url, failure)
        self.dialogs: list[str] = []
        self.urls: list[str] = []
        # Which main-frame document asked for each request: a request its document abandoned
        # by navigating away (a click on a link while a script still loads) is aborted by the
        # browser on purpose, which is no failure of the app.
        self.document = 0
        self._asked_by: dict = {}
        self._page = page
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failed_requests.append(
            (self._asked_by.get(r, self.document), r.url, r.failure or "")))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        page.on("dialog", self._dialog)

    def _console(self, msg):
        if msg.type == "error":
            where = msg.location or {}
            self.console_errors.append(f"{msg.text}  [{where.get('url', '?')}:{where.get('lineNumber', '?')}]")

    def _request(self, request):
        self.urls.append(request.url)
        if request.is_navigation_request() and request.frame == self._page.main_frame:
            self.document += 1       # a new document is on its way (same-page URL changes ask nothing)
        self._asked_by[request] = self.document

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def foreign_urls(self, port: int) -> list[str]:
        """Requested URLs on any host but the app's own (data: and blob: URLs are local)."""
        own = {f"localhost:{port}", f"127.0.0.1:{port}"}
        return [u for u in self.urls
                if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc not in own]

    def problems(self) -> list[str]:
        return ([f"console error: {e}" for e in self.console_errors]
                + [f"page error: {e}" for e in self.page_errors]
                + [f"request failed: {url}: {failure}" for doc, url, failure in self.failed_requests
                   if not (failure == "net::ERR_ABORTED" and doc < self.document)]
                + [f"dialog opened: {d}" for d in self.dialogs])


class AppPage:
    """A Playwright page on the app server, with the few things every browser test does."""

    def __init__(self, page, server: AppServer):
        self.page, self.server = page, server
        self.record = BrowserRecord(page)

    # ---- loading and waiting
    def open(self, path: str = "/", timeout: float = 30.0) -> "AppPage":
        """Go to ``path`` and wait until the page's Bokeh document has rendered every root."""
        self.page.goto(self.server.url + path)
        self.wait_for_document(timeout)
        return self

    def wait_for_document(self, timeout: float = 30.0) -> None:
        """Wait until the session's Bokeh document has arrived and rendered every root, the app's
        own components included (their modules render after the document is idle)."""
        self.wait_until(lambda: self.page.evaluate(RENDERED_JS), timeout=timeout)

    def wait_until(self, condition, timeout: float = 15.0):
        return wait_until(condition, self.page, timeout)

    def wait_for_every_slide(self, timeout: float = 30.0) -> None:
        """The deck: wait until every slide's page has arrived (the deck opens before them)."""
        self.wait_until(lambda: self.page.evaluate(EVERY_SLIDE_BUILT_JS), timeout=timeout)

    def assert_clean(self) -> None:
        """No console error, page error, failed request or dialog so far, and nothing fetched
        from any host but the app's own (the app works with no internet)."""
        problems = self.record.problems()
        problems += [f"request to another host: {u}" for u in self.record.foreign_urls(self.server.port)]
        assert not problems, "the browser reported:\n" + "\n".join(problems)

    def screenshot(self, name: str) -> Path:
        """The whole page as ``SCREENSHOTS/name`` (the README's pictures, by ``make screenshots``)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path

    # ---- reading the page
    def query(self) -> dict[str, str]:
        """The page's current URL query (last value of each name)."""
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.page.url).query).items()}

    def shown_text(self, selector: str) -> str:
        """The text of ``selector`` as shown. Panel keeps an HTML pane hidden (``visibility:
        hidden``, so its text reads as '') until the pane's stylesheets have loaded, which can
        come after the document is idle: wait for it to show."""
        text = self.page.locator(selector)
        text.wait_for(state="visible", timeout=15_000)
        return text.inner_text()

    def summary(self, kind: str = "sum") -> str:
        """The summary under a surface, as shown."""
        return self.shown_text(f".summary-{kind} .summary-text")

    def held_height(self, selector: str) -> dict:
        """``HELD_HEIGHT_JS`` on the first pane ``selector`` matches; fails (for ``wait_until``)
        until the pane has held a height, which it does at the browser's first size report."""
        h = self.page.locator(selector).first.evaluate(HELD_HEIGHT_JS)
        assert h["held"] == h["held"], f"{selector}: no height held yet ({h})"  # NaN: none yet
        return h

    def notices(self) -> list[str]:
        """The notices shown, read in one step: a notice cleared between counting them and reading
        one would leave Playwright waiting 30 s for it."""
        return self.page.locator(".notices .notice").evaluate_all(
            "els => els.filter((e) => e.checkVisibility({visibilityProperty: true})).map((e) => e.innerText)")

    def model(self, type_: str, match: dict, attrs: list[str]) -> dict:
        """``attrs`` of the Bokeh model of type ``type_`` whose properties equal ``match``."""
        found = self.page.evaluate(
            """([type, match, attrs]) => {
                const m = [...Bokeh.documents[0].all_models].find(
                    m => m.type === type && Object.entries(match).every(([k, v]) => m[k] === v));
                return m ? Object.fromEntries(attrs.map(a => [a, m[a]])) : null;
            }""", [type_, match, attrs])
        assert found is not None, f"no {type_} model with {match}"
        return found

    def slider_model(self, title: str) -> dict:
        """``{value, start, end}`` of the Bokeh ``Slider`` model titled ``title``."""
        return self.model("Slider", {"title": title}, ["value", "start", "end"])

    def slider(self, title: str):
        """The rendered slider whose label reads "``title``: …"."""
        label = self.page.locator(".bk-slider-title", has_text=re.compile(rf"^{re.escape(title)}:"))
        return self.page.locator(".bk-Slider").filter(has=label)

    def select(self, label: str):
        """The ``<select>`` of the widget labelled ``label``."""
        group = self.page.locator(".bk-input-group").filter(
            has=self.page.locator("label", has_text=re.compile(rf"^{re.escape(label)}")))
        return group.locator("select")

    def grab_slider(self, title: str) -> "SliderDrag":
        return SliderDrag(self, title)


class SliderDrag:
    """The mouse holding a slider's handle: ``move_to(value)`` drags, ``release()`` lets go."""

    def __init__(self, app: AppPage, title: str):
        self.app, self.mouse = app, app.page.mouse
        slider = app.slider(title)
        handle = slider.locator(".noUi-handle").bounding_box()
        self.track = slider.locator(".noUi-target").bounding_box()
        assert handle and self.track, f"slider {title!r} is not rendered"
        model = app.slider_model(title)
        self.start, self.end = model["start"], model["end"]
        self.x, self.y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        # noUiSlider moves the value by (mouse dx) / (track width) × range, wherever on the
        # handle it was grabbed: keep the grab point's offset from the value's pixel.
        self.offset = self.x - self.pixel(model["value"])
        self.mouse.move(self.x, self.y)
        self.mouse.down()
        self.held = True

    def pixel(self, value: float) -> float:
        return self.track["x"] + (value - self.start) / (self.end - self.start) * self.track["width"]

    def move_to(self, value: float, steps: int = 15) -> None:
        target = self.pixel(value) + self.offset
        for i in range(1, steps + 1):
            self.mouse.move(self.x + (target - self.x) * i / steps, self.y)
        self.x = target

    def release(self) -> None:
        self.mouse.up()
        self.held = False


def drag_lambda_past_x_squared(app: AppPage, lam: float) -> None:
    """Drag λ past x² = 1: the sum loss's minima merge into the origin, and the URL follows."""
    drag = app.grab_slider("λ")
    drag.move_to(lam)
    drag.release()
    app.wait_until(lambda: app.summary("sum").startswith(ONE_POINT))
    shown = app.slider_model("λ")["value"]
    assert abs(shown - lam) < 0.2, (shown, lam)
    app.wait_until(lambda: float(app.query().get("lam", "nan")) == pytest.approx(shown, abs=1e-9))


@pytest.fixture
def app(page, app_server):
    """A fresh browser page on the session's app server (not yet opened: call ``app.open``).
    A test fails if a page callback failed on the server while it ran: a visitor would have
    seen "Could not update the page" (the fault-injecting server is another one)."""
    start = len(app_server.log())
    yield AppPage(page, app_server)
    failures = app_server.log()[start:].split("callback failed on page")[1:]
    assert not failures, "a page callback failed on the server:\n" + "\n".join(f[:1500] for f in failures)


@pytest.fixture
def new_visitor(context, app_server):
    """Makes another ``AppPage`` (a second tab, so a second server session) on demand."""
    return lambda: AppPage(context.new_page(), app_server)
