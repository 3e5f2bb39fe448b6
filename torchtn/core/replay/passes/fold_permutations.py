"""Pass: fold axis permutations into the kernels that consume them.

In the lowered graph every value is in node order, so a contraction that computes
``(batch, left, right)`` but whose node has axes ``(left, right, batch)`` permutes back,
and its consumer permutes again. This pass rewrites the graph so that each value stays in
the axis order its kernel produced ("physical" order), tracked per value, and each
consumer is rebuilt for the order its inputs are actually stored in
(:meth:`~torchtn.core.kernel.Kernel.relayout`): a chain of contractions of an MPS
becomes bare ``torch.bmm`` calls. A permutation step becomes no computation at all (only
its recorded order changes); an index into a permuted value is permuted instead of the
value. Where a kernel cannot take another layout, or at the graph's outputs, the value
is permuted back to node order (a view).

Kernel calls whose relaid kernel is a plain torch function (``Kernel.inline``) call
that function directly.
"""

from __future__ import annotations

import operator
from typing import Any

from torch import fx

from torchtn._utils import as_index as _as_index
from torchtn._utils import inverse_permutation
from torchtn.core.kernel import Kernel, Order, is_identity

__all__ = ["fold_permutations", "index_in_order"]


def index_in_order(index: Any, order: tuple[int, ...]) -> tuple[Any, Order] | None:
    """Map a node-order index (ints and slices) onto a tensor stored in axis ``order``.

    Returns ``(physical index, order of the result)``, or None when the index cannot be
    mapped (fancy indexing).
    """
    idx = _as_index(index)
    if not isinstance(idx, tuple):
        idx = (idx,)
    if any(not isinstance(i, (int, slice)) for i in idx):
        return None
    full = list(idx) + [slice(None)] * (len(order) - len(idx))
    phys = tuple(full[a] for a in order)
    kept = [a for a in order if not isinstance(full[a], int)]
    remap = {a: k for k, a in enumerate(sorted(kept))}
    out = tuple(remap[a] for a in kept)
    return phys, None if is_identity(out) else out


def _kernel_of(node: fx.Node) -> Kernel | None:
    target = node.target
    owner = getattr(target, "__self__", None)
    if isinstance(owner, Kernel) and getattr(target, "__func__", None) is Kernel.eager:
        return owner
    return None


def fold_permutations(graph: fx.Graph) -> fx.Graph:
    """A new graph computing the same outputs with permutations folded into kernels."""
    new = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    order: dict[fx.Node, Order] = {}
    multi: dict[fx.Node, tuple[Order, ...] | None] = {}
    natural: dict[fx.Node, fx.Node] = {}

    def node_order(x: fx.Node) -> fx.Node:
        o = order.get(x)
        if is_identity(o):
            return x
        view = natural.get(x)
        if view is None:
            view = natural[x] = new.call_method("permute", (x, tuple(inverse_permutation(o))))
        return view

    def as_node_order(arg: Any) -> Any:
        return fx.node.map_arg(arg, lambda a: node_order(env[a]))

    for n in graph.nodes:
        if n.op in ("placeholder", "get_attr"):
            env[n] = new.node_copy(n, lambda a: env[a])
        elif n.op == "output":
            new.output(as_node_order(n.args[0]))
        elif n.op == "call_function" and n.target is operator.getitem:
            base_old, idx = n.args
            base = env[base_old]
            if base in multi:  # output ``idx`` of a multi-output kernel
                v = new.call_function(operator.getitem, (base, idx))
                orders = multi[base]
                o = None if orders is None else orders[idx]
                if not is_identity(o):
                    order[v] = o
            else:
                o = order.get(base)
                mapped = None if is_identity(o) else index_in_order(idx, o)
                if is_identity(o):
                    v = new.call_function(operator.getitem, (base, idx))
                elif mapped is not None:
                    v = new.call_function(operator.getitem, (base, mapped[0]))
                    if mapped[1] is not None:
                        order[v] = mapped[1]
                else:
                    v = new.call_function(operator.getitem, (node_order(base), idx))
            env[n] = v
        elif n.op == "call_function" and _kernel_of(n) is not None:
            kernel = _kernel_of(n)
            ins = [env[a] for a in n.args]
            relaid = kernel.relayout(tuple(order.get(i) for i in ins))
            if relaid is None:
                v = new.call_function(kernel.eager, tuple(node_order(i) for i in ins))
                if kernel.multi:
                    multi[v] = None
                    v.meta["tn_multi"] = True
            else:
                target = relaid.inline if relaid.inline is not None else relaid
                v = new.call_function(target, tuple(ins))
                if relaid.multi:
                    multi[v] = relaid.out_orders
                    v.meta["tn_multi"] = True
                elif not is_identity(relaid.out_orders[0]):
                    order[v] = relaid.out_orders[0]
            env[n] = v
        else:  # anything else computes on node-order values
            env[n] = new.node_copy(n, lambda a: node_order(env[a]))
    return new
