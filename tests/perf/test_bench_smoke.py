"""Keeps the benchmark harness from rotting: ``make bench``'s browser measurements run here at a
tiny size — the Landscape λ slider (``benchmarks.browser``), one or more controls of every other
page with two timed changes each, a map click, the Trajectories animation frame, the Grassmannian
flow button, cold loads of two other pages (``benchmarks.pages``) — and must produce finite
numbers (not the targets: those are ``make bench``'s business) and prove that the plots really
repainted. The in-process server figures and the tables are checked on a small scale too.

The browser runs are subprocesses (``python -m benchmarks.…``) so that their own Playwright
instance cannot clash with pytest-playwright's in the same process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from benchmarks import bench, pages
from tests.support import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _run(*args: str, timeout: float = 280) -> dict:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def test_browser_measurement_produces_numbers():
    result = _run("benchmarks.browser", "--changes", "5", "--cold", "1")
    ch = result["changes"]
    assert ch["changes"] == 5 and ch["timed_out"] == 0
    assert len(ch["visible_image_sources"]) == 3  # the default state shows three surfaces
    assert ch["expected_image_sources"] and set(ch["expected_image_sources"]) <= set(ch["visible_image_sources"])
    for key in ("median", "p95"):
        assert _finite(ch["repaint_ms"][key]) and ch["repaint_ms"][key] > 0
        assert _finite(ch["ws_kb_per_change"][key]) and ch["ws_kb_per_change"][key] > 0
    for r in ch["records"]:
        # the timeline is ordered: data arrives after the set, and the plots paint after that
        assert 0 < r["reply_ms"] <= r["data_applied_ms"] <= r["total_ms"]
        assert r["affected_plots"] >= 3 and r["n_paints"] >= 3
    assert ch["ws_bytes_mismatch_js_vs_playwright"] == 0
    v = ch["verify_repaint"]
    assert v["image_plots_repainted"], v
    assert all(_finite(s["median"]) for s in ch["breakdown_ms"].values())
    cold = result["cold_load"]
    assert cold["first_plot_ms"]["n"] == 1 and _finite(cold["first_plot_ms"]["median"])
    assert 0 < cold["first_plot_ms"]["median"] <= cold["all_plots_ms"]["median"]
    assert not cold["late_hook"]  # the paint hook was in place before the first plot painted


#: one control or more per page, each a different way of operating one (see pages.Control)
SMOKE = {
    "trajectories: λ": "slider, the server recomputes three runs",
    "trajectories: animation frame (Player value, drawn in the browser)": "a frame drawn by the page's JS",
    "trajectories: map click (start point)": "a real click on the map",
    "trajectories: solvers (checkboxes)": "a checkbox group, measured after the map click set the runs playing",
    "collapse: λ": "slider",
    "grassmannian: flow button → first frame": "a real click on a button that starts an animation",
    "landscape: x": "slider",
}


def test_every_page_harness_produces_numbers_and_repaints():
    known = {c.key: c for c in pages.controls()}
    assert set(SMOKE) <= set(known), sorted(set(SMOKE) - set(known))
    result = _run("benchmarks.pages", "--only", "|".join(SMOKE), "--changes", "2", "--uniform", "--warmup", "1",
                  "--cold", "1", "--cold-pages", "collapse,lecture")
    assert result["errors"] == []
    measured = {r["key"]: r for r in result["controls"]}
    assert set(measured) == set(SMOKE)
    for key, r in measured.items():
        c = known[key]
        assert r["changes"] == 2 and r["timed_out"] == 0, (key, r["records"])
        assert r["page_errors"] == [], (key, r["page_errors"])
        for stat in ("median", "p95"):
            assert _finite(r["repaint_ms"][stat]) and r["repaint_ms"][stat] > 0, key
            assert _finite(r["ws_kb_per_change"][stat]) and r["ws_kb_per_change"][stat] > 0, key
        # the address bar, written 250 ms after a change (by design), is not the change's content
        assert not [k for k in r["changed_per_change"] if k.startswith(("AddressBar", "Location"))], (key, r)
        # the plots really repainted: the first timed change gave at least one plot new pixels
        assert r["verify_repaint"]["plots_with_new_pixels"] >= 1, (key, r["verify_repaint"])
        for rec in r["records"]:
            # ordered: content applied, then the last paint, then that frame rendered
            assert rec["content_events"] > 0 and rec["n_paints"] >= 1, (key, rec["timeline"])
            assert 0 <= rec["data_applied_ms"] <= rec["frame_ms"], (key, rec)
            assert 0 < rec["total_ms"] <= rec["frame_ms"], (key, rec)
            if c.complete == "first":
                assert 0 <= rec["match_ms"] <= rec["total_ms"], (key, rec)
            if c.action == "click" or c.action == "tap":
                assert rec["set_ms"] >= 0  # timed from the pointer-down Playwright's click made
        if c.complete == "quiet":
            assert r["ws_bytes_mismatch_js_vs_playwright"] == 0, key
    # the map click started new runs and plays them from iteration 0: timed to their first frame
    click = measured["trajectories: map click (start point)"]["changed_per_change"]
    assert click.get("ColumnDataSource.data", 0) >= 1 and click.get("Player.value", 0) >= 1, click
    cold = result["cold_load"]["collapse"]
    assert cold["first_plot_ms"]["n"] == 1 and not cold["late_hook"]
    assert 0 < cold["first_plot_ms"]["median"] <= cold["all_plots_ms"]["median"]
    assert cold["loads"][0]["n_plots"] == 4  # the example, the bifurcation, the bars, the shrinkage
    # the deck opens before its slides' pages: its load also waits for every one of them
    deck = result["cold_load"]["lecture"]
    assert 0 < deck["first_plot_ms"]["median"] <= deck["settled_ms"]["median"], deck


def test_the_playback_and_training_runs_time_what_they_claim():
    """The two special runs: frames while the Player plays (each matched to the counter's text
    for its iteration) and Train to its summary ("Trained with …") — both read texts that the
    app's own text component changes on its data model."""
    result = _run("benchmarks.pages", "--only", f"{pages.PLAYBACK}|{pages.TRAINING}", "--changes", "1")
    assert result["errors"] == []
    play = result["playback"]
    assert play["values_sent"] > 10 and play["frames_timed"] >= 0.8 * play["values_sent"], play
    assert _finite(play["repaint_ms"]["median"]) and play["repaint_ms"]["median"] > 0
    whole = next(r for r in result["controls"] if r["control"].startswith("Train: click → trained"))
    assert whole["timed_out"] == 0 and _finite(whole["repaint_ms"]["median"]), whole["records"]
    assert whole["progress_updates"] >= 1


def test_server_share_in_process_of_a_control():
    c = {c.key: c for c in pages.controls()}["collapse: λ"]
    out = bench.bench_server_control("collapse", "/collapse", c, changes=3)
    assert out["redraw_ms"]["n"] == 3 and 0 < out["redraw_ms"]["median"] < math.inf
    assert out["patch_kb"]["median"] > 1  # new curves, bars and text went into the patch


def _summary(median, p95=None):
    return {"n": 10, "median": median, "p95": median if p95 is None else p95, "min": median, "max": median}


def _result(page, control, kind, median, p95=None, target="repaint", kb=10.0):
    return {"page": page, "control": control, "key": f"{page}: {control}", "kind": kind, "target": target,
            "changes": 10, "timed_out": 0, "repaint_ms": _summary(median, p95), "frame_ms": _summary(median + 5),
            "ws_kb_per_change": _summary(kb), "by_value_median_ms": {}, "pixels_expected": True,
            "verify_repaint": {"plots": 3, "plots_with_new_pixels": 3}, "page_errors": []}


def test_table_formats_results_and_misses(tmp_path):
    core = {"surface_ms": {"n": 3, "median": 5.0, "p95": 6.0, "min": 4.0, "max": 6.0}}
    metrics = bench.rows(core, {"missing": "not written yet"}, None)
    text = bench.table(metrics)
    assert "| core: 1000×1000 scalar surface (ms) | 5.0 | 6.0 | ≤ 20 ms (median) | yes |" in text
    assert "not written yet" in text and "n/a" in text
    web = {"changes": {"changes": 2, "repaint_ms": {"median": 50.0, "p95": math.inf},
                       "ws_kb_per_change": {"median": 100.0, "p95": 120.0}},
           "cold_load": None}
    text = bench.table(bench.rows(core, {"solver_10k_scalar_steps_ms": 70.0}, web))
    assert "∞ (timed out)" in text and text.count("**NO**") == 2


def test_control_targets_and_the_slowest_control_per_page():
    controls = {"controls": [
        _result("landscape", "x", "slider", 45.0, 55.0),               # Landscape slider: 40 / 60 → missed
        _result("landscape", "mode", "select", 90.0),                   # other Landscape control: ≤ 100 → met
        _result("collapse", "λ", "slider", 80.0),
        _result("collapse", "σ box", "text", 130.0, kb=600.0),          # ≤ 100 missed, > 500 kB
        _result("collapse", "Train button", "button", 900.0, target="info"),
        _result("trajectories", "frame", "player", 35.0, target="frame"),
    ], "playback": None, "cold_load": {"collapse": {
        "first_plot_ms": _summary(900.0), "all_plots_ms": _summary(1000.0), "loads": []}}}
    assert bench.control_target(controls["controls"][0]) == ("median ≤ 40, p95 ≤ 60 ms", False)
    assert bench.control_target(controls["controls"][1]) == ("≤ 100 ms (median)", True)
    assert bench.control_target(controls["controls"][4])[1] is None
    assert bench.control_target(controls["controls"][5]) == ("≤ 40 ms (median)", True)
    text = bench.table(bench.control_rows(controls))
    assert "Posterior collapse: slowest control → repaint: σ box, 10 changes (ms; 1 of 2 controls meet" in text
    assert "Landscape: slowest control → repaint: mode" in text  # the slowest by median, whatever its target
    assert "Posterior collapse: most websocket traffic per change: σ box (kB) | 600 | 600 | ≤ 500 kB | **NO** |" in text
    assert "Posterior collapse: Train button (ms) | 900 | 900 | — (shows progress) | n/a |" in text
    assert "Posterior collapse: cold load → first rendered plot" in text
    detail = bench.detail_table(controls, {"collapse: λ": {"total_ms": _summary(6.0)}})
    assert "| Posterior collapse | λ | 10 | 80.0 | 80.0 | 85.0 | 10.0 | 6.0 | ≤ 100 ms (median) | yes |" in detail
    assert "| Posterior collapse | Train button | 10 | 900 |" in detail and "— (no target) | n/a |" in detail


def test_report_reprints_a_saved_result(tmp_path, capsys):
    controls = {"controls": [_result("grassmannian", "φ", "slider", 50.0),
                             _result("grassmannian", "m", "slider", 30.0, kb=4.0)],
                "playback": None, "errors": [{"control": "grassmannian: flow", "error": "TimeoutError: …"}],
                "cold_load": {}}
    result = {"machine": {"cpus": 2, "loadavg_start": [1.0, 1.0, 1.0], "loadavg_end": [2.0, 2.0, 2.0]},
              "core": {"surface_ms": _summary(5.0)}, "solvers": {"solver_10k_scalar_steps_ms": 4.0},
              "controls": controls, "server_controls": {"grassmannian: φ": {"total_ms": _summary(1.5)}}}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(result))
    assert bench.main(["--report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "load average at start / end: 1.00 1.00 1.00 / 2.00 2.00 2.00 on 2 CPUs" in out
    assert "| Grassmannian: slowest control → repaint: φ, 10 changes (ms; 2 of 2 controls meet" in out
    assert "| Grassmannian | φ | 10 | 50.0 | 50.0 | 55.0 | 10.0 | 1.5 | ≤ 100 ms (median) | yes |" in out
    assert "- grassmannian: flow: TimeoutError" in out  # a control that could not be measured is listed
