"""stack / unbind, auto_stack, auto_unbind and their memory layouts."""

from __future__ import annotations

import pytest
import torch

import torchtn as tk

DT = torch.float64


def _nodes(net, shapes, cls=tk.Node, names=("left", "input", "right")):
    return [
        cls(shape=s, axes_names=names, name="node", network=net, init_method="randn", dtype=DT)
        for s in shapes
    ]


def test_stack_unbind_plain():
    net = tk.TensorNetwork()
    net.auto_stack = False
    nodes = _nodes(net, [(2, 3, 2)] * 4)
    for a, b in zip(nodes, nodes[1:], strict=False):
        a["right"] ^ b["left"]
    s = tk.stack(nodes)
    assert isinstance(s, tk.StackNode) and s.name == "stack"
    assert s.axes_names == ["stack", "left", "input", "right"]
    assert isinstance(s["left"], tk.StackEdge) and not isinstance(s["stack"], tk.StackEdge)
    assert s["left"].edges == [n["left"] for n in nodes]
    torch.testing.assert_close(s.tensor, torch.stack([n.tensor for n in nodes]))
    assert s._tensor_info["address"] == s.name
    assert nodes[0].successors["stack"][(tuple(nodes),)].child is s
    assert tk.stack(nodes) is s
    un = tk.unbind(s)
    assert [u.name for u in un] == [f"unbind_{i}" for i in range(4)]
    assert un[0]["right"] is nodes[0]["right"]
    for u, n in zip(un, nodes, strict=False):
        torch.testing.assert_close(u.tensor, n.tensor)
        assert u._tensor_info["address"] == u.name
    un2 = s.unbind()
    assert un2 == un and un2 is not un
    nodes[1].tensor = torch.randn(2, 3, 2, dtype=DT)
    tk.stack(nodes)
    tk.unbind(s)
    torch.testing.assert_close(un[1].tensor, nodes[1].tensor)


def test_padding_and_crops():
    net = tk.TensorNetwork()
    net.auto_stack = False
    nodes = _nodes(net, [(2, 3, 4), (3, 3, 2), (1, 3, 3)])
    s = tk.stack(nodes)
    assert s.shape == (3, 3, 3, 4)
    t = s.tensor
    torch.testing.assert_close(t[1, :, :, 2:], nodes[1].tensor)
    assert (t[1, :, :, :2] == 0).all()
    torch.testing.assert_close(t[2, 2:, :, 1:], nodes[2].tensor)
    assert (t[2, :2] == 0).all()
    un = tk.unbind(s)
    for u, n in zip(un, nodes, strict=False):
        assert u.shape == n.shape
        torch.testing.assert_close(u.tensor, n.tensor)


def test_padding_under_auto_stack_slices():
    net = tk.TensorNetwork()
    nodes = _nodes(net, [(2, 3, 4), (3, 3, 2)])
    originals = [n.tensor.clone() for n in nodes]
    s = tk.stack(nodes)
    assert nodes[1]._tensor_info["index"] == [1, slice(0, 3), slice(0, 3), slice(2, 4)]
    assert nodes[0]._tensor_info["index"] == [0, slice(1, 3), slice(0, 3), slice(0, 4)]
    for n, o in zip(nodes, originals, strict=False):
        torch.testing.assert_close(n.tensor, o)
    assert s._tensor_info["address"] == s.name


def test_auto_stack_params():
    net = tk.TensorNetwork()
    nodes = _nodes(net, [(2, 3, 2)] * 3, cls=tk.ParamNode)
    before = [n.tensor.detach().clone() for n in nodes]
    assert {f"param_{n.name}" for n in nodes} <= dict(net.named_parameters()).keys()
    s = tk.stack(nodes)
    assert isinstance(s, tk.ParamStackNode) and s.name == "virtual_result_stack"
    assert s.is_virtual() and "virtual_result_stack" in net.virtual_nodes
    names = dict(net.named_parameters()).keys()
    assert "param_virtual_result_stack" in names
    assert not any(f"param_{n.name}" in names for n in nodes)
    for i, n in enumerate(nodes):
        assert n._tensor_info["address"] is None
        assert n._tensor_info["node_ref"] is s
        assert n._tensor_info["index"] == [i, slice(0, 2), slice(0, 3), slice(0, 2)]
        torch.testing.assert_close(n.tensor.detach(), before[i])
    # Second stack computes nothing and returns the same node.
    assert tk.stack(nodes) is s
    assert net._recording.steps[-1]._run is None
    # Gradients reach the stack parameter and the members' grad slices.
    (s.tensor**2).sum().backward()
    torch.testing.assert_close(s.grad, 2 * s.tensor.detach())
    torch.testing.assert_close(nodes[1].grad, 2 * before[1])
    # reset restores per-node memory and parameters.
    net.reset()
    assert "virtual_result_stack" not in net.virtual_nodes
    names = dict(net.named_parameters()).keys()
    assert "param_virtual_result_stack" not in names
    for n, b in zip(nodes, before, strict=False):
        assert n._tensor_info == {"address": n.name, "node_ref": None, "index": None}
        assert f"param_{n.name}" in names
        assert isinstance(n.tensor, torch.nn.Parameter)
        torch.testing.assert_close(n.tensor.detach(), b)


def test_auto_stack_off_and_mixed_leaves():
    net = tk.TensorNetwork()
    net.auto_stack = False
    nodes = _nodes(net, [(2, 3, 2)] * 3, cls=tk.ParamNode)
    s = tk.stack(nodes)
    assert type(s) is tk.StackNode and s.name == "stack"
    assert all(n._tensor_info["address"] == n.name for n in nodes)
    (s.tensor.sum()).backward()
    assert nodes[0].grad is not None


def test_auto_unbind_index_mode_examples():
    net = tk.TensorNetwork()
    net.auto_unbind = True
    nodes = _nodes(net, [(2, 3, 2)] * 10)
    s = tk.stack(nodes)
    un = tk.unbind(s)
    for i, u in enumerate(un):
        assert u._tensor_info["address"] is None
        assert u._tensor_info["node_ref"] is s
        torch.testing.assert_close(u.tensor, nodes[i].tensor)
    assert un[3]._tensor_info["index"] == [3, slice(0, 2), slice(0, 3), slice(0, 2)]
    even = tk.stack(un[0::2])
    assert even._tensor_info["node_ref"] is s
    assert even._tensor_info["index"][0] == slice(0, 9, 2)
    torch.testing.assert_close(even.tensor, s.tensor[0::2])
    perm = [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]
    mixed = tk.stack([un[i] for i in perm])
    assert mixed._tensor_info["index"] == [perm]
    torch.testing.assert_close(mixed.tensor, s.tensor[perm])
    # Unbinding a referencing stack maps positions through its index.
    un_even = tk.unbind(even)
    assert un_even[2]._tensor_info["node_ref"] is s
    assert un_even[2]._tensor_info["index"] == [4, slice(0, 2), slice(0, 3), slice(0, 2)]
    torch.testing.assert_close(un_even[2].tensor, nodes[4].tensor)


def test_auto_unbind_batch_size_change():
    for auto_unbind in (True, False):
        net = tk.TensorNetwork()
        net.auto_unbind = auto_unbind
        nodes = _nodes(net, [(20, 3), (20, 3)], names=("batch", "f"))
        net.auto_stack = False
        s = tk.stack(nodes)
        un = tk.unbind(s)
        for n in nodes:
            n.tensor = torch.randn(25, 3, dtype=DT)
        tk.stack(nodes)
        un2 = tk.unbind(s)
        assert un2 == un
        assert un[0].shape == (25, 3)
        torch.testing.assert_close(un[1].tensor, nodes[1].tensor)


def test_data_stack_fusion():
    net = tk.TensorNetwork()
    cores = _nodes(net, [(2, 3, 2)] * 4)
    net.set_data_nodes([c["input"] for c in cores], 1)
    data = list(net.data_nodes.values())
    x = torch.randn(5, 4, 3, dtype=DT)
    net.add_data(x)
    sd = tk.stack(data)
    assert type(sd) is tk.StackNode and sd.name.startswith("stack")
    assert sd.axes_names == ["stack", "batch", "feature"]
    torch.testing.assert_close(sd.tensor, x.movedim(1, 0))
    x2 = torch.randn(7, 4, 3, dtype=DT)
    net.add_data(x2)
    assert tk.stack(data) is sd
    torch.testing.assert_close(sd.tensor, x2.movedim(1, 0))
    assert sd.shape == (4, 7, 3)


def test_errors():
    net = tk.TensorNetwork()
    with pytest.raises(ValueError):
        tk.stack([])
    with pytest.raises(TypeError):
        tk.stack(n for n in _nodes(net, [(2, 2, 2)]))
    a = _nodes(net, [(2, 3, 2)])[0]
    p = _nodes(net, [(2, 3, 2)], cls=tk.ParamNode)[0]
    with pytest.raises(TypeError):
        tk.stack([a, p])
    b = tk.Node(shape=(2, 3), axes_names=("left", "input"), network=net)
    with pytest.raises(ValueError):
        tk.stack([a, b])
    c = tk.Node(shape=(2, 3, 2), axes_names=("left", "other", "right"), network=net)
    with pytest.raises(ValueError):
        tk.stack([a, c])
    other = tk.Node(
        shape=(2, 3, 2), axes_names=("left", "input", "right"), network=tk.TensorNetwork()
    )
    with pytest.raises(ValueError):
        tk.stack([a, other])
    s = tk.stack([a, _nodes(net, [(2, 3, 2)])[0]])
    with pytest.raises(TypeError):
        tk.stack([s, s])
    with pytest.raises(TypeError):
        tk.unbind(a)


def test_auto_unbind_padded_indexes():
    net = tk.TensorNetwork()
    net.auto_unbind, net.auto_stack = True, False
    shapes = [(2, 5, 4), (3, 5, 2)]
    nodes = _nodes(net, shapes, names=("left", "batch", "right"))
    un = tk.unbind(tk.stack(nodes))
    assert un[0]._tensor_info["index"] == [0, slice(1, 3), slice(0, None), slice(0, 4)]
    assert un[1]._tensor_info["index"] == [1, slice(0, 3), slice(0, None), slice(2, 4)]
    for u, n in zip(un, nodes, strict=True):
        assert u.shape == n.shape
        torch.testing.assert_close(u.tensor, n.tensor)


def test_rank1_stack_unbinds_to_scalars():
    net = tk.TensorNetwork()
    net.auto_unbind = True
    nodes = [tk.Node(tensor=torch.tensor(float(i), dtype=DT), network=net) for i in range(3)]
    s = tk.stack(nodes)
    assert s.shape == (3,)
    un = tk.unbind(s)
    assert un[2].shape == () and un[2].tensor.item() == 2.0
    assert [u._tensor_info["index"] for u in un] == [0, 1, 2]
