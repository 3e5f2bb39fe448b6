"""`Kernel`: the tensor work of one recorded operation, planned at its first call.

An operation's first call turns everything static (axis numbers, permutations, reshapes,
einsum paths) into a kernel: a callable of the operand tensors only. The same kernel runs
every later eager call of the operation and is the step the replay graph calls
(:mod:`torchtn.core.replay`), so an operation has one execution path.

Axis orders. A kernel takes its inputs in node order and may write its outputs in another
axis order (``out_orders``: tuples of node-axis positions, None for the node's own order):
a contraction can produce batch-first results that the next contraction consumes without
copies. ``kernel(*tensors)`` returns outputs in those orders; :meth:`Kernel.eager`
converts them back to node order with views, which is what a node's ``.tensor`` shows.
:meth:`Kernel.relayout` rebuilds the same computation for inputs *stored* in other axis
orders; the replay's permutation-folding pass uses it.

Kernels are picklable (a traced network pickles with its recording): the function is a
module-level function or an instance of a top-level class, never a closure, and kernels
that generate code pickle by the arguments they were planned from (``spec``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchtn._utils import inverse_permutation

__all__ = ["Kernel", "IdentityKernel", "Order", "to_order", "from_order", "is_identity"]

Order = tuple[int, ...] | None


def is_identity(order: Order) -> bool:
    """Whether ``order`` leaves the node's axis order unchanged."""
    return order is None or all(i == o for i, o in enumerate(order))


def to_order(t: torch.Tensor, order: Order) -> torch.Tensor:
    """View a node-order tensor in axis ``order``."""
    return t if is_identity(order) else t.permute(order)


def from_order(t: torch.Tensor, order: Order) -> torch.Tensor:
    """View a tensor stored in axis ``order`` back in node order."""
    return t if is_identity(order) else t.permute(inverse_permutation(order))


class Kernel:
    """A planned computation ``fn(*inputs) -> output`` (or a sequence of outputs).

    Subclasses in :mod:`torchtn.ops` plan a family of computations (pairwise
    contractions, stacks, splits...) and may override :meth:`relayout`.

    Args:
        fn: The tensor function, in the kernel's axis orders. Must be picklable.
        out_orders: Axis order of each output (None: node order).
        multi: Whether ``fn`` returns a sequence of outputs.
        name: Name shown in replay code (defaults to ``fn``'s name).

    Attributes:
        inline: A torch function equal to ``fn`` (e.g. ``torch.bmm``) that the replay
            graph calls directly instead of the kernel, or None.
        pure_identity: Whether ``fn`` returns its single input unchanged (the replay
            drops such steps).
    """

    inline: Callable | None = None
    pure_identity: bool = False

    def __init__(
        self,
        fn: Callable | None = None,
        out_orders: Sequence[Order] = (None,),
        multi: bool = False,
        name: str | None = None,
    ) -> None:
        self.fn = fn
        self.out_orders = tuple(out_orders)
        self.multi = multi
        self._node_order = all(is_identity(o) for o in self.out_orders)
        self.__name__ = name or getattr(fn, "__name__", type(self).__name__.lower())

    def __call__(self, *tensors: torch.Tensor) -> Any:
        return self.fn(*tensors)

    def eager(self, *tensors: torch.Tensor) -> Any:
        """Run on node-order tensors and return node-order output(s)."""
        out = self(*tensors)
        if self._node_order:
            return out
        orders = self.out_orders
        if self.multi:
            return [from_order(t, o) for t, o in zip(out, orders, strict=False)]
        return from_order(out, orders[0])

    def relayout(self, orders: Sequence[Order]) -> Kernel | None:
        """The same computation for inputs stored in axis ``orders`` (None: cannot).

        The returned kernel's raw call takes the tensors as stored and returns outputs
        in its ``out_orders``.
        """
        if all(is_identity(o) for o in orders):
            return self
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__name__})"


class IdentityKernel(Kernel):
    """Returns its input; only the recorded axis order of the value may change.

    A permutation step relaid out by the replay becomes one, and so does a stack that is
    a memory itself (the data nodes' slices of ``stack_data_memory``): the replay drops
    them.
    """

    pure_identity = True

    def __init__(self, out_order: Order = None) -> None:
        super().__init__(out_orders=(out_order,), name="identity")

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def relayout(self, orders: Sequence[Order]) -> Kernel | None:
        o = orders[0]
        if is_identity(o):
            return self
        mine = self.out_orders[0]
        return IdentityKernel(o if is_identity(mine) else tuple(mine[a] for a in o))
