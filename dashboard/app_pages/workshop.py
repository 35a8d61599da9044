"""Workshop: the guided story a step at a time, the facilitator's notes, the board pack."""

from __future__ import annotations

import streamlit as st

from analytics.board_pack import render
from analytics.dataset import Dataset
from analytics.story import STEPS, Step, build_story, story_step
from dashboard import story_view
from dashboard.chart_locale import chart_config
from dashboard.escape import draw_svg
from dashboard.i18n import language, t
from dashboard.state import current_dataset, engine


def _step(dataset: Dataset, key: str) -> Step:
    # Cached per dataset and step; its engine calls share the other pages' cache.
    return story_step(dataset, key, compute=engine)


def _story(dataset: Dataset) -> tuple[Step, ...]:
    return build_story(dataset, compute=engine)


def _move(by: int) -> None:
    at = STEPS.index(st.session_state.get("story_step", STEPS[0]))
    st.session_state["story_step"] = STEPS[min(max(at + by, 0), len(STEPS) - 1)]


dataset = current_dataset()
currency = dataset.settings.currency
titles = {key: f"{i}. {t(f'story.{key}.title')}" for i, key in enumerate(STEPS, 1)}

st.title(t("workshop.title"))
st.caption(t("workshop.intro"))
# The step lives in the URL as its key (?step=drift), whatever the language: a bound
# selectbox would put its translated label there.
if "story_step" not in st.session_state:
    asked = st.query_params.get("step")
    st.session_state["story_step"] = asked if asked in STEPS else STEPS[0]


@st.fragment
def story() -> None:
    """The step picked and what to say about it: moving through the story redraws this
    part only."""
    back, pick, forward = st.columns([1, 5, 1], vertical_alignment="bottom")
    key = pick.selectbox(
        t("workshop.step"), STEPS, format_func=titles.__getitem__, key="story_step"
    )
    st.query_params["step"] = key
    back.button(
        t("workshop.previous"),
        on_click=_move,
        args=(-1,),
        disabled=key == STEPS[0],
        icon=":material/arrow_back:",
        width="stretch",
    )
    forward.button(
        t("workshop.next"),
        on_click=_move,
        args=(1,),
        disabled=key == STEPS[-1],
        icon=":material/arrow_forward:",
        width="stretch",
    )

    with st.spinner(t("workshop.computing")):
        step = engine(_step, dataset, key)
    said = story_view.words(step, currency)
    st.subheader(said.title)
    if said.skipped:
        st.info(said.skipped)
    else:
        st.markdown(said.headline)
        st.page_link(
            f"app_pages/{step.page}.py",
            label=story_view.link_label(step),
            query_params=story_view.link_params(step),
            icon=":material/open_in_new:",
        )
        chart, notes = st.columns([3, 2], gap="large")
        drawing = story_view.drawing(step, currency)
        if drawing is not None:
            with chart:
                draw_svg(drawing, title=f"**{t(f'story.{key}.chart')}**")
        elif (figure := story_view.figure(step)) is not None:
            chart.plotly_chart(figure, width="stretch", config=chart_config())
        # One element for the notes: each markdown element is one more to draw per change.
        lines = [f"**{t('workshop.notes')}**", *(f"**{k}**  \n{v}" for k, v in said.notes)]
        notes.container(border=True).markdown("\n\n".join(lines))
    with st.expander(t("workshop.all_steps")):
        st.markdown("\n".join(f"{titles[k]}" + ("  ←" if k == key else "") for k in STEPS))


story()

st.subheader(t("workshop.pack"))
st.caption(t("workshop.pack_intro"))
with_notes = st.toggle(t("workshop.with_notes"), key="pack_notes")
wanted = (dataset.content_hash, language(), with_notes)
if st.button(t("workshop.prepare"), icon=":material/picture_as_pdf:"):
    with st.spinner(t("workshop.preparing")):
        pack = story_view.pack(dataset, engine(_story, dataset), with_notes)
        st.session_state["board_pack"] = (wanted, pack, render(pack))
made = st.session_state.get("board_pack")
if made is not None and made[0] == wanted:
    _, pack, rendered = made
    st.success(
        t("workshop.ready", shown=len(pack.sections), skipped=len(pack.left_out)),
    )
    if rendered.problem:
        reason = t(f"workshop.problem.{rendered.problem}", **rendered.values)
        st.warning(t("workshop.no_pdf", reason=reason))
    a, b = st.columns(2)
    a.download_button(
        t("workshop.download_html"),
        rendered.html.encode("utf-8"),
        file_name="cx_radar_board_pack.html",
        mime="text/html",
        icon=":material/download:",
    )
    if rendered.pdf is not None:
        b.download_button(
            t("workshop.download_pdf"),
            rendered.pdf,
            file_name="cx_radar_board_pack.pdf",
            mime="application/pdf",
            icon=":material/download:",
        )
