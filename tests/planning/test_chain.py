"""The end-of-chain sweep kernels and their cost model (torchtn.planning.chain)."""

from __future__ import annotations

import pytest
import torch
from _tol import assert_close_elem, assert_close_rel
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn.planning import chain

DT = torch.float64
# A sweep of up to 40 products of (3, 3) matrices: rounding grows with the number of sites,
# a few eps per product and site.
SWEEP_FACTOR = 40 * 20


def _reference(v, cores, x, left):
    """Dense einsum: the per-sample matrices multiplied in order, closed by ``v``."""
    mats = torch.einsum("mlir,m...i->m...lr", cores, x)
    prod = mats[0]
    for mat in mats[1:]:
        prod = prod @ mat
    return torch.einsum("l,...lr->...r", v, prod) if left else prod @ v


def _case(m, d, D, batch, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    cores = torch.randn(m, D, d, D, generator=g, dtype=DT) / D**0.5
    x = torch.randn(m, *batch, d, generator=g, dtype=DT)
    v = torch.randn(D, generator=g, dtype=DT)
    if requires_grad:
        cores.requires_grad_()
        v.requires_grad_()
    return v, cores, x


@pytest.mark.parametrize("strategy", [*chain.STRATEGIES, None])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize(
    "shape", [(1, 2, 3, (4,)), (5, 3, 4, (6,)), (8, 2, 2, (2, 3)), (7, 4, 3, ())]
)
def test_strategies_match_dense_reference(strategy, left, shape):
    m, d, D, batch = shape
    v, cores, x = _case(m, d, D, batch)
    out = chain.sweep(v, cores, x, "left" if left else "right", strategy)
    assert out.shape == (*batch, D)
    torch.testing.assert_close(out, _reference(v, cores, x, left))


@pytest.mark.parametrize("strategy", chain.STRATEGIES)
@pytest.mark.parametrize("left", [True, False])
def test_gradcheck(strategy, left):
    v, cores, x = _case(4, 2, 3, (3,), requires_grad=True)
    x.requires_grad_()
    side = "left" if left else "right"
    assert torch.autograd.gradcheck(
        lambda a, b, c: chain.sweep(a, b, c, side, strategy), (v, cores, x)
    )


@pytest.mark.parametrize("strategy", chain.STRATEGIES)
@pytest.mark.parametrize("left", [True, False])
def test_front_padded_stack_of_unequal_cores(strategy, left):
    """Cores of bonds 2-3-4-2 stacked as torchtn.stack does (zeros at the front)."""
    g = torch.Generator().manual_seed(3)
    bonds, d, B = [2, 3, 4, 2, 3], 2, 5
    cores = [torch.randn(bonds[i], d, bonds[i + 1], generator=g, dtype=DT) for i in range(4)]
    x = torch.randn(4, B, d, generator=g, dtype=DT)
    size = max(bonds)
    padded = torch.zeros(4, size, d, size, dtype=DT)
    for i, c in enumerate(cores):
        padded[i, size - c.shape[0] :, :, size - c.shape[2] :] = c
    v = torch.randn(bonds[0] if left else bonds[-1], generator=g, dtype=DT)
    mats = [torch.einsum("lir,bi->blr", c, x[i]) for i, c in enumerate(cores)]
    prod = mats[0]
    for mat in mats[1:]:
        prod = prod @ mat
    if left:
        expected = torch.einsum("l,blr->br", v, prod)
        out = chain.sweep(v, padded, x, "left", strategy, out_size=bonds[-1])
    else:
        expected = prod @ v
        out = chain.sweep(v, padded, x, "right", strategy, out_size=bonds[0])
    torch.testing.assert_close(out, expected)


def test_unequal_bonds_in_one_stack_are_squared():
    """A stack whose left and right sizes differ is padded to square, front first."""
    g = torch.Generator().manual_seed(4)
    cores = torch.randn(1, 2, 3, 4, generator=g, dtype=DT)
    x = torch.randn(1, 5, 3, generator=g, dtype=DT)
    v = torch.randn(2, generator=g, dtype=DT)
    expected = torch.einsum("l,lir,bi->br", v, cores[0], x[0])
    torch.testing.assert_close(chain.sweep(v, cores, x, "left", "fly"), expected)


def test_feature_mismatch_raises():
    v, cores, x = _case(3, 2, 3, (4,))
    with pytest.raises(ValueError, match="features"):
        chain.sweep(v, cores, x[..., :1])


def test_bad_side_or_strategy_raises():
    v, cores, x = _case(3, 2, 3, (4,))
    with pytest.raises(ValueError, match="side"):
        chain.sweep(v, cores, x, "up")
    with pytest.raises(ValueError, match="strategy"):
        chain.sweep(v, cores, x, "left", "magic")


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 9),
    d=st.integers(1, 4),
    D=st.integers(1, 5),
    B=st.integers(1, 6),
    left=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_all_strategies_agree(m, d, D, B, left, seed):
    v, cores, x = _case(m, d, D, (B,), seed=seed)
    ref = _reference(v, cores, x, left)
    for strategy in chain.STRATEGIES:
        out = chain.sweep(v, cores, x, "left" if left else "right", strategy)
        torch.testing.assert_close(out, ref)


def test_cost_model_choices():
    # Large CPU batches: the on-the-fly sweep (no (m, B, D, D) stack).
    assert chain.choose(392, 3, 10, 500, "cpu", grad=True) == "fly"
    assert chain.choose(98, 2, 50, 200, "cpu", grad=False) == "fly"
    # One sample: per-call overhead dominates, log-depth products win.
    assert chain.choose(392, 3, 10, 1, "cpu") == "tree"
    # GPU with moderate sizes: few large kernels.
    assert chain.choose(392, 3, 10, 512, "cuda") == "tree"
    costs = [chain.cost(s, 100, 3, 10, 100, "cpu", False) for s in chain.STRATEGIES]
    assert all(c > 0 for c in costs)
    assert chain.cost("fly", 100, 3, 10, 100, "cpu", True) > costs[0]


def test_cost_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="strategy"):
        chain.cost("magic", 10, 2, 2, 2, "cpu", False)


# -- the fly sweep's own backward, and its compile/export form ---------------------------------
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("m", [1, 2, 6])
def test_fly_backward_including_data_gradients(left, m):
    v, cores, x = _case(m, 3, 3, (4,), seed=m, requires_grad=True)
    x.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda v, c, x: chain.sweep(v, c, x, "left" if left else "right", "fly"), (v, cores, x)
    )
    # And the same gradients as autograd through the dense reference.
    out = chain.sweep(v, cores, x, "left" if left else "right", "fly")
    ref = _reference(v, cores, x, left)
    weights = torch.randn_like(ref)
    got = torch.autograd.grad((out * weights).sum(), (v, cores, x))
    want = torch.autograd.grad((ref * weights).sum(), (v, cores, x))
    for a, b in zip(got, want, strict=True):
        # Products of up to 6 small matrices, accumulated over the batch: a contraction.
        assert_close_rel(a, b, factor=300)


def test_fly_inference_needs_no_graph():
    v, cores, x = _case(5, 2, 3, (4,), requires_grad=True)
    with torch.no_grad():
        out = chain.sweep(v, cores, x, "left", "fly")
    assert out.grad_fn is None
    torch.testing.assert_close(out, _reference(v, cores, x, True).detach())


def _compiled(fn, *args):
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    counter = CompileCounterWithBackend("eager")
    out = torch.compile(fn, backend=counter)(*args)
    return out, sum(len(g.graph.nodes) for g in counter.graphs)


@pytest.mark.parametrize("left", [True, False])
def test_compiled_sweep_is_not_unrolled(left):
    side = "left" if left else "right"

    def fn(v, cores, x):
        return chain.sweep(v, cores, x, side, "fly") * 2

    sizes = []
    for m in (4, 40):
        v, cores, x = _case(m, 3, 3, (5,), seed=m)
        out, nodes = _compiled(fn, v, cores, x)
        ref = 2 * _reference(v, cores, x, left)
        assert_close_rel(out, ref, factor=SWEEP_FACTOR)
        sizes.append(nodes)
    assert sizes[0] == sizes[1]  # the graph does not grow with the number of sites


def test_exported_sweep_is_one_loop():
    from torch.export import export

    class Sweep(torch.nn.Module):
        def forward(self, v, cores, x):
            return chain.sweep(v, cores, x, "left")

    sizes = []
    for m in (4, 40):
        args = _case(m, 3, 3, (5,), seed=m)
        program = export(Sweep(), args)
        torch.testing.assert_close(program.module()(*args), _reference(*args, True))
        sizes.append(len(program.graph.nodes))
    assert sizes[0] == sizes[1]


def test_compiled_sweep_gradients_match_eager():
    v, cores, x = _case(7, 2, 3, (4,), requires_grad=True)
    torch._dynamo.reset()
    compiled = torch.compile(lambda v, c, x: chain.sweep(v, c, x, "right"), backend="aot_eager")
    out = compiled(v, cores, x)
    got = torch.autograd.grad(out.square().sum(), (v, cores))
    ref = chain.sweep(v, cores, x, "right")
    want = torch.autograd.grad(ref.square().sum(), (v, cores))
    # The compiled graph runs the eager kernels (aot_eager), possibly fused or reordered.
    assert_close_elem(out, ref, factor=100)
    for a, b in zip(got, want, strict=True):
        assert_close_rel(a, b, factor=300)  # a backward sweep of 7 sites


def test_export_with_a_dynamic_batch():
    from torch.export import Dim, export

    v, cores, _ = _case(6, 3, 4, (5,))

    class Sweep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.v = torch.nn.Parameter(v.clone())
            self.cores = torch.nn.Parameter(cores.clone())

        def forward(self, x):
            return chain.sweep(self.v, self.cores, x, "left")

    module = Sweep()
    x = torch.randn(6, 5, 3, dtype=DT)
    program = export(module, (x,), dynamic_shapes={"x": {1: Dim("batch", min=2)}})
    other = torch.randn(6, 11, 3, dtype=DT)
    # The exported graph runs the same kernels as the eager module on another batch size.
    assert_close_elem(program.module()(other), module(other), factor=100)
