"""Tensor-network models (``tk.models``)."""

from torchtn.models.born import BornMachine  # noqa: F401
from torchtn.models.conv import ConvMPS, ConvMPSLayer, ConvUMPS, ConvUMPSLayer  # noqa: F401
from torchtn.models.mpo import MPO, UMPO  # noqa: F401
from torchtn.models.mps import MPS, UMPS, AbstractConvClass  # noqa: F401
from torchtn.models.mps_data import MPSData  # noqa: F401
from torchtn.models.mps_layer import MPSLayer, UMPSLayer  # noqa: F401
from torchtn.models.peps import PEPS, UPEPS, ConvPEPS, ConvUPEPS  # noqa: F401
from torchtn.models.tree import ConvTree, ConvUTree, Tree, UTree  # noqa: F401
