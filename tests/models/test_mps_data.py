"""MPSData: node layout, add_data embedding, and use through MPO.contract(mps=...)."""

import pytest
import torch

from torchtn.models import MPSData

DT = torch.float64


def test_layout_and_add_data():
    mps = MPSData(n_features=3, phys_dim=2, bond_dim=4, n_batches=2)
    assert mps.name == "mps_data"
    assert mps.mats_env[0].axes_names == ["batch_0", "batch_1", "left", "feature", "right"]
    assert [tuple(n.shape) for n in mps.mats_env] == [(1, 1, 4, 2, 4)] * 3
    assert all(n.tensor is None for n in mps.mats_env)
    assert list(mps.state_dict()) == ["param_left_node", "param_right_node"]
    assert [n.name for n in mps.mats_env] == [f"mats_env_data_node_({i})" for i in range(3)]
    ts = [torch.randn(7, 8, 2, 3), torch.randn(7, 8, 3, 2, 5), torch.randn(7, 8, 5, 2)]
    mps.add_data(ts)
    assert [tuple(n.shape) for n in mps.mats_env] == [
        (7, 8, 4, 2, 3),
        (7, 8, 3, 2, 5),
        (7, 8, 5, 2, 4),
    ]
    assert mps.bond_dim == [3, 5] and tuple(mps.left_node.shape) == (4,)
    first = mps.mats_env[0].tensor
    torch.testing.assert_close(first[..., 0, :, :], ts[0])
    assert torch.all(first[..., 1:, :, :] == 0)
    for got, want in zip(mps.tensors, ts, strict=False):  # fixed TK quirk 17.5
        torch.testing.assert_close(got, want)


def test_tensors_constructor_and_init():
    ts = [torch.randn(5, 2, 3, 4, dtype=DT), torch.randn(5, 4, 2, 2, dtype=DT)]
    pbc = MPSData(tensors=ts)
    assert pbc.boundary == "pbc" and pbc.bond_dim == [4, 2] and pbc.phys_dim == [3, 2]
    assert pbc.left_node is None
    rnd = MPSData(n_features=3, phys_dim=2, bond_dim=5, init_method="randn")
    assert [tuple(n.shape) for n in rnd.mats_env] == [(1, 5, 2, 5)] * 3
    assert torch.all(rnd.mats_env[0].tensor[:, 1:] == 0)
    assert torch.all(rnd.mats_env[-1].tensor[..., 1:] == 0)
    single = MPSData(tensors=[torch.randn(4, 3)])
    assert tuple(single.mats_env[0].shape) == (4, 1, 3, 1)
    assert tuple(single.tensors[0].shape) == (4, 3)


def test_with_mpo():
    from torchtn.models import MPO

    torch.manual_seed(0)
    mpo = MPO(n_features=3, in_dim=2, out_dim=3, bond_dim=2, dtype=DT)
    data = MPSData(n_features=3, phys_dim=2, bond_dim=4)
    ts = [
        torch.randn(5, 2, 3, dtype=DT),
        torch.randn(5, 3, 2, 4, dtype=DT),
        torch.randn(5, 4, 2, dtype=DT),
    ]
    data.add_data(ts)
    w = [t.detach() for t in mpo.tensors]
    ref = torch.einsum("bia,bajc,bck,iAx,AjBy,Bkz->bxyz", *ts, *w)
    torch.testing.assert_close(mpo.contract(mps=data).tensor, ref)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features=3, phys_dim=2, bond_dim=2, n_batches=1.0), TypeError, "n_batches"),
        (dict(n_features=3, phys_dim=(2,) * 3, bond_dim=[2] * 3), ValueError, "bond_dim"),
        (dict(n_features=3, phys_dim=2, bond_dim=2, boundary="x"), ValueError, "boundary"),
        (dict(tensors=[torch.randn(1, 2, 2, 2, 2)]), ValueError, "rank"),
        (dict(tensors=torch.randn(2, 2)), TypeError, "tensors"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MPSData(**kwargs)


def test_add_data_errors():
    mps = MPSData(n_features=2, phys_dim=2, bond_dim=2)
    with pytest.raises(TypeError, match="list or tuple"):
        mps.add_data(torch.randn(2, 2))
    with pytest.raises(ValueError, match="2 elements"):
        mps.add_data([torch.randn(1, 2, 2)])
    with pytest.raises(ValueError, match="physical dim"):
        mps.add_data([torch.randn(1, 3, 2), torch.randn(1, 2, 2)])
