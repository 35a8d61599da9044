"""AppTest of the Workshop page: the story a step at a time, in English and in Russian."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from streamlit.testing.v1 import AppTest

from analytics.io import load_path
from analytics.kpi import classic_metrics
from analytics.story import STEPS

APP = "../dashboard/app.py"  # AppTest resolves paths relative to this file
SHAPES = Path(__file__).parent / "data" / "shapes"


def test_workshop_walks_the_story_in_both_languages(small_dir, monkeypatch):
    monkeypatch.setenv("CX_RADAR_DATA", str(small_dir))
    at = AppTest.from_file(APP, default_timeout=240).switch_page("app_pages/workshop.py").run()
    assert not at.exception
    assert at.title[0].value == "Workshop: from green reports to the money"
    assert at.subheader[0].value == "Everything is green"
    sla = classic_metrics(load_path(small_dir)).sla
    headline = at.markdown[0].value
    # The Overview's figure, formatted as the Overview formats it.
    assert headline.startswith(f"Service level **{100 * sla:.1f}%**")
    # The facilitator's notes, one markdown: its title, then each note under its label.
    notes = next(m.value for m in at.markdown if m.value.startswith("**Facilitator notes**"))
    assert "\n\n**The question for the room**  \n" in notes

    at.button[1].click().run()  # next step
    assert at.selectbox(key="story_step").value == "churn"
    assert at.subheader[0].value == "Yet customers are leaving"
    at.button[1].click().run()
    # Three months of the small company: churn did not rise, said in one sentence.
    assert at.subheader[0].value == "What the rise costs"
    assert at.info[0].value.startswith("Skipped. Churn did not rise (3.52% a month")

    # The drift step's link opens Process on the scenario and on its drift tab.
    at.selectbox(key="story_step").set_value("drift").run()
    (link,) = at.get("page_link")
    assert link.proto.page == "process"
    assert "&process_tab=Drift%3A+became+the+norm" in link.proto.query_string

    at.sidebar.radio(key="lang").set_value("RU").run()
    assert not at.exception
    assert at.title[0].value == "Воркшоп: от зелёных отчётов к деньгам"
    (link,) = at.get("page_link")  # the tab by its Russian label
    assert link.proto.query_string.endswith("&" + urlencode({"process_tab": "Дрейф: стало нормой"}))
    at.selectbox(key="story_step").set_value("silent_loss").run()
    assert at.info[0].value.startswith("Шаг пропущен. Отток не вырос (3,52\u00a0% в месяц")
    at.selectbox(key="story_step").set_value("cost").run()
    assert at.subheader[0].value == "Стоимость обслуживания: дорогие сценарии поведения"
    assert at.markdown[0].value.startswith("Избыточная стоимость обслуживания: **")
    notes = next(m.value for m in at.markdown if m.value.startswith("**Подсказки ведущему**"))
    labels = [part.split("**")[1] for part in notes.split("\n\n")]
    assert labels[1:] == ["Что сказать", "На что показать", "Вопрос залу"]
    assert at.button[0].label == "Назад"

    # The board pack of the whole story: the small company shows 7 steps, leaves 2 out.
    next(b for b in at.button if b.label == "Подготовить материалы").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Материалы готовы: шагов в них — 7, пропущено — 2")
    assert not at.warning  # the PDF was made: no "no charts, no PDF" warning


@pytest.mark.parametrize(("shape", "shown"), [("acd", 4), ("customers", 1)])
def test_every_step_runs_on_a_single_table_export(shape, shown, monkeypatch):
    monkeypatch.setenv("CX_RADAR_DATA", str(SHAPES / shape))
    at = AppTest.from_file(APP, default_timeout=240).switch_page("app_pages/workshop.py").run()
    skipped = 0
    for key in STEPS:
        at.selectbox(key="story_step").set_value(key).run()
        assert not at.exception, (key, at.exception)
        skipped += any(i.value.startswith("Skipped. ") for i in at.info)
    assert len(STEPS) - skipped == shown
