"""``/lecture``: a live reveal.js deck (Panel's SlidesTemplate) walking through the paper.

Every slide is a page of the app in its compact form (``Page.compact``, the same view embed
mode shows), built with ``sync_url=False``: the deck, not the page, keeps the address.

- **The slide** is reveal.js's hash, ``#/slide-N`` (N counts from the title slide, 0), so a link or
  a reload opens the same slide.
- **Each slide's state** is in the query, one field per parameter that differs from the slide's
  start: ``?s2.lam=1.4&s5.lam=3`` is λ = 1.4 on slide 2 and λ = 3 on slide 5 (``slide_field``).
  A reload keeps the sliders; a value is read as a page reads its own (``app.query.parse``:
  checked, clamped, a notice on that slide), and Back / Forward restore what the address holds.
  The numbers follow the deck's order: a link made before slides were added elsewhere in the
  registry may name another slide.
- **On a projector** the deck scales to the screen (``DeckControl``): reveal.js's own scaling
  (a CSS transform) and CSS zoom both make BokehJS measure its plots at the scaled size and draw
  them twice too large, blurred, with the mouse off target. So each slide is zoomed (text,
  controls and spacing, which the browser lays out sharp at any zoom), while each plot cancels
  the zoom and is drawn at the scale instead: width, height and fonts multiplied, at the
  screen's own resolution. A slide (960 px wide as designed) fills the screen as far as its
  height allows.
- **Keys**: → ← (and a clicker's PageDown / PageUp) move between slides; a focused control takes
  its own keys (a slider its arrows, Home and End; a text box or menu everything) while a clicker
  still turns the slide; S opens the speaker notes (each slide's ``notes`` from the registry) in
  a window of their own that follows the deck.

The deck computes nothing itself: each slide's page calls ``lae_core``.
"""

from __future__ import annotations

import html

import panel as pn
import param
from bokeh.models import Plot
from panel.custom import JSComponent

from app import panes, query, shell
from app.address import AddressBar, query_string, read_query
from app.pages import PAGES

DECK_CSS = """
.slide-title { font-size: 26px; font-weight: 600; color: #23395d; margin: 0 0 2px 0; }
.slide-note { font-size: 16px; color: #333; line-height: 1.4; max-width: 940px; }
.slide-note b { color: #23395d; }
.title-slide h1 { font-size: 38px; color: #23395d; margin: 0 0 6px 0; }
.title-slide .authors { font-size: 17px; color: #555; margin-bottom: 22px; }
.title-slide ul { text-align: left; }
.title-slide li { font-size: 18px; margin: 6px 0; line-height: 1.4; }
.title-slide .keys { font-size: 14px; color: #777; margin-top: 26px; }
"""

#: a plot on a slide undoes the slide's zoom (``DeckControl`` draws it at the scale instead)
UNZOOMED_PLOT_CSS = ":host { zoom: calc(1 / var(--deck-scale, 1)); }"

TITLE_NOTES = (
    "The paper in one sentence: a linear autoencoder trained with L2 regularization on both weight "
    "matrices learns the principal directions themselves, not just the principal subspace, and the "
    "authors prove it by mapping every critical point of its loss. The next slides are pages of the "
    "app, live: every slider recomputes the landscape. Start with the scalar case (one number of "
    "data, one hidden unit), where every claim can be seen on a surface; then the theorem for any "
    "size; then solvers, posterior collapse, and PCA on the Grassmannian. Keys: arrows or the "
    "clicker turn the slides, a clicked slider takes the arrow keys, S opens these notes.")


def slide_field(index: int, name: str) -> str:
    """The query field of parameter ``name`` of slide ``index`` (as in ``#/slide-N``)."""
    return f"s{index}.{name}"


def _slide(title: str, note: str, *content, notices=None):
    head = panes.HTML(f'<div class="slide-title">{html.escape(title)}</div>', stylesheets=[DECK_CSS],
                      sizing_mode="stretch_width", margin=(0, 10))
    foot = panes.HTML(f'<div class="slide-note">{note}</div>', stylesheets=[DECK_CSS],
                      sizing_mode="stretch_width", margin=(4, 10))
    parts = [head] + ([notices] if notices is not None else []) + list(content) + [foot]
    return pn.Column(*parts, width=shell.EMBED_SIZE[0], margin=0, css_classes=["lecture-slide"])


def _title_slide(*hidden):
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
<div class="keys">→ / ← or a clicker move between slides · a clicked slider takes the arrow keys ·
S opens the speaker notes · every plot and slider is live</div>
</div>"""
    return pn.Column(panes.HTML(text, stylesheets=[DECK_CSS], width=900), *hidden, width=shell.EMBED_SIZE[0],
                     css_classes=["lecture-slide"])


def _draw_at_scale(view) -> None:
    """Mark every Bokeh plot of a slide's view to cancel the slide's zoom (``UNZOOMED_PLOT_CSS``,
    through its pane: Panel gives the plot the pane's stylesheets)."""
    for pane in view.select(pn.pane.Bokeh):
        if isinstance(pane.object, Plot) and UNZOOMED_PLOT_CSS not in pane.stylesheets:
            pane.stylesheets = [*pane.stylesheets, UNZOOMED_PLOT_CSS]


class DeckControl(JSComponent):
    """The deck's behaviour in the browser (hidden): scaling to the screen, the keys, the speaker
    notes, and the address kept at ``query`` across slide changes. ``notes`` and ``titles`` hold
    one entry per slide, in order."""

    notes = param.List(default=[], item_type=str, doc="each slide's speaker notes (plain text)")
    titles = param.List(default=[], item_type=str, doc="each slide's title, for the speaker view")
    query = param.String(default="", doc="the address's query, as the deck's AddressBar writes it")

    _esm = r"""
    let deck = null;   // the model (notes, titles, query), set by the first render
    // ---- scaling: a slide is zoomed; its plots cancel the zoom and are drawn at the scale
    const FONTS = ['text_font_size', 'axis_label_text_font_size', 'major_label_text_font_size',
                   'label_text_font_size', 'title_text_font_size'];
    const base = new WeakMap();   // model -> {prop: [natural value, value last set]}
    const times = (value, s) => {
      const css = typeof value === 'string' ? value : value?.value;
      const m = typeof css === 'string' ? css.match(/^\s*([\d.]+)(px|pt)\s*$/) : null;
      if (m == null) return value;
      const scaled = `${(Number(m[1]) * s).toFixed(2)}${m[2]}`;
      return typeof value === 'string' ? scaled : {...value, value: scaled};
    };
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const scaleModel = (model, props, s, round) => {
      const known = base.get(model) ?? {};
      const changes = {};
      for (const p of props) {
        if (!(p in model.properties) || model[p] == null) continue;
        const now = model[p];
        const [natural, last] = known[p] ?? [now, undefined];
        const start = last !== undefined && !same(now, last) ? now : natural;  // the server set a new one
        const want = typeof start === 'number' ? (round ? Math.round(start * s) : start * s) : times(start, s);
        known[p] = [start, want];
        if (!same(now, want)) changes[p] = want;
      }
      base.set(model, known);
      if (Object.keys(changes).length) model.setv(changes);
    };
    const parts = (fig) => [fig.title, ...fig.left, ...fig.right, ...fig.above, ...fig.below, ...fig.center,
                            ...fig.renderers].filter((m) => m != null && typeof m === 'object');
    const slideOf = (el) => {
      for (let node = el; node != null; node = node.parentNode ?? node.host) {
        if (node.classList?.contains('lecture-slide')) return node;
      }
      return null;
    };
    const scales = new Map();   // slide element -> its scale
    const fit = () => {
      for (const section of document.querySelectorAll('.reveal .slides > section')) {
        const slide = section.querySelector('.lecture-slide');
        if (slide == null || slide.offsetWidth === 0) continue;
        // offsetWidth/Height are the slide's own size, before its zoom
        const room = section.getBoundingClientRect();
        const s = Math.max(0.5, Math.min(3, 0.96 * room.width / slide.offsetWidth,
                                         0.98 * room.height / slide.offsetHeight));
        if (Math.abs((scales.get(slide) ?? 0) - s) < 0.005) continue;
        scales.set(slide, s);
        slide.style.setProperty('--deck-scale', String(s));
        slide.style.zoom = String(s);
      }
      for (const view of Bokeh.index.all_views()) {
        if (!('x_range' in view.model.properties && 'renderers' in view.model.properties)) continue;  // a plot
        const s = scales.get(slideOf(view.el));
        if (s == null) continue;
        scaleModel(view.model, ['width', 'height'], s, true);
        for (const part of parts(view.model)) scaleModel(part, FONTS, s, false);
      }
    };

    // ---- keys: a focused control keeps its keys; the clicker (PageUp/PageDown) turns the slide
    const TURN = ['PageUp', 'PageDown'];
    const CONTROL_KEYS = ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'];
    const target = (event) => event.composedPath()[0];
    const onSlider = (el) => el?.closest?.('.noUi-handle, [role="slider"]') != null;
    const typing = (el) => el?.closest?.('input, select, textarea, [contenteditable]') != null;
    const keyboardCondition = (event) => {
      if (TURN.includes(event.key)) return true;
      const el = target(event);
      if (typing(el)) return false;
      return !(onSlider(el) && CONTROL_KEYS.includes(event.key));
    };
    const clicker = (event) => {   // before noUiSlider, which takes PageUp/PageDown as big steps
      if (!TURN.includes(event.key) || !(onSlider(target(event)) || typing(target(event)))) return;
      event.stopPropagation();
      event.preventDefault();
      if (event.key === 'PageDown') Reveal.next(); else Reveal.prev();
    };
    const deepFocus = () => {
      let el = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return el;
    };

    // ---- speaker notes: S opens a window that follows the deck
    let speaker = null;
    const sections = () => [...document.querySelectorAll('.reveal .slides > section')];
    const showNotes = () => {
      if (speaker == null || speaker.closed) return;
      const i = Reveal.getIndices().h, n = Reveal.getTotalSlides();
      const doc = speaker.document;
      const line = (tag, cls, text) => {
        const e = doc.createElement(tag);
        e.className = cls;
        e.textContent = text;
        return e;
      };
      doc.title = `Notes ${i + 1}/${n} · ${deck.titles[i] ?? ''}`;
      doc.body.replaceChildren(
        line('div', 'where', `Slide ${i + 1} of ${n}`),
        line('h1', 'title', deck.titles[i] ?? ''),
        line('p', 'notes', deck.notes[i] ?? ''),
        line('div', 'next', i + 1 < n ? `Next: ${deck.titles[i + 1] ?? ''}` : 'Last slide'));
    };
    const openNotes = () => {
      speaker = window.open('', 'lae-speaker-notes', 'width=820,height=620');
      if (speaker == null) return;
      const style = speaker.document.createElement('style');
      style.textContent = `body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
        .where { color: #777; font-size: 18px; } .title { color: #23395d; font-size: 28px; margin: 6px 0 14px; }
        .notes { font-size: 24px; line-height: 1.45; } .next { color: #555; font-size: 18px; margin-top: 24px; }`;
      speaker.document.head.replaceChildren(style);
      showNotes();
    };

    export function render({ model }) {
      if (deck != null) return;   // a view rendered again: the deck is set up once per page
      deck = model;
      const setup = () => {
        sections().forEach((section, i) => section.setAttribute('data-notes', model.notes[i] ?? ''));
        Reveal.configure({ keyboardCondition });
        Reveal.addKeyBinding({ keyCode: 83, key: 'S', description: 'Speaker notes' }, openNotes);
        Reveal.on('slidechanged', () => { deepFocus()?.blur?.(); fit(); showNotes(); });
        window.addEventListener('keydown', clicker, true);
        // Panel's Location (the slides template embeds it) answers every slide change by writing
        // the address again with the query the deck was opened with: once the change is handled,
        // put back the deck's query (the one its AddressBar writes)
        window.addEventListener('hashchange', () => setTimeout(() => {
          const wanted = deck.query;
          if (window.location.search === wanted) return;
          const url = window.location.pathname + wanted + window.location.hash;
          window.history.replaceState(window.history.state, '', url);
        }, 0));
        window.addEventListener('resize', fit);
        const observer = new ResizeObserver(fit);
        for (const slide of document.querySelectorAll('.lecture-slide')) observer.observe(slide);
        fit();
      };
      if (Reveal.isReady()) setup(); else Reveal.on('ready', setup);
      model.on(['notes', 'titles'], showNotes);
    }
    """


class Lecture:
    """The deck: one compact page per slide (``app.pages.PAGES``, each entry's ``slides`` in
    order), each with its own state, started from the address's ``s<N>.<name>`` fields."""

    #: the address follows a slide's state this long after its last change (ms)
    URL_DELAY_MS = 250

    def __init__(self, args: dict | None = None):
        """``args``: the address's query (name → values, as ``pn.state.session_args``)."""
        if args is None:
            doc = pn.state.curdoc
            args = pn.state.session_args if doc is not None and doc.session_context else {}
        self.pages = []
        #: per slide page: its index in the deck, and its state's values before the address's
        #: (as they are, and as the query writes them)
        self.starts: list[tuple[int, dict, dict]] = []
        self.titles, self.notes = ["Loss landscapes of regularized linear autoencoders"], [TITLE_NOTES]
        slides = []
        for entry in PAGES:
            for slide in entry.slides:
                index = len(slides) + 1
                cls = entry.page_class()
                start = cls.state_class(**slide.overrides)
                values, notices = self._read(start, index, args)
                page = cls(sync_url=False, **{**slide.overrides, **values})
                for text in notices:
                    page.notices.show(f"Slide {index} in the address: {text}")
                page.build()
                view = page.compact(slide.focus) if slide.focus else page.compact()
                _draw_at_scale(view)
                names = page.state.URL_PARAMS
                page.state.param.watch(lambda *events: self.schedule_url(), names)
                self.pages.append(page)
                self.starts.append((index, {n: getattr(start, n) for n in names}, query.encode(start, names)))
                self.titles.append(slide.title)
                self.notes.append(slide.notes)
                slides.append(_slide(slide.title, slide.note, view, notices=page.notices.pane))
        self.address = AddressBar(on_back=self.back_to, query=self.url_query(), replace=True)
        self.control = DeckControl(notes=self.notes, titles=self.titles, query=self.address.query,
                                   styles={"display": "none"}, margin=0)
        self.slides = [_title_slide(self.control, self.address), *slides]
        self._url_pending = False

    @staticmethod
    def _read(state, index: int, args: dict) -> tuple[dict, list[str]]:
        """Slide ``index``'s values in ``args`` (its ``s<index>.<name>`` fields), read against
        ``state`` as a page reads its query: ``(values, notices)``."""
        own = {name: args[slide_field(index, name)] for name in state.URL_PARAMS
               if slide_field(index, name) in args}
        return query.parse(state, state.URL_PARAMS, own)

    def url_query(self) -> str:
        """The address's query: every slide parameter that differs from the slide's start."""
        fields = {}
        for page, (index, _, before) in zip(self.pages, self.starts):
            now = query.encode(page.state, page.state.URL_PARAMS)
            fields.update({slide_field(index, n): v for n, v in now.items() if v != before[n]})
        return query_string(fields)

    def schedule_url(self) -> None:
        """Write the address once a drag pauses (``URL_DELAY_MS``), in place: a deck's history is
        its slides."""
        doc = pn.state.curdoc
        if not (doc and doc.session_context):
            self.write_url()
            return
        if not self._url_pending:
            self._url_pending = True

            def flush():
                self._url_pending = False
                self.write_url()

            doc.add_timeout_callback(flush, self.URL_DELAY_MS)

    def write_url(self) -> None:
        wanted = self.url_query()
        self.address.param.update(query=wanted, replace=True)
        self.control.query = wanted

    def back_to(self, args: dict) -> None:
        """Back or Forward: each slide takes the state the address holds (a field it leaves out:
        the slide's start). A slide turn is a new history entry too, of the query the deck last
        wrote: the browser does not report it (``AddressBar``), and a report of that query
        changes nothing."""
        if args == read_query(self.address.query):
            return
        for page, (index, start, _) in zip(self.pages, self.starts):
            values, notices = self._read(page.state, index, args)
            for text in notices:
                page.notices.show(f"Slide {index} in the address: {text}")
            wanted = {**start, **values}
            changed = {k: v for k, v in wanted.items() if getattr(page.state, k) != v}
            if changed:
                page.state.param.update(**changed)

    def view(self):
        shell.describe_sliders_as_shown()
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
