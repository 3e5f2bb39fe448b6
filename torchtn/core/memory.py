"""The network memory as seen by operations: read, store, share, resolve.

A network has one memory (``net._memory_nodes``: address -> tensor); a node either owns
a slot (its address is its name) or references another node's slot, optionally through
an index (see ``core/README.md``). Operations go through these functions instead of the
nodes' private attributes, so the memory model has one owner: the core.

Reading a ParamNode owner goes through the network's parameter registry
(``param_<address>``), so ``torch.func.functional_call`` and parameters assigned by
``load_state_dict(..., assign=True)`` are seen by first calls as well as by replays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from torchtn._utils import as_index as _as_index
from torchtn.errors import TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.network import TensorNetwork
    from torchtn.core.node import AbstractNode

__all__ = [
    "read",
    "store",
    "share",
    "owner",
    "index",
    "owns",
    "slot",
    "view_shape",
    "layout_changed",
    "as_index",
]

as_index = _as_index


def owner(node: AbstractNode) -> AbstractNode:
    """The node whose memory slot ``node`` reads (itself if it owns one)."""
    info = node._tensor_info
    return node if info["address"] is not None else info["node_ref"]


def index(node: AbstractNode) -> Any:
    """The index ``node`` applies to its owner's tensor (None: the whole tensor)."""
    return node._tensor_info["index"]


def owns(node: AbstractNode) -> bool:
    """Whether ``node`` owns a memory slot of its network."""
    info = node._tensor_info
    return info is not None and info["address"] is not None


def _owner_tensor(own: AbstractNode) -> torch.Tensor | None:
    net = own._network
    address = own._tensor_info["address"]
    if own._is_param_node:
        param = net._parameters.get("param_" + address)
        if param is not None:
            return param
    return net._memory_nodes[address]


def read(node: AbstractNode) -> torch.Tensor:
    """The current tensor of ``node``, resolved through its present memory reference.

    Raises:
        ValueError: If the node (or what it references) holds no tensor.
    """
    info = node._tensor_info
    if info["address"] is not None:
        t = _owner_tensor(node)
    else:
        t = _owner_tensor(info["node_ref"])
        idx = info["index"]
        if idx is not None and t is not None:
            t = t[_as_index(idx)]
    if t is None:
        raise TNValueError(
            f"Node {node._name!r} has no tensor (it is empty, or its memory was freed after a "
            "traced forward); set a tensor or call reset()"
        )
    return t


def store(node: AbstractNode, tensor: torch.Tensor) -> None:
    """Write ``tensor`` into the slot ``node`` owns and take its shape."""
    node._network._memory_nodes[node._tensor_info["address"]] = tensor
    node._shape = tensor.shape


def share(node: AbstractNode, source: AbstractNode, idx: Any = None) -> None:
    """Make ``node`` read ``source``'s memory slot (indexed by ``idx``), dropping its own.

    ``source`` must own its slot (references are one hop). Used by operations whose
    results are views of another node's memory (auto-stack, auto-unbind, stacks of
    slices of one stack).
    """
    net = node._network
    if node._tensor_info["address"] is not None:
        net._drop_memory_slot(node)
    node._tensor_info = {"address": None, "node_ref": source, "index": idx}
    net._notify_memory_change()


def slot(node: AbstractNode) -> tuple[dict, str, Any]:
    """``(memory dict, address, index)`` through which ``node`` is read right now.

    Valid until the network's layout changes (:attr:`Recording.layout`); callers that
    cache it compare that counter.
    """
    info = node._tensor_info
    if info["address"] is not None:
        return node._network._memory_nodes, info["address"], None
    ref = info["node_ref"]
    idx = info["index"]
    return (
        ref._network._memory_nodes,
        ref._tensor_info["address"],
        (None if idx is None else _as_index(idx)),
    )


def view_shape(node: AbstractNode) -> torch.Size:
    """The shape ``node`` has as a view of its owner's tensor (from shapes only)."""
    info = node._tensor_info
    if info["address"] is not None:
        return node._shape
    shape = info["node_ref"]._shape
    idx = info["index"]
    if idx is None:
        return shape
    return torch.empty(shape, device="meta")[_as_index(idx)].shape


def layout_changed(net: TensorNetwork) -> None:
    """Tell the network its memory layout changed (cached addresses and replays rebuild)."""
    net._notify_memory_change()
