"""SLA risk calibrated on the centre's own history.

Erlang C (and Erlang A) overstate the service level of a real centre: the agents in an
export are a proxy (distinct agents who answered), the handling time often lacks wrap-up,
callers abandon. So the model's service level is mapped onto what the centre delivered.

* **Model service level** of a history interval: Erlang A (patience known) or Erlang C at
  the interval's offered calls, with the planned agents and AHT of its queue, weekday and
  time of day (the median over the calibration window, ``CALIBRATION_WEEKS``), i.e. the
  same inputs a forecast has. Patience per queue = sum ``wait_total_s`` / sum
  ``abandoned`` (the maximum-likelihood mean of exponential patience, answered calls
  being censored at their wait).
* **Calibration map**: isotonic regression (scikit-learn) of the realized service level
  on the model's, weighted by offered calls, so the map only ever rises. A queue with
  ``MIN_QUEUE_INTERVALS`` intervals gets its own map; other queues share the pooled map;
  under ``MIN_INTERVALS`` in all the forecast is **uncalibrated** and says so.
* **Slot effect**: where Erlang errs its own way at some weekday and time of day (a roster
  the agent counts misstate, a recurring break), the residuals of that slot, summed and
  divided by (its intervals + ``SHRINK_WEEKS``), are added to the map there (within
  [0, 1]); with a few weeks of history the effect is shrunk most of the way to 0.
* **Spread**: an interval's realized service level scatters around the calibrated mean m
  like a beta-binomial share of its c calls with overdispersion rho (calls of one
  interval share the queue, so they are not independent). rho by moments on the
  history: sum((y - m)^2 - m(1 - m)/c) / sum(m(1 - m)(c - 1)/c), clipped to [0, 0.95].
* **P(breach)** of a future interval = E over the forecast's calls C ~ N(mean, sd) of
  P(beta-binomial(C; m(C), rho) < goal x C), by ``NODES``-point Gauss-Hermite
  quadrature; m(C) = the calibrated map at the model's service level for C calls.
* **Agreement on history** (what the page and the CLI show): the map is refitted week by
  week on the weeks before and scored on the next week only (out of sample). MAE = mean
  |calibrated - realized| per interval; bias = call-weighted predicted - realized service
  level; Brier = mean (P(breach) - breached)^2, beside the Brier of a constant equal to
  the training weeks' breach share. The uncalibrated model is scored on every interval
  (its P(breach) is 1 when its service level is below the goal, else 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.special import betaln

from analytics.dataset import Dataset
from analytics.sla import (
    _with_queue,
    has_staffing,
    model_service_level,
    realized,
    slot_columns,
    slot_key,
    weekly_plan,
)

CALIBRATION_WEEKS = 12
MIN_INTERVALS = 100
MIN_QUEUE_INTERVALS = 300
MAX_RHO = 0.95
RELIABILITY_BINS = 10
SHRINK_WEEKS = 4  # a slot's effect counts fully only with many more weeks than this


def betabinom_cdf(k: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(X <= k) for X ~ BetaBinomial(n, a, b), element-wise (``scipy.stats.betabinom.cdf``
    to rounding, which loops in Python over the elements: 0.9 s for a 7,000-interval
    forecast). From log pmf(0) = betaln(a, n + b) - betaln(a, b) upward by the ratio
    pmf(j + 1) / pmf(j) = (n - j)(j + a) / ((j + 1)(n - j - 1 + b)), the terms added in log
    space (no underflow at large n); each step only touches the elements whose k is still
    ahead, so the work is the sum of the k's."""
    k, n, a, b = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(k, n, a, b))
    top = np.minimum(np.floor(k), n).ravel()
    order = np.argsort(-top, kind="stable")  # the elements still summing come first
    kk, nn, aa, bb = (v.ravel()[order] for v in (top, n, a, b))
    log_p = betaln(aa, nn + bb) - betaln(aa, bb)
    total = log_p.copy()
    live = kk.size
    for j in range(int(kk[0]) if kk.size and kk[0] > 0 else 0):
        while live and kk[live - 1] <= j:
            live -= 1
        q, m, c, d = log_p[:live], nn[:live], aa[:live], bb[:live]
        q += np.log((m - j) * (j + c)) - np.log((j + 1) * (m - j - 1 + d))
        total[:live] = np.logaddexp(total[:live], q)
    out = np.empty(kk.size)
    out[order] = np.exp(total)
    out = out.reshape(k.shape)
    return np.where(k < 0, 0.0, np.where(k >= n, 1.0, np.minimum(out, 1.0)))


@dataclass(frozen=True)
class Curve:
    """One calibration map: knots of the isotonic fit (``x`` model SL -> ``y`` realized SL,
    linear between knots, flat beyond them), the shrunken effect of each weekday and time
    of day (``slots`` keys from ``slot_key``, ``effects``) and the overdispersion ``rho``."""

    x: np.ndarray
    y: np.ndarray
    slots: np.ndarray
    effects: np.ndarray
    rho: float
    intervals: int

    def effect(self, slot: np.ndarray) -> np.ndarray:
        """The slot's effect (0 for a slot the history never had)."""
        i = np.clip(np.searchsorted(self.slots, slot), 0, self.slots.size - 1)
        return np.where(self.slots[i] == slot, self.effects[i], 0.0)

    def mean(self, model_sl: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The calibrated service level at the model's service level in ``slot`` (the map
        plus the slot's effect, within [0, 1]); ``slot`` broadcasts against ``model_sl``."""
        return np.clip(np.interp(model_sl, self.x, self.y) + self.effect(slot), 0.0, 1.0)

    def breach(self, mean: np.ndarray, calls: np.ndarray, goal: float) -> np.ndarray:
        """P(realized SL < goal) of an interval of ``calls`` calls (rounded) and calibrated
        mean ``mean``: beta-binomial answered-in-target count below goal x calls. No calls,
        no breach."""
        n = np.round(np.asarray(calls, dtype=float)).astype(np.int64)
        below = np.ceil(goal * n - 1e-9).astype(np.int64) - 1  # in target <= this: breach
        m = np.clip(mean, 1e-4, 1 - 1e-4)
        if self.rho <= 1e-9:
            from scipy.stats import binom  # here: SciPy's stats take seconds to import

            p = binom.cdf(below, np.maximum(n, 1), m)
        else:
            shape = (1 - self.rho) / self.rho
            p = betabinom_cdf(below, np.maximum(n, 1), m * shape, (1 - m) * shape)
        return np.where(n > 0, p, 0.0)

    def goal_level(self, goal: float, slot: np.ndarray) -> np.ndarray:
        """The smallest model service level whose calibrated mean in ``slot`` reaches
        ``goal``, element-wise (NaN where the map never gets there)."""
        need = goal - self.effect(slot)
        i = np.searchsorted(self.y, need, side="left")  # the first knot at or above
        inner = np.clip(i, 1, self.y.size - 1) if self.y.size > 1 else np.zeros_like(i)
        x0, x1, y0, y1 = self.x[inner - 1], self.x[inner], self.y[inner - 1], self.y[inner]
        with np.errstate(divide="ignore", invalid="ignore"):
            between = x0 + (need - y0) / (y1 - y0) * (x1 - x0)
        return np.where(i >= self.y.size, np.nan, np.where(i == 0, self.x[0], between))


def fit_curve(
    model_sl: np.ndarray, delivered: np.ndarray, calls: np.ndarray, slot: np.ndarray
) -> Curve:
    """Isotonic map of ``delivered`` on ``model_sl`` weighted by ``calls``, each slot's
    shrunken effect, and rho by moments (module docstring). Ties in the model's SL are
    pooled by scikit-learn."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(model_sl, delivered, sample_weight=calls)
    base = iso.predict(model_sl)
    slots, index = np.unique(slot, return_inverse=True)
    residual = np.bincount(index, weights=delivered - base, minlength=slots.size)
    effects = residual / (np.bincount(index, minlength=slots.size) + SHRINK_WEEKS)
    m = np.clip(base + effects[index], 0.0, 1.0)
    v = m * (1 - m)
    excess = float(np.sum((delivered - m) ** 2 - v / calls))
    room = float(np.sum(v * (calls - 1) / calls))
    rho = min(max(excess / room, 0.0), MAX_RHO) if room > 0 else 0.0
    return Curve(
        np.asarray(iso.X_thresholds_, dtype=float),
        np.asarray(iso.y_thresholds_, dtype=float),
        slots,
        effects,
        rho,
        int(model_sl.size),
    )


@dataclass(frozen=True)
class Agreement:
    """How one prediction of the service level agreed with history (module docstring)."""

    intervals: int
    predicted_sl: float | None
    realized_sl: float | None
    mae: float | None
    bias: float | None
    brier: float | None
    constant_brier: float | None
    breach_share: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def agreement(
    scored: pl.DataFrame, predicted: str, p_breach: str, constant: str | None
) -> Agreement:
    """``scored`` rows (offered, realized, breached and the named columns) summed up."""
    if scored.height == 0:
        return Agreement(0, None, None, None, None, None, None, None)
    c = scored["offered"].to_numpy().astype(float)
    pred, real = scored[predicted].to_numpy(), scored["realized"].to_numpy()
    hit = scored["breached"].to_numpy().astype(float)
    p_const = scored[constant].to_numpy() if constant else None
    return Agreement(
        intervals=scored.height,
        predicted_sl=float(np.average(pred, weights=c)),
        realized_sl=float(np.average(real, weights=c)),
        mae=float(np.mean(np.abs(pred - real))),
        bias=float(np.average(pred - real, weights=c)),
        brier=float(np.mean((scored[p_breach].to_numpy() - hit) ** 2)),
        constant_brier=None if p_const is None else float(np.mean((p_const - hit) ** 2)),
        breach_share=float(hit.mean()),
    )


@dataclass(frozen=True)
class Calibration:
    """The calibration of one report's service level (see the module docstring).

    ``status``: ``per_queue`` (some queue has its own map), ``pooled`` or ``uncalibrated``;
    ``curves`` per queue (own or the pooled map) and ``sources`` saying which;
    ``model`` scores the uncalibrated Erlang on history, ``calibrated`` the calibrated
    forecast out of sample; ``history`` has one row per scored interval.
    """

    status: str
    goal: float
    target_s: float
    weeks: int
    curves: dict[str, Curve]
    sources: dict[str, str]
    patience_s: dict[str, float | None]
    model: Agreement
    calibrated: Agreement
    history: pl.DataFrame = field(repr=False)

    def curve(self, queue: str) -> Curve | None:
        return self.curves.get(queue)

    def patience(self, queue: str) -> float:
        """The queue's patience in seconds, or NaN when unknown (Erlang C)."""
        value = self.patience_s.get(queue)
        return math.nan if value is None else value

    def reliability(self, bins: int = RELIABILITY_BINS) -> pl.DataFrame:
        """Out-of-sample P(breach) in equal bins of width 1/``bins``: mean predicted, share
        breached, intervals."""
        scored = self.history.filter(pl.col("p_breach").is_not_null())
        return (
            scored.with_columns(
                (pl.col("p_breach") * bins).floor().clip(0, bins - 1).cast(pl.Int64).alias("bin")
            )
            .group_by("bin")
            .agg(
                pl.col("p_breach").mean().alias("predicted"),
                pl.col("breached").cast(pl.Float64).mean().alias("observed"),
                pl.len().alias("intervals"),
            )
            .sort("bin")
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "goal": self.goal,
            "target_s": self.target_s,
            "weeks": self.weeks,
            "intervals": self.calibrated.intervals,
            "mae": _round(self.calibrated.mae),
            "bias": _round(self.calibrated.bias),
            "brier": _round(self.calibrated.brier),
            "constant_brier": _round(self.calibrated.constant_brier),
            "predicted_sl": _round(self.calibrated.predicted_sl),
            "realized_sl": _round(self.calibrated.realized_sl),
            "uncalibrated_model": self.model.to_dict(),
            "queues": {q.pop("queue"): q for q in self.queues()},
        }

    def queues(self) -> list[dict[str, str | float | int | None]]:
        """Per queue: its map (``queue``, ``pooled`` or None), model, patience, rho and the
        intervals its map was fitted on."""
        return [
            {
                "queue": q,
                "map": self.sources.get(q),
                "model": "erlang_c" if self.patience_s.get(q) is None else "erlang_a",
                "patience_s": _round(self.patience_s.get(q), 1),
                "rho": _round(c.rho) if (c := self.curves.get(q)) else None,
                "intervals": c.intervals if c else 0,
            }
            for q in sorted(self.patience_s)
        ]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def patience_by_queue(acd: pl.DataFrame) -> dict[str, float | None]:
    """Mean patience per queue = sum ``wait_total_s`` / sum ``abandoned`` over the intervals
    that report both (``None`` without such intervals or without an abandon)."""
    acd = _with_queue(acd)
    queues = acd["queue"].unique().sort().to_list()
    if not {"wait_total_s", "abandoned"} <= set(acd.columns):
        return dict.fromkeys(queues)
    sums = (
        acd.filter(pl.col("wait_total_s").is_not_null() & pl.col("abandoned").is_not_null())
        .group_by("queue")
        .agg(pl.col("wait_total_s").sum(), pl.col("abandoned").sum())
    )
    found = {
        r["queue"]: r["wait_total_s"] / r["abandoned"]
        for r in sums.iter_rows(named=True)
        if r["abandoned"] > 0 and r["wait_total_s"] > 0
    }
    return {q: found.get(q) for q in queues}


def history_frame(
    acd: pl.DataFrame,
    interval_s: float,
    target_s: float,
    goal: float,
    patience: dict[str, float | None],
) -> pl.DataFrame:
    """The scored history: intervals of the last ``CALIBRATION_WEEKS`` weeks with offered
    calls and an in-target count, the model's SL with the window's plan, realized SL."""
    report = realized(acd, interval_s)  # every column there, typed nulls where missing
    last = report["interval_start"].max()
    window = report.filter(
        pl.col("interval_start") > last - pl.duration(weeks=CALIBRATION_WEEKS)  # type: ignore[operator]
    )
    plan = weekly_plan(window, weeks=CALIBRATION_WEEKS).rename(
        {"agents": "plan_agents", "aht_s": "plan_aht_s"}
    )
    rows = (
        window.filter(pl.col("service_level").is_not_null())
        .with_columns(slot_columns(pl.col("interval_start")))
        .join(plan, on=["queue", "weekday", "slot"], how="left")
        .select(
            "interval_start",
            "queue",
            pl.col("offered").cast(pl.Float64),
            pl.col("plan_agents").fill_null(0.0),
            "plan_aht_s",
            pl.col("service_level").alias("realized"),
            pl.col("interval_start").dt.truncate("1w").alias("week"),
            slot_key(pl.col("interval_start")),
        )
        .with_columns((pl.col("realized") < goal).alias("breached"))
        .sort("queue", "interval_start")
    )
    patience_s = np.array([patience.get(q) or np.nan for q in rows["queue"].to_list()], float)
    model = model_service_level(
        rows["offered"].to_numpy(),
        rows["plan_agents"].to_numpy(),
        rows["plan_aht_s"].to_numpy(),
        patience_s,
        interval_s,
        target_s,
    )
    return rows.with_columns(pl.Series("model_sl", model))


def fit_maps(rows: pl.DataFrame) -> tuple[dict[str, Curve], dict[str, str]]:
    """Curves per queue: its own with ``MIN_QUEUE_INTERVALS`` rows, else the pooled one
    (with ``MIN_INTERVALS`` rows in all); no curves below that."""
    if rows.height < MIN_INTERVALS:
        return {}, {}

    def fit(part: pl.DataFrame) -> Curve:
        return fit_curve(
            part["model_sl"].to_numpy(),
            part["realized"].to_numpy(),
            part["offered"].to_numpy(),
            part["slot_key"].to_numpy(),
        )

    pooled = fit(rows)
    curves, sources = {}, {}
    for (queue,), part in rows.partition_by("queue", as_dict=True, maintain_order=True).items():
        own = part.height >= MIN_QUEUE_INTERVALS
        curves[str(queue)] = fit(part) if own else pooled
        sources[str(queue)] = "queue" if own else "pooled"
    return curves, sources


def _score(rows: pl.DataFrame, curves: dict[str, Curve], goal: float) -> pl.DataFrame:
    """Calibrated SL and P(breach) at the interval's known calls."""
    parts = []
    for (queue,), part in rows.partition_by("queue", as_dict=True, maintain_order=True).items():
        curve = curves.get(str(queue))
        if curve is None:
            continue
        m = curve.mean(part["model_sl"].to_numpy(), part["slot_key"].to_numpy())
        p = curve.breach(m, part["offered"].to_numpy(), goal)
        parts.append(part.with_columns(pl.Series("calibrated", m), pl.Series("p_breach", p)))
    return pl.concat(parts) if parts else rows.clear()


def calibrate_dataset(dataset: Dataset, interval_s: float) -> Calibration | None:
    """``calibrate`` on the dataset's ``acd`` at its settings' target and goal (None without
    an ``acd`` report with agents: there is no breach forecast to calibrate)."""
    if not has_staffing(dataset.acd):
        return None
    settings = dataset.settings
    return calibrate(dataset.acd, interval_s, settings.sla_target_s, settings.sla_goal)  # type: ignore[arg-type]


def calibrate(acd: pl.DataFrame, interval_s: float, target_s: float, goal: float) -> Calibration:
    """Fit the calibration of ``acd`` and score it on history (see the module docstring)."""
    patience = patience_by_queue(acd)
    rows = history_frame(acd, interval_s, target_s, goal, patience)
    raw = rows.with_columns((pl.col("model_sl") < goal).cast(pl.Float64).alias("p_model"))
    scored = []
    for week in rows["week"].unique().sort().to_list()[1:]:
        train = rows.filter(pl.col("week") < week)
        curves, _ = fit_maps(train)
        if curves:
            share = float(train["breached"].mean())  # type: ignore[arg-type]
            test = _score(rows.filter(pl.col("week") == week), curves, goal)
            scored.append(test.with_columns(pl.lit(share).alias("constant")))
    out_of_sample = (
        pl.concat(scored)
        if scored
        else rows.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in ("calibrated", "p_breach", "constant")
        ).clear()
    )
    curves, sources = fit_maps(rows)
    history = raw.join(
        out_of_sample.select("queue", "interval_start", "calibrated", "p_breach"),
        on=["queue", "interval_start"],
        how="left",
    )
    if not curves:
        status = "uncalibrated"
    elif "queue" in sources.values():
        status = "per_queue"
    else:
        status = "pooled"
    return Calibration(
        status=status,
        goal=goal,
        target_s=target_s,
        weeks=rows["week"].n_unique(),
        curves=curves,
        sources=sources,
        patience_s=patience,
        model=agreement(raw, "model_sl", "p_model", None),
        calibrated=agreement(out_of_sample, "calibrated", "p_breach", "constant"),
        history=history,
    )
