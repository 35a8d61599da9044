"""The Economics page's SVG lines: round ticks, y through 0, points placed on the axes'
scales, hover texts and legend, every text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dashboard.lines_svg import CHAR_PX, FONT_PX, PLOT_SHARE, Band, Series, lines_svg, nice_ticks

NS = "{http://www.w3.org/2000/svg}"


def test_nice_ticks_are_round_and_cover_the_range():
    # span 24e6 / 5 = 4.8e6 a step at least: 5e6 (1, 2, 5 x 10^k)
    assert nice_ticks(0, 2.4e7) == [0, 5e6, 10e6, 15e6, 20e6, 25e6]
    # -2e6..8e6: 2e6 a step, from the first at or below -2e6 to the first at or above 8e6
    assert nice_ticks(-2e6, 8e6) == [-2e6, 0, 2e6, 4e6, 6e6, 8e6]
    # months 1..3 in 6 intervals would be 0.5 apart: whole months at least
    assert nice_ticks(1, 3, 6, min_step=1) == [1, 2, 3]
    assert nice_ticks(0, 0) == [0, 1]  # flat at zero (no customers): still a scale


def _texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{NS}text")]


def _rub(value: float) -> str:
    return f"{value:.0f} ₽"


def test_points_sit_on_the_axes_scales():
    # x 1..3, y 0..100 -> y ticks 0, 20, ..., 100 (100 / 5 = 20 a step); a width of 400:
    # the plot is 0.45 x 400 = 180 px high, from y = 8 to y = 188.
    line = Series("cohort", [(1, 0.0), (2, 50.0), (3, 100.0)], ["a", "b", "c"], "red")
    svg = ET.fromstring(lines_svg([line], str, _rub, x_step=1, width=400))
    # Left margin: the widest y label "100 ₽" (5 characters) plus 10 px; right: half the
    # last x label ("3") or 12 px at least.
    left, right = 5 * CHAR_PX + 10, 400 - 12
    top, bottom = 8, 8 + PLOT_SHARE * 400
    circles = [(float(c.get("cx")), float(c.get("cy"))) for c in svg.iter(f"{NS}circle")]
    assert circles == [
        pytest.approx((left, bottom), abs=0.06),
        pytest.approx(((left + right) / 2, (top + bottom) / 2), abs=0.06),
        pytest.approx((right, top), abs=0.06),
    ]
    assert [t.text for t in svg.iter(f"{NS}title")] == ["a", "b", "c"]
    texts = _texts(svg)
    assert texts[:6] == ["0 ₽", "20 ₽", "40 ₽", "60 ₽", "80 ₽", "100 ₽"]
    assert texts[6:9] == ["1", "2", "3"]  # x ticks within the data's range
    assert texts[-1] == "cohort"  # the legend
    points = next(svg.iter(f"{NS}polyline")).get("points")
    assert points.split()[0] == f"{left:.1f},{bottom:.1f}"


def test_y_runs_through_zero_and_guides_and_hidden_markers():
    # All values 40..60: the y scale still starts at 0 (no exaggerated slope), 20 apart.
    line = Series("", [(0, 40.0), (10, 60.0)], ["p", "q"], "green", marker=0)
    here = Series("", [(5, 50.0)], ["here"], "red", marker=6)
    drawn = lines_svg([line, here], str, str, "spend", "net", guides=[5.0])
    svg = ET.fromstring(drawn)
    texts = _texts(svg)
    assert texts[:4] == ["0", "20", "40", "60"]
    assert "spend" in texts and "net" in texts  # axis titles
    guide = [g for g in svg.iter(f"{NS}line") if g.get("stroke-dasharray")]
    assert len(guide) == 1 and guide[0].get("x1") == guide[0].get("x2")
    circles = list(svg.iter(f"{NS}circle"))
    # The curve's points answer the pointer unseen; the initiative's own point is drawn.
    assert [c.get("fill-opacity") for c in circles] == ["0", "0", "1"]
    assert circles[2].get("r") == "6"
    assert float(guide[0].get("x1")) == pytest.approx(float(circles[2].get("cx")))
    assert not list(svg.iter(f"{NS}polyline"))[1:]  # one point: no line for it


def test_legend_wraps_within_the_width():
    # Three names of 40 characters: 28 + 40 x 7.2 + 18 = 334 px each, two never fit in
    # one row of 540 px: three rows.
    lines = [Series("x" * 40, [(0, 1.0), (1, 2.0)], ["", ""], c) for c in ("a", "b", "c")]
    svg = ET.fromstring(lines_svg(lines, str, str))
    rows = {t.get("y") for t in svg.iter(f"{NS}text") if t.text == "x" * 40}
    assert len(rows) == 3
    assert float(svg.get("viewBox").split()[3]) >= 8 + 0.45 * 540 + 3 * FONT_PX


def test_texts_are_escaped_and_stay_on_one_line():
    line = Series("<b>a</b> & b", [(0, 1.0), (1, 2.0)], ["x\ny", "<i>z</i>"], "red")
    drawn = lines_svg([line], str, lambda v: f"<{v}>", "<t>", "y\nz")
    assert "\n" not in drawn  # one line: Markdown reads it as one HTML block
    svg = ET.fromstring(drawn)
    assert not list(svg.iter(f"{NS}b")) and not list(svg.iter(f"{NS}i"))
    assert [t.text for t in svg.iter(f"{NS}title")] == ["x\ny", "<i>z</i>"]
    texts = _texts(svg)
    assert "<b>a</b> & b" in texts and "<t>" in texts and "y\nz" in texts


def test_a_band_is_shaded_between_its_bounds_and_widens_the_scale():
    # The line stays within 10..20, the band reaches 0..30: the y scale covers the band.
    line = Series("mean", [(0, 10.0), (1, 20.0)], ["a", "b"], "blue", marker=0)
    band = Band("interval", [(0, 5.0, 15.0), (1, 0.0, 30.0)], "blue")
    svg = ET.fromstring(lines_svg([line], str, str, bands=[band], width=400))
    assert _texts(svg)[:4] == ["0", "10", "20", "30"]
    (polygon,) = svg.iter(f"{NS}polygon")
    corners = [tuple(float(v) for v in p.split(",")) for p in polygon.get("points").split()]
    # Upper bounds left to right, then lower bounds right to left: 15, 30, 0, 5 on a
    # 0..30 scale from y = 8 + 180 (0) to y = 8 (30).
    bottom, span = 8 + PLOT_SHARE * 400, PLOT_SHARE * 400
    ys = [bottom - v / 30 * span for v in (15, 30, 0, 5)]
    assert [y for _, y in corners] == pytest.approx(ys, abs=0.06)
    assert corners[0][0] == corners[3][0] < corners[1][0] == corners[2][0]
    assert polygon.get("fill-opacity") == "0.15"
    # The legend: the band's patch, then the line's sample.
    assert _texts(svg)[-2:] == ["interval", "mean"]
    assert len(list(svg.iter(f"{NS}rect"))) == 1
