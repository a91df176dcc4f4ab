"""Scale-out: two ``lae-landscapes serve`` processes behind nginx, configured by deploy/nginx.conf
as deploy/render_nginx.py renders it, and browsed through nginx in real Chromium.

Every visitor here is at 127.0.0.1, as a lecture hall behind one NAT is at one address: nginx
keeps each browser on one process by a visitor id it sets in a cookie (the stickiness a session
needs: its page and its websocket reach the same process) and spreads the browsers over both.
When one process stops, the next visitor is served by the other. nginx's access log names the
process behind every request (``upstream=host:port``); each process's ``/health`` counts its
sessions and their websockets.
"""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.render_nginx import render
from tests.e2e.conftest import THREE_POINTS, VIEWPORT, AppPage, drag_lambda_past_x_squared, wait_until
from benchmarks import wsload
from benchmarks.load import health
# NGINX and Nginx live in tests.support (make stress starts nginx too); test_compose.py
# imports them from here
from tests.support import NGINX, AppServer, Nginx, free_port, run_async  # noqa: F401

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def scale_out():
    """Two app processes, each allowing nginx's origin, and nginx in front of them."""
    port = free_port()
    origins = ("--allow-websocket-origin", f"127.0.0.1:{port}", "--allow-websocket-origin", f"localhost:{port}")
    apps = [AppServer(*origins) for _ in range(2)]
    nginx = Nginx([f"127.0.0.1:{app.port}" for app in apps], port)
    try:
        with ThreadPoolExecutor(len(apps)) as starting:  # both at once: each waits on /liveness
            list(starting.map(AppServer.start, apps))
        yield nginx.start(), apps
    finally:
        nginx.stop()
        for app in apps:
            app.stop()
        shutil.rmtree(nginx.prefix, ignore_errors=True)


def visit(browser, nginx: Nginx) -> tuple:
    """A new browser context (its own cookies, its own session) on the Landscape page via nginx."""
    context = browser.new_context(viewport=VIEWPORT)
    return context, AppPage(context.new_page(), nginx).open("/landscape")


def test_the_rendered_template_is_sticky_and_passes_the_websocket_on():
    conf = render("127.0.0.1:8080", ["127.0.0.1:5101", "127.0.0.1:5102"])
    upstream = re.search(r"upstream lae_landscapes \{(.*?)\}", conf, re.S)[1]
    assert "hash $uid_got$uid_set consistent;" in upstream and "ip_hash" not in conf  # by browser, not address
    assert re.findall(r"^\s*server (\S+);", upstream, re.M) == ["127.0.0.1:5101", "127.0.0.1:5102"]
    for directive in ("listen 127.0.0.1:8080;", "userid on;", "userid_name lae_visitor;", "userid_path /;",
                      "userid_flags httponly samesite=lax;", "proxy_pass http://lae_landscapes;", "proxy_http_version 1.1;",
                      "proxy_set_header Upgrade $http_upgrade;", 'proxy_set_header Connection "upgrade";',
                      "proxy_set_header Host $host:$server_port;", "proxy_read_timeout 1d;"):
        assert directive in conf
    with pytest.raises(ValueError, match="apps"):
        render("80", [])


def test_visitors_from_one_address_are_spread_over_the_processes_and_each_kept_on_one(scale_out):
    """24 visitors, all at 127.0.0.1 (a lecture hall behind one NAT), each a cookie jar of its
    own making three requests in turn: every visitor's three reach one process, and the
    visitors reach both (all 24 on one would happen once in 8 million runs)."""
    nginx, apps = scale_out
    seen, processes = len(nginx.requests()), {f"127.0.0.1:{app.port}" for app in apps}
    cookies = []
    for _ in range(24):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        for _ in range(3):
            with opener.open(nginx.url + "/liveness", timeout=30) as r:
                assert r.status == 200
        cookies.append([c for c in jar if c.name == "lae_visitor"])
    assert all(len(c) == 1 and c[0].has_nonstandard_attr("httponly") for c in cookies), cookies  # as sent: HttpOnly
    assert len({c[0].value for c in cookies}) == 24  # an id per browser
    wait_until(lambda: len(nginx.requests()) >= seen + 72)
    lines = nginx.requests()[seen:seen + 72]
    per_visitor = [{r["upstream"] for r in lines[i:i + 3]} for i in range(0, 72, 3)]
    assert all(len(used) == 1 for used in per_visitor), per_visitor
    assert set.union(*per_visitor) == processes


def test_raw_websocket_visitors_through_nginx_each_stay_on_one_process(scale_out):
    """``benchmarks.wsload`` through nginx, as the README's figures for this deployment were
    taken: each client takes the page's cookie to its websocket, as a browser does, so each
    page is built once (6 visitors, 6 sessions over both processes) and every change comes back."""
    nginx, apps = scale_out
    r = run_async(wsload.measure(nginx.url, 6, 4, health_urls=[app.url for app in apps], learn_timeout_s=30.0,
                                 gone_timeout_s=90.0))
    assert r["errors"] == 0, r["problems"]
    assert r["sessions_created"] == 6 and r["changes"] == r["completed"] == 6 * 4
    assert r["final_sessions"] == 0  # gone again from both, before the next test counts them


def test_sessions_through_nginx_react_to_lambda_each_on_its_own_and_stick_to_one_process(browser, scale_out):
    nginx, apps = scale_out
    before = [health(app.url) for app in apps]
    visitors = [visit(browser, nginx) for _ in range(2)]
    (_, first), (_, second) = visitors
    for _, app in visitors:
        app.wait_until(lambda: app.summary("sum").startswith(THREE_POINTS))
    # Each page's session was made by one process, and its websocket reached that process: two
    # sessions in all, each with its websocket, and none made again for a websocket that
    # arrived at a process that had not rendered its page.
    now = [health(app.url) for app in apps]
    assert sum(h["created"] - b["created"] for h, b in zip(now, before)) == 2
    assert [h["connections"] for h in now] == [h["sessions"] for h in now] and sum(h["sessions"] for h in now) == 2

    drag_lambda_past_x_squared(first, 2.0)
    assert second.summary("sum").startswith(THREE_POINTS)  # a session of its own
    drag_lambda_past_x_squared(second, 1.5)
    for context, app in visitors:
        app.assert_clean()
        context.close()

    # Each page's websocket went through nginx (101 Switching Protocols; logged once closed).
    wait_until(lambda: len(nginx.websockets()) >= 2)
    assert {r["upstream"] for r in nginx.websockets()} <= {f"127.0.0.1:{app.port}" for app in apps}

    # One process stops: nginx sends the next visitor to the other one, page and websocket.
    stopped, standby = apps
    stopped.stop()
    seen = len(nginx.requests())
    context, app = visit(browser, nginx)
    app.assert_clean()
    context.close()
    wait_until(lambda: len(nginx.websockets()) >= 3)
    later = nginx.requests()[seen:]
    assert {r["upstream"] for r in later} == {f"127.0.0.1:{standby.port}"}, later
