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
- **Opening**: the deck's first document holds each slide's title and words but not its page.
  The pages are built once the browser has the deck and says which slide it shows
  (``DeckControl``): that slide first, then the ones after it, each once the browser has drawn the
  one before (``SlideShown``). A slide turned to before its page arrives shows a spinner in its
  place. (Built whole, the deck costs ~3 s of server time before the browser gets anything.)
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


def _draw_at_scale(view, *, later: bool = False) -> None:
    """Mark every Bokeh plot of a slide's view to cancel the slide's zoom (``UNZOOMED_PLOT_CSS``),
    through its pane: Panel gives the plot the pane's stylesheets when it renders the document.
    A view ``later`` added to a document in the browser is not given them, so its plots take the
    rule themselves (Bokeh's own ``stylesheets``)."""
    for pane in view.select(pn.pane.Bokeh):
        plot = pane.object
        if isinstance(plot, Plot) and UNZOOMED_PLOT_CSS not in pane.stylesheets:
            pane.stylesheets = [*pane.stylesheets, UNZOOMED_PLOT_CSS]
            if later:
                plot.stylesheets = [*plot.stylesheets, UNZOOMED_PLOT_CSS]


#: a slide's room for its view while the view is built (px): about a compact view's height
SLOT_HEIGHT = 420


class SlideShown(JSComponent):
    """Hidden, after a slide's view: says once that the browser has drawn it (the browser draws
    a column's children in order), and ``on_shown`` runs. The view's sliders are made to tell
    assistive technology the value they show first (``shell.SLIDER_ARIA_JS``, which the deck
    runs for the sliders it opens with)."""

    _esm = f"""
    const describeSliders = () => {{ {shell.SLIDER_ARIA_JS} }};
    export function render({{ model }}) {{
      describeSliders();
      model.send_msg('shown');
    }}
    """

    def __init__(self, on_shown, **params):
        params.setdefault("styles", {"display": "none"})
        params.setdefault("margin", 0)
        super().__init__(**params)
        self._on_shown = on_shown

    def _handle_msg(self, data) -> None:
        on_shown, self._on_shown = self._on_shown, None  # once: a view drawn again is no news
        if on_shown is not None:
            on_shown()


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

    // the slide shown, for the server to build first (a link's, before reveal.js is ready)
    const report = (index) => deck.send_msg({ slide: index });

    export function render({ model }) {
      if (deck != null) return;   // a view rendered again: the deck is set up once per page
      deck = model;
      report(Number(window.location.hash.match(/^#\/slide-(\d+)/)?.[1] ?? 0));
      const setup = () => {
        sections().forEach((section, i) => section.setAttribute('data-notes', model.notes[i] ?? ''));
        Reveal.configure({ keyboardCondition });
        Reveal.addKeyBinding({ keyCode: 83, key: 'S', description: 'Speaker notes' }, openNotes);
        Reveal.on('slidechanged', () => { deepFocus()?.blur?.(); fit(); showNotes(); report(Reveal.getIndices().h); });
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

    def __init__(self, on_slide=None, **params):
        """``on_slide``: called with the index of the slide the browser shows."""
        super().__init__(**params)
        self._on_slide = on_slide

    def _handle_msg(self, data) -> None:
        """The browser's slide; anything else (from a crafted client) is ignored."""
        index = data.get("slide") if isinstance(data, dict) else None
        if type(index) is int and 0 <= index < len(self.titles) and self._on_slide is not None:
            self._on_slide(index)


class Lecture:
    """The deck: one compact page per slide (``app.pages.PAGES``, each entry's ``slides`` in
    order), each with its own state, started from the address's ``s<N>.<name>`` fields."""

    #: the address follows a slide's state this long after its last change (ms)
    URL_DELAY_MS = 250
    #: a slide is built without waiting for the browser to draw the one before it after this (ms)
    DRAW_WAIT_MS = 3000

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
        #: per slide page: its registry entry's focus, its slide, and what holds the view's place
        self.slots: list[tuple[str | None, pn.Column, pn.layout.Spacer]] = []
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
                names = page.state.URL_PARAMS
                page.state.param.watch(lambda *events: self.schedule_url(), names)
                self.pages.append(page)
                self.starts.append((index, {n: getattr(start, n) for n in names}, query.encode(start, names)))
                self.titles.append(slide.title)
                self.notes.append(slide.notes)
                place = pn.Spacer(height=SLOT_HEIGHT, width=shell.EMBED_SIZE[0], margin=0, loading=True,
                                  css_classes=["slide-to-come"])
                slides.append(_slide(slide.title, slide.note, place, notices=page.notices.pane))
                self.slots.append((slide.focus, slides[-1], place))
        self.address = AddressBar(on_back=self.back_to, query=self.url_query(), replace=True)
        self.control = DeckControl(notes=self.notes, titles=self.titles, query=self.address.query,
                                   on_slide=self.turned_to, styles={"display": "none"}, margin=0)
        self.slides = [_title_slide(self.control, self.address), *slides]
        self._url_pending = False
        #: the slide shown (as in ``#/slide-N``), as the browser reports it
        self.current = 0
        self._built: set[int] = set()  # the slides whose pages are built (or failed to be)
        self._started = False  # whether the slides' pages are being built
        self._drawing: int | None = None  # the slide built last, until the browser has drawn it
        doc = pn.state.curdoc
        #: whether the slides' pages are built once the browser has the deck (in a session)
        self.lazy = doc is not None and doc.session_context is not None and not pn.state.loaded
        if self.lazy:
            self._doc = doc
            # The deck opens on its title (or the slide linked) without waiting for every slide's
            # page (~0.25 s of server time and ~200 models each): they are built once the browser
            # has the deck and says which slide it shows (or, if it does not, a while after the
            # deck has loaded), that slide first, then the ones after it.
            pn.state.onload(lambda: doc.add_timeout_callback(self._start, self.DRAW_WAIT_MS))
        else:
            for i in range(1, len(self.slides)):
                self.build_slide(i)

    def built(self, index: int) -> bool:
        """Whether slide ``index``'s page is built (as in ``#/slide-N``; 1 is the first page's)."""
        return index in self._built

    def next_to_build(self) -> int | None:
        """The slide to build next: the one shown, else the first after it, else the first."""
        waiting = [i for i in range(1, len(self.slides)) if not self.built(i)]
        after = [i for i in waiting if i >= self.current]
        return (after or waiting or [None])[0]

    def build_slide(self, index: int) -> None:
        """Build slide ``index``'s page and put its compact view on the slide (once). A page
        built into an open deck runs what waits for its view (``Page.when_shown``) once the
        browser has drawn it (``SlideShown``)."""
        if self.built(index):
            return
        page, (focus, column, place) = self.pages[index - 1], self.slots[index - 1]
        if self.lazy:
            page.defer_shown()
        page.build()
        view = page.compact(focus) if focus else page.compact()
        _draw_at_scale(view, later=self.lazy)
        self._built.add(index)
        # the view complete, then onto the slide: one message holds it whole
        if not self.lazy:
            column.objects = [view if part is place else part for part in column.objects]
            return
        # In an open deck the view arrives hidden, the spinner kept, and takes the spinner's place
        # once the browser has built it (``_shown``): a slide that changes size rescales
        # (``DeckControl``), and BokehJS then lays out plots whose views it is still building,
        # and fails on them (a page error).
        shell.show(view, False)
        column.objects = [*column.objects, view, SlideShown(on_shown=lambda: self._shown(index, view))]

    def _build_next(self) -> None:
        """Build the next slide (``next_to_build``), and the one after it once the browser has
        drawn this one: a browser takes longer to draw a slide than the server to build it, and
        slides sent faster than it draws them would keep it from saying which slide it shows."""
        index = self.next_to_build()
        if index is None:
            return
        self.pages[index - 1].guarded(self.build_slide, index)
        if not self.built(index):  # it failed (a notice on the slide says so): the slide stays without it
            self._built.add(index)
            _, column, place = self.slots[index - 1]
            column.objects = [part for part in column.objects if part is not place]
            self._doc.add_next_tick_callback(self._build_next)
            return
        self._drawing = index
        self._doc.add_timeout_callback(lambda: self._go_on(index), self.DRAW_WAIT_MS)

    def _shown(self, index: int, view) -> None:
        """The browser has built slide ``index``'s view: it takes the spinner's place."""
        _, column, place = self.slots[index - 1]
        with pn.io.hold():
            column.objects = [view if part is place else part for part in column.objects if part is not view]
            shell.show(view, True)
            self.pages[index - 1].shown()
        self._go_on(index)

    def _go_on(self, index: int) -> None:
        """Slide ``index`` is drawn (or took longer than ``DRAW_WAIT_MS``): build the next."""
        if self._drawing == index:
            self._drawing = None
            self._build_next()

    def turned_to(self, index: int) -> None:
        """The browser shows slide ``index``: it is built next, if it is not yet."""
        self.current = index
        if self.lazy:
            self._start()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._build_next()

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
                self.build_slide(index)  # a page redraws what it has built
                page.state.param.update(**changed)

    def view(self):
        shell.describe_sliders_as_shown()
        deck = Deck(
            title="LAE Landscapes — the paper, live", favicon="assets/favicon.svg",
            reveal_theme="white", reveal_config={"hash": True, "controls": True, "progress": True,
                                                 "slideNumber": "c/t", "transition": "none"})
        for slide in self.slides:
            deck.main.append(slide)
        return deck


class Deck(shell.IndexedOnce, pn.template.SlidesTemplate):
    """Panel's reveal.js template, its document's models indexed once (``shell.IndexedOnce``)."""


def create():
    """Build one session's deck (Panel calls this once per visitor)."""
    return Lecture().view()
