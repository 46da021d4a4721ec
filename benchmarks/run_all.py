"""Run every benchmark script in this folder, one after another, and list missed targets.

Each ``bench_*.py`` script prints one table (workload, target, measured value, verdict)
and exits 0 when it met every target, 3 when it ran but missed a target (a finding:
timings depend on the machine and its load, and the table says by how much), anything
else when it failed (a wrong result, a crash). The pytest-benchmark timings in
``test_benchmarks.py`` run last; they measure and do not judge.

This runner prints every script's output, then one block listing each missed target
and each failed script. It exits 0 when every script ran (missed targets included)
and 1 when a script failed, so CI fails on failures and reports misses.

Run: python benchmarks/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import MISSED_TARGET, SUMMARY_ENV

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    missed: list[tuple[str, dict[str, str]]] = []
    failed: list[str] = []
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ember_bench_") as folder:
        for script in sorted(HERE.glob("bench_*.py")):
            summary = Path(folder) / f"{script.stem}.json"
            print(f"== {script.name}", flush=True)
            started = time.perf_counter()
            command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
            done = subprocess.run(command, check=False,
                                  env={**os.environ, SUMMARY_ENV: str(summary)})
            print(f"== {script.name}: exit {done.returncode} in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            if done.returncode == MISSED_TARGET and summary.exists():
                missed += [(script.name, row) for row in json.loads(summary.read_text())]
            elif done.returncode == MISSED_TARGET:
                failed.append(f"{script.name} (exit 3 without a summary of its misses)")
            elif done.returncode != 0:
                failed.append(f"{script.name} (exit {done.returncode})")
    print("== pytest-benchmark (benchmarks/test_benchmarks.py)", flush=True)
    command = [sys.executable, "-m", "pytest", str(HERE / "test_benchmarks.py"),
               "--benchmark-only", "--benchmark-columns=min,median,rounds", "-p",
               "no:cacheprovider"] + (["--benchmark-max-time=0.2"] if args.quick else [])
    if subprocess.run(command, check=False).returncode != 0:
        failed.append("test_benchmarks.py")
    _summary(missed, failed, time.perf_counter() - started_all)
    return 1 if failed else 0


def _summary(missed: list[tuple[str, dict[str, str]]], failed: list[str],
             seconds: float) -> None:
    rule = "=" * 88
    print(f"\n{rule}\nSUMMARY of benchmarks/run_all.py ({seconds:.0f} s)")
    print(f"MISSED TARGETS: {len(missed)}")
    for script, row in missed:
        print(f"  {script}: {row['workload']}: measured {row['measured']}, "
              f"target {row['target']}")
    print(f"FAILED SCRIPTS: {len(failed)}")
    for name in failed:
        print(f"  {name}")
    print(rule, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
