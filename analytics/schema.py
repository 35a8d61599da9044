"""The data contract: canonical tables, their columns, and the dataset settings.

Declared once here; the loader (:mod:`analytics.io`), the mapping suggestions
(:mod:`analytics.mapping`), the README's data-format table (:func:`markdown_table`)
and the tests all read these declarations.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import tomli_w

from analytics.messages import Message, toml_place


class Kind(StrEnum):
    """How a column's values are parsed."""

    STR = "str"
    FLOAT = "float"
    INT = "int"
    DATETIME = "datetime"
    DATE = "date"
    BOOL = "bool"
    DURATION = "duration"  # seconds; also read from `h:mm:ss` or a header that says minutes


@dataclass(frozen=True)
class Column:
    """One canonical column.

    ``minimum``/``maximum`` are inclusive bounds; a value outside them is quarantined.
    ``synonyms`` are export headers (English and Russian) the mapping recognises.
    ``vocabulary`` maps known value synonyms to canonical values (unknown values are
    kept and reported as a warning).
    """

    name: str
    kind: Kind
    required: bool
    meaning: str
    synonyms: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    vocabulary: dict[str, str] | None = None


@dataclass(frozen=True)
class Table:
    """One canonical table; ``file_hints`` are words in a file name that identify it."""

    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...]
    file_hints: tuple[str, ...]
    # Row rules across columns: (a, b) means a row with a > b is rejected.
    not_greater: tuple[tuple[str, str], ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


CHANNELS = (
    "phone",
    "chat",
    "messenger",
    "email",
    "social",
    "bot",
    "self_service",
    "meeting",
    "internal",
)

CHANNEL_SYNONYMS: dict[str, str] = {
    **{c: c for c in CHANNELS},
    "voice": "phone",
    "call": "phone",
    "calls": "phone",
    "telephone": "phone",
    "ivr": "phone",
    "callback": "phone",
    "телефон": "phone",
    "звонок": "phone",
    "звонки": "phone",
    "голос": "phone",
    "обратный звонок": "phone",
    "web chat": "chat",
    "webchat": "chat",
    "live chat": "chat",
    "чат": "chat",
    "онлайн-чат": "chat",
    "whatsapp": "messenger",
    "telegram": "messenger",
    "viber": "messenger",
    "мессенджер": "messenger",
    "телеграм": "messenger",
    "e-mail": "email",
    "mail": "email",
    "почта": "email",
    "эл. почта": "email",
    "электронная почта": "email",
    "письмо": "email",
    "vk": "social",
    "вконтакте": "social",
    "соцсети": "social",
    "социальные сети": "social",
    "chatbot": "bot",
    "chat bot": "bot",
    "чат-бот": "bot",
    "бот": "bot",
    "self-service": "self_service",
    "selfservice": "self_service",
    "app": "self_service",
    "web": "self_service",
    "личный кабинет": "self_service",
    "приложение": "self_service",
    "самообслуживание": "self_service",
    "visit": "meeting",
    "office": "meeting",
    "встреча": "meeting",
    "визит": "meeting",
    "офис": "meeting",
    "back office": "internal",
    "backoffice": "internal",
    "внутренний": "internal",
    "бэк-офис": "internal",
}

OUTCOMES = ("resolved", "abandoned", "transferred", "open")

OUTCOME_SYNONYMS: dict[str, str] = {
    **{o: o for o in OUTCOMES},
    "closed": "resolved",
    "solved": "resolved",
    "done": "resolved",
    "решено": "resolved",
    "решён": "resolved",
    "решен": "resolved",
    "закрыто": "resolved",
    "dropped": "abandoned",
    "lost": "abandoned",
    "потерян": "abandoned",
    "пропущен": "abandoned",
    "брошен": "abandoned",
    "transfer": "transferred",
    "переведен": "transferred",
    "переведён": "transferred",
    "в работе": "open",
    "открыто": "open",
    "pending": "open",
}

EVENTS = Table(
    name="events",
    required=True,
    meaning="one row per touchpoint or process step",
    file_hints=("event", "log", "contact", "call", "chat", "ticket", "case", "обращен", "контакт"),
    columns=(
        Column(
            "case_id",
            Kind.STR,
            True,
            "one service case / journey instance (ticket, order issue, onboarding)",
            (
                "case",
                "case id",
                "ticket",
                "ticket id",
                "request id",
                "case:concept:name",
                "number",
                "incident",
                "incident number",
                "ticket number",
                "обращение",
                "номер обращения",
                "id обращения",
                "заявка",
                "номер заявки",
                "кейс",
            ),
        ),
        Column(
            "customer_id",
            Kind.STR,
            False,
            "who; a pure event log without it takes the case as the customer",
            (
                "customer",
                "customer id",
                "client",
                "client id",
                "account",
                "caller id",
                "caller",
                "клиент",
                "id клиента",
                "код клиента",
                "абонент",
                "лицевой счет",
            ),
        ),
        Column(
            "timestamp",
            Kind.DATETIME,
            True,
            "when the step started",
            (
                "timestamp",
                "time",
                "datetime",
                "date",
                "created at",
                "start time",
                "event time",
                "time:timestamp",
                "sys updated at",
                "updated at",
                "update time",
                "дата",
                "дата обращения",
                "время",
                "дата и время",
                "время начала",
            ),
        ),
        Column(
            "activity",
            Kind.STR,
            True,
            'step name ("request", "bot", "agent reply", "manual approval", "resolved" ...)',
            (
                "activity",
                "step",
                "event",
                "action",
                "concept:name",
                "incident state",
                "ticket state",
                "state",
                "этап",
                "шаг",
                "действие",
                "операция",
                "событие",
            ),
        ),
        Column(
            "channel",
            Kind.STR,
            False,
            "phone, chat, messenger, email, social, bot, self_service, meeting, internal",
            ("channel", "source", "канал", "канал обращения", "источник"),
            vocabulary=CHANNEL_SYNONYMS,
        ),
        Column(
            "scenario",
            Kind.STR,
            False,
            "case type: onboarding, delivery, billing, tech_support ...",
            (
                "scenario",
                "case type",
                "type",
                "category",
                "topic",
                "reason",
                "сценарий",
                "тип обращения",
                "категория",
                "тематика",
                "причина обращения",
            ),
        ),
        Column(
            "wait_s",
            Kind.DURATION,
            False,
            "customer wait before an answer (queue time, first response time), seconds",
            (
                "wait",
                "wait time",
                "queue time",
                "waiting time",
                "first response time",
                "asa",
                "время ожидания",
                "ожидание",
                "время в очереди",
            ),
            minimum=0,
        ),
        Column(
            "handle_s",
            Kind.DURATION,
            False,
            "staff handling time, seconds",
            (
                "handle",
                "handle time",
                "handling time",
                "talk time",
                "aht",
                "duration",
                "время обработки",
                "длительность",
                "время разговора",
            ),
            minimum=0,
        ),
        Column(
            "resource",
            Kind.STR,
            False,
            "agent or team",
            (
                "resource",
                "agent",
                "operator",
                "team",
                "employee",
                "assignment group",
                "assigned to",
                "оператор",
                "сотрудник",
                "исполнитель",
                "группа",
            ),
        ),
        Column(
            "outcome",
            Kind.STR,
            False,
            "resolved, abandoned, transferred, open",
            ("outcome", "result", "resolution", "результат", "итог", "статус"),
            vocabulary=OUTCOME_SYNONYMS,
        ),
        Column(
            "is_manual",
            Kind.BOOL,
            False,
            "a manual exception / approval / custom work step",
            ("manual", "is manual", "exception", "ручной", "ручная обработка", "исключение"),
        ),
        Column(
            "cost",
            Kind.FLOAT,
            False,
            "explicit cost of the step, overriding the cost model",
            ("cost", "step cost", "стоимость", "затраты"),
            minimum=0,
        ),
        Column(
            "is_contact",
            Kind.BOOL,
            False,
            "the row is a customer contact (by default: a customer-facing channel; a status "
            "update is a step, not a contact)",
            ("is contact", "признак контакта"),
        ),
        Column(
            "reopen_count",
            Kind.INT,
            False,
            "times the case was reopened, from the ticket system's own counter",
            ("reopen count", "reopens", "reopened", "переоткрытий", "число переоткрытий"),
            minimum=0,
        ),
    ),
)

CUSTOMERS = Table(
    name="customers",
    required=False,
    meaning="the customer base (needed for economics and risk)",
    file_hints=("customer", "client", "клиент", "абонент", "base", "база"),
    not_greater=(("signup_date", "churn_date"),),
    columns=(
        Column(
            "customer_id",
            Kind.STR,
            True,
            "who",
            (
                "customer",
                "customer id",
                "client",
                "client id",
                "id",
                "клиент",
                "id клиента",
                "код клиента",
            ),
            unique=True,
        ),
        Column("segment", Kind.STR, False, "customer segment", ("segment", "tier", "сегмент")),
        Column("region", Kind.STR, False, "region", ("region", "city", "регион", "город")),
        Column(
            "signup_date",
            Kind.DATE,
            False,
            "when the customer joined",
            (
                "signup date",
                "signup",
                "start date",
                "created",
                "дата подключения",
                "дата регистрации",
                "дата начала",
            ),
        ),
        Column(
            "monthly_revenue",
            Kind.FLOAT,
            False,
            "revenue per month (ARPU) in the dataset currency",
            (
                "monthly revenue",
                "monthly charges",
                "revenue",
                "arpu",
                "mrr",
                "выручка",
                "доход в месяц",
                "ежемесячный платеж",
                "arpu руб",
            ),
            minimum=0,
        ),
        Column(
            "churn_date",
            Kind.DATE,
            False,
            "when the customer left (empty = active)",
            (
                "churn date",
                "end date",
                "cancel date",
                "дата ухода",
                "дата отключения",
                "дата расторжения",
            ),
        ),
        Column(
            "churned",
            Kind.BOOL,
            False,
            "whether the customer has left (a snapshot's flag: yes/no, 1/0, да/нет); "
            "other columns of a snapshot are kept as attributes",
            ("churn", "churned", "churn flag", "exited", "left", "отток", "ушел", "ушёл"),
        ),
    ),
)

ACD = Table(
    name="acd",
    required=False,
    meaning="contact-centre interval reports (SLA data)",
    file_hints=("acd", "sla", "interval", "queue", "интервал", "очеред"),
    not_greater=(
        ("answered", "offered"),
        ("abandoned", "offered"),
        ("answered_in_target", "answered"),
    ),
    columns=(
        Column(
            "interval_start",
            Kind.DATETIME,
            True,
            "start of the interval",
            (
                "interval start",
                "interval",
                "period",
                "time",
                "интервал",
                "начало интервала",
                "период",
            ),
        ),
        Column(
            "queue",
            Kind.STR,
            False,
            "queue or channel",
            ("queue", "channel", "skill", "очередь", "канал", "группа"),
        ),
        Column(
            "offered",
            Kind.INT,
            True,
            "contacts offered",
            ("offered", "calls offered", "incoming", "поступило", "входящие"),
            minimum=0,
        ),
        Column(
            "answered",
            Kind.INT,
            True,
            "contacts answered",
            ("answered", "handled", "принято", "отвечено"),
            minimum=0,
        ),
        Column(
            "abandoned",
            Kind.INT,
            False,
            "contacts abandoned",
            ("abandoned", "lost", "потеряно", "пропущено", "брошено"),
            minimum=0,
        ),
        Column(
            "answered_in_target",
            Kind.INT,
            False,
            "answered within the target time",
            (
                "answered in target",
                "in sl",
                "answered within sl",
                "в норматив",
                "принято в норматив",
            ),
            minimum=0,
        ),
        Column(
            "target_answer_s",
            Kind.DURATION,
            False,
            "target answer time, seconds",
            ("target answer", "sl target", "target", "норматив"),
            minimum=0,
        ),
        Column(
            "asa_s",
            Kind.DURATION,
            False,
            "average speed of answer (wait of answered contacts), seconds",
            ("asa", "average speed of answer", "среднее время ожидания", "сро"),
            minimum=0,
        ),
        Column(
            "aht_s",
            Kind.DURATION,
            False,
            "average handling time, seconds",
            ("aht", "average handle time", "среднее время обработки"),
            minimum=0,
        ),
        Column(
            "wait_total_s",
            Kind.DURATION,
            False,
            "total queue wait of the offered contacts (answered and abandoned), seconds; "
            "with abandoned it gives the callers' patience",
            ("total wait", "total wait time", "total queue time", "суммарное время ожидания"),
            minimum=0,
        ),
        Column(
            "agents",
            Kind.FLOAT,
            False,
            "agents staffed in the interval",
            ("agents", "staff", "fte", "операторов", "агенты", "штат"),
            minimum=0,
        ),
    ),
)

CALL_OUTCOMES = ("answered", "abandoned", "other")

CALL_OUTCOME_SYNONYMS: dict[str, str] = {
    **{o: o for o in CALL_OUTCOMES},
    "agent": "answered",
    "handled": "answered",
    "connected": "answered",
    "accepted": "answered",
    "answer": "answered",
    "hang": "abandoned",
    "hangup": "abandoned",
    "hung up": "abandoned",
    "abandon": "abandoned",
    "dropped": "abandoned",
    "lost": "abandoned",
    "missed": "abandoned",
    "phantom": "other",
    "отвечен": "answered",
    "отвечено": "answered",
    "принят": "answered",
    "принято": "answered",
    "обслужен": "answered",
    "пропущен": "abandoned",
    "пропущено": "abandoned",
    "брошен": "abandoned",
    "брошено": "abandoned",
    "потерян": "abandoned",
    "потеряно": "abandoned",
    "фантом": "other",
    "прочее": "other",
}

CALLS = Table(
    name="calls",
    required=False,
    meaning="per-call ACD records: one row per call that entered a queue",
    file_hints=("call", "звонк", "вызов", "acd_detail", "cdr"),
    columns=(
        Column(
            "call_id",
            Kind.STR,
            False,
            "the call's id in the telephony system",
            ("call id", "call", "id звонка", "номер звонка", "идентификатор звонка"),
        ),
        Column(
            "queue",
            Kind.STR,
            False,
            "queue, skill or service line",
            ("queue", "skill", "service", "очередь", "линия", "услуга"),
        ),
        Column(
            "arrived_at",
            Kind.DATETIME,
            True,
            "when the call entered the queue",
            (
                "arrived at",
                "queue start",
                "queue entry",
                "vru exit",
                "q start",
                "call start",
                "время поступления",
                "время входа в очередь",
                "начало ожидания",
                "время звонка",
                "дата и время звонка",
            ),
        ),
        Column(
            "wait_s",
            Kind.DURATION,
            True,
            "time in the queue before an answer or a hang-up, seconds",
            (
                "wait",
                "wait time",
                "queue time",
                "q time",
                "ожидание",
                "время ожидания",
                "время в очереди",
            ),
            minimum=0,
        ),
        Column(
            "outcome",
            Kind.STR,
            True,
            "answered, abandoned (hung up in the queue) or other (not offered)",
            ("outcome", "result", "status", "результат", "итог", "статус"),
            vocabulary=CALL_OUTCOME_SYNONYMS,
        ),
        Column(
            "talk_s",
            Kind.DURATION,
            False,
            "talk time of an answered call, seconds",
            (
                "talk",
                "talk time",
                "ser time",
                "service time",
                "длительность разговора",
                "время разговора",
                "разговор",
            ),
            minimum=0,
        ),
        Column(
            "wrap_s",
            Kind.DURATION,
            False,
            "after-call work, seconds",
            ("wrap", "wrap up", "wrap-up", "acw", "after call work", "поствызывная обработка"),
            minimum=0,
        ),
        Column(
            "hold_s",
            Kind.DURATION,
            False,
            "hold time, seconds",
            ("hold", "hold time", "удержание", "время удержания"),
            minimum=0,
        ),
        Column(
            "ivr_s",
            Kind.DURATION,
            False,
            "time in the IVR before the queue, seconds",
            ("ivr", "ivr time", "vru time", "время в ivr", "время в меню"),
            minimum=0,
        ),
        Column(
            "agent",
            Kind.STR,
            False,
            "who answered",
            ("agent", "operator", "server", "employee", "оператор", "сотрудник", "агент"),
        ),
        Column(
            "customer_id",
            Kind.STR,
            False,
            "the caller, when identified",
            ("customer", "customer id", "client", "caller", "клиент", "id клиента", "абонент"),
        ),
    ),
)

SURVEYS = Table(
    name="surveys",
    required=False,
    meaning="survey answers",
    file_hints=("survey", "nps", "csat", "опрос", "анкет", "оценк"),
    columns=(
        Column(
            "customer_id",
            Kind.STR,
            True,
            "who answered",
            ("customer", "customer id", "client", "клиент", "id клиента"),
        ),
        Column(
            "date",
            Kind.DATE,
            True,
            "answer date",
            ("date", "answered at", "survey date", "дата", "дата ответа", "дата опроса"),
        ),
        Column(
            "nps",
            Kind.INT,
            False,
            "likelihood to recommend, 0..10",
            (
                "nps",
                "recommend",
                "likelihood to recommend",
                "оценка nps",
                "готовность рекомендовать",
            ),
            minimum=0,
            maximum=10,
        ),
        Column(
            "csat",
            Kind.INT,
            False,
            "satisfaction, 1..5",
            ("csat", "satisfaction", "удовлетворенность", "оценка"),
            minimum=1,
            maximum=5,
        ),
        Column(
            "case_id",
            Kind.STR,
            False,
            "the case the answer is about",
            ("case", "case id", "ticket", "обращение", "номер обращения"),
        ),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (EVENTS, CUSTOMERS, ACD, CALLS, SURVEYS)}


def _default_promises() -> dict[str, float]:
    # Seconds; asynchronous channels promise a first reply, not a live answer.
    return {
        "phone": 60.0,
        "chat": 60.0,
        "messenger": 900.0,
        "social": 3600.0,
        "email": 14400.0,
        "bot": 10.0,
        "self_service": 0.0,
        "meeting": 0.0,
        "internal": 0.0,
    }


def _default_minute_rates() -> dict[str, float]:
    # Cost per handled minute, from team cost / practical capacity (80-85 % of paid hours).
    return {
        "phone": 28.0,
        "chat": 22.0,
        "messenger": 22.0,
        "email": 20.0,
        "social": 24.0,
        "bot": 0.5,
        "self_service": 0.0,
        "meeting": 45.0,
        "internal": 30.0,
    }


@dataclass(frozen=True)
class Settings:
    """Dataset settings, saved as TOML.

    Defaults (documented in the README): currency RUB, time zone Europe/Moscow, SLA goal
    80 % of contacts answered within 20 s, promised waits per channel in seconds, cost
    rates per handled minute per channel, plus per-contact, per-manual-step and
    per-meeting costs in the dataset currency, the country whose public holidays the
    forecasts know (ISO code, Russia by default), and for per-call records the interval
    length of the derived interval report (30 min) and the queue wait up to which a
    hang-up is a short abandon, not offered (0 s).
    """

    currency: str = "RUB"
    timezone: str = "Europe/Moscow"
    sla_goal: float = 0.8
    sla_target_s: float = 20.0
    promised_wait_s: dict[str, float] = field(default_factory=_default_promises)
    cost_per_minute: dict[str, float] = field(default_factory=_default_minute_rates)
    cost_per_contact: float = 15.0
    cost_per_manual_step: float = 350.0
    cost_per_meeting: float = 1500.0
    holiday_country: str = "RU"
    interval_min: float = 30.0
    short_abandon_s: float = 0.0

    def to_toml(self) -> str:
        return tomli_w.dumps(asdict(self))

    @classmethod
    def from_toml(cls, text: str) -> Settings:
        """Parse settings; unknown keys and wrong types raise ``ValueError`` naming the key,
        with a :class:`~analytics.messages.Message` (``settings.*``), English as its text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(Message("settings.not_toml", **toml_place(exc))) from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        defaults = cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                Message(
                    "settings.unknown_keys",
                    keys=", ".join(unknown),
                    n=len(unknown),
                    known=", ".join(sorted(known)),
                )
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value, default = data[f.name], getattr(defaults, f.name)
            if isinstance(default, dict):
                if not isinstance(value, dict):
                    raise ValueError(Message("settings.table", key=f.name))
                value = {
                    **default,
                    **{str(k): _number(f"{f.name}.{k}", v) for k, v in value.items()},
                }
            elif isinstance(default, float):
                value = _number(f.name, value)
            elif not isinstance(value, str):
                raise ValueError(Message("settings.text", key=f.name))
            values[f.name] = value
        settings = cls(**values)
        if settings.interval_min not in (5, 10, 15, 30, 60):
            raise ValueError(Message("settings.interval"))
        if not 0 < settings.sla_goal <= 1:
            raise ValueError(Message("settings.sla_goal"))
        return settings


def _number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(Message("settings.number", key=key, value=repr(value)))
    if value < 0:
        raise ValueError(Message("settings.negative", key=key, value=repr(value)))
    return float(value)


def markdown_table(table: Table) -> str:
    """The README's table for one canonical table (kept in sync by a test)."""
    lines = ["| column | type | required | meaning |", "|---|---|---|---|"]
    for c in table.columns:
        rng = ""
        if c.minimum is not None or c.maximum is not None:
            lo = "" if c.minimum is None else f"{c.minimum:g}"
            hi = "" if c.maximum is None else f"{c.maximum:g}"
            rng = f" (range {lo}..{hi})"
        req = "yes" if c.required else "no"
        lines.append(f"| `{c.name}` | {c.kind.value} | {req} | {c.meaning}{rng} |")
    return "\n".join(lines)
