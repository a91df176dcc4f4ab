"""``lae-landscapes`` — the command line: ``lae-landscapes serve [--address --port …]``, ``export``
(a page as one HTML file) and ``snapshot`` (a page state as a PNG)."""

from __future__ import annotations

import argparse
import os
import sys

from app.pages import PAGES

#: the memory allocator ``serve --tune-memory`` runs with unless ``PYTHONMALLOC`` is set: glibc's
#: malloc for every object, so the memory of a class's sessions goes back to the system once they
#: close (``app.health.release_memory``); Python's own (pymalloc) keeps most of it
SERVER_MALLOC = "malloc"


def _restart_with_server_malloc() -> None:
    """Replace this process (same PID) by the same command under ``SERVER_MALLOC``: the allocator
    is chosen when the interpreter starts, so it cannot be switched from here."""
    env = dict(os.environ, PYTHONMALLOC=SERVER_MALLOC)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "app.cli", *sys.argv[1:]], env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lae-landscapes",
                                     description="Interactive loss landscapes of regularized linear autoencoders.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the app (default http://127.0.0.1:5006)")
    s.add_argument("--address", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1; 0.0.0.0 to serve a network)")
    s.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    s.add_argument("--num-procs", type=int, default=1,
                   help="worker processes sharing the port (default 1; 0: one per core). Each "
                        "connection goes to any of them, so most pages are built twice: for "
                        "several cores run one process per port behind nginx (docs/deploy.md)")
    s.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="an extra origin allowed to open the websocket (repeatable; also the "
                        "comma-separated LAE_ALLOW_WEBSOCKET_ORIGIN); the app's own host is always allowed")
    s.add_argument("--tune-memory", action="store_true",
                   help="tune the process's heap for a class: glibc's malloc for every object "
                        "(PYTHONMALLOC=malloc), sessions left out of the garbage collector's walks, and "
                        "the memory of closed sessions handed back to the system (on in the Docker image)")
    e = sub.add_parser("export", help="write a page as one self-contained HTML file (no server, no network)",
                       description="Write PAGE as one HTML file that works opened from disk, with no server "
                                   "and no network: its main slider (λ; φ on the Grassmannian page) moves "
                                   "through a fixed set of recorded positions; the other settings are fixed.")
    e.add_argument("page", metavar="PAGE", help=", ".join(entry.slug for entry in PAGES if entry.export))
    e.add_argument("--out", required=True, metavar="FILE.html", help="the file to write")
    e.add_argument("--query", default="", metavar="QUERY",
                   help='the settings to export, as in the page\'s address, e.g. "lam=0.5&x=1" (default: the defaults)')
    p = sub.add_parser("snapshot", help="render a page state to a PNG with Chromium",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Start the app on 127.0.0.1, open PAGE?QUERY in a headless Chromium and\n"
                                   "save a WIDTH × HEIGHT screenshot. Needs Playwright:\n"
                                   "  pip install 'lae-landscapes[snapshot]'")
    p.add_argument("page", metavar="PAGE", help=", ".join(entry.slug for entry in PAGES))
    p.add_argument("--query", default="", metavar="QUERY", help='the page\'s settings, e.g. "lam=0.5&x=1"')
    p.add_argument("--out", required=True, metavar="FILE.png", help="the PNG to write")
    p.add_argument("--width", type=int, default=1280, help="width in pixels (default 1280)")
    p.add_argument("--height", type=int, default=800, help="height in pixels (default 800)")
    p.add_argument("--full", action="store_true",
                   help="the whole page with header and sidebar (default: the embed view, plots and controls only)")
    args = parser.parse_args(argv)
    if args.command == "export":
        from app import export
        return export.main(args.page, args.out, args.query)
    if args.command == "snapshot":
        from app import snapshot
        return snapshot.main(args.page, args.query, args.out, args.width, args.height, full=args.full)
    if args.command == "serve":
        if args.tune_memory and argv is None and "PYTHONMALLOC" not in os.environ:  # not a test's call
            _restart_with_server_malloc()
        from app import server
        try:
            server.serve(args.address, args.port, num_procs=args.num_procs,
                         allow_websocket_origin=args.allow_websocket_origin, tune_memory=args.tune_memory)
        except ValueError as exc:
            parser.error(str(exc))
        except RuntimeError as exc:  # a security fix that cannot be applied to these libraries
            print(f"lae-landscapes serve: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
