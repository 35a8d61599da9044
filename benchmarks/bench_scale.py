"""Scale: the reduce in parts against the in-memory one at 10 M events, 100 M events on
one machine, and Spark's local mode beside Polars (issue 18).

Run one or more stages: ``.venv/bin/python benchmarks/bench_scale.py parts big orders spark``.

* ``parts``: the generator's 10 M events (``bench_load.py`` writes them), reduced in
  memory and in 4 parts, each in a fresh process: time, peak RSS, and whether every
  table is identical;
* ``big``: 100 M events, the 10 M replicated 10 times with ``~k`` suffixed case and
  customer ids (written once to ``--big``, by default under /tmp), reduced in 10 parts;
  the answer is known: each variant's and edge's cases and counts 10 times the 10 M
  figures, the same medians and shares;
* ``orders``: the 10 M events with long string ids in time order, case order and
  shuffled: variants + DFG and cost + tags by CX Radar, variants + DFG by pm4py side by
  side in the same run, ``--runs`` times each, alternating (pm4py in a virtual environment
  the benchmark creates for itself: AGPL, never a project dependency);
* ``spark``: the committed sample company (1.3 M events) reduced by Polars in memory and
  by Spark in local mode (2 cores), both from the same canonical Parquet.

Each measured run is a fresh subprocess (its peak RSS its own) printing one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

HERE = Path(__file__).parent
ROOT = HERE.parent

IN_MEMORY = """
import json, sys, time
from benchmarks.harness import peak_mb
from pathlib import Path
from analytics.io import load_path
from analytics.reduce.tables import reduce_dataset
t = time.perf_counter()
dataset = load_path(sys.argv[1])
loaded = time.perf_counter() - t
t = time.perf_counter()
reduced = reduce_dataset(dataset)
seconds = time.perf_counter() - t
for name, table in reduced.tables().items():
    table.write_parquet(Path(sys.argv[2]) / f"{name}.parquet")
peak = peak_mb()
print(json.dumps({"load_s": loaded, "reduce_s": seconds, "peak_mb": peak,
                  "events": dataset.events.height, "cases": reduced.cases.height}))
"""

IN_PARTS = """
import json, sys, time
from benchmarks.harness import peak_mb
from pathlib import Path
from analytics.reduce.partitioned import reduce_parts
from analytics.schema import Settings
t = time.perf_counter()
reduced = reduce_parts([Path(sys.argv[1])], Settings(), int(sys.argv[3]), work=Path(sys.argv[4]),
                       progress=lambda line: print(line, file=sys.stderr, flush=True))
seconds = time.perf_counter() - t
for name, table in reduced.tables().items():
    table.write_parquet(Path(sys.argv[2]) / f"{name}.parquet")
peak = peak_mb()
print(json.dumps({"reduce_s": seconds, "peak_mb": peak, "cases": reduced.cases.height}))
"""

SPARK = """
import json, sys, time
from benchmarks.harness import peak_mb
from pathlib import Path
t = time.perf_counter()
from analytics.reduce.spark import session, reduce_folder
from analytics.schema import Settings
spark = session("local[2]", partitions=4)
started = time.perf_counter() - t
t = time.perf_counter()
reduce_folder(spark, Path(sys.argv[1]), Path(sys.argv[2]), Settings())
seconds = time.perf_counter() - t
t = time.perf_counter()
reduce_folder(spark, Path(sys.argv[1]), Path(sys.argv[2] + "_again"), Settings())
again = time.perf_counter() - t
print(json.dumps({"session_s": started, "reduce_s": seconds, "repeat_s": again,
                  "driver_peak_mb": peak_mb()}))
"""


def _run(code: str, *args: str) -> dict[str, float]:
    """``code`` in a fresh interpreter, its progress on our stderr; its printed JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout)


def _tables(folder: Path) -> dict[str, pl.DataFrame]:
    return {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def _identical(a: Path, b: Path) -> list[str]:
    """The names of the tables that differ between two folders. ``tags`` is compared to
    1e-12 relative, as when ``cost.tag_costs`` varied in the last bits from run to run (a
    parallel group-by); its sums are now added in a fixed order (``cost.group_totals``),
    not yet measured again at 10 M."""
    left, right = _tables(a), _tables(b)
    differ = []
    for name in sorted({*left, *right}):
        if name not in left or name not in right:
            differ.append(name)
        elif name != "tags":
            differ += [] if left[name].equals(right[name]) else [name]
        else:
            try:
                assert_frame_equal(left[name], right[name], check_exact=False, rel_tol=1e-12)
            except AssertionError:
                differ.append(name)
    return differ


def _ten_m() -> Path:
    sys.path.insert(0, str(HERE))
    from bench_load import prepare

    parquet, _ = prepare(320_000)
    return Path(parquet)


def stage_parts(work: Path) -> list[str]:
    events = _ten_m()
    memory, parts = work / "memory", work / "parts4"
    memory.mkdir(parents=True)
    parts.mkdir()
    whole = _run(IN_MEMORY, str(events.parent), str(memory))
    split = _run(IN_PARTS, str(events), str(parts), "4", str(work))
    differ = _identical(memory, parts)
    return [
        f"10 M: {whole['events']:,} events, {whole['cases']:,} cases",
        f"  in memory: load {whole['load_s']:.1f} s, reduce {whole['reduce_s']:.1f} s, "
        f"peak RSS {whole['peak_mb']:,.0f} MB",
        f"  in 4 parts (split included, no load step): {split['reduce_s']:.1f} s, "
        f"peak RSS {split['peak_mb']:,.0f} MB",
        "  tables identical (tags to 1e-12): " + ("all" if not differ else f"NO, differ: {differ}"),
    ]


def _replicate(source: Path, target: Path, times: int) -> float:
    started = time.perf_counter()
    scan = pl.scan_parquet(source)
    copies = [
        scan.with_columns(pl.col("case_id") + f"~{k}", pl.col("customer_id") + f"~{k}")
        for k in range(times)
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    pl.concat(copies).sink_parquet(target)
    return time.perf_counter() - started


def stage_big(work: Path, big: Path, parts: int) -> list[str]:
    events = _ten_m()
    lines = []
    if not big.exists():
        made = _replicate(events, big, 10)
        lines.append(f"wrote {big} ({big.stat().st_size / 1e9:.2f} GB) in {made:.0f} s")
    base, out = work / "base", work / "big"
    base.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    if not (base / "variants.parquet").exists():
        _run(IN_PARTS, str(events), str(base), "4", str(work))
    rows = pl.scan_parquet(big).select(pl.len()).collect().item()
    run = _run(IN_PARTS, str(big), str(out), str(parts), str(work))
    small, large = _tables(base), _tables(out)
    checks = {
        "variants": ["median_duration_s", "median_cost", "share", "cumulative_share"],
        "dfg": ["median_s", "rework_share"],
    }
    verdicts = []
    for name, same in checks.items():
        times = large[name].select(pl.exclude("cases", "count"))
        expected = small[name].select(pl.exclude("cases", "count"))
        tenfold = all(
            (large[name][c] == small[name][c] * 10).all()
            for c in ("cases", "count")
            if c in small[name]
        )
        verdicts.append(
            f"{name}: {'10x counts' if tenfold else 'COUNTS DIFFER'}, "
            f"{'same' if times.equals(expected) else 'DIFFERENT'} {', '.join(same)}"
        )
    lines += [
        f"100 M: {rows:,} events, {run['cases']:,} cases, {parts} parts: "
        f"{run['reduce_s']:.0f} s (split, every part, combine), peak RSS {run['peak_mb']:,.0f} MB",
        "  against the 10 M reduce: " + "; ".join(verdicts),
    ]
    return lines


OURS = """
import json, sys, time
from benchmarks.harness import peak_mb
import numpy as np
from analytics.io import load_path
from analytics.cases import case_steps, case_table
from analytics.process import directly_follows, variant_paths, variants
from analytics.cost import case_costs, costed_steps
ds = load_path(sys.argv[1])
draws = np.random.default_rng(0).random(10_000_000)
t = time.perf_counter()
np.sort(draws)  # how fast the VM is right now (0.15 s when quiet)
result = {"calibration_s": time.perf_counter() - t}
t, cpu = time.perf_counter(), time.process_time()
steps = case_steps(ds.events)
table = variants(case_table(steps), variant_paths(steps))
edges = directly_follows(steps)
result["process_s"] = time.perf_counter() - t
result["process_cpu_s"] = time.process_time() - cpu
t, cpu = time.perf_counter(), time.process_time()
costs = case_costs(ds, costed_steps(ds, steps))
result["cost_s"] = time.perf_counter() - t
result["cost_cpu_s"] = time.process_time() - cpu
result.update(variants=table.height, edges=edges.height, cases=costs.height,
              top=table["cases"].head(5).to_list(), count=int(edges["count"].sum()),
              peak_mb=peak_mb())
print(json.dumps(result))
"""

PM4PY = """
import json, sys, time
import pandas as pd
import pm4py
frame = pd.read_parquet(sys.argv[1], columns=["case_id", "activity", "timestamp"])
t = time.perf_counter()
log = pm4py.format_dataframe(frame, case_id="case_id", activity_key="activity",
                             timestamp_key="timestamp")
formatted = time.perf_counter() - t
t, cpu = time.perf_counter(), time.process_time()
found = pm4py.get_variants(log)
dfg, start, end = pm4py.discover_dfg(log)
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
print(json.dumps({"format_s": formatted, "process_s": seconds, "process_cpu_s": cpu,
                  "variants": len(found),
                  "edges": len(dfg), "count": int(sum(dfg.values())),
                  "top": sorted(found.values(), reverse=True)[:5]}))
"""


def _orders(events: Path, folder: Path) -> dict[str, Path]:
    """The 10 M events with ids as long as a real export's, in time order, in case order
    and shuffled, each as a folder with one events.parquet (kept when already written)."""
    names = ("time order", "case order", "shuffled")
    paths = {name: folder / name.replace(" ", "_") for name in names}
    if all((path / "events.parquet").exists() for path in paths.values()):
        return paths
    frame = pl.read_parquet(events).with_columns(
        ("SR-2025-" + pl.col("case_id") + "-MOSCOW-RETAIL-SUPPORT").alias("case_id"),
        ("CUST-" + pl.col("customer_id") + "-7700-RU").alias("customer_id"),
    )
    shapes = {
        "time order": lambda: frame.sort("timestamp", maintain_order=True),
        "case order": lambda: frame.sort("case_id", "timestamp", maintain_order=True),
        "shuffled": lambda: frame.sample(fraction=1.0, shuffle=True, seed=18),
    }
    for name, shaped in shapes.items():  # one copy of the frame at a time: 2 GB each
        paths[name].mkdir(parents=True, exist_ok=True)
        shaped().write_parquet(paths[name] / "events.parquet")
    return paths


def _pm4py_python(venv: Path) -> Path:
    """A throwaway virtual environment with pm4py (AGPL: never a project dependency)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "pm4py", "pyarrow"], check=True
        )
    return python


def stage_orders(work: Path, venv: Path, runs: int, data: Path | None) -> list[str]:
    """Each order ``runs`` times, ours and pm4py alternating in fresh processes; medians
    and the ratio of the medians, with the machine's speed (a numpy sort of 10 M floats,
    0.15 s when quiet) and load average beside them."""
    python = _pm4py_python(venv)
    lines = [
        "order | ours: variants + DFG | cost + tags | pm4py: variants + DFG | "
        "(+ format) | ratio of medians (of CPU seconds) | same variants, edges, counts | machine"
    ]
    for name, folder in _orders(_ten_m(), data or work / "orders").items():
        ours, theirs, loads = [], [], []
        for _ in range(runs):
            loads.append(os.getloadavg()[0])
            ours.append(_run(OURS, str(folder)))
            out = subprocess.run(
                [str(python), "-c", PM4PY, str(folder / "events.parquet")],
                stdout=subprocess.PIPE,
                text=True,
                check=True,
            )
            theirs.append(json.loads(out.stdout.splitlines()[-1]))  # after pm4py's banner
            print(f"  {name}: ours {ours[-1]}; pm4py {theirs[-1]}", file=sys.stderr, flush=True)
        same = all(o[k] == t[k] for o, t in zip(ours, theirs, strict=True) for k in SAME)
        mine, pm4py = (statistics.median([r["process_s"] for r in rs]) for rs in (ours, theirs))
        cost = statistics.median([r["cost_s"] for r in ours])
        # CPU seconds (all threads) move less with other processes' load than wall time.
        cpu = [statistics.median([r["process_cpu_s"] for r in rs]) for rs in (ours, theirs)]
        sort = [r["calibration_s"] for r in ours]
        formatting = statistics.median([r["format_s"] for r in theirs])
        line = (
            f"{name} | {mine:.2f} s ({_range(ours, 'process_s')}) | {cost:.2f} s "
            f"({_range(ours, 'cost_s')}) | {pm4py:.2f} s ({_range(theirs, 'process_s')}) | "
            f"{formatting:.2f} s | {pm4py / mine:.1f}x (CPU {cpu[1] / cpu[0]:.1f}x) | {same} | "
            f"sort {min(sort):.2f}-{max(sort):.2f} s, load {min(loads):.1f}-{max(loads):.1f}"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


SAME = ("variants", "edges", "count", "top")


def _range(results: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in results]
    return f"{min(values):.2f}-{max(values):.2f}"


def stage_spark(work: Path) -> list[str]:
    from analytics.io import load_path
    from analytics.reduce.run import reduce_loaded

    source = work / "sample"
    reduce_loaded(load_path(ROOT / "sample_data"), source)
    polars_out, spark_out = work / "sample_polars", work / "sample_spark"
    polars_out.mkdir()
    whole = _run(IN_MEMORY, str(source), str(polars_out))
    spark = _run(SPARK, str(source), str(spark_out))
    differ = [
        name
        for name, table in _tables(polars_out).items()
        if table.shape != pl.read_parquet(spark_out / "reduced" / f"{name}.parquet").shape
    ]
    return [
        f"sample company: {whole['events']:,} events, {whole['cases']:,} cases",
        f"  Polars in memory: {whole['reduce_s']:.1f} s (load {whole['load_s']:.1f} s), "
        f"peak RSS {whole['peak_mb']:,.0f} MB",
        f"  Spark local[2]: session {spark['session_s']:.1f} s, reduce {spark['reduce_s']:.1f} s, "
        f"repeat {spark['repeat_s']:.1f} s ({spark['repeat_s'] / whole['reduce_s']:.0f}x Polars)",
        "  table shapes equal: " + ("all" if not differ else f"NO: {differ}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stages", nargs="+", choices=("parts", "big", "spark", "orders"))
    parser.add_argument(
        "--venv", type=Path, default=Path(tempfile.gettempdir()) / "cx_radar_pm4py_venv"
    )
    parser.add_argument(
        "--big", type=Path, default=Path(tempfile.gettempdir()) / "cx_radar_100m" / "events.parquet"
    )
    parser.add_argument("--parts", type=int, default=10, help="parts for the 100 M run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each order and engine")
    parser.add_argument(
        "--orders", type=Path, default=None, help="where the ordered logs are (written once)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    for stage in args.stages:
        if stage == "parts":
            lines = stage_parts(work / "parts")
        elif stage == "big":
            lines = stage_big(work, args.big, args.parts)
        elif stage == "orders":
            lines = stage_orders(work, args.venv, args.runs, args.orders)
        else:
            lines = stage_spark(work)
        print("\n".join(lines), flush=True)
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()
