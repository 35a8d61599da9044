"""The Economics page's SVG bars: one value scale through the base, end labels on the side
a bar grows to, every text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dashboard.bars_svg import LABEL_PX, ROW_PX, VALUE_ROOM, WIDTH_PX, Bar, bars_svg

NS = "{http://www.w3.org/2000/svg}"


def test_bars_share_one_scale_through_the_base():
    # Values 80..150 with the base at 100: the scale runs 80 -> 150 over the middle
    # 68 % of 640 px (16 % kept each side): 435.2 px for 70 units, 6.217 px a unit.
    rows = [
        ("a", [Bar(100.0, 80.0, "green", "80", "a low"), Bar(100.0, 150.0, "red", "150", "a hi")]),
        ("b", [Bar(100.0, 120.0, "red", "120", "b")]),
    ]
    svg = ET.fromstring(bars_svg(rows, 100.0, "base"))
    unit = WIDTH_PX * (1 - 2 * VALUE_ROOM) / 70
    left = WIDTH_PX * VALUE_ROOM
    rects = [
        (float(r.get("x")), float(r.get("width")), r.get("fill")) for r in svg.iter(f"{NS}rect")
    ]
    assert rects == [
        pytest.approx((left, 20 * unit, "green"), abs=0.06),  # 80 -> 100
        pytest.approx((left + 20 * unit, 50 * unit, "red"), abs=0.06),  # 100 -> 150
        pytest.approx((left + 20 * unit, 20 * unit, "red"), abs=0.06),  # 100 -> 120
    ]
    base = next(svg.iter(f"{NS}line"))
    assert float(base.get("x1")) == pytest.approx(left + 20 * unit, abs=0.06)
    # A bar growing left is labelled left of its start, one growing right right of its end.
    ends = {t.text: t.get("text-anchor") for t in svg.iter(f"{NS}text")}
    assert (ends["80"], ends["150"], ends["120"]) == ("end", "start", "start")
    assert ends["base"] == "middle"
    titles = [t.text for t in svg.iter(f"{NS}title")]
    assert titles == ["a low", "a hi", "b"]


def test_texts_are_escaped_and_stay_on_one_line():
    rows = [("<i>x</i> & y\n\nz", [Bar(0.0, 1.0, "red", "<b>1</b>", "a\nb")])]
    drawn = bars_svg(rows)
    assert "\n" not in drawn  # one line: Markdown reads it as one HTML block
    svg = ET.fromstring(drawn)
    assert not list(svg.iter(f"{NS}i")) and not list(svg.iter(f"{NS}b"))
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert texts == ["<i>x</i> & y\n\nz", "<b>1</b>"]
    assert next(svg.iter(f"{NS}title")).text == "a\nb"


def test_the_base_line_runs_under_the_row_labels():
    """A row's label that the base line would cross ("Replacement, 12 months" on Economics)
    is not struck through: over that row the line starts below the label; a short label
    leaves it whole. The line is drawn first and each label on a white halo anyway."""
    long = "a much longer label than the space left of the base line"
    rows = [(long, [Bar(0.0, 5.0, "red", "5", "a")]), ("b", [])]
    svg = ET.fromstring(bars_svg(rows, 1.0))
    children = list(svg)
    lines = [e for e in children if e.tag == f"{NS}line"]
    spans = [(float(e.get("y1")), float(e.get("y2"))) for e in lines]
    label_bottom = LABEL_PX
    assert spans[0][0] > label_bottom  # below the long label
    assert spans[1] == (ROW_PX, 2 * ROW_PX)  # a short label: the line runs through its row
    assert len({e.get("x1") for e in lines}) == 1
    first_line = next(i for i, e in enumerate(children) if e.tag == f"{NS}line")
    labels = [i for i, e in enumerate(children) if e.tag == f"{NS}text"]
    assert first_line < min(labels)
    for i in labels:
        assert (children[i].get("paint-order"), children[i].get("stroke")) == ("stroke", "#FFFFFF")
