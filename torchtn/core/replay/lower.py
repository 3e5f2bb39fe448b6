"""Lowering: a network's recording becomes a ``torch.fx`` graph with eager semantics.

Every value in the lowered graph is a tensor in *node order*, exactly what the node's
``.tensor`` would be after the eager calls:

* a ParamNode owner is read through the module (``get_attr('param_<address>')``), so
  parameter swaps (``functional_call``, ``load_state_dict(assign=True)``) are seen;
* every other memory the recording reads but does not compute (data, plain leaves,
  virtual memories, results of steps that compute nothing) is a placeholder whose value
  the caller reads from memory (or computes from the input data);
* a node that references another node's memory is ``owner_value[index]``;
* a step is one call of its kernel's node-order form (``Kernel.eager``), a multi-output
  step adds one ``getitem`` per output.

The passes in :mod:`torchtn.core.replay.passes` then fold permutations into the kernels
and drop what computes nothing; the lowering itself makes no optimisation, so its graph
is the reference the passes are tested against.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

from torch import fx

from torchtn._utils import as_index as _as_index
from torchtn.errors import TNValueError

# The lowering reads nodes and the network by duck typing (their memory attributes) and
# imports neither, so the replay sits below the node and network modules.
AbstractNode = Any
TensorNetwork = Any

__all__ = ["Lowered", "lower", "erasable"]


def erasable(node: AbstractNode) -> bool:
    """Whether a traced replay frees ``node``'s memory once consumed (TensorKrowch's rule)."""
    return (
        node.is_resultant() or node._data or (node._virtual and node._name == "stack_data_memory")
    )


@dataclass
class Lowered:
    """A lowered recording: the graph and what the caller needs around it.

    Attributes:
        graph: The fx graph ``(*inputs) -> (out, *written)``.
        inputs: Memory address read for each placeholder, in order.
        data_inputs: Positions in ``inputs`` of data memories (data nodes and
            ``stack_data_memory``), which ``forward`` may fill from its argument.
        params: Parameter names read with ``get_attr``.
        out_node: The node whose tensor ``forward`` returns.
        out_owner: The node owning the memory ``out_node`` reads (``out_node`` itself
            unless it references, as with ``auto_unbind``).
        written: Nodes whose tensors the graph returns after ``out``, in order: when
            ``full``, every other resultant that owns memory; else only ``out_owner`` when
            ``out_node`` references it (so that the output node stays readable).
        free: Addresses a traced replay sets to None (consumed erasable memories).
        views: ``(node, owner, index)`` of results that are views of another node's
            memory (steps that compute nothing: auto-unbind, stacks of slices); their
            shapes follow their owner's.
        full: Whether the graph returns every resultant (untraced replays write them back).
    """

    graph: fx.Graph
    inputs: list[str] = field(default_factory=list)
    data_inputs: list[int] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    out_node: Any = None
    out_owner: Any = None
    written: list[Any] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    views: list[tuple[Any, Any, Any]] = field(default_factory=list)
    full: bool = False


def _identifier(name: str) -> str:
    return "m_" + re.sub(r"\W", "_", name)


def lower(net: TensorNetwork, full: bool) -> Lowered:
    """Lower ``net``'s recording into an fx graph with eager (node-order) semantics.

    Args:
        net: The network; its recording must not be empty.
        full: Return every resultant that owns memory after the output (for untraced
            replays, which keep them as TensorKrowch does); else only the output.

    Raises:
        ValueError: If nothing is recorded, or the last step returned several nodes.
    """
    steps = net._recording.steps
    if not steps:
        raise TNValueError(f"Network {net.name!r} has no recorded operations to replay")
    graph = fx.Graph()
    low = Lowered(graph=graph, full=full)
    produced: dict[int, fx.Node] = {}  # id(owner) -> node-order value
    external: dict[int, fx.Node] = {}
    consumed: dict[int, AbstractNode] = {}
    names: set[str] = set()
    params = net._parameters

    def load(owner: AbstractNode) -> fx.Node:
        value = external.get(id(owner))
        if value is not None:
            return value
        address = owner._tensor_info["address"]
        key = "param_" + address
        if owner._is_param_node and params.get(key) is not None:
            value = graph.get_attr(key)
            low.params.append(key)
        else:
            target = _identifier(address)
            while target in names:
                target += "_"
            names.add(target)
            value = graph.placeholder(target)
            if owner._data or (owner._virtual and owner._name == "stack_data_memory"):
                low.data_inputs.append(len(low.inputs))
            low.inputs.append(address)
        external[id(owner)] = value
        return value

    def value_of(node: AbstractNode) -> fx.Node:
        info = node._tensor_info
        if info["address"] is not None:
            owner, index = node, None
        else:
            owner, index = info["node_ref"], info["index"]
        consumed[id(owner)] = owner
        base = produced.get(id(owner))
        if base is None:
            base = load(owner)
        if index is None:
            return base
        return graph.call_function(operator.getitem, (base, _as_index(index)))

    children_of: list[list] = []
    for step in steps:
        kernel = step._run
        children = step.child if isinstance(step.child, list) else [step.child]
        children_of.append(children)
        if kernel is None:
            for c in children:
                info = c._tensor_info
                if c.is_resultant() and info is not None and info["address"] is None:
                    low.views.append((c, info["node_ref"], _as_index(info["index"])))
            continue
        args = tuple(value_of(n) for n in step._args)
        call = graph.call_function(kernel.eager, args)
        outs = (
            [graph.call_function(operator.getitem, (call, i)) for i in range(len(children))]
            if kernel.multi
            else [call]
        )
        for c, out in zip(children, outs, strict=False):
            if c._tensor_info is not None and c._tensor_info["address"] is not None:
                produced[id(c)] = out

    last = steps[-1].child
    if isinstance(last, list):
        if len(last) != 1:
            raise TNValueError(
                "The last operation of contract() must return a single resultant node, got a "
                f"list of {len(last)} nodes"
            )
        last = last[0]
    out = value_of(last)
    info = last._tensor_info
    low.out_node = last
    low.out_owner = last if info["address"] is not None else info["node_ref"]

    if full:
        for children in children_of:
            for c in children:
                if c is not last and id(c) in produced:
                    low.written.append(c)
    elif low.out_owner is not last and id(low.out_owner) in produced:
        low.written.append(low.out_owner)
    graph.output((out, *(produced[id(c)] for c in low.written)))

    # A traced replay frees what TensorKrowch's inverse memory frees: every erasable
    # memory the recording consumed, except the output's.
    for owner in consumed.values():
        if owner is low.out_owner or not erasable(owner):
            continue
        if id(owner) in produced or owner._data or owner._virtual:
            low.free.append(owner._tensor_info["address"])
    return low
