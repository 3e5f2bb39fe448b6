"""MPSLayer against dense float64 references."""

import pytest
import torch
from _mps_dense import dense_output, dense_state

from torchtn.models import MPSLayer

DT = torch.float64


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
@pytest.mark.parametrize(("n", "pos"), [(1, 0), (2, 0), (2, 1), (4, None), (5, 0), (5, 4)])
@pytest.mark.parametrize("init", ["randn", "randn_eye", "unit", "canonical", "ones"])
def test_matches_dense(boundary, n, pos, init):
    torch.manual_seed(0)
    kw = dict(std=0.5) if init == "randn_eye" else {}
    layer = MPSLayer(
        n_features=n,
        in_dim=2,
        out_dim=3,
        bond_dim=3 if n > 1 or boundary == "pbc" else [],
        out_position=pos,
        boundary=boundary,
        init_method=init,
        dtype=DT,
        **kw,
    )
    if n == 1:
        torch.testing.assert_close(layer.contract().tensor, dense_state(layer))
        return
    data = torch.randn(4, n - 1, 2, dtype=DT)
    out = layer(data)
    assert out.shape == (4, 3)
    torch.testing.assert_close(out, dense_output(layer, data))


def test_properties():
    layer = MPSLayer(n_features=3, in_dim=2, out_dim=5, bond_dim=4)
    assert layer.name == "mpslayer"
    assert layer.out_position == 1 and layer.out_dim == 5 and layer.in_dim == [2, 2]
    assert tuple(layer.out_node.shape) == (4, 5, 4)
    assert layer.out_features == [1] and layer.in_features == [0, 2]
    copy = layer.copy()
    assert isinstance(copy, MPSLayer) and copy.out_position == 1


def test_canonical_norm_and_eye():
    torch.manual_seed(1)
    layer = MPSLayer(
        n_features=5, in_dim=2, out_dim=2, bond_dim=2, init_method="canonical", dtype=DT
    )
    assert dense_state(layer).norm() ** 2 == pytest.approx(2**5)
    eye = MPSLayer(
        n_features=3,
        in_dim=2,
        out_dim=3,
        bond_dim=2,
        boundary="pbc",
        init_method="randn_eye",
        std=1e-9,
        dtype=DT,
    )
    for o in range(3):
        torch.testing.assert_close(eye.out_node.tensor[:, o], torch.eye(2, dtype=DT))


def test_state_dict_round_trip_and_trace():
    torch.manual_seed(2)
    layer = MPSLayer(n_features=6, in_dim=2, out_dim=3, bond_dim=3, dtype=DT)
    data = torch.randn(5, 5, 2, dtype=DT)
    expected = layer(data)
    layer.reset()
    layer.trace(torch.zeros(1, 5, 2, dtype=DT), inline_input=True)
    torch.testing.assert_close(layer(data, inline_input=True), expected)
    layer.reset()
    fresh = MPSLayer(n_features=6, in_dim=2, out_dim=3, bond_dim=3, dtype=DT)
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(fresh(data), expected)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features=3.5, in_dim=2, out_dim=2, bond_dim=2), TypeError, "n_features"),
        (
            dict(n_features=3, in_dim=2, out_dim=2, bond_dim=2, out_position=3),
            ValueError,
            "out_position",
        ),
        (dict(n_features=3, in_dim=[2], out_dim=2, bond_dim=2), ValueError, "in_dim"),
        (dict(n_features=3, in_dim=None, out_dim=2, bond_dim=2), TypeError, "in_dim"),
        (dict(n_features=3, in_dim=2, out_dim=2.0, bond_dim=2), TypeError, "out_dim"),
        (dict(tensors=torch.randn(2, 2)), TypeError, "tensors"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MPSLayer(**kwargs)
