"""Contractions: `contract_edges` and its front-ends `contract`, `contract_between`, `@`.

The result's axes are ``[matched batch axes (node1's order)] + [node1's free axes] +
[node2's free axes]``; batch axes match purely by name. The tensor work is planned once
(:mod:`torchtn.ops._contract_plan`) as a single batched matrix product.
"""

from __future__ import annotations

from torchtn.core.edge import Edge
from torchtn.core.memory import read
from torchtn.core.node import AbstractNode, Node
from torchtn.core.stack_node import StackNode, is_stack_node
from torchtn.errors import TNTypeError, TNValueError
from torchtn.ops._contract_plan import PairKernel, TraceKernel
from torchtn.ops._operation import builtin, record, run

__all__ = [
    "get_shared_edges",
    "contract_edges",
    "contract",
    "contract_",
    "contract_between",
    "contract_between_",
    "contract_edges_op",
]


def get_shared_edges(node1: AbstractNode, node2: AbstractNode) -> list[Edge]:
    """Non-dangling edges joining ``node1`` and ``node2`` (self-loops if the same node)."""
    out: list[Edge] = []
    axes2 = node2.axes
    for i, e in enumerate(node1.edges):
        if e.nodes[1] is None:
            continue
        f1 = node1.axes[i].is_node1()
        for j, f in enumerate(node2.edges):
            if f is e and axes2[j].is_node1() != f1:
                if not any(x is e for x in out):
                    out.append(e)
                break
    return out


def _check_first(edges, node1, node2):
    succs = node1.successors.get("contract_edges")
    if succs is None:
        return None
    return succs.get((None if edges is None else tuple(edges), node1, node2))


def _contract_edges_first(
    edges: list[Edge] | None, node1: AbstractNode, node2: AbstractNode
) -> AbstractNode:
    if node2 is None:
        raise TNValueError("Cannot contract a dangling edge: it has no second node")
    if not isinstance(node1, AbstractNode) or not isinstance(node2, AbstractNode):
        raise TNTypeError("contract_edges takes two nodes")
    if node1.network is not node2.network:
        raise TNValueError(f"Nodes {node1.name!r} and {node2.name!r} are in different networks")
    shared = get_shared_edges(node1, node2)
    if not shared:
        raise TNValueError(f"No shared edges found between nodes {node1.name!r} and {node2.name!r}")
    key_edges = None if edges is None else tuple(edges)
    if edges is None:
        edges = shared
    else:
        for e in edges:
            if not any(e is s for s in shared):
                raise TNValueError(
                    f"Edge {e!r} is not shared by nodes {node1.name!r} and "
                    f"{node2.name!r}: only shared edges can be contracted"
                )
    net = node1.network
    key = (key_edges, node1, node2)

    if node1 is node2:
        pairs = []
        for e in edges:
            axes = [i for i, f in enumerate(node1.edges) if f is e]
            if len(axes) == 2:
                pairs.append((axes[0], axes[1]))
        traced = {a for p in pairs for a in p}
        keep = [a for a in range(node1.rank) if a not in traced]
        kernel = TraceKernel(node1.rank, pairs)
        tensor = kernel.eager(read(node1))
        cls = StackNode if is_stack_node(node1) else Node
        child = cls._create_resultant(
            axes_names=[node1.axes[a].name for a in keep],
            name="contract_edges",
            network=net,
            tensor=tensor,
            edges=[node1.edges[a] for a in keep],
            node1_list=[node1.axes[a].is_node1() for a in keep],
        )
        record("contract_edges", key, node1, (node1, node2), child, kernel, hints=list(edges))
        return child

    s1, s2 = is_stack_node(node1), is_stack_node(node2)
    if s1 != s2:
        raise TNTypeError(
            f"Cannot contract stack node with non-stack node ({node1.name!r}, {node2.name!r})"
        )
    contracted = []
    used2: set[int] = set()
    for i, e in enumerate(node1.edges):
        if any(e is c for c in edges):
            for j, f in enumerate(node2.edges):
                if (
                    f is e
                    and j not in used2
                    and node2.axes[j].is_node1() != node1.axes[i].is_node1()
                ):
                    contracted.append((i, j))
                    used2.add(j)
                    break
    c1 = {p[0] for p in contracted}
    batch = []
    names2 = {}
    for j, ax in enumerate(node2.axes):
        if j not in used2 and ax.is_batch():
            names2.setdefault(ax.name, j)
    for i, ax in enumerate(node1.axes):
        if i not in c1 and ax.is_batch() and ax.name in names2 and names2[ax.name] not in used2:
            j = names2[ax.name]
            batch.append((i, j))
            used2.add(j)
    b1 = {p[0] for p in batch}
    free1 = [i for i in range(node1.rank) if i not in c1 and i not in b1]
    free2 = [j for j in range(node2.rank) if j not in used2]

    bx = [node1.axes[a].is_batch() for a in free1]
    by = [node2.axes[a].is_batch() for a in free2]
    kernel = PairKernel(node1.rank, node2.rank, batch, contracted, free1, free2, bx, by)
    tensor = kernel.eager(read(node1), read(node2))
    src = [(node1, i) for i, _ in batch] + [(node1, i) for i in free1] + [(node2, j) for j in free2]
    cls = StackNode if s1 else Node
    child = cls._create_resultant(
        axes_names=[n.axes[a].name for n, a in src],
        name="contract_edges",
        network=net,
        tensor=tensor,
        edges=[n.edges[a] for n, a in src],
        node1_list=[n.axes[a].is_node1() for n, a in src],
    )
    hints = {"batch": batch, "contracted": contracted, "free": (free1, free2)}
    record("contract_edges", key, node1, (node1, node2), child, kernel, hints=hints)
    return child


def _contract_edges_next(succ, edges, node1, node2):
    return run(succ)


contract_edges_op = builtin(
    "contract_edges", _check_first, _contract_edges_first, _contract_edges_next
)


def contract_edges(
    edges: list[Edge] | None, node1: AbstractNode, node2: AbstractNode
) -> AbstractNode:
    """Contract ``edges`` (all shared edges if None) between ``node1`` and ``node2``.

    Matched batch axes (same name, both batch) come first in the result, then
    ``node1``'s free axes, then ``node2``'s. ``node1 is node2`` traces self-loops.

    Raises:
        ValueError: No shared edges, or an edge in ``edges`` that is not shared.
        TypeError: A stack node contracted with a non-stack node.
    """
    return contract_edges_op(edges, node1, node2)


def contract(edge: Edge) -> AbstractNode:
    """Contract the two nodes joined by ``edge`` along that edge only."""
    return contract_edges_op([edge], edge.nodes[0], edge.nodes[1])


def contract_between(node1: AbstractNode, node2: AbstractNode) -> AbstractNode:
    """Contract every edge shared by ``node1`` and ``node2`` (``node1 @ node2``)."""
    succs = node1.successors.get("contract_edges")
    if succs is not None:  # a cached call: straight to its successor
        succ = succs.get((None, node1, node2))
        if succ is not None:
            return run(succ)
    return contract_edges_op(None, node1, node2)


def _inplace(result: AbstractNode, originals: list[AbstractNode]) -> AbstractNode:
    from torchtn.ops._inplace import finish_inplace

    uniq: list[AbstractNode] = []
    for n in originals:
        if not any(n is u for u in uniq):
            uniq.append(n)
    finish_inplace([result], uniq, ["contract_edges_ip"])
    return result


def contract_(edge: Edge) -> AbstractNode:
    """In-place :func:`contract`: the result becomes a leaf and the nodes are deleted."""
    n1, n2 = edge.nodes
    return _inplace(contract(edge), [n1, n2])


def contract_between_(node1: AbstractNode, node2: AbstractNode) -> AbstractNode:
    """In-place :func:`contract_between`: the result replaces both nodes as a leaf."""
    return _inplace(contract_between(node1, node2), [node1, node2])
