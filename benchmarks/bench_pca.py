"""LAE-PCA against SVD: the numbers behind ``lae_core.solvers``' defaults and variants.

Prints one JSON object:

* ``digits`` — scikit-learn's digits (m = 64, n = 1797, covariance units), k = 8, at λ = 1 and
  at ``pca.suggested_lam`` (σ₈²/4 ≈ 11.0): every method's iterations and solver seconds to a
  largest principal angle ≤ 1e-4 rad *and* eigenvalues σᵢ² within 1e-6 relative, beside
  NumPy's SVD and scikit-learn's randomized SVD of the same X (their seconds, and how close the
  randomized one gets); ``fastest`` names the quickest method; ``per_iteration`` splits a
  race's time into the step and the metrics.
* ``authors_benchmark`` — the authors' own problem (``algorithms.py``: m = 10, n = 10 000,
  k = 2, λ = 50, ``np.random.seed(0)`` data and start): iterations to the same targets with
  their step α = 1e-5 (our lr = α/2) and with our default learning rate.
* ``variants`` — each of ``solvers.VARIANTS`` against the authors' method it changes, in
  iterations to the targets (sum loss) or to convergence (other losses), over digits, the
  over-regularized data and random spectra; ``wins`` lists where the variant needs fewer.
* ``over_regularized`` — Petrevski's data, k = 8, λ = 10 (m₀ = 5 directions survive): the
  alignment heat map's (k − m₀) × (k − m₀) block with the sum loss and with the synthetic loss.

Seconds are single-threaded BLAS (``threadpoolctl``): on this shared 2-core machine a
multi-threaded OpenBLAS made a 64 × 1797 SVD a hundred times slower whenever the other core was
busy, which measures the neighbours rather than the algorithm. Each time is the best of
``REPEATS`` runs.

Run: ``.venv/bin/python benchmarks/bench_pca.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):           # run as a script: make ``lae_core`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import scipy.linalg  # noqa: F401 - loaded before threadpool_limits, which limits only the BLAS loaded
import sklearn.utils.extmath  # noqa: F401 - (SciPy's is its own library: the randomized SVD's)
from threadpoolctl import threadpool_limits

from lae_core import pca, solvers

REPEATS = 3
TARGETS = dict(target_angle=1e-4, target_relative_error=1e-6)
MAX_ITER = 30_000


def _race_summary(run: pca.Race) -> dict:
    out = {"status": run.status, "iterations": int(run.iterations[-1]),
           "solver_seconds": float(run.seconds[-1]), "largest_angle": float(run.largest_angle[-1])}
    if run.relative_error is not None:
        out["eigenvalue_relative_error"] = float(run.relative_error[-1])
    return out


def _best_race(**kwargs) -> pca.Race:
    """The race with the least solver time of ``REPEATS`` (the iterates are the same each time)."""
    runs = [pca.race(**kwargs) for _ in range(REPEATS)]
    return min(runs, key=lambda r: r.seconds[-1])


def digits_section() -> dict:
    data = pca.digits()
    k = 8
    references = [pca.reference_pca(data.X, k) for _ in range(REPEATS)]
    exact, randomized = references[-1]
    exact_s = min(r[0].seconds for r in references)
    random_s = min(r[1].seconds for r in references)
    rel = float(np.max(np.abs(randomized.eigenvalues - exact.eigenvalues) / exact.eigenvalues))
    angle = pca.largest_principal_angle(randomized.directions, exact.directions)
    out = {"k": k, "m": data.X.shape[0], "n": data.X.shape[1],
           "eigenvalues": exact.eigenvalues.round(4).tolist(),
           "numpy_svd": {"seconds": exact_s},
           "randomized_svd": {"seconds": random_s, "largest_angle": angle,
                              "eigenvalue_relative_error": rel},
           "runs": {}}
    reference = (exact.directions, exact.eigenvalues)
    for lam in (1.0, pca.suggested_lam(exact.eigenvalues, k)):
        rows = {}
        for method in solvers.METHODS + solvers.VARIANTS:
            run = _best_race(method=method, k=k, lam=lam, X=data.X, reference=reference,
                             max_iter=MAX_ITER, **TARGETS)
            rows[method] = _race_summary(run)
        reached = {m: r for m, r in rows.items() if r["status"] == "reached"}
        fastest = min(reached, key=lambda m: reached[m]["solver_seconds"]) if reached else None
        out["runs"][f"lam={lam:.4g}"] = {"lam": lam, "methods": rows, "fastest": fastest}
    # where a race's time goes: the step against the metrics, per iteration
    per = {}
    for method in ("untied_gd", "exact_sync"):
        run = _best_race(method=method, k=k, lam=1.0, X=data.X, reference=reference, max_iter=300, tol=0.0)
        steps = int(run.iterations[-1])
        per[method] = {"iterations": steps,
                       "step_seconds": float(run.seconds[-1] - run.seconds[0]) / steps,
                       "metric_seconds": run.metric_seconds / (steps + 1)}
    out["per_iteration"] = per
    return out


def _authors_problem():
    """``algorithms.py``'s data and start: legacy ``np.random.seed(0)``, X then W1 then W2."""
    state = np.random.get_state()
    try:
        np.random.seed(0)
        X = np.random.normal(size=(10, 10_000))
        X = X - X.mean(axis=1, keepdims=True)
        W1 = np.random.normal(size=(2, 10))
        W2 = np.random.normal(size=(10, 2))
    finally:
        np.random.set_state(state)
    return X, W1, W2


def _authors_start(method, W1, W2) -> dict:
    """What the authors' table passes: [W2ᵀ, W2] to the sync methods, [W1, W2] to the others
    (tied_gd reads W2, exact_tied reads W1)."""
    return {"W2": W2} if method in ("sync_gd", "exact_sync", "sync_gd_averaged") else {"W1": W1, "W2": W2}


def authors_section() -> dict:
    X, W1, W2 = _authors_problem()
    lam, k, alpha = 50.0, 2, 1e-5
    out = {"m": 10, "n": 10_000, "k": k, "lam": lam, "authors_alpha": alpha, "methods": {}}
    for method in solvers.METHODS:
        start = _authors_start(method, W1, W2)
        row = {}
        lrs = {"default": None}
        if method in ("untied_gd", "sync_gd", "tied_gd"):
            lrs["authors"] = alpha / 2
        for name, lr in lrs.items():
            run = pca.race(method, k, lam, X=X, lr=lr, max_iter=200_000, **start, **TARGETS)
            row[name] = {**_race_summary(run), "lr": run.lr}
        out["methods"][method] = row
    return out


def _random_spectrum(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 200)) * np.exp(rng.normal(size=(12, 1)))
    return X - X.mean(axis=1, keepdims=True)


def variants_section() -> dict:
    pairs = {"untied_gd_simultaneous": "untied_gd", "sync_gd_averaged": "sync_gd",
             "exact_tied_averaged": "exact_tied"}
    digits = pca.digits().X
    over = pca.over_regularized(0).X
    cases = [("digits k=8", digits, 8, lam) for lam in (1.0, 11.0, 30.0)]
    cases += [("over_regularized k=4", over, 4, lam) for lam in (0.5, 2.0, 8.0)]
    for seed in range(3):
        X = _random_spectrum(seed)
        ev = np.linalg.eigvalsh(X @ X.T)[::-1]
        cases += [(f"random seed={seed} k=3", X, 3, float(ev[2] * f)) for f in (0.1, 0.5)]
    table, wins = [], {v: [] for v in pairs}
    for name, X, k, lam in cases:
        row = {"data": name, "lam": round(lam, 4), "kind": "sum"}
        for variant, original in pairs.items():
            for method in (variant, original):
                run = pca.race(method, k, lam, X=X, max_iter=MAX_ITER, **TARGETS)
                row[method] = int(run.iterations[-1]) if run.status == "reached" else run.status
            a, b = row[variant], row[original]
            if isinstance(a, int) and (not isinstance(b, int) or a < b):
                wins[variant].append(f"{name}, λ = {lam:.4g}: {a} against {b}")
        table.append(row)
    for kind in ("product", "unregularized"):
        for name, X, k, lam in [("digits k=8", digits, 8, 1.0), ("over_regularized k=6", over, 6, 2.0)]:
            row = {"data": name, "lam": lam, "kind": kind}
            for variant, original in pairs.items():
                for method in (variant, original):
                    run = solvers.solve(method, X, k, lam, kind=kind, max_iter=MAX_ITER, tol=1e-10)
                    row[method] = run.iterations if run.status == "converged" else run.status
                a, b = row[variant], row[original]
                if isinstance(a, int) and (not isinstance(b, int) or a < b):
                    wins[variant].append(f"{name}, {kind}, λ = {lam:g}: {a} against {b}")
            table.append(row)
    return {"pairs": pairs, "targets": "sum loss: iterations to the targets; product and unregularized: "
                                       "iterations to convergence (tol = 1e-10)", "table": table, "wins": wins}


def over_regularized_section() -> dict:
    data = pca.over_regularized(0)
    k, lam, w_sigma = 8, 10.0, 0.1
    m0 = pca.surviving_directions(data.eigenvalues, lam)
    out = {"k": k, "lam": lam, "m0_sum": m0,
           "m0_synthetic": pca.surviving_directions(data.eigenvalues, lam, kind="synthetic", w_sigma=w_sigma)}
    for label, kw in (("sum", {}), (f"synthetic w_sigma={w_sigma}", {"kind": "synthetic", "w_sigma": w_sigma})):
        run = solvers.solve("exact_sync", data.X, k, lam, max_iter=MAX_ITER, tol=1e-12, **kw)
        heat = pca.alignment(run.W2[-1], data.directions[:, :k])
        block = heat[m0:, m0:]
        out[label] = {"status": run.status, "diagonal_first_m0": np.diag(heat)[:m0].round(6).tolist(),
                      "noise_block_diagonal": np.diag(block).round(4).tolist(),
                      "noise_block_max_off_diagonal": float((block - np.diag(np.diag(block))).max())}
    return out


def run() -> dict:
    with threadpool_limits(1):
        return {"blas_threads": 1, "targets": TARGETS, "digits": digits_section(),
                "authors_benchmark": authors_section(), "variants": variants_section(),
                "over_regularized": over_regularized_section()}


def main() -> int:
    print(json.dumps(run(), indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
