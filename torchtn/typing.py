"""Type aliases used across torchtn's annotations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import torch

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.axis import Axis

__all__ = ["Ax", "Shape"]

Ax = Union[int, str, "Axis"]
Shape = Union[Sequence[int], torch.Size]
