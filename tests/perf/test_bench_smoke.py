"""Keeps the benchmark harness from rotting: the browser measurement of ``make bench`` runs here
with a handful of changes and one cold load, and must produce finite numbers (not the targets:
those are ``make bench``'s business) and prove that the surfaces really repainted.

It runs in a subprocess (``python -m tests.perf.browser``) so that its own Playwright instance
cannot clash with pytest-playwright's in the same process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.perf import bench
from tests.support import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_browser_measurement_produces_numbers():
    proc = subprocess.run([sys.executable, "-m", "tests.perf.browser", "--changes", "5", "--cold", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
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
