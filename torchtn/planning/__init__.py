"""Contraction planning: cached, path-optimised einsum compiled to torch calls.

Used by the ``einsum`` node operation and by whole-network contraction. Plans are
plain data plus one generated function; see :mod:`torchtn.planning.path` for the
execution model, :mod:`torchtn.planning.cost` for cost reports,
:mod:`torchtn.planning.network` for whole-network plans (path search with opt_einsum or
cotengra) and :mod:`torchtn.planning.slicing` for memory-limited plans.
"""

from torchtn.planning.cost import PathCosts, PlanInfo, StepCost, path_costs
from torchtn.planning.network import (
    ContractionPlan,
    clear_network_cache,
    cotengra_available,
    find_path,
    network_cache_info,
    plan_network,
)
from torchtn.planning.path import (
    CACHE_SIZE,
    EinsumPlan,
    cache_info,
    clear_cache,
    contract,
    estimate,
    get_plan,
)
from torchtn.planning.slicing import choose_slices

__all__ = [
    "CACHE_SIZE",
    "ContractionPlan",
    "EinsumPlan",
    "PathCosts",
    "PlanInfo",
    "StepCost",
    "cache_info",
    "choose_slices",
    "clear_cache",
    "clear_network_cache",
    "contract",
    "cotengra_available",
    "estimate",
    "find_path",
    "get_plan",
    "network_cache_info",
    "path_costs",
    "plan_network",
]
