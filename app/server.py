"""The Panel server: routes every page, serves ``static/``, answers ``/liveness``."""

from __future__ import annotations

import os

import panel as pn
import panel.io.server as _panel_server

from app import shell
from app.pages import collapse, grassmann, landscape, lecture, trajectories

#: URL path → page factory; "/" opens on the Landscape page
ROUTES = {"/": landscape.create, "/landscape": landscape.create, "/trajectories": trajectories.create,
          "/collapse": collapse.create, "/grassmannian": grassmann.create, "/lecture": lecture.create}

EXTENSIONS = ("katex",)  # plotly.js is loaded on demand by app.plot3d
ORIGIN_ENV = "LAE_ALLOW_WEBSOCKET_ORIGIN"


# Panel adds Bokeh's MathJax bundle (1.8 MB) to any page holding an HTML pane, in case it holds
# TeX; this app renders its formulas with KaTeX (LaTeX panes), so MathJax would only slow the
# cold load. Panel exposes no setting for a served page, hence this narrow wrapper.
_bundle_resources = _panel_server.bundle_resources


def _bundle_resources_without_mathjax(roots, resources, *args, **kwargs):
    kwargs.setdefault("enable_mathjax", False)
    return _bundle_resources(roots, resources, *args, **kwargs)


_panel_server.bundle_resources = _bundle_resources_without_mathjax


def default_origins(address: str, port: int) -> list[str]:
    """The app's own host only: what a browser on this machine sends as Origin."""
    hosts = {"localhost", "127.0.0.1", address if address not in ("0.0.0.0", "::", "") else "localhost"}
    return sorted(f"{h}:{port}" for h in hosts)


def origins_from_env() -> list[str]:
    raw = os.environ.get(ORIGIN_ENV, "")
    return [o.strip() for o in raw.split(",") if o.strip()]


def serve(address: str = "127.0.0.1", port: int = 5006, *, num_procs: int = 1,
          allow_websocket_origin: list[str] | None = None, show: bool = False, **kwargs):
    """Start the server and block; ``allow_websocket_origin`` adds to the app's own host."""
    pn.extension(*EXTENSIONS, notifications=False)
    origins = default_origins(address, port) + list(allow_websocket_origin or []) + origins_from_env()
    if "*" in origins:
        raise ValueError("allow_websocket_origin: '*' would let any site open the app's websocket; "
                         "name the origins (host:port)")
    return pn.serve(ROUTES, address=address, port=port, num_procs=num_procs, websocket_origin=origins,
                    show=show, liveness=True, static_dirs={"assets": str(shell.STATIC)},
                    title="LAE Landscapes", **kwargs)
