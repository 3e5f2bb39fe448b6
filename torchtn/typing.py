"""Type aliases used across torchtn's annotations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import torch

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.axis import Axis

__all__ = ["Ax", "Shape"]

#: An axis of a node: its position, its name, or the ``Axis`` object.
Ax = Union[int, str, "Axis"]
#: A node shape: a sequence of ints or a ``torch.Size``.
Shape = Union[Sequence[int], torch.Size]
