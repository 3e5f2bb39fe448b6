"""The shared ``virtual_uniform`` core of the uniform MPS models (``UMPS``, ``UMPSLayer``)."""

from __future__ import annotations

from typing import Any

import torch

from torchtn.core import AbstractNode, ParamNode
from torchtn.errors import TNValueError
from torchtn.models import _chain

__all__ = ["UniformMixin"]


class UniformMixin:
    """Periodic MPS whose site nodes read one virtual ``(D, d, D)`` memory node.

    ``_uniform_name`` is the class named by the errors of the unavailable methods.
    """

    _uniform_name = "UMPS"

    def _tk_stack_layout(self) -> list:
        return []  # the sites share ``virtual_uniform``: nothing is auto-stacked

    def _make_uniform(self, d: int, skip: int | None = None) -> None:
        """Create ``uniform_memory`` and make every site node but ``skip`` read it."""
        bond = self._bond_dim[0]
        self.uniform_memory = ParamNode(
            shape=(bond, d, bond),
            axes_names=("left", "input", "right"),
            name="virtual_uniform",
            network=self,
            virtual=True,
        )
        for i, node in enumerate(self._mats_env):
            if i != skip:
                node.set_tensor_from(self.uniform_memory)

    def _uniform_isometry(self, d: int, device: Any, dtype: Any) -> torch.Tensor:
        """A left-isometric ``(D, d, D)`` core (the ``'canonical'`` init before scaling)."""
        bond = self._bond_dim[0]
        return _chain._crop_unitary(bond * d, bond, device, dtype).reshape(bond, d, bond)

    @staticmethod
    def _draw(
        targets: list[tuple[AbstractNode, int | None]],
        init_method: str,
        device: Any,
        dtype: Any,
        kwargs: dict,
    ) -> list[torch.Tensor]:
        """Tensors for the ``(node, eye index)`` targets drawn with ``init_method``, in order
        (``'randn_eye'``: :func:`~torchtn.models._chain.add_eye` on a ``randn`` draw)."""
        if init_method not in _chain.CORE_METHODS:
            raise TNValueError(f"Choose a valid `init_method`, got {init_method!r}")
        _chain.float_kwargs(kwargs)
        method = "randn" if init_method == "randn_eye" else init_method
        out = []
        for node, eye in targets:
            t = node.make_tensor(init_method=method, device=device, dtype=dtype, **kwargs)
            out.append(_chain.add_eye(t, eye) if init_method == "randn_eye" else t)
        return out

    def _parameterize_uniform(self, set_param: bool, override: bool) -> Any:
        """``parameterize`` of a uniform model: every node then reads the uniform memory."""
        net = self._parameterize_target(override)
        net._mats_env = [node.parameterize(set_param) for node in net._mats_env]
        net.uniform_memory = net.uniform_memory.parameterize(set_param)
        for node in net._mats_env:
            node.set_tensor_from(net.uniform_memory)
        return net

    def canonicalize(self, *args: Any, **kwargs: Any) -> None:
        """Not available for uniform models."""
        raise NotImplementedError(f"`canonicalize` is not implemented for {self._uniform_name}")

    def canonicalize_univocal(self) -> None:
        """Not available for uniform models."""
        raise NotImplementedError(
            f"`canonicalize_univocal` is not implemented for {self._uniform_name}"
        )
