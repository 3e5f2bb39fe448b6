"""Contraction planning: cached, path-optimised einsum compiled to torch calls.

Used by the ``einsum`` node operation and by whole-network contraction. Plans are
plain data plus one generated function; see :mod:`torchtn.planning.path` for the
execution model and :mod:`torchtn.planning.cost` for cost reports.
"""

from torchtn.planning.cost import PlanInfo, estimate
from torchtn.planning.path import (
    CACHE_SIZE,
    EinsumPlan,
    cache_info,
    clear_cache,
    contract,
    get_plan,
)

__all__ = [
    "CACHE_SIZE",
    "EinsumPlan",
    "PlanInfo",
    "cache_info",
    "clear_cache",
    "contract",
    "estimate",
    "get_plan",
]
