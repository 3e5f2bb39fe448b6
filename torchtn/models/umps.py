"""The uniform periodic MPS, :class:`UMPS` (re-exported by :mod:`torchtn.models.mps`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn.errors import TNTypeError, TNValueError
from torchtn.models import _chain
from torchtn.models._mps import MPS
from torchtn.models._uniform import UniformMixin
from torchtn.models._validate import check_int, check_size, check_tensor_size

__all__ = ["UMPS"]


class UMPS(UniformMixin, MPS):
    """Uniform (translation-invariant) periodic MPS: every site shares ``virtual_uniform``.

    For many sites prefer ``init_method='randn_eye', std=1e-9`` (with an embedding whose
    first entry is 1) or ``'unit'`` (with a unit-norm embedding) to the default
    ``'randn'``, whose outputs grow with every site (see :class:`MPS`).

    Differences from TensorKrowch:
        * ``parameterize(set_param=True)`` works (TK raises ``KeyError``).
    """

    _net_name = "umps"

    def __init__(
        self,
        n_features: int,
        phys_dim: int | None = None,
        bond_dim: int | None = None,
        tensor: torch.Tensor | None = None,
        in_features: Sequence[int] | None = None,
        out_features: Sequence[int] | None = None,
        n_batches: int = 1,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        check_int(n_features, "n_features", 1)
        if tensor is None:
            check_size(phys_dim, "phys_dim")
            check_size(bond_dim, "bond_dim")
            tensors = None
        else:
            if not isinstance(tensor, torch.Tensor):
                raise TNTypeError(f"`tensor` should be torch.Tensor, got {type(tensor).__name__}")
            if tensor.dim() != 3:
                raise TNValueError(f"`tensor` should have rank 3, got {tensor.dim()}")
            check_tensor_size(tensor, "`tensor`")
            if tensor.shape[0] != tensor.shape[2]:
                raise TNValueError(
                    f"`tensor` should have equal first and last dims, got shape "
                    f"{tuple(tensor.shape)}"
                )
            phys_dim, bond_dim = tensor.shape[1], tensor.shape[0]
            tensors = [tensor] * n_features
        super().__init__(
            n_features=n_features,
            phys_dim=phys_dim,
            bond_dim=bond_dim,
            boundary="pbc",
            tensors=None,
            in_features=in_features,
            out_features=out_features,
            n_batches=n_batches,
            init_method=None,
            device=device,
            dtype=dtype,
        )
        self.initialize(
            tensors=tensors, init_method=init_method, device=device, dtype=dtype, **kwargs
        )

    def _make_nodes(self) -> None:
        super()._make_nodes()
        self._make_uniform(self._phys_dim[0])

    def initialize(
        self,
        tensors: Sequence[torch.Tensor] | None = None,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        """Set the shared tensor from ``tensors[0]`` or an ``init_method`` (spec §4)."""
        bond, d = self._bond_dim[0], self._phys_dim[0]
        if init_method == "unit":
            tensors = [_chain.unit_site(bond, d, bond, device, dtype)]
        elif init_method == "canonical":
            tensors = [self._uniform_isometry(d, device, dtype) * (d**0.5)]
        elif tensors is None and init_method is not None:
            targets = [(self.uniform_memory, 0)]
            tensors = self._draw(targets, init_method, device, dtype, kwargs)
        if tensors is not None:
            self.uniform_memory.tensor = tensors[0]

    def _copy_kwargs(self) -> dict:
        return dict(
            n_features=self._n_features,
            phys_dim=self._phys_dim[0],
            bond_dim=self._bond_dim[0],
            in_features=list(self._in_features),
            out_features=list(self._out_features),
            n_batches=self._n_batches,
        )

    def _copy_class(self) -> type:
        return UMPS

    def _copy_tensors_into(self, new: MPS, share: bool) -> None:
        t = self.uniform_memory.tensor
        new.uniform_memory.tensor = t if share or t is None else t.clone()

    def parameterize(self, set_param: bool = True, override: bool = False) -> UMPS:
        """(De)parameterize the nodes and the uniform memory, re-pointing the nodes to it."""
        return self._parameterize_uniform(set_param, override)
