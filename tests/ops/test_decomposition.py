"""Tests for torchtn.ops.decomposition: split/split_ and the edge svd/svdr/qr/rq family
(operations.md §4.5-4.7)."""

from __future__ import annotations

import pytest
import torch
from _ops_helpers import DT, rand_node, snapshot
from _tol import assert_close_elem, assert_close_rel
from hypothesis import given, settings
from hypothesis import strategies as st

import torchtn as tk
from torchtn.ops.contraction import contract_between
from torchtn.ops.decomposition import (
    qr,
    qr_,
    rq,
    rq_,
    split,
    split_,
    svd,
    svd_,
    svdr,
    svdr_,
)


def _chain(n=5, param=False, d=3):
    net = tk.TensorNetwork()
    nodes = [
        rand_node((d, 2, d), ("left", "input", "right"), net, name="node", param=param, seed=i)
        for i in range(n)
    ]
    for i in range(n - 1):
        nodes[i]["right"] ^ nodes[i + 1]["left"]
    return net, nodes


def _low_rank(shape_rows, shape_cols, spectrum, seed=0):
    g = torch.Generator().manual_seed(seed)
    m, n, k = torch.Size(shape_rows).numel(), torch.Size(shape_cols).numel(), len(spectrum)
    u, _ = torch.linalg.qr(torch.randn(m, k, generator=g, dtype=DT))
    v, _ = torch.linalg.qr(torch.randn(n, k, generator=g, dtype=DT))
    mat = (u * torch.tensor(spectrum, dtype=DT)) @ v.T
    return mat.reshape(*shape_rows, *shape_cols)


# ------------------------------------------------------------------------------ split
def test_split_docstring_example_and_structure():
    node = rand_node((10, 15, 100), ("left", "right", "batch"))
    net = node.network
    edges_before = list(net.edges)
    a, b = split(node, ["left"], ["right"], rank=5)
    assert a.shape == (100, 10, 5) and b.shape == (100, 5, 15)
    assert (a.name, b.name) == ("split_0", "split_1")
    assert a.axes_names == ["batch", "left", "split"]
    assert b.axes_names == ["batch", "split", "right"]
    assert type(a) is tk.Node and a.is_resultant() and b.is_resultant()
    # listed axes inherit edges; batch axes get fresh edges; split bond joins them
    assert a["left"] is node["left"] and b["right"] is node["right"]
    assert a["batch"] is not node["batch"] and b["batch"] is not node["batch"]
    assert a["batch"] is not b["batch"]
    assert a["split"] is b["split"] and a["split"].node1 is a and a["split"].node2 is b
    assert a.is_node1("split") and not b.is_node1("split")
    assert net.edges == edges_before
    key = (node, ("left",), ("right",), "svd", "left", 5, None, None)
    succ = node.successors["split"][key]
    assert succ.child == [a, b] and succ.node_ref is node and succ.index is None
    assert succ.hints == {
        "batch_axes": [2],
        "node1_axes": [0],
        "node2_axes": [1],
        "permutation_dims": [2, 0, 1],
    }
    assert net._seq_ops[-1] == ("split", key)


def test_split_tutorial_example():
    node = rand_node((2, 3, 4, 5), ("left1", "left2", "right1", "right2"))
    a, b = node.split(["left1", "right1"], ["left2", "right2"], rank=2)
    assert a.shape == (2, 4, 2) and b.shape == (2, 3, 5)


def test_split_key_spec_example():
    """operations.md §9 item 1."""
    node = rand_node((2, 3, 4, 5), ("left", "input", "input", "right"))
    n1, n2 = split(node, ("left", "input_0"), ("input_1", "right"))
    key = (node, ("left", "input_0"), ("input_1", "right"), "svd", "left", None, None, None)
    assert node.successors["split"][key].child == [n1, n2]
    assert n1.axes_names == ["left", "input", "split"]
    assert n2.axes_names == ["split", "input", "right"]


def test_split_names_and_shapes_spec_example():
    node = rand_node((10, 20, 2, 5, 5, 3), ("batch1", "batch2", "left", "input", "input", "right"))
    n1, n2 = split(node, ["input_0", "left"], ["right", "batch2", "input_1"])
    assert n1.shape == (10, 5, 2, 10) and n1.axes_names == ["batch1", "input", "left", "split"]
    assert n2.shape == (10, 10, 3, 20, 5)
    assert n2.axes_names == ["batch1", "split", "right", "batch2", "input"]


@pytest.mark.parametrize("mode", ["svd", "svdr", "qr", "rq"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_split_reconstructs(mode, side):
    node = rand_node((4, 3, 6, 5), ("a", "batch", "b", "c"))
    n1, n2 = split(node, ["c", "a"], ["b"], mode=mode, side=side)
    rec = torch.einsum("xcas,xsb->axbc", n1.tensor, n2.tensor)
    assert_close_rel(rec, node.tensor)  # a factorisation and its product
    assert n1["split"].size() == min(20, 6)


def test_split_factors_properties():
    node = rand_node((6, 4), ("l", "r"))
    q, r = split(node, ["l"], ["r"], mode="qr")
    # Householder QR and SVD factors are orthonormal to a few eps.
    assert_close_elem(q.tensor.T @ q.tensor, torch.eye(4, dtype=DT))
    assert torch.equal(r.tensor, torch.triu(r.tensor))  # structural zeros
    rr, qq = split(node, ["l"], ["r"], mode="rq")
    assert_close_elem(qq.tensor @ qq.tensor.T, torch.eye(4, dtype=DT))
    assert torch.equal(rr.tensor, torch.tril(rr.tensor))
    u, v = split(node, ["l"], ["r"], side="right")
    assert_close_elem(u.tensor.T @ u.tensor, torch.eye(4, dtype=DT))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"cum_percentage": 0.45}, 1),
        ({"cum_percentage": 0.7}, 2),
        ({"cum_percentage": 0.85}, 3),
        ({"cum_percentage": 0.93}, 4),
        ({"cum_percentage": 1.0}, 5),
        ({"cum_percentage": 0.0}, 1),
        ({"cutoff": 2.0}, 3),
        ({"rank": 0}, 1),
        ({"rank": 100}, 5),
        ({"rank": 3.7}, 3),
        ({"rank": 4, "cutoff": 4.0}, 2),
        ({}, 5),
    ],
)
def test_split_rank_selection(kwargs, expected):
    t = _low_rank((5,), (6,), [10.0, 5.0, 3.0, 1.0, 1.0])
    node = tk.Node(tensor=t, axes_names=("l", "r"))
    a, b = split(node, ["l"], ["r"], **kwargs)
    assert a.shape == (5, expected) and b.shape == (expected, 6)


def test_split_cached_rank_changes():
    t = torch.randn(6, 6, dtype=DT)
    node = tk.Node(tensor=t, axes_names=("l", "r"))
    a, b = split(node, ["l"], ["r"], cutoff=1e-6)
    assert a.shape == (6, 6)
    node.tensor = _low_rank((6,), (6,), [3.0])
    a2, b2 = split(node, ["l"], ["r"], cutoff=1e-6)
    assert a2 is a and b2 is b
    assert a.shape == (6, 1) and b.shape == (1, 6) and a["split"].size() == 1
    assert_close_rel(a.tensor @ b.tensor, node.tensor)


def test_split_cached_batch_size_changes():
    node = rand_node((3, 4, 7), ("l", "r", "batch"))
    a, b = split(node, ["l"], ["r"])
    node.tensor = torch.randn(3, 4, 11, dtype=DT)
    a2, _ = split(node, ["l"], ["r"])
    assert a2 is a and a.shape == (11, 3, 3) and b.shape == (11, 3, 4)


def test_split_trace_edges():
    node = rand_node((3, 4, 3, 5, 2, 2), ("a", "b", "c", "d", "e", "f"))
    node["a"] ^ node["c"]  # crosses sides
    node["e"] ^ node["f"]  # one-sided self-loop
    net = node.network
    edges_before = list(net.edges)
    s1, s2 = split(node, ["a", "b", "e", "f"], ["c", "d"])
    assert s1["a"] is s2["c"] and s1["a"] is not node["a"]
    assert s1["a"].node1 is s1 and s1.is_node1("a") and not s2.is_node1("c")
    assert s1["e"] is node["e"] and s1["f"] is node["e"]
    assert net.edges == edges_before


def test_split_errors_leave_network_unchanged():
    node = rand_node((2, 3, 4), ("left", "input", "right"))
    net = node.network
    before = snapshot(net)
    with pytest.raises(ValueError, match="batch"):
        split(node, ["left"], ["right"])
    with pytest.raises(ValueError, match="mode"):
        split(node, ["left"], ["input", "right"], mode="lu")
    with pytest.raises(ValueError, match="side"):
        split(node, ["left"], ["input", "right"], side="up")
    with pytest.raises(TypeError):
        split(node, {"left"}, ["input", "right"])
    with pytest.raises(TypeError):
        split(node, 3, ["input", "right"])
    with pytest.raises(IndexError):
        split(node, ["left", "x"], ["input", "right"])
    with pytest.raises(TypeError):
        split(node, ["left"], ["input", "right"], rank="many")
    assert snapshot(net) == before
    a, b = split(node, ["left"], ["input", "right"], mode="qr", side="up")  # side unchecked
    assert a.shape == (2, 2)


def test_split_stack_raises():
    net = tk.TensorNetwork()
    s = tk.StackNode(nodes=[rand_node((2, 3), ("l", "r"), net, seed=i) for i in range(2)])
    with pytest.raises(ValueError):
        split(s, ["l"], ["r"])


def test_svdr_complex_reconstructs():
    """§7 item 5 (fix): complex svdr factors multiply back to the matrix."""
    node = rand_node((4, 5), ("l", "r"), dtype=torch.complex128)
    for side in ("left", "right"):
        a, b = split(node, ["l"], ["r"], mode="svdr", side=side)
        assert_close_rel(a.tensor @ b.tensor, node.tensor)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 6))
def test_split_hypothesis_truncation_error(m, n, b, rank):
    node = tk.Node(tensor=torch.randn(b, m, n, dtype=DT), axes_names=("batch", "l", "r"))
    a, c = split(node, ["l"], ["r"], rank=rank)
    r = min(rank, m, n)
    assert a.shape == (b, m, r)
    s = torch.linalg.svdvals(node.tensor)
    err = torch.linalg.matrix_norm(a.tensor @ c.tensor - node.tensor)
    # Eckart-Young; the rounding of both sides is relative to the matrix, not to the
    # (possibly zero) discarded weight.
    assert_close_rel(err, s[:, r:].norm(dim=-1), scale=node.tensor.norm())


def test_split_gradcheck():
    node = tk.Node(shape=(3, 4), axes_names=("l", "r"))

    def f(x):
        node.tensor = x
        q, r = split(node, ["l"], ["r"], mode="qr")
        u, v = split(node, ["l"], ["r"], mode="svd", rank=2)
        return q.tensor, r.tensor, u.tensor @ v.tensor

    x = _low_rank((3,), (4,), [5.0, 3.0, 1.0]).requires_grad_()
    assert torch.autograd.gradcheck(f, (x,))


# ------------------------------------------------------------------------------ split_
def test_split_inplace_spec_example():
    net = tk.TensorNetwork()
    node = rand_node((10, 7, 5, 4), ("left", "right", "left", "right"), net, param=True)
    n1, n2 = split_(node, ["left_0", "left_1"], ["right_0", "right_1"])
    assert n1.shape == (10, 5, 28) and n2.shape == (28, 7, 4)
    assert (n1.name, n2.name) == ("split_ip_0", "split_ip_1")
    assert type(n1) is tk.Node and n1.is_leaf() and n2.is_leaf()
    assert len(net.leaf_nodes) == 2 and not net.resultant_nodes
    assert net.edges == n1.edges[:-1] + n2.edges[1:]
    assert node.network is None and node.successors == {} and net._seq_ops == []
    assert not n1.tensor.requires_grad and n1["split"] is n2["split"]
    assert n1.axes_names == ["left_0", "left_1", "split"]


def test_split_inplace_docstring_and_neighbours():
    net, nodes = _chain(3)
    s1, s2 = nodes[1].split_(["left", "input"], ["right"], rank=2)
    assert s1.shape == (3, 2, 2) and s2.shape == (2, 3)
    assert s1.neighbours("left") is nodes[0] and nodes[0].neighbours("right") is s1
    assert s2.neighbours("right") is nodes[2] and nodes[2]["left"] is s2["right"]
    assert s1["split"].node1 is s1 and s1["left"].node2 is s1
    assert nodes[1].network is None
    node = rand_node((10, 15, 100), ("left", "right", "batch"))
    left, right = split_(node, ["left"], ["right"], rank=5)
    assert left.shape == (100, 10, 5) and right.shape == (100, 5, 15)
    assert str(left["split"]) == "split_ip_0[split] <-> split_ip_1[split]"


def test_split_inplace_self_loops():
    node = rand_node((3, 4, 3, 2, 2), ("a", "b", "c", "e", "f"))
    node["a"] ^ node["c"]
    node["e"] ^ node["f"]
    s1, s2 = split_(node, ["a", "b", "e", "f"], ["c"])
    assert s1.is_connected_to(s2) and s1["a"] is s2["c"]
    assert s1["e"] is s1["f"] and s1["e"].node1 is s1 and s1["e"].node2 is s1


# ------------------------------------------------------------------------------ edge ops
def test_svd_no_batch_three_resultants():
    net, nodes = _chain(2)
    a, b = nodes
    x, y = svd(a["right"], rank=2)
    assert (x.name, y.name) == ("split_0", "split_1")
    assert len(net.resultant_nodes) == 3
    assert x.axes_names == ["left", "input", "right"] and y.axes_names == a.axes_names
    assert x["right"].size() == 2 and x["right"] is y["left"]
    assert x["left"] is a["left"] and y["right"] is b["right"]
    assert a.shape == (3, 2, 3) and a["right"] is b["left"]  # originals untouched
    full = contract_between(a, b).tensor
    ex, ey = svd(a["right"])
    assert (ex, ey) != (x, y)
    assert_close_elem(torch.einsum("ias,sjb->iajb", ex.tensor, ey.tensor), full)


def test_svd_with_middle_batch_five_resultants():
    net = tk.TensorNetwork()
    a = rand_node((3, 6, 4), ("left", "batch", "right"), net)
    b = rand_node((4, 6, 5), ("left", "batch", "right"), net, seed=1)
    a["right"] ^ b["left"]
    x, y = svd(a["right"], rank=2)
    assert len(net.resultant_nodes) == 5
    assert (x.name, y.name) == ("permute_0", "permute_1")
    assert x.shape == (3, 6, 2) and y.shape == (2, 6, 5)
    assert x.axes_names == ["left", "batch", "right"] == y.axes_names
    assert x["batch"] is not a["batch"] and x["left"] is a["left"]
    assert x.is_node1() == [True, True, True] and y.is_node1() == [False, True, True]
    x2, y2 = svd(a["right"], rank=2)  # cached all the way
    assert x2 is x and y2 is y and len(net.resultant_nodes) == 5


def test_svd_two_shared_edges():
    net = tk.TensorNetwork()
    a = rand_node((3, 5, 2), ("left", "input", "right"), net)
    b = rand_node((2, 5, 3), ("left", "input", "right"), net, seed=1)
    a["right"] ^ b["left"]
    a["left"] ^ b["right"]
    x, y = svd(a["right"])
    assert x.shape == (3, 5, 15) and y.shape == (15, 5, 3)
    assert len(net.resultant_nodes) == 3
    assert x["left"] is y["right"] and y.is_node1() == [False, True, False]


def test_svd_side_cum_percentage_and_svdr():
    net, nodes = _chain(2)
    full = contract_between(nodes[0], nodes[1]).tensor
    s = torch.linalg.svdvals(full.reshape(6, 6))
    expected = int((s.cumsum(0) / (s.sum() + 1e-10) < 0.6).sum()) + 1
    x, y = svd(nodes[0]["right"], side="right", cum_percentage=0.6)
    assert x.shape == (3, 2, expected) and y.shape == (expected, 2, 3)
    u = x.tensor.reshape(6, expected)
    assert_close_elem(u.T @ u, torch.eye(expected, dtype=DT))
    x, y = svdr(nodes[0]["right"])
    assert_close_elem(torch.einsum("ias,sjb->iajb", x.tensor, y.tensor), full)


@pytest.mark.parametrize("fn", [qr, rq])
def test_qr_rq_edge(fn):
    net, nodes = _chain(2, d=4)
    x, y = fn(nodes[0]["right"])
    assert x.shape == (4, 2, 8) and y.shape == (8, 2, 4)
    full = contract_between(nodes[0], nodes[1]).tensor
    assert_close_elem(torch.einsum("ias,sjb->iajb", x.tensor, y.tensor), full)
    iso = x.tensor.reshape(8, 8) if fn is qr else y.tensor.reshape(8, 8)
    gram = iso.T @ iso if fn is qr else iso @ iso.T
    assert_close_elem(gram, torch.eye(8, dtype=DT))


def test_edge_ops_errors():
    net, nodes = _chain(2)
    before = snapshot(net)
    for fn in (svd, svd_, svdr, svdr_, qr, qr_, rq, rq_):
        with pytest.raises(ValueError, match="connected"):
            fn(nodes[0]["left"])
    n = rand_node((2, 3, 2), ("a", "b", "c"), net)
    n["a"] ^ n["c"]
    before = snapshot(net)
    for fn in (svd, svd_, qr, rq_):
        with pytest.raises(ValueError, match="different nodes"):
            fn(n["a"])
    with pytest.raises(ValueError, match="side"):
        svd_(nodes[0]["right"], side="middle")
    assert snapshot(net) == before


def test_svd_inplace_chain_renaming():
    """§4.7: svd_ on the node_1-node_2 bond of node_0..node_4."""
    net, nodes = _chain(5)
    r1, r2 = svd_(nodes[1]["right"], rank=2)
    assert (r1.name, r2.name) == ("node_3", "node_4")
    assert (nodes[3].name, nodes[4].name) == ("node_1", "node_2")
    assert sorted(net.nodes_names) == [f"node_{i}" for i in range(5)]
    assert r1.shape == (3, 2, 2) and r2.shape == (2, 2, 3)
    assert r1.axes_names == r2.axes_names == ["left", "input", "right"]
    assert type(r1) is tk.Node and r1.is_leaf() and not net.resultant_nodes
    assert r1.neighbours("left") is nodes[0] and r1.neighbours("right") is r2
    assert r2.neighbours("right") is nodes[3] and nodes[3].neighbours("left") is r2
    assert net._seq_ops == []


@pytest.mark.parametrize("fn", [svd_, svdr_, qr_, rq_])
def test_inplace_edge_ops_params(fn):
    net, nodes = _chain(3, param=True, d=4)
    full = contract_between(nodes[0], nodes[1]).tensor.detach()
    net.reset()
    x, y = fn(nodes[0]["right"])
    assert (x.name, y.name) == ("node_1", "node_2")
    assert type(x) is tk.Node and not x.tensor.requires_grad
    assert_close_elem(torch.einsum("ias,sjb->iajb", x.tensor, y.tensor), full)
    assert len(net.leaf_nodes) == 3
    p = x.parameterize()
    assert type(p) is tk.ParamNode


def test_svd_inplace_with_batch_permutes():
    net = tk.TensorNetwork()
    a = rand_node((3, 6, 4), ("left", "batch", "right"), net, name="a")
    b = rand_node((4, 6, 5), ("left", "batch", "right"), net, name="b")
    a["right"] ^ b["left"]
    x, y = svd_(a["right"], rank=2)
    assert (x.name, y.name) == ("a", "b")
    assert x.axes_names == ["left", "batch", "right"] == y.axes_names
    assert x.shape == (3, 6, 2) and y.shape == (2, 6, 5)
    assert x["right"] is y["left"] and x.is_leaf() and not net.resultant_nodes
    assert set(net.nodes_names) == {"a", "b"}


def test_edge_methods_dispatch():
    net, nodes = _chain(2)
    if not hasattr(tk.ops, "svd"):
        pytest.skip("torchtn.ops does not export svd yet")
    x, y = nodes[0]["right"].svd(rank=1)
    assert x.shape == (3, 2, 1)
    q1, q2 = nodes[0]["right"].qr_()
    assert (q1.name, q2.name) == ("node_0", "node_1")
