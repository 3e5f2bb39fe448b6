"""Tensor kernels for matrix decompositions: rank selection, truncated SVD, QR and RQ.

Every function works on batched matrices ``(..., M, N)`` and is differentiable wherever
the underlying ``torch.linalg`` routine is. These kernels know nothing about nodes or
edges; the graph-level ``split``/``svd``/``qr``/``rq`` operations, MPS canonicalisation
and the tensor-train decompositions all reduce to them.

Layer 1: imports only ``torch`` and ``torchtn.errors``.
"""

from __future__ import annotations

import torch

from torchtn.errors import TNTypeError, TNValueError

__all__ = [
    "SIDES",
    "MODES",
    "svd",
    "select_rank",
    "check_truncation",
    "truncated_svd",
    "qr",
    "rq",
    "decompose",
]

#: Allowed values of the ``side`` argument of the SVD family.
SIDES: tuple[str, ...] = ("left", "right")
#: Allowed values of the ``mode`` argument of :func:`decompose`.
MODES: tuple[str, ...] = ("svd", "svdr", "qr", "rq")

# Added to the total of the singular values before computing cumulative fractions, so
# an all-zero spectrum gives fractions of 0 instead of NaN (and therefore full rank).
_CUM_EPS = 1e-10


class _BroadenedSVD(torch.autograd.Function):
    """Reduced SVD of real matrices whose backward stays finite on degenerate spectra.

    The SVD gradient divides by ``s_j^2 - s_i^2`` and by ``s_i``; equal or zero
    singular values (common after truncation: discarded values that are all ~0) make
    torch's own backward return NaN even when the loss does not depend on the ambiguous
    vectors. Here ``1/x`` is replaced by ``x / (x^2 + eps)`` (Lorentzian broadening),
    with ``eps`` the dtype's machine epsilon times the largest ``s^2`` (squared again
    for the ``s^2`` differences): exact wherever the spectrum is non-degenerate at that
    scale, finite everywhere.
    """

    @staticmethod
    def forward(ctx, m: torch.Tensor):  # type: ignore[override]
        u, s, vh = torch.linalg.svd(m, full_matrices=False)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):  # type: ignore[override]
        u, s, vh = ctx.saved_tensors
        v = vh.mT
        eps, tiny = torch.finfo(s.dtype).eps, torch.finfo(s.dtype).tiny
        scale = s.amax(dim=-1, keepdim=True)
        s2 = s * s
        diff = s2.unsqueeze(-2) - s2.unsqueeze(-1)  # [i, j] = s_j^2 - s_i^2
        # Floors: on an all-zero (or subnormal) spectrum the broadenings would underflow
        # to 0 and give 0/0; with them every term is an exact 0 there.
        e2 = ((eps * scale.unsqueeze(-1) ** 2) ** 2).clamp_min(tiny)
        f = diff / (diff * diff + e2)
        inv_s = s / (s2 + (eps * scale**2).clamp_min(tiny))
        inner = torch.zeros_like(diff)
        if gs is not None:
            inner = inner + torch.diag_embed(gs)
        term_u = term_v = None
        if gu is not None:
            j = u.mT @ gu
            inner = inner + (f * (j - j.mT)) * s.unsqueeze(-2)
            if u.shape[-2] > s.shape[-1]:
                term_u = ((gu - u @ j) * inv_s.unsqueeze(-2)) @ vh
        if gvh is not None:
            gv = gvh.mT
            k = v.mT @ gv
            inner = inner + s.unsqueeze(-1) * (f * (k - k.mT))
            if v.shape[-2] > s.shape[-1]:
                term_v = u @ ((gv - v @ k) * inv_s.unsqueeze(-2)).mT
        grad = u @ inner @ vh
        if term_u is not None:
            grad = grad + term_u
        if term_v is not None:
            grad = grad + term_v
        return grad


def svd(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reduced SVD ``m = U diag(S) Vh`` with a backward that is finite on degenerate spectra.

    Real matrices that need a gradient use a broadened backward (see
    :class:`_BroadenedSVD`); anything else calls ``torch.linalg.svd`` directly. The
    forward values are torch's.

    Examples:
        >>> m = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
        >>> u, s, vh = svd(m)
        >>> (u[:, :1] * s[:1] @ vh[:1]).sum().backward()
        >>> bool(torch.isfinite(m.grad).all())
        True
    """
    if m.requires_grad and torch.is_grad_enabled() and not m.is_complex():
        return _BroadenedSVD.apply(m)
    return torch.linalg.svd(m, full_matrices=False)


def _as_number(value: object, name: str, kind: type) -> int | float:
    """Convert ``value`` with ``kind`` (``int`` or ``float``) or raise ``TNTypeError``."""
    if not isinstance(value, (bool, str)):
        try:
            return kind(value)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            pass
    raise TNTypeError(f"`{name}` should be a real number, got {value!r} ({type(value).__name__})")


def _check_matrix(m: object, name: str = "m") -> torch.Tensor:
    """Validate that ``m`` is a tensor with at least two dimensions."""
    if not isinstance(m, torch.Tensor):
        raise TNTypeError(f"`{name}` should be a torch.Tensor, got {type(m).__name__}")
    if m.dim() < 2:
        raise TNValueError(
            f"`{name}` should have at least 2 dimensions (..., M, N), got shape {tuple(m.shape)}"
        )
    return m


def select_rank(
    s: torch.Tensor,
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> int:
    """Choose how many singular values to keep.

    Every given criterion proposes a rank and the smallest proposal wins, so all the
    constraints hold at once. With no criterion the full rank ``k = s.shape[-1]`` is kept.

    * ``rank``: ``min(max(1, int(rank)), k)``.
    * ``cum_percentage`` ``c``: with ``frac = cumsum(s) / (sum(s) + 1e-10)``, count the
      positions where ``frac < c`` holds for *any* matrix of the batch; the proposal is
      ``max(1, count + 1)``.
    * ``cutoff`` ``t``: count the positions where ``s >= t`` for any matrix of the batch;
      the proposal is ``max(1, count)``.

    At most one device-to-host transfer happens (none when only ``rank`` is given).

    Args:
        s: Singular values, shape ``(..., k)``, sorted in decreasing order along the last
            dimension. Leading dimensions are batch dimensions.
        rank: Largest number of singular values to keep.
        cum_percentage: Fraction of the total singular-value sum to keep, in ``[0, 1]``.
        cutoff: Singular values below this threshold are discarded.

    Returns:
        The number of singular values to keep: ``1 <= r <= k``, or 0 when ``k == 0``.

    Raises:
        TNTypeError: If ``s`` is not a tensor or an argument is not a real number.
        TNValueError: If ``s`` has no dimensions.

    Examples:
        >>> s = torch.tensor([10.0, 5.0, 3.0, 1.0, 1.0])
        >>> select_rank(s, cum_percentage=0.9)
        3
        >>> select_rank(s, rank=4, cutoff=3.0)
        3
    """
    if not isinstance(s, torch.Tensor):
        raise TNTypeError(f"`s` should be a torch.Tensor, got {type(s).__name__}")
    if s.dim() == 0:
        raise TNValueError("`s` should have shape (..., k), got a 0-d tensor")
    k = s.shape[-1]
    if k == 0:
        return 0
    best = k
    if rank is not None:
        best = min(max(1, _as_number(rank, "rank", int)), k)

    counts = []
    if cum_percentage is not None:
        cum_percentage = _as_number(cum_percentage, "cum_percentage", float)
        frac = s.cumsum(dim=-1) / (s.sum(dim=-1, keepdim=True) + _CUM_EPS)
        hit = (frac < cum_percentage).reshape(-1, k).any(dim=0)
        counts.append(hit.sum())
    if cutoff is not None:
        cutoff = _as_number(cutoff, "cutoff", float)
        hit = (s >= cutoff).reshape(-1, k).any(dim=0)
        counts.append(hit.sum())
    if not counts:
        return best

    # A single host transfer for both criteria.
    values = torch.stack(counts).tolist()
    if cum_percentage is not None:
        best = min(best, max(1, values.pop(0) + 1))
    if cutoff is not None:
        best = min(best, max(1, values.pop(0)))
    return best


def check_truncation(
    rank: object = None, cum_percentage: object = None, cutoff: object = None
) -> None:
    """Strict checks of the truncation arguments of model-level decompositions.

    :func:`select_rank` follows TensorKrowch's lenient rule (``rank`` clamped to at least
    1, any number accepted); model methods such as ``canonicalize`` call this first, so
    values that can only collapse the model or do nothing are rejected instead:

    * ``rank``: an int ``>= 1`` (``0`` and negative ranks collapsed every bond to 1);
    * ``cum_percentage``: a real number in ``(0, 1]`` (``0`` kept one singular value,
      above 1 kept everything);
    * ``cutoff``: a real number ``>= 0``.

    ``None`` means "not given" for each.

    Raises:
        TNTypeError: An argument of the wrong type (e.g. a float ``rank``, a string).
        TNValueError: An argument out of its range.
    """
    if rank is not None:
        if not isinstance(rank, int) or isinstance(rank, bool):
            raise TNTypeError(f"`rank` should be int, got {rank!r} ({type(rank).__name__})")
        if rank < 1:
            raise TNValueError(f"`rank` should be at least 1, got {rank}")
    if cum_percentage is not None:
        c = _as_number(cum_percentage, "cum_percentage", float)
        if not 0 < c <= 1:
            raise TNValueError(f"`cum_percentage` should be in (0, 1], got {cum_percentage!r}")
    if cutoff is not None:
        t = _as_number(cutoff, "cutoff", float)
        if not t >= 0:  # also rejects NaN
            raise TNValueError(f"`cutoff` should be >= 0, got {cutoff!r}")


def _check_side(side: object) -> str:
    if side not in SIDES:
        raise TNValueError(f"`side` can only be one of {SIDES}, got {side!r}")
    return side  # type: ignore[return-value]


def truncated_svd(
    m: torch.Tensor,
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
    random_phase: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Factor batched matrices as ``a @ b`` with a truncated SVD.

    ``U, S, Vh = svd(m)`` (reduced), the rank ``r`` is chosen by :func:`select_rank`
    (over the whole batch) and the singular values are absorbed into one factor:
    ``side='left'`` gives ``a = U S`` and ``b = Vh``; ``side='right'`` gives ``a = U`` and
    ``b = S Vh``. So ``a @ b`` is the best rank-``r`` approximation of every matrix.

    With ``random_phase=True`` (the ``svdr`` mode) each kept singular pair is multiplied
    by a random phase ``p = sgn(randn)``: ``±1`` for real dtypes, a random unit complex
    number for complex ones. ``U`` is multiplied by ``p`` and ``Vh`` by ``conj(p)``, so
    ``a @ b`` is unchanged. (TensorKrowch multiplies ``Vh`` by ``p`` itself, which breaks
    the reconstruction of complex matrices; real results are identical.)

    Args:
        m: Matrices of shape ``(..., M, N)``.
        side: ``'left'`` or ``'right'``: which factor receives the singular values.
        rank: Largest rank to keep.
        cum_percentage: Fraction of the singular-value sum to keep.
        cutoff: Singular values below this threshold are dropped.
        random_phase: Multiply the singular vectors by random phases.

    Returns:
        ``(a, b, r)`` with ``a`` of shape ``(..., M, r)``, ``b`` of shape ``(..., r, N)``
        and the chosen rank ``r``.

    Raises:
        TNTypeError: If ``m`` is not a tensor.
        TNValueError: If ``m`` has fewer than 2 dimensions or ``side`` is not allowed.

    Examples:
        >>> m = torch.randn(3, 6, 4, dtype=torch.float64)
        >>> a, b, r = truncated_svd(m, rank=2)
        >>> a.shape, b.shape, r
        (torch.Size([3, 6, 2]), torch.Size([3, 2, 4]), 2)
    """
    _check_side(side)
    _check_matrix(m)
    u, s, vh = svd(m)
    r = select_rank(s, rank=rank, cum_percentage=cum_percentage, cutoff=cutoff)
    if r < s.shape[-1]:
        u = u[..., :r]
        s = s[..., :r]
        vh = vh[..., :r, :]
    if u.is_complex():
        s = s.to(u.dtype)
    if random_phase:
        phase = torch.sgn(torch.randn_like(s))
        u = u * phase.unsqueeze(-2)
        vh = phase.conj().unsqueeze(-1) * vh
    if side == "left":
        return u * s.unsqueeze(-2), vh, r
    return u, s.unsqueeze(-1) * vh, r


def qr(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reduced QR decomposition of batched matrices.

    Args:
        m: Matrices of shape ``(..., M, N)``.

    Returns:
        ``(Q, R)`` with ``Q`` of shape ``(..., M, K)`` (orthonormal columns), ``R`` of
        shape ``(..., K, N)`` (upper triangular), ``K = min(M, N)`` and ``Q @ R == m``.

    Raises:
        TNTypeError: If ``m`` is not a tensor.
        TNValueError: If ``m`` has fewer than 2 dimensions.
    """
    _check_matrix(m)
    q, r = torch.linalg.qr(m, mode="reduced")
    return q, r


def rq(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reduced RQ decomposition of batched matrices, computed from the QR of ``m^T``.

    Args:
        m: Matrices of shape ``(..., M, N)``.

    Returns:
        ``(R, Q)`` with ``R`` of shape ``(..., M, K)`` (lower triangular), ``Q`` of shape
        ``(..., K, N)`` with orthonormal rows, ``K = min(M, N)`` and ``R @ Q == m``.

    Raises:
        TNTypeError: If ``m`` is not a tensor.
        TNValueError: If ``m`` has fewer than 2 dimensions.
    """
    _check_matrix(m)
    q, r = torch.linalg.qr(m.mT, mode="reduced")
    return r.mT, q.mT


def decompose(
    m: torch.Tensor,
    mode: str = "svd",
    side: str = "left",
    rank: int | None = None,
    cum_percentage: float | None = None,
    cutoff: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Factor batched matrices as ``a @ b`` with the decomposition named by ``mode``.

    ``'svd'`` and ``'svdr'`` call :func:`truncated_svd` (``side`` and the rank arguments
    apply, ``'svdr'`` adds random phases); ``'qr'`` returns ``(Q, R)`` and ``'rq'``
    returns ``(R, Q)``, both of rank ``min(M, N)`` and ignoring ``side`` and the rank
    arguments.

    Args:
        m: Matrices of shape ``(..., M, N)``.
        mode: One of ``'svd'``, ``'svdr'``, ``'qr'``, ``'rq'``.
        side: ``'left'`` or ``'right'`` (checked only for the SVD modes).
        rank: Largest rank to keep (SVD modes).
        cum_percentage: Fraction of the singular-value sum to keep (SVD modes).
        cutoff: Singular values below this threshold are dropped (SVD modes).

    Returns:
        ``(a, b, r)`` with ``a @ b`` approximating ``m`` and ``r`` the size of the new
        dimension.

    Raises:
        TNTypeError: If ``m`` is not a tensor.
        TNValueError: If ``mode`` or ``side`` is not allowed or ``m`` has fewer than 2
            dimensions.
    """
    if mode == "svd" or mode == "svdr":
        return truncated_svd(
            m,
            side=side,
            rank=rank,
            cum_percentage=cum_percentage,
            cutoff=cutoff,
            random_phase=mode == "svdr",
        )
    if mode == "qr":
        a, b = qr(m)
    elif mode == "rq":
        a, b = rq(m)
    else:
        raise TNValueError(f"`mode` can only be one of {MODES}, got {mode!r}")
    return a, b, a.shape[-1]
