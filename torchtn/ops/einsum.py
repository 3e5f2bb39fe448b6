"""`einsum` over nodes and `stacked_einsum` over lists of nodes.

Subscripts name node axes: a subscript shared by two input positions (and absent from
the output) must be one connected edge; an output subscript shared by several inputs
must be a batch axis in all of them. The contraction is planned by
:mod:`torchtn.planning` at the first call; cached calls run the compiled plan (a new
plan is looked up only when operand shapes change, e.g. a new batch size).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import opt_einsum
import torch

from torchtn.core.edge import StackEdge, connect_stack
from torchtn.core.kernel import Kernel
from torchtn.core.memory import read
from torchtn.core.node import AbstractNode, Node
from torchtn.core.stack_node import StackNode, is_stack_node
from torchtn.errors import TNTypeError, TNValueError
from torchtn.ops._operation import builtin, record, run
from torchtn.planning.path import get_plan

__all__ = ["einsum", "stacked_einsum", "einsum_op"]


# -- planning ---------------------------------------------------------------------------------
class EinsumKernel(Kernel):
    """Runs ``equation`` with the compiled plans of :mod:`torchtn.planning` (one per set
    of operand shapes, looked up again only when the shapes change, e.g. a new batch
    size). Under ``torch.compile``/``torch.export`` tracing (symbolic sizes) it calls
    ``torch.einsum``, which those tracers decompose themselves.
    """

    def __init__(self, equation: str) -> None:
        super().__init__(name="einsum")
        self.equation = equation
        self._shapes: Any = None
        self._execute: Callable | None = None

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return torch.einsum(self.equation, *tensors)
        shapes = tuple([t.shape for t in tensors])
        if shapes != self._shapes:
            self._execute = get_plan(self.equation, shapes).execute
            self._shapes = shapes
        return self._execute(*tensors)

    def __reduce__(self) -> tuple[Any, ...]:
        return (EinsumKernel, (self.equation,))


# -- validation -------------------------------------------------------------------------------
def _parse(string: str, nodes: Sequence[AbstractNode]) -> tuple[str, list]:
    """Check ``string`` against the nodes' edges; return the equation and the output's
    ``(node, axis position)`` sources."""
    if "->" not in string:
        raise TNValueError(
            f"Einsum string {string!r} should have an arrow '->' separating the inputs and "
            "the output"
        )
    pieces = string.split("->")
    inputs = pieces[0].split(",")
    output = pieces[1]
    if len(inputs) != len(nodes):
        raise TNValueError(
            f"Einsum string {string!r} has {len(inputs)} input terms for {len(nodes)} nodes"
        )
    if len(set(output)) != len(output):
        raise TNValueError(f"Einsum output {output!r} repeats a subscript")
    out_pos = {c: k for k, c in enumerate(output)}
    out_count = dict.fromkeys(output, 0)
    out_batch: dict[str, int] = {}
    sources: list = [None] * len(output)
    contracted: dict[str, list] = {}
    for i, term in enumerate(inputs):
        node = nodes[i]
        for j, char in enumerate(term):
            edge = node[j]
            if char not in out_count:
                seen = contracted.get(char)
                if seen is None:
                    contracted[char] = [edge]
                    continue
                if len(seen) >= 2:
                    raise TNValueError(
                        f"Subscript {char!r} appears more than twice in the inputs; only "
                        "batch subscripts (in the output) can"
                    )
                if edge is not seen[0]:
                    if isinstance(edge, StackEdge) and isinstance(seen[0], StackEdge):
                        edge = connect_stack(edge, seen[0])
                    else:
                        raise TNValueError(
                            f"Subscript {char!r} appears at axes that are not joined by one "
                            "connected edge"
                        )
                seen.append(edge)
            else:
                if out_count[char] == 0:
                    if edge.is_batch():
                        out_batch[char] = 0
                    sources[out_pos[char]] = (node, j)
                out_count[char] += 1
                if char in out_batch and edge.is_batch():
                    out_batch[char] += 1
    for char, count in out_count.items():
        if count == 0:
            raise TNValueError(f"Output subscript {char!r} does not appear in the inputs")
        if count > 1 and out_batch.get(char, 0) < count:
            raise TNValueError(
                f"Output subscript {char!r} appears in several inputs, so it must be a batch "
                "edge in all of them"
            )
    for char, seen in contracted.items():
        if len(seen) == 1:
            raise TNValueError(
                f"Subscript {char!r} appears once in the inputs and not in the output"
            )
    return ",".join(inputs) + "->" + output, sources


# -- einsum -----------------------------------------------------------------------------------
def _einsum_check(string: str, *nodes: AbstractNode):
    if not nodes:
        raise TNValueError("einsum needs at least one node")
    succs = nodes[0].successors.get("einsum")
    if succs is None:
        return None
    return succs.get((string, *nodes))


def _einsum_first(string: str, *nodes: AbstractNode) -> AbstractNode:
    for a, b in zip(nodes, nodes[1:], strict=False):
        if a.network is not b.network:
            raise TNValueError(
                f"All nodes must be in the same network ({a.name!r} and {b.name!r} are not)"
            )
    equation, sources = _parse(string, nodes)
    tensors = [read(n) for n in nodes]
    kernel = EinsumKernel(equation)
    tensor = kernel.eager(*tensors)
    path = get_plan(equation, tuple(t.shape for t in tensors)).path
    stacks = [is_stack_node(n) for n in nodes]
    if any(stacks) and not all(stacks):
        raise TNTypeError("einsum cannot mix stack nodes with non-stack nodes")
    cls = StackNode if all(stacks) else Node
    child = cls._create_resultant(
        axes_names=[n.axes[j].name for n, j in sources],
        name="einsum",
        network=nodes[0].network,
        tensor=tensor,
        edges=[n.edges[j] for n, j in sources],
        node1_list=[n.axes[j].is_node1() for n, j in sources],
    )
    hints = {"einsum_string": equation, "path": path}
    record("einsum", (string, *nodes), nodes[0], nodes, child, kernel, hints=hints)
    return child


def _einsum_next(succ, string: str, *nodes: AbstractNode) -> AbstractNode:
    return run(succ)


einsum_op = builtin("einsum", _einsum_check, _einsum_first, _einsum_next)


def einsum(string: str, *nodes: AbstractNode) -> AbstractNode:
    """Contract nodes following an einsum string (``'ij,jk->ik'``; no ellipsis).

    Subscript ``j`` of term ``i`` names axis ``j`` of ``nodes[i]``. A subscript that is
    not in the output must appear exactly twice, on the two ends of one connected edge
    (or the same edge twice: a trace); matching StackEdges of stacks whose members were
    connected are connected on the fly. An output subscript in several inputs must be a
    batch axis in each of them.

    Args:
        string: The einsum equation, used verbatim.
        *nodes: One node per input term, all in one network.

    Returns:
        A resultant named ``einsum`` with axes in output order (names, edges and node1
        flags from each subscript's first occurrence): a ``StackNode`` if every operand
        is a stack, else a ``Node``.

    Raises:
        ValueError: If no nodes are given, they are in different networks, or the string
            does not match the nodes' edges.
        IndexError: If a term is longer than its node's rank.
        TypeError: If stacks and non-stack nodes are mixed.

    Examples:
        >>> a = tk.randn((2, 3), axes_names=('left', 'right'))
        >>> b = tk.randn((3, 4), axes_names=('left', 'right'), network=a.network)
        >>> _ = a['right'] ^ b['left']
        >>> tk.einsum('ij,jk->ik', a, b).shape
        torch.Size([2, 4])
    """
    return einsum_op(string, *nodes)


def _free_symbol(string: str) -> str:
    used = set(string)
    i = 0
    while True:
        symbol = opt_einsum.get_symbol(i)
        if symbol not in used:
            return symbol
        i += 1


def stacked_einsum(string: str, *nodes_lists: Sequence[AbstractNode]) -> list[Node]:
    """Run the same :func:`einsum` on lists of nodes, stacking them first.

    Each list is stacked (:func:`~torchtn.ops.stack`), a stack subscript (one not used in
    ``string``) is prepended to every term and to the output, :func:`einsum` runs on the
    stacks and the result is unbound.

    Args:
        string: Einsum equation for one member of each list.
        *nodes_lists: Lists of equal length, one per input term.

    Returns:
        The unbound results (nodes named ``unbind``), one per position of the lists.

    Examples:
        >>> # lists `nodes` and `data` of 10 nodes each, nodes[i]['input'] ^ data[i]['feature']
        >>> results = tk.stacked_einsum('lir,bi->lbr', nodes, data)  # doctest: +SKIP
    """
    from torchtn.ops.stacking import stack, unbind

    if "->" not in string:
        raise TNValueError(
            f"Einsum string {string!r} should have an arrow '->' separating the inputs and "
            "the output"
        )
    stacks = [stack(nodes) for nodes in nodes_lists]
    symbol = _free_symbol(string)
    pieces = string.split("->")
    inputs = pieces[0].split(",")
    output = pieces[1]
    new_string = ",".join(symbol + term for term in inputs) + "->" + symbol + output
    return unbind(einsum(new_string, *stacks))
