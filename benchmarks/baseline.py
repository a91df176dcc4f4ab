"""The baseline the benchmark serves beside the app: a minimal Panel page with one 200 × 200 image
and one slider — what the framework costs at least, on this machine, in the same run.

    python -m benchmarks.baseline --port 5999     # serves / on 127.0.0.1 until stopped

The page is Panel at its defaults (no template, Panel's own FloatSlider), served with the same
server settings the app uses for what travels (compressed responses). Its slider is titled λ and
its image source has an ``image`` column, so the app's browser benchmarks drive it unchanged.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

N = 200
EXTENT = 2.0


def create():
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    w = np.linspace(-EXTENT, EXTENT, N)
    r2 = np.add.outer(w * w, w * w)
    source = ColumnDataSource(dict(image=[np.zeros((N, N), np.uint8)]))
    fig = figure(width=340, height=320, x_range=(-EXTENT, EXTENT), y_range=(-EXTENT, EXTENT), title="baseline")
    fig.image("image", x=-EXTENT, y=-EXTENT, dw=2 * EXTENT, dh=2 * EXTENT, source=source, palette="Viridis256")
    slider = pn.widgets.FloatSlider(name="λ", start=0.0, end=4.0, value=0.5, step=0.01)

    def draw(lam: float) -> None:
        z = np.exp(-r2 * (0.2 + lam))
        source.data = dict(image=[(255 * z).astype(np.uint8)])

    slider.param.watch(lambda event: draw(event.new), "value")
    draw(slider.value)
    return pn.Column(slider, pn.pane.Bokeh(fig))


def main(argv=None) -> int:
    import panel as pn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    pn.serve({"/": create}, address="127.0.0.1", port=args.port, show=False, liveness=True,
             websocket_origin=[f"127.0.0.1:{args.port}", f"localhost:{args.port}"], compress_response=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
