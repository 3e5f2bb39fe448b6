"""Embeddings: feature maps from raw data to the vectors a tensor network reads.

Every function takes ``data`` of shape ``(batch..., n_features)`` (any number of
leading axes) and returns a tensor with one new axis holding the embedding of
each value. The new axis is placed at ``axis`` with :func:`torch.stack`
semantics: ``axis=-1`` (default) appends it, giving ``(batch..., n_features,
dim)``, and any ``axis`` in ``[-(data.dim() + 1), data.dim()]`` is accepted.

Outputs keep the floating dtype and device of ``data`` (integer inputs are
promoted by the usual torch rules), except :func:`basis`, which returns int64.

Example:
    >>> import torch
    >>> from torchtn import embeddings
    >>> embeddings.unit(torch.tensor([[0.0, 1 / 3]], dtype=torch.float64)).shape
    torch.Size([1, 2, 2])
"""

from __future__ import annotations

import math
import operator
from math import pi, sqrt

import torch

from torchtn.errors import TNIndexError, TNTypeError, TNValueError

__all__ = ["unit", "add_ones", "poly", "discretize", "basis", "fourier"]


def binomial_coeffs(n: int, k: int) -> int:
    """Binomial coefficient ``C(n, k)`` (kept as a module global, as in TensorKrowch).

    Args:
        n: Size of the set, ``n >= 0``.
        k: Size of the subsets, ``0 <= k <= n``.

    Returns:
        The number of ``k``-element subsets of an ``n``-element set.

    Raises:
        TNValueError: If ``n < 0`` or ``k`` is outside ``[0, n]``.
    """
    if n < 0 or k < 0 or k > n:
        raise TNValueError(f"binomial_coeffs needs 0 <= k <= n, got n={n}, k={k}")
    return math.comb(n, k)


# ------------------------------------------------------------------ validation


def _check_data(data: object) -> None:
    if not isinstance(data, torch.Tensor):
        raise TNTypeError(f"`data` should be a torch.Tensor, got {type(data).__name__}")


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool):
        raise TNTypeError(f"`{name}` should be an int, got bool ({value})")
    try:
        value = operator.index(value)
    except TypeError:
        raise TNTypeError(
            f"`{name}` should be an int, got {type(value).__name__} ({value!r})"
        ) from None
    if value < minimum:
        raise TNValueError(f"`{name}` should be an int >= {minimum}, got {value}")
    return value


def _check_axis(axis: object, data: torch.Tensor) -> int:
    """Validate ``axis`` for an output of rank ``data.dim() + 1``; return it as an int."""
    rank = data.dim() + 1
    if isinstance(axis, bool):
        raise TNTypeError(f"`axis` should be an int, got bool ({axis})")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TNTypeError(
            f"`axis` should be an int, got {type(axis).__name__} ({axis!r})"
        ) from None
    if not -rank <= axis < rank:
        raise TNIndexError(
            f"`axis` should be in [{-rank}, {rank - 1}] for data of shape "
            f"{tuple(data.shape)}, got {axis}"
        )
    return axis


def _place(out: torch.Tensor, axis: int) -> torch.Tensor:
    """Move the trailing embedding axis to ``axis`` and return a contiguous tensor.

    Contiguity matches :func:`torch.stack`, which TensorKrowch used, so code that
    calls ``.view`` on the result keeps working.
    """
    if axis == -1 or axis == out.dim() - 1:
        return out
    return out.movedim(-1, axis).contiguous()


def _float_dtype(data: torch.Tensor) -> torch.dtype:
    if data.is_floating_point() or data.is_complex():
        return data.dtype
    return torch.get_default_dtype()


# ------------------------------------------------------------------ embeddings


def unit(data: torch.Tensor, dim: int = 2, axis: int = -1) -> torch.Tensor:
    r"""Trigonometric ("local feature map") embedding of Stoudenmire and Schwab.

    Component ``j = 1..dim`` of the embedding of a value ``x`` is

    .. math::
        \sqrt{\binom{dim-1}{j-1}} \cos^{dim-j}(\pi x / 2) \sin^{j-1}(\pi x / 2),

    so ``dim=2`` gives ``[cos(pi x / 2), sin(pi x / 2)]`` and ``dim=1`` gives ``[1]``.
    For ``x`` in ``[0, 1]`` every embedded vector has unit norm.

    Args:
        data: Tensor of shape ``(batch..., n_features)``.
        dim: Size of the embedding, ``>= 1``.
        axis: Position of the new axis in the output.

    Returns:
        Tensor with the embedding axis (size ``dim``) inserted at ``axis``.

    Raises:
        TNTypeError: If ``data`` is not a tensor or ``dim``/``axis`` are not ints.
        TNValueError: If ``dim < 1``.
        TNIndexError: If ``axis`` is out of range.

    Example:
        >>> unit(torch.tensor([0.0, 0.5]), dim=3).round(decimals=4)
        tensor([[1.0000, 0.0000, 0.0000],
                [0.5000, 0.7071, 0.5000]])
    """
    _check_data(data)
    dim = _check_int("dim", dim, 1)
    axis = _check_axis(axis, data)
    half = data * (pi / 2)
    cos, sin = half.cos(), half.sin()
    if dim == 2:
        return torch.stack([cos, sin], dim=axis)
    # General dim: one broadcast pow per factor instead of 3 * dim small kernels.
    exps = torch.arange(dim, device=data.device)
    coefs = torch.tensor(
        [sqrt(binomial_coeffs(dim - 1, j)) for j in range(dim)],
        dtype=cos.dtype,
        device=data.device,
    )
    out = cos.unsqueeze(-1).pow(exps.flip(0)) * sin.unsqueeze(-1).pow(exps) * coefs
    return _place(out, axis)


def add_ones(data: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Embed each value ``x`` as ``[1, x]``.

    Args:
        data: Tensor of shape ``(batch..., n_features)``.
        axis: Position of the new axis (size 2) in the output.

    Returns:
        Tensor with the embedding axis inserted at ``axis``, same dtype as ``data``.

    Raises:
        TNTypeError: If ``data`` is not a tensor or ``axis`` is not an int.
        TNIndexError: If ``axis`` is out of range.

    Example:
        >>> add_ones(torch.tensor([2.0, 3.0]))
        tensor([[1., 2.],
                [1., 3.]])
    """
    _check_data(data)
    axis = _check_axis(axis, data)
    return torch.stack([torch.ones_like(data), data], dim=axis)


def poly(data: torch.Tensor, degree: int = 2, axis: int = -1) -> torch.Tensor:
    """Polynomial embedding ``[x^0, x^1, ..., x^degree]`` (``x^0 = 1``, also for ``x = 0``).

    Args:
        data: Tensor of shape ``(batch..., n_features)``.
        degree: Highest power, ``>= 0``; the embedding has ``degree + 1`` components.
        axis: Position of the new axis in the output.

    Returns:
        Tensor with the embedding axis inserted at ``axis``, same dtype as ``data``.

    Raises:
        TNTypeError: If ``data`` is not a tensor or ``degree``/``axis`` are not ints.
        TNValueError: If ``degree < 0``.
        TNIndexError: If ``axis`` is out of range.

    Example:
        >>> poly(torch.tensor([0.0, 2.0]), degree=3)
        tensor([[1., 0., 0., 0.],
                [1., 2., 4., 8.]])
    """
    _check_data(data)
    degree = _check_int("degree", degree, 0)
    axis = _check_axis(axis, data)
    exps = torch.arange(degree + 1, device=data.device)
    return _place(data.unsqueeze(-1).pow(exps), axis)


def discretize(data: torch.Tensor, level: int, base: int = 2, axis: int = -1) -> torch.Tensor:
    """Write each value ``x`` in ``[0, 1]`` as its first ``level`` digits in ``base``.

    Component ``i = 1..level`` is ``floor(x * base**i) mod base`` (as a float).
    Values above the largest representable number ``1 - base**-level`` (for
    example ``x = 1``) get the largest digits, ``base - 1`` everywhere.

    Typical use: ``discretize(x, level=1, base=d)[..., 0].long()`` gives integers
    in ``[0, d - 1]`` for :func:`basis`.

    Args:
        data: Tensor of shape ``(batch..., n_features)`` with values in ``[0, 1]``.
            Integer tensors are converted to the default float dtype.
        level: Number of digits, ``>= 1``.
        base: Base of the digits, ``>= 2``.
        axis: Position of the new axis (size ``level``) in the output.

    Returns:
        Float tensor with the digit axis inserted at ``axis``.

    Raises:
        TNTypeError: If ``data`` is not a tensor or ``level``/``base``/``axis`` are
            not ints.
        TNValueError: If a value of ``data`` is outside ``[0, 1]`` (or NaN), if
            ``level < 1`` or if ``base < 2``.
        TNIndexError: If ``axis`` is out of range.

    Example:
        >>> discretize(torch.tensor([0.0, 0.5, 0.75, 1.0]), level=3)
        tensor([[0., 0., 0.],
                [1., 0., 0.],
                [1., 1., 0.],
                [1., 1., 1.]])
    """
    _check_data(data)
    level = _check_int("level", level, 1)
    base = _check_int("base", base, 2)
    axis = _check_axis(axis, data)
    if not data.is_floating_point():
        data = data.to(torch.get_default_dtype())
    if data.numel() and not bool(((data >= 0) & (data <= 1)).all()):
        raise TNValueError(
            "`data` values should be in [0, 1], got values in "
            f"[{data.min().item()}, {data.max().item()}]"
        )
    scales = torch.tensor(
        [float(base**i) for i in range(1, level + 1)], dtype=data.dtype, device=data.device
    )
    # Capping floor(x * base**i) at base**i - 1 equals clamping x to 1 - base**-level
    # first, without rounding that threshold to the dtype of `data`.
    digits = torch.minimum((data.unsqueeze(-1) * scales).floor(), scales - 1)
    return _place(digits.remainder(base), axis)


def basis(data: torch.Tensor, dim: int = 2, axis: int = -1) -> torch.Tensor:
    """One-hot embedding of integers: value ``v`` becomes the ``v``-th basis vector.

    Args:
        data: Integer tensor of shape ``(batch..., n_features)`` with values in
            ``[0, dim - 1]``.
        dim: Size of the embedding, ``>= 1``.
        axis: Position of the new axis in the output.

    Returns:
        int64 tensor with the one-hot axis moved to ``axis`` (a view, like
        :meth:`torch.Tensor.movedim`).

    Raises:
        TNTypeError: If ``data`` is not a tensor or ``dim``/``axis`` are not ints.
        TNValueError: If ``data`` is floating point or complex, if a value is
            outside ``[0, dim - 1]``, or if ``dim < 1``.
        TNIndexError: If ``axis`` is out of range.

    Example:
        >>> basis(torch.tensor([0, 2]), dim=3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    _check_data(data)
    if data.is_floating_point() or data.is_complex():
        raise TNValueError(f"`data` should be a tensor of integers, got dtype {data.dtype}")
    dim = _check_int("dim", dim, 1)
    axis = _check_axis(axis, data)
    index = data.long()
    if index.numel():
        low, high = (int(v) for v in torch.aminmax(index))
        if low < 0 or high >= dim:
            raise TNValueError(
                f"`data` values should be in [0, {dim - 1}] for dim={dim}, "
                f"got values in [{low}, {high}]"
            )
    out = torch.zeros(*index.shape, dim, dtype=torch.long, device=data.device)
    out.scatter_(-1, index.unsqueeze(-1), 1)
    return out.movedim(-1, axis)


def fourier(data: torch.Tensor, dim: int = 2, axis: int = -1) -> torch.Tensor:
    """Fourier embedding ``[1, √2 cos 2πx, √2 sin 2πx, √2 cos 4πx, √2 sin 4πx, ...]``.

    Component ``j = 1..dim`` is ``1`` for ``j = 1``, ``√2 cos(2π (j // 2) x)`` for
    even ``j`` and ``√2 sin(2π (j // 2) x)`` for odd ``j > 1``.

    Args:
        data: Tensor of shape ``(batch..., n_features)``.
        dim: Size of the embedding (number of components kept), ``>= 1``.
        axis: Position of the new axis in the output.

    Returns:
        Tensor with the embedding axis inserted at ``axis``.

    Raises:
        TNTypeError: If ``data`` is not a tensor or ``dim``/``axis`` are not ints.
        TNValueError: If ``dim < 1``.
        TNIndexError: If ``axis`` is out of range.

    Example:
        >>> fourier(torch.tensor([0.0, 0.125]), dim=3).round(decimals=4)
        tensor([[1.0000, 1.4142, 0.0000],
                [1.0000, 1.0000, 1.0000]])
    """
    _check_data(data)
    dim = _check_int("dim", dim, 1)
    axis = _check_axis(axis, data)
    dtype = _float_dtype(data)
    ones = torch.ones(*data.shape, 1, dtype=dtype, device=data.device)
    if dim == 1:
        return _place(ones, axis)
    n_freq = dim // 2
    freqs = torch.tensor(
        [2 * pi * k for k in range(1, n_freq + 1)], dtype=dtype, device=data.device
    )
    theta = data.unsqueeze(-1) * freqs
    # Interleave cos/sin per frequency, then keep the first dim - 1 components.
    waves = torch.stack([theta.cos(), theta.sin()], dim=-1).flatten(-2)[..., : dim - 1]
    return _place(torch.cat([ones, waves * sqrt(2)], dim=-1), axis)
