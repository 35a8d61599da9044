"""What the browser tests and the screenshots share: Debian's Chromium with the flags it
needs here, the app on a local port, and a wait for a page to settle.

Playwright drives Debian's Chromium (`make test` installs it through apt when missing);
Playwright's own browser download cannot work offline.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, expect

from dashboard.local_server import app_server

# expect() has its own 5 s default; a page's first run on a busy 2-core machine takes longer
# (and `make test` runs two workers at once).
expect.set_options(timeout=180_000)

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launch(p: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: run `make test`, which installs it"
    return p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)


@contextmanager
def serve(data_dir: Path | None = None) -> Iterator[str]:
    """The app on ``data_dir`` (else the sample company): its URL, for as long as the block
    lasts."""
    env = {**os.environ, **({"CX_RADAR_DATA": str(data_dir)} if data_dir else {})}
    with app_server(env) as (url, _):
        yield url


# The app's root says whether a script runs (Streamlit sets it at once, unlike the status
# widget, which shows after a delay and not at all with some toolbar settings).
_RUNNING = ", ".join(
    f"[data-testid=stApp][data-test-script-state={state}]"
    for state in ("initial", "running", "rerunRequested")
)


def settled(page: Page, quiet_s: float = 1.0, limit_s: float = 60.0) -> None:
    """Wait until no script has run and neither the running indicator nor a spinner has
    shown for ``quiet_s``: the indicators appear only after a short delay, so their absence
    at one instant proves nothing."""
    quiet_since = start = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        if time.monotonic() - start > limit_s:
            raise TimeoutError(f"{page.url} still running after {limit_s:.0f} s")
        busy = (
            page.locator(_RUNNING).count()
            + page.get_by_test_id("stStatusWidget").count()
            + page.get_by_test_id("stSpinner").count()
        )
        if busy:
            quiet_since = time.monotonic()
        time.sleep(0.25)
