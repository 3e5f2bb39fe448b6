"""Tensor-train decompositions of dense tensors by sequential truncated SVDs (TT-SVD).

:func:`vec_to_mps` turns a (batched) tensor into MPS cores and :func:`mat_to_mpo` turns an
operator with interleaved ``(in, out)`` axes into MPO cores. Both return plain tensors in
the convention accepted by ``MPS(tensors=...)``, ``MPSData(tensors=...)`` and
``MPO(tensors=...)``.
"""

from __future__ import annotations

import torch

from torchtn._utils import prod
from torchtn.errors import TNTypeError, TNValueError
from torchtn.linalg import select_rank

__all__ = ["vec_to_mps", "mat_to_mpo"]


def _cut(
    m: torch.Tensor,
    rank: int | None,
    cum_percentage: float | None,
    cutoff: float | None,
    renormalize: bool,
    log_norm: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One TT-SVD cut of the (batched) matrices ``m``.

    The reduced SVD is truncated with the shared rank rule; with ``renormalize`` the
    singular values are normalised (:func:`_normalise`) and their log-norm added to
    ``log_norm``. Returns ``(U, S Vh, log_norm)``.
    """
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    r = select_rank(s, rank=rank, cum_percentage=cum_percentage, cutoff=cutoff)
    u, s, vh = u[..., :r], s[..., :r], vh[..., :r, :]
    if renormalize:
        s, log_s = _normalise(s)
        if log_s is not None:
            log_norm = log_s if log_norm is None else log_norm + log_s
    return u, s.to(vh.dtype).unsqueeze(-1) * vh, log_norm


def _normalise(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Divide each spectrum ``s[..., :]`` by its norm.

    Returns the normalised spectra and the log of the norms, or ``(s, None)`` when no
    norm is positive or some norm is infinite. Zero norms (all-zero batch elements) are
    left untouched instead of producing NaN.
    """
    norm = torch.linalg.vector_norm(s, dim=-1)
    # One host sync for both conditions.
    skip = bool(torch.isinf(norm).any() | ~(norm > 0).any())
    if skip:
        return s, None
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    return s / safe.unsqueeze(-1), safe.log()


def _spread_log_norm(
    cores: list[torch.Tensor], log_norm: torch.Tensor | None, n_batches: int
) -> list[torch.Tensor]:
    """Multiply every core by ``exp(log_norm / len(cores))`` (broadcast over batches).

    Without a norm to spread, the cores taken from ``U`` are cloned instead, so that
    in-place changes by the caller cannot corrupt the SVD's saved outputs.
    """
    if log_norm is None:
        return [c.clone() for c in cores[:-1]] + cores[-1:]
    factor = torch.exp(log_norm / len(cores))
    out = []
    for core in cores:
        extra = core.dim() - n_batches
        out.append(core * factor.reshape(factor.shape + (1,) * extra).to(core.dtype))
    return out


def vec_to_mps(
    vec: torch.Tensor,
    n_batches: int = 0,
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
    renormalize: bool = False,
) -> list[torch.Tensor]:
    """Decompose a tensor into MPS cores with sequential truncated SVDs.

    The first ``n_batches`` dimensions of ``vec`` are batch dimensions and the remaining
    ``(d_1, ..., d_N)`` are physical. For ``i = 1 .. N-1`` the remainder is reshaped to
    ``(batch..., r_{i-1} d_i, d_{i+1} ... d_N)`` and split with an SVD whose rank follows
    :func:`torchtn.linalg.select_rank` (the largest requirement over the batch wins); ``U``
    becomes core ``i`` and ``S Vh`` the next remainder.

    Args:
        vec: Tensor of shape ``(batch_1, ..., batch_n, d_1, ..., d_N)``.
        n_batches: Number of leading batch dimensions, ``0 <= n_batches <= vec.dim()``.
        rank: Largest bond dimension to keep.
        cum_percentage: Fraction of the singular-value sum to keep at each cut.
        cutoff: Singular values below this threshold are discarded.
        renormalize: Normalise the singular values at every cut and spread the
            accumulated norm evenly over the cores (the represented tensor is unchanged,
            but no core carries the whole scale). Batch elements whose spectrum is all
            zero are left as they are.

    Returns:
        The cores ``[(batch..., d_1, r_1), (batch..., r_1, d_2, r_2), ...,
        (batch..., r_{N-1}, d_N)]``. If ``N <= 1``, ``[vec]`` itself.

    Raises:
        TNTypeError: If ``vec`` is not a tensor or ``n_batches`` is not an integer.
        TNValueError: If ``n_batches`` is outside ``[0, vec.dim()]``.

    Examples:
        >>> v = torch.randn(2, 3, 4, dtype=torch.float64)
        >>> [c.shape for c in vec_to_mps(v)]
        [torch.Size([2, 2]), torch.Size([2, 3, 4]), torch.Size([4, 4])]
    """
    if not isinstance(vec, torch.Tensor):
        raise TNTypeError(f"`vec` should be a torch.Tensor, got {type(vec).__name__}")
    if isinstance(n_batches, bool) or not isinstance(n_batches, int):
        raise TNTypeError(f"`n_batches` should be an int, got {type(n_batches).__name__}")
    if not 0 <= n_batches <= vec.dim():
        raise TNValueError(
            f"`n_batches` should be between 0 and the rank of `vec` ({vec.dim()}), got {n_batches}"
        )
    batch_shape = tuple(vec.shape[:n_batches])
    phys = tuple(vec.shape[n_batches:])
    n_sites = len(phys)
    if n_sites <= 1:
        return [vec]

    cores: list[torch.Tensor] = []
    log_norm: torch.Tensor | None = None
    rest = vec
    r_prev = 1
    for i in range(n_sites - 1):
        rest = rest.reshape(batch_shape + (r_prev * phys[i], prod(phys[i + 1 :])))
        u, rest, log_norm = _cut(rest, rank, cum_percentage, cutoff, renormalize, log_norm)
        r = u.shape[-1]
        if i == 0:
            cores.append(u.reshape(batch_shape + (phys[0], r)))
        else:
            cores.append(u.reshape(batch_shape + (r_prev, phys[i], r)))
        r_prev = r
    cores.append(rest.reshape(batch_shape + (r_prev, phys[-1])))
    return _spread_log_norm(cores, log_norm, n_batches)


def mat_to_mpo(
    mat: torch.Tensor,
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
    renormalize: bool = False,
) -> list[torch.Tensor]:
    """Decompose an operator into MPO cores with sequential truncated SVDs.

    The axes of ``mat`` must be interleaved ``(in_1, out_1, in_2, out_2, ..., in_N,
    out_N)``; permute an ``(in..., out...)`` operator first. For each site the remainder
    is reshaped to ``(r_{i-1} in_i out_i, rest)``, split with an SVD truncated by
    :func:`torchtn.linalg.select_rank`, and ``U`` is permuted into MPO order.

    Args:
        mat: Tensor with an even number of dimensions (at least 2).
        rank: Largest bond dimension to keep.
        cum_percentage: Fraction of the singular-value sum to keep at each cut.
        cutoff: Singular values below this threshold are discarded.
        renormalize: Normalise the singular values at every cut and spread the
            accumulated norm evenly over the cores. An all-zero operator is returned
            unscaled (TensorKrowch crashes on it).

    Returns:
        The cores ``[(in_1, r_1, out_1), (r_1, in_2, r_2, out_2), ..., (r_{N-1}, in_N,
        out_N)]``, or ``[mat]`` for a 2-dimensional ``mat``.

    Raises:
        TNTypeError: If ``mat`` is not a tensor.
        TNValueError: If ``mat`` has an odd number of dimensions or none.

    Examples:
        >>> w = torch.randn(2, 3, 2, 3, dtype=torch.float64)
        >>> [c.shape for c in mat_to_mpo(w)]
        [torch.Size([2, 6, 3]), torch.Size([6, 2, 3])]
    """
    if not isinstance(mat, torch.Tensor):
        raise TNTypeError(f"`mat` should be a torch.Tensor, got {type(mat).__name__}")
    if mat.dim() == 0 or mat.dim() % 2:
        raise TNValueError(
            "`mat` should have an even, positive number of dimensions (in_1, out_1, ...), "
            f"got shape {tuple(mat.shape)}"
        )
    n_sites = mat.dim() // 2
    if n_sites == 1:
        return [mat]
    dims = tuple(mat.shape)

    cores: list[torch.Tensor] = []
    log_norm: torch.Tensor | None = None
    rest = mat
    r_prev = 1
    for i in range(n_sites - 1):
        d_in, d_out = dims[2 * i], dims[2 * i + 1]
        rest = rest.reshape(r_prev * d_in * d_out, prod(dims[2 * i + 2 :]))
        u, rest, log_norm = _cut(rest, rank, cum_percentage, cutoff, renormalize, log_norm)
        r = u.shape[-1]
        if i == 0:
            cores.append(u.reshape(d_in, d_out, r).permute(0, 2, 1))
        else:
            cores.append(u.reshape(r_prev, d_in, d_out, r).permute(0, 1, 3, 2))
        r_prev = r
    cores.append(rest.reshape(r_prev, dims[-2], dims[-1]))
    return _spread_log_norm(cores, log_norm, 0)
