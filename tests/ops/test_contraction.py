"""Contractions: contract_edges, contract, contract_between and ``@``."""

from __future__ import annotations

import string

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torchtn as tk

DT = torch.float64


def _node(net, shape, names, name="node", cls=None):
    cls = cls or tk.Node
    return cls(shape=shape, axes_names=names, name=name, network=net, init_method="randn", dtype=DT)


def test_single_edge_order_names_and_edges():
    net = tk.TensorNetwork()
    a = _node(net, (2, 3, 4), ("left", "input", "right"), "a")
    b = _node(net, (4, 3, 5), ("left", "input", "right"), "b")
    a["right"] ^ b["left"]
    r = a @ b
    assert r.axes_names == ["left", "input_0", "input_1", "right"]
    assert r.shape == (2, 3, 3, 5)
    assert r.name == "contract_edges"
    assert r.is_resultant()
    assert r.edges[0] is a["left"] and r.edges[1] is a["input"]
    assert r.edges[2] is b["input"] and r.edges[3] is b["right"]
    assert r["left"].node1 is a
    expected = torch.einsum("lir,rjs->lijs", a.tensor, b.tensor)
    torch.testing.assert_close(r.tensor, expected)
    assert [r.is_node1(i) for i in range(4)] == [True, True, True, True]
    assert not isinstance(r, tk.ParamNode)


def test_successor_keys_and_cached_call():
    net = tk.TensorNetwork()
    a = _node(net, (2, 3), ("left", "right"), "a")
    b = _node(net, (3, 4), ("left", "right"), "b")
    edge = a["right"] ^ b["left"]
    r = a @ b
    assert list(a.successors["contract_edges"]) == [(None, a, b)]
    assert a.successors["contract_edges"][(None, a, b)].child is r
    assert b.successors == {}
    r_edge = tk.contract(edge)
    assert r_edge is not r
    assert ((edge,), a, b) in a.successors["contract_edges"]
    assert edge.contract() is r_edge
    assert net._seq_ops[-1] == ("contract_edges", ((edge,), a, b))
    assert net._seq_ops[0] == ("contract_edges", (None, a, b))
    assert a.contract_between(b) is r and tk.contract_between(a, b) is r
    a.tensor = torch.randn(2, 3, dtype=DT)
    r2 = a @ b
    assert r2 is r
    torch.testing.assert_close(r2.tensor, a.tensor @ b.tensor)
    assert r.successors == {}
    assert net.resultant_nodes.keys() == {"contract_edges_0", "contract_edges_1"}


def test_contract_edges_subset_and_errors():
    net = tk.TensorNetwork()
    a = _node(net, (2, 3, 4), ("x", "y", "z"), "a")
    b = _node(net, (4, 3, 5), ("z", "y", "w"), "b")
    c = _node(net, (5,), ("w",), "c")
    a["z"] ^ b["z"]
    ey = a["y"] ^ b["y"]
    r = tk.contract_edges([ey], a, b)
    assert r.axes_names == ["x", "z_0", "z_1", "w"]
    assert r["z_0"] is r["z_1"]
    torch.testing.assert_close(r.tensor, torch.einsum("xyz,ayw->xzaw", a.tensor, b.tensor))
    with pytest.raises(ValueError):
        tk.contract_edges(None, a, c)
    with pytest.raises(ValueError):
        tk.contract_edges([a["x"]], a, b)
    with pytest.raises(ValueError):
        a @ c
    # Outer product with an empty list of edges.
    o = tk.contract_edges([], a, b)
    assert o.shape == (2, 3, 4, 4, 3, 5)


def test_contract_self_loop_example():
    net = tk.TensorNetwork()
    A = _node(net, (2, 3, 2, 5), ("left", "input", "right", "batch"), "A")
    B = _node(net, (2, 3, 2, 5), ("left", "input", "right", "batch"), "B")
    A["right"] ^ B["left"]
    A["left"] ^ B["right"]
    r = tk.contract(A["right"])
    assert r.axes_names == ["batch", "left", "input_0", "input_1", "right"]
    assert r["left"] is r["right"]
    assert [r.is_node1(i) for i in range(5)] == [True, True, True, True, False]
    t = r @ r
    assert t.axes_names == ["batch", "input_0", "input_1"]
    expected = torch.einsum("airb,rjab->bij", A.tensor, B.tensor)
    torch.testing.assert_close(t.tensor, expected)
    assert (r @ r) is t
    assert list(r.successors["contract_edges"]) == [(None, r, r)]


def test_batch_examples():
    net = tk.TensorNetwork()
    n1 = _node(net, (3, 2, 4, 5), ("input", "batch", "my_batch", "other_batch"), "n1")
    n2 = _node(net, (3, 2, 6, 5), ("input", "batch", "your_batch", "other_batch"), "n2")
    n1["input"] ^ n2["input"]
    r = n1 @ n2
    assert r.axes_names == ["batch", "other_batch", "my_batch", "your_batch"]
    assert [r.edges[i] for i in range(4)] == [
        n1["batch"],
        n1["other_batch"],
        n1["my_batch"],
        n2["your_batch"],
    ]
    assert r.edges[0] is n1["batch"] and r.edges[3] is n2["your_batch"]
    torch.testing.assert_close(r.tensor, torch.einsum("ibmo,ibyo->bomy", n1.tensor, n2.tensor))

    net = tk.TensorNetwork()
    a = _node(net, (2, 5, 3), ("left", "batch1", "right"), "a")
    b = _node(net, (3, 5, 2), ("left", "batch2", "right"), "b")
    a["left"] ^ b["right"]
    a["right"] ^ b["left"]
    r = a @ b
    assert r.axes_names == ["batch1", "batch2"] and r.shape == (5, 5)
    torch.testing.assert_close(r.tensor, torch.einsum("lxr,ryl->xy", a.tensor, b.tensor))

    net = tk.TensorNetwork()
    a = _node(net, (4, 2, 6, 3, 7), ("batch1", "left", "batch2", "input", "right"), "a")
    b = _node(net, (6, 7, 3, 2, 4), ("batch2", "left", "input", "right", "batch1"), "b")
    a["right"] ^ b["left"]
    r = a @ b
    assert r.axes_names == ["batch1", "batch2", "left", "input_0", "input_1", "right"]
    torch.testing.assert_close(r.tensor, torch.einsum("alcir,crjsa->aclijs", a.tensor, b.tensor))


def test_batch_size_change_cached():
    net = tk.TensorNetwork()
    a = _node(net, (5, 2, 3), ("batch", "left", "right"), "a")
    b = _node(net, (5, 3, 4), ("batch", "left", "right"), "b")
    a["right"] ^ b["left"]
    r = a @ b
    assert r.shape == (5, 2, 4)
    a.tensor = torch.randn(7, 2, 3, dtype=DT)
    b.tensor = torch.randn(7, 3, 4, dtype=DT)
    r2 = a @ b
    assert r2 is r and r.shape == (7, 2, 4)
    torch.testing.assert_close(r.tensor, torch.bmm(a.tensor, b.tensor))


def test_traces_scalar_and_batch():
    net = tk.TensorNetwork()
    n = _node(net, (3, 4, 3), ("left", "batch", "right"), "n")
    n["right"] ^ n["left"]
    t = n @ n
    assert t.axes_names == ["batch"] and t.shape == (4,)
    torch.testing.assert_close(t.tensor, torch.einsum("aba->b", n.tensor))
    assert n.successors["contract_edges"][(None, n, n)].child is t

    net = tk.TensorNetwork()
    m = _node(net, (3, 2, 2, 3), ("a", "b", "c", "d"), "m")
    m["a"] ^ m["d"]
    m["b"] ^ m["c"]
    s = m @ m
    assert s.shape == ()
    torch.testing.assert_close(s.tensor, torch.einsum("abba->", m.tensor))
    m.tensor = torch.randn(3, 2, 2, 3, dtype=DT)
    assert (m @ m) is s
    torch.testing.assert_close(s.tensor, torch.einsum("abba->", m.tensor))


def test_stacks_contract():
    net = tk.TensorNetwork()
    xs = [_node(net, (2, 3), ("left", "right"), "x") for _ in range(3)]
    ys = [_node(net, (3, 4), ("left", "right"), "y") for _ in range(3)]
    for x, y in zip(xs, ys, strict=False):
        x["right"] ^ y["left"]
    sx, sy = tk.stack(xs), tk.stack(ys)
    sx["right"] ^ sy["left"]
    r = sx @ sy
    assert isinstance(r, tk.StackNode)
    assert r.axes_names == ["stack", "left", "right"]
    expected = torch.stack([x.tensor @ y.tensor for x, y in zip(xs, ys, strict=True)])
    torch.testing.assert_close(r.tensor, expected)
    plain = _node(net, (3, 4), ("left", "right"), "plain")
    # Unreachable through connect() (stack edges only join stack edges): wire by hand.
    plain._edges[0] = sx["right"]
    plain._axes[0]._node1 = False
    with pytest.raises(TypeError):
        tk.contract_edges(None, sx, plain)


def test_gradcheck_through_contraction():
    net = tk.TensorNetwork()
    a = _node(net, (2, 3, 4), ("batch", "left", "right"), "a", cls=tk.ParamNode)
    b = _node(net, (2, 4, 3), ("batch", "left", "right"), "b", cls=tk.ParamNode)
    a["right"] ^ b["left"]
    a["left"] ^ b["right"]
    r = a @ b
    (r.tensor**2).sum().backward()
    ga, gb = a.grad.clone(), b.grad.clone()
    x = a.tensor.detach().clone().requires_grad_()
    y = b.tensor.detach().clone().requires_grad_()
    (torch.einsum("blr,brl->b", x, y) ** 2).sum().backward()
    torch.testing.assert_close(ga, x.grad)
    torch.testing.assert_close(gb, y.grad)

    def fn(ta, tb):
        a.tensor, b.tensor = ta, tb
        return (a @ b).tensor

    ta = torch.randn(2, 3, 4, dtype=DT, requires_grad=True)
    tb = torch.randn(2, 4, 3, dtype=DT, requires_grad=True)
    net2 = tk.TensorNetwork()
    a = _node(net2, (2, 3, 4), ("batch", "left", "right"), "a")
    b = _node(net2, (2, 4, 3), ("batch", "left", "right"), "b")
    a["right"] ^ b["left"]
    assert torch.autograd.gradcheck(fn, (ta, tb))


def test_inplace_contract():
    net = tk.TensorNetwork()
    a = _node(net, (2, 3), ("left", "right"), "node")
    b = _node(net, (3, 4), ("left", "right"), "node")
    c = _node(net, (4, 5), ("left", "right"), "node")
    a["right"] ^ b["left"]
    b["right"] ^ c["left"]
    expected = a.tensor @ b.tensor
    tc = c.tensor
    r = tk.contract_between_(a, b)
    assert r.is_leaf() and r.name == "contract_edges_ip"
    assert a.network is None and b.network is None
    assert r["right"] is c["left"]
    assert not r.tensor.requires_grad
    torch.testing.assert_close(r.tensor, expected)
    assert net._seq_ops == []
    r2 = r["right"].contract_()
    assert r2.shape == (2, 5)
    torch.testing.assert_close(r2.tensor, expected @ tc)
    with pytest.raises(ValueError):
        tk.contract_between_(a, b)


# -- hypothesis: random networks in random pairwise orders ---------------------------------
@st.composite
def _networks(draw):
    n = draw(st.integers(3, 5))
    # A spanning tree plus a few random extra bonds (multi-edges allowed).
    bonds = [(draw(st.integers(0, i - 1)), i) for i in range(1, n)]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3))
    bonds += [(i, j) for i, j in extra if i != j]
    sizes = [draw(st.integers(1, 3)) for _ in bonds]
    free = [draw(st.integers(0, 1)) for _ in range(n)]
    batch = draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True))
    order = draw(st.permutations(range(n)))
    flips = [draw(st.booleans()) for _ in range(n)]
    return n, bonds, sizes, free, batch, order, flips


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_networks())
def test_random_networks_match_einsum(spec):
    n, bonds, sizes, free, batch, order, flips = spec
    letters = iter(string.ascii_letters)
    axes: list[list] = [[] for _ in range(n)]  # (name, size, letter)
    bond_letters = []
    for k, ((i, j), s) in enumerate(zip(bonds, sizes, strict=False)):
        let = next(letters)
        bond_letters.append(let)
        axes[i].append((f"b{k}", s, let, ("bond", k, 0)))
        axes[j].append((f"b{k}", s, let, ("bond", k, 1)))
    out_letters = []
    batch_letter = next(letters)
    for i in range(n):
        for f in range(free[i]):
            let = next(letters)
            out_letters.append(let)
            axes[i].append((f"f{i}x{f}", 2, let, None))
        if i in batch:
            axes[i].append(("batch", 2, batch_letter, None))
        if flips[i]:
            axes[i].reverse()
    net = tk.TensorNetwork()
    nodes = []
    for i in range(n):
        if not axes[i]:
            axes[i].append((f"f{i}y", 1, next(letters), None))
            out_letters.append(axes[i][-1][2])
        nodes.append(_node(net, tuple(a[1] for a in axes[i]), [a[0] for a in axes[i]], f"n{i}"))
    for k, (i, j) in enumerate(bonds):
        ai = [p for p, a in enumerate(axes[i]) if a[3] == ("bond", k, 0)][0]
        aj = [p for p, a in enumerate(axes[j]) if a[3] == ("bond", k, 1)][0]
        nodes[i][ai] ^ nodes[j][aj]
    if batch:
        out_letters.insert(0, batch_letter)
    eq = ",".join("".join(a[2] for a in ax) for ax in axes)
    # With one batch node the batch axis is free: it must appear in the output anyway.
    expected = torch.einsum(f"{eq}->{''.join(out_letters)}", *[x.tensor for x in nodes])

    # Contract in the random order: merge groups by their shared edges.
    groups = [nodes[i] for i in order]
    while len(groups) > 1:
        g = groups.pop(0)
        for k, h in enumerate(groups):
            if tk.get_shared_edges(g, h):
                groups[k] = g @ h
                break
        else:  # pragma: no cover - the bond graph is connected
            raise AssertionError
        g2 = groups[k]
        if tk.get_shared_edges(g2, g2):
            groups[k] = g2 @ g2
    res = groups[0]
    # Map result axes back to letters through their names.
    name_to_letter = {}
    for ax in axes:
        for a in ax:
            if a[3] is None:
                name_to_letter[a[0]] = a[2]
    res_letters = "".join(name_to_letter[nm] for nm in res.axes_names)
    assert sorted(res_letters) == sorted(out_letters)
    got = res.tensor.permute([res_letters.index(c) for c in out_letters])
    torch.testing.assert_close(got, expected)
    # Cached recomputation with new values gives the new result.
    for x in nodes:
        x.tensor = torch.randn(x.shape, dtype=DT)
    expected = torch.einsum(f"{eq}->{''.join(out_letters)}", *[x.tensor for x in nodes])
    for op_name, key in net._seq_ops:
        out = tk.TensorNetwork.operations[op_name](*key)
    assert out is res
    got = res.tensor.permute([res_letters.index(c) for c in out_letters])
    torch.testing.assert_close(got, expected)
