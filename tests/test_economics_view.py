"""The Economics page's downloads, written when asked for (not on every input change)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import polars as pl

from analytics.economics import (
    ChurnScenario,
    monthly_rate,
    sensitivity_ranges,
    silent_churn_loss,
    tornado,
)
from dashboard import economics_view as view
from dashboard import i18n
from dashboard.bars_svg import CHAR_PX

# 40,000 customers, LTV 37,800, churn 3 % -> 5 %: 800 more leavers a month, a year's
# replacement loss 12 x 800 x 37,800 = 362,880,000.
SCENARIO = ChurnScenario(40_000, 37_800, 0.03, 0.05, 12, monthly_rate(0.10))


def test_the_scenario_csv_holds_the_inputs_and_the_loss_in_words():
    loss = silent_churn_loss(SCENARIO)
    text = view._scenario_csv(SCENARIO, loss, "RUB").decode("utf-8-sig")
    rows = dict(line.split(";", 1) for line in text.splitlines())
    assert rows["Active customers"] == "40000;customers"
    assert rows["Extra leavers a month"] == "800;customers"
    assert rows["Future revenue lost a year (with replacement)"] == "362880000;₽"


def test_the_scenario_book_has_the_scenario_projection_and_sensitivity():
    loss = silent_churn_loss(SCENARIO)
    sensitivity = tornado(SCENARIO, sensitivity_ranges(SCENARIO))
    book = view._scenario_xlsx(SCENARIO, loss, sensitivity, "RUB")
    sheets = pl.read_excel(io.BytesIO(book), sheet_id=0)
    assert list(sheets) == ["Scenario", "Projection", "Sensitivity"]
    assert sheets["Projection"].height == 12  # a row a month of the horizon
    assert sheets["Sensitivity"].height == sensitivity.height


def test_the_tornado_is_drawn_half_a_column_wide_and_its_labels_fit():
    """At 1366 px its half column is about 410 px: drawn 640 wide its 13 px labels read
    8.5 px. Drawn 400 wide, every end label, Russian amounts the longest ("228,8 млн ₽"),
    stays inside the drawing on the side its bar grows to."""
    sensitivity = tornado(SCENARIO, sensitivity_ranges(SCENARIO))
    with i18n.pinned("ru"):
        svg = ET.fromstring(view.tornado_svg(sensitivity, "RUB"))
    width = float(svg.get("viewBox").split()[2])
    assert width == view.HALF_PX <= 410
    ns = "{http://www.w3.org/2000/svg}"
    ends = [t for t in svg.iter(f"{ns}text") if t.get("text-anchor") in ("start", "end")]
    assert len(ends) == 2 * sensitivity.height and any("млн" in (t.text or "") for t in ends)
    for text in ends:
        x, extent = float(text.get("x")), len(text.text or "") * CHAR_PX
        assert (x - extent >= 0) if text.get("text-anchor") == "end" else (x + extent <= width)


def test_the_definitions_name_their_horizon_alike_and_agree_with_its_count(lang):
    """«Закрытая когорта, 12 мес.» beside «С замещением, 12 месяцев» read as two styles."""
    lang("ru")
    assert i18n.t("economics.def_cohort", months=12) == "Закрытая когорта, 12 месяцев"
    assert i18n.t("economics.def_replacement").endswith(", 12 месяцев")
    assert i18n.t("economics.def_cohort", months=3) == "Закрытая когорта, 3 месяца"
    lang("en")
    assert i18n.t("economics.def_cohort", months=1) == "Closed cohort, 1 month"
