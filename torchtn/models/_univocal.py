"""The univocal gauge of an open-boundary MPS (arXiv:2202.12319), on plain tensors.

Everything works on the user-visible OBC cores: ``A_0 (d_0, D_0)``, ``A_i (D_{i-1}, d_i,
D_i)``, ``A_{n-1} (D_{n-2}, d_{n-1})`` (a single site is ``(d,)``). For every cut ``c``
between sites ``c`` and ``c+1`` two projector matrices are read off the state itself:

* ``L_c`` ``(D_c', D_c)``: rows are left-partial contractions ``A_0 ... A_c`` at the first
  ``D_c'`` configurations of sites ``c, c-1, ..., j`` (``s_c`` most significant), every
  site left of ``j`` fixed to physical index 0; ``j`` is the first site, walking left
  from ``c``, at which the product of physical dims reaches ``D_c'``.
* ``R_c`` ``(D_c', D_c)``: the same with right-partial contractions ``A_{c+1} ... A_{n-1}``
  over sites ``c+1, ..., j`` (``s_{c+1}`` most significant), sites right of ``j`` fixed to 0.

With ``C_c = L_c R_c^T`` and ``X_c = R_c^T C_c^{-1}`` the new cores are
``A'_i = L_{i-1} A_i X_i``. Entries of ``L_{i-1} A_i R_i^T`` are amplitudes of the state,
so the result does not depend on the gauge of the input cores, and ``X_c L_c`` is a
projector that fixes every left-partial vector, so the state is unchanged (up to the
rounding amplified by ``C_c^{-1}``).

Differences from TensorKrowch: a numerically singular ``C_c`` raises
:class:`SingularGaugeError`. TK inverted it anyway unless it was exactly singular, which
silently changes the state (e.g. a random MPS with bonds ``[4, 5, 7, 3, 2]`` on dims
``[2, 3, 2, 2, 3, 2]``: bond 2 can carry rank 6 only, ``C_2`` has condition number ~1e17
and TK's result differs from the input state by 200%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from torchtn.errors import TNError, TNValueError

__all__ = ["SingularGaugeError", "univocal_bond_dims", "univocal_tensors"]


class SingularGaugeError(TNError, torch.linalg.LinAlgError):
    """A matrix ``C_c = L_c R_c^T`` of the univocal gauge is singular.

    Also a :class:`torch.linalg.LinAlgError` (a ``RuntimeError``), which is what
    TensorKrowch raised from ``torch.linalg.inv`` in the same situation.
    """


_MSG_SINGULAR = (
    "Cannot canonicalize_univocal: C_{c} = L_{c} R_{c}^T ({rows}x{rows}, cut between sites "
    "{c} and {c1}) is numerically singular, so the gauge is not defined and inverting it "
    "would change the state. Either the state's Schmidt rank across that cut is below "
    "{rows} (e.g. a bond larger than its neighbours can feed: D_c > D_(c-1)*d_c or "
    "D_c > d_(c+1)*D_(c+1)), or its amplitudes vanish at the configurations the gauge "
    "reads (e.g. 'zeros'/'copy' cores). The model was left unchanged."
)


def univocal_bond_dims(phys_dim: Sequence[int], bond_dim: Sequence[int]) -> list[int]:
    """``D_c' = min(D_c, prod_{k<=c} d_k, prod_{k>c} d_k)`` for every OBC cut ``c``."""
    return [
        min(bond, math.prod(phys_dim[: c + 1]), math.prod(phys_dim[c + 1 :]))
        for c, bond in enumerate(bond_dim)
    ]


def _rank3(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """User-convention OBC cores as rank-3 ``(left, d, right)`` with unit boundary bonds."""
    cores = [t.detach() for t in tensors]
    if len(cores) == 1:
        return [cores[0].reshape(1, -1, 1)]
    cores[0] = cores[0].unsqueeze(0)
    cores[-1] = cores[-1].unsqueeze(-1)
    return cores


def _left_projector(cores: list[torch.Tensor], c: int, rows: int) -> torch.Tensor:
    """``L_c`` ``(rows, D_c)`` from the rank-3 ``cores`` (see module docstring)."""
    prod, j = 1, c
    while True:
        prod *= cores[j].shape[1]
        if prod >= rows or j == 0:
            break
        j -= 1
    env = cores[0].new_ones(1)  # sites left of j at physical index 0
    for k in range(j):
        env = env @ cores[k][:, 0, :]
    block = torch.tensordot(env, cores[j], ([0], [0]))  # (d_j, D_j)
    for k in range(j + 1, c + 1):
        block = torch.tensordot(block, cores[k], ([-1], [0]))  # (d_j, ..., d_k, D_k)
    n_phys = c - j + 1
    block = block.permute(*range(n_phys - 1, -1, -1), n_phys)  # s_c most significant
    return block.reshape(-1, block.shape[-1])[:rows]


def _right_projector(cores: list[torch.Tensor], c: int, rows: int) -> torch.Tensor:
    """``R_c`` ``(rows, D_c)`` from the rank-3 ``cores`` (see module docstring)."""
    n = len(cores)
    prod, j = 1, c + 1
    while True:
        prod *= cores[j].shape[1]
        if prod >= rows or j == n - 1:
            break
        j += 1
    env = cores[-1].new_ones(1)  # sites right of j at physical index 0
    for k in range(n - 1, j, -1):
        env = cores[k][:, 0, :] @ env
    block = torch.tensordot(cores[j], env, ([2], [0]))  # (D_{j-1}, d_j)
    for k in range(j - 1, c, -1):
        block = torch.tensordot(cores[k], block, ([2], [0]))  # (D_{k-1}, d_k, ..., d_j)
    block = block.movedim(0, -1)  # s_{c+1} most significant
    return block.reshape(-1, block.shape[-1])[:rows]


def univocal_tensors(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The cores of the same OBC state in the univocal gauge (spec §3.10).

    Args:
        tensors: User-convention OBC cores (first ``(d_0, D_0)``, middle
            ``(D_{i-1}, d_i, D_i)``, last ``(D_{n-2}, d_{n-1})``; one site ``(d,)``).

    Returns:
        New cores in the same convention, bond ``c`` of size
        :func:`univocal_bond_dims`. A single site is returned unchanged (a copy).
        The inputs are not modified.

    Raises:
        ValueError: Some input core has inf or nan entries.
        SingularGaugeError: Some ``C_c`` is numerically singular (smallest singular
            value ``<= D_c' * eps * largest``), or the new cores overflow.
    """
    for i, t in enumerate(tensors):
        if not torch.isfinite(t).all():
            raise TNValueError(f"Cannot canonicalize_univocal: core {i} has inf or nan entries")
    if len(tensors) == 1:
        return [tensors[0].detach().clone()]
    cores = _rank3(tensors)
    n = len(cores)
    phys = [core.shape[1] for core in cores]
    bonds = univocal_bond_dims(phys, [core.shape[2] for core in cores[:-1]])
    lefts, xs = [], []
    for c, rows in enumerate(bonds):
        left = _left_projector(cores, c, rows)
        right = _right_projector(cores, c, rows)
        gram = left @ right.T
        inv, info = torch.linalg.inv_ex(gram)
        sv = torch.linalg.svdvals(gram)
        tol = sv[0] * rows * torch.finfo(gram.dtype).eps
        if info.item() != 0 or not sv[-1] > tol:
            raise SingularGaugeError(_MSG_SINGULAR.format(c=c, c1=c + 1, rows=rows))
        lefts.append(left)
        xs.append(right.T @ inv)
    new = []
    for i, core in enumerate(cores):
        if i > 0:
            core = torch.tensordot(lefts[i - 1], core, ([1], [0]))
        if i < n - 1:
            core = torch.tensordot(core, xs[i], ([2], [0]))
        new.append(core)
    for i, core in enumerate(new):
        if not torch.isfinite(core).all():
            raise SingularGaugeError(
                f"Cannot canonicalize_univocal: the new core {i} is not finite (a C_c is too "
                "ill-conditioned to invert)"
            )
    new[0] = new[0][0]
    new[-1] = new[-1][..., 0]
    return new
