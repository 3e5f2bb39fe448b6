"""Axis: construction checks, batch flag, renaming and re-enumeration."""

import pytest
import torch

import torchtn as tk
from torchtn.core.axis import Axis


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num=1.0, name="a"),
        dict(num="0", name="a"),
        dict(num=0, name=1),
        dict(num=0, name=None),
        dict(num=0, name="a", node="node"),
        dict(num=0, name="a", node1=1),
        dict(num=0, name="a", node1=None),
    ],
)
def test_constructor_types(kwargs):
    with pytest.raises(TypeError):
        Axis(**kwargs)


@pytest.mark.parametrize("name", ["stack", "mystack", "stack_0"])
def test_stack_name_needs_stack_node(name):
    with pytest.raises(ValueError, match="stack"):
        Axis(0, name)
    node = tk.randn(shape=(2, 3))
    with pytest.raises(ValueError, match="stack"):
        Axis(0, name, node=node)


def test_stack_axis_on_stack_node_must_be_first():
    stack = tk.StackNode([tk.randn(shape=(2,), axes_names=("a",)) for _ in range(1)])
    assert Axis(0, "stack", node=stack).is_batch()
    with pytest.raises(ValueError, match="index|axis 0|num"):
        Axis(1, "stack", node=stack)


@pytest.mark.parametrize(
    ("name", "batch"),
    [("batch", True), ("mybatch_x", True), ("batch_0", True), ("Batch", False), ("left", False)],
)
def test_batch_flag_is_case_sensitive_substring(name, batch):
    axis = Axis(0, name)
    assert axis.is_batch() is batch
    node = tk.randn(shape=(2,), axes_names=(name,))
    assert node.axes[0].is_batch() is batch


def test_public_surface():
    node = tk.randn(shape=(2, 3), axes_names=("left", "right"))
    axis = node.axes[1]
    assert axis.num == 1 and int(axis) == 1
    assert axis.name == "right" and str(axis) == "right"
    assert repr(axis) == "Axis( right (1) )"
    assert axis.node is node
    assert axis.is_node1() is True
    with pytest.raises(AttributeError):
        axis.num = 0


def test_free_axis_rename_recomputes_batch():
    axis = Axis(0, "a")
    axis.name = "my_batch"
    assert axis.name == "my_batch" and axis.is_batch()
    axis.name = "b"
    assert not axis.is_batch()


@pytest.mark.parametrize("bad", [1, None, 2.0])
def test_rename_type_error(bad):
    axis = tk.randn(shape=(2,)).axes[0]
    with pytest.raises(TypeError):
        axis.name = bad


def test_rename_to_stack_forbidden_and_stack_axis_fixed():
    node = tk.randn(shape=(2, 3), axes_names=("a", "b"))
    with pytest.raises(ValueError, match="stack"):
        node.axes[0].name = "mystack"
    net = tk.TensorNetwork()
    stack = tk.StackNode([tk.randn(shape=(2,), axes_names=("a",), network=net) for _ in range(2)])
    with pytest.raises(ValueError, match="stack"):
        stack.axes[0].name = "other"
    with pytest.raises(ValueError, match="stack"):
        stack.axes[1].name = "stack"


def test_rename_reenumerates_all_axes():
    node = tk.randn(shape=(2, 3, 4))
    node.axes[1].name = "foo"
    assert node.axes_names == ["axis_0", "foo", "axis_1"]
    node = tk.randn(shape=(2, 3), axes_names=("batch", "x"))
    node.axes[1].name = "batch"
    assert node.axes_names == ["batch_0", "batch_1"]
    assert all(ax.is_batch() for ax in node.axes)


def test_rename_same_name_is_noop_and_lookup_follows():
    node = tk.randn(shape=(2, 3), axes_names=("a", "b"))
    node.axes[0].name = "a"
    assert node.axes_names == ["a", "b"]
    edge = node["b"]
    node.axes[1].name = "c"
    assert node["c"] is edge
    with pytest.raises(IndexError):
        node["b"]


def test_axis_of_other_node_cannot_be_renamed_through_node():
    a = tk.randn(shape=(2,), axes_names=("x",))
    b = tk.randn(shape=(2,), axes_names=("x",))
    with pytest.raises(ValueError, match="does not belong"):
        a._change_axis_name(b.axes[0], "y")
    assert a.axes_names == ["x"] and b.axes_names == ["x"]


def test_becoming_batch_updates_network_edges():
    node = tk.randn(shape=(2, 3), axes_names=("a", "b"))
    net = node.network
    assert net.edges == [node["a"], node["b"]]
    node.axes[1].name = "batch"
    assert net.edges == [node["a"]]
    node.axes[1].name = "b"
    assert net.edges == [node["a"], node["b"]]


def test_batch_axis_accepts_any_size():
    node = tk.randn(shape=(2, 3), axes_names=("batch", "x"))
    node.tensor = torch.randn(7, 3)
    assert node.shape == (7, 3)
