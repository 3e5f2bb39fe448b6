"""Tensor kernels of two-site sweeps: per-sample environments, the merged block's output
and the truncated split.

Cores are rank 3 ``(l, d, r)`` (an open chain with outer bonds of size 1). Every site
has a data vector per sample, ``(N, d)``, or None for the one open (output) site. An
environment is ``(N, o, bond)`` with ``o`` the size of the open output index when the
output site lies inside it (1 otherwise), stored with unit norm per sample beside the
log of the norm divided out, so nothing overflows on long chains.

Layer: imports only ``torch``.
"""

from __future__ import annotations

import torch

__all__ = ["grow_left", "grow_right", "block_output", "select_bond", "split_block"]


def _unit(env: torch.Tensor, log: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    norm = torch.linalg.vector_norm(env, dim=(-2, -1), keepdim=True)
    norm = norm.clamp_min(torch.finfo(env.dtype).tiny)
    return env / norm, log + norm.reshape(-1).log()


def grow_left(
    env: torch.Tensor, log: torch.Tensor, core: torch.Tensor, vec: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Absorb ``core`` (with its data ``vec``) into a left environment ``(N, o, l)``."""
    n, o, lb = env.shape
    _, d, r = core.shape
    t = env @ core.reshape(lb, d * r)  # (N, o, d r)
    if vec is None:  # the open site: its index becomes the env's o (o was 1)
        new = t.reshape(n, d, r)
    else:
        new = torch.einsum("nodr,nd->nor", t.reshape(n, o, d, r), vec)
    return _unit(new, log)


def grow_right(
    env: torch.Tensor, log: torch.Tensor, core: torch.Tensor, vec: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Absorb ``core`` (with its data ``vec``) into a right environment ``(N, o, r)``."""
    n, o, r = env.shape
    lb, d, _ = core.shape
    t = env @ core.reshape(lb * d, r).mT  # (N, o, l d)
    if vec is None:
        new = t.reshape(n, lb, d).mT
    else:
        new = torch.einsum("nold,nd->nol", t.reshape(n, o, lb, d), vec)
    return _unit(new, log)


def block_output(
    left: torch.Tensor,
    block: torch.Tensor,
    right: torch.Tensor,
    vec1: torch.Tensor | None,
    vec2: torch.Tensor | None,
) -> torch.Tensor:
    """``(b, o)``: the (unit-scaled) output of a merged block ``(l, d1, d2, r)`` between
    environments ``left (b, oL, l)`` and ``right (b, oR, r)``; ``o = oL * d_open * oR``
    with at most one factor above 1."""
    b, o, lb = left.shape
    _, d1, d2, r = block.shape
    if vec1 is None:
        t = (left @ block.reshape(lb, d1 * d2 * r)).reshape(b, d1, d2 * r)
    else:
        lv = (left.unsqueeze(-1) * vec1[:, None, None, :]).reshape(b, o, lb * d1)
        t = lv @ block.reshape(lb * d1, d2 * r)
    o = t.shape[1]
    if vec2 is None:
        t = t.reshape(b, d2, r)
    else:
        t = torch.einsum("noyr,ny->nor", t.reshape(b, o, d2, r), vec2)
    return torch.einsum("nor,npr->nop", t, right).reshape(b, -1)


def select_bond(
    s: torch.Tensor,
    max_bond: int | None,
    cutoff: float | None,
    cum_percentage: float | None,
    spectrum: str,
) -> int:
    """Number of singular values (sorted, decreasing) to keep; at least 1.

    ``max_bond`` caps it; ``cutoff`` drops ``s_k < cutoff * s_0`` (relative to the
    largest); ``cum_percentage`` keeps the fewest values whose ``s**2`` (``spectrum='s2'``)
    or ``s`` (``'s'``) sum to at least that fraction of the total.
    """
    k = s.shape[0]
    if max_bond is not None:
        k = min(k, max_bond)
    if cutoff is not None:
        k = min(k, int((s >= cutoff * s[0]).sum()))
    if cum_percentage is not None:
        w = s * s if spectrum == "s2" else s
        frac = w.cumsum(0) / w.sum().clamp_min(torch.finfo(s.dtype).tiny)
        k = min(k, int((frac < cum_percentage * (1 - 4 * torch.finfo(s.dtype).eps)).sum()) + 1)
    return max(k, 1)


def split_block(
    block: torch.Tensor, u: torch.Tensor, s: torch.Tensor, vh: torch.Tensor, k: int, right: bool
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The two cores of ``block = u diag(s) vh`` truncated to rank ``k``, the singular
    values going to the right core (``right``: the centre moves right) or to the left
    one; and the discarded weight ``sum_{j >= k} s_j^2 / sum s_j^2``."""
    lb, d1, d2, r = block.shape
    total = (s * s).sum()
    dropped = float(((s[k:] * s[k:]).sum() / total.clamp_min(torch.finfo(s.dtype).tiny)).item())
    u, s, vh = u[:, :k], s[:k], vh[:k]
    if right:
        a, b = u, s.unsqueeze(-1) * vh
    else:
        a, b = u * s, vh
    return a.reshape(lb, d1, k), b.reshape(k, d2, r), dropped
