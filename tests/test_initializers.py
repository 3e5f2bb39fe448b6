"""Initializers: tk.empty / zeros / ones / copy / rand / randn (models.md §14)."""

import pytest
import torch
from torch import nn

import torchtn as tk

INITIALIZERS = [tk.empty, tk.zeros, tk.ones, tk.copy, tk.rand, tk.randn]


@pytest.mark.parametrize("init", INITIALIZERS)
@pytest.mark.parametrize("param", [False, True])
def test_returns_node_of_the_right_class(init, param):
    node = init((2, 3), param_node=param)
    assert type(node) is (tk.ParamNode if param else tk.Node)
    assert node.shape == (2, 3) and node.is_leaf()
    assert node.network.name == "tensornetwork"
    if init is tk.empty:
        assert node.tensor is None
    else:
        assert node.tensor.shape == (2, 3)
        assert isinstance(node.tensor, nn.Parameter) is param


def test_values():
    assert torch.equal(tk.zeros((2, 3)).tensor, torch.zeros(2, 3))
    assert torch.equal(tk.ones((2, 3)).tensor, torch.ones(2, 3))
    diag = tk.copy((3, 2, 3)).tensor
    expected = torch.zeros(3, 2, 3)
    expected[0, 0, 0] = expected[1, 1, 1] = 1
    assert torch.equal(diag, expected)
    assert torch.equal(tk.copy((4,)).tensor, torch.tensor([1.0, 0, 0, 0]))
    r = tk.rand((1000,), low=2.0, high=3.0).tensor
    assert ((r >= 2) & (r < 3)).all()
    n = tk.randn((20000,), mean=5.0, std=0.5).tensor
    assert abs(n.mean().item() - 5) < 0.05 and abs(n.std().item() - 0.5) < 0.05


def test_default_rand_randn_match_torch():
    torch.manual_seed(3)
    a = tk.randn((2, 3)).tensor
    b = tk.rand((2, 3)).tensor
    torch.manual_seed(3)
    assert torch.equal(a, torch.randn(2, 3)) and torch.equal(b, torch.rand(2, 3))


def test_kwargs_are_forwarded():
    net = tk.TensorNetwork()
    node = tk.randn(
        (2, 3), axes_names=("a", "b"), name="x", network=net, dtype=torch.float64, device="cpu"
    )
    assert node.axes_names == ["a", "b"] and node.name == "x" and node.network is net
    assert node.dtype == torch.float64
    assert tk.zeros((2,), data=True).is_data()
    assert tk.ones((2,), virtual=True, param_node=True).is_virtual()


def test_bad_arguments():
    with pytest.raises(TypeError):
        tk.randn((2,), True, 3)  # extra positional argument collides with shape
    with pytest.raises(TypeError):
        tk.randn((2,), param_node=True, data=True)
    with pytest.raises(TypeError, match="std"):
        tk.randn((2,), std=1)
    with pytest.raises(ValueError, match="low < high"):
        tk.rand((2,), low=1.0, high=0.0)
    with pytest.raises(TypeError, match="unexpected"):
        tk.rand((2,), mean=0.0)
    with pytest.raises(TypeError, match="shape"):
        tk.zeros(2)
