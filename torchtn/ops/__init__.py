"""Operations on nodes: each returns new (resultant) nodes and caches its plan.

See ``ops/README.md`` for the engine: first calls plan a :class:`Kernel` and record a
:class:`~torchtn.Successor`; cached calls and ``forward`` replays only run kernels.
"""

from torchtn.ops._operation import Operation
from torchtn.ops.contraction import (
    contract,
    contract_,
    contract_between,
    contract_between_,
    contract_edges,
    contract_edges_op,
    get_shared_edges,
)
from torchtn.ops.decomposition import (
    qr,
    qr_,
    rq,
    rq_,
    split,
    split_,
    split_op,
    svd,
    svd_,
    svdr,
    svdr_,
)
from torchtn.ops.einsum import einsum, einsum_op, stacked_einsum
from torchtn.ops.network_contraction import (
    contract_network,
    contract_network_op,
    contraction_plan,
)
from torchtn.ops.stacking import stack, stack_op, unbind, unbind_op
from torchtn.ops.tensor import (
    add,
    add_op,
    conj,
    conj_op,
    div,
    div_op,
    mul,
    mul_op,
    permute,
    permute_,
    permute_op,
    renormalize,
    renormalize_op,
    sub,
    sub_op,
    tprod,
    tprod_op,
)

__all__ = [
    "Operation",
    "get_shared_edges",
    "permute",
    "permute_",
    "tprod",
    "mul",
    "div",
    "add",
    "sub",
    "renormalize",
    "conj",
    "split",
    "split_",
    "svd",
    "svd_",
    "svdr",
    "svdr_",
    "qr",
    "qr_",
    "rq",
    "rq_",
    "contract_edges",
    "contract",
    "contract_",
    "contract_between",
    "contract_between_",
    "stack",
    "unbind",
    "einsum",
    "stacked_einsum",
    "contract_network",
    "contraction_plan",
    # TensorKrowch's module-level Operation singletons
    "permute_op",
    "tprod_op",
    "mul_op",
    "div_op",
    "add_op",
    "sub_op",
    "renormalize_op",
    "conj_op",
    "split_op",
    "contract_edges_op",
    "stack_op",
    "unbind_op",
    "einsum_op",
    "contract_network_op",
]
