"""The sample company's exports in the shapes real systems write, with their mappings.

* a **per-call ACD export** of the last month: one row per inbound phone call inside the
  contact centre's opening hours (08:00-21:00, as its interval report), Russian headers,
  date and time in two columns, `Отвечен` / `Брошен`, talk time as ``h:mm:ss``, agents
  by name, ``0`` for callers the IVR did not identify, a call id reused across lines;
* a **ticket status-update log** of the last month's tech-support cases: one row per
  update, states repeated while a ticket waits, some tickets reopened after `Решено`,
  some handed back and forth between two groups, `?` for an unknown group.

Both are derived from the sample's events with a seeded generator, so the calls give
exactly the interval report's offered, answered and in-target counts for that month.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

CALLS_MAPPING = """\
# The sample's per-call export: date and time in two columns, Russian outcomes.
missing = ["?"]

[files]
"звонки.csv" = "calls"

[calls.columns]
arrived_at = ["Дата", "Время поступления"]
queue = "Очередь"
wait_s = "Ожидание, сек"
outcome = "Результат"
talk_s = "Длительность разговора"
agent = "Оператор"
customer_id = "Клиент"
call_id = "ID звонка"

[calls.values.outcome]
"Отвечен" = "answered"
"Брошен" = "abandoned"
"""

TICKETS_MAPPING = """\
# The sample's ticket log: one row per status update; the status is the step.
missing = ["?"]

[files]
"заявки.csv" = "events"

[events.columns]
case_id = "Номер заявки"
timestamp = "Дата изменения"
activity = "Статус"
resource = "Группа исполнителей"
customer_id = "Клиент"
scenario = "Категория"
reopen_count = "Число переоткрытий"
outcome = ""
"""

_AGENTS = (
    "Иванова А.",
    "Петров С.",
    "Сидорова Е.",
    "Кузнецов Д.",
    "Смирнова О.",
    "Попов И.",
    "Волкова Н.",
    "Соколов М.",
    "Морозова Т.",
    "Новиков П.",
    "Лебедева В.",
    "Козлов Р.",
)
_GROUPS = ("Линия 1", "Линия 2", "Сетевой отдел", "Биллинг")


def _last_month(events: pl.DataFrame) -> tuple[dt.datetime, dt.datetime]:
    last = events["timestamp"].max()
    start = dt.datetime(last.year, last.month, 1)  # type: ignore[union-attr]
    return start, last + dt.timedelta(seconds=1)  # type: ignore[operator]


def _clock(seconds: pl.Expr) -> pl.Expr:
    s = seconds.round(0).cast(pl.Int64)
    return pl.format(
        "{}:{}:{}",
        s // 3600,
        (s % 3600 // 60).cast(pl.String).str.zfill(2),
        (s % 60).cast(pl.String).str.zfill(2),
    )


def calls_export(events: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
    """The last month's inbound phone calls in opening hours, as a Russian ACD export."""
    start, end = _last_month(events)
    calls = events.filter(
        (pl.col("channel") == "phone")
        & pl.col("activity").is_in(["request", "clarification"])
        & pl.col("timestamp").is_between(start, end, closed="left")
        & pl.col("timestamp").dt.hour().is_between(8, 20)
    ).sort("timestamp", "case_id", "activity")
    rng = np.random.default_rng(seed)
    n = calls.height
    answered = calls["outcome"].ne_missing("abandoned").to_numpy()
    identified = rng.random(n) < 0.7
    ids = 40_000_000 + np.arange(n)
    reuse = rng.random(n) < 0.002  # a telephony system restarting its counter
    ids[reuse] = ids[0]
    return calls.select(
        pl.Series("ID звонка", ids.astype(str)),
        pl.col("timestamp").dt.strftime("%d.%m.%Y").alias("Дата"),
        pl.col("timestamp").dt.strftime("%H:%M:%S").alias("Время поступления"),
        pl.lit("Основная линия").alias("Очередь"),
        # whole seconds rounded up, so "within 20 s" reads the same as the interval report
        pl.col("wait_s").ceil().cast(pl.Int64).alias("Ожидание, сек"),
        pl.Series("Результат", np.where(answered, "Отвечен", "Брошен")),
        pl.when(pl.lit(pl.Series(answered)))
        .then(_clock(pl.col("handle_s")))
        .alias("Длительность разговора"),
        pl.Series("Оператор", np.where(answered, np.array(_AGENTS)[rng.integers(0, 12, n)], "?")),
        pl.Series("Клиент", np.where(identified, calls["customer_id"].to_numpy(), "0")),
    )


def ticket_log(events: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
    """The last month's tech-support cases as a status-update log (one row per update)."""
    start, end = _last_month(events)
    cases = (
        events.filter(
            (pl.col("scenario") == "tech_support")
            & pl.col("timestamp").is_between(start, end, closed="left")
        )
        .group_by("case_id")
        .agg(pl.col("customer_id").first(), pl.col("timestamp").min().alias("opened"))
        .sort("opened", "case_id")
        .gather_every(3)  # a third of them: a log a workshop can open in a spreadsheet
    )
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for case_id, customer, opened in cases.iter_rows():
        states = ["Новая", "В работе", *["В работе"] * int(rng.integers(0, 4)), "Решено"]
        reopened = rng.random() < 0.06
        if reopened:
            states += ["В работе", "В работе", "Решено"]
        states.append("Закрыто")
        first = _GROUPS[int(rng.integers(0, 3))]
        groups = [first]
        if rng.random() < 0.12:  # handed back and forth: A -> B -> A -> B
            other = _GROUPS[(_GROUPS.index(first) + 1) % 3]
            groups = [first, other, first, other]
        moment = opened
        for k, state in enumerate(states):
            group = groups[min(k * len(groups) // len(states), len(groups) - 1)]
            rows.append(
                {
                    "Номер заявки": f"INC{case_id}",
                    "Статус": state,
                    "Дата изменения": moment.strftime("%d.%m.%Y %H:%M"),
                    "Группа исполнителей": "?" if rng.random() < 0.03 else group,
                    "Клиент": customer,
                    "Категория": "Техподдержка",
                    "Число переоткрытий": int(reopened),
                }
            )
            moment += dt.timedelta(minutes=int(rng.choice([0, 2, 45, 180, 900])))
    return pl.DataFrame(rows)


def write_exports(events: pl.DataFrame, out: Path) -> list[Path]:
    """Write ``exports/calls`` and ``exports/tickets`` (CSV in Windows-1251 with ``;`` as
    Russian systems export them, each with its ``mapping.toml``) under ``out``."""
    written = []
    for folder, name, frame, mapping in (
        ("calls", "звонки.csv", calls_export(events), CALLS_MAPPING),
        ("tickets", "заявки.csv", ticket_log(events), TICKETS_MAPPING),
    ):
        target = out / "exports" / folder
        target.mkdir(parents=True, exist_ok=True)
        text = frame.write_csv(separator=";")
        (target / name).write_bytes(text.encode("cp1251"))
        (target / "mapping.toml").write_text(mapping, encoding="utf-8")
        written += [target / name, target / "mapping.toml"]
    return written
