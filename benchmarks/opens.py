"""A class opening the page: N page views in a row, what they cost the server.

    python -m benchmarks.opens [--views 20] [--route /landscape] [--url http://…]   # prints JSON

Each view is a plain GET of the page (no browser): the server builds the visitor's session and
writes the page's HTML, the work a class arriving at once puts on it before any browser
connects. One view first fills the caches that stay (templates, stylesheets); then, from
``/health`` before and after the N views: the server's CPU time per view, the wall time, and
the full garbage collections made meanwhile (count, total and longest; the server answers no
one during one). With no browser on the machine the figures are the server's alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request

from benchmarks.load import health
from tests.support import server_unless


def run(views: int = 20, route: str = "/landscape", *, server_url: str | None = None) -> dict:
    with server_unless(server_url) as (url, _server):
        def view():
            with urllib.request.urlopen(url + route, timeout=120) as r:
                r.read()

        view()
        before, started = health(url), time.monotonic()
        for _ in range(views):
            view()
        wall, after = time.monotonic() - started, health(url)
        return {"route": route, "views": views, "wall_s": round(wall, 2),
                "server_cpu_ms_per_view": round(1000 * (after["cpu_s"] - before["cpu_s"]) / views, 1),
                "full_gc": {"n": after["gc"]["collections"][2] - before["gc"]["collections"][2],
                            "ms": round(after["gc"]["full_ms"] - before["gc"]["full_ms"], 1),
                            "max_ms_so_far": after["gc"]["full_ms_max"]},
                "sessions": after["sessions"], "freezes": after["freezes"], "rss_mib": after["rss_mib"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=20)
    parser.add_argument("--route", default="/landscape")
    parser.add_argument("--url", help="a running server (default: start one)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.views, args.route, server_url=args.url), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
