"""The PCA page: LAE-PCA on real data (issue #20) — the authors' six solvers racing NumPy's SVD and
scikit-learn's randomized SVD, the decoder's left singular vectors as images beside PCA's, the
directions (not just the subspace) recovered, the alignment heat map, the transpose gap of the sum
and synthetic losses, and a two-dimensional embedding of the digits.

- ``PCAState`` — the page's state (its parameters carry bounds and labels and are the URL).
- ``compute`` — one *Run* from start to end, in parts (the data, the reference PCA, each solver's
  race row by row, the directions table, the transpose gaps, the embedding), every number from
  ``lae_core.pca`` and ``lae_core.solvers``.
- ``Worker``, ``Job`` — the process that runs ``compute`` for every visitor, and one run's parts as
  they arrive. ``SHARED`` keeps the last runs of the built-in data sets, so that the page opens on
  a finished run (the default one is computed once per server process) and a class opening the
  same link shares one.
- ``PCAPage`` — the layout. A periodic callback on the visitor's own session reads the parts of
  the run it shows and draws them: the race streams into its Bokeh sources while it runs.

Why a process and not a thread: a race is NumPy on small matrices (64 × 8 for the digits), which
holds the GIL nearly all the time. In a thread it doubled another session's λ change on the
Landscape page (in-process redraw, median 41 → 73 ms, with the load average near 8); in a
separate process at the lowest CPU priority the same change took no longer than idle. The worker
runs one computation at a time (a visitor's *Run* waits its turn, and is told so), with BLAS on
one thread (``threadpoolctl``): a multi-threaded BLAS on this loaded 2-core machine made a
64 × 1797 SVD take seconds instead of milliseconds.

Plots: the image grid of the eigen-digits and the alignment heat map are HoloViews elements,
drawn anew for each run (their shapes follow k and the data). The curves and scatter plots are
Bokeh figures built once per page whose sources take each run's numbers, for two reasons measured
here (load average 7–8): a HoloViews ``Buffer``/``DynamicMap`` re-renders every curve of an overlay
on each send (40–60 ms per curve, nine curves five times a second during a race), which would
hold the event loop other visitors share; and rendering a HoloViews element into a page costs
0.2–0.5 s of that loop (the three-panel embedding 0.5–1.3 s) against some 0.05 s for a Bokeh
figure, so with the transpose gaps and the embedding in HoloViews too a warm page open took
3.5 s instead of the issue's 2. Their axes are linked the Bokeh way: the race's two plots share
their error axis, the embedding's PCA and LAE-PCA panels both axes.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import logging
import math
import multiprocessing.connection
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import OrderedDict

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem, Range1d, Span
from bokeh.palettes import Category10

from app import compat, panes, plots, shell
from lae_core import pca, solvers

log = logging.getLogger("lae_landscapes")

DATA = {"scikit-learn's digits (8 × 8 images)": "digits",
        "over-regularized (Petrevski: m = 20, σᵢ = (21 − i)/5)": "over-regularized",
        "your own data (upload a file below)": "upload"}
DATA_NAMES = {v: k.split(" (")[0] for k, v in DATA.items()}
LOSSES = {"L_σ (sum): LAE-PCA's loss": "sum",
          "synthetic w_σ L_σ + (1 − w_σ) L_π": "synthetic",
          "L_π (product)": "product",
          "L (unregularized)": "unregularized"}
SYMBOL = {"sum": "L_σ", "synthetic": "w_σL_σ + w_πL_π", "product": "L_π", "unregularized": "L"}
LABELS = {"untied_gd": "GD untied", "sync_gd": "GD sync", "tied_gd": "GD tied (Oja)",
          "exact_untied": "exact untied", "exact_sync": "exact sync", "exact_tied": "exact tied",
          "untied_gd_simultaneous": "GD untied, simultaneous (variant)",
          "sync_gd_averaged": "GD sync, averaged (variant)",
          "exact_tied_averaged": "exact tied, averaged (variant)"}
ALL_METHODS = solvers.METHODS + solvers.VARIANTS
#: one colour per solver (Okabe–Ito for the authors' six); the variants are dashed
COLORS = {"untied_gd": "#0072b2", "sync_gd": "#56b4e9", "tied_gd": "#cc79a7", "exact_untied": "#d55e00",
          "exact_sync": "#e69f00", "exact_tied": "#222222", "untied_gd_simultaneous": "#009e73",
          "sync_gd_averaged": "#8c8c8c", "exact_tied_averaged": "#b8860b"}
METRICS = {"largest principal angle (the subspace), rad": "angle",
           "the authors' error Σᵢ min ‖uᵢ ∓ ûᵢ‖ (the directions)": "authors",
           "relative error of the recovered σᵢ² (L_σ and synthetic)": "eigen"}
METRIC_NAMES = {"angle": "largest principal angle (rad)", "authors": "authors' error Σ min‖uᵢ ∓ ûᵢ‖",
                "eigen": "max relative error of σ̂ᵢ²"}
TOLERANCES = [1e-6, 1e-8, 1e-10, 1e-12]

#: the digits' default λ is σ₈²/4 (pca.suggested_lam) to three digits; the over-regularized data's
#: is Petrevski's regime, where only m₀ = 5 of the default k = 8 directions survive the sum loss
DEFAULT_K, DEFAULT_LAM, OVER_LAM = 8, 11.0, 10.0
#: the transpose-gap section: GD untied from the run's start for L_σ and these w_σ of the
#: synthetic loss (the report's figure 4), at most GAP_MAX_ITER iterations
GAP_WEIGHTS = (0.5, 0.05, 0.005)
GAP_METHOD, GAP_MAX_ITER = "untied_gd", 3000
#: the directions table and the embedding's unregularized LAE: the authors' exact untied
#: (alternating least squares), from the run's random start; the embedding's LAE-PCA: exact sync
TABLE_METHOD, EMBED_METHOD = "exact_untied", "exact_sync"
SIDE_MAX_ITER, SIDE_TOL = 5000, 1e-12
#: the first DENSE iterates of a race are drawn, then one each time the count grows by GROWTH
#: (a log-spaced sample: a 50 000-iteration race sends some 1 500 points per curve)
DENSE, GROWTH = 400, 1.004
#: the widest the eigen-digits' frame gets (px): with its axis labels it fits a 1280-pixel screen
EIGEN_WIDTH = 760
#: … and in the compact view (an embed, a slide), beside the race
COMPACT_EIGEN_WIDTH = 360
#: the transpose-gap curves (L_σ, then the synthetic loss's w_σ) and the embedding's labels
GAP_COLORS = ("#23395d", "#0072b2", "#e69f00", "#d55e00")
EMBED_COLORS = Category10[10]
#: values below this are drawn at it on the log axes (0 has no place there)
FLOOR = 1e-16
#: the page reads its run's new parts this often (ms) for the first POLL_FAST_S of a run (the
#: first rows show at once), then every POLL_STEADY_MS: each read that brings rows repaints both
#: race plots and their growing axes in the visitor's browser (some 40 ms of its main thread
#: here), which at ten reads a second kept half a core busy for as long as a race ran
POLL_MS, POLL_FAST_S, POLL_STEADY_MS = 100, 1.0, 400
#: a directions ratio this far from 1 reads as "a mix" in the words
MIXED = 0.99


# --------------------------------------------------------------------------- state


class PCAState(param.Parameterized):
    """Everything the page computes is a function of these parameters (and they are the URL)."""

    k = param.Integer(default=DEFAULT_K, bounds=(1, 16), label="k (directions)",
                      doc="How many principal directions the autoencoder learns (its width).")
    lam = param.Number(default=DEFAULT_LAM, bounds=(0.0, 1e12), label="λ",
                       doc="Regularization strength λ ≥ 0, a variance in the data's units.")
    w_sigma = param.Number(default=0.1, bounds=(0.0, 1.0), step=0.005, label="w_σ (synthetic loss)",
                           doc="The synthetic loss is w_σ L_σ + (1 − w_σ) L_π.")
    max_iter = param.Integer(default=5000, bounds=(10, 50_000), label="Most iterations",
                             doc="Each solver stops after this many steps.")
    seed = param.Integer(default=0, bounds=(0, 9999), label="Seed",
                         doc="The random start (and the over-regularized data, and the randomized SVD).")
    data = param.Selector(default="digits", objects=DATA, label="Data")
    loss = param.Selector(default="sum", objects=LOSSES, label="Loss")
    methods = param.ListSelector(default=list(solvers.METHODS), objects=list(solvers.METHODS),
                                 label="The authors' solvers")
    variants = param.ListSelector(default=[], objects=list(solvers.VARIANTS), label="Variants (ours)")
    tol = param.Selector(default=1e-10, objects=TOLERANCES, label="Tolerance",
                         doc="A solver has converged when its step is below tol × (1 + ‖W‖).")
    metric = param.Selector(default="authors", objects=METRICS, label="Error shown")
    decoder = param.Selector(default="untied_gd", objects=list(ALL_METHODS), label="Pictures of the decoder of")

    URL_PARAMS = ["k", "lam", "w_sigma", "max_iter", "seed", "data", "loss", "methods", "variants", "tol",
                  "metric", "decoder"]
    #: the parameters a run depends on (the others only choose what is shown)
    RUN = ("k", "lam", "w_sigma", "max_iter", "seed", "data", "loss", "methods", "variants", "tol")

    def solvers(self) -> tuple[str, ...]:
        return tuple(m for m in ALL_METHODS if m in self.methods or m in self.variants)


def run_spec(st: PCAState, upload=None, *, default_lam: bool = False) -> dict:
    """What a run computes: the state's settings (``lam`` None: the data's default λ)."""
    return {"data": st.data, "upload": upload if st.data == "upload" else None, "seed": st.seed, "k": st.k,
            "lam": None if default_lam else float(st.lam), "loss": st.loss,
            "w_sigma": float(st.w_sigma), "methods": st.solvers(), "max_iter": st.max_iter, "tol": float(st.tol)}


def spec_key(spec: dict) -> tuple | None:
    """The key a run of built-in data is shared under (an upload is the visitor's own: None)."""
    if spec["data"] == "upload":
        return None
    w_sigma = spec["w_sigma"] if spec["loss"] == "synthetic" else None
    return (spec["data"], spec["seed"] if spec["data"] == "over-regularized" else None, spec["seed"], spec["k"],
            spec["lam"], spec["loss"], w_sigma, spec["methods"], spec["max_iter"], spec["tol"])


# --------------------------------------------------------------------------- the computation


class Cancelled(Exception):
    """The visitor cancelled the run (or left)."""


_DATA_CACHE: dict[tuple, pca.DataSet] = {}
_UPLOADS_KEPT = 2


def load_data(spec: dict) -> tuple[pca.DataSet, float]:
    """The run's data set and the factor that turns ``X``'s columns back into the data's units
    (√n for the digits and uploads, which ``lae_core.pca`` divides by √n; 1 for Petrevski's)."""
    kind = spec["data"]
    if kind == "digits":
        key = ("digits",)
    elif kind == "over-regularized":
        key = ("over-regularized", spec["seed"])
    else:
        name, data = spec["upload"]
        key = ("upload", hashlib.sha256(data).hexdigest(), name)
    data = _DATA_CACHE.get(key)
    if data is None:
        data = (pca.digits() if kind == "digits" else pca.over_regularized(spec["seed"])
                if kind == "over-regularized" else pca.parse_upload(spec["upload"][1], spec["upload"][0]))
        uploads = [k for k in _DATA_CACHE if k[0] == "upload"]
        if kind == "upload" and len(uploads) >= _UPLOADS_KEPT:
            del _DATA_CACHE[uploads[0]]
        _DATA_CACHE[key] = data
    return data, (1.0 if kind == "over-regularized" else math.sqrt(data.X.shape[1]))


def suggested(eigenvalues: np.ndarray, k: int) -> float:
    """σ_k²/4 (``pca.suggested_lam``) to three digits: a λ that reads well in a link."""
    return float(f"{pca.suggested_lam(eigenvalues, k):.3g}")


def default_lam(kind: str, eigenvalues: np.ndarray, k: int) -> float:
    """The data's default λ: ``suggested``; Petrevski's regime (OVER_LAM) for the
    over-regularized data."""
    return OVER_LAM if kind == "over-regularized" else suggested(eigenvalues, k)


class _Thin:
    """Which iterates of a race travel to the page (DENSE, GROWTH)."""

    def __init__(self):
        self.next = 0

    def keep(self, iterations: np.ndarray) -> np.ndarray:
        keep = np.zeros(len(iterations), dtype=bool)
        for j, t in enumerate(iterations.tolist()):
            if t >= self.next:
                keep[j] = True
                self.next = t + 1 if t < DENSE else max(t + 1, math.ceil(t * GROWTH))
        return keep


def merge_rows(parts: list) -> list:
    """``parts`` with each run of consecutive "rows" parts of one method joined into one: a line
    gets what arrived since the last read as one stream, so the browser repaints once."""
    merged: list = []
    for name, payload in parts:
        last = merged[-1] if merged else None
        if name == "rows" and last is not None and last[0] == "rows" and last[1]["method"] == payload["method"]:
            merged[-1] = ("rows", {key: value if key == "method" else np.concatenate([value, payload[key]])
                                   for key, value in last[1].items()})
        else:
            merged.append((name, payload))
    return merged


def _columns(rows: dict, keep: np.ndarray) -> dict:
    """A race's rows as the page draws them (float32 is plenty for a log axis)."""
    rel = rows["relative_error"]
    eigen = rel[keep] if rel is not None else np.full(int(keep.sum()), np.nan)
    return {"iteration": rows["iteration"][keep].astype(np.int32),
            "seconds": rows["seconds"][keep].astype(np.float32),
            "angle": rows["largest_angle"][keep].astype(np.float32),
            "authors": rows["authors_error"][keep].astype(np.float32),
            "eigen": eigen.astype(np.float32),
            "gap": rows["transpose_gap"][keep].astype(np.float32)}


def _check(run: pca.Race) -> pca.Race:
    if run.cancelled:
        raise Cancelled
    return run


def compute(spec: dict, emit, cancel) -> None:
    """One run, in parts: ``emit(name, payload)`` for "data", "reference", "rows" (a race's new
    iterates, thinned), "race" (a solver's end), "table", "gaps", "embedding" and "progress"
    ((fraction, text)); ``cancel`` (a ``threading.Event``) stops it between steps (``Cancelled``).
    Bad data or settings raise ``ValueError`` with a message for the visitor."""
    data, scale = load_data(spec)
    X = data.X
    m, n = X.shape
    with np.errstate(all="ignore"):
        eigenvalues = np.sort(np.maximum(np.linalg.eigvalsh(0.5 * (X @ X.T) + 0.5 * (X @ X.T).T), 0.0))[::-1]
    rank = int(np.sum(eigenvalues > 1e-10 * eigenvalues[0])) if eigenvalues[0] > 0 else 0
    if rank < 1:
        raise ValueError("the data has no variance: every sample is the same")
    k = min(spec["k"], rank, 16)
    lam = spec["lam"] if spec["lam"] is not None else default_lam(spec["data"], eigenvalues, k)
    kind, w_sigma = spec["loss"], spec["w_sigma"] if spec["loss"] == "synthetic" else None
    methods = spec["methods"]
    weights = [1.0] * len(methods) + [0.5, 2.0, 0.5]  # the races, the table, the gaps, the embedding
    done = [0.0]
    last = [0.0]

    def progress(fraction: float, text: str, step: float | None = None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1 or fraction >= 1.0:
            last[0] = now
            emit("progress", (min(1.0, (done[0] + (step or 1.0) * fraction) / sum(weights)), text))

    emit("data", {"name": data.name, "kind": spec["data"], "description": data.description, "m": m, "n": n,
                  "rank": rank, "eigenvalues": eigenvalues, "image_shape": data.image_shape,
                  "labelled": data.labels is not None, "k": k, "k_asked": spec["k"], "lam": lam,
                  "lam_default": spec["lam"] is None, "loss": kind, "w_sigma": w_sigma, "seed": spec["seed"],
                  "methods": methods, "max_iter": spec["max_iter"], "tol": spec["tol"]})
    exact, randomized = pca.reference_pca(X, k, seed=spec["seed"])
    U = exact.directions
    reference = (U, exact.eigenvalues)
    r = min(m, 2 * k, max(rank, k))
    wider = np.linalg.svd(X, full_matrices=False)[0][:, :r]  # the heat map's columns (signs do not matter)
    references = {}
    for ref in (exact, randomized):
        # the directions with their singular values, as a decoder U S would hold them: the metrics
        # read a decoder's directions off its SVD, which needs distinct singular values
        as_decoder = ref.directions * np.sqrt(ref.eigenvalues)
        references[ref.method] = {
            "seconds": ref.seconds, "angle": pca.largest_principal_angle(as_decoder, U),
            "authors": pca.authors_svd_error(as_decoder, U),
            "eigen": float(np.max(np.abs(ref.eigenvalues - exact.eigenvalues) / exact.eigenvalues))}
    emit("reference", {"directions": U, "wider": wider, "eigenvalues": exact.eigenvalues, "methods": references})

    for i, method in enumerate(methods):
        if cancel.is_set():
            raise Cancelled
        thin = _Thin()
        text = f"racing {LABELS[method]} ({i + 1} of {len(methods)})"

        def stream(rows, method=method, thin=thin):
            keep = thin.keep(rows["iteration"])
            if keep.any():
                emit("rows", {"method": method, **_columns(rows, keep)})

        run = pca.race(method, k, lam, X=X, reference=reference, kind=kind, w_sigma=w_sigma,
                       max_iter=spec["max_iter"], tol=spec["tol"], seed=spec["seed"], cancel=cancel, stream=stream,
                       progress=lambda f, text=text: progress(f, text))
        _check(run)
        last_row = {key: np.array([value[-1]]) for key, value in (
            ("iteration", run.iterations), ("seconds", run.seconds), ("largest_angle", run.largest_angle),
            ("authors_error", run.authors_error), ("transpose_gap", run.transpose_gap))}
        last_row["relative_error"] = run.relative_error[-1:] if run.relative_error is not None else None
        emit("race", {"method": method, "status": run.status, "message": run.message, "lr": run.lr,
                      "iterations": int(run.iterations[-1]), "seconds": float(run.seconds[-1]),
                      "last": _columns(last_row, np.ones(1, dtype=bool)), "W2": run.W2})
        done[0] += 1.0

    # Directions, not just the subspace: the sum loss against the unregularized one, same start.
    progress(0.0, "the directions table: L_σ against L", 0.5)
    table = {"eigenvalues": exact.eigenvalues, "lam": lam}
    for table_kind in ("sum", "unregularized"):
        run = _check(pca.race(TABLE_METHOD, k, lam, X=X, reference=reference, kind=table_kind, seed=spec["seed"],
                              max_iter=SIDE_MAX_ITER, tol=SIDE_TOL, cancel=cancel))
        table[table_kind] = {"cosines": run.cosines[-1], "angle": float(run.largest_angle[-1]),
                             "recovered": None if run.eigenvalues is None else run.eigenvalues[-1],
                             "s": pca.decoder_directions(run.W2)[1], "status": run.status, "message": run.message}
    emit("table", table)
    done[0] += 0.5

    # The transpose gap of GD untied for L_σ and the synthetic loss at three weights.
    gaps = []
    cases = [("sum", None)] + [("synthetic", w) for w in GAP_WEIGHTS]
    for j, (gap_kind, w) in enumerate(cases):
        thin, rows_kept = _Thin(), []

        def keep_rows(rows, thin=thin, rows_kept=rows_kept):
            picked = thin.keep(rows["iteration"])
            rows_kept.append((rows["iteration"][picked], rows["transpose_gap"][picked]))

        run = _check(pca.race(GAP_METHOD, k, lam, X=X, reference=reference, kind=gap_kind, w_sigma=w,
                              seed=spec["seed"], max_iter=min(spec["max_iter"], GAP_MAX_ITER), tol=spec["tol"],
                              cancel=cancel, stream=keep_rows,
                              progress=lambda f, j=j: progress((j + f) / len(cases), "the transpose gap", 2.0)))
        iterations = np.concatenate([a for a, _ in rows_kept])
        gap = np.concatenate([b for _, b in rows_kept])
        if iterations[-1] != run.iterations[-1]:
            iterations = np.append(iterations, run.iterations[-1])
            gap = np.append(gap, run.transpose_gap[-1])
        gaps.append({"kind": gap_kind, "w_sigma": w, "iteration": iterations, "gap": gap,
                     "status": run.status, "message": run.message})
    emit("gaps", {"method": GAP_METHOD, "lam": lam, "curves": gaps})
    done[0] += 2.0

    # The embedding (k = 2): PCA's scores, LAE-PCA's (the sum loss's decoder directions) and an
    # unregularized LAE's code W₁x.
    if rank >= 2:
        progress(0.0, "the embedding (k = 2)", 0.5)
        U2 = U[:, :2] if k >= 2 else pca.reference_pca(X, 2, seed=spec["seed"])[0].directions
        ev2 = eigenvalues[:2]
        lam2 = pca.suggested_lam(ev2, 2)
        lae = _check(pca.race(EMBED_METHOD, 2, lam2, X=X, kind="sum", seed=spec["seed"], max_iter=SIDE_MAX_ITER,
                              tol=SIDE_TOL, cancel=cancel))
        directions = pca.decoder_directions(lae.W2)[0]
        directions = directions * np.where(np.sum(directions * U2, axis=0) < 0, -1.0, 1.0)
        plain = _check(pca.race(TABLE_METHOD, 2, 0.0, X=X, kind="unregularized", seed=spec["seed"],
                                max_iter=SIDE_MAX_ITER, tol=SIDE_TOL, cancel=cancel))
        emit("embedding", {"pca": (scale * (U2.T @ X)).astype(np.float32),
                           "lae": (scale * (directions.T @ X)).astype(np.float32),
                           "plain": (scale * (plain.W1 @ X)).astype(np.float32),
                           "labels": data.labels, "lam": lam2,
                           "angles": [pca.largest_principal_angle(directions[:, [i]], U2[:, [i]]) for i in range(2)]})
    done[0] = sum(weights)
    emit("progress", (1.0, "done"))


# --------------------------------------------------------------------------- the worker process


#: the worker's CPU priority (nice): the server and the visitors' browsers go first
WORKER_NICENESS = 19


def _worker_process(fd: int) -> None:
    """The worker process's entry (``Worker._ensure`` starts it): its end of the socket pair."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_main(multiprocessing.connection.Connection(fd))


def _worker_main(conn) -> None:
    """The worker process: runs ``compute`` for each job it is sent, in order, and sends back its
    parts; a cancel message stops the job it names."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    # SciPy's BLAS (scikit-learn's randomized SVD runs on it) is a library of its own: loaded
    # after the limit, it would keep all its threads (a 64 × 1797 randomized SVD then took
    # 0.1–1.1 s here instead of 10 ms). So everything is imported first, then limited, for good.
    import scipy.linalg  # noqa: F401
    import sklearn.utils.extmath  # noqa: F401
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    cancels: dict[int, threading.Event] = {}
    lock = threading.Lock()

    def listen():
        try:
            while True:
                message = conn.recv()
                if message[0] == "run":
                    with lock:
                        cancels[message[1]] = threading.Event()
                    tasks.put(message[1:])
                elif message[0] == "cancel":
                    with lock:
                        event = cancels.get(message[1])
                    if event is not None:
                        event.set()
        except (EOFError, OSError):
            pass
        with lock:  # the server is gone: stop the run at once
            for event in cancels.values():
                event.set()
        tasks.put(None)

    threading.Thread(target=listen, name="lae-pca-listener", daemon=True).start()
    # The first randomized SVD of a process imports and sets up half of SciPy (a second here):
    # done now, so that the race times the algorithm.
    pca.reference_pca(np.random.default_rng(0).normal(size=(8, 40)), 2)
    while (task := tasks.get()) is not None:
        job_id, spec = task
        with lock:
            cancel = cancels[job_id]

        def emit(name, payload, job_id=job_id):
            conn.send(("part", job_id, name, payload))

        state, message = "done", ""
        try:
            if cancel.is_set():
                raise Cancelled
            compute(spec, emit, cancel)
        except Cancelled:
            state = "cancelled"
        except ValueError as exc:
            state, message = "failed", str(exc)
        except (OSError, EOFError):
            break  # the server is gone
        except Exception:  # noqa: BLE001 - a bug: the visitor gets a message, the log the traceback
            traceback.print_exc()
            state, message = "failed", "the computation failed unexpectedly"
        finally:
            with lock:
                cancels.pop(job_id, None)
        try:
            conn.send(("end", job_id, state, message))
        except OSError:
            break


class Job:
    """One run: its settings, its parts as they arrive, its state ("queued", "running", "done",
    "failed", "cancelled") and progress. Written by the worker's reader thread, read by pages."""

    def __init__(self, job_id: int, spec: dict):
        self.id, self.spec, self.key = job_id, spec, spec_key(spec)
        self.parts: list[tuple[str, object]] = []
        self.state, self.message = "queued", ""
        self.fraction, self.text = 0.0, ""
        #: pages showing it (on the server's event loop): with none left, an unfinished run stops
        self.viewers = 0
        self.finished = threading.Event()

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def _add(self, name: str, payload) -> None:
        if self.state == "queued":
            self.state = "running"
        if name == "progress":
            self.fraction, self.text = payload
        else:
            self.parts.append((name, payload))

    def _end(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        self.finished.set()


class Worker:
    """The one worker process of this server process, started on first use (and again if it
    dies), with a thread that sends it jobs and one that reads their parts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._conn = None
        self._process = None
        self._pid = None
        self._outbox: queue.SimpleQueue | None = None
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)

    def _ensure(self) -> None:
        if self._process is not None and self._pid == os.getpid() and self._process.poll() is None:
            return
        if self._process is not None and self._pid == os.getpid():
            self._process.wait()  # reaped: it is gone
        # A fresh interpreter (not fork: the server process has threads — Tornado's, Bokeh's — a
        # fork would copy in whatever state they are; not multiprocessing's spawn: that runs the
        # parent's main script again in the child), talking over a socket pair. It stays in the
        # server's session: Linux schedules each session as a group (autogroup), and only inside
        # its group does the worker's low priority yield to the server. It ignores Ctrl-C (the
        # server stops, and the worker follows when its socket closes); a signal to the server's
        # process group (SIGTERM, as the tests stop it) stops both.
        parent, child = socket.socketpair()
        code = ("import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
                "from app.pages.pca import _worker_process; _worker_process(int(sys.argv[2]))")
        process = subprocess.Popen([sys.executable, "-c", code, json.dumps(sys.path), str(child.fileno())],
                                   pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        conn = multiprocessing.connection.Connection(parent.detach())
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._conn, self._process, self._pid, self._outbox = conn, process, os.getpid(), outbox
        threading.Thread(target=self._write, args=(conn, outbox), name="lae-pca-writer", daemon=True).start()
        threading.Thread(target=self._read, args=(conn,), name="lae-pca-reader", daemon=True).start()

    def start(self) -> None:
        """Start the process now (it takes a few seconds to import NumPy, Panel and the data)."""
        with self._lock:
            self._ensure()

    def submit(self, spec: dict) -> Job:
        with self._lock:
            self._ensure()
            job = Job(next(self._ids), spec)
            self._jobs[job.id] = job
            self._outbox.put(("run", job.id, spec))
        return job

    def cancel(self, job: Job) -> None:
        with self._lock:
            if job.id in self._jobs and self._outbox is not None:
                self._outbox.put(("cancel", job.id))

    def ahead(self, job: Job) -> int:
        """How many runs the worker does before it starts ``job``."""
        with self._lock:
            return sum(1 for other in self._jobs.values() if other.id < job.id and other.active)

    @staticmethod
    def _write(conn, outbox: queue.SimpleQueue) -> None:
        while (message := outbox.get()) is not None:
            try:
                conn.send(message)
            except OSError:
                return

    def _read(self, conn) -> None:
        try:
            while True:
                message = conn.recv()
                job = self._jobs.get(message[1])
                if job is None:
                    continue
                if message[0] == "part":
                    job._add(message[2], message[3])
                else:
                    with self._lock:
                        self._jobs.pop(job.id, None)
                    job._end(message[2], message[3])
        except (EOFError, OSError):
            pass
        with self._lock:
            if self._conn is not conn:
                return
            lost = list(self._jobs.values())
            self._jobs.clear()
            self._process = self._conn = None
            self._outbox.put(None)
        for job in lost:
            job._end("failed", "the computation process stopped; press Run to try again")
        if lost:
            log.warning("the PCA worker process stopped with %d run(s) unfinished", len(lost))


class Shared:
    """The last runs of the built-in data sets, by their settings (``spec_key``): a page opens on
    one, and a visitor whose settings match another's running run watches that run."""

    LIMIT = 8

    def __init__(self):
        self._jobs: OrderedDict[tuple, Job] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> Job | None:
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.state in ("failed", "cancelled"):
                self._jobs.pop(key, None)
                return None
            self._jobs.move_to_end(key)
            return job

    def put(self, job: Job) -> None:
        if job.key is None:
            return
        with self._lock:
            self._jobs[job.key] = job
            self._jobs.move_to_end(job.key)
            while len(self._jobs) > self.LIMIT:
                self._jobs.popitem(last=False)

    def drop(self, job: Job) -> None:
        with self._lock:
            if job.key is not None and self._jobs.get(job.key) is job:
                del self._jobs[job.key]


WORKER = Worker()
SHARED = Shared()


# --------------------------------------------------------------------------- words and numbers


def _e(text) -> str:
    return html.escape(str(text))


def say(text: str) -> str:
    """A sentence for a words pane: escaped, in a span the browser tests can find."""
    return f'<span class="words-text">{_e(text)}</span>'


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table: fixed below 1e4 and above 1e-3, else scientific; ∞ and — spelled out."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4):
        return f"{x:.{max(digits - 1, 1)}e}".replace("e-0", "e-").replace("e+0", "e+")
    return f"{x:.{digits}g}" if abs(x) >= 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".") or "0"


def angle_text(theta: float) -> str:
    """An angle under an eigen-digit pair: radians, scientific below 0.01."""
    return f"{theta:.1e}" if theta < 0.01 else f"{theta:.2f}"


def data_facts(d: dict, lam: float, k: int, kind: str, w_sigma: float) -> str:
    """One line on the data and λ: σ₁², σ_k², m₀ and the suggested λ."""
    ev = d["eigenvalues"]
    k = min(k, d["rank"])
    m0 = pca.surviving_directions(ev, lam, kind=kind, w_sigma=w_sigma if kind == "synthetic" else None)
    return (f"m = {d['m']} variables, n = {d['n']} samples, rank {d['rank']}. σ₁² = {fmt(ev[0])}, "
            f"σ{plots.sub(k)}² = {fmt(ev[k - 1])}; σ{plots.sub(k)}²/4 = {fmt(pca.suggested_lam(ev, k))}. "
            f"At λ = {fmt(lam)} {SYMBOL[kind]} keeps m₀ = {min(m0, d['m'])} direction{'s' if m0 != 1 else ''}.")


def results_table(result: dict) -> str:
    """The race in numbers: each solver's end beside NumPy's SVD and the randomized SVD."""
    data, ref = result["data"], result.get("reference")
    eigen = data["loss"] in ("sum", "synthetic")
    head = ("<tr><th>method</th><th>status</th><th>iterations</th><th>seconds</th>"
            "<th>largest angle</th><th>authors' error</th><th>σ² rel. error</th></tr>")
    rows = []
    if ref is not None:
        for name, r in ref["methods"].items():
            label = "NumPy SVD (the reference)" if name.startswith("numpy") else "scikit-learn randomized SVD"
            rows.append(f"<tr class=\"reference\"><th>{_e(label)}</th><td>—</td><td>—</td><td>{fmt(r['seconds'])}</td>"
                        f"<td>{fmt(r['angle'])}</td><td>{fmt(r['authors'])}</td><td>{fmt(r['eigen'])}</td></tr>")
    for method in data["methods"]:
        race = result["races"].get(method)
        if race is None:
            rows.append(f"<tr><th>{_e(LABELS[method])}</th><td colspan=\"6\" class=\"collapsed\">"
                        f"{'waiting' if result.get('state') == 'running' else 'not run'}</td></tr>")
            continue
        last = race["last"]
        rows.append(f"<tr><th>{_e(LABELS[method])}</th><td title=\"{_e(race['message'])}\">{_e(race['status'])}</td>"
                    f"<td>{race['iterations']}</td><td>{fmt(race['seconds'])}</td>"
                    f"<td>{fmt(float(last['angle'][0]))}</td><td>{fmt(float(last['authors'][0]))}</td>"
                    f"<td>{fmt(float(last['eigen'][0])) if eigen else '—'}</td></tr>")
    return f'<table class="lae-table race-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def directions_table(table: dict, k: int) -> str:
    """|⟨ûᵢ, uᵢ⟩| and the recovered σᵢ² for L_σ beside |⟨ûᵢ, uᵢ⟩| for L, row by row."""
    ev, s, u = table["eigenvalues"], table["sum"], table["unregularized"]
    head = ("<tr><th>i</th><th>σᵢ² (PCA)</th><th>L_σ: |⟨ûᵢ, uᵢ⟩|</th><th>L_σ: σ̂ᵢ² = λ/(1 − sᵢ²)</th>"
            "<th>relative error</th><th>L: |⟨ûᵢ, uᵢ⟩|</th><th>L: sᵢ</th></tr>")
    rows = []
    for i in range(k):
        rec = None if s["recovered"] is None else float(s["recovered"][i])
        collapsed = ev[i] <= table["lam"]
        rel = None if rec is None or collapsed else abs(rec - ev[i]) / ev[i]
        cell = '<td class="collapsed">' if collapsed else "<td>"
        recovered = (fmt(rec, 6) if rec is not None else "—") + (" (collapsed: σᵢ² ≤ λ)" if collapsed else "")
        rows.append(
            f"<tr><th>{i + 1}</th><td>{fmt(float(ev[i]), 6)}</td><td>{fmt(float(s['cosines'][i]), 8)}</td>"
            f"{cell}{recovered}</td><td>{fmt(rel, 2) if rel is not None else '—'}</td>"
            f"<td>{fmt(float(u['cosines'][i]), 4)}</td><td>{fmt(float(u['s'][i]), 4)}</td></tr>")
    return f'<table class="lae-table directions-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def directions_words(table: dict, k: int) -> str:
    s, u = table["sum"], table["unregularized"]
    lowest = float(np.min(u["cosines"][:k]))
    return (f"Both learned the subspace: the largest principal angle is {fmt(s['angle'])} rad for L_σ and "
            f"{fmt(u['angle'])} rad for L. Only L_σ learned the directions: its |⟨ûᵢ, uᵢ⟩| are all 1 to within "
            f"{fmt(float(np.max(1 - s['cosines'][:k])), 2)}, while L's go down to {fmt(lowest, 3)}"
            + (" — its decoder holds a mix of the components, any invertible G in W₂ = U_k G⁺ (Table 1)."
               if lowest < MIXED else "."))


def m0_words(result: dict) -> str:
    d = result["data"]
    k, kind = d["k"], d["loss"]
    m0 = pca.surviving_directions(d["eigenvalues"], d["lam"], kind=kind, w_sigma=d["w_sigma"])
    if kind in ("product", "unregularized"):
        return (f"{SYMBOL[kind]} collapses no direction: the top-left k × k block is a rotation (only the "
                "subspace is learned), not the identity.")
    if m0 >= k:
        return (f"m₀ = #{{i : σᵢ² > λ_σ}} = {m0} ≥ k = {k}: every decoder direction is a principal direction — "
                "the identity in the first k columns.")
    return (f"m₀ = #{{i : σᵢ² > λ_σ}} = {m0} < k = {k}: the last k − m₀ = {k - m0} decoder columns collapse to "
            f"zero, and their singular vectors are an arbitrary completion — the framed {k - m0} × {k - m0} block "
            "of noise. The synthetic loss with a small w_σ shrinks λ_σ = w_σλ and removes it.")


# --------------------------------------------------------------------------- HoloViews pictures

_HV = None


def _holoviews():
    """HoloViews with its Bokeh backend, imported on the first page built (the worker process,
    which imports this module, draws nothing)."""
    global _HV
    if _HV is None:
        import holoviews as hv
        import holoviews.plotting.bokeh  # noqa: F401 - registers the Bokeh backend

        hv.Store.set_current_backend("bokeh")
        # HoloViews draws images with WebGL by default; the served pages leave Bokeh's WebGL
        # bundle out, and a canvas draws these few tiles as fast.
        hv.renderer("bokeh").webgl = False
        _HV = hv
    return _HV


def _frame_sized(plot, element) -> None:
    """A HoloViews hook: a plot sized by its frame (``frame_width``/``frame_height``) leaves its
    outer width and height unset under the 'fixed' sizing mode, which Bokeh's integrity check
    refuses; no sizing mode lets the frame decide, as it does."""
    plot.state.sizing_mode = None


def mosaic(bands: list[np.ndarray], tile, shape: tuple[int, int], *, hgap: int, vgap: int,
           label_gap: int) -> np.ndarray:
    """Bands of tiles: ``tile(bands[r][:, i])`` (a ``shape`` array) at band r, column i, with NaN
    between them (``hgap`` columns, ``vgap`` rows, and ``label_gap`` more rows under the second
    band, for the angles)."""
    h, w = shape
    k = bands[0].shape[1]
    rows = []
    for r, block in enumerate(bands):
        band = np.full((h, k * (w + hgap) - hgap), np.nan)
        for i in range(k):
            band[:, i * (w + hgap): i * (w + hgap) + w] = tile(block[:, i])
        rows.append(band)
        if r < len(bands) - 1:
            rows.append(np.full((vgap + (label_gap if r == 1 else 0), band.shape[1]), np.nan))
    return np.vstack(rows)


def eigen_element(result: dict, method: str, width: int = None):
    """PCA's directions over the decoder's left singular vectors (sign-aligned) and its raw
    columns (each scaled to length 1), with the angle under each pair."""
    hv = _holoviews()
    d, race = result["data"], result["races"][method]
    U = result["reference"]["directions"]
    k = U.shape[1]
    directions, _ = pca.decoder_directions(race["W2"])
    directions = directions * np.where(np.sum(directions * U, axis=0) < 0, -1.0, 1.0)
    W2 = race["W2"]
    norms = np.linalg.norm(W2, axis=0)
    raw = W2 / np.where(norms > 0, norms, 1.0)
    angles = [pca.largest_principal_angle(directions[:, [i]], U[:, [i]]) for i in range(k)]
    if d["image_shape"] is not None:  # an image per direction (the digits: 8 × 8 pixels)
        shape, hgap, vgap, label_gap = tuple(d["image_shape"]), 1, 1, 3

        def tile(v):
            return v.reshape(shape)
    else:  # a direction of any length as a vertical strip, one column wide
        shape = (d["m"], 1)
        hgap, vgap, label_gap = 1, max(1, d["m"] // 12), max(2, d["m"] // 4)

        def tile(v):
            return v[:, None]
    image = mosaic([U, directions, raw], tile, shape, hgap=hgap, vgap=vgap, label_gap=label_gap)
    H, W = image.shape
    top = float(np.nanmax(np.abs(image))) or 1.0
    if d["image_shape"] is not None:  # square pixels, as large as the width allows
        cell = max(3, min(10, (width or EIGEN_WIDTH) // W))
        frame_width, frame_height = cell * W, cell * H
    else:
        frame_width, frame_height = min(width or EIGEN_WIDTH, 60 * k + 60), 300
    h, w = shape
    row_centres = [H - h / 2, H - h - vgap - h / 2, h / 2]
    label_y = h + (vgap + label_gap) / 2
    xs = [i * (w + hgap) + w / 2 for i in range(k)]
    tile_px = frame_width / W * (w + hgap)
    texts = [angle_text(a) if tile_px < 75 else f"{i + 1}: {angle_text(a)}" for i, a in enumerate(angles)]
    picture = hv.Image(image, bounds=(0, 0, W, H), kdims=["x", "y"], vdims=["value"]).opts(
        cmap="RdBu_r", clim=(-top, top), frame_width=frame_width, frame_height=frame_height, toolbar=None,
        xaxis=None, yticks=list(zip(row_centres, ["PCA uᵢ", "LAE ûᵢ", "raw W₂ column"])), ylabel="",
        colorbar=False, clipping_colors={"NaN": "white"},
        title=f"{LABELS[method]}, {SYMBOL[d['loss']]} — under each pair θᵢ = ∠(ûᵢ, uᵢ), rad",
        fontsize={"title": "11pt"}, default_tools=[], tools=[], hooks=[_frame_sized])
    labels = hv.Labels({"x": xs, "y": [label_y] * k, "text": texts}, ["x", "y"], "text").opts(
        text_font_size="9pt" if tile_px >= 60 else "7pt", text_color="#222")
    return picture * labels, angles


def alignment_element(result: dict, method: str):
    """|Ûᵀ U| (rows: the decoder's directions; columns: PCA's), the noise block framed."""
    hv = _holoviews()
    d = result["data"]
    W2 = result["races"][method]["W2"]
    heat = pca.alignment(W2, result["reference"]["wider"])
    k, r = heat.shape
    m0 = pca.surviving_directions(d["eigenvalues"], d["lam"], kind=d["loss"], w_sigma=d["w_sigma"])
    picture = hv.Image(heat, bounds=(0.5, 0.5, r + 0.5, k + 0.5), kdims=["principal direction uⱼ", "decoder ûᵢ"],
                       vdims=["|⟨ûᵢ, uⱼ⟩|"]).opts(
        cmap="Blues", clim=(0, 1), colorbar=True, frame_width=min(EIGEN_WIDTH - 120, 34 * r),
        frame_height=min(420, 30 * k),
        xticks=[(j + 1, str(j + 1)) for j in range(r)], yticks=[(k - i, str(i + 1)) for i in range(k)],
        tools=["hover"], toolbar=None, title=f"[Û]ᵀ[U]: {LABELS[method]}, {SYMBOL[d['loss']]}",
        fontsize={"title": "11pt"}, hooks=[_frame_sized])
    out = picture
    if k * r <= 400:  # the values in the cells, white on the dark ones
        xs, ys = np.meshgrid(np.arange(1, r + 1), np.arange(k, 0, -1))
        for dark, color in ((False, "#333"), (True, "white")):
            keep = (heat.ravel() > 0.6) == dark
            out = out * hv.Labels({"x": xs.ravel()[keep], "y": ys.ravel()[keep],
                                   "text": [f"{v:.2f}" for v in heat.ravel()[keep]]},
                                  ["x", "y"], "text").opts(text_font_size="7pt", text_color=color)
    if d["loss"] in ("sum", "synthetic") and m0 < k:
        lo = m0 + 0.5
        out = out * hv.Rectangles([(lo, 0.5, min(k, r) + 0.5, k - m0 + 0.5)]).opts(
            fill_alpha=0, line_color="#d62728", line_width=3)
    return out, heat, m0


# --------------------------------------------------------------------------- the page

HOW_TO_READ = (
    '<div style="font-size:13.5px;color:#333;max-width:980px;line-height:1.5">'
    "An L₂-regularized linear autoencoder with the <b>sum</b> penalty λ(‖W₁‖² + ‖W₂‖²) learns the principal "
    "directions themselves: at its minimum W₂ = U_k(I − λΣ_k⁻²)^½Oᵀ (Table 1), so the left singular vectors "
    "of the decoder are PCA's u₁ … u_k and its singular values give back σᵢ² = λ/(1 − sᵢ²). Without the "
    "penalty (or with the product penalty) the minimum is W₂ = U_kG⁺ for any invertible G: the subspace, not "
    "the directions. The race times the authors' six algorithms (their <i>algorithms.py</i>) against NumPy's "
    "SVD and scikit-learn's randomized SVD on the same data, with one BLAS thread each. On Petrevski's "
    "over-regularized data, directions with σᵢ² ≤ λ collapse, and their decoder columns are noise; the "
    "synthetic loss w_σL_σ + (1 − w_σ)L_π penalises the weights only with w_σλ and keeps them, but with a "
    "small w_σ the transpose gap ‖W₁ − W₂ᵀ‖ closes slowly: the symmetry the sum loss enforces is weak.</div>")

PAGE_CSS = plots.TABLE_CSS + """
table.race-table tr.reference th, table.race-table tr.reference td { color: #23395d; background: #f3f6fb; }
"""


class PCAPage(shell.Page):
    """Lays out ``PCAState``, runs it in the worker and draws the run it shows."""

    slug, title = "pca", "PCA from an LAE"
    state_class = PCAState

    def __init__(self, **overrides):
        super().__init__(**overrides)
        self.job: Job | None = None
        self.cursor = 0
        self.result: dict | None = None  # the run shown: its parts as drawn
        self.upload: tuple[str, bytes] | None = None  # the last good upload, this visitor's only
        self.poll_callback = None
        self._poll_on_load = False
        self.pictures_ready = False  # the HoloViews pictures are drawn once the page is
        self.compact_mode = False

    def settle(self, overrides):
        if self.state.data == "upload":
            self.state.data = "digits"
            self.notices.show("'data' = upload: a visitor's file is not part of a link (nothing is kept on the "
                              "server); showing the digits — upload the file again to use it.")

    # ---------------------------------------------------------------- layout
    def build(self):
        st = self.state
        W = shell
        self.widgets = {
            "data": W.LiveSelect.from_param(st.param.data, sizing_mode="stretch_width"),
            "k": W.LiveIntSlider.from_param(st.param.k, sizing_mode="stretch_width"),
            "lam": W.LiveFloatInput.from_param(st.param.lam, start=0.0, sizing_mode="stretch_width"),
            "loss": W.LiveSelect.from_param(st.param.loss, sizing_mode="stretch_width"),
            "w_sigma": W.LiveFloatSlider.from_param(st.param.w_sigma, sizing_mode="stretch_width"),
            "methods": W.LiveCheckBoxGroup.from_param(st.param.methods, options={LABELS[m]: m for m in solvers.METHODS},
                                                      inline=False),
            "variants": W.LiveCheckBoxGroup.from_param(st.param.variants,
                                                       options={LABELS[m]: m for m in solvers.VARIANTS}, inline=False),
            "max_iter": W.LiveIntInput.from_param(st.param.max_iter, sizing_mode="stretch_width"),
            "tol": W.LiveSelect.from_param(st.param.tol, sizing_mode="stretch_width"),
            "seed": W.LiveIntInput.from_param(st.param.seed, width=130),
            "metric": W.LiveSelect.from_param(st.param.metric, width=430),
            "decoder": W.LiveSelect(label=st.param.decoder.label, options={LABELS[st.decoder]: st.decoder},
                                    value=st.decoder, width=330),
        }
        self.widgets["decoder"].param.watch(self._decoder_chosen, "value")
        self.upload_input = LiveFileInput(accept=".csv,.tsv,.txt,.npy", sizing_mode="stretch_width",
                                          css_classes=["upload-input"])
        self.upload_input.param.watch(lambda e: self.guarded(self._uploaded, e), "value")
        self.suggest_button = pn.widgets.Button(label="λ = σ_k²/4", color="light", width=100, margin=(23, 10, 5, 0),
                                                css_classes=["suggest-button"],
                                                description="Set λ to σ_k²/4 (every one of the k directions survives)")
        self.suggest_button.on_click(lambda e: self.guarded(self.suggest_lam))
        self.facts = panes.HTML("", css_classes=["data-facts"], sizing_mode="stretch_width",
                                styles={"font-size": "12px", "color": "#555", "line-height": "1.4"}, margin=(0, 10))

        def hint(text):
            return panes.HTML(f'<div style="font-size:12px;color:#666;line-height:1.4">{_e(text)}</div>',
                              sizing_mode="stretch_width", margin=(0, 10))

        sidebar = pn.Column(
            panes.HTML('<div style="font-size:13px"><b>LAE-PCA on real data.</b> Train a linear autoencoder, read '
                       "PCA off its decoder, and race it against SVD.</div>", sizing_mode="stretch_width",
                       margin=(0, 10)),
            self.widgets["data"], self.upload_input,
            hint("CSV or .npy of numbers only: rows = samples, columns = variables; at most 10 MB and "
                 "5 000 × 1 000. It is read in memory, centred, and forgotten when you leave."),
            self.widgets["k"], pn.Row(self.widgets["lam"], self.suggest_button, margin=0, sizing_mode="stretch_width"),
            self.facts,
            self.widgets["loss"], self.widgets["w_sigma"],
            hint("w_σ is used by the synthetic loss only (and the transpose-gap section shows three)."),
            self.widgets["methods"], self.widgets["variants"],
            pn.Row(self.widgets["max_iter"], self.widgets["tol"], margin=0, sizing_mode="stretch_width"),
            self.widgets["seed"],
            sizing_mode="stretch_width")

        self.run_button = pn.widgets.Button(label="▶ Run", color="primary", css_classes=["run-button"], width=120,
                                            margin=(5, 10))
        self.run_button.on_click(lambda e: self.guarded(self.run))
        self.cancel_button = pn.widgets.Button(label="■ Cancel", color="light", css_classes=["cancel-button"],
                                               width=110, margin=(5, 10), disabled=True)
        self.cancel_button.on_click(lambda e: self.guarded(self.cancel))
        self.progress = pn.indicators.Progress(value=0, max=100, width=200, bar_color="primary",
                                               css_classes=["run-progress"], margin=(14, 10))
        self.progress_box = pn.Column(self.progress, margin=0, styles={"visibility": "hidden"},
                                      css_classes=["run-progress-box"])
        self.status = panes.HTML("", css_classes=["run-status"], sizing_mode="stretch_width",
                                 styles={"font-size": "13px", "color": "#333"}, margin=(12, 10))
        self.shown = panes.HTML("", css_classes=["shown-settings"], sizing_mode="stretch_width",
                                styles={"font-size": "13px", "color": "#444"})
        self._build_race()
        self.race_table = panes.HTML("", css_classes=["race-table-pane"], stylesheets=[PAGE_CSS],
                                     sizing_mode="stretch_width")
        hv_pane = (lambda cls: pn.pane.HoloViews(None, css_classes=[cls], backend="bokeh", margin=(5, 10)))
        self.eigen_pane = hv_pane("eigen-pane")
        self.eigen_words = panes.HTML("", css_classes=["eigen-words"], sizing_mode="stretch_width",
                                      styles={"font-size": "13px", "color": "#333", "max-width": "980px"})
        self.directions = panes.HTML("", css_classes=["directions-pane"], stylesheets=[PAGE_CSS],
                                     sizing_mode="stretch_width")
        self.directions_words = panes.HTML("", css_classes=["directions-words"], sizing_mode="stretch_width",
                                           styles={"font-size": "13px", "color": "#333", "max-width": "980px"})
        self.heat_pane = hv_pane("heat-pane")
        self.heat_words = panes.HTML("", css_classes=["heat-words"], sizing_mode="stretch_width",
                                     styles={"font-size": "13px", "color": "#333", "max-width": "980px"})
        self._build_gaps()
        self.gap_words = panes.HTML("", css_classes=["gap-words"], sizing_mode="stretch_width",
                                    styles={"font-size": "13px", "color": "#333", "max-width": "980px"})
        self._build_embedding()
        self.embed_words = panes.HTML("", css_classes=["embed-words"], sizing_mode="stretch_width",
                                      styles={"font-size": "13px", "color": "#333", "max-width": "980px"})
        self.run_row = pn.Row(self.run_button, self.cancel_button, self.progress_box, self.status, margin=0,
                              sizing_mode="stretch_width")
        self.gap_row = plots.wrapping_row(plots.share(self.gap_pane, basis=420, max_width=820))
        self.embed_row = plots.wrapping_row(*(plots.share(pane, basis=280, max_width=520) for pane in self.embed_panes))
        self.later = pn.Column(sizing_mode="stretch_width")
        main = pn.Column(
            self.run_row, self.shown,
            plots.heading("1 · The race",
                          "Error to PCA's directions at every iteration and against the solver's own time (one "
                          "BLAS thread), beside NumPy's SVD and scikit-learn's randomized SVD on the same X."),
            self.widgets["metric"],
            plots.wrapping_row(plots.share(self.iter_pane, basis=420, max_width=820),
                               plots.share(self.time_pane, basis=420, max_width=820)),
            self.race_table,
            self.later,
            sizing_mode="stretch_width")
        self.later_objects = [
            plots.heading("2 · Eigen-digits",
                          "PCA's directions over the decoder's left singular vectors (signs aligned), and the "
                          "decoder's raw columns: the raw columns mix the components; the SVD of the decoder "
                          "untangles them — with L_σ."),
            self.widgets["decoder"], self.eigen_pane, self.eigen_words,
            plots.heading("3 · Directions, not just the subspace",
                          "Each decoder direction against the principal direction of the same rank, and the "
                          "eigenvalues read off the decoder: the sum loss against the unregularized one (the "
                          "authors' exact untied from the same start)."),
            self.directions, self.directions_words,
            plots.heading("4 · The alignment heat map",
                          "|⟨ûᵢ, uⱼ⟩| for the decoder's directions (rows) and PCA's (columns), for the chosen "
                          "loss: the identity where the directions are learned."),
            self.heat_pane, self.heat_words,
            plots.heading("5 · The transpose gap",
                          "‖W₁ − W₂ᵀ‖ per iteration of GD untied, for L_σ and the synthetic loss at w_σ = 0.5, "
                          "0.05 and 0.005 (Petrevski's figure 4): the sum penalty ties the encoder to the "
                          "decoder's transpose; a small w_σ barely does."),
            self.gap_row, self.gap_words,
            plots.heading("6 · A two-dimensional embedding (k = 2)",
                          "Every sample's two coordinates, coloured by its label: PCA's, LAE-PCA's (L_σ) and an "
                          "unregularized LAE's code, which is PCA's subspace in a skewed frame."),
            self.embed_row, self.embed_words,
            plots.heading("How to read it", ""),
            panes.HTML(HOW_TO_READ, sizing_mode="stretch_width")]
        #: what a new run's numbers replace, dimmed until they arrive: (section, its parts)
        self.sections = {"decoder": (self.eigen_pane, self.eigen_words, self.heat_pane, self.heat_words),
                         "table": (self.directions, self.directions_words),
                         "gaps": (self.gap_row, self.gap_words), "embedding": (self.embed_row, self.embed_words)}
        doc = pn.state.curdoc
        if doc is not None and doc.session_context and not pn.state.loaded:
            # The sections under the race join the page once the browser has drawn it: the page
            # opens on its first plots sooner, and the pictures' HoloViews renders (0.1–0.3 s
            # each) wait for the visitor, not the visitor for them.
            pn.state.onload(lambda: self.guarded(self._show_later))
        else:
            self._show_later()
        self._start()
        return sidebar, main

    def _show_later(self):
        """The sections under the race, and their pictures."""
        self.pictures_ready = True
        # the pictures first, then the panes into the page: a pane whose model is replaced in the
        # same message that adds it leaves the browser a reference to a model it never got
        self._draw_decoder()
        if not self.later.objects:
            self.later.objects = self.later_objects

    def _dim(self, section: str, dimmed: bool) -> None:
        """A section's parts shown faded while they still show the previous run."""
        for part in self.sections[section]:
            styles = {**part.styles, "opacity": "0.35" if dimmed else None}  # None: BokehJS removes it
            if styles != part.styles:
                part.styles = styles

    def _build_race(self):
        # both plots share it: linked error axes, fixed to whole decades (plots.log_decades) so that
        # a streamed row moves only the data, and set from the server as the data reach new decades
        self.y_range = Range1d(1e-10, 10.0)
        self.sources = {m: ColumnDataSource({c: np.zeros(0) for c in ("iteration", "seconds", "angle", "authors",
                                                                      "eigen")}) for m in ALL_METHODS}
        metric = self.state.metric
        self.iter_fig = plots.titled_figure("Error per iteration", 600, 380, y_axis_type="log", y_range=self.y_range,
                                            x_axis_label="iteration", y_axis_label=METRIC_NAMES[metric])
        self.time_fig = plots.titled_figure("Error per second (solver time)", 600, 380, y_axis_type="log",
                                            y_range=self.y_range, x_axis_label="seconds",
                                            y_axis_label=METRIC_NAMES[metric])
        self.lines, self._legend_methods = {}, ()
        self.legend = Legend(items=[], location="top_right", click_policy="hide", label_text_font_size="11px",
                             background_fill_alpha=0.85, spacing=0, padding=4)
        self.iter_fig.add_layout(self.legend)
        self._lines_for(run_spec(self.state)["methods"])
        self.references = ColumnDataSource(dict(seconds=[], angle=[], authors=[], eigen=[], label=[], color=[]))
        dots = self.time_fig.scatter("seconds", metric, source=self.references, size=12, marker="diamond",
                                     fill_color="color", line_color="white")
        self.time_fig.text("seconds", metric, text="label", source=self.references, x_offset=8, y_offset=-4,
                           text_font_size="11px", text_color="color")
        self.reference_spans = [Span(location=0, dimension="height", line_color=c, line_dash="dotted", line_width=1.5,
                                     visible=False) for c in ("#23395d", "#7a3b8f")]
        for span in self.reference_spans:
            self.time_fig.add_layout(span)
        self.time_fig.add_tools(HoverTool(renderers=[dots], tooltips=[("", "@label"), ("seconds", "@seconds{0.0000}")]))
        for fig in (self.iter_fig, self.time_fig):
            fig.xaxis.axis_label_text_font_size = fig.yaxis.axis_label_text_font_size = "12px"
        self.iter_pane = plots.scaled(self.iter_fig)
        self.time_pane = plots.scaled(self.time_fig)

    def _lines_for(self, methods):
        """The race's lines of ``methods`` (made the first time a run has them: each line is a
        dozen Bokeh models, and most runs race the authors' six), in the legend in that order."""
        for m in methods:
            if m not in self.lines:
                dash = "dashed" if m in solvers.VARIANTS else "solid"
                y = self.state.metric
                a = self.iter_fig.line("iteration", y, source=self.sources[m], line_color=COLORS[m], line_width=2.5,
                                       line_dash=dash)
                b = self.time_fig.line("seconds", y, source=self.sources[m], line_color=COLORS[m], line_width=2.5,
                                       line_dash=dash)
                self.lines[m] = (a, b)
        if tuple(methods) != self._legend_methods:
            self._legend_methods = tuple(methods)
            self.legend.items = [LegendItem(label=LABELS[m].replace(" (variant)", ""), renderers=list(self.lines[m]))
                                 for m in methods]

    def _build_gaps(self):
        self.gap_fig = plots.titled_figure("‖W₁ − W₂ᵀ‖ per iteration, GD untied", 640, 340, y_axis_type="log",
                                           y_range=Range1d(1e-10, 10.0), x_axis_label="iteration",
                                           y_axis_label="‖W₁ − W₂ᵀ‖_F")
        self.gap_sources = [ColumnDataSource(dict(iteration=[], gap=[])) for _ in range(1 + len(GAP_WEIGHTS))]
        labels = ["L_σ"] + [f"synthetic, w_σ = {w:g}" for w in GAP_WEIGHTS]
        items = []
        for source, color, label in zip(self.gap_sources, GAP_COLORS, labels):
            line = self.gap_fig.line("iteration", "gap", source=source, line_color=color, line_width=2.5)
            items.append(LegendItem(label=label, renderers=[line]))
        self.gap_fig.add_layout(Legend(items=items, location="top_right", label_text_font_size="11px",
                                       background_fill_alpha=0.85, spacing=0, padding=4))
        self.gap_pane = plots.scaled(self.gap_fig)

    def _build_embedding(self):
        shared = dict(x_range=Range1d(0, 1), y_range=Range1d(0, 1))  # PCA's and LAE-PCA's: linked
        self.embed_sources, self.embed_figs = {}, {}
        for key, title, axes in (("pca", "PCA: scores uᵢᵀx", shared), ("lae", "LAE-PCA (L_σ): scores ûᵢᵀx", shared),
                                 ("plain", "unregularized LAE: its code W₁x", {})):
            source = self.embed_sources[key] = ColumnDataSource(dict(x=[], y=[], color=[], label=[]))
            fig = self.embed_figs[key] = plots.titled_figure(title, 330, 320, **axes)
            fig.scatter("x", "y", source=source, fill_color="color", line_color=None, size=4, alpha=0.6)
            fig.xaxis.axis_label = "score 1" if key != "plain" else "z₁"
            fig.yaxis.axis_label = "score 2" if key != "plain" else "z₂"
            fig.add_tools(HoverTool(tooltips=[("label", "@label"), ("", "(@x{0.00}, @y{0.00})")]))
        self.embed_panes = [plots.scaled(fig) for fig in self.embed_figs.values()]

    def _draw_gaps(self, gaps: dict):
        for source, curve in zip(self.gap_sources, gaps["curves"]):
            source.data = dict(iteration=np.asarray(curve["iteration"], dtype=float),
                               gap=np.maximum(np.asarray(curve["gap"], dtype=float), FLOOR))
        self.gap_fig.title.text = f"‖W₁ − W₂ᵀ‖ per iteration, {LABELS[gaps['method']]}, λ = {fmt(gaps['lam'])}"
        low, high = plots.log_decades(np.concatenate([c["gap"] for c in gaps["curves"]]), floor=FLOOR)
        self.gap_fig.y_range.update(start=low, end=high)

    def _draw_embedding(self, emb: dict):
        labels = emb["labels"]
        n = emb["pca"].shape[1]
        colors = (np.asarray(EMBED_COLORS, dtype=object)[labels % len(EMBED_COLORS)] if labels is not None
                  else np.full(n, "#23395d", dtype=object))
        names = labels.astype(str) if labels is not None else np.full(n, "—", dtype=object)
        for key, source in self.embed_sources.items():
            xy = emb[key].astype(float)
            source.data = dict(x=xy[0], y=xy[1], color=colors, label=names)
        both = np.hstack([emb["pca"], emb["lae"]]).astype(float)
        for axis, values in (("x_range", both[0]), ("y_range", both[1])):
            lo, hi = float(values.min()), float(values.max())
            pad = 0.05 * (hi - lo or 1.0)
            getattr(self.embed_figs["pca"], axis).update(start=lo - pad, end=hi + pad)

    def compact(self, focus: str = "race"):
        """Embed mode and the lecture: data, loss and Run over the race per iteration beside the
        eigen-digits."""
        self.compact_mode = True
        self.widgets["data"].param.update(width=300, sizing_mode=None)
        self.widgets["loss"].param.update(width=260, sizing_mode=None)
        self.run_button.margin = (23, 10, 5, 10)
        self.status.styles = {"font-size": "12px", "color": "#333"}
        plots.fixed(self.iter_pane, 470, 400)
        if not getattr(self, "embedded", False) and self.result is not None and self.result.get("races"):
            self._draw_decoder()  # at the compact size
        head = pn.Row(self.widgets["data"], self.widgets["loss"], self.run_button, self.progress_box, margin=0)
        return pn.Column(head, self.status, pn.Row(self.iter_pane, pn.Column(self.eigen_pane, self.eigen_words,
                                                                              width=470, margin=0), margin=0),
                         margin=0)

    # ---------------------------------------------------------------- runs
    def _start(self):
        """Open on the shared run of these settings (the default one for everyone), else start one."""
        doc = pn.state.curdoc
        if doc is not None and doc.session_context:
            doc.on_session_destroyed(self._session_destroyed)  # a visitor who leaves stops their run
        WORKER.start()
        spec = run_spec(self.state)
        job = SHARED.get(spec_key(spec))
        if job is None:
            job = WORKER.submit(spec)
            SHARED.put(job)
        self._attach(job)
        if job.active:
            self.poll()

    def run(self, *, default_lam: bool = False, upload=None):
        """*Run*: a fresh run of the state's settings (``upload``: a file being tried)."""
        st = self.state
        if not st.solvers():
            self.notices.clear("warning")
            self.notices.show("Choose at least one solver to race.")
            return
        spec = run_spec(st, self.upload, default_lam=default_lam)
        if upload is not None:
            spec.update(data="upload", upload=upload, lam=None)
        elif spec["data"] == "upload" and spec["upload"] is None:
            self.notices.show("Upload a file first; the data stays as it was.")
            return
        self.status.object = plots.status("Starting …")
        job = WORKER.submit(spec)
        SHARED.put(job)
        self._attach(job)

    def cancel(self):
        """*Cancel*: stop watching the run; it stops unless another visitor watches it too."""
        if self.job is None or not self.job.active:
            return
        self._detach()
        self._stop_polling()
        self._show_running(False)
        self.status.object = plots.status("Cancelled. The plots keep what had arrived; press Run to start again.")

    def _attach(self, job: Job):
        self._detach()
        self.job, self.cursor = job, 0
        job.viewers += 1
        self._show_running(job.active)
        if job.active:
            self._start_polling()
        else:  # it has ended already (a file refused at once): drawn now
            self.poll()

    def _detach(self):
        job, self.job = self.job, None
        if job is None:
            return
        job.viewers -= 1
        if job.viewers <= 0 and job.active:
            WORKER.cancel(job)
            SHARED.drop(job)

    def _start_polling(self):
        doc = pn.state.curdoc
        if self.poll_callback is not None or doc is None or not doc.session_context:
            return
        if not pn.state.loaded:
            # Not before the browser has drawn the page: BokehJS connects a view's signals before
            # it renders it, and a progress bar or button changed in between raises in the
            # browser ("Cannot set properties of undefined").
            if not self._poll_on_load:
                self._poll_on_load = True
                pn.state.onload(self._start_polling_now)
            return
        self._start_polling_now()

    def _start_polling_now(self):
        self._poll_on_load = False
        if self.poll_callback is None and self.job is not None:
            self._polling_since = time.monotonic()
            self.poll_callback = pn.state.add_periodic_callback(lambda: self.guarded(self.poll), period=POLL_MS)

    def _pace_polling(self):
        """After the run's first second of running (not of waiting its turn), read its parts at
        the steady rate."""
        callback = self.poll_callback
        if (callback is not None and callback.period != POLL_STEADY_MS
                and time.monotonic() - self._polling_since >= POLL_FAST_S):
            callback.period = POLL_STEADY_MS

    def _stop_polling(self):
        if self.poll_callback is not None:
            self.poll_callback.stop()
            self.poll_callback = None

    def _session_destroyed(self, session_context):
        self._stop_polling()
        self._detach()

    def _show_running(self, running: bool):
        self.progress_box.styles = dict(self.progress_box.styles, visibility="visible" if running else "hidden")
        self.cancel_button.disabled = not running
        if not running:
            self.progress.value = 0

    def poll(self):
        """Draw the parts of the shown run that arrived since the last call."""
        job = self.job
        if job is None:
            self._stop_polling()
            return
        state = job.state
        new = job.parts[self.cursor:]
        self.cursor += len(new)
        for name, payload in merge_rows(new):
            self._apply(job, name, payload)
        if state == "queued":
            self._polling_since = time.monotonic()  # the fast first second starts with the run
            ahead = WORKER.ahead(job)
            self.status.object = plots.status(
                f"Waiting for the worker: {ahead} run{'s' if ahead != 1 else ''} ahead of this one …" if ahead
                else "Starting the worker …")
        elif state == "running":
            self._pace_polling()
            self.progress.value = int(100 * job.fraction)
            self.status.object = plots.status(f"Running: {job.text} …" if job.text else "Running …")
        else:
            self._finish(job, state)

    def _finish(self, job: Job, state: str):
        self._stop_polling()
        self._show_running(False)
        if state == "done":
            d = self.result["data"] if self.result else None
            self.status.object = plots.status("Done." + (f" {d['n']} samples × {d['m']} variables." if d else ""))
        elif state == "failed":
            if self.result is None or self.result.get("job") is not job:
                self.status.object = plots.status("The run did not start; the plots show the last one.")
                self.notices.clear("warning")
                kept = " The last good data is kept." if job.spec["data"] == "upload" else ""
                self.notices.show(f"{_cut(job.message)}.{kept}")
            else:
                self.status.object = plots.status("The run stopped.")
                self.notices.show(f"The run stopped: {_cut(job.message)}.", "warning")
        elif state == "cancelled":
            self.status.object = plots.status("Cancelled.")
        if self.result is not None and self.result.get("job") is job:
            self.result["state"] = state
            self.race_table.object = results_table(self.result)
        self._detach()
        self._draw_shown()

    # ---------------------------------------------------------------- parts
    def _apply(self, job: Job, name: str, payload):
        if name == "data":
            self._new_result(job, payload)
            return
        result = self.result
        if result is None or result.get("job") is not job:
            return
        if name == "reference":
            result["reference"] = payload
            self._draw_references()
        elif name == "rows":
            rows = dict(payload)
            method = rows.pop("method")
            rows.pop("gap")
            self.sources[method].stream({key: value.astype(float) for key, value in rows.items()})
            self._fit_error_axis()
        elif name == "race":
            result["races"][payload["method"]] = payload
            last = dict(payload["last"])
            last.pop("gap")
            drawn = self.sources[payload["method"]].data["iteration"]
            if len(drawn) == 0 or drawn[-1] < last["iteration"][0]:
                self.sources[payload["method"]].stream({key: value.astype(float) for key, value in last.items()})
                self._fit_error_axis()
            self.race_table.object = results_table(result)
            self._decoder_options()
            if self._decoder_method() == payload["method"]:
                self._draw_decoder()
        elif name == "table":
            result["table"] = payload
            k = result["data"]["k"]
            self.directions.object = directions_table(payload, k)
            self.directions_words.object = say(directions_words(payload, k))
            self._dim("table", False)
        elif name == "gaps":
            result["gaps"] = payload
            self._draw_gaps(payload)
            self.gap_words.object = say(gap_words(payload))
            self._dim("gaps", False)
        elif name == "embedding":
            result["embedding"] = payload
            self._draw_embedding(payload)
            self.embed_words.object = embedding_legend(payload) + say(embedding_words(payload))
            self._dim("embedding", False)

    def _new_result(self, job: Job, d: dict):
        """The first part of a run: its data. The plots start over for it."""
        st = self.state
        self.result = {"job": job, "data": d, "races": {}, "state": "running"}
        if job.spec["data"] == "upload" and job.spec["upload"] is not None:
            self.upload = job.spec["upload"]
            self.notices.clear("warning")
        # What the run uses becomes the state (a k lowered to the data's rank, the data's own λ),
        # unless the visitor has moved that control since the run was asked for: the move stands
        # and the run shows as stale. (The URL follows below.)
        spec = job.spec
        uses = {"data": d["kind"], "k": d["k"], "lam": d["lam"]}
        unmoved = {"data": st.data == spec["data"] or spec["data"] == "upload", "k": st.k == spec["k"],
                   "lam": spec["lam"] is None or math.isclose(st.lam, spec["lam"], rel_tol=1e-12)}
        taken = {name: value for name, value in uses.items() if unmoved[name]}
        with param.discard_events(st):
            st.param.update(taken)
        if hasattr(self, "widgets"):
            for name in taken:
                self.widgets[name].value = getattr(st, name)
        if d["k"] < d["k_asked"]:
            self.notices.show(f"k = {d['k_asked']} is more than the data's rank {d['rank']}: using k = {d['k']}.")
        if self.sync_url:
            self.schedule_url()
        for source in self.sources.values():
            source.data = {c: np.zeros(0) for c in ("iteration", "seconds", "angle", "authors", "eigen")}
        self._lines_for(d["methods"])
        self.references.data = dict(seconds=[], angle=[], authors=[], eigen=[], label=[], color=[])
        for span in self.reference_spans:
            span.visible = False
        self.race_table.object = results_table(self.result)
        for section in self.sections:  # they keep the last run's pictures, faded, until theirs come
            self._dim(section, True)
        self._draw_facts()
        self._draw_shown()

    def _fit_error_axis(self):
        """The race's error axis: the whole decades around what is drawn of the shown metric."""
        metric = self.state.metric
        values = [np.asarray(self.sources[m].data[metric], dtype=float) for m in self.lines]
        values.append(np.asarray(self.references.data[metric], dtype=float))
        low, high = plots.log_decades(np.concatenate(values), floor=FLOOR) if any(len(v) for v in values) \
            else (1e-10, 10.0)
        if (self.y_range.start, self.y_range.end) != (low, high):
            self.y_range.update(start=low, end=high)

    def _draw_references(self):
        ref = self.result["reference"]["methods"]
        rows = {"seconds": [], "angle": [], "authors": [], "eigen": [], "label": [], "color": []}
        for (name, r), color, span in zip(ref.items(), ("#23395d", "#7a3b8f"), self.reference_spans):
            rows["seconds"].append(r["seconds"])
            for key in ("angle", "authors", "eigen"):
                rows[key].append(max(r[key], FLOOR))
            rows["label"].append("NumPy SVD" if name.startswith("numpy") else "randomized SVD")
            rows["color"].append(color)
            span.update(location=r["seconds"], visible=True)
        self.references.data = rows
        self._fit_error_axis()

    # ---------------------------------------------------------------- the decoder's pictures
    def _decoder_options(self):
        races = self.result["races"] if self.result else {}
        usable = [m for m in ALL_METHODS if m in races]
        if not hasattr(self, "widgets") or not usable:
            return
        options = {LABELS[m]: m for m in usable}
        widget = self.widgets["decoder"]
        if widget.options != options:
            # the choice the state (and the link) holds stays, even when this run lacks it
            value = self.state.decoder if self.state.decoder in usable else usable[0]
            self._listing_decoders = True
            try:
                widget.param.update(options=options, value=value)
            finally:
                self._listing_decoders = False

    def _decoder_method(self) -> str | None:
        races = self.result["races"] if self.result else {}
        if self.state.decoder in races:
            return self.state.decoder
        return next((m for m in ALL_METHODS if m in races), None)

    def _decoder_chosen(self, event):
        if getattr(self, "_listing_decoders", False):
            return
        if event.new in ALL_METHODS and event.new != self.state.decoder:
            self.state.decoder = event.new

    def _draw_decoder(self):
        method = self._decoder_method()
        if not self.pictures_ready or method is None or self.result.get("reference") is None:
            return
        self._dim("decoder", False)
        d = self.result["data"]
        compact = self.compact_mode or getattr(self, "embedded", False)  # (embed_view sets it before build)
        element, angles = eigen_element(self.result, method, COMPACT_EIGEN_WIDTH if compact else None)
        self.eigen_pane.object = element
        shown = "" if method == self.state.decoder else f" ({LABELS[self.state.decoder]} was not run.)"
        self.eigen_words.object = say(eigen_words(d, method, angles) + shown)
        if compact:
            return  # the compact view shows no heat map
        element, heat, m0 = alignment_element(self.result, method)
        self.heat_pane.object = element
        self.heat_words.object = say(m0_words(self.result))

    # ---------------------------------------------------------------- words
    def _draw_facts(self):
        d = self.result["data"] if self.result else None
        if d is None:
            return
        st = self.state
        self.facts.object = _e(data_facts(d, st.lam, st.k, st.loss, st.w_sigma))

    def _draw_shown(self):
        """Which settings the plots show, and whether the controls say something else."""
        if self.result is None:
            self.shown.object = ""
            return
        d = self.result["data"]
        loss = SYMBOL[d["loss"]] + (f" with w_σ = {d['w_sigma']:g}" if d["loss"] == "synthetic" else "")
        text = (f"Shown: {DATA_NAMES[d['kind']] if d['kind'] != 'upload' else d['name']} (m = {d['m']}, "
                f"n = {d['n']}), k = {d['k']}, λ = {fmt(d['lam'])}, {loss}, seed {d['seed']}.")
        if self.stale():
            text += " The controls have changed since: press Run to race with them."
        self.shown.object = f'<span class="shown-text">{_e(text)}</span>'
        self.run_button.button_type = "warning" if self.stale() else "primary"  # the run to make

    def stale(self) -> bool:
        """The controls ask for another run than the one shown."""
        if self.result is None:
            return False
        d, st = self.result["data"], self.state
        return (st.data != d["kind"] or st.k != d["k"] or not math.isclose(st.lam, d["lam"], rel_tol=1e-12)
                or st.loss != d["loss"] or st.seed != d["seed"] or st.solvers() != tuple(d["methods"])
                or st.max_iter != d["max_iter"] or st.tol != d["tol"]
                or (st.loss == "synthetic" and d["w_sigma"] != st.w_sigma))

    # ---------------------------------------------------------------- controls
    def redraw(self, changed):
        changed = set(changed)
        st = self.state
        if "data" in changed:
            if st.data == "upload" and self.upload is None:
                previous = self.result["data"]["kind"] if self.result else "digits"
                with param.discard_events(st):
                    st.data = previous
                self.widgets["data"].value = previous
                self.notices.clear("warning")
                self.notices.show("Upload a file first (the box under Data); the data stays as it was.")
                return
            self.run(default_lam=True)
            return
        if "metric" in changed:
            for a, b in self.lines.values():
                a.glyph.y = b.glyph.y = st.metric
            self.iter_fig.yaxis.axis_label = self.time_fig.yaxis.axis_label = METRIC_NAMES[st.metric]
            for r in self.time_fig.renderers:
                if getattr(r, "data_source", None) is self.references:
                    r.glyph.y = st.metric
            self._fit_error_axis()
        if "decoder" in changed and self.result is not None:
            if self.widgets["decoder"].value != st.decoder and st.decoder in self.widgets["decoder"].options.values():
                self.widgets["decoder"].value = st.decoder
            self._draw_decoder()
        if changed & {"lam", "k", "loss", "w_sigma"}:
            self._draw_facts()
        self._draw_shown()

    def suggest_lam(self):
        d = self.result["data"] if self.result else None
        if d is None:
            return
        k = min(self.state.k, d["rank"])
        self.state.lam = suggested(d["eigenvalues"], k)
        self.widgets["lam"].value = self.state.lam

    def _uploaded(self, event):
        data = event.new
        name = self.upload_input.filename or "the file"
        if data is None:
            return
        if isinstance(data, list):  # one file only (the widget asks for one)
            data = data[0] if data else b""
            name = name[0] if isinstance(name, list) and name else str(name)
        self.upload_input.clear()                  # the browser's box, ready for the next file
        self.upload_input.param.update(value=None)  # and the bytes only in the run (and self.upload)
        self.status.object = plots.status(f"Reading {name} …")
        self.run(upload=(str(name), bytes(data)))


class LiveFileInput(compat.LiveChanges, pn.widgets.FileInput):
    """A file box whose upload reaches the page at once."""


def eigen_words(d: dict, method: str, angles) -> str:
    worst = max(angles)
    kind = d["loss"]
    head = (f"The decoder of {LABELS[method]} ({SYMBOL[kind]}): the largest angle between a pair is "
            f"{angle_text(worst)} rad.")
    if kind in ("sum", "synthetic"):
        return head + (" Every ûᵢ is uᵢ: the autoencoder has learned the principal directions themselves."
                       if worst < 1e-3 else " Not every pair has met: more iterations, or a λ below σ_k², help.")
    return head + (" The left singular vectors are no principal directions: without the sum penalty only the "
                   "subspace is learned, and the decoder's columns and their SVD are mixes of the components.")


def gap_words(gaps: dict) -> str:
    parts = []
    for c in gaps["curves"]:
        label = "L_σ" if c["kind"] == "sum" else f"w_σ = {c['w_sigma']:g}"
        parts.append(f"{label}: {fmt(float(c['gap'][-1]))} after {int(c['iteration'][-1])} iterations ({c['status']})")
    return "Final ‖W₁ − W₂ᵀ‖ — " + "; ".join(parts) + "."


def embedding_words(emb: dict) -> str:
    worst = max(emb["angles"])
    return (f"LAE-PCA here is the sum loss with k = 2 at λ = σ₂²/4 = {fmt(emb['lam'])}: its two directions are "
            f"PCA's to within {angle_text(worst)} rad, so its scatter is PCA's. The unregularized LAE's code "
            "spans the same plane in a frame of its own (sheared and scaled).")


def embedding_legend(emb: dict) -> str:
    """The colours of the labels, as a line of swatches."""
    labels = emb["labels"]
    if labels is None:
        return ""
    swatches = "".join(f'<span style="white-space:nowrap;margin-right:10px"><span style="display:inline-block;width:10px;'
                       f'height:10px;background:{EMBED_COLORS[v % len(EMBED_COLORS)]};margin-right:3px"></span>{v}</span>'
                       for v in sorted(set(int(x) for x in labels)))
    return f'<div class="embed-legend" style="margin:2px 0 4px 0">colour = label: {swatches}</div>'


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


#: the page class the registry (app.pages) names
PAGE = PCAPage


def create(**kwargs):
    """Build one session's page (Panel calls this once per visitor)."""
    return PCAPage(**kwargs).view()
