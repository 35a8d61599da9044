"""Soak: browser sessions switching pages for a while against one server; stops by itself.

    .venv/bin/python benchmarks/soak.py [--sessions 10] [--minutes 3] [--data DIR]
                                        [--client-nice 10]

Starts ``streamlit run`` on a free port of 127.0.0.1 (on the sample company, or ``--data``),
opens ``--sessions`` headless Chromium pages that each visit every page in their own order,
again and again, until the time is up. Meanwhile ``/_stcore/health`` is polled twice a
second and the server's memory (with its children) is sampled. Prints one JSON object:
page visits, errors (an exception box on a page, a page that does not finish within
``--page-timeout``, a failed request), health-check latency p50 / p99 / max and failures,
and peak RSS. A deadlocked server shows as a dead health check and unfinished pages.

The browsers run on the server's machine here, which a team's users do not: ten headless
Chromiums drawing charts take more CPU than the server. ``--client-nice`` (default 10) runs
them at a lower priority, so the scheduler serves the server first, as separate machines
would; the health checks keep the server's priority. ``--client-nice 0`` runs everything
alike (the figures of both are in RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import psutil
from playwright.async_api import Page, async_playwright

from dashboard.local_server import app_server
from dashboard.nav import URLS, address

ROOT = Path(__file__).resolve().parent.parent
PAGES = [address(u) for u in URLS]
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage"]


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
                with urllib.request.urlopen(self.url, timeout=5) as answer:
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
    args = parser.parse_args()
    env = {**os.environ, **({"CX_RADAR_DATA": args.data} if args.data else {})}
    with app_server(env, logs=False) as (url, server):
        load_before = os.getloadavg()[0]
        monitor = Monitor(url, server.pid)
        monitor.start()
        # Linux nice values are per thread and inherited: the server and the monitor keep
        # theirs; this thread's browsers (and Playwright's driver) start at the lower one.
        os.nice(args.client_nice)
        started = time.monotonic()
        stats = asyncio.run(_soak(url, args.sessions, args.minutes * 60, args.page_timeout))
        monitor.stop.set()
        monitor.join()
        latencies = sorted(monitor.latencies)
        pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        by_page = {
            p: round(statistics.median(t for q, t in stats["visits"] if q == p), 2)
            for p in PAGES
            if any(q == p for q, _ in stats["visits"])
        }
        print(
            json.dumps(
                {
                    "sessions": args.sessions,
                    "client_nice": args.client_nice,
                    "seconds": round(time.monotonic() - started),
                    "visits": len(stats["visits"]),
                    "median_visit_s_by_page": by_page,
                    "errors": len(stats["errors"]),
                    "error_examples": stats["errors"][:5],
                    # Requests the browser gave up, by reason (leaving a page aborts its own).
                    "failed_requests": dict(Counter(stats["failed_requests"])),
                    "health_checks": len(latencies) + monitor.failures,
                    "health_failures": monitor.failures,
                    "health_p50_s": round(pct(0.5), 3) if latencies else None,
                    "health_p99_s": round(pct(0.99), 3) if latencies else None,
                    "health_max_s": round(latencies[-1], 3) if latencies else None,
                    "peak_rss_gb": round(monitor.peak_rss / 1e9, 2),
                    # Other work on the machine: the 1-minute load average before and after.
                    "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
