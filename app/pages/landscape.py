"""The Landscape page: the scalar losses L, L_π, L_σ side by side, their critical sets computed
and classified live, the λ-bifurcation, the formulas with current numbers, a 3-D view, and the
reference page's other modes (α power, tied vector case, low-rank prediction, weight alignment).

State lives in ``LandscapeState`` (a ``param.Parameterized``; its parameters carry bounds and
labels, so the widgets draw themselves); ``LandscapeState.panels()`` turns the state into the
numbers the plots show, by calling ``lae_core.scalar`` — this module computes no formula itself.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import numpy as np
import panel as pn
import param

from app import panes, plots, shell
from app.plot3d import PlotlyFigure, surface
from lae_core import scalar

KIND_TITLES = {"unregularized": "L (unregularized)", "product": "L_π (product)", "sum": "L_σ (sum)"}
#: the mode selector's words for each mode (the URL keeps the short key)
MODES = {
    "paper": "The paper's three losses",
    "alpha": "Power α on the regularizer",
    "tied": "Tied vector case (m = 2, k = 1)",
    "prediction": "Low-rank prediction",
    "alignment": "Weight alignment",
}
#: what each mode is, in one line, under the selector (the alignment terms as the authors'
#: reference page, js/landscape.js, defines them)
MODE_HELP = {
    "paper": "The scalar autoencoder of the paper: data x, encoder w₁, decoder w₂. L = x²(1 − w₁w₂)² "
             "alone, L_π adds λ(w₁w₂)², L_σ adds λ(w₁² + w₂²).",
    "alpha": "The same three losses with the regularizer's power α in place of 2: λ|w₁w₂|^α and "
             "λ(|w₁|^α + |w₂|^α). α = 2 is the paper; below 2 the regularizer is not smooth at 0.",
    "tied": "One weight vector W = [w₁, w₂]ᵀ is both encoder (Wᵀ) and decoder (W), on data with two "
            "directions X = diag(x, y): ‖X − WWᵀX‖² plus λ‖WWᵀ‖² (product) or 2λ‖W‖² (sum).",
    "prediction": "The autoencoder's map w₂w₁ predicts a target y from x instead of x itself: "
                  "(y − w₂w₁x)², with the same product and sum penalties.",
    "alignment": "Four terms, each with its own weight: λ_pred (y − w₁x)², the encoder w₁ alone predicts y "
                 "from x; λ_info (x − w₂w₁x)², the decoder w₂ recovers x from the code w₁x; "
                 "λ_reg (w₁² + w₂²), weight decay; −2λ_self w₁w₂, a reward for encoder and decoder "
                 "weights that agree (w₁w₂ > 0).",
}
EXTENT, N = 2.0, 200
LAM_GRID = np.linspace(0.0, 4.0, 81)
LAM_GRID.setflags(write=False)  # shared by every session (and cached bifurcation rows)


def describe(name: str, sets) -> str:
    """One line a visitor can read: "sum: 3 critical points — saddle (0.00, 0.00), …".

    Coordinates have two decimals, or two significant digits where a nonzero one would read
    0.00 (minima at ±0.00016 beside a saddle at the origin are three places). A set where the
    loss has no Hessian says "(non-smooth)" instead, one with a zero eigenvalue "(degenerate)".
    ``scalar`` lists no set only for a flat loss (x = 0 and no regularizer); the alignment
    loss, none where its critical points form a curve.
    """
    def coordinate(z: float) -> str:
        if z == 0 or abs(z) >= 0.005:
            return plots.number(z)
        mantissa, _, exponent = f"{z:.2g}".partition("e")  # 0.00016, or 1.5e-08
        return (mantissa + (f"e{int(exponent)}" if exponent else "")).replace("-", "−")

    def qualifier(s) -> str:
        if not getattr(s, "smooth", True):
            return " (non-smooth)"
        return " (degenerate)" if s.degenerate and s.shape == "point" else ""

    if not sets:
        if name == "alignment":
            return f"{name}: no isolated critical point — the critical points form a curve here"
        return f"{name}: the loss is flat here — every point is critical (x = 0)"
    points = [s for s in sets if s.shape == "point"]
    curves = [s for s in sets if s.shape == "curve"]
    head = f"{len(points)} critical point{'s' if len(points) != 1 else ''}"
    if curves:
        head += f" and {len(curves)} curve{'s' if len(curves) != 1 else ''} of critical points"
    parts = [f"{s.type}{qualifier(s)} ({coordinate(s.points[0, 0])}, {coordinate(s.points[0, 1])})"
             for s in points]
    parts += [f"{plots.PLURAL[s.type]} along the {s.label}{qualifier(s)}" for s in curves]
    return f"{name}: {head} — " + ", ".join(parts)


@dataclass
class Panel:
    """What one surface shows: loss grid, critical sets, formula (LaTeX), summary."""

    key: str
    z: np.ndarray
    sets: list
    formula: str
    summary: str


class LandscapeState(param.Parameterized):
    """Everything the page shows is a function of these parameters (and they are the URL)."""

    mode = param.Selector(default="paper", objects=list(MODES), doc="Which landscape to show.")
    lam = param.Number(default=0.5, bounds=(0.0, 4.0), step=0.01, label="λ",
                       doc="Regularization strength λ ≥ 0.")
    x = param.Number(default=1.0, bounds=(0.0, 2.0), step=0.01, label="x", doc="The data point x.")
    y = param.Number(default=0.7, bounds=(0.0, 2.0), step=0.01, label="y",
                     doc="Second data value (tied case) or the target (prediction).")
    alpha = param.Number(default=2.0, bounds=(0.5, 4.0), step=0.05, label="α",
                         doc="Power on the regularizer.")
    lam_pred = param.Number(default=1.0, bounds=(0.0, 2.0), step=0.01, label="λ_pred")
    lam_info = param.Number(default=1.0, bounds=(0.0, 2.0), step=0.01, label="λ_info")
    lam_reg = param.Number(default=0.2, bounds=(0.0, 2.0), step=0.01, label="λ_reg")
    lam_self = param.Number(default=0.1, bounds=(-1.0, 1.0), step=0.01, label="λ_self")
    log_color = param.Boolean(default=True, label="Log colour scale")
    view3d = param.Selector(default="sum", objects=list(scalar.LOSSES), label="3-D surface of")
    show3d = param.Boolean(default=False, label="Show the 3-D surface")

    URL_PARAMS = ["mode", "lam", "x", "y", "alpha", "lam_pred", "lam_info", "lam_reg", "lam_self",
                  "log_color", "view3d", "show3d"]

    # ---------------------------------------------------------------- state → numbers
    def grid(self):
        w = np.linspace(-EXTENT, EXTENT, N)
        return w[None, :], w[:, None]

    def loss_grid(self, kind: str, w1, w2):
        m = self.mode
        if m in ("paper", "alpha"):
            return scalar.loss(kind, w1, w2, self.x, self.lam, alpha=self.alpha if m == "alpha" else 2.0)
        if m == "tied":
            return scalar.tied_loss(kind, w1, w2, self.x, self.y, self.lam)
        if m == "prediction":
            return scalar.prediction_loss(kind, w1, w2, self.x, self.y, self.lam)
        return scalar.alignment_loss(w1, w2, self.x, self.y, self.lam_pred, self.lam_info,
                                     self.lam_reg, self.lam_self)

    def sets(self, kind: str, lam: float | None = None):
        lam = self.lam if lam is None else lam
        m = self.mode
        if m in ("paper", "alpha"):
            return scalar.critical_sets(kind, self.x, lam, alpha=self.alpha if m == "alpha" else 2.0)
        if m == "tied":
            return scalar.tied_critical_sets(kind, self.x, self.y, lam)
        if m == "prediction":
            return scalar.prediction_critical_sets(kind, self.x, self.y, lam)
        return scalar.alignment_critical_sets(self.x, self.y, self.lam_pred, self.lam_info,
                                              self.lam_reg, self.lam_self)

    def kinds(self):
        return ["alignment"] if self.mode == "alignment" else list(scalar.LOSSES)

    def formula(self, kind: str) -> str:
        x2, lam, m = self.x ** 2, self.lam, self.mode
        if m == "paper":
            # each line says what the summary under it lists (both read lae_core.scalar)
            flat = r": flat — every point is critical ($x = 0$)"
            if kind == "unregularized":
                if x2 == 0:
                    return r"$L = x^2(1-w_1w_2)^2 = 0$" + flat
                return (rf"$L = x^2(1-w_1w_2)^2 = {x2:.3g}\,(1-w_1w_2)^2$; minima on $w_1w_2 = 1$")
            if kind == "product":
                if x2 == 0:
                    return (r"$L_\pi = \lambda (w_1w_2)^2 = 0$" + flat if lam == 0 else
                            r"$L_\pi = \lambda (w_1w_2)^2$ with $x = 0$: minima on the axes $w_1w_2 = 0$")
                level = scalar.critical_product_level(self.x, lam)
                return (rf"$L_\pi = x^2(1-w_1w_2)^2 + \lambda (w_1w_2)^2$; minima on "
                        rf"$w_1w_2 = \frac{{x^2}}{{x^2+\lambda}} = \frac{{{x2:.3g}}}{{{x2 + lam:.3g}}} = {level:.3g}$")
            if x2 == 0 and lam == 0:
                return r"$L_\sigma = \lambda(w_1^2+w_2^2) = 0$" + flat
            w = scalar.critical_value_sum(self.x, lam)  # 0 from the pitchfork on, as the sets say
            head = r"$L_\sigma = x^2(1-w_1w_2)^2 + \lambda(w_1^2+w_2^2)$; "
            if w > 0:
                return head + rf"minima at $w_1 = w_2 = \pm\sqrt{{1-\lambda/x^2}} = \pm {w:.3g}$"
            return head + (rf"the only minimum is the origin, since $\lambda = {lam:.3g} \geq x^2 = {x2:.3g}$ "
                           r"(the minima $\pm\sqrt{1-\lambda/x^2}$ merged into it at $\lambda = x^2$)")
        if m == "alpha":
            reg = {"unregularized": "", "product": r" + \lambda|w_1w_2|^\alpha",
                   "sum": r" + \lambda(|w_1|^\alpha+|w_2|^\alpha)"}[kind]
            if kind == "unregularized":
                return rf"$x^2(1-w_1w_2)^2$ with $x = {self.x:.3g}$ (no regularizer: λ and α do not enter)"
            return rf"$x^2(1-w_1w_2)^2{reg}$ with $x = {self.x:.3g},\ \lambda = {lam:.3g},\ \alpha = {self.alpha:.3g}$"
        if m == "tied":
            reg = {"unregularized": "", "product": r" + \lambda\|WW^\top\|_F^2",
                   "sum": r" + 2\lambda\|W\|^2"}[kind]
            lam_text = "" if kind == "unregularized" else rf", $\lambda = {lam:.3g}$"
            return (rf"$\|X - WW^\top X\|_F^2{reg}$, $W = [w_1, w_2]^\top$, "
                    rf"$X = \mathrm{{diag}}({self.x:.3g}, {self.y:.3g})${lam_text}")
        if m == "prediction":
            reg = {"unregularized": "", "product": r" + \lambda(w_1w_2)^2", "sum": r" + \lambda(w_1^2+w_2^2)"}[kind]
            lam_text = "" if kind == "unregularized" else rf",\ \lambda = {lam:.3g}"
            return rf"$(y - w_2w_1x)^2{reg}$ with $x = {self.x:.3g},\ y = {self.y:.3g}{lam_text}$"
        return (r"$\lambda_{pred}(y-w_1x)^2 + \lambda_{info}(x-w_2w_1x)^2 + \lambda_{reg}(w_1^2+w_2^2) "
                r"- 2\lambda_{self}w_1w_2$ with "
                rf"$({self.lam_pred:.3g}, {self.lam_info:.3g}, {self.lam_reg:.3g}, {self.lam_self:.3g})$")

    def panels(self, kinds=None) -> list[Panel]:
        """What each surface shows; ``kinds`` limits it to those surfaces (default: all)."""
        w1, w2 = self.grid()
        out = []
        for kind in kinds or self.kinds():
            sets = self.sets(kind)
            name = "alignment" if kind == "alignment" else kind
            out.append(Panel(kind, self.loss_grid(kind, w1, w2), sets, self.formula(kind), describe(name, sets)))
        return out

    def bifurcation_rows(self):
        """(λ, w, type) of the sum loss's critical points over LAM_GRID, and denser where they
        move fast or appear and vanish (``_bifurcation``) — computed, not drawn from a formula —
        and the product loss's minima on the diagonal as dashed guides (paper mode); the guides'
        names and ``BIFURCATION_LEGEND`` say what each mark is.
        They depend on the mode and, by mode, on x, y and α only: computed once per process for
        each such setting (``_bifurcation``), as every visitor opening the page with the same
        settings, or dragging x or α back over values already seen, asks for the same."""
        m = self.mode
        defaults = self.param
        return _bifurcation(m, self.x,
                            self.y if m in ("tied", "prediction") else defaults.y.default,
                            self.alpha if m == "alpha" else defaults.alpha.default)

    def pitchfork(self) -> Pitchfork:
        """The words around the bifurcation plot in this mode (they depend on the mode, x, y and
        α, never on λ): each mode bifurcates where its own critical sets say — the paper's sum
        loss at λ = x², the prediction loss at λ = xy, the tied loss at λ = y² and x² on the
        axes, the α loss below α = 2 in a saddle-node read off the computed rows."""
        m, x, y = self.mode, self.x, self.y
        diagonal = "critical w₁ (= w₂ on the diagonal)"
        legend = BIFURCATION_LEGEND[m]
        if m == "alignment":
            return Pitchfork("", "", legend, ALIGNMENT_LOOK_FOR, shown=False)
        if m == "tied":
            return Pitchfork(f"Tied L_σ: critical points on the axes against λ (λ = y² = {_g(y * y)}, "
                             f"x² = {_g(x * x)})", "critical w (the nonzero one of w₁, w₂)", legend,
                             _tied_look_for(x, y))
        if m == "prediction":
            xy = _g(x * y)
            if x * y == 0:
                return Pitchfork("L_σ: critical points against λ (xy = 0: only the origin)", diagonal, legend,
                                 "With xy = 0 (no input x, or no target y) the sum loss's only critical "
                                 "point is the origin for every λ > 0. Raise x and y to see its minima "
                                 "merge into the origin at λ = xy.")
            return Pitchfork(f"L_σ: critical points against λ (pitchfork at λ = xy = {xy})", diagonal, legend,
                             f"Drag λ past xy = {xy}: the sum loss's two minima slide into the origin and "
                             "vanish there — the target y moves the pitchfork from λ = x² to λ = xy — while "
                             "the product loss's curve of minima only shrinks towards the origin.")
        if x == 0:
            return Pitchfork("L_σ: critical points against λ (x = 0: only the origin)", diagonal, legend,
                             "With x = 0 there are no data: the sum loss is its regularizer alone, whose "
                             "only critical point is the origin. Raise x to see critical points appear "
                             "and vanish as λ moves.")
        if m == "alpha" and self.alpha != 2:
            a = _g(self.alpha)
            if self.alpha > 2:
                return Pitchfork(f"L_σ with α = {a}: the minima shrink, never vanish", diagonal, legend,
                                 f"With α = {a} > 2 the regularizer is flatter than w² at 0, so the origin "
                                 "stays a saddle and the two minima only shrink towards it as λ grows: "
                                 "nothing appears or vanishes. Set α = 2 for the paper's pitchfork, "
                                 "below 2 for a saddle-node.")
            rows, _ = self.bifurcation_rows()
            fold = max((lam for lam, w, _ in rows if w != 0), default=0.0)
            kink = "not even a first, a kink" if self.alpha <= 1 else "only a first"
            return Pitchfork(f"L_σ with α = {a}: a saddle-node at λ ≈ {fold:.2f}", diagonal, legend,
                             f"With α = {a} < 2 the regularizer λ(|w₁|^α + |w₂|^α) has no second "
                             f"derivative at 0 ({kink}), so the origin is a minimum at every λ > 0 — a "
                             "non-smooth one (dotted marker: no Hessian, no Morse index). Drag λ up: "
                             "the minima do not slide into the origin; each meets a saddle that moved "
                             f"out of it, and the two vanish together at λ ≈ {fold:.2f} (a saddle-node, "
                             "or fold). Set α = 2 for the paper's pitchfork.")
        x2 = _g(x * x)
        guide = (", the blue dotted curves" if m == "paper" else "")
        return Pitchfork(f"L_σ: critical points against λ (pitchfork at λ = x² = {x2})", diagonal, legend,
                         f"Drag λ past x² = {x2}: the sum loss's two minima slide into the origin and "
                         "vanish there (a pitchfork), while the product loss's curve of minima only "
                         f"shrinks towards the origin{guide}. Critical points are found from the "
                         "formulas and classified from the Hessian here, live; hover over a marker for "
                         "its eigenvalues.")


@dataclass(frozen=True)
class Pitchfork:
    """The words around the bifurcation plot: its title and y-axis label, the legend under it
    (``BIFURCATION_LEGEND``) and the "What to look for" text beside it; ``shown`` False where
    the mode has no λ to sweep (weight alignment), and so no plot."""

    title: str
    y_label: str
    legend: str
    look_for: str
    shown: bool = True


def _g(value: float) -> str:
    """A setting's value in a caption: three significant digits."""
    return f"{value:.3g}"


def _tied_look_for(x: float, y: float) -> str:
    """The tied mode's "What to look for": which axis's pair goes first, at which λ."""
    if x == y:
        return (f"With x = y the data's two directions have the same variance: the minima form a circle "
                f"w₁² + w₂² = 1 − λ/x², which shrinks into the origin at λ = x² = {_g(x * x)}.")
    (low, low_name, low_axis), (high, high_name, high_axis) = sorted([(y * y, "y²", "w₂"), (x * x, "x²", "w₁")])
    if low == 0:
        return (f"Only one direction carries data ({low_name} = 0): the critical points off the origin are a pair "
                f"of minima on the {high_axis} axis, which merges into the origin as λ passes "
                f"{high_name} = {_g(high)}.")
    return (f"W = [w₁, w₂]ᵀ is one vector, so the critical points lie on the axes — the data's two "
            f"directions — not on the diagonal. Drag λ past {low_name} = {_g(low)}: the pair on the "
            f"{low_axis} axis (saddles) merges into the origin; past {high_name} = {_g(high)} the pair on "
            f"the {high_axis} axis (the minima) does, and the origin is left as the only minimum. The "
            "direction with less variance collapses first.")


#: weight alignment's "What to look for": no λ to sweep, so no bifurcation plot
ALIGNMENT_LOOK_FOR = (
    "No λ to sweep here, so no pitchfork: four weights shape one loss (each explained under the mode "
    "selector). Set λ_pred = 0: what is left is the autoencoder's loss with a bonus for agreeing "
    "weights, symmetric under w₁ ↔ w₂, and its minima are a pair on the diagonal. Raise λ_pred: the "
    "target y pulls the encoder and one minimum is left. Raise λ_self: a second minimum appears with "
    "both weights negative (w₁w₂ > 0 is rewarded whatever the signs), a saddle between the two. Raise "
    "λ_reg: the minima shrink towards the origin.")


#: what the pitchfork plot shows, per mode: a legend or caption for the page to put beside it
BIFURCATION_LEGEND = {
    "paper": ("Dots: the sum loss's critical points w₁ = w₂ = w at each λ, coloured by type (green "
              "minimum, orange saddle); the two minima ±√(1 − λ/x²) merge into the origin at λ = x². "
              "Blue dotted: the product loss's level — its minima on the diagonal, w = ±√(x²/(x²+λ)), "
              "where its curve of minima w₁w₂ = x²/(x²+λ) crosses it: they shrink towards 0 but never "
              "vanish."),
    "alpha": ("Dots: the sum loss's critical points on the diagonal at each λ, coloured by type (green "
              "minimum, orange saddle, red maximum). For α < 2 the origin is a non-smooth minimum at "
              "every λ > 0, and each minimum vanishes together with a saddle (a saddle-node); at α = 2 "
              "the paper's pitchfork, above 2 the minima never vanish."),
    "tied": ("Dots: the tied sum loss's critical points on the axes at each λ (w is the nonzero "
             "weight), coloured by type; each pair merges into the origin as λ passes x² or y²."),
    "prediction": ("Dots: the sum loss's critical points w₁ = w₂ = w at each λ, coloured by type; the two "
                   "minima merge into the origin at λ = xy."),
    "alignment": "No λ to sweep here: the weight alignment loss has its own four weights.",
}
#: the largest step in w between neighbouring dots of a branch (~4 px on the page's plot)
BRANCH_STEP = 0.03
#: the pitchfork plot's λ samples halve at most this many times between LAM_GRID's (0.05/2¹²)
BRANCH_REFINEMENTS = 12


@functools.lru_cache(maxsize=512)
def _bifurcation(mode: str, x: float, y: float, alpha: float):
    """``LandscapeState.bifurcation_rows`` for these settings; the arrays are read-only, as every
    caller shares them.

    λ runs over LAM_GRID, then halves the steps where the dots would jump: where the number of
    critical points changes (a pitchfork or fold), or a branch moves by more than BRANCH_STEP
    in w — near λ = x² the branch ±√(1 − λ/x²) is steep, and every 0.05 it stopped at ±0.22
    (x = 1) and seemed to jump into the origin."""
    if mode == "alignment":
        return (), ()
    st = LandscapeState(mode=mode, x=x, y=y, alpha=alpha)

    def points(lam):
        out = []
        for s in st.sets("sum", lam):
            if s.shape == "point":
                px, py = s.points[0]
                out.append((float(px if px != 0 or mode != "tied" else py), s.type))
        return sorted(out)

    at = {float(lam): points(lam) for lam in LAM_GRID}
    for _ in range(BRANCH_REFINEMENTS):
        lams = sorted(at)
        new = [0.5 * (a + b) for a, b in zip(lams, lams[1:])
               if len(at[a]) != len(at[b]) or any(abs(u[0] - v[0]) > BRANCH_STEP for u, v in zip(at[a], at[b]))]
        if not new:
            break
        at.update((lam, points(lam)) for lam in new)
    rows = [(lam, w, kind) for lam in sorted(at) for w, kind in at[lam]]
    lines = []
    if mode == "paper" and x > 0:
        upper = np.sqrt([scalar.critical_product_level(x, lam) for lam in LAM_GRID])
        lower = -upper
        for values in (upper, lower):
            values.setflags(write=False)
        lines.append((LAM_GRID, upper, "#1f77b4", "product loss's minima on the diagonal: +√(x²/(x²+λ))"))
        lines.append((LAM_GRID, lower, "#1f77b4", "product loss's minima on the diagonal: −√(x²/(x²+λ))"))
    return tuple(rows), tuple(lines)


class LandscapePage(shell.Page):
    """Lays out ``LandscapeState`` and keeps the plots in step with it."""

    slug, title = "landscape", "Landscape"
    state_class = LandscapeState

    def build(self):
        st = self.state
        self.ranges = (plots.Range1d(-EXTENT, EXTENT, bounds=(-EXTENT, EXTENT)),
                       plots.Range1d(-EXTENT, EXTENT, bounds=(-EXTENT, EXTENT)))
        self.surfaces, self.surface_panes, self.summaries, self.formulas, self.columns = {}, {}, {}, {}, {}
        # three maps side by side from a 1280-pixel screen with the sidebar open, growing with it
        self.surface_row = plots.wrapping_row()
        for kind in self.state.kinds():
            self.add_surface(kind)
        self.bifurcation = plots.BifurcationPlot("", 4.0, width=460, height=330)
        self.bifurcation_pane = plots.scaled(self.bifurcation.figure)
        self.look_for = panes.HTML("", css_classes=["look-for"], sizing_mode="stretch_width", hold_height=True,
                                   styles={"font-size": "14px", "line-height": "1.45"})
        self.bifurcation_legend = panes.HTML("", css_classes=["bifurcation-legend"], sizing_mode="stretch_width",
                                             hold_height=True,
                                             styles={"font-size": "12px", "color": "#555"})
        self.plot3d = PlotlyFigure(plot_height=480, sizing_mode="stretch_width", css_classes=["surface-3d"])
        self.show3d = shell.LiveToggle.from_param(st.param.show3d, css_classes=["show-3d"], width=220)

        self.widgets = {name: shell.LiveFloatSlider.from_param(st.param[name], sizing_mode="stretch_width")
                        for name in ("lam", "x", "y", "alpha", "lam_pred", "lam_info", "lam_reg", "lam_self")}
        self.widgets["mode"] = shell.LiveSelect.from_param(  # words on screen, keys in the state and URL
            st.param.mode, options={label: key for key, label in MODES.items()}, sizing_mode="stretch_width")
        self.widgets["log_color"] = shell.LiveCheckbox.from_param(st.param.log_color)
        self.mode_help = panes.HTML("", css_classes=["mode-help"], sizing_mode="stretch_width",
                                    styles={"font-size": "12.5px", "color": "#444", "line-height": "1.4"})
        order = ["mode", "lam", "x", "y", "alpha", "lam_pred", "lam_info", "lam_reg", "lam_self", "log_color"]
        self.controls = pn.Column(self.widgets["mode"], self.mode_help, *(self.widgets[n] for n in order[1:]),
                                  sizing_mode="stretch_width")
        self.set_visibility()
        self.pitchfork_plot = plots.share(self.bifurcation_pane, self.bifurcation_legend, basis=380, max_width=760)
        main = pn.Column(
            self.surface_row,
            plots.legend_line(plots.LEGEND, 12),
            plots.wrapping_row(self.pitchfork_plot, plots.share(self.look_for, basis=300, max_width=640)),
            pn.Column(pn.Row(self.show3d, shell.LiveSelect.from_param(st.param.view3d, width=220)),
                      self.plot3d, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        self.redraw(None)
        return self.controls, main

    def compact(self, focus: str = "surfaces"):
        """Embed mode and the lecture: the controls in one row over the surfaces (``focus=
        "surfaces"``), or the sum loss beside its pitchfork (``focus="pitchfork"``)."""
        self.state.show3d = False
        self.compact_focus = focus
        names = ["mode", "lam", "x", "y", "alpha", "lam_pred", "lam_info", "lam_reg", "lam_self"]
        if focus == "pitchfork":
            names = ["lam", "x"]
        self.widgets["mode"].param.update(width=210, sizing_mode=None)
        controls = pn.Row(*(self.widgets[n] for n in names), sizing_mode="stretch_width", margin=0)
        for key in self.surfaces:
            self._compact_surface(key)
        self.surface_row.styles = {}  # one row of fixed sizes: an embed is a fixed 960 × 540
        if focus == "pitchfork":
            for key, col in self.columns.items():
                shell.show(col, key == "sum")
            body = pn.Row(self.columns["sum"], plots.fixed(pn.pane.Bokeh(self.bifurcation.figure), 440, 330))
        else:
            body = self.surface_row
        return pn.Column(controls, body, plots.legend_line(plots.LEGEND, 11, margin=(0, 10)), margin=0)

    def _compact_surface(self, key: str) -> None:
        width, height = (300, 285) if getattr(self, "compact_focus", "") != "pitchfork" else (360, 330)
        plots.fixed(self.surface_panes[key], width, height)
        self.formulas[key].visible = False
        self.summaries[key].styles = {"font-size": "12px", "line-height": "1.3"}
        self.columns[key].param.update(sizing_mode=None, width=width + 12, min_width=None, max_width=None,
                                       styles={})

    def add_surface(self, key: str) -> None:
        """A map with its formula and summary. Built on first use: the alignment map only when
        that mode is chosen, so a cold load builds (and the browser renders) three figures."""
        if key in self.surfaces:
            return
        x_range, y_range = self.ranges
        self.surfaces[key] = plots.SurfacePlot(KIND_TITLES.get(key, "Weight alignment loss"), EXTENT, N,
                                               x_range=x_range, y_range=y_range)
        self.surface_panes[key] = plots.scaled(self.surfaces[key].figure)
        self.summaries[key] = panes.HTML("", css_classes=["summary", f"summary-{key}"], hold_height=True,
                                         sizing_mode="stretch_width", styles={"font-size": "13px"})
        self.formulas[key] = panes.LaTeX("", css_classes=["formula", f"formula-{key}"], hold_height=True,
                                         styles={"font-size": "14px"}, sizing_mode="stretch_width")
        self.columns[key] = plots.share(self.surface_panes[key], self.formulas[key], self.summaries[key],
                                        basis=290, max_width=580, css_classes=[f"surface-{key}"])
        self.surface_row.append(self.columns[key])
        if getattr(self, "compact_focus", None):
            self._compact_surface(key)

    def set_visibility(self):
        m = self.state.mode
        for k, col in self.columns.items():
            if getattr(self, "compact_focus", None) == "pitchfork":
                shell.show(col, k == "sum")
            else:
                shell.show(col, (k == "alignment") == (m == "alignment"))
        names = {"y": m in ("tied", "prediction", "alignment"), "alpha": m == "alpha",
                 "lam": m != "alignment"}
        for n in ("lam_pred", "lam_info", "lam_reg", "lam_self"):
            names[n] = m == "alignment"
        for widget_name, visible in names.items():
            shell.show(self.widgets[widget_name], visible)
        self.mode_help.object = f'<span class="mode-help-text">{html.escape(MODE_HELP[m])}</span>'

    def draw_pitchfork(self):
        """The bifurcation plot's dots and guides, and the words around it, for this mode, x, y, α."""
        st = self.state
        rows, lines = st.bifurcation_rows()
        self.bifurcation.update(LAM_GRID, rows, lines)
        words = st.pitchfork()
        self.bifurcation.caption(words.title, words.y_label)
        shell.show(self.pitchfork_plot, words.shown)
        self.bifurcation_legend.object = f'<span class="legend-text">{html.escape(words.legend)}</span>'
        self.look_for.object = (f'<b>What to look for.</b> <span class="look-for-text">'
                                f"{html.escape(words.look_for)}</span>")

    def redraw(self, changed):
        """Repaint what depends on the changed parameters (all of it when ``changed`` is None)."""
        st = self.state
        only_3d = changed is not None and set(changed) <= {"view3d", "show3d"}
        if changed is None or "mode" in changed:
            for key in st.kinds():
                self.add_surface(key)
            self.set_visibility()
        sets = {}
        if not only_3d:
            # The unregularized loss does not depend on λ: a λ change leaves its map as it is.
            kinds = [k for k in st.kinds() if not (changed == ("lam",) and k == "unregularized")]
            for p in st.panels(kinds):
                sets[p.key] = p.sets
                self.surfaces[p.key].update(p.z, p.sets, log=st.log_color)
                self.formulas[p.key].object = p.formula
                self.summaries[p.key].object = f'<span class="summary-text">{html.escape(p.summary)}</span>'
            if changed is None or set(changed) & {"mode", "x", "y", "alpha"}:
                self.draw_pitchfork()
            self.bifurcation.mark(st.lam)
        self.plot3d.shown = st.show3d
        if st.show3d:
            # a 60 × 60 grid: plenty for a rotatable view, ~15 kB per update
            kind = "alignment" if st.mode == "alignment" else st.view3d
            w = np.linspace(-EXTENT, EXTENT, 60)
            self.plot3d.param.update(**surface(w, st.loss_grid(kind, w[None, :], w[:, None]),
                                               KIND_TITLES.get(kind, "Weight alignment loss"),
                                               sets=sets[kind] if kind in sets else st.sets(kind)))


#: the page class the registry (app.pages) names
PAGE = LandscapePage


def create(**kwargs):
    """Build one session's page (Panel calls this once per visitor)."""
    return LandscapePage(**kwargs).view()
