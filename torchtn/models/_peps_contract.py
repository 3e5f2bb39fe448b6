"""Contraction of a PEPS grid whose sites were already contracted with their data.

:func:`contract_grid` picks one of three plans, all made of node operations (so a traced
forward replays them like any other network):

* ``'boundary'``: TensorKrowch's boundary-MPS sweep (spec ``models.md`` 10.1). Lines
  (rows or columns, depending on ``from_side``) are merged pairwise; after each merge a
  left-to-right sweep contracts neighbouring sites and splits them back with a truncated
  SVD (``rank <= max_bond``, singular values absorbed on the left).
* ``'zipper'``: exact; sites are absorbed one by one in line order, so the open boundary
  holds one line of bonds.
* ``'einsum'``: exact; one :func:`torchtn.einsum` over every site with the contraction
  path of :mod:`torchtn.planning` (opt_einsum).

The boundary sweep is only used when it would actually truncate: a shape-only replay of
the sweep (:func:`boundary_truncates`) tells whether some split would keep fewer singular
values than the rank of the matrix it splits can reach. Otherwise the result is exact
anyway, and the cheaper exact plan (by the flop counts of :func:`torchtn.planning.estimate`)
runs instead, with no SVD at all: no SVD cost and no SVD in the backward pass (whose
gradient is infinite for repeated singular values, which exact-rank splits produce).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import opt_einsum

from torchtn._utils import prod
from torchtn.core.node import AbstractNode
from torchtn.planning import estimate

__all__ = ["Orientation", "orient", "boundary_truncates", "choose_exact_plan", "contract_grid"]

#: Grids with more sites than this always use the zipper when contracted exactly (the
#: opt_einsum path search of a big grid costs more than it can save).
EINSUM_MAX_SITES = 16

Grid = list[list[AbstractNode]]


@dataclass(frozen=True)
class Orientation:
    """How the sweep walks the grid.

    Attributes:
        lines: The sites, ``lines[i][j]``: line ``i`` is absorbed ``i``-th, ``j`` runs
            along the line.
        periodic: Whether the line is a ring (periodic boundary along the line).
        wrap_sweep: Whether the sweep also compresses the (last, first) bond of a ring.
        along_columns: Whether lines are columns (new bonds named ``down``/``up``
            instead of ``right``/``left``).
    """

    lines: Grid
    periodic: bool
    wrap_sweep: bool
    along_columns: bool


def orient(grid: Grid, boundary: Sequence[str], from_side: str) -> Orientation:
    """Lines of ``grid`` (``grid[row][col]``) in sweep order, as TensorKrowch arranges them.

    ``'down'`` reverses the rows, ``'left'`` transposes, ``'right'`` transposes and
    reverses; any other string behaves like ``'up'`` without the periodic (last, first)
    compression (TensorKrowch 1.1.6 does the same).
    """
    if from_side in ("left", "right"):
        lines = [list(col) for col in zip(*grid, strict=True)]
        if from_side == "right":
            lines.reverse()
        return Orientation(lines, boundary[0] == "pbc", True, True)
    lines = [list(row) for row in grid]
    if from_side == "down":
        lines.reverse()
    return Orientation(lines, boundary[1] == "pbc", from_side in ("up", "down"), False)


# -- shape-only replay of the boundary sweep --------------------------------------------------
def _bond_structure(
    lines: Grid,
) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """``(legs, bonds, wrap)`` of the grid's edges.

    ``legs[i][j]``: product of the sizes of the edges from column ``j`` of lines
    ``0..i`` to lines after ``i`` (the open vertical legs of the boundary site ``j`` once
    ``i + 1`` lines are merged). ``bonds[i][j]``: product of the edges of line ``i``
    between sites ``j`` and ``j + 1`` (for a 2-site ring, both edges). ``wrap[i]``: the
    (last, first) edges of a ring of 3 or more sites. Self-loops are left out (they are
    traced as soon as they appear).
    """
    n_lines, width = len(lines), len(lines[0])
    owners: dict[int, list[tuple[int, int, int]]] = {}
    for i, line in enumerate(lines):
        for j, node in enumerate(line):
            for k, edge in enumerate(node.edges):
                if not edge.is_batch():
                    owners.setdefault(id(edge), []).append((i, j, node.shape[k]))
    legs = [[1] * width for _ in range(n_lines)]
    bonds = [[1] * max(width - 1, 0) for _ in range(n_lines)]
    wrap = [1] * n_lines
    for ends in owners.values():
        if len(ends) != 2:
            continue
        (i1, j1, size), (i2, j2, _) = ends
        if i1 == i2:
            if j1 == j2:
                continue
            lo, hi = min(j1, j2), max(j1, j2)
            if hi - lo == 1:
                bonds[i1][lo] *= size
            else:
                wrap[i1] *= size
        else:
            if i1 > i2:
                i1, j1, i2 = i2, j2, i1
            for i in range(i1, i2):
                legs[i][j1] *= size
    return legs, bonds, wrap


def boundary_truncates(orientation: Orientation, max_bond: int) -> bool:
    """Whether the boundary MPS would need a bond larger than ``max_bond``.

    Replays the sweep on sizes only. The split of the matrix ``(m, n)`` whose halves
    share a bond of size ``s`` keeps ``min(max_bond, m, n, s)`` singular values. Its
    rank is also at most the product of the open legs on either side of the cut (times
    the (last, first) bond of a ring): the Schmidt rank of the boundary state. The
    contraction is exact unless ``max_bond`` is below all of these bounds at some cut;
    TensorKrowch's sweep, which is not canonical, may still truncate a local ``(m, n)``
    above ``max_bond`` when the state itself fits, so there it is only approximate.
    """
    legs, bonds, wrap = _bond_structure(orientation.lines)
    width = len(orientation.lines[0])
    ring = orientation.periodic and width > 2
    current, wrap_bond = list(bonds[0]), wrap[0]
    for i in range(1, len(orientation.lines)):
        current = [a * b for a, b in zip(current, bonds[i], strict=True)]
        wrap_bond *= wrap[i]
        leg = legs[i]
        closing = wrap_bond if ring else 1
        for j in range(width - 1):
            left = current[j - 1] if j > 0 else closing
            right = current[j + 1] if j + 1 < width - 1 else closing
            rank = min(left * leg[j], leg[j + 1] * right, current[j])
            schmidt = min(prod(leg[: j + 1]), prod(leg[j + 1 :])) * closing
            if min(rank, schmidt) > max_bond:
                return True
            current[j] = min(rank, max_bond)
        if ring and orientation.wrap_sweep:
            rank = min(current[-1] * leg[-1], leg[0] * current[0], wrap_bond)
            if rank > max_bond:
                return True
            wrap_bond = min(rank, max_bond)
    return False


# -- exact plans ------------------------------------------------------------------------------
def _equation(nodes: Sequence[AbstractNode]) -> tuple[str, list[tuple[int, ...]]]:
    """Einsum equation contracting ``nodes`` into their batch axes, and their shapes."""
    labels: dict[object, str] = {}

    def label(key: object) -> str:
        if key not in labels:
            labels[key] = opt_einsum.get_symbol(len(labels))
        return labels[key]

    terms, output = [], []
    for node in nodes:
        term = []
        for axis, edge in zip(node.axes, node.edges, strict=True):
            if edge.is_batch():
                sym = label(("batch", axis.name))
                if sym not in output:
                    output.append(sym)
            else:
                sym = label(id(edge))
            term.append(sym)
        terms.append("".join(term))
    return ",".join(terms) + "->" + "".join(output), [tuple(n.shape) for n in nodes]


def choose_exact_plan(nodes: Sequence[AbstractNode]) -> tuple[str, str | None]:
    """``('zipper' | 'einsum', equation)`` for the exact contraction of ``nodes``.

    ``nodes`` are the sites in zipper order. Both plans are priced with
    :func:`torchtn.planning.estimate` (the zipper as an explicit path); the opt_einsum
    path wins ties, since it runs as one operation. Grids of more than
    :data:`EINSUM_MAX_SITES` sites use the zipper without pricing.
    """
    if len(nodes) > EINSUM_MAX_SITES or len(nodes) < 2:
        return "zipper", None
    equation, shapes = _equation(nodes)
    zipper_path = [(0, 1)] + [(0, len(nodes) - 1 - k) for k in range(1, len(nodes) - 1)]
    zipper = estimate(equation, shapes, zipper_path).flops
    best = estimate(equation, shapes, "auto").flops
    return ("einsum", equation) if best <= zipper else ("zipper", None)


def trace_loops(node: AbstractNode) -> AbstractNode:
    """Trace the self-loop edges of ``node`` (1-row / 1-column tori)."""
    import torchtn.ops as op

    loops = [e for e in node.edges if not e.is_dangling() and e.node1 is e.node2]
    if loops:
        node = op.contract_edges(loops, node, node)
    return node


def _zipper(nodes: Sequence[AbstractNode]) -> AbstractNode:
    result = None
    for node in nodes:
        node = trace_loops(node)
        result = node if result is None else trace_loops(result @ node)
    assert result is not None
    return result


# -- boundary MPS -----------------------------------------------------------------------------
def _split_pair(
    left: AbstractNode, right: AbstractNode, max_bond: int, names: tuple[str, str]
) -> tuple[AbstractNode, AbstractNode]:
    """Replace the bond of two neighbouring boundary sites by a truncated SVD of their product.

    As TensorKrowch: the product ``M = left @ right`` (a matrix from ``left``'s other
    axes to ``right``'s) is factored as ``U S @ V^H`` keeping at most ``max_bond``
    singular values. When the shared bond ``s`` is smaller than both sides of ``M``, ``M``
    has ``min(m, n) - s`` exactly-zero singular values whose SVD gradient is NaN (0/0);
    then ``left = Q_a R_a`` (QR) and ``right = L_b Q_b`` (RQ) are split first and only the
    ``s x s`` core ``R_a L_b`` goes through the SVD, which gives the same truncation (the
    ``Q`` are isometries). The kept rank is also capped by ``s`` (TK keeps the zeros; the
    value is the same).
    """
    import torchtn.ops as op

    shared = op.get_shared_edges(left, right)
    size = prod(e.size() for e in shared)
    rank = min(max_bond, size)

    def other(node: AbstractNode) -> list[int]:
        return [
            k
            for k, e in enumerate(node.edges)
            if not e.is_batch() and not any(e is x for x in shared)
        ]

    def dims(node: AbstractNode, axes: list[int]) -> int:
        return prod(node.shape[k] for k in axes)

    out_l, out_r = other(left), other(right)
    if size < min(dims(left, out_l), dims(right, out_r)):
        in_l = [k for k, e in enumerate(left.edges) if any(e is x for x in shared)]
        in_r = [k for k, e in enumerate(right.edges) if any(e is x for x in shared)]
        q_a, r_a = op.split(left, out_l, in_l, mode="qr")
        l_b, q_b = op.split(right, in_r, out_r, mode="rq")
        edge_a, edge_b = r_a.edges[-len(in_l) - 1], l_b.edges[-1]
        core = r_a @ l_b
        ax_a = [k for k, e in enumerate(core.edges) if e is edge_a]
        ax_b = [k for k, e in enumerate(core.edges) if e is edge_b]
        u, v = op.split(core, ax_a, ax_b, rank=rank)
        new = u.edges[-1]
        new_left, new_right = q_a @ u, v @ q_b
    else:
        own = {id(e) for k, e in enumerate(left.edges) if k in out_l}
        merged = left @ right
        axes1, axes2 = [], []
        for k, edge in enumerate(merged.edges):
            if not edge.is_batch():
                (axes1 if id(edge) in own else axes2).append(k)
        new_left, new_right = op.split(merged, axes1, axes2, rank=rank)
        new = new_left.edges[-1]
    for node, name in ((new_left, names[0]), (new_right, names[1])):
        k = next(k for k, e in enumerate(node.edges) if e is new)
        node.get_axis(k).name = name
    return new_left, new_right


def _boundary(orientation: Orientation, max_bond: int) -> AbstractNode:
    names = ("down", "up") if orientation.along_columns else ("right", "left")
    lines = orientation.lines
    line = [trace_loops(node) for node in lines[0]]
    for nxt in lines[1:]:
        line = [trace_loops(a @ trace_loops(b)) for a, b in zip(line, nxt, strict=True)]
        for j in range(len(line) - 1):
            line[j], line[j + 1] = _split_pair(line[j], line[j + 1], max_bond, names)
        if orientation.periodic and orientation.wrap_sweep and len(line) > 2:
            line[-1], line[0] = _split_pair(line[-1], line[0], max_bond, names)
    return _zipper(line)


def contract_grid(
    grid: Grid, boundary: Sequence[str], from_side: str, max_bond: int
) -> tuple[AbstractNode, str]:
    """Contract the data-contracted sites ``grid[row][col]``; returns ``(node, plan)``.

    Args:
        grid: Sites already contracted with their data (batch axes plus bonds).
        boundary: ``[vertical, horizontal]`` boundary conditions.
        from_side: Side the sweep starts from (see :func:`orient`).
        max_bond: Largest bond of the boundary MPS.

    Returns:
        The result node (batch axes only) and the plan used: ``'boundary'``,
        ``'zipper'`` or ``'einsum'``.
    """
    orientation = orient(grid, boundary, from_side)
    if boundary_truncates(orientation, max_bond):
        return _boundary(orientation, max_bond), "boundary"
    order = [node for line in orientation.lines for node in line]
    plan, equation = choose_exact_plan(order)
    if plan == "einsum":
        import torchtn.ops as op

        assert equation is not None
        return op.einsum(equation, *order), plan
    return _zipper(order), plan
