"""ConvPEPS / ConvUPEPS / ConvTree / ConvUTree: shapes and equality with the plain model."""

import pytest
import torch

from torchtn.models.peps import PEPS, UPEPS, ConvPEPS, ConvUPEPS
from torchtn.models.tree import ConvTree, ConvUTree, Tree, UTree

pytestmark = pytest.mark.usefixtures("float64")


def _windows(image, kernel, stride=1, padding=0):
    """Site data ``(B, L, kh*kw, C)``: window-major, kernel pixels row-major."""
    b, c = image.shape[:2]
    patches = torch.nn.functional.unfold(image, kernel, stride=stride, padding=padding)
    return patches.transpose(1, 2).reshape(b, -1, c, kernel[0] * kernel[1]).transpose(2, 3)


def _randomize(net):
    if hasattr(net, "uniform_memory"):
        net.uniform_memory.tensor = torch.randn(net.uniform_memory.shape)
        for node in net.leaf_nodes.values():
            node.set_tensor_from(net.uniform_memory)
        return
    for node in net.leaf_nodes.values():
        node.tensor = torch.randn(node.shape)


@pytest.mark.parametrize("boundary", [["obc", "obc"], ["pbc", "pbc"]])
def test_conv_peps_matches_peps(boundary):
    conv = ConvPEPS(2, [2, 2], 3, stride=1, padding=1, boundary=boundary)
    _randomize(conv)
    image = torch.randn(4, 2, 5, 5)
    out = conv(image)
    assert out.shape == (4, 5, 5)
    plain = PEPS(3, 3, 2, [2, 2], boundary=boundary, n_batches=2)
    plain.load_state_dict(conv.state_dict())
    expected = plain(_windows(image, (3, 3), padding=1))
    torch.testing.assert_close(out, expected.reshape(4, 5, 5))
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    assert conv.dilation == (1, 1) and conv.in_channels == 2 and conv.n_batches == 2


def test_conv_upeps_matches_upeps():
    conv = ConvUPEPS(3, [2, 2], (2, 3), stride=2)
    _randomize(conv)
    image = torch.randn(2, 3, 6, 7)
    out = conv(image)
    assert out.shape == (2, 3, 3)
    plain = UPEPS(2, 3, 3, [2, 2], n_batches=2)
    plain.load_state_dict(conv.state_dict())
    expected = plain(_windows(image, (2, 3), stride=2))
    torch.testing.assert_close(out, expected.reshape(2, 3, 3))
    assert [k for k, _ in conv.named_parameters()] == ["param_virtual_uniform"]


def test_conv_tree_matches_tree():
    bonds = [[3, 2], [2, 2, 2], [2, 2, 2]]
    conv = ConvTree([4, 2, 1], bonds, 2)
    _randomize(conv)
    image = torch.randn(3, 3, 5, 5)
    out = conv(image)
    assert out.shape == (3, 2, 4, 4)
    plain = Tree([4, 2, 1], bonds, n_batches=2)
    plain.load_state_dict(conv.state_dict())
    expected = plain(_windows(image, (2, 2)))  # (B, L, out)
    torch.testing.assert_close(out, expected.movedim(1, -1).reshape(3, 2, 4, 4))
    assert conv.in_channels == 3


def test_conv_utree_matches_utree():
    conv = ConvUTree([4, 2, 1], [2, 2, 2], (2, 4))
    _randomize(conv)
    image = torch.randn(2, 2, 5, 5)
    out = conv(image)
    assert out.shape == (2, 2, 4, 2)
    plain = UTree([4, 2, 1], [2, 2, 2], n_batches=2)
    plain.load_state_dict(conv.state_dict())
    expected = plain(_windows(image, (2, 4)))
    torch.testing.assert_close(out, expected.movedim(1, -1).reshape(2, 2, 4, 2))


def test_conv_bad_kernel_and_trace():
    with pytest.raises(TypeError, match="kernel_size"):
        ConvPEPS(2, [2, 2], 2.5)
    # A ValueError as in TK (also a TypeError), naming the argument given: in_channels.
    with pytest.raises(ValueError, match="in_channels"):
        ConvPEPS(2.0, [2, 2], 2)
    conv = ConvPEPS(2, [2, 2], 2)
    _randomize(conv)
    image = torch.randn(3, 2, 4, 4)
    expected = conv(image)
    conv.reset()
    conv.trace(torch.zeros(1, 2, 4, 4))
    torch.testing.assert_close(conv(image), expected)
