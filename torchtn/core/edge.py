"""Edges: `Edge`, `StackEdge`, and the functions `connect`, `connect_stack`, `disconnect`.

An edge joins axis ``axis1`` of ``node1`` with axis ``axis2`` of ``node2`` (None when
dangling). ``_nodes``/``_axes`` are lists indexed by node1 flags (``edge._nodes[flag]``
is the *other* end seen from a node whose flag is ``flag``), as TensorKrowch code
expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from torchtn.core.axis import Axis
from torchtn.core.registry import function as _op
from torchtn.errors import TNTypeError, TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["Edge", "StackEdge", "connect", "connect_stack", "disconnect"]

_NODE_CLS = None


def _abstract_node():
    global _NODE_CLS
    if _NODE_CLS is None:
        from torchtn.core.node import AbstractNode

        _NODE_CLS = AbstractNode
    return _NODE_CLS


def _resolve_axis(node, axis, which: str) -> Axis:
    if not isinstance(axis, (int, str, Axis)):
        raise TNTypeError(
            f"Edge: `{which}` of node {node._name!r} should be int, str or Axis, got {axis!r} "
            f"({type(axis).__name__})"
        )
    return axis if isinstance(axis, Axis) else node.get_axis(axis)


class Edge:
    """A connection between two node axes, or a dangling axis of one node.

    Args:
        node1: First node.
        axis1: Axis of ``node1``.
        node2: Second node (None for a dangling edge).
        axis2: Axis of ``node2``.

    Raises:
        TypeError: If nodes or axes have the wrong types.
        ValueError: If only one of ``node2``/``axis2`` is given, sizes differ, or both
            ends are the same axis.
    """

    __slots__ = ("_nodes", "_axes", "__weakref__")

    def __init__(
        self,
        node1: AbstractNode,
        axis1: Any,
        node2: AbstractNode | None = None,
        axis2: Any = None,
    ) -> None:
        node_cls = _abstract_node()
        if not isinstance(node1, node_cls):
            raise TNTypeError(f"`node1` should be AbstractNode, got {type(node1).__name__}")
        axis1 = _resolve_axis(node1, axis1, "axis1")
        if (node2 is None) != (axis2 is None):
            raise TNValueError("`node2` and `axis2` must both be given or both be None")
        if node2 is not None:
            if not isinstance(node2, node_cls):
                raise TNTypeError(f"`node2` should be AbstractNode, got {type(node2).__name__}")
            axis2 = _resolve_axis(node2, axis2, "axis2")
            s1, s2 = node1._shape[axis1._num], node2._shape[axis2._num]
            if s1 != s2:
                raise TNValueError(
                    f"Cannot connect axes of different sizes: {node1._name}[{axis1._name}] has "
                    f"size {s1}, {node2._name}[{axis2._name}] has size {s2}"
                )
            if node1 is node2 and axis1 is axis2:
                raise TNValueError(
                    f"Cannot connect axis {axis1._name!r} of {node1._name!r} with itself"
                )
        self._nodes = [node1, node2]
        self._axes = [axis1, axis2]

    @classmethod
    def _dangling(cls, node: AbstractNode, axis: Axis) -> Edge:
        # Internal fast constructor: the node's own fresh edge (no checks needed).
        e = cls.__new__(cls)
        e._nodes = [node, None]
        e._axes = [axis, None]
        return e

    # -- properties ------------------------------------------------------------------------
    @property
    def node1(self) -> AbstractNode:
        """First node of the edge."""
        return self._nodes[0]

    @property
    def node2(self) -> AbstractNode | None:
        """Second node (None if dangling)."""
        return self._nodes[1]

    @property
    def nodes(self) -> list:
        """``[node1, node2]`` (live list)."""
        return self._nodes

    @property
    def axis1(self) -> Axis:
        """Axis of node1."""
        return self._axes[0]

    @property
    def axis2(self) -> Axis | None:
        """Axis of node2 (None if dangling)."""
        return self._axes[1]

    @property
    def axes(self) -> list:
        """``[axis1, axis2]`` (live list)."""
        return self._axes

    @property
    def name(self) -> str:
        """``node1[axis1] <-> node2[axis2]`` (or ``<-> None``)."""
        n1, n2 = self._nodes
        a1, a2 = self._axes
        right = "None" if n2 is None else f"{n2._name}[{a2._name}]"
        return f"{n1._name}[{a1._name}] <-> {right}"

    def is_dangling(self) -> bool:
        """Whether the edge has no second node."""
        return self._nodes[1] is None

    def is_batch(self) -> bool:
        """Whether axis1 is a batch axis."""
        return self._axes[0]._batch

    def is_attached_to(self, node: AbstractNode) -> bool:
        """Whether ``node`` is one of the edge's ends."""
        return self._nodes[0] is node or self._nodes[1] is node

    def size(self) -> int:
        """Size of the edge (read on node1)."""
        return self._nodes[0]._shape[self._axes[0]._num]

    def change_size(self, size: int) -> None:
        """Resize both ends (cropping keeps the first entries; growing zero-pads at the end).

        Raises:
            TypeError: If ``size`` is not an int.
            ValueError: If ``size`` is not positive.
        """
        if not isinstance(size, int) or isinstance(size, bool):
            raise TNTypeError(
                f"New size of edge {self.name!r} should be int, got {size!r} "
                f"({type(size).__name__})"
            )
        if size <= 0:
            raise TNValueError(f"New size of edge {self.name!r} must be positive, got {size}")
        if self._nodes[1] is not None:
            self._nodes[1]._change_axis_size(self._axes[1], size)
        self._nodes[0]._change_axis_size(self._axes[0], size)

    def copy(self) -> Edge:
        """A new plain :class:`Edge` with the same ends (not attached to the nodes)."""
        e = Edge.__new__(Edge)
        e._nodes = list(self._nodes)
        e._axes = list(self._axes)
        return e

    def connect(self, other: Edge) -> Edge:
        """Same as :func:`connect`."""
        return connect(self, other)

    def disconnect(self) -> tuple:
        """Same as :func:`disconnect`."""
        return disconnect(self)

    def __xor__(self, other: Edge) -> Edge:
        return self.connect(other)

    def __or__(self, other: Edge) -> tuple:
        if other is self:
            return self.disconnect()
        raise TNValueError(f"Edge {self.name!r} can only be disconnected with itself (`e | e`)")

    # -- operations (functions in torchtn.ops) ---------------------------------------------
    def contract(self):
        """Same as :func:`torchtn.ops.contract`."""
        return _op("contract")(self)

    def contract_(self):
        """Same as :func:`torchtn.ops.contract_`."""
        return _op("contract_")(self)

    def svd(self, side="left", rank=None, cum_percentage=None, cutoff=None):
        """Same as :func:`torchtn.ops.svd`."""
        return _op("svd")(self, side, rank, cum_percentage, cutoff)

    def svd_(self, side="left", rank=None, cum_percentage=None, cutoff=None):
        """Same as :func:`torchtn.ops.svd_`."""
        return _op("svd_")(self, side, rank, cum_percentage, cutoff)

    def svdr(self, side="left", rank=None, cum_percentage=None, cutoff=None):
        """Same as :func:`torchtn.ops.svdr`."""
        return _op("svdr")(self, side, rank, cum_percentage, cutoff)

    def svdr_(self, side="left", rank=None, cum_percentage=None, cutoff=None):
        """Same as :func:`torchtn.ops.svdr_`."""
        return _op("svdr_")(self, side, rank, cum_percentage, cutoff)

    def qr(self):
        """Same as :func:`torchtn.ops.qr`."""
        return _op("qr")(self)

    def qr_(self):
        """Same as :func:`torchtn.ops.qr_`."""
        return _op("qr_")(self)

    def rq(self):
        """Same as :func:`torchtn.ops.rq`."""
        return _op("rq")(self)

    def rq_(self):
        """Same as :func:`torchtn.ops.rq_`."""
        return _op("rq_")(self)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        suffix = ""
        if self.is_batch():
            suffix = "  (Batch Edge)"
        elif self.is_dangling():
            suffix = "  (Dangling Edge)"
        return f"{self.__class__.__name__}( {self.name} ){suffix}"


class StackEdge(Edge):
    """Edge of a stack node: remembers the stacked nodes' edges at that axis.

    Args:
        edges: The stacked nodes' edges at this axis.
        node1_list: The stacked nodes' node1 flags at this axis.
        node1, axis1, node2, axis2: As in :class:`Edge`.
    """

    __slots__ = ("_edges", "_node1_list")

    def __init__(
        self,
        edges: list[Edge],
        node1_list: list[bool],
        node1: AbstractNode,
        axis1: Any,
        node2: AbstractNode | None = None,
        axis2: Any = None,
    ) -> None:
        self._edges = edges
        self._node1_list = node1_list
        super().__init__(node1, axis1, node2, axis2)

    @property
    def edges(self) -> list[Edge]:
        """The stacked nodes' edges at this axis."""
        return self._edges

    @property
    def node1_list(self) -> list[bool]:
        """The stacked nodes' node1 flags at this axis."""
        return self._node1_list

    def connect(self, other: StackEdge) -> StackEdge:
        """Same as :func:`connect_stack`."""
        return connect_stack(self, other)


def _check_connectable(edge: Edge, which: str) -> None:
    if edge._nodes[1] is not None:
        raise TNValueError(
            f"Cannot connect {which} {edge.name!r}: it is not dangling (disconnect it first)"
        )
    if edge._axes[0]._batch:
        raise TNValueError(
            f"Cannot connect {which} {edge.name!r}: batch edges (axis "
            f"{edge._axes[0]._name!r}) cannot be connected"
        )


def connect(edge1: Edge, edge2: Edge) -> Edge:
    """Connect two dangling, non-batch edges of equal size.

    If the nodes are in different networks, ``edge2``'s node (and its connected
    component) moves into ``edge1``'s network.

    Returns:
        The new edge, attached to both nodes.
    """
    if isinstance(edge1, StackEdge) or isinstance(edge2, StackEdge):
        raise TNTypeError("Cannot connect stack edges with `connect`; use `connect_stack`")
    if not isinstance(edge1, Edge) or not isinstance(edge2, Edge):
        raise TNTypeError(
            f"`connect` takes two Edges, got {type(edge1).__name__} and {type(edge2).__name__}"
        )
    if edge1 is edge2:
        return edge1
    _check_connectable(edge1, "edge1")
    _check_connectable(edge2, "edge2")
    s1, s2 = edge1.size(), edge2.size()
    if s1 != s2:
        raise TNValueError(
            f"Cannot connect edges of unequal size: {edge1.name!r} has size {s1}, "
            f"{edge2.name!r} has size {s2}"
        )
    node1, axis1 = edge1._nodes[0], edge1._axes[0]
    node2, axis2 = edge2._nodes[0], edge2._axes[0]
    net = node1._network
    if net is None:
        raise TNValueError(
            f"Cannot connect {edge1!s}: node {node1._name!r} does not belong to "
            "a network (it was removed or replaced)"
        )
    if node2._network is not net:
        node2.move_to_network(net)
    net._remove_edge(edge1)
    net._remove_edge(edge2)
    new = Edge.__new__(Edge)
    new._nodes = [node1, node2]
    new._axes = [axis1, axis2]
    node1._add_edge(new, axis1, True)
    node2._add_edge(new, axis2, False)
    return new


def connect_stack(edge1: StackEdge, edge2: StackEdge) -> StackEdge:
    """Connect two stack edges whose stacked edges were pairwise connected."""
    if not isinstance(edge1, StackEdge) or not isinstance(edge2, StackEdge):
        raise TNTypeError(
            f"`connect_stack` takes two StackEdges, got {type(edge1).__name__} and "
            f"{type(edge2).__name__}"
        )
    if len(edge1._edges) != len(edge2._edges) or any(
        a is not b for a, b in zip(edge1._edges, edge2._edges, strict=True)
    ):
        raise TNValueError(
            f"Cannot connect stack edges {edge1.name!r} and {edge2.name!r}: the stacked "
            "nodes were not connected pairwise before stacking"
        )
    if edge1 is edge2:
        return edge1
    for e, which in ((edge1, "edge1"), (edge2, "edge2")):
        if e._nodes[1] is not None:
            raise TNValueError(f"{which} {e.name!r} is not dangling; disconnect it first")
    node1, axis1 = edge1._nodes[0], edge1._axes[0]
    node2, axis2 = edge2._nodes[0], edge2._axes[0]
    new = StackEdge.__new__(StackEdge)
    new._edges = edge1._edges
    new._node1_list = edge1._node1_list
    new._nodes = [node1, node2]
    new._axes = [axis1, axis2]
    node1._add_edge(new, axis1, True)
    node2._add_edge(new, axis2, False)
    return new


def disconnect(edge: Union[Edge, StackEdge]) -> tuple:
    """Split a connected edge into two dangling edges, one per end still holding it."""
    if edge._nodes[1] is None:
        raise TNValueError(f"Edge {edge.name!r} is dangling: nothing to disconnect")
    new_edges = []
    for k in (0, 1):
        node, axis = edge._nodes[k], edge._axes[k]
        if node._edges[axis._num] is not edge:
            continue
        if isinstance(edge, StackEdge):
            new = StackEdge.__new__(StackEdge)
            new._edges = edge._edges
            new._node1_list = edge._node1_list
        else:
            new = Edge.__new__(Edge)
        new._nodes = [node, None]
        new._axes = [axis, None]
        node._add_edge(new, axis, True)
        net = node._network
        if net is not None and not isinstance(new, StackEdge):
            net._refresh_edge(new)
        new_edges.append(new)
    return tuple(new_edges)
