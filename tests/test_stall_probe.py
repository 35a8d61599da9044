"""The soak's stall probe (dashboard/stall_probe.py): its summary maths, and that in a real
event loop it sees a callback that holds the loop, with its stack and a full collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from dashboard.stall_probe import ENV, Stall, percentile, summarize, thread_group

ROOT = Path(__file__).resolve().parent.parent


def test_percentile_is_the_soaks_nearest_rank_above():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted; sorted 1..5, n = 5
    assert percentile(values, 0.5) == 3.0  # index floor(0.5 * 5) = 2
    assert percentile(values, 0.99) == 5.0  # index floor(4.95) = 4
    assert percentile(values, 0.0) == 1.0
    assert percentile([0.2, 0.1], 0.99) == 0.2  # index min(1, floor(1.98)) = 1
    assert percentile([], 0.5) is None


def test_thread_groups_drop_the_number():
    assert thread_group("ThreadPoolExecutor-0_3") == "ThreadPoolExecutor-0"
    assert thread_group("polars-12") == "polars"
    assert thread_group("ScriptRunner.scriptThread") == "ScriptRunner.scriptThread"


def test_summary_of_a_hand_made_run():
    short = Stall(start=3.0, duration=0.5, loop_cpu_s=0.1, loop_runq_s=0.2, gc_s=0.0)
    short.stacks.update({"[loop] a": 2, "[ScriptRunner.scriptThread] b": 1})
    long = Stall(start=9.0, duration=2.0, loop_cpu_s=0.3, loop_runq_s=1.0, gc_s=0.4)
    long.threads_cpu_s.update({"polars": 0.5, "ScriptRunner.scriptThread": 1.2})
    long.stacks.update(Counter({"[loop] a": 3}))
    report = summarize(
        lateness=[0.01, 2.0, 0.0, 0.5],  # sorted 0, 0.01, 0.5, 2.0
        gc_pauses=[(0, 0.001, 0.001), (2, 0.3, 0.25), (0, 0.003, 0.002), (2, 0.1, 0.1)],
        stalls=[short, long],
        callbacks=(100, 4.0, 1.5),
        slow_callbacks=[(0.2, 0.01, "x"), (3.0, 0.5, "y")],
        threads_cpu_s={"loop": 1.0, "polars": 7.0},
        seconds=60.0,
        process_cpu_s=42.0,
    )
    assert (report["seconds"], report["process_cpu_s"]) == (60.0, 42.0)
    assert (report["ticks"], report["loop_lag_p50_s"]) == (4, 0.5)  # index 2
    assert (report["loop_lag_p99_s"], report["loop_lag_max_s"]) == (2.0, 2.0)  # index 3
    assert (report["stalls"], report["stalled_s"]) == (2, 2.5)
    assert report["stalls_loop_cpu_s"] == 0.4  # 0.1 + 0.3
    assert report["stalls_loop_runq_s"] == 1.2  # 0.2 + 1.0
    assert report["stalls_gc_s"] == 0.4
    assert report["gc"] == {
        "0": {"count": 2, "total_s": 0.004, "cpu_s": 0.003, "p99_s": 0.003, "max_s": 0.003},
        "2": {"count": 2, "total_s": 0.4, "cpu_s": 0.35, "p99_s": 0.3, "max_s": 0.3},
    }
    assert report["loop_callbacks"] == {"count": 100, "wall_s": 4.0, "cpu_s": 1.5}
    assert [c["callback"] for c in report["slow_callbacks"]] == ["y", "x"]  # slowest first
    assert list(report["threads_cpu_s"]) == ["polars", "loop"]
    assert [s["duration_s"] for s in report["longest_stalls"]] == [2.0, 0.5]
    assert report["longest_stalls"][0]["threads_cpu_s"] == {
        "ScriptRunner.scriptThread": 1.2,
        "polars": 0.5,
    }
    assert report["top_stall_stacks"] == [
        {"samples": 5, "stack": "[loop] a"},
        {"samples": 1, "stack": "[ScriptRunner.scriptThread] b"},
    ]


# A loop on the main thread, as Streamlit's server runs it: one callback keeps the loop
# busy for 1 s in Python (the GIL handed round, so the watchdog can sample), one runs a
# full collection; then the loop idles a little and the probe writes its report.
_SCRIPT = """
import asyncio, gc, time
from dashboard import stall_probe
probe = stall_probe.install_from_env()

def hold_the_loop():
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        pass

async def main():
    await asyncio.sleep(0.5)
    asyncio.get_running_loop().call_soon(hold_the_loop)
    await asyncio.sleep(0.5)
    gc.collect()
    await asyncio.sleep(0.5)

asyncio.run(main())
probe.write()
"""


def test_the_probe_sees_a_stall_on_the_loop_with_its_stack(tmp_path):
    out = tmp_path / "probe.json"
    subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env={**os.environ, ENV: str(out)},
        check=True,
        timeout=120,
    )
    report = json.loads(out.read_text())
    # The 1 s hold, less at most one 100 ms period: the tick came due somewhere in it.
    assert report["loop_lag_max_s"] >= 0.9
    assert report["stalls"] >= 1 and report["longest_stalls"][0]["duration_s"] >= 0.9
    # In the hold the loop thread ran, or waited for a core (a loaded machine), or for the
    # GIL while the probe's own thread sampled stacks: the first two at least half of it.
    stall = report["longest_stalls"][0]
    assert stall["loop_cpu_s"] > 0.1 and stall["loop_cpu_s"] + stall["loop_runq_s"] >= 0.5
    assert "hold_the_loop" in report["slow_callbacks"][0]["callback"]
    assert report["slow_callbacks"][0]["wall_s"] >= 1.0
    stacks = [s["stack"] for s in report["top_stall_stacks"]]
    assert any(s.startswith("[loop] ") and "hold_the_loop" in s for s in stacks)
    assert report["gc"]["2"]["count"] >= 1


def test_the_probe_is_off_unless_asked_for():
    code = (
        "import asyncio, gc; from dashboard import stall_probe; "
        "print(stall_probe.install_from_env(), asyncio.events.Handle._run.__name__, "
        "len(gc.callbacks))"
    )
    env = {k: v for k, v in os.environ.items() if k != ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.stdout.split() == ["None", "_run", "0"]
