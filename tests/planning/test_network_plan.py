"""planning.network / slicing / path_costs: whole-network plans on labels and sizes."""

from __future__ import annotations

import pickle

import opt_einsum
import opt_einsum.testing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn.planning import (
    choose_slices,
    clear_network_cache,
    find_path,
    network_cache_info,
    path_costs,
    plan_network,
)

RING = (["abx", "bcx", "cdx", "dex", "efx", "fa"], "x")
RING_SIZES = dict(a=4, b=5, c=6, d=7, e=3, f=4, x=10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9))
def test_path_costs_match_opt_einsum(seed, n):
    eq, shapes = opt_einsum.testing.rand_equation(n, 3, seed=seed, d_min=1, d_max=4)
    lhs, output = eq.split("->")
    inputs = lhs.split(",")
    sizes = {}
    for term, shape in zip(inputs, shapes, strict=True):
        sizes.update(zip(term, shape, strict=True))
    path, info = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="greedy")
    costs = path_costs(inputs, output, sizes, path)
    assert costs.flops == info.opt_cost
    assert costs.largest_intermediate == info.largest_intermediate


def test_plan_is_cached_by_structure_and_sizes():
    clear_network_cache()
    p1 = plan_network(*RING, RING_SIZES)
    p2 = plan_network(list(RING[0]), RING[1], dict(reversed(list(RING_SIZES.items()))))
    assert p1 is p2
    assert network_cache_info().hits == 1
    p3 = plan_network(*RING, {**RING_SIZES, "x": 11})
    assert p3 is not p1 and p3.path  # another size: another entry
    assert pickle.loads(pickle.dumps(p1)) == p1


def test_plan_report():
    plan = plan_network(*RING, RING_SIZES).with_names(["A", "B", "C", "D", "E", "F"])
    assert plan.optimizer == "dp"
    assert plan.output_shape == (10,)
    assert plan.equation == "abx,bcx,cdx,dex,efx,fa->x"
    assert plan.flops == path_costs(*RING, RING_SIZES, plan.path).flops
    assert plan.order[-1][-1].startswith("#")
    lines = str(plan).splitlines()
    assert lines[0] == "ContractionPlan: 6 tensors -> shape (10,) (optimizer: dp)"
    assert len(lines) == 4 + len(plan.path)
    with pytest.raises(ValueError, match="3 names"):
        plan.with_names("ABC")


def test_slicing_meets_the_limit_and_costs_more():
    plan = plan_network(*RING, RING_SIZES, memory_limit=50)
    free = plan_network(*RING, RING_SIZES)
    assert free.largest_intermediate > 50 >= plan.largest_intermediate
    assert "x" not in plan.sliced  # output labels are never sliced
    assert plan.flops > free.flops and plan.path == free.path
    assert choose_slices(*RING, RING_SIZES, free.path, 10**6) == ()


def test_slicing_impossible_and_bad_limits():
    with pytest.raises(ValueError, match="output alone has 10 elements"):
        plan_network(*RING, RING_SIZES, memory_limit=9)
    with pytest.raises(ValueError, match="positive int"):
        choose_slices(*RING, RING_SIZES, [(0, 1)] * 5, 0)
    with pytest.raises(TypeError, match="memory_limit"):
        plan_network(*RING, RING_SIZES, memory_limit="1GB")


@pytest.mark.parametrize(
    ("optimize", "name"),
    [("auto", "dp"), ("greedy", "greedy"), ("optimal", "optimal"), ("branch-2", "branch-2")],
)
def test_named_optimizers(optimize, name):
    path, used = find_path(*RING, RING_SIZES, optimize)
    assert used == name and len(path) == 5


def test_auto_beyond_twelve_tensors_takes_the_cheapest_candidate():
    n = 16
    inputs = [opt_einsum.get_symbol(i) + opt_einsum.get_symbol(i + 1) for i in range(n)]
    sizes = {opt_einsum.get_symbol(i): 2 + i % 3 for i in range(n + 1)}
    output = opt_einsum.get_symbol(0) + opt_einsum.get_symbol(n)
    path, used = find_path(inputs, output, sizes, "auto")
    base = used.removeprefix("absorb+").removesuffix("+reconf")
    assert base in ("greedy", "random-greedy", "cotengra")
    greedy, _ = find_path(inputs, output, sizes, "greedy")
    assert (
        path_costs(inputs, output, sizes, path).flops
        <= path_costs(inputs, output, sizes, greedy).flops
    )


def test_small_cases_and_errors():
    assert find_path(["ab"], "a", {"a": 2, "b": 3}) == (((0,),), "single")
    assert find_path(["ab", "b"], "a", {"a": 2, "b": 3}) == (((0, 1),), "single")
    assert find_path(["ab", "b", "a"], "", {"a": 2, "b": 3}, [(0, 1), (0, 1)])[1] == "explicit"
    with pytest.raises(ValueError, match="no tensors"):
        find_path([], "", {})
    with pytest.raises(ValueError, match="unknown `optimize`"):
        find_path(["ab", "b", "a"], "", {"a": 2, "b": 3}, "best")
    with pytest.raises(ValueError, match="leaves 2 operands"):
        find_path(["ab", "b", "a"], "", {"a": 2, "b": 3}, [(0, 1)])
    with pytest.raises(TypeError, match="explicit path"):
        find_path(["ab", "b", "a"], "", {"a": 2, "b": 3}, 3.5)
    with pytest.raises(ValueError, match="no size"):
        plan_network(["ab"], "a", {"a": 2})
    with pytest.raises(ValueError, match="repeats"):
        plan_network(["ab"], "aa", {"a": 2, "b": 2})
    with pytest.raises(ValueError, match="appear in no input"):
        plan_network(["ab"], "c", {"a": 2, "b": 2, "c": 1})


def test_optimizer_objects():
    path, used = find_path(*RING, RING_SIZES, opt_einsum.paths.DynamicProgramming())
    assert used == "DynamicProgramming" and len(path) == 5
    ctg = pytest.importorskip("cotengra")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = ctg.HyperOptimizer(methods=["greedy"], max_repeats=4, parallel=False)
    path, used = find_path(*RING, RING_SIZES, opt)
    assert used == "HyperOptimizer" and len(path) == 5
