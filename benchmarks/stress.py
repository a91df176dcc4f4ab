"""``make stress``: the load, soak and fuzz suites at full size (``make test`` runs them reduced).

1. Load (``benchmarks.load``): 20 visitors at once on the Landscape page, 50 λ changes each, in
   two waves on the same server (the second shows whether the first's memory is reused).
2. Soak (``benchmarks.soak``): one visitor, 2 000 λ changes, 200 trajectory runs, 1 000
   animation frames, the server's memory read between phases.
3. Fuzz (``tests/core/test_fuzz.py``, Hypothesis): every public ``lae_core`` function with
   ``LAE_FUZZ_EXAMPLES`` = 1 000 examples each.

Prints a table (metric | figure | target | met?) and writes ``bench-results/stress.json``. The
load average is printed before and after: the machine is shared, and latency figures taken while
other work runs are slower than the app. Exits 0 when every target is met; 1 when one is
missed, a harness fails or the fuzz suite finds a failing example (the table says which).

    python -m benchmarks.stress [--sessions 20 --changes 50 --waves 2] [--soak-changes 2000
                                 --runs 200 --frames 1000] [--fuzz-examples 1000] [--skip load,soak,fuzz]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone

from benchmarks import load, soak
from tests.support import ROOT

OUT = ROOT / "bench-results"
FUZZ = ROOT / "tests" / "core" / "test_fuzz.py"


def run_fuzz(examples: int) -> dict:
    """The Hypothesis suite with ``examples`` examples per function, in a subprocess."""
    if not FUZZ.exists():
        return {"ran": False, "why": f"{FUZZ.relative_to(ROOT)} does not exist"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(FUZZ.relative_to(ROOT))],
                          cwd=ROOT, env=dict(os.environ, LAE_FUZZ_EXAMPLES=str(examples)),
                          capture_output=True, text=True)
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors)", tail[0])}
    return {"ran": True, "examples_per_function": examples, "returncode": proc.returncode,
            "passed": counts.get("passed", 0), "failed": counts.get("failed", 0) + counts.get("error", 0)
            + counts.get("errors", 0), "summary": tail[0], "seconds": time.monotonic() - started,
            "output_tail": proc.stdout[-3000:] if proc.returncode else ""}


def fmt(x) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, (int, float)):
        if math.isinf(x):
            return "∞ (not reached)"
        if math.isnan(x):
            return "n/a"
        return f"{x:.1f}" if isinstance(x, float) else str(x)
    return str(x)


def rows(result: dict) -> list[tuple[str, str, str, str]]:
    """(metric, figure, target, met?) for every suite that ran."""
    out = []
    ld = result.get("load")
    if ld and "targets" in ld:
        head = f"load, {ld['sessions']} sessions × {ld['changes_per_session']} changes"
        if ld.get("waves", 1) > 1:
            head += f" × {ld['waves']} waves"
        for name, t in ld["targets"].items():
            out.append((f"{head}: {name}", fmt(t["figure"]), t["target"], "yes" if t["met"] else "**NO**"))
        out.append((f"{head}: median change → repaint (ms)", fmt(ld["latency_ms"]["median"]), "—", ""))
        cpu = [w["server_cpu_ms_per_change"] for w in ld["wave"]]
        out.append((f"{head}: server CPU per change (ms)", fmt(max(cpu)), "—", ""))
        shares = [w["machine"] for w in ld["wave"] if w.get("machine")]
        if shares:
            out.append((f"{head}: the browsers' CPU per change, same machine (ms)",
                        fmt(max(m["browser_side_ms_per_change"] for m in shares)), "—", ""))
            out.append((f"{head}: mean latency no server could go below here (ms)",
                        fmt(min(m["browser_floor_ms"] for m in shares)), "—", ""))
    elif ld:
        out.append(("load", "harness failed", "—", "**NO**"))
    sk = result.get("soak")
    if sk and "targets" in sk:
        for name, t in sk["targets"].items():
            out.append((f"soak: {name}", fmt(t["figure"]), t["target"], "yes" if t["met"] else "**NO**"))
        if "after_close" in sk:
            out.append(("soak: memory after the visitor left vs at the start (MiB)",
                        fmt(sk["after_close"]["rss_mib"] - sk["rss_first_mib"]), "—", ""))
    elif sk:
        out.append(("soak", "harness failed", "—", "**NO**"))
    fz = result.get("fuzz")
    if fz and fz.get("ran"):
        out.append((f"fuzz: {fz['examples_per_function']} examples per function, tests passed / failed",
                    f"{fz['passed']} / {fz['failed']}", "0 failed",
                    "yes" if fz["returncode"] == 0 else "**NO**"))
    elif fz:
        out.append(("fuzz", f"not run: {fz['why']}", "—", ""))
    return out


def table(result: dict) -> str:
    lines = ["| metric | figure | target | met? |", "|---|---|---|---|"]
    lines += [f"| {m} | {f} | {t} | {ok} |" for m, f, t, ok in rows(result)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--soak-changes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--fuzz-examples", type=int, default=1000)
    parser.add_argument("--skip", default="", help="comma-separated suites to leave out: load, soak, fuzz")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    result = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}}
    busy = os.getloadavg()[0]
    if busy > 0.5 * (os.cpu_count() or 1):
        say(f"note: load average {busy:.1f} on {os.cpu_count()} CPUs — other work is running; "
            "latency figures will be slower than on an idle machine")
    harness_failed = False
    started = time.monotonic()
    if "load" not in skip:
        say(f"load: {args.sessions} sessions × {args.changes} changes × {args.waves} waves …")
        try:
            result["load"] = load.run(args.sessions, args.changes, waves=args.waves)
        except Exception:  # noqa: BLE001 - the other suites still run; the table says what failed
            result["load"] = {"error": traceback.format_exc()}
            harness_failed = True
            say(result["load"]["error"])
    if "soak" not in skip:
        say(f"soak: {args.soak_changes} changes, {args.runs} runs, {args.frames} frames …")
        try:
            result["soak"] = soak.run(args.soak_changes, args.runs, args.frames)
        except Exception:  # noqa: BLE001
            result["soak"] = {"error": traceback.format_exc()}
            harness_failed = True
            say(result["soak"]["error"])
    if "fuzz" not in skip:
        say(f"fuzz: {args.fuzz_examples} examples per function …")
        result["fuzz"] = run_fuzz(args.fuzz_examples)
    result["seconds"] = time.monotonic() - started
    result["machine"]["loadavg_end"] = os.getloadavg()

    OUT.mkdir(exist_ok=True)
    (OUT / "stress.json").write_text(json.dumps(result, indent=1, default=str, allow_nan=True))
    la0, la1 = result["machine"]["loadavg_start"], result["machine"]["loadavg_end"]
    print(table(result))
    print(f"\nload average (1/5/15 min) at the start {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}, at the end "
          f"{la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f}; {result['seconds'] / 60:.1f} min; "
          f"details in {(OUT / 'stress.json').relative_to(ROOT)}")
    missed = any(ok == "**NO**" for *_, ok in rows(result))
    return 1 if harness_failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
