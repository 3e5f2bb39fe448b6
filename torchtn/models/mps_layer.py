"""MPS with one output site: :class:`MPSLayer` and the uniform :class:`UMPSLayer`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import torch

from torchtn.core import AbstractNode
from torchtn.errors import TNTypeError, TNValueError
from torchtn.models import _chain
from torchtn.models._chain_nodes import attribute
from torchtn.models._mps import MPS
from torchtn.models._uniform import UniformMixin
from torchtn.models._validate import check_int, check_size, check_tensor_size, size_list

__all__ = ["MPSLayer", "UMPSLayer"]


def _check_out_position(out_position: int | None, n_features: int) -> int:
    if out_position is None:
        return n_features // 2
    check_int(out_position, "out_position")
    if not 0 <= out_position < n_features:
        raise TNValueError(f"`out_position` should be in [0, {n_features - 1}], got {out_position}")
    return out_position


def _slice_obc(t: torch.Tensor, site: int, n: int, boundary: str) -> torch.Tensor:
    """Drop the padded boundary legs of a full-shape site tensor (obc ends)."""
    if boundary != "obc":
        return t
    if site == 0:
        t = t[0]
        return t[..., 0] if n == 1 else t
    if site == n - 1:
        return t[..., 0]
    return t


class MPSLayer(MPS):
    """MPS whose site ``out_position`` is left open: ``(batch, n-1, in_dim) -> (batch, out_dim)``.

    ``n_features`` counts every site, the output one included. Sizes are validated as in
    :class:`MPS` (``in_dim`` entries, ``out_dim`` and ``bond_dim`` ints >= 1).

    Long chains: the default ``init_method='randn'`` gives outputs ~1e34 at 65 sites
    (bond 10) and NaN at 785; use ``init_method='randn_eye', std=1e-9`` with
    ``tk.embeddings.add_ones``/``poly`` data (outputs ~1 at 785 sites), or
    ``init_method='unit'`` with ``tk.embeddings.unit`` data (see :class:`MPS`).

    Differences from TensorKrowch:
        * ``out_position == n_features`` is rejected by the range check itself (TK's own
          check is off by one; TK still raised ValueError later).
        * See :class:`MPS` for ``tensors`` on 1-site models and ``copy()`` dtype/device.
    """

    _net_name = "mpslayer"

    def __init__(
        self,
        n_features: int | None = None,
        in_dim: Union[int, Sequence[int]] | None = None,
        out_dim: int | None = None,
        bond_dim: Union[int, Sequence[int]] | None = None,
        out_position: int | None = None,
        boundary: str = "obc",
        tensors: Sequence[torch.Tensor] | None = None,
        n_batches: int = 1,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        if tensors is not None:
            _chain.check_sequence(tensors, "tensors")
            n_features = len(tensors)
            out_position = _check_out_position(out_position, n_features)
            _, phys, _ = MPS._dims_from_tensors(tensors)
            out_dim = phys[out_position]
            in_dim = phys[:out_position] + phys[out_position + 1 :]
            phys_dim = phys
        else:
            check_int(n_features, "n_features", 1)
            out_position = _check_out_position(out_position, n_features)
            if in_dim is None and n_features == 1:
                in_dim = []
            else:
                if in_dim is None:
                    raise TNTypeError("`in_dim` should be int, list or tuple, got None")
                in_dim = size_list(in_dim, "in_dim", n_features - 1)
            check_size(out_dim, "out_dim")
            phys_dim = in_dim[:out_position] + [out_dim] + in_dim[out_position:]
        self._out_position = out_position
        self._in_dim = list(in_dim)
        self._out_dim = out_dim
        super().__init__(
            n_features=n_features,
            phys_dim=phys_dim,
            bond_dim=bond_dim,
            boundary=boundary,
            tensors=tensors,
            in_features=None,
            out_features=[out_position],
            n_batches=n_batches,
            init_method=init_method,
            device=device,
            dtype=dtype,
            **kwargs,
        )

    in_dim = attribute("_in_dim", "Physical dims of the input sites.")
    out_dim = attribute("_out_dim", "Physical dim of the output site.")
    out_position = attribute("_out_position", "Index of the output site.")

    @property
    def out_node(self) -> AbstractNode:
        """The output node, ``mats_env[out_position]``."""
        return self._mats_env[self._out_position]

    def _eye_index(self, site: int) -> int | None:
        return None if site == self._out_position else 0

    def _generated_tensors(self, init_method: str, device: Any, dtype: Any) -> list:
        shapes = self._site_shapes()
        n, p, obc = self._n_features, self._out_position, self._boundary == "obc"
        left_part = []
        for i in range(p):
            left, d, right = shapes[i]
            first = obc and i == 0
            if init_method == "unit":
                t = _chain.unit_site(1 if first else left, d, right, device, dtype)
                t = t[0] if first else t
            else:
                rows = d if first else left * d
                t = _chain._crop_unitary(rows, right, device, dtype)
                t = t if first else t.reshape(left, d, right)
                t = t * math.sqrt(d)
            left_part.append(t)
        out = torch.randn(shapes[p], device=device, dtype=dtype)
        out = _slice_obc(out, p, n, self._boundary)
        if init_method == "canonical":
            out = out / out.norm() * math.sqrt(self._out_dim)
        right_part = []
        for i in range(n - 1, p, -1):
            left, d, right = shapes[i]
            last = obc and i == n - 1
            if init_method == "unit":
                t = _chain.unit_site(left, d, 1 if last else right, device, dtype, conj=True)
                t = t[..., 0] if last else t
            else:
                cols = d if last else d * right
                t = _chain._crop_unitary(left, cols, device, dtype)
                t = t if last else t.reshape(left, d, right)
                t = t * math.sqrt(d)
            right_part.append(t)
        return left_part + [out] + right_part[::-1]

    def _copy_class(self) -> type:
        return MPSLayer

    def _copy_kwargs(self) -> dict:
        return dict(
            n_features=self._n_features,
            in_dim=list(self._in_dim),
            out_dim=self._out_dim,
            bond_dim=list(self._bond_dim),
            out_position=self._out_position,
            boundary=self._boundary,
            n_batches=self._n_batches,
        )


class UMPSLayer(UniformMixin, MPS):
    """Periodic MPS whose input sites share ``virtual_uniform``; the output site is its own.

    Differences from TensorKrowch:
        * The uniform memory has shape ``(D, in_dim, D)`` and ``tensors`` are read by role
          (``[uniform, output]``); TK used ``phys_dim[0]`` and ``tensors[0]``, which is
          wrong when ``out_position == 0``.
        * ``init_method='randn_eye'`` adds the identity to every output slice of the output
          tensor too (TK only to the uniform tensor); random draws are unchanged.
        * ``parameterize(set_param=True)`` works. As in TK, afterwards every node (the output
          one included) reads the uniform memory.
    """

    _net_name = "umpslayer"
    _uniform_name = "UMPSLayer"

    def __init__(
        self,
        n_features: int,
        in_dim: int | None = None,
        out_dim: int | None = None,
        bond_dim: int | None = None,
        out_position: int | None = None,
        tensors: Sequence[torch.Tensor] | None = None,
        n_batches: int = 1,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        check_int(n_features, "n_features", 1)
        out_position = _check_out_position(out_position, n_features)
        if tensors is not None:
            _chain.check_sequence(tensors, "tensors")
            if len(tensors) != 2:
                raise TNValueError(
                    f"`tensors` should be [uniform_tensor, output_tensor], got "
                    f"{len(tensors)} elements"
                )
            for t in tensors:
                if not isinstance(t, torch.Tensor):
                    raise TNTypeError(
                        f"`tensors` elements should be torch.Tensor, got {type(t).__name__}"
                    )
                if t.dim() != 3 or t.shape[0] != t.shape[2]:
                    raise TNValueError(
                        f"`tensors` elements should be rank 3 with equal first "
                        f"and last dims, got shape {tuple(t.shape)}"
                    )
                check_tensor_size(t, "`tensors` element")
            in_dim = tensors[0].shape[1]
            out_dim = tensors[1].shape[1]
            bond_dim = tensors[1].shape[0]
        if n_features == 1:
            in_dim = None
        else:
            check_size(in_dim, "in_dim")
        check_size(out_dim, "out_dim")
        check_size(bond_dim, "bond_dim")
        self._out_position = out_position
        self._in_dim = [] if in_dim is None else [in_dim] * (n_features - 1)
        self._out_dim = out_dim
        phys_dim = self._in_dim[:out_position] + [out_dim] + self._in_dim[out_position:]
        super().__init__(
            n_features=n_features,
            phys_dim=phys_dim,
            bond_dim=bond_dim,
            boundary="pbc",
            in_features=None,
            out_features=[out_position],
            n_batches=n_batches,
            init_method=None,
            device=device,
            dtype=dtype,
        )
        self.initialize(
            tensors=tensors, init_method=init_method, device=device, dtype=dtype, **kwargs
        )

    in_dim = MPSLayer.in_dim
    out_dim = MPSLayer.out_dim
    out_position = MPSLayer.out_position
    out_node = MPSLayer.out_node

    def _make_nodes(self) -> None:
        super()._make_nodes()
        self._make_uniform(self._in_dim[0] if self._in_dim else self._out_dim, self._out_position)

    def initialize(
        self,
        tensors: Sequence[torch.Tensor] | None = None,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        """Set the uniform and output tensors (spec §6)."""
        bond = self._bond_dim[0]
        d_in = self.uniform_memory.shape[1]
        d_out = self._out_dim
        if init_method == "unit":
            tensors = [
                _chain.unit_site(bond, d_in, bond, device, dtype),
                _chain.unit_site(bond, d_out, bond, device, dtype),
            ]
        elif init_method == "canonical":
            u = self._uniform_isometry(d_in, device, dtype)
            out = torch.randn(bond, d_out, bond, device=device, dtype=dtype)
            tensors = [u * math.sqrt(d_in), out / out.norm() * math.sqrt(d_out)]
        elif tensors is None and init_method is not None:
            targets = [(self.uniform_memory, 0), (self.out_node, None)]
            tensors = self._draw(targets, init_method, device, dtype, kwargs)
        if tensors is None:
            return
        uniform, out = tensors[0], tensors[-1]
        if self._n_features > 1:
            self.uniform_memory.tensor = uniform
        self.out_node.tensor = out

    def _copy_class(self) -> type:
        return UMPSLayer

    def _copy_kwargs(self) -> dict:
        return dict(
            n_features=self._n_features,
            in_dim=self._in_dim[0] if self._in_dim else None,
            out_dim=self._out_dim,
            bond_dim=self._bond_dim[0],
            out_position=self._out_position,
            n_batches=self._n_batches,
        )

    def _copy_tensors_into(self, new: MPS, share: bool) -> None:
        for src, dst in ((self.uniform_memory, new.uniform_memory), (self.out_node, new.out_node)):
            t = src.tensor
            if t is not None:
                dst.tensor = t if share else t.clone()

    def parameterize(self, set_param: bool = True, override: bool = False) -> UMPSLayer:
        """(De)parameterize; every node then reads the uniform memory (as in TK)."""
        return self._parameterize_uniform(set_param, override)
