"""Nodes: `AbstractNode`, the behaviour every node shares.

A node does not hold a tensor: it holds an *address* in its network's memory
(``_tensor_info``), so several nodes can share one tensor (uniform networks) or read a
slice of a stacked tensor (auto-stack). See ``core/README.md`` for the memory model.
Tensor storage lives in :mod:`torchtn.core._node_memory`; the concrete classes in
:mod:`torchtn.core.param_node` (``Node``, ``ParamNode``, re-exported here) and
:mod:`torchtn.core.stack_node`.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import torch

from torchtn._utils import (
    check_name_style,
    enum_repeated_names,
    erase_enum,
    print_list,
    tab_string,
)
from torchtn.core import _tensor_init
from torchtn.core._node_memory import TensorMixin
from torchtn.core.axis import Axis, _is_batch_name
from torchtn.core.edge import Edge
from torchtn.core.registry import function as _op
from torchtn.core.registry import is_reserved
from torchtn.errors import TNIndexError, TNKeyError, TNTypeError, TNValueError
from torchtn.typing import Ax, Shape

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.network import TensorNetwork

__all__ = ["AbstractNode", "Node", "ParamNode"]

_NETWORK_CLS = None


def _network_cls():
    global _NETWORK_CLS
    if _NETWORK_CLS is None:
        from torchtn.core.network import TensorNetwork

        _NETWORK_CLS = TensorNetwork
    return _NETWORK_CLS


def _blank_node(cls: type) -> AbstractNode:
    """An uninitialised node; its state is filled in by its network (unpickling/copying)."""
    return cls.__new__(cls)


def _check_node_name(name: Any, role: str = "Node") -> None:
    if not isinstance(name, str):
        raise TNTypeError(f"{role} name should be str, got {name!r} ({type(name).__name__})")
    if not check_name_style(name, "node"):
        raise TNValueError(f"{role} name {name!r} cannot contain blank spaces")


def _check_not_operation_name(name: str) -> None:
    base = erase_enum(name)
    if is_reserved(base):
        raise TNValueError(
            f"Node name {name!r} is reserved for results of the operation {base!r}; "
            "choose another name"
        )


class AbstractNode(TensorMixin, ABC):
    """Common behaviour of every node: axes, edges, memory address, role and name.

    Not instantiable; use :class:`Node`, :class:`ParamNode` or the stack nodes.
    See :class:`Node` for the constructor arguments.
    """

    _default_name = "abstractnode"
    _is_param_node = False  # ParamNode: tensor is an nn.Parameter registered in the network
    _is_stack_node = False  # StackNode/ParamStackNode: axis 0 is the 'stack' axis

    def __init__(
        self,
        shape: Shape | None = None,
        axes_names: Sequence[str] | None = None,
        name: str | None = None,
        network: TensorNetwork | None = None,
        data: bool = False,
        virtual: bool = False,
        override_node: bool = False,
        tensor: torch.Tensor | None = None,
        edges: list[Edge] | None = None,
        override_edges: bool = False,
        node1_list: list[bool] | None = None,
        init_method: str | None = None,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: float,
    ) -> None:
        if type(self) is AbstractNode:
            raise TNTypeError("AbstractNode cannot be instantiated; use Node or ParamNode")
        resultant = getattr(self, "_leaf", True) is False
        # Everything is validated before the first side effect (neighbours, network).
        label = name if isinstance(name, str) else self._default_name  # for messages
        shape = self._check_shape(shape, tensor, label)
        rank = len(shape)
        names = self._check_axes_names(axes_names, rank, label)
        if name is None:
            name = self._default_name
        _check_node_name(name)
        TensorNetwork = _network_cls()
        if network is not None and not isinstance(network, TensorNetwork):
            raise TNTypeError(
                f"Node {name!r}: `network` should be TensorNetwork or None, got "
                f"{type(network).__name__}"
            )
        if not isinstance(data, bool) or not isinstance(virtual, bool):
            raise TNTypeError(
                f"Node {name!r}: `data` and `virtual` should be bool, got {data!r} and {virtual!r}"
            )
        if int(data) + int(virtual) + int(resultant) > 1:
            raise TNValueError(
                f"Node {name!r} can only have one role (leaf, data, virtual or resultant)"
            )
        if not resultant:
            _check_not_operation_name(name)
        if edges is not None:
            self._check_edges(name, edges, node1_list, rank)
        if override_node and (network is None or name not in network._all_nodes):
            where = "a new network" if network is None else f"network {network.name!r}"
            raise TNKeyError(f"Cannot override node {name!r}: there is no such node in {where}")
        if tensor is None and init_method is not None:
            tensor = _tensor_init.make(
                shape, init_method, device=device, dtype=dtype, context=f"Node {name!r}", **kwargs
            )

        self._tensor_info: dict | None = None
        self._temp_tensor: torch.Tensor | None = None
        self._shape = shape
        self._axes = [Axis.__new__(Axis) for _ in range(rank)]
        for i, (ax, n) in enumerate(zip(self._axes, names, strict=True)):
            ax._num, ax._name, ax._node, ax._node1, ax._batch = i, n, self, True, _is_batch_name(n)
        self._axes_index: dict[str, int] | None = None
        self._name = name
        self._network: TensorNetwork | None = None
        self._successors: dict = {}
        self._leaf = not (data or virtual or resultant)
        self._data = data
        self._virtual = virtual

        if edges is None:
            self._edges = [self._make_edge(ax) for ax in self._axes]
        else:
            for ax, flag in zip(self._axes, node1_list, strict=True):
                ax._node1 = flag
            self._edges = list(edges)
            if tensor is not None and not self._compatible_shape(tensor):
                tensor = self._crop_tensor(tensor)  # may raise: nothing changed yet
        if tensor is not None:
            tensor = self._set_tensor_format(tensor)
            self._shape = tensor.shape
        if edges is not None and not resultant:
            self.reattach_edges(override=override_edges)

        if network is None:
            network = TensorNetwork()
        self._temp_tensor = tensor
        network._add_node(self, override=override_node)

    @staticmethod
    def _check_shape(shape: Shape | None, tensor: torch.Tensor | None, label: str) -> torch.Size:
        if shape is None and tensor is None:
            raise TNValueError(f"Node {label!r} needs either `shape` or `tensor`, got neither")
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise TNTypeError(
                f"Node {label!r}: `tensor` should be torch.Tensor, got {type(tensor).__name__}"
            )
        if shape is None:
            return tensor.shape
        if not isinstance(shape, (tuple, list, torch.Size)):
            raise TNTypeError(
                f"Node {label!r}: `shape` should be tuple, list or torch.Size, got {shape!r} "
                f"({type(shape).__name__})"
            )
        if not isinstance(shape, torch.Size):
            for s in shape:
                if not isinstance(s, int):
                    raise TNTypeError(
                        f"Node {label!r}: `shape` elements should be int, got {shape!r}"
                    )
        if tensor is not None:
            if tuple(tensor.shape) != tuple(shape):
                raise TNValueError(
                    f"Node {label!r}: `shape` {tuple(shape)} does not match the shape of "
                    f"`tensor` {tuple(tensor.shape)}"
                )
            return tensor.shape
        return torch.Size(shape)

    def _check_axes_names(
        self, axes_names: Sequence[str] | None, rank: int, label: str
    ) -> list[str]:
        if axes_names is None:
            names = [f"axis_{i}" for i in range(rank)]
        else:
            if not isinstance(axes_names, Sequence):
                raise TNTypeError(
                    f"Node {label!r}: `axes_names` should be a sequence of str, got "
                    f"{type(axes_names).__name__}"
                )
            if len(axes_names) != rank:
                raise TNValueError(
                    f"Node {label!r}: `axes_names` {list(axes_names)} has {len(axes_names)} "
                    f"names, expected one per axis ({rank})"
                )
            for n in axes_names:
                if not isinstance(n, str):
                    raise TNTypeError(
                        f"Node {label!r}: `axes_names` elements should be str, got {n!r}"
                    )
            names = enum_repeated_names(axes_names)
        for i, n in enumerate(names):
            if "stack" in n and (not self._is_stack_node or i != 0):
                raise TNValueError(
                    f"Node {label!r}: axis name {n!r} (axis {i}) contains 'stack', which is "
                    "reserved for axis 0 of stack nodes"
                )
        return names

    @staticmethod
    def _check_edges(name: str, edges: Any, node1_list: Any, rank: int) -> None:
        if node1_list is None:
            raise TNValueError(f"Node {name!r}: `node1_list` is required when `edges` is given")
        if len(edges) != rank or len(node1_list) != rank:
            raise TNValueError(
                f"Node {name!r}: `edges` and `node1_list` need {rank} entries, "
                f"got {len(edges)} and {len(node1_list)}"
            )
        for e in edges:
            if not isinstance(e, Edge):
                raise TNTypeError(
                    f"Node {name!r}: `edges` elements should be Edge, got {type(e).__name__}"
                )
        for f in node1_list:
            if not isinstance(f, bool):
                raise TNTypeError(f"Node {name!r}: `node1_list` elements should be bool, got {f!r}")

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
    def shape(self) -> torch.Size:
        """Shape of the node (kept even when the node is empty)."""
        return self._shape

    @property
    def rank(self) -> int:
        """Number of axes."""
        return len(self._shape)

    @property
    def dtype(self) -> torch.dtype | None:
        """dtype of the tensor, or None if empty."""
        t = self.tensor
        return None if t is None else t.dtype

    @property
    def device(self) -> torch.device | None:
        """Device of the tensor, or None if empty."""
        t = self.tensor
        return None if t is None else t.device

    @property
    def axes(self) -> list[Axis]:
        """The node's axes (live list)."""
        return self._axes

    @property
    def axes_names(self) -> list[str]:
        """Names of the axes, in order (a new list)."""
        return [ax._name for ax in self._axes]

    @property
    def edges(self) -> list[Edge]:
        """Edges attached at each axis (live list; index i is axis i)."""
        return self._edges

    @property
    def network(self) -> TensorNetwork | None:
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
        _check_node_name(name)
        if self._network is None:
            self._name = name
            return
        if erase_enum(name) == erase_enum(self._name):
            return
        if not self.is_resultant():
            _check_not_operation_name(name)
        self._network._rename_node(self, name)

    # -- axis queries --------------------------------------------------------------------
    def size(self, axis: Ax | None = None) -> Union[torch.Size, int]:
        """Shape of the node, or the size of one axis."""
        if axis is None:
            return self._shape
        return self._shape[self.get_axis_num(axis)]

    def is_node1(self, axis: Ax | None = None) -> Union[bool, list[bool]]:
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
            if not -rank <= axis < rank:
                raise TNIndexError(f"Node {self._name!r} has no axis {axis} (rank {rank})")
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
            num = axis._num
            if axis._node is self and num < len(self._axes) and self._axes[num] is axis:
                return num
            raise TNIndexError(f"{axis!r} is not an axis of node {self._name!r}")
        raise TNTypeError(
            f"`axis` should be int, str or Axis, got {axis!r} ({type(axis).__name__})"
        )

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
            raise TNValueError(f"Edge {edge!s} is not attached to node {self._name!r}")
        return found[0] if len(found) == 1 else tuple(found)

    def neighbours(self, axis: Ax | None = None):
        """The node at the other end of ``axis``, or all distinct neighbours in axis order."""
        if axis is not None:
            num = self.get_axis_num(axis)
            edge = self._edges[num]
            if edge._nodes[1] is None:
                return None
            return edge._nodes[int(self._axes[num]._node1)]
        out: list = []
        seen: set[int] = set()
        for ax, edge in zip(self._axes, self._edges, strict=True):
            if edge._nodes[1] is None:
                continue
            other = edge._nodes[int(ax._node1)]
            if id(other) not in seen:
                seen.add(id(other))
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
    def is_conj(self) -> bool | None:
        """Whether the tensor is a lazy conjugate view (None if empty)."""
        t = self.tensor
        return None if t is None else t.is_conj()

    def is_complex(self) -> bool | None:
        """Whether the tensor is complex (None if empty)."""
        t = self.tensor
        return None if t is None else t.is_complex()

    def is_floating_point(self) -> bool | None:
        """Whether the tensor is floating point (None if empty)."""
        t = self.tensor
        return None if t is None else t.is_floating_point()

    def _dims(self, axis: Any) -> list[int] | None:
        if axis is None:
            return None
        if isinstance(axis, (list, tuple)):
            return [self.get_axis_num(a) for a in axis]
        return [self.get_axis_num(axis)]

    def sum(self, axis: Union[Ax, Sequence[Ax]] | None = None) -> torch.Tensor:
        """Sum of the tensor over ``axis`` (all axes if None)."""
        dims = self._dims(axis)
        return self.tensor.sum() if dims is None else self.tensor.sum(dim=dims)

    def mean(self, axis: Union[Ax, Sequence[Ax]] | None = None) -> torch.Tensor:
        """Mean of the tensor over ``axis`` (all axes if None)."""
        dims = self._dims(axis)
        return self.tensor.mean() if dims is None else self.tensor.mean(dim=dims)

    def std(self, axis: Union[Ax, Sequence[Ax]] | None = None) -> torch.Tensor:
        """Standard deviation of the tensor over ``axis`` (all axes if None)."""
        dims = self._dims(axis)
        return self.tensor.std() if dims is None else self.tensor.std(dim=dims)

    def norm(
        self,
        p: Union[int, float] = 2,
        axis: Union[Ax, Sequence[Ax]] | None = None,
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

    def reattach_edges(self, axes: Sequence[Ax] | None = None, override: bool = False) -> None:
        """Give the node its own copies of edges it inherited (attached to other nodes).

        Args:
            axes: Axes whose edges are re-attached (all if None).
            override: If True, neighbours are updated to point to the new edges.
        """
        if axes is None:
            nums = list(range(len(self._axes)))
        else:
            nums = [self.get_axis_num(a) for a in axes]
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
            self._edges[i] = new
            done.add(i)
            if override and new._nodes[1] is not None:
                neighbour = new._nodes[other]
                if neighbour is not self:
                    neighbour._add_edge(new, new._axes[other], other == 0)

    def disconnect(self, axis: Ax | None = None) -> None:
        """Disconnect the edge at ``axis`` (or every edge) attached to this node."""
        from torchtn.core.edge import disconnect

        nums = range(len(self._axes)) if axis is None else [self.get_axis_num(axis)]
        for i in nums:
            edge = self._edges[i]
            if edge._nodes[1] is not None and edge.is_attached_to(self):
                disconnect(edge)

    def move_to_network(self, network: TensorNetwork, visited: list | None = None) -> None:
        """Move this node and its whole connected component to ``network``.

        Names are re-enumerated in ``network``; a node that referenced another node's
        tensor owns that same tensor object afterwards.
        """
        if not isinstance(network, _network_cls()):
            raise TNTypeError(
                f"Node {self._name!r}: `network` should be TensorNetwork, got "
                f"{type(network).__name__}"
            )
        if network is self._network:
            return
        # Depth-first over the component, neighbours in axis order.
        seen = {id(self)} if visited is None else {id(n) for n in visited} | {id(self)}
        component = [self]
        stack = [iter(self.neighbours())]
        while stack:
            nb = next(stack[-1], None)
            if nb is None:
                stack.pop()
                continue
            if id(nb) in seen or nb._network is network:
                continue
            seen.add(id(nb))
            component.append(nb)
            stack.append(iter(nb.neighbours()))
        values = []
        for node in component:  # read every tensor before any reference can go stale
            try:
                values.append(node.tensor)
            except (TypeError, KeyError):
                values.append(None)
        for node, value in zip(component, values, strict=True):
            old = node._network
            if old is not None:
                old._remove_node(node, move_names=True)
            node._temp_tensor = value
            network._add_node(node)
        if visited is not None:
            visited.extend(component)

    # -- axis renaming -------------------------------------------------------------------
    def _change_axis_name(self, axis: Axis, name: str) -> None:
        if axis._node is not self or self._axes[axis._num] is not axis:
            raise TNValueError(f"{axis!r} does not belong to node {self._name!r}")
        names = self.axes_names
        names[axis._num] = name
        self._set_axes_names(enum_repeated_names(names))

    def _set_axes_names(self, names: list[str]) -> None:
        net = self._network
        for ax, n, edge in zip(self._axes, names, self._edges, strict=True):
            was_batch = ax._batch
            ax._name = n
            ax._batch = _is_batch_name(n)
            if net is not None and was_batch != ax._batch and edge._nodes[0] is self:
                net._refresh_edge(edge)
        self._axes_index = None

    # -- operations (registry functions, see torchtn.core.registry and torchtn.ops) --------
    def permute(self, axes: Sequence[Ax]) -> Node:
        """Same as :func:`torchtn.ops.permute`."""
        return _op("permute")(self, axes)

    def permute_(self, axes: Sequence[Ax]) -> Node:
        """Same as :func:`torchtn.ops.permute_`."""
        return _op("permute_")(self, axes)

    def renormalize(self, p: Union[int, float] = 2, axis: Any | None = None) -> AbstractNode:
        """Same as :func:`torchtn.ops.renormalize`."""
        return _op("renormalize")(self, p, axis)

    def conj(self) -> Node:
        """Same as :func:`torchtn.ops.conj`."""
        return _op("conj")(self)

    def split(
        self,
        node1_axes,
        node2_axes,
        mode="svd",
        side="left",
        rank=None,
        cum_percentage=None,
        cutoff=None,
    ):
        """Same as :func:`torchtn.ops.split`."""
        return _op("split")(self, node1_axes, node2_axes, mode, side, rank, cum_percentage, cutoff)

    def split_(
        self,
        node1_axes,
        node2_axes,
        mode="svd",
        side="left",
        rank=None,
        cum_percentage=None,
        cutoff=None,
    ):
        """Same as :func:`torchtn.ops.split_`."""
        return _op("split_")(self, node1_axes, node2_axes, mode, side, rank, cum_percentage, cutoff)

    def contract_between(self, node2: AbstractNode) -> AbstractNode:
        """Same as :func:`torchtn.ops.contract_between`."""
        return _op("contract_between")(self, node2)

    def contract_between_(self, node2: AbstractNode) -> AbstractNode:
        """Same as :func:`torchtn.ops.contract_between_`."""
        return _op("contract_between_")(self, node2)

    def __matmul__(self, other: AbstractNode) -> AbstractNode:
        return _op("contract_between")(self, other)

    def __mod__(self, other: AbstractNode) -> Node:
        return _op("tprod")(self, other)

    def __mul__(self, other: Any) -> Node:
        return _op("mul")(self, other)

    def __truediv__(self, other: Any) -> Node:
        return _op("div")(self, other)

    def __add__(self, other: Any) -> Node:
        return _op("add")(self, other)

    def __sub__(self, other: Any) -> Node:
        return _op("sub")(self, other)

    # -- strings and pickling ------------------------------------------------------------
    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(\n \tname: {self._name}\n"
            f"\ttensor:\n{tab_string(repr(self.tensor), 2)}\n"
            f"\taxes:\n{tab_string(print_list(self.axes_names), 2)}\n"
            f"\tedges:\n{tab_string(print_list(self._edges), 2)})"
        )

    def __reduce_ex__(self, protocol: int) -> Any:
        # A registered node's state travels in its network's state (one flat table), so
        # pickling or deep-copying long chains never recurses node -> edge -> node.
        net = self._network
        if net is not None and net._all_nodes.get(self._name) is self:
            return (_blank_node, (type(self),), {"_network": net})
        return super().__reduce_ex__(protocol)


from torchtn.core.param_node import Node, ParamNode  # noqa: E402  (re-exported)
