"""A slider tells assistive technology the value it shows (issue #21): λ = 0.99 is read as 0.99,
not "1.0" (noUiSlider, which BokehJS draws sliders with, writes aria-valuenow to one decimal).

On every route (``app.server.ROUTES``, the deck included) every slider's handle carries

- ``aria-valuetext``: the value exactly as written after the slider's title ("0.99", "0.05" for
  the learning rate, whose slider moves its logarithm, "1e-10");
- ``aria-valuenow``, ``-valuemin``, ``-valuemax``: numbers no coarser than the slider's step,
  so that ``aria-valuenow`` reads the shown number itself wherever the title shows the value.

They keep doing so as the value moves by keys, by the mouse and from the server.
"""

from __future__ import annotations

import re

import pytest

from app.server import ROUTES

pytestmark = pytest.mark.timeout(120)

#: JavaScript: per slider view, its model's numbers, the title's shown value and the handle's ARIA
SLIDERS_JS = """() => [...Bokeh.index.all_views()].filter((v) => v.model.type === 'Slider').map((v) => {
    const handle = v.el.shadowRoot.querySelector('.noUi-handle');
    const shown = v.el.shadowRoot.querySelector('.bk-slider-value');
    return {
        title: v.model.title, value: v.model.value, start: v.model.start, end: v.model.end, step: v.model.step,
        shown: shown ? shown.textContent : null,
        now: handle.getAttribute('aria-valuenow'), text: handle.getAttribute('aria-valuetext'),
        min: handle.getAttribute('aria-valuemin'), max: handle.getAttribute('aria-valuemax'),
    };
})"""

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def misread(slider: dict) -> list[str]:
    """What a screen reader would get wrong about ``slider``, in words."""
    out = []
    step, name = slider["step"], slider["title"]
    for attr, value in (("now", slider["value"]), ("min", slider["start"]), ("max", slider["end"])):
        text = slider[attr]
        if text is None or not NUMBER.match(text) or abs(float(text) - value) > step / 2 + 1e-12:
            out.append(f"{name}: aria-value{attr} {text!r} for {value} (step {step})")
    if slider["shown"] is not None:
        if slider["text"] != slider["shown"]:
            out.append(f"{name}: aria-valuetext {slider['text']!r}, the slider shows {slider['shown']!r}")
        shown = slider["shown"]
        if NUMBER.match(shown) and abs(float(shown) - slider["value"]) <= step / 2:  # the title shows the value
            if float(slider["now"]) != float(shown) or decimals(slider["now"]) > decimals(shown):
                out.append(f"{name}: aria-valuenow {slider['now']!r}, the slider shows {shown!r}")
    return out


def read_sliders(app) -> list[dict]:
    app.wait_until(lambda: app.page.evaluate(SLIDERS_JS))
    return app.page.evaluate(SLIDERS_JS)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_slider_reads_out_the_value_it_shows(app, route):
    app.open(route)
    if route == "/lecture":  # the deck opens before its slides' pages: every slider, not the first ones
        app.wait_for_every_slide()
    sliders = read_sliders(app)
    assert sliders, f"no slider on {route}"

    def none_misread():
        problems = [p for s in app.page.evaluate(SLIDERS_JS) for p in misread(s)]
        assert not problems, f"{route}:\n" + "\n".join(problems)
    app.wait_until(none_misread)
    app.assert_clean()


def test_lambda_099_is_read_as_099_and_follows_keys_mouse_and_the_server(app):
    app.open("/landscape?lam=0.99")

    def lam() -> dict:
        return next(s for s in app.page.evaluate(SLIDERS_JS) if s["title"] == "λ")

    app.wait_until(lambda: lam()["now"] == "0.99" and lam()["text"] == "0.99")
    handle = app.slider("λ").locator(".noUi-handle")
    handle.focus()
    app.page.keyboard.press("ArrowRight")  # λ = 1.00, shown "1"
    app.wait_until(lambda: lam()["value"] == pytest.approx(1.0) and lam()["now"] == "1" and lam()["text"] == "1")
    app.page.keyboard.press("ArrowLeft")
    app.page.keyboard.press("ArrowLeft")   # λ = 0.98
    app.wait_until(lambda: lam()["now"] == "0.98" and lam()["text"] == "0.98")
    app.page.wait_for_timeout(1200)  # a pause: the drag below is a history entry of its own
    drag = app.grab_slider("λ")
    drag.move_to(2.37)
    drag.release()
    app.wait_until(lambda: lam()["value"] > 2 and not misread(lam()))
    dragged = lam()["value"]
    app.wait_until(lambda: float(app.query().get("lam", "nan")) == pytest.approx(dragged))
    # from the server: Back sets λ to the address before the drag
    app.page.go_back()
    app.wait_until(lambda: lam()["value"] < 2 and not misread(lam()))
    app.assert_clean()
