"""Drawing a tensor-network graph with matplotlib.

:func:`draw_graph` draws a networkx ``MultiGraph`` whose nodes and edges carry the
attributes that ``TensorNetwork.to_networkx()`` writes (this module knows nothing else
of torchtn):

* node attributes: ``kind`` (``'node'`` or ``'dangling'`` for the free end of an open
  edge), ``role`` (``'leaf'``, ``'parametric'``, ``'data'``, ``'virtual'``,
  ``'resultant'``; ``'dangling'`` for free ends), ``label`` and, for free ends,
  ``batch``;
* edge attributes: ``size`` (bond dimension), ``ends`` (``((node, axis name), (node,
  axis name))``, the free end's axis name being None) and ``batch``.

matplotlib and networkx are imported inside the functions, so importing this module is
free. Without an ``ax`` a new figure is made with ``matplotlib.pyplot``; on a machine
without a display matplotlib picks the Agg backend itself.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

from torchtn.viz.layout import layout_graph

__all__ = ["ROLE_COLORS", "draw_graph"]

#: Fill colour of each node role.
ROLE_COLORS = {
    "parametric": "#4C72B0",
    "leaf": "#8FB9E3",
    "data": "#55A868",
    "virtual": "#B0B0B0",
    "resultant": "#DD8452",
}
_ROLE_ORDER = ("parametric", "leaf", "data", "virtual", "resultant")
# Above this many nodes, axis names are not written unless asked for.
_AXIS_NAMES_MAX_NODES = 40


def draw_graph(
    graph: Any,
    ax: Any = None,
    positions: Mapping[Hashable, tuple[float, float]] | None = None,
    layout: str = "auto",
    show_bond_dims: bool = True,
    show_axis_names: bool | None = None,
    show_node_names: bool = True,
    legend: bool = True,
    title: str | None = None,
    node_size: float = 400.0,
    font_size: float = 6.5,
    figsize: tuple[float, float] | None = None,
) -> tuple[Any, Any]:
    """Draw a tensor-network graph; return ``(figure, axes)``.

    Args:
        graph: A networkx graph with the attributes described in the module docstring.
        ax: Axes to draw on (None: a new figure).
        positions: Positions of some nodes (anchors kept as given with ``'auto'``).
        layout: ``'auto'`` or a networkx layout name (see
            :func:`torchtn.viz.layout.layout_graph`).
        show_bond_dims: Write each edge's dimension at its middle.
        show_axis_names: Write axis names at the edge ends (None: only when the graph
            has at most 40 nodes).
        show_node_names: Write node names next to the nodes.
        legend: Add a legend of the roles present.
        title: Axes title.
        node_size: Marker area of the nodes (points^2).
        font_size: Font size of the labels.
        figsize: Size of a new figure (inches); None picks one from the layout.

    Returns:
        The matplotlib ``Figure`` and ``Axes``.
    """
    pos = layout_graph(graph, positions, layout)
    nodes = [n for n, d in graph.nodes(data=True) if d.get("kind", "node") == "node"]
    if show_axis_names is None:
        show_axis_names = len(nodes) <= _AXIS_NAMES_MAX_NODES
    if ax is None:
        import matplotlib.pyplot as plt

        if figsize is None:
            figsize = _figsize(pos)
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    scale = _edge_scale(graph, pos)

    _draw_edges(ax, graph, pos, scale, show_bond_dims, show_axis_names, font_size)
    handles = []
    for role in _ROLE_ORDER:
        members = [n for n in nodes if graph.nodes[n].get("role") == role]
        if not members:
            continue
        handle = ax.scatter(
            [pos[n][0] for n in members],
            [pos[n][1] for n in members],
            s=node_size,
            c=ROLE_COLORS[role],
            edgecolors="black",
            linewidths=0.8,
            zorder=3,
            label=role,
        )
        handles.append(handle)
    if show_node_names:
        for n in nodes:
            x, y = pos[n]
            ax.annotate(
                str(graph.nodes[n].get("label", n)),
                (x, y),
                xytext=(0, math.sqrt(node_size) / 2 + 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=font_size,
                zorder=4,
            )
    if legend and handles:
        ax.legend(handles=handles, loc="best", fontsize=font_size + 1, markerscale=0.6)
    if title:
        ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.12)
    ax.set_axis_off()
    return fig, ax


def _figsize(pos: Mapping[Hashable, tuple[float, float]]) -> tuple[float, float]:
    if not pos:
        return (4.0, 3.0)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    inches = 1.6  # per layout unit (one bond of a chain or grid)
    return (min(max(4.0, w * inches + 2), 30.0), min(max(3.0, h * inches + 2), 30.0))


def _edge_scale(graph: Any, pos: Mapping[Hashable, tuple[float, float]]) -> float:
    lengths = [math.dist(pos[u], pos[v]) for u, v in graph.edges() if u != v]
    lengths = sorted(x for x in lengths if x > 0)
    return lengths[len(lengths) // 2] if lengths else 1.0


def _draw_edges(
    ax: Any,
    graph: Any,
    pos: Mapping[Hashable, tuple[float, float]],
    scale: float,
    show_bond_dims: bool,
    show_axis_names: bool,
    font_size: float,
) -> None:
    from matplotlib.collections import LineCollection

    seen: dict[frozenset, int] = {}
    lines: dict[bool, list] = {False: [], True: []}  # batch -> polylines
    # White boxes behind the dimensions read better but render slowly: small graphs only.
    box = (
        dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8)
        if graph.number_of_edges() <= 200
        else None
    )
    for u, v, data in graph.edges(data=True):
        pair = frozenset((u, v))
        k = seen.get(pair, 0)
        seen[pair] = k + 1
        batch = bool(data.get("batch", False))
        (x0, y0), (x1, y1) = pos[u], pos[v]
        if u == v:  # self-loop: a small circle above the node
            r = 0.25 * scale
            t = [2 * math.pi * i / 40 for i in range(41)]
            xs = [x0 + r * math.sin(a) for a in t]
            ys = [y0 + r + r * -math.cos(a) for a in t]
            lines[batch].append(list(zip(xs, ys, strict=True)))
            mid = (x0, y0 + 2 * r)
            points = [(x0 - 1.2 * r, y0 + r), mid, (x0 + 1.2 * r, y0 + r)]
        else:
            # The k-th edge between the same pair bends to alternating sides.
            bend = 0.0 if k == 0 else (0.18 * ((k + 1) // 2)) * (1 if k % 2 else -1)
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            length = math.hypot(x1 - x0, y1 - y0) or 1.0
            nx_, ny_ = -(y1 - y0) / length, (x1 - x0) / length
            cx, cy = mx + bend * length * nx_, my + bend * length * ny_
            ts = [i / 20 for i in range(21)]
            xs = [(1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1 for t in ts]
            ys = [(1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1 for t in ts]
            lines[batch].append(list(zip(xs, ys, strict=True)))
            mid = (xs[10], ys[10])
            points = [(xs[6], ys[6]), mid, (xs[14], ys[14])]
        if show_bond_dims and data.get("size") is not None:
            ax.text(
                mid[0],
                mid[1],
                str(data["size"]),
                fontsize=font_size,
                ha="center",
                va="center",
                color="#8B0000",
                bbox=box,
                zorder=2,
            )
        if show_axis_names:
            for i, (node, axis) in enumerate(data.get("ends") or ()):
                if axis is None:
                    continue
                if u == v:
                    near = points[0] if i == 0 else points[2]
                else:
                    near = points[0] if node == u else points[2]
                ax.text(
                    near[0],
                    near[1],
                    str(axis),
                    fontsize=font_size - 1,
                    ha="center",
                    va="center",
                    color="#1F3F77",
                    style="italic",
                    zorder=2,
                )
    for batch, polylines in lines.items():
        if polylines:
            ax.add_collection(
                LineCollection(
                    polylines,
                    colors="0.35" if batch else "black",
                    linewidths=1.0,
                    linestyles="--" if batch else "-",
                    zorder=1,
                )
            )
