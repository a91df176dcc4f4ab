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


def _seven_digits(values) -> list[float]:
    """The specification of ``plots._short``: each value printed to 7 significant digits by
    Python's own formatting and read back."""
    return [float(f"{v:.7g}") for v in np.asarray(values, dtype=float).ravel()]


@pytest.mark.parametrize("n", [5, 40, 5000])
def test_short_columns_are_pythons_seven_digit_values(n):
    rng = np.random.default_rng(n)
    values = rng.normal(size=n) * 10.0 ** rng.integers(-35, 40, n)  # beyond ±22 decades too
    got = plots._short(values)
    assert isinstance(got, list) and all(type(v) is float for v in got)
    assert got == _seven_digits(values)


def test_short_columns_near_decades_and_halfway():
    # the decade edges (where the exponent from log10 is decided) and 7-digit halfway points,
    # both ways round, and the values that stay as they are
    edges = np.array([10.0 ** k for k in range(-20, 25)])
    values = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, np.inf),
                             [9.9999995, 9.99999949, 0.12345675, 1.0000005, 123456.75, 2.5e-7],
                             [0.0, -0.0, 1e-320, 1.7e308, np.inf, -np.inf, np.nan]])
    values = np.concatenate([values, -values])
    got, want = np.array(plots._short(values)), np.array(_seven_digits(values))
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    # a value within an ulp of halfway may round the other way: then it is the other neighbour
    for g, w, v in zip(got[~same], want[~same], values[~same]):
        assert float(f"{g:.7g}") == g and abs(g - w) <= 1.01e-6 * abs(v), (v, g, w)
    assert same.mean() > 0.95
    assert np.signbit(plots._short([-0.0] * 40)).all()


# ----------------------------------------------------------------------------- 3-D marks and layouts

def _set(shape, kind, points, loss, smooth=True):
    from lae_core.scalar import CriticalSet

    points = np.asarray(points, float)
    return CriticalSet(shape, points, loss, kind, None if not smooth else 0, shape == "curve",
                       None if not smooth else np.zeros((len(points), 2)), "test", smooth)


def test_critical_marks_put_one_trace_per_kind_of_set_above_its_loss():
    from app.plot3d import critical_marks

    sets = [_set("point", "minimum", [[0.5, 0.5]], 0.75), _set("point", "minimum", [[-0.5, -0.5]], 0.75),
            _set("point", "saddle", [[0.0, 0.0]], 1.0), _set("point", "minimum", [[0.0, 0.0]], 0.0, smooth=False),
            _set("curve", "minimum", [[0.5, 2.0], [1.0, 1.0], [2.5, 0.4]], 0.2)]
    traces, arrays = critical_marks(sets, extent=2.0, lift=0.1)
    names = [t["name"] for t in traces]
    assert names == ["minimum", "saddle", "minimum (non-smooth)", "curve of minima"]
    symbols = [t.get("marker", {}).get("symbol") for t in traces]
    assert symbols == ["circle", "diamond", "circle-open", None] and traces[3]["mode"] == "lines"
    assert all(v.dtype == np.float32 for v in arrays.values())  # sent as binary
    get = lambda t, c: np.asarray(arrays[t[c][1:]], float)  # noqa: E731  ("@name" → arrays[name])
    assert get(traces[0], "x").tolist() == [0.5, -0.5] and get(traces[0], "y").tolist() == [0.5, -0.5]
    assert get(traces[0], "z") == pytest.approx([0.85, 0.85]) and get(traces[0], "customdata") == pytest.approx(0.75)
    # the curve: its point outside |w| ≤ 2 and the row after it are gaps (NaN), the rest kept
    cx, cy = get(traces[3], "x"), get(traces[3], "y")
    assert cx[:2].tolist() == [0.5, 1.0] and cy[:2].tolist() == [2.0, 1.0] and np.isnan(cx[2:]).all()
    assert critical_marks([], 2.0, 0.1) == ([], {})


def test_layout_helpers_make_a_wrapping_row_of_shares_and_fixed_compact_figures():
    fig = plots.titled_figure("t", 400, 300)
    pane = plots.scaled(fig)
    assert fig.sizing_mode == pane.sizing_mode == "scale_width" and (fig.width, fig.height) == (400, 300)
    share = plots.share(pane, basis=320, max_width=640)
    row = plots.wrapping_row(share)
    assert row.styles["flex-wrap"] == "wrap" and row.sizing_mode == "stretch_width"
    assert (share.min_width, share.max_width, share.styles["flex"]) == (320, 640, "1 1 320px")
    plots.fixed(pane, 200, 150)
    assert fig.sizing_mode == pane.sizing_mode == "fixed" and (fig.width, fig.height) == (200, 150)


def test_the_bifurcation_caption_changes_only_what_differs():
    plot = plots.BifurcationPlot("a", 4.0)
    doc = Document()
    doc.add_root(plot.figure)
    events = []
    doc.on_change(lambda event: events.append(event))
    plot.caption("a", plot.figure.yaxis[0].axis_label)
    assert events == []
    plot.caption("b", "w")
    assert plot.figure.title.text == "b" and plot.figure.yaxis[0].axis_label == "w" and len(events) == 2


def test_a_map_without_selection_tools_lets_the_browser_derive_its_unused_glyphs():
    """A map and a bifurcation plot select nothing and mute nothing: their renderers carry no
    glyph models for unselected or muted data (``"auto"``: BokehJS derives them if ever asked),
    and a figure that can select keeps Bokeh's own."""
    from bokeh.models import GlyphRenderer, TapTool

    for fig in (plots.SurfacePlot("map").figure, plots.BifurcationPlot("pitchfork", 4.0).figure):
        renderers = [r for r in fig.renderers if isinstance(r, GlyphRenderer)]
        assert renderers and all(r.nonselection_glyph == "auto" and r.muted_glyph == "auto" for r in renderers)
    fig = plots.titled_figure("selectable", 200, 200)
    dots = fig.scatter([0, 1], [0, 1])
    fig.add_tools(TapTool(renderers=[dots]))
    plots.derive_unused_glyphs(fig)
    assert dots.nonselection_glyph != "auto" and dots.muted_glyph != "auto"
