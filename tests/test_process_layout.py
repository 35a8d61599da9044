"""The layered process map: layers, back edges, crossings, labels that never overlap, the
paths the coverage slider starts at."""

from __future__ import annotations

import math
import random
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
from dashboard.charts import BLUE, GREY, ORANGE, RED
from dashboard.process_map import FONT_PX, LOOP_FONT_PX, PAD_PX, arrowhead, process_map_figure

WORDS = {"transitions": "t", "cases": "c", "median": "m", "minutes": "min"}

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


def _text_boxes(figure) -> list[tuple[float, float, float, float]]:
    """Where the figure writes text, in pixels (1 unit = 1 px), from an upper bound of a
    character's width (``CHAR_PX`` at 12 px, scaled by font size) and a line height of
    1.25 x the font size: each activity label (centred in its box) and each self-loop
    badge (anchored at its box's top right corner, drawn upward)."""
    found = []
    labels = figure.data[-1]
    for x, y, text in zip(labels.x, labels.y, labels.text, strict=True):
        lines = text.split("<br>")
        half_w = max(len(line) for line in lines) * CHAR_PX / 2
        half_h = len(lines) * FONT_PX * 1.25 / 2
        found.append((x - half_w, y - half_h, x + half_w, y + half_h))
    for note in figure.layout.annotations:
        if note.text:
            wide = len(note.text) * CHAR_PX * LOOP_FONT_PX / FONT_PX
            found.append((note.x - wide, note.y - LOOP_FONT_PX * 1.25, note.x, note.y))
    return found


def _assert_readable(layout: MapLayout, edges: pl.DataFrame) -> None:
    """No two boxes overlap, nor any two pieces of text, and every box holds its label."""
    for (_, a), (_, b) in combinations(layout.boxes.items(), 2):
        assert _disjoint(a, b)
    figure = process_map_figure(layout, edges, set(), set(), WORDS)
    assert figure.layout.width == int(layout.width + 2 * PAD_PX)  # drawn 1 unit = 1 px
    texts = _text_boxes(figure)
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
    figure = process_map_figure(layout, edges, {"c"}, {("a", "b"), ("b", "c")}, WORDS)
    lines = {
        text.split("<br>")[0]: trace.line.color
        for trace in figure.data[:-1]
        for text in trace.text or ()  # arrowhead traces have none
        if text
    }
    assert lines == {"a → b": BLUE, "b → c": BLUE, "b → a": RED, "c → d": GREY}
    widths = {
        text.split("<br>")[0]: trace.line.width
        for trace in figure.data[:-1]
        for text in trace.text or ()
        if text
    }
    assert (widths["a → b"], widths["c → d"]) == (7, 2)  # 1 + 6 x count / 10, rounded
    borders = {s.x0: s.line.color for s in figure.layout.shapes}
    assert borders[layout.boxes["c"][0]] == ORANGE
    assert borders[layout.boxes["d"][0]] != ORANGE
    # One arrowhead per edge, in its edge's colour, and no arrow annotations.
    heads = {t.marker.color: len(t.x) for t in figure.data if t.mode == "markers"}
    assert heads == {BLUE: 2, RED: 1, GREY: 1}
    assert not [a for a in figure.layout.annotations if a.showarrow]


def test_arrowhead_sits_before_the_end_and_turns_along_the_last_segment():
    # HEAD_PX = 9: the marker's centre 4.5 px back from the end; plotly's angle is
    # clockwise from up, and y grows down the screen.
    assert arrowhead((0.0, 0.0), (10.0, 0.0)) == (5.5, 0.0, 90.0)  # rightwards
    assert arrowhead((0.0, 0.0), (0.0, 10.0)) == (0.0, 5.5, 180.0)  # downwards
    assert arrowhead((10.0, 0.0), (0.0, 0.0)) == (4.5, 0.0, -90.0)  # leftwards (a back edge)
    x, y, angle = arrowhead((0.0, 10.0), (30.0, -30.0))  # up and right, a 3-4-5 triangle
    assert (x, y) == pytest.approx((30 - 0.6 * 4.5, -30 + 0.8 * 4.5))
    assert angle == pytest.approx(math.degrees(math.atan2(3, 4)))  # 36.87 deg right of up


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
