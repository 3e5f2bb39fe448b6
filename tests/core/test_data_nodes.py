"""Data nodes: set_data_nodes / add_data / unset_data_nodes and stack_data_memory."""

import pytest
import torch

import torchtn as tk


def chain(sizes=(3, 3, 3), net=None):
    net = tk.TensorNetwork() if net is None else net
    nodes = [
        tk.randn(shape=(2, s, 2), axes_names=("left", "input", "right"), network=net) for s in sizes
    ]
    for a, b in zip(nodes[:-1], nodes[1:], strict=True):
        a["right"] ^ b["left"]
    return net, nodes


@pytest.mark.parametrize(
    ("k", "batch_names"), [(0, []), (1, ["batch"]), (2, ["batch_0", "batch_1"])]
)
def test_set_data_nodes_with_stack_memory(k, batch_names):
    net, nodes = chain()
    net.set_data_nodes([n["input"] for n in nodes], k)
    mem = net["stack_data_memory"]
    assert mem.is_virtual() and mem.tensor is None
    assert mem.shape == (3,) + (1,) * k + (3,)
    assert mem.axes_names == ["n_features"] + batch_names + ["feature"]
    assert list(net.data_nodes) == ["data_0", "data_1", "data_2"]
    for i, (d, n) in enumerate(zip(net.data_nodes.values(), nodes, strict=True)):
        assert d.is_data() and d.axes_names == batch_names + ["feature"]
        assert d.shape == (1,) * k + (3,)
        assert d["feature"] is n["input"] and d["feature"].node1 is d
        assert d._tensor_info == {"address": None, "node_ref": mem, "index": i}
        assert d.tensor_address() == "stack_data_memory"
    assert list(net._memory_nodes) == ["node_0", "node_1", "node_2", "stack_data_memory"]
    assert net.nodes_names[-1] == "stack_data_memory"
    assert net.edges == [nodes[0]["left"], nodes[2]["right"]]


def test_add_data_tensor_layout():
    net, nodes = chain()
    net.set_data_nodes([n["input"] for n in nodes], 1)
    data = torch.randn(5, 3, 3)  # batch x n_features x feature
    net.add_data(data)
    mem = net["stack_data_memory"]
    assert torch.equal(mem.tensor, data.movedim(-2, 0)) and mem.shape == (3, 5, 3)
    for i, d in enumerate(net.data_nodes.values()):
        assert torch.equal(d.tensor, data[:, i]) and d.shape == (5, 3)
    net.add_data([torch.randn(7, 3) for _ in range(3)])
    assert all(d.shape == (7, 3) for d in net.data_nodes.values())


def test_add_data_rejects_wider_features_instead_of_cropping():
    # TK cropped (keeping the last entries, with a warning); torchtn raises (issue 12).
    net, nodes = chain()
    net.set_data_nodes([n["input"] for n in nodes], 1)
    net.add_data(torch.randn(5, 3, 3))
    before = net["stack_data_memory"].tensor
    with pytest.raises(ValueError, match=r"size 4 at axis -1 .*expects 3"):
        net.add_data(torch.randn(5, 3, 4))
    with pytest.raises(ValueError, match=r"size 2 at axis -1 .*expects 3"):
        net.add_data(torch.randn(5, 3, 2))
    assert net["stack_data_memory"].tensor is before
    assert net["data_0"].shape == (5, 3)


def test_unequal_sizes_use_own_memory():
    net, nodes = chain(sizes=(3, 4))
    net.set_data_nodes([n["input"] for n in nodes], 1)
    assert "stack_data_memory" not in net.nodes
    assert [d.tensor_address() for d in net.data_nodes.values()] == ["data_0", "data_1"]
    net.add_data([torch.randn(6, 3), torch.randn(6, 4)])
    assert [d.shape for d in net.data_nodes.values()] == [(6, 3), (6, 4)]
    with pytest.raises(ValueError, match=r"`data\[0\]` has size 2 .*expects 3"):
        net.add_data([torch.randn(6, 2), torch.randn(6, 4)])


def test_int_input_edges():
    # TK only handled a single int (AttributeError otherwise); fixed: every int resolves.
    net, nodes = chain()
    inputs = [net.edges.index(n["input"]) for n in nodes]
    net.set_data_nodes(inputs, 1)
    assert [d["feature"] for d in net.data_nodes.values()] == [n["input"] for n in nodes]


def test_unset_data_nodes():
    net, nodes = chain()
    before = [e.name for e in net.edges]
    net.set_data_nodes([n["input"] for n in nodes], 1)
    data = list(net.data_nodes.values())
    net.unset_data_nodes()
    assert net.data_nodes == {} and "stack_data_memory" not in net.nodes
    assert all(d.network is None for d in data)
    assert all(n["input"].is_dangling() for n in nodes)
    assert sorted(e.name for e in net.edges) == sorted(before)
    assert net.edges[-3:] == [n["input"] for n in nodes]  # re-added at the end
    assert list(net._memory_nodes) == ["node_0", "node_1", "node_2"]
    net.unset_data_nodes()  # nothing to do
    net.set_data_nodes([n["input"] for n in nodes], 2)  # can be set again
    assert len(net.data_nodes) == 3


def test_add_data_without_data_nodes():
    net, nodes = chain()
    with pytest.raises(ValueError, match="no data nodes"):
        net.add_data(torch.randn(2, 3, 3))


@pytest.mark.parametrize(
    ("make_args", "exc", "match"),
    [
        (lambda net, n: ([], 1), ValueError, "empty"),
        (lambda net, n: ([n[1]["left"]], 1), ValueError, "dangling"),
        (lambda net, n: ([n[0]["right"]], 1), ValueError, "dangling"),
        (lambda net, n: ([n[0]["input"], "x"], 1), TypeError, "input_edges\\[1\\]"),
        (lambda net, n: ([n[0]["input"], n[0]["input"]], 1), ValueError, "twice"),
        (lambda net, n: ([n[0]["input"], 10], 1), IndexError, "10"),
        (lambda net, n: ([n[0]["input"]], -1), ValueError, "num_batch_edges"),
        (lambda net, n: ([n[0]["input"]], 1.0), TypeError, "num_batch_edges"),
        (lambda net, n: (n[0]["input"], 1), TypeError, "sequence"),
        (
            lambda net, n: ([n[0]["input"], n[1]["input"], n[2]["input"], n[3]["batch"]], 1),
            ValueError,
            "dangling",
        ),
        (lambda net, n: ([n[4]["x"]], 1), ValueError, "virtual|dangling"),
    ],
)
def test_set_data_nodes_validates_before_creating(make_args, exc, match, unchanged):
    # TK created stack_data_memory before validating; fixed: a failing call changes nothing.
    net, nodes = chain()
    nodes.append(tk.randn(shape=(2, 3), axes_names=("batch", "x"), network=net))
    nodes.append(tk.randn(shape=(3,), axes_names=("x",), network=net, virtual=True))
    args = make_args(net, nodes)
    with unchanged(net), pytest.raises(exc, match=match):
        net.set_data_nodes(*args)


def test_set_data_nodes_twice(unchanged):
    net, nodes = chain()
    net.set_data_nodes([nodes[0]["input"]], 1)
    with unchanged(net), pytest.raises(ValueError, match="already has data nodes"):
        net.set_data_nodes([nodes[1]["input"]], 1)
    data = net["data"]
    net.delete_node(data)  # data nodes gone but the stack memory is still there
    with unchanged(net), pytest.raises(ValueError, match="stack_data_memory"):
        net.set_data_nodes([nodes[1]["input"]], 1)


def test_forward_calls_set_data_nodes_and_add_data():
    class Net(tk.TensorNetwork):
        def __init__(self):
            super().__init__()
            self.nodes_ = [
                tk.randn(shape=(3,), axes_names=("input",), network=self, name="site")
                for _ in range(2)
            ]

        def set_data_nodes(self):
            super().set_data_nodes([n["input"] for n in self.nodes_], 1)

        def contract(self):
            return self["data_1"]

    net = Net()
    data = torch.randn(4, 2, 3)
    out = net(data)
    assert torch.equal(out, data[:, 1]) and len(net.data_nodes) == 2
