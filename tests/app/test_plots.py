"""Helpers of ``app.plots`` checked against what they promise."""

import math

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.model import Model

from app import plots


@pytest.mark.parametrize("values, decades", [
    ([3e-5, 20.0], (1e-5, 1e2)),
    ([1.0, 1.0], (1.0, 10.0)),                 # one value: a whole decade above it
    ([0.0, 0.5, float("nan"), float("inf")], (1e-16, 1.0)),  # zero at the floor; non-finite ignored
    ([], (1e-16, 1.0)),
    ([7e-12, 9.9e-3], (1e-12, 1e-2)),
])
def test_log_decades_are_the_whole_decades_around_the_data(values, decades):
    lo, hi = plots.log_decades(values)
    assert (lo, hi) == pytest.approx(decades, rel=1e-12)
    finite = [v for v in values if math.isfinite(v)]
    assert all(lo <= max(v, 1e-16) <= hi for v in finite)


# ----------------------------------------------------------------------------- colour bar

def test_the_colour_scale_changes_numbers_never_models():
    """A new colour mapper on a ColorBar makes BokehJS lay the whole page out again (~60–100 ms
    per figure), and new ticks or ticker arguments from the server a layout of the figure: a
    redraw changes the mapper's limits and the image, a switch of scale also the mapper's tag —
    no model reference, no ticker, no formatter. (Ticks and labels: tests/e2e/test_landscape.py.)"""
    plot = plots.SurfacePlot("test", n=40)
    doc = Document()
    doc.add_root(plot.figure)
    w = np.linspace(-2, 2, 40)
    z = (w[None, :] ** 2 + w[:, None] ** 2) + 0.01
    plot.update(z, [], log=False)
    events = []
    doc.on_change(lambda event: events.append(event))

    def changes():
        out = {(type(e.model).__name__, e.attr) for e in events if isinstance(e, ModelChangedEvent)}
        assert not [e for e in events if isinstance(e, ModelChangedEvent) and isinstance(e.new, Model)]
        events.clear()
        return out

    plot.update(z * 2, [], log=False)  # a redraw: numbers only
    redraw = changes()
    assert {("LinearColorMapper", "high"), ("LinearColorMapper", "low")} <= redraw
    assert not {name for name, _ in redraw} & {"CustomJSTicker", "CustomJSTickFormatter", "ColorBar"}
    plot.update(z * 2, [], log=True)  # a switch: the same, and the mapper's tag says "log"
    switch = changes()
    assert ("LinearColorMapper", "tags") in switch and plot.bar_mapper.tags == ["log"]
    assert not {name for name, _ in switch} & {"CustomJSTicker", "CustomJSTickFormatter", "ColorBar"}
    assert plot.colorbar.color_mapper is plot.bar_mapper
    # the log bar runs over log₁₀ of the loss: from the smallest value to the largest
    assert (plot.bar_mapper.low, plot.bar_mapper.high) == pytest.approx(
        (math.log10(2 * z.min()), math.log10(2 * z.max())))
