"""``/lecture``: a live reveal.js deck (Panel's SlidesTemplate) walking through the paper.

Every slide is a page of the app in its compact form (``Page.compact``, the same view embed
mode shows), built with ``sync_url=False`` so that the slides keep their own state and leave the
address alone: the address holds the slide instead (``#/slide-N``, reveal.js's hash, so a link or
a reload opens the same slide). Arrow keys move between slides; the plots and sliders are live.
The deck computes nothing itself: each slide's page calls ``lae_core``.
"""

from __future__ import annotations

import html

import panel as pn

from app import panes, shell
from app.pages import collapse, grassmann, landscape, trajectories

DECK_CSS = """
.slide-title { font-size: 26px; font-weight: 600; color: #23395d; margin: 0 0 2px 0; }
.slide-note { font-size: 15px; color: #333; line-height: 1.4; max-width: 940px; }
.slide-note b { color: #23395d; }
.title-slide h1 { font-size: 38px; color: #23395d; margin: 0 0 6px 0; }
.title-slide .authors { font-size: 17px; color: #555; margin-bottom: 22px; }
.title-slide ul { text-align: left; }
.title-slide li { font-size: 18px; margin: 6px 0; line-height: 1.4; }
.title-slide .keys { font-size: 14px; color: #777; margin-top: 26px; }
"""

#: what each slide says above (title) and below (note) its live view; one entry per slide
SLIDES = [
    ("Three scalar losses, m = k = 1",
     "x²(1 − w₁w₂)² alone has a hyperbola of minima. The <b>product</b> penalty λ(w₁w₂)² keeps a "
     "(shrunken) hyperbola; the <b>sum</b> penalty λ(w₁² + w₂²) picks two isolated minima with "
     "w₁ = w₂: the regularizer breaks the symmetry."),
    ("λ crosses x²: the minima merge",
     "Drag λ past x². The sum loss's two minima ±√(1 − λ/x²) slide into the origin and vanish "
     "there — a pitchfork bifurcation: the weights collapse to zero."),
    ("Solvers and the Transpose Theorem",
     "Every converged run on the <b>sum</b> loss ends with W₁ = W₂ᵀ, so ‖W₁ − W₂ᵀ‖ falls to "
     "round-off even for untied gradient descent. Switch to the product or unregularized loss: the "
     "gap stays."),
    ("Posterior collapse, direction by direction",
     "At the minimum of L_σ the decoder keeps direction i with singular value √(1 − λ/σᵢ²)₊: every "
     "direction with σᵢ² ≤ λ collapses — the same directions probabilistic PCA with noise τ² = λ "
     "drops. Press <i>Train</i> to put trained LAEs on the curves."),
    ("PCA on the Grassmannian: Gr₁(ℝ²)",
     "A line at angle φ leaves residuals; L_X(φ) is their total square. Its one minimum (index 0) "
     "is u₁ and its one maximum (index 1) is u₂: press <i>Flow</i> to follow the gradient down."),
    ("RP² = Gr₁(ℝ³): a perfect Morse function",
     "Three critical lines, one of each index 0, 1, 2 — exactly the F₂ Betti numbers (1, 1, 1) of "
     "RP²: PCA's loss has no spurious critical points."),
]


def _slide(title: str, note: str, *content, notices=None):
    head = panes.HTML(f'<div class="slide-title">{html.escape(title)}</div>', stylesheets=[DECK_CSS],
                      sizing_mode="stretch_width", margin=(0, 10))
    foot = panes.HTML(f'<div class="slide-note">{note}</div>', stylesheets=[DECK_CSS],
                      sizing_mode="stretch_width", margin=(4, 10))
    parts = [head] + ([notices] if notices is not None else []) + list(content) + [foot]
    return pn.Column(*parts, width=shell.EMBED_SIZE[0], margin=0, css_classes=["lecture-slide"])


def _title_slide():
    text = """
<div class="title-slide">
<h1>Loss landscapes of regularized linear autoencoders</h1>
<div class="authors">Kunin, Bloom, Goeva, Seed — ICML 2019 · live, with LAE Landscapes</div>
<ul>
<li>An L2-regularized linear autoencoder learns the <b>principal directions</b>: the left singular
vectors of its decoder.</li>
<li>At every critical point of the sum loss the encoder is the decoder's <b>transpose</b>.</li>
<li>Every critical point of the three losses — unregularized, product, sum — is mapped and
classified; λ > σᵢ² makes direction i <b>collapse</b>.</li>
<li>PCA's loss is a <b>perfect Morse function</b> on the Grassmannian.</li>
</ul>
<div class="keys">→ / ← move between slides · every plot and slider is live</div>
</div>"""
    return pn.Column(panes.HTML(text, stylesheets=[DECK_CSS], width=900), width=shell.EMBED_SIZE[0],
                     css_classes=["lecture-slide"])


class Lecture:
    """The deck: one compact page per slide, each with its own state."""

    def __init__(self):
        self.pages = {
            "landscape": landscape.LandscapePage(sync_url=False),
            "pitchfork": landscape.LandscapePage(sync_url=False, lam=0.5),
            "trajectories": trajectories.TrajectoriesPage(sync_url=False),
            "collapse": collapse.CollapsePage(sync_url=False),
            "plane": grassmann.GrassmannPage(sync_url=False),
            "disk": grassmann.GrassmannPage(sync_url=False),
        }
        focus = {"landscape": "surfaces", "pitchfork": "pitchfork", "trajectories": None,
                 "collapse": "spectrum", "plane": "plane", "disk": "disk"}
        self.slides = [_title_slide()]
        for (key, page), (title, note) in zip(self.pages.items(), SLIDES):
            page.build()
            view = page.compact(focus[key]) if focus[key] else page.compact()
            self.slides.append(_slide(title, note, view, notices=page.notices.pane))

    def view(self):
        deck = shell.Slides(
            title="LAE Landscapes — the paper, live", favicon="assets/favicon.svg",
            reveal_theme="white", reveal_config={"hash": True, "controls": True, "progress": True,
                                                 "slideNumber": "c/t", "transition": "none"})
        for slide in self.slides:
            deck.main.append(slide)
        return deck


def create():
    """Build one session's deck (Panel calls this once per visitor)."""
    return Lecture().view()
