"""The Trajectories page: the six LAE-PCA solvers of ``lae_core.solvers`` moving on the scalar
landscape (and on the tied vector case m = 2, k = 1), animated, with the loss and ‖W₁ − W₂ᵀ‖ per
iteration beside the map and each run's outcome in words.

- ``TrajectoryState`` — the page's state (a ``param.Parameterized``; its parameters carry bounds
  and labels and are the URL). ``background()`` and ``runs()`` turn it into numbers by calling
  ``lae_core.scalar`` and ``lae_core.solvers``; ``outcome()`` puts a run into words, and opens
  with "Learning rate too large" when that is what stops it (``step_too_large``).
- ``Run`` — one solver's run as the page draws it: plane coordinates, loss, ‖W₁ − W₂ᵀ‖.
- ``swatch`` — how a solver is drawn (colour, dash, marker) as an SVG for the words and legends.
- ``TrajectoriesPage`` — the layout, which grows with the screen. A control change recomputes
  every selected run and sends its path once, as float32 arrays; a click on the map plays the
  new runs from iteration 0. An animation frame is drawn in the browser (FRAME_JS, DRAWN_JS):
  it moves the current-iterate markers (a ``ColumnDataSource`` of at most six rows), two
  vertical rules and the counter, and cuts every path at that iteration.

No formula is written here: losses, critical sets, mini-batch data and the nearest critical set
all come from ``lae_core``.
"""

from __future__ import annotations

import html
import math
import urllib.parse
from dataclasses import dataclass

import numpy as np
import panel as pn
import param
from bokeh.events import Tap
from bokeh.models import (BasicTicker, BasicTickFormatter, ColumnDataSource, CustomJS, CustomJSTickFormatter,
                          HoverTool, LinearScale, LogScale, LogTicker, LogTickFormatter, Range1d, Span)
from bokeh.plotting import figure

from app import compat, panes, plots, shell
from lae_core import scalar, solvers

EXTENT, N = 2.0, 200
#: Values below this are drawn at it on the log axes (an exact 0 has no logarithm).
LOG_FLOOR = 1e-16
#: A run "reaches" a critical set when its last iterate is this close to it (weight units).
REACH = 1e-3
#: ‖W₁ − W₂ᵀ‖ below this counts as W₁ = W₂ᵀ in the words.
TIED = 1e-6
#: A full-batch gradient run stopped at the iteration limit whose loss still rises (by more than
#: this, relative) in the last quarter of its iterates is not slow but unstable: near a minimum a
#: small enough step lowers the loss at every iteration, round-off aside.
RISE = 1e-9
#: the verdict an outcome opens with when the learning rate is what stops a run
TOO_LARGE = "Learning rate too large"

MODES = {"Scalar LAE (m = k = 1)": "scalar", "Tied vector case (m = 2, k = 1)": "tied"}
AXES = {"linear": "linear", "log (runs of very different lengths)": "log"}
#: the side plots' iteration axis: its scale, ticker and tick labels
AXIS_MODELS = {"linear": (LinearScale, BasicTicker, BasicTickFormatter),
               "log": (LogScale, LogTicker, LogTickFormatter)}
#: runs whose lengths differ by this factor or more get a hint to use the log iteration axis
LENGTHS_APART = 30
KINDS = {"L_σ (sum)": "sum", "L_π (product)": "product", "L (unregularized)": "unregularized"}
KIND_TITLES = {v: k for k, v in KINDS.items()}
LABELS = {"untied_gd": "untied GD", "sync_gd": "sync GD", "tied_gd": "tied GD (Oja)",
          "exact_untied": "exact untied", "exact_sync": "exact sync", "exact_tied": "exact tied"}
#: one colour per solver, readable on the white side plots and (with a white halo) on the map
COLORS = {"untied_gd": "#0072b2", "sync_gd": "#56b4e9", "tied_gd": "#cc79a7",
          "exact_untied": "#d55e00", "exact_sync": "#e69f00", "exact_tied": "#222222"}
#: two blues (untied and sync GD) and two oranges (exact untied and exact sync) merge on a
#: projector: the sync solvers' lines are also dashed and their current iterate a diamond, on
#: the map, the side plots and every swatch
SYNC_STYLE = ("sync_gd", "exact_sync")
DASHES = {m: ([9, 4] if m in SYNC_STYLE else []) for m in COLORS}
MARKERS = {m: ("diamond" if m in SYNC_STYLE else "circle") for m in COLORS}
GRADIENT = ("untied_gd", "sync_gd", "tied_gd")
#: methods whose every iterate has W₁ = W₂ᵀ (exact sync averages after each step), so in the
#: tied case they move in the drawn plane W = W₂ = W₁ᵀ = [w₁, w₂]ᵀ; the authors' sync GD only
#: starts there (W₁ = W₂ᵀ at initialisation) and leaves it when X Xᵀ does not commute with W Wᵀ
TIED_ITERATES = ("tied_gd", "exact_sync", "exact_tied")
TIED_BY_CONSTRUCTION = ("tied_gd", "exact_tied")
SYNCED = ("exact_sync",)
#: methods that start at a tied point of the plane: the tied ones (from W₂, or W₁ for exact
#: tied: the block their first step reads) and the sync ones, synchronised at initialisation
#: (W₁ = W₂ᵀ, as the authors start them)
SYNC_START = ("sync_gd", "exact_sync")
TIED_START = TIED_BY_CONSTRUCTION + SYNC_START
SIDE_TOOLS = "pan,box_zoom,wheel_zoom,reset"




def _point(a: float, b: float) -> str:
    return f"({plots.number(a, 3)}, {plots.number(b, 3)})"


def _sci(z: float) -> str:
    return "0" if z == 0 else f"{z:.1e}"


def _plural(n: int, word: str = "iteration") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def set_words(s) -> str:
    """A critical set in words: "the minimum at (0.707, 0.707)", "the origin (a saddle)"."""
    degenerate = "degenerate " if s.degenerate and s.shape == "point" else ""
    if s.shape == "curve":
        return f"the {s.label}, a curve of {plots.PLURAL[s.type]}"
    if s.label == "origin":
        return f"the origin (a {degenerate}{s.type})"
    return f"the {degenerate}{s.type} at {s.label}"


@dataclass
class Run:
    """One solver's run as drawn: coordinates in the map's plane, loss and ‖W₁ − W₂ᵀ‖ per
    iterate (all finite: ``solve`` drops a diverging iterate), and whether the run lives in
    the drawn plane (an untied method in the tied case is drawn by its decoder W₂)."""

    method: str
    trajectory: solvers.Trajectory
    w1: np.ndarray
    w2: np.ndarray
    loss: np.ndarray
    gap: np.ndarray
    in_plane: bool

    @property
    def frames(self) -> int:
        return len(self.loss)


class TrajectoryState(param.Parameterized):
    """Everything the page shows is a function of these parameters (and they are the URL)."""

    mode = param.Selector(default="scalar", objects=MODES, label="Landscape",
                          doc="The scalar LAE, or the tied vector case W = [w₁, w₂]ᵀ, X = diag(x, y).")
    kind = param.Selector(default="sum", objects=KINDS, label="Loss")
    lam = param.Number(default=0.5, bounds=(0.0, 4.0), step=0.01, label="λ",
                       doc="Regularization strength λ ≥ 0.")
    x = param.Number(default=1.0, bounds=(0.0, 2.0), step=0.01, label="x", doc="The data x.")
    y = param.Number(default=0.7, bounds=(0.0, 2.0), step=0.01, label="y",
                     doc="The second data value of the tied case, X = diag(x, y).")
    w1 = param.Number(default=-1.4, bounds=(-EXTENT, EXTENT), step=0.05, label="start w₁")
    w2 = param.Number(default=1.7, bounds=(-EXTENT, EXTENT), step=0.05, label="start w₂")
    methods = param.ListSelector(default=["untied_gd", "tied_gd", "exact_untied"], objects=list(solvers.METHODS),
                                 label="Solvers")
    lr_exp = param.Number(default=-1.3, bounds=(-4.0, 0.0), step=0.05, label="Learning rate",
                          doc="log₁₀ of the gradient methods' learning rate.")
    max_iter = param.Integer(default=2000, bounds=(10, 5000), step=10, label="Iteration limit")
    tol_exp = param.Integer(default=-10, bounds=(-14, -2), label="Tolerance",
                            doc="log₁₀ of the convergence tolerance: stop when ‖step‖ ≤ tol·(1 + ‖W‖).")
    minibatch = param.Boolean(default=False, label="Mini-batches")
    n = param.Integer(default=20, bounds=(4, 200), label="Samples n")
    batch_size = param.Integer(default=4, bounds=(1, 200), label="Batch size")
    seed = param.Integer(default=0, bounds=(0, 9999), label="Seed")
    iteration_axis = param.Selector(default="linear", objects=AXES, label="Iteration axis",
                                    doc="The side plots' iteration axis: a log axis shows a run of 4 "
                                        "iterations beside one of 2000.")

    URL_PARAMS = ["mode", "kind", "lam", "x", "y", "w1", "w2", "methods", "lr_exp", "max_iter", "tol_exp",
                  "minibatch", "n", "batch_size", "seed", "iteration_axis"]

    @property
    def lr(self) -> float:
        return 10.0 ** self.lr_exp

    @property
    def tol(self) -> float:
        return 10.0 ** self.tol_exp

    # ---------------------------------------------------------------- state → numbers
    def background(self):
        """The loss on the map's grid (rows along w₂) and its critical sets."""
        w = np.linspace(-EXTENT, EXTENT, N)
        w1, w2 = w[None, :], w[:, None]
        if self.mode == "tied":
            return (scalar.tied_loss(self.kind, w1, w2, self.x, self.y, self.lam),
                    scalar.tied_critical_sets(self.kind, self.x, self.y, self.lam))
        return scalar.loss(self.kind, w1, w2, self.x, self.lam), scalar.critical_sets(self.kind, self.x, self.lam)

    def data(self) -> np.ndarray:
        """X: diag(x) or diag(x, y); with mini-batches n samples with exactly that X Xᵀ."""
        values = [self.x] if self.mode == "scalar" else [self.x, self.y]
        if self.minibatch:
            return scalar.samples(values, self.n, self.seed)
        return np.diag(values)

    def start(self) -> tuple[np.ndarray, np.ndarray]:
        """(W1, W2) at the start: the scalar (w₁, w₂), or W₁ = W₂ᵀ = [w₁, w₂] in the tied case."""
        if self.mode == "tied":
            W2 = np.array([[self.w1], [self.w2]])
            return W2.T.copy(), W2
        return np.array([[self.w1]]), np.array([[self.w2]])

    def runs(self) -> list[Run]:
        """Every selected solver from the start, in ``METHODS`` order."""
        X = self.data()
        W1, W2 = self.start()
        batch = min(self.batch_size, self.n) if self.minibatch else None
        out = []
        for method in solvers.METHODS:
            if method not in self.methods:
                continue
            start = {"W2": W2} if method in SYNC_START else {"W1": W1, "W2": W2}
            t = solvers.solve(method, X, 1, self.lam, **start, lr=self.lr, max_iter=self.max_iter,
                              tol=self.tol, batch_size=batch, seed=self.seed, kind=self.kind)
            if self.mode == "tied":
                a, b = t.W2[:, 0, 0], t.W2[:, 1, 0]
            else:
                a, b = t.W1[:, 0, 0], t.W2[:, 0, 0]
            in_plane = self.mode == "scalar" or method in TIED_ITERATES
            out.append(Run(method, t, a, b, t.loss, t.transpose_gap, in_plane))
        return out

    # ---------------------------------------------------------------- numbers → words
    def step_too_large(self, run: Run) -> bool:
        """Whether a gradient run fails because its learning rate is too large: it diverged or
        oscillates (``lae_core.solvers``' status), or, on the full batch, it stopped at the
        iteration limit while its loss still rises in the last quarter of its iterates (``RISE``)."""
        t = run.trajectory
        if run.method not in GRADIENT or t.status == "converged":
            return False
        if t.status in ("diverged", "oscillating"):
            return True
        if self.minibatch and self.batch_size < self.n:
            return False  # a mini-batch step raises the full-batch loss at any learning rate
        tail = run.loss[-max(4, run.frames // 4):]
        return bool(np.any(np.diff(tail) > RISE * (1.0 + np.abs(tail[:-1]))))

    def outcome(self, run: Run, sets) -> str:
        """What happened to ``run``, in words a student can read (``outcome_parts`` joined)."""
        verdict, text = self.outcome_parts(run, sets)
        return f"{verdict}: {text}" if verdict else text

    def outcome_parts(self, run: Run, sets) -> tuple[str, str]:
        """``(verdict, text)``: the verdict is ``TOO_LARGE`` for a run that fails because its
        learning rate is too large (``step_too_large``; its text then says to lower it, never
        to raise it), else empty; the text says where the run went and what to try."""
        t = run.trajectory
        gradient = run.method in GRADIENT
        verdict = TOO_LARGE if self.step_too_large(run) else ""
        if t.status == "diverged":
            if gradient:
                return verdict, (f"diverged at iteration {t.iterations + 1} — lower the learning rate "
                                 f"(now {t.lr:.3g}). The path is drawn up to iteration {t.iterations}, "
                                 f"its last finite iterate.")
            return verdict, (f"diverged at iteration {t.iterations + 1} — the closed-form steps are "
                             f"numerically unstable here. The path is drawn up to iteration {t.iterations}.")
        end = _point(run.w1[-1], run.w2[-1])
        loss = f"{run.loss[-1]:.4g}"
        gap = float(run.gap[-1])
        target, dist = scalar.nearest_critical_set(sets, (run.w1[-1], run.w2[-1]))
        if not run.in_plane and gap >= TIED:
            where = ("off the drawn plane (its encoder W₁ is not W₂ᵀ), so at none of the critical "
                     "sets drawn")
        elif target is None:
            where = "on a loss that is flat here (x = 0: every point is critical)"
        elif t.status == "converged":
            where = (f"reaching {set_words(target)}" if dist <= REACH
                     else f"closest to {set_words(target)} ({dist:.2g} away)")
        else:
            where = (f"near {set_words(target)} ({dist:.2g} away)" if dist <= 0.05
                     else "not yet at a critical point")
        if t.status == "converged":
            text = f"converged after {_plural(t.iterations)} at {end} with loss {loss}, {where}."
        elif t.status == "oscillating":
            hint = (f"Lower the learning rate (now {t.lr:.3g})." if gradient
                    else "The closed-form step overshoots its fixed point here.")
            text = (f"oscillates without converging: after {_plural(t.iterations)} the steps still "
                    f"go back and forth, at {end} with loss {loss}, {where}. {hint}")
        elif verdict:
            text = (f"does not settle: after {_plural(t.iterations)} the loss still goes up and down, at "
                    f"{end} with loss {loss}, {where}. Lower the learning rate (now {t.lr:.3g}).")
        else:
            if self.minibatch and self.batch_size < self.n:
                hint = "Mini-batch noise keeps the steps from shrinking to zero."
            elif gradient:
                hint = "Raise the iteration limit or the learning rate."
            else:
                hint = "Raise the iteration limit."
            text = (f"stopped at the iteration limit after {_plural(t.iterations)} without converging, "
                    f"at {end} with loss {loss}, {where}. {hint}")
        if self.mode == "scalar" and run.method in TIED_START and self.w1 != self.w2:
            text = f"starts at the tied point {_point(run.w1[0], run.w2[0])} (dotted); " + text
        if not run.in_plane:
            text = "(decoder W₂ drawn, faded) " + text
        text += f" ‖W₁ − W₂ᵀ‖ = {_sci(gap)}"
        if run.method in TIED_BY_CONSTRUCTION:
            text += " (tied by construction)."
        elif run.method in SYNCED and gap < TIED:
            text += " (W₁ = W₂ᵀ after every averaging step)."
        elif gap < TIED and self.kind == "sum" and t.status == "converged":
            text += " — W₁ = W₂ᵀ, as the Transpose Theorem says for the sum loss."
        elif gap >= TIED and self.kind != "sum" and t.status == "converged":
            text += " — for this loss W₁ need not equal W₂ᵀ."
        else:
            text += "."
        return verdict, text

    def notes(self) -> list[str]:
        """Plain sentences on what is drawn, shown under the map."""
        out = []
        if self.mode == "tied":
            untied = [LABELS[m] for m in self.methods if m not in TIED_ITERATES]
            tied = ", ".join(LABELS[m] for m in TIED_ITERATES)
            out.append(f"Tied case: the map is L(Wᵀ, W) for W = [w₁, w₂]ᵀ; {tied} keep W₁ = W₂ᵀ and "
                       "move in this plane.")
            if untied:
                out.append(f"{', '.join(untied)}: W₁ and W₂ are four separate numbers here; the faded path "
                           "is the decoder W₂ = [w₁, w₂]ᵀ, which lies on the map only where W₁ = W₂ᵀ.")
        if self.minibatch:
            b = min(self.batch_size, self.n)
            full = " (b ≥ n: full batch)" if self.batch_size >= self.n else ""
            out.append(f"Mini-batches: the data are n = {self.n} samples (seed {self.seed}) whose full batch "
                       f"gives exactly the loss on the map; each step sees b = {b} of them{full}.")
        if not self.methods:
            out.append("Choose at least one solver.")
        return out

    def axis_hint(self, runs: list[Run]) -> str:
        """A sentence pointing to the log iteration axis when the runs' lengths differ by
        ``LENGTHS_APART`` or more on a linear one (the short run is squeezed against the axis)."""
        lengths = [r.frames - 1 for r in runs if r.frames > 1]
        if self.iteration_axis == "log" or len(lengths) < 2 or max(lengths) < LENGTHS_APART * min(lengths):
            return ""
        return (f"The runs take {min(lengths)} to {max(lengths)} iterations: choose a log iteration "
                "axis to see the short ones.")


#: Play at the last frame starts again from the first (Panel's Player would stop at once).
RESTART_JS = """
if (cb_obj.direction === 1 && cb_obj.value >= cb_obj.end) { cb_obj.value = cb_obj.start }
"""
#: The browser's half of ``show_frame``: the same markers, span and counter from the paths
#: already in the browser (the counter is an ``app.panes.HTML``: its text is ``data.object``). The
#: span's new location makes every path grow to it (DRAWN_JS).
FRAME_JS = """
const i = Math.max(0, Math.round(cb_obj.value));
const cols = {w1: [], w2: [], it: [], loss: [], gap: [], color: [], marker: []};
let last = 0;
for (const [m, src] of Object.entries(sources)) {
  const d = src.data, n = d.w1.length;
  if (!n) continue;
  const j = Math.min(i, n - 1);
  last = Math.max(last, n - 1);
  cols.w1.push(d.w1[j]); cols.w2.push(d.w2[j]); cols.it.push(j);
  cols.loss.push(Math.max(d.loss[j], floor)); cols.gap.push(Math.max(d.gap[j], floor));
  cols.color.push(colors[m]); cols.marker.push(markers[m]);
}
current.data = cols;
const k = Math.min(i, last);
loss_span.location = k;
gap_span.location = k;
counter.data.object = `<span class="iteration-counter">Iteration ${k} of ${last}</span>`;
"""
#: The part of each path that is drawn: iterates 0 … min(k, n − 1), k the frame's iteration (the
#: loss plot's span), so that the paths grow as the player runs. Views of the paths' arrays into
#: sources the browser keeps to itself (``syncable=False``: nothing goes back to the server);
#: run when the span moves and when the server sends new paths.
DRAWN_JS = """
// plain typed-array views, not copies (Bokeh's own array types do not survive subarray())
const head = (a, end) => a instanceof Float32Array ? new Float32Array(a.buffer, a.byteOffset, end)
  : a instanceof Float64Array ? new Float64Array(a.buffer, a.byteOffset, end)
  : Array.prototype.slice.call(a, 0, end);
const k = Math.max(0, Math.round(frame.location));
for (const [m, src] of Object.entries(sources)) {
  const d = src.data, end = Math.min(k + 1, d.w1.length), shown = drawn[m];
  const now = shown.data.w1;
  if (now != null && now.length === end && (end === 0 || now.buffer === d.w1.buffer)) continue;
  const cols = {};
  for (const [name, column] of Object.entries(d)) cols[name] = head(column, end);
  shown.data = cols;
}
"""
#: the player's buttons and track, named for a screen reader and a mouse pointer
PLAYER_LABELS = {"slower": "Slower (longer between frames)", "first": "First iteration",
                 "previous": "Back one frame", "reverse": "Play backwards", "pause": "Pause", "play": "Play",
                 "next": "Forward one frame", "last": "Last iteration", "faster": "Faster (shorter between frames)"}
#: Panel's Player draws its buttons as bare icons: name them (once per rendering of the player,
#: so this returns at once on later frames)
LABEL_PLAYER_JS = """
const view = Bokeh.index.find_one(cb_obj);
const root = view == null ? null : view.shadow_el;
if (root == null) return;
const play = root.querySelector('button.play');
if (play == null || play.getAttribute('aria-label') === labels.play) return;
for (const [name, label] of Object.entries(labels)) {
  for (const button of root.querySelectorAll(`button.${name}`)) {
    button.setAttribute('aria-label', label);
    button.setAttribute('title', label);
  }
}
for (const track of root.querySelectorAll('input[type=range]')) {
  track.setAttribute('aria-label', 'Iteration');
}
"""
LR_FORMAT = "return Number(Math.pow(10, tick).toPrecision(2)).toString()"
TOL_FORMAT = "return '1e' + tick"
#: the counter is as wide as its longest text, "Iteration 5000 of 5000" (10.2 em): a counter that
#: widened as the player passed 10, 100 and 1000 made BokehJS lay the whole page out again. In the
#: compact view (an embed, a slide) it shares a row of a fixed 960 px with the player, which has
#: no room for the longest text: there it is as wide as its text
PAGE_CSS = """
.iteration-counter { font-size: 15px; font-weight: 600; color: #23395d; font-variant-numeric: tabular-nums;
  display: inline-block; min-width: 10.2em; }
:host(.compact) .iteration-counter { min-width: 0; }
.outcome-list { list-style: none; padding: 0; margin: 4px 0; font-size: 13px; line-height: 1.45; }
.outcome-list li { margin: 3px 0 7px 0; padding-left: 42px; position: relative; }
.outcome-list .swatch { position: absolute; left: 0; top: 2px; }
.outcome-list b { color: #23395d; }
.outcome-list .diverged .outcome-text { color: #a12622; }
.outcome-list .verdict { color: #a12622; font-weight: 700; }
.outcome-list .too-large { background: #fff4e0; border-left: 4px solid #d9822b; padding: 3px 6px 3px 46px;
                           margin-left: -4px; }
.outcome-list .too-large .swatch { left: 4px; top: 5px; }
.notes { font-size: 12.5px; color: #444; margin: 2px 0; }
.solver-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12.5px; color: #333; margin: 0; }
.solver-legend span { white-space: nowrap; }
.solver-legend svg { vertical-align: middle; margin-right: 4px; }
.map-legend { font-size: 12px; color: #555; margin: 2px 0 0 0; }
"""
SIDEBAR_CSS = """
.section { font-weight: 600; color: #23395d; border-bottom: 1px solid #d8dde6; margin-top: 6px;
           padding-bottom: 2px; font-size: 13.5px; }
.hint { font-size: 12px; color: #666; }
"""
#: the side plots' size (pixels) where the page gives them a fixed one (embed, lecture, export)
SIDE_SIZE = (470, 235)
#: how the map's column and the side plots' column share a row: flex-grow, flex-shrink and basis;
#: below the two bases (+ margins) the side plots wrap under the map
MAP_FLEX, SIDE_FLEX = "5 1 430px", "4 1 360px"


def swatch(method: str, faded: bool = False) -> str:
    """An inline SVG of how ``method`` is drawn: its colour, its line's dash (faded when the
    path is a decoder off the drawn plane) and its current-iterate marker."""
    color = COLORS[method]
    dash = f' stroke-dasharray="{" ".join(map(str, DASHES[method]))}"' if DASHES[method] else ""
    opacity = ' stroke-opacity="0.5"' if faded else ""
    if MARKERS[method] == "diamond":
        mark = '<path d="M17 1 L24 8 L17 15 L10 8 Z"'
    else:
        mark = '<circle cx="17" cy="8" r="5.5"'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="swatch" width="36" height="16" '
            f'viewBox="0 0 36 16" aria-hidden="true">'
            f'<line x1="1" y1="8" x2="35" y2="8" stroke="{color}" stroke-width="3"{dash}{opacity}/>'
            f'{mark} fill="{color}" stroke="white" stroke-width="1.5"/></svg>')


def _method_css() -> str:
    """Swatches beside the solver checkboxes, in ``METHODS`` order (the SVG of ``swatch``)."""
    rules = [f"label:nth-of-type({i}) span::after {{ content: ''; display: inline-block; width: 36px; "
             f"height: 16px; margin: 0 0 0 8px; vertical-align: middle; "
             f"background: url(\"data:image/svg+xml,{urllib.parse.quote(swatch(m))}\") no-repeat; }}"
             for i, m in enumerate(solvers.METHODS, start=1)]
    return "\n".join(rules)


class LivePlayer(shell._Live, pn.widgets.Player):
    """Panel's Player whose every animation frame's value reaches the server at once (as
    ``shell.LiveFloatSlider``)."""


class TrajectoriesPage(shell.Page):
    """Lays out ``TrajectoryState``: the map with paths, the side plots, the player, the words."""

    slug, title = "trajectories", "Trajectories"
    state_class = TrajectoryState

    def build(self):
        st = self.state
        self.runs: list[Run] = []
        self.last = 0  # the last iteration of the longest run
        self.sets = []
        # Until the browser has the page the frame is the runs' end; then the player goes there
        # (``_to_end``), and from then on the player's value is the frame.
        self.opening = True
        self.play_from_start = False  # a click on the map plays its runs from iteration 0
        self.surface = plots.SurfacePlot("", EXTENT, N, width=560, height=500)
        fig = self.surface.figure
        fig.name = "trajectory-map"
        self.sources = {m: ColumnDataSource(self._path_columns(None)) for m in solvers.METHODS}
        # what is drawn of each path: the whole path when the page opens, then DRAWN_JS's
        self.drawn = {m: ColumnDataSource(self._path_columns(None), syncable=False) for m in solvers.METHODS}
        span = dict(location=0, dimension="height", line_color="#444", line_width=1, line_dash="dotted")
        self.loss_span, self.gap_span = Span(**span), Span(**span)
        grow = CustomJS(args=dict(sources=self.sources, drawn=self.drawn, frame=self.loss_span), code=DRAWN_JS)
        self.loss_span.js_on_change("location", grow)
        for source in self.sources.values():
            source.js_on_change("data", grow)
        self.projection = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        fig.multi_line("xs", "ys", source=self.projection, line_color="color", line_width=2, line_dash="dotted")
        self.map_lines, self.halos, loss_lines, gap_lines = {}, {}, {}, {}
        for m in solvers.METHODS:
            self.halos[m] = fig.line("w1", "w2", source=self.drawn[m], line_color="white", line_alpha=0.7,
                                     line_width=5.5)
            self.map_lines[m] = fig.line("w1", "w2", source=self.drawn[m], line_color=COLORS[m],
                                         line_dash=DASHES[m], line_width=2.5, name=LABELS[m])
        self.start_source = ColumnDataSource(dict(w1=[st.w1], w2=[st.w2]))
        fig.scatter("w1", "w2", source=self.start_source, marker="star", size=22, fill_color="white",
                    line_color="black", line_width=1.5, name="start")
        self.current = ColumnDataSource(dict(w1=[], w2=[], it=[], loss=[], gap=[], color=[], marker=[]))
        fig.scatter("w1", "w2", source=self.current, size=15, marker="marker", fill_color="color",
                    line_color="white", line_width=2)
        fig.add_tools(HoverTool(renderers=list(self.map_lines.values()), visible=False, tooltips=[
            ("solver", "$name"), ("iteration", "@it{0}"), ("(w₁, w₂)", "(@w1{0.000}, @w2{0.000})"),
            ("loss", "@loss{0.000e}")]))
        fig.on_event(Tap, self._tapped)

        self.loss_fig = self._series("Loss per iteration", "loss (log; below 1e-16 drawn at 1e-16)", "loss",
                                     loss_lines, self.loss_span)
        self.gap_fig = self._series("‖W₁ − W₂ᵀ‖ per iteration (Transpose Theorem)",
                                    "‖W₁ − W₂ᵀ‖ (log; 0 drawn at 1e-16)", "gap", gap_lines, self.gap_span)
        self.side_lines = {m: (loss_lines[m], gap_lines[m]) for m in solvers.METHODS}

        self.player = LivePlayer(start=0, end=1, value=0, interval=50, step=2, loop_policy="once",
                                 show_loop_controls=False, height=70, min_width=300, max_width=560,
                                 sizing_mode="stretch_width", css_classes=["trajectory-player"], margin=(0, 10))
        # one call each: Panel registers only one property of a multi-property jscallback
        self.player.jscallback(direction=RESTART_JS)
        self.player.jscallback(value=LABEL_PLAYER_JS, args=dict(labels=PLAYER_LABELS))
        compat.resize_player_with_its_end(self.player)
        self.player.param.watch(self._player_moved, "value")
        self.speed = shell.LiveSelect(label="Iterations per frame", options=[1, 2, 5, 10, 20, 50], value=2,
                                      width=130, css_classes=["frame-step"])
        self.speed.link(self.player, value="step")
        self.counter = panes.HTML("", css_classes=["iteration-counter-pane"], stylesheets=[PAGE_CSS],
                                  margin=(4, 10))
        self.outcomes = panes.HTML("", css_classes=["outcomes"], stylesheets=[PAGE_CSS],
                                   sizing_mode="stretch_width", hold_height=True)
        self.notes = panes.HTML("", stylesheets=[PAGE_CSS], sizing_mode="stretch_width", css_classes=["notes-pane"],
                                hold_height=True)
        self.legend = panes.HTML("", stylesheets=[PAGE_CSS], sizing_mode="stretch_width",
                                 css_classes=["solver-legend-pane"], margin=(2, 10))
        # An animation frame is drawn in the browser, from the paths it already holds: no round
        # trip to the server per frame (the server learns the player's value all the same).
        self.player.jscallback(value=FRAME_JS, args=dict(
            sources={m: self.sources[m] for m in solvers.METHODS}, colors=COLORS, markers=MARKERS,
            current=self.current, loss_span=self.loss_span, gap_span=self.gap_span, counter=self.counter,
            floor=LOG_FLOOR))

        sidebar = self._controls()
        # The map and the side plots grow with the screen and share a row while both fit
        # (MAP_FLEX, SIDE_FLEX); on a narrower pane the side plots go under the map.
        fig.sizing_mode = "scale_width"
        for f in (self.loss_fig, self.gap_fig):
            f.sizing_mode = "scale_width"
        self.map_pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width")
        self.side_panes = [pn.pane.Bokeh(f, sizing_mode="stretch_width") for f in (self.loss_fig, self.gap_fig)]
        map_legend = panes.HTML(f'<div class="map-legend">{html.escape(plots.LEGEND)}  ☆ start</div>',
                                stylesheets=[PAGE_CSS], sizing_mode="stretch_width", margin=(0, 10))
        main = pn.Column(
            pn.FlexBox(
                pn.Column(self.map_pane, self.counter,
                          pn.Row(self.player, self.speed, sizing_mode="stretch_width"), self.notes,
                          sizing_mode="stretch_width", styles={"flex": MAP_FLEX, "min-width": "0"},
                          css_classes=["map-column"]),
                pn.Column(*self.side_panes, self.legend, map_legend, sizing_mode="stretch_width",
                          styles={"flex": SIDE_FLEX, "min-width": "0"}, css_classes=["side-column"]),
                flex_wrap="wrap", sizing_mode="stretch_width"),
            self.outcomes,
            panes.HTML(
                "<b>What to look for.</b> Click the map to start every solver from there and watch them run. "
                "With the sum loss L_σ every run that converges ends with W₁ = W₂ᵀ — the Transpose "
                "Theorem — so ‖W₁ − W₂ᵀ‖ falls to round-off even for untied GD; with the product or "
                "unregularized loss untied GD stops anywhere on the hyperbola of minima and the gap stays. "
                "Raise the learning rate until a gradient method oscillates or diverges; switch on "
                "mini-batches to see the noise.",
                sizing_mode="stretch_width", styles={"font-size": "13px"}),
            sizing_mode="stretch_width")
        self.redraw(None)
        for m in solvers.METHODS:  # the only time the server writes them
            self.drawn[m].data = dict(self.sources[m].data)
        for f in (fig, self.loss_fig, self.gap_fig):
            f.toolbar.logo = None
        # Open on the finished runs once the page is in the browser (see compat.resize_player_with_its_end).
        self.when_shown(self._to_end)
        return sidebar, main

    def compact(self):
        """Embed mode and the lecture: loss, λ and learning rate in a row; the map with the
        player beside the ‖W₁ − W₂ᵀ‖ and loss curves and the solvers' legend."""
        c = self.main_controls
        c["kind"].param.update(width=170, sizing_mode=None)
        fig = self.surface.figure
        fig.sizing_mode, fig.width, fig.height = "fixed", 420, 370
        self.map_pane.sizing_mode = "fixed"
        self.player.param.update(sizing_mode="fixed", width=300, min_width=None, max_width=None)
        for f, pane in zip((self.loss_fig, self.gap_fig), self.side_panes):
            f.sizing_mode, f.width, f.height = "fixed", 490, 190
            pane.sizing_mode = "fixed"
        self.counter.param.update(margin=(0, 6), css_classes=[*self.counter.css_classes, "compact"])
        self.legend.margin = (0, 6)
        return pn.Column(
            pn.Row(c["kind"], c["lam"], c["lr"], sizing_mode="stretch_width", margin=0),
            pn.Row(pn.Column(self.map_pane, pn.Row(self.player, self.counter), margin=0),
                   pn.Column(self.side_panes[1], self.side_panes[0], self.legend, margin=0), margin=0),
            margin=0)

    def _to_end(self):
        self.player.value = self.player.end

    def _player_moved(self, event):
        self.opening = False

    @staticmethod
    def _path_columns(run: Run | None) -> dict:
        """A run's path for the browser, float32 (half of float64's bytes; the map is 560 px)."""
        if run is None:
            empty = np.zeros(0, np.float32)
            return dict(w1=empty, w2=empty, it=empty, loss=empty, gap=empty)
        f32 = np.float32
        return dict(w1=run.w1.astype(f32), w2=run.w2.astype(f32), it=np.arange(run.frames, dtype=f32),
                    loss=np.maximum(run.loss, LOG_FLOOR).astype(f32), gap=np.maximum(run.gap, LOG_FLOOR).astype(f32))

    def _series(self, title, y_label, column, lines, span):
        # fixed ranges, set from the runs (whole decades on the log axis): a range that follows the
        # data would move the ticks, resize the axis and make Bokeh lay the plot out on every change
        width, height = SIDE_SIZE
        fig = figure(title=title, width=width, height=height, y_axis_type="log", tools=SIDE_TOOLS,
                     toolbar_location="above", x_axis_label="iteration", y_axis_label=y_label,
                     x_range=Range1d(0, 1), y_range=Range1d(LOG_FLOOR, 1.0))
        fig.yaxis.axis_label_text_font_size = "11px"
        for m in solvers.METHODS:
            lines[m] = fig.line("it", column, source=self.drawn[m], line_color=COLORS[m], line_dash=DASHES[m],
                                line_width=2, name=LABELS[m])
        fig.scatter("it", column, source=self.current, size=10, marker="marker", fill_color="color",
                    line_color="white")
        fig.add_tools(HoverTool(renderers=list(lines.values()), visible=False, tooltips=[
            ("solver", "$name"), ("iteration", "@it{0}"), (column, f"@{column}{{0.000e}}")]))
        fig.add_layout(span)
        return fig

    def _controls(self):
        st = self.state
        self.mode_select = shell.LiveSelect.from_param(st.param.mode, sizing_mode="stretch_width")
        self.kind_select = shell.LiveSelect.from_param(st.param.kind, sizing_mode="stretch_width")
        sliders = {name: shell.LiveFloatSlider.from_param(st.param[name], sizing_mode="stretch_width")
                   for name in ("lam", "x", "y")}
        self.y_slider = sliders["y"]
        starts = [shell.LiveFloatInput.from_param(st.param[name], width=125, css_classes=[f"start-{name}"])
                  for name in ("w1", "w2")]
        self.method_boxes = shell.LiveCheckBoxGroup.from_param(
            st.param.methods, options={LABELS[m]: m for m in solvers.METHODS}, inline=False,
            css_classes=["methods"], stylesheets=[_method_css()])
        lr = shell.LiveFloatSlider.from_param(st.param.lr_exp, format=CustomJSTickFormatter(code=LR_FORMAT),
                                              sizing_mode="stretch_width")
        max_iter = shell.LiveIntSlider.from_param(st.param.max_iter, sizing_mode="stretch_width")
        tol = shell.LiveIntSlider.from_param(st.param.tol_exp, format=CustomJSTickFormatter(code=TOL_FORMAT),
                                     sizing_mode="stretch_width")
        self.axis_select = shell.LiveSelect.from_param(st.param.iteration_axis, sizing_mode="stretch_width",
                                                       css_classes=["iteration-axis"])
        minibatch = shell.LiveCheckbox.from_param(st.param.minibatch)
        self.main_controls = {"kind": self.kind_select, "lam": sliders["lam"], "lr": lr}
        self.batch_widgets = [shell.LiveIntSlider.from_param(st.param[name], sizing_mode="stretch_width")
                              for name in ("n", "batch_size", "seed")]

        def section(text):
            return panes.HTML(f'<div class="section">{html.escape(text)}</div>', stylesheets=[SIDEBAR_CSS],
                              sizing_mode="stretch_width", margin=(8, 10, 0, 10))

        def hint(text):
            return panes.HTML(f'<div class="hint">{html.escape(text)}</div>', stylesheets=[SIDEBAR_CSS],
                              sizing_mode="stretch_width", margin=(0, 10))

        return pn.Column(
            section("Landscape"), self.mode_select, self.kind_select, sliders["lam"], sliders["x"], self.y_slider,
            section("Start"), pn.Row(*starts), hint("…or click the map: the solvers run from there."),
            section("Solvers"), self.method_boxes, lr, hint("The learning rate is used by the GD methods."),
            max_iter, tol, self.axis_select,
            section("Data"), minibatch, *self.batch_widgets,
            sizing_mode="stretch_width")

    # ---------------------------------------------------------------- events
    def _tapped(self, event):
        self.guarded(self.set_start, event.x, event.y)

    def set_start(self, w1, w2):
        """Move the start to a clicked point (clamped to the map, rounded to 0.001) and play the
        runs from there, from iteration 0."""
        if w1 is None or w2 is None or not (math.isfinite(w1) and math.isfinite(w2)):
            return
        clamp = lambda z: round(min(EXTENT, max(-EXTENT, float(z))), 3)  # noqa: E731
        w1, w2 = clamp(w1), clamp(w2)
        if (w1, w2) == (self.state.w1, self.state.w2):  # the same runs: play them again
            self.player.param.update(value=0, direction=1)
            self.show_frame(0)
            return
        self.play_from_start = True  # read by the redraw this update makes
        try:
            self.state.param.update(w1=w1, w2=w2)
        finally:
            self.play_from_start = False

    # ---------------------------------------------------------------- drawing
    def redraw(self, changed):
        """Recompute what the changed parameters affect: the background only when the
        landscape changed; the runs on every change (3 × 2000 scalar steps take a few ms). A
        start clicked on the map plays the runs from iteration 0; any other change keeps the
        player where it is (at the end if it was there)."""
        st = self.state
        if st.batch_size > st.n:
            with param.parameterized.discard_events(st):  # one redraw, with the clamped value
                st.batch_size = st.n
        self.batch_widgets[1].param.update(end=st.n, value=st.batch_size)
        for w in self.batch_widgets:
            shell.show(w, st.minibatch)
        shell.show(self.y_slider, st.mode == "tied")
        if changed is None or set(changed) & {"mode", "kind", "lam", "x", "y"}:
            z, self.sets = st.background()
            self.surface.update(z, self.sets, log=True)
            where = f"X = diag({st.x:.3g}, {st.y:.3g})" if st.mode == "tied" else f"x = {st.x:.3g}"
            self.surface.figure.title.text = f"{KIND_TITLES[st.kind]} — λ = {st.lam:.3g}, {where}"
        if changed is None or "iteration_axis" in changed:
            self._set_iteration_axis(st.iteration_axis)
        self.runs = st.runs()
        selected = {r.method: r for r in self.runs}
        for m in solvers.METHODS:
            run = selected.get(m)
            self.sources[m].data = self._path_columns(run)
            in_plane = run is None or run.in_plane
            # a decoder path off the drawn plane is faded and has no halo
            self.map_lines[m].glyph.update(line_alpha=1.0 if in_plane else 0.5, line_width=2.5 if in_plane else 2)
            self.halos[m].visible = run is not None and in_plane
            for r in (self.map_lines[m], *self.side_lines[m]):
                r.visible = run is not None
        self.start_source.data = dict(w1=[st.w1], w2=[st.w2])
        self.last = last = max([r.frames for r in self.runs], default=1) - 1
        # iteration 0 has no logarithm: the log axis starts at iteration 1
        first, end = (1, max(last, 10)) if st.iteration_axis == "log" else (0, max(last, 1))
        for fig, column in ((self.loss_fig, "loss"), (self.gap_fig, "gap")):
            values = [getattr(r, column) for r in self.runs]
            lo, hi = plots.log_decades(np.concatenate(values) if values else [], LOG_FLOOR)
            fig.y_range.update(start=lo, end=hi)
            fig.x_range.update(start=first, end=end)
        proj = [r for r in self.runs if r.w1[0] != st.w1 or r.w2[0] != st.w2]
        self.projection.data = dict(xs=[[st.w1, float(r.w1[0])] for r in proj],
                                    ys=[[st.w2, float(r.w2[0])] for r in proj],
                                    color=[COLORS[r.method] for r in proj])
        self.outcomes.object = self._outcome_html()
        self.legend.object = self._legend_html()
        notes = [*st.notes(), st.axis_hint(self.runs)]
        self.notes.object = "".join(f'<p class="notes">{html.escape(t)}</p>' for t in notes if t)
        restart = self.play_from_start and bool({"w1", "w2"} & set(changed or ()))
        at_end = self.player.value >= self.player.end
        self.player.end = max(last, 1)
        if restart:
            self.player.param.update(value=0, direction=1)
            frame = 0
        elif self.opening:
            frame = last
        else:
            frame = self.player.end if at_end else min(self.player.value, self.player.end)
            self.player.value = frame
        self.show_frame(frame)

    def _set_iteration_axis(self, axis: str) -> None:
        """The side plots' iteration axis, linear or log (its scale, ticks and labels)."""
        scale, ticker, formatter = AXIS_MODELS[axis]
        label = "iteration (log)" if axis == "log" else "iteration"
        for fig in (self.loss_fig, self.gap_fig):
            if not isinstance(fig.x_scale, scale):
                fig.x_scale = scale()
                fig.xaxis.ticker = ticker()
                fig.xaxis.formatter = formatter()
            fig.xaxis.axis_label = label

    def _outcome_html(self) -> str:
        items = []
        for r in self.runs:
            verdict, words = self.state.outcome_parts(r, self.sets)
            classes = f"outcome outcome-{r.method} {r.trajectory.status}" + (" too-large" if verdict else "")
            lead = f'<span class="verdict">{html.escape(verdict)}:</span> ' if verdict else ""
            items.append(f'<li class="{classes}">{swatch(r.method, faded=not r.in_plane)}'
                         f'<b>{html.escape(LABELS[r.method])}</b>: '
                         f'<span class="outcome-text">{lead}{html.escape(words)}</span></li>')
        return f'<ul class="outcome-list">{"".join(items)}</ul>' if items else ""

    def _legend_html(self) -> str:
        """The selected solvers as drawn (colour, dash, marker), for the side plots and the
        compact view, which has no sidebar to read them from."""
        items = "".join(f'<span class="legend-{r.method}">{swatch(r.method, faded=not r.in_plane)}'
                        f'{html.escape(LABELS[r.method])}</span>' for r in self.runs)
        return f'<div class="solver-legend">{items}</div>' if items else ""

    def show_frame(self, i: int) -> None:
        """Move the current-iterate markers to iteration ``i`` (a run that ended earlier rests at
        its last iterate) and the spans, which the paths' drawn parts follow (DRAWN_JS, in the
        browser), after a redraw; while the player runs, FRAME_JS does the same in the browser."""
        cols = {k: [] for k in ("w1", "w2", "it", "loss", "gap", "color", "marker")}
        for r in self.runs:
            j = min(int(i), r.frames - 1)
            cols["w1"].append(float(r.w1[j]))
            cols["w2"].append(float(r.w2[j]))
            cols["it"].append(j)
            cols["loss"].append(max(float(r.loss[j]), LOG_FLOOR))
            cols["gap"].append(max(float(r.gap[j]), LOG_FLOOR))
            cols["color"].append(COLORS[r.method])
            cols["marker"].append(MARKERS[r.method])
        self.current.data = cols
        i = min(int(i), self.last)
        self.loss_span.location = self.gap_span.location = i
        self.counter.object = f'<span class="iteration-counter">Iteration {i} of {self.last}</span>'


#: the page class the registry (app.pages) names
PAGE = TrajectoriesPage


def create(**kwargs):
    """Build one session's page (Panel calls this once per visitor)."""
    return TrajectoriesPage(**kwargs).view()
