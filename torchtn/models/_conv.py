"""Shared machinery of the convolutional models: image windows fed to network sites.

:class:`AbstractConvClass` turns an image ``(B, C, H, W)`` into per-window site data; the
convolutional MPS (:mod:`torchtn.models.conv`), PEPS and Tree variants mix it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch
from torch import nn

from torchtn.errors import TNTypeError, TNValueError
from torchtn.models._validate import check_size, size_pair

__all__ = ["AbstractConvClass", "IntPair"]

IntPair = Union[int, Sequence[int]]


class AbstractConvClass:
    """Mixin turning an image ``(B, C, H, W)`` into per-window site data (spec §7.1)."""

    # Smallest value of each convolution argument (as torch.nn.Unfold needs).
    _CONV_MINIMUM = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}

    @classmethod
    def _pair(cls, value: IntPair, name: str) -> Sequence[int]:
        """``value`` validated: an int becomes ``(v, v)``, a pair is kept as given (TK)."""
        pair = size_pair(value, name, cls._CONV_MINIMUM[name])
        return pair if isinstance(value, int) else value

    @classmethod
    def _check_conv_args(
        cls, in_channels: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any
    ) -> tuple[int, int]:
        """Validate the convolution arguments up front; return ``kernel_size`` as a pair.

        ``in_channels`` None: not an argument of the model (conv trees read it from
        ``bond_dim``)."""
        if in_channels is not None:
            check_size(in_channels, "in_channels")
        for name, value in (("stride", stride), ("padding", padding), ("dilation", dilation)):
            cls._pair(value, name)
        return cls._pair(kernel_size, "kernel_size")

    def _setup_conv(
        self,
        in_channels: int,
        kernel_size: IntPair,
        stride: IntPair,
        padding: IntPair,
        dilation: IntPair,
    ) -> None:
        self._in_channels = in_channels
        self._kernel_size = self._pair(kernel_size, "kernel_size")
        self._stride = self._pair(stride, "stride")
        self._padding = self._pair(padding, "padding")
        self._dilation = self._pair(dilation, "dilation")
        self.unfold = nn.Unfold(
            kernel_size=self._kernel_size,
            stride=self._stride,
            padding=self._padding,
            dilation=self._dilation,
        )

    @property
    def in_channels(self) -> int:
        """Number of image channels (physical dimension of the input sites)."""
        return self._in_channels

    @property
    def kernel_size(self) -> Sequence[int]:
        """Kernel size ``(kh, kw)``."""
        return self._kernel_size

    @property
    def stride(self) -> Sequence[int]:
        """Stride ``(sh, sw)``."""
        return self._stride

    @property
    def padding(self) -> Sequence[int]:
        """Padding ``(ph, pw)``."""
        return self._padding

    @property
    def dilation(self) -> Sequence[int]:
        """Dilation ``(dh, dw)``."""
        return self._dilation

    def _patches(self, image: torch.Tensor, mode: str = "flat") -> torch.Tensor:
        """Image ``(B, C, H, W)`` to site data ``(B, L, K, C)``."""
        if mode not in ("flat", "snake"):
            raise TNValueError(f"`mode` should be 'flat' or 'snake', got {mode!r}")
        self._check_image(image)
        patches = self.unfold(image).transpose(1, 2)
        b, n_windows = patches.shape[:2]
        patches = patches.reshape(b, n_windows, self._in_channels, -1).transpose(2, 3)
        if mode == "snake":
            # Replicates TK 1.1.6: odd kernel rows are flipped along the batch axis.
            kh, kw = self._kernel_size
            patches = patches.clone()
            for row in range(1, kh, 2):
                sl = slice(row * kw, (row + 1) * kw)
                patches[:, :, sl] = patches[:, :, sl].flip(dims=[0])
        return patches

    def _check_image(self, image: Any) -> None:
        """``image`` should be ``(B, in_channels, H, W)`` with room for one window."""
        if not isinstance(image, torch.Tensor):
            raise TNTypeError(f"`image` should be a torch.Tensor, got {type(image).__name__}")
        if image.dim() != 4:
            raise TNValueError(
                f"`image` should have shape (batch, channels, height, width), got shape "
                f"{tuple(image.shape)}"
            )
        if image.shape[1] != self._in_channels:
            raise TNValueError(
                f"`image` has {image.shape[1]} channels (axis 1 of shape "
                f"{tuple(image.shape)}), but the model expects in_channels="
                f"{self._in_channels}"
            )
        h_out, w_out = self._out_hw(image)
        if h_out < 1 or w_out < 1:
            raise TNValueError(
                f"`image` of height x width {tuple(image.shape[-2:])} is too small for "
                f"kernel_size={tuple(self._kernel_size)}, padding={tuple(self._padding)}, "
                f"dilation={tuple(self._dilation)}: no window fits"
            )

    def _out_hw(self, image: torch.Tensor) -> tuple[int, int]:
        h, w = image.shape[-2:]
        k, s, p, d = self._kernel_size, self._stride, self._padding, self._dilation
        h_out = int((h + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1)
        w_out = int((w + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1)
        return h_out, w_out

    def _conv_forward(
        self, forward: Any, image: torch.Tensor, mode: str, *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        result = forward(self._patches(image, mode), *args, **kwargs)
        if result.dim() == 3:
            result = result.movedim(1, -1)
        return result.reshape(*result.shape[:-1], *self._out_hw(image))
