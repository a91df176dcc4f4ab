"""The load and soak suites of ``make stress``, reduced to fit ``make test``: 5 visitors × 10 λ
changes at once; one visitor with 200 changes, 20 trajectory runs and 100 animation frames.

Both run in subprocesses (``python -m benchmarks.load`` / ``benchmarks.soak``, each with its own
server and Chromium), started together by the module fixture so that the two waits for Bokeh to
discard closed sessions (~45 s each) overlap; each test then reads its suite's JSON.

Asserted here, where a reduced run can show it: no error of any kind (console, page, request,
notice, timeout, server log, sessions discarded before their browser connected); memory per
extra session ≤ 8 MiB; sessions back to 0 within 60 s of closing; the soak's growth
≤ 20 MiB and the frames' ± 5 MiB; every latency finite and positive; the machine's CPU per
change split by process (the server's share agreeing with what /health counts).

Not asserted here: p95 ≤ 250 ms (on this 2-core machine it depends on what else runs: a shared
CI box's load average alone can push it past) and the memory coming back within 15 % of the
baseline (Python's allocator keeps its high-water mark; see ``app.health.release_memory``).
``make stress`` reports both at full size.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SUITES = {
    "load": ["-m", "benchmarks.load", "--sessions", "5", "--changes", "10"],
    "soak": ["-m", "benchmarks.soak", "--changes", "200", "--runs", "20", "--frames", "100", "--no-close"],
}


@pytest.fixture(scope="module")
def suites():
    procs = {name: subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in SUITES.items()}
    results = {}

    def result(name):
        if name not in results:
            try:
                out, err = procs[name].communicate(timeout=540)
            except subprocess.TimeoutExpired:
                procs[name].kill()
                out, err = procs[name].communicate()
            assert procs[name].returncode == 0, f"{name} failed:\n{err[-4000:]}"
            results[name] = json.loads(out)
        return results[name]

    yield result
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.communicate()


def finite_positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_five_visitors_at_once_make_their_changes_without_an_error(suites):
    r = suites("load")
    assert r["errors"] == 0, json.dumps(r["problem_kinds"], indent=1, ensure_ascii=False)
    (wave,) = r["wave"]
    assert r["changes"] == 5 * 10 and wave["opened"] == 5 and wave["sessions_created"] == 5
    assert wave["peak_sessions"] == 5  # /health saw every visitor's session at once
    for key in ("median", "p95", "max"):
        assert finite_positive(r["latency_ms"][key])
    assert finite_positive(wave["server_cpu_ms_per_change"])
    # Where the machine's CPU went (/proc): the server as /health counts it, and the tabs' share
    # beside it, from which the floor no server could beat is worked out.
    share = wave["machine"]["cpu_ms_per_change"]
    assert share["server"] == pytest.approx(wave["server_cpu_ms_per_change"], rel=0.25, abs=3), share
    assert finite_positive(share["chromium tabs (renderers)"]) and finite_positive(share["playwright driver"])
    assert wave["machine"]["browser_side_ms_per_change"] > share["chromium tabs (renderers)"]


def test_each_visitor_costs_the_server_at_most_8_mib_and_its_session_goes_when_it_leaves(suites):
    r = suites("load")
    mib = r["rss_mib"]
    assert mib["peak"] > mib["baseline"]  # five sessions do hold memory: the figure measures something
    assert r["targets"]["server memory per extra session (MiB)"]["met"], mib
    # closed tabs' sessions are discarded within ~41 s (35 s after the tab, found within 1 s, Bokeh looks every 5 s)
    assert r["targets"]["after closing: sessions back to 0 (s)"]["met"], r["wave"][0]["recovery_trace"]


def test_a_long_visit_does_not_grow_the_server(suites):
    r = suites("soak")
    assert r["errors"] == 0, json.dumps(r["problems"], indent=1, ensure_ascii=False)
    phases = {p["phase"]: p for p in r["phases"]}
    assert {k: p["steps"] - p["timed_out"] for k, p in phases.items()} == {"changes": 200, "runs": 20, "frames": 100}
    for p in phases.values():
        assert finite_positive(p["latency_ms"]["median"]) and finite_positive(p["latency_ms"]["max"])
    assert r["player"]["end"] > 100  # the frames walked a real animation, not a stub
    assert r["targets"]["memory growth, 200 changes + 20 runs (MiB)"]["met"], phases
    assert r["targets"]["memory change, 100 animation frames (MiB)"]["met"], phases["frames"]


def test_a_class_opening_the_page_is_measured_and_each_session_frozen_once_built():
    """``benchmarks.opens`` (N page views in a row) at a tiny size: finite figures, one session
    per view, and each session's objects frozen once built (``app.health.freeze_live_objects``:
    no full collection walks them)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.opens", "--views", "3"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout)
    assert out["views"] == 3 and out["sessions"] == 4  # the three and the first (the caches')
    assert math.isfinite(out["server_cpu_ms_per_view"]) and out["server_cpu_ms_per_view"] > 0
    assert out["wall_s"] > 0 and out["freezes"] >= 4  # the start-up, and each view (a burst shares one)
