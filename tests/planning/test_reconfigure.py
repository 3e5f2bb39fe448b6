"""Subtree reconfiguration: never worse than the starting path, and fixes greedy's
myopia on a batched chain."""

from __future__ import annotations

import opt_einsum
import opt_einsum.testing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn.planning import find_path, path_costs
from torchtn.planning.reconfigure import reconfigure_path


def _chain(n, bond=10, phys=2, batch=100):
    """An OBC MPS with boundary vectors and one batched data vector per site."""
    sym = opt_einsum.get_symbol
    bonds = [sym(i) for i in range(n + 1)]
    phys_l = [sym(n + 1 + i) for i in range(n)]
    b = sym(2 * n + 2)
    inputs = [bonds[0]] + [bonds[i] + phys_l[i] + bonds[i + 1] for i in range(n)]
    inputs += [bonds[n]] + [b + phys_l[i] for i in range(n)]
    sizes = {**dict.fromkeys(bonds, bond), **dict.fromkeys(phys_l, phys), b: batch}
    return inputs, b, sizes


def test_reconfiguration_repairs_greedy_on_a_batched_chain():
    inputs, output, sizes = _chain(30)
    greedy, _ = find_path(inputs, output, sizes, "greedy")
    better = reconfigure_path(inputs, output, sizes, greedy)
    g = path_costs(inputs, output, sizes, greedy).flops
    r = path_costs(inputs, output, sizes, better).flops
    sweep = 30 * (2 * 100 * 10 * 2 * 10 + 2 * 100 * 2 * 10)  # the hand-written sweep
    assert r < g / 1000
    auto, name = find_path(inputs, output, sizes, "auto")
    assert "reconf" in name or "absorb" in name
    assert path_costs(inputs, output, sizes, auto).flops <= 1.5 * sweep


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 14))
def test_never_worse_and_still_a_valid_path(seed, n):
    eq, shapes = opt_einsum.testing.rand_equation(n, 3, seed=seed, d_min=2, d_max=4)
    lhs, output = eq.split("->")
    inputs = lhs.split(",")
    sizes = {}
    for term, shape in zip(inputs, shapes, strict=True):
        sizes.update(zip(term, shape, strict=True))
    start, _ = find_path(inputs, output, sizes, "greedy")
    new = reconfigure_path(inputs, output, sizes, start, subtree_size=5)
    assert len(new) == n - 1
    assert (
        path_costs(inputs, output, sizes, new).flops
        <= path_costs(inputs, output, sizes, start).flops
    )
    # opt_einsum accepts it as an explicit path for the same equation
    opt_einsum.contract_path(eq, *shapes, shapes=True, optimize=[tuple(s) for s in new])


def test_small_inputs_are_returned_as_is():
    assert reconfigure_path(["ab", "b"], "a", {"a": 2, "b": 3}, [(0, 1)]) == ((0, 1),)
    with pytest.raises(ValueError):
        path_costs(["ab", "b"], "a", {"a": 2, "b": 3}, [(0, 2)])
