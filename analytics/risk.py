"""Churn risk per customer: features, a time-split model against a transparent baseline,
explanations in plain words, and revenue at risk.

Snapshots. A snapshot at cut-off T describes every customer active at T (signed up before
T, not gone before T) from the ``LOOKBACK_DAYS`` before T, and labels them churned when
``churn_date`` falls in [T, T + horizon). With the data's last day E:

* validation cut-off V = E - horizon (its labels are complete);
* training cut-offs V - horizon - 30 k days, k = 0..3 (their label windows end before V,
  so nothing from the validation period leaks into training), kept while a full look-back
  fits in the data; the latest one calibrates, the older ones fit;
* scoring cut-off: E + 1 day, labels unknown: the at-risk list.

Models: the baseline is a regularised logistic regression (L2, C = 0.5) on standardised
features; the challenger is scikit-learn's histogram gradient boosting. Each is calibrated
on the calibration snapshot with ``CalibratedClassifierCV(FrozenEstimator(model),
method="sigmoid")``. Validation reports ROC AUC, PR AUC (average precision), the Brier score
and the lift of the top decile (its churn rate / the overall rate). Gradient boosting is used
only if it beats the baseline on PR AUC (the ranking of a rare outcome, acted on from the top)
without a worse Brier score (the probabilities). With fewer than ``MIN_CHURNERS``
churners to fit on, no model is trained: a transparent rule count scores customers instead.

Revenue at risk = P(churn within the horizon) x LTV, LTV = monthly revenue / the dataset's
mean monthly churn over its last three months (margin 1: revenue, not profit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from analytics.churn import COMPLAINT_PATTERN, dataset_churn
from analytics.cost import case_costs
from analytics.dataset import Dataset
from analytics.kpi import is_contact

LOOKBACK_DAYS = 90
RECENT_DAYS = 30
HORIZON_DAYS = 60
MIN_CHURNERS = 200
TOP_SHARE = 0.1  # "flagged" = the riskiest decile

# Feature -> the plain-words reason shown when a customer is far above the population on it.
REASONS: dict[str, str] = {
    "waits_over": "{value:.0f} waits above the promised time in {days} days",
    "waits_over_trend": "waits above the promise rising: {value:+.1f} a month against before",
    "repeat_contacts": "{value:.0f} repeat contacts about the same cases in {days} days",
    "contacts_trend": "contacting more often: {value:+.1f} contacts a month against before",
    "unresolved_cases": "cases not resolved: {value:.0f}",
    "channel_hops": "cases bounced between channels: {value:.0f}",
    "bot_loops": "cases stuck in a bot loop: {value:.0f}",
    "manual_steps": "manual exceptions in their cases: {value:.0f}",
    "cost_to_serve": "cost to serve {value:,.0f} in {days} days",
    "low_nps": "last NPS answer {value:.0f} points below 10",
    "low_csat": "last CSAT answer {value:.0f} points below 5",
    "complaints": "complaints: {value:.0f}",
}
FEATURES = (
    "contacts",
    "contacts_trend",
    "repeat_contacts",
    "waits_over",
    "waits_over_trend",
    "unresolved_cases",
    "channel_hops",
    "bot_loops",
    "manual_steps",
    "cost_to_serve",
    "complaints",
    "tenure_days",
    "monthly_revenue",
    "low_nps",
    "low_csat",
    "surveyed",
)


def features(dataset: Dataset, cutoff: dt.date, cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per customer active at ``cutoff``: the model's features, from the
    ``LOOKBACK_DAYS`` before it, plus ``segment``, ``region``, ``scenario`` and
    ``channel`` (the customer's commonest in the look-back) and ``churn_date``.

    * contacts: customer-facing events; repeat contacts = contacts - cases;
    * waits_over: events whose ``wait_s`` exceeds the channel's promised wait;
    * ``*_trend``: (last ``RECENT_DAYS`` count - the earlier days' count scaled to the same
      length), per 30 days: positive when the customer's own level is rising;
    * unresolved_cases: cases with no event resolved; channel_hops, bot_loops, cost_to_serve
      from the per-case behaviour tags and costs (cases started in the look-back);
    * low_nps = 10 - last NPS, low_csat = 5 - last CSAT (0 without an answer; ``surveyed``
      says whether there was one), so larger is always worse.
    """
    customers = dataset.customers
    if customers is None:
        raise ValueError("the risk model needs the customers table")
    start = dt.datetime.combine(cutoff - dt.timedelta(days=LOOKBACK_DAYS), dt.time())
    end = dt.datetime.combine(cutoff, dt.time())
    recent = end - dt.timedelta(days=RECENT_DAYS)
    promised = dataset.settings.promised_wait_s
    window = dataset.events.lazy().filter(
        (pl.col("timestamp") >= start) & (pl.col("timestamp") < end)
    )
    in_recent = pl.col("timestamp") >= recent
    over = (pl.col("wait_s") > pl.col("channel").replace_strict(promised, default=None)).fill_null(
        False
    ) & is_contact()
    contact = is_contact()
    scale = RECENT_DAYS / (LOOKBACK_DAYS - RECENT_DAYS)

    def trend(flag: pl.Expr) -> pl.Expr:
        return (flag & in_recent).sum() - scale * (flag & ~in_recent).sum()

    per_case = window.group_by("customer_id", "case_id").agg(
        (pl.col("outcome") == "resolved").any().alias("resolved")
    )
    by_events = (
        window.group_by("customer_id")
        .agg(
            contact.sum().alias("contacts"),
            trend(contact).alias("contacts_trend"),
            over.sum().alias("waits_over"),
            trend(over).alias("waits_over_trend"),
            pl.col("is_manual").fill_null(False).sum().alias("manual_steps"),
            pl.col("activity")
            .cast(pl.String)
            .str.contains(COMPLAINT_PATTERN)
            .sum()
            .alias("complaints"),
            pl.col("case_id").n_unique().alias("cases"),
            pl.col("scenario").drop_nulls().mode().first().alias("scenario"),
            pl.col("channel").filter(contact).drop_nulls().mode().first().alias("channel"),
        )
        .join(
            per_case.group_by("customer_id").agg(
                (~pl.col("resolved")).sum().alias("unresolved_cases")
            ),
            on="customer_id",
            how="left",
        )
    )
    if cases is None:
        cases = case_costs(dataset)
    by_cases = (
        cases.lazy()
        .filter((pl.col("start") >= start) & (pl.col("start") < end))
        .group_by("customer_id")
        .agg(
            pl.col("channel_hopping").sum().alias("channel_hops"),
            pl.col("bot_loop").sum().alias("bot_loops"),
            pl.col("cost").sum().alias("cost_to_serve"),
        )
    )
    surveys = _last_answers(dataset, end)
    active = customers.lazy().filter(
        (pl.col("signup_date").is_null() | (pl.col("signup_date") < cutoff))
        & (pl.col("churn_date").is_null() | (pl.col("churn_date") >= cutoff))
    )
    derived = (
        "repeat_contacts",
        "tenure_days",
        "monthly_revenue",
        "low_nps",
        "low_csat",
        "surveyed",
    )
    counts = [f for f in FEATURES if f not in derived]
    frame = (
        active.join(by_events, on="customer_id", how="left")
        .join(by_cases, on="customer_id", how="left")
        .join(surveys, on="customer_id", how="left")
        .with_columns(
            pl.col(counts).fill_null(0).cast(pl.Float64),
            (pl.col("contacts").fill_null(0) - pl.col("cases").fill_null(0))
            .clip(lower_bound=0)
            .cast(pl.Float64)
            .alias("repeat_contacts"),
            (pl.lit(cutoff) - pl.col("signup_date"))
            .dt.total_days()
            .fill_null(0)
            .cast(pl.Float64)
            .alias("tenure_days"),
            pl.col("monthly_revenue").fill_null(0.0).cast(pl.Float64),
            (10 - pl.col("nps")).fill_null(0).cast(pl.Float64).alias("low_nps"),
            (5 - pl.col("csat")).fill_null(0).cast(pl.Float64).alias("low_csat"),
            (pl.col("nps").is_not_null() | pl.col("csat").is_not_null())
            .cast(pl.Float64)
            .alias("surveyed"),
        )
    )
    keep = ["customer_id", *FEATURES, "segment", "region", "scenario", "channel", "churn_date"]
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(c)
        for c in ("segment", "region")
        if c not in customers.columns
    )
    return frame.select(keep).collect()


def _last_answers(dataset: Dataset, end: dt.datetime) -> pl.LazyFrame:
    surveys = dataset.surveys
    if surveys is None or surveys.is_empty():
        return pl.LazyFrame(
            schema={"customer_id": pl.String, "nps": pl.Float64, "csat": pl.Float64}
        )
    cols = [c for c in ("nps", "csat") if c in surveys.columns]
    return (
        surveys.lazy()
        .filter(pl.col("date") < end.date())
        .sort("date")
        .group_by("customer_id")
        .agg(pl.col(c).drop_nulls().last().cast(pl.Float64) for c in cols)
        .with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("nps", "csat") if c not in cols)
    )


def labelled(frame: pl.DataFrame, cutoff: dt.date, horizon_days: int = HORIZON_DAYS) -> np.ndarray:
    """1 when the customer left within [cutoff, cutoff + horizon)."""
    until = cutoff + dt.timedelta(days=horizon_days)
    return (
        frame.select(
            (pl.col("churn_date").is_not_null() & (pl.col("churn_date") < until)).cast(pl.Int8)
        )
        .to_series()
        .to_numpy()
    )


@dataclass(frozen=True)
class Validation:
    """One model's scores on the validation snapshot."""

    model: str
    roc_auc: float
    pr_auc: float
    brier: float
    lift_top_decile: float


@dataclass(frozen=True)
class RiskModel:
    """The outcome of training: what was compared, what is used, and the scored customers."""

    method: str  # "gbm", "logistic" or "rules"
    validations: tuple[Validation, ...]
    cutoffs: dict[str, str]
    churners_train: int
    base_rate: float
    scored: pl.DataFrame  # customers at the scoring cut-off with p_churn and reasons
    importance: pl.DataFrame  # feature, importance (drop in ROC AUC when shuffled), sd
    card: dict[str, float]
    ltv_churn: float
    validation: pl.DataFrame  # validation customers: p_churn, revenue_at_risk, churned
    notes: tuple[str, ...] = field(default_factory=tuple)


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(FEATURES).to_numpy().astype(float)


def _validate(name: str, y: np.ndarray, p: np.ndarray) -> Validation:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = p >= np.quantile(p, 1 - TOP_SHARE)
    rate = y.mean()
    return Validation(
        model=name,
        roc_auc=float(roc_auc_score(y, p)),
        pr_auc=float(average_precision_score(y, p)),
        brier=float(brier_score_loss(y, p)),
        lift_top_decile=float(y[top].mean() / rate) if rate > 0 else float("nan"),
    )


def rule_points(frame: pl.DataFrame) -> pl.Series:
    """Transparent rules, one point each: 2+ waits above the promise, 3+ repeat contacts,
    an unresolved case, a bot loop, a channel hop, a complaint, a last NPS of 6 or less."""
    return frame.select(
        (
            (pl.col("waits_over") >= 2).cast(pl.Int8)
            + (pl.col("repeat_contacts") >= 3).cast(pl.Int8)
            + (pl.col("unresolved_cases") >= 1).cast(pl.Int8)
            + (pl.col("bot_loops") >= 1).cast(pl.Int8)
            + (pl.col("channel_hops") >= 1).cast(pl.Int8)
            + (pl.col("complaints") >= 1).cast(pl.Int8)
            + ((pl.col("surveyed") > 0) & (pl.col("low_nps") >= 4)).cast(pl.Int8)
        ).alias("points")
    ).to_series()


def cutoffs(dataset: Dataset, horizon_days: int = HORIZON_DAYS) -> dict[str, list[dt.date]]:
    """The snapshot dates (see the module docstring)."""
    first = dataset.events["timestamp"].min().date()  # type: ignore[union-attr]
    last = dataset.events["timestamp"].max().date()  # type: ignore[union-attr]
    validation = last - dt.timedelta(days=horizon_days - 1)
    earliest = first + dt.timedelta(days=LOOKBACK_DAYS)
    train = [
        validation - dt.timedelta(days=horizon_days + 30 * k)
        for k in range(4)
        if validation - dt.timedelta(days=horizon_days + 30 * k) >= earliest
    ]
    return {"train": train, "validation": [validation], "score": [last + dt.timedelta(days=1)]}


def train(dataset: Dataset, horizon_days: int = HORIZON_DAYS, seed: int = 0) -> RiskModel:
    """Build snapshots, fit and validate both models, score today's customers.

    See the module docstring for the split, the models and the fallback to rules.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if dataset.customers is None or dataset.events.is_empty():
        raise ValueError("the risk model needs events and the customers table")
    dates = cutoffs(dataset, horizon_days)
    cases = case_costs(dataset)
    score_at = dates["score"][0]
    scoring = features(dataset, score_at, cases)
    ltv_churn = _recent_churn(dataset)
    notes: list[str] = []
    snaps = [(d, features(dataset, d, cases)) for d in dates["train"]]
    fit_snaps, calib = snaps[1:], snaps[:1]
    valid_at = dates["validation"][0]
    valid = features(dataset, valid_at, cases)
    y_valid = labelled(valid, valid_at, horizon_days)
    churners = int(sum(labelled(f, d, horizon_days).sum() for d, f in fit_snaps))
    info = {
        "fit": ", ".join(str(d) for d, _ in fit_snaps),
        "calibrate": ", ".join(str(d) for d, _ in calib),
        "validate": str(valid_at),
        "score": str(score_at),
    }
    if churners < MIN_CHURNERS or not calib or y_valid.sum() == 0:
        notes.append(
            f"{churners} churners to learn from (fewer than {MIN_CHURNERS}): no model is "
            "trained; customers are scored by transparent rules"
        )
        points_valid = rule_points(valid).to_numpy()
        rates = {k: y_valid[points_valid == k].mean() for k in np.unique(points_valid)}
        p_valid_rules = np.array([rates[k] for k in points_valid], dtype=float)
        points = rule_points(scoring).to_numpy()
        p = np.array([rates.get(k, np.nan) for k in points], dtype=float)
        fallback = np.nanmean(y_valid) if y_valid.size else 0.0
        p = np.where(np.isnan(p), fallback, p)
        validations = (_validate("rules", y_valid, p_valid_rules),) if y_valid.sum() else ()
        return RiskModel(
            "rules",
            validations,
            info,
            churners,
            float(y_valid.mean()) if y_valid.size else 0.0,
            _scored(scoring, p, None, ltv_churn, dataset),
            pl.DataFrame(schema={"feature": pl.String, "importance": pl.Float64, "sd": pl.Float64}),
            _card(valid, y_valid, p_valid_rules, valid_at),
            ltv_churn,
            _replay(valid, p_valid_rules, y_valid, ltv_churn),
            tuple(notes),
        )
    x_fit = np.vstack([_matrix(f) for _, f in fit_snaps])
    y_fit = np.concatenate([labelled(f, d, horizon_days) for d, f in fit_snaps])
    x_cal, y_cal = _matrix(calib[0][1]), labelled(calib[0][1], calib[0][0], horizon_days)
    x_valid = _matrix(valid)
    candidates = {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
        "gbm": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
        ),
    }
    fitted = {}
    validations = []
    for name, model in candidates.items():
        model.fit(x_fit, y_fit)
        calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="sigmoid")
        calibrated.fit(x_cal, y_cal)
        fitted[name] = calibrated
        validations.append(_validate(name, y_valid, calibrated.predict_proba(x_valid)[:, 1]))
    by = {v.model: v for v in validations}
    # The list is acted on from the top, and churners are few: PR AUC judges the ranking,
    # the Brier score the probabilities (ROC AUC is shown; on the sample it is a tie).
    gbm_wins = by["gbm"].pr_auc > by["logistic"].pr_auc and by["gbm"].brier <= by["logistic"].brier
    method = "gbm" if gbm_wins else "logistic"
    if not gbm_wins:
        notes.append(
            "gradient boosting did not beat the logistic baseline on PR AUC with a Brier score "
            "at least as good: the baseline is used"
        )
    model = fitted[method]
    imp = permutation_importance(
        model,
        x_valid,
        y_valid,
        scoring="roc_auc",
        n_repeats=3,
        random_state=seed,
        max_samples=min(10_000, len(y_valid)),  # enough for stable ranks, half the time
    )
    importance = pl.DataFrame(
        {"feature": list(FEATURES), "importance": imp.importances_mean, "sd": imp.importances_std}
    ).sort("importance", descending=True)
    p_valid = model.predict_proba(x_valid)[:, 1]
    return RiskModel(
        method,
        tuple(validations),
        info,
        churners,
        float(y_valid.mean()),
        _scored(
            scoring, model.predict_proba(_matrix(scoring))[:, 1], importance, ltv_churn, dataset
        ),
        importance,
        _card(valid, y_valid, p_valid, valid_at),
        ltv_churn,
        _replay(valid, p_valid, y_valid, ltv_churn),
        tuple(notes),
    )


def _replay(valid: pl.DataFrame, p: np.ndarray, y: np.ndarray, ltv_churn: float) -> pl.DataFrame:
    """The validation snapshot as the rules would have seen it, with what happened next."""
    ltv = valid["monthly_revenue"] / ltv_churn if ltv_churn > 0 else valid["monthly_revenue"] * 0
    return valid.select("customer_id", "segment", "region").with_columns(
        pl.Series("p_churn", p, dtype=pl.Float64),
        (pl.Series("p", p) * ltv).alias("revenue_at_risk"),
        pl.Series("churned", y.astype(bool)),
    )


def _recent_churn(dataset: Dataset) -> float:
    churn = dataset_churn(dataset)
    if churn is None or churn.is_empty():
        return float("nan")
    return float(churn.tail(3)["churn_rate"].mean())  # type: ignore[arg-type]


def _card(valid: pl.DataFrame, y: np.ndarray, p: np.ndarray, at: dt.date) -> dict[str, float]:
    """Of those who churned in the validation window: how many were flagged (riskiest
    decile), and the median days from the cut-off to their leaving."""
    flagged = p >= np.quantile(p, 1 - TOP_SHARE)
    left = y == 1
    days = valid.select((pl.col("churn_date") - pl.lit(at)).dt.total_days()).to_series().to_numpy()
    caught = left & flagged
    return {
        "churners": float(left.sum()),
        "flagged": float(caught.sum()),
        "recall_top_decile": float(caught.sum() / left.sum()) if left.sum() else float("nan"),
        "median_days_ahead": float(np.median(days[caught])) if caught.any() else float("nan"),
        "flagged_customers": float(flagged.sum()),
    }


def _scored(
    frame: pl.DataFrame,
    p: np.ndarray,
    importance: pl.DataFrame | None,
    ltv_churn: float,
    dataset: Dataset,
) -> pl.DataFrame:
    """Customers with ``p_churn``, ``ltv``, ``revenue_at_risk``, ``silent`` and their top
    three reasons: risky features where they are over a standard deviation above the
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
    order = np.argsort(-strength, axis=1)[:, :3]
    picked = [
        [j for j in order[i] if z[i, j] > 1 and values[i, j] > 0] for i in range(frame.height)
    ]
    texts = [[reason_text(reasons[j], values[i, j]) for j in row] for i, row in enumerate(picked)]
    keys = [[reasons[j] for j in row] for row in picked]
    amounts = [[float(values[i, j]) for j in row] for i, row in enumerate(picked)]
    ltv = frame["monthly_revenue"] / ltv_churn if ltv_churn and ltv_churn > 0 else None
    surveyed = _ever_surveyed(dataset)
    return (
        frame.with_columns(
            pl.Series("p_churn", p, dtype=pl.Float64),
            pl.Series("reasons", texts, dtype=pl.List(pl.String)),
            # The same reasons as (feature, value) pairs, for the app to word in its language.
            pl.Series("reason_features", keys, dtype=pl.List(pl.String)),
            pl.Series("reason_values", amounts, dtype=pl.List(pl.Float64)),
            (ltv if ltv is not None else pl.lit(float("nan"))).alias("ltv"),
        )
        .with_columns(
            (pl.col("p_churn") * pl.col("ltv")).alias("revenue_at_risk"),
            ((pl.col("complaints") == 0) & ~pl.col("customer_id").is_in(surveyed.implode())).alias(
                "silent"
            ),
        )
        .sort("revenue_at_risk", descending=True, nulls_last=True)
    )


def reason_text(feature: str, value: float, template: str | None = None) -> str:
    """One reason in words: ``template`` (default: :data:`REASONS`) with the value and the
    look-back in days."""
    return (template or REASONS[feature]).format(value=value, days=LOOKBACK_DAYS)


def _ever_surveyed(dataset: Dataset) -> pl.Series:
    if dataset.surveys is None:
        return pl.Series("customer_id", [], dtype=pl.String)
    return dataset.surveys["customer_id"].unique()


def at_risk(scored: pl.DataFrame, share: float = TOP_SHARE) -> pl.DataFrame:
    """The riskiest ``share`` of customers by probability."""
    cut = scored["p_churn"].quantile(1 - share)
    return scored.filter(pl.col("p_churn") >= cut)


def revenue_at_risk_by(scored: pl.DataFrame, by: str) -> pl.DataFrame:
    """Revenue at risk (sum of p x LTV), expected leavers (sum of p) and customers per
    ``by`` (segment, region, scenario or channel), largest first."""
    return (
        scored.group_by(pl.col(by).fill_null("(none)"))
        .agg(
            pl.len().alias("customers"),
            pl.col("p_churn").sum().alias("expected_leavers"),
            pl.col("revenue_at_risk").sum(),
            pl.col("p_churn").mean().alias("mean_risk"),
        )
        .sort("revenue_at_risk", descending=True)
    )


def silent_at_risk(scored: pl.DataFrame, share: float = TOP_SHARE) -> pl.DataFrame:
    """High risk (the riskiest ``share``) with no complaint in the look-back and no survey
    answer ever: the customers nobody will hear from before they leave."""
    return at_risk(scored, share).filter("silent")
