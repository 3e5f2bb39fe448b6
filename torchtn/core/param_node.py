"""The two concrete node kinds: `Node` (plain tensors) and `ParamNode` (``nn.Parameter``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import torch
from torch import nn

from torchtn._utils import as_index as _as_index
from torchtn.core.edge import Edge
from torchtn.core.node import AbstractNode
from torchtn.errors import TNValueError
from torchtn.typing import Shape

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.network import TensorNetwork

__all__ = ["Node", "ParamNode"]


def _check_one_role(node: AbstractNode, **flags: bool) -> None:
    if sum(bool(v) for v in flags.values()) != 1:
        given = ", ".join(f"{k}={v!r}" for k, v in flags.items())
        raise TNValueError(
            f"Node {node._name!r}: exactly one of {', '.join(flags)} must be True, got {given}"
        )
    if node._network is None:
        raise TNValueError(f"Node {node._name!r} does not belong to a network")


def _replacement_kwargs(node: AbstractNode, tensor: torch.Tensor | None) -> dict:
    # Arguments building a node that takes ``node``'s place (name, edges, network).
    return dict(
        shape=node._shape if tensor is None else None,
        axes_names=node.axes_names,
        name=node._name,
        network=node._network,
        override_node=True,
        tensor=tensor,
        edges=list(node._edges),
        override_edges=True,
        node1_list=node.is_node1(),
    )


def _copy_kwargs(node: AbstractNode, tensor: torch.Tensor | None) -> dict:
    # Arguments building a copy: a new leaf named ``<name>_copy`` holding edge copies.
    return dict(
        shape=node._shape if tensor is None else None,
        axes_names=node.axes_names,
        name=node._name + "_copy",
        network=node._network,
        tensor=tensor,
        edges=list(node._edges),
        node1_list=node.is_node1(),
    )


class Node(AbstractNode):
    """A node of a tensor network.

    Args:
        shape: Shape of the tensor (required unless ``tensor`` is given).
        axes_names: Names of the axes (``axis_0``... by default); repeated names are
            enumerated, names containing ``batch``/``stack`` are batch axes.
        name: Node name (``node`` by default; enumerated within the network). It may
            not contain spaces nor be an operation name (``contract_edges``...).
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
        **kwargs: ``low``/``high`` (rand) or ``mean``/``std`` (randn), as floats.

    Raises:
        TypeError: An argument of the wrong type.
        ValueError: Inconsistent arguments (shape vs tensor, number of axes names,
            several roles, a reserved or spaced name...).
        KeyError: ``override_node`` without a node named ``name`` in ``network``.

    Examples:
        >>> import torchtn as tk
        >>> node = tk.Node(shape=(2, 5, 2), axes_names=('left', 'input', 'right'),
        ...                init_method='randn')
        >>> node.shape
        torch.Size([2, 5, 2])
    """

    _default_name = "node"

    def parameterize(self, set_param: bool = True) -> Union[Node, ParamNode]:
        """Replace this node by a :class:`ParamNode` (if ``set_param``) and return it.

        The new node takes this node's name, tensor and place in the network (the
        neighbours point to it); this node leaves the network.
        """
        if not set_param:
            return self
        return ParamNode(**_replacement_kwargs(self, self.tensor))

    def copy(self, share_tensor: bool = False) -> Node:
        """A new leaf node ``<name>_copy`` with the same shape, axes and edges (copies).

        Args:
            share_tensor: Read the original's tensor (:meth:`set_tensor_from`) instead of
                storing a clone of it. (TensorKrowch stored the same tensor object.)
        """
        t = None if share_tensor else self.tensor
        new = Node(**_copy_kwargs(self, None if t is None else t.clone()))
        if share_tensor:
            new.set_tensor_from(self)
        return new

    def change_type(self, leaf: bool = False, data: bool = False, virtual: bool = False) -> None:
        """Move the node to another role (exactly one flag must be True).

        Raises:
            ValueError: For resultant nodes, or if not exactly one flag is True.
        """
        if self.is_resultant():
            raise TNValueError(f"Resultant node {self._name!r} cannot change type")
        _check_one_role(self, leaf=leaf, data=data, virtual=virtual)
        self._network._change_node_role(
            self, leaf=bool(leaf), data=bool(data), virtual=bool(virtual)
        )


class ParamNode(AbstractNode):
    """A node whose tensor is a trainable ``nn.Parameter`` registered in its network.

    Same arguments as :class:`Node` except ``data`` (a ParamNode never holds data).
    The parameter is registered in the network as ``param_<name>``.
    """

    _default_name = "paramnode"
    _is_param_node = True

    def __init__(
        self,
        shape: Shape | None = None,
        axes_names: Sequence[str] | None = None,
        name: str | None = None,
        network: TensorNetwork | None = None,
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
        super().__init__(
            shape=shape,
            axes_names=axes_names,
            name=name,
            network=network,
            data=False,
            virtual=virtual,
            override_node=override_node,
            tensor=tensor,
            edges=edges,
            override_edges=override_edges,
            node1_list=node1_list,
            init_method=init_method,
            device=device,
            dtype=dtype,
            **kwargs,
        )

    @classmethod
    def _create_resultant(cls, *args: Any, **kwargs: Any) -> AbstractNode:
        raise NotImplementedError("ParamNodes cannot be resultant nodes")

    @staticmethod
    def _set_tensor_format(tensor: torch.Tensor) -> torch.Tensor:
        if isinstance(tensor, nn.Parameter):
            return tensor
        return nn.Parameter(tensor)

    def _save_in_network(self, tensor: torch.Tensor | None) -> None:
        if tensor is not None and not isinstance(tensor, nn.Parameter):
            tensor = nn.Parameter(tensor)
        address = self._tensor_info["address"]
        net = self._network
        net._memory_nodes[address] = tensor
        net._parameters["param_" + address] = tensor

    @property
    def grad(self) -> torch.Tensor | None:
        """Gradient of the node's tensor (a slice of the stack's gradient if stacked)."""
        info = self._tensor_info
        if info is None:
            return None
        ref = self if info["address"] is not None else info["node_ref"]
        rinfo = ref._tensor_info
        if rinfo is None or rinfo["address"] is None:
            return None
        t = ref._network._memory_nodes.get(rinfo["address"])
        if t is None or t.grad is None:
            return None
        index = info["index"]
        return t.grad if index is None else t.grad[_as_index(index)]

    def parameterize(self, set_param: bool = True) -> Union[Node, ParamNode]:
        """Return self, or a replacement plain :class:`Node` if ``set_param`` is False."""
        if set_param:
            return self
        t = self.tensor
        return Node(**_replacement_kwargs(self, None if t is None else t.detach()))

    def copy(self, share_tensor: bool = False) -> ParamNode:
        """A new leaf ParamNode ``<name>_copy``; see :meth:`Node.copy`.

        Without ``share_tensor`` the copy holds a new Parameter with cloned values.
        """
        t = None if share_tensor else self.tensor
        if t is not None:
            t = nn.Parameter(t.detach().clone(), requires_grad=t.requires_grad)
        new = ParamNode(**_copy_kwargs(self, t))
        if share_tensor:
            new.set_tensor_from(self)
        return new

    def change_type(self, leaf: bool = False, virtual: bool = False) -> None:
        """Move the node between leaf and virtual roles (exactly one flag True).

        Raises:
            ValueError: If not exactly one flag is True.
        """
        _check_one_role(self, leaf=leaf, virtual=virtual)
        self._network._change_node_role(self, leaf=bool(leaf), data=False, virtual=bool(virtual))
