"""``lae-landscapes snapshot PAGE --query "lam=0.5&x=1" --out fig.png``: one state of a page as a
PNG, drawn by Chromium.

It starts the app (``python -m app.cli serve``) on 127.0.0.1 and a free port as a child process
in its own process group, opens ``/PAGE?QUERY&embed=true`` (the page without header and sidebar;
``full=True`` keeps them) in a headless Chromium whose window is exactly width × height, waits
until the Bokeh document is idle and has stopped changing, takes the screenshot and stops the
server's process group. The browser may reach nothing but the app: every other request is
refused. Playwright comes with the ``snapshot`` extra: ``pip install 'lae-landscapes[snapshot]'``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from app.pages import BY_SLUG

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = "pip install 'lae-landscapes[snapshot]'"
#: the document counts as drawn once it is idle and has not changed for this long (s)
SETTLE = 0.75
SIZE_LIMITS = (200, 4096)

#: counts the document's changes, so that "settled" can be polled
WATCH_JS = """() => {
  const doc = window.Bokeh && Bokeh.documents.length ? Bokeh.documents[0] : null;
  if (!doc || !doc.is_idle) return null;
  if (window.__laeChanges === undefined) {
    window.__laeChanges = 0;
    doc.on_change(() => { window.__laeChanges += 1; });
  }
  return window.__laeChanges;
}"""


class SnapshotError(Exception):
    """A reason the snapshot cannot be taken, worded for the person running the command."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_launch_kwargs() -> dict:
    """Debian's Chromium when there is one, else Playwright's own build."""
    kwargs = {"args": list(CHROMIUM_ARGS), "headless": True}
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            kwargs["executable_path"] = candidate
            break
    return kwargs


def page_path(page: str, query_text: str, *, full: bool = False) -> str:
    """``/page?query`` with ``embed=true`` added (unless ``full`` or the query sets it).

    Raises ``SnapshotError`` for a query that is not ``name=value`` pairs joined by ``&``.
    """
    text = query_text.strip().lstrip("?")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True) if text else []
    except ValueError:
        pairs = None
    if pairs is None or any(not name for name, _ in pairs):
        raise SnapshotError(f"the query {query_text[:60]!r} is not of the form name=value&name=value")
    if not full and not any(name == "embed" for name, _ in pairs):
        pairs.append(("embed", "true"))
    return f"/{page}" + (f"?{urlencode(pairs)}" if pairs else "")


class AppProcess:
    """``python -m app.cli serve`` on 127.0.0.1 and a free port, in its own process group."""

    def __init__(self, timeout: float = 60.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile(mode="w+")

    def start(self) -> "AppProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--address", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SnapshotError(f"the app server exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/liveness", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise SnapshotError(f"the app server did not answer within {self.timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        self.log.flush()
        self.log.seek(0)
        return "\n".join(self.log.read().splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def _wait_until_drawn(page, timeout: float) -> None:
    """Idle, and no change to the document for ``SETTLE`` s (a page may finish its first view
    with a change of its own, e.g. Trajectories moving its player to the last iteration)."""
    deadline = time.monotonic() + timeout
    count, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = page.evaluate(WATCH_JS)
        if now is None or now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= SETTLE:
            page.evaluate("() => document.fonts.ready.then(() => true)")
            return
        page.wait_for_timeout(100)
    raise SnapshotError(f"the page was not drawn within {timeout:g} s")


def snapshot(page: str, query_text: str, out: str | Path, width: int = 1280, height: int = 800, *,
             full: bool = False, timeout: float = 90.0) -> tuple[Path, list[str]]:
    """Write a width × height PNG of ``/page?query`` to ``out``; returns the path and notes for
    the user: the notices the page showed (its corrections of the query), refused requests."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SnapshotError(f"the snapshot needs Playwright: {INSTALL_HINT}") from None
    if page not in BY_SLUG:
        raise SnapshotError(f"no page {page!r}; choose one of {', '.join(BY_SLUG)}")
    for name, size in (("width", width), ("height", height)):
        if not SIZE_LIMITS[0] <= size <= SIZE_LIMITS[1]:
            raise SnapshotError(f"{name} must be between {SIZE_LIMITS[0]} and {SIZE_LIMITS[1]} pixels, not {size}")
    out = Path(out)
    if not out.parent.is_dir():
        raise SnapshotError(f"the folder {str(out.parent)!r} does not exist")
    path = page_path(page, query_text, full=full)

    with AppProcess() as app, sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(**chromium_launch_kwargs())
        except PlaywrightError as exc:
            raise SnapshotError("could not start Chromium (install Debian's chromium, or run "
                                f"`playwright install chromium`): {str(exc).splitlines()[0]}") from None
        refused: list[str] = []
        own = {f"127.0.0.1:{app.port}", f"localhost:{app.port}"}

        def only_the_app(route):
            """Nothing but the app: the snapshot must not depend on (or reach) the network."""
            url = route.request.url
            if urlsplit(url).netloc in own or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                refused.append(url)
                route.abort()

        try:
            context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
            context.route("**/*", only_the_app)
            tab = context.new_page()
            tab.goto(app.url + path, timeout=timeout * 1000)
            _wait_until_drawn(tab, timeout)
            # (CSS locators see into shadow roots)
            notices = [f"the page says: {text}" for text in tab.locator(".notices .notice").all_inner_texts()]
            tab.screenshot(path=str(out), type="png", full_page=False)
        except PlaywrightError as exc:
            raise SnapshotError(f"the browser failed: {str(exc).splitlines()[0]}") from None
        finally:
            browser.close()
    if refused:
        notices.append(f"refused {len(refused)} request(s) to other hosts, e.g. {refused[0][:80]}")
    return out, notices


def main(page: str, query_text: str, out: str, width: int, height: int, *, full: bool = False) -> int:
    """The ``snapshot`` subcommand: 0 when the PNG is written, 2 with a message otherwise."""
    try:
        path, notices = snapshot(page, query_text, out, width, height, full=full)
    except SnapshotError as exc:
        print(f"lae-landscapes snapshot: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lae-landscapes snapshot: error: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for text in notices:
        print(f"lae-landscapes snapshot: note: {text}", file=sys.stderr)
    print(f"wrote {path} ({width} × {height} px)")
    return 0
