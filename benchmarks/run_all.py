"""Run every benchmark script in this folder, one after another, and print their output.

A script exits 0 when it met its targets, 3 when it ran but missed a target (timings
on a shared machine vary; the printed numbers say by how much), anything else when it
failed. This runner fails only on failures, and lists missed targets at the end.

Run: python benchmarks/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

MISSED_TARGET = 3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    failures = 0
    missed: list[str] = []
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        done = subprocess.run(command, check=False)
        print(f"== {script.name}: exit {done.returncode} in {time.perf_counter() - started:.1f} s",
              flush=True)
        if done.returncode == MISSED_TARGET:
            missed.append(script.name)
        elif done.returncode != 0:
            failures += 1
    print("== pytest-benchmark (benchmarks/test_benchmarks.py)", flush=True)
    command = [sys.executable, "-m", "pytest", str(Path(__file__).parent / "test_benchmarks.py"),
               "--benchmark-only", "--benchmark-columns=min,median,rounds", "-p",
               "no:cacheprovider"] + (["--benchmark-max-time=0.2"] if args.quick else [])
    failures += subprocess.run(command, check=False).returncode != 0
    if missed:
        print(f"targets missed in this run: {', '.join(missed)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
