"""Edge / StackEdge and connect / disconnect / change_size."""

import pytest
import torch
from _core_helpers import from_edges_of

import torchtn as tk


def pair(net=None, sizes=(2, 3, 4)):
    net = tk.TensorNetwork() if net is None else net
    a = tk.randn(shape=sizes, axes_names=("left", "input", "right"), network=net, name="a")
    b = tk.randn(shape=sizes[::-1], axes_names=("left", "input", "right"), network=net, name="b")
    return net, a, b


# -- Edge ---------------------------------------------------------------------------------------
def test_edge_constructor_does_not_attach():
    net, a, b = pair()
    e = tk.Edge(a, "right", b, 0)
    assert e.nodes == [a, b] and e.axes == [a.axes[2], b.axes[0]]
    assert e.node1 is a and e.node2 is b and e.axis1 is a.axes[2] and e.axis2 is b.axes[0]
    assert a["right"] is not e and not a["right"].is_attached_to(b)
    d = tk.Edge(a, a.axes[0])
    assert d.is_dangling() and d.node2 is None and d.axis2 is None
    assert type(e._nodes) is list and type(e._axes) is list


@pytest.mark.parametrize(
    ("args", "exc"),
    [
        (("node", 0), TypeError),
        ((None, 0), TypeError),
        (("A", 1.0), TypeError),
        (("A", None), TypeError),
        (("A", 5), IndexError),
        (("A", "nope"), IndexError),
        (("A", 2, "B"), ValueError),
        (("A", 2, None, 0), ValueError),
        (("A", 2, "b", 0), TypeError),
        (("A", 2, "B", 1.5), TypeError),
        (("A", 2, "B", 1), ValueError),  # sizes 4 and 3
        (("A", 0, "A", 0), ValueError),  # same axis twice
    ],
)
def test_edge_constructor_errors(args, exc):
    net, a, b = pair()
    subst = {"A": a, "B": b}
    args = tuple(subst.get(x, x) if isinstance(x, str) else x for x in args)
    with pytest.raises(exc):
        tk.Edge(*args)


def test_edge_queries_and_strings():
    net, a, b = pair()
    e = a["right"] ^ b["left"]
    assert e.name == "a[right] <-> b[left]" and str(e) == e.name
    assert repr(e) == "Edge( a[right] <-> b[left] )"
    assert repr(a["left"]) == "Edge( a[left] <-> None )  (Dangling Edge)"
    c = tk.randn(shape=(2, 3), axes_names=("batch", "x"), network=net, name="c")
    assert repr(c["batch"]) == "Edge( c[batch] <-> None )  (Batch Edge)"
    assert c["batch"].is_batch() and not e.is_batch()
    assert e.size() == 4 and not e.is_dangling()
    assert e.is_attached_to(a) and e.is_attached_to(b) and not e.is_attached_to(c)
    a.name = "renamed"
    assert e.name == "renamed[right] <-> b[left]"


def test_edge_copy_is_plain_new_edge():
    net, a, b = pair()
    e = a["right"] ^ b["left"]
    c = e.copy()
    assert c is not e and c.nodes == e.nodes and c.axes == e.axes and type(c) is tk.Edge
    assert c._nodes is not e._nodes
    net2 = tk.TensorNetwork()
    s = tk.StackNode([tk.randn(shape=(2,), axes_names=("x",), network=net2)])
    assert type(s["x"].copy()) is tk.Edge


# -- connect ------------------------------------------------------------------------------------
def test_connect_updates_nodes_and_network_edges():
    net, a, b = pair()
    assert len(net.edges) == 6
    e = tk.connect(a["right"], b["left"])
    assert a["right"] is e and b["left"] is e
    assert a.is_node1("right") and not b.is_node1("left")
    assert e not in net.edges and len(net.edges) == 4
    assert e.connect(e) is e and (e ^ e) is e  # same edge: unchanged


def test_connect_errors():
    net, a, b = pair()
    c = tk.randn(shape=(2, 3), axes_names=("batch", "x"), network=net, name="c")
    e = a["right"] ^ b["left"]
    with pytest.raises(ValueError, match="not dangling"):
        e ^ a["left"]
    with pytest.raises(ValueError, match="not dangling"):
        a["left"] ^ e
    with pytest.raises(ValueError, match="batch"):
        c["batch"] ^ a["left"]
    with pytest.raises(ValueError, match="unequal size"):
        a["left"] ^ b["input"]
    with pytest.raises(TypeError, match="Edge"):
        tk.connect(a["left"], "edge")
    with pytest.raises(TypeError, match="Edge"):
        tk.connect(None, a["left"])


def test_connect_trace_edge():
    node = tk.randn(shape=(3, 3), axes_names=("a", "b"))
    e = node["a"] ^ node["b"]
    assert e.nodes == [node, node] and node.neighbours() == [node]
    assert node.network.edges == []


def test_connect_moves_component_between_networks():
    a = tk.randn(shape=(2, 3), axes_names=("l", "r"))
    b = tk.randn(shape=(3, 2), axes_names=("l", "r"))
    c = tk.randn(shape=(2, 2), axes_names=("l", "r"), network=b.network)
    b["r"] ^ c["l"]
    old = b.network
    a["r"] ^ b["l"]
    assert b.network is a.network and c.network is a.network
    assert (a.name, b.name, c.name) == ("node_0", "node_1", "node_2")
    assert old.nodes == {} and old.edges == [] and old._memory_nodes == {}
    assert a.network.edges == [a["l"], c["r"]]


def test_connect_inherited_edge_wires_the_owner():
    net, a, b = pair()
    r = from_edges_of(a, tk.Node._create_resultant)
    e = r["right"] ^ b["left"]
    assert a["right"] is e and r["right"] is not e and r["right"].is_dangling()


def test_connect_removed_node_edge():
    net, a, b = pair()
    net.delete_node(a)
    with pytest.raises(ValueError, match="network"):
        a["right"] ^ b["left"]


# -- disconnect ---------------------------------------------------------------------------------
def test_disconnect():
    net, a, b = pair()
    e = a["right"] ^ b["left"]
    new = e | e
    assert len(new) == 2 and new[0] is a["right"] and new[1] is b["left"]
    assert all(x.is_dangling() for x in new) and a.neighbours() == [] == b.neighbours()
    assert net.edges[-2:] == list(new) and len(net.edges) == 6
    with pytest.raises(ValueError, match="dangling"):
        a["right"].disconnect()
    e = a["right"] ^ b["left"]
    with pytest.raises(ValueError, match="itself"):
        e | a["left"]
    assert tk.disconnect(e) and a["right"].is_dangling()


def test_disconnect_copy_only_touches_holders():
    net, a, b = pair()
    e = a["right"] ^ b["left"]
    c = e.copy()
    assert c.disconnect() == ()
    assert a["right"] is e and b["left"] is e
    r = from_edges_of(a, tk.Node._create_resultant)
    r.disconnect()  # inherited edges are ignored
    assert a["right"] is e


def test_disconnect_trace_edge():
    node = tk.randn(shape=(3, 3), axes_names=("a", "b"))
    e = node["a"] ^ node["b"]
    new = e.disconnect()
    assert len(new) == 2 and node.network.edges == list(new)


def test_disconnect_virtual_node_edge_not_listed():
    net, a, b = pair()
    v = tk.randn(shape=(4,), axes_names=("x",), network=net, virtual=True, name="v")
    e = a["right"] ^ v["x"]
    e | e
    assert v["x"] not in net.edges and a["right"] in net.edges


# -- change_size ---------------------------------------------------------------------------
def test_change_size_pads_tail_and_crops_head():
    a = tk.ones(shape=(2, 3), axes_names=("l", "r"))
    b = tk.ones(shape=(3, 4), axes_names=("l", "r"), network=a.network)
    e = a["r"] ^ b["l"]
    e.change_size(4)
    assert torch.equal(a.tensor, torch.tensor([[1.0, 1, 1, 0], [1, 1, 1, 0]]))
    assert torch.equal(b.tensor[3], torch.zeros(4)) and e.size() == 4
    e.change_size(2)
    assert torch.equal(a.tensor, torch.ones(2, 2)) and b.shape == (2, 4)
    e.change_size(2)
    assert a.shape == (2, 2)


def test_change_size_grow_then_shrink_restores():
    t = torch.randn(2, 3)
    a = tk.Node(tensor=t.clone(), axes_names=("l", "r"))
    a["r"].change_size(6)
    a["r"].change_size(3)
    assert torch.equal(a.tensor, t)
    a["r"].change_size(1)
    a["r"].change_size(3)
    assert torch.equal(a.tensor[:, 0], t[:, 0]) and a.tensor[:, 1:].abs().sum() == 0


def test_change_size_empty_param_and_reference():
    e = tk.empty(shape=(2, 3))
    e[1].change_size(5)
    assert e.shape == (2, 5) and e.tensor is None
    p = tk.randn(shape=(2, 3), param_node=True)
    p[0].change_size(4)
    assert p.shape == (4, 3) and isinstance(p.tensor, torch.nn.Parameter)
    assert p.network.param_paramnode is p.tensor
    net = tk.TensorNetwork()
    owner = tk.randn(shape=(2, 3), network=net, name="owner")
    ref = tk.empty(shape=(2, 3), network=net, name="ref")
    ref.set_tensor_from(owner)
    ref[1].change_size(2)  # the reference becomes an owner of the resized tensor
    assert ref.tensor_address() == "ref" and owner.shape == (2, 3) and ref.shape == (2, 2)


@pytest.mark.parametrize(
    ("size", "exc"),
    [(2.0, TypeError), ("2", TypeError), (True, TypeError), (0, ValueError), (-1, ValueError)],
)
def test_change_size_errors(size, exc):
    a = tk.randn(shape=(2, 3))
    with pytest.raises(exc):
        a[0].change_size(size)
    assert a.shape == (2, 3)
