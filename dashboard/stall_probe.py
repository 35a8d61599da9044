"""A stall probe for the soak: how late the server's event loop runs, and why.

Off unless the launcher is started with ``CX_RADAR_STALL_PROBE=<file.json>``
(:mod:`dashboard.serve`; ``benchmarks/soak.py`` sets it). Inside the server process it keeps:

- **loop lag**: a 100 ms timer on the event loop (the one that answers ``/_stcore/health``,
  found as the first loop that runs a callback on the main thread) records how late each
  tick fires; a tick later than ``stall_s`` is a *stall*;
- **loop callbacks**: wall and CPU time of every callback the loop runs (work done on the
  loop's own thread), the slowest kept by name;
- **garbage collection**: every collection's generation, duration and CPU time
  (``gc.callbacks``);
- **threads**: CPU time per thread and the loop thread's wait for a CPU (Linux
  ``/proc/self/task/*/stat`` and ``schedstat``), so a stall splits into the loop's own work,
  its wait for a core (CPU starvation) and the rest (waiting for the GIL);
- **stacks**: during a stall, every 100 ms, the Python stacks of the loop thread and of the
  threads that used CPU since the last sample (the GIL's holders).

A summary (:func:`summarize`) is written to the file every few seconds and at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import json
import os
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV = "CX_RADAR_STALL_PROBE"
_TASKS = Path("/proc/self/task")
_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_STACK_DEPTH = 8
_SLOW_CALLBACK_S = 0.1
_KEEP = 10


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile as the soak reports health checks: the sorted value at index
    ``min(n - 1, floor(q * n))`` (the nearest rank above); ``None`` for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Stall:
    """One late tick: ``start`` (seconds since the probe started) and ``duration`` (how
    late), what the loop thread did meanwhile, and what the other threads did."""

    start: float
    duration: float
    loop_cpu_s: float = 0.0  # the loop thread's CPU time during the stall
    loop_runq_s: float = 0.0  # the loop thread's wait for a core (runnable, not running)
    gc_s: float = 0.0  # garbage collection inside the stall (stops every thread)
    threads_cpu_s: dict[str, float] = field(default_factory=dict)
    stacks: Counter[str] = field(default_factory=Counter)


def summarize(
    lateness: Sequence[float],
    gc_pauses: Sequence[tuple[int, float, float]],
    stalls: Sequence[Stall],
    callbacks: tuple[int, float, float],
    slow_callbacks: Sequence[tuple[float, float, str]],
    threads_cpu_s: dict[str, float],
    seconds: float,
    process_cpu_s: float,
) -> dict[str, Any]:
    """The probe's report: loop lag quantiles (:func:`percentile`), stalls and what they
    were made of, GC pauses by generation (wall and CPU seconds), the loop's own callbacks
    (count, wall s, CPU s), CPU by thread."""
    by_gen: dict[int, list[float]] = defaultdict(list)
    cpu_by_gen: dict[int, float] = defaultdict(float)
    for gen, pause, gc_cpu in gc_pauses:
        by_gen[gen].append(pause)
        cpu_by_gen[gen] += gc_cpu
    stacks: Counter[str] = Counter()
    for stall in stalls:
        stacks.update(stall.stacks)
    longest = sorted(stalls, key=lambda s: -s.duration)[:_KEEP]
    count, wall, cpu = callbacks

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 4)

    return {
        "seconds": round(seconds, 1),
        "process_cpu_s": round(process_cpu_s, 1),
        "ticks": len(lateness),
        "loop_lag_p50_s": r(percentile(lateness, 0.5)),
        "loop_lag_p99_s": r(percentile(lateness, 0.99)),
        "loop_lag_max_s": r(max(lateness, default=None)),
        "stalls": len(stalls),
        "stalled_s": r(sum(s.duration for s in stalls)),
        # Over all stalls: the loop thread's own CPU, its wait for a core, GC; the rest of a
        # stall's time the loop thread was runnable in Python terms but waiting for the GIL.
        "stalls_loop_cpu_s": r(sum(s.loop_cpu_s for s in stalls)),
        "stalls_loop_runq_s": r(sum(s.loop_runq_s for s in stalls)),
        "stalls_gc_s": r(sum(s.gc_s for s in stalls)),
        "gc": {
            str(gen): {
                "count": len(p),
                "total_s": r(sum(p)),
                "cpu_s": r(cpu_by_gen[gen]),
                "p99_s": r(percentile(p, 0.99)),
                "max_s": r(max(p)),
            }
            for gen, p in sorted(by_gen.items())
        },
        "loop_callbacks": {"count": count, "wall_s": r(wall), "cpu_s": r(cpu)},
        "slow_callbacks": [
            {"wall_s": r(w), "cpu_s": r(c), "callback": name}
            for w, c, name in sorted(slow_callbacks, key=lambda x: -x[0])[:_KEEP]
        ],
        # Threads alive at the end (a session's script thread ends with its run: its CPU is
        # in the process's, not here).
        "threads_cpu_s": {
            k: round(v, 2) for k, v in sorted(threads_cpu_s.items(), key=lambda kv: -kv[1])
        },
        "longest_stalls": [
            {
                "start_s": round(s.start, 1),
                "duration_s": r(s.duration),
                "loop_cpu_s": r(s.loop_cpu_s),
                "loop_runq_s": r(s.loop_runq_s),
                "gc_s": r(s.gc_s),
                "threads_cpu_s": dict(sorted(s.threads_cpu_s.items(), key=lambda kv: -kv[1])[:4]),
            }
            for s in longest
        ],
        "top_stall_stacks": [{"samples": n, "stack": k} for k, n in stacks.most_common(_KEEP)],
    }


def thread_group(name: str) -> str:
    """A thread's name without its number (``ThreadPoolExecutor-0_3`` and
    ``ThreadPoolExecutor-0_4`` are one group; the sessions' ``ScriptRunner.scriptThread``
    already share a name)."""
    return name.rstrip("0123456789").rstrip("-_") or name


def _read_task(tid: int | str) -> tuple[str, float, float] | None:
    """One thread of this process (Linux): (kernel name, CPU s, wait for a core s), or
    ``None`` when it has ended or there is no ``/proc``."""
    try:
        stat = (_TASKS / str(tid) / "stat").read_text()
        runq = int((_TASKS / str(tid) / "schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of stat (1-based), 12 and 13 after the name.
    return name, (int(fields[11]) + int(fields[12])) / _HZ, runq


def _read_tasks() -> dict[int, tuple[str, float, float]]:
    """Every thread of this process: native id -> :func:`_read_task`."""
    try:
        tids = os.listdir(_TASKS)
    except OSError:
        return {}
    return {int(t): v for t in tids if (v := _read_task(t)) is not None}


class Probe:
    """The probe in the server process: :meth:`install` once, before the server starts."""

    def __init__(self, out: Path, period_s: float = 0.1, stall_s: float = 0.25) -> None:
        self.out, self.period_s, self.stall_s = out, period_s, stall_s
        self.t0, self._cpu0 = time.perf_counter(), time.process_time()
        self.lateness: list[float] = []
        self.gc_pauses: list[tuple[int, float, float]] = []  # (generation, wall, CPU)
        self._gc_log: list[tuple[float, float]] = []  # (end, duration) for stalls' GC share
        self._gc_start: tuple[float, float] | None = None
        self.stalls: list[Stall] = []
        self.callbacks = [0, 0.0, 0.0]
        self.slow_callbacks: list[tuple[float, float, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_tid: int | None = None
        self._due = 0.0  # when the next tick should fire (perf_counter)
        self._lock = threading.Lock()

    # --- on the loop thread -------------------------------------------------------------
    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, now - self._due)
        self.lateness.append(late)
        self._due = now + self.period_s
        assert self._loop is not None
        self._loop.call_later(self.period_s, self._tick)

    def _start_ticks(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._loop_tid = loop, threading.get_native_id()
        self._due = time.perf_counter() + self.period_s
        loop.call_later(self.period_s, self._tick)

    def _patch_handles(self) -> None:
        run = asyncio.events.Handle._run
        probe = self

        def timed_run(handle: asyncio.events.Handle) -> None:
            if probe._loop is None and threading.current_thread() is threading.main_thread():
                probe._start_ticks(handle._loop)  # the server's loop: Streamlit runs it here
            wall, cpu = time.perf_counter(), time.thread_time()
            run(handle)
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            c = probe.callbacks
            c[0] += 1
            c[1] += wall
            c[2] += cpu
            if wall > _SLOW_CALLBACK_S:
                probe.slow_callbacks.append((wall, cpu, repr(handle)[:300]))

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]

    # --- anywhere -----------------------------------------------------------------------
    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if phase == "start":
            self._gc_start = now, cpu
        elif self._gc_start is not None:
            pause = now - self._gc_start[0]
            self.gc_pauses.append((info["generation"], pause, cpu - self._gc_start[1]))
            self._gc_log.append((now, pause))
            self._gc_start = None

    # --- the watchdog thread ------------------------------------------------------------
    def _names(self) -> dict[int, str]:
        return {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}

    def _sample(self, busy: set[int], names: dict[int, str], stall: Stall) -> None:
        idents = {t.native_id: t.ident for t in threading.enumerate()}
        frames = sys._current_frames()
        for tid in {*busy, self._loop_tid}:
            frame = frames.get(idents.get(tid, -1))
            if frame is None or tid == threading.get_native_id():
                continue
            innermost = traceback.StackSummary.extract(
                traceback.walk_stack(frame), limit=_STACK_DEPTH, lookup_lines=False
            )
            lines = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in innermost]
            role = "loop" if tid == self._loop_tid else thread_group(names.get(tid, "?"))
            stall.stacks[f"[{role}] " + " < ".join(lines)] += 1

    def _watch(self) -> None:
        """Every ``period_s``: the loop thread's CPU and wait (two small reads); in a stall
        also every thread's, to know which ran, and their stacks. Writes every 5 s."""
        first, last_write = _read_tasks(), time.perf_counter()
        loop_before: tuple[str, float, float] | None = None
        stall: Stall | None = None
        tick = 0  # the index, in ``lateness``, of the late tick that ends a stall
        at_start: dict[int, tuple[str, float, float]] = {}
        previous: dict[int, tuple[str, float, float]] = {}
        while True:
            time.sleep(self.period_s)
            now = time.perf_counter()
            ticks = len(self.lateness)  # read before the due time: a tick may come between
            late = now - self._due if self._loop is not None else 0.0
            if stall is None and late > self.stall_s:
                stall = Stall(start=self._due - self.t0, duration=0.0)
                tick, at_start = ticks, _read_tasks()
                previous = at_start
            if stall is not None:
                tasks = _read_tasks()
                busy = {t for t, v in tasks.items() if t in previous and v[1] > previous[t][1]}
                self._sample(busy, self._names(), stall)
                previous = tasks
                if late <= self.stall_s:  # the loop ticked again: close the stall
                    stall.duration = self.lateness[tick]
                    self._close(stall, loop_before, at_start, tasks)
                    stall = None
            else:
                if self._loop_tid is not None:
                    loop_before = _read_task(self._loop_tid)
                if self._gc_log and self._gc_log[0][0] < now - 2:
                    self._gc_log = [x for x in self._gc_log if x[0] >= now - 2]
            if now - last_write > 5:
                self.write(first)
                last_write = now

    def _close(
        self,
        stall: Stall,
        loop_before: tuple[str, float, float] | None,
        before: dict[int, tuple[str, float, float]],
        after: dict[int, tuple[str, float, float]],
    ) -> None:
        start = stall.start + self.t0
        names = self._names()
        loop_after = after.get(self._loop_tid or -1)
        if loop_before is not None and loop_after is not None:
            stall.loop_cpu_s = loop_after[1] - loop_before[1]
            stall.loop_runq_s = loop_after[2] - loop_before[2]
        for tid, (kname, cpu, _) in after.items():
            if tid in before and tid != self._loop_tid and cpu > before[tid][1]:
                group = thread_group(names.get(tid, kname))
                stall.threads_cpu_s[group] = round(
                    stall.threads_cpu_s.get(group, 0.0) + cpu - before[tid][1], 3
                )
        end = start + stall.duration
        stall.gc_s = sum(min(d, e - start) for e, d in self._gc_log if start < e <= end)
        self._gc_log = [x for x in self._gc_log if x[0] > end]
        with self._lock:
            self.stalls.append(stall)

    def write(self, first: dict[int, tuple[str, float, float]] | None = None) -> None:
        """Write :func:`summarize` of what was seen so far to the output file (atomically);
        threads' CPU counted from ``first`` (the probe's start)."""
        first = first if first is not None else getattr(self, "_first", {})
        last = _read_tasks()
        self._first = first
        names = self._names()
        threads: dict[str, float] = defaultdict(float)
        for tid, (kname, cpu, _) in last.items():
            base = first.get(tid, (kname, 0.0, 0.0))[1]
            role = "loop" if tid == self._loop_tid else thread_group(names.get(tid, kname))
            threads[role] += cpu - base
        with self._lock:
            report = summarize(
                list(self.lateness),
                list(self.gc_pauses),
                list(self.stalls),
                (self.callbacks[0], self.callbacks[1], self.callbacks[2]),
                list(self.slow_callbacks),
                dict(threads),
                time.perf_counter() - self.t0,
                time.process_time() - self._cpu0,
            )
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(self.out)

    def install(self) -> None:
        """Start measuring: GC callbacks, the loop's callbacks, the watchdog thread."""
        gc.callbacks.append(self._on_gc)
        self._patch_handles()
        threading.Thread(target=self._watch, name="cx-radar-stall-probe", daemon=True).start()
        atexit.register(self.write)


def install_from_env() -> Probe | None:
    """The probe if :data:`ENV` names an output file, installed; else nothing."""
    out = os.environ.get(ENV)
    if not out:
        return None
    probe = Probe(Path(out))
    probe.install()
    return probe
