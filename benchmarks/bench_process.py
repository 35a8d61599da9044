"""Process mining and cost-to-serve at scale: 10 M generated events (2.2 M cases).

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
from pathlib import Path

import harness  # benchmarks/harness.py: the script folder is on sys.path

OURS = """
import json, sys, time
from benchmarks.harness import peak_mb
from analytics.io import load_path
from analytics.cases import case_steps, case_table
from analytics.process import directly_follows, variant_paths, variants
from analytics.cost import case_costs, costed_steps
import numpy as np
ds = load_path(sys.argv[1])
# The VM's speed drifts by 2-3x within a session: a fixed CPU task, timed in the same
# process, tells how fast the machine was during this run.
draws = np.random.default_rng(0).random(10_000_000)
t = time.perf_counter()
np.sort(draws)
result = {"events": ds.events.height, "calibration_s": time.perf_counter() - t}
for label in ("", "_repeat"):  # the repeat pass reuses memory the process already has
    t = time.perf_counter()
    steps = case_steps(ds.events)  # the shared, case-ordered pass
    per_case = case_table(steps)
    table = variants(per_case, variant_paths(steps))
    edges = directly_follows(steps)
    result["process_s" + label] = time.perf_counter() - t
    t = time.perf_counter()
    costs = case_costs(ds, costed_steps(ds, steps))  # cost columns fetched into step order
    result["cost_s" + label] = time.perf_counter() - t
    del steps, costs
result["peak_mb"] = peak_mb()  # whole run
result.update(cases=per_case.height, variants=table.height, edges=edges.height)
print(json.dumps(result))
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
    parser.add_argument("--skip-pandas", action="store_true", help="leave out the slow baseline")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_load import prepare

    parquet, _ = prepare(args.customers)
    results = harness.runs(OURS, args.runs, str(parquet))
    first = results[0]
    lines = [
        f"{first['events']:,} events, {first['cases']:,} cases, {first['variants']} variants, "
        f"{first['edges']} edges"
    ]
    if not args.skip_pandas:
        pandas = harness.run(PANDAS, str(parquet))
        assert pandas["variants"] == first["variants"] and pandas["edges"] == first["edges"]
        ratio = pandas["pandas_s"] / harness.medians(results)["process_s"]
        lines.append(f"pandas variants + DFG: {pandas['pandas_s']:.2f} s, {ratio:.1f}x ours")
    for key, name in (("process", "variants + DFG"), ("cost", "per-case cost + tags")):
        for label, when in (("", "first pass"), ("_repeat", "repeat pass")):
            values = sorted(r[f"{key}_s{label}"] for r in results)
            median = harness.medians(results)[f"{key}_s{label}"]
            lines.append(
                f"{name}, {when}: median {median:.2f} s (runs {values[0]:.2f}-{values[-1]:.2f} s, "
                f"{first['events'] / median / 1e6:.1f} M events/s)"
            )
    lines.append(
        f"peak RSS {max(r['peak_mb'] for r in results):,.0f} MB (whole run: load, both passes)"
    )
    calibration = sorted(r["calibration_s"] for r in results)
    lines.append(
        f"machine speed: np.sort of 10 M floats took {calibration[0]:.3f}-{calibration[-1]:.3f} s "
        "(0.15 s when the VM is quiet)"
    )
    lines.append("runs by machine speed (sort; variants + DFG first/repeat; cost first/repeat):")
    for r in sorted(results, key=lambda r: r["calibration_s"]):
        lines.append(
            f"  {r['calibration_s']:.3f} s; {r['process_s']:.2f} / {r['process_s_repeat']:.2f} s; "
            f"{r['cost_s']:.2f} / {r['cost_s_repeat']:.2f} s"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
