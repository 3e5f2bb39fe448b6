"""Node names inside a network: enumeration, renaming shuffles and what moves with a name.

A node's name is also its memory address (``_memory_nodes`` key) and, for ParamNodes,
its parameter key (``param_<name>``), so renaming a node moves all three. The rules
(TensorKrowch's, see ``components.md`` §2.4):

* a base name (``erase_enum(name)``) used once is bare (``node``); a second node of the
  same base renames the first ``node_0`` and takes ``node_1``; later ones take
  ``node_<count>``;
* removing ``node_k`` shifts ``node_{k+1}..`` down by one, and a single survivor loses its
  suffix (unless ``move_names=False``);
* a node shifted onto the name of a node being renamed/removed takes over that name's
  slot *in place* in the role dict and in the memory dict (TensorKrowch's dict orders),
  while the displaced node parks its tensor in ``_temp_tensor`` until it gets its new name.

Invariant kept by every method here: ``_repeated_nodes_names[base]`` equals the number of
registered nodes whose name has that base, and no two nodes share a name (TensorKrowch
could hand out a name in use after ``move_names=False``; here the next free suffix is
taken instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchtn._utils import erase_enum
from torchtn.core.registry import BUILTIN_OPERATIONS, is_reserved

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["NamingMixin", "OPERATION_NAMES", "is_operation_name"]

#: Names reserved for operation results: TensorKrowch 1.1.6's operations and torchtn's
#: built-in ones (see :mod:`torchtn.core.registry`; user operations add theirs).
OPERATION_NAMES = frozenset(BUILTIN_OPERATIONS)

_MISSING = object()


def is_operation_name(base: str) -> bool:
    """Whether ``base`` is reserved for the results of an operation."""
    return is_reserved(base)


class NamingMixin:
    """Name bookkeeping of :class:`~torchtn.TensorNetwork` (mixed into it)."""

    # -- pieces that move with a name -----------------------------------------------------
    def _role_dict(self, node: AbstractNode) -> dict:
        if node._leaf:
            return self._leaf_nodes
        if node._data:
            return self._data_nodes
        if node._virtual:
            return self._virtual_nodes
        return self._resultant_nodes

    def _pop_param(self, node: AbstractNode) -> bool:
        """Unregister an owning ParamNode's ``param_<address>``; whether it existed."""
        if not node._is_param_node:
            return False
        info = node._tensor_info
        if info is None or info["address"] is None:
            return False
        return self._parameters.pop("param_" + info["address"], _MISSING) is not _MISSING

    def _put_param(self, node: AbstractNode, had: bool) -> None:
        """Register an owning ParamNode's tensor as ``param_<address>`` (appended)."""
        if not node._is_param_node:
            return
        info = node._tensor_info
        if info is None or info["address"] is None:
            return
        address = info["address"]
        tensor = self._memory_nodes.get(address)
        if tensor is not None or had:
            self._parameters["param_" + address] = tensor

    def _detach_edges(self, node: AbstractNode) -> None:
        """Drop the node's own edges from :attr:`edges` (they are re-added afterwards)."""
        edges = self._edges_d
        for edge in node._edges:
            if edge._nodes[0] is node or edge._nodes[1] is node:
                edges.pop(edge, None)

    # -- renaming one node ------------------------------------------------------------------
    def _relabel(self, node: AbstractNode, new: str) -> None:
        """Give ``node`` the name ``new``: role dict, memory slot, address, index."""
        old = node._name
        if old == new:
            return
        all_nodes = self._all_nodes
        role = self._role_dict(node)
        memory = self._memory_nodes
        holder = all_nodes.get(new)
        displaced = holder is not None and holder is not node
        if displaced:
            # ``holder`` is being renamed or removed; it keeps its value aside.
            try:
                holder._temp_tensor = holder.tensor
            except (TypeError, KeyError):
                holder._temp_tensor = None
            hrole = self._role_dict(holder)
            if hrole is not role and hrole.get(new) is holder:
                del hrole[new]
        info = node._tensor_info
        owner = info is not None and info["address"] is not None
        if all_nodes.get(old) is node:
            del all_nodes[old]
            role[new] = role.pop(old)
            if owner:
                memory[new] = memory.pop(old)
                info["address"] = new
                if self._tracing and old in self._inverse_memory:
                    self._inverse_memory[new] = self._inverse_memory.pop(old)
            elif displaced:
                memory.pop(new, None)  # the holder's slot; its value is in _temp_tensor
        else:
            # Our old name was taken over by a shifted node: take the new name fresh.
            role[new] = node
            if owner:
                memory[new] = node._temp_tensor
                info["address"] = new
            node._temp_tensor = None
        all_nodes[new] = node
        node._name = new

    def _set_name(self, node: AbstractNode, new: str) -> None:
        """Rename a registered node without touching other names (a shift step).

        Its memory slot moves with the name, so compiled programs and cached-call
        closures holding the old address are invalidated.
        """
        had = self._pop_param(node)
        self._detach_edges(node)
        self._relabel(node, new)
        self._put_param(node, had)
        self._add_node_edges(node)
        self._notify_memory_change()

    # -- enumeration -------------------------------------------------------------------------
    def _assign_name(self, node: AbstractNode, requested: str) -> str:
        """Count one more node of ``requested``'s base and return the name it gets."""
        base = erase_enum(requested)
        counts = self._repeated_nodes_names
        all_nodes = self._all_nodes
        count = counts.get(base, 0)
        if count == 0:
            holder = all_nodes.get(base)
            if holder is None or holder is node:
                counts[base] = 1
                return base
            count = 1  # pragma: no cover - defensive: counter out of sync
        if count == 1:
            holder = all_nodes.get(base)
            if holder is not None and holder is not node:
                self._set_name(holder, f"{base}_0")
        k = count
        while True:
            holder = all_nodes.get(f"{base}_{k}")
            if holder is None or holder is node:
                break
            k += 1
        counts[base] = count + 1
        return f"{base}_{k}"

    def _unassign_name(self, node: AbstractNode, move_names: bool = True) -> None:
        """Count one node fewer of ``node``'s base; shift the others' enumeration down."""
        name = node._name
        base = erase_enum(name)
        counts = self._repeated_nodes_names
        count = counts.get(base, 0)
        if count == 0:
            return
        all_nodes = self._all_nodes
        if move_names and count > 1 and name != base:
            suffix = name[len(base) + 1 :]
            if suffix.isdecimal():
                for i in range(int(suffix) + 1, count):
                    src = all_nodes.get(f"{base}_{i}")
                    if src is None:
                        continue
                    dst = f"{base}_{i - 1}"
                    holder = all_nodes.get(dst)
                    if holder is not None and holder is not node:
                        continue  # pragma: no cover - defensive: never overwrite a live name
                    self._set_name(src, dst)
        count -= 1
        if count == 0:
            del counts[base]
            return
        counts[base] = count
        if count == 1 and move_names:
            src = all_nodes.get(f"{base}_0")
            if src is not None and src is not node and base not in all_nodes:
                self._set_name(src, base)

    def _rename_node(self, node: AbstractNode, new: str) -> None:
        """Rename a registered node (the ``node.name = new`` path)."""
        had = self._pop_param(node)
        self._detach_edges(node)
        self._unassign_name(node, move_names=True)
        name = self._assign_name(node, new)
        self._relabel(node, name)
        self._put_param(node, had)
        self._add_node_edges(node)
        self._notify_memory_change()
