"""The components layer: axes, nodes, edges, successors and the network."""

from torchtn.core.axis import Axis
from torchtn.core.edge import Edge, StackEdge, connect, connect_stack, disconnect
from torchtn.core.network import TensorNetwork
from torchtn.core.node import AbstractNode, Node, ParamNode
from torchtn.core.stack_node import ParamStackNode, StackNode
from torchtn.core.successor import Successor

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
]
