"""StackNode / ParamStackNode built directly (the operations build them too)."""

import pytest
import torch
from torch import nn

import torchtn as tk
from torchtn.core.stack_node import stack_padded


def chain(n=3, param=False, net=None):
    net = tk.TensorNetwork() if net is None else net
    kw = dict(axes_names=("l", "r"), network=net, param_node=param)
    top = [tk.randn(shape=(2, 3), **kw) for _ in range(n)]
    bottom = [tk.randn(shape=(3, 2), **kw) for _ in range(n)]
    for t, b in zip(top, bottom, strict=True):
        t["r"] ^ b["l"]
    return net, top, bottom


def test_stack_from_nodes():
    net, top, bottom = chain()
    before = {n.name: n.tensor for n in top}
    s = tk.StackNode(top)
    assert s.name == "stacknode" and s.is_leaf() and s.network is net
    assert s.axes_names == ["stack", "l", "r"] and s.shape == (3, 2, 3)
    assert torch.equal(s.tensor, torch.stack([n.tensor for n in top]))
    assert all(before[n.name] is n.tensor for n in top)  # members' memory untouched
    assert s.axes[0].is_batch() and type(s["stack"]) is tk.Edge
    assert isinstance(s["l"], tk.StackEdge) and isinstance(s["r"], tk.StackEdge)
    assert s["r"].edges == [n["r"] for n in top]
    assert s["r"].node1_list == [True, True, True]
    assert s.edges_dict == {"l": [n["l"] for n in top], "r": [n["r"] for n in top]}
    assert s.node1_lists_dict == {"l": [True] * 3, "r": [True] * 3}
    assert all(not isinstance(e, tk.StackEdge) for e in net.edges)
    assert s["stack"] not in net.edges  # batch edge


def test_unequal_shapes_are_padded_at_the_front():
    net = tk.TensorNetwork()
    a = tk.ones(shape=(2, 3), axes_names=("l", "r"), network=net)
    b = tk.ones(shape=(1, 2), axes_names=("l", "r"), network=net)
    s = tk.StackNode([a, b])
    assert s.shape == (2, 2, 3)
    assert torch.equal(s.tensor[1], torch.tensor([[0.0, 0, 0], [0, 1, 1]]))
    t = stack_padded([torch.ones(1), torch.ones(3)])
    assert torch.equal(t, torch.tensor([[0.0, 0, 1], [1, 1, 1]]))


def test_rank1_default_names_stack():
    # TK failed with KeyError 'axis'; fixed: members' edges are collected by position.
    net = tk.TensorNetwork()
    nodes = [tk.randn(shape=(2,), network=net) for _ in range(3)]
    s = tk.StackNode(nodes)
    assert s.axes_names == ["stack", "axis"] and s.edges_dict == {"axis": [n[0] for n in nodes]}
    p = tk.ParamStackNode([tk.randn(shape=(2,), network=net, param_node=True) for _ in range(2)])
    assert p.axes_names == ["stack", "axis"]


def test_param_stack_node():
    net, top, _ = chain(param=True)
    p = tk.ParamStackNode(top)
    assert p.name == "paramstacknode" and p.is_leaf() and p.nodes is top
    assert isinstance(p.tensor, nn.Parameter) and net.param_paramstacknode is p.tensor
    assert torch.equal(p.tensor, torch.stack([n.tensor for n in top]))
    v = tk.ParamStackNode(top, name="virtual_result_stack", virtual=True)
    assert v.is_virtual() and v.name == "virtual_result_stack"
    assert isinstance(p, tk.ParamNode) and not isinstance(p, tk.Node)
    mixed = tk.ParamStackNode([tk.randn(shape=(2,), axes_names=("a",), network=net)])
    assert isinstance(mixed.tensor, nn.Parameter)


def test_reconnect_stacks():
    net, top, bottom = chain()
    s1, s2 = tk.StackNode(top), tk.StackNode(bottom)
    assert (s1 ^ s2) is None
    assert s1["r"] is s2["l"] and s1["r"].nodes == [s1, s2]
    assert isinstance(s1["r"], tk.StackEdge)
    assert s1.neighbours() == [s2]
    s1["r"] | s1["r"]
    edge = s1["r"] ^ s2["l"]  # StackEdge ^ dispatches to connect_stack
    assert isinstance(edge, tk.StackEdge) and s2["l"] is edge


def test_connect_stack_requires_pairwise_connected_members():
    net, top, bottom = chain()
    s1 = tk.StackNode(top)
    s2 = tk.StackNode(bottom[::-1])
    with pytest.raises(ValueError, match="connected pairwise"):
        s1["r"] ^ s2["l"]
    with pytest.raises(TypeError, match="StackEdge"):
        tk.connect_stack(s1["r"], top[0]["l"])
    with pytest.raises(TypeError, match="connect_stack"):
        tk.connect(s1["r"], s2["l"])


def test_stack_errors():
    net, top, bottom = chain()
    with pytest.raises(TypeError, match="single node"):
        tk.StackNode(top[0])
    with pytest.raises(TypeError, match="sequence"):
        tk.StackNode({top[0]})
    s = tk.StackNode(top)
    with pytest.raises(TypeError, match="stack"):
        tk.StackNode([s, s])
    with pytest.raises(ValueError, match="not both"):
        tk.StackNode(top, tensor=torch.zeros(3, 2, 3))
    p = tk.randn(shape=(2, 3), axes_names=("l", "r"), network=net, param_node=True)
    with pytest.raises(TypeError, match="different classes"):
        tk.StackNode([top[0], p])
    with pytest.raises(ValueError, match="rank"):
        tk.StackNode([top[0], tk.randn(shape=(2,), axes_names=("l",), network=net)])
    with pytest.raises(ValueError, match="axes names"):
        tk.StackNode([top[0], tk.randn(shape=(2, 3), axes_names=("a", "b"), network=net)])
    with pytest.raises(ValueError, match="networks"):
        tk.StackNode([top[0], tk.randn(shape=(2, 3), axes_names=("l", "r"))])
    with pytest.raises(IndexError, match="empty"):
        tk.StackNode([])
    empty = tk.empty(shape=(2, 3), axes_names=("l", "r"), network=net)
    for exc in (AttributeError, ValueError):  # TK: AttributeError
        with pytest.raises(exc, match="empty"):
            tk.StackNode([top[0], empty])
    with pytest.raises(IndexError):
        tk.ParamStackNode([])


def test_stack_node_without_nodes():
    net, top, _ = chain()
    s = tk.StackNode(top)
    for missing in ("axes_names", "network", "tensor", "edges", "node1_list"):
        kwargs = dict(
            axes_names=s.axes_names,
            network=net,
            tensor=s.tensor,
            edges=s.edges,
            node1_list=s.is_node1(),
        )
        kwargs[missing] = None
        with pytest.raises(ValueError, match=missing):
            tk.StackNode(**kwargs)
    with pytest.raises(TypeError, match="StackEdge"):
        tk.StackNode(
            axes_names=s.axes_names,
            network=net,
            tensor=s.tensor,
            edges=[s["stack"], top[0]["l"], top[0]["r"]],
            node1_list=s.is_node1(),
        )
    r = tk.StackNode._create_resultant(
        axes_names=s.axes_names,
        network=net,
        tensor=s.tensor,
        edges=s.edges,
        node1_list=s.is_node1(),
    )
    assert r.is_resultant() and r["r"] is s["r"]  # inherited, as operations do
    assert r.edges_dict == s.edges_dict
