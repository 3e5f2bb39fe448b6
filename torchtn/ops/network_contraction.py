"""`contract_network`: contract any set of nodes in one planned step; `contraction_plan`.

The nodes become one einsum: every edge joining two of them (or a node to itself) is a
summed label; batch axes with the same name share one label, kept in the output; every
other axis (dangling, or joined to a node outside the set) is an output label. The
result's axes are the batch axes (in order of first appearance) followed by the other
open axes in node order, then axis order.

Planning (:mod:`torchtn.planning.network`) picks the pairwise order: opt_einsum's
optimal or dynamic-programming search for small networks, cotengra's hyper-optimiser
(when installed) or greedy/random-greedy searches beyond, and slicing when the largest
intermediate would exceed ``memory_limit``. The first call plans and records one step
(so ``trace()``, replays and cached calls apply); later calls run the kernel, which
re-plans only when the operand shapes change (e.g. a new batch size), through a cache
keyed by the structure and the sizes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Union

import torch

from torchtn.core._inspect import (
    check_nodes,
    network_einsum,
    network_nodes,
    plan_nodes,
    resolve_nodes,
)
from torchtn.core.kernel import Kernel
from torchtn.core.memory import read
from torchtn.core.network import TensorNetwork
from torchtn.core.node import AbstractNode, Node
from torchtn.core.stack_node import StackNode, is_stack_node
from torchtn.errors import TNTypeError
from torchtn.ops._operation import builtin, record, run
from torchtn.planning.network import ContractionPlan, plan_network
from torchtn.planning.path import get_plan

__all__ = [
    "NetworkContractionKernel",
    "contract_network",
    "contract_network_op",
    "contraction_plan",
    "network_nodes",
]

NodesOrNetwork = Union[TensorNetwork, Sequence[AbstractNode]]


# -- the kernel -------------------------------------------------------------------------------
class NetworkContractionKernel:
    """``kernel(*tensors) -> tensor``: one planned contraction of many tensors.

    Holds only the equation and the planning options, so it pickles as such; the plan of
    the current operand shapes (path, sliced labels, compiled pairwise code) is looked up
    in the planning caches at the first call and again whenever the shapes change.

    Args:
        equation: Explicit einsum equation, one term per tensor.
        optimize: Path optimiser (see :func:`torchtn.planning.find_path`).
        memory_limit: Largest intermediate, in elements (None: no limit); summed labels
            are sliced to respect it.

    Under ``torch.compile`` tracing (symbolic sizes) the kernel calls ``torch.einsum``
    instead (ignoring ``memory_limit``), which the compiler decomposes itself.
    """

    def __init__(self, equation: str, optimize: Any = "auto", memory_limit: int | None = None):
        self.equation = equation
        self.optimize = optimize
        self.memory_limit = memory_limit
        lhs, self._output = equation.split("->")
        self._inputs = tuple(lhs.split(","))
        self._shapes: Any = None
        self._execute: Callable | None = None
        self._slices: tuple | None = None

    def plan(self, shapes: Sequence[Sequence[int]]) -> ContractionPlan:
        """The :class:`~torchtn.planning.ContractionPlan` for operands of ``shapes``."""
        sizes: dict[str, int] = {}
        for term, shape in zip(self._inputs, shapes, strict=True):
            for label, size in zip(term, shape, strict=True):
                sizes[label] = int(size)
        return plan_network(self._inputs, self._output, sizes, self.optimize, self.memory_limit)

    def _prepare(self, shapes: tuple) -> None:
        plan = self.plan(shapes)
        if not plan.sliced:
            self._execute = get_plan(self.equation, shapes, plan.path).execute
            self._slices = None
        else:
            sliced = set(plan.sliced)
            terms = ["".join(c for c in term if c not in sliced) for term in self._inputs]
            inner_shapes = tuple(
                tuple(s for c, s in zip(term, shape, strict=True) if c not in sliced)
                for term, shape in zip(self._inputs, shapes, strict=True)
            )
            equation = ",".join(terms) + "->" + self._output
            self._execute = get_plan(equation, inner_shapes, plan.path).execute
            sizes = plan.size_dict
            # Per operand: the positions of each sliced label (None where absent).
            where = tuple(
                tuple(tuple(k for k, c in enumerate(term) if c == label) for label in plan.sliced)
                for term in self._inputs
            )
            self._slices = (tuple(range(sizes[label]) for label in plan.sliced), where)
        self._shapes = shapes

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return torch.einsum(self.equation, *tensors)
        shapes = tuple([t.shape for t in tensors])
        if shapes != self._shapes:
            self._prepare(shapes)
        if self._slices is None:
            return self._execute(*tensors)
        ranges, where = self._slices
        out = None
        for values in itertools.product(*ranges):
            parts = []
            for t, positions in zip(tensors, where, strict=True):
                index: list[Any] = [slice(None)] * t.dim()
                for value, axes in zip(values, positions, strict=True):
                    for axis in axes:
                        index[axis] = value
                parts.append(t[tuple(index)])
            part = self._execute(*parts)
            out = part if out is None else out + part
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (NetworkContractionKernel, (self.equation, self.optimize, self.memory_limit))

    def __repr__(self) -> str:
        return (
            f"NetworkContractionKernel({self.equation!r}, optimize={self.optimize!r}, "
            f"memory_limit={self.memory_limit!r})"
        )


# -- labelling --------------------------------------------------------------------------------
def _key(optimize: Any, memory_limit: Any, nodes: Sequence[AbstractNode]) -> tuple:
    opt = optimize
    if isinstance(opt, list):
        opt = tuple(tuple(step) for step in opt)
    try:
        hash(opt)
    except TypeError:
        raise TNTypeError(
            f"`optimize` should be a name, an explicit path or a hashable optimiser object, "
            f"got {type(optimize).__name__}"
        ) from None
    return (opt, memory_limit, *nodes)


# -- the operation ----------------------------------------------------------------------------
def _check_first(nodes: tuple, optimize: Any, memory_limit: Any) -> Any:
    succs = nodes[0].successors.get("contract_network")
    if succs is None:
        return None
    return succs.get(_key(optimize, memory_limit, nodes))


def _first(nodes: tuple, optimize: Any, memory_limit: Any) -> AbstractNode:
    check_nodes(nodes)
    key = _key(optimize, memory_limit, nodes)
    inputs, output, sources = network_einsum(nodes)
    equation = ",".join(inputs) + "->" + output
    fn = NetworkContractionKernel(equation, optimize, memory_limit)
    tensors = [read(n) for n in nodes]
    plan = fn.plan([t.shape for t in tensors])  # validates optimize / memory_limit
    kernel = Kernel(fn, name="contract_network")
    tensor = kernel.eager(*tensors)
    cls = StackNode if is_stack_node(nodes[0]) else Node
    child = cls._create_resultant(
        axes_names=[n.axes[j].name for n, j in sources],
        name="contract_network",
        network=nodes[0].network,
        tensor=tensor,
        edges=[n.edges[j] for n, j in sources],
        node1_list=[n.axes[j].is_node1() for n, j in sources],
    )
    hints = {"equation": equation, "path": plan.path, "sliced": plan.sliced}
    record("contract_network", key, nodes[0], nodes, child, kernel, hints=hints)
    return child


def _next(succ: Any, nodes: tuple, optimize: Any, memory_limit: Any) -> AbstractNode:
    return run(succ)


contract_network_op = builtin("contract_network", _check_first, _first, _next)


def contract_network(
    nodes_or_network: NodesOrNetwork, optimize: Any = "auto", memory_limit: int | None = None
) -> AbstractNode:
    """Contract a set of nodes, or a whole network, in one planned step.

    Every edge joining two of the nodes (or a node to itself) is summed. Batch axes with
    the same name (e.g. the ``batch`` axes of all data nodes) are matched, as by ``@``,
    and stay in the result. Every other axis stays open: the result's axes are the batch
    axes, in order of first appearance, then the other open axes in node order, then
    axis order, with their names and edges (an edge to a node outside the set still
    joins the result to it). Nodes that share nothing are multiplied as an outer product.

    The contraction order is planned once per set of operand shapes and cached by the
    structure and the sizes (:func:`torchtn.planning.plan_network`). The call is
    recorded as one operation: a repeated call with the same arguments reuses the
    resultant node, and ``trace()``/``forward`` replay it.

    Args:
        nodes_or_network: The nodes (all in one network; all stack nodes or none), or a
            :class:`TensorNetwork`, meaning its leaf nodes followed by its data nodes (no
            virtual or resultant nodes). This is what ``TensorNetwork.contract()``
            contracts unless a subclass overrides it.
        optimize: How to find the path: ``'auto'`` (opt_einsum's ``'optimal'`` up to 4
            tensors, ``'dp'`` up to 12, then the cheapest of greedy, random-greedy
            and, when installed, cotengra's hyper-optimiser); or
            ``'optimal'``, ``'dp'``, ``'greedy'``, ``'branch-2'``, ``'random-greedy'``,
            ``'cotengra'``, an explicit path (opt_einsum format), an opt_einsum
            ``PathOptimizer`` or a cotengra optimiser.
        memory_limit: Largest number of elements any intermediate may have (None: no
            limit). When the path exceeds it, summed edges are sliced: the contraction
            runs once per value of the sliced indices and the results are added.

    Returns:
        A resultant node named ``contract_network`` (a ``StackNode`` if the operands are
        stacks).

    Raises:
        TypeError: If the argument is neither a network nor a sequence of nodes, mixes
            stack and non-stack nodes, or ``optimize``/``memory_limit`` have bad types.
        ValueError: If there are no nodes, they are in different networks, one is
            repeated, one has no tensor, ``optimize`` is unknown or
            ``memory_limit`` cannot be met (the output alone is larger).

    Examples:
        >>> a = tk.randn((2, 3), axes_names=('left', 'right'))
        >>> b = tk.randn((3, 4), axes_names=('left', 'right'), network=a.network)
        >>> c = tk.randn((4, 5), axes_names=('left', 'right'), network=a.network)
        >>> _ = a['right'] ^ b['left'], b['right'] ^ c['left']
        >>> tk.contract_network([a, b, c]).shape
        torch.Size([2, 5])
    """
    nodes = tuple(resolve_nodes(nodes_or_network))
    return contract_network_op(nodes, optimize, memory_limit)


def contraction_plan(
    nodes_or_network: NodesOrNetwork, optimize: Any = "auto", memory_limit: int | None = None
) -> ContractionPlan:
    """The plan :func:`contract_network` follows for these nodes at their current shapes.

    Nothing is contracted or recorded; the plan comes from the same cache.

    Args:
        nodes_or_network: As for :func:`contract_network`.
        optimize: As for :func:`contract_network`.
        memory_limit: As for :func:`contract_network`.

    Returns:
        A printable :class:`~torchtn.planning.ContractionPlan` (path, flops, largest
        intermediate, sliced indices, and the order of the steps with the node names).

    Raises:
        TypeError, ValueError: As :func:`contract_network`.

    Examples:
        >>> print(tk.contraction_plan([a, b, c]))  # doctest: +SKIP
        ContractionPlan: 3 tensors -> shape (2, 5) (optimizer: optimal)
        ...
    """
    return plan_nodes(resolve_nodes(nodes_or_network), optimize, memory_limit)
