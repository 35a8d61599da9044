"""Tension zones: the control chart and trend test on synthetic series, growing process
steps, and the planted stories of the sample company."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy.stats import kendalltau

from analytics.dataset import Dataset, LoadReport
from analytics.io import load_path
from analytics.schema import Settings
from analytics.tension import (
    BASELINE_WEEKS,
    LAMBDA,
    ewma_chart,
    mann_kendall,
    operational_gaps,
    started,
    zones,
)
from tests.conftest import SAMPLE_DIR


def test_ewma_by_hand():
    chart = ewma_chart(np.array([10.0, 10.0, 15.0]), baseline=2, floor=1.0)
    # mu = 10, sigma = max(0, floor 1) = 1; z = 10, 10, 0.2 x 15 + 0.8 x 10 = 11.
    assert chart.ewma.tolist() == pytest.approx([10.0, 10.0, 11.0])
    # Limit at t = 3: 3 x sqrt(0.2 / 1.8 x (1 - 0.8^6)) = 0.859.
    width = 3 * np.sqrt(LAMBDA / (2 - LAMBDA) * (1 - (1 - LAMBDA) ** 6))
    assert width == pytest.approx(0.859, abs=1e-3)
    assert chart.upper[2] == pytest.approx(10 + width)
    assert chart.alarms.tolist() == [False, False, True]  # 11 > 10.859


def test_mann_kendall_and_sen_slope_by_hand():
    tau, p, slope = mann_kendall(np.array([1.0, 3.0, 5.0, 7.0, 9.0]))
    assert tau == pytest.approx(1.0) and slope == pytest.approx(2.0)
    assert p == pytest.approx(kendalltau(np.arange(5), [1, 3, 5, 7, 9])[1])
    assert mann_kendall(np.array([4.0, 4.0, 4.0])) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_alarm_on_a_stable_series(seed):
    x = np.random.default_rng(seed).normal(100, 5, 52)
    chart = ewma_chart(x)
    assert not chart.alarms.any()
    assert mann_kendall(x)[1] > 0.01


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alarm_soon_after_a_planted_shift(seed):
    x = np.random.default_rng(seed).normal(100, 5, 40)
    x[20:] += 15  # a 3-sigma shift from week 20
    chart = ewma_chart(x)
    first = int(np.flatnonzero(chart.alarms)[0])
    assert 20 <= first <= 23  # within three weeks, never before the shift
    assert 17 <= started(chart, 1) <= 21
    # A fall is not an alarm for an indicator where a rise is the problem, and vice versa.
    assert not ewma_chart(200 - x, direction=1).alarms[:20].any()
    assert ewma_chart(200 - x, direction=-1).alarms.any()


def test_growing_step_is_an_operational_gap():
    rng = np.random.default_rng(4)
    start = dt.datetime(2025, 1, 6)  # a Monday
    rows = []
    for week in range(20):
        for i in range(40):
            ts = start + dt.timedelta(weeks=week, hours=i)
            rows.append(("approval", ts, 3600 + 600 * week + rng.normal(0, 300), 300.0))
            rows.append(("reply", ts, 600 + rng.normal(0, 60), 200.0))
    events = pl.DataFrame(
        rows, schema=["activity", "timestamp", "wait_s", "handle_s"], orient="row"
    ).with_columns(pl.col("activity").cast(pl.Categorical))
    dataset = Dataset("t", "h", events, None, None, None, Settings(), LoadReport({}, (), ()))
    gaps = operational_gaps(dataset)
    assert gaps.select("activity", "measure").rows() == [("approval", "wait_s")]
    assert gaps["sen_slope_per_week"][0] == pytest.approx(600, rel=0.1)


@pytest.fixture(scope="module")
def sample_zones() -> pl.DataFrame:
    return zones(load_path(SAMPLE_DIR))


def _zone(table: pl.DataFrame, slice_: str, value: str, indicator: str) -> dict:
    rows = table.filter(
        (pl.col("slice") == slice_)
        & (pl.col("value") == value)
        & (pl.col("indicator") == indicator)
    )
    return rows.row(0, named=True)


def test_sample_logistics_region_and_bot_loop_are_zones(sample_zones):
    logistics = _zone(sample_zones, "region", "Yekaterinburg", "repeat_contacts")
    assert logistics["zone"] and logistics["p_value"] < 0.01
    # Planted from July; the EWMA catches the drift within weeks of it.
    assert dt.date(2025, 5, 15) <= logistics["started"] <= dt.date(2025, 7, 31)
    bot = _zone(sample_zones, "scenario", "billing", "bot_loops")
    assert bot["zone"] and dt.date(2025, 3, 15) <= bot["started"] <= dt.date(2025, 4, 30)
    # Other regions' repeat contacts are not flagged as strongly as the logistics region.
    others = sample_zones.filter(
        (pl.col("slice") == "region")
        & (pl.col("indicator") == "repeat_contacts")
        & (pl.col("value") != "Yekaterinburg")
    )
    assert others["severity"].max() < logistics["severity"] / 2
    assert len(logistics["ewma"]) == logistics["weeks"] >= BASELINE_WEEKS
