"""Soak: browser sessions switching pages for a while against one server; stops by itself.

    .venv/bin/python benchmarks/soak.py [--sessions 10] [--minutes 3] [--data DIR]
                                        [--client-nice 10] [--no-probe]

Starts ``streamlit run`` on a free port of 127.0.0.1 (on the sample company, or ``--data``),
opens ``--sessions`` headless Chromium pages that each visit every page in their own order,
again and again, until the time is up. Meanwhile ``/_stcore/health`` is polled twice a
second and the server's memory (with its children) is sampled. Prints one JSON object:
page visits, errors (an exception box on a page, a page that does not finish within
``--page-timeout``, a failed request), health-check latency p50 / p99 / max and failures
(a check that times out counts as its 5 s timeout), peak RSS, and the machine's load (the
load average and a numpy sort of 10 M floats, before and after). A deadlocked server shows
as a dead health check and unfinished pages.

The server runs with the stall probe (:mod:`dashboard.stall_probe`; ``--no-probe`` without):
its report, under ``probe``, gives the event loop's lag, what each stall was made of (the
loop thread's own CPU, its wait for a core, garbage collection, the other threads' CPU),
the slowest loop callbacks and the stacks sampled in stalls.

The browsers run on the server's machine here, which a team's users do not: ten headless
Chromiums drawing charts take more CPU than the server. ``--client-nice`` (default 10) runs
them at a lower priority, so the scheduler serves the server first, as separate machines
would; the health checks keep the server's priority, and Chromium is kept from raising its
own threads back above the server (:func:`keep_children_niced`). ``--client-nice 0`` runs
everything alike (the figures of both are in RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import psutil
from playwright.async_api import Page, async_playwright

from dashboard import stall_probe
from dashboard.local_server import app_server
from dashboard.nav import URLS, address

ROOT = Path(__file__).resolve().parent.parent
PAGES = [address(u) for u in URLS]
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage"]


HEALTH_TIMEOUT_S = 5.0


def sort_seconds() -> float:
    """Seconds to sort 10 M random floats with numpy: how busy the machine is."""
    values = np.random.default_rng(0).random(10_000_000)
    started = time.perf_counter()
    np.sort(values)
    return round(time.perf_counter() - started, 3)


def keep_children_niced() -> None:
    """Chromium raises its GPU process and display threads to nice -8 when it may, as root
    may (CAP_SYS_NICE): above the server, whatever ``--client-nice`` says. Drop that
    capability from what this thread's children can hold (Linux, ``PR_CAPBSET_DROP``);
    without root there is nothing to drop and Chromium cannot raise them anyway."""
    pr_capbset_drop, cap_sys_nice = 24, 23
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_capbset_drop, cap_sys_nice, 0, 0, 0)


class Monitor(threading.Thread):
    """Health-check latency and the server tree's resident memory, twice a second."""

    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.url, self.process = f"{url}/_stcore/health", psutil.Process(pid)
        self.latencies: list[float] = []
        self.failures = 0
        self.peak_rss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=HEALTH_TIMEOUT_S) as answer:
                    answer.read()
                self.latencies.append(time.perf_counter() - started)
            except OSError:
                self.failures += 1
            tree = [self.process, *self.process.children(recursive=True)]
            rss = 0
            for proc in tree:
                with contextlib.suppress(psutil.Error):  # a child that just ended
                    rss += proc.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            self.stop.wait(0.5)


async def _finished(page: Page, limit_s: float) -> bool:
    """The page's script has run: a heading, then no running indicator for a second."""
    deadline = time.monotonic() + limit_s
    try:
        await page.locator("h1").first.wait_for(timeout=limit_s * 1000)
    except Exception:
        return False
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 1.0:
        if time.monotonic() > deadline:
            return False
        busy = await page.get_by_test_id("stStatusWidget").count()
        busy += await page.get_by_test_id("stSpinner").count()
        if busy:
            quiet_since = time.monotonic()
        await asyncio.sleep(0.25)
    return True


async def _session(browser, url: str, seed: int, until: float, limit_s: float, stats: dict) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.on("requestfailed", lambda r: stats["failed_requests"].append(r.failure or "?"))
    order = random.Random(seed)
    while time.monotonic() < until:
        path = order.choice(PAGES)
        started = time.perf_counter()
        try:
            await page.goto(f"{url}/{path}", timeout=limit_s * 1000)
        except Exception:
            stats["errors"].append(f"{path}: navigation failed")
            continue
        if not await _finished(page, limit_s):
            stats["errors"].append(f"{path}: not finished within {limit_s:.0f} s")
            continue
        if await page.get_by_test_id("stException").count():
            stats["errors"].append(f"{path}: exception shown")
        stats["visits"].append((path, time.perf_counter() - started))
    await context.close()


async def _soak(url: str, sessions: int, seconds: float, limit_s: float) -> dict:
    stats: dict = {"visits": [], "errors": [], "failed_requests": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(_session(browser, url, s, until, limit_s, stats) for s in range(sessions))
        )
        await browser.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--page-timeout", type=float, default=180.0)
    parser.add_argument("--data", help="data folder (default: the sample company)")
    parser.add_argument("--client-nice", type=int, default=10, help="the browsers' nice value")
    parser.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help="without the stall probe in the server (dashboard/stall_probe.py)",
    )
    args = parser.parse_args()
    probe_file = Path(tempfile.mkdtemp(prefix="cx-soak-")) / "stall_probe.json"
    env = {
        **os.environ,
        **({"CX_RADAR_DATA": args.data} if args.data else {}),
        **({stall_probe.ENV: str(probe_file)} if args.probe else {}),
    }
    sort_before = sort_seconds()
    with app_server(env, logs=False) as (url, server):
        load_before = os.getloadavg()[0]
        monitor = Monitor(url, server.pid)
        monitor.start()
        # Linux nice values are per thread and inherited: the server and the monitor keep
        # theirs; this thread's browsers (and Playwright's driver) start at the lower one.
        os.nice(args.client_nice)
        keep_children_niced()
        started = time.monotonic()
        stats = asyncio.run(_soak(url, args.sessions, args.minutes * 60, args.page_timeout))
        monitor.stop.set()
        monitor.join()
        seconds = time.monotonic() - started
        load_after = os.getloadavg()[0]
    # A check that timed out counts as the timeout: a dead server must not improve the p99.
    latencies = monitor.latencies + [HEALTH_TIMEOUT_S] * monitor.failures
    pct = lambda q: stall_probe.percentile(latencies, q)  # noqa: E731
    by_page = {
        p: round(statistics.median(t for q, t in stats["visits"] if q == p), 2)
        for p in PAGES
        if any(q == p for q, _ in stats["visits"])
    }
    report = {
        "sessions": args.sessions,
        "client_nice": args.client_nice,
        "seconds": round(seconds),
        "visits": len(stats["visits"]),
        "median_visit_s_by_page": by_page,
        "errors": len(stats["errors"]),
        "error_examples": stats["errors"][:5],
        # Requests the browser gave up, by reason (leaving a page aborts its own).
        "failed_requests": dict(Counter(stats["failed_requests"])),
        "health_checks": len(latencies),
        "health_failures": monitor.failures,
        "health_p50_s": round(pct(0.5), 3) if latencies else None,
        "health_p99_s": round(pct(0.99), 3) if latencies else None,
        "health_max_s": round(max(latencies), 3) if latencies else None,
        "peak_rss_gb": round(monitor.peak_rss / 1e9, 2),
        # Other work on the machine: the 1-minute load average before and after, and a
        # numpy sort of 10 M floats before and after (0.15-0.2 s on this VM when quiet).
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "sort_10m_s": [sort_before, sort_seconds()],
    }
    if args.probe:
        with contextlib.suppress(OSError, ValueError):  # a server that died wrote none
            report["probe"] = json.loads(probe_file.read_text())
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
