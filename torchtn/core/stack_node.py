"""Stack nodes: `StackNode` and `ParamStackNode`, nodes made by stacking nodes.

Axis 0 (``stack``) indexes the stacked nodes; every other axis carries a
:class:`StackEdge` that remembers the stacked nodes' edges at that axis, so two stacks
whose members were connected pairwise can be connected with ``stack_a ^ stack_b``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from torchtn.core.edge import Edge, StackEdge, connect_stack
from torchtn.core.node import AbstractNode, Node, ParamNode
from torchtn.core.registry import function as _op
from torchtn.errors import TNIndexError, TNTypeError, TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.network import TensorNetwork

__all__ = ["StackNode", "ParamStackNode", "is_stack_node", "stack_padded"]


def is_stack_node(node: object) -> bool:
    """Whether ``node`` is a StackNode or ParamStackNode."""
    return isinstance(node, (StackNode, ParamStackNode))


def stack_padded(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack same-rank tensors, zero-padding each at the *front* of every dimension up to
    the element-wise maximum shape (data sits in ``slice(max - d, max)``)."""
    shapes = [t.shape for t in tensors]
    first = shapes[0]
    if all(s == first for s in shapes):
        return torch.stack(list(tensors))
    max_shape = [max(dims) for dims in zip(*shapes, strict=True)]
    out = tensors[0].new_zeros([len(tensors)] + max_shape)
    for i, t in enumerate(tensors):
        index = (i,) + tuple(slice(m - d, m) for m, d in zip(max_shape, t.shape, strict=True))
        out[index] = t
    return out


def _check_stackable(nodes: Sequence[AbstractNode]) -> None:
    if not isinstance(nodes, Sequence) or isinstance(nodes, str):
        raise TNTypeError(f"`nodes` should be a sequence of nodes, got {type(nodes).__name__}")
    if len(nodes) == 0:
        raise TNIndexError("`nodes` should be a non-empty sequence of nodes, got an empty one")
    for i, node in enumerate(nodes):
        if not isinstance(node, AbstractNode):
            raise TNTypeError(f"`nodes[{i}]` should be a node, got {type(node).__name__}")
        if is_stack_node(node):
            raise TNTypeError(f"Cannot stack stack node {node._name!r}")
    for a, b in zip(nodes, nodes[1:], strict=False):
        if not isinstance(a, type(b)):
            raise TNTypeError(
                f"Cannot stack nodes of different classes: {a._name!r} ({type(a).__name__}) "
                f"and {b._name!r} ({type(b).__name__})"
            )
        if a.rank != b.rank:
            raise TNValueError(
                f"Cannot stack nodes of different rank: {a._name!r} ({a.rank}) and "
                f"{b._name!r} ({b.rank})"
            )
        if a.axes_names != b.axes_names:
            raise TNValueError(
                f"Cannot stack nodes with different axes names: {a._name!r} {a.axes_names} "
                f"and {b._name!r} {b.axes_names}"
            )
        if a._network is not b._network:
            raise TNValueError(
                f"Cannot stack nodes of different networks: {a._name!r}, {b._name!r}"
            )
    for node in nodes:
        if node.tensor is None:
            raise _EmptyNodeError(f"Cannot stack empty node {node._name!r} (it has no tensor)")


class _EmptyNodeError(TNValueError, AttributeError):
    """Stacking an empty node (TensorKrowch failed with AttributeError there)."""


class _StackMixin:
    """Behaviour shared by StackNode and ParamStackNode."""

    _stack_lists: list  # [None] + per axis >= 1: (member edges, member node1 flags)
    _is_stack_node = True

    def _init_lists_from_nodes(self, nodes: Sequence[AbstractNode]) -> None:
        rank = nodes[0].rank
        self._stack_lists = [None] + [
            ([n._edges[i] for n in nodes], [n._axes[i]._node1 for n in nodes]) for i in range(rank)
        ]

    def _make_edge(self, axis) -> Edge:
        if axis._num == 0:
            return Edge._dangling(self, axis)
        edges, flags = self._stack_lists[axis._num]
        e = StackEdge.__new__(StackEdge)
        e._edges, e._node1_list = edges, flags
        e._nodes, e._axes = [self, None], [axis, None]
        return e

    @property
    def edges_dict(self) -> dict[str, list[Edge]]:
        """Axis name -> the stacked nodes' edges at that axis."""
        return {
            ax._name: lists[0]
            for ax, lists in zip(self._axes[1:], self._stack_lists[1:], strict=True)
        }

    @property
    def node1_lists_dict(self) -> dict[str, list[bool]]:
        """Axis name -> the stacked nodes' node1 flags at that axis."""
        return {
            ax._name: lists[1]
            for ax, lists in zip(self._axes[1:], self._stack_lists[1:], strict=True)
        }

    def reconnect(self, other: AbstractNode) -> None:
        """Connect (:func:`connect_stack`) every axis of ``self`` with the axis of ``other``
        whose stacked nodes' first edge is the same (they were connected before stacking)."""
        others = list(zip(other._edges[1:], other._stack_lists[1:], strict=True))
        for e1, (edges1, _) in zip(self._edges[1:], self._stack_lists[1:], strict=True):
            for e2, (edges2, _) in others:
                if edges1 and edges2 and edges1[0] is edges2[0]:
                    connect_stack(e1, e2)

    def __xor__(self, other: AbstractNode) -> None:
        self.reconnect(other)

    def unbind(self) -> list[Node]:
        """Same as :func:`torchtn.ops.unbind`."""
        return _op("unbind")(self)


class StackNode(_StackMixin, Node):
    """A node made by stacking nodes of equal rank and axes names along a new axis 0.

    Args:
        nodes: Nodes to stack (their memory is left untouched).
        axes_names: Required when ``nodes`` is None (operations building stacks).
        name: Node name (``stacknode`` by default).
        network: Required when ``nodes`` is None.
        override_node: Replace the node named ``name``.
        tensor: Required when ``nodes`` is None.
        edges: Required when ``nodes`` is None; ``edges[1:]`` must be StackEdges.
        node1_list: Required when ``nodes`` is None.
    """

    _default_name = "stacknode"

    def __init__(
        self,
        nodes: Sequence[AbstractNode] | None = None,
        axes_names: Sequence[str] | None = None,
        name: str | None = None,
        network: TensorNetwork | None = None,
        override_node: bool = False,
        tensor: torch.Tensor | None = None,
        edges: list[Edge] | None = None,
        node1_list: list[bool] | None = None,
    ) -> None:
        if nodes is not None:
            if isinstance(nodes, AbstractNode):
                raise TNTypeError("`nodes` should be a sequence of nodes, got a single node")
            if tensor is not None:
                raise TNValueError("Give either `nodes` or `tensor` to StackNode, not both")
            _check_stackable(nodes)
            self._init_lists_from_nodes(nodes)
            super().__init__(
                axes_names=["stack"] + nodes[0].axes_names,
                name=name,
                network=nodes[0]._network,
                override_node=override_node,
                tensor=stack_padded([n.tensor for n in nodes]),
            )
            return
        for arg, value in (
            ("axes_names", axes_names),
            ("network", network),
            ("tensor", tensor),
            ("edges", edges),
            ("node1_list", node1_list),
        ):
            if value is None:
                raise TNValueError(f"StackNode without `nodes` needs `{arg}`")
        for i, e in enumerate(edges[1:], 1):
            if not isinstance(e, StackEdge):
                raise TNTypeError(
                    f"StackNode `edges[{i}]` should be a StackEdge, got {type(e).__name__}"
                )
        self._stack_lists = [None] + [(e._edges, e._node1_list) for e in edges[1:]]
        super().__init__(
            axes_names=axes_names,
            name=name,
            network=network,
            override_node=override_node,
            tensor=tensor,
            edges=edges,
            node1_list=node1_list,
        )


class ParamStackNode(_StackMixin, ParamNode):
    """A stack of nodes whose stacked tensor is a trainable parameter.

    Args:
        nodes: Nodes to stack.
        name: Node name (``paramstacknode`` by default).
        virtual: Whether the node is virtual (as when produced by auto-stacking).
        override_node: Replace the node named ``name``.
    """

    _default_name = "paramstacknode"

    def __init__(
        self,
        nodes: Sequence[AbstractNode],
        name: str | None = None,
        virtual: bool = False,
        override_node: bool = False,
    ) -> None:
        if isinstance(nodes, AbstractNode):
            raise TNTypeError("`nodes` should be a sequence of nodes, got a single node")
        _check_stackable(nodes)
        self._init_lists_from_nodes(nodes)
        self.nodes = nodes
        super().__init__(
            axes_names=["stack"] + nodes[0].axes_names,
            name=name,
            network=nodes[0]._network,
            virtual=virtual,
            override_node=override_node,
            tensor=stack_padded(
                [n.tensor.detach() if n.tensor.requires_grad else n.tensor for n in nodes]
            ),
        )
