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
from app.pages import PAGES

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
classified; λ ≥ σᵢ² makes direction i <b>collapse</b>.</li>
<li>PCA's loss is a <b>perfect Morse function</b> on the Grassmannian.</li>
</ul>
<div class="keys">→ / ← move between slides · every plot and slider is live</div>
</div>"""
    return pn.Column(panes.HTML(text, stylesheets=[DECK_CSS], width=900), width=shell.EMBED_SIZE[0],
                     css_classes=["lecture-slide"])


class Lecture:
    """The deck: one compact page per slide (``app.pages.PAGES``, each entry's ``slides`` in
    order), each with its own state."""

    def __init__(self):
        self.pages = []
        self.slides = [_title_slide()]
        for entry in PAGES:
            for slide in entry.slides:
                page = entry.page_class()(sync_url=False, **slide.overrides)
                page.build()
                view = page.compact(slide.focus) if slide.focus else page.compact()
                self.pages.append(page)
                self.slides.append(_slide(slide.title, slide.note, view, notices=page.notices.pane))

    def view(self):
        deck = pn.template.SlidesTemplate(
            title="LAE Landscapes — the paper, live", favicon="assets/favicon.svg",
            reveal_theme="white", reveal_config={"hash": True, "controls": True, "progress": True,
                                                 "slideNumber": "c/t", "transition": "none"})
        for slide in self.slides:
            deck.main.append(slide)
        return deck


def create():
    """Build one session's deck (Panel calls this once per visitor)."""
    return Lecture().view()
