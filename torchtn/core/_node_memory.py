"""Tensor management of nodes: reading and writing through the network memory.

A node's ``_tensor_info`` is ``{'address', 'node_ref', 'index'}``: an owner has its own
address (its name) in ``network._memory_nodes``; a *referencing* node has address None
and reads the memory of ``node_ref`` (exactly one hop), indexed by ``index`` when set.
This mixin is the only node code that reads or writes ``_memory_nodes``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from torchtn._utils import as_index as _as_index
from torchtn.core import _tensor_init
from torchtn.errors import TNKeyError, TNTypeError, TNValueError
from torchtn.typing import Ax, Shape

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["TensorMixin"]


def _erasable(node: AbstractNode) -> bool:
    return (
        node.is_resultant() or node._data or (node._virtual and node._name == "stack_data_memory")
    )


def _stale_reference(node: AbstractNode, ref: AbstractNode) -> TNTypeError:
    return TNTypeError(
        f"Node {node._name!r} references the tensor of node {ref._name!r}, which no "
        "longer belongs to a network (it was removed or replaced); call "
        "set_tensor_from() with the new owner"
    )


class TensorMixin:
    """Tensor storage behaviour of :class:`~torchtn.AbstractNode` (mixed into it)."""

    # -- reading ------------------------------------------------------------------------
    @property
    def tensor(self) -> torch.Tensor | None:
        """The node's tensor (read from network memory), or None if empty.

        Setting ``None`` unsets it (:meth:`unset_tensor`); any other value goes through
        :meth:`set_tensor`.
        """
        temp = self._temp_tensor
        info = self._tensor_info
        if temp is not None or info is None:
            return temp
        address = info["address"]
        if address is None:
            ref = info["node_ref"]
            rinfo = ref._tensor_info
            if rinfo is None:
                raise _stale_reference(self, ref)
            address = rinfo["address"]
            if address is None:
                raise TNKeyError(
                    f"Node {self._name!r} references node {ref._name!r}, which itself "
                    "references another node; references are one hop only"
                )
            t = ref._network._memory_nodes[address]
        else:
            t = self._network._memory_nodes[address]
        index = info["index"]
        if index is None or t is None:
            return t
        if (
            not self._network._auto_unbind
            and self._name.startswith("unbind")
            and self.is_resultant()
        ):
            return t
        return t[_as_index(index)]

    @tensor.setter
    def tensor(self, tensor: torch.Tensor | None) -> None:
        if tensor is None:
            self.unset_tensor()
        else:
            self.set_tensor(tensor)

    def _direct_get_tensor(self, node_ref: AbstractNode, index: Any) -> torch.Tensor | None:
        """``node_ref``'s stored tensor, indexed by ``index`` (no checks; for operations)."""
        t = node_ref._network._memory_nodes[node_ref._tensor_info["address"]]
        return t if index is None or t is None else t[_as_index(index)]

    def tensor_address(self) -> str | None:
        """Address (owner's name) of the memory the node reads its tensor from.

        None when the node references a node that itself references another one.
        """
        info = self._require_info()
        if info["address"] is not None:
            return info["address"]
        ref = info["node_ref"]
        if ref._tensor_info is None:
            raise _stale_reference(self, ref)
        return ref._tensor_info["address"]

    def node_ref(self) -> AbstractNode:
        """The node owning the memory this node reads (itself if it owns it)."""
        info = self._require_info()
        return self if info["address"] is not None else info["node_ref"]

    def _require_info(self) -> dict:
        info = self._tensor_info
        if info is None:
            raise TNTypeError(
                f"Node {self._name!r} does not belong to a network (it was removed or replaced)"
            )
        return info

    # -- creating and checking tensors ------------------------------------------------------
    def make_tensor(
        self,
        shape: Shape | None = None,
        init_method: str = "zeros",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: float,
    ) -> torch.Tensor:
        """Create (not store) a tensor of ``shape`` (the node's by default).

        Args:
            shape: Shape of the tensor; the node's shape if None.
            init_method: ``zeros``, ``ones``, ``copy`` (ones on the diagonal), ``rand``
                (floats ``low``/``high``) or ``randn`` (floats ``mean``/``std``).
            device: Device of the tensor.
            dtype: dtype of the tensor.
            **kwargs: ``low``/``high`` or ``mean``/``std``.

        Raises:
            ValueError: Unknown ``init_method``, ``low >= high`` or ``std <= 0``.
            TypeError: Non-float generator arguments or unknown keyword arguments.
        """
        shape = self._shape if shape is None else shape
        return _tensor_init.make(
            shape,
            init_method,
            device=device,
            dtype=dtype,
            context=f"Node {self._name!r}",
            **kwargs,
        )

    def _compatible_shape(self, tensor: torch.Tensor) -> bool:
        if tensor.dim() != len(self._axes):
            return False
        shape = tensor.shape
        for i, (ax, edge) in enumerate(zip(self._axes, self._edges, strict=True)):
            if not ax._batch and shape[i] != edge.size():
                return False
        return True

    def _crop_tensor(self, tensor: torch.Tensor) -> torch.Tensor:
        if tensor.dim() != len(self._axes):
            raise TNValueError(
                f"Cannot set a tensor of rank {tensor.dim()} (shape {tuple(tensor.shape)}) in "
                f"node {self._name!r} of rank {len(self._axes)}"
            )
        index = []
        for i, (ax, edge) in enumerate(zip(self._axes, self._edges, strict=True)):
            dim = tensor.shape[i]
            if ax._batch:
                index.append(slice(None))
                continue
            size = edge.size()
            if dim < size:
                raise TNValueError(
                    f"Cannot set tensor of shape {tuple(tensor.shape)} in node {self._name!r}: "
                    f"its size {dim} at axis {ax._name!r} is smaller than the edge size {size}"
                )
            index.append(slice(dim - size, dim))
        return tensor[tuple(index)]

    @staticmethod
    def _set_tensor_format(tensor: torch.Tensor) -> torch.Tensor:
        if isinstance(tensor, nn.Parameter):
            return tensor.detach()
        return tensor

    def _check_tensor_type(self, tensor: object) -> None:
        if not isinstance(tensor, torch.Tensor):
            raise TNTypeError(
                f"`tensor` for node {self._name!r} should be torch.Tensor, got "
                f"{type(tensor).__name__}"
            )

    def _check_set_permission(self) -> None:
        if self.is_resultant():
            raise TNValueError(
                f"Node {self._name!r} is resultant: its tensor is set by the operation that "
                "created it"
            )
        info = self._tensor_info
        if info is None:
            raise TNValueError(
                f"Node {self._name!r} does not belong to a network (it was "
                "removed or replaced); its tensor cannot be set"
            )
        if info["address"] is None:
            raise TNValueError(
                f"Node {self._name!r} references the tensor of node "
                f"{info['node_ref']._name!r}; call reset_tensor_address() before setting "
                "its own tensor"
            )

    # -- writing ---------------------------------------------------------------------------
    def set_tensor(
        self,
        tensor: torch.Tensor | None = None,
        init_method: str | None = "zeros",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: float,
    ) -> None:
        """Store a tensor in the node (no copy), or create one with ``init_method``.

        Non-batch dimensions larger than the edges are cropped keeping the last entries
        (with a warning); batch dimensions may have any size and update :attr:`shape`.

        Args:
            tensor: Tensor to store. ParamNodes wrap it in an ``nn.Parameter`` (same
                storage); Nodes store it as is (Parameters are detached).
            init_method: Used when ``tensor`` is None (see :meth:`make_tensor`); None
                empties the node.
            device: Device of a created tensor (ignored, with a warning, for ``tensor``).
            dtype: dtype of a created tensor (ignored, with a warning, for ``tensor``).
            **kwargs: Arguments of ``init_method``.

        Raises:
            ValueError: If the node is resultant or references another node's tensor, or
                if ``tensor`` has another rank or is too small at a non-batch axis.
            TypeError: If ``tensor`` is not a ``torch.Tensor``.
        """
        self._check_set_permission()
        if tensor is None:
            self._unrestricted_set_tensor(None, init_method, device, dtype, **kwargs)
            return
        self._check_tensor_type(tensor)
        if not self._compatible_shape(tensor):
            tensor = self._crop_tensor(tensor)
            warnings.warn(
                f'`tensor` is being cropped to fit the shape of node "{self._name}" '
                "at non-batch edges"
            )
        self._unrestricted_set_tensor(tensor, init_method, device, dtype)

    def unset_tensor(self) -> None:
        """Empty the node (the shape is kept).

        Raises:
            ValueError: If the node is resultant or references another node's tensor.
        """
        self._check_set_permission()
        self._save_in_network(None)

    def _unrestricted_set_tensor(
        self,
        tensor: torch.Tensor | None = None,
        init_method: str | None = "zeros",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: float,
    ) -> None:
        # set_tensor without the permission check and the crop warning.
        if tensor is not None:
            self._check_tensor_type(tensor)
            if device is not None:
                warnings.warn(
                    "`device` was specified but is being ignored. Provide a tensor "
                    "that is already in the required device"
                )
            if dtype is not None:
                warnings.warn(
                    "`dtype` was specified but is being ignored. Provide a tensor "
                    "that already has the required dtype"
                )
            if not self._compatible_shape(tensor):
                tensor = self._crop_tensor(tensor)
        elif init_method is not None:
            old = self.tensor
            if old is not None:
                device = old.device if device is None else device
                dtype = old.dtype if dtype is None else dtype
            tensor = self.make_tensor(init_method=init_method, device=device, dtype=dtype, **kwargs)
        else:
            self._save_in_network(None)  # TK crashed here; empty the node instead
            return
        self._direct_set_tensor(self._set_tensor_format(tensor))

    def _direct_set_tensor(self, tensor: torch.Tensor | None) -> None:
        """Store ``tensor`` as is and take its shape (no checks; for operations)."""
        self._save_in_network(tensor)
        if tensor is not None:
            self._shape = tensor.shape

    def _save_in_network(self, tensor: torch.Tensor | None) -> None:
        self._network._memory_nodes[self._tensor_info["address"]] = tensor

    # -- sharing -----------------------------------------------------------------------------
    def set_tensor_from(self, other: AbstractNode) -> None:
        """Make this node read its tensor from ``other``'s memory (sharing it).

        The node drops its own memory slot (and parameter); if ``other`` itself
        references a node, this node references that owner directly. Calling it again
        re-links the node.

        Raises:
            TypeError: If this node is not an instance of ``other``'s class.
            ValueError: If the nodes are in different networks.
        """
        from torchtn.core.node import AbstractNode

        if not isinstance(other, AbstractNode):
            raise TNTypeError(
                f"Node {self._name!r}: `other` should be a node, got {type(other).__name__}"
            )
        if not isinstance(self, type(other)):
            raise TNTypeError(
                f"Node {self._name!r} ({type(self).__name__}) cannot take its tensor from "
                f"{other._name!r} ({type(other).__name__}): expected a node of a class that "
                f"{type(self).__name__} derives from"
            )
        net = self._network
        if net is None or other._network is not net:
            raise TNValueError(
                f"Nodes {self._name!r} and {other._name!r} should be in the same network, got "
                f"{getattr(net, 'name', None)!r} and {getattr(other._network, 'name', None)!r}"
            )
        if other is self:
            return
        oinfo = other._tensor_info
        if oinfo["address"] is None and oinfo["node_ref"] is self:
            raise TNValueError(
                f"Node {other._name!r} already reads the tensor of "
                f"{self._name!r}; sharing back would make a cycle"
            )
        info = self._tensor_info
        if info["address"] is not None:
            net._drop_memory_slot(self)
        if oinfo["address"] is not None:
            info["address"], info["node_ref"], info["index"] = None, other, None
        else:
            self._tensor_info = dict(oinfo)
        net._notify_memory_change()

    def reset_tensor_address(self) -> None:
        """Make the node own its current tensor again (undo a reference); no-op for owners."""
        info = self._tensor_info
        if info is None or info["address"] is not None:
            return
        value = self.tensor
        net = self._network
        info["address"], info["node_ref"], info["index"] = self._name, None, None
        net._ensure_memory_slot(self)
        if value is not None:
            own = self.__dict__.get("_own_param")
            if own is not None and (own.shape, own.dtype, own.device) == (
                value.shape,
                value.dtype,
                value.device,
            ):
                with torch.no_grad():  # the same Parameter object as before auto-stacking
                    own.copy_(value)
                value = own
            self._unrestricted_set_tensor(value)
        net._notify_memory_change()

    # -- inverse memory (trace freeing) ---------------------------------------------------
    def _record_in_inverse_memory(self) -> None:
        net = self._network
        ref = self.node_ref()
        address = ref._tensor_info["address"]
        entry = net._inverse_memory.get(address)
        if entry is None:
            net._inverse_memory[address] = {
                "accessed": 1,
                "re-accessed": 0,
                "erase": _erasable(self) and _erasable(ref),
            }
        elif entry["erase"]:
            entry["accessed"] += 1

    def _check_inverse_memory(self, node_ref: AbstractNode) -> None:
        net = self._network
        address = node_ref._tensor_info["address"]
        entry = net._inverse_memory.get(address)
        if entry is None:
            return
        entry["re-accessed"] += 1
        if entry["re-accessed"] >= entry["accessed"]:
            if entry["erase"]:
                net._memory_nodes[address] = None
            entry["re-accessed"] = 0

    # -- resizing (Edge.change_size) ---------------------------------------------------------
    def _change_axis_size(self, axis: Ax, size: int) -> None:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TNTypeError(
                f"New size of axis {axis!s} of node {self._name!r} should be "
                f"int, got {type(size).__name__}"
            )
        if size <= 0:
            raise TNValueError(
                f"New size of axis {axis!s} of node {self._name!r} should be positive, got {size}"
            )
        num = self.get_axis_num(axis)
        t = self.tensor
        if t is None:
            shape = list(self._shape)
            shape[num] = size
            self._shape = torch.Size(shape)
            return
        old = t.shape[num]
        if size < old:
            t = t.narrow(num, 0, size)
        elif size > old:
            pad_shape = list(t.shape)
            pad_shape[num] = size - old
            t = torch.cat([t, t.new_zeros(pad_shape)], dim=num)
        else:
            return
        if self._tensor_info["address"] is None:
            self.reset_tensor_address()  # the resized tensor is this node's own
        self._direct_set_tensor(self._set_tensor_format(t))
