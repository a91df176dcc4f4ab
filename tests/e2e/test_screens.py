"""Every page fits the screens a class uses (issue #21): at 1280 × 800 (the commonest projector
mode, and a 1080p screen zoomed to 150 %), 1366 × 768 and 1920 × 1080, with the sidebar open.

For each page of the registry (``app.pages.PAGES``; the deck, which is no ``shell.Page``, has its
own test in test_embed_lecture.py) and each screen:

- no horizontal scrolling: the document is no wider than the viewport, and neither the main
  area nor anything in it scrolls sideways;
- every plot (Bokeh figures, Plotly views, data tables and HTML tables) lies within the main
  area, left of the viewport's right edge;
- nothing overlaps: the bounding boxes of plots and headings are pairwise disjoint;
- every sidebar control lies inside the sidebar;
- at 1920 × 1080 the plots use the width: the widest row of plots spans at least
  ``WIDE_SHARE`` of the main area (at the 1280 px sizes a page's plots stopped at ~1 050 px, 64 %
  of a 1080p main area).

Plus the header: at those screens and at 1024 × 768 (XGA projectors), every navigation link and
"Copy link" are on screen and apart, however many pages the registry lists.

Panel renders inside shadow roots, so the page is searched through every shadow root (as in
test_hostile_urls.py). A failure lists every offender with its box, so a page's author sees by
how much it misses.
"""

from __future__ import annotations

import json

import pytest

from app.pages import PAGES
from tests.e2e.test_smoke import DRAWN_CANVASES, controls_outside_the_sidebar

pytestmark = pytest.mark.timeout(180)

SCREENS = [(1280, 800), (1366, 768), (1920, 1080)]
#: the share of the main area's width the widest row of plots spans at 1920 × 1080
WIDE_SHARE = 0.75
#: pages built on ``shell.Page`` (header, sidebar, main area): every one but the deck
FRAMED = [entry.slug for entry in PAGES if hasattr(entry.load(), "PAGE")]

#: JavaScript: what is on screen, through every shadow root: the viewport, the document's and the
#: main area's widths, elements scrolling sideways, plots, headings, the sidebar
LAYOUT_JS = """() => {
    const box = (el) => {
        const r = el.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    };
    const shown = (el) => {
        const r = el.getBoundingClientRect();
        return el.getClientRects().length > 0 && r.width > 0 && r.height > 0
            && getComputedStyle(el).visibility !== 'hidden';
    };
    const name = (el) => {
        const cls = [...el.classList].filter((c) => !c.startsWith('bk-panel-models')).slice(0, 3).join('.');
        const text = (el.innerText || el.textContent || '').trim().split('\\n')[0].slice(0, 40);
        return `${el.tagName.toLowerCase()}${cls ? '.' + cls : ''}${text ? ' "' + text + '"' : ''}`;
    };
    const main = document.querySelector('#main');
    const plots = [], headings = [], scrolling = [];
    const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
            const c = el.classList;
            const kind = c.contains('bk-Figure') ? 'figure'
                : c.contains('js-plotly-plot') ? 'plotly'
                : c.contains('bk-DataTable') ? 'data table'
                : el.tagName === 'TABLE' ? 'table' : null;
            if (kind && shown(el)) plots.push({kind, name: name(el), ...box(el)});
            if (/^H[1-6]$/.test(el.tagName) && shown(el)) headings.push({kind: 'heading', name: name(el), ...box(el)});
            const overflow = getComputedStyle(el).overflowX;
            if ((overflow === 'auto' || overflow === 'scroll') && el.scrollWidth > el.clientWidth + 1 && shown(el)) {
                scrolling.push({name: name(el), scroll: el.scrollWidth, client: el.clientWidth});
            }
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(document);
    const sidebar = document.querySelector('#sidebar');
    return {
        viewport: document.documentElement.clientWidth,
        document: document.documentElement.scrollWidth,
        main: {...box(main), width: main.getBoundingClientRect().width},
        sidebar: sidebar ? box(sidebar) : null,
        plots, headings, scrolling,
    };
}"""

#: JavaScript: the header's navigation links and "Copy link", with their boxes
HEADER_JS = """() => {
    const found = [];
    const visit = (root) => {
        for (const el of root.querySelectorAll('*')) {
            const copy = el.tagName === 'BUTTON' && el.getRootNode().host?.classList.contains('copy-link');
            if (el.matches('.lae-nav a') || copy) {
                const r = el.getBoundingClientRect();
                found.push({name: el.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                            shown: el.getClientRects().length > 0});
            }
            if (el.shadowRoot) visit(el.shadowRoot);
        }
    };
    visit(document);
    return {viewport: document.documentElement.clientWidth, document: document.documentElement.scrollWidth,
            items: found};
}"""


def overlap(a: dict, b: dict, slack: float = 1.0) -> bool:
    """Boxes that share more than ``slack`` pixels in both directions (touching edges do not)."""
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)


def rows(plots: list[dict]) -> list[list[dict]]:
    """Plots grouped into rows: a plot joins the row of any plot it shares a horizontal band with."""
    out: list[list[dict]] = []
    for plot in sorted(plots, key=lambda p: p["top"]):
        row = next((r for r in out if any(min(p["bottom"], plot["bottom"]) - max(p["top"], plot["top"]) > 1
                                          for p in r)), None)
        if row is None:
            out.append([plot])
        else:
            row.append(plot)
    return out


def where(item: dict) -> str:
    return f'{item["name"]} at x {item["left"]:.0f}–{item["right"]:.0f}, y {item["top"]:.0f}–{item["bottom"]:.0f}'


def open_settled(app, path: str, width: int, height: int) -> dict:
    """Open ``path`` at ``width`` × ``height`` and return its layout once a plot is drawn and the
    layout has stopped changing (text panes show once their stylesheets load, plots grow to
    their containers: both can follow the idle document)."""
    app.page.set_viewport_size({"width": width, "height": height})
    app.open(path)
    app.wait_until(lambda: app.page.evaluate(DRAWN_CANVASES) >= 1)
    last: list = [None]

    def settled():
        layout = app.page.evaluate(LAYOUT_JS)
        same = json.dumps(layout, sort_keys=True) == json.dumps(last[0], sort_keys=True)
        last[0] = layout
        if not same:
            app.page.wait_for_timeout(250)
        return same
    app.wait_until(settled, timeout=20)
    return last[0]


def misfits(layout: dict, wide: bool) -> list[str]:
    """Everything on screen that breaks the rules of this module, in words with its numbers."""
    problems = []
    vw, main = layout["viewport"], layout["main"]
    if layout["document"] > vw:
        problems.append(f"the document is {layout['document']} px wide in a {vw} px viewport")
    for s in layout["scrolling"]:
        problems.append(f"{s['name']} scrolls sideways: {s['scroll']} px of content in {s['client']} px "
                        f"({s['scroll'] - s['client']} px too wide)")
    for p in layout["plots"]:
        if p["left"] < main["left"] - 0.5 or p["right"] > vw + 0.5:
            problems.append(f"{where(p)} is outside the main area's {main['left']:.0f}–{vw} px "
                            f"(by {max(main['left'] - p['left'], p['right'] - vw):.0f} px)")
    boxes = layout["plots"] + layout["headings"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if overlap(a, b):
                problems.append(f"{where(a)} overlaps {where(b)}")
    if wide:
        charts = [p for p in layout["plots"] if p["kind"] != "table"]
        spans = [max(p["right"] for p in r) - min(p["left"] for p in r) for r in rows(charts)]
        widest = max(spans, default=0.0)
        if widest < WIDE_SHARE * main["width"]:
            problems.append(f"the widest row of plots spans {widest:.0f} px, {widest / main['width']:.0%} of the "
                            f"{main['width']:.0f} px main area (at least {WIDE_SHARE:.0%} wanted)")
    return problems


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
@pytest.mark.parametrize("slug", FRAMED)
def test_page_fits_the_screen_with_the_sidebar_open(app, slug, size):
    width, height = size
    layout = open_settled(app, f"/{slug}", width, height)
    sidebar = layout["sidebar"]
    assert sidebar and sidebar["right"] - sidebar["left"] > 100, f"the sidebar is not open: {sidebar}"
    assert layout["plots"], "no plot found on the page"
    problems = misfits(layout, wide=width >= 1920)
    problems += [f"sidebar control {c}" for c in controls_outside_the_sidebar(app)]
    assert not problems, f"/{slug} at {width} × {height}:\n" + "\n".join(problems)
    app.assert_clean()


@pytest.mark.parametrize("size", [(1024, 768), *SCREENS], ids=lambda s: f"{s[0]}x{s[1]}")
def test_header_navigation_and_copy_link_fit_the_screen(app, size):
    """Every link of the registry's navigation and "Copy link" on screen, none over another:
    the navigation wraps onto a second line rather than push the button off the right edge."""
    width, height = size
    app.page.set_viewport_size({"width": width, "height": height})
    app.open("/landscape")
    header = app.page.evaluate(HEADER_JS)
    names = [i["name"] for i in header["items"]]
    assert names[:-1] == [e.title for e in PAGES if e.nav] and names[-1] == "Copy link", names
    problems = [f'"{i["name"]}" at x {i["left"]:.0f}–{i["right"]:.0f} is off the {width} px screen'
                for i in header["items"] if not i["shown"] or i["left"] < 0 or i["right"] > width + 0.5]
    items = header["items"]
    problems += [f'"{a["name"]}" overlaps "{b["name"]}"' for k, a in enumerate(items) for b in items[k + 1:]
                 if overlap(a, b, slack=0.5)]
    if header["document"] > width:
        problems.append(f"the document is {header['document']} px wide")
    assert not problems, f"header at {width} × {height}:\n" + "\n".join(problems)
