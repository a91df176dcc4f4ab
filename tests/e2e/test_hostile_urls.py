"""Bad URLs: every route of the app (``app.server.ROUTES``, so a new page is covered by itself),
opened with a hostile value in every one of its URL parameters, still loads a working page.

For each (route, hostile value) one page load, with the value in *all* the page's parameters
at once (``URL_PARAMS`` of the page's state, plus ``embed``); the repeated-key and 10 000-character
cases are extra rows. Each load must

- render: the Bokeh document goes idle with every root drawn, plots included (canvases);
- say what it refused: a plain-text notice naming each number, choice or flag parameter (a
  page that keeps no state in the URL — the lecture deck — only has to ignore the query);
- run nothing injected: no dialog, no console or page error, and no ``<img src=x>``, element
  with an ``onerror`` attribute or script containing ``alert(1)`` anywhere in the DOM, shadow
  roots included;
- leave no traceback in the server log;
- keep working (after each kind of value, ``KEEPS_WORKING``): a slider changed afterwards
  reaches the server, which answers (the URL query follows the new value, on pages that keep
  their state there).

A route whose factory an earlier route has (``/`` and ``/landscape``) and a route that keeps no
state in its URL get a few cases instead of all. One browser page serves the whole module (a
fresh server session per load).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from urllib.parse import urlencode

import param
import pytest

from app import server
from tests.e2e.conftest import VIEWPORT, AppPage

LONG = 10_000
HOSTILE = {
    "nan": "nan", "inf": "inf", "-inf": "-inf", "huge": "1e308", "-huge": "-1e308", "empty": "", "word": "banana",
    "script": "<script>alert(1)</script>", "img": '"><img src=x onerror=alert(1)>',
}
#: cases beyond "this value everywhere": name → the query for a page's parameter names, whose
#: first entry is a number parameter (the long value goes there; 10 000 characters in every
#: parameter would exceed what an HTTP server accepts in a request line)
EXTRA = {
    "repeated": lambda names: [(n, v) for n in names for v in ("1", "2", "nan")],
    "long-digits": lambda names: [(names[0], "9" * LONG)] + [(n, "1e308") for n in names[1:]],
    "long-script": lambda names: [(names[0], ("<script>alert(1)</script>" * (LONG // 25))[:LONG])]
                                 + [(n, '"><img src=x onerror=alert(1)>') for n in names[1:]],
}

#: the cases after which a slider is moved too (the others are variants of these: inf of nan,
#: -1e308 of 1e308, "" of a word, the <img> of the <script>), to keep the module near 3 minutes
KEEPS_WORKING = {"nan", "huge", "word", "script", *EXTRA}

#: every element that injected markup would leave behind, searched through all shadow roots
INJECTED_JS = """() => {
    const found = [];
    const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') found.push('<img src=x>');
            if (el.hasAttribute('onerror')) found.push(`<${el.tagName.toLowerCase()} onerror=…>`);
            if (el.tagName === 'SCRIPT' && el.textContent.includes('alert(1)')) found.push('<script>alert(1)');
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(document);
    return found;
}"""

#: canvases drawn with a nonzero size, through all shadow roots (Bokeh renders into them)
CANVASES_JS = """() => {
    let n = 0;
    const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.tagName === 'CANVAS' && el.width > 0 && el.height > 0) n += 1;
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(document);
    return n;
}"""


# --------------------------------------------------------------------------- what each route reads

def page_class(factory):
    """The ``shell.Page`` subclass of a route's factory (its module's ``PAGE``, the registry's
    name for it), or None (the deck)."""
    return getattr(sys.modules[factory.__module__], "PAGE", None)


def all_url_params() -> list[str]:
    names = []
    for factory in server.ROUTES.values():
        cls = page_class(factory)
        for n in cls.state_class.URL_PARAMS if cls else []:
            if n not in names:
                names.append(n)
    return names


def route_params(path: str) -> tuple[list[str], type | None]:
    """The URL parameters of ``path``'s page and its state class; for a route without URL
    state, every page's parameters (a visitor may paste any of them) and None."""
    cls = page_class(server.ROUTES[path])
    if cls is None:
        return all_url_params(), None
    return list(cls.state_class.URL_PARAMS), cls.state_class


def refused_everywhere(state_class, name: str) -> bool:
    """Parameters that refuse every value in HOSTILE with a notice of their own: numbers
    (not finite, out of range or not a number), choices and flags. (A list of choices
    takes "" as the empty list; free text is each page's own business.)"""
    p = state_class.param[name]
    return isinstance(p, (param.Number, param.Boolean)) or (
        isinstance(p, param.Selector) and not isinstance(p, param.ListSelector))


def control_slider(state_class):
    """(name, title) of a URL parameter drawn as a slider whose title is its own: the first
    number parameter whose label no other parameter shares."""
    labels = [state_class.param[n].label for n in state_class.URL_PARAMS]
    for name in state_class.URL_PARAMS:
        p = state_class.param[name]
        if isinstance(p, param.Number) and p.bounds and labels.count(p.label) == 1:
            return name, p.label
    raise AssertionError(f"{state_class.__name__} has no slider to change")


def cases_for(path: str) -> list[str]:
    """Every case for a page; fewer where more loads would test nothing new: a route whose
    factory an earlier route already has (``/`` is ``/landscape``), and a route that keeps no
    state in its URL (it parses nothing, so one load of each kind of value shows it ignores them)."""
    factory = server.ROUTES[path]
    if list(server.ROUTES.values()).index(factory) != list(server.ROUTES).index(path):
        return ["script", "repeated"]
    if page_class(factory) is None:
        return ["repeated", "long-script"]
    return [*HOSTILE, *EXTRA]


CASES = [(path, case) for path in server.ROUTES for case in cases_for(path)]


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def visitor(browser, app_server):
    """One browser page for the module, counting the websocket messages it receives."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    app = AppPage(page, app_server)
    app.frames = 0

    def count(_):
        app.frames += 1

    page.on("websocket", lambda ws: ws.on("framereceived", count))
    yield app
    context.close()


def leave(app: AppPage, app_server) -> None:
    """Close the visitor's session and wait until the server has let go of its websocket
    (``/health`` counts the open ones), so that whatever closing it logs is this test's."""
    app.page.goto("about:blank")

    def closed():
        with urllib.request.urlopen(f"http://127.0.0.1:{app_server.port}/health", timeout=10) as r:
            return json.load(r)["connections"] == 0

    app.wait_until(closed, timeout=30)


@pytest.fixture
def fresh(visitor, app_server):
    """The module's page with its record emptied, and the server log's length before the test."""
    for name in ("console_errors", "page_errors", "failed_requests", "dialogs", "urls"):
        getattr(visitor.record, name).clear()
    return visitor, len(app_server.log())


# --------------------------------------------------------------------------- the checks

def query_for(path: str, case: str) -> list[tuple[str, str]]:
    names, state_class = route_params(path)
    if state_class is not None:  # a number parameter first
        names.sort(key=lambda n: not isinstance(state_class.param[n], param.Number))
    names = [*names, "embed"]
    if case in HOSTILE:
        return [(n, HOSTILE[case]) for n in names]
    return EXTRA[case](names)


def set_slider(app: AppPage, title: str, value: float) -> None:
    app.page.evaluate("""([title, value]) => {
        const m = [...Bokeh.documents[0].all_models].find(m => m.type === 'Slider' && m.title === title);
        m.value = value;
    }""", [title, value])


def other_value(p: param.Number, current: float) -> float:
    """A value inside the slider's range, on its step, and not the current one."""
    lo, hi = p.bounds
    step = p.step or (hi - lo) / 100
    for fraction in (0.37, 0.61):
        value = lo + round(fraction * (hi - lo) / step) * step
        value = int(value) if isinstance(p, param.Integer) else round(value, 10)
        if abs(value - current) > step / 2:
            return value
    raise AssertionError("no other value")


def move_a_slider_and_see_the_server_answer(app: AppPage, path: str, state_class) -> None:
    """On a page with URL state, the address follows a slider to its new value; elsewhere (the
    deck) the server sends the browser something back after a slider moves."""
    if state_class is not None:
        name, title = control_slider(state_class)
        p = state_class.param[name]
        value = other_value(p, app.slider_model(title)["value"])
        app.wait_until(lambda: name in app.query())  # the cleaned state is in the address
        set_slider(app, title, value)
        expected = str(value) if isinstance(p, param.Integer) else f"{value:.6g}"
        app.wait_until(lambda: app.query().get(name) == expected, timeout=30)
        return
    sliders = app.page.evaluate("() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'Slider')"
                                ".map(m => [m.title, m.start, m.end, m.value])")
    assert sliders, f"{path} has no slider"
    title, start, end, current = sliders[0]
    value = next(v for v in (start + 0.37 * (end - start), start + 0.61 * (end - start)) if abs(v - current) > 1e-9)
    before = app.frames
    set_slider(app, title, value)
    app.wait_until(lambda: app.frames > before, timeout=30)
    # the deck repaints a slide in many messages: let them all arrive before the test leaves
    # (closing a tab mid-stream makes Bokeh log warnings, and under heavy load a traceback)
    seen = {"frames": app.frames, "at": time.monotonic()}

    def quiet_for_a_second():
        if app.frames != seen["frames"]:
            seen.update(frames=app.frames, at=time.monotonic())
        return time.monotonic() - seen["at"] >= 1.0

    app.wait_until(quiet_for_a_second, timeout=60)


@pytest.mark.parametrize("path, case", CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_a_hostile_query_loads_a_working_page_with_notices_and_nothing_injected(fresh, app_server, path, case):
    app, log_start = fresh
    pairs = query_for(path, case)
    names, state_class = route_params(path)
    app.open(path + "?" + urlencode(pairs), timeout=60)

    # it rendered: plots drawn (the deck's arrive after it opens)
    def drawn():
        assert app.page.evaluate(CANVASES_JS) > 0, "no plot was drawn"
    app.wait_until(drawn, timeout=30)

    # it said what it refused, in plain text
    if state_class is not None:
        def refusals_shown():
            notices = app.notices()
            for name in names:
                if refused_everywhere(state_class, name) or case == "repeated":
                    assert any(f"'{name}'" in n for n in notices), f"no notice about {name!r}: {notices}"
            return notices

        notices = app.wait_until(refusals_shown, timeout=30)
        assert all(len(n) < 400 for n in notices), "a notice echoes the whole value"
        if case in ("script", "img"):  # the value shows as text, so it was never parsed as HTML
            assert any(("<script>" if case == "script" else "<img") in n for n in notices), notices

    # nothing injected ran or landed in the DOM
    assert app.page.evaluate(INJECTED_JS) == []
    app.assert_clean()

    # it keeps working: a slider change reaches the server, which answers
    if case in KEEPS_WORKING:
        move_a_slider_and_see_the_server_answer(app, path, state_class)
        app.assert_clean()

    # and the server logged no traceback, up to and including this session's end
    leave(app, app_server)
    written = app_server.log()[log_start:]
    assert "Traceback" not in written, written[-3000:]


def test_every_route_is_in_the_matrix():
    """Routes added later (``/lecture``, …) are covered without editing this file, and every
    page that reads its URL gets every case."""
    assert {p for p, _ in CASES} == set(server.ROUTES)
    factories = {f for f in server.ROUTES.values() if page_class(f) is not None}
    for factory in factories:
        first = next(p for p, f in server.ROUTES.items() if f is factory)
        assert {c for p, c in CASES if p == first} == {*HOSTILE, *EXTRA}
    for path in server.ROUTES:
        names, state_class = route_params(path)
        assert names, path
        if state_class is not None:
            assert any(refused_everywhere(state_class, n) for n in names), path


def test_the_dom_search_finds_injected_elements_inside_shadow_roots(fresh):
    """The check above can fail: markup of the hostile kind, put two shadow roots deep by
    hand, is found. (Last in the module: its <img src=x> asks the server for /x.)"""
    app, _ = fresh
    app.open("/landscape?lam=0.25")
    assert app.page.evaluate(INJECTED_JS) == []
    app.page.evaluate("""() => {
        const host = document.body.appendChild(document.createElement('div'));
        const inner = host.attachShadow({mode: 'open'}).appendChild(document.createElement('div'));
        inner.attachShadow({mode: 'open'}).innerHTML =
            '<img src="x" onerror="void 0"><script type="text/plain">alert(1)</script>';
    }""")
    assert sorted(app.page.evaluate(INJECTED_JS)) == ["<img onerror=…>", "<img src=x>", "<script>alert(1)"]


# --------------------------------------------------------------------------- what these found

def test_a_query_value_of_thousands_of_digits_is_kept_as_text_not_a_500():
    """Panel's Location turns all-digit values into ints; past Python's 4300-digit limit that
    raises, and the page failed with a 500 (``app.compat``'s ``long_digit_query``; the
    "long-digits" case above loads a working page with a notice)."""
    import panel.io.location as location

    parsed = location.parse_query("?lam=" + "9" * LONG + "&x=2")
    assert parsed["lam"] == "9" * LONG and parsed["x"] in (2, "2")
    assert location.parse_query("?x=2&y=0.5") == {"x": 2, "y": 0.5}  # short numbers as before


def test_canary_panels_parser_fails_on_thousands_of_digits():
    from app import compat

    with pytest.raises(ValueError):
        compat._PARSE_QUERY("?lam=" + "9" * LONG)


def test_a_write_to_a_closed_tab_leaves_no_traceback_but_a_real_fault_does(caplog):
    """Panel leaves a failed write to a closed tab unawaited and asyncio logged it with a
    traceback (holoviz/panel#3341); app.server's loop handler drops exactly that."""
    import asyncio
    import gc
    import threading

    from tornado.websocket import WebSocketClosedError

    async def leave_two_failed_tasks():
        server._install_closed_tab_filter()

        async def closed_tab():
            raise WebSocketClosedError()

        async def real_fault():
            raise KeyError("a real fault")

        tasks = [asyncio.ensure_future(closed_tab()), asyncio.ensure_future(real_fault())]
        await asyncio.sleep(0.01)
        tasks.clear()
        gc.collect()
        await asyncio.sleep(0.01)

    # in a thread of its own: Playwright's loop runs in this one
    worker = threading.Thread(target=asyncio.run, args=(leave_two_failed_tasks(),))
    worker.start()
    worker.join(30)
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "KeyError" in logged and "WebSocketClosedError" not in logged
