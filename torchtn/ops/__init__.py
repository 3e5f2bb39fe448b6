"""Operations on nodes: each returns new (resultant) nodes and caches its plan.

See ``ops/README.md`` for the engine: first calls plan a :class:`Kernel` and record a
:class:`~torchtn.Successor`; cached calls and ``forward`` replays only run kernels.
"""

from torchtn.core.network import TensorNetwork
from torchtn.ops._operation import Operation
from torchtn.ops._program import compile_program
from torchtn.ops.contraction import (
    contract,
    contract_,
    contract_between,
    contract_between_,
    contract_edges,
    contract_edges_op,
    get_shared_edges,
)
from torchtn.ops.stacking import stack, stack_op, unbind, unbind_op

TensorNetwork._compile_program = staticmethod(compile_program)

__all__ = [
    "Operation", "get_shared_edges", "contract_edges", "contract", "contract_",
    "contract_between", "contract_between_", "stack", "unbind",
    "contract_edges_op", "stack_op", "unbind_op",
]
