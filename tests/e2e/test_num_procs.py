"""``lae-landscapes serve --num-procs 2``: Bokeh's worker processes sharing one port.

Each new connection goes to whichever worker takes it, so a page's websocket often reaches a
worker other than the one that built the page; that worker builds the page again (for the same
URL) and the first copy waits, unused, until it expires. The option works — a page opens with
its URL's settings and answers a slider — but costs about twice the server's work per page, so
the server says so when it starts, and points to the nginx recipe (tests/e2e/test_nginx.py),
which keeps each browser on one process.
"""

from __future__ import annotations

import pytest

from app.server import SHARED_PORT_WARNING
from tests.e2e.conftest import ONE_POINT, VIEWPORT, AppPage, drag_lambda_past_x_squared, wait_until
from benchmarks.load import health
from tests.support import AppServer

pytestmark = pytest.mark.timeout(120)


def each_worker(server: AppServer) -> dict[int, dict]:
    """``/health`` of each of the two workers (each answers for itself; ask until both have)."""
    seen: dict[int, dict] = {}

    def both() -> bool:
        h = health(server.url)
        seen[h["pid"]] = h
        return len(seen) == 2

    wait_until(both, timeout=30)
    return seen


def test_shared_port_workers_serve_working_pages_and_the_server_says_what_they_cost(browser):
    with AppServer("--num-procs", "2") as server:
        assert SHARED_PORT_WARNING.format(n=2) in server.log()
        # two workers answer on the one port, each for itself
        seen = each_worker(server)
        assert server.proc.pid not in seen  # the workers, not the parent that forked them

        context = browser.new_context(viewport=VIEWPORT)
        app = AppPage(context.new_page(), server).open("/landscape?lam=0.5&x=0.9")
        assert app.slider_model("λ")["value"] == 0.5 and app.slider_model("x")["value"] == 0.9
        drag_lambda_past_x_squared(app, 1.5)  # x² = 0.81: one critical point above it
        assert app.summary("sum").startswith(ONE_POINT)
        app.assert_clean()
        context.close()

        # at least the page's session was made, in one worker or the other (usually in both)
        now = each_worker(server)
        assert sum(now[pid]["created"] - seen[pid]["created"] for pid in seen) >= 1


def test_one_process_by_default_and_no_warning(app_server):
    assert "--num-procs" not in app_server.log()
