"""``lae-landscapes export`` and ``snapshot`` as a user runs them, checked in Chromium: the exported
Landscape page works opened from disk with every network request refused, and its λ slider
moves the plots; a snapshot is a PNG of exactly the asked size that shows the plots."""

from __future__ import annotations

import math
import struct
import subprocess
import sys

import pytest
from PIL import Image

from tests.e2e.conftest import BrowserRecord, wait_until
from tests.support import ROOT

#: the exported document has drawn: every root that has a view (the recorded states have none)
DRAWN_JS = """() => {
  const doc = window.Bokeh && Bokeh.documents.length ? Bokeh.documents[0] : null;
  return !!doc && doc.roots().filter(r => !r.type.endsWith(".State")).every(r => doc._idle_roots.has(r));
}"""
#: a fingerprint of each loss map's colour indices, by the map's title
MAPS_JS = """() => Object.fromEntries([...Bokeh.documents[0].all_models]
  .filter(m => m.type === "Figure" && m.renderers.some(r => r.glyph && r.glyph.type === "Image"))
  .map(plot => {
    const image = plot.renderers.find(r => r.glyph && r.glyph.type === "Image").data_source.data.image[0];
    let h = 7;
    for (const v of image) h = (h * 31 + v) >>> 0;
    return [plot.title.text, [image.length, h]];
  }))"""
MAPS = ("L (unregularized)", "L_π (product)", "L_σ (sum)")
HEADER = (0x23, 0x39, 0x5D)  # the header bar's colour (app.shell)


def cli(*argv, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def sum_loss_summary(lam: float, x: float = 1.0) -> str:
    """The sum loss's critical points in the page's words, from the paper: minima at
    w₁ = w₂ = ±√(1 − λ/x²) with a saddle at 0 while λ < x², only the minimum at 0 once λ > x²."""
    if lam < x * x:
        w = f"{math.sqrt(1 - lam / x ** 2):.2f}"
        return f"sum: 3 critical points — saddle (0.00, 0.00), minimum ({w}, {w}), minimum (−{w}, −{w})"
    return "sum: 1 critical point — minimum (0.00, 0.00)"


@pytest.fixture
def offline_page(browser):
    """A Chromium tab that may open files and nothing else: every other request is refused and
    listed in ``page.refused``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    refused = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.refused = refused
    page.record = BrowserRecord(page)
    yield page
    context.close()


def test_exported_landscape_works_from_disk_and_its_lambda_slider_moves_the_plots(tmp_path, offline_page):
    page = offline_page
    target = tmp_path / "landscape.html"
    run = cli("export", "landscape", "--query", "lam=0.5&x=1", "--out", str(target))
    assert run.returncode == 0, run.stderr
    assert "41 positions of lam from 0 to 4" in run.stdout

    page.goto(target.as_uri())
    wait_until(lambda: page.evaluate(DRAWN_JS), page, timeout=60)
    summary = page.locator(".summary-sum .summary-text")
    label = page.locator(".bk-Div.export-slider .bk-clearfix")
    assert summary.inner_text() == sum_loss_summary(0.5)
    assert "λ: 0.5" in label.inner_text()
    before = page.evaluate(MAPS_JS)
    assert set(before) == set(MAPS) and all(size == 200 * 200 for size, _ in before.values())

    handle = page.locator(".bk-Slider.export-slider .noUi-handle")
    handle.focus()
    # 0.5 → 1.3 in steps of 0.1, past the pitchfork at λ = x² = 1 (where the origin is a
    # degenerate minimum): 1.3 must show its own critical points, not those of a position passed
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    wait_until(lambda: "λ: 1.3" in label.inner_text(), page, timeout=20)
    wait_until(lambda: summary.inner_text() == sum_loss_summary(1.3), page, timeout=20)

    after = page.evaluate(MAPS_JS)
    assert after["L (unregularized)"] == before["L (unregularized)"]  # λ does not enter L
    assert after["L_π (product)"] != before["L_π (product)"]
    assert after["L_σ (sum)"] != before["L_σ (sum)"]

    # one jump to the end, then back below x² step by step
    page.keyboard.press("End")
    wait_until(lambda: "λ: 4" in label.inner_text(), page, timeout=20)
    assert summary.inner_text() == sum_loss_summary(4.0)
    for _ in range(36):
        page.keyboard.press("ArrowLeft")
    wait_until(lambda: "λ: 0.4" in label.inner_text(), page, timeout=20)
    wait_until(lambda: summary.inner_text() == sum_loss_summary(0.4), page, timeout=20)

    assert page.refused == [], "the exported file tried to reach the network"
    assert all(u.startswith("file://") for u in page.record.urls), page.record.urls
    assert not page.record.problems(), page.record.problems()


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG header (signature, then the IHDR chunk)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", head[16:24])


def colourful_share(path) -> tuple[int, float]:
    """Distinct colours, and the share of clearly coloured (not grey) pixels."""
    image = Image.open(path).convert("RGB")
    data = image.tobytes()
    pixels = [data[i:i + 3] for i in range(0, len(data), 3)]
    colourful = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
    return len(set(pixels)), colourful / len(pixels)


def test_snapshot_writes_a_png_of_exactly_the_asked_size_showing_the_plots(tmp_path):
    target = tmp_path / "fig.png"
    run = cli("snapshot", "landscape", "--query", "lam=1.5&x=1", "--out", str(target),
              "--width", "800", "--height", "450")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"wrote {target} (800 × 450 px)"
    assert png_size(target) == (800, 450)
    colours, share = colourful_share(target)
    # a blank page has one colour; the viridis loss maps fill a good part of the picture
    assert colours > 1000 and share > 0.1, (colours, share)
    assert Image.open(target).convert("RGB").getpixel((5, 5)) != HEADER  # the embed view: no header


def test_snapshot_of_the_full_page_reports_the_pages_corrections_of_the_query(tmp_path):
    target = tmp_path / "full.png"
    run = cli("snapshot", "collapse", "--query", "lam=99", "--full", "--out", str(target))
    assert run.returncode == 0, run.stderr
    assert png_size(target) == (1280, 800)  # the default size
    assert "note: the page says: 'lam' = '99' is outside [0, 10]; using 10." in run.stderr
    assert Image.open(target).convert("RGB").getpixel((5, 5)) == HEADER  # the app's header bar
    colours, _ = colourful_share(target)
    assert colours > 1000, colours
