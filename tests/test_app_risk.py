"""AppTest of the Risk page on a customers-only snapshot: no events at all, a churn flag and
attributes. The page scores the snapshot, shows the validation and the at-risk list with
reasons in words, in English and Russian, and says what it cannot show."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analytics.io import load_path
from analytics.risk import at_risk, train
from tests.test_risk import _telco_like

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file


@pytest.fixture(scope="module")
def snapshot_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("snapshot")
    text, _ = _telco_like(400, seed=3)
    (out / "customers.csv").write_text(text, encoding="utf-8")
    return out


def _page(snapshot_dir, monkeypatch, lang: str = "EN") -> AppTest:
    monkeypatch.setenv("CX_RADAR_DATA", str(snapshot_dir))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    return at.switch_page("app_pages/risk.py").run()


def test_risk_page_scores_a_customers_only_snapshot(snapshot_dir, monkeypatch):
    at = _page(snapshot_dir, monkeypatch)
    assert not at.exception
    model = train(load_path(snapshot_dir))
    assert load_path(snapshot_dir).events.is_empty() and model.mode == "snapshot"
    assert any("customer snapshot" in c.value for c in at.caption)
    # The validation table: both candidates with their cross-validated ROC AUC.
    table = next(d.value for d in at.dataframe if "roc_auc" in d.value.columns)
    assert sorted(table["roc_auc"].round(6)) == sorted(
        round(v.roc_auc, 6) for v in model.validations
    )
    # No churn history: the money is a month's revenue at risk, the silent tile is absent.
    labels = [m.label for m in at.metric]
    assert "Revenue at risk a month" in labels and "Silent at-risk customers" not in labels
    assert next(m.value for m in at.metric if m.label == "Expected leavers") == (
        f"{model.scored['p_churn'].sum():,.0f}"
    )
    # The at-risk list with reasons in words from the attributes.
    listed = next(d.value for d in at.dataframe if "main_reason" in d.value.columns)
    assert len(listed) == min(300, at_risk(model.scored).height) > 0
    assert any("Contract is monthly" in r or "tenure" in r for r in listed["main_reason"])
    # The first customer's reasons in full under the table, one a line.
    assert any(m.value.startswith("* ") and "pp of risk" in m.value for m in at.markdown)
    # The logistic baseline's coefficients are shown by name when it is the model used.
    if model.method == "logistic":
        coef = next(d.value for d in at.dataframe if "coefficient" in d.value.columns)
        assert "tenure" in set(coef["feature"])
    # Slices are the snapshot's categories; tension zones need events and are not shown.
    at.segmented_control(key="risk_by").set_value("Contract").run()
    assert not at.exception
    assert not any(s.value == "Zones of growing tension" for s in at.subheader)


def test_risk_page_words_snapshot_reasons_in_russian(snapshot_dir, monkeypatch):
    at = _page(snapshot_dir, monkeypatch, "RU")
    assert not at.exception
    listed = next(d.value for d in at.dataframe if "main_reason" in d.value.columns)
    assert any("п. п. риска" in r for r in listed["main_reason"])


def test_the_time_split_writes_its_days_the_readers_way(lang):
    from dashboard.i18n import t
    from dashboard.risk_view import split_days

    split = {
        "fit": "2025-08-04, 2025-07-05",
        "calibrate": "2025-09-03",
        "validate": "2025-11-02",
        "score": "2026-01-01",
    }
    lang("ru")
    caption = t("risk.split", base="9,5 %", **(split | split_days(split)))
    assert "обучение на срезах 04.08.2025, 05.07.2025, калибровка на 03.09.2025" in caption
    assert "проверка на 02.11.2025" in caption and "(01.01.2026)" in caption
    assert "2025-" not in caption
    lang("en")
    assert split_days(split) == split  # ISO in English


def test_sample_risk_drivers_show_and_name_what_the_validation_contradicts(monkeypatch):
    # the built-in company on its time split: the drivers chart has the ten strongest and
    # every feature analytics.risk.did_not_hold names, below zero in grey and named under it
    from analytics.risk import did_not_hold
    from dashboard.charts import BLUE, GREY
    from dashboard.i18n import catalogue
    from tests.conftest import SAMPLE_DIR

    at = _page(SAMPLE_DIR, monkeypatch)
    assert not at.exception
    importance = train(load_path(SAMPLE_DIR)).importance
    contradicted = did_not_hold(importance)
    assert contradicted  # the sample's satisfaction and cost links shift over the year
    names = [catalogue("en")[f"risk.feature.{f}"] for f in contradicted]
    chart = next(c for c in at.get("plotly_chart") if "permutation importance" in c.proto.spec)
    bars = json.loads(chart.proto.spec)["data"][0]
    assert set(bars["y"]) == {
        catalogue("en")[f"risk.feature.{f}"] for f in importance["feature"][:10]
    } | set(names)
    colours = dict(zip(bars["y"], bars["marker"]["color"], strict=True))
    values = dict(zip(bars["y"], bars["x"], strict=True))
    assert all(colours[y] == (GREY if values[y] < 0 else BLUE) for y in bars["y"])
    assert all(colours[n] == GREY for n in names)
    note = next(c.value for c in at.caption if c.value.startswith("Grey bars below zero"))
    assert f"for {', '.join(names)}:" in note
