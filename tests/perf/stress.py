"""``make stress``: the load and soak suites at full size, and the fuzz suite with more examples.

* load — ``python -m tests.perf.load --sessions 20 --changes 50`` (issue 7: zero errors, p95
  change → repaint ≤ 250 ms, ≤ 8 MiB per extra session, sessions back to 0 and memory within
  15 % within 60 s);
* soak — ``python -m tests.perf.soak --changes 2000 --runs 200 --frames 1000`` (memory growth
  ≤ 20 MiB; the 1000-frame animation ± 5 MiB);
* fuzz — ``tests/core/test_fuzz.py`` with ``LAE_FUZZ_EXAMPLES=1000``.

Each runs in its own process; prints a table (suite | metric | figure | target | met?) and writes
``bench-results/stress.json``. Exits 0 when every target is met.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import ROOT

OUT = ROOT / "bench-results"
SUITES = {
    "load": ["-m", "tests.perf.load", "--sessions", "20", "--changes", "50"],
    "soak": ["-m", "tests.perf.soak", "--changes", "2000", "--runs", "200", "--frames", "1000"],
}


def main() -> int:
    results, rows, ok = {}, [], True
    for name, args in SUITES.items():
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            results[name] = {"error": proc.stderr[-4000:]}
            rows.append(f"| {name} | (harness failed) | | | **NO** |")
            ok = False
            continue
        results[name] = result = json.loads(proc.stdout)
        for metric, t in result.get("targets", {}).items():
            figure = t["figure"]
            shown = f"{figure:.1f}" if isinstance(figure, float) else str(figure)
            rows.append(f"| {name} | {metric} | {shown} | {t['target']} | {'yes' if t['met'] else '**NO**'} |")
            ok &= bool(t["met"])
    env = dict(os.environ, LAE_FUZZ_EXAMPLES="1000")
    fuzz = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core/test_fuzz.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    summary = (fuzz.stdout.strip().splitlines() or ["(no output)"])[-1]
    results["fuzz"] = {"returncode": fuzz.returncode, "summary": summary}
    rows.append(f"| fuzz | every public lae_core function, 1000 examples | {summary} | finite or ValueError | "
                f"{'yes' if fuzz.returncode == 0 else '**NO**'} |")
    ok &= fuzz.returncode == 0
    print("| suite | metric | figure | target | met? |\n| --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    OUT.mkdir(exist_ok=True)
    (OUT / "stress.json").write_text(json.dumps(results, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
