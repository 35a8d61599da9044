"""A process map a person can read: the paths that cover most cases, laid out in layers.

* **Paths shown** (:func:`path_map`): the transitions of the cases on the ``k`` most
  frequent variants (most cases first, ties by the path's text); the map starts at
  ``k =`` :func:`analytics.process.coverage` (the fewest variants covering 80 % of the
  cases), so a hairball of rare paths is one slider away, not the default.
* **Layers, left to right** (:func:`layered_layout`, a Sugiyama-style layout in pure Python,
  no Graphviz needed): (1) cycles are broken by a depth-first search that visits the
  activities in the order cases reach them (mean step position, then name); an edge back
  to an activity still on the search path is a *back edge* (rework), laid out reversed and
  drawn against the flow; (2) each activity's layer is its longest path from a start;
  (3) an edge spanning several layers passes through a dummy point in each layer it
  crosses; (4) crossings are reduced by barycentre sweeps (each point moved to the mean
  position of its neighbours in the previous layer, downward then upward, ``SWEEPS``
  times, ties kept in their order); (5) every activity is a box as wide as its label
  (``CHAR_PX`` per character) and as tall as its lines (a name is wrapped at spaces into
  at most ``MAX_LINES`` lines of ``LINE_CHARS`` characters, the rest cut with an
  ellipsis, so a map of eight layers stays about 1,000 px wide); boxes of a layer are
  stacked with a gap and layers are as wide as their widest box plus a gap. Boxes
  therefore never overlap, nor do the labels written inside them, at the pixel size the
  layout is drawn (1 unit = 1 px).

Deterministic: nodes, edges and ties are sorted by name before anything order-dependent.

:func:`process_views` works out, once per dataset, everything the Process page shows that
does not depend on its widgets, for every scenario at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from analytics.cases import Loops
from analytics.cost import cost_view
from analytics.dataset import Dataset, direct
from analytics.process import (
    SEP,
    case_views,
    directly_follows,
    for_scenario,
    monthly_cases,
    rework,
    scenario_drifts,
    transitions,
    variant_model,
)

CHAR_PX = 7.5  # an upper bound for a 12 px sans-serif character
LINE_CHARS = 16
MAX_LINES = 2
LINE_PX = 15  # a 12 px font's line height
BOX_PAD_PX = 16
BOX_HEIGHT_PX = 30  # a box of one line
ROW_GAP_PX = 18
LAYER_GAP_PX = 56
DUMMY_HEIGHT_PX = 8
SWEEPS = 6


@dataclass(frozen=True)
class MapLayout:
    """Where everything goes, in pixels (y grows downward).

    ``boxes``: each activity's box (x0, y0, x1, y1); ``labels``: the text written in it;
    ``layers``: each activity's layer; ``routes``: each drawn edge (source, target) as
    points from the source box's edge to the target box's edge, through its dummy points;
    ``back``: edges drawn against the flow (rework loops); ``loops``: activities with an
    edge to themselves; ``width`` x ``height``: the whole map."""

    boxes: dict[str, tuple[float, float, float, float]]
    labels: dict[str, str]
    layers: dict[str, int]
    routes: dict[tuple[str, str], list[tuple[float, float]]]
    back: frozenset[tuple[str, str]]
    loops: frozenset[str]
    width: float
    height: float


@dataclass(frozen=True)
class ScenarioView:
    """One scenario's steps, reduced: ``edges`` (:func:`analytics.process.directly_follows`
    of all its cases), ``variant_edges`` (per variant text: each ``source``, ``target`` with
    ``transitions`` and ``repeats`` per case), ``hint`` (:func:`position_hint`) and
    ``rework`` (:func:`analytics.process.rework`)."""

    edges: pl.DataFrame
    variant_edges: pl.DataFrame
    hint: dict[str, float]
    rework: pl.DataFrame


@dataclass(frozen=True)
class ProcessViews:
    """What the Process page draws for a dataset: ``cases`` and ``paths`` as in
    :func:`analytics.process.case_views`, the ``loops`` found, ``months``
    (:func:`analytics.process.monthly_cases`), ``drifts``
    (:func:`analytics.process.scenario_drifts`) and a :class:`ScenarioView` per scenario
    (``""``: all cases)."""

    cases: pl.DataFrame
    paths: pl.DataFrame
    loops: Loops
    months: pl.DataFrame
    drifts: pl.DataFrame
    scenarios: dict[str, ScenarioView]

    @property
    def default_scenario(self) -> str:
        """The scenario whose drift is largest (``""``, all cases, when none drifts)."""
        return (self.drifts["scenario"][0] or "") if self.drifts.height else ""

    def cases_of(self, scenario: str) -> pl.DataFrame:
        return self.cases.filter(pl.col("scenario") == scenario) if scenario else self.cases

    def months_of(self, scenario: str) -> pl.DataFrame:
        return self.months.filter(pl.col("scenario") == scenario) if scenario else self.months


def scenario_view(steps: pl.DataFrame, paths: pl.DataFrame) -> ScenarioView:
    """The :class:`ScenarioView` of one scenario's ``steps``; ``paths``: their variants'
    :func:`analytics.process.variant_paths`. The transitions per case depend on the path
    alone: they are counted on one case per variant."""
    text = paths.select(
        "variant", pl.col("path").cast(pl.List(pl.String)).list.join(SEP).alias("text")
    )
    variant_edges = (
        transitions(variant_model(steps))
        .group_by("variant", pl.col("source", "target").cast(pl.String))
        .agg(pl.len().alias("transitions"), pl.col("target_repeat").sum().alias("repeats"))
        .collect()
        .join(text, on="variant")
        .select(pl.col("text").alias("variant"), "source", "target", "transitions", "repeats")
    )
    return ScenarioView(directly_follows(steps), variant_edges, position_hint(steps), rework(steps))


def process_views(
    dataset: Dataset,
    collapse: bool | None = None,
    closing: tuple[str, ...] | None = None,
    compute: Callable[..., Any] = direct,
) -> ProcessViews:
    """:class:`ProcessViews` of a dataset (``collapse`` as in
    :func:`analytics.process.case_views`); with ``closing`` states, the cases carry their
    ``cost`` from :func:`analytics.cost.cost_view` (when the data has any cost). The case
    views and the costs come from ``compute(fn, dataset, *params)``, so a cache such as
    the app's hands over what it already has."""
    # The default as other pages ask for it, so a cache hands over the same entry.
    choice = () if collapse is None else (collapse,)
    steps, cases, paths, loops = compute(case_views, dataset, *choice)
    if closing is not None:
        priced = compute(cost_view, dataset, None, closing).cases
        if priced["cost"].sum():  # joined once here, not on every widget change
            costs = priced.select("case_id", "cost")
            cases = cases.join(costs, on="case_id", how="left", maintain_order="left")
    names = ["", *cases["scenario"].drop_nulls().unique().sort()] if cases.height else []
    months = monthly_cases(cases)
    return ProcessViews(
        cases,
        paths,
        loops,
        months,
        scenario_drifts(months, paths) if cases.height else pl.DataFrame(),
        {name: scenario_view(for_scenario(steps, name), paths) for name in names},
    )


def path_map(view: ScenarioView, table: pl.DataFrame, k: int) -> tuple[pl.DataFrame, MapLayout]:
    """The transitions of the cases on the ``k`` first variants of ``table`` (an
    :func:`analytics.process.variants` table of the scenario) and their layout.

    Per edge: ``count`` = sum over those variants of transitions per case x cases,
    ``cases`` = the cases of the variants having it, ``rework_share`` = repeated targets /
    count and ``rework`` when that is at least half, as
    :func:`analytics.process.directly_follows` has them for those cases; ``median_s`` is
    the edge's median time over all the scenario's cases."""
    top = table.head(k).select("variant", "cases")
    edges = (
        view.variant_edges.join(top, on="variant")
        .group_by("source", "target")
        .agg(
            (pl.col("transitions") * pl.col("cases")).sum().alias("count"),
            pl.col("cases").sum(),
            (pl.col("repeats") * pl.col("cases")).sum().alias("repeats"),
        )
        .join(view.edges.select("source", "target", "median_s"), on=["source", "target"])
        .with_columns((pl.col("repeats") / pl.col("count")).alias("rework_share"))
        .with_columns((pl.col("rework_share") >= 0.5).alias("rework"))
        .drop("repeats")
        .sort(["count", "source", "target"], descending=[True, False, False])
    )
    pairs = zip(edges["source"], edges["target"], strict=True)
    return edges, layered_layout(pairs, view.hint)


def position_hint(steps: pl.DataFrame) -> dict[str, float]:
    """Each activity's mean step position in the cases that reach it (0 = first step): the
    order cases reach it. Positions depend on the path alone: one case per variant,
    weighted by its cases."""
    model = variant_model(steps)
    order = model.group_by(pl.col("activity").cast(pl.String)).agg(
        ((pl.col("step") * pl.col("cases")).sum() / pl.col("cases").sum()).alias("x")
    )
    return dict(zip(order["activity"], order["x"], strict=True))


def label(name: str) -> str:
    """``name`` wrapped at spaces into lines of at most ``LINE_CHARS`` characters (a longer
    word cut), at most ``MAX_LINES`` of them, joined by newlines; anything left over is
    replaced by an ellipsis at the end of the last line."""
    lines: list[str] = []
    words = name.split()
    while words and len(lines) < MAX_LINES:
        line = words.pop(0)[:LINE_CHARS]
        while words and len(line) + 1 + len(words[0]) <= LINE_CHARS:
            line += " " + words.pop(0)
        lines.append(line)
    if words or len(" ".join(lines)) < len(" ".join(name.split())):
        lines[-1] = lines[-1][: LINE_CHARS - 1] + "…"
    return "\n".join(lines)


def box_size(text: str) -> tuple[float, float]:
    """A box's width and height for its label ``text`` (lines separated by newlines)."""
    lines = text.split("\n")
    width = max(len(line) for line in lines) * CHAR_PX + BOX_PAD_PX
    return width, BOX_HEIGHT_PX + LINE_PX * (len(lines) - 1)


def _back_edges(nodes: list[str], succ: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Edges to a node still on the depth-first search's path (iterative DFS)."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    back: set[tuple[str, str]] = set()
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return back


def _layers(nodes: list[str], dag: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a start (Kahn's order, ties by the nodes' order)."""
    preds: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(nodes, 0)
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in dag:
        succ[a].append(b)
        preds[b].append(a)
        indegree[b] += 1
    rank = {n: i for i, n in enumerate(nodes)}
    ready = sorted((n for n in nodes if indegree[n] == 0), key=rank.__getitem__)
    layer: dict[str, int] = {}
    while ready:
        node = ready.pop(0)
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
        for child in succ[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
                ready.sort(key=rank.__getitem__)
    return layer


def _barycentre(row: list[str], fixed: list[str], near: dict[str, list[str]]) -> list[str]:
    """``row`` ordered by the mean position of each point's neighbours in ``fixed``; a
    point without any keeps its own position (ties: the current order, then the name)."""
    where = {n: j for j, n in enumerate(fixed)}

    def centre(name: str, j: int) -> float:
        places = [where[m] for m in near[name] if m in where]
        return sum(places) / len(places) if places else float(j)

    return [n for _, _, n in sorted((centre(n, j), j, n) for j, n in enumerate(row))]


def _sweep(
    rows: list[list[str]], up: dict[str, list[str]], down: dict[str, list[str]]
) -> list[list[str]]:
    """Barycentre sweeps, ``SWEEPS`` of them: downward (each layer by its predecessors),
    then upward (by its successors), and so on."""
    for turn in range(SWEEPS):
        if turn % 2 == 0:
            for i in range(1, len(rows)):
                rows[i] = _barycentre(rows[i], rows[i - 1], up)
        else:
            for i in range(len(rows) - 2, -1, -1):
                rows[i] = _barycentre(rows[i], rows[i + 1], down)
    return rows


def layered_layout(edges: Iterable[tuple[str, str]], hint: dict[str, float]) -> MapLayout:
    """Lay out a directed graph's ``edges`` (source, target) left to right (see the module
    docstring); ``hint`` orders the activities (:func:`position_hint`)."""
    pairs = sorted(set(edges))
    loops = frozenset(a for a, b in pairs if a == b)
    pairs = [(a, b) for a, b in pairs if a != b]
    nodes = sorted({n for p in pairs for n in p} | loops, key=lambda n: (hint.get(n, 0.0), n))
    rank = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in pairs:
        succ[a].append(b)
    for children in succ.values():
        children.sort(key=rank.__getitem__)
    back = frozenset(_back_edges(nodes, succ))
    layer = _layers(nodes, [(b, a) if (a, b) in back else (a, b) for a, b in pairs])

    # Dummy points on long edges: one per layer crossed, named after their edge. A back
    # edge is laid out from its target to its source, as the DAG has it.
    chains: dict[tuple[str, str], list[str]] = {}
    level = dict(layer)
    for a, b in pairs:
        u, v = (b, a) if (a, b) in back else (a, b)
        chain = [u]
        for step in range(layer[u] + 1, layer[v]):
            dummy = f"\0{a}\0{b}\0{step}"
            level[dummy] = step
            chain.append(dummy)
        chains[(a, b)] = [*chain, v]
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    links = [(c[i], c[i + 1]) for c in chains.values() for i in range(len(c) - 1)]
    for a, b in links:
        up[b].append(a)
        down[a].append(b)
    rows: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name in sorted(level, key=lambda n: (rank.get(n, len(rank)), n)):
        rows[level[name]].append(name)
    rows = _sweep(rows, up, down)

    labels = {n: label(n) for n in nodes}
    sizes = {n: box_size(labels[n]) for n in nodes}
    heights = [
        sum(sizes[n][1] if n in sizes else DUMMY_HEIGHT_PX for n in row)
        + ROW_GAP_PX * max(len(row) - 1, 0)
        for row in rows
    ]
    height = max(heights, default=0.0)
    x0, centres = 0.0, {}
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for row, used in zip(rows, heights, strict=True):
        wide = max((sizes[n][0] for n in row if n in sizes), default=0.0)
        y = (height - used) / 2
        for name in row:
            tall = sizes[name][1] if name in sizes else DUMMY_HEIGHT_PX
            centres[name] = (x0 + wide / 2, y + tall / 2)
            if name in labels:
                half = sizes[name][0] / 2
                boxes[name] = (x0 + wide / 2 - half, y, x0 + wide / 2 + half, y + tall)
            y += tall + ROW_GAP_PX
        x0 += wide + LAYER_GAP_PX

    routes = {}
    for edge, chain in chains.items():
        points = [centres[n] for n in chain]
        points[0] = (boxes[chain[0]][2], points[0][1])  # leave from the right edge of the box
        points[-1] = (boxes[chain[-1]][0], points[-1][1])  # arrive at the left edge
        if edge in back:  # drawn against the flow, a little lower than a forward twin
            points = [(x, y + BOX_HEIGHT_PX / 4) for x, y in points[::-1]]
        routes[edge] = points
    return MapLayout(
        boxes=boxes,
        labels=labels,
        layers={n: layer[n] for n in nodes},
        routes=routes,
        back=back,
        loops=loops,
        width=max(x0 - LAYER_GAP_PX, 0.0),
        height=height,
    )
