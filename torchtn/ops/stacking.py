"""`stack` and `unbind`, with the memory tricks of auto_stack and auto_unbind.

* auto_stack: leaves stacked as their first operation hand their memory to the stack
  (a virtual ``virtual_result_stack`` ParamStackNode for ParamNodes), so later stacks
  compute nothing.
* Stacks of nodes that are all slices of one stack reference it (no copy).
* Stacks of the data nodes of ``stack_data_memory`` (slices 0..n-1 in order) are that
  memory itself: no per-call copy.
* auto_unbind: unbound nodes index into the stack instead of owning slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn._utils import list2slice
from torchtn.core import memory
from torchtn.core.edge import StackEdge
from torchtn.core.kernel import Kernel, Order, is_identity
from torchtn.core.memory import read
from torchtn.core.node import AbstractNode, Node, ParamNode
from torchtn.core.stack_node import (
    ParamStackNode,
    StackNode,
    _check_stackable,
    is_stack_node,
    stack_padded,
)
from torchtn.errors import TNTypeError, TNValueError
from torchtn.ops._operation import builtin, record, run

__all__ = ["stack", "unbind", "stack_op", "unbind_op", "StackKernel", "UnbindKernel"]


class StackKernel(Kernel):
    """``torch.stack`` of the operands (zero-padded at the front when ``pads``).

    Args:
        pads: Whether the operands' shapes differ (see :func:`stack_padded`).
        order: Axis order every operand is stored in (None: node order); the stack is
            then stored in ``(0, 1 + order...)``.
    """

    def __init__(self, pads: bool = False, order: Order = None) -> None:
        self.pads = pads
        self.order = order
        out = None if is_identity(order) else (0,) + tuple(1 + a for a in order)
        super().__init__(out_orders=(out,), name="stack")

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        return stack_padded(tensors) if self.pads else torch.stack(tensors)

    def relayout(self, orders: Sequence[Order]) -> Kernel | None:
        if self.pads or any(o != orders[0] for o in orders):
            return super().relayout(orders)  # mixed layouts: back to node order first
        return StackKernel(False, orders[0])


class UnbindKernel(Kernel):
    """``x.unbind(stack axis)``, each slice cropped to its node's sizes when ``crops``.

    Args:
        n: Number of slices.
        crops: One index per slice (unequal member shapes), or None.
        order: Axis order the stack is stored in (None: node order); the slices are
            then stored in that order without the stack axis.
    """

    def __init__(self, n: int, crops: list | None = None, order: Order = None) -> None:
        self.n, self.crops, self.order = n, crops, order
        rest = None if is_identity(order) else tuple(a - 1 for a in order if a != 0)
        if is_identity(rest):
            rest = None
        super().__init__(out_orders=(rest,) * n, multi=True, name="unbind")
        self.uniform = crops is None

    def __call__(self, x: torch.Tensor) -> Any:
        if self.order is not None:
            return x.unbind(list(self.order).index(0))
        parts = x.unbind(0)
        if self.crops is None:
            return parts
        return [p[c] for p, c in zip(parts, self.crops, strict=False)]

    def relayout(self, orders: Sequence[Order]) -> Kernel | None:
        if is_identity(orders[0]):
            return self
        if self.crops is not None:
            return None  # crops index node order: the stack goes back to it first
        return UnbindKernel(self.n, None, orders[0])


# -- stack ---------------------------------------------------------------------------------
def _stack_check_first(nodes):
    if nodes.__class__ is not list and nodes.__class__ is not tuple:
        if isinstance(nodes, AbstractNode) or not isinstance(nodes, Sequence):
            raise TNTypeError(f"`nodes` should be a sequence of nodes, got {type(nodes).__name__}")
    if len(nodes) == 0:
        raise TNValueError("`nodes` should be a non-empty sequence of nodes")
    first = nodes[0]
    if not isinstance(first, AbstractNode):
        raise TNTypeError(f"`nodes[0]` should be a node, got {type(first).__name__}")
    succs = first.successors.get("stack")
    if succs is None:
        return None
    return succs.get((tuple(nodes),))


def _member_slices(node: AbstractNode, max_shape: Sequence[int]) -> list:
    return [
        slice(0, None) if ax.is_batch() else slice(m - d, m)
        for ax, m, d in zip(node.axes, max_shape, node.shape, strict=False)
    ]


def _stack_first(nodes):
    _check_stackable(nodes)
    net = nodes[0].network
    key = (tuple(nodes),)
    owns = [memory.owns(n) for n in nodes]
    refs = [None if o else memory.owner(n) for n, o in zip(nodes, owns, strict=True)]
    all_leaf = all(n.is_leaf() for n in nodes)
    all_param = all(isinstance(n, ParamNode) for n in nodes)
    all_non_param = all(not isinstance(n, ParamNode) for n in nodes)
    all_same_ref = not any(owns) and all(r is refs[0] for r in refs) and is_stack_node(refs[0])
    # Fixed TK quirk: any member referencing a non-stack owner disables auto-stacking.
    node_ref_is_stack = all(o or is_stack_node(r) for o, r in zip(owns, refs, strict=True))
    shapes = [n.shape for n in nodes]
    max_shape = [max(d) for d in zip(*shapes, strict=False)]
    same_dims = all(s == shapes[0] for s in shapes)
    axes_names = ["stack"] + nodes[0].axes_names
    hints = {
        "all_same_ref": all_same_ref,
        "all_leaf": all_leaf,
        "same_dims": same_dims,
        "auto_stack": net.auto_stack,
    }

    if all_same_ref:
        owner = refs[0]
        positions = []
        for n in nodes:
            idx = memory.index(n)
            positions.append(idx[0] if isinstance(idx, list) else idx)
        sel = list2slice(positions)
        base = read(owner)
        index = [sel]
        owner_max = list(owner.shape[1:])
        if list(max_shape) != owner_max:
            index += [
                slice(0, None) if ax.is_batch() else slice(m - d, m)
                for ax, m, d in zip(nodes[0].axes, owner_max, max_shape, strict=False)
            ]
        tensor = base[memory.as_index(index)]
        child = _new_stack(nodes, axes_names, net, tensor)
        memory.share(child, owner, index)
        record("stack", key, nodes[0], nodes, child, None, hints)
        return child

    if net.auto_stack and all_leaf and (all_param or all_non_param) and node_ref_is_stack:
        if all_param:
            child = ParamStackNode(nodes, name="virtual_result_stack", virtual=True)
            net._folded_parameters(nodes, child)
        else:
            child = _new_stack(nodes, axes_names, net, stack_padded([n.tensor for n in nodes]))
        for i, n in enumerate(nodes):
            memory.share(n, child, [i] + _member_slices(n, max_shape))
        record("stack", key, nodes[0], nodes, child, None, hints)
        return child

    # Data nodes that are consecutive slices start..start+n-1 of one memory (e.g. of
    # ``stack_data_memory``): the stack is a view of that memory, computed by nobody.
    owner = refs[0]
    positions = [memory.index(n) for n in nodes]
    if (
        same_dims
        and not any(owns)
        and all(r is owner for r in refs)
        and not is_stack_node(owner)
        and all(type(p) is int for p in positions)
        and positions == list(range(positions[0], positions[0] + len(nodes)))
    ):
        start, stop = positions[0], positions[0] + len(nodes)
        whole = start == 0 and stop == owner.shape[0]
        view = [slice(start, stop)]
        tensor = read(owner) if whole else read(owner)[start:stop]
        child = _new_stack(nodes, axes_names, net, tensor)
        memory.share(child, owner, None if whole else view)
        record("stack", key, nodes[0], nodes, child, None, hints)
        return child

    kernel = StackKernel(pads=not same_dims)
    tensor = kernel.eager(*[read(n) for n in nodes])
    child = _new_stack(nodes, axes_names, net, tensor)
    record("stack", key, nodes[0], nodes, child, kernel, hints)
    return child


def _new_stack(nodes, axes_names, net, tensor) -> StackNode:
    """A resultant StackNode named ``stack`` whose StackEdges list the members' edges."""
    rank = nodes[0].rank
    child = StackNode.__new__(StackNode)
    child._leaf = False
    child._stack_lists = [None] + [
        ([n.edges[i] for n in nodes], [n.axes[i].is_node1() for n in nodes]) for i in range(rank)
    ]
    Node.__init__(child, axes_names=axes_names, name="stack", network=net, tensor=tensor)
    return child


def _stack_next(succ, nodes):
    child = run(succ)
    if succ._run is None and not memory.owns(child):  # a view: follow its owner's shape
        child._shape = memory.view_shape(child)
    return child


stack_op = builtin("stack", _stack_check_first, _stack_first, _stack_next)


def stack(nodes: Sequence[AbstractNode]) -> StackNode:
    """Stack nodes of equal rank and axes names along a new ``stack`` axis 0.

    Unequal shapes are zero-padded at the front of each dimension. Under
    ``auto_stack`` (default) stacking leaves hands their memory to the stack.

    Raises:
        ValueError: Empty ``nodes``, different ranks, axes names or networks.
        TypeError: Stack nodes inside, or mixed Node/ParamNode.
    """
    return stack_op(nodes)


# -- unbind --------------------------------------------------------------------------------
def _unbind_check_first(node):
    succs = node.successors.get("unbind") if isinstance(node, AbstractNode) else None
    if succs is None:
        return None
    return succs.get((node,))


def _unbind_first(node):
    if not isinstance(node, AbstractNode):
        raise TNTypeError(f"unbind takes a stack node, got {type(node).__name__}")
    if not is_stack_node(node):
        raise TNTypeError(
            f"Node {node.name!r} is not a stack node: only StackNode/ParamStackNode can be unbound"
        )
    net = node.network
    t = read(node)
    n = node.shape[0]
    names = node.axes_names[1:]
    per_child = []
    for i in range(n):
        edges, flags = [], []
        for _ax, e in zip(node.axes[1:], node.edges[1:], strict=False):
            if isinstance(e, StackEdge):
                edges.append(e.edges[i])
                flags.append(e.node1_list[i])
            else:
                edges.append(e)
                flags.append(True)
        per_child.append((edges, flags))
    batch_flags = [ax.is_batch() for ax in node.axes[1:]]
    full = list(node.shape[1:])
    sizes = []
    for edges, _ in per_child:
        sizes.append(
            [m if b else e.size() for b, m, e in zip(batch_flags, full, edges, strict=False)]
        )
    same_dims = all(s == full for s in sizes)
    crops = (
        None
        if same_dims
        else [
            tuple(
                slice(0, None) if b else slice(m - d, m)
                for b, m, d in zip(batch_flags, full, s, strict=False)
            )
            for s in sizes
        ]
    )
    slices = t.unbind(0)
    children = []
    for i, (edges, flags) in enumerate(per_child):
        ti = slices[i] if crops is None else slices[i][crops[i]]
        children.append(
            Node._create_resultant(
                axes_names=names,
                name="unbind",
                network=net,
                tensor=ti,
                edges=edges,
                node1_list=flags,
            )
        )
    hints = {
        "batch_ids": [k for k, b in enumerate(batch_flags) if b],
        "same_dims": same_dims,
        "lst_crops": crops,
    }
    if net.auto_unbind:
        owner, base = memory.owner(node), memory.index(node)
        for i, c in enumerate(children):
            pos = i
            outer: list = []
            if base is not None:
                first = base[0] if isinstance(base, list) else base
                if isinstance(first, slice):
                    pos = range(*first.indices(owner.shape[0]))[i]
                elif isinstance(first, list):
                    pos = first[i]
                else:
                    pos = first
                if isinstance(base, list):
                    outer = list(base[1:])
            # As TensorKrowch: [position] + one slice per axis (batch axes whole, others
            # the last ``size`` entries), composed with the stack's own slices.
            rest = []
            for k, (b, m, d) in enumerate(zip(batch_flags, full, sizes[i], strict=True)):
                sl = slice(0, None) if b else slice(m - d, m)
                if k < len(outer) and not b:
                    start = outer[k].start or 0
                    sl = slice(start + sl.start, start + sl.stop)
                elif k < len(outer):
                    sl = outer[k]
                rest.append(sl)
            index = [pos] + rest
            memory.share(c, owner, index[0] if len(index) == 1 else index)
        record("unbind", (node,), node, (node,), children, None, hints, single=True)
        return list(children)

    kernel = UnbindKernel(n, crops)
    record("unbind", (node,), node, (node,), children, kernel, hints, single=True)
    return list(children)


def _unbind_next(succ, node):
    children = run(succ)
    if succ._run is None:  # auto_unbind: only batch sizes may have changed
        shape = node.shape
        for c in children:
            c._shape = torch.Size(
                shape[k + 1] if c.axes[k].is_batch() else s for k, s in enumerate(c.shape)
            )
    return list(children)


unbind_op = builtin("unbind", _unbind_check_first, _unbind_first, _unbind_next)


def unbind(node: AbstractNode) -> list[Node]:
    """Split a stack node along its ``stack`` axis into nodes (a new list each call).

    Raises:
        TypeError: If ``node`` is not a stack node.
    """
    return unbind_op(node)
