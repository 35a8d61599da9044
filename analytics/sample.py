"""The sample company: a deterministic synthetic dataset with planted problems.

The story (documented for facilitators in ``sample_data/README.md``): the classic reports
are green (SLA about 94 %, CSAT about 4.6, NPS about +42) while monthly churn drifts from
about 3 % to 5 %, because some customers are exposed to bad experiences and most of them
leave without complaining. Planted problems, each findable by a later view:

* ``LOGISTICS_REGION``: from month ``LOGISTICS_FROM_MONTH`` (0-based) most of its delivery
  cases fail: courier escalations, repeat contacts through other channels, redelivery;
* ``BOT_LOOP_SCENARIO``: from month ``BOT_LOOP_FROM_MONTH`` chat/messenger cases loop in
  the bot before reaching an agent and often end in a callback;
* ``UNDERSTAFFED_SLOTS``: phone waits far above the promise on these weekday hours;
* complex customers (``COMPLEX_SHARE`` of premium and business): same segment and revenue
  as their twins, but cases with manual approvals, unplanned meetings and custom work.

Churn is generated from experience: a customer's monthly hazard rises with bad
experiences (long phone waits, bot loops, failed deliveries) in the previous two months,
so it can be learned from the events. Everything is vectorised with NumPy; one seed
gives the same company on every machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import holidays
import numpy as np
import polars as pl

from analytics.sla import agents_needed

SEGMENTS = ("mass", "premium", "business")
SEGMENT_SHARE = (0.60, 0.28, 0.12)
SEGMENT_REVENUE_MEDIAN = (600.0, 1500.0, 4000.0)
SEGMENT_CASE_RATE = (0.42, 0.5, 0.7)  # cases per customer-month
SEGMENT_BASE_HAZARD = (0.032, 0.027, 0.02)
REGIONS = ("Moscow", "Saint Petersburg", "Kazan", "Novosibirsk", "Yekaterinburg")
REGION_SHARE = (0.35, 0.2, 0.15, 0.15, 0.15)
LOGISTICS_REGION = "Yekaterinburg"
LOGISTICS_FROM_MONTH = 6
BOT_LOOP_SCENARIO = "billing"
BOT_LOOP_FROM_MONTH = 3
# (weekday Mon=0, first hour, last hour exclusive): phone is understaffed there.
UNDERSTAFFED_SLOTS = ((0, 10, 12), (4, 17, 18))
PLAN_MARGIN = 1.25
COMPLEX_SHARE = 0.10
# Each recent bad experience (up to two) multiplies the churn hazard by 1 + this.
EXPOSURE_EFFECT = 7.0
PHONE_PROMISE_S = 60.0
SLA_TARGET_S = 20.0
SCENARIOS = ("delivery", "billing", "tech_support", "returns")
SCENARIO_SHARE = (0.30, 0.25, 0.30, 0.15)
FIRST_CHANNELS = ("phone", "chat", "messenger", "email", "social", "self_service")
FIRST_CHANNEL_SHARE = (0.36, 0.24, 0.12, 0.10, 0.03, 0.15)
CHATLIKE = ("chat", "messenger")
HOP = {
    "phone": "email",
    "chat": "phone",
    "messenger": "phone",
    "email": "phone",
    "social": "phone",
    "self_service": "phone",
}
WEEKDAY_WEIGHT = (1.25, 1.1, 1.0, 1.0, 0.95, 0.45, 0.35)
HOUR_WEIGHT = (
    0.05,
    0.02,
    0.02,
    0.02,
    0.03,
    0.08,
    0.2,
    0.5,
    1.0,
    1.6,
    1.9,
    1.9,
    1.6,
    1.5,
    1.7,
    1.7,
    1.6,
    1.4,
    1.2,
    1.0,
    0.8,
    0.5,
    0.25,
    0.1,
)
HANDLE_MEAN_S = {
    "phone": 260.0,
    "chat": 420.0,
    "messenger": 330.0,
    "email": 360.0,
    "social": 300.0,
    "bot": 0.0,
    "self_service": 0.0,
    "meeting": 3600.0,
    "internal": 900.0,
}
WAIT_MEAN_S = {"chat": 25.0, "messenger": 240.0, "email": 9000.0, "social": 1800.0, "bot": 1.0}


@dataclass(frozen=True)
class Step:
    """One step of a path template.

    ``channel`` is a channel, ``"*"`` (the case's first channel) or ``"hop"`` (another
    channel: the customer comes back elsewhere). ``p`` is the chance the step happens;
    ``gap_min`` the mean minutes since the previous step.
    """

    activity: str
    channel: str
    gap_min: float
    p: float = 1.0
    manual: bool = False
    resource: str | None = None
    chatlike_only: bool = False


def _bot() -> Step:
    return Step("bot", "bot", 0.0, resource="Bot", chatlike_only=True)


def _std(*middle: Step) -> tuple[Step, ...]:
    return (
        _bot(),
        Step("request", "*", 0.5),
        Step("clarification", "*", 40, p=0.15),
        *middle,
        Step("agent reply", "*", 20),
        Step("transfer", "*", 5, p=0.07, resource="L2 support"),
        Step("agent reply", "*", 60, p=0.07, resource="L2 support"),
        Step("resolved", "internal", 5, resource="Back office"),
    )


TEMPLATES: dict[str, tuple[Step, ...]] = {
    "delivery_std": _std(Step("order lookup", "internal", 30, p=0.5, resource="Logistics")),
    "billing_std": _std(
        Step("invoice correction", "internal", 120, p=0.4, resource="Billing desk")
    ),
    "tech_support_std": _std(Step("diagnostics", "*", 30, p=0.6)),
    "returns_std": _std(
        Step("return approval", "internal", 240, resource="Back office"),
        Step("refund", "internal", 600, resource="Billing desk"),
    ),
    "onboarding_std": (
        Step("request", "self_service", 0.0),
        Step("identity check", "internal", 60, resource="Back office"),
        Step("account setup", "internal", 120, resource="Back office"),
        Step("welcome call", "phone", 600, p=0.5),
        Step("resolved", "internal", 5, resource="Back office"),
    ),
    "complex": (
        Step("request", "*", 0.0),
        Step("agent reply", "*", 20),
        Step("manual approval", "internal", 1440, manual=True, resource="Account management"),
        Step("meeting", "meeting", 2880, p=0.8, manual=True, resource="Account management"),
        Step("custom work", "internal", 1440, manual=True, resource="Back office"),
        Step(
            "manual approval", "internal", 1440, p=0.7, manual=True, resource="Account management"
        ),
        Step("agent reply", "email", 240),
        Step("callback", "phone", 120),
        Step("clarification", "*", 300, p=0.6),
        Step("agent reply", "*", 60),
        Step("resolved", "internal", 30, resource="Account management"),
    ),
    "onboarding_complex": (
        Step("request", "self_service", 0.0),
        Step("identity check", "internal", 60, resource="Back office"),
        Step("manual approval", "internal", 1440, manual=True, resource="Account management"),
        Step("meeting", "meeting", 2880, manual=True, resource="Account management"),
        Step("custom work", "internal", 2880, manual=True, resource="Back office"),
        Step("account setup", "internal", 240, resource="Back office"),
        Step("welcome call", "phone", 600),
        Step("resolved", "internal", 5, resource="Back office"),
    ),
    "delivery_failure": (
        _bot(),
        Step("request", "*", 0.5),
        Step("agent reply", "*", 20),
        Step("courier escalation", "internal", 1440, resource="Logistics"),
        Step("request", "hop", 1440),
        Step("agent reply", "hop", 15),
        Step("courier escalation", "internal", 1440, p=0.6, resource="Logistics"),
        Step("request", "phone", 1440, p=0.6),
        Step("agent reply", "phone", 5, p=0.6),
        Step("complaint", "email", 60, p=0.1),
        Step("redelivery", "internal", 2880, resource="Logistics"),
        Step("resolved", "internal", 60, resource="Logistics"),
    ),
    "bot_loop": (
        Step("bot", "bot", 0.0, resource="Bot"),
        Step("bot", "bot", 1.0, resource="Bot"),
        Step("bot", "bot", 1.0, p=0.85, resource="Bot"),
        Step("bot", "bot", 1.0, p=0.7, resource="Bot"),
        Step("request", "*", 2.0),
        Step("agent reply", "*", 15),
        Step("callback", "phone", 240, p=0.5),
        Step("complaint", "social", 120, p=0.05),
        Step("resolved", "internal", 5, resource="Back office"),
    ),
    "bot_resolved": (
        Step("bot", "bot", 0.0, resource="Bot"),
        Step("bot", "bot", 1.0, p=0.3, resource="Bot"),
        Step("resolved", "internal", 1, resource="Bot"),
    ),
    "self_service": (
        Step("request", "self_service", 0.0),
        Step("agent reply", "email", 240, p=0.3),
        Step("resolved", "internal", 60, resource="Back office"),
    ),
}
TEMPLATE_NAMES = tuple(TEMPLATES)
ALL_CHANNELS = (*FIRST_CHANNELS, "meeting", "internal", "bot")
ALL_SCENARIOS = (*SCENARIOS, "onboarding")
OUTCOME_CODES = (None, "resolved", "abandoned", "transferred")
_NEVER = np.iinfo(np.int64).max
EXPOSING = ("delivery_failure", "bot_loop")
CHANNEL_TEAM = {
    "phone": "Phone L1",
    "chat": "Chat L1",
    "messenger": "Messaging",
    "email": "Email desk",
    "social": "Social care",
    "self_service": "Self-service",
    "meeting": "Account management",
    "internal": "Back office",
    "bot": "Bot",
}


@dataclass(frozen=True)
class SampleCompany:
    """The generated tables, ready to write."""

    events: pl.DataFrame
    customers: pl.DataFrame
    acd: pl.DataFrame
    surveys: pl.DataFrame

    def write(self, out: str | Path) -> list[Path]:
        """Write the four tables as zstd Parquet into ``out``, and under ``out/exports`` a
        per-call export and a ticket log as real systems write them (see
        :mod:`analytics.sample_exports`); returns the paths."""
        from analytics.sample_exports import write_exports

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in ("events", "customers", "acd", "surveys"):
            path = out / f"{name}.parquet"
            getattr(self, name).write_parquet(path, compression="zstd", compression_level=12)
            paths.append(path)
        return paths + write_exports(self.events, out)


def _month_starts(start: dt.date, months: int) -> list[dt.date]:
    out = []
    y, m = start.year, start.month
    for _ in range(months + 1):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day).timestamp()) - _LOCAL_SHIFT


# datetime.timestamp() of a naive value uses the machine's zone; undo it for determinism.
_LOCAL_SHIFT = int(dt.datetime(1970, 1, 1).timestamp())


def _day_weights(first: dt.date, last: dt.date, holiday_days: set[dt.date]) -> np.ndarray:
    days = (last - first).days
    weights = np.empty(days)
    for i in range(days):
        day = first + dt.timedelta(days=i)
        weights[i] = WEEKDAY_WEIGHT[day.weekday()] * (0.3 if day in holiday_days else 1.0)
    return weights / weights.sum()


def _pick(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    return rng.choice(len(shares), size=n, p=np.asarray(shares) / sum(shares))


def _in_understaffed(ts: np.ndarray) -> np.ndarray:
    weekday = ((ts // 86400) + 3) % 7  # 1970-01-01 was a Thursday
    hour = (ts % 86400) // 3600
    hit = np.zeros(ts.shape, dtype=bool)
    for day, first, last in UNDERSTAFFED_SLOTS:
        hit |= (weekday == day) & (hour >= first) & (hour < last)
    return hit


def generate(
    customers: int = 40_000,
    months: int = 12,
    seed: int = 7,
    start: dt.date = dt.date(2025, 1, 1),
) -> SampleCompany:
    """Generate the sample company.

    Parameters
    ----------
    customers : active customers at the start; new sign-ups roughly replace leavers.
    months : length of the history.
    seed : the random seed; the same seed gives the same company.
    start : first day of the history (a month start).

    Examples
    --------
    >>> company = generate(customers=300, months=2, seed=1)
    >>> company.customers.height > 300
    True
    """
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be at least 1")
    rng = np.random.default_rng(seed)
    month_starts = _month_starts(start.replace(day=1), months)
    holiday_days = set(holidays.Russia(years=range(start.year, month_starts[-1].year + 1)))
    pop = _new_customers(rng, customers, signup_before=_epoch(month_starts[0]))
    # exposure[k] counts bad experiences of each customer in month k - 1.
    exposure = np.zeros((months + 1, customers), dtype=np.float32)
    case_parts: list[dict[str, np.ndarray]] = []
    event_parts: list[dict[str, np.ndarray]] = []
    n_cases = 0
    for m in range(months):
        m0, m1 = _epoch(month_starts[m]), _epoch(month_starts[m + 1])
        if m > 0:  # new sign-ups replace about 4.2 % of the base each month
            fresh = _new_customers(rng, round(customers * 0.042), None, window=(m0, m1))
            pop = {k: np.concatenate([pop[k], fresh[k]]) for k in pop}
            exposure = np.pad(exposure, ((0, 0), (0, fresh["segment"].size)))
        n_total = pop["segment"].size
        active = (pop["signup_ts"] < m1) & (pop["churn_ts"] > m0)
        recent = exposure[m] + (exposure[m - 1] if m > 0 else 0)
        hazard = np.asarray(SEGMENT_BASE_HAZARD)[pop["segment"]] * (
            1 + EXPOSURE_EFFECT * np.minimum(recent, 2)
        )
        leaving = active & (pop["signup_ts"] < m0) & (rng.random(n_total) < hazard)
        pop["churn_ts"][leaving] = m0 + rng.integers(0, m1 - m0, leaving.sum())
        cases = _cases_for_month(
            rng,
            m,
            (m0, m1),
            active,
            pop,
            _day_weights(month_starts[m], month_starts[m + 1], holiday_days),
        )
        events = _events(rng, cases, case_offset=n_cases)
        n_cases += cases["customer"].size
        case_parts.append(cases)
        event_parts.append(events)
        long_wait = events["wait_s"] > PHONE_PROMISE_S
        long_wait &= events["channel"] == ALL_CHANNELS.index("phone")
        exposed = cases["exposing"].copy()
        exposed[events["case"][long_wait] - (n_cases - cases["customer"].size)] = True
        cases["exposed"] = exposed
        np.add.at(exposure[m + 1], cases["customer"][exposed], 1.0)
    all_cases = {k: np.concatenate([c[k] for c in case_parts]) for k in case_parts[0]}
    all_events = {k: np.concatenate([e[k] for e in event_parts]) for k in event_parts[0]}
    end_ts = _epoch(month_starts[-1])
    return SampleCompany(
        events=_events_frame(all_events, all_cases, end_ts),
        customers=_customers_frame(pop, end_ts),
        acd=_acd_frame(all_events, month_starts[0], month_starts[-1]),
        surveys=_surveys_frame(rng, all_cases, all_events, end_ts),
    )


def _new_customers(
    rng: np.random.Generator,
    n: int,
    signup_before: int | None,
    window: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    segment = _pick(rng, n, SEGMENT_SHARE)
    median = np.asarray(SEGMENT_REVENUE_MEDIAN)[segment]
    revenue = np.round(median * rng.lognormal(0.0, 0.35, n), -1)
    if window is None:
        assert signup_before is not None
        signup = signup_before - rng.integers(30, 6 * 365, n) * 86400
    else:
        signup = rng.integers(window[0], window[1], n)
    return {
        "segment": segment,
        "region": _pick(rng, n, REGION_SHARE),
        "revenue": revenue,
        "signup_ts": signup.astype(np.int64),
        "complex": (segment > 0) & (rng.random(n) < COMPLEX_SHARE),
        "churn_ts": np.full(n, _NEVER, dtype=np.int64),
    }


def _cases_for_month(
    rng: np.random.Generator,
    month: int,
    window: tuple[int, int],
    active: np.ndarray,
    pop: dict[str, np.ndarray],
    day_weights: np.ndarray,
) -> dict[str, np.ndarray]:
    m0, _ = window
    idx = np.flatnonzero(active)
    seg = pop["segment"][idx]
    rate = np.asarray(SEGMENT_CASE_RATE)[seg] * np.where(pop["complex"][idx], 1.5, 1.0)
    rate = rate * (1 + 0.015 * month)  # volume grows slowly through the year
    customer = np.repeat(idx, rng.poisson(rate))
    n = customer.size
    days = rng.choice(day_weights.size, size=n, p=day_weights)
    hours = rng.choice(24, size=n, p=np.asarray(HOUR_WEIGHT) / sum(HOUR_WEIGHT))
    start = m0 + days * 86400 + hours * 3600 + rng.integers(0, 3600, n)
    scenario = _pick(rng, n, SCENARIO_SHARE)
    channel = _pick(rng, n, FIRST_CHANNEL_SHARE)
    newcomers = idx[pop["signup_ts"][idx] >= m0]
    customer = np.concatenate([customer, newcomers])
    start = np.concatenate(
        [start, pop["signup_ts"][newcomers] + rng.integers(600, 7200, newcomers.size)]
    )
    scenario = np.concatenate(
        [scenario, np.full(newcomers.size, ALL_SCENARIOS.index("onboarding"))]
    )
    channel = np.concatenate([channel, np.full(newcomers.size, ALL_CHANNELS.index("self_service"))])
    keep = start < pop["churn_ts"][customer]
    customer, start, scenario, channel = customer[keep], start[keep], scenario[keep], channel[keep]
    template = _choose_templates(rng, month, customer, scenario, channel, pop)
    return {
        "customer": customer,
        "start": start,
        "scenario": scenario,
        "channel": channel,
        "template": template,
        "exposing": np.isin(template, [TEMPLATE_NAMES.index(t) for t in EXPOSING]),
    }


def _choose_templates(
    rng: np.random.Generator,
    month: int,
    customer: np.ndarray,
    scenario: np.ndarray,
    channel: np.ndarray,
    pop: dict[str, np.ndarray],
) -> np.ndarray:
    """Which path template each case follows; the planted problems decide first."""
    n = customer.size
    u = rng.random(n)
    scen = np.asarray(ALL_SCENARIOS)[scenario]
    chan = np.asarray(ALL_CHANNELS)[channel]
    chatlike = np.isin(chan, CHATLIKE)
    complex_ = pop["complex"][customer]
    in_failure = (np.asarray(REGIONS)[pop["region"][customer]] == LOGISTICS_REGION) & (
        month >= LOGISTICS_FROM_MONTH
    )
    p_failure = np.where(in_failure, 0.8, 0.04)
    names = np.select(
        [
            (scen == "onboarding") & complex_,
            scen == "onboarding",
            complex_ & (u < 0.85),
            (scen == "delivery") & (u < p_failure),
            (scen == BOT_LOOP_SCENARIO) & chatlike & (month >= BOT_LOOP_FROM_MONTH) & (u < 0.7),
            np.isin(scen, ["billing", "tech_support"]) & chatlike & (u < 0.25),
            chan == "self_service",
        ],
        [
            "onboarding_complex",
            "onboarding_std",
            "complex",
            "delivery_failure",
            "bot_loop",
            "bot_resolved",
            "self_service",
        ],
        default=np.char.add(scen.astype(str), "_std"),
    )
    lookup = {name: i for i, name in enumerate(TEMPLATE_NAMES)}
    return np.vectorize(lookup.__getitem__, otypes=[np.int16])(names)


def _step_table() -> dict[str, np.ndarray]:
    rows = [step for name in TEMPLATE_NAMES for step in TEMPLATES[name]]
    channel_code = {"*": -1, "hop": -2, **{c: i for i, c in enumerate(ALL_CHANNELS)}}
    return {
        "activity": np.array([s.activity for s in rows]),
        "channel": np.array([channel_code[s.channel] for s in rows]),
        "gap_s": np.array([s.gap_min * 60 for s in rows]),
        "p": np.array([s.p for s in rows]),
        "manual": np.array([s.manual for s in rows]),
        "resource": np.array([s.resource or "" for s in rows]),
        "chatlike_only": np.array([s.chatlike_only for s in rows]),
        "offset": np.cumsum([0, *[len(TEMPLATES[n]) for n in TEMPLATE_NAMES]]),
    }


_STEPS = _step_table()
_HOP_CODE = np.array([ALL_CHANNELS.index(HOP[c]) for c in FIRST_CHANNELS] + [1, 1, 1])
_INBOUND = ("request", "clarification", "bot")
_HANDLE_BY_ACTIVITY = {
    "manual approval": 1200.0,
    "custom work": 5400.0,
    "transfer": 60.0,
    "courier escalation": 600.0,
    "redelivery": 900.0,
    "complaint": 300.0,
}
_NO_HANDLE = ("bot", "resolved")


def _events(
    rng: np.random.Generator, cases: dict[str, np.ndarray], case_offset: int
) -> dict[str, np.ndarray]:
    """Expand cases into ordered steps with times, waits, handling, resources and outcomes."""
    template, channel0 = cases["template"], cases["channel"]
    chatlike = np.isin(channel0, [ALL_CHANNELS.index(c) for c in CHATLIKE])
    ev_case, ev_row = [], []
    for tid in range(len(TEMPLATE_NAMES)):
        cidx = np.flatnonzero(template == tid)
        if not cidx.size:
            continue
        rows = np.arange(_STEPS["offset"][tid], _STEPS["offset"][tid + 1])
        keep = rng.random((cidx.size, rows.size)) < _STEPS["p"][rows]
        keep &= ~_STEPS["chatlike_only"][rows] | chatlike[cidx][:, None]
        r, c = np.nonzero(keep)
        ev_case.append(cidx[r])
        ev_row.append(rows[c])
    case = np.concatenate(ev_case)
    row = np.concatenate(ev_row)
    order = np.lexsort((row, case))
    case, row = case[order], row[order]
    n = case.size
    channel = _STEPS["channel"][row]
    channel = np.where(channel == -1, channel0[case], channel)
    channel = np.where(channel == -2, _HOP_CODE[channel0[case]], channel)
    first = np.ones(n, dtype=bool)
    first[1:] = case[1:] != case[:-1]
    gap = rng.exponential(1.0, n) * _STEPS["gap_s"][row] + np.where(first, 0, 5)
    gap[first] = 0
    cum = np.cumsum(gap)
    case_start_cum = np.maximum.accumulate(np.where(first, cum, 0))
    ts = cases["start"][case] + np.round(cum - case_start_cum).astype(np.int64)
    activity = _STEPS["activity"][row]
    phone = channel == ALL_CHANNELS.index("phone")
    inbound = np.isin(activity, _INBOUND)
    wait = np.full(n, np.nan)
    for name, mean in WAIT_MEAN_S.items():
        hit = inbound & (channel == ALL_CHANNELS.index(name))
        wait[hit] = rng.exponential(mean, hit.sum())
    phone_in = inbound & phone
    slow = _in_understaffed(ts)
    wait[phone_in] = rng.exponential(np.where(slow[phone_in], 120.0, 4.5))
    abandoned = phone_in & (wait > 20.0 + rng.exponential(200.0, n))  # nobody hangs up at once
    handle_mean = np.array([HANDLE_MEAN_S[c] for c in ALL_CHANNELS])[channel]
    for name, mean in _HANDLE_BY_ACTIVITY.items():
        handle_mean[activity == name] = mean
    handle = rng.gamma(2.0, handle_mean / 2.0)
    handle[np.isin(activity, _NO_HANDLE) | abandoned | (handle_mean == 0)] = np.nan
    outcome = np.zeros(n, dtype=np.int8)
    outcome[activity == "resolved"] = OUTCOME_CODES.index("resolved")
    outcome[activity == "transfer"] = OUTCOME_CODES.index("transferred")
    outcome[abandoned] = OUTCOME_CODES.index("abandoned")
    resource = _STEPS["resource"][row]
    teams = np.array([CHANNEL_TEAM[c] for c in ALL_CHANNELS])[channel]
    resource = np.where(resource == "", teams, resource)
    return {
        "case": case + case_offset,
        "ts": ts,
        "activity": activity,
        "channel": channel,
        "wait_s": np.round(wait, 1),
        "handle_s": np.round(handle, 0),
        "resource": resource,
        "outcome": outcome,
        "manual": _STEPS["manual"][row],
    }


def _case_ids(index: np.ndarray) -> pl.Series:
    return pl.Series(index).cast(pl.String).str.zfill(8).str.replace(r"^", "K")


def _customer_ids(index: np.ndarray) -> pl.Series:
    return pl.Series(index).cast(pl.String).str.zfill(7).str.replace(r"^", "C")


def _to_datetime(ts: np.ndarray) -> pl.Series:
    return pl.Series(ts * 1_000_000).cast(pl.Datetime("us"))


def _events_frame(
    ev: dict[str, np.ndarray], cases: dict[str, np.ndarray], end_ts: int
) -> pl.DataFrame:
    """Events as a chronological export; steps after the history's end are not yet known."""
    case = ev["case"]
    inside = ev["ts"] < end_ts
    frame = pl.DataFrame(
        {
            "case_id": _case_ids(case),
            "customer_id": _customer_ids(cases["customer"][case]),
            "timestamp": _to_datetime(ev["ts"]),
            "activity": ev["activity"],
            "channel": np.asarray(ALL_CHANNELS)[ev["channel"]],
            "scenario": np.asarray(ALL_SCENARIOS)[cases["scenario"][case]],
            "wait_s": ev["wait_s"],
            "handle_s": ev["handle_s"],
            "resource": ev["resource"],
            "outcome": pl.Series(ev["outcome"]).replace_strict(
                dict(enumerate(OUTCOME_CODES)), return_dtype=pl.String
            ),
            "is_manual": ev["manual"],
        },
        nan_to_null=True,
    ).filter(pl.Series(inside))
    return frame.sort("timestamp", "case_id", maintain_order=True)


def _customers_frame(pop: dict[str, np.ndarray], end_ts: int) -> pl.DataFrame:
    churned = pop["churn_ts"] < end_ts
    churn = np.where(churned, pop["churn_ts"], 0)
    return pl.DataFrame(
        {
            "customer_id": _customer_ids(np.arange(pop["segment"].size)),
            "segment": np.asarray(SEGMENTS)[pop["segment"]],
            "region": np.asarray(REGIONS)[pop["region"]],
            "signup_date": _to_datetime(pop["signup_ts"]).dt.date(),
            "monthly_revenue": pop["revenue"],
            "churn_date": _to_datetime(churn).dt.date(),
        }
    ).with_columns(pl.when(pl.Series(churned)).then(pl.col("churn_date")).alias("churn_date"))


def _acd_frame(ev: dict[str, np.ndarray], first: dt.date, last: dt.date) -> pl.DataFrame:
    """Half-hour phone-queue reports for opening hours 08:00-21:00, staffed from a plan.

    The plan staffs each weekday and slot with the Erlang C agents that hold the SLA goal
    at its typical load times ``PLAN_MARGIN``, except in the understaffed slots, which get
    55 % of that.
    """
    calls = np.isin(ev["activity"], _INBOUND) & (ev["channel"] == ALL_CHANNELS.index("phone"))
    answered = ev["outcome"][calls] != OUTCOME_CODES.index("abandoned")
    wait = ev["wait_s"][calls]
    per_call = pl.DataFrame(
        {
            "interval_start": _to_datetime(ev["ts"][calls] - ev["ts"][calls] % 1800),
            "answered": answered,
            "in_target": answered & (wait <= SLA_TARGET_S),
            "answer_wait_s": np.where(answered, wait, np.nan),
            "handle_s": ev["handle_s"][calls],
        },
        nan_to_null=True,
    )
    grid = pl.datetime_range(
        dt.datetime(first.year, first.month, first.day),
        dt.datetime(last.year, last.month, last.day),
        interval="30m",
        closed="left",
        time_unit="us",
        eager=True,
    ).alias("interval_start")
    grid = grid.filter((grid.dt.hour() >= 8) & (grid.dt.hour() < 21))
    counts = per_call.group_by("interval_start").agg(
        pl.len().alias("offered"),
        pl.col("answered").sum().alias("answered"),
        pl.col("in_target").sum().alias("answered_in_target"),
        pl.col("answer_wait_s").mean().alias("asa_s"),
        pl.col("handle_s").mean().alias("aht_s"),
    )
    acd = (
        grid.to_frame()
        .join(counts, on="interval_start", how="left")
        .with_columns(
            pl.col("offered", "answered", "answered_in_target").fill_null(0).cast(pl.Int64),
            pl.lit("phone").alias("queue"),
            pl.lit(SLA_TARGET_S).alias("target_answer_s"),
        )
        .with_columns((pl.col("offered") - pl.col("answered")).alias("abandoned"))
    )
    slot = [pl.col("interval_start").dt.weekday(), pl.col("interval_start").dt.time()]
    # Planners staff for 25 % above the slot's mean load of the year, which covers the growth.
    typical = acd.select(
        PLAN_MARGIN
        * pl.col("offered").mean().over(slot)
        * pl.col("aht_s").fill_null(260.0).mean().over(slot)
        / 1800,
        pl.col("aht_s").fill_null(260.0).mean().over(slot),
    )
    planned = agents_needed(
        typical.to_series(0).to_numpy(), typical.to_series(1).to_numpy(), SLA_TARGET_S, 0.8
    )
    slow = pl.lit(False)
    for day, first_h, last_h in UNDERSTAFFED_SLOTS:
        hour = pl.col("interval_start").dt.hour()
        slow = slow | (
            (pl.col("interval_start").dt.weekday() == day + 1) & (hour >= first_h) & (hour < last_h)
        )
    agents = pl.lit(pl.Series(planned)).clip(lower_bound=1) * pl.when(slow).then(0.55).otherwise(
        1.0
    )
    acd = acd.with_columns(agents.round(0).clip(lower_bound=1).alias("agents"))
    return acd.select(
        "interval_start",
        "queue",
        "offered",
        "answered",
        "abandoned",
        "answered_in_target",
        "target_answer_s",
        pl.col("asa_s").round(1),
        pl.col("aht_s").round(1),
        "agents",
    )


def _surveys_frame(
    rng: np.random.Generator, cases: dict[str, np.ndarray], ev: dict[str, np.ndarray], end_ts: int
) -> pl.DataFrame:
    """Post-case surveys; exposed customers answer far less often (they leave silently)."""
    resolved = ev["activity"] == "resolved"
    case = ev["case"][resolved]
    ts = ev["ts"][resolved] + rng.integers(3600, 2 * 86400, case.size)
    exposed = cases["exposed"][case]
    answers = rng.random(case.size) < np.where(exposed, 0.05, 0.2)
    answers &= ts < end_ts
    case, ts, exposed = case[answers], ts[answers], exposed[answers]
    n = case.size
    nps_good = rng.choice(11, n, p=_nps_shares(0.55, 0.33, 0.12))
    nps_bad = rng.choice(11, n, p=_nps_shares(0.2, 0.3, 0.5))
    nps = np.where(exposed, nps_bad, nps_good)
    csat_good = rng.choice([5, 4, 3, 2, 1], n, p=[0.72, 0.21, 0.04, 0.02, 0.01])
    csat_bad = rng.choice([5, 4, 3, 2, 1], n, p=[0.25, 0.25, 0.2, 0.15, 0.15])
    csat = np.where(exposed, csat_bad, csat_good)
    return pl.DataFrame(
        {
            "customer_id": _customer_ids(cases["customer"][case]),
            "date": _to_datetime(ts).dt.date(),
            "nps": nps.astype(np.int64),
            "csat": csat.astype(np.int64),
            "case_id": _case_ids(case),
        }
    ).sort("date", "case_id")


def _nps_shares(promoters: float, passives: float, detractors: float) -> np.ndarray:
    # 9-10 promoters, 7-8 passives, 0-6 detractors; mass spread toward the upper scores.
    shares = np.zeros(11)
    shares[9:] = promoters * np.array([0.45, 0.55])
    shares[7:9] = passives * np.array([0.45, 0.55])
    low = np.arange(1, 8, dtype=float)
    shares[0:7] = detractors * low / low.sum()
    return shares / shares.sum()
