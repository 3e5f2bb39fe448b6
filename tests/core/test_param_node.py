"""ParamNode: Parameter storage, registration in the network, grad, copies and types."""

import pytest
import torch
from torch import nn

import torchtn as tk


def test_tensor_is_registered_parameter():
    net = tk.TensorNetwork()
    p = tk.randn(shape=(2, 3), param_node=True, network=net, name="p")
    assert isinstance(p.tensor, nn.Parameter) and p.tensor.requires_grad
    assert net.param_p is p.tensor and net._memory_nodes["p"] is p.tensor
    assert [name for name, _ in net.named_parameters()] == ["param_p"]


def test_empty_param_node_registers_nothing_until_unset():
    net = tk.TensorNetwork()
    p = tk.empty(shape=(2,), param_node=True, network=net, name="p")
    assert len(net._parameters) == 0 and p.tensor is None
    p.tensor = None
    assert "param_p" in net._parameters and net._parameters["param_p"] is None
    assert list(net.state_dict()) == []


def test_set_tensor_wraps_sharing_storage_and_keeps_parameters():
    net = tk.TensorNetwork()
    p = tk.empty(shape=(2, 3), param_node=True, network=net, name="p")
    t = torch.randn(2, 3)
    p.tensor = t
    assert isinstance(p.tensor, nn.Parameter) and p.tensor.data_ptr() == t.data_ptr()
    t[0, 0] = 5.0
    assert p.tensor[0, 0] == 5.0
    param = nn.Parameter(torch.randn(2, 3))
    p.tensor = param
    assert p.tensor is param and net.param_p is param
    with pytest.raises(RuntimeError):
        p.tensor.add_(1.0)  # a leaf requiring grad
    with torch.no_grad():
        p.tensor.add_(1.0)


def test_grad_property():
    net = tk.TensorNetwork()
    p = tk.randn(shape=(2, 3), param_node=True, network=net, name="p")
    assert p.grad is None
    (p.tensor * 2).sum().backward()
    assert torch.equal(p.grad, torch.full((2, 3), 2.0))
    assert tk.empty(shape=(2,), param_node=True).grad is None


def test_grad_of_indexed_reference():
    net = tk.TensorNetwork()
    owner = tk.randn(shape=(3, 2), param_node=True, network=net, name="owner")
    ref = tk.empty(shape=(2,), param_node=True, network=net, name="ref")
    ref.set_tensor_from(owner)
    ref._tensor_info["index"] = 1  # as auto-stacked members are indexed
    assert torch.equal(ref.tensor, owner.tensor[1])
    (owner.tensor * torch.arange(6.0).reshape(3, 2)).sum().backward()
    assert torch.equal(ref.grad, torch.tensor([2.0, 3.0]))


def test_no_data_role_and_no_resultant():
    with pytest.raises(TypeError):
        tk.ParamNode(shape=(2,), data=True)
    with pytest.raises(TypeError):
        tk.randn(shape=(2,), param_node=True, data=True)
    with pytest.raises(NotImplementedError):
        tk.ParamNode._create_resultant(shape=(2,))
    v = tk.randn(shape=(2,), param_node=True, virtual=True)
    assert v.is_virtual() and isinstance(v.tensor, nn.Parameter)


def test_parameterize_false_gives_node():
    net = tk.TensorNetwork()
    a = tk.randn(shape=(2, 3), param_node=True, network=net, axes_names=("l", "r"))
    b = tk.randn(shape=(3, 2), param_node=True, network=net, axes_names=("l", "r"))
    a["r"] ^ b["l"]
    assert a.parameterize() is a
    node = a.parameterize(False)
    assert type(node) is tk.Node and not isinstance(node.tensor, nn.Parameter)
    assert torch.equal(node.tensor, a.tensor.detach()) and not node.tensor.requires_grad
    assert b.neighbours() == [node]
    # a left (b -> "paramnode"), then the newcomer asked for "paramnode_0" (b -> "paramnode_0")
    assert (b.name, node.name) == ("paramnode_0", "paramnode_1")
    assert list(net.state_dict()) == ["param_paramnode_0"]


def test_copy_gives_new_parameter():
    net = tk.TensorNetwork()
    p = tk.randn(shape=(2,), param_node=True, network=net, name="p")
    c = p.copy()
    assert isinstance(c, tk.ParamNode) and c.name == "p_copy"
    assert isinstance(c.tensor, nn.Parameter) and c.tensor is not p.tensor
    assert torch.equal(c.tensor, p.tensor)
    assert list(net.state_dict()) == ["param_p", "param_p_copy"]
    assert len(list(net.parameters())) == 2
    s = p.copy(share_tensor=True)
    assert s.tensor is p.tensor and s.tensor_address() == "p"
    assert list(net.state_dict()) == ["param_p", "param_p_copy_0"]  # no param of its own


def test_change_type():
    net = tk.TensorNetwork()
    p = tk.randn(shape=(2,), param_node=True, network=net, name="p")
    p.change_type(virtual=True)
    assert p.is_virtual() and list(net.virtual_nodes) == ["p"] and net.edges == []
    p.change_type(leaf=True)
    assert p.is_leaf() and net.edges == [p[0]]
    with pytest.raises(TypeError):
        p.change_type(data=True)
    with pytest.raises(ValueError, match="exactly one"):
        p.change_type(leaf=True, virtual=True)


def test_rename_moves_parameter_key():
    net = tk.TensorNetwork()
    p0 = tk.randn(shape=(2,), param_node=True, network=net, name="p")
    p1 = tk.randn(shape=(2,), param_node=True, network=net, name="p")
    assert list(net.state_dict()) == ["param_p_0", "param_p_1"]
    p1.name = "renamed"
    assert list(net.state_dict()) == ["param_p", "param_renamed"]
    assert net.param_p is p0.tensor and net.param_renamed is p1.tensor


def test_param_node_in_new_network_and_delete():
    p = tk.randn(shape=(2,), param_node=True, name="p")
    net = p.network
    net.delete_node(p)
    assert len(net._parameters) == 0 and p.tensor is None and p.network is None
