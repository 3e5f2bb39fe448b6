"""``MPSData``: an MPS whose cores are batched *data* (consumed by ``MPO.contract(mps=...)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch

from torchtn.core import Node, TensorNetwork
from torchtn.errors import TNTypeError, TNValueError
from torchtn.models import _chain
from torchtn.models._chain_nodes import ChainNodesMixin, attribute
from torchtn.models._validate import check_n_batches, check_tensor_size, check_tensor_sizes

__all__ = ["MPSData"]


class MPSData(ChainNodesMixin, TensorNetwork):
    """MPS of data nodes with ``n_batches`` leading batch axes (spec §8).

    OBC cores are padded to the boundary bond and closed by the trainable ``left_node`` /
    ``right_node`` vectors (``e_0``), as in :class:`~torchtn.models.MPS`.

    Differences from TensorKrowch:
        * ``tensors`` indexes the last three axes, so it is correct for batched cores and
          for a 1-site OBC chain (TK mis-indexed both).
    """

    def __init__(
        self,
        n_features: int | None = None,
        phys_dim: Union[int, Sequence[int]] | None = None,
        bond_dim: Union[int, Sequence[int]] | None = None,
        boundary: str = "obc",
        n_batches: int = 1,
        tensors: Sequence[torch.Tensor] | None = None,
        init_method: str | None = None,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name="mps_data")
        self._n_batches = check_n_batches(n_batches)
        if tensors is None:
            phys, bonds = _chain.chain_dims(n_features, phys_dim, bond_dim, boundary)
        else:
            boundary, phys, bonds = self._dims_from_tensors(tensors, n_batches)
            n_features = len(tensors)
        self._n_features = n_features
        self._phys_dim = phys
        self._bond_dim = bonds
        self._boundary = boundary
        self._make_nodes()
        self.initialize(init_method=init_method, device=device, dtype=dtype, **kwargs)
        if tensors is not None:
            self.add_data(tensors)

    @staticmethod
    def _dims_from_tensors(tensors: Any, nb: int) -> tuple[str, list[int], list[int]]:
        _chain.check_tensors(tensors, nonempty=True)
        check_tensor_sizes(tensors, lead=nb)
        first, n = tensors[0], len(tensors)
        rank = first.dim() - nb
        if rank == 1 and n == 1:
            return "obc", [first.shape[-1]], []
        if rank not in (2, 3):
            raise TNValueError(
                f"First tensor should have rank {nb + 1}, {nb + 2} or {nb + 3} "
                f"(with {nb} batch axes), got {first.dim()}"
            )
        boundary = "obc" if rank == 2 else "pbc"
        phys, bonds = [first.shape[-2]], [first.shape[-1]]
        if n == 1:
            return boundary, phys, bonds
        return _chain.tail_dims(tensors, boundary, phys, bonds, nb)

    def _make_nodes(self) -> None:
        nb = self._n_batches
        batch = ("batch",) * nb
        shapes = _chain.site_shapes(self._phys_dim, self._bond_dim, self._boundary)
        mats = [
            Node(
                shape=(1,) * nb + s,
                axes_names=batch + ("left", "feature", "right"),
                name=f"mats_env_data_node_({i})",
                network=self,
                data=True,
            )
            for i, s in enumerate(shapes)
        ]
        self._link(mats, shapes[0][0], shapes[-1][2])

    # -- properties ---------------------------------------------------------------------------
    phys_dim = attribute("_phys_dim", "Physical dims.")
    bond_dim = attribute("_bond_dim", "Bond dims (recomputed by :meth:`add_data`).")
    n_batches = attribute("_n_batches", "Number of leading batch axes of every core.")
    mats_env = attribute("_mats_env", "The data nodes, one per site.")

    @property
    def tensors(self) -> list[torch.Tensor | None]:
        """Cores in the user convention (obc boundary index 0 taken on the last axes)."""
        ts = [node.tensor for node in self._mats_env]
        if self._boundary == "pbc" or any(t is None for t in ts):
            return ts
        if len(ts) == 1:
            return [ts[0][..., 0, :, 0]]
        return [ts[0][..., 0, :, :]] + ts[1:-1] + [ts[-1][..., 0]]

    # -- data ---------------------------------------------------------------------------------
    def initialize(
        self,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        """Reset the boundary vectors to ``e_0``; optionally fill the cores."""
        self._reset_boundary(device, dtype)
        if init_method is None:
            return
        n = self._n_features
        for i, node in enumerate(self._mats_env):
            t = node.make_tensor(init_method=init_method, device=device, dtype=dtype, **kwargs)
            node._direct_set_tensor(_chain.zero_ends(t, i, n, self._boundary))

    def add_data(self, data: Sequence[torch.Tensor]) -> None:
        """Set the cores (user convention for obc); bonds and batch sizes may change."""
        _chain.check_sequence(data, "data")
        n = self._n_features
        if len(data) != n:
            raise TNValueError(f"`data` should have {n} elements, got {len(data)}")
        obc = self._boundary == "obc"
        nb = self._n_batches
        for i, t in enumerate(data):
            if not isinstance(t, torch.Tensor):
                raise TNTypeError(f"`data[{i}]` should be torch.Tensor, got {type(t).__name__}")
            ends = (i == 0) + (i == n - 1) if obc else 0
            rank = nb + 3 - ends
            if t.dim() != rank:
                raise TNValueError(
                    f"`data[{i}]` should have rank {rank} ({nb} batch axes and the "
                    f"{'boundary' if ends else 'core'} convention), got shape {tuple(t.shape)}"
                )
            check_tensor_size(t, f"`data[{i}]`", nb)
            d = t.shape[-1] if (obc and i == n - 1 and n > 1) or (obc and n == 1) else t.shape[-2]
            if d != self._phys_dim[i]:
                raise TNValueError(
                    f"`data[{i}]` has physical dim {d}, expected {self._phys_dim[i]}"
                )
        tensors = list(data)
        if obc:
            left = self._mats_env[0]["left"].size()
            right = self._mats_env[-1]["right"].size()
            if n == 1:
                t = tensors[0]
                out = torch.zeros(
                    t.shape[:-1] + (left, t.shape[-1], right), device=t.device, dtype=t.dtype
                )
                out[..., 0, :, 0] = t
                tensors[0] = out
            else:
                f, last = tensors[0], tensors[-1]
                tensors[0] = _chain.embed_boundary(f, f.shape[:-2] + (left,) + f.shape[-2:], "left")
                tensors[-1] = _chain.embed_boundary(last, last.shape + (right,), "right")
            ref = tensors[0]
            for node in (self._left_node, self._right_node):
                t = node.tensor
                if t.device != ref.device or t.dtype != ref.dtype:
                    node.tensor = t.to(device=ref.device, dtype=ref.dtype)
        for node, t in zip(self._mats_env, tensors, strict=False):
            node._direct_set_tensor(t)
        mats = self._mats_env
        self._bond_dim = [node["right"].size() for node in (mats[:-1] if obc else mats)]
