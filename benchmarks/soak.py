"""Soak: one visitor for a long time — does the server's memory creep? (issues 7 and 4)

    python -m benchmarks.soak [--changes 2000 --runs 200 --frames 1000] [--url http://…]   # prints JSON

One browser context (one visitor), three phases, the server's resident memory read from
``/health`` at each boundary:

1. **changes** — ``/landscape``: M λ changes, each waited for until the surfaces have new data
   and the plots have repainted (the load test's method, ``benchmarks.load``).
2. **runs** — ``/trajectories`` (three solvers × up to 2000 iterations): K trajectory runs, each
   started by a change of the learning-rate slider (every run is recomputed and its paths sent
   again), waited for in the same way.
3. **frames** — the Trajectories page's Player stepped through F animation frames (its model's
   ``value`` set from the browser, as playing does), each waited for until the current-iterate
   markers have moved and been repainted.

Each phase starts after a few untimed warm-up steps on its page (which also learn what the
control updates), so the memory a page's first use costs (its session, first caches) is not
counted as growth: growth = memory after the phase's steps − memory after its warm-up. The
Landscape page's session stays open during the later phases (the visitor opens the
Trajectories page in a second tab), so no session is discarded in the middle of a reading.

Targets: changes + runs grow the memory by ≤ 20 MiB (issue 7); the frames leave it where it was,
± 5 MiB (issue 4). With ``--close`` (the default at full size) the visitor then leaves, and the
memory after the server has discarded its sessions is reported beside the first reading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time

from benchmarks import load
from tests.support import AppServer, chromium_launch_kwargs, server_unless

TRAJECTORIES = "/trajectories?methods=untied_gd,tied_gd,exact_untied&max_iter=2000&tol_exp=-16"
LR = ("Slider", "Learning rate")
LR_VALUES = (-1.3, -1.5, -1.1, -1.7, -1.2, -1.6, -1.4, -1.0, -1.8, -1.25, -1.55, -1.05)
PLAYER = ("Player", None)
WARMUP = 5
TARGETS = {"changes_runs_mib": 20.0, "frames_mib": 5.0}


def frame_values(start: int, end: int, n: int, previous: int, step: int = 7) -> list[int]:
    """``n`` Player frames walking ``start..end`` by ``step`` and wrapping, none equal to the
    one before (so every set is a real change)."""
    out, value, span = [], previous, end - start + 1
    while len(out) < n:
        value = start + (value - start + step) % span
        if value != previous:
            out.append(value)
            previous = value
    return out


async def phase(visitor: load.Visitor, base_url: str, values, expect, *, name: str, quiet_ms: float,
                timeout_ms: float) -> dict:
    """Make the changes ``values`` (waiting for ``expect`` each time); memory before and after."""
    before = await load.health_async(base_url)
    latencies, timed_out = [], 0
    started = time.monotonic()
    for value in values:
        rec = await visitor.change(value, expect, quiet_ms=quiet_ms, timeout_ms=timeout_ms)
        timed_out += rec["timed_out"]
        latencies.append(math.inf if rec["timed_out"] or rec["ms"] is None else rec["ms"])
    seconds = time.monotonic() - started
    after = await load.health_async(base_url)
    return {"phase": name, "steps": len(values), "timed_out": timed_out, "seconds": seconds,
            "latency_ms": load.summary(latencies), "rss_before": before["rss_mib"], "rss_after": after["rss_mib"],
            "growth_mib": after["rss_mib"] - before["rss_mib"], "sessions": after["sessions"]}


async def _run(base_url: str, n_changes: int, n_runs: int, n_frames: int, *, server: AppServer | None,
               close: bool, quiet_ms: float, timeout_ms: float) -> dict:
    from playwright.async_api import async_playwright

    result: dict = {"changes": n_changes, "runs": n_runs, "frames": n_frames}
    log_mark = len(server.log()) if server else 0
    async with async_playwright() as p:
        browser = await p.chromium.launch(**chromium_launch_kwargs())
        try:
            result["chromium"] = browser.version
            first = await load.health_async(base_url)
            # 1. λ changes on the Landscape page
            land = load.Visitor(browser, base_url, "landscape")
            await land.open(load.ROUTE)
            setup = await land.control(*load.SLIDER)
            values = load.cycle(load.LAMBDAS, WARMUP + n_changes, previous=setup["value"])
            expect = [s for s in await land.learn(values[:WARMUP]) if s in setup["images"]]
            if not expect:
                raise RuntimeError("no surface changed its data when λ changed")
            phases = [await phase(land, base_url, values[WARMUP:], expect, name="changes",
                                  quiet_ms=quiet_ms, timeout_ms=timeout_ms)]

            # 2. trajectory runs, in a second tab of the same visitor
            traj = load.Visitor(browser, base_url, "trajectories")
            traj.context = land.context  # the same visitor: a second tab
            await traj.open(TRAJECTORIES)
            setup = await traj.control(*LR)
            values = load.cycle(LR_VALUES, WARMUP + n_runs, previous=setup["value"])
            expect = await traj.learn(values[:WARMUP])
            if not expect:
                raise RuntimeError("no path changed when the learning rate changed")
            phases.append(await phase(traj, base_url, values[WARMUP:], expect, name="runs",
                                      quiet_ms=quiet_ms, timeout_ms=timeout_ms))

            # 3. animation frames: the Player of the same page
            player = await traj.control(*PLAYER)
            if not player["end"] or player["end"] < 2:
                raise RuntimeError(f"the Player has no frames to step through: {player}")
            # What every frame redraws: the markers and the longest run's drawn path, learnt by a
            # step back from the last frame (a shorter run's path rests at its end past it, so a
            # step among the first frames would also expect paths that a later frame leaves alone).
            end = player["end"]
            if player["value"] != player["start"]:
                await traj.learn([player["start"]])     # every set below is a real change
            await traj.learn([end])
            expect = await traj.learn([end - 1])
            values = frame_values(player["start"], end, n_frames, end - 1)
            if not expect:
                raise RuntimeError("no marker moved when the Player's frame changed")
            phases.append(await phase(traj, base_url, values, expect, name="frames",
                                      quiet_ms=quiet_ms, timeout_ms=timeout_ms))
            result["player"] = {"start": player["start"], "end": player["end"]}
            problems = land.problems + traj.problems
            problems += [f"landscape: error notice: {t}" for t in await land.error_notices()]
            problems += [f"trajectories: error notice: {t}" for t in await traj.error_notices()]
            await land.close()
            if close:
                t = time.monotonic()
                gone = await load.wait_sessions_gone(base_url)
                result["after_close"] = {"rss_mib": gone["rss_mib"], "sessions": gone["sessions"],
                                         "discarded_s": time.monotonic() - t}
        finally:
            await browser.close()

    problems += [f"server log: {line}" for line in load.server_log_errors(server, log_mark)]
    by = {ph["phase"]: ph for ph in phases}
    grown = by["changes"]["growth_mib"] + by["runs"]["growth_mib"]
    frames = by["frames"]["growth_mib"]
    made = {ph["phase"]: ph["steps"] - ph["timed_out"] for ph in phases}
    result.update({"rss_first_mib": first["rss_mib"], "phases": phases, "errors": len(problems),
                   "problems": problems[:50], "growth_changes_runs_mib": grown, "growth_frames_mib": frames})
    result["targets"] = {
        "zero errors": {"figure": len(problems), "target": "0",
                        "met": not problems and made == {"changes": n_changes, "runs": n_runs, "frames": n_frames}},
        f"memory growth, {n_changes} changes + {n_runs} runs (MiB)": {
            "figure": grown, "target": "≤ 20", "met": grown <= TARGETS["changes_runs_mib"]},
        f"memory change, {n_frames} animation frames (MiB)": {
            "figure": frames, "target": "± 5", "met": abs(frames) <= TARGETS["frames_mib"]},
    }
    result["passed"] = all(t["met"] for t in result["targets"].values())
    return result


def run(n_changes: int = 2000, n_runs: int = 200, n_frames: int = 1000, *, server_url: str | None = None,
        close: bool = True, quiet_ms: float = 30, timeout_ms: float = 20_000) -> dict:
    """Start a server (unless ``server_url``) and soak it; the figures as a dict."""
    with server_unless(server_url) as (base, server):
        started = time.monotonic()
        result = asyncio.run(_run(base, n_changes, n_runs, n_frames, server=server, close=close,
                                  quiet_ms=quiet_ms, timeout_ms=timeout_ms))
    result["seconds"] = time.monotonic() - started
    result["loadavg"] = load.loadavg()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--no-close", dest="close", action="store_false",
                        help="skip the last reading after the visitor has left (saves ~35 s)")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    args = parser.parse_args(argv)
    result = run(args.changes, args.runs, args.frames, server_url=args.url, close=args.close)
    json.dump(result, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
