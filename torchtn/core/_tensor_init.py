"""Tensor creation for the node ``init_method`` names (zeros, ones, copy, rand, randn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

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
    device: Optional[torch.device] = None,
    dtype: Optional[torch.dtype] = None,
    **kwargs: float,
) -> torch.Tensor:
    """Create a tensor of ``shape`` with one of :data:`INIT_METHODS`.

    Raises:
        ValueError: Unknown ``init_method``, ``low >= high`` or ``std <= 0``.
        TypeError: Non-float ``low/high/mean/std`` or unexpected keyword arguments.
    """
    shape = tuple(shape)
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
        n = min(shape)
        idx = torch.arange(n, device=t.device)
        t[(idx,) * len(shape)] = 1
        return t
    if init_method == "rand":
        kwargs = dict(kwargs)
        low = _float_kw(kwargs, "low", 0.0)
        high = _float_kw(kwargs, "high", 1.0)
        if kwargs:
            raise TNTypeError(f"rand got unexpected keyword arguments {sorted(kwargs)}")
        if not low < high:
            raise TNValueError(f"rand needs low < high, got low={low}, high={high}")
        return torch.rand(shape, device=device, dtype=dtype) * (high - low) + low
    if init_method == "randn":
        kwargs = dict(kwargs)
        mean = _float_kw(kwargs, "mean", 0.0)
        std = _float_kw(kwargs, "std", 1.0)
        if kwargs:
            raise TNTypeError(f"randn got unexpected keyword arguments {sorted(kwargs)}")
        if not std > 0:
            raise TNValueError(f"randn needs std > 0, got std={std}")
        return torch.randn(shape, device=device, dtype=dtype) * std + mean
    raise TNValueError(f"`init_method` should be one of {INIT_METHODS}, got {init_method!r}")
