"""Positions for drawing a graph: model-given anchors, satellites and generic layouts.

A model may place some nodes itself (a chain on a line, a grid, a tree by levels). The
rest is placed here: nodes hanging off one placed node (data nodes, open-edge stubs)
are put next to it, pointing away from its other neighbours, and anything still
unplaced is laid out by networkx with the placed nodes held fixed. networkx is imported
inside the functions; this module knows nothing of torchtn's nodes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

__all__ = ["LAYOUTS", "chain_positions", "grid_positions", "ring_positions", "layout_graph"]

#: Generic layouts accepted by :func:`layout_graph` (besides ``'auto'``).
LAYOUTS = ("auto", "kamada_kawai", "spring", "spectral", "circular", "shell")

Position = tuple[float, float]


def chain_positions(names: list[Hashable], y: float = 0.0) -> dict[Hashable, Position]:
    """``names`` on a horizontal line, one unit apart."""
    return {name: (float(i), y) for i, name in enumerate(names)}


def ring_positions(names: list[Hashable]) -> dict[Hashable, Position]:
    """``names`` clockwise on a circle with unit spacing between neighbours."""
    n = len(names)
    radius = max(1.0, n / (2 * math.pi))
    return {
        name: (radius * math.sin(2 * math.pi * i / n), radius * math.cos(2 * math.pi * i / n))
        for i, name in enumerate(names)
    }


def grid_positions(rows: list[list[Hashable]]) -> dict[Hashable, Position]:
    """``rows[i][j]`` at ``(j, -i)``: row 0 on top."""
    return {name: (float(j), -float(i)) for i, row in enumerate(rows) for j, name in enumerate(row)}


def _typical_length(graph: Any, pos: Mapping[Hashable, Position]) -> float:
    lengths = sorted(
        math.dist(pos[u], pos[v])
        for u, v in graph.edges()
        if u in pos and v in pos and u != v and math.dist(pos[u], pos[v]) > 0
    )
    return lengths[len(lengths) // 2] if lengths else 1.0


def _place_satellites(graph: Any, pos: dict[Hashable, Position], scale: float) -> None:
    """Place every unplaced node with exactly one placed neighbour next to it, repeatedly."""
    while True:
        groups: dict[Hashable, list[Hashable]] = {}
        for node in graph.nodes():
            if node in pos:
                continue
            placed = {v for v in graph.neighbors(node) if v in pos and v != node}
            if len(placed) == 1:
                groups.setdefault(placed.pop(), []).append(node)
        if not groups:
            return
        for anchor, satellites in groups.items():
            ax, ay = pos[anchor]
            others = [pos[v] for v in graph.neighbors(anchor) if v in pos and v != anchor]
            dx = sum(ax - x for x, _ in others)
            dy = sum(ay - y for _, y in others)
            norm = math.hypot(dx, dy)
            base = math.atan2(dy, dx) if norm > 1e-9 * scale else -math.pi / 2
            if others and norm <= 1e-9 * scale:  # balanced neighbours (a chain): below
                base = -math.pi / 2
            k = len(satellites)
            spread = min(math.pi / 5, math.pi / max(k, 1))
            for i, node in enumerate(satellites):
                angle = base + (i - (k - 1) / 2) * spread
                length = 0.7 * scale if graph.nodes[node].get("kind") == "node" else 0.45 * scale
                pos[node] = (ax + length * math.cos(angle), ay + length * math.sin(angle))


def layout_graph(
    graph: Any,
    anchors: Mapping[Hashable, Position] | None = None,
    layout: str = "auto",
    seed: int = 0,
) -> dict[Hashable, Position]:
    """Positions of every node of ``graph``.

    Args:
        graph: A networkx graph whose nodes may carry ``kind`` (``'node'`` or
            ``'dangling'``).
        anchors: Positions given by the caller (e.g. a model's own layout); kept as they
            are. Only used with ``layout='auto'``.
        layout: ``'auto'`` (anchors, then satellites, then Kamada-Kawai for the rest), or
            a generic networkx layout for everything: ``'kamada_kawai'``, ``'spring'``,
            ``'spectral'``, ``'circular'``, ``'shell'``.
        seed: Seed of the spring layout.

    Returns:
        ``node -> (x, y)``.

    Raises:
        ValueError: If ``layout`` is unknown.
    """
    import networkx as nx

    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    if graph.number_of_nodes() == 0:
        return {}
    simple = nx.Graph(graph)
    if layout != "auto":
        pos = _generic(simple, layout, seed)
        return {n: (float(x), float(y)) for n, (x, y) in pos.items()}
    pos = {n: (float(x), float(y)) for n, (x, y) in (anchors or {}).items() if n in graph}
    if not pos:
        core = simple.subgraph(n for n, d in graph.nodes(data=True) if d.get("kind") == "node")
        if core.number_of_nodes():
            pos = {n: (float(x), float(y)) for n, (x, y) in _generic(core, "auto", seed).items()}
    scale = _typical_length(simple, pos)
    _place_satellites(simple, pos, scale)
    rest = [n for n in graph.nodes() if n not in pos]
    if rest:
        fixed = list(pos)
        full = nx.spring_layout(
            simple, pos=pos or None, fixed=fixed or None, seed=seed, k=scale or None
        )
        for n in rest:
            pos[n] = (float(full[n][0]), float(full[n][1]))
        _place_satellites(simple, pos, scale)
    return pos


def _generic(graph: Any, layout: str, seed: int) -> dict:
    import networkx as nx

    if graph.number_of_nodes() == 1:
        return {next(iter(graph.nodes())): (0.0, 0.0)}
    if layout in ("auto", "kamada_kawai"):
        try:
            return nx.kamada_kawai_layout(graph)
        except ImportError:  # scipy missing
            return nx.spring_layout(graph, seed=seed)
    if layout == "spring":
        return nx.spring_layout(graph, seed=seed)
    if layout == "spectral":
        try:
            return nx.spectral_layout(graph)
        except ImportError:
            return nx.spring_layout(graph, seed=seed)
    if layout == "circular":
        return nx.circular_layout(graph)
    return nx.shell_layout(graph)
