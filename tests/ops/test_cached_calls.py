"""Cached (second and later) calls follow every memory-layout change.

A cached call reads operand slots whose addresses were looked up once per memory layout
(``Successor._slots``); these tests change the layout in every way the library allows
between calls (renames, name shifts when a node is added, references, emptied slots, new
tensors, shape changes, copies) and check that the result is still the right one.
"""

from __future__ import annotations

import pytest
import torch

import torchtn as tk

DT = torch.float64


def _pair(net=None, a_name="a"):
    net = net or tk.TensorNetwork()
    a = tk.Node(shape=(2, 3, 4), axes_names=("i", "j", "k"), name=a_name, network=net)
    b = tk.Node(shape=(4, 5), axes_names=("k", "l"), name="b", network=net)
    a.tensor = torch.randn(2, 3, 4, dtype=DT)
    b.tensor = torch.randn(4, 5, dtype=DT)
    a["k"] ^ b["k"]
    return net, a, b


def _expected(a, b):
    return torch.tensordot(a.tensor, b.tensor, dims=([2], [0]))


def _stack_net(n=5, auto_unbind=False):
    net = tk.TensorNetwork()
    net.auto_stack = False
    net.auto_unbind = auto_unbind
    nodes = [
        tk.Node(tensor=torch.randn(2, 3, dtype=DT), axes_names=("x", "y"), name="s", network=net)
        for _ in range(n)
    ]
    return net, nodes


def test_matmul_cached_slots_and_new_tensors():
    _, a, b = _pair()
    c = a @ b
    for _ in range(3):
        assert a @ b is c
        torch.testing.assert_close(c.tensor, _expected(a, b))
    assert a.successors["contract_edges"][(None, a, b)]._slots is not None
    a.tensor = torch.randn(2, 3, 4, dtype=DT)  # same slot, new tensor
    b.tensor = torch.randn(4, 5, dtype=DT)
    assert a @ b is c
    torch.testing.assert_close(c.tensor, _expected(a, b))


def test_matmul_cached_after_renames_and_name_shift():
    net, a, b = _pair()
    c = a @ b
    a @ b
    a.name = "renamed"  # explicit rename: new address
    a.tensor = torch.randn(2, 3, 4, dtype=DT)
    assert a @ b is c
    torch.testing.assert_close(c.tensor, _expected(a, b))
    # Adding a node named like ``b`` shifts ``b`` to ``b_0`` (no explicit rename).
    tk.Node(shape=(1,), axes_names=("z",), name="b", network=net)
    assert b.name == "b_0"
    b.tensor = torch.randn(4, 5, dtype=DT)
    assert a @ b is c
    torch.testing.assert_close(c.tensor, _expected(a, b))
    # The child too can be renamed between calls.
    c.name = "result"
    a @ b
    torch.testing.assert_close(net["result"].tensor, _expected(a, b))


def test_matmul_cached_after_set_tensor_from():
    net, a, b = _pair()
    c = a @ b
    a @ b
    src = tk.Node(shape=(2, 3, 4), axes_names=("i", "j", "k"), name="src", network=net)
    src.tensor = torch.randn(2, 3, 4, dtype=DT)
    a.set_tensor_from(src)
    assert a @ b is c
    torch.testing.assert_close(c.tensor, _expected(src, b))


def test_matmul_cached_empty_operand_raises_clear_error():
    _, a, b = _pair()
    a @ b
    a @ b
    a.set_tensor(None, init_method=None)
    with pytest.raises(ValueError, match="has no tensor"):
        a @ b


def test_matmul_cached_batch_size_change():
    net = tk.TensorNetwork()
    a = tk.Node(shape=(3, 4), axes_names=("batch", "k"), name="a", network=net)
    b = tk.Node(shape=(4, 5), axes_names=("k", "l"), name="b", network=net)
    a["k"] ^ b["k"]
    for n in (3, 7, 1):
        a.tensor = torch.randn(n, 4)
        b.tensor = torch.randn(4, 5)
        c = a @ b
        assert c.shape == (n, 5)
        torch.testing.assert_close(c.tensor, a.tensor @ b.tensor)


def test_cached_slots_not_copied():
    net, a, b = _pair()
    a @ b
    a @ b
    net2 = net.copy()
    a2, b2 = net2["a"], net2["b"]
    assert a2.successors["contract_edges"][(None, a2, b2)]._slots is None
    a2.tensor = torch.randn(2, 3, 4, dtype=DT)
    c2 = a2 @ b2
    assert c2.network is net2
    torch.testing.assert_close(c2.tensor, _expected(a2, b2))
    old = net["contract_edges"].tensor.clone()
    a2 @ b2  # must not write into the original network
    torch.testing.assert_close(net["contract_edges"].tensor, old)


def test_traced_network_takes_general_path():
    net, a, b = _pair()
    a @ b
    a @ b
    net._traced = True  # TensorKrowch's bookkeeping for hand-traced networks
    net._notify_memory_change()
    c = a @ b
    torch.testing.assert_close(c.tensor, _expected(a, b))


def test_stack_cached_follows_tensors_and_renames():
    net, nodes = _stack_net()
    s = tk.stack(nodes)
    for _ in range(2):
        assert tk.stack(nodes) is s
    nodes[2].tensor = torch.randn(2, 3, dtype=DT)
    nodes[3].name = "other"
    nodes[3].tensor = torch.randn(2, 3, dtype=DT)
    assert tk.stack(nodes) is s
    torch.testing.assert_close(s.tensor, torch.stack([n.tensor for n in nodes]))
    assert tk.stack(tuple(nodes)) is s


def test_stack_cached_empty_member_raises_clear_error():
    _, nodes = _stack_net()
    tk.stack(nodes)
    tk.stack(nodes)
    nodes[1].set_tensor(None, init_method=None)
    with pytest.raises(ValueError, match="has no tensor"):
        tk.stack(nodes)


def test_unbind_cached_follows_stack_and_batch_size():
    net, nodes = _stack_net()
    s = tk.stack(nodes)
    un = tk.unbind(s)
    for _ in range(2):
        again = tk.unbind(s)
        assert again == un and again is not un
    nodes[0].tensor = torch.randn(2, 3, dtype=DT)
    tk.stack(nodes)
    tk.unbind(s)
    torch.testing.assert_close(un[0].tensor, nodes[0].tensor)
    # A new shape of the stacked tensor (batch axis) updates every child's shape.
    net2 = tk.TensorNetwork()
    net2.auto_stack = False
    net2.auto_unbind = False
    ms = [
        tk.Node(shape=(2, 3), axes_names=("batch", "y"), name="m", network=net2) for _ in range(3)
    ]
    for n in (2, 4, 4, 1):
        for m in ms:
            m.tensor = torch.randn(n, 3)
        st = tk.stack(ms)
        out = tk.unbind(st)
        assert [o.shape for o in out] == [torch.Size([n, 3])] * 3
        for o, m in zip(out, ms, strict=True):
            torch.testing.assert_close(o.tensor, m.tensor)


def test_unbind_cached_after_child_rename():
    _, nodes = _stack_net()
    s = tk.stack(nodes)
    un = tk.unbind(s)
    tk.unbind(s)
    un[1].name = "child"
    nodes[1].tensor = torch.randn(2, 3, dtype=DT)
    tk.stack(nodes)
    tk.unbind(s)
    torch.testing.assert_close(un[1].tensor, nodes[1].tensor)


@pytest.mark.parametrize("bad", [None, 3, "x", [1]])
def test_unbind_of_a_non_node_raises_type_error(bad):
    with pytest.raises(TypeError, match="stack node"):
        tk.unbind(bad)
