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
from torchtn.models._validate import check_int, size_list
from torchtn.utils import random_unitary

__all__ = [
    "CORE_METHODS",
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
    "check_sequence",
    "check_tensors",
    "chain_dims",
    "tail_dims",
    "site_shapes",
    "zero_ends",
]

# ``init_method`` values drawn node by node (besides the generated 'unit' and 'canonical').
CORE_METHODS = ("zeros", "ones", "copy", "rand", "randn", "randn_eye", "empty")


def dims_list(value: Any, name: str, length: int) -> list[int]:
    """An int replicated ``length`` times, or ``length`` ints; every entry ``>= 1``."""
    return size_list(value, name, length)


def check_sequence(value: Any, name: str) -> None:
    """Check ``value`` is a list or tuple."""
    if not isinstance(value, (list, tuple)):
        raise TNTypeError(f"`{name}` should be list or tuple, got {type(value).__name__}")


def check_tensors(tensors: Any, nonempty: bool = False) -> None:
    """Check ``tensors`` is a list/tuple (non-empty if asked) of ``torch.Tensor``."""
    check_sequence(tensors, "tensors")
    if nonempty and not tensors:
        raise TNValueError("`tensors` should not be empty")
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TNTypeError(f"`tensors` elements should be torch.Tensor, got {type(t).__name__}")


def features_list(value: Any, name: str, n_features: int) -> list[int]:
    """Validate a list/tuple of site indices; return it sorted without duplicates."""
    check_sequence(value, name)
    for v in value:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TNTypeError(f"`{name}` elements should be int, got {type(v).__name__}")
        if not 0 <= v < n_features:
            raise TNValueError(f"`{name}` elements should be in [0, {n_features - 1}], got {v}")
    return sorted(set(value))


def chain_dims(
    n_features: Any, phys_dim: Any, bond_dim: Any, boundary: str
) -> tuple[list[int], list[int]]:
    """Check a chain's configuration; its physical dims and ``n-1`` (obc) / ``n`` bonds."""
    if boundary not in ("obc", "pbc"):
        raise TNValueError(f"`boundary` should be 'obc' or 'pbc', got {boundary!r}")
    check_int(n_features, "n_features", 1)
    phys = dims_list(phys_dim, "phys_dim", n_features)
    n_bonds = n_features - 1 if boundary == "obc" else n_features
    return phys, dims_list(bond_dim, "bond_dim", n_bonds)


def tail_dims(
    tensors: Sequence[torch.Tensor], boundary: str, phys: list[int], bonds: list[int], nb: int = 0
) -> tuple[str, list[int], list[int]]:
    """Complete ``phys``/``bonds`` (read from the first core) from ``tensors[1:]``.

    User-convention cores with ``nb`` leading batch axes: middle ones ``(D, d, D')``, the
    last ``(D, d)`` (obc) or ``(D, d, D0)`` with ``D0`` the first core's left bond (pbc).
    """
    first, last = tensors[0], tensors[-1]
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
                f"Last tensor's right dim {last.shape[-1]} should match "
                f"the first tensor's left dim {first.shape[-3]}"
            )
        phys.append(last.shape[-2])
        bonds.append(last.shape[-1])
    return boundary, phys, bonds


def site_shapes(phys: list[int], bonds: list[int], boundary: str) -> list[tuple[int, int, int]]:
    """Padded ``(left, d, right)`` core shapes (obc ends take the boundary bond)."""
    n = len(phys)
    if boundary == "obc":
        ext = [1, 1] if n == 1 else [bonds[0]] + bonds + [bonds[-1]]
        return [(ext[i], phys[i], ext[i + 1]) for i in range(n)]
    return [(bonds[i - 1], phys[i], bonds[i]) for i in range(n)]


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


def zero_boundary(tensor: torch.Tensor, side: str, right_axis: int = -1) -> torch.Tensor:
    """Zero every padded entry (left index != 0 or right index != 0), out of place.

    ``right_axis`` (negative) is the core's right bond axis and the left bond lies two
    axes before it: -1 for ``(..., left, d, right)`` cores, -2 for MPO cores
    ``(left, in, right, out)``.
    """
    tensor = tensor.clone()
    index = [slice(None)] * (2 - right_axis if side == "left" else -right_axis)
    index[0] = slice(1, None)
    tensor[(..., *index)] = 0
    return tensor


def zero_ends(
    tensor: torch.Tensor, site: int, n: int, boundary: str, right_axis: int = -1
) -> torch.Tensor:
    """:func:`zero_boundary` for the end cores of an obc chain of ``n > 1`` sites."""
    if boundary == "obc" and n > 1:
        if site == 0:
            return zero_boundary(tensor, "left", right_axis)
        if site == n - 1:
            return zero_boundary(tensor, "right", right_axis)
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
    from torchtn.linalg import check_truncation, qr, rq, truncated_svd

    check_truncation(rank, cum_percentage, cutoff)
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

    def split_pair(i: int, side: str) -> None:
        # Factor cores i, i+1 ("right": the centre moves right, i becomes a left isometry).
        a_, b_ = cores[i], cores[i + 1]
        l1, d1, _ = a_.shape
        _, d2, r2 = b_.shape
        m = torch.tensordot(a_, b_, ([2], [0])).reshape(l1 * d1, d2 * r2)
        u, v = factor(m, side, a_.shape[2])
        k = u.shape[-1]
        if renormalize:
            if side == "right":
                v = normalise(v)
            else:
                u = normalise(u)
        cores[i] = u.reshape(l1, d1, k)
        cores[i + 1] = v.reshape(k, d2, r2)

    for i in range(oc):
        split_pair(i, "right")
    for i in range(len(cores) - 2, oc - 1, -1):
        split_pair(i, "left")
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
