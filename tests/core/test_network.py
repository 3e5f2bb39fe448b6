"""TensorNetwork: registry views, lookup, deletion, reset, copies, pickling, dtype moves."""

import copy
import pickle
import warnings

import pytest
import torch
from torch import nn

import torchtn as tk


def ring(n, net=None, param=False, names=True):
    net = tk.TensorNetwork() if net is None else net
    nodes = [
        tk.randn(
            shape=(2, 3, 2),
            axes_names=("left", "input", "right"),
            network=net,
            name=f"node_({i})" if names else None,
            param_node=param,
        )
        for i in range(n)
    ]
    for i in range(n):
        nodes[i]["right"] ^ nodes[(i + 1) % n]["left"]
    return net, nodes


def test_name_str_repr():
    assert tk.TensorNetwork().name == "tensornetwork"
    assert tk.TensorNetwork(name="mps").name == "mps"

    class MyNet(tk.TensorNetwork):
        pass

    assert MyNet().name == "mynet"
    with pytest.raises(TypeError, match="name"):
        tk.TensorNetwork(name=3)
    net = tk.TensorNetwork(name="net")
    a = tk.randn(shape=(2,), network=net, name="a")
    tk.randn(shape=(2,), network=net, name="b", virtual=True)
    assert str(net) == "net"
    assert repr(net) == (
        "TensorNetwork(\n \tname: net\n\tnodes: \n\t\t[a\n\t\t b]\n"
        "\tedges:\n\t\t[a[axis_0] <-> None])"
    )
    assert list(net.children()) == [] and a.network is net


def test_role_views():
    net = tk.TensorNetwork()
    r = tk.Node._create_resultant(shape=(2,), network=net, name="r")
    v = tk.randn(shape=(2,), network=net, name="v", virtual=True)
    d = tk.randn(shape=(2,), network=net, name="d", data=True)
    leaf = tk.randn(shape=(2,), network=net, name="l")
    assert net.nodes == {"l": leaf, "d": d, "v": v, "r": r}
    assert net.nodes_names == ["l", "d", "v", "r"]
    assert net.leaf_nodes is net._leaf_nodes and net.data_nodes is net._data_nodes
    assert net.virtual_nodes == {"v": v} and net.resultant_nodes == {"r": r}
    assert net.nodes is not net.nodes
    assert net.edges == [r[0], d[0], leaf[0]]  # not the virtual node's edge
    assert net.edges is not net.edges


def test_getitem():
    net, nodes = ring(3)
    assert net["node_(1)"] is nodes[1]
    assert net[0] is nodes[0]["input"] and net[-1] is nodes[2]["input"]
    with pytest.raises(KeyError, match="tensornetwork.*'missing'"):
        net["missing"]
    with pytest.raises(IndexError):
        net[3]
    with pytest.raises(TypeError, match="int"):
        net[1.0]


def test_delete_node():
    net, nodes = ring(3)
    a, b, c = nodes
    t = b.tensor
    net.delete_node(b)
    assert b.network is None and b.tensor is None and b.neighbours() == []
    assert a.neighbours() == [c] and c.neighbours() == [a]
    assert net.edges == [a["input"], c["input"], a["right"], c["left"]]
    assert "node_(1)" not in net._memory_nodes and t is not None
    with pytest.raises(ValueError, match="not in network"):
        net.delete_node(b)
    with pytest.raises(TypeError, match="node"):
        net.delete_node("node_(0)")


def test_delete_node_renames_and_delete_all():
    net = tk.TensorNetwork()
    nodes = [tk.randn(shape=(2,), network=net) for _ in range(3)]
    net.delete_node(nodes[0])
    assert [n.name for n in nodes[1:]] == ["node_0", "node_1"]
    net.delete()
    assert net.nodes == {} and net.edges == [] and net._memory_nodes == {}
    assert net._repeated_nodes_names == {}


def test_remove_node_does_not_disconnect():
    net, nodes = ring(2)
    a, b = nodes
    t = a.tensor
    net._remove_node(a)
    assert a.network is None and a.tensor is t and a._tensor_info is None
    assert b.neighbours() == [a]  # still points to the removed node
    assert a["input"] not in net.edges


def test_add_node_override_requires_existing_name():
    net = tk.TensorNetwork()
    with pytest.raises(KeyError, match="override"):
        tk.randn(shape=(2,), network=net, name="x", override_node=True)
    with pytest.raises(KeyError):
        tk.randn(shape=(2,), name="x", override_node=True)
    assert net.nodes == {}
    old = tk.randn(shape=(2,), network=net, name="x")
    new = tk.randn(shape=(2,), network=net, name="x", override_node=True)
    assert net.nodes == {"x": new} and old.network is None


def test_network_parameterize():
    net, nodes = ring(3)
    d = tk.randn(shape=(2,), network=net, name="d", data=True)
    copy_net = net.parameterize()
    assert copy_net is not net
    assert all(isinstance(n, tk.ParamNode) for n in copy_net.leaf_nodes.values())
    assert isinstance(copy_net["d"], tk.Node) and not isinstance(copy_net["d"], tk.ParamNode)
    assert all(type(n) is tk.Node for n in net.leaf_nodes.values())
    assert list(copy_net.state_dict()) == [f"param_node_({i})" for i in range(3)]
    same = net.parameterize(override=True)
    assert same is net and isinstance(net["node_(0)"], tk.ParamNode)
    assert net["node_(0)"].neighbours() == [net["node_(2)"], net["node_(1)"]]
    back = net.parameterize(set_param=False, override=True)
    assert back is net and type(net["node_(1)"]) is tk.Node
    del d


def test_network_parameterize_resets_resultants():
    net, nodes = ring(2)
    tk.Node._create_resultant(shape=(2,), network=net, name="r")
    with pytest.warns(
        UserWarning, match="Resultant nodes will be removed before parameterizing the TN"
    ):
        out = net.parameterize()
    assert net.resultant_nodes == {} and out.resultant_nodes == {}


def test_copy_is_independent():
    net, nodes = ring(3, param=True)
    owner = tk.randn(shape=(2, 3, 2), network=net, name="uniform", virtual=True, param_node=True)
    nodes[0].set_tensor_from(owner)
    new = net.copy()
    assert new is not net and new.nodes_names == net.nodes_names
    a, a2 = net["node_(1)"], new["node_(1)"]
    assert a2 is not a and a2.network is new and torch.equal(a2.tensor, a.tensor)
    assert a2.tensor is not a.tensor
    assert new["node_(1)"].tensor is new._parameters["param_node_(1)"]
    assert new["node_(0)"].tensor_address() == "uniform"
    assert new["node_(0)"].node_ref() is new["uniform"]
    assert new["node_(0)"].neighbours() == [new["node_(2)"], new["node_(1)"]]
    assert [e.name for e in new.edges] == [e.name for e in net.edges]
    assert all(e.node1.network is new for e in new.edges)
    with torch.no_grad():
        a2.tensor.zero_()
    assert a.tensor.abs().sum() > 0


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_pickle_and_deepcopy_roundtrip(how):
    net, nodes = ring(4, param=True)
    d = tk.randn(shape=(3,), network=net, data=True, name="data")
    net2 = pickle.loads(pickle.dumps(net)) if how == "pickle" else copy.deepcopy(net)
    assert net2.nodes_names == net.nodes_names
    assert list(net2.state_dict()) == list(net.state_dict())
    for name in net.nodes_names:
        assert torch.equal(net2[name].tensor, net[name].tensor)
        assert net2[name].network is net2
    assert [e.name for e in net2.edges] == [e.name for e in net.edges]
    assert net2._memory_nodes["node_(0)"] is net2._parameters["param_node_(0)"]
    del d


def test_pickle_long_ring_does_not_recurse():
    net, nodes = ring(1500)
    net2 = pickle.loads(pickle.dumps(net))
    assert len(net2.nodes) == 1500 and len(net2.edges) == 1500
    assert net2["node_(0)"].neighbours() == [net2["node_(1499)"], net2["node_(1)"]]
    net3 = net.copy()
    assert len(net3.edges) == 1500


def test_pickle_node_alone():
    net, nodes = ring(3)
    node2 = pickle.loads(pickle.dumps(nodes[1]))
    assert node2.name == "node_(1)" and node2.network.nodes_names == net.nodes_names
    assert torch.equal(node2.tensor, nodes[1].tensor)
    removed = tk.randn(shape=(2,), name="lonely")
    removed.network.delete_node(removed)
    assert pickle.loads(pickle.dumps(removed)).network is None


def test_to_dtype_keeps_every_node_consistent():
    net, nodes = ring(2, param=True)
    plain = tk.randn(shape=(2,), network=net, name="plain")
    params = [n.tensor for n in nodes]
    net.to(torch.float64)
    for node, p in zip(nodes, params, strict=True):
        assert node.tensor is p and node.dtype == torch.float64  # converted in place
    assert plain.dtype == torch.float64  # plain tensors follow (TK left them behind)
    net.double().float()
    assert all(n.dtype == torch.float32 for n in net.nodes.values())


def test_to_complex_dtype():
    net = tk.TensorNetwork()
    nodes = [
        tk.randn(shape=(2, 2), network=net, param_node=True, dtype=torch.complex64)
        for _ in range(2)
    ]
    plain = tk.randn(shape=(2,), network=net, name="plain", dtype=torch.complex64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "Complex modules are new"
        net.to(torch.complex128)
    assert all(n.dtype == torch.complex128 for n in nodes) and plain.dtype == torch.complex128
    assert nodes[0].tensor is net._parameters["param_paramnode_0"]
    assert isinstance(nodes[0].tensor, nn.Parameter)


def test_auto_modes():
    net, nodes = ring(2)
    assert net.auto_stack is True and net.auto_unbind is False
    r = tk.Node._create_resultant(shape=(2,), network=net, name="r")
    net.auto_stack = True  # unchanged: no reset
    assert net.resultant_nodes == {"r": r}
    net.auto_unbind = True
    assert net.auto_unbind is True and net.resultant_nodes == {}
    tk.Node._create_resultant(shape=(2,), network=net, name="r")
    net.auto_stack = False
    assert net.auto_stack is False and net.resultant_nodes == {}


def test_reset_without_operations():
    net, nodes = ring(3, param=True)
    uniform = tk.randn(
        shape=(2, 3, 2), network=net, name="virtual_uniform", virtual=True, param_node=True
    )
    helper = tk.randn(shape=(2,), network=net, name="helper", virtual=True)
    vstack = tk.ParamStackNode(nodes[1:], name="virtual_result_stack", virtual=True)
    nodes[0].set_tensor_from(uniform)
    net._drop_memory_slot(nodes[1])  # as auto-stacking does
    nodes[1]._tensor_info = {"address": None, "node_ref": vstack, "index": [0]}
    r = tk.Node._create_resultant(shape=(2,), network=net, name="r")
    nodes[2]._successors["op"] = {}
    view = nodes[1].tensor
    net._seq_ops.append(("op", ()))
    net.reset()
    assert net.resultant_nodes == {} and r.network is None
    assert list(net.virtual_nodes) == ["virtual_uniform", "helper"] and vstack.network is None
    assert nodes[0].tensor_address() == "virtual_uniform"  # uniform sharing survives
    assert nodes[1].tensor_address() == "node_(1)" and torch.equal(nodes[1].tensor, view)
    assert isinstance(nodes[1].tensor, nn.Parameter)
    assert nodes[2].successors == {} and net._seq_ops == []
    assert list(net.state_dict()) == ["param_virtual_uniform", "param_node_(1)", "param_node_(2)"]
    del helper


def test_reset_keeps_references_of_data_nodes():
    net, nodes = ring(2)
    net.set_data_nodes([n["input"] for n in nodes], 1)
    tk.Node._create_resultant(shape=(2,), network=net, name="r")
    net.reset()
    assert [d.tensor_address() for d in net.data_nodes.values()] == ["stack_data_memory"] * 2


def test_base_contract_is_the_automatic_contraction():
    # Without an override, contract() contracts every leaf (here a ring with two open
    # `input` axes) in one planned step; data still needs set_data_nodes arguments.
    net, nodes = ring(2)
    expected = torch.einsum("aib,bja->ij", nodes[0].tensor, nodes[1].tensor)
    torch.testing.assert_close(net.contract().tensor, expected)
    net.reset()
    torch.testing.assert_close(net(), expected)
    with pytest.raises(TypeError, match="set_data_nodes"):
        net(torch.randn(3, 2, 3))


def test_copy_with_autograd_tensors_in_memory():
    # torch refuses to deep-copy non-leaf tensors; the copy holds detached clones.
    net, nodes = ring(2, param=True)
    r = tk.Node._create_resultant(
        shape=(2, 3, 2), network=net, name="r", tensor=nodes[0].tensor * 2
    )
    new = net.copy()
    assert torch.equal(new["r"].tensor, r.tensor) and new["r"].tensor.grad_fn is None
    assert new["r"].is_resultant() and new["node_(0)"].tensor.requires_grad
