"""The layered process map: layers, back edges, crossings, labels that never overlap, the
paths the coverage slider starts at."""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import polars as pl
import pytest

from analytics.io import load_path
from analytics.process import (
    SEP,
    case_views,
    coverage,
    directly_follows,
    for_scenario,
    variants,
)
from analytics.process_layout import (
    BOX_PAD_PX,
    CHAR_PX,
    LINE_CHARS,
    MapLayout,
    label,
    layered_layout,
    path_map,
    process_views,
)
from dashboard import i18n
from dashboard.charts import BLUE, GREY, ORANGE, RED
from dashboard.process_map import (
    FONT_PX,
    HEAD_PX,
    LOOP_FONT_PX,
    PAD_PX,
    arrowhead,
    process_map_svg,
)

WORDS = {"transitions": "t", "cases": "c", "median": "m", "minutes": "min"}

NS = "{http://www.w3.org/2000/svg}"
STATUS = Path(__file__).parent / "data" / "shapes" / "status_log"
HINT = {"a": 0, "b": 1, "c": 2, "d": 3}


def test_layers_back_edges_and_loops():
    # a -> b -> c, a -> c (spans a layer), c -> b (rework: back to a step done before),
    # c -> c (a self-loop), b -> d.
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "b"), ("c", "c"), ("b", "d")]
    layout = layered_layout(edges, HINT)
    assert layout.layers == {"a": 0, "b": 1, "c": 2, "d": 2}
    assert layout.back == {("c", "b")}
    assert layout.loops == {"c"}
    assert set(layout.routes) == {("a", "b"), ("b", "c"), ("a", "c"), ("c", "b"), ("b", "d")}
    # The long edge passes through one dummy point in layer 1; every route runs from the
    # source box's right edge to the target's left edge, the back edge right to left.
    assert len(layout.routes[("a", "c")]) == 3
    assert layout.routes[("a", "c")][0][0] == layout.boxes["a"][2]
    assert layout.routes[("a", "c")][-1][0] == layout.boxes["c"][0]
    back = layout.routes[("c", "b")]
    assert back[0][0] == layout.boxes["c"][0] and back[-1][0] == layout.boxes["b"][2]


def test_barycentre_uncrosses_two_edges():
    # By the hint c would sit above d, so a -> d and b -> c would cross; the sweep swaps
    # them: d (a's target) ends above c.
    layout = layered_layout([("a", "d"), ("b", "c")], {"a": 0, "b": 0.1, "c": 1, "d": 1.1})
    assert layout.boxes["a"][1] < layout.boxes["b"][1]
    assert layout.boxes["d"][1] < layout.boxes["c"][1]


def test_same_graph_in_any_order_gives_the_same_layout():
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "b"), ("b", "d"), ("d", "a")]
    shuffled = edges[:]
    random.Random(3).shuffle(shuffled)
    assert layered_layout(edges, HINT) == layered_layout(shuffled, HINT)


def test_long_names_wrap_onto_two_lines_and_boxes_fit_their_labels():
    name = "согласование с руководителем отдела продаж"  # 42 characters
    assert label(name) == "согласование с\nруководителем…"  # 14 and 14 characters
    assert label("invoice correction") == "invoice\ncorrection"
    assert label("manual approval") == "manual approval"  # 15: fits one line of 16
    assert label("a" * 20) == "a" * 15 + "…"
    layout = layered_layout([("a", name)], {"a": 0, name: 1})
    x0, y0, x1, y1 = layout.boxes[name]
    assert x1 - x0 == 14 * CHAR_PX + BOX_PAD_PX
    assert y1 - y0 > layout.boxes["a"][3] - layout.boxes["a"][1]  # two lines are taller


def _disjoint(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def _svg(layout: MapLayout, edges: pl.DataFrame, manual=(), standard=()) -> ET.Element:
    return ET.fromstring(process_map_svg(layout, edges, set(manual), set(standard), WORDS))


def _labels(svg: ET.Element) -> list[tuple[float, float, list[str]]]:
    """Each activity label: its centre and its lines (a <tspan> each)."""
    found = []
    for text in svg.iter(f"{NS}text"):
        spans = text.findall(f"{NS}tspan")
        if spans:  # the first line sits half the extra lines above the centre
            y = float(text.get("y")) + (len(spans) - 1) * FONT_PX * 1.25 / 2
            found.append((float(spans[0].get("x")), y, [t.text for t in spans]))
    return found


def _text_boxes(svg: ET.Element) -> list[tuple[float, float, float, float]]:
    """Where the map writes text, in pixels (1 unit = 1 px), from an upper bound of a
    character's width (``CHAR_PX`` at 12 px, scaled by font size) and a line height of
    1.25 x the font size: each activity label (centred in its box) and each self-loop
    badge (anchored at its box's top right corner, drawn upward)."""
    found = []
    for x, y, lines in _labels(svg):
        half_w = max(len(line) for line in lines) * CHAR_PX / 2
        half_h = len(lines) * FONT_PX * 1.25 / 2
        found.append((x - half_w, y - half_h, x + half_w, y + half_h))
    for note in svg.iter(f"{NS}text"):
        if note.get("font-size") == str(LOOP_FONT_PX):
            x, y = float(note.get("x")), float(note.get("y"))
            wide = len(note.text) * CHAR_PX * LOOP_FONT_PX / FONT_PX
            found.append((x - wide, y - LOOP_FONT_PX * 1.25, x, y))
    return found


def _assert_readable(layout: MapLayout, edges: pl.DataFrame) -> None:
    """No two boxes overlap, nor any two pieces of text, and every box holds its label."""
    for (_, a), (_, b) in combinations(layout.boxes.items(), 2):
        assert _disjoint(a, b)
    svg = _svg(layout, edges)
    assert svg.get("width") == f"{layout.width + 2 * PAD_PX:.0f}"  # drawn 1 unit = 1 px
    texts = _text_boxes(svg)
    assert (
        len(texts) == len(layout.boxes) + edges.filter(pl.col("source") == pl.col("target")).height
    )
    for a, b in combinations(texts, 2):
        assert _disjoint(a, b), (a, b)
    for name, (x0, y0, x1, y1) in layout.boxes.items():
        lines = layout.labels[name].split("\n")
        assert x1 - x0 >= max(len(line) for line in lines) * CHAR_PX
        assert all(len(line) <= LINE_CHARS for line in lines)
        assert x0 >= 0 and x1 <= layout.width and y0 >= 0 and y1 <= layout.height


def test_every_path_of_every_scenario_is_readable(small_dir):
    # The hairball: every variant of every scenario of the small company at once.
    views = process_views(load_path(small_dir))
    for scenario, view in views.scenarios.items():
        table = variants(views.cases_of(scenario), views.paths)
        edges, layout = path_map(view, table, table.height)
        assert set(layout.boxes) == set(edges["source"]) | set(edges["target"])
        _assert_readable(layout, edges)


def test_a_status_log_map_is_readable():
    # Real-shaped: an ITSM export of status updates, self-loops kept (not collapsed).
    views = process_views(load_path(STATUS), collapse=False)
    view = views.scenarios[""]
    table = variants(views.cases, views.paths)
    edges, layout = path_map(view, table, table.height)
    assert edges.filter(pl.col("source") == pl.col("target")).height  # loops drawn as badges
    _assert_readable(layout, edges)


def test_long_russian_names_in_one_crowded_layer_are_readable():
    # Eight long parallel steps between a start and an end, each looping on itself.
    middle = [f"ручная проверка документов клиента номер {i}" for i in range(8)]
    pairs = [("приём", m) for m in middle] + [(m, "закрыто") for m in middle]
    pairs += [(m, m) for m in middle]
    layout = layered_layout(pairs, {"приём": 0, **dict.fromkeys(middle, 1), "закрыто": 2})
    edges = pl.DataFrame(
        {
            "source": [a for a, _ in pairs],
            "target": [b for _, b in pairs],
            "count": [100_000 + i for i in range(len(pairs))],
            "cases": [10] * len(pairs),
            "median_s": [60.0] * len(pairs),
            "rework": [False] * len(pairs),
        }
    )
    _assert_readable(layout, edges)


def test_map_colours_the_standard_path_rework_and_manual_steps():
    edges = pl.DataFrame(
        {
            "source": ["a", "b", "b", "c"],
            "target": ["b", "c", "a", "d"],
            "count": [10, 8, 3, 2],
            "cases": [10, 8, 3, 2],
            "median_s": [60.0, 120.0, 30.0, 600.0],
            "rework": [False, False, True, False],
        }
    )
    pairs = zip(edges["source"], edges["target"], strict=True)
    layout = layered_layout(pairs, HINT)
    svg = _svg(layout, edges, {"c"}, {("a", "b"), ("b", "c")})
    # Each edge: a group titled with its hover text, its drawn line first, then its head.
    groups = [g for g in svg.iter(f"{NS}g") if g.find(f"{NS}polyline") is not None]
    hover = {g.find(f"{NS}title").text.split("\n")[0]: g.find(f"{NS}title").text for g in groups}
    drawn = {g.find(f"{NS}title").text.split("\n")[0]: g.find(f"{NS}polyline") for g in groups}
    assert {e: line.get("stroke") for e, line in drawn.items()} == {
        "a → b": BLUE,
        "b → c": BLUE,
        "b → a": RED,
        "c → d": GREY,
    }
    widths = {e: line.get("stroke-width") for e, line in drawn.items()}
    assert (widths["a → b"], widths["c → d"]) == ("7", "2")  # 1 + 6 x count / 10, rounded
    assert hover["c → d"] == "c → d\nt: 2\nc: 2\nm: 10 min"  # 600 s = 10 minutes
    borders = {float(r.get("x")): r.get("stroke") for r in svg.iter(f"{NS}rect")}
    assert borders[round(layout.boxes["c"][0], 1)] == ORANGE
    assert borders[round(layout.boxes["d"][0], 1)] != ORANGE
    # One arrowhead per edge, in its edge's colour.
    heads = [p.get("fill") for p in svg.iter(f"{NS}polygon")]
    assert sorted(heads) == sorted([BLUE, BLUE, RED, GREY])


def test_names_from_the_data_are_escaped():
    # An activity named like markup stays text: the SVG parses, and says the name as is;
    # a line break in a name stays inside the one line the map is drawn on.
    edges = pl.DataFrame(
        {
            "source": ["<b>x</b> & y"],
            "target": ["z"],
            "count": [3],
            "cases": [3],
            "median_s": [None],
            "rework": [False],
        }
    )
    layout = layered_layout([("<b>x</b> & y", "z")], {"<b>x</b> & y": 0, "z": 1})
    svg = _svg(layout, edges)
    assert not list(svg.iter(f"{NS}b"))
    broken = layered_layout([("a\n\nb", "z")], {"a\n\nb": 0, "z": 1})
    assert "\n" not in process_map_svg(
        broken, edges.with_columns(source=pl.lit("a\n\nb")), set(), set(), WORDS
    )
    titles = {t.text for t in svg.iter(f"{NS}title")}
    assert {"<b>x</b> & y", "z", "<b>x</b> & y → z\nt: 3\nc: 3\nm: 0 min"} == titles
    assert sorted(x for _, _, lines in _labels(svg) for x in lines) == ["<b>x</b> & y", "z"]


def test_arrowhead_ends_at_the_route_and_turns_along_the_last_segment():
    # HEAD_PX = 9: the tip at the route's end, the base 9 px back along the last segment,
    # 4.5 px to either side of it (y grows down the screen).
    assert HEAD_PX == 9
    assert arrowhead((0.0, 0.0), (10.0, 0.0)) == ((10.0, 0.0), (1.0, 4.5), (1.0, -4.5))
    assert arrowhead((10.0, 0.0), (0.0, 0.0)) == ((0.0, 0.0), (9.0, -4.5), (9.0, 4.5))  # back
    tip, left, right = arrowhead((0.0, 10.0), (30.0, -30.0))  # up and right, a 3-4-5 triangle
    assert tip == (30.0, -30.0)
    # The base's midpoint: 9 px back along (0.6, -0.8), so (24.6, -22.8); the corners
    # 4.5 px across it, along (0.8, 0.6) and back.
    assert left == pytest.approx((24.6 + 0.8 * 4.5, -22.8 + 0.6 * 4.5))
    assert right == pytest.approx((24.6 - 0.8 * 4.5, -22.8 - 0.6 * 4.5))
    assert math.dist(left, right) == pytest.approx(9.0)


def _log(rows: list[tuple[str, str, str]]) -> str:
    lines = ["case_id,customer_id,timestamp,activity"]
    return "\n".join(lines + [f"{c},x{c},{t},{a}" for c, t, a in rows]) + "\n"


def _views(tmp_path, counts: dict[str, int]):
    rows = []
    for path, n in counts.items():
        for i in range(n):
            case = f"{path}{i}"
            rows += [(case, f"2024-01-0{i + 1} 10:0{j}", step) for j, step in enumerate(path)]
    (tmp_path / "events.csv").write_text(_log(rows[::-1]))  # unsorted, as exports come
    views = process_views(load_path(tmp_path))
    return views, variants(views.cases, views.paths)


def test_the_slider_starts_at_the_fewest_paths_covering_80_percent(tmp_path):
    # Paths: x-y-z 5 cases, x-z 3 cases, x-w-z 2 cases: the first two cover 8 of 10 = 80 %.
    views, table = _views(tmp_path, {"xyz": 5, "xz": 3, "xwz": 2})
    assert coverage(table) == 2
    edges, layout = path_map(views.scenarios[""], table, 2)
    assert set(layout.boxes) == {"x", "y", "z"}  # w only on the rare path
    counts = {(a, b): n for a, b, n in edges.select("source", "target", "count").iter_rows()}
    assert counts == {("x", "y"): 5, ("y", "z"): 5, ("x", "z"): 3}


def test_coverage_ties_are_broken_by_the_path_text(tmp_path):
    # 10 cases: x-y 3, x-z 3, x-w 2, x-v 2. Ties in cases go by the path's text, so the
    # order is x→y (3), x→z (3), then x→v before x→w (2 each, "v" < "w"). Cumulative:
    # 0.3, 0.6, 0.8: three paths reach 80 %, and the third is x→v, never x→w.
    views, table = _views(tmp_path, {"xw": 2, "xz": 3, "xv": 2, "xy": 3})
    assert table["variant"].to_list() == [f"x{SEP}y", f"x{SEP}z", f"x{SEP}v", f"x{SEP}w"]
    assert coverage(table) == 3
    edges, _ = path_map(views.scenarios[""], table, 3)
    assert set(edges["target"]) == {"y", "z", "v"}
    # the same rows in another order give the same table
    again = _views(tmp_path, {"xy": 3, "xv": 2, "xz": 3, "xw": 2})[1]
    assert again["variant"].to_list() == table["variant"].to_list()


def test_path_map_counts_match_the_directly_follows_graph_of_those_cases(small_dir):
    # Reference: the directly-follows graph of the steps of just the cases on the top paths.
    steps, _, paths, _ = case_views(load_path(small_dir))
    views = process_views(load_path(small_dir))
    for scenario in ["", "billing"]:
        table = variants(views.cases_of(scenario), views.paths)
        k = coverage(table)
        edges, _ = path_map(views.scenarios[scenario], table, k)
        keep = table["variant"].head(k).implode()
        text = pl.col("path").cast(pl.List(pl.String)).list.join(SEP)
        ids = paths.filter(text.is_in(keep))["variant"].implode()
        chosen = for_scenario(steps, scenario).filter(pl.col("variant").is_in(ids))
        reference = directly_follows(chosen).drop("median_s")
        assert edges.drop("median_s").select(reference.columns).equals(reference)


def test_map_numbers_follow_the_interface_language():
    # Counts in the hover and above a self-loop are grouped as the reader writes them:
    # 12 345 (with a no-break space) in Russian, 12,345 in English; 90,000 s = 1,500 min.
    edges = pl.DataFrame(
        {
            "source": ["a", "b"],
            "target": ["b", "b"],
            "count": [12345, 2000],
            "cases": [12000, 1500],
            "median_s": [90_000.0, 60.0],
            "rework": [False, True],
        }
    )
    layout = layered_layout([("a", "b"), ("b", "b")], {"a": 0, "b": 1})
    with i18n.pinned("ru"):
        svg = _svg(layout, edges)
    titles = {t.text for t in svg.iter(f"{NS}title")}
    assert "a → b\nt: 12\u00a0345\nc: 12\u00a0000\nm: 1\u00a0500 min" in titles
    assert "↻ 2\u00a0000" in {t.text for t in svg.iter(f"{NS}text")}
    english = {t.text for t in _svg(layout, edges).iter(f"{NS}title")}
    assert "a → b\nt: 12,345\nc: 12,000\nm: 1,500 min" in english
