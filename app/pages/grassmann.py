"""The Grassmannian page: PCA as a Morse function L_X(P) = ‖X − PX‖² on Gr_k(ℝᵐ).

Three sections, each with its own controls:

- Gr₁(ℝ²) = RP¹: a point cloud, a line through 0 at angle φ with its residuals, L_X(φ) as a
  curve (with the flow's phase line) and on the circle RP¹, and a "flow" button that moves φ
  along the negative gradient flow to the minimum;
- Gr₁(ℝ³) = RP²: L_X on the disk model with streamlines of the negative gradient flow and the
  three critical points labelled by their measured Morse index, the counts per index next to
  the F₂ Betti numbers, and (behind a toggle) the same on a 3-D sphere;
- Gr_k(ℝᵐ): every principal subspace with its index d_I and loss, and the counts per index
  against the Betti numbers.

State lives in ``GrassmannState`` (parameters with bounds and labels, and the URL); every number
comes from ``lae_core.grassmann`` — this module computes no formula itself.
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import panel as pn
import param
from bokeh.models import (Arrow, ColorBar, ColumnDataSource, HoverTool, Label, LabelSet,
                          LinearColorMapper, Range1d, Span, VeeHead)
from bokeh.palettes import Viridis256

from app import panes, plots, shell
from app.spectrum import DEFAULT_SPECTRUM, parse_spectrum, spectrum_from_link, take_spectrum
from app.plot3d import PlotlyFigure, float32
from lae_core import grassmann, landscape

#: Gr₁(ℝ²): the cloud's size and seed, the φ grid, the phase-line arrows, the flow animation
PLANE_SAMPLES, PLANE_SEED = 60, 7
PHI_GRID = np.linspace(0.0, np.pi, 361)
ARROW_PHI = np.deg2rad(np.arange(5.0, 180.0, 10.0))
FLOW_FRAMES, FLOW_SECONDS, FLOW_PERIOD_MS = 80, 2.5, 40
FLOW_TIME = 5.0  # flow for FLOW_TIME / (σ₁² − σ₂²): from 1° off the maximum to within 0.2° of u₁

#: Gr₁(ℝ³): disk grid, streamline starts and length
DISK_N = 161
#: (the flow runs STREAM_TIME / the smallest gap between the σ², so every path nearly reaches u₁;
#: paths are sampled finely in time and thinned by arc length for drawing)
STREAM_STARTS, STREAM_STEPS, STREAM_TIME, STREAM_SPACING = 42, 400, 3.5, 0.012
SPACE_SAMPLES = 10
#: the 3-D sphere: a fixed 33 × 65 (θ, φ) grid (5.6° steps), sent as float32 arrays; only the
#: colour changes. (46 × 91 looked the same and took plotly twice as long to redraw.)
_theta, _phi = np.meshgrid(np.linspace(0, np.pi, 33), np.linspace(0, 2 * np.pi, 65))
SPHERE_U = np.stack([np.sin(_theta) * np.cos(_phi), np.sin(_theta) * np.sin(_phi), np.cos(_theta)], axis=-1)
SPHERE_XYZ = {c: np.ascontiguousarray(SPHERE_U[..., i], dtype=np.float32) for i, c in enumerate("xyz")}
SPHERE_LAYOUT = dict(
    title=dict(text="L_X on the sphere S²: u and −u are the same line (RP² = S²/±1)", x=0.02, y=0.97,
               xanchor="left", yanchor="top", font=dict(size=14)),
    margin=dict(l=0, r=0, t=40, b=0),
    scene=dict(aspectmode="data", camera=dict(eye=dict(x=1.25, y=1.25, z=0.8)),
               xaxis=dict(title=dict(text="x₁")), yaxis=dict(title=dict(text="x₂")),
               zaxis=dict(title=dict(text="x₃"))))

INDEX_NAMES = {0: "minimum", 1: "saddle", 2: "maximum"}
OUTSIDE = "rgba(0, 0, 0, 0)"


def _fibonacci_hemisphere(n: int) -> np.ndarray:
    """n roughly evenly spread unit vectors with z > 0 (starts for the streamlines)."""
    i = np.arange(n) + 0.5
    z = 1.0 - i / n  # uniform in z on the upper hemisphere = uniform in area
    r = np.sqrt(1.0 - z * z)
    angle = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.stack([r * np.cos(angle), r * np.sin(angle), z], axis=-1)


def _rotation(degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _angle_of_line(u) -> float:
    """The line through u as φ ∈ [0°, 180°)."""
    return math.degrees(math.atan2(u[1], u[0])) % 180.0


def _break_jumps(a: np.ndarray, b: np.ndarray, jump: float = 0.6):
    """Disk coordinates of a path with NaN where it jumps across the disk (the rim is glued
    to its antipode, so a path leaving at one side comes back at the other)."""
    step = np.hypot(np.diff(a), np.diff(b))
    cut = np.nonzero(step > jump)[0] + 1
    return np.insert(a, cut, np.nan), np.insert(b, cut, np.nan)


def _thin(path: np.ndarray, spacing: float = STREAM_SPACING) -> np.ndarray:
    """Indices of the samples of a path (T × 3) about ``spacing`` apart along it, first and
    last kept: the flow is fast at first and crawls at the end, so equal times are poor samples."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    bins = np.floor(arc / spacing)
    keep = np.nonzero(np.diff(bins) > 0)[0] + 1
    return np.unique(np.concatenate([[0], keep, [len(path) - 1]]))


# --------------------------------------------------------------------------- state


class GrassmannState(param.Parameterized):
    """Everything the page shows is a function of these parameters (and they are the URL)."""

    plane_s1 = param.Number(default=2.0, bounds=(0.1, 3.0), step=0.01, label="σ₁",
                            doc="Singular value of the cloud along its first axis.")
    plane_s2 = param.Number(default=1.0, bounds=(0.1, 3.0), step=0.01, label="σ₂",
                            doc="Singular value of the cloud along its second axis.")
    plane_angle = param.Number(default=30.0, bounds=(0.0, 180.0), step=1.0, label="rotation of the cloud (°)",
                               doc="Angle of the cloud's first axis.")
    phi = param.Number(default=100.0, bounds=(0.0, 180.0), step=0.1, label="φ, the line's angle (°)",
                       doc="The line through 0 at angle φ: a point of Gr₁(ℝ²) (φ and φ + 180° are one line).")
    space_s1 = param.Number(default=3.0, bounds=(0.1, 4.0), step=0.01, label="σ₁",
                            doc="Largest singular value of the 3-D data.")
    space_s2 = param.Number(default=2.0, bounds=(0.1, 4.0), step=0.01, label="σ₂")
    space_s3 = param.Number(default=1.0, bounds=(0.1, 4.0), step=0.01, label="σ₃")
    seed = param.Integer(default=1, bounds=(0, 9999), label="rotation seed",
                         doc="Seed of the random rotation that places the principal directions.")
    m = param.Integer(default=4, bounds=(2, 6), label="m (ambient dimension)")
    k = param.Integer(default=2, bounds=(1, 5), label="k (subspace dimension, k < m)")
    sigma = param.String(default=DEFAULT_SPECTRUM, label="σ₁, σ₂, … (the first m are used)",
                         doc="Singular values for the table's losses.")
    show3d = param.Boolean(default=False, label="Show 3-D sphere", doc="RP² drawn on the sphere S² too.")

    URL_PARAMS = ["plane_s1", "plane_s2", "plane_angle", "phi", "space_s1", "space_s2", "space_s3",
                  "seed", "m", "k", "sigma", "show3d"]

    # ---------------------------------------------------------------- Gr₁(ℝ²)
    def plane_data(self) -> np.ndarray:
        """A 2 × n cloud with singular values σ₁, σ₂ along axes rotated by the angle."""
        return grassmann.principal_data([self.plane_s1, self.plane_s2], _rotation(self.plane_angle),
                                        PLANE_SAMPLES, PLANE_SEED)

    def plane_critical(self, X):
        """(φ in degrees, critical point) for each critical line, index 0 first."""
        return [(_angle_of_line(p.direction), p) for p in grassmann.gr1_critical_points(X)]

    def plane_flow(self, X) -> np.ndarray:
        """φ (degrees, unwrapped so it moves continuously) along the negative gradient flow from
        the current φ, ``FLOW_FRAMES`` + 1 samples; constant when σ₁ = σ₂ (nothing flows)."""
        points = grassmann.gr1_critical_points(X)
        gap = points[0].eigenvalue - points[1].eigenvalue
        phi = math.radians(self.phi)
        if gap <= 1e-12 * max(points[0].eigenvalue, 1e-300):
            return np.full(FLOW_FRAMES + 1, self.phi)
        path = grassmann.gr1_flow(X, [math.cos(phi), math.sin(phi)], FLOW_FRAMES, FLOW_TIME / gap / FLOW_FRAMES)
        angles = np.unwrap(2.0 * np.arctan2(path[:, 1], path[:, 0])) / 2.0  # lines: period π
        return np.degrees(angles - angles[0] + phi)

    # ---------------------------------------------------------------- Gr₁(ℝ³)
    def space_directions(self) -> np.ndarray:
        """A random rotation (its columns are u₁, u₂, u₃) drawn from the seed."""
        return landscape.random_data(3, 4, [3.0, 2.0, 1.0], self.seed)[1]

    def space_data(self) -> np.ndarray:
        return grassmann.principal_data([self.space_s1, self.space_s2, self.space_s3],
                                        self.space_directions(), SPACE_SAMPLES, 0)

    def disk_loss(self, X) -> tuple[np.ndarray, np.ndarray]:
        """L_X on a DISK_N × DISK_N grid of the disk model (rows along b), NaN outside, and the
        mask of the inside."""
        t = np.linspace(-1.0, 1.0, DISK_N)
        a, b = np.meshgrid(t, t)
        inside = a * a + b * b <= 1.0
        loss = np.full(a.shape, np.nan)
        loss[inside] = grassmann.gr1_loss(X, grassmann.disk_to_sphere(a[inside], b[inside]))
        return loss, inside

    def streamlines(self, X) -> np.ndarray:
        """Paths of the negative gradient flow on the sphere from spread-out starts, shape
        (STREAM_STEPS + 1, STREAM_STARTS, 3)."""
        variances = np.array([p.eigenvalue for p in grassmann.gr1_critical_points(X)])
        gaps = -np.diff(np.sort(variances)[::-1])
        floor = 1e-6 * max(variances.max(), 1e-300)
        scale = gaps[gaps > floor].min() if (gaps > floor).any() else max(floor, 1e-12)  # all equal: no flow
        return grassmann.gr1_flow(X, _fibonacci_hemisphere(STREAM_STARTS), STREAM_STEPS,
                                  STREAM_TIME / scale / STREAM_STEPS)

    def space_counts(self, X):
        """(measured count per index 0, 1, 2, Betti numbers of RP², the critical points)."""
        points = grassmann.gr1_critical_points(X)
        counts = [sum(1 for p in points if p.index == d) for d in range(3)]
        return counts, grassmann.betti_numbers(3, 1), points

    # ---------------------------------------------------------------- Gr_k(ℝᵐ)
    def table_spectrum(self):
        """The first m singular values, or None when fewer than m were given."""
        sigma = parse_spectrum(self.sigma)
        return sigma[: self.m] if len(sigma) >= self.m else None

    def index_rows(self):
        return grassmann.index_table(self.m, self.k, self.table_spectrum())

    def index_counts(self) -> tuple[list[int], list[int]]:
        """Critical points per index d = 0 … k(m − k), and the F₂ Betti numbers."""
        rows = self.index_rows()
        betti = grassmann.betti_numbers(self.m, self.k)
        return [sum(1 for r in rows if r.index == d) for d in range(len(betti))], betti


# --------------------------------------------------------------------------- the page


def _cell(value) -> str:
    return html.escape(str(value))


class GrassmannPage(shell.Page):
    """Lays out ``GrassmannState`` and keeps the plots in step with it."""

    slug, title = "grassmannian", "Grassmannian"
    state_class = GrassmannState

    PLANE = {"plane_s1", "plane_s2", "plane_angle"}
    SPACE = {"space_s1", "space_s2", "space_s3", "seed"}
    TABLE = {"m", "k", "sigma"}

    def __init__(self, **overrides):
        self._spectrum_notice = spectrum_from_link(overrides)
        super().__init__(**overrides)
        st = self.state
        self.flow_callback = None
        self.flow_path: np.ndarray | None = None
        self.flow_started = 0.0
        self._flowing = False  # True while the flow itself moves φ
        self.plane_X = st.plane_data()

    def settle(self, overrides):
        if self._spectrum_notice:
            self.notices.show(self._spectrum_notice)
        st = self.state
        if st.k >= st.m:
            self.notices.show(f"k must be smaller than m = {st.m}; using k = {st.m - 1}.")
            st.k = st.m - 1
        st.param.k.bounds = (1, st.m - 1)

    # ---------------------------------------------------------------- layout
    def build(self):
        st = self.state
        kinds = dict({n: shell.LiveFloatSlider for n in ("plane_s1", "plane_s2", "plane_angle", "phi",
                                                        "space_s1", "space_s2", "space_s3")},
                     seed=shell.LiveIntInput, m=shell.LiveIntSlider, k=shell.LiveIntSlider)
        self.widgets = {n: kind.from_param(st.param[n], width=175 if n != "seed" else 130)
                        for n, kind in kinds.items()}

        def controls(*names, extra=()):
            # a row of fixed-width controls that wraps where the page is narrower than all of them
            return pn.Row(*(self.widgets[n] for n in names), *extra, sizing_mode="stretch_width",
                          styles=plots.WRAP)

        self.flow_button = pn.widgets.Button(label="▶ Flow φ down the gradient", color="primary",
                                             css_classes=["flow-button"], width=205, margin=(18, 10))
        self.flow_button.on_click(lambda e: self.guarded(self.toggle_flow))
        self.flow_status = panes.HTML("", css_classes=["flow-status"], sizing_mode="stretch_width",
                                      styles={"font-size": "13px", "color": "#444"})
        self._build_plane()
        self.cloud_pane, self.curve_pane, self.circle_pane = (
            plots.scaled(fig) for fig in (self.cloud_fig, self.curve_fig, self.circle_fig))

        self.show3d = shell.LiveToggle.from_param(st.param.show3d, css_classes=["show-3d"], width=180,
                                                  margin=(18, 10))
        self.sphere = PlotlyFigure(plot_height=520, sizing_mode="stretch_width", fixed=SPHERE_XYZ,
                                   css_classes=["sphere-3d"])
        self.space_summary = panes.HTML("", css_classes=["space-counts"], stylesheets=[plots.TABLE_CSS],
                                        sizing_mode="stretch_width")
        self._build_space()
        self.disk_pane = plots.scaled(self.disk_fig)

        self.spectrum_input = shell.LiveTextInput(label=st.param.sigma.label, value=st.sigma, width=280,
                                                   css_classes=["spectrum-input"])
        self.spectrum_input.param.watch(self._spectrum_typed, "value")
        self.table = panes.HTML("", css_classes=["index-table-pane"], stylesheets=[plots.TABLE_CSS],
                                sizing_mode="stretch_width")
        self.betti = panes.HTML("", css_classes=["betti-table-pane"], stylesheets=[plots.TABLE_CSS],
                                sizing_mode="stretch_width")

        main = pn.Column(
            plots.heading("1 · Gr₁(ℝ²): lines through the origin in the plane",
                     "Each line at angle φ leaves residuals (red); L_X(φ) is their total square. "
                     "The best line is u₁ (index 0, a minimum), the worst is u₂ (index 1, a maximum)."),
            controls("plane_s1", "plane_s2", "plane_angle", "phi", extra=[self.flow_button]),
            self.flow_status,
            # three plots side by side from a 1280-pixel screen with the sidebar open, growing with it
            plots.wrapping_row(plots.share(self.cloud_pane, basis=280, max_width=520),
                               plots.share(self.curve_pane, basis=300, max_width=560),
                               plots.share(self.circle_pane, basis=280, max_width=520)),
            plots.heading("2 · Gr₁(ℝ³) = RP²: lines through the origin in space",
                     "A line is a point on the upper hemisphere, seen from above: the disk. Lines in the "
                     "horizontal plane meet the rim twice, so antipodal rim points are the same line. "
                     "The white streamlines follow the negative gradient flow down to u₁."),
            controls("space_s1", "space_s2", "space_s3", "seed", extra=[self.show3d]),
            plots.wrapping_row(plots.share(self.disk_pane, basis=420, max_width=720), plots.share(
                self.space_summary, panes.HTML(
                '<div style="font-size:13px;color:#444;max-width:420px;line-height:1.45">'
                "<b>How to read it.</b> Every point of the disk is a line through the origin. The "
                "● at index 0 is u₁, the best line: every flow line ends there. The ▲ at index 1 is "
                "u₂, a saddle: flow lines come in along one curve and leave along another. The ■ at "
                "index 2 is u₃, the worst line, where flow lines start. A flow line that reaches the "
                "rim re-enters at the opposite point.</div>", sizing_mode="stretch_width"),
                basis=300, max_width=460)),
            self.sphere,
            plots.heading("3 · Gr_k(ℝᵐ): every principal subspace and its Morse index",
                     "The critical points of L_X are the subspaces spanned by k principal directions "
                     "u_i, i ∈ I. Index d_I = #{(i, j): i ∈ I, j ∉ I, j < i} counts the ways to swap a kept "
                     "direction for a better one; the counts per index are the F₂ Betti numbers."),
            controls("m", "k", extra=[self.spectrum_input]),
            plots.wrapping_row(plots.share(self.table, basis=440, max_width=720),
                               plots.share(self.betti, basis=300, max_width=560)),
            sizing_mode="stretch_width")

        sidebar = pn.Column(panes.HTML(
            "<p><b>PCA as a Morse function.</b> On the Grassmannian Gr_k(ℝᵐ) of k-dimensional subspaces "
            "(projections P = P² = Pᵀ, tr P = k), the loss</p><p>L_X(P) = ‖X − PX‖²_F</p>"
            "<p>has one critical point per choice of k principal directions. Its Morse index — the "
            "number of descending directions, measured here from the Hessian — counts the better "
            "directions left out. Every index occurs exactly as often as the F₂ Betti number says: "
            "L_X is a <i>perfect</i> Morse function (Kunin et al., ICML 2019, §5).</p>"
            "<p>● minimum (index 0)  ▲ saddle  ■ maximum</p>",
            styles={"font-size": "13px"}, margin=(0, 10), sizing_mode="stretch_width"), sizing_mode="stretch_width")
        self.redraw(None)
        return sidebar, main

    def compact(self, focus: str = "plane"):
        """Embed mode and the lecture: Gr₁(ℝ²) (``focus="plane"``: the line through the cloud,
        L_X(φ) and the circle, φ and the flow) or RP² (``"disk"``: the disk model and its
        critical points per index)."""
        w = self.widgets
        if focus == "disk":
            self.space_summary.param.update(sizing_mode=None, width=330)
            return pn.Column(pn.Row(w["space_s1"], w["space_s2"], w["space_s3"], w["seed"], margin=0),
                             pn.Row(plots.fixed(pn.pane.Bokeh(self.disk_fig), 470, 450), self.space_summary,
                                    margin=0), margin=0)
        figs = [plots.fixed(pn.pane.Bokeh(fig), size, size)
                for fig, size in ((self.cloud_fig, 300), (self.curve_fig, 320), (self.circle_fig, 300))]
        return pn.Column(pn.Row(w["plane_s1"], w["plane_s2"], w["phi"], self.flow_button, margin=0),
                         self.flow_status, pn.Row(*figs, margin=0), margin=0)

    def _build_plane(self):
        self.cloud_fig = fig = plots.titled_figure("The data and the line at φ", 340, 340, match_aspect=True,
                                       x_range=Range1d(-1, 1), y_range=Range1d(-1, 1),
                                       x_axis_label="x₁", y_axis_label="x₂")
        self.axes = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[], color=[]))
        fig.segment("x0", "y0", "x1", "y1", source=self.axes, line_color="color", line_dash="dashed",
                    line_width=1.5, line_alpha=0.8)
        self.residuals = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        fig.segment("x0", "y0", "x1", "y1", source=self.residuals, line_color="#d62728", line_alpha=0.55,
                    line_width=1.2)
        self.line = ColumnDataSource(dict(x=[], y=[]))
        fig.line("x", "y", source=self.line, line_color="#23395d", line_width=3)
        self.cloud = ColumnDataSource(dict(x=[], y=[]))
        fig.scatter("x", "y", source=self.cloud, size=6, fill_color="#4a6fa5", line_color="white", line_width=0.5)
        self.axis_labels = ColumnDataSource(dict(x=[], y=[], text=[], color=[]))
        fig.add_layout(LabelSet(x="x", y="y", text="text", source=self.axis_labels, text_color="color",
                                text_font_size="12px", text_font_style="bold", x_offset=3, y_offset=3))
        self.cloud_loss = Label(x=8, y=8, x_units="screen", y_units="screen", text="", text_font_size="12px",
                                background_fill_color="white", background_fill_alpha=0.8)
        fig.add_layout(self.cloud_loss)

        self.curve_fig = fig = plots.titled_figure("L_X(φ) and its gradient flow on RP¹", 360, 340,
                                       x_range=Range1d(0, 180), y_range=Range1d(0, 5),
                                       x_axis_label="φ (degrees)", y_axis_label="L_X(φ) = ‖X − uuᵀX‖²")
        fig.xaxis.ticker = [0, 30, 60, 90, 120, 150, 180]
        self.curve = ColumnDataSource(dict(phi=np.degrees(PHI_GRID), loss=np.zeros_like(PHI_GRID)))
        fig.line("phi", "loss", source=self.curve, line_color="#23395d", line_width=2.5)
        self.phase_line = Span(location=0, dimension="width", line_color="#999", line_width=1)
        fig.add_layout(self.phase_line)
        self.curve_arrows = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        fig.add_layout(Arrow(end=VeeHead(size=7, fill_color="#555", line_color="#555"), source=self.curve_arrows,
                             x_start="x0", y_start="y0", x_end="x1", y_end="y1", line_color="#555",
                             line_width=1.5))
        self.curve_critical = ColumnDataSource({k: [] for k in ("phi", "loss", "marker", "color", "label",
                                                                "type", "index", "eig")})
        crit = fig.scatter("phi", "loss", source=self.curve_critical, marker="marker", fill_color="color",
                           line_color="white", size=14)
        fig.add_layout(LabelSet(x="phi", y="loss", text="label", source=self.curve_critical, text_font_size="11px",
                                text_align="center", y_offset=10))
        fig.add_tools(HoverTool(renderers=[crit], tooltips=[("φ", "@phi{0.0}°"), ("L_X", "@loss{0.000}"),
                                                            ("type", "@type"), ("Morse index", "@index"),
                                                            ("Hessian eigenvalue", "@eig")]))
        self.curve_now = ColumnDataSource(dict(phi=[], loss=[]))
        fig.scatter("phi", "loss", source=self.curve_now, size=10, fill_color="black", line_color="white")
        self.curve_marker = Span(location=0, dimension="height", line_color="#444", line_dash="dotted", line_width=1.5)
        fig.add_layout(self.curve_marker)

        self.circle_fig = fig = plots.titled_figure("RP¹ as a circle: the line at φ is at angle 2φ", 340, 340,
                                        match_aspect=True, x_range=Range1d(-1.6, 1.6), y_range=Range1d(-1.6, 1.6))
        fig.axis.visible = False
        fig.grid.visible = False
        self.ring_mapper = LinearColorMapper(palette=Viridis256, low=0, high=1)
        self.ring = ColumnDataSource(dict(start=[], end=[], loss=[]))
        fig.annular_wedge(x=0, y=0, inner_radius=0.82, outer_radius=1.0, start_angle="start", end_angle="end",
                          source=self.ring, fill_color={"field": "loss", "transform": self.ring_mapper},
                          line_color=None)
        fig.add_layout(ColorBar(color_mapper=self.ring_mapper, width=8, title="L_X", padding=2), "right")
        ticks = ColumnDataSource(dict(x=[0.62, 0, -0.62, 0], y=[0, 0.62, 0, -0.62],
                                      text=["φ = 0°", "45°", "90°", "135°"]))
        fig.add_layout(LabelSet(x="x", y="y", text="text", source=ticks, text_align="center",
                                text_baseline="middle", text_font_size="10px", text_color="#888"))
        self.circle_arrows = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        fig.add_layout(Arrow(end=VeeHead(size=7, fill_color="#555", line_color="#555"), source=self.circle_arrows,
                             x_start="x0", y_start="y0", x_end="x1", y_end="y1", line_color="#555",
                             line_width=1.5))
        self.circle_critical = ColumnDataSource({k: [] for k in ("x", "y", "lx", "ly", "marker", "color", "label")})
        fig.scatter("x", "y", source=self.circle_critical, marker="marker", fill_color="color",
                    line_color="white", size=14)
        fig.add_layout(LabelSet(x="lx", y="ly", text="label", source=self.circle_critical, text_align="center",
                                text_baseline="middle", text_font_size="11px"))
        self.circle_now = ColumnDataSource(dict(x=[], y=[]))
        fig.line("x", "y", source=self.circle_now, line_color="#23395d", line_width=2)
        fig.scatter(x="x", y="y", source=ColumnDataSource(dict(x=[0], y=[0])), size=4, color="#23395d")
        self.circle_dot = ColumnDataSource(dict(x=[], y=[]))
        fig.scatter("x", "y", source=self.circle_dot, size=11, fill_color="black", line_color="white")

    def _build_space(self):
        self.disk_fig = fig = plots.titled_figure("L_X on RP², the disk model (upper hemisphere from above)", 520, 500,
                                      match_aspect=True, x_range=Range1d(-1.12, 1.12), y_range=Range1d(-1.18, 1.12),
                                      x_axis_label="a = x₁ of the line's unit vector (taken with x₃ ≥ 0)",
                                      y_axis_label="b = x₂")
        fig.grid.visible = False
        palette = (OUTSIDE,) + tuple(Viridis256[1:])
        self.disk_image = ColumnDataSource(dict(image=[np.zeros((DISK_N, DISK_N), np.uint8)], x=[-1], y=[-1],
                                                dw=[2], dh=[2]))
        fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.disk_image,
                  color_mapper=LinearColorMapper(palette=palette, low=0, high=255))
        self.disk_bar = LinearColorMapper(palette=Viridis256, low=0, high=1)
        fig.add_layout(ColorBar(color_mapper=self.disk_bar, width=10, title="L_X", padding=4), "right")
        t = np.linspace(0, 2 * np.pi, 241)
        fig.line(np.cos(t), np.sin(t), line_color="#23395d", line_width=2, line_dash="dashed")
        fig.add_layout(Label(x=0, y=-1.16, text="rim: antipodal points are the same line (identified)",
                             text_align="center", text_font_size="11px", text_color="#23395d"))
        self.streams = ColumnDataSource(dict(xs=[], ys=[]))
        fig.multi_line("xs", "ys", source=self.streams, line_color="white", line_alpha=0.75, line_width=1.3)
        self.stream_arrows = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        fig.add_layout(Arrow(end=VeeHead(size=7, fill_color="white", line_color="white"), source=self.stream_arrows,
                             x_start="x0", y_start="y0", x_end="x1", y_end="y1", line_color="white", line_alpha=0))
        self.disk_critical = ColumnDataSource({k: [] for k in ("x", "y", "marker", "color", "label", "type",
                                                               "index", "loss", "eig")})
        crit = fig.scatter("x", "y", source=self.disk_critical, marker="marker", fill_color="color",
                           line_color="white", size=16)
        fig.add_layout(LabelSet(x="x", y="y", text="label", source=self.disk_critical, text_font_size="12px",
                                text_font_style="bold", text_color="white", x_offset=9, y_offset=4,
                                background_fill_color="#23395d", background_fill_alpha=0.6))
        fig.add_tools(HoverTool(renderers=[crit], tooltips=[("", "@label"), ("type", "@type"),
                                                            ("Morse index", "@index"), ("L_X", "@loss{0.000}"),
                                                            ("Hessian eigenvalues", "@eig")]))

    # ---------------------------------------------------------------- redraw
    def redraw(self, changed):
        """Repaint the sections whose parameters changed (all of them when ``changed`` is None)."""
        everything = self.PLANE | self.SPACE | self.TABLE | {"phi", "show3d"}
        changed = set(changed) if changed is not None else everything
        if "phi" in changed and not self._flowing and self.flow_callback is not None:
            self.stop_flow("stopped: φ was moved")
        if changed & self.PLANE:
            if self.flow_callback is not None:
                self.stop_flow("stopped: the data changed")
            self.plane_X = self.state.plane_data()
            self._draw_plane()
        if changed & (self.PLANE | {"phi"}):
            self._draw_line()
        if changed & self.SPACE:
            self._draw_space()
        if changed & (self.SPACE | {"show3d"}):
            self.sphere.shown = self.state.show3d
            if self.state.show3d:
                self._draw_sphere()
        if changed & self.TABLE:
            self._draw_table()

    def _draw_plane(self):
        st, X = self.state, self.plane_X
        reach = 1.15 * float(np.abs(X).max())
        self.cloud_fig.x_range.update(start=-reach, end=reach)
        self.cloud_fig.y_range.update(start=-reach, end=reach)
        self.cloud.data = dict(x=X[0], y=X[1])
        critical = st.plane_critical(X)
        # the principal axes, named by their measured index: u₁ is the minimum's line
        U = np.array([p.direction for _, p in critical]).T
        colors = ["#2ca02c", "#d62728"]
        self.axes.data = dict(x0=-reach * U[0], y0=-reach * U[1], x1=reach * U[0], y1=reach * U[1], color=colors)
        self.axis_labels.data = dict(x=0.85 * reach * U[0], y=0.85 * reach * U[1], text=["u₁", "u₂"], color=colors)

        loss, slope = grassmann.gr1_circle(X, PHI_GRID)
        lo, hi = float(loss.min()), float(loss.max())
        span = max(hi - lo, 1e-6 * max(hi, 1.0), 1e-9)
        self.curve.data = dict(phi=np.degrees(PHI_GRID), loss=loss)
        base = lo - 0.22 * span
        self.curve_fig.y_range.update(start=lo - 0.3 * span, end=hi + 0.22 * span)
        self.phase_line.location = base
        a_loss, a_slope = grassmann.gr1_circle(X, ARROW_PHI)
        size = np.abs(a_slope) / max(float(np.abs(a_slope).max()), 1e-300)
        step = -np.sign(a_slope) * 7.0 * size  # degrees, along −dL/dφ
        keep = size > 0.05
        self.curve_arrows.data = dict(x0=np.degrees(ARROW_PHI[keep]) - step[keep] / 2, y0=np.full(keep.sum(), base),
                                      x1=np.degrees(ARROW_PHI[keep]) + step[keep] / 2, y1=np.full(keep.sum(), base))
        cols = {k: [] for k in self.curve_critical.data}
        ring = {k: [] for k in self.circle_critical.data}
        for phi, p in critical:
            kind = "saddle" if p.flat else INDEX_NAMES[2 if p.index else 0]  # flat: σ₁ = σ₂
            copies = [phi, 180.0] if phi < 1e-9 else [phi]
            for c in copies:
                cols["phi"].append(c)
                cols["loss"].append(p.loss)
                cols["marker"].append(plots.MARKERS[kind])
                cols["color"].append(plots.COLORS[kind])
                cols["label"].append(f"index {p.index}")
                cols["type"].append(kind if not p.flat else "degenerate (σ₁ = σ₂)")
                cols["index"].append(p.index)
                cols["eig"].append(", ".join(f"{e:.3g}" for e in p.hessian_eigenvalues))
            angle = 2.0 * math.radians(phi)
            name = "u₁" if p.index == 0 else "u₂"
            ring["x"].append(0.91 * math.cos(angle))
            ring["y"].append(0.91 * math.sin(angle))
            ring["lx"].append(1.33 * math.cos(angle))
            ring["ly"].append(1.33 * math.sin(angle))
            ring["marker"].append(plots.MARKERS[kind])
            ring["color"].append(plots.COLORS[kind])
            ring["label"].append(f"{name} · index {p.index}")
        self.curve_critical.data = cols
        self.circle_critical.data = ring

        edges = np.linspace(0.0, 2.0 * np.pi, 181)
        mid_phi = (edges[:-1] + edges[1:]) / 4.0  # angle 2φ on the circle
        ring_loss, _ = grassmann.gr1_circle(X, mid_phi)
        self.ring.data = dict(start=edges[:-1], end=edges[1:] + 0.002, loss=ring_loss)
        self.ring_mapper.update(low=lo, high=lo + span)
        alpha = 2.0 * ARROW_PHI
        r, length = 1.12, 0.32 * size  # −dL/dφ > 0 moves φ, and so 2φ, counter-clockwise
        direction = -np.sign(a_slope)
        tx, ty = -np.sin(alpha) * direction, np.cos(alpha) * direction
        cx, cy = r * np.cos(alpha), r * np.sin(alpha)
        self.circle_arrows.data = dict(x0=(cx - tx * length / 2)[keep], y0=(cy - ty * length / 2)[keep],
                                       x1=(cx + tx * length / 2)[keep], y1=(cy + ty * length / 2)[keep])

    def _draw_line(self):
        st, X = self.state, self.plane_X
        phi = math.radians(st.phi)
        u = np.array([math.cos(phi), math.sin(phi)])
        reach = self.cloud_fig.x_range.end * 1.5
        self.line.data = dict(x=[-reach * u[0], reach * u[0]], y=[-reach * u[1], reach * u[1]])
        projection = grassmann.gr1_projection(X, u)
        self.residuals.data = dict(x0=X[0], y0=X[1], x1=projection[0], y1=projection[1])
        loss, slope = grassmann.gr1_circle(X, phi)
        self.cloud_loss.text = f"L_X(φ = {st.phi:.1f}°) = {loss:.3f}"
        self.curve_now.data = dict(phi=[st.phi], loss=[loss])
        self.curve_marker.location = st.phi
        angle = 2.0 * phi
        self.circle_now.data = dict(x=[0, 0.82 * math.cos(angle)], y=[0, 0.82 * math.sin(angle)])
        self.circle_dot.data = dict(x=[0.91 * math.cos(angle)], y=[0.91 * math.sin(angle)])

    def _draw_space(self):
        st = self.state
        X = self.space_X = st.space_data()
        loss, inside = st.disk_loss(X)
        lo, hi = float(np.nanmin(loss)), float(np.nanmax(loss))
        span = hi - lo if hi > lo else 1.0
        index = np.zeros(loss.shape, np.uint8)  # 0 = outside (transparent), 1 … 255 = loss
        index[inside] = 1 + np.clip((loss[inside] - lo) * (254.0 / span), 0, 254).astype(np.uint8)
        self.disk_image.data = dict(image=[index], x=[-1], y=[-1], dw=[2], dh=[2])
        self.disk_bar.update(low=lo, high=lo + span)

        paths = self.paths = st.streamlines(X)
        a, b = grassmann.sphere_to_disk(paths)
        xs, ys, arrows = [], [], {k: [] for k in ("x0", "y0", "x1", "y1")}
        for j in range(paths.shape[1]):
            keep = _thin(paths[:, j])
            pa, pb = _break_jumps(a[keep, j], b[keep, j])
            xs.append(pa)
            ys.append(pb)
            # an arrowhead a third of the way along the path's length (where it still moves)
            step = np.hypot(np.diff(a[:, j]), np.diff(b[:, j]))
            step[step > 0.6] = 0
            total = step.sum()
            if total > 0.08:
                i = int(np.searchsorted(np.cumsum(step), total / 3))
                arrows["x0"].append(a[i, j])
                arrows["y0"].append(b[i, j])
                arrows["x1"].append(a[i + 1, j])
                arrows["y1"].append(b[i + 1, j])
        self.streams.data = dict(xs=xs, ys=ys)
        self.stream_arrows.data = arrows

        counts, betti, points = st.space_counts(X)
        cols = {k: [] for k in self.disk_critical.data}
        for p, name in zip(points, ("u₁", "u₂", "u₃")):
            kind = INDEX_NAMES.get(p.index, "saddle") if not p.flat else "saddle"
            pa, pb = grassmann.sphere_to_disk(p.direction)
            copies = [(pa, pb), (-pa, -pb)] if abs(p.direction[2]) < 1e-9 else [(pa, pb)]
            for ca, cb in copies:
                cols["x"].append(float(ca))
                cols["y"].append(float(cb))
                cols["marker"].append(plots.MARKERS[kind])
                cols["color"].append(plots.COLORS[kind])
                cols["label"].append(f"index {p.index}")
                cols["type"].append(kind if not p.flat else "degenerate (repeated σ)")
                cols["index"].append(p.index)
                cols["loss"].append(p.loss)
                cols["eig"].append(", ".join(f"{e:.3g}" for e in p.hessian_eigenvalues))
        self.disk_critical.data = cols
        self.space_summary.object = self._space_summary(counts, betti, points)

    def _space_summary(self, counts, betti, points) -> str:
        head = "".join(f"<th>{d}</th>" for d in range(3))
        rows = ('<tr class="measured"><th>critical points (Hessian)</th>'
                + "".join(f"<td>{c}</td>" for c in counts) + "</tr>"
                + '<tr class="betti"><th>F₂ Betti number b_d of RP²</th>'
                + "".join(f"<td>{b}</td>" for b in betti) + "</tr>")
        if any(p.flat for p in points):
            verdict = ("Two σ's are equal: the Hessian has flat directions, so L_X is not a Morse function "
                       "here and the counts need not match.")
        elif counts == list(betti):
            verdict = "Equal: one critical point per index, as the F₂ Betti numbers 1, 1, 1 of RP² demand."
        else:
            verdict = "The counts differ from the Betti numbers."
        listing = "".join(
            f"<tr><th>index {p.index}: ±u{plots.sub(i + 1)}</th><td>σ² = {p.eigenvalue:.3g}</td>"
            f"<td>L_X = {p.loss:.3g}</td></tr>" for i, p in enumerate(points))
        return (f'<table class="lae-table space-count-table"><thead><tr><th>Morse index d</th>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>"
                f'<div style="font-size:13px;color:#333;max-width:320px;margin:4px 0 10px 0">'
                f"{html.escape(verdict)}</div>"
                f'<table class="lae-table"><tbody>{listing}</tbody></table>')

    def _draw_sphere(self):
        """The same loss on the whole sphere (both lifts of every line), with the flow lines."""
        st, X = self.state, self.space_X
        arrays = dict(loss=float32(grassmann.gr1_loss(X, SPHERE_U)))  # the grid: self.sphere.fixed
        data = [dict(type="surface", x="@x", y="@y", z="@z", surfacecolor="@loss", colorscale="Viridis",
                     showscale=True, colorbar=dict(title=dict(text="L_X"), len=0.7), hoverinfo="skip")]
        # each flow line thinned like the disk's, NaN between lines (a gap), on both lifts u and −u
        gap = np.full((1, 3), np.nan)
        lines = np.concatenate([part for j in range(self.paths.shape[1])
                                for part in (self.paths[_thin(self.paths[:, j]), j], gap)])
        for sign, name in ((1, "up"), (-1, "down")):
            for axis, coord in enumerate("xyz"):
                arrays[f"{name}_{coord}"] = float32(1.005 * sign * lines[:, axis])
            data.append(dict(type="scatter3d", mode="lines", x=f"@{name}_x", y=f"@{name}_y", z=f"@{name}_z",
                             hoverinfo="skip", line=dict(color="white", width=2), showlegend=False))
        counts, betti, points = st.space_counts(X)
        for p, name in zip(points, ("u₁", "u₂", "u₃")):
            kind = INDEX_NAMES.get(p.index, "saddle")
            d = np.round(1.03 * p.direction, 4)
            data.append(dict(type="scatter3d", mode="markers+text", x=[d[0], -d[0]], y=[d[1], -d[1]],
                             z=[d[2], -d[2]], text=[f"±{name}, index {p.index}", ""], textposition="top center",
                             marker=dict(size=6, color=plots.COLORS[kind]), name=f"index {p.index}",
                             showlegend=False))
        self.sphere.param.update(data=data, arrays=arrays, layout=SPHERE_LAYOUT)

    def _draw_table(self):
        st = self.state
        if st.k >= st.m:  # m was lowered below k: the table follows k < m
            st.param.k.bounds = (1, st.m - 1)
            st.k = st.m - 1
            return  # setting k redraws
        st.param.k.bounds = (1, st.m - 1)
        rows = st.index_rows()
        counts, betti = st.index_counts()
        spectrum = st.table_spectrum()
        has_loss = spectrum is not None
        body = []
        for row in rows:
            subspace = ", ".join(f"u{plots.sub(i + 1)}" for i in row.I)
            kept = "{" + ", ".join(str(i + 1) for i in row.I) + "}"
            loss = f"{row.loss:.4g}" if row.loss is not None else "—"
            body.append(f'<tr class="index-row{" highlight" if row.index == 0 else ""}">'
                        f'<td class="col-I">{_cell(kept)}</td><td class="col-span">span{{{_cell(subspace)}}}</td>'
                        f'<td class="col-index d-index">{row.index}</td><td class="col-loss">{_cell(loss)}</td></tr>')
        loss_head = "L_X = Σ σⱼ² over j ∉ I" if has_loss else "L_X (enter m values of σ)"
        caption = (f"Gr{plots.sub(st.k)}(ℝ{''.join('⁰¹²³⁴⁵⁶⁷⁸⁹'[int(c)] for c in str(st.m))}): dimension "
                   f"k(m − k) = {st.k * (st.m - st.k)}, C(m, k) = {len(rows)} critical points")
        self.table.object = (
            f'<div class="index-caption" style="font-size:13px;color:#23395d;font-weight:600;margin:6px 0">'
            f"{html.escape(caption)}</div>"
            f'<table class="lae-table index-table"><thead><tr><th>I</th><th>subspace</th>'
            f"<th>index d_I</th><th>{html.escape(loss_head)}</th></tr></thead>"
            f'<tbody>{"".join(body)}</tbody></table>')
        head = "".join(f"<th>{d}</th>" for d in range(len(betti)))
        same = counts == list(betti)
        verdict = ("Equal for every d: L_X is an F₂-perfect Morse function." if same
                   else "The counts differ from the Betti numbers.")
        self.betti.object = (
            '<div style="font-size:13px;color:#23395d;font-weight:600;margin:6px 0">Critical points per index '
            "against the F₂ Betti numbers</div>"
            f'<table class="lae-table betti-table"><thead><tr><th>index d</th>{head}</tr></thead><tbody>'
            '<tr class="counts"><th>critical points</th>' + "".join(f"<td>{c}</td>" for c in counts) + "</tr>"
            '<tr class="betti"><th>b_d of Gr_k(ℝᵐ)</th>' + "".join(f"<td>{b}</td>" for b in betti) + "</tr>"
            '</tbody></table><div class="betti-verdict" style="font-size:13px;color:#333">'
            f"{html.escape(verdict)}</div>")

    # ---------------------------------------------------------------- spectrum input
    def _spectrum_typed(self, event):
        take_spectrum(self, event.new, f"The table keeps σ = {self.state.sigma}.")

    # ---------------------------------------------------------------- flow
    def toggle_flow(self):
        if self.flow_callback is not None:
            self.stop_flow("stopped")
        else:
            self.start_flow()

    def start_flow(self, now: float | None = None):
        """Animate φ along the negative gradient flow over ``FLOW_SECONDS``."""
        path = self.state.plane_flow(self.plane_X)
        if abs(path[-1] - path[0]) < 0.05:
            self.flow_status.object = plots.status(
                "Nothing to flow: φ is already at a critical line (or σ₁ = σ₂, where every line is critical). "
                "Move φ off it and press Flow again.")
            return
        self.flow_path = path
        now = time.monotonic() if now is None else now
        self.flow_button.label = "■ Stop the flow"
        self.flow_status.object = plots.status(
            f"Flowing from φ = {path[0] % 180:.1f}° along −grad L_X towards u₁ …")
        # the first step is drawn at once, in the reply to the click (the clock starts a frame
        # back); the periodic callback's first call would only come a period later
        self.flow_started = now - FLOW_SECONDS / FLOW_FRAMES
        # through guarded: φ's slider and the redraw reach the browser as one message
        self.flow_callback = pn.state.add_periodic_callback(lambda: self.guarded(self.flow_tick),
                                                            period=FLOW_PERIOD_MS)
        self.flow_tick(now)

    def flow_tick(self, now: float | None = None):
        if self.flow_path is None:
            return
        elapsed = (time.monotonic() if now is None else now) - self.flow_started
        frame = min(int(round(FLOW_FRAMES * elapsed / FLOW_SECONDS)), FLOW_FRAMES)
        # to the slider's step: a value off its grid would be snapped by the browser and echoed back
        phi = round(float(self.flow_path[frame]) % 180.0, 1)
        if phi >= 180.0:
            phi = 0.0
        self._flowing = True
        try:
            self.state.phi = phi
        finally:
            self._flowing = False
        if frame >= FLOW_FRAMES:
            self.stop_flow(f"arrived: φ = {phi:.1f}°, the first principal direction u₁ (index 0)")

    def stop_flow(self, why: str | None = None):
        if self.flow_callback is not None:
            self.flow_callback.stop()
            self.flow_callback = None
        self.flow_path = None
        self.flow_button.label = "▶ Flow φ down the gradient"
        if why:
            self.flow_status.object = plots.status(f"Flow {why}.")


#: the page class the registry (app.pages) names
PAGE = GrassmannPage


def create(**kwargs):
    """Build one session's page (Panel calls this once per visitor)."""
    return GrassmannPage(**kwargs).view()
