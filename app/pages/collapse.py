"""The Posterior-collapse page: the poster's example X = [x] as λ sweeps past x², a spectrum
whose directions collapse one by one, LAEs actually trained on that spectrum, and the reading
of the sum-loss decoder as probabilistic PCA.

State lives in ``CollapseState`` (its parameters carry bounds and labels, and are the URL);
its methods turn the state into the numbers the plots show by calling ``lae_core.collapse``,
``lae_core.scalar`` and ``lae_core.solvers`` — this module computes no formula itself.
``CollapsePage`` builds the Bokeh figures once and only replaces their data afterwards.
"""

from __future__ import annotations

import functools
import html
import time

import numpy as np
import panel as pn
import param
from bokeh.models import (ColumnDataSource, FixedTicker, HoverTool, Label, LabelSet, Legend, Range1d,
                          Span)

from app import panes, plots, shell
from app.spectrum import DEFAULT_SPECTRUM, format_spectrum, parse_spectrum, spectrum_from_link, take_spectrum
from lae_core import collapse, landscape, scalar, solvers

#: the poster's example: w on the diagonal, the λ range of the bifurcation diagram, the sweep
EXAMPLE_W = np.linspace(-1.4, 1.4, 281)
LAM_MAX = 10.0
LAM_GRID = np.linspace(0.0, LAM_MAX, 201)
LAM_GRID.setflags(write=False)  # shared by every session (and the cached bifurcation rows)
#: λ runs 0 → SWEEP_END in SWEEP_SECONDS of wall-clock time, a frame every SWEEP_PERIOD_MS (on a
#: busy server frames are dropped, never time: the sweep always takes SWEEP_SECONDS). A frame
#: repaints every plot of the page, 60-80 ms in the browser: at one frame per 50 ms the frames
#: queued up behind each other; at 100 ms each is painted before the next arrives.
SWEEP_END, SWEEP_SECONDS, SWEEP_PERIOD_MS = 6.0, 6.0, 100


#: colour and legend of each loss's shrinkage curve (the paper's figure)
LOSS_STYLE = {
    "sum": ("#6a3d9a", "L_σ (sum): max(0, 1 − λ/σ²)"),
    "product": ("#1f77b4", "L_π (product): 1 / (1 + λ/σ²)"),
    "unregularized": ("#7f7f7f", "L (unregularized): 1"),
}
LOSS_SYMBOL = {"sum": "L_σ", "product": "L_π", "unregularized": "L"}
COLLAPSED_COLOR = "#b0b0b0"

#: the Train button: samples, seed, steps per chunk (one periodic tick) and at most per loss
TRAIN_SAMPLES, TRAIN_SEED, TRAIN_CHUNK, TRAIN_PERIOD_MS = 60, 0, 500, 20
TRAIN_MAX_ITER = {"gradient": 6000, "exact": 3000}
TRAIN_TOL = 1e-9

#: the figures' width : height as made; on the page they take the width there is (``plots.scaled``)
FIGURE_WIDTH, FIGURE_HEIGHT = 525, 340

#: the Train button's solvers in the selector's words (the URL keeps the short names of
#: ``lae_core.solvers.METHODS``), and what each does in one line, under the selector
SOLVERS = {
    "untied_gd": "untied GD",
    "sync_gd": "sync GD",
    "tied_gd": "tied GD (Oja)",
    "exact_untied": "exact untied",
    "exact_sync": "exact sync",
    "exact_tied": "exact tied",
}
SOLVER_HELP = {
    "untied_gd": "Gradient descent: a step on the encoder W₁, then one on the decoder W₂ with the new W₁.",
    "sync_gd": "Gradient descent on W₁ and W₂ from the same point, started with W₁ = W₂ᵀ.",
    "tied_gd": "Gradient descent on one matrix W = W₂ = W₁ᵀ: the regularized Oja's rule.",
    "exact_untied": "Alternating exact minimisation: the best W₁ for this W₂, then the best W₂ for that W₁.",
    "exact_sync": "Each matrix set to the exact best decoder for the other (W₁ transposed), then W₁ and W₂ᵀ "
                  "averaged after each step.",
    "exact_tied": "Exact minimisation on one matrix W = W₂ = W₁ᵀ: W is replaced by the best decoder for Wᵀ.",
}


# --------------------------------------------------------------------------- texts


def count_text(points) -> str:
    """ "3 critical points" / "1 critical point" for the diagonal example."""
    n = len(points)
    return f"{n} critical point{'s' if n != 1 else ''}"


def describe_points(points) -> str:
    """Where the critical points of f(w) are, in words."""
    minima = [p.w for p in points if p.type == "minimum" and p.w != 0]
    origin = next(p for p in points if p.w == 0)
    parts = []
    if minima:
        parts.append(f"minima at w = ±{plots.number(max(minima))}")
    if origin.type == "maximum":
        parts.append("a maximum at w = 0 (a saddle of L_σ in the (w₁, w₂) plane)")
    else:
        parts.append(f"{'only ' if not minima else ''}a {origin.type} at w = 0")
    return "on the diagonal: " + ", ".join(parts)


# --------------------------------------------------------------------------- state


class CollapseState(param.Parameterized):
    """Everything the page shows is a function of these parameters (and they are the URL)."""

    lam = param.Number(default=1.5, bounds=(0.0, LAM_MAX), step=0.01, label="λ",
                       doc="Regularization strength λ ≥ 0, shared by the example and the spectrum.")
    x = param.Number(default=2.0, bounds=(0.5, 2.4), step=0.01, label="x (the data X = [x])",
                     doc="The scalar data of the poster's example; the minima merge at λ = x².")
    sigma = param.String(default=DEFAULT_SPECTRUM, label="Singular values σ₁, σ₂, … of the data",
                         doc="Comma-separated, at most 8 distinct positive numbers.")
    method = param.Selector(default="untied_gd", objects=list(solvers.METHODS), label="Solver for “Train”",
                            doc="Which of the six LAE-PCA solvers the Train button runs.")

    URL_PARAMS = ["lam", "x", "sigma", "method"]

    # ---------------------------------------------------------------- the poster's example
    def example_points(self, lam: float | None = None):
        return collapse.scalar_diagonal_critical_points(self.x, self.lam if lam is None else lam)

    def example_curve(self, lam: float | None = None) -> np.ndarray:
        """f(w) = L_σ(w, w) on ``EXAMPLE_W``."""
        return scalar.loss("sum", EXAMPLE_W, EXAMPLE_W, self.x, self.lam if lam is None else lam)

    def bifurcation_rows(self):
        """(λ, w, type) of every critical point of f over ``LAM_GRID``: they depend on x alone,
        so they are worked out once per x for every visitor (``_bifurcation``)."""
        return _bifurcation(self.x)

    def example_formula(self) -> str:
        x2, lam = self.x ** 2, self.lam
        head = (r"$f(w) = x^2(1-w^2)^2 + 2\lambda w^2$, $\frac{df}{dw} = 4w\,(x^2w^2 - x^2 + \lambda)$: "
                r"minima at $w = \pm\sqrt{1-\lambda/x^2}$ ")
        minima = [p.w for p in self.example_points() if p.type == "minimum" and p.w != 0]
        if minima:
            return head + rf"$= \pm {max(minima):.3g}$ while $\lambda = {lam:.3g} < x^2 = {x2:.3g}$"
        return head + rf"— none, since $\lambda = {lam:.3g} \geq x^2 = {x2:.3g}$: only $w = 0$ is left"

    # ---------------------------------------------------------------- the spectrum
    def spectrum(self) -> np.ndarray:
        return parse_spectrum(self.sigma)

    def survivors_text(self) -> str:
        sigma = self.spectrum()
        alive = collapse.surviving_count(sigma, self.lam)
        gone = [i for i, c in enumerate(np.atleast_1d(collapse.collapsed(sigma, self.lam))) if c]
        text = f"{alive} of {len(sigma)} directions survive"
        if gone:
            names = ", ".join(f"σ{plots.sub(i + 1)} = {sigma[i]:g}" for i in gone)
            text += f"; {len(gone)} collapsed (σ² ≤ λ = {self.lam:.2f}): {names}"
        else:
            text += f"; none collapsed (every σ² > λ = {self.lam:.2f})"
        return text

    def ppca_columns(self):
        """Per direction: σ, the LAE decoder's and pPCA's singular values (τ² = λ), collapsed."""
        sigma = self.spectrum()
        r = len(sigma)
        decoder = np.atleast_1d(collapse.decoder_singular_values(sigma, self.lam))
        ppca = np.linalg.norm(collapse.ppca_loading(np.eye(r), sigma, self.lam), axis=0)
        return sigma, decoder, ppca, np.atleast_1d(collapse.collapsed(sigma, self.lam))

    def ppca_formula(self) -> str:
        sigma, decoder, ppca, _ = self.ppca_columns()
        lam = self.lam
        i = 0  # the top direction, where both are largest
        return (r"$W_{\mathrm{pPCA}} = U(\Sigma^2 - \tau^2 I)_+^{1/2}$ with noise $\tau^2 = \lambda = "
                rf"{lam:.3g}$, and the LAE's $W_2 = U(I - \lambda\Sigma^{{-2}})_+^{{1/2}}$, so "
                r"$W_{\mathrm{pPCA}} = W_2\,\Sigma$: the same directions, the same collapse "
                rf"($\sigma_i^2 \leq \lambda$). Top direction: $\sqrt{{{sigma[i]:.3g}^2 - {lam:.3g}}} = "
                rf"{ppca[i]:.3f} = {decoder[i]:.3f} \times {sigma[i]:.3g}$.")


@functools.lru_cache(maxsize=512)
def _bifurcation(x: float) -> tuple:
    """``CollapseState.bifurcation_rows`` at this x (201 λ's of ``collapse.scalar_diagonal_critical_points``,
    ~50 ms: once per x, not on every x change); a tuple, which no caller can change for the others."""
    return tuple((float(lam), p.w, p.type) for lam in LAM_GRID
                 for p in collapse.scalar_diagonal_critical_points(x, lam))


# --------------------------------------------------------------------------- training


class Training:
    """One run of the Train button: an LAE per loss on data with the page's spectrum, advanced
    ``TRAIN_CHUNK`` solver steps at a time (one periodic tick), so the page stays responsive."""

    KINDS = ("sum", "product", "unregularized")

    def __init__(self, sigma: np.ndarray, lam: float, method: str):
        self.sigma, self.lam, self.method = np.asarray(sigma, float), float(lam), method
        m = len(self.sigma)
        self.X, self.U = landscape.random_data(m, TRAIN_SAMPLES, self.sigma, seed=TRAIN_SEED)
        self.max_iter = TRAIN_MAX_ITER["gradient" if method.endswith("_gd") else "exact"]
        self.weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.steps = {kind: 0 for kind in self.KINDS}
        self.outcome: dict[str, str] = {}
        self.current = 0

    @property
    def done(self) -> bool:
        return self.current >= len(self.KINDS)

    @property
    def progress(self) -> int:
        """Percent done, counting each loss as a third."""
        if self.done:
            return 100
        kind = self.KINDS[self.current]
        return int(100 * (self.current + self.steps[kind] / self.max_iter) / len(self.KINDS))

    def step(self) -> None:
        """Run the next chunk of the current loss's solver."""
        kind = self.KINDS[self.current]
        W1, W2 = self.weights.get(kind, (None, None))
        chunk = min(TRAIN_CHUNK, self.max_iter - self.steps[kind])
        run = solvers.solve(self.method, self.X, len(self.sigma), self.lam, W1=W1, W2=W2,
                            max_iter=chunk, tol=TRAIN_TOL, kind=kind, seed=TRAIN_SEED)
        self.weights[kind] = (run.W1[-1], run.W2[-1])
        self.steps[kind] += run.iterations
        if run.status == "diverged":
            self.outcome[kind] = f"{run.message}"
        elif run.status == "converged":
            self.outcome[kind] = f"converged after {self.steps[kind]} steps"
        elif run.status == "oscillating":
            self.outcome[kind] = f"oscillating after {self.steps[kind]} steps (the steps alternate)"
        elif self.steps[kind] >= self.max_iter:
            self.outcome[kind] = f"stopped after {self.steps[kind]} steps without converging"
        if kind in self.outcome:
            self.current += 1

    def measured(self) -> dict[str, np.ndarray]:
        """u_iᵀW₂W₁u_i per loss, and the sum-loss decoder's ‖W₂ᵀu_i‖ under "decoder"."""
        out = {kind: collapse.measured_shrinkage(*self.weights[kind], self.U)
               for kind in self.KINDS if kind in self.weights}
        if "sum" in self.weights:
            out["decoder"] = collapse.measured_decoder_singular_values(self.weights["sum"][1], self.U)
        return out

    def summary(self) -> str:
        m = len(self.sigma)
        runs = "; ".join(f"{LOSS_SYMBOL[k]} {self.outcome[k]}" for k in self.KINDS if k in self.outcome)
        return (f"Trained with {SOLVERS[self.method]} at λ = {self.lam:.2f} on {m} × {TRAIN_SAMPLES} data with exactly "
                f"these singular values, k = {m}: {runs}.")


# --------------------------------------------------------------------------- the page


def _figure(title: str, **kwargs):
    return plots.titled_figure(title, FIGURE_WIDTH, FIGURE_HEIGHT, **kwargs)


class CollapsePage(shell.Page):
    """Lays out ``CollapseState`` and keeps the plots in step with it."""

    slug, title = "collapse", "Posterior collapse"
    state_class = CollapseState

    def __init__(self, **overrides):
        spectrum_notice = spectrum_from_link(overrides)
        super().__init__(**overrides)
        if spectrum_notice:
            self.notices.show(spectrum_notice)
        self.sweep_callback = None
        self.training: Training | None = None
        self.train_callback = None
        self._sweeping = False  # True while the sweep itself moves λ
        self._labelled = None  # the spectrum the bar chart's axis labels show
        self._measured_shown = True  # measured dots (or the initial empty sources) to clear
        self.sweep_started = 0.0

    # ---------------------------------------------------------------- layout
    def build(self):
        st = self.state
        self.sliders = {name: shell.LiveFloatSlider.from_param(st.param[name], sizing_mode="stretch_width")
                        for name in ("lam", "x")}
        self.spectrum_input = shell.LiveTextInput(
            label=st.param.sigma.label, value=st.sigma, placeholder="e.g. 4, 3, 2, 1.5, 1, 0.5",
            sizing_mode="stretch_width", css_classes=["spectrum-input"])
        self.spectrum_input.param.watch(self._spectrum_typed, "value")
        self.method_select = shell.LiveSelect.from_param(  # words on screen, keys in the state and URL
            st.param.method, options={SOLVERS[m]: m for m in solvers.METHODS}, sizing_mode="stretch_width")
        self.method_help = panes.HTML("", css_classes=["method-help"], sizing_mode="stretch_width",
                                      styles={"font-size": "12.5px", "color": "#444", "line-height": "1.4"})
        sidebar = pn.Column(
            panes.HTML("<b>The poster's example and the spectrum share λ.</b>", margin=(5, 10),
                       sizing_mode="stretch_width"),
            self.sliders["lam"], self.sliders["x"], self.spectrum_input,
            panes.HTML("Up to 8 distinct positive values; press Enter or leave the box.",
                       styles={"font-size": "12px", "color": "#666"}, margin=(0, 10), sizing_mode="stretch_width"),
            self.method_select, self.method_help, sizing_mode="stretch_width")

        self._build_example()
        self._build_spectrum()
        self.sweep_button = pn.widgets.Button(label=f"▶ Sweep λ from 0 to {SWEEP_END:g}", color="primary",
                                              css_classes=["sweep-button"], width=220)
        self.sweep_button.on_click(lambda e: self.guarded(self.toggle_sweep))
        self.train_button = pn.widgets.Button(label="Train LAEs on this spectrum", color="primary",
                                              css_classes=["train-button"], width=240)
        self.train_button.on_click(lambda e: self.guarded(self.start_training))
        # shown and hidden with CSS visibility, keeping its place: toggling Panel's ``visible``
        # makes Bokeh lay the whole page out again (some 60 ms in the browser, on every λ change
        # that stops a training)
        # (in a box: Panel's Progress copies its own styles to the bar only when first drawn)
        self.progress = pn.indicators.Progress(value=0, max=100, width=200, bar_color="primary",
                                               css_classes=["train-progress"], margin=(14, 10))
        self.progress_box = pn.Column(self.progress, margin=0, styles={"visibility": "hidden"},
                                       css_classes=["train-progress-box"])
        self.train_status = panes.HTML("", css_classes=["train-status"], sizing_mode="stretch_width",
                                       styles={"font-size": "13px", "color": "#444"})
        self.count = panes.HTML("", css_classes=["collapse-count"], sizing_mode="stretch_width",
                                styles={"font-size": "15px"}, margin=(12, 10))
        self.formula = panes.LaTeX("", css_classes=["formula"], styles={"font-size": "14px"},
                                   sizing_mode="stretch_width")
        self.survivors = panes.HTML("", css_classes=["surviving-count"], sizing_mode="stretch_width",
                                    styles={"font-size": "15px"})
        self.ppca_formula = panes.LaTeX("", css_classes=["ppca-formula"], styles={"font-size": "14px"},
                                        sizing_mode="stretch_width")
        self.ppca_table = panes.HTML("", css_classes=["ppca-table"], stylesheets=[plots.TABLE_CSS])

        main = pn.Column(
            plots.heading("1 · The poster's example: X = [x]",
                     "The sum loss on the diagonal w₁ = w₂ = w. As λ grows past x² the two minima "
                     "±√(1 − λ/x²) slide into the origin and vanish: the weights collapse to 0."),
            pn.Row(self.sweep_button, self.count),
            # side by side from a 1280-pixel screen with the sidebar open, growing with it
            plots.wrapping_row(plots.share(plots.scaled(self.example_fig), basis=400, max_width=800),
                               plots.share(plots.scaled(self.bifurcation.figure), basis=400, max_width=800)),
            self.formula,
            plots.heading("2 · A spectrum: every direction with σᵢ² ≤ λ collapses",
                     "At the minimum of L_σ the decoder keeps direction i with singular value "
                     "√(1 − λ/σᵢ²)₊. The product loss only shrinks, the unregularized loss keeps everything."),
            self.survivors,
            pn.Row(self.train_button, self.progress_box),
            self.train_status,
            plots.wrapping_row(plots.share(plots.scaled(self.bars_fig), basis=400, max_width=800),
                               plots.share(plots.scaled(self.shrink_fig), basis=400, max_width=800)),
            plots.heading("3 · The probabilistic-PCA reading",
                     "Probabilistic PCA with noise variance τ² = λ collapses exactly the same directions."),
            self.ppca_formula, self.ppca_table,
            sizing_mode="stretch_width")
        self.redraw(None)
        return sidebar, main

    def compact(self, focus: str = "example"):
        """Embed mode and the lecture: the poster's example (``focus="example"``: f(w) beside
        the pitchfork, λ and the sweep) or the spectrum (``"spectrum"``: the decoder's singular
        values and the shrinkage curves, λ, the spectrum box and Train)."""
        lam = self.sliders["lam"]
        if focus == "spectrum":
            self.spectrum_input.param.update(width=230, sizing_mode=None)
            figs = (self.bars_fig, self.shrink_fig)
            head = pn.Row(lam, self.spectrum_input, self.train_button, self.progress_box, sizing_mode="stretch_width",
                          margin=0)
            extra = [self.survivors, self.train_status]
        else:
            figs = (self.example_fig, self.bifurcation.figure)
            head = pn.Row(lam, self.sliders["x"], self.sweep_button, sizing_mode="stretch_width", margin=0)
            extra = [self.count]
        return pn.Column(head, *extra, pn.Row(*(plots.fixed(pn.pane.Bokeh(f), 470, 360) for f in figs), margin=0),
                         margin=0)

    def _build_example(self):
        fig = self.example_fig = _figure("f(w) = L_σ(w, w), the sum loss on the diagonal",
                                         x_range=Range1d(EXAMPLE_W[0], EXAMPLE_W[-1]), y_range=Range1d(-0.3, 9),
                                         x_axis_label="w (= w₁ = w₂)", y_axis_label="f(w)")
        self.reference_curve = ColumnDataSource(dict(w=EXAMPLE_W, f=np.zeros_like(EXAMPLE_W)))
        self.example_curve = ColumnDataSource(dict(w=EXAMPLE_W, f=np.zeros_like(EXAMPLE_W)))
        ref = fig.line("w", "f", source=self.reference_curve, line_color="#999", line_dash="dashed", line_width=1.5)
        cur = fig.line("w", "f", source=self.example_curve, line_color=LOSS_STYLE["sum"][0], line_width=3)
        self.example_points = ColumnDataSource({k: [] for k in ("w", "f", "marker", "color", "type", "f2")})
        pts = fig.scatter("w", "f", source=self.example_points, marker="marker", fill_color="color",
                          line_color="white", size=15)
        fig.add_tools(HoverTool(renderers=[pts], tooltips=[("w", "@w{0.000}"), ("f(w)", "@f{0.000}"),
                                                           ("type", "@type"), ("f''(w)", "@f2{0.000}")]))
        self.example_legend = Legend(items=[("λ = 0", [ref]), ("current λ", [cur])], location="top_center",
                                     orientation="horizontal", background_fill_alpha=0.7)
        fig.add_layout(self.example_legend)
        self.bifurcation = plots.BifurcationPlot(
            "Critical w against λ: the minima meet the origin at λ = x²", LAM_MAX, width=FIGURE_WIDTH,
            height=FIGURE_HEIGHT,
            y_label="critical w (w₁ = w₂ = w)")
        self.bifurcation.figure.title.text_font_size = "13px"
        self.pitchfork = Span(location=4.0, dimension="height", line_color="#6a3d9a", line_alpha=0.5,
                              line_dash="dashed", line_width=1.5)
        self.pitchfork_label = Label(x=4.0, y=-1.05, text="λ = x² = 4", text_font_size="11px",
                                     text_color="#6a3d9a", x_offset=4)
        self.bifurcation.figure.add_layout(self.pitchfork)
        self.bifurcation.figure.add_layout(self.pitchfork_label)
        self.bifurcation.figure.y_range = Range1d(-1.15, 1.15)

    def _build_spectrum(self):
        fig = self.bars_fig = _figure("Decoder singular values √(1 − λ/σᵢ²)₊, per direction",
                                      x_range=Range1d(0.4, 6.6), y_range=Range1d(0, 1.15),
                                      x_axis_label="principal direction (data singular value)",
                                      y_axis_label="singular value of W₂")
        fig.xgrid.visible = False
        self.bars = ColumnDataSource({k: [] for k in ("x", "top", "color", "sigma", "state", "label", "label_y",
                                                      "label_color", "label_offset")})
        bars = fig.vbar(x="x", top="top", width=0.62, source=self.bars, fill_color="color", line_color=None)
        fig.add_layout(LabelSet(x="x", y="label_y", text="label", source=self.bars, text_align="center",
                                text_font_size="11px", text_color="label_color", y_offset="label_offset"))
        self.collapsed_marks = ColumnDataSource(dict(x=[], y=[]))
        fig.scatter("x", "y", source=self.collapsed_marks, marker="x", size=14, line_color="#d62728", line_width=2.5)
        self.decoder_measured = ColumnDataSource(dict(x=[], y=[]))
        measured = fig.scatter("x", "y", source=self.decoder_measured, marker="diamond", size=13,
                               fill_color="black", line_color="white")
        fig.add_tools(HoverTool(renderers=[bars], tooltips=[("σ", "@sigma"), ("decoder", "@top{0.000}"),
                                                            ("", "@state")]))
        fig.add_layout(Legend(items=[("trained LAE (L_σ)", [measured])], location="top_right",
                              background_fill_alpha=0.7))
        self.bars_ticker = FixedTicker(ticks=list(range(1, 7)))
        fig.xaxis.ticker = self.bars_ticker  # one model, its ticks replaced: no new models per redraw

        fig = self.shrink_fig = _figure("Shrinkage of W₂W₁ along a direction, against σ²",
                                        x_range=Range1d(0, 18), y_range=Range1d(-0.03, 1.12),
                                        x_axis_label="σ² (variance along the direction)",
                                        y_axis_label="singular value of W₂W₁")
        self.curves, self.theory_marks, self.measured_marks = {}, {}, {}
        items = []
        for kind in ("unregularized", "product", "sum"):
            color, label = LOSS_STYLE[kind]
            self.curves[kind] = ColumnDataSource(dict(s2=[], y=[]))
            line = fig.line("s2", "y", source=self.curves[kind], line_color=color, line_width=2.5,
                            line_dash="dashed" if kind == "unregularized" else "solid")
            self.theory_marks[kind] = ColumnDataSource(dict(s2=[], y=[], sigma=[]))
            theory = fig.scatter("s2", "y", source=self.theory_marks[kind], size=9, fill_color="white",
                                 line_color=color, line_width=2)
            self.measured_marks[kind] = ColumnDataSource(dict(s2=[], y=[]))
            dots = fig.scatter("s2", "y", source=self.measured_marks[kind], marker="diamond", size=12,
                               fill_color=color, line_color="black")
            items.append((label, [line]))
            if kind == "sum":
                items += [("theory at the spectrum's σ²", [theory]), ("trained LAEs (press Train)", [dots])]
        fig.add_layout(Legend(items=items, location="bottom_right", background_fill_alpha=0.8,
                              label_text_font_size="11px"))
        self.threshold = Span(location=1.5, dimension="height", line_color="#444", line_dash="dotted", line_width=2)
        self.threshold_label = Label(x=1.5, y=1.02, text="σ² = λ", text_font_size="11px", x_offset=4)
        fig.add_layout(self.threshold)
        fig.add_layout(self.threshold_label)

    # ---------------------------------------------------------------- redraw
    def redraw(self, changed):
        """Repaint what depends on the changed parameters (all of it when ``changed`` is None)."""
        changed = set(changed) if changed is not None else {"lam", "x", "sigma", "method"}
        if "lam" in changed and not self._sweeping and self.sweep_callback is not None:
            self.stop_sweep()  # the visitor took λ over
        if changed & {"lam", "sigma"} and self.training is not None:
            self.stop_training("stopped: λ or the spectrum changed while training")
        if changed & {"lam", "x"}:
            self._draw_example(changed)
        if changed & {"lam", "sigma"}:
            self._draw_spectrum()
            self._clear_measured()
        if "method" in changed:
            help_text = html.escape(SOLVER_HELP[self.state.method])
            self.method_help.object = f'<span class="method-help-text">{help_text}</span>'

    def _draw_example(self, changed):
        st = self.state
        points = st.example_points()
        self.example_curve.data = dict(w=EXAMPLE_W, f=st.example_curve())
        self.example_points.data = dict(
            w=[p.w for p in points], f=[p.loss for p in points], type=[p.type for p in points],
            marker=[plots.MARKERS.get(p.type, "diamond") for p in points],
            color=[plots.COLORS.get(p.type, "#555") for p in points], f2=[p.second_derivative for p in points])
        self.count.object = (f'<span class="count-text" style="font-weight:600">{html.escape(count_text(points))}'
                             f'</span> <span class="count-detail" style="color:#555">'
                             f'{html.escape(describe_points(points))}</span>')
        self.formula.object = st.example_formula()
        self.bifurcation.mark(st.lam)
        if "x" in changed:
            self.reference_curve.data = dict(w=EXAMPLE_W, f=st.example_curve(0.0))
            self.example_fig.y_range.update(start=-0.06 * 2.2 * st.x ** 2, end=2.2 * st.x ** 2)
            self.bifurcation.update(LAM_GRID, st.bifurcation_rows())
            self.pitchfork.location = st.x ** 2
            self.pitchfork_label.update(x=st.x ** 2, text=f"λ = x² = {st.x ** 2:.3g}")

    def _draw_spectrum(self):
        st = self.state
        sigma = st.spectrum()
        r = len(sigma)
        ticks = list(range(1, r + 1))
        decoder = np.atleast_1d(collapse.decoder_singular_values(sigma, st.lam))
        gone = np.atleast_1d(collapse.collapsed(sigma, st.lam))
        self.bars.data = dict(
            x=ticks, top=decoder, sigma=[f"{s:g}" for s in sigma],
            color=[COLLAPSED_COLOR if c else LOSS_STYLE["sum"][0] for c in gone],
            state=["collapsed (σ² ≤ λ)" if c else "survives (σ² > λ)" for c in gone],
            label=["collapsed" if c else f"{d:.2f}" for c, d in zip(gone, decoder)],
            label_y=[0.04 if c else d for c, d in zip(gone, decoder)],
            # the value inside a tall bar (white, clear of a trained LAE's ◆ on its top), else above
            label_color=["white" if d > 0.2 else "#444" for d in decoder],
            label_offset=[-22 if d > 0.2 else 3 for d in decoder])
        self.collapsed_marks.data = dict(x=[t for t, c in zip(ticks, gone) if c], y=[0.0] * int(gone.sum()))
        if self.bars_ticker.ticks != ticks or self._labelled != self.state.sigma:
            self.bars_fig.x_range.update(start=0.4, end=r + 0.6)
            self.bars_ticker.ticks = ticks
            self.bars_fig.xaxis[0].major_label_overrides = {t: f"σ{plots.sub(t)} = {s:g}" for t, s in zip(ticks, sigma)}
            self._labelled = self.state.sigma

        s2_max = 1.08 * max(float(sigma[0]) ** 2, 1.25 * st.lam, 1.0)
        s2 = np.linspace(0.0, s2_max, 400)
        for kind in self.curves:
            self.curves[kind].data = dict(s2=s2, y=collapse.shrinkage(kind, np.sqrt(s2), st.lam))
            self.theory_marks[kind].data = dict(s2=sigma ** 2, y=collapse.shrinkage(kind, sigma, st.lam),
                                                sigma=sigma)
        self.shrink_fig.x_range.update(start=0.0, end=s2_max)
        self.threshold.location = st.lam
        self.threshold_label.x = st.lam
        self.survivors.object = (f'<span class="count-text" style="font-weight:600">'
                                 f"{html.escape(st.survivors_text())}</span>")
        self.ppca_formula.object = st.ppca_formula()
        self.ppca_table.object = self._ppca_table()

    def _ppca_table(self) -> str:
        sigma, decoder, ppca, gone = self.state.ppca_columns()
        head = "".join(f"<th>σ{plots.sub(i + 1)}</th>" for i in range(len(sigma)))

        def row(name, values, fmt):
            cells = "".join(f'<td class="{"collapsed" if c else ""}">{html.escape(fmt(v))}</td>'
                            for v, c in zip(values, gone))
            return f"<tr><th>{name}</th>{cells}</tr>"

        return (f'<table class="lae-table"><thead><tr><th></th>{head}</tr></thead><tbody>'
                + row("σᵢ (data)", sigma, lambda v: f"{v:g}")
                + row("σᵢ² (variance)", sigma ** 2, lambda v: f"{v:.4g}")
                + row("LAE decoder √(1 − λ/σᵢ²)₊", decoder, lambda v: f"{v:.3f}")
                + row("pPCA loading √(σᵢ² − τ²)₊", ppca, lambda v: f"{v:.3f}")
                + row("decoder × σᵢ", decoder * sigma, lambda v: f"{v:.3f}")
                + "</tbody></table>")

    # ---------------------------------------------------------------- spectrum input
    def _spectrum_typed(self, event):
        take_spectrum(self, event.new, f"The spectrum stays {format_spectrum(self.state.spectrum())}.")

    # ---------------------------------------------------------------- sweep
    def toggle_sweep(self):
        if self.sweep_callback is not None:
            self.stop_sweep()
        else:
            self.start_sweep()

    def start_sweep(self, now: float | None = None):
        """λ from 0 to ``SWEEP_END`` over ``SWEEP_SECONDS``, a frame every ``SWEEP_PERIOD_MS``."""
        self.sweep_started = time.monotonic() if now is None else now
        self._set_lam(0.0)
        self.sweep_button.label = "■ Stop the sweep"
        # through guarded: its hold sends the slider's new λ and the redraw as one message (the
        # slider follows λ through Panel's own watcher, outside the redraw's hold)
        self.sweep_callback = pn.state.add_periodic_callback(lambda: self.guarded(self.sweep_tick),
                                                             period=SWEEP_PERIOD_MS)

    def sweep_tick(self, now: float | None = None):
        """One frame: λ where the clock says (to the slider's 0.01), the end stops the sweep."""
        elapsed = (time.monotonic() if now is None else now) - self.sweep_started
        lam = min(round(SWEEP_END * elapsed / SWEEP_SECONDS, 2), SWEEP_END)
        if lam != self.state.lam:
            self._set_lam(lam)
        if lam >= SWEEP_END:
            self.stop_sweep()

    def stop_sweep(self):
        if self.sweep_callback is not None:
            self.sweep_callback.stop()
            self.sweep_callback = None
        self.sweep_button.label = f"▶ Sweep λ from 0 to {SWEEP_END:g}"

    def _set_lam(self, lam: float):
        self._sweeping = True
        try:
            self.state.lam = lam
        finally:
            self._sweeping = False

    # ---------------------------------------------------------------- training
    def start_training(self):
        if self.training is not None:
            self.stop_training("stopped")
            return
        self._clear_measured()
        st = self.state
        self.training = Training(st.spectrum(), st.lam, st.method)
        self.train_button.label = "■ Stop training"
        self.progress.value = 0
        self._show_progress(True)
        self.train_status.object = plots.status(f"Training {SOLVERS[st.method]} on L_σ, L_π and L …")
        self.train_callback = pn.state.add_periodic_callback(self.train_tick, period=TRAIN_PERIOD_MS)

    def train_tick(self):
        self.guarded(self._train_tick)

    def _train_tick(self):
        training = self.training
        if training is None:
            return
        try:
            training.step()
        except Exception:
            self.stop_training("failed")
            raise
        self.progress.value = training.progress
        if training.done:
            self._show_measured(training)
            self.stop_training(None)
            self.train_status.object = plots.status(training.summary())
        else:
            # the bar shows the steps; the words change only with the loss (3 times a run), so a
            # tick sends the browser one number, not a paragraph to lay out
            kind = training.KINDS[training.current]
            self.train_status.object = plots.status(
                f"Training {SOLVERS[training.method]}: {LOSS_SYMBOL[kind]} ({training.current + 1} of "
                f"{len(training.KINDS)}, at most {training.max_iter} steps each) …")

    def stop_training(self, why: str | None):
        if self.train_callback is not None:
            self.train_callback.stop()
            self.train_callback = None
        self.training = None
        self.train_button.label = "Train LAEs on this spectrum"
        self._show_progress(False)
        if why:
            self.train_status.object = plots.status(f"Training {why}.")

    @property
    def progress_shown(self) -> bool:
        return self.progress_box.styles.get("visibility") == "visible"

    def _show_progress(self, shown: bool) -> None:
        self.progress_box.styles = dict(self.progress_box.styles, visibility="visible" if shown else "hidden")

    def _show_measured(self, training: Training):
        self._measured_shown = True
        measured = training.measured()
        s2 = training.sigma ** 2
        for kind in self.measured_marks:
            self.measured_marks[kind].data = dict(s2=s2, y=measured[kind])
        self.decoder_measured.data = dict(x=list(range(1, len(s2) + 1)), y=measured["decoder"])

    def _clear_measured(self):
        """Remove the trained LAEs' dots: they belong to another λ or spectrum."""
        if not self._measured_shown:
            return
        self._measured_shown = False
        for source in self.measured_marks.values():
            source.data = dict(s2=[], y=[])
        self.decoder_measured.data = dict(x=[], y=[])
        if self.training is None:
            self.train_status.object = plots.status(
                "Press Train to fit actual LAEs at the current λ and spectrum, and put their measured "
                "values (◆) on the theory.")


#: the page class the registry (app.pages) names
PAGE = CollapsePage


def create(**kwargs):
    """Build one session's page (Panel calls this once per visitor)."""
    return CollapsePage(**kwargs).view()
