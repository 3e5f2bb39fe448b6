"""``marginalize_output`` of :meth:`MPS.contract`: the conjugate copy of the output, with
optional embedding matrices or an MPO between the output sites and the copy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn.core import AbstractNode, Node
from torchtn.core import disconnect as tk_disconnect
from torchtn.errors import TNTypeError, TNValueError
from torchtn.models._chain_nodes import inline_chain, trace_loops

__all__ = ["MarginalMixin"]


class MarginalMixin:
    """Checks and wiring behind ``MPS.contract(marginalize_output=True, ...)``."""

    def _attach_output_copy(self, embedding_matrices: list | None, mpo: Any) -> tuple:
        """Connect a virtual conjugate-copy of the output (and embedding matrices) to the
        output ``input`` edges, replacing any left by a previous call."""
        for name in list(self._virtual_nodes):
            if name.startswith(("virtual_result_copy", "virtual_result_mat")):
                self.delete_node(self._virtual_nodes[name])
        data = list(self._data_nodes.values())
        batch = tuple(data[0].shape[:-1]) if data else ()
        n_b = len(batch)
        batch_names = [f"{ax}_copy" for ax in data[0].axes_names[:-1]] if data else []
        outs = self.out_env
        copy = Node(
            shape=batch + tuple(node["input"].size() for node in outs),
            axes_names=batch_names + ["input"] * len(outs),
            name="virtual_result_copy",
            network=self,
            virtual=True,
        )
        mats = []
        if embedding_matrices is None and mpo is not None:
            return copy, self._attach_mpo(mpo, copy, n_b)
        for k, node in enumerate(outs):
            if embedding_matrices is None:
                copy[n_b + k] ^ node["input"]
                continue
            mat = Node(
                tensor=embedding_matrices[k],
                axes_names=("input", "output"),
                name="virtual_result_mat",
                network=self,
                virtual=True,
            )
            mat["output"] ^ node["input"]
            mat["input"] ^ copy[n_b + k]
            mats.append(mat)
        return copy, mats

    def _attach_mpo(self, mpo: Any, copy: AbstractNode, n_b: int) -> list:
        """Move ``mpo`` into this network between the output sites and their copy."""
        if mpo.mats_env[0].network is not self:
            mpo.mats_env[0].move_to_network(self)
        for k, (node, mat) in enumerate(zip(self.out_env, mpo.mats_env, strict=True)):
            if not node["input"].is_dangling():
                tk_disconnect(node["input"])
            if not mat["input"].is_dangling():
                tk_disconnect(mat["input"])
            mat["output"] ^ node["input"]
            mat["input"] ^ copy[n_b + k]
        chain = list(mpo.mats_env)
        if mpo.boundary == "obc":
            chain = [mpo.left_node] + chain + [mpo.right_node]
        return [trace_loops(inline_chain(chain, False))]

    def _check_marginal_args(self, embedding_matrices: Any, mpo: Any) -> list | None:
        n_out = len(self._out_features)
        if embedding_matrices is not None:
            if isinstance(embedding_matrices, torch.Tensor):
                embedding_matrices = [embedding_matrices] * n_out
            elif not isinstance(embedding_matrices, Sequence):
                raise TNTypeError(
                    "`embedding_matrices` should be a tensor or a sequence of "
                    f"tensors, got {type(embedding_matrices).__name__}"
                )
            if len(embedding_matrices) != n_out:
                raise TNValueError(
                    f"`embedding_matrices` should have {n_out} elements (one per "
                    f"output node), got {len(embedding_matrices)}"
                )
            for k, (mat, site) in enumerate(
                zip(embedding_matrices, self._out_features, strict=False)
            ):
                if not isinstance(mat, torch.Tensor):
                    raise TNTypeError(
                        f"`embedding_matrices[{k}]` should be torch.Tensor, got "
                        f"{type(mat).__name__}"
                    )
                d = self._phys_dim[site]
                if mat.dim() != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] != d:
                    raise TNValueError(
                        f"`embedding_matrices[{k}]` should be a square ({d}, {d}) "
                        f"matrix, got shape {tuple(mat.shape)}"
                    )
            return list(embedding_matrices)
        if mpo is not None:
            try:
                from torchtn.models.mpo import MPO
            except ImportError:
                raise NotImplementedError(
                    "`mpo` needs torchtn.models.mpo, which is not available"
                ) from None
            if not isinstance(mpo, MPO):
                raise TNTypeError(f"`mpo` should be MPO, got {type(mpo).__name__}")
            if mpo.n_features != n_out:
                raise TNValueError(
                    f"`mpo` should have {n_out} sites (one per output node), got {mpo.n_features}"
                )
        return None
