"""What every benchmark shares: each run is a fresh subprocess (its peak RSS is its own)
that prints one JSON object; the figures reported are medians over the runs."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the children import the engine from here


def peak_mb() -> float:
    """This process's own peak resident memory in MB. Not ``ru_maxrss``: Linux carries a
    parent's peak over fork and exec into its child's, so a run started by a benchmark that
    had just written its data (10 M events, several GB) reported that as its own peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` with ``args`` in a fresh interpreter; its printed JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout)


def runs(code: str, n: int, *args: str) -> list[dict[str, float]]:
    return [run(code, *args) for _ in range(n)]


def medians(results: list[dict[str, float]]) -> dict[str, float]:
    """The median of every figure over the runs."""
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main(code: str, report: Callable[[dict[str, float]], str]) -> None:
    """``--runs N`` fresh runs of ``code``; print ``report`` of their medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(report(medians(runs(code, args.runs))))
