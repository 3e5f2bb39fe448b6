"""Shared 1-D (chain) machinery for the MPS family.

Pure tensor helpers: argument validation, the OBC padded-boundary embedding (spec §2.2)
and the generators behind the ``'unit'``, ``'canonical'`` and ``'randn_eye'`` init
methods. Nothing here touches nodes or networks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from torchtn.errors import TNTypeError, TNValueError
from torchtn.utils import random_unitary

__all__ = [
    "check_int",
    "dims_list",
    "features_list",
    "embed_boundary",
    "zero_boundary",
    "unit_tensors",
    "canonical_tensors",
    "add_eye",
    "float_kwargs",
    "sweep_canonical",
    "resize",
    "transfer_density",
    "ChainAnalysisMixin",
]


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """Check ``value`` is an int (not bool) and at least ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TNTypeError(f"`{name}` should be int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise TNValueError(f"`{name}` should be at least {minimum}, got {value}")
    return value


def dims_list(value: Any, name: str, length: int) -> list[int]:
    """An int replicated ``length`` times, or a sequence of ``length`` ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value] * length
    if isinstance(value, (list, tuple)):
        if len(value) != length:
            raise TNValueError(f"`{name}` should have {length} elements, got {len(value)}")
        for v in value:
            if not isinstance(v, int) or isinstance(v, bool):
                raise TNTypeError(f"`{name}` elements should be int, got {type(v).__name__}")
        return list(value)
    raise TNTypeError(f"`{name}` should be int, list or tuple, got {type(value).__name__}")


def features_list(value: Any, name: str, n_features: int) -> list[int]:
    """Validate a list/tuple of site indices; return it sorted without duplicates."""
    if not isinstance(value, (list, tuple)):
        raise TNTypeError(f"`{name}` should be list or tuple, got {type(value).__name__}")
    for v in value:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TNTypeError(f"`{name}` elements should be int, got {type(v).__name__}")
        if not 0 <= v < n_features:
            raise TNValueError(f"`{name}` elements should be in [0, {n_features - 1}], got {v}")
    return sorted(set(value))


def float_kwargs(kwargs: dict) -> dict:
    """Validate the ``mean``/``std``/``low``/``high`` init kwargs (Python floats)."""
    for key in ("mean", "std", "low", "high"):
        if key in kwargs and not isinstance(kwargs[key], float):
            raise TNTypeError(f"`{key}` should be float, got {type(kwargs[key]).__name__}")
    if "std" in kwargs and kwargs["std"] <= 0:
        raise TNValueError(f"`std` should be positive, got {kwargs['std']}")
    return kwargs


def embed_boundary(tensor: torch.Tensor, shape: Sequence[int], side: str) -> torch.Tensor:
    """Embed a user-convention boundary core into a zero tensor of the padded ``shape``.

    ``side='left'``: ``T[..., 0, :, :] = tensor`` (first core ``(d, D)``);
    ``side='right'``: ``T[..., 0] = tensor`` (last core ``(D, d)``).
    """
    out = torch.zeros(tuple(shape), device=tensor.device, dtype=tensor.dtype)
    if side == "left":
        out[..., 0, : tensor.shape[-2], : tensor.shape[-1]] = tensor
    else:
        out[..., : tensor.shape[-2], : tensor.shape[-1], 0] = tensor
    return out


def zero_boundary(tensor: torch.Tensor, side: str) -> torch.Tensor:
    """Zero every padded entry (left index != 0 or right index != 0), out of place."""
    tensor = tensor.clone()
    if side == "left":
        tensor[..., 1:, :, :] = 0
    else:
        tensor[..., 1:] = 0
    return tensor


def _crop_unitary(rows: int, cols: int, device: Any, dtype: Any) -> torch.Tensor:
    size = max(rows, cols)
    return random_unitary(size, device=device, dtype=dtype)[:rows, :cols]


def unit_site(
    left: int, d: int, right: int, device: Any, dtype: Any, conj: bool = False
) -> torch.Tensor:
    """Stack of ``d`` Haar unitaries of size ``max(left, right)`` cropped to ``(left, right)``."""
    size = max(left, right)
    mats = []
    for _ in range(d):
        u = random_unitary(size, device=device, dtype=dtype)
        if conj:
            u = u.conj().t()
        mats.append(u[:left, :right])
    return torch.stack(mats, dim=1)


def unit_tensors(
    phys: list[int], shapes: list[tuple], boundary: str, device: Any, dtype: Any
) -> list[torch.Tensor]:
    """'unit' init for an MPS: user-convention tensors built from Haar unitaries."""
    n = len(phys)
    out = []
    for i, (left, d, right) in enumerate(shapes):
        s1 = 1 if (boundary == "obc" and i == 0) else left
        s2 = 1 if (boundary == "obc" and i == n - 1) else right
        t = unit_site(s1, d, s2, device, dtype)
        out.append(_squeeze_obc(t, i, n, boundary))
    return out


def _squeeze_obc(t: torch.Tensor, i: int, n: int, boundary: str) -> torch.Tensor:
    if boundary != "obc":
        return t
    if n == 1:
        return t[0, :, 0]
    if i == 0:
        return t[0]
    if i == n - 1:
        return t[..., 0]
    return t


def right_iso(left: int, d: int, right: int, last: bool, device: Any, dtype: Any) -> torch.Tensor:
    """Right isometry ``(left, d·right)`` reshaped (obc last site: ``(left, d)``)."""
    if last:
        return _crop_unitary(left, d, device, dtype)
    return _crop_unitary(left, d * right, device, dtype).reshape(left, d, right)


def canonical_tensors(
    phys: list[int], shapes: list[tuple], boundary: str, device: Any, dtype: Any
) -> list[torch.Tensor]:
    """'canonical' init: left-canonical cores, centre at the last site, ``norm² ≈ ∏ d``."""
    n = len(phys)
    obc = boundary == "obc"
    out = []
    for i, (left, d, right) in enumerate(shapes):
        first = obc and i == 0
        last = obc and i == n - 1
        if obc and n == 1:
            t = _crop_unitary(d, 1, device, dtype)
        elif first:
            t = _crop_unitary(d, right, device, dtype)
        elif last:
            t = _crop_unitary(left, d, device, dtype)
        else:
            t = _crop_unitary(left * d, right, device, dtype).reshape(left, d, right)
        if i == n - 1:
            if obc and n == 1:
                t = t[:, 0]
            t = t / t.norm()
        out.append(t * math.sqrt(d))
    return out


def add_eye(t: torch.Tensor, phys_index: int | None = 0) -> torch.Tensor:
    """Add the rectangular identity on ``T[:, k, :]`` (``k=None``: every physical slice)."""
    eye = torch.eye(t.shape[0], t.shape[-1], device=t.device, dtype=t.dtype)
    t = t.clone()
    if phys_index is None:
        t = t + eye.unsqueeze(1)
    else:
        t[:, phys_index, :] += eye
    return t


# -- canonical forms (pure tensors, rank-3 padded cores) ------------------------------------
def sweep_canonical(
    cores: list[torch.Tensor],
    oc: int,
    mode: str = "svd",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
    renormalize: bool = False,
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Move the orthogonality centre to ``oc`` by two-site SVD/QR sweeps.

    ``cores`` are rank-3 ``(left, d, right)``. Sites left of ``oc`` become left
    isometries, sites right of it right isometries. Without ``rank`` each bond keeps at
    most its current size (SVD modes). Returns the new cores and ``log`` of the norm
    divided out (0 unless ``renormalize``); the inputs are not modified.
    """
    from torchtn.linalg import qr, rq, truncated_svd

    cores = list(cores)
    log_norm = torch.zeros((), dtype=torch.float64, device=cores[0].device)

    def factor(m: torch.Tensor, side: str, bond: int) -> tuple[torch.Tensor, torch.Tensor]:
        if mode == "qr":
            return qr(m) if side == "right" else rq(m)
        r = bond if rank is None else rank
        a, b, _ = truncated_svd(
            m,
            side=side,
            rank=r,
            cum_percentage=cum_percentage,
            cutoff=cutoff,
            random_phase=mode == "svdr",
        )
        return a, b

    def normalise(t: torch.Tensor) -> torch.Tensor:
        nonlocal log_norm
        norm = t.norm()
        if norm > 0:
            log_norm = log_norm + norm.log().to(log_norm.dtype)
            t = t / norm
        return t

    for i in range(oc):
        a_, b_ = cores[i], cores[i + 1]
        l1, d1, _ = a_.shape
        _, d2, r2 = b_.shape
        m = torch.tensordot(a_, b_, ([2], [0])).reshape(l1 * d1, d2 * r2)
        u, v = factor(m, "right", a_.shape[2])
        k = u.shape[-1]
        if renormalize:
            v = normalise(v)
        cores[i] = u.reshape(l1, d1, k)
        cores[i + 1] = v.reshape(k, d2, r2)
    for i in range(len(cores) - 1, oc, -1):
        a_, b_ = cores[i - 1], cores[i]
        l1, d1, _ = a_.shape
        _, d2, r2 = b_.shape
        m = torch.tensordot(a_, b_, ([2], [0])).reshape(l1 * d1, d2 * r2)
        u, v = factor(m, "left", a_.shape[2])
        k = u.shape[-1]
        if renormalize:
            u = normalise(u)
        cores[i - 1] = u.reshape(l1, d1, k)
        cores[i] = v.reshape(k, d2, r2)
    return cores, log_norm


def resize(t: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """Zero-pad or crop axis ``dim`` of ``t`` to ``size`` (keeping the first entries)."""
    cur = t.shape[dim]
    if cur == size:
        return t
    if cur > size:
        return t.narrow(dim, 0, size)
    pad_shape = list(t.shape)
    pad_shape[dim] = size - cur
    return torch.cat([t, t.new_zeros(pad_shape)], dim=dim)


def transfer_density(tensors: list[torch.Tensor], boundary: str, keep: list[int]) -> torch.Tensor:
    """``rho[i_K, j_K] = sum_s conj(psi(i, s)) psi(j, s)`` from user-convention cores."""
    n = len(tensors)
    cores = list(tensors)
    if boundary == "obc":
        if n == 1:
            cores = [cores[0].reshape(1, -1, 1)]
        else:
            cores[0] = cores[0].unsqueeze(0)
            cores[-1] = cores[-1].unsqueeze(-1)
    first = cores[0]
    eye = torch.eye(first.shape[0], dtype=first.dtype, device=first.device)
    # env axes: (kept conj..., kept..., a0', a0, a', a) with a0 the open left bond
    env = torch.einsum("xy,zw->xzyw", eye, eye)  # (a0', a0, a', a)
    n_kept = 0
    for i, core in enumerate(cores):
        if i in keep:
            env = torch.einsum("...pqab,aic,bjd->...pqicjd", env, core.conj(), core)
            # move the new i (conj) after the previous conj block and j after the kept block
            env = env.movedim(-4, n_kept).movedim(-2, 2 * n_kept + 1)
            n_kept += 1
        else:
            env = torch.einsum("...pqab,aic,bid->...pqcd", env, core.conj(), core)
    # close: a' == a0', a == a0
    return torch.einsum("...pqpq->...", env)


class ChainAnalysisMixin:
    """Canonical forms, entropy, norm and reduced densities of an MPS-like chain.

    Everything is computed on tensors first and written back at the end, so a failing
    call leaves the model unchanged (TK mutated the network while decomposing).
    """

    # -- canonical forms and analysis (computed on tensors, then written back) ---------------
    def _padded_cores(self) -> list[torch.Tensor]:
        """Cores with obc padded entries zeroed (boundary vectors are ``e_0``)."""
        cores = [node.tensor.detach() for node in self._mats_env]
        if self._boundary == "obc":
            cores[0] = zero_boundary(cores[0], "left")
            cores[-1] = zero_boundary(cores[-1], "right")
        return cores

    def _rebuild(self, cores: list[torch.Tensor]) -> None:
        """Replace every node by a new ParamNode holding ``cores`` (bonds may change)."""
        had_data = bool(self._data_nodes)
        self.reset()
        if had_data:
            self.unset_data_nodes()
        old = list(self._mats_env)
        if self._boundary == "obc":
            old += [self._left_node, self._right_node]
        ref = cores[0]
        for node in old:
            self.delete_node(node)
        n = self._n_features
        if self._boundary == "obc":
            self._bond_dim = [c.shape[2] for c in cores[:-1]]
            if n > 1:
                cores[0] = resize(cores[0], 0, self._bond_dim[0])
                cores[-1] = resize(cores[-1], 2, self._bond_dim[-1])
        else:
            self._bond_dim = [c.shape[2] for c in cores]
        self._make_nodes()
        for node, t in zip(self._mats_env, cores, strict=False):
            node.tensor = t
        if self._boundary == "obc":
            for node in (self._left_node, self._right_node):
                node.set_tensor(init_method="copy", device=ref.device, dtype=ref.dtype)
        if had_data:
            self.set_data_nodes()

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
        """
        oc = self._check_oc(oc)
        if mode not in ("svd", "svdr", "qr"):
            raise TNValueError(f"`mode` should be 'svd', 'svdr' or 'qr', got {mode!r}")
        cores, log_norm = sweep_canonical(
            self._padded_cores(), oc, mode, rank, cum_percentage, cutoff, renormalize
        )
        if renormalize:
            scale = torch.exp(log_norm / self._n_features).to(cores[0].dtype)
            cores = [c * scale for c in cores]
        self._rebuild(cores)

    def _check_oc(self, oc: int | None) -> int:
        n = self._n_features
        if oc is None:
            return n - 1
        check_int(oc, "oc")
        if not 0 <= oc < n:
            raise TNValueError(f"`oc` should be in [0, {n - 1}], got {oc}")
        return oc

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
        if renormalize:
            scale = torch.exp(log_norm / self._n_features).to(cores[0].dtype)
            cores = [c * scale for c in cores]
        self._rebuild(cores)
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
        if not isinstance(trace_sites, (list, tuple)):
            raise TNTypeError(
                f"`trace_sites` should be list or tuple, got {type(trace_sites).__name__}"
            )
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
