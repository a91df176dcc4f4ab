"""A browser that connects after its session was discarded (issue 7's load test found it).

Bokeh discards a session no browser has connected to within ``unused_session_lifetime``
(``app.health.UNUSED_LIFETIME_MS``, 120 s; ``LAE_UNUSED_SESSION_MS`` sets another). When a
20-tab class opened the app at once on a slow 2-core server, some tabs took longer than the 40 s
it then was from their page's HTML to their websocket, and Bokeh made each a new session when it
did connect. Panel points a session's stylesheets at its own files only while it writes the
page's HTML, which that new session never had: every such tab asked cdn.holoviz.org for
bootstrap.css, katex.css, … — a request leaving the machine, and an unstyled page with no
internet.

Here the server discards sessions after 1 s, and the browser gets Bokeh's script only once the
server has discarded the session made for its page.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import AppPage, wait_until
from benchmarks import load
from tests.support import AppServer


def health(server: AppServer) -> dict:
    return load.health(server.url, timeout=10)


@pytest.fixture(scope="module")
def forgetful_server():
    with AppServer(env={"LAE_UNUSED_SESSION_MS": "1000"}) as server:
        yield server


@pytest.mark.parametrize("route", ["/landscape", "/trajectories", "/landscape?embed=true", "/lecture"])
def test_a_browser_late_for_its_session_gets_a_whole_page_from_this_machine(context, forgetful_server, route):
    server = forgetful_server
    before = health(server)
    page = context.new_page()
    app = AppPage(page, server)
    held = []

    def late_scripts(r):
        # Bokeh's script arrives only once the server has discarded the page's session: the
        # browser then connects late, as a tab of a busy class does
        held.append(r.request.url)
        wait_until(lambda: (h := health(server))["created"] > before["created"] and h["sessions"] == 0, timeout=30)
        r.continue_()

    page.route("**/static/js/bokeh.min.js*", late_scripts)
    app.open(route)
    assert held, "Bokeh's script was not held back"
    after = health(server)
    assert after["created"] == before["created"] + 2, after  # the discarded one, and the late browser's
    assert after["sessions"] == 1 and after["connections"] == 1, after

    # the new session is a working page, styled from this machine only
    app.wait_until(lambda: page.evaluate("() => document.querySelector('.bk-Slider') !== null"
                                         " || [...Bokeh.index.all_views()].some(v => v.model.type === 'Slider')"))
    page.wait_for_timeout(500)  # stylesheets are asked for as the views render
    sheets = page.evaluate("""() => [...Bokeh.documents[0].all_models]
        .filter(m => m.type === 'ImportedStyleSheet').map(m => m.url)""")
    assert sheets and not [u for u in sheets if u.startswith(("http:", "https:", "//"))], sheets
    app.assert_clean()
    page.close()
