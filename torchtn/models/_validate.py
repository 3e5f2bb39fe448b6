"""Argument validation shared by every model constructor.

Every size is checked up front, before a node exists, so a bad argument raises a
``TypeError``/``ValueError`` (the :mod:`torchtn.errors` subclasses) naming the argument
(and the index, for per-site lists) with the value found, instead of building a model
with zero parameters (``bond_dim=0``), failing inside torch (``negative dimension``) or
failing only at the first forward (``in_dim=0``).

Sizes are Python ints (``bool`` is rejected), as TensorKrowch required.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn.errors import TNTypeError, TNValueError

__all__ = [
    "TNTypeValueError",
    "is_int",
    "check_int",
    "check_size",
    "check_n_batches",
    "size_list",
    "size_pair",
    "check_tensor_size",
    "check_tensor_sizes",
]


class TNTypeValueError(TNTypeError, ValueError):
    """A wrong type where TensorKrowch raised ``ValueError`` (e.g. PEPS ``in_dim``):
    ``except TypeError`` and ``except ValueError`` both catch it."""


def is_int(value: Any) -> bool:
    """Whether ``value`` is an ``int`` and not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: Any, name: str, minimum: int | None = None, error: type = TNTypeError) -> int:
    """``value`` if it is an int (not bool) and at least ``minimum``.

    Raises:
        TypeError: ``value`` is not an int (``error``, a TypeError subclass).
        ValueError: ``value < minimum``.
    """
    if not is_int(value):
        raise error(f"`{name}` should be int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise TNValueError(f"`{name}` should be at least {minimum}, got {value}")
    return value


def check_size(value: Any, name: str) -> int:
    """``value`` if it is a dimension size: an int ``>= 1``."""
    return check_int(value, name, 1)


def check_n_batches(value: Any) -> int:
    """``value`` if it is a number of batch axes: an int ``>= 0``."""
    return check_int(value, "n_batches", 0)


def size_list(value: Any, name: str, length: int) -> list[int]:
    """An int replicated ``length`` times, or a list/tuple of ``length`` ints; every
    entry a size ``>= 1`` (entries are named ``name[i]`` in errors).

    Raises:
        TypeError: ``value`` is neither an int nor a list/tuple, or an entry is not an int.
        ValueError: Wrong length, or a size below 1.
    """
    if is_int(value):
        return [check_size(value, name)] * length
    if isinstance(value, (list, tuple)):
        if len(value) != length:
            raise TNValueError(f"`{name}` should have {length} entries, got {len(value)}")
        return [check_size(v, f"{name}[{i}]") for i, v in enumerate(value)]
    raise TNTypeError(
        f"`{name}` should be int, list or tuple, got {value!r} ({type(value).__name__})"
    )


def size_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """A convolution argument (``kernel_size``, ``stride``, ``padding``, ``dilation``):
    an int or a pair of ints, each at least ``minimum``."""
    if is_int(value):
        check_int(value, name, minimum)
        return (value, value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise TNValueError(f"`{name}` should be an int or a pair of ints, got {value!r}")
        return (
            check_int(value[0], f"{name}[0]", minimum),
            check_int(value[1], f"{name}[1]", minimum),
        )
    raise TNTypeError(
        f"`{name}` should be an int or a pair of ints, got {value!r} ({type(value).__name__})"
    )


def check_tensor_size(tensor: Any, label: str, lead: int = 0) -> None:
    """Raise if ``tensor`` has an axis of size 0 after its ``lead`` leading (batch) axes:
    that would be a model dimension of 0."""
    if isinstance(tensor, torch.Tensor) and 0 in tensor.shape[lead:]:
        raise TNValueError(
            f"{label} has an axis of size 0 (shape {tuple(tensor.shape)}): every "
            "dimension of a model should be at least 1"
        )


def check_tensor_sizes(tensors: Sequence[Any], name: str = "tensors", lead: int = 0) -> None:
    """:func:`check_tensor_size` on every element, named ``name[i]``."""
    for i, t in enumerate(tensors):
        check_tensor_size(t, f"`{name}[{i}]`", lead)
