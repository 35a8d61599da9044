"""The Risk page's figures (analytics/risk_summary.py) on a hand-made scored base."""

from __future__ import annotations

import polars as pl

from analytics.risk import RiskModel
from analytics.risk_model import Validation
from analytics.risk_summary import customer_list, figures, money_column, validation_table


def _model(ltv_churn: float | None = 0.02) -> RiskModel:
    """Ten customers, p 0.1 ... 1.0 except C08 tied with C09 at 0.9. The riskiest 10 %: p at
    or above the nearest-rank 0.9 quantile (rank 0.9 x 9 = 8.1 -> 8: 0.9), so C08, C09, C10."""
    ids = [f"C{i:02d}" for i in range(1, 11)]
    p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9, 0.9, 1.0]
    ltv = [1000.0] * 7 + [2000.0, 2000.0, 500.0]
    scored = pl.DataFrame(
        {
            "customer_id": ids,
            "p_churn": p,
            "ltv": ltv,
            "revenue_at_risk": [a * b for a, b in zip(p, ltv, strict=True)],
            "revenue_at_risk_month": [a * 100 for a in p],
            "silent": [True, False] * 5,
            "segment": ["mass"] * 10,
            "region": ["Kazan"] * 9 + ["Saint Petersburg"],
            "reason_features": [["bot_loops"]] * 10,
            "reason_values": [[float(i)] for i in range(10)],
        }
    )
    return RiskModel(
        mode="time_split",
        method="logistic",
        validations=(
            Validation("logistic", 0.84, 0.5, 0.07, 3.1),
            Validation("gbm", 0.83, 0.48, 0.071, 2.9),
        ),
        split={},
        churners_train=50,
        base_rate=0.1,
        scored=scored,
        importance=pl.DataFrame(),
        card={},
        ltv_churn=ltv_churn,
        validation=pl.DataFrame(),
    )


def test_figures_of_the_base():
    model = _model()
    shown = figures(model, has_events=True)
    # p x LTV: 0.1+...+0.7 = 2.8 x 1000, 0.9 x 2000 twice, 1.0 x 500
    assert shown.at_risk == 2800 + 1800 + 1800 + 500
    assert shown.expected == sum([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9, 0.9, 1.0])
    assert (shown.silent, shown.silent_money) == (1, 1800.0)  # C09 (odd ids are silent)
    assert figures(model, has_events=False).silent is None
    month = _model(ltv_churn=None)
    assert money_column(month) == "revenue_at_risk_month"
    assert figures(month, True).at_risk == 100 * shown.expected


def test_the_list_is_ordered_by_money_then_probability_then_id_with_reasons_last():
    listed = customer_list(_model(), False, {"bot_loops": "{value:.0f} bot loops"}, True)
    # C08 and C09 tie on money (1,800) and p (0.9): by id; C10's 500 comes last
    assert listed["customer_id"].to_list() == ["C08", "C09", "C10"]
    assert listed.columns == [
        "customer_id",
        "p_churn",
        "revenue_at_risk",
        "segment",
        "region",
        "silent",
        "main_reason",
        "reasons",
    ]
    assert listed["main_reason"].to_list() == ["7 bot loops", "8 bot loops", "9 bot loops"]
    assert listed["reasons"].to_list() == [["7 bot loops"], ["8 bot loops"], ["9 bot loops"]]
    quiet = customer_list(_model(), True, {"bot_loops": "{value:.0f}"}, True)
    assert quiet["customer_id"].to_list() == ["C09"]
    assert "silent" not in customer_list(_model(), False, {"bot_loops": ""}, False).columns


def test_validation_table_marks_the_model_used_in_words():
    table = validation_table(_model(), {"logistic": "Logistic regression"})
    assert table["model"].to_list() == ["Logistic regression", "gbm"]  # unnamed: as it is
    assert table["used"].to_list() == [True, False]


def test_the_cached_list_is_the_models_list_and_knows_whether_there_are_events(small_dir):
    """``at_risk_list`` asks ``compute`` for the model (the app's cache) and lists it as
    :func:`customer_list` does; the silent column follows the dataset's events."""
    from dataclasses import replace

    from analytics.io import load_path
    from analytics.risk import train
    from analytics.risk_summary import at_risk_list

    asked = []

    def compute(fn, dataset, *params):
        asked.append((fn, params))
        return _model()

    dataset = load_path(small_dir)
    templates = (("bot_loops", "{value:.0f} bot loops"),)
    listed = at_risk_list(dataset, False, templates, compute=compute)
    assert asked == [(train, ())]
    assert listed.equals(customer_list(_model(), False, dict(templates), True))
    quiet = replace(dataset, events=dataset.events.clear())
    assert "silent" not in at_risk_list(quiet, False, templates, compute=compute).columns
