"""Tests for torchtn.planning.path: EinsumPlan, get_plan, contract."""

from __future__ import annotations

import copy
import pickle
import random
import sys

import opt_einsum
import pytest
import torch
from _tol import assert_close_rel
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn import planning
from torchtn.errors import TNError
from torchtn.planning import EinsumPlan, contract, get_plan

F64 = torch.float64


def rand(*shape, dtype=F64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, dtype=dtype, generator=gen)


def operands(equation, shapes, dtype=F64):
    return [rand(*s, dtype=dtype, seed=i) for i, s in enumerate(shapes)]


# ------------------------------------------------------------------ against torch.einsum

CASES = [
    # (equation, shapes)
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk->ki", [(2, 3), (3, 4)]),
    ("ijk,kl->ijl", [(4, 5, 6), (6, 5)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("bij,bjk->kbi", [(5, 2, 3), (5, 3, 4)]),
    ("ibj,jkb->bik", [(2, 5, 3), (3, 4, 5)]),
    ("ljr,j->lr", [(10, 3, 10), (3,)]),
    ("bl,lir,bi->br", [(6, 4), (4, 3, 4), (6, 3)]),
    ("lir,bi,rjs,bj->bls", [(4, 3, 4), (6, 3), (4, 3, 4), (6, 3)]),
    ("bl,lir,bi,rs->bs", [(6, 4), (4, 3, 4), (6, 3), (4, 4)]),
    ("abc,bcd,de->ae", [(2, 3, 4), (3, 4, 5), (5, 6)]),
    # traces and diagonals
    ("ii->", [(4, 4)]),
    ("ii->i", [(4, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iii->i", [(3, 3, 3)]),
    ("ijji->", [(2, 3, 3, 2)]),
    ("ij,jj->i", [(2, 3), (3, 3)]),
    ("lbol->bo", [(3, 2, 4, 3)]),
    # sums and permutations of one operand
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ijk->kij", [(2, 3, 4)]),
    ("ij->ij", [(2, 3)]),
    # outer and Hadamard products, scalars
    ("a,b->ab", [(2,), (3,)]),
    ("ab,c->cba", [(2, 3), (4,)]),
    ("a,b,c->cab", [(2,), (3,), (4,)]),
    ("ab,ab->ab", [(2, 3), (2, 3)]),
    ("ab,ba->ab", [(2, 3), (3, 2)]),
    ("bl,bi->ilb", [(5, 2), (5, 3)]),
    (",->", [(), ()]),
    ("a,->a", [(3,), ()]),
    ("ab,->", [(2, 3), ()]),
    ("i,i->", [(4,), (4,)]),
    ("bi,bi->b", [(5, 4), (5, 4)]),
    # hyperedges (a label on three operands)
    ("ab,ab,ab->", [(2, 3), (2, 3), (2, 3)]),
    ("ai,bi,ci->abc", [(2, 4), (3, 4), (2, 4)]),
    ("ai,bi,ci->iabc", [(2, 4), (3, 4), (2, 4)]),
    # size-1 axes broadcast against the label's size
    ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("bij,bjk->bik", [(1, 2, 3), (5, 3, 4)]),
    # zero-size axes
    ("ij,jk->ik", [(0, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 0), (0, 4)]),
]


@pytest.mark.parametrize(("equation", "shapes"), CASES)
def test_matches_torch_einsum(equation, shapes):
    ts = operands(equation, shapes)
    expected = torch.einsum(equation, *ts)
    plan = EinsumPlan(equation, shapes)
    out = plan(*ts)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(contract(equation, *ts), expected)


@pytest.mark.parametrize("optimize", ["auto", "greedy", "optimal", "dp", False, True])
@pytest.mark.parametrize(
    ("equation", "shapes"),
    [c for c in CASES if len(c[1]) >= 3],
)
def test_optimize_options(equation, shapes, optimize):
    ts = operands(equation, shapes)
    out = get_plan(equation, shapes, optimize)(*ts)
    torch.testing.assert_close(out, torch.einsum(equation, *ts))


def test_explicit_path():
    shapes = [(2, 3), (3, 4), (4, 5)]
    ts = operands("ij,jk,kl->il", shapes)
    plan = get_plan("ij,jk,kl->il", shapes, [(1, 2), (0, 1)])
    assert plan.path == ((1, 2), (0, 1))
    assert plan is get_plan("ij,jk,kl->il", shapes, ((1, 2), (0, 1)))
    torch.testing.assert_close(plan(*ts), torch.einsum("ij,jk,kl->il", *ts))


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.complex128], ids=lambda d: str(d)[6:]
)
def test_dtypes(dtype):
    shapes = [(6, 4), (4, 3, 4), (6, 3)]
    ts = operands("bl,lir,bi->br", shapes, dtype=dtype)
    out = contract("bl,lir,bi->br", *ts)
    assert out.dtype == dtype
    # Another pairwise order than einsum's: entries with cancellation carry absolute error.
    assert_close_rel(out, torch.einsum("bl,lir,bi->br", *ts), factor=100)


def test_non_letter_symbols_and_whitespace():
    symbols = [opt_einsum.get_symbol(i) for i in (60, 61, 300)]
    a, b, c = symbols
    ts = operands(None, [(2, 3), (3, 4)])
    out = contract(f"{a}{b} , {b}{c} -> {c}{a}", *ts)
    torch.testing.assert_close(out, torch.einsum("ij,jk->ki", *ts))


def test_many_labels():
    # More labels than torch.einsum's 52 letters: a 60-site chain of matrices.
    n = 60
    syms = [opt_einsum.get_symbol(i) for i in range(n + 1)]
    eq = ",".join(syms[i] + syms[i + 1] for i in range(n)) + "->" + syms[0] + syms[n]
    ts = [rand(2, 2, seed=i) for i in range(n)]
    expected = ts[0]
    for t in ts[1:]:
        expected = expected @ t
    torch.testing.assert_close(contract(eq, *ts), expected)


def test_identity_returns_new_tensor_object():
    t = rand(2, 3)
    out = contract("ij->ij", t)
    assert out is not t
    assert torch.equal(out, t)


# ------------------------------------------------------------------ random networks


@st.composite
def networks(draw):
    """Random small tensor networks: labels, 2-5 operands, sizes 1-4."""
    n_labels = draw(st.integers(1, 7))
    labels = "abcdefg"[:n_labels]
    sizes = {lab: draw(st.integers(1, 4)) for lab in labels}
    n_ops = draw(st.integers(2, 5))
    terms = [
        "".join(draw(st.lists(st.sampled_from(labels), min_size=0, max_size=4)))
        for _ in range(n_ops)
    ]
    used = sorted(set("".join(terms)))
    output = draw(st.permutations(used)) if used else []
    output = "".join(output[: draw(st.integers(0, len(used)))])
    shapes = [tuple(sizes[lab] for lab in term) for term in terms]
    optimize = draw(st.sampled_from(["auto", "greedy", "optimal"]))
    return ",".join(terms) + "->" + output, shapes, optimize


@settings(max_examples=100, deadline=None)
@given(net=networks(), seed=st.integers(0, 2**16))
def test_random_networks_match_torch_einsum(net, seed):
    equation, shapes, optimize = net
    ts = [rand(*s, seed=seed + i) for i, s in enumerate(shapes)]
    expected = torch.einsum(equation, *ts)
    out = get_plan(equation, shapes, optimize)(*ts)
    assert out.shape == expected.shape
    # Another pairwise order than einsum's; rounding grows with the number of operands and
    # summed indices (6 eps measured).
    assert_close_rel(out, expected, factor=300)


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("bl,lir,bi->br", [(3, 2), (2, 3, 2), (3, 3)]),
        ("lir,bi,rjs,bj->bls", [(2, 2, 2), (3, 2), (2, 2, 2), (3, 2)]),
        ("ii->", [(3, 3)]),
        ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
        ("a,b->ba", [(2,), (3,)]),
        ("ai,bi,ci->abc", [(2, 3), (2, 3), (2, 3)]),
        ("ij,jk->ik", [(2, 3), (1, 2)]),
    ],
)
def test_gradcheck(equation, shapes):
    ts = [t.requires_grad_() for t in operands(equation, shapes)]
    plan = get_plan(equation, shapes)
    assert torch.autograd.gradcheck(plan, tuple(ts))


# ------------------------------------------------------------------ compiled code


@pytest.mark.parametrize(
    ("equation", "shapes", "kinds"),
    [
        ("ij,jk->ik", [(2, 3), (3, 4)], ("mm",)),
        ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)], ("bmm",)),
        ("ab,ab->ab", [(2, 3), (2, 3)], ("mul",)),
        ("ii->", [(3, 3)], ("diagonal", "sum")),
        ("ij->ji", [(2, 3)], ("permute",)),
        ("ij->ij", [(2, 3)], ("alias",)),
        ("bl,lir,bi->br", [(100, 10), (10, 3, 10), (100, 3)], ("mul", "mm")),
    ],
)
def test_kinds(equation, shapes, kinds):
    assert get_plan(equation, shapes).kinds == kinds


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("bij,bjk->bik", [(100, 10, 10), (100, 10, 10)]),
        ("bl,lir,bi->br", [(100, 10), (10, 3, 10), (100, 3)]),
        ("bl,blr->br", [(100, 10), (100, 10, 10)]),
        ("lir,rjs->lijs", [(10, 3, 10), (10, 3, 10)]),
    ],
)
def test_mps_like_contractions_need_no_permute(equation, shapes):
    assert "permute" not in get_plan(equation, shapes).source


def test_output_in_equation_order_is_contiguous():
    ts = operands(None, [(5, 2, 3), (5, 3, 4)])
    assert contract("bij,bjk->bik", *ts).is_contiguous()


# ------------------------------------------------------------------ cache


def test_cache_returns_same_plan_object():
    shapes = ((7, 2), (2, 9))
    plan = get_plan("ij,jk->ik", shapes)
    assert get_plan("ij,jk->ik", shapes) is plan
    assert get_plan("ij,jk->ik", [torch.Size([7, 2]), torch.Size([2, 9])]) is plan
    assert get_plan("ij,jk->ik", [[7, 2], [2, 9]]) is plan
    assert get_plan("ij,jk->ik", shapes, "greedy") is not plan
    assert get_plan("ij,jk->ik", ((8, 2), (2, 9))) is not plan


def test_contract_uses_the_cache():
    planning.clear_cache()
    a, b = rand(3, 2), rand(2, 5)
    contract("ij,jk->ik", a, b)
    contract("ij,jk->ik", a, b)
    info = planning.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)
    assert info.maxsize == planning.CACHE_SIZE == 1024
    assert contract("ij,jk->ik", rand(4, 2), b).shape == (4, 5)  # new batch size
    assert planning.cache_info().currsize == 2


def test_failed_plans_are_not_cached():
    planning.clear_cache()
    with pytest.raises(ValueError):
        get_plan("ij,jk->ik", [(2, 3), (4, 5)])
    assert planning.cache_info().currsize == 0


def test_pickle_and_deepcopy():
    plan = get_plan("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)])
    clone = pickle.loads(pickle.dumps(plan))
    assert clone.equation == plan.equation and clone.shapes == plan.shapes
    assert clone.source == plan.source
    ts = operands(None, plan.shapes)
    torch.testing.assert_close(clone(*ts), plan(*ts))
    assert copy.deepcopy(plan) is plan
    assert copy.copy(plan) is plan


def test_repr():
    plan = get_plan("ij,jk->ik", [(2, 3), (3, 4)])
    assert repr(plan) == (
        "EinsumPlan('ij,jk->ik', shapes=((2, 3), (3, 4)), kinds=('mm',), flops=48)"
    )


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("equation", "shapes", "match"),
    [
        ("ij,jk", [(2, 3), (3, 4)], r"'ij,jk'.*'->' exactly once.*found it 0 times"),
        ("ij->j->i", [(2, 3)], r"'->' exactly once.*found it 2 times"),
        ("ij,jk->ik", [(2, 3)], r"has 2 input terms but 1 operands were given"),
        ("ij->ij", [(2, 3), (3, 4)], r"has 1 input terms but 2 operands were given"),
        ("ijk,jk->i", [(2, 3), (3, 4)], r"term 0 'ijk' has 3 labels but operand 0 has shape"),
        (
            "ij,jk->ik",
            [(2, 3), (4, 5)],
            r"label 'j' has size 4 in term 1 'jk' but size 3 in term 0 'ij'",
        ),
        ("ii->", [(2, 3)], r"label 'i' repeats in term 0 'ii' with sizes 2 and 3"),
        ("ij->ii", [(2, 3)], r"output term 'ii' repeats a label"),
        ("ij->k", [(2, 3)], r"output label 'k' does not appear in any input term"),
        ("...i->i", [(2, 3)], r"ellipsis \('...'\) is not supported"),
        ("i-j->i", [(2, 3)], r"invalid character '-' in term 'i-j'"),
    ],
)
def test_bad_equations(equation, shapes, match):
    with pytest.raises(ValueError, match=match) as info:
        get_plan(equation, shapes)
    assert isinstance(info.value, TNError)


def test_bad_argument_types():
    with pytest.raises(TypeError, match=r"`equation` should be a str, got int"):
        EinsumPlan(3, [(2,)])
    with pytest.raises(TypeError, match=r"`shapes` should be a sequence of shapes"):
        EinsumPlan("i->i", [(2.5,)])
    with pytest.raises(TypeError, match=r"einsum operands should be tensors, got \['list'\]"):
        contract("i->i", [1.0, 2.0])


@pytest.mark.parametrize(
    ("optimize", "match"),
    [
        ("nope", r"opt_einsum found no path.*optimize='nope'"),
        ([(0, 5)], r"opt_einsum found no path"),
        ([(0, 1)], r"opt_einsum found no path"),
    ],
)
def test_bad_optimize(optimize, match):
    shapes = [(2, 3), (3, 4), (4, 5)]
    with pytest.raises(ValueError, match=match):
        EinsumPlan("ij,jk,kl->il", shapes, optimize)


def test_plan_checks_operands():
    plan = get_plan("ij,jk->ik", [(2, 3), (3, 4)])
    with pytest.raises(ValueError, match=r"takes 2 operands, got 1"):
        plan(rand(2, 3))
    with pytest.raises(
        ValueError, match=r"made for shapes \(\(2, 3\), \(3, 4\)\), got \(\(2, 3\), \(3, 5\)\)"
    ):
        plan(rand(2, 3), rand(3, 5))
    with pytest.raises(TypeError, match=r"takes tensors"):
        plan(rand(2, 3), "x")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
def test_runtime_errors_name_the_plan():
    plan = get_plan("ij,jk->ik", [(2, 3), (3, 4)])
    with pytest.raises(RuntimeError) as info:
        plan(rand(2, 3), rand(3, 4, dtype=torch.float32))
    assert any("einsum plan 'ij,jk->ik'" in note for note in info.value.__notes__)


# ------------------------------------------------------------------ path search


def mps_with_batch_hyperedge(n, bond=5, phys=2, batch=8):
    """An MPS contracted with n data vectors that all share the batch label."""
    sym = opt_einsum.get_symbol
    b = sym(1000)
    terms, shapes = [], []
    for i in range(n):
        terms += [sym(i) + sym(200 + i) + sym(i + 1), b + sym(200 + i)]
        shapes += [(bond, phys, bond), (batch, phys)]
    terms += [sym(0), sym(n)]
    shapes += [(bond,), (bond,)]
    return ",".join(terms) + "->" + b, shapes


def test_auto_avoids_greedy_blowup_on_hyperedges():
    equation, shapes = mps_with_batch_hyperedge(20)
    _, greedy = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="greedy")
    assert greedy.largest_intermediate > 10**6  # 2**20-ish: greedy chains the cores first
    state = random.getstate()
    plan = EinsumPlan(equation, shapes)
    assert random.getstate() == state  # opt_einsum's random search reseeds `random`
    assert plan.info.largest_intermediate < 10**3
    assert plan.info.flops < int(greedy.opt_cost)
    ts = [rand(*s, seed=i) / 2 for i, s in enumerate(shapes)]
    expected = opt_einsum.contract(equation, *ts, optimize=plan.path)
    torch.testing.assert_close(plan(*ts), expected)


def test_explicit_greedy_is_respected():
    equation, shapes = mps_with_batch_hyperedge(20)
    path, _ = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="greedy")
    assert get_plan(equation, shapes, "greedy").path == tuple(tuple(s) for s in path)
