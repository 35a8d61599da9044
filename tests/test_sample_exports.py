"""The sample company's real-shaped exports: a Russian per-call export and a ticket log."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics.calls import service_level
from analytics.io import load_path
from analytics.mapping import Mapping
from analytics.sample_exports import CALLS_MAPPING, TICKETS_MAPPING


@pytest.fixture(scope="module")
def exports(small_dir):
    return small_dir / "exports"


def test_generate_writes_both_exports_with_their_mappings(exports):
    for folder, name in (("calls", "звонки.csv"), ("tickets", "заявки.csv")):
        assert (exports / folder / name).read_bytes().decode("cp1251").count("\n") > 10
        Mapping.from_toml((exports / folder / "mapping.toml").read_text(encoding="utf-8"))


def test_per_call_export_gives_the_interval_report_of_its_month(exports, small_company):
    dataset = load_path(exports / "calls" / "звонки.csv", Mapping.from_toml(CALLS_MAPPING))
    assert dataset.report.errors == ()
    calls = dataset.calls
    first = calls["arrived_at"].min()
    month = dt.datetime(first.year, first.month, 1)
    acd = small_company.acd.filter(pl.col("interval_start") >= month)
    # the same calls, seen per call and per interval: offered, answered and in-target agree
    totals = service_level(dataset.acd)
    assert totals.offered == acd["offered"].sum()
    assert totals.answered == acd["answered"].sum()
    assert totals.service_level == pytest.approx(
        acd["answered_in_target"].sum() / acd["offered"].sum()
    )
    assert any("look like placeholders" in w for w in dataset.report.warnings)


def test_ticket_log_is_a_status_update_log(exports):
    dataset = load_path(exports / "tickets" / "заявки.csv", Mapping.from_toml(TICKETS_MAPPING))
    events = dataset.events
    assert dataset.report.errors == ()
    assert events["resource"].null_count() > 0  # «?» groups are unknown, not a group "?"
    assert "?" not in events["resource"].unique().to_list()
    ordered = events.sort("case_id", "timestamp", "row_nr")
    repeats = ordered.select(
        (pl.col("activity") == pl.col("activity").shift(1))
        & (pl.col("case_id") == pl.col("case_id").shift(1))
    ).to_series()
    assert repeats.mean() > 0.2  # many consecutive updates in the same state
    assert events.group_by("case_id").agg(pl.col("reopen_count").max())["reopen_count"].sum() > 0
