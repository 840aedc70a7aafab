"""Start-up time of the ``sealgate`` entry points against ``python -c pass`` in the same run.

Each entry point (``--help``, ``--version``, ``verify --help``, ``gate --help``) is run as a
fresh process N times (default 10) with the venv's interpreter, interleaved with the floor
(``python -c pass``) so both see the same machine load; the median wall time and the median
CPU time (user + system of the child) are printed, with the overhead over the floor.

    .venv/bin/python benchmarks/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ENTRY_POINTS: dict[str, list[str]] = {
    "python -c pass (floor)": ["-c", "pass"],
    "sealgate --help": ["-m", "sealgate.cli", "--help"],
    "sealgate --version": ["-m", "sealgate.cli", "--version"],
    "sealgate verify --help": ["-m", "sealgate.cli", "verify", "--help"],
    "sealgate gate --help": ["-m", "sealgate.cli", "gate", "--help"],
}


def _run_once(argv: list[str]) -> tuple[float, float]:
    before = os.times()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ENTRY_POINTS}
    for _ in range(options.runs):
        for name, argv in ENTRY_POINTS.items():  # interleaved: same load for every entry
            samples[name].append(_run_once(argv))
    floor_wall = statistics.median(w for w, _ in samples["python -c pass (floor)"])
    print(f"median of {options.runs} runs each ({sys.executable})")
    print(f"  {'entry point':<28} {'wall s':>8} {'cpu s':>8} {'over floor':>11}")
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {name:<28} {wall:8.3f} {cpu:8.3f} {wall - floor_wall:+10.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
