"""Naming rules (components.md §2): helpers, enumeration, renaming shuffles, dict orders."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torchtn as tk
from torchtn._utils import check_name_style, enum_repeated_names, erase_enum
from torchtn.core._naming import OPERATION_NAMES


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("node", "node"),
        ("node_0", "node"),
        ("node_0_1", "node"),
        ("my_node_12", "my_node"),
        ("node_(0)", "node_(0)"),
        ("node1", "node1"),
        ("node_", "node_"),
        ("a__1", "a_"),
        ("_0", ""),
        ("0", ""),
        ("12_3", ""),
    ],
)
def test_erase_enum(name, base):
    assert erase_enum(name) == base


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("my_axis", "my_axis"), ["my_axis_0", "my_axis_1"]),
        (("", ""), ["_0", "_1"]),
        (("left_0", "right_0"), ["left", "right"]),
        (("a_1", "b_2"), ["a", "b"]),
        (("axis_0",), ["axis"]),
        (("a", "a", "b", "a_1", "c_0"), ["a_0", "a_1", "b", "a_2", "c"]),
        ((), []),
    ],
)
def test_enum_repeated_names(names, expected):
    assert enum_repeated_names(names) == expected


def test_check_name_style():
    assert check_name_style("a-b!.\t", "node") and not check_name_style("a b", "node")
    assert check_name_style("ab_1", "axis") and not check_name_style("a-b", "axis")
    with pytest.raises(ValueError):
        check_name_style("a", "edge")


def net_of(*names, **kw):
    net = tk.TensorNetwork()
    return net, [tk.randn(shape=(2,), network=net, name=n, **kw) for n in names]


def test_enumeration_on_creation():
    net, nodes = net_of("node", "node", "node")
    assert [n.name for n in nodes] == ["node_0", "node_1", "node_2"]
    net, nodes = net_of("x_0", "x_1", "x_5")
    assert [n.name for n in nodes] == ["x_0", "x_1", "x_2"]
    net, nodes = net_of("x", "x_(0)", "x_(0)")
    assert [n.name for n in nodes] == ["x", "x_(0)_0", "x_(0)_1"]
    assert net._repeated_nodes_names == {"x": 1, "x_(0)": 2}


def test_removal_shifts_names():
    net, nodes = net_of("x", "x", "x", "x")
    net.delete_node(nodes[1])
    assert [n.name for n in nodes if n.network] == ["x_0", "x_1", "x_2"]
    net.delete_node(nodes[0])
    net.delete_node(nodes[3])
    assert nodes[2].name == "x" and net._repeated_nodes_names == {"x": 1}
    net.delete_node(nodes[2])
    assert net._repeated_nodes_names == {}


def test_removal_without_moving_names_never_reuses_a_name():
    net, nodes = net_of("x", "x", "x")
    net.delete_node(nodes[0], move_names=False)
    assert [n.name for n in nodes[1:]] == ["x_1", "x_2"]
    new = tk.randn(shape=(2,), network=net, name="x")
    # TK handed out "x_2" again (shadowing the older node); fixed: next free suffix.
    assert new.name == "x_3" and set(net.nodes) == {"x_1", "x_2", "x_3"}
    assert net["x_2"] is nodes[2]


def test_rename_rules():
    net, (n1, n2) = net_of("node1", "node2")
    n1.name = "node2"
    assert (n1.name, n2.name) == ("node2_1", "node2_0")
    n1.name = "node1"
    assert (n1.name, n2.name) == ("node1", "node2")
    net, nodes = net_of("node", "node")
    nodes[0].name = "node_1"  # same base: no-op
    assert nodes[0].name == "node_0"
    with pytest.raises(TypeError):
        nodes[0].name = 1
    with pytest.raises(ValueError, match="blank"):
        nodes[0].name = "a b"


def test_rename_example_keys():
    net, nodes = net_of("node", "node", "node", "node")
    nodes[0].name = "my_node"
    assert net.nodes_names == ["node_0", "node_1", "node_2", "my_node"]
    assert list(net._memory_nodes) == ["node_0", "node_1", "node_2", "my_node"]
    net["node_0"].name = "my_node"
    assert net.nodes_names == ["node_0", "node_1", "my_node_0", "my_node_1"]
    assert net["my_node_1"] is nodes[1] and net["my_node_0"] is nodes[0]


def test_rename_to_data_keeps_role():
    net = tk.TensorNetwork()
    d = [tk.randn(shape=(2,), network=net, name="data", data=True) for _ in range(2)]
    leaf = tk.randn(shape=(2,), network=net, name="leaf")
    leaf.name = "data"
    assert leaf.name == "data_2" and leaf.is_leaf() and list(net.data_nodes) == ["data_0", "data_1"]
    del d


@pytest.mark.parametrize("op", sorted(OPERATION_NAMES))
def test_rename_to_operation_name_forbidden(op, unchanged):
    net, (a, b) = net_of("a", "b")
    with unchanged(net), pytest.raises(ValueError, match="reserved"):
        a.name = op + "_2"
    r = tk.Node._create_resultant(shape=(2,), network=net, name="stack")
    r.name = op  # resultants are exempt
    assert erase_enum(r.name) == op


def test_removed_node_can_be_renamed_freely():
    net, (a,) = net_of("a")
    net.delete_node(a)
    a.name = "stack"
    assert a.name == "stack"


# Orders checked against TensorKrowch 1.1.6.
def test_dict_orders_match_tensorkrowch():
    net, _ = net_of("a", "b", "a")
    assert net.nodes_names == ["b", "a_0", "a_1"]
    assert [e.name for e in net.edges] == [
        "b[axis_0] <-> None",
        "a_0[axis_0] <-> None",
        "a_1[axis_0] <-> None",
    ]
    net, xs = net_of("x", "y", "x", "y", "x", param_node=True)
    assert net.nodes_names == ["x_0", "x_1", "y_0", "y_1", "x_2"]
    net.delete_node(xs[0])
    assert net.nodes_names == list(net._memory_nodes) == ["x_0", "y_0", "y_1", "x_1"]
    assert list(net.state_dict()) == ["param_y_0", "param_y_1", "param_x_0", "param_x_1"]
    assert [e.node1.name for e in net.edges] == ["y_0", "y_1", "x_0", "x_1"]
    xs[2].name = "q"
    assert net.nodes_names == ["y_0", "y_1", "x", "q"]
    assert list(net.state_dict()) == ["param_y_0", "param_y_1", "param_x", "param_q"]
    xs[4].name = "y"
    assert net.nodes_names == ["y_0", "y_1", "q", "y_2"]
    assert list(net.state_dict()) == ["param_y_0", "param_y_1", "param_q", "param_y_2"]
    assert [e.node1.name for e in net.edges] == ["y_0", "y_1", "q", "y_2"]


def test_rename_moves_memory_and_references_follow():
    net, (owner, ref) = net_of("owner", "ref")
    ref.set_tensor_from(owner)
    t = owner.tensor
    owner.name = "renamed"
    assert owner.tensor is t and net._memory_nodes["renamed"] is t
    assert owner._tensor_info == {"address": "renamed", "node_ref": None, "index": None}
    assert ref.tensor_address() == "renamed" and ref.tensor is t


def test_shifted_reference_keeps_referencing():
    # TK turned a referencing node into a half-owner when its name slot was taken over.
    net = tk.TensorNetwork()
    uniform = tk.randn(shape=(2,), network=net, name="uniform", virtual=True)
    nodes = [tk.empty(shape=(2,), network=net, name="n") for _ in range(3)]
    for n in nodes:
        n.set_tensor_from(uniform)
    nodes[0].name = "other"
    net.delete_node(nodes[1])
    assert [n.tensor_address() for n in (nodes[0], nodes[2])] == ["uniform", "uniform"]
    assert list(net._memory_nodes) == ["uniform"]


def test_copy_names():
    net, (a,) = net_of("a")
    c1 = a.copy()
    assert c1.name == "a_copy"
    c2 = a.copy()
    assert (c1.name, c2.name) == ("a_copy_0", "a_copy_1")
    assert c1.copy().name == "a_copy_0_copy"


# -- random sequences keep the invariants ------------------------------------------------
BASES = ["a", "a_1", "b", "x_(0)", "node", "data_in"]

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"),
            st.sampled_from(BASES),
            st.sampled_from(["leaf", "data", "virtual", "param", "empty"]),
        ),
        st.tuples(st.just("rename"), st.integers(0, 50), st.sampled_from(BASES)),
        st.tuples(st.just("delete"), st.integers(0, 50), st.booleans()),
        st.tuples(st.just("connect"), st.integers(0, 50), st.integers(0, 50)),
        st.tuples(st.just("share"), st.integers(0, 50), st.integers(0, 50)),
        st.tuples(
            st.just("role"), st.integers(0, 50), st.sampled_from(["leaf", "data", "virtual"])
        ),
        st.tuples(st.just("parameterize"), st.integers(0, 50), st.booleans()),
    ),
    max_size=30,
)


def check_invariants(net, objects):
    alive = [n for n in objects if n.network is net]
    names = [n.name for n in alive]
    assert len(set(names)) == len(names)
    assert sorted(net.nodes_names) == sorted(names) == sorted(net._all_nodes)
    for role, d in (
        ("leaf", net.leaf_nodes),
        ("data", net.data_nodes),
        ("virtual", net.virtual_nodes),
    ):
        assert all(getattr(n, f"is_{role}")() and d[k] is n for k, n in d.items())
    counts = {}
    for n in names:
        counts[erase_enum(n)] = counts.get(erase_enum(n), 0) + 1
    assert net._repeated_nodes_names == counts
    owners = {n.name for n in alive if n._tensor_info["address"] is not None}
    assert set(net._memory_nodes) == owners
    readable = []
    for n in alive:
        assert n._tensor_info["address"] in (None, n.name)
        ref = n._tensor_info["node_ref"]
        if ref is None or (ref.network is net and ref._tensor_info["address"] is not None):
            readable.append(n)
        elif ref.network is net:  # references are one hop: the target references too
            assert n.tensor_address() is None
            with pytest.raises(KeyError):
                _ = n.tensor
        else:  # one-hop reference to a node that left the network
            with pytest.raises(TypeError):
                _ = n.tensor
    params = {k for k, v in net._parameters.items() if v is not None}
    assert params == {
        f"param_{n.name}"
        for n in alive
        if isinstance(n, tk.ParamNode)
        and n.name in owners
        and net._memory_nodes[n.name] is not None
    }
    expected_edges = [
        e
        for n in alive
        if not n.is_virtual()
        for e in n.edges
        if e.is_dangling() and not e.is_batch() and e.node1 is n
    ]
    assert {id(e) for e in net.edges} == {id(e) for e in expected_edges}
    assert len(net.edges) == len(expected_edges)
    for n in readable:
        assert n.tensor is None or n.tensor.shape == n.shape


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_random_sequences_keep_invariants(seq):
    net = tk.TensorNetwork()
    objects = []
    for action in seq:
        alive = [n for n in objects if n.network is net]
        kind = action[0]
        if kind == "create":
            _, base, role = action
            kw = dict(shape=(2, 2), axes_names=("l", "r"), network=net, name=base)
            if role == "param":
                objects.append(tk.randn(param_node=True, **kw))
            elif role == "empty":
                objects.append(tk.empty(**kw))
            else:
                objects.append(tk.randn(data=role == "data", virtual=role == "virtual", **kw))
        elif not alive:
            continue
        elif kind == "rename":
            alive[action[1] % len(alive)].name = action[2]
        elif kind == "delete":
            net.delete_node(alive[action[1] % len(alive)], move_names=action[2])
        elif kind == "connect":
            a, b = alive[action[1] % len(alive)], alive[action[2] % len(alive)]
            if a["r"].is_dangling() and b["l"].is_dangling():
                a["r"] ^ b["l"]
        elif kind == "share":
            a, b = alive[action[1] % len(alive)], alive[action[2] % len(alive)]
            if isinstance(a, type(b)) and b._tensor_info["node_ref"] is not a:
                a.set_tensor_from(b)
        elif kind == "role":
            node = alive[action[1] % len(alive)]
            if isinstance(node, tk.ParamNode):
                if action[2] != "data":
                    node.change_type(**{action[2]: True})
            else:
                node.change_type(**{action[2]: True})
        elif kind == "parameterize":
            node = alive[action[1] % len(alive)]
            if node.is_leaf():
                try:
                    new = node.parameterize(action[2])
                except TypeError:
                    # a node whose reference target was replaced (one-hop references)
                    continue
                if new is not node:
                    objects.append(new)
        check_invariants(net, objects)
    torch.testing.assert_close(len(net.nodes), len([n for n in objects if n.network is net]))


def test_enumeration_shift_invalidates_cached_addresses():
    """Adding a second `a` renames the first to `a_0`: its memory slot moves, so replays
    and cached operand addresses built before must be seen as stale."""
    net = tk.TensorNetwork()
    first = tk.Node(shape=(2,), name="a", network=net)
    layout = net._recording.layout
    tk.Node(shape=(2,), name="a", network=net)
    assert first.name == "a_0"
    assert net._recording.layout > layout
