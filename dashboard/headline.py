"""Headline pieces: metric tiles with their change against the previous period, and the
one-line zones and alerts the Overview lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.delta_generator import DeltaGenerator

from analytics.alert_text import headline
from dashboard.alert_view import say, severity
from dashboard.escape import md
from dashboard.filters import day
from dashboard.fmt import compact_money, money, number, percent, seconds
from dashboard.i18n import channel, t, tr

Format = Callable[[float | None], str]


def _points(decimals: int) -> Format:
    return lambda v: t("filters.points", delta=number(None if v is None else 100 * v, decimals))


class Tiles:
    """Metric tiles ``<section>.<key>`` with help ``<section>.<key>_help``, each with its
    change from ``changes`` (figure name -> current minus previous; empty: no change shown)."""

    def __init__(self, currency: str, changes: dict[str, float | None], section: str) -> None:
        self.changes, self.section = changes, section

        def cash(v: float | None) -> str:
            return money(v, currency)

        def compact(v: float | None) -> str:
            return compact_money(v, currency)

        # Each kind of figure: how its value reads, and how its change reads.
        self.formats: dict[str, tuple[Format, Format]] = {
            "share": (percent, _points(1)),
            "churn": (lambda v: percent(v, 2), _points(2)),
            "score": (lambda v: number(v, 2), lambda v: number(v, 2)),
            "points": (lambda v: number(v, 1), lambda v: number(v, 1)),
            "seconds": (seconds, seconds),
            "money": (cash, cash),
            "compact": (compact, compact),
            "count": (number, number),
        }

    def show(
        self,
        column: DeltaGenerator,
        key: str,
        value: float | str | None,
        kind: str,
        *,
        figure: str | None = None,
        worse_up: bool = False,
        change: str | None = None,
        mark: str = "",
        **help_values: object,
    ) -> None:
        """The tile for ``key``; its change is ``changes[figure or key]`` signed in the
        figure's unit, unless ``change`` is given. ``worse_up`` colours a rise red (time,
        contacts, churn, losses); ``mark`` follows the label."""
        show, step = self.formats[kind]
        moved = self.changes.get(figure or key)
        if change is None and moved is not None:
            change = ("-" if moved < 0 else "+") + step(abs(moved))
        column.metric(
            t(f"{self.section}.{key}") + mark,
            value if isinstance(value, str) else show(value),
            delta=change,
            delta_color="inverse" if worse_up else "normal",
            help=t(f"{self.section}.{key}_help", **help_values),
        )


def _level(indicator: str, value: float, currency: str) -> str:
    """A zone's level as people read it: shares in %, cost in money, CSAT as a score, the
    speed of answer in m:ss."""
    if indicator == "cost_per_case":
        return money(value, currency)
    if indicator == "asa":
        return seconds(value)
    return number(value, 2) if indicator == "csat" else percent(value)


def zone_line(zone: dict[str, Any], currency: str) -> str:
    """One tension zone (a row of :func:`analytics.tension.zones`) as a list item."""
    relative = zone["relative_change"]
    indicator = zone["indicator"]
    return t(
        "overview.zone_line",
        slice=t(f"story.slice.{zone['slice']}"),
        value=md(channel(zone["value"]) if zone["slice"] == "channel" else zone["value"]),
        indicator=t(f"risk.indicator.{indicator}"),
        started=day(zone["started"]),  # 21.04.2025 in Russian
        baseline=_level(indicator, zone["baseline"], currency),
        recent=_level(indicator, zone["recent"], currency),
        change=t("risk.from_none")
        if relative is None
        else ("+" if relative > 0 else "") + percent(relative, 0),
    )


def alert_line(alert: dict[str, Any], currency: str) -> str:
    """One alert as a list item: severity, the alert in words, owner, money at stake."""
    return t(
        "overview.alert_line",
        severity=severity(alert["severity"]),
        headline=say(headline(alert), currency),
        owner=md(tr(alert["owner"])),
        money=compact_money(alert["money_at_stake"], currency),
    )
