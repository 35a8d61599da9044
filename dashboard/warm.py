"""Fill the disk cache for the built-in data before the server starts (``make run`` does):
``python -m dashboard.warm``.

It opens every page once, headless (Streamlit's AppTest), with the default widget values a
first visit has, so the cache holds exactly what the pages ask for and no list of engine
calls is kept twice. A second run on the same data and code finds its own marker and
returns at once. Best effort: a page that fails is named and the rest still run; the exit
status is 0 unless nothing could be loaded, so the app always starts.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent / "app.py"
# The Overview first, as a visit starts there; then the others.
_OTHERS = (p.stem for p in (APP.parent / "app_pages").glob("*.py") if p.stem[0] != "_")
PAGES = ("overview", *sorted(set(_OTHERS) - {"overview"}))
TIMEOUT_S = 1800.0  # one page's first run on a large dataset and a busy machine
# Switches whose other position starts a new engine pass (the Cost page's self-loop toggle
# reruns the whole cost pass: 4-15 s on the sample): warmed in both positions, so that
# flipping one answers from the cache. (page, AppTest widget kind, key)
FLIPS = (("cost", "toggle", "cost_collapse"),)


def _app_digest() -> str:
    """The app's own files: a changed page warms again (the engine is in the code version)."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(APP.parent.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def warm(pages: tuple[str, ...] = PAGES, out: object = sys.stdout) -> dict[str, float]:
    """Run each page once; returns seconds per page (a failed page: negative)."""
    from streamlit.testing.v1 import AppTest

    seconds: dict[str, float] = {}
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    for page in pages:
        start = time.perf_counter()
        try:
            at.switch_page(f"app_pages/{page}.py").run()
            failed = bool(at.exception) or not _flipped(at, page)
        except Exception:  # a timeout or a script that never finishes: go on
            failed = True
        taken = time.perf_counter() - start
        seconds[page] = -taken if failed else taken
        print(f"  {page:<12} {taken:6.1f} s{'  (failed)' if failed else ''}", file=out)
    return seconds


def _flipped(at: AppTest, page: str) -> bool:
    """Run ``page`` with each of its :data:`FLIPS` in the other position, then back; False
    if a run failed. A switch the page does not show (another data shape) is left alone."""
    for _, kind, key in (f for f in FLIPS if f[0] == page):
        try:
            switch = getattr(at, kind)(key=key)
        except KeyError:
            continue
        shown = switch.value
        switch.set_value(not shown).run()
        if at.exception:
            return False
        getattr(at, kind)(key=key).set_value(shown).run()
    return not at.exception


class _Incomplete(Exception):
    """Some page failed: no marker is stored, so the next start tries again."""

    def __init__(self, seconds: dict[str, float]) -> None:
        super().__init__("some pages failed")
        self.seconds = seconds


def main() -> int:
    # The pages must not touch a real escalation store (the Escalations page records what
    # it shows): a throwaway one.
    os.environ["CX_RADAR_STATE"] = str(Path(tempfile.mkdtemp()) / "warm_state.sqlite")
    from analytics.cache import default_cache, load_cached
    from dashboard.state import sample_dir

    cache = default_cache()
    if cache.entries is None:
        print("cx-radar warm: the disk cache is off (CX_RADAR_CACHE); nothing to do")
        return 0
    start = time.perf_counter()
    dataset = load_cached(sample_dir(), cache)
    if not dataset.report.usable:
        print(f"cx-radar warm: {sample_dir()} holds no usable data", file=sys.stderr)
        return 1
    ran: list[bool] = []

    def run_pages() -> dict[str, float]:
        ran.append(True)
        print(f"cx-radar warm: filling {cache.entries} for {dataset.name}")
        seconds = warm()
        if any(s < 0 for s in seconds.values()):
            raise _Incomplete(seconds)
        return seconds

    try:
        cache.get_or_compute(dataset.content_hash, "dashboard.warm", (_app_digest(),), run_pages)
        failed = ""
    except _Incomplete as exc:
        failed = "; failed pages: " + ", ".join(p for p, s in exc.seconds.items() if s < 0)
    state = "warmed" if ran else "already warm"
    took = time.perf_counter() - start
    print(f"cx-radar warm: {state} in {took:.1f} s; cache {cache.size() / 2**20:.0f} MB{failed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
