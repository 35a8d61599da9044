"""Shared fixtures: a small generated company on disk, and clean Streamlit caches."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest
from hypothesis import settings

from analytics.sample import SampleCompany, generate

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_data"
# What issue 6 asks every alert to carry, at least.
ALERT_KEYS = ("id", "severity", "status", "zone", "money_at_stake", "owner", "action", "evidence")

# No per-example deadline: this 2-core VM runs 2-7x slower at times, and a property that
# held on every example must not fail on how long one of them took (the examples stay
# bounded by each test's max_examples).
settings.register_profile("cx_radar", deadline=None)
settings.load_profile("cx_radar")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The browser tests first (a stable sort: files and their order kept): they are the
    # longest files, so with `make test`'s two workers none of them starts last and runs
    # alone while the other worker sits idle.
    items.sort(key=lambda item: item.get_closest_marker("browser") is None)


@pytest.fixture(scope="session")
def small_company() -> SampleCompany:
    return generate(customers=600, months=3, seed=11)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory, small_company: SampleCompany) -> Path:
    out = tmp_path_factory.mktemp("small_company")
    small_company.write(out)
    return out


@pytest.fixture(autouse=True)
def _own_state_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Escalations page reads and writes CX_RADAR_STATE; never a store in the checkout.
    monkeypatch.setenv("CX_RADAR_STATE", str(tmp_path / "cx_radar_state.sqlite"))


@pytest.fixture(scope="session", autouse=True)
def _one_disk_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The app's disk cache (analytics.cache): one for the run, as a server keeps one across
    # restarts, so a result computed for one test's data serves the next (keys hold the
    # content hash, function, parameters and code); never .cx_radar_cache in the checkout.
    # Set before any module's fixtures, so the browser tests' servers share it too; the
    # tests of the cache itself set their own. Under pytest-xdist (`make test`) the workers
    # share one: the cache computes each key once across processes (a lock per key).
    if os.environ.get("PYTEST_XDIST_WORKER"):
        cache = tmp_path_factory.getbasetemp().parent / "cx_radar_cache"
        cache.mkdir(exist_ok=True)
    else:
        cache = tmp_path_factory.mktemp("cx_radar_cache")
    os.environ["CX_RADAR_CACHE"] = str(cache)


@pytest.fixture(autouse=True)
def _clear_streamlit_caches() -> None:
    # AppTest shares Streamlit's caches between tests; each test starts clean.
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def lang() -> Iterator[Callable[[str], None]]:
    """``lang(code)``: the language every module reads from here to the test's end."""
    from dashboard import i18n  # the engine's tests need no dashboard

    with contextlib.ExitStack() as pins:
        yield lambda code: pins.enter_context(i18n.pinned(code))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every browser test (each test opens its own context)."""
    from playwright.sync_api import sync_playwright

    from tests.web import launch

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def sample_server() -> Iterator[str]:
    """The app on the committed sample company, one server for the browser tests that read
    it (the Russian walk, the layout at two window sizes)."""
    from tests.web import serve

    with serve(SAMPLE_DIR) as url:
        yield url


class _Flaky(BaseHTTPRequestHandler):
    """A webhook that answers 503 to its first ``fail_first`` POSTs, then records them."""

    fail_first: ClassVar[int] = 0
    received: ClassVar[list[dict]] = []
    calls: ClassVar[int] = 0

    def do_POST(self) -> None:  # http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls += 1
        if type(self).calls <= type(self).fail_first:
            self.send_response(503)
            self.end_headers()
            return
        type(self).received.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Flaky]]]:
    """(URL, handler class) of a local webhook server for this test."""
    handler = type("Handler", (_Flaky,), {"fail_first": 0, "received": [], "calls": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", handler
    server.shutdown()
