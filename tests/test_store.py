"""The SQLite state store: round trips, the one-time JSON import, refusal of damaged or
foreign files (never a reset), and concurrent runs that lose nothing (issue 16)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from analytics.cli import main
from analytics.escalation import Inputs, Rules, record_run
from analytics.store import Store, StoreError, idempotency_key

T0 = dt.datetime(2026, 1, 5, 9, 0)
ROOT = Path(__file__).resolve().parent.parent
RULES = Rules.from_toml(
    """
[[rule]]
id = "at-risk"
signal = "customer_risk"
min_probability = 0.5
severity = "high"
owner = "retention"
action = "call back"
"""
)


def _inputs(*customers: str) -> Inputs:
    n = len(customers)
    scored = pl.DataFrame(
        {
            "customer_id": list(customers),
            "p_churn": [0.9] * n,
            "revenue_at_risk": [100.0 * (i + 1) for i in range(n)],
            "ltv": [1000.0] * n,
            "segment": ["mass"] * n,
            "region": ["Kazan"] * n,
            "silent": [True] * n,
            "reasons": [["waits"]] * n,
        }
    )
    return Inputs(scored=scored)


def _record(rule: str = "r", status: str = "open") -> dict:
    return {
        "rule": rule,
        "zone": "z",
        "reason": "why",
        "owner": "ops",
        "severity": "high",
        "money_at_stake": 1.0,
        "first_seen": "2026-01-01T09:00:00",
        "last_seen": "2026-01-02T09:00:00",
        "status": status,
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_is_recorded_and_the_next_one_reads_it(tmp_path):
    with Store.open(tmp_path / "state.sqlite") as store:
        first = record_run(store, RULES, _inputs("a", "b"), T0, queue=True)
        assert [a["status"] for a in first.to_send] == ["new", "new"]
        assert [p.payload["idempotency_key"] for p in store.outbox()] == [
            idempotency_key(a) for a in first.to_send
        ]
    with Store.open(tmp_path / "state.sqlite") as store:  # the next scheduled run
        second = record_run(
            store, RULES, _inputs("a"), T0 + dt.timedelta(days=1), acks=["x1"], queue=True
        )
        assert {a["zone"]: a["status"] for a in second.alerts} == {
            "customer a": "ongoing",
            "customer b": "resolved",
        }
        assert len(store.outbox()) == 2  # nothing new queued; the two undelivered stay
        state = store.state()
        assert state["actioned"] == ["x1"]
        assert state["last_run"] == "2026-01-06T09:00:00"
        assert {r["status"] for r in state["alerts"].values()} == {"open", "resolved"}
        assert store.enqueue(first.to_send) == 0  # the same alerts, the same keys: no repeat


def test_the_json_state_is_imported_once(tmp_path):
    legacy = tmp_path / "cx_radar_state.json"
    alert = {"id": "abc", "status": "new", "first_seen": "2026-01-01T09:00:00", "zone": "z"}
    legacy.write_text(
        json.dumps(
            {
                "alerts": {"abc": _record()},
                "outbox": [alert],
                "actioned": ["abc"],
                "last_run": "2026-01-02T09:00:00",
            }
        )
    )
    before = _digest(legacy)
    with Store.open(legacy) as store:
        assert store.path == tmp_path / "cx_radar_state.sqlite"
        state = store.state()
        assert state["alerts"] == {"abc": _record()}
        assert state["actioned"] == ["abc"] and state["last_run"] == "2026-01-02T09:00:00"
        assert state["outbox"] == [{**alert, "idempotency_key": idempotency_key(alert)}]
        assert store.meta("imported_from") == str(legacy.resolve())
    assert _digest(legacy) == before  # left as it was
    legacy.write_text(json.dumps({"alerts": {}, "outbox": [], "actioned": []}))
    with Store.open(legacy) as store:  # imported once: later changes to the JSON are ignored
        assert store.state()["actioned"] == ["abc"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "the JSON state is not valid JSON"),
        ("{}", "'alerts' is missing or not an object"),  # re-sent 18 alerts as new before
        ('{"alerts": {}, "outbox": {}}', "'outbox' is missing or not a list"),  # dropped 3
        ('{"alerts": {"x": {"rule": "r"}}, "outbox": []}', "alert 'x' lacks some of rule"),
        ('{"alerts": {}, "outbox": [{"no": "id"}]}', "an outbox entry is not an alert"),
        ('{"alerts": {}, "outbox": [], "actioned": [1]}', "an 'actioned' entry is not"),
        ("[]", "expected an object with alerts and outbox"),
    ],
)
def test_a_damaged_json_state_is_refused_not_reset(tmp_path, content, problem):
    legacy = tmp_path / "state.json"
    legacy.write_text(content)
    with pytest.raises(StoreError, match=problem) as refused:
        Store.open(legacy)
    assert str(refused.value).startswith(f"{legacy}: ")
    assert legacy.read_text() == content and not (tmp_path / "state.sqlite").exists()


def _foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
        db.execute("INSERT INTO invoices (amount) VALUES (12.5)")
    db.close()


def _damaged_store(path: Path) -> None:
    with Store.open(path) as store:
        store.save_alerts({f"id{i}": _record() for i in range(400)}, "2026-01-02T09:00:00")
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xa5" * 4096  # the second page: inside the tables
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.write_bytes(b"alerts,outbox\n1,2\n"), "not an SQLite database"),
        (_foreign_database, "another program's database"),
        (_damaged_store, "damaged"),
    ],
    ids=["not-sqlite", "foreign", "damaged"],
)
def test_a_damaged_or_foreign_store_is_refused_and_left_as_it_is(tmp_path, make, problem):
    path = tmp_path / "state.sqlite"
    make(path)
    before = _digest(path)
    with pytest.raises(StoreError, match=problem) as refused, Store.open(path) as store:
        store.state()
    assert str(refused.value).startswith(f"{path}: ")
    assert _digest(path) == before


def test_the_cli_refuses_a_foreign_store_before_evaluating(small_dir, tmp_path, capsys):
    state, out = tmp_path / "state.sqlite", tmp_path / "alerts.json"
    _foreign_database(state)
    before = _digest(state)
    code = main(["escalate", str(small_dir), "--state", str(state), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"error: {state}: not a CX Radar state store")
    assert "Traceback" not in err and not out.exists() and _digest(state) == before


# One of several runs at once, in its own process: each round reads a counter, waits,
# writes it + 1, acknowledges an alert and records one, all in one transaction.
_RACER = """
import sys, time
from analytics.store import Store
path, worker, rounds, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
record = {"rule": "r", "zone": "z", "reason": "y", "owner": "o", "severity": "high",
          "first_seen": "2026-01-01T09:00:00", "last_seen": "2026-01-01T09:00:00"}
with Store.open(path) as store:
    time.sleep(max(0.0, start_at - time.time()))
    for r in range(rounds):
        with store.transaction():
            count = int(store.meta("counter") or 0)
            time.sleep(0.002)  # widen the window a lost update needs
            store._set_meta("counter", str(count + 1))
            store.ack([f"w{worker}-{r}"], by=f"run {worker}")
            store.save_alerts({f"w{worker}-{r}": record}, None)
"""


def test_concurrent_processes_are_serialized_and_lose_nothing(tmp_path):
    path = tmp_path / "state.sqlite"
    Store.open(path).close()
    workers, rounds = 3, 20
    start_at = time.time() + 1.5  # every process has opened the store by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), str(w), str(rounds), str(start_at)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors
    with Store.open(path) as store:
        assert store.meta("counter") == str(workers * rounds)  # no lost update
        assert len(store.acks()) == workers * rounds  # two runs at once lost an --ack before
        assert len(store.state()["alerts"]) == workers * rounds


def test_runs_at_once_keep_every_acknowledgement(tmp_path):
    # record_run itself, from two threads with their own connections at the same time.
    path = tmp_path / "state.sqlite"
    Store.open(path).close()
    failures: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            with Store.open(path) as store:
                for r in range(5):
                    record_run(store, RULES, _inputs(f"c{worker}"), T0, acks=[f"w{worker}-{r}"])
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    with Store.open(path) as store:
        assert store.acks() == [f"w{w}-{r}" for w in range(2) for r in range(5)]


def test_an_empty_file_becomes_a_store_and_the_schema_is_checked(tmp_path):
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"")
    with Store.open(path) as store:
        assert store.state() == {"alerts": {}, "actioned": [], "outbox": [], "last_run": None}
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(StoreError, match="schema version 7"):
        Store.open(path)


# ---------------------------------------------------------------- the Escalations page

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file


def _escalations(small_dir, monkeypatch, state: Path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    monkeypatch.setenv("CX_RADAR_STATE", str(state))
    at = AppTest.from_file(APP, default_timeout=180)
    return at.switch_page("app_pages/escalations.py").run()


def test_the_page_writes_acknowledgements_into_the_shared_store(small_dir, monkeypatch, tmp_path):
    state = tmp_path / "shared.sqlite"
    at = _escalations(small_dir, monkeypatch, state)
    assert not at.exception
    (none_yet,) = [c.value for c in at.caption if c.value.startswith("No state store yet")]
    assert f"(`{state}`)" in none_yet  # a file's path reads as one, a code span
    assert not state.exists()  # looking does not create it
    marks = at.multiselect(key="esc_actioned")
    ids = list(marks.format_func.__self__)  # the page labels ids through a dict's .get
    marks.select(ids[0]).run()
    assert not at.exception
    with Store.open(state) as store:  # what `cx-radar escalate --state` reads
        assert store.acks() == [ids[0]]
        assert store.state()["alerts"] == {}  # viewing recorded no run: nothing consumed
    at.run()
    assert any(c.value.startswith("Statuses against the state store") for c in at.caption)
    at.multiselect(key="esc_actioned").unselect(ids[0]).run()
    with Store.open(state) as store:
        assert store.acks() == []


def test_the_page_refuses_a_foreign_store_without_a_traceback(small_dir, monkeypatch, tmp_path):
    state = tmp_path / "state.sqlite"
    _foreign_database(state)
    before = _digest(state)
    at = _escalations(small_dir, monkeypatch, state)
    assert not at.exception
    (error,) = [e.value for e in at.error if e.value.startswith("The state store cannot")]
    assert "not a CX Radar state store" in error
    assert at.multiselect(key="esc_actioned").disabled and _digest(state) == before


def test_the_last_scheduled_run_reads_as_a_day_and_a_time(lang):
    from dashboard.alert_store import run_time

    lang("ru")
    assert run_time("2026-01-06T09:00:00") == "06.01.2026 09:00"  # not ISO with its T
    assert run_time(None) == "—"
    lang("en")
    assert run_time("2026-01-06T09:00:00+00:00") == "2026-01-06 09:00"
