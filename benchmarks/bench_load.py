"""Load + validate benchmark: 10 M generated events from Parquet and from CSV.

Run: ``.venv/bin/python benchmarks/bench_load.py [--customers 320000] [--runs 3]``
(``make bench``). Each run is a fresh subprocess, so peak RSS is that run's own. The CSV is
written the hard way a Russian export looks: ``;``-separated, decimal comma,
``dd.mm.yyyy hh:mm:ss`` timestamps, so every column goes through text parsing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import harness  # benchmarks/harness.py: the script folder is on sys.path

DATA = Path(__file__).parent / "_data"

CHILD = """
import gc, json, sys, time
from benchmarks.harness import peak_mb
import psutil
from analytics.io import load_path
process = psutil.Process()
before = process.memory_info().rss
t = time.perf_counter()
ds = load_path(sys.argv[1])
elapsed = time.perf_counter() - t
gc.collect()
retained = process.memory_info().rss - before
rep = ds.report.tables["events"]
print(json.dumps({"seconds": elapsed, "rows": rep.rows_read, "loaded": rep.rows_loaded,
                  "quarantined": rep.rows_quarantined, "errors": list(ds.report.errors),
                  "size_mb": ds.events.estimated_size("mb"), "retained_mb": retained / 2**20,
                  "base_mb": before / 2**20,
                  "peak_mb": peak_mb()}))
"""


def prepare(customers: int) -> tuple[Path, Path]:
    import polars as pl

    from analytics.sample import generate

    parquet_dir, csv_dir = DATA / f"parquet_{customers}", DATA / f"csv_{customers}"
    if not (parquet_dir / "events.parquet").exists():
        parquet_dir.mkdir(parents=True, exist_ok=True)
        csv_dir.mkdir(parents=True, exist_ok=True)
        events = generate(customers=customers, months=12, seed=1).events
        events.write_parquet(parquet_dir / "events.parquet")
        events.with_columns(pl.col("timestamp").dt.strftime("%d.%m.%Y %H:%M:%S")).write_csv(
            csv_dir / "events.csv", separator=";", decimal_comma=True
        )
    return parquet_dir / "events.parquet", csv_dir / "events.csv"


def measure(path: Path, runs: int) -> dict[str, float]:
    results = harness.runs(CHILD, runs, str(path))
    seconds = harness.medians(results)["seconds"]
    first = results[0]
    assert first["rows"] == first["loaded"] + first["quarantined"] and not first["errors"]
    return {
        "rows": first["rows"],
        "median_s": seconds,
        "rows_per_s": first["rows"] / seconds,
        "peak_mb": max(r["peak_mb"] for r in results),
        "table_mb": first["size_mb"],
        "retained_mb": first["retained_mb"],
        "base_mb": first["base_mb"],
        "file_mb": path.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=320_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    t = time.perf_counter()
    parquet, csv = prepare(args.customers)
    print(f"data ready in {time.perf_counter() - t:.1f} s")
    for label, path in (("Parquet", parquet), ("CSV (ru format)", csv)):
        r = measure(path, args.runs)
        print(
            f"{label}: {r['rows']:,} rows, median {r['median_s']:.2f} s = "
            f"{r['rows_per_s'] / 1e6:.2f} M rows/s; peak RSS {r['peak_mb']:.0f} MB "
            f"(process before loading {r['base_mb']:.0f} MB); loaded table: Polars "
            f"estimated_size {r['table_mb']:.0f} MB -> "
            f"peak {r['peak_mb'] / r['table_mb']:.2f}x, "
            f"retained RSS {r['retained_mb']:.0f} MB -> "
            f"peak {r['peak_mb'] / r['retained_mb']:.2f}x; "
            f"file {r['file_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
