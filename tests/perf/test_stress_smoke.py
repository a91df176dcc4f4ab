"""``make stress``, reduced to fit ``make test``: the harness (``benchmarks.stress``) with a class
of 3 raw websocket visitors on one ``serve --tune-memory`` process and 4 on two behind nginx,
each changing λ once a second for 3 s; and the soak, one visitor with 200 changes, 20 trajectory
runs and 100 animation frames.

Both run in subprocesses (``python -m benchmarks.stress`` with its JSON written to a temporary
file, and ``python -m benchmarks.soak`` with its own server and Chromium), started together by
the module fixture; each test then reads its part's JSON, and one the table the harness printed.

The class servers run with ``LAE_CLOSED_SESSION_MS=2000`` (``app.health``): they discard a session
2 s after its websocket closes instead of 35 s — the same code path as ``make stress``'s, on a
shorter clock, so the warm-up's and the class's waits for the sessions to go take seconds.

Asserted here, where a reduced run can show it: no error of any kind (failed opens, ERROR
replies, timeouts, server log, sessions discarded before their websocket came); every change
answered; finite, positive latencies and CPU per change; memory per extra session ≤ 8 MiB; the
sessions back to 0 within 60 s of closing; every server tuned as the Docker image runs it; nginx
sending each visitor to one of the two processes; the table holding every target with its
figure; the soak's growth ≤ 20 MiB and the frames' ± 5 MiB.

Not asserted here: p95 ≤ 250 ms (on this 2-core machine it depends on what else runs: a shared
CI box's load average alone can push it past) and the memory coming back within 15 % of the
baseline (a few sessions' worth is within 15 % before they close). ``make stress`` reports both at
full size.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.support import ROOT, AppServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CLASS = {"class": 3, "nginx": 4}  # visitors per part
SECONDS = 3  # each visitor changes λ once a second for this long


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    out = tmp_path_factory.mktemp("stress") / "stress.json"
    commands = {
        "stress": ["-m", "benchmarks.stress", "--visitors", str(CLASS["class"]), "--nginx-visitors",
                   str(CLASS["nginx"]), "--duration-s", str(SECONDS), "--interval-s", "1", "--skip", "soak,fuzz",
                   "--server-env", "LAE_CLOSED_SESSION_MS=2000", "--out", str(out)],
        "soak": ["-m", "benchmarks.soak", "--changes", "200", "--runs", "20", "--frames", "100", "--no-close"],
    }
    procs = {name: subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in commands.items()}
    results = {}

    def result(name):
        if name not in results:
            try:
                stdout, err = procs[name].communicate(timeout=540)
            except subprocess.TimeoutExpired:
                procs[name].kill()
                stdout, err = procs[name].communicate()
            if name == "stress":
                # 1: a target missed (p95 on a busy machine, say); anything else: the harness broke
                assert procs[name].returncode in (0, 1), f"stress failed:\n{err[-4000:]}"
                results[name] = {"json": json.loads(out.read_text()), "table": stdout, "returncode": procs[name].returncode}
            else:
                assert procs[name].returncode == 0, f"{name} failed:\n{err[-4000:]}"
                results[name] = json.loads(stdout)
        return results[name]

    yield result
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.communicate()


def finite_positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.mark.parametrize("part", CLASS)
def test_a_small_class_changes_lambda_once_a_second_without_an_error(suites, part):
    r = suites("stress")["json"][part]
    assert "error" not in r, r.get("error")
    n = CLASS[part]
    assert r["errors"] == 0, json.dumps(r["problem_kinds"], indent=1, ensure_ascii=False)
    assert r["paced"] and r["interval_s"] == 1 and r["duration_s"] == SECONDS
    assert r["changes"] == r["completed"] == n * SECONDS
    assert r["opened"] == r["ready"] == r["sessions_created"] == n
    assert r["sessions_seen_open"] == n  # /health saw every visitor's session at once
    for key in ("median", "p95", "max"):
        assert finite_positive(r["latency_ms"][key])
    assert finite_positive(r["server_cpu_ms_per_change"])
    assert r["targets"]["zero errors"]["met"]


@pytest.mark.parametrize("part", CLASS)
def test_each_visitor_costs_the_server_at_most_8_mib_and_its_session_goes_when_it_leaves(suites, part):
    r = suites("stress")["json"][part]
    assert "error" not in r, r.get("error")
    mib = r["rss_mib"]
    assert any(p > b for p, b in zip(mib["peak"], mib["baseline"]))  # sessions do hold memory: the figure measures something
    assert r["targets"]["server memory per extra session (MiB)"]["met"], mib
    assert r["targets"]["after closing: sessions back to 0 (s)"]["met"], r["recovery_trace"]
    assert r["final_sessions"] == 0
    # the memory figures are taken on a tuned heap, as the Docker image runs the server
    assert r["targets"]["servers tuned (/health: tune_memory, malloc)"]["met"], r["per_process"]


def test_nginx_sends_each_visitor_to_one_of_the_two_processes(suites):
    r = suites("stress")["json"]["nginx"]
    assert "error" not in r, r.get("error")
    assert r["processes"] == 2 and r["through_nginx"] and len(r["per_process"]) == 2
    # one session per visitor, each built where its websocket went (none made twice)
    assert sum(p["visitors"] for p in r["per_process"]) == r["sessions_created"] == CLASS["nginx"]
    # the visitors went through nginx's port, not to either process's own
    assert urlsplit(r["url"]).port not in {urlsplit(p["health_url"]).port for p in r["per_process"]}


def test_the_table_holds_every_target_of_both_parts_with_its_figure(suites):
    out = suites("stress")
    table = [line for line in out["table"].splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    assert cells[0] == ["metric", "figure", "target", "met?"]
    heads = {"class": f"one process, {CLASS['class']} visitors × {SECONDS} s",
             "nginx": f"two processes behind nginx, {CLASS['nginx']} visitors × {SECONDS} s"}
    for part, head in heads.items():
        r = out["json"][part]
        for name, t in r["targets"].items():
            (row,) = [c for c in cells if c[0] == f"{head}: {name}"]
            assert row[2] == t["target"] and row[3] == ("yes" if t["met"] else "**NO**"), row
        by_metric = {c[0]: c[1] for c in cells}
        assert by_metric[f"{head}: zero errors"] == "0"
        assert by_metric[f"{head}: p95 change → reply (ms)"] == f"{r['latency_ms']['p95']:.1f}"
    visitors = [c[1] for c in cells if c[0] == f"{heads['nginx']}: visitors per process"]
    assert visitors == [" / ".join(str(p["visitors"]) for p in out["json"]["nginx"]["per_process"])]
    # the exit status says whether every target was met
    assert out["returncode"] == (0 if all(c[3] != "**NO**" for c in cells[2:]) else 1)


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
    """``benchmarks.opens`` (N page views in a row) at a tiny size, on a server started with
    ``--tune-memory`` as the Docker image runs it: finite figures, one session per view, and each
    session's objects frozen once built (``app.health.freeze_live_objects``: no full collection
    walks them)."""
    with AppServer("--tune-memory") as server:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.opens", "--views", "3", "--url", server.url],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout)
    assert out["views"] == 3 and out["sessions"] == 4  # the three and the first (the caches')
    assert math.isfinite(out["server_cpu_ms_per_view"]) and out["server_cpu_ms_per_view"] > 0
    assert out["wall_s"] > 0 and out["freezes"] >= 4  # the start-up, and each view (a burst shares one)
