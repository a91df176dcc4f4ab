"""Back and Forward in a real browser: the page shows the state its address holds, and a page
adds one history entry per state, none for the address it was opened with (app.address)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ONE_POINT, THREE_POINTS, drag_lambda_past_x_squared


def history_length(app) -> int:
    return app.page.evaluate("() => window.history.length")


def lam_everywhere(app) -> tuple[float, float]:
    """λ in the address and on the slider."""
    return float(app.query().get("lam", "nan")), app.slider_model("λ")["value"]


def test_back_and_forward_show_the_state_in_the_address_and_a_reload_keeps_it(app):
    app.open("/landscape?lam=0.5")
    app.wait_until(lambda: app.query().get("mode") == "paper")  # the whole state, written in place
    opened = history_length(app)
    assert app.summary("sum").startswith(THREE_POINTS)

    drag_lambda_past_x_squared(app, 1.6)  # one new entry, λ ≈ 1.6, one critical point
    after = lam_everywhere(app)
    assert history_length(app) == opened + 1

    app.page.go_back()
    app.wait_until(lambda: lam_everywhere(app) == (0.5, 0.5))
    app.wait_until(lambda: app.summary("sum").startswith(THREE_POINTS))
    assert app.page.evaluate("() => window.location.pathname") == "/landscape"

    app.page.go_forward()
    app.wait_until(lambda: lam_everywhere(app) == pytest.approx(after, abs=1e-9))
    app.wait_until(lambda: app.summary("sum").startswith(ONE_POINT))

    app.page.go_back()
    app.wait_until(lambda: lam_everywhere(app) == (0.5, 0.5))
    assert history_length(app) == opened + 1  # stepping through adds nothing
    app.page.reload()
    app.wait_for_document()
    app.wait_until(lambda: lam_everywhere(app) == (0.5, 0.5))
    assert app.summary("sum").startswith(THREE_POINTS)
    assert app.notices() == []
    app.assert_clean()


def test_an_address_made_up_in_the_browser_is_read_like_a_link_on_back(app):
    """Entries nobody wrote through the page (a script, a hand-edited history) are read as
    links are: checked, with a notice, and no markup from them reaches the page."""
    app.open("/landscape")
    app.wait_until(lambda: app.query().get("mode") == "paper")
    app.page.evaluate("""() => {
        history.pushState(null, "", "?lam=NaN&mode=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&x=0.5");
        history.pushState(null, "", "?lam=3&x=0.5");
        history.back();
    }""")
    app.wait_until(lambda: any("must be a finite number" in n for n in app.notices()))
    notices = " ".join(app.notices())
    assert "'<img src=x onerror=alert…'" in notices  # shown as text, quoted and cut
    # the page took the corrected state, and the entry now holds it
    app.wait_until(lambda: app.query().get("mode") == "paper" and app.query().get("x") == "0.5")
    assert app.slider_model("x")["value"] == 0.5 and app.slider_model("λ")["value"] == 0.5
    assert app.page.evaluate("() => document.querySelectorAll('img[src=x]').length") == 0
    app.assert_clean()


def test_an_embedded_page_keeps_one_history_entry(app):
    """In an iframe every entry would be the host page's (its Back button would step through
    the embed's λ): an embedded page writes its address in place."""
    app.open("/landscape?embed=true")
    app.wait_until(lambda: app.query().get("mode") == "paper" and app.query().get("embed") == "true")
    opened = history_length(app)
    drag_lambda_past_x_squared(app, 1.6)
    assert app.query().get("embed") == "true"
    assert history_length(app) == opened
    app.assert_clean()
