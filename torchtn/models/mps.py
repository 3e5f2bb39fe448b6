"""The MPS family, at TensorKrowch's module path ``tk.models.mps``.

The classes live in one module each (:mod:`~torchtn.models._mps`,
:mod:`~torchtn.models.umps`, :mod:`~torchtn.models.mps_layer`,
:mod:`~torchtn.models.conv`, :mod:`~torchtn.models._conv`); this module only gathers
them, so nothing imports it but the package.
"""

from torchtn.models._conv import AbstractConvClass
from torchtn.models._mps import MPS
from torchtn.models.conv import ConvMPS, ConvMPSLayer, ConvUMPS, ConvUMPSLayer
from torchtn.models.mps_layer import MPSLayer, UMPSLayer
from torchtn.models.umps import UMPS

__all__ = [
    "MPS",
    "UMPS",
    "MPSLayer",
    "UMPSLayer",
    "ConvMPS",
    "ConvUMPS",
    "ConvMPSLayer",
    "ConvUMPSLayer",
    "AbstractConvClass",
]
