"""Convolutional wrappers: image patches fed to the sites of an MPS-like model.

``AbstractConvClass`` is the shared mixin (also used by the PEPS/Tree conv variants).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import torch
from torch import nn

from torchtn.errors import TNTypeError, TNValueError
from torchtn.models._validate import check_size, size_pair

__all__ = ["AbstractConvClass"]

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


# The MPS classes import this module (for the re-export of AbstractConvClass), so they are
# imported only after the mixin is defined.
from torchtn.models.mps import MPS, UMPS  # noqa: E402
from torchtn.models.mps_layer import MPSLayer, UMPSLayer  # noqa: E402

__all__ += ["ConvMPS", "ConvUMPS", "ConvMPSLayer", "ConvUMPSLayer"]


class _ConvChainMixin(AbstractConvClass):
    """Forward/copy shared by the four convolutional MPS classes."""

    def forward(
        self, image: torch.Tensor, mode: str = "flat", *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        """Contract the model with every window of ``image`` ``(B, C, H, W)``.

        Returns ``(B, h_out, w_out)`` (``(B, out_channels, h_out, w_out)`` for layers).
        ``mode='snake'`` replicates TK 1.1.6, which flips odd kernel rows along the *batch*
        axis rather than reversing them.
        """
        return self._conv_forward(super().forward, image, mode, *args, **kwargs)

    def _init_conv(
        self,
        base: type,
        in_channels: int,
        kernel_size: IntPair,
        stride: IntPair,
        padding: IntPair,
        dilation: IntPair,
        out_channels: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Build ``base`` on the ``kh·kw`` window sites (plus an output site for layers)."""
        kh, kw = self._check_conv_args(in_channels, kernel_size, stride, padding, dilation)
        if out_channels is not None:
            check_size(out_channels, "out_channels")
        if out_channels is None:
            sites = dict(n_features=kh * kw, phys_dim=in_channels)
        else:
            sites = dict(n_features=kh * kw + 1, in_dim=in_channels, out_dim=out_channels)
        base.__init__(self, **sites, n_batches=2, **kwargs)
        # After the base: nn.Module must be initialised before ``self.unfold`` is set.
        self._setup_conv(in_channels, kernel_size, stride, padding, dilation)
        if out_channels is not None:
            self._out_channels = out_channels

    def _conv_kwargs(self) -> dict:
        return dict(
            in_channels=self._in_channels,
            kernel_size=self._kernel_size,
            stride=self._stride,
            padding=self._padding,
            dilation=self._dilation,
        )

    def copy(self, share_tensors: bool = False) -> MPS:
        """Same conv class and configuration; tensors shared or cloned."""
        new = type(self)(init_method=None, **self._conv_kwargs(), **self._conv_extra())
        new.name = self.name + "_copy"
        self._copy_tensors_into(new, share_tensors)
        return new


class ConvMPS(_ConvChainMixin, MPS):
    """MPS over the ``kh·kw`` pixels of each window; physical dim = ``in_channels``.

    Differences from TensorKrowch: see :class:`MPS`.
    """

    def __init__(
        self,
        in_channels: int,
        bond_dim: Any,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        boundary: str = "obc",
        tensors: Any = None,
        init_method: Any = "randn",
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        self._init_conv(
            MPS,
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            bond_dim=bond_dim,
            boundary=boundary,
            tensors=tensors,
            init_method=init_method,
            device=device,
            dtype=dtype,
            **kwargs,
        )

    def _conv_extra(self) -> dict:
        return dict(bond_dim=list(self._bond_dim), boundary=self._boundary)


class ConvUMPS(_ConvChainMixin, UMPS):
    """Uniform MPS over the pixels of each window."""

    def __init__(
        self,
        in_channels: int,
        bond_dim: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        tensor: Any = None,
        init_method: Any = "randn",
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        self._init_conv(
            UMPS,
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            bond_dim=bond_dim,
            tensor=tensor,
            init_method=init_method,
            device=device,
            dtype=dtype,
            **kwargs,
        )

    def _conv_extra(self) -> dict:
        return dict(bond_dim=self._bond_dim[0])


class ConvMPSLayer(_ConvChainMixin, MPSLayer):
    """MPSLayer over the pixels of each window plus one output site (``out_channels``).

    Differences from TensorKrowch: ``copy()`` keeps ``out_position`` (TK dropped it).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bond_dim: Any,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        out_position: Any = None,
        boundary: str = "obc",
        tensors: Any = None,
        init_method: Any = "randn",
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        self._init_conv(
            MPSLayer,
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            out_channels,
            bond_dim=bond_dim,
            out_position=out_position,
            boundary=boundary,
            tensors=tensors,
            init_method=init_method,
            device=device,
            dtype=dtype,
            **kwargs,
        )

    @property
    def out_channels(self) -> int:
        """Output channels (the output site's dimension)."""
        return self._out_channels

    def _conv_extra(self) -> dict:
        return dict(
            out_channels=self._out_channels,
            bond_dim=list(self._bond_dim),
            out_position=self._out_position,
            boundary=self._boundary,
        )


class ConvUMPSLayer(_ConvChainMixin, UMPSLayer):
    """UMPSLayer over the pixels of each window plus one output site (``out_channels``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bond_dim: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        out_position: Any = None,
        tensors: Any = None,
        init_method: Any = "randn",
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        self._init_conv(
            UMPSLayer,
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            out_channels,
            bond_dim=bond_dim,
            out_position=out_position,
            tensors=tensors,
            init_method=init_method,
            device=device,
            dtype=dtype,
            **kwargs,
        )

    out_channels = ConvMPSLayer.out_channels

    def _conv_extra(self) -> dict:
        return dict(
            out_channels=self._out_channels,
            bond_dim=self._bond_dim[0],
            out_position=self._out_position,
        )
