"""`TensorNetwork`: an ``nn.Module`` that owns nodes, their names, memory and edges.

One network has one memory (``_memory_nodes``: address -> tensor); nodes hold
addresses into it. This module owns the registry side (roles, memory slots, parameters,
the list of open edges, copies and pickling); :mod:`torchtn.core._naming` holds the name
enumeration and :mod:`torchtn.core._execution` the data nodes and the
forward/trace/reset cycle.
"""

from __future__ import annotations

import copy as _copy
import warnings
from typing import Any, Union

import torch
from torch import nn

from torchtn._utils import print_list, tab_string
from torchtn.core._checkpoint import CheckpointMixin
from torchtn.core._execution import ExecutionMixin
from torchtn.core._inspect import InspectMixin
from torchtn.core._naming import NamingMixin
from torchtn.core._parameters import ParametersMixin
from torchtn.core.edge import Edge, StackEdge
from torchtn.core.node import AbstractNode
from torchtn.core.recording import Recording
from torchtn.core.registry import OperationsView
from torchtn.errors import TNIndexError, TNKeyError, TNTypeError, TNValueError

__all__ = ["TensorNetwork"]


class _EdgeDict(dict):
    """Insertion-ordered set of open edges (``edge -> None``) with a cached list view."""

    __slots__ = ("_list",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._list: list | None = None

    def __setitem__(self, key: Edge, value: None) -> None:
        self._list = None
        super().__setitem__(key, value)

    def __delitem__(self, key: Edge) -> None:
        self._list = None
        super().__delitem__(key)

    def pop(self, key: Edge, *default: Any) -> Any:
        self._list = None
        return super().pop(key, *default)

    def clear(self) -> None:
        self._list = None
        super().clear()

    def as_list(self) -> list:
        """The edges in insertion order (cached; do not mutate)."""
        if self._list is None:
            self._list = list(self)
        return self._list

    def __reduce__(self) -> tuple:
        return (type(self), (list(self.items()),))


class TensorNetwork(
    NamingMixin, ExecutionMixin, ParametersMixin, CheckpointMixin, InspectMixin, nn.Module
):
    """A tensor network: a graph of nodes sharing one memory, trainable as an ``nn.Module``.

    Subclasses build their nodes in ``__init__`` and override :meth:`contract` (and
    optionally :meth:`set_data_nodes` / :meth:`add_data`). ``net(data)`` sets the data,
    runs :meth:`contract` the first time and replays the recorded operations afterwards.

    ParamNode tensors are parameters of the network named ``param_<node name>``.
    ``net.to(...)`` converts them in place and also converts the tensors of plain
    nodes, so every node keeps the network's dtype and device.

    Args:
        name: Network name (lower-cased class name by default).

    Attributes:
        operations: Read-only view ``name -> Operation`` of the operation registry
            (:mod:`torchtn.core.registry`), shared by all networks.
    """

    operations = OperationsView()

    def __init__(self, name: str | None = None) -> None:
        super().__init__()
        if name is None:
            name = self.__class__.__name__.lower()
        if not isinstance(name, str):
            raise TNTypeError(f"Network `name` should be str, got {type(name).__name__}")
        self.name = name
        self._leaf_nodes: dict[str, AbstractNode] = {}
        self._data_nodes: dict[str, AbstractNode] = {}
        self._virtual_nodes: dict[str, AbstractNode] = {}
        self._resultant_nodes: dict[str, AbstractNode] = {}
        self._all_nodes: dict[str, AbstractNode] = {}  # name -> node, every role
        self._repeated_nodes_names: dict[str, int] = {}
        self._edges_d: _EdgeDict = _EdgeDict()
        self._memory_nodes: dict[str, torch.Tensor | None] = {}
        self._inverse_memory: dict[str, dict] = {}
        self._auto_stack = True
        self._auto_unbind = False
        self._tracing = False
        self._traced = False
        self._recording = Recording()
        self._replays: dict[bool, Any] = {}
        self._signature: Any = None  # input shapes the node shapes were last set for
        self._parameters_handed_out = False  # parameters() was called (an optimizer, DDP)
        self._stacks: dict[tuple, tuple] = {}  # auto-stacked members -> their stack Parameter
        self._former_keys: dict[int, tuple] = {}  # id(old parameter) -> (weak ref, key)
        self._compile_kwargs: dict[str, Any] | None = None

    # -- views -----------------------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, AbstractNode]:
        """All nodes: leaf, data, virtual then resultant (a new dict)."""
        return {
            **self._leaf_nodes,
            **self._data_nodes,
            **self._virtual_nodes,
            **self._resultant_nodes,
        }

    @property
    def nodes_names(self) -> list[str]:
        """Names of :attr:`nodes`, in the same order."""
        return list(self.nodes)

    @property
    def leaf_nodes(self) -> dict[str, AbstractNode]:
        """Leaf nodes by name (live dict)."""
        return self._leaf_nodes

    @property
    def data_nodes(self) -> dict[str, AbstractNode]:
        """Data nodes by name (live dict)."""
        return self._data_nodes

    @property
    def virtual_nodes(self) -> dict[str, AbstractNode]:
        """Virtual nodes by name (live dict)."""
        return self._virtual_nodes

    @property
    def resultant_nodes(self) -> dict[str, AbstractNode]:
        """Resultant nodes by name (live dict)."""
        return self._resultant_nodes

    @property
    def edges(self) -> list[Edge]:
        """Dangling, non-batch edges of non-virtual nodes, in insertion order (a copy)."""
        return list(self._edges_d.as_list())

    @property
    def _edges(self) -> list[Edge]:
        return list(self._edges_d.as_list())

    @property
    def auto_stack(self) -> bool:
        """Whether stacking ParamNodes hands their memory to the stack (resets on change)."""
        return self._auto_stack

    @auto_stack.setter
    def auto_stack(self, value: bool) -> None:
        if value != self._auto_stack:
            self.reset()
            self._auto_stack = value

    @property
    def auto_unbind(self) -> bool:
        """Whether unbind returns views that index the stack (resets on change)."""
        return self._auto_unbind

    @auto_unbind.setter
    def auto_unbind(self, value: bool) -> None:
        if value != self._auto_unbind:
            self.reset()
            self._auto_unbind = value

    # -- edges -----------------------------------------------------------------------------
    def _edge_qualifies(self, edge: Edge) -> bool:
        node = edge._nodes[0]
        return (
            edge._nodes[1] is None
            and not edge._axes[0]._batch
            and not isinstance(edge, StackEdge)
            and node._network is self
            and not node._virtual
            and node._edges[edge._axes[0]._num] is edge
        )

    def _refresh_edge(self, edge: Edge) -> None:
        """Add ``edge`` to :attr:`edges` if it qualifies, remove it otherwise."""
        if self._edge_qualifies(edge):
            if edge not in self._edges_d:
                self._edges_d[edge] = None
        else:
            self._edges_d.pop(edge, None)

    def _remove_edge(self, edge: Edge) -> None:
        self._edges_d.pop(edge, None)

    def _add_node_edges(self, node: AbstractNode) -> None:
        if node._virtual:
            return
        edges = self._edges_d
        for edge in node._edges:
            if edge._nodes[0] is node and edge not in edges and self._edge_qualifies(edge):
                edges[edge] = None

    # -- roles -----------------------------------------------------------------------------
    def _change_node_role(self, node: AbstractNode, leaf: bool, data: bool, virtual: bool) -> None:
        """Move ``node`` to another role dict (appended); no-op for its current role."""
        old = self._role_dict(node)
        node._leaf, node._data, node._virtual = leaf, data, virtual
        new = self._role_dict(node)
        if new is not old:
            del old[node._name]
            new[node._name] = node
        for edge in node._edges:
            if edge._nodes[0] is node:
                self._refresh_edge(edge)

    # -- registration ------------------------------------------------------------------------
    def _add_node(self, node: AbstractNode, override: bool = False) -> None:
        """Register ``node`` under its (enumerated) name, owning a fresh memory slot.

        The node's tensor, if any, is taken from ``node._temp_tensor``. With
        ``override`` the node currently named ``node.name`` is removed first.
        """
        if override:
            existing = self._all_nodes.get(node._name)
            if existing is None:
                raise TNKeyError(
                    f"Cannot override node {node._name!r}: no such node in network {self.name!r}"
                )
            self._remove_node(existing)
        name = self._assign_name(node, node._name)
        tensor = node._temp_tensor
        node._temp_tensor = None
        self._role_dict(node)[name] = node
        self._all_nodes[name] = node
        node._name = name
        node._network = self
        node._tensor_info = {"address": name, "node_ref": None, "index": None}
        if node._is_param_node and tensor is not None:
            if not isinstance(tensor, nn.Parameter):
                tensor = nn.Parameter(tensor)
            self._memory_nodes[name] = tensor
            self._parameters["param_" + name] = tensor
        else:
            self._memory_nodes[name] = tensor
        self._add_node_edges(node)
        self._notify_memory_change()  # the name may have shifted others' addresses

    def _remove_node(self, node: AbstractNode, move_names: bool = True) -> None:
        """Unregister ``node`` without disconnecting it (neighbours still point to it).

        The node keeps its current tensor in ``_temp_tensor``; its name, memory slot,
        parameter and open edges leave the network, and other names may shift.
        """
        try:
            value = node.tensor
        except (TypeError, KeyError):
            value = None
        had_param = self._pop_param(node)
        del had_param
        self._detach_edges(node)
        info = node._tensor_info
        owner = info is not None and info["address"] is not None
        node._temp_tensor = value
        node._tensor_info = None
        node._network = None
        self._unassign_name(node, move_names)
        name = node._name
        if self._all_nodes.get(name) is node:
            del self._all_nodes[name]
            role = self._role_dict(node)
            if role.get(name) is node:
                del role[name]
            if owner:
                self._memory_nodes.pop(name, None)
        self._notify_memory_change()

    def delete_node(self, node: AbstractNode, move_names: bool = True) -> None:
        """Disconnect ``node`` and remove it from the network (its tensor is dropped).

        Raises:
            TypeError: If ``node`` is not a node.
            ValueError: If ``node`` does not belong to this network.
        """
        if not isinstance(node, AbstractNode):
            raise TNTypeError(f"`node` should be a node, got {type(node).__name__}")
        if node._network is not self:
            raise TNValueError(f"Node {node._name!r} is not in network {self.name!r}")
        node.disconnect()
        self._remove_node(node, move_names)
        node._temp_tensor = None

    def delete(self) -> None:
        """Delete every node of the network."""
        for node in list(self.nodes.values()):
            if node._network is self:
                self.delete_node(node)

    # -- memory ------------------------------------------------------------------------------
    def _drop_memory_slot(self, node: AbstractNode) -> None:
        """Remove an owner's memory slot (and ``param_<address>``) before it references."""
        address = node._tensor_info["address"]
        self._memory_nodes.pop(address, None)
        if node._is_param_node:
            self._parameters.pop("param_" + address, None)

    def _ensure_memory_slot(self, node: AbstractNode) -> None:
        self._memory_nodes.setdefault(node._tensor_info["address"], None)

    def _notify_memory_change(self) -> None:
        """The memory layout or structure changed: cached addresses and replays are stale."""
        self.__dict__["_recording"].layout_changed()

    @property
    def _seq_ops(self) -> list[tuple[str, tuple]]:
        """``(operation name, argument key)`` of each recorded first call, in order."""
        return self._recording.ops()

    @_seq_ops.setter
    def _seq_ops(self, value: list) -> None:
        if list(value):
            raise TNValueError("`_seq_ops` can only be cleared (assign []); use reset()")
        self._recording.clear()

    def _apply(self, fn: Any, recurse: bool = True) -> TensorNetwork:
        # nn.Module converts the parameters; keep memory slots pointing at them (they
        # may be new objects) and convert the plain nodes' tensors the same way.
        out = super()._apply(fn, recurse)
        params = self._parameters
        memory = self._memory_nodes
        for address, tensor in memory.items():
            if tensor is None:
                continue
            param = params.get("param_" + address)
            if param is not None:
                memory[address] = param
            elif not isinstance(tensor, nn.Parameter):
                memory[address] = fn(tensor)
        self._notify_memory_change()
        return out

    # -- lookup and strings ------------------------------------------------------------------
    def __getitem__(self, key: Union[int, str]) -> Union[Edge, AbstractNode]:
        if isinstance(key, int):
            edges = self._edges_d.as_list()
            try:
                return edges[key]
            except IndexError:
                raise TNIndexError(
                    f"Network {self.name!r} has {len(edges)} open edges; no edge {key}"
                ) from None
        if isinstance(key, str):
            try:
                return self._all_nodes[key]
            except KeyError:
                raise TNKeyError(f"Network {self.name!r} has no node named {key!r}") from None
        raise TNTypeError(
            f"Network index should be int (edge) or str (node name), got {type(key).__name__}"
        )

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(\n \tname: {self.name}\n"
            f"\tnodes: \n{tab_string(print_list(self.nodes_names), 2)}\n"
            f"\tedges:\n{tab_string(print_list(self.edges), 2)})"
        )

    def extra_repr(self) -> str:
        return f"name={self.name!r}, nodes={len(self._all_nodes)}"

    # -- copies and pickling -----------------------------------------------------------------
    def __getstate__(self) -> dict:
        # Node states travel in one flat table so that pickling/deep-copying a long
        # chain of nodes does not recurse node -> edge -> node (see AbstractNode.__reduce_ex__).
        state = super().__getstate__()
        state["_replays"] = {}
        state["_signature"] = None
        state["_stacks"] = {}  # keyed by node ids, which a copy does not keep
        state["_former_keys"] = {}  # weak references do not travel
        # Tensors computed with autograd (resultants after a forward) cannot be pickled
        # with their graph: they travel detached.
        memory = state["_memory_nodes"]
        if any(isinstance(t, torch.Tensor) and t.grad_fn is not None for t in memory.values()):
            state["_memory_nodes"] = {
                k: (t.detach() if isinstance(t, torch.Tensor) and t.grad_fn is not None else t)
                for k, t in memory.items()
            }
        state["_node_states"] = [(node, node.__dict__) for node in self._all_nodes.values()]
        return state

    def __setstate__(self, state: dict) -> None:
        node_states = state.pop("_node_states", ())
        super().__setstate__(state)
        for node, node_state in node_states:
            node.__dict__.update(node_state)

    def __deepcopy__(self, memo: dict) -> TensorNetwork:
        # Tensors computed with autograd (resultant nodes after a forward) cannot be
        # deep-copied by torch; the copy gets detached clones of them.
        for tensor in self._memory_nodes.values():
            if isinstance(tensor, torch.Tensor) and not tensor.is_leaf and id(tensor) not in memo:
                memo[id(tensor)] = tensor.detach().clone()
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(_copy.deepcopy(self.__getstate__(), memo))
        return new

    def copy(self) -> TensorNetwork:
        """A deep copy (new nodes, edges and memory; parameters re-linked)."""
        return _copy.deepcopy(self)

    def parameterize(self, set_param: bool = True, override: bool = False) -> TensorNetwork:
        """Turn every leaf node into a ParamNode (or a Node if ``set_param`` is False).

        Works on ``self`` if ``override``, else on a copy, which is returned.
        """
        if self._resultant_nodes:
            warnings.warn("Resultant nodes will be removed before parameterizing the TN")
            self.reset()
        net = self if override else self.copy()
        for node in list(net._leaf_nodes.values()):
            node.parameterize(set_param)
        return net
