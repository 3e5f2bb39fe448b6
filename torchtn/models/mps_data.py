"""``MPSData``: an MPS whose cores are batched *data* (consumed by ``MPO.contract(mps=...)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch

from torchtn.core import AbstractNode, Node, ParamNode, TensorNetwork
from torchtn.errors import TNTypeError, TNValueError
from torchtn.models import _chain
from torchtn.models._chain import check_int, dims_list

__all__ = ["MPSData"]


class MPSData(TensorNetwork):
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
        self._n_batches = check_int(n_batches, "n_batches")
        if tensors is None:
            if boundary not in ("obc", "pbc"):
                raise TNValueError(f"`boundary` should be 'obc' or 'pbc', got {boundary!r}")
            check_int(n_features, "n_features", 1)
            phys = dims_list(phys_dim, "phys_dim", n_features)
            bonds = dims_list(
                bond_dim, "bond_dim", n_features - 1 if boundary == "obc" else n_features
            )
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
        if not isinstance(tensors, (list, tuple)):
            raise TNTypeError(f"`tensors` should be list or tuple, got {type(tensors).__name__}")
        for t in tensors:
            if not isinstance(t, torch.Tensor):
                raise TNTypeError(
                    f"`tensors` elements should be torch.Tensor, got {type(t).__name__}"
                )
        first, last, n = tensors[0], tensors[-1], len(tensors)
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
        for i, t in enumerate(tensors[1:-1], start=1):
            if t.dim() != nb + 3:
                raise TNValueError(f"`tensors[{i}]` should have rank {nb + 3}, got {t.dim()}")
            phys.append(t.shape[-2])
            bonds.append(t.shape[-1])
        if last.dim() != first.dim():
            raise TNValueError(
                f"Last tensor should have rank {first.dim()} like the first, got {last.dim()}"
            )
        if boundary == "obc":
            phys.append(last.shape[-1])
        else:
            if last.shape[-1] != first.shape[-3]:
                raise TNValueError(
                    f"Last tensor's right dim {last.shape[-1]} should match the "
                    f"first tensor's left dim {first.shape[-3]}"
                )
            phys.append(last.shape[-2])
            bonds.append(last.shape[-1])
        return boundary, phys, bonds

    def _site_shapes(self) -> list[tuple[int, int, int]]:
        n, b, p = self._n_features, self._bond_dim, self._phys_dim
        if self._boundary == "obc":
            bonds = [1, 1] if n == 1 else [b[0]] + b + [b[-1]]
            return [(bonds[i], p[i], bonds[i + 1]) for i in range(n)]
        return [(b[i - 1], p[i], b[i]) for i in range(n)]

    def _make_nodes(self) -> None:
        nb = self._n_batches
        batch = ("batch",) * nb
        self._mats_env = [
            Node(
                shape=(1,) * nb + s,
                axes_names=batch + ("left", "feature", "right"),
                name=f"mats_env_data_node_({i})",
                network=self,
                data=True,
            )
            for i, s in enumerate(self._site_shapes())
        ]
        for a, b in zip(self._mats_env[:-1], self._mats_env[1:], strict=False):
            a["right"] ^ b["left"]
        if self._boundary == "pbc":
            self._mats_env[-1]["right"] ^ self._mats_env[0]["left"]
            self._left_node = self._right_node = None
            return
        shapes = self._site_shapes()
        self._left_node = ParamNode(
            shape=(shapes[0][0],), axes_names=("right",), name="left_node", network=self
        )
        self._right_node = ParamNode(
            shape=(shapes[-1][2],), axes_names=("left",), name="right_node", network=self
        )
        self._left_node["right"] ^ self._mats_env[0]["left"]
        self._mats_env[-1]["right"] ^ self._right_node["left"]

    # -- properties ---------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Number of sites."""
        return self._n_features

    @property
    def phys_dim(self) -> list[int]:
        """Physical dims."""
        return self._phys_dim

    @property
    def bond_dim(self) -> list[int]:
        """Bond dims (recomputed by :meth:`add_data`)."""
        return self._bond_dim

    @property
    def boundary(self) -> str:
        """``'obc'`` or ``'pbc'``."""
        return self._boundary

    @property
    def n_batches(self) -> int:
        """Number of leading batch axes of every core."""
        return self._n_batches

    @property
    def left_node(self) -> AbstractNode | None:
        """Left boundary vector (obc) or None."""
        return self._left_node

    @property
    def right_node(self) -> AbstractNode | None:
        """Right boundary vector (obc) or None."""
        return self._right_node

    @property
    def mats_env(self) -> list[AbstractNode]:
        """The data nodes, one per site."""
        return self._mats_env

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
        if self._boundary == "obc":
            for node in (self._left_node, self._right_node):
                node.set_tensor(init_method="copy", device=device, dtype=dtype)
        if init_method is None:
            return
        n = self._n_features
        for i, node in enumerate(self._mats_env):
            t = node.make_tensor(init_method=init_method, device=device, dtype=dtype, **kwargs)
            if self._boundary == "obc" and n > 1:
                if i == 0:
                    t = _chain.zero_boundary(t, "left")
                elif i == n - 1:
                    t = _chain.zero_boundary(t, "right")
            node._direct_set_tensor(t)

    def add_data(self, data: Sequence[torch.Tensor]) -> None:
        """Set the cores (user convention for obc); bonds and batch sizes may change."""
        if not isinstance(data, (list, tuple)):
            raise TNTypeError(f"`data` should be list or tuple, got {type(data).__name__}")
        n = self._n_features
        if len(data) != n:
            raise TNValueError(f"`data` should have {n} elements, got {len(data)}")
        obc = self._boundary == "obc"
        for i, t in enumerate(data):
            if not isinstance(t, torch.Tensor):
                raise TNTypeError(f"`data[{i}]` should be torch.Tensor, got {type(t).__name__}")
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
