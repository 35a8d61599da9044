"""The churn models both risk modes share: a logistic-regression baseline and a
gradient-boosting challenger, each a plain scikit-learn ``Pipeline`` over named columns, the
validation scores, the baseline-first choice between them, and the baseline's coefficients.

Pipelines: ``prep`` (a ``ColumnTransformer``: numeric columns median-imputed and
standardised, categorical columns one-hot encoded) then ``model``: ``LogisticRegression``
(L2, C = 0.5) or ``HistGradientBoostingClassifier`` (200 trees, learning rate 0.05, 15
leaves, seeded). Feature names survive the transformer (``get_feature_names_out``), so the
coefficients can be read by name.

Baseline first: gradient boosting is used only when it beats the baseline on validation: a
higher PR AUC (the ranking of a rare outcome that is acted on from the top) with a Brier
score no worse (the probabilities). Otherwise the baseline is used.

Determinism: every fit and prediction runs in :func:`one_thread` (one OpenMP/BLAS thread),
so no sum depends on how threads split the rows; on this two-core machine gradient boosting
is also about 20 times faster that way than with two spinning OpenMP threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

# scikit-learn (and pandas) are imported where a model is built, fitted or read: several
# seconds at start that a page or a dataset load not fitting a model should not pay.
if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

BASELINE = "logistic"
CHALLENGER = "gbm"
TOP_SHARE = 0.1  # "flagged" = the riskiest decile


# Why there is no model, in words: key -> English template (the app translates the key).
UNAVAILABLE: dict[str, str] = {
    "no_customers": "the risk model needs the customers table",
    "no_outcome": "the customers table says nobody's churn: a churned flag or a churn date "
    "is needed",
    "too_few": "{churners} customers who left and {stayers} who stayed: the risk model needs "
    "at least {need} of each",
}


class RiskUnavailable(ValueError):
    """No risk model can be built from this data; ``key`` and ``values`` say why."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(UNAVAILABLE[key].format(**values))


@contextmanager
def one_thread() -> Iterator[None]:
    """Run scikit-learn's OpenMP and BLAS code on one thread (see the module docstring)."""
    with threadpool_limits(limits=1):
        yield


def pipelines(
    numeric: Sequence[str],
    categorical: Sequence[str],
    seed: int,
    calibration_cv: object | None = None,
) -> dict[str, Pipeline]:
    """The baseline and the challenger, unfitted, over the named input columns. With
    ``calibration_cv`` (a cross-validation splitter) the ``model`` step is the classifier
    inside ``CalibratedClassifierCV(method="sigmoid", cv=calibration_cv, ensemble=False)``:
    fitted on all rows, its scores mapped to probabilities by a sigmoid fitted on its
    out-of-fold scores."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    classifiers = {
        BASELINE: LogisticRegression(C=0.5, max_iter=5000),
        # Early stopping on a seeded 10 % holdout: fewer trees where more would overfit.
        CHALLENGER: HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            early_stopping=True,
            random_state=seed,
        ),
    }
    out = {}
    for name, classifier in classifiers.items():
        model = (
            classifier
            if calibration_cv is None
            else CalibratedClassifierCV(
                classifier, method="sigmoid", cv=calibration_cv, ensemble=False
            )
        )
        out[name] = Pipeline([("prep", _prep(numeric, categorical)), ("model", model)])
    return out


def _prep(numeric: Sequence[str], categorical: Sequence[str]) -> ColumnTransformer:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts: list[tuple[str, object, list[str]]] = []
    if numeric:
        numbers = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        parts.append(("num", numbers, list(numeric)))
    if categorical:
        onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        parts.append(("cat", onehot, list(categorical)))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def model_input(frame: pl.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The named columns as the pandas frame scikit-learn's column selection takes: nulls
    become NaN / None, text is plain Python strings (object dtype: several times faster
    through the one-hot encoder than pandas' Arrow-backed strings)."""
    out = frame.select(columns).to_pandas()
    for name in columns:
        if frame[name].dtype == pl.String:
            out[name] = out[name].astype(object)
    return out


@dataclass(frozen=True)
class Validation:
    """One model's validation scores.

    ``roc_auc``: area under the ROC curve; ``pr_auc``: average precision; ``brier``: mean
    squared error of the probabilities; ``top_decile_lift``: churn rate among the riskiest
    10 % / the overall churn rate.
    """

    model: str
    roc_auc: float
    pr_auc: float
    brier: float
    top_decile_lift: float


def validate(name: str, y: np.ndarray, p: np.ndarray) -> Validation:
    """Score probabilities ``p`` against outcomes ``y`` (scikit-learn's metrics)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = p >= np.quantile(p, 1 - TOP_SHARE)
    rate = y.mean()
    return Validation(
        model=name,
        roc_auc=float(roc_auc_score(y, p)),
        pr_auc=float(average_precision_score(y, p)),
        brier=float(brier_score_loss(y, p)),
        top_decile_lift=float(y[top].mean() / rate) if rate > 0 else float("nan"),
    )


def drivers(
    model: object, x: pd.DataFrame, y: np.ndarray, seed: int, rows: int = 10_000
) -> pl.DataFrame:
    """Permutation importance per input column (``feature``, ``importance``, ``sd``): the
    drop in ROC AUC when the column's values are shuffled, mean and sd over 3 shuffles,
    most important first. On a seeded sample of at most ``rows`` rows (enough for stable
    ranks, a fraction of the time), the unshuffled score on the same rows: scikit-learn's
    ``max_samples`` scores the baseline on all rows and the shuffles on a sample, which
    shifts every importance by the two scores' difference (-0.017 on the sample company,
    where a feature the churn ignores read as a strong negative)."""
    from sklearn.inspection import permutation_importance

    if len(y) > rows:
        picked = np.sort(np.random.default_rng(seed).choice(len(y), rows, replace=False))
        x, y = x.iloc[picked], y[picked]
    imp = permutation_importance(model, x, y, scoring="roc_auc", n_repeats=3, random_state=seed)
    return pl.DataFrame(
        {"feature": list(x.columns), "importance": imp.importances_mean, "sd": imp.importances_std}
    ).sort("importance", "feature", descending=[True, False])


def choose(validations: Sequence[Validation]) -> str:
    """Baseline first: the challenger only with a higher PR AUC and a Brier score no worse."""
    by = {v.model: v for v in validations}
    base, challenger = by[BASELINE], by[CHALLENGER]
    wins = challenger.pr_auc > base.pr_auc and challenger.brier <= base.brier
    return CHALLENGER if wins else BASELINE


def coefficients(pipeline: Pipeline | None) -> pl.DataFrame | None:
    """The logistic baseline's coefficients by feature name, largest effect first:
    ``coefficient`` is the change in the log-odds of leaving per standard deviation of a
    numeric column, or for being in a category (one-hot, all categories kept, so each is
    read against the others); ``odds_ratio`` is its exp. None for another model."""
    if pipeline is None:
        return None
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    model = pipeline["model"]
    if isinstance(model, CalibratedClassifierCV):
        model = model.calibrated_classifiers_[0].estimator
    if not isinstance(model, LogisticRegression):
        return None
    return (
        pl.DataFrame(
            {
                "feature": [str(f) for f in pipeline["prep"].get_feature_names_out()],
                "coefficient": model.coef_[0],
            }
        )
        .with_columns(pl.col("coefficient").exp().alias("odds_ratio"))
        .sort(pl.col("coefficient").abs(), "feature", descending=[True, False])
    )
