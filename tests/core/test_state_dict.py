"""state_dict keys, renames, round trips into fresh networks, parameters()."""

import io

import pytest
import torch
from _tol import assert_close_elem

import torchtn as tk


def build(seed=0, uniform=False):
    torch.manual_seed(seed)
    net = tk.TensorNetwork(name="mps")
    nodes = [
        tk.randn(
            shape=(2, 3, 2),
            axes_names=("left", "input", "right"),
            network=net,
            name=f"site_({i})",
            param_node=True,
        )
        for i in range(4)
    ]
    for i in range(3):
        nodes[i]["right"] ^ nodes[i + 1]["left"]
    tk.randn(shape=(2,), network=net, name="fixed")  # a plain node: not a parameter
    tk.empty(shape=(2,), network=net, name="empty_param", param_node=True)
    if uniform:
        u = tk.randn(
            shape=(2, 3, 2), network=net, name="virtual_uniform", virtual=True, param_node=True
        )
        for n in nodes:
            n.set_tensor_from(u)
    return net, nodes


def test_keys():
    net, nodes = build()
    assert list(net.state_dict()) == [f"param_site_({i})" for i in range(4)]
    assert all(net.state_dict()[f"param_site_({i})"] is not None for i in range(4))
    assert len(net._parameters) == 4  # the empty ParamNode registers nothing
    net["empty_param"].tensor = None
    assert len(net._parameters) == 5 and len(net.state_dict()) == 4


def test_uniform_keys():
    net, nodes = build(uniform=True)
    assert list(net.state_dict()) == ["param_virtual_uniform"]
    assert len(list(net.parameters())) == 1


def test_renames_change_keys():
    net = tk.TensorNetwork()
    p0 = tk.randn(shape=(2,), network=net, name="p", param_node=True)
    p1 = tk.randn(shape=(2,), network=net, name="p", param_node=True)
    assert list(net.state_dict()) == ["param_p_0", "param_p_1"]
    p1.name = "renamed"
    assert list(net.state_dict()) == ["param_p", "param_renamed"]
    assert net.state_dict()["param_p"] is not None and p0.name == "p"


@pytest.mark.parametrize("uniform", [False, True])
def test_round_trip_into_fresh_network(uniform):
    net, nodes = build(seed=0, uniform=uniform)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    fresh, fresh_nodes = build(seed=1, uniform=uniform)
    assert not torch.equal(fresh_nodes[0].tensor, nodes[0].tensor)
    params_before = [n.tensor for n in fresh_nodes]
    fresh.load_state_dict(torch.load(buffer))
    for a, b, p in zip(nodes, fresh_nodes, params_before, strict=True):
        assert torch.equal(a.tensor, b.tensor)
        assert b.tensor is p  # loaded in place: memory slots stay valid


def test_load_state_dict_strict_keys():
    net, _ = build()
    other = tk.TensorNetwork()
    tk.randn(shape=(2, 3, 2), network=other, name="other", param_node=True)
    with pytest.raises(RuntimeError, match="param_other"):
        other.load_state_dict(net.state_dict())


def test_named_parameters_deduplicate_shared_parameter():
    net = tk.TensorNetwork()
    p = tk.randn(shape=(2,), network=net, name="p", param_node=True)
    q = tk.randn(shape=(2,), network=net, name="q", param_node=True, tensor=None)
    q.tensor = p.tensor  # same Parameter object under two owners
    assert list(net.state_dict()) == ["param_p", "param_q"]
    assert [n for n, _ in net.named_parameters()] == ["param_p"]


def test_parameter_updates_reach_node_tensors():
    net, nodes = build()
    before = nodes[0].tensor.detach().clone()
    (nodes[0].tensor ** 2).sum().backward()
    with torch.no_grad():  # one SGD step over net.parameters()
        for p in net.parameters():
            if p.grad is not None:
                p -= 0.1 * p.grad
    # p - 0.1 * 2p against 0.8 p: a few roundings per entry.
    assert_close_elem(nodes[0].tensor.detach(), before * 0.8, factor=16)
