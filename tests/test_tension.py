"""Tension zones: EWMA, CUSUM and binomial limits by hand, their run lengths, the baseline
setting, abandonment on a bank-shaped daily report, the CLI, and the sample's stories."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import polars as pl
import pytest
from scipy.stats import kendalltau

from analytics.cli import main
from analytics.dataset import Dataset, LoadReport
from analytics.io import load_path
from analytics.schema import TABLES, Settings
from analytics.tension import (
    CUSUM_H,
    DAYS_PER_MONTH,
    alarm_run,
    change_text,
    control_chart,
    cusum,
    default_baseline,
    ewma,
    ewma_limit,
    mann_kendall,
    operational_gaps,
    parse_baseline,
    service_indicators,
    severity_text,
    zones,
)
from tests.conftest import SAMPLE_DIR

EVENT_COLUMNS = [c.name for c in TABLES["events"].columns]


def _dataset(events: pl.DataFrame | None = None, acd: pl.DataFrame | None = None) -> Dataset:
    if events is None:  # what the loader gives without events: 0 rows, every column
        events = pl.DataFrame(schema={"row_nr": pl.UInt32, **dict.fromkeys(EVENT_COLUMNS)})
    return Dataset("t", "h", events, None, acd, None, Settings(), LoadReport({}))


# ---------------------------------------------------------------- the charts by hand


def test_ewma_and_cusum_by_hand():
    u = np.array([0.0, 1.0, 2.0, -1.0, 3.0])
    # z: 0; 0.2 x 1 = 0.2; 0.2 x 2 + 0.8 x 0.2 = 0.56; -0.2 + 0.8 x 0.56 = 0.248;
    # 0.6 + 0.8 x 0.248 = 0.7984.
    assert ewma(u).tolist() == pytest.approx([0.0, 0.2, 0.56, 0.248, 0.7984])
    # S: max(0, -0.5) = 0; 0 + 1 - 0.5 = 0.5; 0.5 + 1.5 = 2; max(0, 2 - 1.5) = 0.5; 0.5 + 2.5 = 3.
    assert cusum(u).tolist() == pytest.approx([0.0, 0.5, 2.0, 0.5, 3.0])
    # Limits: 2.962 sqrt(0.2 / 1.8 x (1 - 0.8^2)) = 2.962 x 0.2 = 0.5924 at t = 1;
    # 2.962 sqrt(0.1111 x (1 - 0.8^4 = 0.5904)) = 0.7586 at t = 2; 2.962 / 3 = 0.9873 at last.
    limit = ewma_limit(200)
    assert limit[:2].tolist() == pytest.approx([0.5924, 0.7586], abs=1e-4)
    assert limit[-1] == pytest.approx(0.98733, abs=1e-5)


def test_control_chart_of_a_mean_by_hand():
    x = np.array([10.0, 12.0, 8.0, 10.0, 14.0, 14.0, 14.0])
    chart = control_chart(x, np.ones(7), np.arange(7) < 4, direction=1, share=False)
    # Baseline 10, 12, 8, 10: mean 10, sd sqrt((0 + 4 + 4 + 0) / 3) = 1.63299.
    assert chart.centre == 10.0 and chart.typical_sd == pytest.approx(1.63299, abs=1e-5)
    # u = 4 / 1.63299 = 2.44949 after the baseline; EWMA 0.48990, 0.88182 (> limit 0.7586
    # at t = 2), 1.19535; CUSUM 1.94949, 3.89898, 5.84847 (> h = 4 at t = 3).
    assert np.isnan(chart.ewma[:4]).all() and chart.monitored_from == 4
    assert chart.ewma[4:].tolist() == pytest.approx([0.48990, 0.88182, 1.19535], abs=1e-5)
    assert chart.cusum[4:].tolist() == pytest.approx([1.94949, 3.89898, 5.84847], abs=1e-5)
    assert chart.alarms.tolist() == [False] * 5 + [True, True]
    # The run of alarms starts at index 5; the CUSUM never stood at 0 after the baseline,
    # so the change began with monitoring, at index 4.
    assert alarm_run(chart) == (4, 5)
    # Drawn in the indicator's units: 10 + 0.88182 x 1.63299 = 11.440 above 10 + 0.7586 x
    # 1.63299 = 11.239; a fall is not an alarm where a rise is the problem.
    line, upper, _ = chart.drawn(1)
    assert line[5] == pytest.approx(11.440, abs=1e-3) and upper[5] == pytest.approx(
        11.239, abs=1e-3
    )
    assert not control_chart(20 - x, np.ones(7), np.arange(7) < 4, 1, False).alarms.any()
    assert control_chart(20 - x, np.ones(7), np.arange(7) < 4, -1, False).alarms.any()


def test_binomial_limits_of_a_share_by_hand():
    n = np.array([100, 100, 100, 100, 400])
    quiet = control_chart(np.array([0.10, 0.10, 0.12, 0.08, 0.10]), n, n < 400, 1, True)
    # p0 = 0.10; binomial sd sqrt(0.1 x 0.9 / 100) = 0.03 at 100 contacts, 0.015 at 400.
    # z = 0, 0, 0.667, -0.667: their sd 0.544 < 1, so no widening.
    assert quiet.centre == pytest.approx(0.10)
    assert quiet.sd.tolist() == pytest.approx([0.03] * 4 + [0.015])
    noisy = control_chart(np.array([0.05, 0.15, 0.05, 0.15, 0.10]), n, n < 400, 1, True)
    # z = -1.667, 1.667, -1.667, 1.667: sd sqrt(4 x 2.778 / 3) = 1.9245 widens the limits.
    assert noisy.sd[0] == pytest.approx(0.03 * 1.9245, abs=1e-4)
    # A zero baseline still has a spread: p held at 1 / 50 gives sqrt(0.02 x 0.98 / 50).
    zero = control_chart(np.array([0.0, 0.0, 0.0, 0.0, 0.2]), np.full(5, 50), n < 400, 1, True)
    assert zero.sd[0] == pytest.approx(0.019799, abs=1e-6)


def test_run_lengths_match_the_published_ones():
    # 1,500 runs of 5,000 periods: a run of 500 on average outlasts 5,000 once in 22,000.
    u = np.random.default_rng(5).standard_normal((5000, 1500))

    def mean_run(alarms: np.ndarray) -> float:
        assert alarms.any(axis=0).all()
        return float(np.argmax(alarms, axis=0).mean() + 1)

    # EWMA (0.2, 2.962), two-sided: in-control ARL 500 (Lucas and Saccucci 1990); the
    # standard error over 1,500 runs is about 13.
    assert 460 < mean_run(np.abs(ewma(u)) > ewma_limit(5000)[:, None]) < 540
    # One-sided CUSUM (k 0.5, h 4): Siegmund's approximation gives 336 in control, 8.34
    # for a one-sd shift (Montgomery's table: 168 two-sided, 8.38).
    assert 320 < mean_run(cusum(u) > CUSUM_H) < 352
    assert 8.2 < mean_run(cusum(u[:200] + 1) > CUSUM_H) < 8.6


def test_mann_kendall_and_sen_slope_by_hand():
    tau, p, slope = mann_kendall(np.array([1.0, 3.0, 5.0, 7.0, 9.0]))
    assert tau == pytest.approx(1.0) and slope == pytest.approx(2.0)
    assert p == pytest.approx(kendalltau(np.arange(5), [1, 3, 5, 7, 9])[1])
    assert mann_kendall(np.array([4.0, 4.0, 4.0])) == (0.0, 1.0, 0.0)


# ---------------------------------------------------------------- the baseline setting


def test_baseline_setting():
    assert parse_baseline("1999-01-01:1999-01-31") == (dt.date(1999, 1, 1), dt.date(1999, 1, 31))
    with pytest.raises(ValueError, match="expected START:END"):
        parse_baseline("January")
    with pytest.raises(ValueError, match="spans 14 days; it needs at least 28"):
        parse_baseline("1999-01-01:1999-01-14")
    # The first quarter of the history, 28 to 84 days: 90 days -> 28 (22 is too few);
    # 365 -> 84 (91 is too many); 200 -> 50.
    day = dt.date(1999, 1, 1)
    assert default_baseline(day, dt.date(1999, 3, 31)) == (day, dt.date(1999, 1, 28))
    assert default_baseline(day, dt.date(1999, 12, 31))[1] == dt.date(1999, 3, 25)
    assert default_baseline(day, day + dt.timedelta(days=199))[1] == dt.date(1999, 2, 19)


# ---------------------------------------------------------------- a bank's daily report

RISE = (dt.date(1999, 2, 15), dt.date(1999, 3, 15))  # 13 % before, 27 % after


def true_abandonment(day: dt.date) -> float:
    """13 % up to mid-February, a straight rise to 27 % by mid-March, 27 % after."""
    done = (day - RISE[0]).days / (RISE[1] - RISE[0]).days
    return 0.13 + 0.14 * min(max(done, 0.0), 1.0)


def bank(seed: int, rise: bool = True) -> pl.DataFrame:
    """A daily ACD report for January-March 1999 shaped like a real bank's: closed on
    Saturdays, about 3,000 calls a day (1,500 on Fridays), daily abandonment varying 1.5
    points around its level beyond the binomial; rows shuffled, as exports come."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(90):
        day = dt.date(1999, 1, 1) + dt.timedelta(days=i)
        if day.weekday() == 5:
            continue
        p = true_abandonment(day) if rise else 0.13
        offered = int(rng.normal(1500 if day.weekday() == 4 else 3000, 200))
        abandoned = int(rng.binomial(offered, np.clip(p + rng.normal(0, 0.015), 0.01, 0.9)))
        answered = offered - abandoned
        rows.append(
            (
                dt.datetime.combine(day, dt.time()),
                "retail",
                offered,
                answered,
                abandoned,
                int(answered * rng.uniform(0.45, 0.55)),
                float(rng.normal(60, 5)),
                180.0,
            )
        )
    frame = pl.DataFrame(
        rows,
        schema=[
            "interval_start",
            "queue",
            "offered",
            "answered",
            "abandoned",
            "answered_in_target",
            "asa_s",
            "aht_s",
        ],
        orient="row",
    )
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


def _row(table: pl.DataFrame, indicator: str, frequency: str = "day") -> dict:
    rows = table.filter((pl.col("indicator") == indicator) & (pl.col("frequency") == frequency))
    return rows.row(0, named=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_abandonment_rise_alarms_within_two_weeks(seed):
    acd = bank(seed)
    january = (dt.date(1999, 1, 1), dt.date(1999, 1, 31))
    zone = _row(zones(_dataset(acd=acd), baseline=january), "abandonment")
    assert zone["zone"] and zone["slice"] == "queue" and zone["value"] == "retail"

    # The textbook statistic, computed directly: p0 pooled over January, each day's
    # binomial sd widened by the sd of January's z-scores, EWMA and CUSUM from February.
    daily = acd.sort("interval_start")
    day = daily["interval_start"].dt.date().to_list()
    x = (daily["abandoned"] / daily["offered"]).to_numpy()
    n = daily["offered"].to_numpy().astype(float)
    jan = np.array([d.month == 1 for d in day])
    p0 = daily["abandoned"].filter(pl.Series(jan)).sum() / n[jan].sum()
    binomial = np.sqrt(p0 * (1 - p0) / n)
    phi = max(1.0, float(np.std(((x - p0) / binomial)[jan], ddof=1)))
    z, s, first = 0.0, 0.0, None
    for t, i in enumerate(np.flatnonzero(~jan), start=1):
        u = (x[i] - p0) / (phi * binomial[i])
        z, s = 0.2 * u + 0.8 * z, max(0.0, s + u - 0.5)
        limit = 2.962 * np.sqrt(0.2 / 1.8 * (1 - 0.8 ** (2 * t)))
        if first is None and (z > limit or s > 4):
            first = day[i]
    assert zone["first_alarm"] == first

    # Detectable: the first day the true level is one in-control sd (phi x the binomial sd
    # at January's mean volume) above p0, the shift k = 0.5 is tuned to.
    sd = phi * np.sqrt(p0 * (1 - p0) / n[jan].mean())
    detectable = next(d for d in day if true_abandonment(d) - p0 > sd)
    assert RISE[0] < first and abs((first - detectable).days) <= 14
    # The measure: a real bank's rise like this one alarms on 1999-02-21.
    assert abs((first - dt.date(1999, 2, 21)).days) <= 14
    assert RISE[0] <= zone["started"] <= first

    # The size in words: the last 28 days (4-31 March) against January, per month.
    recent = daily.filter(pl.col("interval_start") >= dt.datetime(1999, 3, 4))
    level = recent["abandoned"].sum() / recent["offered"].sum()
    assert zone["recent"] == pytest.approx(level) and zone["baseline"] == pytest.approx(p0)
    assert zone["relative_change"] == pytest.approx(level / p0 - 1)
    extra = (level - p0) * recent["offered"].sum() * DAYS_PER_MONTH / 28
    assert zone["excess_per_month"] == pytest.approx(extra)
    # One more handled call each: 15 per contact + 28 a minute x 3 minutes = 99.
    assert zone["money_at_stake"] == pytest.approx(extra * 99)
    text = severity_text(zone, "RUB")
    assert text.startswith(f"abandonment {100 * p0:.1f}% → {100 * level:.1f}% (+")
    assert f"about {extra:,.0f} more abandoned calls a month" in text
    assert f"about {extra * 99:,.0f} RUB a month at stake" in text and " sd" not in text
    # The other service indicators are charted too, weekly as well as daily.
    assert _row(zones(_dataset(acd=acd), baseline=january), "abandonment", "week")["zone"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_steady_service_is_no_zone(seed):
    table = zones(_dataset(acd=bank(seed, rise=False)))
    assert table.filter(pl.col("slice") == "queue").height == 6  # 3 indicators x day, week
    assert not table["zone"].any()


def test_default_baseline_and_one_that_holds_the_rise():
    acd = bank(4)
    default = _row(zones(_dataset(acd=acd)), "abandonment")
    # 90 days of history: the first 28 days are the baseline; the rise is still caught.
    assert (default["baseline_start"], default["baseline_end"]) == (
        dt.date(1999, 1, 1),
        dt.date(1999, 1, 28),
    )
    assert default["zone"] and default["first_alarm"] > RISE[0]
    # A baseline that already holds half the rise (1 February - 7 March) has a higher
    # level (pooled over exactly those days), so the same March looks a smaller change.
    held = (dt.date(1999, 2, 1), dt.date(1999, 3, 7))
    late = _row(zones(_dataset(acd=acd), baseline=held), "abandonment")
    days = acd.filter(pl.col("interval_start").dt.date().is_between(*held))
    assert late["baseline"] == pytest.approx(days["abandoned"].sum() / days["offered"].sum())
    assert late["baseline"] > default["baseline"] + 0.02
    assert late["relative_change"] < default["relative_change"] - 0.1
    # A baseline with no period after it charts nothing.
    assert zones(_dataset(acd=acd), baseline=(dt.date(1999, 3, 1), dt.date(1999, 3, 31))).is_empty()


def test_service_indicators_by_hand():
    acd = pl.DataFrame(
        {
            "interval_start": [dt.datetime(2025, 3, 3, 9), dt.datetime(2025, 3, 3, 10)],
            "queue": [None, None],
            "offered": [100, 300],
            "answered": [90, 250],
            "abandoned": [10, 50],
            "answered_in_target": [80, 150],
            "asa_s": [10.0, None],
        }
    )
    got = {r["indicator"]: r for r in service_indicators(acd).iter_rows(named=True)}
    # Abandonment (10 + 50) / 400 = 0.15; SL miss 1 - 230 / 400 = 0.425; ASA only where
    # known: 10 s over 90 answered. A missing queue is one queue, "all".
    assert got["abandonment"]["x"] == 0.15 and got["abandonment"]["n"] == 400
    assert got["sl_miss"]["x"] == pytest.approx(0.425)
    assert (got["asa"]["x"], got["asa"]["n"], got["asa"]["value"]) == (10.0, 90, "all")
    assert change_text("abandonment", 0.13, 0.27) == "13.0% → 27.0% (+108% against the baseline)"
    assert change_text("bot_loops", 0.0, 0.05) == "0.0% → 5.0% (from none in the baseline)"


# ---------------------------------------------------------------- the command line


def test_cli_on_a_dataset_with_only_acd(tmp_path, capsys):
    bank(1).write_parquet(tmp_path / "acd.parquet")
    assert main(["tension", str(tmp_path), "--baseline", "1999-01-01:1999-01-31", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    abandonment = [z for z in out["zones"] if z["indicator"] == "abandonment"]
    assert {z["frequency"] for z in abandonment} == {"day", "week"}
    daily = next(z for z in abandonment if z["frequency"] == "day")
    assert set(daily) >= {
        "indicator",
        "slice",
        "start",
        "first_alarm",
        "severity",
        "money_at_stake",
    }
    assert daily["slice"] == "queue" and "RUB a month at stake" in daily["severity"]
    assert dt.date(1999, 2, 15) < dt.date.fromisoformat(daily["first_alarm"]) < dt.date(1999, 3, 7)
    assert main(["tension", str(tmp_path)]) == 0
    assert "zones of growing tension among 6 series charted" in capsys.readouterr().out
    assert main(["tension", str(tmp_path), "--baseline", "1999-01-01:1999-01-07"]) == 1
    assert "it needs at least 28" in capsys.readouterr().err


def test_cli_on_a_plain_event_log_without_channel(tmp_path, capsys):
    rows = ["case_id,timestamp,activity"] + [
        f"C{i},2025-0{1 + i % 3}-{1 + i % 27:02d} 10:{i % 60:02d},step {i % 2}" for i in range(200)
    ]
    (tmp_path / "events.csv").write_text("\n".join(rows), encoding="utf-8")
    assert main(["tension", str(tmp_path / "events.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["zones"] == []
    (tmp_path / "empty").mkdir()
    assert main(["tension", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err  # a message that names what was expected, no traceback
    assert err.startswith("error:") and "expected" in err and "Traceback" not in err


# ---------------------------------------------------------------- events and the sample


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
    gaps = operational_gaps(_dataset(events))
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
    # Planted from July; the charts catch the drift within weeks of it.
    assert dt.date(2025, 5, 15) <= logistics["started"] <= dt.date(2025, 7, 31)
    assert logistics["started"] <= logistics["first_alarm"] <= dt.date(2025, 8, 15)
    bot = _zone(sample_zones, "scenario", "billing", "bot_loops")
    assert bot["zone"] and dt.date(2025, 3, 15) <= bot["started"] <= dt.date(2025, 4, 30)
    # From no bot loops at all in the baseline: a change in words, not "280 sd".
    assert bot["baseline"] == 0 and bot["relative_change"] is None
    assert "(from none in the baseline)" in severity_text(bot, "RUB")
    # Other regions' repeat contacts are not flagged as strongly as the logistics region.
    others = sample_zones.filter(
        (pl.col("slice") == "region")
        & (pl.col("indicator") == "repeat_contacts")
        & (pl.col("value") != "Yekaterinburg")
    )
    assert others["severity"].max() < logistics["severity"] / 2
    assert len(logistics["ewma"]) == logistics["periods"] == 51  # complete weeks of 2025
    # The sample's phone queue is steady: charted daily and weekly, no zone.
    phone = sample_zones.filter(pl.col("slice") == "queue")
    assert phone.height == 6 and not phone["zone"].any()


# ---------------------------------------------------------------- the Risk page


def test_risk_page_shows_the_abandonment_zone_in_words(small_dir, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    for path in (p for p in small_dir.iterdir() if p.is_file()):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    # The small company's first quarter of 2025, with the bank's rise in its phone queue.
    years = pl.duration(days=(dt.date(2025, 1, 1) - dt.date(1999, 1, 1)).days)
    bank(1).with_columns(pl.col("interval_start") + years).write_parquet(tmp_path / "acd.parquet")
    monkeypatch.setenv("CX_RADAR_DATA", str(tmp_path))
    at = AppTest.from_file("../dashboard/app.py", default_timeout=120)
    at = at.run().switch_page("app_pages/tension.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "relative_change" in d.value.columns)
    daily = table[(table["indicator"] == "Abandonment") & (table["frequency"] == "daily")]
    assert len(daily) == 1 and daily["relative_change"].iloc[0] > 0.5
    assert "severity" not in table.columns
    at.date_input(key="tension_baseline").set_value((dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    at.run()
    assert any("Against the baseline 2025-01-01 – 2025-01-31" in c.value for c in at.caption)
    # the trend test's p as a threshold or three decimals, never in e-notation
    (stats,) = [c.value for c in at.caption if c.value.startswith("Against the baseline")]
    assert re.search(r"Mann-Kendall p (< 0\.001|= 0\.\d{3}),", stats), stats
    at.date_input(key="tension_baseline").set_value((dt.date(2025, 1, 1), dt.date(2025, 1, 10)))
    at.run()
    assert not at.exception
    assert any("at least 28 days; the default is used" in w.value for w in at.warning)
