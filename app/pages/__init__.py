"""The registry of pages: every fact about which pages the app has lives here.

A page is one module in ``app/pages/`` with a ``create(**overrides)`` that builds one visitor's
view, and one ``Entry`` in ``PAGES`` below. Everything else reads this list: the server's routes
(``/slug``; ``/`` opens ``HOME``), the navigation (in this order), ``lae-landscapes export`` and
``snapshot`` (by slug), and the lecture deck (each entry's ``slides``, in this order).

Adding a page: write its module (a ``shell.Page`` subclass and ``create``), then add its entry
here — with ``export`` if it has a main slider worth recording, and ``slides`` for the deck.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType


def steps(start: float, stop: float, step: float) -> tuple[float, ...]:
    """``start, start + step, …, stop`` rounded to 6 decimals (slider positions to record)."""
    count = int(round((stop - start) / step))
    return tuple(round(start + i * step, 6) for i in range(count + 1))


@dataclass(frozen=True)
class Export:
    """What ``lae-landscapes export`` records of a page (``app.export``).

    ``parameter`` (of the page's state) is the slider, recorded at ``positions`` (and at the
    exported value, if that is not among them); ``leave_out`` names page attributes that only
    make sense beside a left-out control (a button's status line); ``sidebar`` keeps the page's
    sidebar, when it holds text rather than controls; ``note`` is said under the slider.
    """

    parameter: str
    positions: tuple[float, ...]
    leave_out: tuple[str, ...] = ()
    sidebar: bool = False
    note: str = ""


@dataclass(frozen=True)
class Slide:
    """One slide of the lecture deck: the page's compact view (``Page.compact(focus)``) with its
    own state (``overrides``), a title above and a note below; ``notes`` are the speaker's
    (reveal.js's ``S`` view)."""

    title: str
    note: str
    overrides: dict = field(default_factory=dict)
    focus: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class Entry:
    """A page: its address ``/slug``, its name in the navigation, its module."""

    slug: str
    title: str
    module: str
    export: Export | None = None
    slides: tuple[Slide, ...] = ()
    #: shown in the navigation (the deck is a page of its own kind, listed last)
    nav: bool = True

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def create(self, **overrides):
        return self.load().create(**overrides)

    def page_class(self) -> type:
        """The page's ``shell.Page`` subclass (its module names it ``PAGE``)."""
        return self.load().PAGE


PAGES: tuple[Entry, ...] = (
    Entry("landscape", "Landscape", "app.pages.landscape",
          # λ from 0 to 4 in steps of 0.1: the sum loss's pitchfork at λ = x² is a recorded position
          export=Export("lam", steps(0.0, 4.0, 0.1)),
          slides=(
              Slide("Three scalar losses, m = k = 1",
                    "x²(1 − w₁w₂)² alone has a hyperbola of minima. The <b>product</b> penalty λ(w₁w₂)² keeps "
                    "a (shrunken) hyperbola; the <b>sum</b> penalty λ(w₁² + w₂²) picks two isolated minima "
                    "with w₁ = w₂: the regularizer breaks the symmetry.",
                    focus="surfaces",
                    notes="With one number of data x and one hidden unit the weights are two numbers (w₁, w₂), and "
                          "each loss is a surface over the plane. The unregularized loss is flat along the "
                          "hyperbola w₁w₂ = 1: every point of it is a minimum, because scaling w₁ up and w₂ down "
                          "changes nothing. The product penalty depends on w₁w₂ alone, so it keeps that symmetry "
                          "and only shrinks the hyperbola to w₁w₂ = x²/(x² + λ). The sum penalty prefers balanced "
                          "weights: only the two points with w₁ = w₂ stay minima, the encoder equal to the "
                          "decoder's transpose. The origin is a saddle of all three. Hover a marker for the "
                          "Hessian's eigenvalues that classify it."),
              Slide("λ crosses x²: the minima merge",
                    "Drag λ past x². The sum loss's two minima ±√(1 − λ/x²) slide into the origin and vanish "
                    "there — a pitchfork bifurcation: the weights collapse to zero.",
                    overrides={"lam": 0.5}, focus="pitchfork",
                    notes="The sum loss alone, with its critical points against λ beside it. The minima sit at "
                          "w₁ = w₂ = ±√(1 − λ/x²): as λ grows toward x² they slide toward the origin, and at "
                          "λ = x² they meet it and vanish, leaving the origin, now a minimum, as the only critical "
                          "point. This pitchfork is posterior collapse in one dimension: once the penalty outweighs "
                          "the data's variance along a direction, the best weights there are zero. With x = 1, "
                          "drag λ slowly past 1 and watch the two minima run into the saddle."),
          )),
    Entry("theorem", "Theorem", "app.pages.theorem",
          # λ every 0.5 up to 20, and σ₄² = 2.25 of the default spectrum 4, 3, 2, 1.5: each σᵢ² where
          # L_σ's manifolds vanish (16, 9, 4, 2.25) is a recorded position
          export=Export("lam", tuple(sorted({*steps(0.0, 20.0, 0.5), 2.25})), leave_out=("escape_section",)),
          slides=(
              Slide("The Landscape Theorem: a ladder of critical values",
                    "Every critical manifold of L_σ for m = 4, k = 2, at (descending directions, loss): only the "
                    "global minimum has none. Drag λ past σ₄² = 2.25, σ₃² = 4, …: the manifolds that keep that "
                    "direction vanish and the ladder thins — posterior collapse, manifold by manifold.",
                    overrides={"m": 4, "k": 2, "loss": "sum", "lam": 1.5}, focus="ladder",
                    notes="The Landscape Theorem for m = 4 and k = 2 with the sum loss. Each critical manifold is "
                          "named by the set I of principal directions its weights keep (at most k of them); the "
                          "ladder puts it at its number of descending directions, the ways down from it, against "
                          "its loss. Only the global minimum, I = {1, 2}, has none: every other critical point is "
                          "a saddle with a way down, so gradient descent is not trapped. Drag λ past σ₄² = 2.25, "
                          "then σ₃² = 4: every manifold that keeps a direction with σᵢ² ≤ λ disappears, the "
                          "previous slide's collapse, manifold by manifold."),
          )),
    Entry("trajectories", "Trajectories", "app.pages.trajectories",
          export=Export("lam", steps(0.0, 4.0, 0.25),
                        note="The solvers ran here, once per position; the paths show their whole runs."),
          slides=(
              Slide("Solvers and the Transpose Theorem",
                    "Every converged run on the <b>sum</b> loss ends with W₁ = W₂ᵀ, so ‖W₁ − W₂ᵀ‖ falls to "
                    "round-off even for untied gradient descent. Switch to the product or unregularized loss: "
                    "the gap stays.",
                    notes="The paper's solvers on the scalar landscape, all from the same start. For the sum loss "
                          "every critical point has W₁ = W₂ᵀ (the Transpose Theorem), so every run that converges "
                          "ends with ‖W₁ − W₂ᵀ‖ at round-off, even untied gradient descent, which never ties the "
                          "weights. Under the product or the unregularized loss nothing stops w₁ being scaled "
                          "against w₂, and the gap stays where the run started it. Click the map to start from "
                          "somewhere else; raise the learning rate to see a run that is too fast."),
          )),
    Entry("collapse", "Posterior collapse", "app.pages.collapse",
          # the poster's example X = [x] (x = 2 by default: the minima meet the origin at λ = 4)
          export=Export("lam", steps(0.0, 10.0, 0.25), leave_out=("train_status",)),
          slides=(
              Slide("Posterior collapse, direction by direction",
                    "At the minimum of L_σ the decoder keeps direction i with singular value √(1 − λ/σᵢ²)₊: "
                    "every direction with σᵢ² ≤ λ collapses — the same directions probabilistic PCA with "
                    "noise τ² = λ drops. Press <i>Train</i> to put trained LAEs on the curves.",
                    focus="spectrum",
                    notes="At the global minimum of the sum loss the decoder's singular values are √(1 − λ/σᵢ²) "
                          "where σᵢ² > λ, and zero elsewhere: every direction is shrunk, and every direction whose "
                          "variance σᵢ² is at most λ is dropped. Probabilistic PCA with noise variance τ² = λ does "
                          "exactly the same: its weights are U(Σ² − τ²I)^½. The bars are the theory; Train fits "
                          "real linear autoencoders by gradient descent, and their singular values land on the "
                          "curves. Drag λ past each σᵢ² and count the directions that survive."),
          )),
    Entry("grassmannian", "Grassmannian", "app.pages.grassmann",
          export=Export("phi", steps(0.0, 180.0, 5.0), leave_out=("flow_status",), sidebar=True),
          slides=(
              Slide("PCA on the Grassmannian: Gr₁(ℝ²)",
                    "A line at angle φ leaves residuals; L_X(φ) is their total square. Its one minimum "
                    "(index 0) is u₁ and its one maximum (index 1) is u₂: press <i>Flow</i> to follow the "
                    "gradient down.",
                    focus="plane",
                    notes="PCA as a function on the space of lines. A line through the origin at angle φ keeps "
                          "each point's projection and loses its residual (red); L_X(φ) is the sum of their "
                          "squares. The lines through the origin form the Grassmannian Gr₁(ℝ²), a circle, since φ "
                          "and φ + 180° are the same line. On it L_X has exactly two critical points: the best "
                          "line u₁, a minimum (index 0), and the worst, u₂, a maximum (index 1). Press Flow to "
                          "follow the negative gradient from the current line down to u₁."),
              Slide("RP² = Gr₁(ℝ³): a perfect Morse function",
                    "Three critical lines, one of each index 0, 1, 2 — exactly the F₂ Betti numbers (1, 1, 1) "
                    "of RP²: PCA's loss has no more critical points than the topology of RP² forces, and no spurious local minima.",
                    focus="disk",
                    notes="The lines through the origin in space form RP², drawn as the upper hemisphere seen from "
                          "above, with opposite points of the rim glued together. L_X has three critical lines, the "
                          "principal directions u₁, u₂ and u₃, of Morse index 0, 1 and 2: one of each, exactly the "
                          "F₂ Betti numbers (1, 1, 1) of RP². A Morse function with no more critical points than its "
                          "space's Betti numbers require is called perfect: PCA's loss has no critical point the "
                          "topology does not force, and its only local minimum is the global one."),
          )),
    # no export: the page shows runs of a worker process, which a recording of slider positions
    # cannot replay (each position would be a run of several seconds)
    Entry("pca", "PCA from an LAE", "app.pages.pca"),
    Entry("lecture", "Lecture", "app.pages.lecture"),
)

#: the page ``/`` opens
HOME = "landscape"

BY_SLUG: dict[str, Entry] = {entry.slug: entry for entry in PAGES}


def routes() -> dict[str, object]:
    """URL path → the function that builds one visitor's page (what ``pn.serve`` takes)."""
    out = {"/": BY_SLUG[HOME].load().create}
    out.update({f"/{entry.slug}": entry.load().create for entry in PAGES})
    return out
