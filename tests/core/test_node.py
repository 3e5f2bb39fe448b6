"""Node: construction, properties, axis queries, structure, tensor management, copies."""

import pytest
import torch
from _core_helpers import from_edges_of
from torch import nn

import torchtn as tk
from torchtn.core._naming import OPERATION_NAMES


def mps_pair(net=None, param=False):
    net = tk.TensorNetwork() if net is None else net
    kw = dict(axes_names=("left", "input", "right"), network=net, param_node=param)
    a = tk.randn(shape=(2, 3, 4), **kw)
    b = tk.randn(shape=(4, 3, 2), **kw)
    a["right"] ^ b["left"]
    return net, a, b


# -- construction ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3), [2, 3], torch.Size([2, 3])])
def test_shape_forms(shape):
    node = tk.Node(shape=shape)
    assert node.shape == torch.Size([2, 3]) and isinstance(node.shape, torch.Size)
    assert node.tensor is None and node.rank == 2


@pytest.mark.parametrize("shape", [(2, 3), [2, 3], torch.Size([2, 3])])
def test_shape_and_equal_tensor(shape):
    # TK compared torch.Size with a list (ValueError); fixed: compared as tuples.
    t = torch.randn(2, 3)
    node = tk.Node(shape=shape, tensor=t)
    assert node.tensor is t


def test_shape_tensor_mismatch_and_neither():
    with pytest.raises(ValueError, match="does not match"):
        tk.Node(shape=(3, 2), tensor=torch.randn(2, 3))
    with pytest.raises(ValueError, match="shape"):
        tk.Node()


@pytest.mark.parametrize("shape", [2, "23", {2, 3}, (2, 3.0), [2, None]])
def test_shape_types(shape):
    with pytest.raises(TypeError, match="shape"):
        tk.Node(shape=shape)


@pytest.mark.parametrize("tensor", [[[1.0]], 1.0, "t"])
def test_tensor_type(tensor):
    with pytest.raises(TypeError, match="tensor"):
        tk.Node(tensor=tensor)


def test_axes_names_default_and_enumeration():
    assert tk.Node(shape=(2, 2, 2)).axes_names == ["axis_0", "axis_1", "axis_2"]
    node = tk.Node(shape=(2, 2, 2, 2, 2), axes_names=("a", "a", "b", "a_1", "c_0"))
    assert node.axes_names == ["a_0", "a_1", "b", "a_2", "c"]
    assert tk.Node(shape=(2, 2), axes_names=("left_0", "right_0")).axes_names == ["left", "right"]
    assert tk.Node(shape=(2, 2), axes_names="ab").axes_names == ["a", "b"]


def test_axes_names_errors():
    with pytest.raises(TypeError, match="axes_names"):
        tk.Node(shape=(2, 3), axes_names={"a", "b"})
    with pytest.raises(ValueError, match="axes_names"):
        tk.Node(shape=(2, 3), axes_names=("a",))
    with pytest.raises(TypeError, match="axes_names"):
        tk.Node(shape=(2, 3), axes_names=("a", 1))
    with pytest.raises(ValueError, match="stack"):
        tk.Node(shape=(2, 3), axes_names=("stack", "b"))


def test_names():
    assert tk.Node(shape=(2,)).name == "node"
    assert tk.ParamNode(shape=(2,)).name == "paramnode"
    for name in ["a-b", "a!", "a.b", "a\tb", "ñ"]:
        assert tk.Node(shape=(2,), name=name).name == name
    with pytest.raises(TypeError, match="name"):
        tk.Node(shape=(2,), name=3)
    with pytest.raises(ValueError, match="blank"):
        tk.Node(shape=(2,), name="my node")


@pytest.mark.parametrize("op", sorted(OPERATION_NAMES))
@pytest.mark.parametrize("suffix", ["", "_0", "_12"])
def test_operation_names_forbidden_at_construction(op, suffix):
    # TK recursed forever here; fixed: ValueError, nothing registered.
    net = tk.TensorNetwork()
    with pytest.raises(ValueError, match="reserved"):
        tk.Node(shape=(2,), name=op + suffix, network=net)
    assert net.nodes == {} and net._memory_nodes == {}


def test_operation_names_allowed_for_resultants():
    net = tk.TensorNetwork()
    r = tk.Node._create_resultant(shape=(2,), name="contract_edges", network=net)
    r2 = tk.Node._create_resultant(shape=(2,), name="contract_edges", network=net)
    assert (r.name, r2.name) == ("contract_edges_0", "contract_edges_1")
    assert r.is_resultant() and not r.is_leaf()
    assert list(net.resultant_nodes) == ["contract_edges_0", "contract_edges_1"]


def test_network_argument():
    node = tk.Node(shape=(2,))
    assert isinstance(node.network, tk.TensorNetwork)
    assert node.network.name == "tensornetwork"
    with pytest.raises(TypeError, match="network"):
        tk.Node(shape=(2,), network="net")


def test_roles():
    net = tk.TensorNetwork()
    leaf = tk.Node(shape=(2,), network=net)
    data = tk.Node(shape=(2,), network=net, data=True, name="d")
    virtual = tk.Node(shape=(2,), network=net, virtual=True, name="v")
    assert (leaf.is_leaf(), leaf.is_data(), leaf.is_virtual(), leaf.is_resultant()) == (
        True,
        False,
        False,
        False,
    )
    assert data.is_data() and not data.is_leaf() and not data.is_resultant()
    assert virtual.is_virtual() and not virtual.is_leaf()
    assert net.nodes_names == ["node", "d", "v"]
    assert net.edges == [leaf[0], data[0]]  # virtual nodes' edges are not listed
    with pytest.raises(ValueError, match="role"):
        tk.Node(shape=(2,), data=True, virtual=True)
    with pytest.raises(ValueError, match="role"):
        tk.Node._create_resultant(shape=(2,), data=True)


def test_abstract_node_not_instantiable():
    with pytest.raises(TypeError):
        tk.AbstractNode(shape=(2,))


def test_rank_zero_node():
    node = tk.randn(shape=())
    assert node.shape == torch.Size([]) and node.rank == 0 and node.numel() == 1
    assert node.edges == [] and node.tensor.dim() == 0
    with pytest.raises(IndexError):
        node.get_axis_num(-1)


def test_constructor_device_dtype_and_kwargs():
    node = tk.Node(shape=(2, 3), init_method="randn", dtype=torch.float64, mean=1.0, std=2.0)
    assert node.dtype == torch.float64 and node.device == torch.device("cpu")
    # device/dtype are silently ignored on the tensor path
    t = torch.randn(2, 3)
    assert tk.Node(tensor=t, dtype=torch.float64).tensor is t


# -- properties and axis queries --------------------------------------------------------------
def test_properties_are_live_or_copies():
    net, a, b = mps_pair()
    assert a.axes_names == ["left", "input", "right"]
    a.axes_names.append("x")
    assert a.axes_names == ["left", "input", "right"]
    assert a.edges is a._edges and a.axes is a._axes
    assert a.successors == {} and a.network is net
    assert a.dtype == torch.float32
    empty = tk.empty(shape=(2,), network=net)
    assert empty.dtype is None and empty.device is None
    assert empty.is_complex() is None and empty.is_conj() is None
    assert empty.is_floating_point() is None


def test_size_and_is_node1():
    net, a, b = mps_pair()
    assert a.size() == torch.Size([2, 3, 4]) and a.size("right") == 4 and a.size(-1) == 4
    assert a.is_node1() == [True, True, True] and b.is_node1() == [False, True, True]
    assert b.is_node1("left") is False


@pytest.mark.parametrize(
    ("axis", "num"), [(0, 0), (2, 2), (-1, 2), (-3, 0), ("input", 1), (True, 1)]
)
def test_get_axis_num(axis, num):
    node = tk.Node(shape=(2, 3, 4), axes_names=("left", "input", "right"))
    assert node.get_axis_num(axis) == num
    assert node.get_axis_num(node.axes[num]) == num
    assert node.get_axis(axis) is node.axes[num] and node.get_edge(axis) is node.edges[num]
    assert node[axis] is node.edges[num]


@pytest.mark.parametrize("axis", [3, -4, "other", "Left"])
def test_get_axis_num_index_errors(axis):
    node = tk.Node(shape=(2, 3, 4), axes_names=("left", "input", "right"), name="n")
    with pytest.raises(IndexError, match="'n'"):
        node.get_axis_num(axis)
    with pytest.raises(IndexError):
        node[axis]


@pytest.mark.parametrize("axis", [1.0, None, [0], (0,)])
def test_get_axis_num_type_errors(axis):
    node = tk.Node(shape=(2, 3, 4))
    with pytest.raises(TypeError, match="axis"):
        node.get_axis_num(axis)


def test_foreign_axis_not_found():
    a = tk.Node(shape=(2, 3), axes_names=("x", "y"))
    b = tk.Node(shape=(2, 3), axes_names=("x", "y"))
    with pytest.raises(IndexError):
        a.get_axis_num(b.axes[0])


def test_getitem_slice():
    node = tk.Node(shape=(2, 3, 4))
    assert node[1:] == node.edges[1:]


def test_in_which_axis_and_neighbours():
    net, a, b = mps_pair()
    c = tk.randn(shape=(2, 2), axes_names=("x", "y"), network=net)
    trace = c["x"] ^ c["y"]
    assert a.in_which_axis(a["right"]) is a.axes[2]
    assert b.in_which_axis(a["right"]) is b.axes[0]
    assert c.in_which_axis(trace) == (c.axes[0], c.axes[1])
    with pytest.raises(ValueError, match="not attached"):
        a.in_which_axis(b["right"])
    assert a.neighbours("right") is b and b.neighbours("left") is a
    assert a.neighbours("left") is None
    assert a.neighbours() == [b] and b.neighbours() == [a]
    assert c.neighbours() == [c] and c.neighbours("x") is c
    d = tk.randn(shape=(2, 3, 2), axes_names=("left", "input", "right"), network=net)
    d["left"] ^ b["right"]
    assert b.neighbours() == [a, d]


def test_is_connected_to():
    net, a, b = mps_pair()
    assert a.is_connected_to(b) == [(a.axes[2], b.axes[0])]
    assert b.is_connected_to(a) == [(b.axes[0], a.axes[2])]
    c = tk.randn(shape=(2, 2), axes_names=("x", "y"), network=net)
    c["x"] ^ c["y"]
    assert c.is_connected_to(c) == [(c.axes[0], c.axes[1]), (c.axes[1], c.axes[0])]
    assert a.is_connected_to(c) == []


def test_reductions():
    t = torch.randn(2, 3, 4)
    node = tk.Node(tensor=t, axes_names=("a", "b", "c"))
    assert torch.equal(node.sum(), t.sum())
    assert torch.equal(node.sum("b"), t.sum(dim=1))
    assert torch.equal(node.mean(["a", -1]), t.mean(dim=[0, 2]))
    assert torch.equal(node.std(("c",)), t.std(dim=[2]))
    assert torch.equal(node.norm(), t.norm())
    assert torch.equal(node.norm(1, "a", keepdim=True), t.norm(p=1, dim=[0], keepdim=True))
    assert node.numel() == 24 and isinstance(node.numel(), int)
    with pytest.raises(AttributeError):
        tk.empty(shape=(2,)).sum()
    c = tk.Node(tensor=torch.randn(2, dtype=torch.complex64))
    assert c.is_complex() and not c.is_floating_point() and not c.is_conj()


def test_str_and_repr():
    node = tk.ones(shape=(2, 1), axes_names=("x", "batch"), name="a")
    assert str(node) == "a"
    expected = (
        "Node(\n \tname: a\n\ttensor:\n\t\ttensor([[1.],\n\t\t        [1.]])\n"
        "\taxes:\n\t\t[x\n\t\t batch]\n\tedges:\n\t\t[a[x] <-> None\n\t\t a[batch] <-> None])"
    )
    assert repr(node) == expected
    empty = tk.empty(shape=(2,), name="e")
    assert "\ttensor:\n\t\tNone\n" in repr(empty)
    p = tk.ones(shape=(1,), param_node=True, name="p")
    assert "\t\tParameter containing:\n" in repr(p)


# -- structure --------------------------------------------------------------------------------
def test_inherited_edges_are_reattached_for_leaves():
    net, a, b = mps_pair()
    new = from_edges_of(a)
    assert all(e1 is not e2 for e1, e2 in zip(new.edges, a.edges, strict=True))
    assert new["right"].nodes == [new, b] and new.neighbours() == [b]
    assert b["left"].nodes == [a, b]  # without override the neighbour keeps the old edge
    assert new["left"] in net.edges and a["left"] in net.edges


def test_reattach_with_override_updates_neighbour():
    net, a, b = mps_pair()
    new = from_edges_of(a, override_edges=True)
    assert b["left"] is new["right"] and b.neighbours() == [new]


def test_resultant_keeps_inherited_edges_and_reattach_makes_trace():
    net, a, b = mps_pair()
    r = tk.Node._create_resultant(
        shape=(2, 3, 4, 3, 2),
        axes_names=("left", "in0", "x", "in1", "y"),
        network=net,
        edges=[a["left"], a["input"], a["right"], b["input"], b["left"]],
        node1_list=[True, True, True, True, False],
    )
    assert r["x"] is a["right"]  # inherited, not attached
    assert r.neighbours("x") is b  # the original neighbour
    r.reattach_edges(axes=["x", "y"])
    assert r["x"] is r["y"] and r["x"].nodes == [r, r]
    assert r["left"] is a["left"]
    assert a["right"].nodes == [a, b]


def test_disconnect_node():
    net, a, b = mps_pair()
    c = tk.randn(shape=(2, 3, 2), axes_names=("left", "input", "right"), network=net)
    b["right"] ^ c["left"]
    b.disconnect("left")
    assert a.neighbours() == [] and b.neighbours() == [c]
    b.disconnect()
    assert b.neighbours() == [] and c.neighbours() == []
    assert set(map(id, net.edges)) == {id(e) for n in (a, b, c) for e in n.edges}


def test_move_to_network_moves_component():
    net, a, b = mps_pair()
    lonely = tk.randn(shape=(2,), network=net, name="lonely")
    other = tk.TensorNetwork()
    existing = tk.randn(shape=(2,), network=other)
    a.network = other
    assert a.network is other and b.network is other and lonely.network is net
    assert other.nodes_names == ["node_0", "node_1", "node_2"]
    assert existing.name == "node_0"
    assert net.nodes_names == ["lonely"] and net.edges == [lonely[0]]
    assert set(map(id, other.edges)) == {
        id(e) for n in (existing, a, b) for e in n.edges if e.is_dangling()
    }
    with pytest.raises(TypeError, match="network"):
        a.move_to_network("net")


def test_move_to_network_referencing_node_becomes_owner():
    net = tk.TensorNetwork()
    owner = tk.randn(shape=(2,), network=net, name="owner")
    ref = tk.empty(shape=(2,), network=net, name="ref")
    ref.set_tensor_from(owner)
    other = tk.TensorNetwork()
    ref.move_to_network(other)
    assert ref.tensor_address() == "ref" and ref.tensor is owner.tensor
    assert other._memory_nodes["ref"] is owner.tensor


# -- tensors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "check"),
    [
        ("zeros", lambda t: torch.equal(t, torch.zeros(2, 3, 3))),
        ("ones", lambda t: torch.equal(t, torch.ones(2, 3, 3))),
        ("rand", lambda t: bool(((t >= 0) & (t < 1)).all())),
        ("randn", lambda t: t.shape == (2, 3, 3)),
    ],
)
def test_make_tensor(method, check):
    node = tk.empty(shape=(2, 3, 3))
    assert check(node.make_tensor(init_method=method))
    assert node.tensor is None


def test_make_copy_tensor():
    t = tk.empty(shape=(2, 3, 3)).make_tensor(init_method="copy")
    expected = torch.zeros(2, 3, 3)
    expected[0, 0, 0] = expected[1, 1, 1] = 1
    assert torch.equal(t, expected)
    assert torch.equal(
        tk.empty(shape=(3,)).make_tensor(init_method="copy"), torch.tensor([1.0, 0, 0])
    )
    assert tk.empty(shape=()).make_tensor(init_method="copy").item() == 1.0


def test_make_tensor_arguments():
    node = tk.empty(shape=(2, 3))
    t = node.make_tensor((4,), "rand", dtype=torch.float64, low=-2.0, high=-1.0)
    assert t.shape == (4,) and t.dtype == torch.float64 and ((t >= -2) & (t < -1)).all()
    assert node.make_tensor(init_method="zeros", foo=1.0).shape == (2, 3)  # ignored
    with pytest.raises(TypeError, match="low"):
        node.make_tensor(init_method="rand", low=0)
    with pytest.raises(ValueError, match="low < high"):
        node.make_tensor(init_method="rand", low=1.0, high=1.0)
    with pytest.raises(TypeError, match="std"):
        node.make_tensor(init_method="randn", std=1)
    with pytest.raises(ValueError, match="std"):
        node.make_tensor(init_method="randn", std=0.0)
    with pytest.raises(TypeError, match="unexpected"):
        node.make_tensor(init_method="randn", low=0.0)
    with pytest.raises(ValueError, match="init_method"):
        node.make_tensor(init_method="eye")


def test_set_tensor_stores_without_copy():
    node = tk.empty(shape=(2, 3))
    t = torch.randn(2, 3)
    node.tensor = t
    assert node.tensor is t and node.network._memory_nodes["node"] is t
    t[0, 0] = 42.0
    assert node.tensor[0, 0] == 42.0
    p = nn.Parameter(torch.randn(2, 3))
    node.set_tensor(p)
    assert not isinstance(node.tensor, nn.Parameter) and node.tensor.data_ptr() == p.data_ptr()


def test_set_tensor_init_methods_keep_dtype():
    node = tk.randn(shape=(2, 3), dtype=torch.float64)
    node.set_tensor(init_method="ones")
    assert node.dtype == torch.float64 and torch.equal(node.tensor, torch.ones(2, 3).double())
    node.set_tensor()
    assert torch.equal(node.tensor, torch.zeros(2, 3).double())
    node.set_tensor(init_method="randn", dtype=torch.float32)
    assert node.dtype == torch.float32
    node.set_tensor(None, init_method=None)  # TK crashed; fixed: empties the node
    assert node.tensor is None and node.shape == (2, 3)


def test_set_tensor_crops_keeping_tail_with_warning():
    node = tk.empty(shape=(2, 3), axes_names=("x", "batch"), name="n")
    t = torch.arange(20.0).reshape(4, 5)
    with pytest.warns(UserWarning) as record:
        node.tensor = t
    assert str(record[0].message) == (
        '`tensor` is being cropped to fit the shape of node "n" at non-batch edges'
    )
    assert torch.equal(node.tensor, t[2:]) and node.shape == (2, 5)


def test_set_tensor_errors():
    node = tk.empty(shape=(2, 3), name="n")
    with pytest.raises(ValueError, match="smaller"):
        node.tensor = torch.randn(1, 3)
    with pytest.raises(ValueError, match="rank"):
        node.tensor = torch.randn(2, 3, 1)
    with pytest.raises(TypeError, match="'n'"):
        node.set_tensor([[1.0]])
    assert node.tensor is None


@pytest.mark.parametrize(("kwarg", "value"), [("device", "cpu"), ("dtype", torch.float64)])
def test_set_tensor_warns_ignored_device_dtype(kwarg, value):
    node = tk.empty(shape=(2,))
    t = torch.randn(2)
    with pytest.warns(UserWarning, match="is being ignored"):
        node.set_tensor(t, **{kwarg: value})
    assert node.tensor is t


def test_set_and_unset_permissions():
    net = tk.TensorNetwork()
    r = tk.Node._create_resultant(shape=(2,), name="r", network=net)
    with pytest.raises(ValueError, match="resultant"):
        r.tensor = torch.randn(2)
    with pytest.raises(ValueError, match="resultant"):
        r.unset_tensor()
    owner = tk.randn(shape=(2,), network=net, name="owner")
    ref = tk.empty(shape=(2,), network=net, name="ref")
    ref.set_tensor_from(owner)
    with pytest.raises(ValueError, match="reset_tensor_address"):
        ref.tensor = torch.randn(2)
    with pytest.raises(ValueError, match="references"):
        ref.tensor = None
    r._unrestricted_set_tensor(torch.ones(2))
    assert torch.equal(r.tensor, torch.ones(2))


def test_unset_keeps_shape():
    node = tk.randn(shape=(2, 3))
    node.tensor = None
    assert node.tensor is None and node.shape == (2, 3)
    assert "node" in node.network._memory_nodes


def test_direct_set_and_get():
    node = tk.empty(shape=(2, 3), axes_names=("batch", "x"))
    t = torch.randn(5, 7)
    node._direct_set_tensor(t)  # no checks at all
    assert node.tensor is t and node.shape == (5, 7)
    assert node._direct_get_tensor(node, None) is t
    assert torch.equal(node._direct_get_tensor(node, [1, slice(0, 2)]), t[1, :2])


# -- change_type, copy, parameterize ----------------------------------------------------------
def test_change_type():
    net, a, b = mps_pair()
    a.change_type(leaf=True)  # current role: a true no-op (keeps dict order)
    assert list(net.leaf_nodes) == ["node_0", "node_1"]
    a.change_type(virtual=True)
    assert list(net.leaf_nodes) == ["node_1"] and list(net.virtual_nodes) == ["node_0"]
    assert a.is_virtual() and a["left"] not in net.edges  # fixed: edges follow the role
    a.change_type(data=True)
    assert a.is_data() and a["left"] in net.edges and a["input"] in net.edges
    a.change_type(leaf=True)
    assert list(net.leaf_nodes) == ["node_1", "node_0"]


@pytest.mark.parametrize("flags", [{}, dict(leaf=True, data=True), dict(leaf=True, virtual=True)])
def test_change_type_needs_one_flag(flags):
    net, a, b = mps_pair()
    with pytest.raises(ValueError, match="exactly one"):
        a.change_type(**flags)


def test_change_type_of_resultant():
    r = tk.Node._create_resultant(shape=(2,), name="r")
    with pytest.raises(ValueError, match="[Rr]esultant"):
        r.change_type(leaf=True)


def test_copy_clones_and_names():
    net, a, b = mps_pair()
    a.name = "a"
    c1 = a.copy()
    assert c1.name == "a_copy" and c1.is_leaf() and c1.axes_names == a.axes_names
    assert torch.equal(c1.tensor, a.tensor) and c1.tensor is not a.tensor
    c1.tensor.zero_()
    assert a.tensor.abs().sum() > 0  # fixed: TK stored the same tensor object
    assert c1.tensor_address() == "a_copy"
    c2 = a.copy()
    assert (c1.name, c2.name) == ("a_copy_0", "a_copy_1")
    assert c1.copy().name == "a_copy_0_copy"
    assert c1["right"].nodes == [c1, b] and b["left"].nodes == [a, b]
    assert c1.is_node1() == a.is_node1()
    assert c1["left"] in net.edges and c1["input"] in net.edges


def test_copy_share_tensor_and_empty():
    net, a, b = mps_pair()
    s = a.copy(share_tensor=True)
    assert s.tensor_address() == a.name and s.tensor is a.tensor
    e = tk.empty(shape=(2,), network=net, name="e")
    assert e.copy().tensor is None and e.copy(True).tensor is None


def test_copy_of_data_node_is_leaf_and_rank1_axis_name():
    node = tk.randn(shape=(2,), data=True)
    copy = node.copy()
    assert copy.is_leaf() and copy.axes_names == ["axis"]  # enum_repeated_names strips _0


def test_parameterize_replaces_node():
    net, a, b = mps_pair()
    t = a.tensor
    p = a.parameterize()
    assert isinstance(p, tk.ParamNode) and p.is_leaf()
    assert a.network is None and a.tensor is t  # the old node keeps its tensor aside
    assert p.tensor.data_ptr() == t.data_ptr() and isinstance(p.tensor, nn.Parameter)
    assert b.neighbours() == [p] and p.neighbours() == [b]
    assert a["right"].nodes == [a, b]  # old node keeps old edges, b does not see it
    assert (p.name, b.name) == ("node_1", "node_0")
    assert net.edges == [b["input"], b["right"], p["left"], p["input"]]
    assert list(net.state_dict()) == ["param_node_1"]
    assert a.parameterize(False) is a


def test_parameterize_data_and_renamed_resultant():
    net = tk.TensorNetwork()
    d = tk.randn(shape=(2,), data=True, network=net, name="d")
    assert d.parameterize().is_leaf()
    r = tk.Node._create_resultant(
        shape=(2,), name="contract_edges", network=net, tensor=torch.randn(2)
    )
    with pytest.raises(ValueError, match="reserved"):
        r.parameterize()
    assert r.network is net and net.resultant_nodes == {"contract_edges": r}
    r.name = "paramnode3"
    p = r.parameterize()
    assert p.name == "paramnode3" and p.is_leaf()
