"""What every browser test and benchmark shares: a real app server on a free port, and the
Chromium that drives it.

``AppServer`` starts ``python -m app.cli serve`` on 127.0.0.1 and a free port, waits on
``/liveness``, and stops the process it started (by PID). ``chromium_launch_kwargs()`` gives
Playwright the system Chromium when there is one (Debian's /usr/bin/chromium) with the flags
this sandbox needs, else Playwright's own build. ``Nginx`` runs deploy/nginx.conf in front of
several app processes (the scale-out test and ``make stress``).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from deploy.render_nginx import STANDALONE, render

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_executable() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None  # Playwright's own build (installed by `make test` where there is no Debian package)


def chromium_launch_kwargs() -> dict:
    kwargs = {"args": list(CHROMIUM_ARGS), "headless": True}
    exe = chromium_executable()
    if exe:
        kwargs["executable_path"] = exe
    return kwargs


class AppServer:
    """A real ``lae-landscapes serve`` on 127.0.0.1; use as a context manager."""

    def __init__(self, *extra_args: str, env: dict | None = None, timeout: float = 60.0):
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.extra_args, self.timeout = extra_args, timeout
        self.env = dict(os.environ, **(env or {}))
        self.proc: subprocess.Popen | None = None
        self.log_path = ROOT / "test-results" / f"server-{self.port}.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "app.cli", "serve", "--address", "127.0.0.1", "--port", str(self.port),
                *self.extra_args]

    def start(self) -> "AppServer":
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/liveness", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"server not live after {self.timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextmanager
def server_unless(url: str | None, env: dict | None = None):
    """``(base URL, None)`` for an already running server at ``url``; otherwise a fresh
    ``AppServer`` (``env`` added to its environment) as ``(its URL, it)``, stopped on exit, with
    the tail of its log on stderr when the body fails."""
    if url:
        yield url.rstrip("/"), None
        return
    server = AppServer(env=env).start()
    try:
        yield server.url, server
    except Exception:
        sys.stderr.write("--- server log ---\n" + server.log()[-4000:] + "\n")
        raise
    finally:
        server.stop()


#: JavaScript for the benchmarks' page scripts: ``shownFirst(models)`` — those of ``models`` that
#: are on screen (not ``visible: false``, and their element not hidden by CSS, as
#: ``app.shell.show`` hides the controls of another mode), or all of them when none is.
SHOWN_FIRST_JS = r"""
const shownFirst = (models) => {
  const views = new Map([...Bokeh.index.all_views()].map((v) => [v.model, v]));
  const onScreen = (m) => {
    if (m.visible === false) return false;
    const el = views.get(m)?.el;
    return el == null || el.getClientRects().length > 0;  // none inside a display: none
  };
  const shown = models.filter(onScreen);
  return shown.length ? shown : models;
};
"""


#: JavaScript: the deck's slides whose page has arrived, as in ``#/slide-N`` (the deck opens
#: before its slides' pages, and a slide still to come holds a spinner, css class
#: ``slide-to-come``, in its page's place); [] before BokehJS has drawn the deck. The slides'
#: views are read, not the document's ``all_models``, which keeps a removed model for ~30 s.
BUILT_SLIDES_JS = """() => !window.Bokeh ? [] : [...document.querySelectorAll('.reveal .slides > section')].flatMap((section, i) => {
    const el = section.querySelector('.lecture-slide');
    const view = [...Bokeh.index.all_views()].find((v) => v.el === el);
    const waiting = view == null || view.model.children.some((c) => (c.css_classes ?? []).includes('slide-to-come'));
    return i > 0 && !waiting ? [i] : [];
})"""
#: JavaScript: whether every slide of the deck holds its page
EVERY_SLIDE_BUILT_JS = f"""() => !!(window.Reveal && Reveal.isReady())
    && ({BUILT_SLIDES_JS})().length === Reveal.getTotalSlides() - 1"""


SUPERSCRIPT_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def read_colour_bar_label(label: str) -> float:
    """The number a log colour bar's label shows, as a reader reads it: "0.02", "1000", "10⁻⁴"."""
    if label.startswith("10") and label != label.translate(SUPERSCRIPT_DIGITS):
        return 10.0 ** int(label[2:].translate(SUPERSCRIPT_DIGITS))
    return float(label)


def keep_serve_out_of_the_process(monkeypatch) -> None:
    """Let a test call ``app.server.serve`` (with ``pn.serve`` stubbed) and leave the test process
    as it was: Bokeh's checks stay on for the tests after (tests/app/test_production.py), nothing
    is frozen out of the GC, and Bokeh's logger gets its filters back afterwards."""
    import logging

    from app import server

    for name in ("use_production_settings", "freeze_startup_objects"):
        monkeypatch.setattr(server, name, lambda: None)
    logger = logging.getLogger("bokeh.server.protocol_handler")
    monkeypatch.setattr(logger, "filters", list(logger.filters))


def run_async(coro, timeout: float | None = None):
    """``asyncio.run(coro)`` on a thread of its own: in the test process an event loop may
    already run on this thread (Playwright's sync API leaves one), where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout)


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian's, outside a non-root PATH
#: "GET /landscape/ws HTTP/1.1" 101 … upstream=127.0.0.1:5101 (several, comma-separated, when
#: nginx had to try another process)
LOG_LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) .*upstream=(?P<upstream>.*)$')


class Nginx:
    """A foreground nginx on 127.0.0.1 and a free port, in front of ``apps`` (host:port), with
    its pid, logs and temporary files in a directory of its own; stopped by its PID."""

    def __init__(self, apps: list[str], port: int, *, conf: str | None = None):
        """``conf``: an http-context configuration listening on ``port`` to use instead of the
        template rendered for ``apps`` (framed as ``render_nginx.py --standalone`` does)."""
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        # mkdtemp, not pytest's tmp_path: run as root, nginx's workers are `nobody`, and
        # pytest's /tmp/pytest-of-root is closed to them.
        self.prefix = Path(tempfile.mkdtemp(prefix="lae-nginx-"))
        self.prefix.chmod(0o755)
        text = (STANDALONE % textwrap.indent(conf, "    ") if conf is not None
                else render(f"127.0.0.1:{port}", apps, standalone=True))
        (self.prefix / "nginx.conf").write_text(text)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> "Nginx":
        self.proc = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", "nginx.conf", "-e", "error.log"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.error_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nginx not listening after {timeout} s:\n{self.error_log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # the master stops its workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text() if path.exists() else ""

    def requests(self) -> list[dict]:
        """The access log: method, path, status and the app process (last one tried) per line."""
        path = self.prefix / "access.log"
        found = [LOG_LINE.search(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [{**m.groupdict(), "upstream": m["upstream"].split(",")[-1].strip()} for m in found if m]

    def websockets(self) -> list[dict]:
        """The websocket handshakes nginx passed on (status 101)."""
        return [r for r in self.requests() if r["path"].endswith("/ws") and r["status"] == "101"]
