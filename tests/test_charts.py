"""Figure builders: what a reader of the chart is told by colour."""

import polars as pl

from dashboard.charts import BLUE, GREY, ORANGE, RED, dfg_figure


def test_dfg_colours_the_standard_path_rework_and_other_deviations():
    edges = pl.DataFrame(
        {
            "source": ["a", "b", "b", "c"],
            "target": ["b", "c", "a", "d"],
            "count": [10, 8, 3, 2],
            "median_s": [60.0, 120.0, 30.0, 600.0],
            "rework": [False, False, True, False],
        }
    )
    positions = {"a": (0.0, 0.0), "b": (1.0, 0.0), "c": (2.0, 0.0), "d": (3.0, 1.0)}
    figure = dfg_figure(edges, positions, manual={"c"}, standard={("a", "b"), ("b", "c")})
    arrows = [a for a in figure.layout.annotations if a.showarrow]
    colours = {(a.ax, a.x): a.arrowcolor for a in arrows}
    assert colours == {(0.0, 1.0): BLUE, (1.0, 2.0): BLUE, (1.0, 0.0): RED, (2.0, 3.0): GREY}
    nodes = figure.data[0]
    assert dict(zip(nodes.text, nodes.marker.color, strict=True))["c"] == ORANGE  # manual
