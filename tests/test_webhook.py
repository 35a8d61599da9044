"""Webhook delivery: at least once, deduplicable, never "delivered" unless a 2xx said so.

A fault matrix against real local receivers (http.server on 127.0.0.1): 500 answers, a
refused connection, 302 redirects, no answer (timeout), and an answer that comes too late
(slow). In every case every alert arrives eventually, and every repeat carries the same
idempotency key, in the payload and in the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from analytics.escalation import DeliveryFailed, deliver, post_json
from analytics.store import Store, idempotency_key
from dashboard.local_server import free_port

TIMEOUT_S = 0.4  # the client's timeout in these tests; "slow" answers after 2x that


def _alerts(n: int) -> list[dict]:
    return [
        {"id": f"a{i:02d}", "status": "new", "first_seen": "2026-01-05T09:00:00", "zone": f"z{i}"}
        for i in range(n)
    ]


@dataclass
class Receiver:
    """A webhook on 127.0.0.1 that misbehaves for its first ``faults`` POSTs."""

    fault: str
    faults: int
    posts: int = 0
    received: list[tuple[str, dict]] = field(default_factory=list)  # (header key, alert)
    redirected_gets: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.posts += 1
            faulty = self.posts <= self.faults
        if faulty and self.fault == "timeout":  # no answer at all until the client gives up
            time.sleep(2 * TIMEOUT_S)
            return
        body = json.loads(request.rfile.read(int(request.headers["Content-Length"])))
        if faulty and self.fault in ("500", "302"):
            request.send_response(500 if self.fault == "500" else 302)
            if self.fault == "302":
                request.send_header("Location", "/elsewhere")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        with self.lock:  # processed: a slow receiver has it, even if it answers too late
            self.received.extend((request.headers["Idempotency-Key"], a) for a in body["alerts"])
        if faulty and self.fault == "slow":
            time.sleep(2 * TIMEOUT_S)
        request.send_response(204)
        request.end_headers()


def _serve(receiver: Receiver, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            receiver.handle(self)

        def do_GET(self) -> None:  # only a followed redirect would come here
            receiver.redirected_gets += 1
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.sqlite") as opened:
        yield opened


@dataclass(frozen=True)
class Outcome:
    rounds: int
    posts: int
    received: int
    distinct: int
    pending: int


def run_matrix_case(fault: str, store: Store, alerts: int = 17, faults: int = 5) -> Outcome:
    """Queue ``alerts`` alerts and deliver in rounds (a round per scheduled run) until the
    outbox is empty; the receiver misbehaves for its first ``faults`` POSTs ("refused":
    nothing listens during the first round)."""
    store.enqueue(_alerts(alerts))
    receiver = Receiver(fault, 0 if fault == "refused" else faults)
    port = free_port()
    server = None if fault == "refused" else _serve(receiver, port)
    url = f"http://127.0.0.1:{port}/hook"
    rounds = 0
    try:
        while store.outbox() and rounds < 10:
            rounds += 1
            deliver(url, store, retries=2, timeout_s=TIMEOUT_S, sleep=lambda s: None)
            if server is None:  # the receiver comes back after the first round
                server = _serve(receiver, port)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert receiver.redirected_gets == 0  # a 302 is never followed as a GET
    return Outcome(
        rounds,
        receiver.posts,
        len(receiver.received),
        len({a["id"] for _, a in receiver.received}),
        len(store.outbox()),
    )


@pytest.mark.parametrize("fault", ["500", "refused", "302", "timeout", "slow"])
def test_every_alert_arrives_and_repeats_carry_the_same_key(fault, store):
    receiver_keys: dict[str, set[str]] = {}
    outcome = run_matrix_case(fault, store)
    assert outcome.pending == 0 and outcome.distinct == 17
    assert outcome.rounds >= 2  # each fault cost at least one failed round
    log = store.deliveries(limit=1000)
    assert sum(d["outcome"] == "delivered" for d in log) == 17
    for entry in log:
        receiver_keys.setdefault(entry["alert_id"], set()).add(entry["key"])
    assert all(len(keys) == 1 for keys in receiver_keys.values())  # one key per alert
    if fault == "slow":
        assert outcome.received > 17  # processed, answered late, re-sent: a repeat...


def test_repeats_carry_the_same_key_in_header_and_payload(store):
    receiver = Receiver("slow", faults=3)
    server = _serve(receiver)
    url = f"http://127.0.0.1:{server.server_port}/hook"
    store.enqueue(_alerts(2))
    try:
        for _ in range(4):
            deliver(url, store, retries=2, timeout_s=TIMEOUT_S, sleep=lambda s: None)
    finally:
        server.shutdown()
        server.server_close()
    ids = [a["id"] for _, a in receiver.received]
    assert ids.count("a00") >= 2  # the first alert was answered too late and sent again
    for header, alert in receiver.received:
        assert header == alert["idempotency_key"] == idempotency_key(alert)
    keys = {
        a["id"]: {h for h, b in receiver.received if b["id"] == a["id"]}
        for _, a in receiver.received
    }
    assert all(len(k) == 1 for k in keys.values())
    assert store.outbox() == []


def test_a_redirect_is_not_success_and_is_not_followed():
    receiver = Receiver("302", faults=1)
    server = _serve(receiver)
    try:
        with pytest.raises(DeliveryFailed, match="HTTP 302") as failed:
            post_json(f"http://127.0.0.1:{server.server_port}/hook", {"alerts": []}, "k1")
    finally:
        server.shutdown()
        server.server_close()
    assert failed.value.status == 302 and receiver.redirected_gets == 0


def test_timeouts_refusals_and_non_http_urls_are_failures():
    receiver = Receiver("timeout", faults=1)
    server = _serve(receiver)
    try:
        started = time.perf_counter()
        with pytest.raises(DeliveryFailed, match=f"no answer within {TIMEOUT_S:g} s"):
            post_json(f"http://127.0.0.1:{server.server_port}/", {}, "k", timeout_s=TIMEOUT_S)
        assert time.perf_counter() - started < 1.5 * TIMEOUT_S + 0.5
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(DeliveryFailed, match="cannot connect"):
        post_json(f"http://127.0.0.1:{free_port()}/", {}, "k", timeout_s=TIMEOUT_S)
    with pytest.raises(DeliveryFailed, match="must be an http"):
        post_json("file:///etc/passwd", {}, "k")


def test_back_off_doubles_and_a_failing_alert_stops_the_round_in_order(store):
    receiver = Receiver("500", faults=100)
    server = _serve(receiver)
    store.enqueue(_alerts(3))
    waits: list[float] = []
    try:
        result = deliver(
            f"http://127.0.0.1:{server.server_port}/",
            store,
            retries=3,
            backoff_s=0.5,
            sleep=waits.append,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert waits == [0.5, 1.0]  # between the three attempts at the first alert
    assert (result.delivered, result.failed_attempts, result.pending) == (0, 3, 3)
    assert receiver.posts == 3  # the other two alerts wait, in order, for the next run
    assert [p.alert_id for p in store.outbox()] == ["a00", "a01", "a02"]
    assert store.outbox()[0].attempts == 3
    assert [d["http_status"] for d in store.deliveries()] == [500, 500, 500]


def test_the_key_is_stable_per_alert_and_state_change():
    alert = _alerts(1)[0]
    assert idempotency_key(alert) == idempotency_key({**alert, "zone": "changed text"})
    assert idempotency_key(alert) != idempotency_key({**alert, "status": "resolved"})
    # Resolved, then firing again later: a new sighting, a new key.
    assert idempotency_key(alert) != idempotency_key({**alert, "first_seen": "2026-02-01T09:00:00"})
