"""Writes the generated real-shaped exports of this folder (seeded; rerun to reproduce).

``calls/`` and ``calls_ru/`` are hand-made (their numbers are worked in test_calls.py);
this script makes the larger shapes, each in the way a real system exports it:

* ``acd/``: a Russian interval report (``;``, decimal comma), 30-minute intervals 08:00-20:00,
  six weeks with Sundays and a holiday missing, abandonment rising in the last weeks;
* ``customers/``: a telco-like churn snapshot (one row per customer, ``Yes``/``No`` flag,
  ``TotalCharges`` blank for new customers) from a known logistic model;
* ``plain_log/``: a process-mining log of case, activity, timestamp and resource only,
  rows in case order, minute timestamps with ties;
* ``status_log/``: an ITSM status-update log (one row per update, repeated states, a
  reopen counter, ``?`` for unknown groups, ``d/m/yyyy hh:mm`` dates).

Run: ``python tests/data/shapes/make.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).parent


def interval_report(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    day = dt.date(2024, 3, 4)
    for _ in range(42):
        if day.weekday() != 6 and day != dt.date(2024, 3, 8):
            rise = 1.0 + max(0, (day - dt.date(2024, 3, 25)).days) / 14
            for slot in range(24):
                start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=30 * slot)
                offered = int(rng.poisson(40 + 25 * np.sin(np.pi * slot / 24)))
                abandoned = int(rng.binomial(offered, min(0.08 * rise, 0.6)))
                answered = offered - abandoned
                in_target = int(rng.binomial(answered, 0.85 / rise))
                rows.append(
                    {
                        "Начало интервала": start.strftime("%d.%m.%Y %H:%M"),
                        "Очередь": "Линия 1",
                        "Поступило": offered,
                        "Принято": answered,
                        "Потеряно": abandoned,
                        "Принято в норматив": in_target,
                        "AHT": f"{rng.normal(240, 20):.1f}".replace(".", ","),
                        "Операторов": f"{rng.integers(6, 12)},0",
                    }
                )
        day += dt.timedelta(days=1)
    return pl.DataFrame(rows)


def snapshot(rng: np.random.Generator, n: int = 240) -> pl.DataFrame:
    tenure = rng.integers(0, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    charges = np.round(rng.uniform(20, 110, n), 2)
    fiber = rng.random(n) < 0.45
    logit = -0.8 - 0.05 * tenure + 1.6 * (contract == "Month-to-month") + 0.9 * fiber
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    total = [" " if t == 0 else f"{t * c:.2f}" for t, c in zip(tenure, charges, strict=True)]
    return pl.DataFrame(
        {
            "customerID": [f"{i:04d}-TEL" for i in range(n)],
            "gender": rng.choice(["Female", "Male"], n),
            "SeniorCitizen": rng.integers(0, 2, n),
            "tenure": tenure,
            "Contract": contract,
            "InternetService": np.where(fiber, "Fiber optic", "DSL"),
            "PaymentMethod": rng.choice(["Electronic check", "Mailed check", "Credit card"], n),
            "MonthlyCharges": charges,
            "TotalCharges": total,
            "Churn": np.where(churn, "Yes", "No"),
        }
    )


def plain_log(rng: np.random.Generator, cases: int = 60) -> pl.DataFrame:
    paths = [
        ["register", "check", "decide", "notify"],
        ["register", "check", "check", "decide", "notify"],
        ["register", "decide", "notify"],
        ["register", "check", "ask for documents", "check", "decide", "notify"],
    ]
    rows = []
    for case in range(cases):
        moment = dt.datetime(2024, 5, 1, 9) + dt.timedelta(hours=int(rng.integers(0, 24 * 30)))
        for activity in paths[int(rng.integers(0, len(paths)))]:
            rows.append(
                {
                    "case": f"C{case:03d}",
                    "activity": activity,
                    "timestamp": moment.strftime("%Y-%m-%d %H:%M"),
                    "resource": f"clerk {int(rng.integers(1, 5))}",
                }
            )
            moment += dt.timedelta(minutes=int(rng.choice([0, 0, 5, 60, 600])))
    return pl.DataFrame(rows)


def status_log(rng: np.random.Generator, incidents: int = 50) -> pl.DataFrame:
    rows = []
    groups = ["Group 70", "Group 24", "Group 31", "?"]
    for i in range(incidents):
        moment = dt.datetime(2016, 3, 1, 8) + dt.timedelta(hours=int(rng.integers(0, 24 * 20)))
        states = ["New", "New", "Active", "Active", "Active", "Resolved", "Closed"]
        reopened = rng.random() < 0.1
        if reopened:
            states = [*states[:-1], "Active", "Active", "Resolved", "Closed"]
        group_seq = [groups[int(rng.integers(0, 3))]]
        if rng.random() < 0.2:  # handed back and forth between two groups
            other = groups[(groups.index(group_seq[0]) + 1) % 3]
            group_seq = [group_seq[0], other, group_seq[0], other]
        for k, state in enumerate(states):
            group = group_seq[min(k * len(group_seq) // len(states), len(group_seq) - 1)]
            rows.append(
                {
                    "number": f"INC{i:07d}",
                    "incident_state": state,
                    "reassignment_count": len(group_seq) - 1,
                    "reopen_count": int(reopened),
                    "sys_updated_at": f"{moment.day}/{moment.month}/{moment.year} {moment:%H:%M}",
                    "assignment_group": "?" if rng.random() < 0.05 else group,
                    "contact_type": "Phone",
                    "category": f"Category {int(rng.integers(1, 4))}",
                }
            )
            moment += dt.timedelta(minutes=int(rng.choice([0, 1, 30, 240])))
    return pl.DataFrame(rows)


def main() -> None:
    rng = np.random.default_rng(20241201)
    interval_report(rng).write_csv(HERE / "acd" / "acd_report.csv", separator=";")
    snapshot(rng).write_csv(HERE / "customers" / "telco_customers.csv")
    plain_log(rng).write_csv(HERE / "plain_log" / "process_log.csv")
    status_log(rng).write_csv(HERE / "status_log" / "incident_log.csv")


if __name__ == "__main__":
    main()
