"""Churn risk from a customer snapshot: one row per customer with attributes (contract,
tenure, charges, services...) and a churn flag or date, and no usable history over time.

Outcome: the ``churned`` flag, else a ``churn_date`` (a date = left). Inputs: every other
column of the customers table except the id and the dates (``signup_date`` becomes
``tenure_days``, to the churn date or to the latest date in the table) that varies:

* numeric columns, and text columns whose filled cells read as numbers (``TotalCharges``
  with blanks, decimal commas, spaces between thousands): blanks are imputed with the
  median by the pipeline;
* other text columns with at most ``MAX_CATEGORIES`` values: one-hot; blanks are a value;
* left out, with the reason: constant columns and text with more values (ids, free text).

Validation is cross-sectional: stratified ``FOLDS``-fold cross-validation over customers
sorted by id (seeded shuffle). Both pipelines of :mod:`analytics.risk_model` score each
fold's customers from a fit on the other folds; a sigmoid (Platt scaling: a logistic
regression on the score) fitted on the other folds' out-of-fold scores turns them into
probabilities. These out-of-fold probabilities give the validation scores, choose the model
(baseline first) and are the probabilities shown: no customer is scored by a model that saw
them. The chosen pipeline is then refitted on everyone, calibrated the same way
(``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` over the same folds), for the
coefficients, the importance and the reasons.

Importance: the drop in ROC AUC when one attribute's values are shuffled across customers
(mean and sd of 3 seeded shuffles), on the customers the final model was fitted to.

Reasons in words: for each attribute, how much higher the customer's probability is than
the average of the probabilities they would have with that attribute's values as they occur
in the population (each category at its share; numbers at their 5 %, 15 %, ..., 95 %
quantiles), everything else kept. The three largest, when at least ``MIN_REASON_POINTS``,
are the reasons: "tenure 2 is low (median 29): +28 pp of risk".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from analytics.messages import marks
from analytics.risk_model import (
    RiskUnavailable,
    Validation,
    choose,
    model_input,
    one_thread,
    pipelines,
    validate,
)

# scikit-learn (and pandas) are imported where a model is fitted (see analytics.risk_model).
if TYPE_CHECKING:
    import pandas as pd
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

FOLDS = 5
CALIBRATION_FOLDS = 3
MIN_CLASS = 20  # churners, and customers who stayed, needed to fit and validate
MAX_CATEGORIES = 50
NUMERIC_SHARE = 0.98  # a text column is numeric when this share of its filled cells parse
MIN_REASON_POINTS = 0.02
NOT_ATTRIBUTES = ("customer_id", "churned", "churn_date", "signup_date")

# Template key -> words; {attribute}, {value} and {typical} are text, {points} a number;
# "blank" is the word for an empty cell (see _text).
BLANK = "(blank)"
REASONS: dict[str, str] = {
    "attr_high": "{attribute} {value} is high (median {typical}): +{points:.0f} pp of risk",
    "attr_low": "{attribute} {value} is low (median {typical}): +{points:.0f} pp of risk",
    "attr_is": "{attribute} is {value}: +{points:.0f} pp of risk",
    "blank": BLANK,
}


@dataclass(frozen=True)
class Attributes:
    """How each customers column enters the model."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    left_out: dict[str, str]  # column -> "constant" or "too_many_values"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


@dataclass(frozen=True)
class SnapshotFit:
    """What :func:`fit_snapshot` learned and measured."""

    attributes: Attributes
    method: str
    validations: tuple[Validation, ...]
    pipeline: Pipeline  # the chosen model, calibrated, fitted on every customer
    frame: pl.DataFrame  # customers sorted by id: id, model inputs, churned, p_churn
    importance: pl.DataFrame  # attribute, importance, sd
    reasons: pl.DataFrame  # customer_id, reason_features, reason_values, reason_args


def outcome(customers: pl.DataFrame) -> pl.Expr:
    """True when the customer left: the ``churned`` flag, else a ``churn_date``."""
    dated = pl.col("churn_date").is_not_null() if "churn_date" in customers.columns else None
    if "churned" not in customers.columns:
        return dated if dated is not None else pl.lit(False)
    return pl.col("churned").fill_null(dated) if dated is not None else pl.col("churned")


def _as_number(column: str) -> pl.Expr:
    """Text as a number: spaces (thousands) dropped, a decimal comma read as a point, blanks
    and unreadable cells null."""
    return (
        pl.col(column)
        .cast(pl.String)
        .str.replace_all(r"[\s\u00a0]", "")
        .str.replace(",", ".", literal=True)
        .cast(pl.Float64, strict=False)
    )


def attributes(customers: pl.DataFrame) -> Attributes:
    """Sort the customers' columns into numeric, categorical and left out (module docstring)."""
    numeric: list[str] = []
    categorical: list[str] = []
    left_out: dict[str, str] = {}
    frame = with_tenure(customers)
    for name in frame.columns:
        column = frame[name]
        if name in NOT_ATTRIBUTES or column.dtype.is_temporal():
            continue
        if column.null_count() == column.len():
            continue  # a canonical column the export did not have
        if column.drop_nulls().n_unique() < 2:
            left_out[name] = "constant"
        elif column.dtype.is_numeric() or column.dtype == pl.Boolean:
            numeric.append(name)
        else:
            filled = column.cast(pl.String).str.strip_chars().replace("", None).drop_nulls()
            parsed = frame.select(_as_number(name)).to_series().drop_nulls().len()
            if filled.len() and parsed >= NUMERIC_SHARE * filled.len():
                numeric.append(name)
            elif column.n_unique() <= MAX_CATEGORIES:
                categorical.append(name)
            else:
                left_out[name] = "too_many_values"
    return Attributes(tuple(numeric), tuple(categorical), left_out)


def with_tenure(customers: pl.DataFrame) -> pl.DataFrame:
    """``tenure_days`` from ``signup_date`` to the churn date, or to the latest date in the
    table for those still active; unchanged without sign-up dates."""
    if "signup_date" not in customers.columns or customers["signup_date"].is_null().all():
        return customers
    dates = [c for c in ("signup_date", "churn_date") if c in customers.columns]
    latest = customers.select(pl.max_horizontal(pl.col(dates).max())).item()
    end = pl.col("churn_date").fill_null(latest) if "churn_date" in dates else pl.lit(latest)
    return customers.with_columns(
        (end - pl.col("signup_date")).dt.total_days().cast(pl.Float64).alias("tenure_days")
    )


def design(customers: pl.DataFrame, attrs: Attributes) -> pl.DataFrame:
    """The model's input columns: numbers as Float64 (nulls kept for the imputer), categories
    as text with blanks as the value ``(blank)``."""
    frame = with_tenure(customers)
    return frame.select(
        *(
            (
                pl.col(c).cast(pl.Float64)
                if frame[c].dtype.is_numeric() or frame[c].dtype == pl.Boolean
                else _as_number(c)
            ).alias(c)
            for c in attrs.numeric
        ),
        *(pl.col(c).cast(pl.String).fill_null("(blank)").alias(c) for c in attrs.categorical),
    )


def fit_snapshot(customers: pl.DataFrame, seed: int = 0) -> SnapshotFit:
    """Validate both models out of fold, keep the chosen one's probabilities, refit it on
    every customer for the pipeline, the importance and the reasons (module docstring).

    Raises :class:`RiskUnavailable` ("too_few") below ``MIN_CLASS`` churners or stayers.
    """
    table = customers.sort("customer_id")
    y = table.select(outcome(table).fill_null(False)).to_series().to_numpy().astype(int)
    churners = int(y.sum())
    if churners < MIN_CLASS or len(y) - churners < MIN_CLASS:
        raise RiskUnavailable(
            "too_few", churners=churners, stayers=len(y) - churners, need=MIN_CLASS
        )
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    attrs = attributes(table)
    inputs = design(table, attrs)
    x = model_input(inputs, attrs.columns)
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y))
    with one_thread():
        oof = {
            name: _platt_out_of_fold(
                cross_val_predict(pipe, x, y, cv=folds, method="decision_function"), y, folds
            )
            for name, pipe in pipelines(attrs.numeric, attrs.categorical, seed).items()
        }
        validations = tuple(validate(name, y, p) for name, p in oof.items())
        method = choose(validations)
        final = pipelines(attrs.numeric, attrs.categorical, seed, calibration_cv=folds)[method]
        final.fit(x, y)
        z = final["prep"].transform(x)
        blocks = _blocks(final["prep"], attrs)
        importance = _importance(final["model"], z, y, blocks, seed)
        reasons = _reasons(final, x, z, inputs, attrs, blocks)
    frame = inputs.with_columns(
        table["customer_id"],
        pl.Series("churned", y.astype(bool)),
        pl.Series("p_churn", oof[method]),
    )
    return SnapshotFit(
        attrs,
        method,
        validations,
        final,
        frame,
        importance,
        reasons.with_columns(table["customer_id"]),
    )


def _platt_out_of_fold(
    score: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Out-of-fold scores to probabilities: each fold through a sigmoid fitted on the others."""
    from sklearn.linear_model import LogisticRegression

    p = np.empty(len(score))
    for train, test in folds:
        platt = LogisticRegression(C=np.inf).fit(score[train, None], y[train])
        p[test] = platt.predict_proba(score[test, None])[:, 1]
    return p


def _blocks(prep: ColumnTransformer, attrs: Attributes) -> dict[str, np.ndarray]:
    """Attribute -> the indices of its columns in the transformed matrix (one numeric
    column, or one column per category)."""
    names = list(prep.get_feature_names_out())
    blocks = {c: np.array([names.index(c)]) for c in attrs.numeric}
    if attrs.categorical:
        onehot = prep.named_transformers_["cat"]
        start = len(attrs.numeric)
        for column, categories in zip(attrs.categorical, onehot.categories_, strict=True):
            blocks[column] = np.arange(start, start + len(categories))
            start += len(categories)
    return blocks


def _importance(
    model: CalibratedClassifierCV,
    z: np.ndarray,
    y: np.ndarray,
    blocks: dict[str, np.ndarray],
    seed: int,
    repeats: int = 3,
) -> pl.DataFrame:
    """Per attribute: the drop in ROC AUC when its columns are shuffled together across
    customers (so a one-hot block stays one category), mean and sd over ``repeats``."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    base = roc_auc_score(y, model.predict_proba(z)[:, 1])
    rows = []
    for column, cols in blocks.items():
        drops = []
        for _ in range(repeats):
            shuffled = z.copy()
            shuffled[:, cols] = z[rng.permutation(len(z))][:, cols]
            drops.append(base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1]))
        rows.append((column, float(np.mean(drops)), float(np.std(drops))))
    return pl.DataFrame(rows, schema=["feature", "importance", "sd"], orient="row").sort(
        "importance", "feature", descending=[True, False]
    )


def _options(inputs: pl.DataFrame, column: str) -> tuple[pl.Series, np.ndarray]:
    """The values an attribute takes in the population and their weights: each category at
    its share, or ten quantiles of a number at a tenth each."""
    values = inputs[column]
    if values.dtype == pl.String:
        counts = values.value_counts().sort(column)
        return counts[column], (counts["count"] / values.len()).to_numpy()
    levels = [values.quantile(q) for q in np.arange(0.05, 1, 0.1)]
    return pl.Series(column, levels, dtype=pl.Float64), np.full(len(levels), 0.1)


def _typical(inputs: pl.DataFrame, column: str) -> float | str:
    """The median of a number, or the commonest category (ties: the first in order)."""
    values = inputs[column]
    if values.dtype == pl.String:
        counts = values.value_counts().sort(["count", column], descending=[True, False])
        return str(counts[column][0])
    return float(values.median())  # type: ignore[arg-type]


def _text(value: object) -> str:
    """A cell as words: numbers with at most two decimals and no trailing zeros, in English
    marks (``12,345.5``; :func:`analytics.risk.reason_words` writes another language's)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return BLANK
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


# A cell _text wrote as a number: 12,345.5 or -0.25.
_NUMBER_TEXT = re.compile(r"-?\d{1,3}(,\d{3})*(\.\d+)?")


def cell_in(text: str, lang: str, blank: str) -> str:
    """A reason's cell as :func:`_text` wrote it, in ``lang``: a number in its marks
    (``12 345,5``), an empty cell as ``blank`` (its word), other text as the data has it."""
    if text == BLANK:
        return blank
    return marks(text, lang) if _NUMBER_TEXT.fullmatch(text) else text


def _reasons(
    final: Pipeline,
    x: pd.DataFrame,
    z: np.ndarray,
    inputs: pl.DataFrame,
    attrs: Attributes,
    blocks: dict[str, np.ndarray],
) -> pl.DataFrame:
    """Per customer, up to three attributes that raise the risk most against the population's
    mix of their values (module docstring), as template keys, values and arguments."""
    model = final["model"]
    base = model.predict_proba(z)[:, 1]
    lift = np.empty((len(z), len(attrs.columns)))
    for k, column in enumerate(attrs.columns):
        options, weights = _options(inputs, column)
        # The options through the fitted transformer: the first row with the column changed.
        rows = x.iloc[np.zeros(len(options), dtype=int)].copy()
        rows[column] = options.to_list()
        coded = final["prep"].transform(rows)[:, blocks[column]]
        mixed = np.zeros(len(z))
        for code, weight in zip(coded, weights, strict=True):
            changed = z.copy()
            changed[:, blocks[column]] = code
            mixed += weight * model.predict_proba(changed)[:, 1]
        lift[:, k] = base - mixed
    order = np.argsort(-lift, axis=1, kind="stable")[:, :3]
    typical = {c: _typical(inputs, c) for c in attrs.columns}
    cells = inputs.select(attrs.columns).rows()
    keys: list[list[str]] = []
    values: list[list[float | None]] = []
    args: list[list[dict[str, object]]] = []
    for i, top in enumerate(order):
        picked = [j for j in top if lift[i, j] >= MIN_REASON_POINTS]
        keys.append([_kind(cells[i][j], typical[attrs.columns[j]]) for j in picked])
        values.append([_number(cells[i][j]) for j in picked])
        args.append(
            [
                {
                    "attribute": attrs.columns[j],
                    "value": _text(cells[i][j]),
                    "typical": _text(typical[attrs.columns[j]]),
                    "points": float(100 * lift[i, j]),
                }
                for j in picked
            ]
        )
    arg_type = pl.List(
        pl.Struct(
            {"attribute": pl.String, "value": pl.String, "typical": pl.String, "points": pl.Float64}
        )
    )
    return pl.DataFrame(
        [
            pl.Series("reason_features", keys, dtype=pl.List(pl.String)),
            pl.Series("reason_values", values, dtype=pl.List(pl.Float64)),
            pl.Series("reason_args", args, dtype=arg_type),
        ]
    )


def _kind(value: object, typical: float | str) -> str:
    if isinstance(typical, str) or value is None or np.isnan(value):  # type: ignore[arg-type]
        return "attr_is"
    return "attr_high" if value > typical else "attr_low"  # type: ignore[operator]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, float) and not np.isnan(value) else None
