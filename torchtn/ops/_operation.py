"""The `Operation` machinery shared by every node operation.

An operation's first call validates its arguments, plans the tensor work once as a
:class:`Kernel`, creates the resultant node(s) and records a :class:`Successor`. Later
calls with the same arguments only read the operand tensors, run the kernel and store
the result (no validation, as in TensorKrowch). ``TensorNetwork.forward`` replays the
recorded kernels through the compiled program of :mod:`torchtn.ops._program`.

Axis orders: a kernel may take its inputs, and return its outputs, in an axis order
other than the node's (``in_orders``/``out_orders``, lists of node-axis positions, None
for the node's own order). This lets a contraction produce batch-first results that the
next contraction consumes without copies; ``.tensor`` always shows node order (a
permuted view).

Cached calls: after the first cached call a kernel gets a ``fast`` closure holding the
memory addresses of its operands and result, so later calls are a few dict reads, the
tensor call and one store. It is keyed on the memory layout (:func:`layout_key`) and
steps aside, to the general path that resolves every operand, whenever that may have
changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import torch

from torchtn._utils import inverse_permutation
from torchtn.core.network import TensorNetwork
from torchtn.core.node import AbstractNode, _as_index
from torchtn.core.successor import Successor
from torchtn.errors import TNValueError

__all__ = [
    "Operation",
    "Kernel",
    "read_operand",
    "to_order",
    "from_order",
    "record_successor",
    "store_child",
    "check_same_network",
    "run_next",
    "run_slow",
    "layout_key",
    "owner_addresses",
    "build_fast",
]

Order = tuple[int, ...] | None


class Operation:
    """A cached node operation: ``check_first`` finds a successor, then the first or
    next function runs.

    Args:
        name: Registry name (also the default name of its resultant nodes).
        check_first: ``(*args) -> Successor | None``.
        fn_first: ``(*args) -> result`` for the first call.
        fn_next: ``(successor, *args) -> result`` for cached calls.
    """

    def __init__(
        self, name: str, check_first: Callable, fn_first: Callable, fn_next: Callable
    ) -> None:
        assert callable(check_first) and callable(fn_first) and callable(fn_next)
        self.name = name
        self.check_first = check_first
        self.fn_first = fn_first
        self.fn_next = fn_next
        TensorNetwork.operations[name] = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        successor = self.check_first(*args, **kwargs)
        if successor is None:
            return self.fn_first(*args, **kwargs)
        return self.fn_next(successor, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


class Kernel:
    """A planned computation ``fn(*inputs) -> output | tuple of outputs``.

    Attributes:
        fn: The tensor function.
        in_orders: Axis order expected for each input (None: node order).
        out_orders: Axis order of each output (None: node order).
        relayout: Optional ``(in_orders) -> Kernel`` building the same computation for
            inputs in other axis orders (used by the compiled program).
        multi: Whether ``fn`` returns a tuple/list of outputs.
        source: Optional Python expression template (``{0}``, ``{1}``... for inputs)
            that the program generator may inline instead of calling ``fn``.
        seq_fn: Optional ``(tensors) -> output`` equal to ``fn(*tensors)`` (e.g.
            ``torch.stack``), so that cached calls do not unpack long argument lists.
        make_fast: Optional ``(successor) -> fast | None`` replacing the generic
            builder of the cached-call closure (multi-output kernels need one).
        fast: The cached-call closure built after a cached call (see
            :func:`run_next`); never copied or pickled.
    """

    __slots__ = (
        "fn",
        "in_orders",
        "out_orders",
        "relayout",
        "multi",
        "source",
        "consts",
        "seq_fn",
        "make_fast",
        "fast",
    )

    def __init__(
        self,
        fn: Callable,
        in_orders: Sequence[Order] = (),
        out_orders: Sequence[Order] = (None,),
        relayout: Callable | None = None,
        multi: bool = False,
        source: str | None = None,
        consts: dict | None = None,
    ) -> None:
        self.fn = fn
        self.in_orders = tuple(in_orders)
        self.out_orders = tuple(out_orders)
        self.relayout = relayout
        self.multi = multi
        self.source = source
        self.consts = consts or {}
        self.seq_fn: Callable | None = None
        self.make_fast: Callable | None = None
        self.fast: Callable | None = None

    def __getstate__(self) -> dict:
        # The cached-call closure holds the original network's memory and nodes.
        state = {k: getattr(self, k) for k in self.__slots__}
        state["fast"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        for k in self.__slots__:
            setattr(self, k, state.get(k))

    def eager(self, *tensors: torch.Tensor) -> Any:
        """Run on node-order tensors and return node-order output(s)."""
        ins = self.in_orders
        if ins:
            tensors = tuple(to_order(t, o) for t, o in zip(tensors, ins, strict=False))
        out = self.fn(*tensors)
        if self.multi:
            orders = self.out_orders
            if any(o is not None for o in orders):
                out = [from_order(t, o) for t, o in zip(out, orders, strict=False)]
            return out
        o = self.out_orders[0] if self.out_orders else None
        return out if o is None else from_order(out, o)


def to_order(t: torch.Tensor, order: Order) -> torch.Tensor:
    """View a node-order tensor in axis ``order``."""
    if order is None or _is_identity(order):
        return t
    return t.permute(order)


def from_order(t: torch.Tensor, order: Order) -> torch.Tensor:
    """View a tensor in axis ``order`` back in node order."""
    if order is None or _is_identity(order):
        return t
    return t.permute(inverse_permutation(order))


def _is_identity(order: Sequence[int]) -> bool:
    return all(i == o for i, o in enumerate(order))


def read_operand(node: AbstractNode) -> torch.Tensor:
    """Current tensor of an operand, resolved through its present memory reference."""
    info = node._tensor_info
    address = info["address"]
    if address is not None:
        t = node._network._memory_nodes[address]
    else:
        ref = info["node_ref"]
        t = ref._network._memory_nodes[ref._tensor_info["address"]]
        index = info["index"]
        if index is not None and t is not None:
            t = t[_as_index(index)]
    if t is None:
        raise TNValueError(
            f"Node {node._name!r} has no tensor (it is empty, or its memory was freed after a "
            "traced forward); set a tensor or call reset()"
        )
    return t


def check_same_network(*nodes: AbstractNode) -> None:
    """Raise ValueError unless all nodes belong to the same network."""
    net = nodes[0]._network
    for n in nodes[1:]:
        if n._network is not net:
            raise TNValueError(
                f"Nodes {nodes[0]._name!r} and {n._name!r} belong to different networks"
            )
    if net is None:
        raise TNValueError(f"Node {nodes[0]._name!r} does not belong to a network")


def record_successor(
    op_name: str,
    key: tuple,
    first: AbstractNode,
    operands: Sequence[AbstractNode],
    child: Any,
    kernel: Kernel | None,
    hints: Any = None,
    single: bool = False,
) -> Successor:
    """Store a successor after a first call and record the call for replay.

    Args:
        op_name: Operation name.
        key: Argument key (also the positional args replayed by ``_seq_ops``).
        first: Node whose ``successors`` hold the record.
        operands: Operand nodes read by ``kernel`` (in kernel input order).
        child: Resultant node or list of nodes.
        kernel: The planned computation (None when cached calls compute nothing).
        hints: Operation-specific data.
        single: Whether ``node_ref``/``index`` are stored unwrapped (one-operand ops).
    """
    refs = tuple(n.node_ref() for n in operands)
    indexes = tuple(n._tensor_info["index"] for n in operands)
    succ = Successor(refs[0] if single else refs, indexes[0] if single else indexes, child, hints)
    succ._run = kernel
    succ._op = op_name
    succ._args = tuple(operands)
    first._successors.setdefault(op_name, {})[key] = succ
    net = first._network
    net._seq_ops.append((op_name, key))
    net._seq_succ.append(succ)
    net._program = None
    if net._tracing:
        for n in operands:
            n._record_in_inverse_memory()
    return succ


def store_child(child: AbstractNode, tensor: torch.Tensor) -> None:
    """Write a computed tensor into a resultant node that owns its memory."""
    child._network._memory_nodes[child._tensor_info["address"]] = tensor
    child._shape = tensor.shape


def run_next(succ: Successor) -> Any:
    """Cached call: read operands, run the kernel, store and return the child(ren).

    The first cached call goes the general way (:func:`run_slow`) and then builds the
    kernel's ``fast`` closure, which later calls use while the network's memory layout is
    unchanged (see :func:`layout_key`).
    """
    kernel = succ._run
    if kernel is None:
        return succ.child
    fast = kernel.fast
    if fast is not None:
        out = fast()
        if out is not None:
            return out
    return run_slow(succ)


def run_slow(succ: Successor) -> Any:
    """:func:`run_next` without the fast closure (resolves every operand's memory)."""
    kernel = succ._run
    child = succ.child
    tensors = [read_operand(n) for n in succ._args]
    out = kernel.eager(*tensors)
    if isinstance(child, list):
        for c, t in zip(child, out, strict=False):
            if c._tensor_info["address"] is not None:
                store_child(c, t)
            else:
                c._shape = t.shape
    else:
        store_child(child, out)
    net = succ._args[0]._network if succ._args else None
    if net is not None and net._traced:
        for n in succ._args:
            n._check_inverse_memory(n.node_ref())
        kernel.fast = None
    else:
        make = kernel.make_fast or build_fast
        kernel.fast = make(succ)
    return child


# -- the cached-call closures ----------------------------------------------------------------
# A closure reads the operands straight from memory slots and writes the child's slot:
# addresses are looked up once, when it is built. It returns None, and the caller takes
# the general path (which builds a new closure), whenever the memory layout may have
# changed since: the layout key differs, or an operand slot is empty (so that the general
# path raises its usual error).


def layout_key(net: TensorNetwork) -> Any:
    """An object that stays ``net._program`` until the memory layout changes.

    The core sets ``net._program`` to None on every layout change (renames, removals,
    references, data nodes, resets) and every first call does too; the only change that
    does not is adding a node, whose name shift may rename others, which is why the
    closures also compare the number of nodes. When no program exists yet, an uncompiled
    one (a :class:`~torchtn.ops._program.Program` builds its code lazily) is installed,
    which ``forward`` would have created anyway.
    """
    key = net._program
    if key is None:
        key = net._program = type(net)._compile_program(net)
    return key


def owner_addresses(net: TensorNetwork, nodes: Sequence[AbstractNode]) -> list[str] | None:
    """Memory addresses of ``nodes`` if all own a slot of ``net`` (else None)."""
    out = []
    for n in nodes:
        info = n._tensor_info
        if n._network is not net or info is None or info["address"] is None:
            return None
        out.append(info["address"])
    return out


def build_fast(succ: Successor) -> Callable | None:
    """The cached-call closure of a one-output kernel whose nodes all own their memory."""
    kernel = succ._run
    child = succ.child
    if kernel.multi or isinstance(child, list) or any(not _plain(o) for o in kernel.in_orders):
        return None
    net = child._network
    if net is None or net._traced:
        return None
    addrs = owner_addresses(net, succ._args)
    out = owner_addresses(net, (child,))
    if not addrs or out is None:
        return None
    ac = out[0]
    o = kernel.out_orders[0] if kernel.out_orders else None
    inv = None if _plain(o) else tuple(inverse_permutation(o))
    key, count = layout_key(net), len(net._all_nodes)
    mem = net._memory_nodes
    fn = kernel.fn

    if len(addrs) == 2 and inv is None:
        a0, a1 = addrs

        def fast2() -> Any:
            if net._program is not key or net._traced or len(net._all_nodes) != count:
                return None
            x = mem[a0]
            y = mem[a1]
            if x is None or y is None:
                return None
            t = fn(x, y)
            mem[ac] = t
            child._shape = t.shape
            return child

        return fast2

    if len(addrs) == 1:
        a0 = addrs[0]

        def fast1() -> Any:
            if net._program is not key or net._traced or len(net._all_nodes) != count:
                return None
            x = mem[a0]
            if x is None:
                return None
            t = fn(x)
            if inv is not None:
                t = t.permute(inv)
            mem[ac] = t
            child._shape = t.shape
            return child

        return fast1

    get = itemgetter(*addrs)
    seq_fn = kernel.seq_fn

    def fast() -> Any:
        if net._program is not key or net._traced or len(net._all_nodes) != count:
            return None
        ts = get(mem)
        try:  # an empty slot (None) fails here: the general path raises the clear error
            t = seq_fn(ts) if seq_fn is not None else fn(*ts)
        except (TypeError, AttributeError):
            return None
        if inv is not None:
            t = t.permute(inv)
        mem[ac] = t
        child._shape = t.shape
        return child

    return fast


def _plain(order: Order) -> bool:
    return order is None or _is_identity(order)


def node_order_tensor(t: torch.Tensor) -> torch.Tensor:
    """Identity helper kept for symmetry with :func:`from_order`."""
    return t
