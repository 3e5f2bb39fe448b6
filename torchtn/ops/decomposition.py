"""Decompositions: `split`/`split_` of a node, and the edge operations `svd`, `svdr`,
`qr`, `rq` with their in-place variants.

``split`` factors a node into two resultant nodes joined by a new ``split`` edge. The
matrix work lives in :mod:`torchtn.linalg`; the rank is recomputed on every call, so a
cached split may change the bond size between calls.

The edge operations contract the two nodes joined by an edge, split the result back
along the same sides and restore each node's axis order, so the edge is replaced by a
(truncated) factorisation: ``(edge.node1 side, edge.node2 side)``.

Difference from TensorKrowch (documented fix): with ``mode='svdr'`` on complex tensors
the second factor takes the *conjugate* phases, so the two results multiply back to the
original tensor (TensorKrowch's did not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn._utils import erase_enum, inverse_permutation, prod
from torchtn.core.edge import Edge, connect
from torchtn.core.kernel import Kernel
from torchtn.core.memory import read
from torchtn.core.node import AbstractNode, Node
from torchtn.core.registry import is_reserved
from torchtn.core.successor import Successor
from torchtn.errors import TNTypeError, TNValueError
from torchtn.linalg import MODES, SIDES, decompose
from torchtn.ops._inplace import finish_inplace
from torchtn.ops._operation import builtin, record, run
from torchtn.ops.tensor import permute, permute_
from torchtn.typing import Ax

__all__ = [
    "split",
    "split_",
    "svd",
    "svd_",
    "svdr",
    "svdr_",
    "qr",
    "qr_",
    "rq",
    "rq_",
    "split_op",
]

Pair = tuple[Node, Node]


# -- split ----------------------------------------------------------------------------------
class SplitKernel(Kernel):
    """``t -> (node1 tensor, node2 tensor)``; sizes are read from ``t`` on every call.

    Args:
        perm: Permutation bringing ``[batch] + node1 axes + node2 axes`` first (empty:
            none).
        nb: Number of batch axes.
        n1: Number of node1 axes.
        mode, side, rank, cum_percentage, cutoff: As in :func:`split`.
    """

    def __init__(
        self,
        perm: list[int],
        nb: int,
        n1: int,
        mode: str,
        side: str,
        rank: int | None,
        cum_percentage: float | None,
        cutoff: float | None,
    ) -> None:
        super().__init__(out_orders=(None, None), multi=True, name="split")
        self.perm = tuple(perm) if perm else None
        self.nb, self.n1 = nb, n1
        self.mode, self.side = mode, side
        self.rank, self.cum_percentage, self.cutoff = rank, cum_percentage, cutoff

    def __call__(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.perm is not None:
            t = t.permute(self.perm)
        nb, n1 = self.nb, self.n1
        shape = tuple(t.shape)
        batch, s1, s2 = shape[:nb], shape[nb : nb + n1], shape[nb + n1 :]
        m = t.reshape(batch + (prod(s1), prod(s2)))
        if self.mode in ("svd", "svdr"):
            a, b, r = decompose(
                m, self.mode, self.side, self.rank, self.cum_percentage, self.cutoff
            )
        else:
            a, b, r = decompose(m, self.mode)
        return a.reshape(batch + s1 + (r,)), b.reshape(batch + (r,) + s2)


def _split_key(
    node: AbstractNode,
    node1_axes: Sequence[Ax],
    node2_axes: Sequence[Ax],
    mode: str = "svd",
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> tuple:
    """Successor key of a :func:`split` call (also the arguments replayed from ``_seq_ops``)."""
    return (node, tuple(node1_axes), tuple(node2_axes), mode, side, rank, cum_percentage, cutoff)


def _split_check(*args: Any, **kwargs: Any) -> Successor | None:
    key = _split_key(*args, **kwargs)
    succs = key[0].successors.get("split")
    if succs is None:
        return None
    return succs.get(key)


def _split_first(
    node: AbstractNode,
    node1_axes: Sequence[Ax],
    node2_axes: Sequence[Ax],
    mode: str = "svd",
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    for arg, value in (("node1_axes", node1_axes), ("node2_axes", node2_axes)):
        if not isinstance(value, Sequence):
            raise TNTypeError(
                f"`{arg}` should be a list or tuple of axes, got {type(value).__name__}"
            )
    key = _split_key(node, node1_axes, node2_axes, mode, side, rank, cum_percentage, cutoff)
    ax1 = [node.get_axis_num(a) for a in node1_axes]
    ax2 = [node.get_axis_num(a) for a in node2_axes]
    listed = set(ax1) | set(ax2)
    batch = [i for i in range(node.rank) if i not in listed]
    for i in batch:
        if not node.edges[i].is_batch():
            raise TNValueError(
                f"Edge {node.edges[i]!s} of node {node.name!r} is not a batch edge but it "
                "is in neither `node1_axes` nor `node2_axes`"
            )
    if mode not in MODES:
        raise TNValueError(f"`mode` can only be one of {MODES}, got {mode!r}")
    if mode in ("svd", "svdr") and side not in SIDES:
        raise TNValueError(f"`side` can only be one of {SIDES}, got {side!r}")

    perm = batch + ax1 + ax2
    if perm == list(range(node.rank)):
        perm = []
    nb = len(batch)
    kernel = SplitKernel(perm, nb, len(ax1), mode, side, rank, cum_percentage, cutoff)
    t1, t2 = kernel.eager(read(node))

    net = node.network
    names = node.axes_names
    r1 = Node._create_resultant(
        axes_names=[names[i] for i in batch + ax1] + ["split"], name="split", network=net, tensor=t1
    )
    r2 = Node._create_resultant(
        axes_names=[names[i] for i in batch] + ["split"] + [names[i] for i in ax2],
        name="split",
        network=net,
        tensor=t2,
    )
    # The fresh edges of the listed axes are replaced below: unlist them.
    for edge in r1.edges[nb:] + r2.edges[nb:]:
        net._remove_edge(edge)
    edges, flags = node.edges, node.is_node1()
    crossing: set[int] = set()
    for i, a in enumerate(ax1):
        edge = edges[a]
        for j, b in enumerate(ax2):
            if edges[b] is edge:  # a trace edge crossing sides becomes a bond r1 - r2
                crossing.add(b)
                p1, p2 = nb + i, nb + 1 + j
                if flags[a]:
                    new = Edge(r1, p1, r2, p2)
                else:
                    new = Edge(r2, p2, r1, p1)
                r1._add_edge(new, p1, flags[a])
                r2._add_edge(new, p2, not flags[a])
                break
        else:
            r1._add_edge(edge, nb + i, flags[a])
    for j, b in enumerate(ax2):
        if b not in crossing:
            r2._add_edge(edges[b], nb + 1 + j, flags[b])
    connect(r1.edges[-1], r2.edges[nb])

    hints = {"batch_axes": batch, "node1_axes": ax1, "node2_axes": ax2, "permutation_dims": perm}
    record("split", key, node, (node,), [r1, r2], kernel, hints=hints, single=True)
    return r1, r2


def _split_next(succ, node: AbstractNode, *args, **kwargs) -> Pair:
    r1, r2 = run(succ)
    return r1, r2


split_op = builtin("split", _split_check, _split_first, _split_next)


def split(
    node: AbstractNode,
    node1_axes: Sequence[Ax],
    node2_axes: Sequence[Ax],
    mode: str = "svd",
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    """Split ``node`` in two nodes joined by a new edge named ``split``.

    The node is read as a batch of matrices (rows: ``node1_axes``, columns:
    ``node2_axes``, batch: every other axis, which must be a batch axis) and factored
    as ``A @ B``:

    * ``'svd'``/``'svdr'``: truncated SVD ``U S V^H``; ``side='left'`` gives ``A = U S``,
      ``B = V^H``; ``side='right'`` gives ``A = U``, ``B = S V^H``. ``'svdr'`` multiplies
      the singular vectors by random phases (``±1`` for real tensors).
    * ``'qr'``: ``A = Q``, ``B = R``. ``'rq'``: ``A = R``, ``B = Q``.

    SVD rank: the smallest of ``rank``, the rank keeping a ``cum_percentage`` fraction
    of the singular-value sum and the number of singular values ``>= cutoff`` (over the
    whole batch); full rank if none is given. It is recomputed on every call.

    Args:
        node: Node to split (not a stack).
        node1_axes: Axes of the first result, in this order.
        node2_axes: Axes of the second result, in this order.
        mode: ``'svd'``, ``'svdr'``, ``'qr'`` or ``'rq'``.
        side: ``'left'`` or ``'right'`` (SVD modes only).
        rank: Largest bond size.
        cum_percentage: Fraction of the singular-value sum to keep.
        cutoff: Smallest singular value kept.

    Returns:
        Resultant nodes ``(node1, node2)`` named ``split`` with axes
        ``[batch] + node1_axes + ['split']`` and ``[batch] + ['split'] + node2_axes``.
        Batch axes get fresh edges; listed axes keep ``node``'s edges.

    Raises:
        TypeError: If the axes lists are not sequences.
        IndexError: If an axis does not exist.
        ValueError: If an unlisted axis is not a batch axis, or ``mode``/``side`` is not
            allowed.

    Examples:
        >>> node = tk.randn((10, 15, 100), axes_names=('left', 'right', 'batch'))
        >>> a, b = tk.split(node, ['left'], ['right'], rank=5)
        >>> a.shape, b.shape
        (torch.Size([100, 10, 5]), torch.Size([100, 5, 15]))
    """
    return split_op(node, node1_axes, node2_axes, mode, side, rank, cum_percentage, cutoff)


def split_(
    node: AbstractNode,
    node1_axes: Sequence[Ax],
    node2_axes: Sequence[Ax],
    mode: str = "svd",
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    """In-place :func:`split`: two leaf ``Node``s named ``split_ip`` replace ``node``.

    Same arguments as :func:`split`. The results hold detached tensors and take over
    ``node``'s connections; ``node`` is deleted from the network and the network's
    recorded operations are cleared.
    """
    r1, r2 = split(node, node1_axes, node2_axes, mode, side, rank, cum_percentage, cutoff)
    finish_inplace([r1, r2], [node], ["split_ip", "split_ip"])
    return r1, r2


# -- edge decompositions ----------------------------------------------------------------------
def _check_edge(edge: Edge) -> None:
    if not isinstance(edge, Edge):
        raise TNTypeError(f"`edge` should be an Edge, got {type(edge).__name__}")
    if edge.nodes[1] is None:
        raise TNValueError(
            f"Edge {edge!s} should be connected to perform a decomposition (SVD/QR/RQ)"
        )
    if edge.nodes[0] is edge.nodes[1]:
        raise TNValueError(f"Edge {edge!s} should connect two different nodes")


def _edge_split(
    edge: Edge,
    mode: str,
    side: str,
    rank: int | None,
    cum_percentage: float | None,
    cutoff: float | None,
    inplace: bool,
) -> Pair:
    _check_edge(edge)
    n1, n2 = edge.nodes
    axis1, axis2 = edge.axes
    if mode in ("svd", "svdr") and side not in SIDES:
        raise TNValueError(f"`side` can only be one of {SIDES}, got {side!r}")
    name1, name2 = n1.name, n2.name
    if inplace:
        for name in (name1, name2):
            if is_reserved(erase_enum(name)):
                raise TNValueError(
                    f"In-place decompositions rename their results after the operands; "
                    f"{name!r} is reserved for operation results (rename the node first)"
                )
    names2 = set(n2.axes_names)
    batch_nums = [ax.num for ax in n1.axes if ax.is_batch() and ax.name in names2]
    nb = len(batch_nums)
    a1 = n1.rank - nb - 1
    a2 = n2.rank - nb - 1
    num1, num2 = axis1.num, axis2.num
    order2 = [n2.get_axis_num(n1.axes[i].name) for i in batch_nums]

    from torchtn.ops.contraction import contract, contract_

    left = list(range(nb, nb + a1))
    right = list(range(nb + a1, nb + a1 + a2))
    if inplace:
        merged = contract_(edge)
        r1, r2 = split_(merged, left, right, mode, side, rank, cum_percentage, cutoff)
    else:
        merged = contract(edge)
        r1, r2 = split(merged, left, right, mode, side, rank, cum_percentage, cutoff)
    do_permute = permute_ if inplace else permute

    # r1 is [batch, n1 others, bond]; put every axis back at its place in n1.
    prev = list(batch_nums)
    prev += [i for i in range(r1.rank) if i not in prev and i != num1]
    prev.append(num1)
    if prev != list(range(r1.rank)):
        r1 = do_permute(r1, inverse_permutation(prev))
    # r2 is [batch, bond, n2 others].
    prev = order2 + [num2]
    prev += [i for i in range(r2.rank) if i not in prev]
    if prev != list(range(r2.rank)):
        r2 = do_permute(r2, inverse_permutation(prev))

    if inplace:
        r1.name = name1
    r1.axes[num1].name = axis1.name
    if inplace:
        r2.name = name2
    r2.axes[num2].name = axis2.name
    return r1, r2


def svd(
    edge: Edge,
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    """Replace ``edge`` by a truncated SVD of the two nodes it joins.

    Contracts ``edge`` (:func:`~torchtn.ops.contract`), splits the result with
    :func:`split` (``mode='svd'``) back into the two nodes' axes, and permutes each
    result to its node's axis order, the bond axes taking the names of the edge's axes.
    Batch axes present in both nodes are kept as batch axes.

    Args:
        edge: Edge joining two different nodes.
        side: ``'left'`` (singular values go to ``edge.node1``'s side) or ``'right'``.
        rank: Largest bond size.
        cum_percentage: Fraction of the singular-value sum to keep.
        cutoff: Smallest singular value kept.

    Returns:
        Resultant nodes ``(edge.node1 side, edge.node2 side)``.

    Raises:
        ValueError: If ``edge`` is dangling or a self-loop, or ``side`` is not allowed.

    Examples:
        >>> a = tk.randn((2, 5, 8), axes_names=('left', 'input', 'right'))
        >>> b = tk.randn((8, 5, 2), axes_names=('left', 'input', 'right'), network=a.network)
        >>> _ = a['right'] ^ b['left']
        >>> na, nb = tk.svd(a['right'], rank=2)
        >>> na.shape, nb.shape
        (torch.Size([2, 5, 2]), torch.Size([2, 5, 2]))
    """
    return _edge_split(edge, "svd", side, rank, cum_percentage, cutoff, inplace=False)


def svd_(
    edge: Edge,
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    """In-place :func:`svd`: leaf ``Node``s named after the original nodes replace them.

    The results hold detached tensors (call ``parameterize()`` to train them), the
    original nodes are deleted and the network's recorded operations are cleared.

    Raises:
        ValueError: As :func:`svd`, or if a node has an operation's name (resultant).
    """
    return _edge_split(edge, "svd", side, rank, cum_percentage, cutoff, inplace=True)


def svdr(
    edge: Edge,
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    """:func:`svd` with random phases on the singular vectors (``mode='svdr'``)."""
    return _edge_split(edge, "svdr", side, rank, cum_percentage, cutoff, inplace=False)


def svdr_(
    edge: Edge,
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> Pair:
    """In-place :func:`svdr`; see :func:`svd_`."""
    return _edge_split(edge, "svdr", side, rank, cum_percentage, cutoff, inplace=True)


def qr(edge: Edge) -> Pair:
    """Replace ``edge`` by a QR decomposition: ``edge.node1``'s side gets the isometry Q,
    ``edge.node2``'s side gets R (bond size ``min(rows, cols)``). See :func:`svd`."""
    return _edge_split(edge, "qr", "left", None, None, None, inplace=False)


def qr_(edge: Edge) -> Pair:
    """In-place :func:`qr`; see :func:`svd_`."""
    return _edge_split(edge, "qr", "left", None, None, None, inplace=True)


def rq(edge: Edge) -> Pair:
    """Replace ``edge`` by an RQ decomposition: ``edge.node1``'s side gets R,
    ``edge.node2``'s side gets the isometry Q. See :func:`svd`."""
    return _edge_split(edge, "rq", "left", None, None, None, inplace=False)


def rq_(edge: Edge) -> Pair:
    """In-place :func:`rq`; see :func:`svd_`."""
    return _edge_split(edge, "rq", "left", None, None, None, inplace=True)
