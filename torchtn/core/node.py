"""Nodes: `AbstractNode` and its two concrete kinds, `Node` and `ParamNode`.

A node does not hold a tensor: it holds an *address* in its network's memory
(``_tensor_info``), so several nodes can share one tensor (uniform networks) or read a
slice of a stacked tensor (auto-stack). See ``core/README.md`` for the memory model.
Stack nodes live in :mod:`torchtn.core.stack_node`.
"""

from __future__ import annotations

import warnings
from abc import ABC
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import torch
from torch import nn

from torchtn._utils import check_name_style, enum_repeated_names, erase_enum
from torchtn.core import _tensor_init
from torchtn.core.axis import Axis, _is_batch_name
from torchtn.core.edge import Edge
from torchtn.errors import TNIndexError, TNTypeError, TNValueError
from torchtn.typing import Ax, Shape

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.network import TensorNetwork

__all__ = ["AbstractNode", "Node", "ParamNode"]

_OPS = None


def _ops():
    """The operations module, imported on first use (the one allowed upward edge)."""
    global _OPS
    if _OPS is None:
        import torchtn.ops as ops

        _OPS = ops
    return _OPS


def _network_cls():
    from torchtn.core.network import TensorNetwork

    return TensorNetwork


class AbstractNode(ABC):
    """Common behaviour of every node: axes, edges, memory address, role and name.

    Not instantiable; use :class:`Node`, :class:`ParamNode` or the stack nodes.
    See :class:`Node` for the constructor arguments.
    """

    _default_name = "abstractnode"

    def __init__(
        self,
        shape: Optional[Shape] = None,
        axes_names: Optional[Sequence[str]] = None,
        name: Optional[str] = None,
        network: Optional[TensorNetwork] = None,
        data: bool = False,
        virtual: bool = False,
        override_node: bool = False,
        tensor: Optional[torch.Tensor] = None,
        edges: Optional[list[Edge]] = None,
        override_edges: bool = False,
        node1_list: Optional[list[bool]] = None,
        init_method: Optional[str] = None,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        **kwargs: float,
    ) -> None:
        if type(self) is AbstractNode:  # pragma: no cover - ABC has no abstract methods
            raise TNTypeError("AbstractNode cannot be instantiated")
        resultant = self.__dict__.get("_leaf", True) is False

        # 1-3. shape / tensor
        if shape is None and tensor is None:
            raise TNValueError("Node needs either `shape` or `tensor`, got neither")
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise TNTypeError(f"`tensor` should be torch.Tensor, got {type(tensor).__name__}")
        if shape is not None:
            if not isinstance(shape, (tuple, list, torch.Size)):
                raise TNTypeError(
                    f"`shape` should be tuple, list or torch.Size, got {type(shape).__name__}"
                )
            if not isinstance(shape, torch.Size):
                for s in shape:
                    if not isinstance(s, int):
                        raise TNTypeError(f"`shape` elements should be int, got {shape!r}")
            if tensor is not None:
                if tuple(tensor.shape) != tuple(shape):
                    raise TNValueError(
                        f"`shape` {tuple(shape)} does not match the shape of `tensor` "
                        f"{tuple(tensor.shape)}"
                    )
                shape = None
        shape = torch.Size(shape) if shape is not None else tensor.shape
        rank = len(shape)

        # 4. axes names
        if axes_names is None:
            names = [f"axis_{i}" for i in range(rank)]
        else:
            if not isinstance(axes_names, Sequence):
                raise TNTypeError(
                    f"`axes_names` should be a sequence of str, got {type(axes_names).__name__}"
                )
            if len(axes_names) != rank:
                raise TNValueError(
                    f"`axes_names` has {len(axes_names)} names but the node has rank {rank}"
                )
            for n in axes_names:
                if not isinstance(n, str):
                    raise TNTypeError(f"`axes_names` elements should be str, got {n!r}")
            names = enum_repeated_names(axes_names)
        from torchtn.core.stack_node import is_stack_node

        is_stack = is_stack_node(self)
        for i, n in enumerate(names):
            if "stack" in n and (not is_stack or i != 0):
                raise TNValueError(
                    f"Axis name {n!r} (axis {i}) contains 'stack', which is reserved for "
                    "axis 0 of stack nodes"
                )

        # 5. name
        if name is None:
            name = self._default_name
        if not isinstance(name, str):
            raise TNTypeError(f"Node `name` should be str, got {type(name).__name__}")
        if not check_name_style(name, "node"):
            raise TNValueError(f"Node name {name!r} cannot contain blank spaces")

        # 6. network
        TensorNetwork = _network_cls()
        if network is not None and not isinstance(network, TensorNetwork):
            raise TNTypeError(
                f"`network` should be TensorNetwork or None, got {type(network).__name__}"
            )

        # 8. roles
        if not isinstance(data, bool) or not isinstance(virtual, bool):
            raise TNTypeError("`data` and `virtual` should be bool")
        if int(data) + int(virtual) + int(resultant) > 1:
            raise TNValueError(f"Node {name!r} can only have one role (data, virtual or resultant)")
        if not resultant and erase_enum(name) in TensorNetwork.operations:
            raise TNValueError(
                f"Node name {name!r} is reserved for results of the operation "
                f"{erase_enum(name)!r}; choose another name"
            )

        # 9. edges (validated before any side effect)
        if edges is not None:
            if node1_list is None:
                raise TNValueError(f"Node {name!r}: `node1_list` is required when `edges` is given")
            if len(edges) != rank or len(node1_list) != rank:
                raise TNValueError(
                    f"Node {name!r}: `edges` and `node1_list` need {rank} entries, got "
                    f"{len(edges)} and {len(node1_list)}"
                )
            for f in node1_list:
                if not isinstance(f, bool):
                    raise TNTypeError(f"Node {name!r}: `node1_list` elements should be bool")

        # 12a. tensor to store (created before registering so a bad init leaves no trace)
        if tensor is None and init_method is not None:
            tensor = _tensor_init.make(shape, init_method, device=device, dtype=dtype, **kwargs)

        self._tensor_info: Optional[dict] = None
        self._temp_tensor: Optional[torch.Tensor] = None
        self._shape = shape
        self._axes = [Axis.__new__(Axis) for _ in range(rank)]
        for i, (ax, n) in enumerate(zip(self._axes, names)):
            ax._num, ax._name, ax._node, ax._node1, ax._batch = i, n, self, True, _is_batch_name(n)
        self._axes_index: Optional[dict[str, int]] = None
        self._name = name
        self._network: Optional[TensorNetwork] = None
        self._successors: dict = {}
        self._leaf = not (data or virtual or resultant)
        self._data = data
        self._virtual = virtual

        if edges is None:
            self._edges = [self._make_edge(ax) for ax in self._axes]
        else:
            for ax, f in zip(self._axes, node1_list):
                ax._node1 = f
            self._edges = list(edges)
            if not resultant:
                self.reattach_edges(override=override_edges)

        if tensor is not None:
            if edges is not None and not self._compatible_shape(tensor):
                tensor = self._crop_tensor(tensor)
            tensor = self._set_tensor_format(tensor)
            self._shape = tensor.shape

        # 10-11. register in the network (memory slot, parameter, edges)
        if network is None:
            network = TensorNetwork()
        self._temp_tensor = tensor
        network._add_node(self, override=override_node)

    @classmethod
    def _create_resultant(cls, *args: Any, **kwargs: Any) -> AbstractNode:
        """Create a *resultant* node (the output of an operation)."""
        obj = cls.__new__(cls)
        obj._leaf = False
        obj.__init__(*args, **kwargs)
        return obj

    def _make_edge(self, axis: Axis) -> Edge:
        return Edge._dangling(self, axis)

    # -- roles -------------------------------------------------------------------------
    def is_leaf(self) -> bool:
        """Whether the node is a leaf (trainable/structural) node."""
        return self._leaf

    def is_data(self) -> bool:
        """Whether the node holds input data."""
        return self._data

    def is_virtual(self) -> bool:
        """Whether the node is a hidden helper node (shared memory, stacks)."""
        return self._virtual

    def is_resultant(self) -> bool:
        """Whether the node is the result of an operation."""
        return not (self._leaf or self._data or self._virtual)

    # -- properties --------------------------------------------------------------------
    @property
    def tensor(self) -> Optional[torch.Tensor]:
        """The node's tensor (read from network memory), or None if empty."""
        if self._temp_tensor is not None:
            return self._temp_tensor
        info = self._tensor_info
        if info is None:
            return None
        address = info["address"]
        if address is None:
            ref = info["node_ref"]
            rinfo = ref._tensor_info
            if rinfo is None:
                raise TNTypeError(
                    f"Node {self._name!r} references node {ref._name!r}, which no longer "
                    "belongs to a network (it was removed or replaced)"
                )
            address = rinfo["address"]
            memory = ref._network._memory_nodes
        else:
            memory = self._network._memory_nodes
        t = memory[address]
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
    def tensor(self, tensor: Optional[torch.Tensor]) -> None:
        if tensor is None:
            self.unset_tensor()
        else:
            self.set_tensor(tensor)

    @property
    def shape(self) -> torch.Size:
        """Shape of the node (kept even when the node is empty)."""
        return self._shape

    @property
    def rank(self) -> int:
        """Number of axes."""
        return len(self._shape)

    @property
    def dtype(self) -> Optional[torch.dtype]:
        """dtype of the tensor, or None if empty."""
        t = self.tensor
        return None if t is None else t.dtype

    @property
    def device(self) -> Optional[torch.device]:
        """Device of the tensor, or None if empty."""
        t = self.tensor
        return None if t is None else t.device

    @property
    def axes(self) -> list[Axis]:
        """The node's axes (live list)."""
        return self._axes

    @property
    def axes_names(self) -> list[str]:
        """Names of the axes, in order."""
        return [ax._name for ax in self._axes]

    @property
    def edges(self) -> list[Edge]:
        """Edges attached at each axis (live list; index i is axis i)."""
        return self._edges

    @property
    def network(self) -> Optional[TensorNetwork]:
        """The owning network; setting it moves the node's connected component."""
        return self._network

    @network.setter
    def network(self, network: TensorNetwork) -> None:
        self.move_to_network(network)

    @property
    def successors(self) -> dict:
        """``op_name -> {args_key -> Successor}`` of operations run on this node."""
        return self._successors

    @property
    def name(self) -> str:
        """Node name, unique in its network (enumerated automatically)."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        if not isinstance(name, str):
            raise TNTypeError(f"Node name should be str, got {type(name).__name__}")
        if not check_name_style(name, "node"):
            raise TNValueError(f"Node name {name!r} cannot contain blank spaces")
        if self._network is None:
            self._name = name
            return
        if erase_enum(name) == erase_enum(self._name):
            return
        if not self.is_resultant() and erase_enum(name) in _network_cls().operations:
            raise TNValueError(
                f"Node name {name!r} is reserved for results of the operation "
                f"{erase_enum(name)!r}; choose another name"
            )
        self._network._rename_node(self, name)

    # -- axis queries --------------------------------------------------------------------
    def size(self, axis: Optional[Ax] = None) -> Union[torch.Size, int]:
        """Shape of the node, or the size of one axis."""
        if axis is None:
            return self._shape
        return self._shape[self.get_axis_num(axis)]

    def is_node1(self, axis: Optional[Ax] = None) -> Union[bool, list[bool]]:
        """node1 flags of all axes, or of one axis."""
        if axis is None:
            return [ax._node1 for ax in self._axes]
        return self._axes[self.get_axis_num(axis)]._node1

    def get_axis_num(self, axis: Ax) -> int:
        """Position of an axis given by position, name or :class:`Axis`.

        Raises:
            IndexError: If no such axis exists in this node.
            TypeError: If ``axis`` is not an int, str or Axis.
        """
        if isinstance(axis, int):
            rank = len(self._axes)
            if rank == 0 or not -rank <= axis < rank:
                raise TNIndexError(f"Node {self._name!r} (rank {rank}) has no axis {axis}")
            return axis % rank
        if isinstance(axis, str):
            index = self._axes_index
            if index is None:
                index = self._axes_index = {ax._name: ax._num for ax in self._axes}
            try:
                return index[axis]
            except KeyError:
                raise TNIndexError(
                    f"Node {self._name!r} has no axis named {axis!r}; axes are {self.axes_names}"
                ) from None
        if isinstance(axis, Axis):
            for ax in self._axes:
                if ax is axis:
                    return ax._num
            raise TNIndexError(f"Node {self._name!r} has no axis {axis!r}")
        raise TNTypeError(f"`axis` should be int, str or Axis, got {type(axis).__name__}")

    def get_axis(self, axis: Ax) -> Axis:
        """The :class:`Axis` designated by ``axis``."""
        return self._axes[self.get_axis_num(axis)]

    def get_edge(self, axis: Ax) -> Edge:
        """The edge at ``axis``."""
        return self._edges[self.get_axis_num(axis)]

    def __getitem__(self, key: Union[slice, Ax]) -> Union[Edge, list[Edge]]:
        if isinstance(key, slice):
            return self._edges[key]
        return self._edges[self.get_axis_num(key)]

    def in_which_axis(self, edge: Edge) -> Union[Axis, tuple[Axis, ...]]:
        """Axis (or the two axes of a trace edge) at which ``edge`` is attached."""
        found = [self._axes[i] for i, e in enumerate(self._edges) if e is edge]
        if not found:
            raise TNValueError(f"Edge {edge!r} is not attached to node {self._name!r}")
        return found[0] if len(found) == 1 else tuple(found)

    def neighbours(self, axis: Optional[Ax] = None):
        """The node at the other end of ``axis``, or all distinct neighbours in axis order."""
        if axis is not None:
            num = self.get_axis_num(axis)
            edge = self._edges[num]
            if edge._nodes[1] is None:
                return None
            return edge._nodes[int(self._axes[num]._node1)]
        out: list = []
        for ax, edge in zip(self._axes, self._edges):
            if edge._nodes[1] is None:
                continue
            other = edge._nodes[int(ax._node1)]
            if not any(other is o for o in out):
                out.append(other)
        return out

    def is_connected_to(self, other: AbstractNode) -> list[tuple[Axis, Axis]]:
        """Pairs of axes ``(self_axis, other_axis)`` holding the same non-dangling edge."""
        out = []
        for i, e in enumerate(self._edges):
            if e._nodes[1] is None:
                continue
            for j, f in enumerate(other._edges):
                if e is f and self._axes[i]._node1 != other._axes[j]._node1:
                    out.append((self._axes[i], other._axes[j]))
        return out

    # -- tensor queries ------------------------------------------------------------------
    def is_conj(self) -> Optional[bool]:
        """Whether the tensor is a lazy conjugate view (None if empty)."""
        t = self.tensor
        return None if t is None else t.is_conj()

    def is_complex(self) -> Optional[bool]:
        """Whether the tensor is complex (None if empty)."""
        t = self.tensor
        return None if t is None else t.is_complex()

    def is_floating_point(self) -> Optional[bool]:
        """Whether the tensor is floating point (None if empty)."""
        t = self.tensor
        return None if t is None else t.is_floating_point()

    def _dims(self, axis) -> Optional[list[int]]:
        if axis is None:
            return None
        if isinstance(axis, (list, tuple)):
            return [self.get_axis_num(a) for a in axis]
        return [self.get_axis_num(axis)]

    def sum(self, axis: Optional[Union[Ax, Sequence[Ax]]] = None) -> torch.Tensor:
        """Sum of the tensor over ``axis`` (all axes if None)."""
        dims = self._dims(axis)
        return self.tensor.sum() if dims is None else self.tensor.sum(dim=dims)

    def mean(self, axis: Optional[Union[Ax, Sequence[Ax]]] = None) -> torch.Tensor:
        """Mean of the tensor over ``axis`` (all axes if None)."""
        dims = self._dims(axis)
        return self.tensor.mean() if dims is None else self.tensor.mean(dim=dims)

    def std(self, axis: Optional[Union[Ax, Sequence[Ax]]] = None) -> torch.Tensor:
        """Standard deviation of the tensor over ``axis`` (all axes if None)."""
        dims = self._dims(axis)
        return self.tensor.std() if dims is None else self.tensor.std(dim=dims)

    def norm(
        self, p: Union[int, float] = 2, axis: Optional[Union[Ax, Sequence[Ax]]] = None,
        keepdim: bool = False,
    ) -> torch.Tensor:
        """p-norm of the tensor over ``axis`` (all axes if None)."""
        return self.tensor.norm(p=p, dim=self._dims(axis), keepdim=keepdim)

    def numel(self) -> int:
        """Number of elements of the node's shape."""
        n = 1
        for s in self._shape:
            n *= s
        return n

    # -- structure -----------------------------------------------------------------------
    def _add_edge(self, edge: Edge, axis: Ax, node1: bool = True) -> None:
        num = self.get_axis_num(axis)
        self._axes[num]._node1 = node1
        self._edges[num] = edge

    def reattach_edges(self, axes: Optional[Sequence[Ax]] = None, override: bool = False) -> None:
        """Give the node its own copies of edges it inherited (attached to other nodes).

        Args:
            axes: Axes whose edges are re-attached (all if None).
            override: If True, neighbours are updated to point to the new edges.
        """
        nums = range(len(self._axes)) if axes is None else [self.get_axis_num(a) for a in axes]
        nums = list(nums)
        done: set[int] = set()
        for pos, i in enumerate(nums):
            if i in done:
                continue
            edge = self._edges[i]
            own = int(not self._axes[i]._node1)  # index of own side in edge._nodes
            if edge._nodes[own] is self:
                continue
            new = edge.copy()
            new._nodes[own] = self
            new._axes[own] = self._axes[i]
            other = 1 - own
            if new._nodes[1] is not None and new._nodes[other] is not self:
                for j in nums[pos + 1 :]:
                    if j not in done and self._edges[j] is edge:
                        new._nodes[other] = self
                        new._axes[other] = self._axes[j]
                        self._edges[j] = new
                        done.add(j)
                        break
            self._edges[i] = new
            done.add(i)
            if override and new._nodes[1] is not None:
                neighbour = new._nodes[other]
                if neighbour is not self:
                    nb_axis = new._axes[other]
                    neighbour._add_edge(new, nb_axis, bool(other == 0))

    def disconnect(self, axis: Optional[Ax] = None) -> None:
        """Disconnect the edge at ``axis`` (or every edge) attached to this node."""
        from torchtn.core.edge import disconnect

        nums = range(len(self._axes)) if axis is None else [self.get_axis_num(axis)]
        for i in nums:
            edge = self._edges[i]
            if edge._nodes[1] is not None and edge.is_attached_to(self):
                disconnect(edge)

    def move_to_network(self, network: TensorNetwork, visited: Optional[list] = None) -> None:
        """Move this node and its whole connected component to ``network``."""
        if not isinstance(network, _network_cls()):
            raise TNTypeError(f"`network` should be TensorNetwork, got {type(network).__name__}")
        if network is self._network:
            return
        seen: set[int] = set()
        stack = [self]
        component = []
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            component.append(node)
            for nb in node.neighbours():
                if id(nb) not in seen and nb._network is not network:
                    stack.append(nb)
        for node in component:
            old = node._network
            value = node.tensor
            if old is not None:
                old._remove_node(node, move_names=True)
            node._temp_tensor = value
            network._add_node(node)

    # -- tensor management ---------------------------------------------------------------
    def make_tensor(
        self,
        shape: Optional[Shape] = None,
        init_method: str = "zeros",
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        **kwargs: float,
    ) -> torch.Tensor:
        """Create (not store) a tensor with the node's shape by ``init_method``."""
        shape = self._shape if shape is None else shape
        return _tensor_init.make(shape, init_method, device=device, dtype=dtype, **kwargs)

    def _compatible_shape(self, tensor: torch.Tensor) -> bool:
        if tensor.dim() != len(self._axes):
            return False
        shape = tensor.shape
        for i, (ax, edge) in enumerate(zip(self._axes, self._edges)):
            if not ax._batch and shape[i] != edge.size():
                return False
        return True

    def _crop_tensor(self, tensor: torch.Tensor) -> torch.Tensor:
        if tensor.dim() != len(self._axes):
            raise TNValueError(
                f"Tensor of rank {tensor.dim()} cannot be set in node {self._name!r} of rank "
                f"{len(self._axes)}"
            )
        index = []
        for i, (ax, edge) in enumerate(zip(self._axes, self._edges)):
            dim = tensor.shape[i]
            if ax._batch:
                index.append(slice(None))
                continue
            size = edge.size()
            if dim < size:
                raise TNValueError(
                    f"Tensor dimension {dim} at axis {ax._name!r} of node {self._name!r} is "
                    f"smaller than the edge size {size}"
                )
            index.append(slice(dim - size, dim))
        return tensor[tuple(index)]

    @staticmethod
    def _set_tensor_format(tensor: torch.Tensor) -> torch.Tensor:
        if isinstance(tensor, nn.Parameter):
            return tensor.detach()
        return tensor

    def _check_set_permission(self) -> None:
        if self.is_resultant():
            raise TNValueError(
                f"Node {self._name!r} is resultant: its tensor is set by the operation that "
                "created it"
            )
        info = self._tensor_info
        if info is not None and info["address"] is None:
            raise TNValueError(
                f"Node {self._name!r} references the memory of node "
                f"{info['node_ref']._name!r}; call reset_tensor_address() first"
            )

    def set_tensor(
        self,
        tensor: Optional[torch.Tensor] = None,
        init_method: Optional[str] = "zeros",
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        **kwargs: float,
    ) -> None:
        """Store a tensor in the node (no copy), or create one with ``init_method``.

        Non-batch dimensions larger than the edges are cropped (keeping the last
        entries, with a warning); smaller ones raise ValueError.
        """
        self._check_set_permission()
        if tensor is not None:
            if not isinstance(tensor, torch.Tensor):
                raise TNTypeError(
                    f"`tensor` for node {self._name!r} should be torch.Tensor, got "
                    f"{type(tensor).__name__}"
                )
            if device is not None:
                warnings.warn("`device` was specified but is being ignored. Provide a tensor "
                              "that is already in the required device")
            if dtype is not None:
                warnings.warn("`dtype` was specified but is being ignored. Provide a tensor "
                              "that already has the required dtype")
            if not self._compatible_shape(tensor):
                cropped = self._crop_tensor(tensor)
                warnings.warn(
                    f'`tensor` is being cropped to fit the shape of node "{self._name}" at '
                    "non-batch edges"
                )
                tensor = cropped
            self._direct_set_tensor(self._set_tensor_format(tensor))
            return
        if init_method is None:
            self.unset_tensor()
            return
        old = self.tensor
        if old is not None:
            device = old.device if device is None else device
            dtype = old.dtype if dtype is None else dtype
        t = self.make_tensor(init_method=init_method, device=device, dtype=dtype, **kwargs)
        self._direct_set_tensor(self._set_tensor_format(t))

    def unset_tensor(self) -> None:
        """Remove the node's tensor (the shape is kept)."""
        self._check_set_permission()
        self._save_in_network(None)

    def _unrestricted_set_tensor(
        self,
        tensor: Optional[torch.Tensor] = None,
        init_method: Optional[str] = "zeros",
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        **kwargs: float,
    ) -> None:
        if tensor is None:
            if init_method is None:
                self._save_in_network(None)
                return
            tensor = self.make_tensor(init_method=init_method, device=device, dtype=dtype, **kwargs)
        elif not self._compatible_shape(tensor):
            tensor = self._crop_tensor(tensor)
        self._direct_set_tensor(self._set_tensor_format(tensor))

    def _direct_set_tensor(self, tensor: Optional[torch.Tensor]) -> None:
        self._save_in_network(tensor)
        if tensor is not None:
            self._shape = tensor.shape

    def _direct_get_tensor(self, node_ref: AbstractNode, index: Any) -> Optional[torch.Tensor]:
        t = node_ref._network._memory_nodes[node_ref._tensor_info["address"]]
        return t if index is None or t is None else t[_as_index(index)]

    def _save_in_network(self, tensor: Optional[torch.Tensor]) -> None:
        self._network._memory_nodes[self._tensor_info["address"]] = tensor

    def set_tensor_from(self, other: AbstractNode) -> None:
        """Make this node read its tensor from ``other``'s memory (sharing it)."""
        if not isinstance(self, type(other)):
            raise TNTypeError(
                f"Node {self._name!r} ({type(self).__name__}) cannot take its tensor from "
                f"{other._name!r} ({type(other).__name__}): types differ"
            )
        if other._network is not self._network:
            raise TNValueError(
                f"Nodes {self._name!r} and {other._name!r} are in different networks"
            )
        if other is self:
            return
        net = self._network
        info = self._tensor_info
        if info["address"] is not None:
            net._drop_memory_slot(self)
        oinfo = other._tensor_info
        if oinfo["address"] is not None:
            self._tensor_info = {"address": None, "node_ref": other, "index": None}
        else:
            self._tensor_info = dict(oinfo)
        net._notify_memory_change()

    def tensor_address(self) -> Optional[str]:
        """Address (owner's name) of the memory the node reads its tensor from."""
        info = self._tensor_info
        if info["address"] is not None:
            return info["address"]
        rinfo = info["node_ref"]._tensor_info
        return None if rinfo is None else rinfo["address"]

    def node_ref(self) -> AbstractNode:
        """The node owning the memory this node reads (itself if it owns it)."""
        info = self._tensor_info
        return self if info["address"] is not None else info["node_ref"]

    def reset_tensor_address(self) -> None:
        """Make the node own its current tensor again (undo a reference)."""
        info = self._tensor_info
        if info is None or info["address"] is not None:
            return
        value = self.tensor
        net = self._network
        self._tensor_info = {"address": self._name, "node_ref": None, "index": None}
        net._ensure_memory_slot(self)
        self._unrestricted_set_tensor(value, init_method=None)
        net._notify_memory_change()

    # -- inverse memory (trace freeing) ---------------------------------------------------
    def _record_in_inverse_memory(self) -> None:
        net = self._network
        ref = self.node_ref()
        address = ref._tensor_info["address"]
        entry = net._inverse_memory.get(address)
        if entry is None:
            net._inverse_memory[address] = {
                "accessed": 1, "re-accessed": 0,
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

    # -- axis renaming -------------------------------------------------------------------
    def _change_axis_name(self, axis: Axis, name: str) -> None:
        if axis._node is not self or self._axes[axis._num] is not axis:
            raise TNValueError(f"Axis {axis!r} does not belong to node {self._name!r}")
        names = self.axes_names
        names[axis._num] = name
        self._set_axes_names(enum_repeated_names(names))

    def _set_axes_names(self, names: list[str]) -> None:
        net = self._network
        for ax, n, edge in zip(self._axes, names, self._edges):
            was_batch = ax._batch
            ax._name = n
            ax._batch = _is_batch_name(n)
            if net is not None and was_batch != ax._batch and edge._nodes[0] is self:
                net._refresh_edge(edge)
        self._axes_index = None

    def _change_axis_size(self, axis: Ax, size: int) -> None:
        if size <= 0:
            raise TNValueError(f"New size of axis {axis!r} of node {self._name!r} must be "
                               f"positive, got {size}")
        num = self.get_axis_num(axis)
        t = self.tensor
        shape = list(self._shape)
        if t is None:
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
        if self._tensor_info["address"] is None:
            self.reset_tensor_address()
        self._direct_set_tensor(self._set_tensor_format(t))

    # -- operations (functions in torchtn.ops; see their docstrings) ----------------------
    def permute(self, axes: Sequence[Ax]) -> Node:
        """Same as :func:`torchtn.ops.permute`."""
        return _ops().permute(self, axes)

    def permute_(self, axes: Sequence[Ax]) -> Node:
        """Same as :func:`torchtn.ops.permute_`."""
        return _ops().permute_(self, axes)

    def renormalize(self, p: Union[int, float] = 2, axis: Optional[Any] = None) -> AbstractNode:
        """Same as :func:`torchtn.ops.renormalize`."""
        return _ops().renormalize(self, p, axis)

    def conj(self) -> Node:
        """Same as :func:`torchtn.ops.conj`."""
        return _ops().conj(self)

    def split(self, node1_axes, node2_axes, mode="svd", side="left", rank=None,
              cum_percentage=None, cutoff=None):
        """Same as :func:`torchtn.ops.split`."""
        return _ops().split(self, node1_axes, node2_axes, mode, side, rank, cum_percentage,
                            cutoff)

    def split_(self, node1_axes, node2_axes, mode="svd", side="left", rank=None,
               cum_percentage=None, cutoff=None):
        """Same as :func:`torchtn.ops.split_`."""
        return _ops().split_(self, node1_axes, node2_axes, mode, side, rank, cum_percentage,
                             cutoff)

    def contract_between(self, node2: AbstractNode) -> AbstractNode:
        """Same as :func:`torchtn.ops.contract_between`."""
        return _ops().contract_between(self, node2)

    def contract_between_(self, node2: AbstractNode) -> AbstractNode:
        """Same as :func:`torchtn.ops.contract_between_`."""
        return _ops().contract_between_(self, node2)

    def __matmul__(self, other: AbstractNode) -> AbstractNode:
        return _ops().contract_between(self, other)

    def __mod__(self, other: AbstractNode) -> Node:
        return _ops().tprod(self, other)

    def __mul__(self, other: Any) -> Node:
        return _ops().mul(self, other)

    def __truediv__(self, other: Any) -> Node:
        return _ops().div(self, other)

    def __add__(self, other: Any) -> Node:
        return _ops().add(self, other)

    def __sub__(self, other: Any) -> Node:
        return _ops().sub(self, other)

    # -- strings -------------------------------------------------------------------------
    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        t = self.tensor
        tensor = "None" if t is None else repr(t.data if isinstance(t, nn.Parameter) else t)
        tensor = "\n".join("\t\t" + line for line in tensor.split("\n"))
        axes = "\n".join("\t\t" + line for line in ("[" + "\n ".join(self.axes_names) + "]").split("\n"))
        edges = "\n".join(
            "\t\t" + line for line in ("[" + "\n ".join(str(e) for e in self._edges) + "]").split("\n")
        )
        return (f"{self.__class__.__name__}(\n \tname: {self._name}\n\ttensor:\n{tensor}\n"
                f"\taxes:\n{axes}\n\tedges:\n{edges})")


def _erasable(node: AbstractNode) -> bool:
    return node.is_resultant() or node._data or (node._virtual and node._name == "stack_data_memory")


def _as_index(index: Any) -> Any:
    """Index stored as TK lists (``[i, slice, ...]``) to a tuple torch accepts."""
    if isinstance(index, list):
        if index and isinstance(index[0], list) and len(index) == 1:
            return index[0]  # a bare list of positions (fancy index)
        return tuple(index)
    return index


class Node(AbstractNode):
    """A node of a tensor network.

    Args:
        shape: Shape of the tensor (required unless ``tensor`` is given).
        axes_names: Names of the axes (``axis_0``... by default); repeated names are
            enumerated, names containing ``batch``/``stack`` are batch axes.
        name: Node name (``node`` by default; enumerated within the network).
        network: Network to add the node to (a new one if None).
        data: Whether the node holds input data.
        virtual: Whether the node is a hidden helper node.
        override_node: Replace the node that currently has ``name`` in ``network``.
        tensor: Tensor to store (no copy).
        edges: Edges to attach (used by operations and copies).
        override_edges: Update neighbours to point to this node's copies of ``edges``.
        node1_list: node1 flags for ``edges``.
        init_method: ``zeros``, ``ones``, ``copy``, ``rand`` or ``randn`` (None: empty).
        device: Device of the created tensor.
        dtype: dtype of the created tensor.
        **kwargs: ``low``/``high`` (rand) or ``mean``/``std`` (randn).

    Examples:
        >>> import torchtn as tk
        >>> node = tk.Node(shape=(2, 5, 2), axes_names=('left', 'input', 'right'),
        ...                init_method='randn')
        >>> node.shape
        torch.Size([2, 5, 2])
    """

    _default_name = "node"

    def parameterize(self, set_param: bool = True) -> Union[Node, ParamNode]:
        """Replace this node by a :class:`ParamNode` (if ``set_param``) and return it."""
        if not set_param:
            return self
        return ParamNode(
            shape=self._shape, axes_names=self.axes_names, name=self._name,
            network=self._network, override_node=True, tensor=self.tensor,
            edges=list(self._edges), override_edges=True, node1_list=self.is_node1(),
        )

    def copy(self, share_tensor: bool = False) -> Node:
        """A new leaf node with the same shape, axes and a clone (or shared) tensor."""
        t = None if share_tensor else self.tensor
        new = Node(
            shape=self._shape, axes_names=self.axes_names, name=self._name + "_copy",
            network=self._network, edges=list(self._edges), node1_list=self.is_node1(),
        )
        if share_tensor:
            if self.tensor is not None:
                new.set_tensor_from(self)
        elif t is not None:
            new._unrestricted_set_tensor(t.detach().clone() if not t.requires_grad
                                         else t.clone())
        return new

    def change_type(self, leaf: bool = False, data: bool = False, virtual: bool = False) -> None:
        """Move the node to another role (exactly one flag must be True)."""
        if self.is_resultant():
            raise TNValueError(f"Resultant node {self._name!r} cannot change type")
        if int(leaf) + int(data) + int(virtual) != 1:
            raise TNValueError("Exactly one of `leaf`, `data`, `virtual` must be True")
        self._network._change_node_role(self, leaf=leaf, data=data, virtual=virtual)


class ParamNode(AbstractNode):
    """A node whose tensor is a trainable ``nn.Parameter`` registered in its network.

    Same arguments as :class:`Node` except ``data`` (a ParamNode never holds data).
    The parameter is registered as ``param_<address>``.
    """

    _default_name = "paramnode"

    def __init__(
        self,
        shape: Optional[Shape] = None,
        axes_names: Optional[Sequence[str]] = None,
        name: Optional[str] = None,
        network: Optional[TensorNetwork] = None,
        virtual: bool = False,
        override_node: bool = False,
        tensor: Optional[torch.Tensor] = None,
        edges: Optional[list[Edge]] = None,
        override_edges: bool = False,
        node1_list: Optional[list[bool]] = None,
        init_method: Optional[str] = None,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
        **kwargs: float,
    ) -> None:
        super().__init__(
            shape=shape, axes_names=axes_names, name=name, network=network, data=False,
            virtual=virtual, override_node=override_node, tensor=tensor, edges=edges,
            override_edges=override_edges, node1_list=node1_list, init_method=init_method,
            device=device, dtype=dtype, **kwargs,
        )

    @classmethod
    def _create_resultant(cls, *args: Any, **kwargs: Any) -> AbstractNode:
        raise NotImplementedError("ParamNodes cannot be resultant nodes")

    @staticmethod
    def _set_tensor_format(tensor: torch.Tensor) -> torch.Tensor:
        if isinstance(tensor, nn.Parameter):
            return tensor
        return nn.Parameter(tensor)

    def _save_in_network(self, tensor: Optional[torch.Tensor]) -> None:
        address = self._tensor_info["address"]
        net = self._network
        net._memory_nodes[address] = tensor
        net.register_parameter("param_" + address, tensor)

    @property
    def grad(self) -> Optional[torch.Tensor]:
        """Gradient of the node's tensor (a slice of the stack's gradient if stacked)."""
        info = self._tensor_info
        if info is None:
            return None
        ref = self.node_ref()
        t = ref._network._memory_nodes.get(ref._tensor_info["address"])
        if t is None or t.grad is None:
            return None
        index = info["index"]
        return t.grad if index is None else t.grad[_as_index(index)]

    def parameterize(self, set_param: bool = True) -> Union[Node, ParamNode]:
        """Return self, or a replacement plain :class:`Node` if ``set_param`` is False."""
        if set_param:
            return self
        t = self.tensor
        return Node(
            shape=self._shape, axes_names=self.axes_names, name=self._name,
            network=self._network, override_node=True,
            tensor=None if t is None else t.detach(),
            edges=list(self._edges), override_edges=True, node1_list=self.is_node1(),
        )

    def copy(self, share_tensor: bool = False) -> ParamNode:
        """A new leaf ParamNode with the same shape, axes and a cloned (or shared) tensor."""
        t = self.tensor
        new = ParamNode(
            shape=self._shape, axes_names=self.axes_names, name=self._name + "_copy",
            network=self._network, edges=list(self._edges), node1_list=self.is_node1(),
        )
        if share_tensor:
            if t is not None:
                new.set_tensor_from(self)
        elif t is not None:
            new._unrestricted_set_tensor(nn.Parameter(t.detach().clone()))
        return new

    def change_type(self, leaf: bool = False, virtual: bool = False) -> None:
        """Move the node between leaf and virtual roles (exactly one flag True)."""
        if int(leaf) + int(virtual) != 1:
            raise TNValueError("Exactly one of `leaf`, `virtual` must be True")
        self._network._change_node_role(self, leaf=leaf, data=False, virtual=virtual)
