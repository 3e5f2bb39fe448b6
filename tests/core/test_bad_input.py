"""Bad input: every wrong type or value raises the documented exception, names the node,
axis or edge involved, and leaves the network exactly as it was."""

import pytest
import torch

import torchtn as tk


@pytest.fixture
def world():
    """A small network with every kind of node: leaf Node/ParamNode, virtual, resultant,
    a referencing node and an empty node, plus a second network."""
    net = tk.TensorNetwork(name="net")
    kw = dict(axes_names=("left", "input", "right"), network=net)
    a = tk.randn(shape=(2, 3, 4), name="a", param_node=True, **kw)
    b = tk.randn(shape=(4, 3, 2), name="b", **kw)
    a["right"] ^ b["left"]
    c = tk.empty(shape=(2, 3), axes_names=("batch", "x"), name="c", network=net)
    u = tk.randn(shape=(2,), axes_names=("x",), name="u", network=net, virtual=True)
    ref = tk.empty(shape=(4, 3, 2), name="ref", **kw)
    ref.set_tensor_from(b)
    r = tk.Node._create_resultant(
        shape=(2,), axes_names=("x",), name="contract_edges", network=net, tensor=torch.zeros(2)
    )
    other = tk.randn(shape=(2, 3, 4), name="o", axes_names=("left", "input", "right"))
    return dict(net=net, a=a, b=b, c=c, u=u, ref=ref, r=r, other=other, onet=other.network)


def setattr_(obj, attr, value):
    setattr(obj, attr, value)


CASES = [
    # -- node construction in the network --
    (
        "shape type",
        lambda w: tk.Node(shape=3, network=w["net"], name="n"),
        TypeError,
        r"'n'.*shape.*tuple",
    ),
    (
        "shape element",
        lambda w: tk.Node(shape=(2, "3"), network=w["net"], name="n"),
        TypeError,
        r"'n'.*int",
    ),
    (
        "tensor type",
        lambda w: tk.Node(tensor=[1.0], network=w["net"], name="n"),
        TypeError,
        r"'n'.*torch.Tensor",
    ),
    (
        "shape vs tensor",
        lambda w: tk.Node(shape=(2,), tensor=torch.zeros(3), network=w["net"], name="n"),
        ValueError,
        r"'n'.*\(2,\).*\(3,\)",
    ),
    ("no shape", lambda w: tk.Node(network=w["net"], name="n"), ValueError, "'n'.*shape"),
    (
        "axes set",
        lambda w: tk.Node(shape=(2,), axes_names={"x"}, network=w["net"], name="n"),
        TypeError,
        "'n'.*axes_names",
    ),
    (
        "axes length",
        lambda w: tk.Node(shape=(2,), axes_names=("x", "y"), network=w["net"], name="n"),
        ValueError,
        r"'n'.*expected one per axis \(1\)",
    ),
    (
        "axes element",
        lambda w: tk.Node(shape=(2,), axes_names=(3,), network=w["net"], name="n"),
        TypeError,
        "'n'.*str",
    ),
    (
        "stack axis",
        lambda w: tk.Node(shape=(2,), axes_names=("stack",), network=w["net"], name="n"),
        ValueError,
        "'n'.*'stack'",
    ),
    ("name type", lambda w: tk.Node(shape=(2,), network=w["net"], name=1), TypeError, "str"),
    (
        "name space",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="a b"),
        ValueError,
        "'a b'.*blank",
    ),
    (
        "name operation",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="permute_0"),
        ValueError,
        "'permute_0'.*reserved",
    ),
    (
        "network type",
        lambda w: tk.Node(shape=(2,), network="net", name="n"),
        TypeError,
        "'n'.*TensorNetwork",
    ),
    (
        "two roles",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="n", data=True, virtual=True),
        ValueError,
        "'n'.*one role",
    ),
    (
        "role type",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="n", data=1),
        TypeError,
        "'n'.*bool",
    ),
    (
        "edges no flags",
        lambda w: tk.Node(shape=(2, 3, 4), network=w["net"], name="n", edges=w["a"].edges),
        ValueError,
        "'n'.*node1_list",
    ),
    (
        "flags type",
        lambda w: tk.Node(
            shape=(2, 3, 4),
            network=w["net"],
            name="n",
            edges=w["a"].edges,
            node1_list=[1, 1, 1],
            override_edges=True,
        ),
        TypeError,
        "'n'.*bool",
    ),
    (
        "edges length",
        lambda w: tk.Node(
            shape=(2, 3, 4),
            network=w["net"],
            name="n",
            edges=w["a"].edges[:2],
            node1_list=[True] * 3,
            override_edges=True,
        ),
        ValueError,
        "'n'.*3 entries",
    ),
    (
        "edges type",
        lambda w: tk.Node(
            shape=(2, 3, 4), network=w["net"], name="n", edges=[1, 2, 3], node1_list=[True] * 3
        ),
        TypeError,
        "'n'.*Edge",
    ),
    (
        "tensor too small for inherited edges",
        lambda w: tk.Node(
            tensor=torch.zeros(2, 3, 3),
            network=w["net"],
            name="n",
            edges=w["a"].edges,
            node1_list=w["a"].is_node1(),
            override_edges=True,
        ),
        ValueError,
        "'n'.*smaller",
    ),
    (
        "override missing",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="zz", override_node=True),
        KeyError,
        "'zz'",
    ),
    (
        "init method",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="n", init_method="eye"),
        ValueError,
        "'n'.*init_method",
    ),
    (
        "init kwargs",
        lambda w: tk.Node(shape=(2,), network=w["net"], name="n", init_method="randn", std=2),
        TypeError,
        "'n'.*std.*float",
    ),
    (
        "param data",
        lambda w: tk.ParamNode(shape=(2,), network=w["net"], data=True),
        TypeError,
        "data",
    ),
    ("stack mixed", lambda w: tk.StackNode([w["a"], w["b"]]), TypeError, "'a'.*'b'"),
    (
        "stack networks",
        lambda w: tk.StackNode([w["b"], w["other"]]),
        ValueError,
        "'b'.*'o'|networks",
    ),
    # -- node attributes --
    ("rename type", lambda w: setattr_(w["a"], "name", 1), TypeError, "str"),
    ("rename space", lambda w: setattr_(w["a"], "name", "x y"), ValueError, "'x y'"),
    (
        "rename operation",
        lambda w: setattr_(w["b"], "name", "contract_edges"),
        ValueError,
        "reserved",
    ),
    (
        "axis rename type",
        lambda w: setattr_(w["a"].axes[0], "name", 2),
        TypeError,
        "'left' of node 'a'",
    ),
    (
        "axis rename stack",
        lambda w: setattr_(w["a"].axes[0], "name", "stack"),
        ValueError,
        "'left' of node 'a'.*stack",
    ),
    ("axis num float", lambda w: w["a"].get_axis_num(1.0), TypeError, "int, str or Axis"),
    ("axis missing", lambda w: w["a"]["nope"], IndexError, "'a'.*'nope'"),
    ("axis out of range", lambda w: w["a"].get_edge(3), IndexError, "'a'.*3"),
    ("axis foreign", lambda w: w["a"].get_axis(w["b"].axes[0]), IndexError, "'a'"),
    ("in_which_axis", lambda w: w["a"].in_which_axis(w["c"]["x"]), ValueError, "'a'"),
    (
        "network setter",
        lambda w: setattr_(w["a"], "network", "net"),
        TypeError,
        "'a'.*TensorNetwork",
    ),
    # -- tensors --
    ("set tensor type", lambda w: w["b"].set_tensor([1.0]), TypeError, "'b'.*torch.Tensor"),
    (
        "set tensor rank",
        lambda w: setattr_(w["b"], "tensor", torch.zeros(4, 3)),
        ValueError,
        "'b'.*rank",
    ),
    (
        "set tensor small",
        lambda w: setattr_(w["b"], "tensor", torch.zeros(4, 2, 2)),
        ValueError,
        "'b'.*'input'.*smaller",
    ),
    (
        "set tensor resultant",
        lambda w: setattr_(w["r"], "tensor", torch.zeros(2)),
        ValueError,
        "'contract_edges'.*resultant",
    ),
    ("unset resultant", lambda w: w["r"].unset_tensor(), ValueError, "'contract_edges'.*resultant"),
    (
        "set tensor reference",
        lambda w: setattr_(w["ref"], "tensor", torch.zeros(4, 3, 2)),
        ValueError,
        "'ref'.*'b'",
    ),
    ("unset reference", lambda w: setattr_(w["ref"], "tensor", None), ValueError, "'ref'.*'b'"),
    (
        "set tensor init kwargs",
        lambda w: w["b"].set_tensor(init_method="rand", low=1),
        TypeError,
        "'b'.*low",
    ),
    (
        "set tensor init method",
        lambda w: w["b"].set_tensor(init_method="bad"),
        ValueError,
        "'b'.*init_method",
    ),
    ("share type", lambda w: w["b"].set_tensor_from(w["a"]), TypeError, "'b'.*'a'"),
    ("share param from node", lambda w: w["a"].set_tensor_from(w["b"]), TypeError, "'a'"),
    ("share not node", lambda w: w["b"].set_tensor_from(3), TypeError, "'b'"),
    (
        "share network",
        lambda w: w["b"].set_tensor_from(w["other"]),
        ValueError,
        "'b'.*same network",
    ),
    ("share cycle", lambda w: w["b"].set_tensor_from(w["ref"]), ValueError, "'ref'.*'b'"),
    ("change size type", lambda w: w["a"]["left"].change_size(2.0), TypeError, r"a\[left\].*int"),
    (
        "change size value",
        lambda w: w["a"]["right"].change_size(0),
        ValueError,
        r"a\[right\].*positive",
    ),
    # -- roles --
    ("change type flags", lambda w: w["b"].change_type(), ValueError, "'b'.*exactly one"),
    (
        "change type two",
        lambda w: w["b"].change_type(leaf=True, data=True),
        ValueError,
        "'b'.*exactly one",
    ),
    (
        "change type resultant",
        lambda w: w["r"].change_type(leaf=True),
        ValueError,
        "'contract_edges'",
    ),
    ("param change type data", lambda w: w["a"].change_type(data=True), TypeError, "data"),
    (
        "parameterize reserved name",
        lambda w: w["r"].parameterize(),
        ValueError,
        "'contract_edges'.*reserved",
    ),
    # -- edges --
    (
        "connect connected",
        lambda w: w["a"]["right"] ^ w["b"]["right"],
        ValueError,
        r"a\[right\] <-> b\[left\].*not dangling",
    ),
    ("connect batch", lambda w: w["c"]["batch"] ^ w["a"]["left"], ValueError, r"c\[batch\].*batch"),
    (
        "connect sizes",
        lambda w: w["a"]["left"] ^ w["b"]["input"],
        ValueError,
        r"a\[left\].*2.*b\[input\].*3",
    ),
    ("connect type", lambda w: tk.connect(w["a"]["left"], w["b"]), TypeError, "Edge"),
    (
        "disconnect dangling",
        lambda w: w["a"]["left"].disconnect(),
        ValueError,
        r"a\[left\].*dangling",
    ),
    ("disconnect other", lambda w: w["a"]["right"] | w["a"]["left"], ValueError, r"a\[right\]"),
    ("edge axis type", lambda w: tk.Edge(w["a"], 1.5), TypeError, "'a'.*int, str or Axis"),
    (
        "edge sizes",
        lambda w: tk.Edge(w["a"], "left", w["b"], "left"),
        ValueError,
        r"a\[left\].*2.*b\[left\].*4",
    ),
    # -- network --
    ("net key type", lambda w: w["net"][1.5], TypeError, "int.*str"),
    ("net key missing", lambda w: w["net"]["zz"], KeyError, "'net'.*'zz'"),
    ("net index", lambda w: w["net"][100], IndexError, "'net'"),
    ("delete type", lambda w: w["net"].delete_node("a"), TypeError, "node"),
    ("delete foreign", lambda w: w["net"].delete_node(w["other"]), ValueError, "'o'.*'net'"),
    (
        "data edges type",
        lambda w: w["net"].set_data_nodes([1.5], 1),
        TypeError,
        r"input_edges\[0\]",
    ),
    (
        "data edges connected",
        lambda w: w["net"].set_data_nodes([w["a"]["right"]], 1),
        ValueError,
        r"a\[right\]",
    ),
    (
        "data batch edges",
        lambda w: w["net"].set_data_nodes([w["a"]["input"]], "1"),
        TypeError,
        "num_batch_edges",
    ),
    (
        "add data",
        lambda w: w["net"].add_data(torch.zeros(2, 2, 3)),
        ValueError,
        "'net'.*no data nodes",
    ),
]


@pytest.mark.parametrize(("label", "call", "exc", "match"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_and_changes_nothing(world, unchanged, label, call, exc, match):
    with unchanged(world["net"], world["onet"]), pytest.raises(exc, match=match):
        call(world)
