"""Process mining and cost-to-serve at scale: 10 M generated events (~1.2 M cases).

Run: ``.venv/bin/python benchmarks/bench_process.py [--customers 320000] [--runs 3]``.
Each run is a fresh subprocess that loads the Parquet events (not timed), then times
(1) variants + the directly-follows graph together, including the shared case-ordered pass,
(2) per-case cost and behaviour tags from it (the per-event cost columns included).
A straightforward pandas version of (1) runs once in its own subprocess for comparison.
Uses the data that ``bench_load.py`` writes (it is generated if missing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import harness  # benchmarks/harness.py: the script folder is on sys.path

OURS = """
import json, resource, sys, time
from analytics.io import load_path
from analytics.cases import case_steps
from analytics.process import case_paths, variants, directly_follows
from analytics.cost import case_costs, costed_steps
ds = load_path(sys.argv[1])
t = time.perf_counter()
steps = case_steps(ds.events)  # the shared, case-ordered pass
paths = case_paths(steps)
table = variants(paths)
edges = directly_follows(steps)
process_s = time.perf_counter() - t
t = time.perf_counter()
cases = case_costs(ds, costed_steps(ds, steps))  # cost columns fetched into step order
cost_s = time.perf_counter() - t
print(json.dumps({"process_s": process_s, "cost_s": cost_s, "events": ds.events.height,
                  "cases": paths.height, "variants": table.height, "edges": edges.height,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = """
import json, sys, time
import pandas as pd
from analytics.io import load_path
events = load_path(sys.argv[1]).events.to_pandas()
t = time.perf_counter()
ordered = events.sort_values(["case_id", "timestamp", "row_nr"], kind="stable")
paths = ordered.groupby("case_id", sort=False)["activity"].agg(" -> ".join)
variants = paths.value_counts()
nxt = ordered.groupby("case_id", sort=False)["activity"].shift(-1)
dfg = pd.DataFrame({"source": ordered["activity"], "target": nxt}).dropna().value_counts()
elapsed = time.perf_counter() - t
print(json.dumps({"pandas_s": elapsed, "variants": len(variants), "edges": len(dfg)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=320_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_load import prepare

    parquet, _ = prepare(args.customers)
    results = harness.runs(OURS, args.runs, str(parquet))
    med = harness.medians(results)
    process_s, cost_s = med["process_s"], med["cost_s"]
    first = results[0]
    t = time.perf_counter()
    pandas = harness.run(PANDAS, str(parquet))
    assert pandas["variants"] == first["variants"] and pandas["edges"] == first["edges"]
    spread = {
        k: (min(r[k] for r in results), max(r[k] for r in results)) for k in ("process_s", "cost_s")
    }
    print(
        f"{first['events']:,} events, {first['cases']:,} cases, {first['variants']} variants, "
        f"{first['edges']} edges\n"
        f"variants + DFG: median {process_s:.2f} s (runs {spread['process_s'][0]:.2f}-"
        f"{spread['process_s'][1]:.2f} s) ({first['events'] / process_s / 1e6:.1f} M "
        f"events/s); pandas {pandas['pandas_s']:.2f} s = {pandas['pandas_s'] / process_s:.1f}x "
        f"slower (pandas run took {time.perf_counter() - t:.0f} s with loading)\n"
        f"per-case cost + behaviour tags: median {cost_s:.2f} s (runs {spread['cost_s'][0]:.2f}-"
        f"{spread['cost_s'][1]:.2f} s)\n"
        f"peak RSS {max(r['peak_mb'] for r in results):,.0f} MB (load included)"
    )


if __name__ == "__main__":
    main()
