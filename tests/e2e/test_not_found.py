"""A path no route answers gets the app's own 404 page (issue #21), not Tornado's bare
"404: Not Found": status 404, plain HTML in the app's colours, a working link to every page of
the registry, and the path quoted as text — never as markup.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import quote, urljoin, urlsplit

import pytest

from app.pages import PAGES
from app.server import ROUTES

pytestmark = pytest.mark.timeout(120)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
#: unknown paths: a word, folders, a page's path with more after it, markup, a long path
UNKNOWN = ["/nope", "/a/b/c", "/landscape/extra", "/" + SCRIPT, "/x/" + IMG, "/" + "z" * 3000]
HREF = re.compile(r'<li><a href="([^"]*)">([^<]*)</a></li>')  # the list of pages
NAVY = "rgb(35, 57, 93)"  # #23395d, the app's header


def fetch(url: str, method: str = "GET") -> tuple[int, dict, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def url_of(server, path: str) -> str:
    return server.url + quote(path, safe="/")


@pytest.mark.parametrize("path", UNKNOWN, ids=["word", "folders", "under-a-page", "script", "img", "long"])
def test_unknown_path_answers_404_with_a_link_to_every_page(app_server, path):
    url = url_of(app_server, path)
    status, headers, body = fetch(url)
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert "LAE Landscapes" in body and "Page not found" in body and body != "404: Not Found"
    links = {title: href for href, title in HREF.findall(body)}
    assert list(links) == [entry.title for entry in PAGES], links
    for entry in PAGES:  # each link, resolved against the page's own address, is the page's route
        target = urljoin(url, links[entry.title])
        assert urlsplit(target).path == f"/{entry.slug}", (links[entry.title], target)
        assert f"/{entry.slug}" in ROUTES
    # the path is there as text only
    assert SCRIPT not in body and "<img" not in body and "<script" not in body


@pytest.mark.parametrize("method", ["POST", "HEAD", "DELETE"])
def test_any_method_on_an_unknown_path_is_a_404(app_server, method):
    status, _, body = fetch(url_of(app_server, "/nope"), method)
    assert status == 404
    assert (body == "") if method == "HEAD" else ("Page not found" in body)


def test_the_404_page_in_a_browser_shows_the_path_as_text_and_leads_to_a_page(app):
    """In Chromium: the app's navy header, the hostile path shown as the text it is (no dialog,
    no injected element), and a click on a link opens that page."""
    page = app.page
    url = url_of(app.server, "/x/" + IMG + SCRIPT)
    response = page.goto(url)
    assert response.status == 404
    # Chromium logs the document's own 404 status, and only that
    assert [e for e in app.record.console_errors if "status of 404" not in e or url not in e] == []
    app.record.console_errors.clear()
    assert page.evaluate("() => getComputedStyle(document.querySelector('header')).backgroundColor") == NAVY
    shown = page.locator("code").inner_text()
    assert shown == "/x/" + IMG + SCRIPT
    assert page.locator("img, script").count() == 0
    assert page.evaluate("() => [...document.querySelectorAll('*')].filter(e => e.hasAttribute('onerror')).length") == 0

    page.get_by_role("link", name="Posterior collapse").click()
    page.wait_for_url(lambda u: urlsplit(u).path == "/collapse")
    app.wait_for_document()
    app.assert_clean()
    assert not app.record.dialogs
