"""Data given to a model must match it exactly (issue 12, item 3).

TensorKrowch cropped wider data (keeping the *last* entries, with a warning): 65 features
into a 64-feature model, ``in_dim`` 3 into 2. torchtn raises ValueError naming the
expected and found sizes, and the model is unchanged.
"""

from __future__ import annotations

import pytest
import torch

from torchtn.models import MPO, MPS, ConvMPSLayer, ConvTree, MPSData, MPSLayer, Tree

DT = torch.float64


@pytest.fixture
def layer():
    torch.manual_seed(0)
    return MPSLayer(
        n_features=65, in_dim=2, out_dim=3, bond_dim=3, dtype=DT, init_method="randn_eye", std=1e-3
    )


@pytest.mark.parametrize("traced", [False, True])
def test_65_features_into_64_raise(layer, traced):
    x = torch.rand(4, 64, 2, dtype=DT)
    if traced:
        layer.trace(x)
    out = layer(x)
    with pytest.raises(ValueError, match=r"`data` has 65 features .* 64 data nodes"):
        layer(torch.rand(4, 65, 2, dtype=DT))
    with pytest.raises(ValueError, match=r"size 3 at axis -1 \('feature'\).* expects 2"):
        layer(torch.rand(4, 64, 3, dtype=DT))
    torch.testing.assert_close(layer(x), out)


def test_no_warning_and_no_crop(layer):
    # The old behaviour: warn, then use x[..., -64:, -2:]. Now neither happens.
    x = torch.rand(4, 64, 2, dtype=DT)
    wide = torch.cat([torch.rand(4, 1, 2, dtype=DT), x], dim=1)
    with pytest.raises(ValueError):
        layer(wide)  # pytest runs with filterwarnings=error: a warning would fail first
    fresh = layer(x)
    torch.testing.assert_close(layer(x), fresh)


def test_first_call_with_bad_data_then_good_data(layer):
    # The data nodes are created on the first call; the failing call leaves them usable.
    with pytest.raises(ValueError, match="65 features"):
        layer(torch.rand(2, 65, 2, dtype=DT))
    x = torch.rand(2, 64, 2, dtype=DT)
    reference = MPSLayer(n_features=65, in_dim=2, out_dim=3, bond_dim=3, dtype=DT)
    reference.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x), reference(x))


def test_model_without_data():
    model = MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3)
    with pytest.raises(ValueError, match="4 input sites but no data"):
        model()
    model.set_data_nodes()
    with pytest.raises(ValueError, match="called without data.*'data_0' holds no tensor"):
        model()
    x = torch.rand(2, 4, 2)
    out = model(x)
    torch.testing.assert_close(model(), out)  # the last data is reused, as in TK


def test_mps_without_inputs_needs_no_data():
    model = MPS(n_features=3, phys_dim=2, bond_dim=2, out_features=[0, 1, 2])
    assert model().shape == (2, 2, 2)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([torch.rand(3, 2)] * 3, r"`data` should have 4 elements .*got 3"),
        (torch.rand(3, 4, 2, 1), r"rank 3 \(1 batch axis, n_features, feature\).*\(3, 4, 2, 1\)"),
        (torch.rand(3, 2), r"rank 3 .*got shape \(3, 2\)"),
        ([torch.rand(3, 2, 1)] * 4, r"`data\[0\]` should have rank 2"),
    ],
)
def test_wrong_rank_or_length(data, match):
    model = MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3)
    with pytest.raises(ValueError, match=match):
        model(data)


def test_list_data_checked_element_by_element():
    model = MPO(n_features=3, in_dim=[2, 3, 2], out_dim=2, bond_dim=2, dtype=DT)
    good = [torch.rand(5, 2, dtype=DT), torch.rand(5, 3, dtype=DT), torch.rand(5, 2, dtype=DT)]
    out = model(good)
    with pytest.raises(TypeError, match=r"`data\[2\]` should be a torch.Tensor, got list"):
        model(good[:2] + [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`data\[1\]` has batch sizes \(4,\)"):
        model([good[0], torch.rand(4, 3, dtype=DT), good[2]])
    with pytest.raises(TypeError, match="got ndarray"):
        model(good[0].numpy())
    torch.testing.assert_close(model(good), out)


def test_tree_and_conv_inputs():
    tree = Tree([2, 1], [[2, 2, 3], [3, 3, 2]])
    with pytest.raises(ValueError, match="5 features"):
        tree(torch.rand(2, 5, 2))
    conv = ConvMPSLayer(in_channels=2, out_channels=3, bond_dim=2, kernel_size=2)
    with pytest.raises(ValueError, match=r"3 channels .* in_channels=2"):
        conv(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"\(batch, channels, height, width\)"):
        conv(torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="no window fits"):
        conv(torch.rand(2, 2, 1, 5))
    with pytest.raises(TypeError, match="`image`"):
        conv([[0.0]])
    ctree = ConvTree([2, 1], [[3, 3, 4], [4, 4, 2]], kernel_size=2)
    with pytest.raises(ValueError, match=r"2 channels .* in_channels=3"):
        ctree(torch.rand(1, 2, 3, 3))


def test_mps_data_add_data_checks_rank_and_sizes():
    mps = MPSData(n_features=3, phys_dim=2, bond_dim=3)
    good = [torch.rand(4, 2, 3), torch.rand(4, 3, 2, 3), torch.rand(4, 3, 2)]
    mps.add_data(good)
    with pytest.raises(ValueError, match=r"`data\[1\]` should have rank 4"):
        mps.add_data([good[0], torch.rand(3, 2, 3), good[2]])
    with pytest.raises(ValueError, match=r"`data\[0\]` has an axis of size 0"):
        mps.add_data([torch.rand(4, 2, 0), good[1], good[2]])
    with pytest.raises(ValueError, match="`tensors` should not be empty"):
        MPSData(tensors=[])


def test_traced_model_without_data_gives_a_clear_error_or_the_last_output():
    # TK's traced replay frees the data memory, so a later `model()` raised TypeError /
    # AttributeError there; torchtn either reuses the data or says what to do.
    model = MPSLayer(n_features=4, in_dim=2, out_dim=2, bond_dim=2)
    x = torch.rand(3, 3, 2)
    model.trace(x)
    out = model(x)
    try:
        again = model()
    except ValueError as err:
        assert "called without data" in str(err) and "model(data)" in str(err)
    else:
        torch.testing.assert_close(again, out)
