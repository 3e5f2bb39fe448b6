"""The memory model (components.md §4.3, §4.6, §10.1): addresses, sharing, references."""

import pytest
import torch
from torch import nn

import torchtn as tk


def two(net=None, param=False, empty_second=True):
    net = tk.TensorNetwork() if net is None else net
    a = tk.randn(shape=(2, 3), network=net, name="a", param_node=param)
    make = tk.empty if empty_second else tk.randn
    b = make(shape=(2, 3), network=net, name="b", param_node=param)
    return net, a, b


def test_every_node_owns_a_slot_named_after_it():
    net, a, b = two()
    assert list(net._memory_nodes) == ["a", "b"] and net._memory_nodes["b"] is None
    assert a._tensor_info == {"address": "a", "node_ref": None, "index": None}
    assert type(a._tensor_info) is dict
    assert a.tensor_address() == "a" and a.node_ref() is a
    assert net._memory_nodes["a"] is a.tensor


@pytest.mark.parametrize("param", [False, True])
def test_set_tensor_from_shares(param):
    net, a, b = two(param=param)
    b.set_tensor_from(a)
    assert b._tensor_info == {"address": None, "node_ref": a, "index": None}
    assert b.tensor is a.tensor and b.tensor_address() == "a" and b.node_ref() is a
    assert list(net._memory_nodes) == ["a"]
    if param:
        with torch.no_grad():
            a.tensor.mul_(0)
    else:
        a.tensor = torch.zeros(2, 3)
    assert torch.equal(b.tensor, a.tensor)


def test_set_tensor_from_unregisters_own_parameter():
    # TK left a stale param_<name> in the state_dict; fixed.
    net, a, b = two(param=True, empty_second=False)
    assert list(net.state_dict()) == ["param_a", "param_b"]
    b.set_tensor_from(a)
    assert list(net.state_dict()) == ["param_a"] and len(list(net.parameters())) == 1


def test_set_tensor_from_collapses_to_owner_and_relinks():
    net, a, b = two(empty_second=False)
    c = tk.empty(shape=(2, 3), network=net, name="c")
    b.set_tensor_from(a)
    c.set_tensor_from(b)  # b references a: c points straight at a
    assert c._tensor_info == {"address": None, "node_ref": a, "index": None}
    d = tk.randn(shape=(2, 3), network=net, name="d")
    c.set_tensor_from(d)  # TK: KeyError (del memory[None]); fixed: re-link
    assert c.tensor_address() == "d" and c.tensor is d.tensor
    b.set_tensor_from(b)  # sharing with itself: nothing to do
    assert b.tensor_address() == "a"
    with pytest.raises(ValueError, match="cycle"):
        a.set_tensor_from(b)
    assert a.tensor_address() == "a"


def test_set_tensor_from_errors(unchanged):
    net, a, b = two()
    p = tk.randn(shape=(2, 3), network=net, name="p", param_node=True)
    with unchanged(net):
        with pytest.raises(TypeError, match="'b'.*Node.*'p'.*ParamNode"):
            b.set_tensor_from(p)
        with pytest.raises(TypeError):
            p.set_tensor_from(a)
        with pytest.raises(TypeError, match="node"):
            b.set_tensor_from("a")
        other = tk.randn(shape=(2, 3), name="o")
        with pytest.raises(ValueError, match="same network"):
            b.set_tensor_from(other)
    s = tk.StackNode([a])
    s2 = tk.empty(shape=(1, 2, 3), network=net, name="s2")
    s.set_tensor_from(s2)  # a StackNode is a Node: allowed
    assert s.tensor_address() == "s2"


def test_reset_tensor_address():
    net, a, b = two(param=True)
    b.set_tensor_from(a)
    b.reset_tensor_address()
    assert b.tensor_address() == "b" and b.tensor is a.tensor  # same Parameter object
    assert list(net.state_dict()) == ["param_a", "param_b"]
    b.tensor = torch.ones(2, 3)
    assert not torch.equal(a.tensor, b.tensor)
    a.reset_tensor_address()  # owners: no-op
    assert a.tensor_address() == "a"


def test_reset_tensor_address_of_indexed_view():
    net = tk.TensorNetwork()
    owner = tk.randn(shape=(3, 2), network=net, name="owner", param_node=True)
    ref = tk.empty(shape=(2,), network=net, name="ref", param_node=True)
    ref.set_tensor_from(owner)
    ref._tensor_info["index"] = [1]
    ref.reset_tensor_address()
    assert isinstance(ref.tensor, nn.Parameter) and torch.equal(ref.tensor, owner.tensor[1])
    assert ref.tensor.data_ptr() == owner.tensor[1].data_ptr()


def test_reset_tensor_address_empty_owner():
    net, a, b = two(param=True)
    e = tk.empty(shape=(2, 3), network=net, name="e", param_node=True)
    e.set_tensor_from(b)
    e.reset_tensor_address()
    assert e.tensor is None and "e" in net._memory_nodes and "param_e" not in net._parameters


def test_one_hop_reference_to_replaced_node_raises_type_error():
    net, a, b = two(empty_second=False)
    a.set_tensor_from(b)
    b = b.parameterize()
    with pytest.raises(TypeError, match="no longer belongs"):
        _ = a.tensor
    with pytest.raises(TypeError):
        a.tensor_address()
    assert b.tensor is not None


def test_reference_to_a_reference_has_no_address():
    net, a, b = two(empty_second=False)
    c = tk.randn(shape=(2, 3), network=net, name="c")
    a.set_tensor_from(b)
    b.set_tensor_from(c)  # a now references a node that references
    assert a.tensor_address() is None and a.node_ref() is b
    with pytest.raises(KeyError, match="one hop"):
        _ = a.tensor


def test_reference_survives_owner_moving_network():
    # TK read the wrong network's memory (KeyError); fixed: read through the owner.
    net = tk.TensorNetwork()
    owner = tk.randn(shape=(2,), network=net, name="owner")
    ref = tk.empty(shape=(2,), network=net, name="ref")
    ref.set_tensor_from(owner)
    owner.move_to_network(tk.TensorNetwork())
    assert ref.tensor is owner.tensor and ref.tensor_address() == "owner"


def test_indexed_reference_reads_lazily():
    net = tk.TensorNetwork()
    owner = tk.randn(shape=(4, 2, 3), network=net, name="owner")
    ref = tk.empty(shape=(2, 3), network=net, name="ref")
    ref.set_tensor_from(owner)
    ref._tensor_info["index"] = 2
    assert torch.equal(ref.tensor, owner.tensor[2])
    ref._tensor_info["index"] = [1, slice(0, 1), slice(1, 3)]
    assert torch.equal(ref.tensor, owner.tensor[1, 0:1, 1:3])
    ref._tensor_info["index"] = [[0, 2]]
    assert torch.equal(ref.tensor, owner.tensor[[0, 2]])
    ref._tensor_info["index"] = [slice(1, 3), slice(0, None)]
    assert torch.equal(ref.tensor, owner.tensor[1:3])
    owner.tensor = None
    assert ref.tensor is None


def test_temp_tensor_after_removal_and_delete():
    net, a, b = two()
    t = a.tensor
    net._remove_node(a)
    assert a._temp_tensor is t and a.tensor is t and a._tensor_info is None
    net2, c, d = two()
    net2.delete_node(c)
    assert c.tensor is None and c._temp_tensor is None


def test_removing_node_drops_memory_and_parameter():
    net, a, b = two(param=True, empty_second=False)
    net.delete_node(a)
    assert list(net._memory_nodes) == ["b"] and list(net._parameters) == ["param_b"]


def test_shape_tracks_batch_dims_through_memory():
    node = tk.randn(shape=(1, 3), axes_names=("batch", "feature"))
    node.tensor = torch.randn(10, 3)
    assert node.shape == (10, 3) and node.network._memory_nodes["node"].shape == (10, 3)


def test_removed_node_cannot_store_or_change_role():
    net, a, b = two()
    net.delete_node(a)
    with pytest.raises(ValueError, match="'a'.*network"):
        a.tensor = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="'a'.*network"):
        a.change_type(data=True)
    with pytest.raises(TypeError, match="'a'.*network"):
        a.tensor_address()
    a.reset_tensor_address()  # nothing to do
    assert a.tensor is None
