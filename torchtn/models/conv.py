"""Convolutional MPS models: image windows fed to the sites of an MPS-like model.

The window machinery is :class:`~torchtn.models._conv.AbstractConvClass` (shared with the
PEPS and Tree variants).
"""

from __future__ import annotations

from typing import Any

import torch

from torchtn.models._conv import AbstractConvClass, IntPair
from torchtn.models._mps import MPS
from torchtn.models._validate import check_size
from torchtn.models.mps_layer import MPSLayer, UMPSLayer
from torchtn.models.umps import UMPS

__all__ = ["ConvMPS", "ConvUMPS", "ConvMPSLayer", "ConvUMPSLayer"]


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
