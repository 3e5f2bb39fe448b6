"""`Operation` and the one execution path of a cached operation call.

An operation's first call validates its arguments, plans the tensor work once as a
:class:`~torchtn.core.kernel.Kernel`, creates the resultant node(s) and records a
:class:`~torchtn.core.successor.Successor` (:func:`record`): it is stored in the first
operand's ``successors`` and appended to the network's recording. A later call with the
same arguments finds that successor and runs it (:func:`run`): read the operands'
tensors, call the kernel, store the result. No validation is repeated, as in
TensorKrowch. ``TensorNetwork.forward`` replays the recording as one ``torch.fx`` graph
that calls the same kernels (:mod:`torchtn.core.replay`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import torch

from torchtn.core import memory
from torchtn.core.kernel import Kernel, from_order, is_identity, to_order
from torchtn.core.node import AbstractNode
from torchtn.core.registry import register_operation
from torchtn.core.successor import Successor
from torchtn.errors import TNValueError

__all__ = [
    "Operation",
    "Kernel",
    "builtin",
    "record",
    "run",
    "check_same_network",
    "to_order",
    "from_order",
    "is_identity",
]


class Operation:
    """A cached node operation: ``check_first`` finds a successor, then the first or
    next function runs.

    Constructing one registers it under ``name`` (TensorKrowch's extension point): its
    name becomes reserved for node names, and :attr:`TensorNetwork.operations` lists it.

    Args:
        name: Registry name (also the default name of its resultant nodes).
        check_first: ``(*args, **kwargs) -> Successor | None``.
        fn_first: ``(*args, **kwargs) -> result`` for the first call.
        fn_next: ``(successor, *args, **kwargs) -> result`` for cached calls.

    Raises:
        TypeError: If a function is not callable.
        ValueError: If an operation of that name already exists.
    """

    def __init__(
        self,
        name: str,
        check_first: Callable,
        fn_first: Callable,
        fn_next: Callable,
        *,
        _builtin: bool = False,
    ) -> None:
        for arg, fn in (("check_first", check_first), ("fn_first", fn_first), ("fn_next", fn_next)):
            if not callable(fn):
                raise TypeError(f"Operation {name!r}: `{arg}` should be callable, got {fn!r}")
        self.name = name
        self.check_first = check_first
        self.fn_first = fn_first
        self.fn_next = fn_next
        if not _builtin:
            register_operation(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        successor = self.check_first(*args, **kwargs)
        if successor is None:
            return self.fn_first(*args, **kwargs)
        return self.fn_next(successor, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


def builtin(name: str, check_first: Callable, fn_first: Callable, fn_next: Callable) -> Operation:
    """A built-in operation: listed in :data:`torchtn.core.registry.BUILTIN_OPERATIONS`,
    so constructing it registers nothing."""
    return Operation(name, check_first, fn_first, fn_next, _builtin=True)


def check_same_network(*nodes: AbstractNode) -> None:
    """Raise ValueError unless all nodes belong to the same network."""
    net = nodes[0].network
    for n in nodes[1:]:
        if n.network is not net:
            raise TNValueError(
                f"Nodes {nodes[0].name!r} and {n.name!r} belong to different networks"
            )
    if net is None:
        raise TNValueError(f"Node {nodes[0].name!r} does not belong to a network")


def record(
    op_name: str,
    key: tuple,
    first: AbstractNode,
    operands: Sequence[AbstractNode],
    child: Any,
    kernel: Kernel | None,
    hints: Any = None,
    single: bool = False,
) -> Successor:
    """Store a successor after a first call and append it to the network's recording.

    Args:
        op_name: Operation name.
        key: Argument key (also the positional args of TensorKrowch's ``_seq_ops``).
        first: Node whose ``successors`` hold the record.
        operands: Nodes read by ``kernel`` (in kernel input order).
        child: Resultant node or list of nodes.
        kernel: The planned computation (None when cached calls compute nothing).
        hints: Operation-specific data.
        single: Whether ``node_ref``/``index`` are stored unwrapped (one-operand ops).
    """
    refs = tuple(memory.owner(n) for n in operands)
    indexes = tuple(memory.index(n) for n in operands)
    succ = Successor(refs[0] if single else refs, indexes[0] if single else indexes, child, hints)
    succ._run = kernel
    succ._op = op_name
    succ._key = key
    succ._args = tuple(operands)
    first.successors.setdefault(op_name, {})[key] = succ
    net = first.network
    net._recording.record(succ)
    if net._tracing:
        for n in operands:
            n._record_in_inverse_memory()
    return succ


def _resolve(succ: Successor) -> tuple:
    """Where ``succ``'s operands and results live in memory, for the current layout.

    Returns ``(network, memory, getter, reads, out memory, out addresses)``: ``getter``
    reads every operand at once when all own a slot of one memory (else None, and
    ``reads`` lists ``(memory, address, index)`` per operand); the out addresses are one
    address (single output) or a list (all outputs own a slot of one memory), else None.
    """
    args = succ._args
    net = args[0].network if args else succ.child.network
    reads = [memory.slot(n) for n in args]
    getter = None
    if reads and all(r[0] is reads[0][0] and r[2] is None for r in reads):
        addrs = [r[1] for r in reads]
        getter = itemgetter(*addrs) if len(addrs) > 1 else _single_getter(addrs[0])
    mem = reads[0][0] if reads else net._memory_nodes
    child = succ.child
    if isinstance(child, list):
        outs = [memory.slot(c)[:2] if memory.owns(c) else None for c in child]
        same = all(o is not None and o[0] is outs[0][0] for o in outs)
        out_mem, out_addrs = (outs[0][0], [o[1] for o in outs]) if same and outs else (None, outs)
    else:
        out_mem, out_addrs = memory.slot(child)[:2]
    slots = succ._slots = (net, mem, getter, reads, out_mem, out_addrs)
    succ._layout = net._recording.layout
    return slots


def _single_getter(address: str) -> Callable[[dict], tuple]:
    def get(mem: dict) -> tuple:
        return (mem[address],)

    return get


def _gather(reads: list) -> list:
    tensors = []
    for mem, address, idx in reads:
        t = mem[address]
        tensors.append(t if idx is None or t is None else t[idx])
    return tensors


def run(succ: Successor, *_args: Any, **_kwargs: Any) -> Any:
    """A cached call: read the operands, run the kernel, store and return the child(ren).

    Usable directly as an operation's ``fn_next`` (the call's arguments are ignored:
    the successor holds everything).

    The operands are read where they live *now* (their memory may have been re-pointed
    by auto-stacking since the first call); the lookup is cached per memory layout.

    Raises:
        ValueError: If an operand holds no tensor (empty, or freed after a traced forward).
    """
    kernel = succ._run
    if kernel is None:
        return succ.child
    slots = succ._slots
    if slots is None or succ._layout != slots[0]._recording.layout:
        slots = _resolve(succ)
    net, mem, getter, reads, out_mem, out_addrs = slots
    tensors = getter(mem) if getter is not None else _gather(reads)
    try:
        out = kernel.eager(*tensors)
    except (TypeError, AttributeError):
        for n in succ._args:
            memory.read(n)  # an empty operand: raise the error naming it
        raise
    child = succ.child
    if not kernel.multi:
        out_mem[out_addrs] = out
        child._shape = out.shape
    elif out_mem is not None:  # every output owns a slot of one memory
        out_mem.update(zip(out_addrs, out, strict=False))
        if not (getattr(kernel, "uniform", False) and child[0]._shape == out[0].shape):
            for c, t in zip(child, out, strict=False):
                c._shape = t.shape
    else:
        for c, w, t in zip(child, out_addrs, out, strict=False):
            if w is not None:
                w[0][w[1]] = t
            c._shape = t.shape
    if net._traced:
        for n in succ._args:
            n._check_inverse_memory(n.node_ref())
    return child


def read(node: AbstractNode) -> torch.Tensor:
    """The current tensor of an operand (see :func:`torchtn.core.memory.read`)."""
    return memory.read(node)
