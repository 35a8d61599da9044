"""Escalation state in SQLite: alert history, acknowledgements, the outbox, a delivery log.

* **One file** (``cx_radar_state.sqlite`` by default; ``-wal`` and ``-shm`` files appear
  beside it while it is in use). WAL journal: readers (the app) never wait for a writer.
* **Transactions.** Every change is one transaction. :meth:`Store.transaction` starts with
  ``BEGIN IMMEDIATE``, taking the write lock before reading, so two runs at once are
  serialized: the second reads what the first wrote and neither loses the other's alerts
  or acknowledgements (a busy store is waited for up to ``timeout_s``).
* **Refusal, never reset.** A file that is not a CX Radar store (damaged, another
  program's database, any other file) raises :class:`StoreError` naming it, and is left
  exactly as it was.
* **One-time import.** Asked for ``state.json`` (the JSON state of earlier versions), the
  store is ``state.sqlite`` beside it; when that does not exist yet, the JSON is checked
  and imported into it in one transaction, then never read again (it is left in place).
  A JSON state that is not one (``{}``, an outbox that is not a list...) is refused.

Tables: ``alerts`` (the history :func:`analytics.escalation.reconcile` keeps, one row per
alert id), ``acks`` (alerts marked actioned: who and when), ``outbox`` (alerts to deliver,
with their idempotency keys, in queue order), ``deliveries`` (every delivery attempt: when,
which key, the outcome and HTTP status; never the webhook URL, which may hold a secret)
``exports`` (every download of customer-level data from the app: when, who with which
role, which file, how many rows; see ``dashboard/auth.py``) and ``meta`` (last run, import
source).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

APPLICATION_ID = 0x43585244  # "CXRD" in the SQLite header: this file is ours
SCHEMA_VERSION = 1
_HEADER = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, rule TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS acks (id TEXT PRIMARY KEY, at TEXT NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, alert_id TEXT NOT NULL,
    queued_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, key TEXT NOT NULL,
    alert_id TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL,
    http_status INTEGER, detail TEXT NOT NULL
);
"""
# Added after schema version 1 shipped: created in new stores and in older ones on open (it is
# not in _TABLES, so a version-1 store without it is still ours).
_EXPORTS = """
CREATE TABLE IF NOT EXISTS exports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL,
    role TEXT NOT NULL, what TEXT NOT NULL, rows INTEGER
)
"""
_TABLES = {"meta", "alerts", "acks", "outbox", "deliveries"}
# What a history record must hold (see analytics.escalation.reconcile).
_RECORD_KEYS = ("rule", "zone", "reason", "owner", "severity", "first_seen", "last_seen")


class StoreError(ValueError):
    """The state store cannot be used; the message names the file and what to do."""


def idempotency_key(alert: dict[str, Any]) -> str:
    """Stable per alert and state change: its id, status and first sighting. A retry or a
    re-send of the same alert carries the same key; the alert resolved and later firing
    again is a new sighting, so a new key."""
    basis = f"{alert['id']}|{alert.get('status', 'new')}|{alert.get('first_seen', '')}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def store_path(path: str | Path) -> Path:
    """The SQLite file for ``--state``: a ``.json`` path means the ``.sqlite`` beside it."""
    path = Path(path)
    return path.with_suffix(".sqlite") if path.suffix.lower() == ".json" else path


@dataclass(frozen=True)
class Pending:
    """One alert in the outbox."""

    key: str
    alert_id: str
    payload: dict[str, Any]
    attempts: int


class Store:
    """An open state store. Use :meth:`open`; close it (or use it as a context manager)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | Path, timeout_s: float = 60.0) -> Store:
        """Open (or create) the store for ``path`` (see :func:`store_path`); import a JSON
        state once. Raises :class:`StoreError` for a file that is not a CX Radar store."""
        asked = Path(path)
        target = store_path(asked)
        legacy = asked if asked != target and asked.exists() else None
        legacy_state = _read_json_state(legacy) if legacy and not _has_data(target) else None
        if _has_data(target):
            _check_header(target)
        try:
            db = sqlite3.connect(target, timeout=timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{target}: cannot open the state store ({exc})") from exc
        store = cls(target, db)
        try:
            store._prepare(legacy, legacy_state)
        except BaseException:
            db.close()
            raise
        return store

    def _prepare(self, legacy: Path | None, legacy_state: dict[str, Any] | None) -> None:
        """Create the store in an empty file, or check that the file is one. Nothing is
        written to a file that turns out not to be ours."""
        with self._errors(), self.transaction():
            found = self._db.execute("PRAGMA application_id").fetchone()[0]
            tables = {
                r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if found == 0 and not tables - {"sqlite_sequence"}:
                self._create(legacy, legacy_state)
            else:
                self._check(found, tables)
            if "exports" not in tables:
                self._db.execute(_EXPORTS)
        with self._errors():  # persistent; not allowed inside a transaction
            self._db.execute("PRAGMA journal_mode=WAL")

    def _check(self, found: int, tables: set[str]) -> None:
        if found != APPLICATION_ID or not tables >= _TABLES:
            raise StoreError(
                f"{self.path}: not a CX Radar state store (another program's database); it "
                "was left as it is. Move it away or pass another --state"
            )
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: a state store of schema version {version}; this version of "
                f"CX Radar reads version {SCHEMA_VERSION}"
            )
        check = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StoreError(f"{self.path}: the state store is damaged ({check})")

    def _create(self, legacy: Path | None, legacy_state: dict[str, Any] | None) -> None:
        for statement in _SCHEMA.split(";"):  # executescript would commit first
            if statement.strip():
                self._db.execute(statement)
        self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if legacy is None or legacy_state is None:
            return
        self._set_meta("imported_from", str(legacy.resolve()))
        self._set_meta("imported_at", _now())
        history = legacy_state["alerts"]
        self.save_alerts(history, legacy_state.get("last_run"))
        self.ack(legacy_state.get("actioned", []), by="import", at=legacy_state.get("last_run"))
        self.enqueue(legacy_state["outbox"], at=legacy_state.get("last_run"))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        if self._db.in_transaction:
            yield
            return
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        with self._errors():
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as :class:`StoreError` naming the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"{self.path}: busy, another run kept it locked too long ({exc})"
                ) from exc
            raise StoreError(f"{self.path}: the state store cannot be used ({exc})") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: the state store is damaged ({exc})") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # text damaged in a page
            raise StoreError(
                f"{self.path}: the state store is damaged ({type(exc).__name__}: {exc})"
            ) from exc

    # ------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        """The state as :func:`analytics.escalation.evaluate` takes it: ``alerts`` (history
        by id), ``actioned`` (acknowledged ids), ``outbox`` (payloads) and ``last_run``."""
        with self._errors():
            alerts = {
                i: json.loads(r)
                for i, r in self._db.execute("SELECT id, record FROM alerts ORDER BY id")
            }
            for alert_id, record in alerts.items():
                _check_record(self.path, alert_id, record)
            return {
                "alerts": alerts,
                "actioned": self.acks(),
                "outbox": [p.payload for p in self.outbox()],
                "last_run": self._meta("last_run"),
            }

    def save_alerts(self, history: dict[str, dict[str, Any]], last_run: str | None) -> None:
        """Write the alert history (insert or update each id) and the run's time stamp."""
        rows = []
        for alert_id, record in history.items():
            _check_record(self.path, alert_id, record)
            rows.append(
                (
                    str(alert_id),
                    str(record.get("status", "open")),
                    str(record["rule"]),
                    str(record["first_seen"]),
                    str(record["last_seen"]),
                    json.dumps(record, ensure_ascii=False, sort_keys=True, default=str),
                )
            )
        with self.transaction(), self._errors():
            self._db.executemany(
                "INSERT INTO alerts (id, status, rule, first_seen, last_seen, record) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET status=excluded.status, "
                "rule=excluded.rule, first_seen=excluded.first_seen, "
                "last_seen=excluded.last_seen, record=excluded.record",
                rows,
            )
            if last_run is not None:
                self._set_meta("last_run", str(last_run))

    def ack(self, ids: Iterable[str], by: str, at: str | None = None) -> None:
        """Mark alerts actioned (kept if already marked: the first mark stands)."""
        stamp = at or _now()
        with self.transaction(), self._errors():
            self._db.executemany(
                "INSERT OR IGNORE INTO acks (id, at, by) VALUES (?, ?, ?)",
                [(str(i), stamp, by) for i in ids],
            )

    def unack(self, ids: Iterable[str]) -> None:
        with self.transaction(), self._errors():
            self._db.executemany("DELETE FROM acks WHERE id = ?", [(str(i),) for i in ids])

    def acks(self) -> list[str]:
        with self._errors():
            return [r[0] for r in self._db.execute("SELECT id FROM acks ORDER BY id")]

    # ------------------------------------------------------------ outbox and delivery log

    def enqueue(self, alerts: Iterable[dict[str, Any]], at: str | None = None) -> int:
        """Queue alerts for delivery, each with its idempotency key in the payload. An
        alert already queued under the same key is not queued twice. Returns how many
        were added."""
        stamp = at or _now()
        added = 0
        with self.transaction(), self._errors():
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
            for alert in alerts:
                key = alert.get("idempotency_key") or idempotency_key(alert)
                payload = {**alert, "idempotency_key": key}
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (key, seq, alert_id, queued_at, payload) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        key,
                        seq + added + 1,
                        str(alert["id"]),
                        stamp,
                        json.dumps(payload, ensure_ascii=False, default=str),
                    ),
                )
                added += cursor.rowcount
        return added

    def outbox(self) -> list[Pending]:
        """What is waiting for delivery, oldest first."""
        with self._errors():
            pending = [
                Pending(key, alert_id, json.loads(payload), attempts)
                for key, alert_id, payload, attempts in self._db.execute(
                    "SELECT key, alert_id, payload, attempts FROM outbox ORDER BY seq, key"
                )
            ]
        if any(not isinstance(p.payload, dict) for p in pending):
            raise StoreError(f"{self.path}: the state store is damaged (an outbox entry)")
        return pending

    def record_attempt(
        self, item: Pending, attempt: int, ok: bool, http_status: int | None, detail: str
    ) -> None:
        """Log one delivery attempt; a success also takes the alert out of the outbox."""
        with self.transaction(), self._errors():
            self._db.execute(
                "INSERT INTO deliveries (at, key, alert_id, attempt, outcome, http_status, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    item.key,
                    item.alert_id,
                    attempt,
                    "delivered" if ok else "failed",
                    http_status,
                    detail,
                ),
            )
            if ok:
                self._db.execute("DELETE FROM outbox WHERE key = ?", (item.key,))
            else:
                self._db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE key = ?",
                    (detail, item.key),
                )

    def deliveries(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest delivery attempts, newest first."""
        with self._errors():
            cursor = self._db.execute(
                "SELECT at, alert_id, key, attempt, outcome, http_status, detail "
                "FROM deliveries ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    # ------------------------------------------------------------ exports log

    def log_export(
        self, who: str, role: str, what: str, rows: int | None, at: str | None = None
    ) -> None:
        """Record one download of customer-level data (``at``: UTC, ISO seconds)."""
        stamp = at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.transaction(), self._errors():
            self._db.execute(
                "INSERT INTO exports (at, who, role, what, rows) VALUES (?, ?, ?, ?, ?)",
                (stamp, who, role, what, rows),
            )

    def exports(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest logged exports, newest first."""
        with self._errors():
            cursor = self._db.execute(
                "SELECT at, who, role, what, rows FROM exports ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

    # ------------------------------------------------------------ meta

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def meta(self, key: str) -> str | None:
        with self._errors():
            return self._meta(key)


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _has_data(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def _check_header(path: Path) -> None:
    """Refuse a file that is not SQLite at all before SQLite touches it."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_HEADER))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the state store ({exc})") from exc
    if header != _HEADER:
        raise StoreError(
            f"{path}: not a CX Radar state store (not an SQLite database); it was left as "
            "it is. Move it away or pass another --state"
        )


def _check_record(path: Path, alert_id: object, record: object) -> None:
    """A history record must be an object with the keys reconcile keeps (else: damaged)."""
    if not isinstance(record, dict) or any(k not in record for k in _RECORD_KEYS):
        raise StoreError(
            f"{path}: alert {str(alert_id)[:40]!r} has no complete history record "
            f"(expected {', '.join(_RECORD_KEYS)})"
        )


def _read_json_state(path: Path) -> dict[str, Any]:
    """A JSON state of earlier versions, checked before anything is imported from it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(
            f"{path}: the JSON state is not valid JSON ({str(exc)[:120]}); it was left as "
            "it is and nothing was imported"
        ) from exc
    problem = _json_state_problem(data)
    if problem:
        raise StoreError(
            f"{path}: not a CX Radar JSON state ({problem}); it was left as it is and nothing "
            "was imported"
        )
    return data


def _json_state_problem(data: object) -> str | None:
    if not isinstance(data, dict):
        return "expected an object with alerts and outbox"
    if not isinstance(data.get("alerts"), dict):
        return "'alerts' is missing or not an object"
    if not isinstance(data.get("outbox"), list):
        return "'outbox' is missing or not a list"
    if not isinstance(data.get("actioned", []), list):
        return "'actioned' is not a list"
    for alert_id, record in data["alerts"].items():
        if not isinstance(record, dict) or any(k not in record for k in _RECORD_KEYS):
            return f"alert {alert_id[:40]!r} lacks some of {', '.join(_RECORD_KEYS)}"
    if any(not isinstance(a, dict) or "id" not in a for a in data["outbox"]):
        return "an outbox entry is not an alert with an id"
    if any(not isinstance(a, str) for a in data.get("actioned", [])):
        return "an 'actioned' entry is not an alert id"
    if data.get("last_run") is not None and not isinstance(data["last_run"], str):
        return "'last_run' is not a time stamp"
    return None
