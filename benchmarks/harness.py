"""What every benchmark shares: each run is a fresh subprocess (its peak RSS is its own)
that prints one JSON object; the figures reported are medians over the runs."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable


def run(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` with ``args`` in a fresh interpreter; its printed JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
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
