"""Tests for torchtn.ops.einsum: einsum and stacked_einsum (operations.md §4.10-4.11)."""

from __future__ import annotations

import pytest
import torch
from _ops_helpers import DT, rand_node, snapshot
from _tol import assert_close_elem
from hypothesis import given, settings
from hypothesis import strategies as st

import torchtn as tk
from torchtn.ops.contraction import contract_between
from torchtn.ops.einsum import einsum, stacked_einsum
from torchtn.ops.stacking import stack


def _pair(batch=7):
    net = tk.TensorNetwork()
    a = rand_node((2, 3, batch), ("left", "right", "batch"), net)
    b = rand_node((3, 4, batch), ("left", "input", "batch"), net, seed=1)
    a["right"] ^ b["left"]
    return net, a, b


def test_einsum_result_structure():
    net, a, b = _pair()
    r = einsum("ijb,jkb->bik", a, b)
    assert type(r) is tk.Node and r.name == "einsum" and r.is_resultant()
    assert r.axes_names == ["batch", "left", "input"]
    assert r.edges == [a["batch"], a["left"], b["input"]]
    assert r.is_node1() == [True, True, True]
    assert_close_elem(r.tensor, torch.einsum("ijb,jkb->bik", a.tensor, b.tensor))
    succ = a.successors["einsum"][("ijb,jkb->bik", a, b)]
    assert succ.child is r and b.successors == {}
    assert succ.node_ref == (a, b) and succ.index == (None, None)
    assert succ.hints["einsum_string"] == "ijb,jkb->bik"
    assert net._seq_ops[-1] == ("einsum", ("ijb,jkb->bik", a, b))


def test_einsum_cached_new_batch_size():
    net, a, b = _pair(7)
    r = einsum("ijb,jkb->bik", a, b)
    a.tensor = torch.randn(2, 3, 11, dtype=DT)
    b.tensor = torch.randn(3, 4, 11, dtype=DT)
    assert einsum("ijb,jkb->bik", a, b) is r
    assert r.shape == (11, 2, 4)
    assert_close_elem(r.tensor, torch.einsum("ijb,jkb->bik", a.tensor, b.tensor))


def test_einsum_name_collisions_and_flags():
    net = tk.TensorNetwork()
    a = rand_node((2, 3, 4), ("left", "input", "right"), net)
    b = rand_node((4, 3, 2), ("left", "input", "right"), net, seed=1)
    a["right"] ^ b["left"]
    r = einsum("lir,rjs->lijs", a, b)
    assert r.axes_names == ["left", "input_0", "input_1", "right"]
    assert r.is_node1() == [True, True, True, True]
    assert r["input_1"] is b["input"]


def test_einsum_trace_self_loop():
    net = tk.TensorNetwork()
    n = rand_node((3, 5, 2, 3), ("l", "batch", "o", "r"), net)
    n["l"] ^ n["r"]
    r = einsum("lbol->bo", n)
    assert r.shape == (5, 2)
    assert_close_elem(r.tensor, torch.einsum("lbol->bo", n.tensor))


def test_einsum_three_nodes_matches_contractions():
    net = tk.TensorNetwork()
    a = rand_node((2, 3), ("l", "r"), net)
    b = rand_node((3, 4, 5), ("l", "i", "r"), net, seed=1)
    c = rand_node((5, 2), ("l", "r"), net, seed=2)
    a["r"] ^ b["l"]
    b["r"] ^ c["l"]
    r = einsum("ij,jkl,lm->ikm", a, b, c)
    ref = contract_between(contract_between(a, b), c).tensor
    assert_close_elem(r.tensor, ref)


def test_einsum_batch_output_rules():
    net = tk.TensorNetwork()
    a = rand_node((2, 5), ("i", "batch"), net)
    b = rand_node((3, 5), ("j", "batch"), net, seed=1)
    c = rand_node((2, 5), ("i", "x"), net, seed=2)
    r = einsum("ib,jb->bij", a, b)  # both batch: ok
    assert r.shape == (5, 2, 3)
    with pytest.raises(ValueError, match="batch"):
        einsum("ib,ix->bix", a, c)  # batch on one side only
    with pytest.raises(ValueError, match="batch"):
        einsum("ib,ix->ib", a, c)  # non-batch i in both inputs


@pytest.mark.parametrize(
    ("string", "nargs", "exc", "match"),
    [
        ("ijb,jkb", 2, ValueError, "arrow"),
        ("ijb->ijb", 2, ValueError, "input terms"),
        ("ijb,jkc->bik", 2, ValueError, "once"),
        ("ijb,ikb->bjk", 2, ValueError, "connected edge"),
        ("ijb,jkb->bi", 2, ValueError, "once"),
        ("ijb,jkb->bikl", 2, ValueError, "does not appear"),
        ("ijbx,jkb->bik", 2, IndexError, None),
        ("ijb,jkb->ik", 2, ValueError, "connected edge"),
        ("ijb,jkb,jkb->bik", 3, ValueError, "more than twice"),
    ],
)
def test_einsum_errors(string, nargs, exc, match):
    net, a, b = _pair()
    before = snapshot(net)
    with pytest.raises(exc, match=match):
        einsum(string, *[a, b, b][:nargs])
    assert snapshot(net) == before


def test_einsum_no_nodes_and_networks():
    with pytest.raises(ValueError, match="at least one"):
        einsum("ij->ij")
    a = rand_node((2, 3), ("l", "r"))
    b = rand_node((3, 4), ("l", "r"))
    with pytest.raises(ValueError, match="same network"):
        einsum("ij,jk->ik", a, b)


def test_einsum_stacks_auto_connect_and_stacknode():
    net = tk.TensorNetwork()
    net.auto_stack = False
    xs = [rand_node((2, 3), ("left", "right"), net, seed=i) for i in range(4)]
    ys = [rand_node((3, 5), ("left", "right"), net, seed=10 + i) for i in range(4)]
    for x, y in zip(xs, ys, strict=True):
        x["right"] ^ y["left"]
    sx, sy = stack(xs), stack(ys)
    assert sx["right"] is not sy["left"]
    r = einsum("sij,sjk->sik", sx, sy)
    assert type(r) is tk.StackNode and r.axes_names == ["stack", "left", "right"]
    assert sx["right"] is sy["left"]  # connected on the fly
    ref = torch.stack([contract_between(x, y).tensor for x, y in zip(xs, ys, strict=True)])
    assert_close_elem(r.tensor, ref)


def test_einsum_stack_mixing_errors():
    net = tk.TensorNetwork()
    xs = [rand_node((2, 3), ("left", "right"), net, seed=i) for i in range(2)]
    s = tk.StackNode(nodes=xs)
    other = rand_node((4,), ("x",), net)
    with pytest.raises(TypeError, match="stack"):
        einsum("sij,k->sijk", s, other)
    ys = [rand_node((3, 5), ("left", "right"), net, seed=5 + i) for i in range(2)]
    t = tk.StackNode(nodes=ys)  # members not connected: stack edges differ
    with pytest.raises(ValueError):
        einsum("sij,sjk->sik", s, t)


def test_stacked_einsum_matches_chain():
    net = tk.TensorNetwork()
    mps = [rand_node((2, 3, 4), ("left", "input", "right"), net, seed=i) for i in range(5)]
    data = [rand_node((6, 3), ("batch", "feature"), net, seed=20 + i) for i in range(5)]
    for m, d in zip(mps, data, strict=True):
        m["input"] ^ d["feature"]
    results = stacked_einsum("lir,bi->lbr", mps, data)
    assert len(results) == 5 and all(r.name.startswith("unbind") for r in results)
    for r, m, d in zip(results, mps, data, strict=True):
        assert r.shape == (2, 6, 4)
        assert_close_elem(r.tensor, torch.einsum("lir,bi->lbr", m.tensor, d.tensor))


def test_stacked_einsum_symbol_not_in_string():
    net = tk.TensorNetwork()
    xs = [rand_node((2, 3), ("left", "right"), net, seed=i) for i in range(3)]
    ys = [rand_node((3, 2), ("left", "right"), net, seed=7 + i) for i in range(3)]
    for x, y in zip(xs, ys, strict=True):
        x["right"] ^ y["left"]
    out = stacked_einsum("ab,bc->ac", xs, ys)  # 'a' is taken: another symbol is used
    for r, x, y in zip(out, xs, ys, strict=True):
        assert_close_elem(r.tensor, x.tensor @ y.tensor)
    with pytest.raises(ValueError, match="arrow"):
        stacked_einsum("ab,bc", xs, ys)


def test_einsum_gradcheck_cached():
    net = tk.TensorNetwork()
    a = tk.Node(shape=(2, 3), axes_names=("l", "r"), network=net)
    b = tk.Node(shape=(3, 4), axes_names=("l", "r"), network=net)
    a["r"] ^ b["l"]

    def f(x, y):
        a.tensor, b.tensor = x, y
        return einsum("ij,jk->ik", a, b).tensor

    x = torch.randn(2, 3, dtype=DT, requires_grad=True)
    y = torch.randn(3, 4, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x, y))


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_einsum_hypothesis_matrix_chain(m, k, n, b):
    net = tk.TensorNetwork()
    a = tk.Node(tensor=torch.randn(b, m, k, dtype=DT), axes_names=("batch", "l", "r"), network=net)
    c = tk.Node(tensor=torch.randn(b, k, n, dtype=DT), axes_names=("batch", "l", "r"), network=net)
    a["r"] ^ c["l"]
    r = einsum("bij,bjk->bik", a, c)
    assert_close_elem(r.tensor, a.tensor @ c.tensor)


def test_einsum_forward_replay():
    class Net(tk.TensorNetwork):
        def __init__(self):
            super().__init__()
            self.a = rand_node((2, 3), ("l", "r"), self, name="a", param=True)
            self.b = rand_node((3, 4), ("l", "r"), self, name="b", param=True, seed=1)
            self.a["r"] ^ self.b["l"]

        def contract(self):
            return einsum("ij,jk->ik", self.a, self.b)

    net = Net()
    ref = net.a.tensor @ net.b.tensor
    assert_close_elem(net(), ref)
    assert_close_elem(net(), ref)
    net.trace()
    assert_close_elem(net(), ref)
    net().sum().backward()
    assert net.a.grad is not None
