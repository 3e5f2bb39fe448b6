"""Tensor creation for the node ``init_method`` names (zeros, ones, copy, rand, randn)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from torchtn.errors import TNTypeError, TNValueError

__all__ = ["make", "INIT_METHODS"]

INIT_METHODS = ("zeros", "ones", "copy", "rand", "randn")


def _float_kw(kwargs: dict, key: str, default: float) -> float:
    value = kwargs.pop(key, default)
    if not isinstance(value, float):
        raise TNTypeError(f"`{key}` should be float, got {value!r} ({type(value).__name__})")
    return value


def make(
    shape: Sequence[int],
    init_method: str,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    context: str | None = None,
    **kwargs: float,
) -> torch.Tensor:
    """Create a tensor of ``shape`` with one of :data:`INIT_METHODS`.

    ``zeros``/``ones`` ignore extra keyword arguments; ``copy`` puts ones on the
    generalized diagonal (``t[i, ..., i]``; only ``t[0]`` for rank 1); ``rand`` takes
    floats ``low < high`` (default 0, 1) and ``randn`` floats ``mean``, ``std > 0``
    (default 0, 1). ``context`` (e.g. ``"Node 'a'"``) prefixes error messages.

    Raises:
        ValueError: Unknown ``init_method``, ``low >= high`` or ``std <= 0``.
        TypeError: Non-float ``low/high/mean/std`` or unexpected keyword arguments.
    """
    try:
        return _make(tuple(shape), init_method, device, dtype, dict(kwargs))
    except (TNTypeError, TNValueError) as err:
        if context is None:
            raise
        raise type(err)(f"{context}: {err}") from None


def _make(
    shape: tuple,
    init_method: str,
    device: torch.device | None,
    dtype: torch.dtype | None,
    kwargs: dict,
) -> torch.Tensor:
    if init_method == "zeros":
        return torch.zeros(shape, device=device, dtype=dtype)
    if init_method == "ones":
        return torch.ones(shape, device=device, dtype=dtype)
    if init_method == "copy":
        t = torch.zeros(shape, device=device, dtype=dtype)
        if len(shape) <= 1:
            if t.numel() > 0:
                t.view(-1)[0] = 1
            return t
        idx = torch.arange(min(shape), device=t.device)
        t[(idx,) * len(shape)] = 1
        return t
    if init_method == "rand":
        low = _float_kw(kwargs, "low", 0.0)
        high = _float_kw(kwargs, "high", 1.0)
        if kwargs:
            raise TNTypeError(f"rand got unexpected keyword arguments {sorted(kwargs)}")
        if not low < high:
            raise TNValueError(f"rand needs low < high, got low={low}, high={high}")
        t = torch.rand(shape, device=device, dtype=dtype)
        if low == 0.0 and high == 1.0:
            return t  # identical values, two tensor operations fewer
        return t * (high - low) + low
    if init_method == "randn":
        mean = _float_kw(kwargs, "mean", 0.0)
        std = _float_kw(kwargs, "std", 1.0)
        if kwargs:
            raise TNTypeError(f"randn got unexpected keyword arguments {sorted(kwargs)}")
        if not std > 0:
            raise TNValueError(f"randn needs std > 0, got std={std}")
        t = torch.randn(shape, device=device, dtype=dtype)
        if std == 1.0 and mean == 0.0:
            return t  # identical values, two tensor operations fewer
        return t * std + mean
    raise TNValueError(f"`init_method` should be one of {INIT_METHODS}, got {init_method!r}")
