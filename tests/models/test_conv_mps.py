"""Convolutional MPS variants against a dense per-window reference."""

import pytest
import torch
from _mps_dense import dense_output

from torchtn.models import ConvMPS, ConvMPSLayer, ConvUMPS, ConvUMPSLayer
from torchtn.models.mps import AbstractConvClass

DT = torch.float64


def _windows(image, k, stride=1, padding=0, dilation=1):
    """``(B, C, H, W)`` -> ``(B, L, K, C)`` by explicit slicing (independent of the model)."""
    b, c, h, w = image.shape
    kh, kw = k
    image = torch.nn.functional.pad(image, (padding, padding, padding, padding))
    h_out = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    w_out = (w + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    wins = []
    for i in range(h_out):
        for j in range(w_out):
            pix = [
                image[:, :, i * stride + a * dilation, j * stride + bb * dilation]
                for a in range(kh)
                for bb in range(kw)
            ]
            wins.append(torch.stack(pix, 1))
    return torch.stack(wins, 1), h_out, w_out


@pytest.mark.parametrize(
    ("cls", "kw"),
    [
        (ConvMPS, dict(bond_dim=3)),
        (ConvMPS, dict(bond_dim=3, boundary="pbc")),
        (ConvUMPS, dict(bond_dim=3)),
        (ConvMPSLayer, dict(out_channels=4, bond_dim=3)),
        (ConvUMPSLayer, dict(out_channels=4, bond_dim=3)),
    ],
)
@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (1, 0, 2)])
def test_conv_matches_dense(cls, kw, stride, padding, dilation):
    torch.manual_seed(0)
    model = cls(
        in_channels=2,
        kernel_size=2,
        stride=stride,
        padding=padding,
        dilation=dilation,
        dtype=DT,
        **kw,
    )
    assert isinstance(model, AbstractConvClass)
    assert model.kernel_size == (2, 2) and model.in_channels == 2
    image = torch.randn(3, 2, 5, 5, dtype=DT)
    out = model(image)
    wins, h_out, w_out = _windows(image, (2, 2), stride, padding, dilation)
    ref = dense_output(model, wins.reshape(-1, 4, 2))
    if ref.dim() == 2:
        ref = ref.reshape(3, h_out * w_out, -1).movedim(1, -1).reshape(3, -1, h_out, w_out)
        assert model.out_channels == 4
    else:
        ref = ref.reshape(3, h_out, w_out)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref)


def test_snake_flips_batch_rows_like_tk():
    torch.manual_seed(1)
    model = ConvMPS(in_channels=2, bond_dim=2, kernel_size=2, dtype=DT)
    image = torch.randn(3, 2, 2, 2, dtype=DT)
    wins, _, _ = _windows(image, (2, 2))
    wins = wins.clone()
    wins[:, :, 2:4] = wins[:, :, 2:4].flip(dims=[0])
    ref = dense_output(model, wins.reshape(-1, 4, 2)).reshape(3, 1, 1)
    torch.testing.assert_close(model(image, mode="snake"), ref)
    with pytest.raises(ValueError, match="mode"):
        model(image, mode="zigzag")


def test_copy_and_bad_kernel():
    model = ConvMPSLayer(
        in_channels=2, out_channels=3, bond_dim=2, kernel_size=(2, 3), out_position=1
    )
    copy = model.copy(share_tensors=True)
    assert type(copy) is ConvMPSLayer and copy.kernel_size == (2, 3)
    assert copy.mats_env[0].tensor is model.mats_env[0].tensor
    assert model.n_features == 7 and model.n_batches == 2
    with pytest.raises(TypeError, match="kernel_size"):
        ConvMPS(in_channels=2, bond_dim=2, kernel_size=2.0)
