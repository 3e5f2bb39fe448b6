"""`TensorNetwork`: an ``nn.Module`` that owns nodes, their names, memory and edges.

One network has one memory (``_memory_nodes``: address -> tensor); nodes hold
addresses into it. This module owns the registry side (names, roles, memory slots,
parameters, the list of open edges); :mod:`torchtn.core._execution` holds the data
nodes and the forward/trace/reset cycle.
"""

from __future__ import annotations

import copy as _copy
import sys
import warnings
from typing import Any, Optional, Union

import torch
from torch import nn

from torchtn._utils import erase_enum
from torchtn.core._execution import ExecutionMixin
from torchtn.core.edge import Edge, StackEdge
from torchtn.core.node import AbstractNode, ParamNode
from torchtn.errors import TNKeyError, TNTypeError, TNValueError

__all__ = ["TensorNetwork"]


class TensorNetwork(ExecutionMixin, nn.Module):
    """A tensor network: a graph of nodes sharing one memory, trainable as an ``nn.Module``.

    Subclasses build their nodes in ``__init__`` and override :meth:`contract` (and
    optionally :meth:`set_data_nodes` / :meth:`add_data`). ``net(data)`` sets the data,
    runs :meth:`contract` the first time and replays the recorded operations afterwards.

    Args:
        name: Network name (lower-cased class name by default).

    Attributes:
        operations: Registry ``name -> Operation`` shared by all networks.
    """

    operations: dict[str, Any] = {}

    def __init__(self, name: Optional[str] = None) -> None:
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
        self._all_nodes: dict[str, AbstractNode] = {}
        self._repeated_nodes_names: dict[str, int] = {}
        self._edges_d: dict[Edge, None] = {}
        self._memory_nodes: dict[str, Optional[torch.Tensor]] = {}
        self._inverse_memory: dict[str, dict] = {}
        self._auto_stack = True
        self._auto_unbind = False
        self._tracing = False
        self._traced = False
        self._seq_ops: list[tuple[str, tuple]] = []
        self._seq_succ: list = []
        self._program = None

    # -- views -----------------------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, AbstractNode]:
        """All nodes: leaf, data, virtual then resultant (a new dict)."""
        return {**self._leaf_nodes, **self._data_nodes, **self._virtual_nodes,
                **self._resultant_nodes}

    @property
    def nodes_names(self) -> list[str]:
        """Names of :attr:`nodes`, in the same order."""
        return list(self.nodes)

    @property
    def leaf_nodes(self) -> dict[str, AbstractNode]:
        """Leaf nodes by name."""
        return self._leaf_nodes

    @property
    def data_nodes(self) -> dict[str, AbstractNode]:
        """Data nodes by name."""
        return self._data_nodes

    @property
    def virtual_nodes(self) -> dict[str, AbstractNode]:
        """Virtual nodes by name."""
        return self._virtual_nodes

    @property
    def resultant_nodes(self) -> dict[str, AbstractNode]:
        """Resultant nodes by name."""
        return self._resultant_nodes

    @property
    def edges(self) -> list[Edge]:
        """Dangling, non-batch edges of non-virtual nodes, in insertion order."""
        return list(self._edges_d)

    @property
    def _edges(self) -> list[Edge]:
        return list(self._edges_d)

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
            self._edges_d[edge] = None
        else:
            self._edges_d.pop(edge, None)

    def _remove_edge(self, edge: Edge) -> None:
        self._edges_d.pop(edge, None)

    def _add_node_edges(self, node: AbstractNode) -> None:
        if node._virtual:
            return
        for edge in node._edges:
            if edge._nodes[0] is node and self._edge_qualifies(edge):
                self._edges_d[edge] = None

    # -- roles -----------------------------------------------------------------------------
    def _role_dict(self, node: AbstractNode) -> dict:
        if node._leaf:
            return self._leaf_nodes
        if node._data:
            return self._data_nodes
        if node._virtual:
            return self._virtual_nodes
        return self._resultant_nodes

    def _change_node_role(self, node: AbstractNode, leaf: bool, data: bool, virtual: bool) -> None:
        old = self._role_dict(node)
        del old[node._name]
        node._leaf, node._data, node._virtual = leaf, data, virtual
        self._role_dict(node)[node._name] = node
        for edge in node._edges:
            if edge._nodes[0] is node:
                self._refresh_edge(edge)

    # -- naming ----------------------------------------------------------------------------
    def _set_name(self, node: AbstractNode, new: str) -> None:
        """Rename a registered node, moving its role entry, memory slot and parameter."""
        old = node._name
        if old == new:
            return
        role = self._role_dict(node)
        del role[old]
        role[new] = node
        del self._all_nodes[old]
        self._all_nodes[new] = node
        node._name = new
        info = node._tensor_info
        if info is not None and info["address"] == old:
            t = self._memory_nodes.pop(old)
            self._memory_nodes[new] = t
            info["address"] = new
            if isinstance(node, ParamNode):
                had = self._parameters.pop("param_" + old, None) is not None or t is not None
                if had:
                    self._parameters["param_" + new] = t

    def _assign_name(self, node: AbstractNode, requested: str) -> str:
        base = erase_enum(requested)
        count = self._repeated_nodes_names.get(base, 0)
        taken = self._all_nodes
        if count == 0 and base not in taken:
            name = base
        else:
            if count <= 1:
                holder = taken.get(base)
                if holder is not None:
                    self._set_name(holder, f"{base}_0")
                count = max(count, 1)
            k = count
            while f"{base}_{k}" in taken:
                k += 1
            name = f"{base}_{k}"
        self._repeated_nodes_names[base] = count + 1
        return name

    def _unassign_name(self, name: str, move_names: bool) -> None:
        base = erase_enum(name)
        count = self._repeated_nodes_names.get(base, 0)
        if count <= 0:
            return
        count -= 1
        if count == 0:
            del self._repeated_nodes_names[base]
            return
        self._repeated_nodes_names[base] = count
        if not move_names:
            return
        suffix = name[len(base) + 1:] if name != base else ""
        if suffix.isdigit():
            k = int(suffix)
            j = k + 1
            while f"{base}_{j}" in self._all_nodes:
                self._set_name(self._all_nodes[f"{base}_{j}"], f"{base}_{j - 1}")
                j += 1
        if count == 1 and f"{base}_0" in self._all_nodes and base not in self._all_nodes:
            self._set_name(self._all_nodes[f"{base}_0"], base)

    def _rename_node(self, node: AbstractNode, new: str) -> None:
        """Rename keeping TensorKrowch's enumeration rules (shift others, then enumerate)."""
        old = node._name
        placeholder = f"\x00{id(node)}"
        self._set_name(node, placeholder)
        self._unassign_name(old, move_names=True)
        name = self._assign_name(node, new)
        self._set_name(node, name)
        for edge in node._edges:
            if edge._nodes[0] is node:
                self._refresh_edge(edge)
        self._notify_memory_change()

    # -- registration ------------------------------------------------------------------------
    def _add_node(self, node: AbstractNode, override: bool = False) -> None:
        if override:
            existing = self._all_nodes.get(node._name)
            if existing is None:
                raise TNKeyError(
                    f"Cannot override node {node._name!r}: no such node in network {self.name!r}"
                )
            self._remove_node(existing)
        name = self._assign_name(node, node._name)
        node._name = name
        node._network = self
        self._role_dict(node)[name] = node
        self._all_nodes[name] = node
        t = node._temp_tensor
        node._temp_tensor = None
        node._tensor_info = {"address": name, "node_ref": None, "index": None}
        self._memory_nodes[name] = t
        if isinstance(node, ParamNode) and t is not None:
            if not isinstance(t, nn.Parameter):
                t = nn.Parameter(t)
                self._memory_nodes[name] = t
            self._parameters["param_" + name] = t
        node._axes_index = None
        self._add_node_edges(node)

    def _remove_node(self, node: AbstractNode, move_names: bool = True) -> None:
        try:
            value = node.tensor
        except (TypeError, KeyError):
            value = None
        info = node._tensor_info
        name = node._name
        if info is not None and info["address"] is not None:
            self._memory_nodes.pop(info["address"], None)
            if isinstance(node, ParamNode):
                self._parameters.pop("param_" + info["address"], None)
        node._tensor_info = None
        node._temp_tensor = value
        for edge in node._edges:
            if edge._nodes[0] is node or edge._nodes[1] is node:
                self._edges_d.pop(edge, None)
        del self._role_dict(node)[name]
        del self._all_nodes[name]
        node._network = None
        self._unassign_name(name, move_names)
        self._notify_memory_change()

    def delete_node(self, node: AbstractNode, move_names: bool = True) -> None:
        """Disconnect ``node`` and remove it from the network (its tensor is dropped)."""
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
            self.delete_node(node)

    # -- memory ------------------------------------------------------------------------------
    def _drop_memory_slot(self, node: AbstractNode) -> None:
        address = node._tensor_info["address"]
        self._memory_nodes.pop(address, None)
        if isinstance(node, ParamNode):
            self._parameters.pop("param_" + address, None)

    def _ensure_memory_slot(self, node: AbstractNode) -> None:
        self._memory_nodes.setdefault(node._tensor_info["address"], None)

    def _notify_memory_change(self) -> None:
        """Invalidate the compiled replay program (memory layout or structure changed)."""
        self._program = None

    # -- lookup and strings ------------------------------------------------------------------
    def __getitem__(self, key: Union[int, str]) -> Union[Edge, AbstractNode]:
        if isinstance(key, int):
            return self.edges[key]
        if isinstance(key, str):
            try:
                return self._all_nodes[key]
            except KeyError:
                raise TNKeyError(f"Network {self.name!r} has no node named {key!r}") from None
        raise TNTypeError(f"Network index should be int (edge) or str (node name), got "
                          f"{type(key).__name__}")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        nodes = "\n".join("\t\t" + line
                          for line in ("[" + "\n ".join(self.nodes_names) + "]").split("\n"))
        edges = "\n".join("\t\t" + line
                          for line in ("[" + "\n ".join(str(e) for e in self.edges) + "]").split("\n"))
        return f"{self.__class__.__name__}(\n \tname: {self.name}\n\tnodes: \n{nodes}\n\tedges:\n{edges})"

    def extra_repr(self) -> str:
        return f"name={self.name!r}, nodes={len(self._all_nodes)}"

    # -- whole-network operations -------------------------------------------------------------
    def copy(self) -> TensorNetwork:
        """A deep copy (new nodes, edges and memory; parameters re-linked)."""
        self._program = None
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20 * len(self._all_nodes) + 1000))
        try:
            return _copy.deepcopy(self)
        finally:
            sys.setrecursionlimit(limit)

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
