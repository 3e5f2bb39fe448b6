"""Tensor-like operations: `permute`, `permute_`, `tprod`, `mul`, `div`, `add`, `sub`,
`renormalize` and `conj`.

Each result is a resultant ``Node`` (``StackNode`` for ``renormalize`` of a stack) that
shares the operands' Edge objects. The first call validates and plans a
:class:`~torchtn.ops._operation.Kernel`; cached calls only run it.

Differences from TensorKrowch (documented fixes):

* ``mul``/``div``/``add``/``sub`` with a number or tensor keep that operand in the
  successor's kernel, so ``forward`` replays them (TensorKrowch raised TypeError).
* Broadcasting that would change a non-batch dimension of ``node1`` raises ValueError
  (TensorKrowch silently cropped the result).
* ``permute_`` on a resultant node raises ValueError (TensorKrowch recursed forever).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any, Union

import torch

from torchtn._utils import inverse_permutation
from torchtn.core.kernel import IdentityKernel, Kernel, Order
from torchtn.core.memory import read
from torchtn.core.node import AbstractNode, Node
from torchtn.core.stack_node import StackNode, is_stack_node
from torchtn.core.successor import Successor
from torchtn.errors import TNTypeError, TNValueError
from torchtn.ops._operation import builtin, record, run
from torchtn.typing import Ax

__all__ = [
    "permute",
    "permute_",
    "tprod",
    "mul",
    "div",
    "add",
    "sub",
    "renormalize",
    "conj",
    "permute_op",
    "tprod_op",
    "mul_op",
    "div_op",
    "add_op",
    "sub_op",
    "renormalize_op",
    "conj_op",
]

_MISSING: Any = object()


def _lookup(node: AbstractNode, op_name: str, key: tuple):
    succs = node.successors.get(op_name)
    if succs is None:
        return None
    return succs.get(key)


_next = run  # a cached call needs only its successor


def _like(cls: type, node: AbstractNode, name: str, tensor: torch.Tensor) -> AbstractNode:
    """A resultant with ``node``'s axes names, edges and node1 flags."""
    return cls._create_resultant(
        axes_names=node.axes_names,
        name=name,
        network=node.network,
        tensor=tensor,
        edges=list(node.edges),
        node1_list=node.is_node1(),
    )


def _resolve_permutation(node: AbstractNode, axes: Sequence[Ax]) -> list[int]:
    nums = [node.get_axis_num(a) for a in axes]
    if sorted(nums) != list(range(len(nums))):
        raise TNValueError(
            f"Axes {list(axes)!r} are not a permutation of the axes of node {node.name!r}"
        )
    return nums


# -- permute --------------------------------------------------------------------------------
class PermuteKernel(Kernel):
    """``t.permute(perm)``; in a replay the permutation is free: the input passes
    through and only its recorded axis order changes (:meth:`relayout`)."""

    def __init__(self, perm: Sequence[int]) -> None:
        super().__init__(name="permute")
        self.perm = tuple(perm)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return t.permute(self.perm)

    def relayout(self, orders: Sequence[Order]) -> Kernel:
        inv = inverse_permutation(self.perm)
        order = orders[0]
        return IdentityKernel(tuple(inv) if order is None else tuple(inv[a] for a in order))


def _permute_check(node: AbstractNode, axes: Sequence[Ax]):
    return _lookup(node, "permute", (node, tuple(axes)))


def _permute_first(node: AbstractNode, axes: Sequence[Ax]) -> Node:
    nums = _resolve_permutation(node, axes)
    kernel = PermuteKernel(nums)
    tensor = kernel.eager(read(node))
    names, edges, flags = node.axes_names, node.edges, node.is_node1()
    child = Node._create_resultant(
        axes_names=[names[i] for i in nums],
        name="permute",
        network=node.network,
        tensor=tensor,
        edges=[edges[i] for i in nums],
        node1_list=[flags[i] for i in nums],
    )
    record("permute", (node, tuple(axes)), node, (node,), child, kernel, hints=nums, single=True)
    return child


permute_op = builtin("permute", _permute_check, _permute_first, _next)


def permute(node: AbstractNode, axes: Sequence[Ax]) -> Node:
    """Permute the axes of ``node`` (``result`` axis ``i`` is ``node`` axis ``axes[i]``).

    Args:
        node: Node to permute (not a stack).
        axes: Every axis of ``node`` once (positions, names or Axis objects).

    Returns:
        A resultant ``Node`` named ``permute`` with the permuted tensor, axes names,
        edges and node1 flags.

    Raises:
        ValueError: If ``axes`` is not a permutation, or ``node`` is a stack.
        IndexError: If an axis does not exist.

    Examples:
        >>> node = tk.randn((2, 5, 7), axes_names=('left', 'input', 'right'))
        >>> tk.permute(node, (2, 0, 1)).shape
        torch.Size([7, 2, 5])
    """
    return permute_op(node, axes)


def permute_(node: AbstractNode, axes: Sequence[Ax]) -> Node:
    """In-place :func:`permute`: a new leaf ``Node`` replaces ``node``.

    The new node keeps ``node``'s name, takes over its edges (neighbours point to it)
    and holds the permuted tensor *detached* (a ParamNode becomes a plain Node; call
    ``parameterize()`` to make it trainable again). Nothing is recorded for replay.

    Args:
        node: Leaf, data or virtual node to permute.
        axes: Every axis of ``node`` once.

    Returns:
        The new node.

    Raises:
        ValueError: If ``axes`` is not a permutation, or ``node`` is resultant.
        IndexError: If an axis does not exist.
    """
    if node.is_resultant():
        raise TNValueError(
            f"permute_ cannot be applied to resultant node {node.name!r}; use permute"
        )
    nums = _resolve_permutation(node, axes)
    tensor = node.tensor
    shape = [node.shape[i] for i in nums]
    if tensor is not None:
        tensor = tensor.permute(nums).detach()
    names, edges, flags = node.axes_names, node.edges, node.is_node1()
    return Node(
        shape=None if tensor is not None else shape,
        axes_names=[names[i] for i in nums],
        name=node.name,
        network=node.network,
        override_node=True,
        tensor=tensor,
        edges=[edges[i] for i in nums],
        override_edges=True,
        node1_list=[flags[i] for i in nums],
    )


# -- tprod ----------------------------------------------------------------------------------
def _outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a.reshape(a.shape + (1,) * b.dim()) * b


def _tprod_check(node1: AbstractNode, node2: AbstractNode):
    return _lookup(node1, "tprod", (node1, node2))


def _tprod_first(node1: AbstractNode, node2: AbstractNode) -> Node:
    if node1.network is not node2.network:
        raise TNValueError(f"Nodes {node1.name!r} and {node2.name!r} must be in the same network")
    if any(node2 is n for n in node1.neighbours()):
        raise TNValueError(
            f"Tensor product cannot be performed between connected nodes {node1.name!r} "
            f"and {node2.name!r}"
        )
    kernel = Kernel(_outer)
    tensor = kernel.eager(read(node1), read(node2))
    child = Node._create_resultant(
        axes_names=node1.axes_names + node2.axes_names,
        name="tprod",
        network=node1.network,
        tensor=tensor,
        edges=node1.edges + node2.edges,
        node1_list=node1.is_node1() + node2.is_node1(),
    )
    record("tprod", (node1, node2), node1, (node1, node2), child, kernel)
    return child


tprod_op = builtin("tprod", _tprod_check, _tprod_first, _next)


def tprod(node1: AbstractNode, node2: AbstractNode) -> Node:
    """Tensor (outer) product of two unconnected nodes (``node1 % node2``).

    Returns:
        A resultant ``Node`` named ``tprod`` of shape ``node1.shape + node2.shape``
        holding both nodes' edges.

    Raises:
        ValueError: If the nodes are in different networks or connected.

    Examples:
        >>> a = tk.randn((2, 3)); b = tk.randn((4,), network=a.network)
        >>> (a % b).shape
        torch.Size([2, 3, 4])
    """
    return tprod_op(node1, node2)


# -- mul / div / add / sub ------------------------------------------------------------------
class _WithValue:
    """``op(tensor, value)`` where ``value`` (number or tensor) may change between calls."""

    __slots__ = ("op", "value")

    def __init__(self, op: Callable, value: Any) -> None:
        self.op = op
        self.value = value

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return self.op(t, self.value)


def _check_broadcast(node1: AbstractNode, tensor: torch.Tensor, op_name: str) -> None:
    shape = node1.shape
    bad = tensor.dim() != len(shape) or any(
        not ax.is_batch() and tensor.shape[i] != shape[i] for i, ax in enumerate(node1.axes)
    )
    if bad:
        raise TNValueError(
            f"{op_name}: broadcasting gives shape {tuple(tensor.shape)}, which changes a "
            f"non-batch dimension of node {node1.name!r} {tuple(shape)}"
        )


_VALUE_TYPES = frozenset({float, int, complex, bool, torch.Tensor, torch.nn.Parameter})


def _is_node(value: Any) -> bool:
    # Exact-type fast path before the (ABC) isinstance check.
    return value.__class__ not in _VALUE_TYPES and isinstance(value, AbstractNode)


class _Arith:
    """One element-wise operation (``mul``, ``div``, ``add``, ``sub``)."""

    __slots__ = ("name", "fn", "op")

    def __init__(self, name: str, fn: Callable) -> None:
        self.name = name
        self.fn = fn
        self.op = builtin(name, self._check_first, self._first, self._next)

    def _check_first(self, node1: AbstractNode, node2: Any = _MISSING):
        key = (node1, node2) if _is_node(node2) else (node1,)
        return _lookup(node1, self.name, key)

    def _first(self, node1: AbstractNode, node2: Any = _MISSING) -> Node:
        name = self.name
        if node2 is _MISSING:
            raise TNTypeError(f"{name}() missing the second operand")
        is_node = _is_node(node2)
        if is_node:
            if node1.network is not node2.network:
                raise TNValueError(
                    f"Nodes {node1.name!r} and {node2.name!r} must be in the same network"
                )
            kernel = Kernel(self.fn)
            operands: tuple = (node1, node2)
            key: tuple = (node1, node2)
            tensor = kernel.eager(read(node1), read(node2))
        else:
            kernel = Kernel(_WithValue(self.fn, node2), name=name)
            operands = key = (node1,)
            tensor = kernel.eager(read(node1))
        _check_broadcast(node1, tensor, name)
        child = _like(Node, node1, name, tensor)
        record(name, key, node1, operands, child, kernel, hints=is_node)
        return child

    def _next(self, succ: Successor, node1: AbstractNode, node2: Any = _MISSING) -> Node:
        # node2 is missing when the network replays the recorded key ``(node1,)``.
        if not succ.hints and node2 is not _MISSING:
            succ._run.fn.value = node2
        return run(succ)


_mul = _Arith("mul", torch.mul)
_div = _Arith("div", torch.div)
_add = _Arith("add", torch.add)
_sub = _Arith("sub", torch.sub)
mul_op, div_op, add_op, sub_op = _mul.op, _div.op, _add.op, _sub.op

Operand = Union[AbstractNode, torch.Tensor, Number]


def mul(node1: AbstractNode, node2: Operand) -> Node:
    """Element-wise product ``node1 * node2`` (node, tensor or number; broadcasting).

    With a tensor or number the successor is keyed ``(node1,)``, so later calls with
    another value return the same node holding the new product.

    Returns:
        A resultant ``Node`` named ``mul`` with ``node1``'s axes and edges.

    Raises:
        ValueError: If ``node2`` is a node of another network, or broadcasting would
            change a non-batch dimension of ``node1``.
    """
    return mul_op(node1, node2)


def div(node1: AbstractNode, node2: Operand) -> Node:
    """Element-wise quotient ``node1 / node2``; see :func:`mul`."""
    return div_op(node1, node2)


def add(node1: AbstractNode, node2: Operand) -> Node:
    """Element-wise sum ``node1 + node2``; see :func:`mul`."""
    return add_op(node1, node2)


def sub(node1: AbstractNode, node2: Operand) -> Node:
    """Element-wise difference ``node1 - node2``; see :func:`mul`."""
    return sub_op(node1, node2)


# -- renormalize ----------------------------------------------------------------------------
class _Renormalize:
    __slots__ = ("p", "dims")

    def __init__(self, p: Union[int, float], dims: list[int]) -> None:
        self.p = p
        self.dims = dims

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        norm = t.norm(p=self.p, dim=self.dims, keepdim=True)
        norm = torch.where(norm == 0.0, 1.0, norm)
        return t / norm


def _axis_key(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _renormalize_check(node: AbstractNode, p: Union[int, float] = 2, axis: Any = None):
    return _lookup(node, "renormalize", (node, p, _axis_key(axis)))


def _renormalize_first(
    node: AbstractNode, p: Union[int, float] = 2, axis: Any = None
) -> AbstractNode:
    if axis is None:
        dims: list[int] = []
    elif isinstance(axis, (list, tuple)):
        dims = [node.get_axis_num(a) for a in axis]
    else:
        dims = [node.get_axis_num(axis)]
    kernel = Kernel(_Renormalize(p, dims), name="renormalize")
    tensor = kernel.eager(read(node))
    cls = StackNode if is_stack_node(node) else Node
    child = _like(cls, node, "renormalize", tensor)
    key = (node, p, _axis_key(axis))
    record("renormalize", key, node, (node,), child, kernel, hints=dims, single=True)
    return child


renormalize_op = builtin("renormalize", _renormalize_check, _renormalize_first, _next)


def renormalize(
    node: AbstractNode, p: Union[int, float] = 2, axis: Union[Ax, Sequence[Ax]] | None = None
) -> AbstractNode:
    """Divide ``node`` by its ``p``-norm over ``axis`` (all axes if None).

    Zero norms are replaced by 1, so all-zero slices stay zero.

    Args:
        node: Node or stack node.
        p: Order of the norm.
        axis: An axis, a list/tuple of axes, or None (every axis).

    Returns:
        A resultant named ``renormalize``: a ``StackNode`` for stack inputs, else a
        ``Node``.

    Raises:
        IndexError: If an axis does not exist.
    """
    return renormalize_op(node, p, axis)


# -- conj -----------------------------------------------------------------------------------
def _conj_check(node: AbstractNode):
    return _lookup(node, "conj", (node,))


def _conj_first(node: AbstractNode) -> Node:
    kernel = Kernel(torch.conj)
    tensor = kernel.eager(read(node))
    child = _like(Node, node, "conj", tensor)
    record("conj", (node,), node, (node,), child, kernel, single=True)
    return child


conj_op = builtin("conj", _conj_check, _conj_first, _next)


def conj(node: AbstractNode) -> Node:
    """Complex conjugate of ``node`` (a lazy conjugate view; real tensors unchanged).

    Returns:
        A resultant ``Node`` named ``conj`` with ``node``'s axes and edges.
    """
    return conj_op(node)
