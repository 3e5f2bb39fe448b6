"""Tests for torchtn.ops.tensor: permute, permute_, tprod, mul/div/add/sub, renormalize,
conj (operations.md §3)."""

from __future__ import annotations

import pytest
import torch
from _ops_helpers import DT, rand_node, snapshot
from _tol import assert_close_elem
from hypothesis import given, settings
from hypothesis import strategies as st

import torchtn as tk
from torchtn.ops.tensor import (
    add,
    conj,
    div,
    mul,
    permute,
    permute_,
    renormalize,
    sub,
    tprod,
)


# ------------------------------------------------------------------------------ permute
def test_permute_result_and_key():
    a = rand_node((2, 3, 4), ("left", "input", "right"))
    b = permute(a, ("right", 0, 1))
    assert type(b) is tk.Node and b.is_resultant() and b.name == "permute"
    assert b.axes_names == ["right", "left", "input"]
    assert b.edges == [a["right"], a["left"], a["input"]]
    assert all(x is y for x, y in zip(b.edges, [a["right"], a["left"], a["input"]], strict=True))
    assert b.is_node1() == [True, True, True]
    assert torch.equal(b.tensor, a.tensor.permute(2, 0, 1))
    succ = a.successors["permute"][(a, ("right", 0, 1))]
    assert succ.child is b and succ.node_ref is a and succ.index is None
    assert succ.hints == [2, 0, 1]
    assert a.network._seq_ops[-1] == ("permute", (a, ("right", 0, 1)))


def test_permute_cached_same_node_new_values_and_spellings():
    a = rand_node((2, 3, 4), ("left", "input", "right"))
    b = permute(a, (2, 0, 1))
    a.tensor = torch.ones(2, 3, 4, dtype=DT)
    assert permute(a, (2, 0, 1)) is b
    assert torch.equal(b.tensor, torch.ones(4, 2, 3, dtype=DT))
    c = a.permute(("right", "left", "input"))  # other spelling -> other key
    assert c is not b and c.name in ("permute_1",)
    assert b.name == "permute_0"


def test_permute_node1_flags_follow_edges():
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("left", "right"), net)
    b = rand_node((3, 2), ("left", "right"), net)
    a["right"] ^ b["left"]
    p = permute(b, (1, 0))
    assert p.is_node1() == [True, False]
    assert p["left"] is a["right"]


def test_permute_errors():
    a = rand_node((2, 3, 4), ("left", "input", "right"))
    before = snapshot(a.network)
    with pytest.raises(ValueError, match="not a permutation"):
        permute(a, (0, 0, 1))
    with pytest.raises(IndexError):
        permute(a, ("left", "nope", "right"))
    with pytest.raises(TypeError):
        permute(a, (0, 1.5, 2))
    with pytest.raises(RuntimeError):  # a permutation shorter than the rank: torch error
        permute(a, (1, 0))
    assert snapshot(a.network) == before


def test_permute_stack_raises():
    net = tk.TensorNetwork()
    nodes = [rand_node((2, 3), ("left", "right"), net, seed=i) for i in range(3)]
    st_ = tk.StackNode(nodes=nodes)
    with pytest.raises(ValueError):
        permute(st_, (0, 2, 1))


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(4)))
def test_permute_matches_torch(perm):
    a = rand_node((2, 3, 4, 5), ("a", "b", "c", "d"))
    assert torch.equal(permute(a, perm).tensor, a.tensor.permute(*perm))


def test_permute_gradcheck():
    a = tk.Node(shape=(2, 3, 4), axes_names=("a", "b", "c"))

    def f(x):
        a.tensor = x
        return permute(a, (1, 2, 0)).tensor

    x = torch.randn(2, 3, 4, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,))


# ------------------------------------------------------------------------------ permute_
def test_permute_inplace_replaces_node():
    net = tk.TensorNetwork()
    a = rand_node((2, 3, 4), ("left", "input", "right"), net, name="a", param=True)
    b = rand_node((4, 5), ("left", "right"), net, name="b")
    a["right"] ^ b["left"]
    old = a.tensor.detach().clone()
    new = permute_(a, ("right", "left", "input"))
    assert type(new) is tk.Node and new.is_leaf() and new.name == "a"
    assert a.network is None and new.network is net
    assert new.axes_names == ["right", "left", "input"]
    assert torch.equal(new.tensor, old.permute(2, 0, 1))
    assert not new.tensor.requires_grad and new.tensor.grad_fn is None
    assert new["right"] is b["left"] and new.neighbours("right") is b
    assert b.neighbours("left") is new
    assert new.successors == {} and net._seq_ops == []
    assert set(net.nodes_names) == {"a", "b"}


def test_permute_inplace_renaming_like_tk():
    net = tk.TensorNetwork()
    a = rand_node((2, 3, 4), ("left", "input", "right"), net)
    b = rand_node((4, 5), ("left", "right"), net)
    assert (a.name, b.name) == ("node_0", "node_1")
    q = permute_(a, (2, 1, 0))
    assert q.name == "node_1" and b.name == "node_0"


def test_permute_inplace_errors():
    a = rand_node((2, 3), ("left", "right"))
    r = permute(a, (1, 0))
    with pytest.raises(ValueError, match="resultant"):
        permute_(r, (1, 0))
    before = snapshot(a.network)
    with pytest.raises(ValueError, match="not a permutation"):
        permute_(a, (0, 0))
    with pytest.raises(IndexError):
        a.permute_(("left", "x"))
    assert snapshot(a.network) == before


# ------------------------------------------------------------------------------ tprod
def test_tprod_result():
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("left", "right"), net)
    b = rand_node((4, 5), ("left", "right"), net)
    c = tprod(a, b)
    assert c.name == "tprod" and type(c) is tk.Node
    assert c.shape == (2, 3, 4, 5)
    assert c.axes_names == ["left_0", "right_0", "left_1", "right_1"]
    assert c.edges == a.edges + b.edges
    assert_close_elem(c.tensor, torch.einsum("ij,kl->ijkl", a.tensor, b.tensor))
    assert a.successors["tprod"][(a, b)].child is c and b.successors == {}
    succ = a.successors["tprod"][(a, b)]
    assert succ.node_ref == (a, b) and succ.index == (None, None)
    b.tensor = torch.ones(4, 5, dtype=DT)
    assert tprod(a, b) is c
    assert_close_elem(c.tensor, torch.einsum("ij,kl->ijkl", a.tensor, b.tensor))


def test_tprod_self_allowed():
    a = rand_node((2, 3), ("left", "right"))
    c = tprod(a, a)
    assert c.shape == (2, 3, 2, 3)
    assert c["left_0"] is c["left_1"]


def test_tprod_errors():
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("left", "right"), net)
    b = rand_node((3, 5), ("left", "right"), net)
    a["right"] ^ b["left"]
    other = rand_node((2,), ("x",))
    before = snapshot(net)
    with pytest.raises(ValueError, match="connected"):
        tprod(a, b)
    with pytest.raises(ValueError, match="same network"):
        tprod(a, other)
    assert snapshot(net) == before


def test_tprod_gradcheck():
    net = tk.TensorNetwork()
    a = tk.Node(shape=(2, 3), axes_names=("l", "r"), network=net)
    b = tk.Node(shape=(2,), axes_names=("x",), network=net)

    def f(x, y):
        a.tensor, b.tensor = x, y
        return tprod(a, b).tensor

    x = torch.randn(2, 3, dtype=DT, requires_grad=True)
    y = torch.randn(2, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x, y))


# ------------------------------------------------------------------------------ arithmetic
ARITH = [
    (mul, torch.mul, "mul"),
    (div, torch.div, "div"),
    (add, torch.add, "add"),
    (sub, torch.sub, "sub"),
]


@pytest.mark.parametrize(("fn", "ref", "name"), ARITH)
def test_arith_with_node(fn, ref, name):
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("left", "right"), net)
    b = rand_node((2, 3), ("left", "right"), net, seed=1)
    c = fn(a, b)
    assert c.name == name and type(c) is tk.Node and c.is_resultant()
    assert c.edges == a.edges and c.axes_names == a.axes_names
    assert_close_elem(c.tensor, ref(a.tensor, b.tensor))
    succ = a.successors[name][(a, b)]
    assert succ.child is c and succ.hints is True and succ.node_ref == (a, b)
    assert b.successors == {}


@pytest.mark.parametrize(("fn", "ref", "name"), ARITH)
def test_arith_with_scalar_and_tensor_keyed_by_node1(fn, ref, name):
    a = rand_node((2, 3), ("left", "right"))
    c = fn(a, 2.0)
    assert_close_elem(c.tensor, ref(a.tensor, 2.0))
    assert list(a.successors[name]) == [(a,)]
    succ = a.successors[name][(a,)]
    assert succ.hints is False and succ.node_ref == (a,)
    t = torch.rand(3, dtype=DT) + 1
    assert fn(a, t) is c  # same node, new operand
    assert_close_elem(c.tensor, ref(a.tensor, t))
    assert fn(a, 5.0) is c
    assert_close_elem(c.tensor, ref(a.tensor, 5.0))
    assert a.network._seq_ops == [(name, (a,))]


def test_arith_broadcast_batch_allowed_non_batch_raises():
    net = tk.TensorNetwork()
    a = rand_node((2, 1), ("left", "right"), net)
    b = rand_node((2, 3), ("left", "right"), net)
    before = snapshot(net)
    with pytest.raises(ValueError, match="non-batch"):
        add(a, b)
    with pytest.raises(ValueError, match="non-batch"):
        mul(a, torch.ones(4, 2, 1, dtype=DT))  # higher rank
    assert snapshot(net) == before
    x = rand_node((1, 3), ("batch", "feature"))
    y = add(x, torch.ones(5, 3, dtype=DT))
    assert y.shape == (5, 3)


def test_arith_errors_other_network_and_stack():
    a = rand_node((2, 3), ("left", "right"))
    b = rand_node((2, 3), ("left", "right"))
    with pytest.raises(ValueError, match="same network"):
        mul(a, b)
    net = tk.TensorNetwork()
    nodes = [rand_node((2, 3), ("left", "right"), net, seed=i) for i in range(2)]
    s = tk.StackNode(nodes=nodes)
    with pytest.raises(ValueError):
        mul(s, 2.0)
    with pytest.raises(ValueError):
        conj(s)
    with pytest.raises(ValueError):
        tprod(s, nodes[0])


def test_arith_gradients_reach_paramnodes():
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("left", "right"), net, param=True)
    b = rand_node((2, 3), ("left", "right"), net, param=True, seed=1)
    c = mul(a, b)
    c.tensor.sum().backward()
    assert_close_elem(a.grad, b.tensor.detach())
    net.zero_grad(set_to_none=False)
    assert torch.count_nonzero(a.grad) == 0


@pytest.mark.parametrize(("fn", "ref", "name"), ARITH)
def test_arith_gradcheck_cached(fn, ref, name):
    net = tk.TensorNetwork()
    a = tk.Node(shape=(2, 3), axes_names=("l", "r"), network=net)
    b = tk.Node(shape=(2, 3), axes_names=("l", "r"), network=net)

    def f(x, y):
        a.tensor, b.tensor = x, y
        return fn(a, b).tensor

    x = torch.randn(2, 3, dtype=DT, requires_grad=True)
    y = (torch.rand(2, 3, dtype=DT) + 1).requires_grad_()
    assert torch.autograd.gradcheck(f, (x, y))


class _ScaledPair(tk.TensorNetwork):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        self.a = rand_node((2, 3), ("left", "right"), self, name="a", param=True)
        self.b = rand_node((3, 4), ("left", "right"), self, name="b", param=True, seed=1)
        self.a["right"] ^ self.b["left"]

    def contract(self):
        from torchtn.ops.contraction import contract_between

        r = contract_between(self.a, self.b)
        r = mul(r, self.scale)
        return add(r, torch.ones(4, dtype=DT))


def test_scalar_arith_replays_in_forward():
    """§7 item 2 (fix): scalar/tensor arithmetic replays in forward."""
    net = _ScaledPair(torch.tensor(3.0, dtype=DT))
    ref = (net.a.tensor @ net.b.tensor) * 3.0 + 1.0
    assert_close_elem(net(), ref)
    assert_close_elem(net(), ref)  # replay
    with torch.no_grad():
        net.a.tensor.mul_(2)
    assert_close_elem(net(), 2 * (ref - 1) + 1)
    # TK-style replay through the registry with the recorded key tuples
    out = None
    for name, key in net._seq_ops:
        out = tk.TensorNetwork.operations[name](*key)
    assert_close_elem(out.tensor, 2 * (ref - 1) + 1)
    net.trace()
    assert_close_elem(net(), 2 * (ref - 1) + 1)


# ------------------------------------------------------------------------------ renormalize
def test_renormalize_default_and_axes():
    a = rand_node((2, 3, 4), ("left", "input", "right"))
    r = renormalize(a)
    assert r.name == "renormalize" and type(r) is tk.Node
    assert_close_elem(r.tensor.norm(), torch.tensor(1.0, dtype=DT))
    r1 = renormalize(a, p=1, axis="left")
    assert_close_elem(r1.tensor.norm(p=1, dim=0), torch.ones(3, 4, dtype=DT))
    r2 = a.renormalize(axis=["left", "right"])
    assert_close_elem(r2.tensor.norm(dim=(0, 2)), torch.ones(3, dtype=DT))
    assert set(a.successors["renormalize"]) == {
        (a, 2, None),
        (a, 1, "left"),
        (a, 2, ("left", "right")),
    }
    assert renormalize(a, 2, ("left", "right")) is r2
    assert a.successors["renormalize"][(a, 2, ("left", "right"))].hints == [0, 2]
    assert r2.edges == a.edges


def test_renormalize_zero_slices_stay_zero():
    a = tk.Node(tensor=torch.zeros(2, 3, dtype=DT), axes_names=("l", "r"))
    r = renormalize(a, axis="l")
    assert torch.equal(r.tensor, torch.zeros(2, 3, dtype=DT))


def test_renormalize_stack_gives_stacknode():
    net = tk.TensorNetwork()
    nodes = [rand_node((2, 3), ("left", "right"), net, seed=i) for i in range(3)]
    s = tk.StackNode(nodes=nodes)
    r = renormalize(s, axis=["left", "right"])
    assert type(r) is tk.StackNode and r.axes_names == ["stack", "left", "right"]
    assert r.edges == s.edges
    assert_close_elem(r.tensor.norm(dim=(1, 2)), torch.ones(3, dtype=DT))


def test_renormalize_errors_and_gradcheck():
    a = rand_node((2, 3), ("l", "r"))
    with pytest.raises(IndexError):
        renormalize(a, axis="x")
    with pytest.raises(TypeError):
        renormalize(a, axis=1.5)
    b = tk.Node(shape=(2, 3), axes_names=("l", "r"))

    def f(x):
        b.tensor = x
        return renormalize(b, axis="r").tensor

    assert torch.autograd.gradcheck(f, (torch.randn(2, 3, dtype=DT, requires_grad=True),))


# ------------------------------------------------------------------------------ conj
def test_conj_complex_and_real():
    t = torch.randn(2, 3, dtype=torch.complex128)
    a = tk.Node(tensor=t, axes_names=("l", "r"))
    c = conj(a)
    assert c.name == "conj" and c.is_conj() and torch.equal(c.tensor, t.conj())
    assert a.successors["conj"][(a,)].child is c
    assert a.conj() is c
    r = rand_node((2,), ("x",))
    assert torch.equal(conj(r).tensor, r.tensor)


def test_operators_and_no_reflected():
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("left", "right"), net)
    b = rand_node((2, 3), ("left", "right"), net, seed=1)
    assert (a * b) is mul(a, b)
    assert (a / 2.0) is div(a, 3.0)
    assert (a + b) is add(a, b)
    assert (a - b) is sub(a, b)
    c = rand_node((4,), ("x",), net)
    assert (a % c) is tprod(a, c)
    with pytest.raises(TypeError):
        _ = 3.0 * a


class _PermuteChain(tk.TensorNetwork):
    def __init__(self):
        super().__init__()
        self.a = rand_node((2, 3, 5), ("left", "right", "batch"), self, name="a", param=True)
        self.b = rand_node((3, 4, 5), ("left", "right", "batch"), self, name="b", seed=1)
        self.c = rand_node((4, 6), ("left", "right"), self, name="c", param=True, seed=2)
        self.a["right"] ^ self.b["left"]
        self.b["right"] ^ self.c["left"]

    def contract(self):
        from torchtn.ops.contraction import contract_between

        ab = contract_between(self.a, self.b)  # (batch, left, right)
        p = permute(ab, ("right", "batch", "left"))
        p2 = permute(p, (2, 0, 1))
        return contract_between(p2, self.c)


def test_permute_in_compiled_replay():
    net = _PermuteChain()
    ref = torch.einsum("ijb,jkb,kl->ibl", net.a.tensor, net.b.tensor, net.c.tensor)
    first = net()
    assert first.shape == (2, 5, 6)
    assert_close_elem(first, ref)
    for _ in range(2):
        assert_close_elem(net(), ref)
    net.a.tensor = torch.randn(2, 3, 8, dtype=DT)
    net.b.tensor = torch.randn(3, 4, 8, dtype=DT)
    ref = torch.einsum("ijb,jkb,kl->ibl", net.a.tensor, net.b.tensor, net.c.tensor)
    out = net()
    assert out.shape == (2, 8, 6)
    assert_close_elem(out, ref)
