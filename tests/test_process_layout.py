"""The layered process map: layers, back edges, crossings, boxes that never overlap."""

from __future__ import annotations

import random
from itertools import combinations

import polars as pl

from analytics.io import load_path
from analytics.process import case_views, coverage, directly_follows, for_scenario, variants
from analytics.process_layout import (
    BOX_PAD_PX,
    CHAR_PX,
    MAX_CHARS,
    layered_layout,
    position_hint,
    top_path_steps,
)
from dashboard.charts import process_map_figure

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


def test_long_names_are_cut_and_boxes_fit_their_labels():
    name = "согласование с руководителем отдела продаж"  # 42 characters
    layout = layered_layout([("a", name)], {"a": 0, name: 1})
    assert layout.labels[name] == name[: MAX_CHARS - 1] + "…"
    x0, _, x1, _ = layout.boxes[name]
    assert x1 - x0 == MAX_CHARS * CHAR_PX + BOX_PAD_PX


def _disjoint(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_every_path_of_every_scenario_lays_out_without_overlaps(small_dir):
    # The hairball: every variant of every scenario of the small company at once.
    steps, cases, _, _ = case_views(load_path(small_dir))
    for scenario in [None, *sorted(cases["scenario"].drop_nulls().unique())]:
        chosen = for_scenario(steps, scenario)
        edges = directly_follows(chosen)
        pairs = zip(edges["source"], edges["target"], strict=True)
        layout = layered_layout(pairs, position_hint(chosen))
        assert len(layout.boxes) == chosen["activity"].cast(pl.String).n_unique()
        for (_, a), (_, b) in combinations(layout.boxes.items(), 2):
            assert _disjoint(a, b)
        for name, (x0, y0, x1, y1) in layout.boxes.items():
            assert x1 - x0 >= len(layout.labels[name]) * CHAR_PX
            assert x0 >= 0 and x1 <= layout.width and y0 >= 0 and y1 <= layout.height
        figure = process_map_figure(
            layout, edges, set(), set(), {"transitions": "t", "cases": "c", "median": "m"}
        )
        assert figure.layout.width == int(layout.width + 48)  # drawn 1 unit = 1 px
        assert sorted(figure.data[-1].text) == sorted(layout.labels.values())


def _log(rows: list[tuple[str, str, str]]) -> str:
    lines = ["case_id,customer_id,timestamp,activity"]
    return "\n".join(lines + [f"{c},x{c},{t},{a}" for c, t, a in rows]) + "\n"


def test_the_slider_starts_at_the_paths_covering_80_percent(tmp_path):
    # Paths: x-y-z 5 cases, x-z 3 cases, x-w-z 2 cases: the first two cover 8 of 10 = 80 %.
    rows = []
    for n, path in ((5, "xyz"), (3, "xz"), (2, "xwz")):
        for i in range(n):
            case = f"{path}{i}"
            rows += [(case, f"2024-01-0{i + 1} 10:0{j}", step) for j, step in enumerate(path)]
    (tmp_path / "events.csv").write_text(_log(rows[::-1]))
    steps, cases, paths, _ = case_views(load_path(tmp_path))
    table = variants(cases, paths)
    k = coverage(table)
    assert k == 2
    kept = top_path_steps(steps, paths, table, k)
    assert kept["case_no"].n_unique() == 8
    assert set(kept["activity"].cast(pl.String)) == {"x", "y", "z"}  # w only on the rare path
    edges = directly_follows(kept)
    pairs = set(zip(edges["source"], edges["target"], strict=True))
    assert pairs == {("x", "y"), ("y", "z"), ("x", "z")}
