"""Churn risk per customer: who is likely to leave, why in plain words, and the revenue at
risk, in one of three modes chosen from the data (:func:`data_mode`):

* ``time_split``: events and customers with churn dates over time. Feature snapshots at
  past cut-offs (:mod:`analytics.risk_features`), fitted on older ones, calibrated on the
  latest training one, validated on a later one, never on random rows.
* ``snapshot``: one row per customer with attributes and a churned flag (or churn dates but
  no events): cross-sectional, stratified cross-validation (:mod:`analytics.risk_snapshot`).
* ``rules``: a time history with fewer than ``MIN_CHURNERS`` churners to fit on: no model;
  transparent rule points score customers, each points level at its validation churn rate.

Both model modes compare the same two scikit-learn pipelines and keep the logistic baseline
unless gradient boosting beats it on validation (:mod:`analytics.risk_model`); the chosen
``Pipeline`` is kept on the result. Validation reports ROC AUC, PR AUC (average precision),
the Brier score and the lift of the top decile.

Revenue at risk = P(churn) x LTV, LTV = monthly revenue / :func:`analytics.churn.
ltv_churn_rate` (the mean monthly churn of the last three full months; margin 1: revenue,
not profit). Without a churn history (a snapshot) LTV is unknown and ``revenue_at_risk``
null; ``revenue_at_risk_month`` = P(churn) x monthly revenue is always there.

Deterministic: customers are sorted by id before any matrix is built, every model is seeded,
fits run on one thread, and ties are broken by customer id: the same data gives the same
numbers bit for bit, whatever the order of its rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from analytics.churn import loud_customers, ltv_churn_rate
from analytics.cost import case_costs
from analytics.dataset import Dataset
from analytics.messages import fill
from analytics.risk_features import (
    FEATURES,
    HORIZON_DAYS,
    LOOKBACK_DAYS,
    REASONS,
    cutoffs,
    features,
    labelled,
    rule_points,
)
from analytics.risk_model import (
    TOP_SHARE,
    RiskUnavailable,
    Validation,
    choose,
    drivers,
    model_input,
    one_thread,
    pipelines,
    validate,
)
from analytics.risk_snapshot import BLANK as SNAPSHOT_BLANK
from analytics.risk_snapshot import FOLDS, cell_in, fit_snapshot
from analytics.risk_snapshot import REASONS as SNAPSHOT_REASONS

if TYPE_CHECKING:  # scikit-learn is imported where a model is fitted (analytics.risk_model)
    from sklearn.pipeline import Pipeline

MIN_CHURNERS = 200
TIME_SLICES = ("segment", "region", "scenario", "channel")
# Note key -> English template (the app translates the key).
NOTES: dict[str, str] = {
    "rules": "{churners} churners to learn from (fewer than {need}): no model is trained; "
    "customers are scored by transparent rules",
    "baseline": "gradient boosting did not beat the logistic baseline on PR AUC with a Brier "
    "score at least as good: the baseline is used",
    "left_out": "left out of the model: {columns}",
    "no_ltv": "no churn history to turn monthly revenue into LTV: revenue at risk is shown "
    "per month",
}
__all__ = [
    "HORIZON_DAYS",
    "LOOKBACK_DAYS",
    "REASONS",
    "SNAPSHOT_REASONS",
    "RiskUnavailable",
    "Validation",
]


@dataclass(frozen=True)
class Note:
    """A remark on the model: a :data:`NOTES` key and its values."""

    key: str
    values: dict[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return NOTES[self.key].format(**self.values)


@dataclass(frozen=True)
class RiskModel:
    """The outcome of training: what was compared, what is used, and the scored customers.

    ``scored``: the active customers, riskiest first, with ``p_churn``, ``ltv``,
    ``revenue_at_risk``, ``revenue_at_risk_month``, ``silent`` and their reasons
    (:func:`reason_words`); ``validation``: the validation customers with ``p_churn``,
    ``revenue_at_risk`` and ``churned`` (what happened); ``slices``: the ``scored``
    columns revenue at risk can be broken down by.
    """

    mode: str  # "time_split", "snapshot" or "rules"
    method: str  # "logistic", "gbm" or "rules"
    validations: tuple[Validation, ...]
    split: dict[str, str]
    churners_train: int
    base_rate: float
    scored: pl.DataFrame
    importance: pl.DataFrame  # feature, importance (drop in ROC AUC when shuffled), sd
    card: dict[str, float]
    ltv_churn: float | None
    validation: pl.DataFrame
    pipeline: Pipeline | None = None  # the chosen model, uncalibrated; None for rules
    slices: tuple[str, ...] = TIME_SLICES
    notes: tuple[Note, ...] = ()


def data_mode(dataset: Dataset) -> str:
    """``time_split`` when there are events and the outcome is dated (churn dates, or no
    churned flag at all: then nobody has left yet); ``snapshot`` when the outcome is a
    churned flag, or churn dates without events. Raises :class:`RiskUnavailable` without a
    customers table or any outcome. (``rules`` is decided in training: too few churners.)"""
    customers = dataset.customers
    if customers is None or customers.is_empty():
        raise RiskUnavailable("no_customers")

    def known(column: str) -> bool:
        return column in customers.columns and customers[column].null_count() < customers.height

    if dataset.events.height and (known("churn_date") or not known("churned")):
        return "time_split"
    if known("churned") or known("churn_date"):
        return "snapshot"
    raise RiskUnavailable("no_outcome")


def train(dataset: Dataset, horizon_days: int = HORIZON_DAYS, seed: int = 0) -> RiskModel:
    """Choose the mode (:func:`data_mode`), fit, validate and score (module docstring).

    Raises :class:`RiskUnavailable` (a ``ValueError``) when no model can be built.
    """
    if data_mode(dataset) == "snapshot":
        return _train_snapshot(dataset, seed)
    return _train_time_split(dataset, horizon_days, seed)


def _train_time_split(dataset: Dataset, horizon_days: int, seed: int) -> RiskModel:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    dates = cutoffs(dataset, horizon_days)
    cases = case_costs(dataset)
    score_at = dates["score"][0]
    scoring = _still_active(features(dataset, score_at, cases), dataset)
    ltv_churn = ltv_churn_rate(dataset)
    snaps = [(d, features(dataset, d, cases)) for d in dates["train"]]
    fit_snaps, calib = snaps[1:], snaps[:1]
    valid_at = dates["validation"][0]
    valid = features(dataset, valid_at, cases)
    y_valid = labelled(valid, valid_at, horizon_days)
    churners = int(sum(labelled(f, d, horizon_days).sum() for d, f in fit_snaps))
    split = {
        "fit": ", ".join(str(d) for d, _ in fit_snaps),
        "calibrate": ", ".join(str(d) for d, _ in calib),
        "validate": str(valid_at),
        "score": str(score_at),
    }
    days = (
        valid.select((pl.col("churn_date") - pl.lit(valid_at)).dt.total_days())
        .to_series()
        .to_numpy()
    )
    base_rate = float(y_valid.mean()) if y_valid.size else 0.0
    if churners < MIN_CHURNERS or not calib or y_valid.sum() == 0:
        # Each points level scores at its churn rate in the validation period.
        points_valid = rule_points(valid).to_numpy()
        rates = {k: y_valid[points_valid == k].mean() for k in np.unique(points_valid)}
        p_valid = np.array([rates[k] for k in points_valid], dtype=float)
        p = np.array([rates.get(k, np.nan) for k in rule_points(scoring).to_numpy()])
        p = np.where(np.isnan(p), base_rate, p)
        return RiskModel(
            "rules",
            "rules",
            (validate("rules", y_valid, p_valid),) if y_valid.sum() else (),
            split,
            churners,
            base_rate,
            _scored(scoring, p, _time_reasons(scoring, None), ltv_churn, dataset),
            pl.DataFrame(schema={"feature": pl.String, "importance": pl.Float64, "sd": pl.Float64}),
            _card(y_valid, p_valid, days),
            ltv_churn,
            _replay(valid, p_valid, y_valid, ltv_churn),
            notes=(Note("rules", {"churners": churners, "need": MIN_CHURNERS}),),
        )
    x_fit = model_input(pl.concat([f for _, f in fit_snaps]), FEATURES)
    y_fit = np.concatenate([labelled(f, d, horizon_days) for d, f in fit_snaps])
    x_cal = model_input(calib[0][1], FEATURES)
    y_cal = labelled(calib[0][1], calib[0][0], horizon_days)
    x_valid = model_input(valid, FEATURES)
    fitted, validations = {}, []
    with one_thread():
        for name, pipe in pipelines(FEATURES, (), seed).items():
            pipe.fit(x_fit, y_fit)
            calibrated = CalibratedClassifierCV(FrozenEstimator(pipe), method="sigmoid")
            fitted[name] = calibrated.fit(x_cal, y_cal)
            validations.append(validate(name, y_valid, calibrated.predict_proba(x_valid)[:, 1]))
        method = choose(validations)
        model = fitted[method]
        importance = drivers(model, x_valid, y_valid, seed)
        p_valid = model.predict_proba(x_valid)[:, 1]
        p = model.predict_proba(model_input(scoring, FEATURES))[:, 1]
    return RiskModel(
        "time_split",
        method,
        tuple(validations),
        split,
        churners,
        base_rate,
        _scored(scoring, p, _time_reasons(scoring, importance), ltv_churn, dataset),
        importance,
        _card(y_valid, p_valid, days),
        ltv_churn,
        _replay(valid, p_valid, y_valid, ltv_churn),
        fitted[method].estimator.estimator,  # CalibratedClassifierCV -> FrozenEstimator -> Pipeline
        notes=() if method != "logistic" else (Note("baseline"),),
    )


def _still_active(frame: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    """Leave out customers flagged ``churned`` (a flag may come without a churn date)."""
    customers = dataset.customers
    if customers is None or "churned" not in customers.columns:
        return frame
    gone = customers.filter(pl.col("churned").fill_null(False))["customer_id"]
    return frame.filter(~pl.col("customer_id").is_in(gone.implode()))


def _train_snapshot(dataset: Dataset, seed: int) -> RiskModel:
    customers = dataset.customers
    assert customers is not None  # data_mode checked it
    fit = fit_snapshot(customers, seed)
    ltv_churn = ltv_churn_rate(dataset)
    # The canonical columns the outputs carry, null where the table lacks them.
    extra = [c for c in ("segment", "region", "monthly_revenue") if c not in fit.frame.columns]
    frame = (
        fit.frame.join(
            customers.select("customer_id", *(c for c in extra if c in customers.columns)).unique(
                "customer_id", keep="first"
            ),
            on="customer_id",
            how="left",
            maintain_order="left",
        )
        .join(fit.reasons, on="customer_id", how="left", maintain_order="left")
        .with_columns(
            pl.lit(None, pl.Float64 if c == "monthly_revenue" else pl.String).alias(c)
            for c in extra
            if c not in customers.columns
        )
    )
    y = frame["churned"].to_numpy().astype(int)
    p = frame["p_churn"].to_numpy()
    active = frame.filter(~pl.col("churned"))
    # The categories that drive the risk most come first (the page's default slice).
    rank = {f: i for i, f in enumerate(fit.importance["feature"])}
    categories = sorted(fit.attributes.categorical, key=rank.__getitem__)
    slices = tuple(
        c
        for c in ("segment", "region", *categories)
        if c in frame.columns and frame[c].null_count() < frame.height
    )
    notes = [Note("baseline")] if fit.method == "logistic" else []
    if fit.attributes.left_out:
        notes.append(Note("left_out", {"columns": ", ".join(sorted(fit.attributes.left_out))}))
    if ltv_churn is None:
        notes.append(Note("no_ltv"))
    return RiskModel(
        "snapshot",
        fit.method,
        fit.validations,
        {"folds": str(FOLDS), "customers": str(frame.height)},
        int(y.sum()),
        float(y.mean()),
        _scored(active, active["p_churn"].to_numpy(), None, ltv_churn, dataset),
        fit.importance,
        _card(y, p, None),
        ltv_churn,
        _replay(frame, p, y, ltv_churn),
        fit.pipeline,
        slices,
        tuple(notes),
    )


def _replay(
    valid: pl.DataFrame, p: np.ndarray, y: np.ndarray, ltv_churn: float | None
) -> pl.DataFrame:
    """The validation customers as the rules would have seen them, with what happened next."""
    frame = valid.select("customer_id", "segment", "region", "monthly_revenue")
    return _money(frame, p, ltv_churn).with_columns(pl.Series("churned", y.astype(bool)))


def _money(frame: pl.DataFrame, p: np.ndarray, ltv_churn: float | None) -> pl.DataFrame:
    """``p_churn``, ``ltv`` = monthly revenue / LTV churn, ``revenue_at_risk`` = p x LTV
    (null without an LTV churn) and ``revenue_at_risk_month`` = p x monthly revenue."""
    ltv = pl.col("monthly_revenue") / ltv_churn if ltv_churn else pl.lit(None, pl.Float64)
    return frame.with_columns(
        pl.Series("p_churn", p, dtype=pl.Float64), ltv.cast(pl.Float64).alias("ltv")
    ).with_columns(
        (pl.col("p_churn") * pl.col("ltv")).alias("revenue_at_risk"),
        (pl.col("p_churn") * pl.col("monthly_revenue")).alias("revenue_at_risk_month"),
    )


def _card(y: np.ndarray, p: np.ndarray, days: np.ndarray | None) -> dict[str, float]:
    """Of those who churned in validation: how many were flagged (riskiest decile), and (time
    split) the median days from the cut-off to their leaving."""
    flagged = p >= np.quantile(p, 1 - TOP_SHARE) if p.size else np.zeros(0, bool)
    left = y == 1
    caught = left & flagged
    ahead = days[caught] if days is not None else np.zeros(0)
    return {
        "churners": float(left.sum()),
        "flagged": float(caught.sum()),
        "recall_top_decile": float(caught.sum() / left.sum()) if left.sum() else float("nan"),
        "median_days_ahead": float(np.median(ahead)) if ahead.size else float("nan"),
        "flagged_customers": float(flagged.sum()),
    }


def _time_reasons(frame: pl.DataFrame, importance: pl.DataFrame | None) -> pl.DataFrame:
    """Up to three risky features where the customer is over a standard deviation above the
    population, most important first (by permutation importance when there is a model)."""
    weights = (
        dict(zip(importance["feature"], importance["importance"], strict=True))
        if importance is not None and importance.height
        else {}
    )
    reasons = [f for f in REASONS if f in frame.columns]
    z = frame.select(
        ((pl.col(f) - pl.col(f).mean()) / pl.col(f).std()).fill_nan(0).fill_null(0).alias(f)
        for f in reasons
    ).to_numpy()
    values = frame.select(reasons).to_numpy()
    strength = z * np.array([max(weights.get(f, 0.0), 0.0) + 1e-3 for f in reasons])
    order = np.argsort(-strength, axis=1, kind="stable")[:, :3]
    picked = [
        [j for j in order[i] if z[i, j] > 1 and values[i, j] > 0] for i in range(frame.height)
    ]
    return pl.DataFrame(
        [
            pl.Series(
                "reason_features", [[reasons[j] for j in r] for r in picked], pl.List(pl.String)
            ),
            pl.Series(
                "reason_values",
                [[float(values[i, j]) for j in r] for i, r in enumerate(picked)],
                pl.List(pl.Float64),
            ),
        ]
    )


def _scored(
    frame: pl.DataFrame,
    p: np.ndarray,
    reasons: pl.DataFrame | None,
    ltv_churn: float | None,
    dataset: Dataset,
) -> pl.DataFrame:
    """Active customers with money (:func:`_money`), ``silent`` (nobody has heard from them:
    :func:`analytics.churn.loud_customers`; null without events) and reasons in English,
    riskiest money first, ties by customer id."""
    if reasons is not None:
        frame = frame.with_columns(reasons)
    if dataset.events.height:
        loud = loud_customers(dataset.events, dataset.surveys)["customer_id"]
        silent = ~pl.col("customer_id").is_in(loud.implode())
    else:
        silent = pl.lit(None, pl.Boolean)
    scored = _money(frame, p, ltv_churn).with_columns(silent.alias("silent"))
    return scored.with_columns(
        pl.Series("reasons", reason_words(scored), dtype=pl.List(pl.String))
    ).sort(
        "revenue_at_risk",
        "revenue_at_risk_month",
        "customer_id",
        descending=[True, True, False],
        nulls_last=True,
    )


TEMPLATES: dict[str, str] = {**REASONS, **SNAPSHOT_REASONS}


def reason_words(
    frame: pl.DataFrame, templates: Mapping[str, str] | None = None, lang: str = "en"
) -> list[list[str]]:
    """Each customer's reasons in words, from ``reason_features`` (the template keys) and
    ``reason_values``, plus ``reason_args`` (attribute, value, typical, points) in a snapshot.
    ``templates``: key -> words in ``lang`` (default :data:`TEMPLATES`, English); time-split
    templates take ``{value}`` (a number) and ``{days}`` (the look-back). Another language
    than English is filled by :func:`analytics.messages.fill`: its number marks (``1 234``,
    ``+0,5``) and plural forms. English keeps ``str.format``, eight times faster on every
    scored customer: its plural fields agree with ``{value}`` (``1 wait``, ``2 waits``) and
    are settled beforehand by :func:`_english`."""
    words = templates or TEMPLATES
    cells = _cells_in(words, lang)

    def say(template: str, values: dict[str, Any]) -> str:
        if lang != "en":
            return fill(template, lang, values)
        return _english(template, values.get("value") == 1).format(**values)

    extra = (
        frame["reason_args"].to_list() if "reason_args" in frame.columns else [None] * frame.height
    )
    out = []
    for keys, values, args in zip(
        frame["reason_features"].to_list(), frame["reason_values"].to_list(), extra, strict=True
    ):
        if args is None:
            out.append(
                [
                    say(words[k], {"value": v, "days": LOOKBACK_DAYS})
                    for k, v in zip(keys or [], values or [], strict=True)
                ]
            )
        else:
            out.append([say(words[k], cells(a)) for k, a in zip(keys, args, strict=True)])
    return out


def _cells_in(words: Mapping[str, str], lang: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A snapshot reason's arguments with their cells (``value``, ``typical``) in ``lang``:
    numbers in its marks (``12 345,5``), an empty cell in its word (``words["blank"]``)."""
    if lang == "en":
        return lambda args: args
    blank = words.get("blank", SNAPSHOT_BLANK)
    return lambda args: {
        **args,
        "value": cell_in(args["value"], lang, blank),
        "typical": cell_in(args["typical"], lang, blank),
    }


_PLURAL_FIELD = re.compile(r"\{\w+:([^{}|]*)\|([^{}|]*)\}")


@cache
def _english(template: str, one: bool) -> str:
    """An English reason template with its plural fields (``{value:wait|waits}``) written
    in the form that agrees with a value of 1 (``one``) or with any other."""
    return _PLURAL_FIELD.sub(lambda m: m[1] if one else m[2], template)


def did_not_hold(importance: pl.DataFrame) -> list[str]:
    """Features the model leans on in a way the validation period contradicts: shuffling
    them raised the validation ROC AUC by more than twice its spread over the shuffles,
    importance + 2 sd < 0 (a link learnt in the training months that no longer holds: a
    drift signal, not a driver)."""
    if not importance.height:
        return []
    return importance.filter(pl.col("importance") + 2 * pl.col("sd") < 0)["feature"].to_list()


def at_risk(scored: pl.DataFrame, share: float = TOP_SHARE) -> pl.DataFrame:
    """The riskiest ``share`` of customers by probability."""
    cut = scored["p_churn"].quantile(1 - share)
    return scored.filter(pl.col("p_churn") >= cut)


def revenue_at_risk_by(scored: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per value of ``by`` (a slice): customers, expected leavers (sum of p), revenue at risk
    (sum of p x LTV), a month's revenue at risk (sum of p x monthly revenue) and the mean risk;
    largest first. Sums run over customers in id order: the same floats in any row order."""
    return (
        scored.sort("customer_id")
        .group_by(pl.col(by).cast(pl.String).fill_null("(none)"), maintain_order=True)
        .agg(
            pl.len().alias("customers"),
            pl.col("p_churn").sum().alias("expected_leavers"),
            pl.col("revenue_at_risk").sum(),
            pl.col("revenue_at_risk_month").sum(),
            pl.col("p_churn").mean().alias("mean_risk"),
        )
        .sort("revenue_at_risk", "revenue_at_risk_month", by, descending=[True, True, False])
    )


def silent_at_risk(scored: pl.DataFrame, share: float = TOP_SHARE) -> pl.DataFrame:
    """High risk (the riskiest ``share``) and silent: no complaint and no survey answer
    anywhere in the data, the customers nobody will hear from before they leave."""
    return at_risk(scored, share).filter(pl.col("silent").fill_null(False))
