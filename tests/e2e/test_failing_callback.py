"""A failing callback: the visitor sees a plain error notice (no traceback, no file path), the
page keeps its previous view, and the same session recovers on the next change.

The failure is real: a server started with ``LAE_TEST_FAULT="lam=3.21"`` (``app.shell``'s
test-only switch) makes every guarded callback raise while λ = 3.21.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import VIEWPORT, AppPage
from tests.support import AppServer

TRIGGER = 3.21
FAULT = f"lam={TRIGGER}"
#: what must never reach a visitor: traceback lines, file paths, exception class names
LEAKS = re.compile(r"Traceback|File \"|\.py\b|/work/|site-packages|RuntimeError|injected test fault|line \d+")


@pytest.fixture(scope="module")
def fault_server():
    with AppServer(env={"LAE_TEST_FAULT": FAULT}) as server:
        yield server


@pytest.fixture
def app(browser, fault_server):
    context = browser.new_context(viewport=VIEWPORT)
    yield AppPage(context.new_page(), fault_server)
    context.close()


def set_slider(app: AppPage, title: str, value: float) -> None:
    """Move the Bokeh slider titled ``title`` to ``value``, as a drag would."""
    app.page.evaluate("""([title, value]) => {
        const m = [...Bokeh.documents[0].all_models].find(m => m.type === 'Slider' && m.title === title);
        m.value = value;
    }""", [title, value])


def error_notices(app: AppPage) -> list[str]:
    """The error notices shown now (read in one go: they may vanish between two reads)."""
    return [t for t in app.page.locator(".notices .notice-error").all_inner_texts() if t.strip()]


def test_a_failing_callback_shows_a_plain_notice_and_the_session_recovers(app, fault_server):
    app.open("/landscape")
    before = app.summary("sum")
    assert "3 critical points" in before  # λ = 0.5 < x² = 1: the origin and two minima
    assert error_notices(app) == []

    set_slider(app, "λ", TRIGGER)
    app.wait_until(lambda: error_notices(app), timeout=30)
    notices = error_notices(app)
    assert len(notices) == 1, notices
    text = notices[0]
    assert text.startswith("Could not update the page") and "previous view is kept" in text
    assert not LEAKS.search(text), f"the notice leaks internals: {text!r}"
    assert app.summary("sum") == before  # the previous view is kept
    # the server did fail, and logged it for the operator (with the traceback the visitor did not get)
    app.wait_until(lambda: "injected test fault" in fault_server.log(), timeout=15)
    assert "Traceback" in fault_server.log()

    set_slider(app, "λ", 1.5)  # λ > x²: only the origin is left
    app.wait_until(lambda: error_notices(app) == [], timeout=30)
    app.wait_until(lambda: app.summary("sum") != before, timeout=30)
    assert "1 critical point " in app.summary("sum") + " "
    app.wait_until(lambda: app.query().get("lam") == "1.5", timeout=30)
    app.assert_clean()


def test_the_fault_hits_only_the_trigger_value(app):
    """The switch is precise: a neighbouring λ draws normally (so the test above measures the
    notice, not a server that fails at everything)."""
    app.open("/landscape")
    set_slider(app, "λ", 3.2)
    app.wait_until(lambda: app.query().get("lam") == "3.2", timeout=30)
    assert error_notices(app) == []
    assert "1 critical point" in app.summary("sum")
    app.assert_clean()
