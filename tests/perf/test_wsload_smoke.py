"""Keeps ``benchmarks.wsload`` (N visitors as raw Bokeh-protocol websocket clients, no browser)
honest at a tiny size: 3 visitors × 6 λ changes against a real server, back to back and paced
(3 visitors changing λ every 0.6 s for 2.4 s, as ``make stress`` has a class do every second).

Asserted: no error of any kind; every change completed; finite, positive latencies and CPU
figures; the server really redrew (the image bytes differ from one λ to the next, and the
address it writes shows each visitor's last λ); every session is discarded after its websocket
closes. And the client cannot pass by doing nothing: a slider title that is not in the
document is a failed open, and a λ that is not a number is a change that fails (Bokeh's ERROR
reply; one warning line in the server's log, no traceback). One outside the slider's range is
taken as its end, without a traceback. Paced, each visitor sends on its own clock, the
visitors' clocks spread over the interval, and one that changes faster than the server answers
sends anyway (as BokehJS does): those changes are counted, and each is answered by a reply
drawn for its λ or a later one.

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


def test_paced_visitors_each_change_lambda_on_their_own_clock_spread_over_the_interval(server):
    interval, n = 0.6, 3
    r = measure(server, n, 4, interval_s=interval, learn_timeout_s=20.0, gone_timeout_s=30.0)
    assert r["errors"] == 0, json.dumps(r["problems"], indent=1, ensure_ascii=False)
    assert r["paced"] and r["duration_s"] == pytest.approx(4 * interval)
    assert r["changes"] == r["completed"] == n * 4
    assert all(finite_positive(x) for v in r["per_visitor_ms"] for x in v)
    # each visitor's changes one interval apart, visitor i starting i/n of an interval after the
    # first (a send is late by as long as this client's process waits for a core: a loose margin)
    sent = r["per_visitor_sent_s"]
    assert all(len(times) == 4 for times in sent)
    for times in sent:
        assert [b - a for a, b in zip(times, times[1:])] == pytest.approx([interval] * 3, abs=0.25), sent
    firsts = [times[0] for times in sent]
    assert firsts == sorted(firsts) and firsts[-1] - firsts[0] == pytest.approx((n - 1) * interval / n, abs=0.25)
    assert r["send_lag_ms"]["n"] == n * 4 and r["send_lag_ms"]["median"] >= 0
    # the λ each answer was drawn for is learned, from the updates that carry it
    assert r["learned"]["lambda_carried_by"] and all(u[0] == "ModelChanged" for u in r["learned"]["lambda_carried_by"])
    assert r["checks"]["address_shows_last_lambda"]
    assert math.isfinite(r["sessions_zero_s"]) and r["final_sessions"] == 0


def test_a_visitor_changing_faster_than_the_server_answers_sends_anyway_and_every_change_is_answered(server):
    """λ every 10 ms (a change takes the server longer): BokehJS sends each value a dragged
    slider takes without waiting for a reply, so the visitor does too, and the changes sent while
    an earlier one is unanswered are counted; each change is still answered."""
    r = measure(server, 1, 30, interval_s=0.01, learn_timeout_s=20.0, gone_timeout_s=30.0)
    assert r["errors"] == 0, json.dumps(r["problems"], indent=1, ensure_ascii=False)
    assert r["changes"] == r["completed"] == 30  # none timed out waiting for a reply that never came
    assert r["overruns"] > 0, r["per_visitor_ms"]
    assert r["checks"]["address_shows_last_lambda"]


def _image_update(model: str) -> dict:
    return {"kind": "ColumnDataChanged", "model": {"id": model}, "attr": "data", "data": {}, "cols": ["image"]}


def _marker(value) -> dict:
    return {"kind": "ModelChanged", "model": {"id": "marker"}, "attr": "location", "new": value}


def test_an_answer_goes_to_the_change_of_the_lambda_it_was_drawn_for_and_answers_the_older_ones_too():
    """The client's bookkeeping, fed messages written here: the server may fold a change into a
    later one (Panel drops a value it has not yet acted on when the next arrives), so a reply
    names its λ (the learned ``echo``, here a marker's location): it answers the oldest waiting
    change of that λ and every older change (superseded); a reply that names no λ answers the
    oldest waiting change."""

    async def play():
        v = wsload.Visitor("http://127.0.0.1:9", "visitor", http=None)
        expect = frozenset({("ColumnDataChanged", "a", "data"), ("ColumnDataChanged", "b", "data")})
        v.echo = frozenset({("ModelChanged", "marker", "location")})
        waits = [wsload.Watch(expect, lam) for lam in (0.3, 0.7, 1.2, 0.3, 0.45)]
        v.pending = list(waits)
        both = [_image_update("a"), _image_update("b")]
        v._patch({"events": [*both, _marker(0.7)]}, {}, 1.0)  # drawn for 0.7: 0.3 was folded into it
        v._patch({"events": [_image_update("a")]}, {}, 2.0)  # half an answer, naming no λ
        v._patch({"events": [_image_update("b"), _marker(1.2)]}, {}, 3.0)  # the rest: 1.2 answered
        v._patch({"events": [*both]}, {}, 4.0)  # no λ: the oldest waiting change (0.3, the second)
        return waits, v.pending

    waits, pending = run_async(play())
    assert [(w.done.done() and w.done.result(), w.superseded) for w in waits] == [
        (1.0, True), (1.0, False), (3.0, False), (4.0, False), (False, False)]
    assert pending == waits[4:]


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
