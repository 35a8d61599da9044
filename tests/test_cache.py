"""The disk cache (analytics.cache): hits, misses, corrupt entries, concurrency, the size
bound, and a restart that recomputes nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from analytics import cache as cache_module
from analytics.cache import MAGIC, DiskCache, decode, encode, load_cached
from analytics.io import load_path

APP = "../dashboard/app.py"


@dataclass(frozen=True)
class Result:
    """A result shaped like the engine's: frames inside a frozen dataclass."""

    cases: pl.DataFrame
    parts: tuple[pl.DataFrame, ...]
    note: str
    score: float


def _frame() -> pl.DataFrame:
    # Unsorted rows, a null, a tie, a datetime with a zone, a list and an enum column.
    return pl.DataFrame(
        {
            "case_id": ["b", "a", "c", "a"],
            "start": [
                dt.datetime(2024, 3, 2, 10, 0),
                dt.datetime(2024, 3, 1, 9, 30),
                None,
                dt.datetime(2024, 3, 1, 9, 30),
            ],
            "cost": [12.5, None, 0.0, 3.25],
            "path": [["request", "bot"], ["request"], [], ["request", "resolved"]],
            "channel": pl.Series(
                ["phone", "chat", "chat", "phone"], dtype=pl.Enum(["chat", "phone"])
            ),
        }
    ).with_columns(pl.col("start").dt.replace_time_zone("Europe/Moscow"))


class Counter:
    """A computation that counts its runs."""

    def __init__(self, value: object = 42) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_second_call_is_a_hit(tmp_path: Path) -> None:
    cache, compute = DiskCache(tmp_path), Counter()
    assert cache.get_or_compute("h1", "f", (1, "x"), compute) == 42
    assert cache.get_or_compute("h1", "f", (1, "x"), compute) == 42
    assert compute.calls == 1
    assert (cache.stats.misses, cache.stats.hits, cache.stats.writes) == (1, 1, 1)


def test_changed_content_parameters_name_or_code_miss(tmp_path: Path) -> None:
    cache, compute = DiskCache(tmp_path, version="v1"), Counter()
    cache.get_or_compute("h1", "f", (1,), compute)
    cache.get_or_compute("h2", "f", (1,), compute)  # another dataset content
    cache.get_or_compute("h1", "f", (2,), compute)  # other parameters
    cache.get_or_compute("h1", "g", (1,), compute)  # another function
    DiskCache(tmp_path, version="v2").get_or_compute("h1", "f", (1,), compute)  # other code
    assert compute.calls == 5


def test_a_restart_computes_nothing(tmp_path: Path) -> None:
    first, compute = DiskCache(tmp_path), Counter(Result(_frame(), (_frame().head(1),), "n", 0.5))
    made = first.get_or_compute("h", "risk.train", (), compute)
    again = DiskCache(tmp_path)  # a new process on the same directory
    loaded = again.get_or_compute("h", "risk.train", (), compute)
    assert compute.calls == 1 and again.stats.misses == 0 and again.stats.hits == 1
    assert_frame_equal(loaded.cases, made.cases)
    assert_frame_equal(loaded.parts[0], made.parts[0])
    assert (loaded.note, loaded.score) == ("n", 0.5)


def test_frames_are_stored_as_parquet_and_round_trip_exactly() -> None:
    frame = _frame()
    empty = frame.clear()
    value = {"result": Result(frame, (empty, frame), "note", 1.0), "rows": [1, 2]}
    data = encode(value)
    assert data.startswith(MAGIC)
    assert data.count(b"PAR1") == 2 * 3  # each of the three frames opens and closes with it
    back = decode(data)
    assert_frame_equal(back["result"].cases, frame)  # dtypes included (enum, zone, list)
    assert_frame_equal(back["result"].parts[0], empty)
    assert back["result"].parts[1].schema == frame.schema
    assert back["rows"] == [1, 2]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_entry_is_recomputed_and_rewritten(tmp_path: Path, damage: str) -> None:
    cache, compute = DiskCache(tmp_path), Counter(Result(_frame(), (), "n", 0.5))
    cache.get_or_compute("h", "f", (), compute)
    (entry,) = (tmp_path / "entries").glob("*.cxr")
    data = entry.read_bytes()
    entry.write_bytes({"garbage": b"\x80\x04junk", "truncated": data[:-40], "empty": b""}[damage])
    fresh = DiskCache(tmp_path)
    value = fresh.get_or_compute("h", "f", (), compute)
    assert compute.calls == 2 and fresh.stats.failures == 1
    assert_frame_equal(value.cases, _frame())
    assert decode(entry.read_bytes()).note == "n"  # rewritten whole


def test_what_cannot_be_stored_is_still_returned(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    value = cache.get_or_compute("h", "f", (), lambda: lambda x: x + 1)  # a lambda: no pickle
    assert value(1) == 2 and cache.stats.failures == 1
    assert not list((tmp_path / "entries").glob("*.cxr"))
    assert not list((tmp_path / "entries").glob("*.tmp"))


def test_parameters_printed_with_an_address_are_not_stored(tmp_path: Path) -> None:
    cache, compute = DiskCache(tmp_path), Counter()
    cache.get_or_compute("h", "f", (object(),), compute)
    cache.get_or_compute("h", "f", (object(),), compute)
    assert compute.calls == 2 and cache.stats.writes == 0


def test_failures_of_the_computation_propagate_and_are_not_cached(tmp_path: Path) -> None:
    cache, calls = DiskCache(tmp_path), []

    def fails() -> int:
        calls.append(1)
        raise ValueError("too little history")

    for _ in range(2):
        with pytest.raises(ValueError, match="too little history"):
            cache.get_or_compute("h", "f", (), fails)
    assert len(calls) == 2


def test_an_unusable_directory_turns_the_disk_layer_off(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache, compute = DiskCache(blocker), Counter()
    assert cache.get_or_compute("h", "f", (), compute) == 42
    assert cache.get_or_compute("h", "f", (), compute) == 42
    assert compute.calls == 2 and cache.entries is None


def test_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    payload = b"x" * 10_000
    size = len(encode(payload))
    cache = DiskCache(tmp_path, max_bytes=3 * size)  # room for three entries
    for name in ("a", "b", "c"):
        cache.get_or_compute("h", name, (), lambda: payload)
        time.sleep(0.02)  # distinct modification times
    cache.get_or_compute("h", "a", (), Counter())  # a hit: "a" becomes the most recent
    time.sleep(0.02)
    cache.get_or_compute("h", "d", (), lambda: payload)  # over the bound: "b" goes
    assert cache.size() <= 3 * size
    counters = {name: Counter() for name in "acdb"}  # b last: storing it evicts again
    for name, counter in counters.items():
        cache.get_or_compute("h", name, (), counter)
    assert counters["b"].calls == 1
    assert counters["a"].calls == counters["c"].calls == counters["d"].calls == 0


def test_clear_empties_the_directory(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    for name in "ab":
        cache.get_or_compute("h", name, (), Counter())
    assert cache.clear() >= 2 and cache.size() == 0


# Each caller marks that it started; the computation waits until all have, so every other
# caller arrives while it runs (and must wait for it rather than compute again).
CALLER = """
import sys, time
from pathlib import Path
from analytics.cache import DiskCache

root, log, name, callers = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def slow():
    with log.open("a") as out:
        out.write("computed\\n")
    deadline = time.monotonic() + 120
    while len(list(log.parent.glob("started-*"))) < callers and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return 7

(log.parent / f"started-{name}").touch()
print(DiskCache(root).get_or_compute("h", "slow", (), slow))
"""


def test_concurrent_processes_compute_once(tmp_path: Path) -> None:
    root, log = str(tmp_path / "cache"), str(tmp_path / "log")
    callers = [
        subprocess.Popen(
            [sys.executable, "-c", CALLER, root, log, str(i), "4"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outputs = [caller.communicate(timeout=300)[0].strip() for caller in callers]
    assert outputs == ["7"] * 4
    assert Path(log).read_text() == "computed\n"  # one computation among four processes
    assert len(list(Path(root, "entries").glob("*.cxr"))) == 1
    assert not list(Path(root, "entries").glob("*.tmp"))


def test_concurrent_threads_compute_once(tmp_path: Path) -> None:
    started, computed, lock = [], [], threading.Lock()

    def slow() -> int:
        computed.append(1)
        while len(started) < 4:  # everyone else is waiting on the entry meanwhile
            time.sleep(0.01)
        time.sleep(0.2)
        return 7

    def call(results: list[int]) -> None:
        with lock:
            started.append(1)
        results.append(DiskCache(tmp_path).get_or_compute("h", "slow", (), slow))

    results: list[int] = []
    threads = [threading.Thread(target=call, args=(results,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [7] * 4 and computed == [1]


def test_loading_the_sample_from_the_cache(small_dir: Path, tmp_path: Path, monkeypatch) -> None:
    first = load_cached(small_dir, DiskCache(tmp_path))
    expected = load_path(small_dir)
    assert first.content_hash == expected.content_hash
    calls = []
    monkeypatch.setattr("analytics.io.load_sources", lambda *a, **k: calls.append(1))
    again = load_cached(small_dir, DiskCache(tmp_path))  # a restart: nothing parsed
    assert calls == []
    assert again.content_hash == expected.content_hash
    assert_frame_equal(again.events, expected.events)
    assert_frame_equal(again.customers, expected.customers)
    assert again.report.to_dict() == expected.report.to_dict()


def test_default_cache_follows_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CX_RADAR_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("CX_RADAR_CACHE_MB", "5")
    made = cache_module.default_cache()
    assert made.entries == tmp_path / "c" / "entries" and made.max_bytes == 5 * 2**20
    monkeypatch.setenv("CX_RADAR_CACHE", "off")
    assert cache_module.default_cache().entries is None


def test_app_restart_recomputes_nothing(small_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The Overview twice with Streamlit's caches cleared between (a restarted server):
    the second run reads every engine result from disk and computes none."""
    import streamlit as st

    from dashboard import state

    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    monkeypatch.setenv("CX_RADAR_CACHE", str(tmp_path / "own"))  # empty: not the run's
    first = AppTest.from_file(APP, default_timeout=300).run()
    assert not first.exception
    cold = state.disk_cache().stats
    assert cold.misses > 3 and cold.writes == cold.misses and cold.failures == 0
    st.cache_resource.clear()
    st.cache_data.clear()
    second = AppTest.from_file(APP, default_timeout=300).run()
    assert not second.exception
    warm = state.disk_cache().stats
    # Fewer hits than writes: a cached whole (the escalation inputs) holds its own steps.
    assert warm.misses == 0 and 0 < warm.hits <= cold.writes
    assert [m.value for m in second.metric] == [m.value for m in first.metric]


def test_warming_fills_both_positions_of_a_heavy_switch(
    small_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """``dashboard.warm`` runs the Cost page with its self-loop toggle flipped too: after a
    restart, flipping it reads every engine result from disk and computes none."""
    import io

    import streamlit as st

    from dashboard import state, warm

    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    monkeypatch.setenv("CX_RADAR_CACHE", str(tmp_path / "own"))
    assert warm.warm(("cost",), out=io.StringIO())["cost"] > 0  # negative: the page failed
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("app_pages/cost.py").run()
    switch = at.toggle(key="cost_collapse")
    switch.set_value(not switch.value).run()
    assert not at.exception
    stats = state.disk_cache().stats
    assert stats.misses == 0 and stats.hits > 0 and stats.failures == 0
