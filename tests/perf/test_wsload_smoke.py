"""Keeps ``benchmarks.wsload`` (N visitors as raw Bokeh-protocol websocket clients, no browser)
honest at a tiny size: 3 visitors × 6 λ changes against a real server.

Asserted: no error of any kind; every change completed; finite, positive latencies and CPU
figures; the server really redrew (the image bytes differ from one λ to the next, and the
address it writes shows each visitor's last λ); every session is discarded after its websocket
closes. And the client cannot pass by doing nothing: a slider title that is not in the
document is a failed open, and a λ that is not a number is a change that fails (Bokeh's ERROR
reply; one warning line in the server's log, no traceback). One outside the slider's range is
taken as its end, without a traceback.

The server runs with ``LAE_CLOSED_SESSION_MS=2000`` (``app.health``): it discards a session 2 s
after its websocket closes instead of 35 s, so each run's wait for ``/health`` to show no session
takes seconds — the same code path as the default, on a shorter clock.
"""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import wsload
from tests.support import AppServer, run_async

pytestmark = pytest.mark.timeout(180)

SERVER_ENV = {"LAE_CLOSED_SESSION_MS": "2000"}
#: the failing runs do not wait for their sessions to go: a websocket open for less than a
#: second may count as never connected and wait 120 s (``app.health.SWEEP_MS``)
FAILING = {"n_learn": 2, "learn_timeout_s": 20.0, "gone_timeout_s": 0}


@pytest.fixture(scope="module")
def server():
    with AppServer(env=SERVER_ENV) as s:
        yield s


@pytest.fixture(scope="module")
def failing_server():
    """Another server for the runs that fail on purpose, so that none of their sessions is
    left on ``server`` when a run there counts the sessions."""
    with AppServer(env=SERVER_ENV) as s:
        yield s


def measure(server, sessions: int, changes: int, **kwargs) -> dict:
    return run_async(wsload.measure(server.url, sessions, changes, server=server, **kwargs))


def finite_positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_three_visitors_drive_the_page_and_their_sessions_go(server):
    r = measure(server, 3, 6, learn_timeout_s=20.0, gone_timeout_s=30.0)
    assert r["errors"] == 0, json.dumps(r["problems"], indent=1, ensure_ascii=False)
    assert r["ready"] == 3 and r["sessions_created"] == 3 and r["sessions_seen_open"] >= 3
    assert r["changes"] == r["completed"] == 3 * 6  # none timed out
    assert all(finite_positive(x) for v in r["per_visitor_ms"] for x in v)
    for key in ("median", "p95", "max"):
        assert finite_positive(r["latency_ms"][key])
    for key in ("server_cpu_ms_per_change", "client_cpu_ms_per_change", "throughput_changes_per_s",
                "bytes_received_per_change"):
        assert finite_positive(r[key]), key
    # what a change waits for: new data for the image sources (λ redraws two of the three surfaces)
    assert r["learned"]["updates"] and all(u[0] in ("ColumnDataChanged", "ModelChanged") and u[2] == "data"
                                           for u in r["learned"]["updates"])
    assert r["bytes_received_per_change"] > 10_000  # the images came, not only an OK
    # the server really recomputed: new image bytes for each λ, and the address follows λ
    assert r["checks"]["image_data_changed_with_lambda"]
    assert r["checks"]["address_shows_last_lambda"]
    assert math.isfinite(r["sessions_zero_s"]) and r["final_sessions"] == 0


def test_a_slider_title_not_in_the_document_is_a_failed_open(failing_server):
    r = measure(failing_server, 1, 2, slider=("Slider", "μ"), **FAILING)
    assert r["ready"] == 0 and r["changes"] == 0 and r["errors"] >= 1
    assert any("failed to open" in p and "no Slider titled 'μ'" in p for p in r["problems"]), r["problems"]


def test_a_value_the_app_refuses_is_an_error_not_a_pass(failing_server):
    # not a number: Bokeh's ERROR reply, and one warning line in the log, no traceback (app.server)
    before = len(failing_server.log())
    r = measure(failing_server, 1, 1, lambdas=(0.7, 1.2, "abc"), timeout_s=3.0, **FAILING)
    assert r["changes"] == 1 and r["completed"] == 0 and r["errors"] >= 1
    assert not math.isfinite(r["latency_ms"]["max"])
    assert any("λ = abc" in p and "expected a value of type Real" in p for p in r["problems"]), r["problems"]
    log = failing_server.log()[before:]
    assert "a change from the browser was refused: failed to validate Slider" in log, log
    assert "Traceback" not in log and "error handling message" not in log, log


def test_a_value_outside_the_sliders_range_is_taken_as_its_end(failing_server):
    """λ = 5 (the slider ends at 4), which no browser's slider sends: the page redraws at λ = 4,
    says so in the address and moves the slider there; no traceback in the server's log
    (``shell._InRange``). The one
    problem the client reports is its own check that the address shows the λ it sent."""
    r = measure(failing_server, 1, 1, lambdas=(0.7, 1.2, 5.0), timeout_s=10.0, **FAILING)
    assert r["changes"] == r["completed"] == 1, r["problems"]
    assert r["problems"] == ["visitor 1: the address never showed the last λ = 5.0 (last written: lam=4.0)"]
    assert r["checks"]["slider_values"] == [4]  # and the server put the visitor's slider there
