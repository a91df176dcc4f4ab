"""``lae-landscapes export PAGE --out FILE.html``: one page as a self-contained HTML file.

The file works opened from disk, with no server and no network: Bokeh's and Panel's JavaScript,
KaTeX and every stylesheet are inside it. It holds the page at a fixed set of positions of its
main slider (the registry's ``Export``, ``app.pages``), recorded with Panel's embed mechanism: the page's own state and plot
classes draw every position once, here, and the file stores the model changes each position
makes; the browser replays them when the slider lands there. Nothing is recomputed in the file,
so every other control is left out, and so are the buttons' animations (sweep, flow, Train) and
the 3-D plotly views (plotly.js is 4.7 MB and loaded on demand from the app server).
"""

from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

import panel as pn
from bokeh.document import Document
from bokeh.embed.elements import html_page_for_render_items
from bokeh.embed.util import OutputDocumentFor, standalone_docs_json_and_render_items
from bokeh.resources import INLINE
from panel.io.embed import embed_state
from panel.io.resources import BASE_TEMPLATE, CDN_DIST, LOCAL_DIST, Resources, bundle_resources, set_resource_mode
from panel.models.state import State
from pyviz_comms import Comm

from app import panes, query, shell, spectrum
from app.pages import BY_SLUG, PAGES, Export
from app.plot3d import PlotlyFigure

PANEL_DIST = Path(pn.__file__).resolve().parent / "dist"


#: slug → what its file records (the registry's ``export`` entries)
EXPORTS: dict[str, Export] = {entry.slug: entry.export for entry in PAGES if entry.export}


#: text settings and how the page reads them (a query's numbers and choices go through app.query)
TEXT_SETTINGS = {"sigma": (spectrum.parse_spectrum, spectrum.format_spectrum)}
#: panes whose text a position may set
TEXT_PANES = (panes.HTML, pn.pane.LaTeX)
#: query names every page accepts that are not page settings
IGNORED_NAMES = {"embed"}


class ExportError(ValueError):
    """A reason the export cannot be made, worded for the person running the command."""


@dataclass
class ExportResult:
    path: Path
    size: int  # bytes
    positions: tuple[float, ...]
    notices: list[str]


# --------------------------------------------------------------------------- the state


def parse_query(text: str) -> dict[str, list[bytes]]:
    """A query string ("lam=0.5&x=1", a leading "?" allowed) in the form the pages read
    (``pn.state.session_args``: name → list of bytes)."""
    args: dict[str, list[bytes]] = {}
    for name, value in parse_qsl(text.strip().lstrip("?"), keep_blank_values=True):
        args.setdefault(name, []).append(value.encode("utf-8"))
    return args


def settings_from_query(state_class, text: str) -> tuple[dict, list[str]]:
    """The page settings a query asks for, read as the app reads its URL: numbers clamped,
    unknown choices replaced by the default; ``notices`` says what was corrected or ignored."""
    args = parse_query(text)
    names = list(state_class.URL_PARAMS)
    values, notices = query.parse(state_class(), names, args)
    for name, (parse, fmt) in TEXT_SETTINGS.items():
        if name in names and args.get(name):
            raw = args[name][-1].decode("utf-8", "replace")
            try:
                values[name] = fmt(parse(raw))
            except ValueError as exc:
                notices.append(f"'{name}': {exc}; using {state_class.param[name].default}.")
    unknown = [n for n in args if n not in names and n not in IGNORED_NAMES]
    if unknown:
        shown = ", ".join(repr(n if len(n) <= 24 else n[:24] + "…") for n in unknown[:5])
        notices.append(f"ignored {shown}: not a setting of this page (its settings: {', '.join(names)}).")
    return values, notices


# --------------------------------------------------------------------------- the layout


def _without_controls(layout, leave_out) -> None:
    """Remove, in place and at any depth, every widget, every plotly figure and the components
    in ``leave_out``; layouts left empty go too."""
    kept = []
    for obj in layout.objects:
        if isinstance(obj, (pn.widgets.Widget, pn.param.Param, PlotlyFigure)) or any(obj is o for o in leave_out):
            continue
        if isinstance(obj, pn.layout.ListLike):
            _without_controls(obj, leave_out)
            if not obj.objects:
                continue
        kept.append(obj)
    layout.objects = kept


def _number(value: float) -> str:
    return f"{value:g}"


def export_layout(slug: str, view: Export, page, slider) -> pn.Column:
    """The page's plots and text without its controls, under a header and ``slider``."""
    sidebar, main = page.build()
    state = page.state
    label = state.param[view.parameter].label
    if any(not shell.shown(w) for part in (sidebar, main) for w in part.select(pn.widgets.Widget) if w.label == label):
        # e.g. the Landscape page's alignment mode, whose loss has no λ
        raise ExportError(f"the page hides its {label} control with these settings: {label} does not "
                          "enter what it shows, so there is nothing to move")
    leave_out = [getattr(page, name) for name in view.leave_out if hasattr(page, name)]
    _without_controls(main, leave_out)
    settings = query.encode(state, [n for n in state.URL_PARAMS if n != view.parameter])
    lo, hi = slider.options[0], slider.options[-1]
    address = f"/{slug}?" + urlencode(settings, safe=", ", quote_via=quote)
    header = panes.HTML(
        f'<h2 style="margin:4px 0;color:#23395d">LAE Landscapes · {html.escape(page.title)}</h2>'
        f'<div class="export-note" style="font-size:13.5px;color:#444;max-width:960px;line-height:1.45">'
        f"A static export: {html.escape(label)} moves through {len(slider.options)} recorded positions from "
        f"{_number(lo)} to {_number(hi)}; everything else is fixed as exported "
        f"(<code>{html.escape(address)}</code> in the app). "
        f"Hover, zoom and pan work; nothing is recomputed here. {html.escape(view.note)}</div>",
        sizing_mode="stretch_width")
    parts = [header, page.notices.pane, slider, main]
    if view.sidebar:
        _without_controls(sidebar, leave_out)
        parts.append(sidebar)
    return pn.Column(*parts, sizing_mode="stretch_width")


# --------------------------------------------------------------------------- the file


def _local_stylesheet(url: str) -> Path:
    path = url.split("?", 1)[0]
    for prefix in (CDN_DIST, LOCAL_DIST):
        if path.startswith(prefix):
            local = PANEL_DIST / path[len(prefix):]
            if local.is_file():
                return local
    raise ExportError(f"cannot inline the stylesheet {url}: it is not one of Panel's own files")


class InlineStyles:
    """Panel points its own stylesheets at its CDN even for inline resources: this turns every
    ``ImportedStyleSheet`` in a document's JSON into an ``InlineStyleSheet`` with the same id and
    the same CSS, read from Panel's package (ids kept: the embedded states refer to them)."""

    NAMES = {"ImportedStyleSheet": "InlineStyleSheet", "GlobalImportedStyleSheet": "GlobalInlineStyleSheet"}

    def __init__(self):
        self.css: dict[str, str] = {}

    def css_for(self, url: str) -> str:
        if url not in self.css:
            self.css[url] = _local_stylesheet(url).read_text(encoding="utf-8")
        return self.css[url]

    def json(self, obj):
        """``obj`` (serialized Bokeh models, any nesting) with every imported sheet inlined."""
        if isinstance(obj, dict):
            if obj.get("type") == "object" and obj.get("name") in self.NAMES:
                return {"type": "object", "name": self.NAMES[obj["name"]], "id": obj["id"],
                        "attributes": {"css": self.css_for(obj["attributes"]["url"])}}
            return {key: self.json(value) for key, value in obj.items()}
        if isinstance(obj, list):
            return [self.json(value) for value in obj]
        return obj

    def states(self, states: dict) -> dict:
        """The embedded states (value → … → a recorded message whose ``content`` is JSON text)."""
        if isinstance(states.get("content"), str):
            return dict(states, content=json.dumps(self.json(json.loads(states["content"]))))
        return {key: self.states(value) if isinstance(value, dict) else value for key, value in states.items()}


#: what a browser would fetch from the network: a tag's source, a stylesheet model's url (in the
#: document's JSON, maybe escaped inside the embedded states), a CSS import or url()
EXTERNAL = re.compile(
    r"""(?:<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*["']?"""
    r"""|\\*"url\\*"\s*:\s*\\*"|@import\s+(?:url\()?\s*["']?|\burl\(\s*["']?)"""
    r"""((?:https?:)?//[^"'\s)\\<>]+)""", re.IGNORECASE)


def external_references(text: str) -> list[str]:
    """Network addresses ``text`` (an exported HTML file) would make a browser fetch."""
    return sorted(set(EXTERNAL.findall(text)))


#: KaTeX's @font-face rules: Panel bundles KaTeX without the fonts they name, so a file opened
#: from disk would ask for files beside it that are not there (the served app's formulas, whose
#: stylesheet sits in a shadow root, register no font either: both draw in the fallback fonts)
KATEX_FONT_FACE = re.compile(r"@font-face\{[^{}]*url\(fonts/KaTeX_[^{}]*\}")


def file_html(doc: Document, title: str) -> str:
    """The document as one HTML page with every resource inline: ``panel.io.save.file_html``
    less the MathJax bundle (the app's formulas are KaTeX) and the CDN favicon, and with the
    stylesheets inlined (``InlineStyles``)."""
    styles = InlineStyles()
    for root in doc.roots:
        if isinstance(root, State):
            root.state = styles.states(root.state)
    resources = Resources.from_bokeh(INLINE, absolute=True)
    with set_resource_mode("inline"), OutputDocumentFor(doc.roots):
        docs_json, render_items = standalone_docs_json_and_render_items(doc.roots, suppress_callback_warning=True)
        bundle = bundle_resources(doc.roots, resources, enable_mathjax=False)
        page = html_page_for_render_items(
            bundle, styles.json(docs_json), render_items, title=title, template=BASE_TEMPLATE,
            template_variables={"dist_url": "", "app_favicon": "", "apple_icon": ""})
    return KATEX_FONT_FACE.sub("", page)


def record(layout, slider, move) -> Document:
    """The layout's document with every position of ``slider`` embedded (as ``panel.io.save``
    does with ``embed=True, embed_json=False``); ``move(value)`` brings the page there.

    ``safe_embed`` records every property a position sets, not only those that differ from the
    position recorded before it: the browser may reach a position from any other.
    """
    doc = Document()

    def moved(event):
        with doc.models.freeze():  # one recomputation of the model graph per position
            move(event.new)

    slider.param.watch(moved, "value")
    count = len(slider.options)
    # Panel visits the positions from last to first and records what each one changes: the
    # slider's own position goes first in the list, so it is visited last, coming from another
    # one (a position equal to the slider's value would change, and record, nothing).
    order = [slider.value] + [p for p in slider.options if p != slider.value]
    with pn.config.set(embed=True, safe_embed=True):
        model = layout.get_root(doc, Comm())
        states = embed_state(layout, model, doc, max_states=count, max_opts=count, json=False,
                             progress=False, states={slider: order})
    if states is None:
        raise ExportError(f"moving {slider.label} changes nothing on this page with these settings; "
                          "nothing to export")
    _tidy(states, slider.options)
    return doc


def _tidy(states, positions) -> None:
    """Check and trim the recorded states (``states``: Panel's ``State`` model).

    Every position must set every property that any position sets, else a property would keep
    the value of the position the browser came from. A property set to the same value at every
    position already has it in the document (the last position recorded is the one it shows):
    it is dropped, so that moving the slider re-applies only what moves.
    """
    messages = {key: json.loads(message["content"]) for key, message in states.state.items()}

    def prop(event):
        return (event["model"]["id"], event.get("attr", event["kind"]), tuple(event.get("cols") or ()))

    touched = {key: {prop(e): json.dumps(e, sort_keys=True) for e in content.get("events", []) if "model" in e}
               for key, content in messages.items()}
    every = set().union(*touched.values())
    for key, props in touched.items():
        if set(props) != every:
            raise ExportError(f"position {positions[int(key)]} leaves {len(every - set(props))} properties as "
                              "the previous position had them; the file would show stale plots")
    constant = {p for p in every if len({props[p] for props in touched.values()}) == 1}
    for content in messages.values():
        content["events"] = [e for e in content.get("events", []) if "model" not in e or prop(e) not in constant]
    states.state = {key: dict(states.state[key], content=json.dumps(content)) for key, content in messages.items()}


def export(slug: str, out: str | Path, query_text: str = "") -> ExportResult:
    """Write page ``slug`` (a key of ``EXPORTS``) as a self-contained HTML file at ``out``."""
    if slug not in EXPORTS:
        raise ExportError(f"no page {slug!r}; choose one of {', '.join(EXPORTS)}")
    view = EXPORTS[slug]
    page_class = BY_SLUG[slug].page_class()
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"the folder {str(out.parent)!r} does not exist")
    pn.extension("katex", notifications=False)
    values, notices = settings_from_query(page_class.state_class, query_text)
    page = page_class(**values)
    for text in notices:
        page.notices.show(text)
    current = getattr(page.state, view.parameter)
    positions = tuple(sorted(set(view.positions) | {current}))
    slider = pn.widgets.DiscreteSlider(label=page.state.param[view.parameter].label, options=list(positions),
                                       value=current, width=420, css_classes=["export-slider"])
    layout = export_layout(slug, view, page, slider)
    texts = [pane for pane in layout.select(lambda obj: isinstance(obj, TEXT_PANES)) if pane is not layout[0]]
    for pane in texts:
        if isinstance(pane, pn.pane.LaTeX):
            # A KaTeX pane redrawn from a recorded state loses the margin Bokeh sets on its
            # host (the served app keeps it): keep it in a stylesheet of its own.
            margin = " ".join(f"{m}px" for m in (pane.margin if isinstance(pane.margin, tuple) else (pane.margin,)))
            pane.stylesheets = [*pane.stylesheets, f":host {{ margin: {margin}; }}"]

    def move(value):
        setattr(page.state, view.parameter, value)
        # A text the page sets to what it already shows sends nothing (param drops equal
        # values), so that position would keep the text of whichever position the browser
        # came from: every position records every text.
        for pane in texts:
            pane.param.trigger("object")

    doc = record(layout, slider, move)
    text = file_html(doc, f"LAE Landscapes · {page.title} (static export)")
    leaks = external_references(text)
    if leaks:  # a guard: Panel or Bokeh started pointing at a network resource
        raise ExportError("the export would fetch " + ", ".join(leaks[:5]) + " from the network")
    out.write_text(text, encoding="utf-8")
    return ExportResult(out, out.stat().st_size, positions, [t for _, t in page.notices.items])


def main(slug: str, out: str, query_text: str = "") -> int:
    """The ``export`` subcommand: writes the file, says what it holds; 2 on a user error."""
    try:
        result = export(slug, out, query_text)
    except ExportError as exc:
        print(f"lae-landscapes export: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lae-landscapes export: error: cannot write {out!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for text in result.notices:
        print(f"lae-landscapes export: note: {text}", file=sys.stderr)
    print(f"wrote {result.path} ({result.size / 1e6:.1f} MB; {len(result.positions)} positions of "
          f"{EXPORTS[slug].parameter} from {_number(result.positions[0])} to {_number(result.positions[-1])})")
    return 0
