"""``make bench``'s other benchmarks at a tiny size, so that they keep running: the Theorem page's
λ change in-process (``benchmarks.bench_theorem``), the PCA page in Chromium (``benchmarks.bench_pca``:
its opening, Run → the race's first rows, another visitor's λ change during a race) and the
openings against a plain Panel page (``benchmarks.openings``). They must produce finite numbers
and the states they claim (a race still running while it is measured); the targets are ``make
bench``'s business. The table ``make bench`` prints of them is checked on made-up figures.

The browser runs are subprocesses, so that their Playwright cannot clash with pytest-playwright's.
"""

from __future__ import annotations

import math

import pytest

from benchmarks import bench, bench_theorem
from tests.perf.test_bench_smoke import _finite, _run

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _summary(median: float) -> dict:
    return {"n": 1, "median": median, "p95": median, "min": median, "max": median}


def test_the_extras_table_says_what_is_met_and_what_failed():
    extras = {
        "theorem": {"m8_k4_ms": 90.0, "target_ms": 150.0,
                    "browser": {"theorem": {"repaint_ms": _summary(70.0)}, "landscape": {"repaint_ms": _summary(50.0)},
                                "ratio": 1.4, "target_ratio": 1.2, "within_target": False}},
        "pca": {"page": {"warm_open": {"all_plots_ms": _summary(2500.0)}, "run_to_first_paint_ms": _summary(240.0)},
                "other_session": {"median_ratio": 1.2, "within_target": True}},
        "openings": {"error": "Traceback …\nTimeoutError: the baseline did not start\n"},
    }
    text = bench.extras_table(extras)
    assert "| Theorem: λ change at m = 8, k = 4 (server, in-process) | 90 ms | ≤ 150 ms | yes |" in text
    assert ("| Theorem: λ change → repaint at m = 4, k = 2, against the Landscape page's λ (Chromium, alternating) "
            "| 70 vs 50 ms, 1.40 × | ≤ 1.2 × | **NO** |") in text
    assert "| PCA: open, warm server → every plot of the first document | 2500 ms | ≤ 2000 ms | **NO** |" in text
    assert "| PCA: Run → the race's first rows painted | 240 ms | ≤ 500 ms | yes |" in text
    assert "| PCA: another visitor's Landscape λ change during a race | 1.20 × idle | ≤ 1.5 × | yes |" in text
    assert "| openings: the benchmark failed | TimeoutError: the baseline did not start | — | **NO** |" in text
    assert bench.parse_extras("pca,theorem") == ("pca", "theorem") and bench.parse_extras("") == ()
    with pytest.raises(Exception, match="unknown: nope"):
        bench.parse_extras("pca,nope")


def test_the_theorem_benchmark_measures_every_case():
    r = bench_theorem.run(changes=2)
    for key, *_ in bench_theorem.CASES:
        assert _finite(r[key]["total_ms"]["median"]) and r[key]["total_ms"]["median"] > 0, key
    assert r["m8_k4_ms"] == max(r[k]["total_ms"]["median"] for k in r if k.startswith("m8_k4."))


def test_the_theorem_pages_repaint_is_timed_against_the_landscape_pages_in_alternating_rounds():
    r = _run("benchmarks.bench_theorem", "--changes", "1", "--browser", "--rounds", "2", "--browser-changes", "2",
             timeout=560)["browser"]
    for page in ("theorem", "landscape"):
        assert r[page]["changes"] == 4 and r[page]["repaint_ms"]["n"] == 4, (page, r[page])
        assert _finite(r[page]["repaint_ms"]["median"]) and r[page]["repaint_ms"]["median"] > 0, (page, r[page])
    assert r["ratio"] == pytest.approx(r["theorem"]["repaint_ms"]["median"] / r["landscape"]["repaint_ms"]["median"],
                                       abs=1e-3)


def test_the_pca_page_benchmark_opens_runs_and_races_beside_another_visitor():
    r = _run("benchmarks.bench_pca", "--no-core", "--opens", "1", "--changes", "3", timeout=560)
    page, other = r["page"], r["other_session"]
    for figure in (page["warm_open"]["first_plot_ms"], page["warm_open"]["every_section_ms"],
                   page["cold_cache_open"]["all_plots_ms"], page["run_to_first_rows_ms"],
                   page["run_to_first_paint_ms"], page["server_share_of_an_open_ms"]):
        assert _finite(figure["median"]) and figure["median"] > 0, figure
    # the paint after the first rows comes after them; every section after the first plot
    assert page["run_to_first_paint_ms"]["median"] >= page["run_to_first_rows_ms"]["median"]
    assert page["warm_open"]["every_section_ms"]["median"] >= page["warm_open"]["first_plot_ms"]["median"]
    assert other["race_still_running_at_the_end"], other["race_status_at_the_end"]
    for key in ("idle_before_ms", "during_race_ms", "idle_after_ms"):
        assert other[key]["n"] == 3 and _finite(other[key]["median"]), key
    assert math.isfinite(other["median_ratio"]) and other["median_ratio"] > 0


def test_the_openings_benchmark_compares_the_app_with_a_plain_panel_page():
    r = _run("benchmarks.openings", "--rounds", "1", "--changes", "3", timeout=560)
    for name in ("app", "baseline"):
        assert _finite(r["cold_open_ms"][name]["median"]) and r["cold_open_ms"][name]["median"] > 0, name
        assert r["wire_kb"][name]["median"] > 100, name      # Bokeh's script alone is more
        assert r["repaint_ms"][name]["n"] == 3 and _finite(r["repaint_ms"][name]["median"]), name
    assert r["second_open_refetched"]["app"] == []
    assert set(r["models_per_page"]) >= {"landscape", "theorem", "pca"}
    assert all(n > 50 for n in r["models_per_page"].values())
