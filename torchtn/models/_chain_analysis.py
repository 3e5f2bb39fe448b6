"""Canonical forms, entropy, norm and reduced densities of an MPS-like chain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn.errors import TNValueError
from torchtn.models._chain import check_int, features_list, sweep_canonical, transfer_density
from torchtn.models._chain_nodes import ChainNodesMixin

__all__ = ["ChainAnalysisMixin"]


class ChainAnalysisMixin(ChainNodesMixin):
    """Canonical forms, entropy, norm and reduced densities of an MPS-like chain.

    Everything is computed on tensors first and written back at the end, so a failing
    call leaves the model unchanged (TK mutated the network while decomposing).
    """

    @torch.no_grad()
    def canonicalize(
        self,
        oc: int | None = None,
        mode: str = "svd",
        rank: int | None = None,
        cum_percentage: float | None = None,
        cutoff: float | None = None,
        renormalize: bool = False,
    ) -> None:
        """Bring the MPS to canonical form with orthogonality centre ``oc`` (spec §3.9).

        Transactional: every decomposition is computed before the network is modified,
        so an error leaves the model unchanged.

        Raises:
            ValueError: ``oc`` out of range, unknown ``mode``, ``rank < 1``,
                ``cum_percentage`` outside ``(0, 1]`` or ``cutoff < 0`` (see
                :func:`torchtn.linalg.check_truncation`; TK silently collapsed or kept
                everything).
            TypeError: A non-int ``oc``/``rank`` or a non-number ``cum_percentage``/``cutoff``.
        """
        oc = self._check_canonical(oc, mode)
        cores, log_norm = sweep_canonical(
            self._padded_cores(), oc, mode, rank, cum_percentage, cutoff, renormalize
        )
        self._rebuild(self._rescaled(cores, log_norm) if renormalize else cores)

    @torch.no_grad()
    def entropy(self, middle_site: int, renormalize: bool = False) -> Any:
        """Von Neumann entropy across the cut after ``middle_site`` (spec §3.8).

        Leaves the MPS canonicalized with centre ``middle_site``. Returns ``S`` or, with
        ``renormalize``, ``(S_normalised, log_norm)``.
        """
        check_int(middle_site, "middle_site")
        if not 0 <= middle_site <= self._n_features - 2:
            raise TNValueError(
                f"`middle_site` should be in [0, {self._n_features - 2}], got {middle_site}"
            )
        cores, log_norm = sweep_canonical(
            self._padded_cores(), middle_site, renormalize=renormalize
        )
        centre = cores[middle_site]
        s = torch.linalg.svdvals(centre.reshape(-1, centre.shape[2]))
        s = s[s > 0]
        if renormalize:
            s = s / s.norm()
        p = s * s
        ent = -(p * p.log()).sum()
        self._rebuild(self._rescaled(cores, log_norm) if renormalize else cores)
        return (ent, log_norm.to(ent.dtype)) if renormalize else ent

    def norm(self, log_scale: bool = False) -> torch.Tensor:
        """``||psi||`` (or ``log ||psi||``); gradients flow to the tensors (spec §3.6).

        Differences from TensorKrowch: computed by a transfer-matrix sweep on the tensors,
        so no ``virtual_result_copy`` nodes are left attached; data nodes are still removed.
        """
        self.unset_data_nodes()
        cores = self._user_cores_rank3()
        env = None
        log_total = 0.0
        for core in cores:
            step = torch.einsum("aib,cid->acbd", core.conj(), core)
            env = step if env is None else torch.einsum("pqac,acbd->pqbd", env, step)
            if log_scale:
                nrm = env.norm()
                env = env / nrm
                log_total = log_total + nrm.log()
        value = torch.einsum("pqpq->", env).abs()
        if log_scale:
            return 0.5 * (log_total + value.log())
        return value.sqrt()

    def _user_cores_rank3(self) -> list[torch.Tensor]:
        cores = [node.tensor for node in self._mats_env]
        if self._boundary == "obc":
            left, right = self._left_node.tensor, self._right_node.tensor
            cores[0] = torch.einsum("l,ldr->dr", left, cores[0]).unsqueeze(0)
            cores[-1] = torch.einsum("ldr,r->ld", cores[-1], right).unsqueeze(-1)
        return cores

    def reduced_density(
        self, trace_sites: Sequence[int] = (), renormalize: bool = True
    ) -> torch.Tensor:
        """``rho[i_K, j_K] = sum_s conj(psi(i, s)) psi(j, s)`` over the kept sites K.

        As in TK, ``out_features`` becomes ``trace_sites`` and ``n_batches`` the number of
        kept sites. Differences from TensorKrowch: the result is exact (TK's
        ``renormalize=True`` result is off by an unknown positive factor).
        """
        trace = features_list(trace_sites, "trace_sites", self._n_features)
        if set(trace) != set(self._out_features):
            self.unset_data_nodes()
            self.out_features = trace
            self._n_batches = len(self._in_features)
        ts = self._user_cores_rank3()
        ts = [ts[0][0]] + ts[1:] if self._boundary == "obc" and len(ts) > 1 else ts
        if self._boundary == "obc":
            if len(ts) == 1:
                ts = [ts[0][0, :, 0]]
            else:
                ts[-1] = ts[-1][..., 0]
        if self._n_features == 1 and self._in_features:
            psi = ts[0]
            return torch.outer(psi, psi)
        return transfer_density(ts, self._boundary, self._in_features)

    @torch.no_grad()
    def canonicalize_univocal(self) -> None:
        """Bring the OBC MPS to the unique gauge of arXiv:2202.12319 (spec §3.10).

        Bond ``c`` becomes ``min(D_c, prod_{k<=c} d_k, prod_{k>c} d_k)``; the numerics
        are in :func:`torchtn.models._univocal.univocal_tensors`. The same node and
        data-node objects are kept (new parameters), as in TensorKrowch; boundary
        vectors become ``e_0``.

        Differences from TensorKrowch:
            * Transactional: the new cores are computed on tensors before the network
              is touched, so an error leaves the model unchanged. No node operation
              runs, so data nodes stay connected and ``auto_stack`` is not toggled.
            * A *numerically* singular ``C_c`` raises
              :class:`~torchtn.models._univocal.SingularGaugeError` (a ``LinAlgError``,
              as TK raised for exactly singular ones); TK inverted it and silently
              changed the state.

        Raises:
            ValueError: The boundary is not ``'obc'``, or some core is empty or not finite.
            SingularGaugeError: Some ``C_c`` cannot be inverted.
        """
        from torchtn.models._univocal import univocal_tensors

        if self._boundary != "obc":
            raise TNValueError(
                f"`canonicalize_univocal` can only be used if boundary is 'obc', "
                f"got {self._boundary!r}"
            )
        empty = [node.name for node in self._mats_env if node.tensor is None]
        if empty:
            raise TNValueError(f"Cannot canonicalize_univocal: nodes {empty} have no tensor")
        new = univocal_tensors(self.tensors)
        self.reset()
        for node, t in zip(self._mats_env[:-1], new[:-1], strict=True):
            node["right"].change_size(t.shape[-1])
        self.update_bond_dim()
        self.initialize(tensors=new, init_method=None)
