"""torchtn: tensor networks on PyTorch, TensorKrowch-compatible and fast."""

from torchtn import decompositions, embeddings, errors, initializers, models, train, utils
from torchtn.core import (
    AbstractNode,
    Axis,
    Edge,
    Node,
    ParamNode,
    ParamStackNode,
    StackEdge,
    StackNode,
    Successor,
    TensorNetwork,
    connect,
    connect_stack,
    disconnect,
)
from torchtn.errors import TNError
from torchtn.initializers import copy, empty, ones, rand, randn, zeros
from torchtn.ops import *  # noqa: F403
from torchtn.ops import __all__ as _ops_all

__version__ = "1.1.6"

__all__ = [
    "Axis",
    "AbstractNode",
    "Node",
    "ParamNode",
    "StackNode",
    "ParamStackNode",
    "Edge",
    "StackEdge",
    "Successor",
    "TensorNetwork",
    "connect",
    "connect_stack",
    "disconnect",
    "empty",
    "zeros",
    "ones",
    "copy",
    "rand",
    "randn",
    "TNError",
    "errors",
    *_ops_all,
    "models",
    "embeddings",
    "decompositions",
    "initializers",
    "train",
    "utils",
]
