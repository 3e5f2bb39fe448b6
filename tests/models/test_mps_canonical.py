"""canonicalize / entropy / norm / reduced_density against dense float64 references."""

import pytest
import torch
from _mps_dense import dense_output, dense_state

from torchtn.models import MPS, UMPS, MPSLayer

DT = torch.float64


def _mps(**kw):
    torch.manual_seed(kw.pop("seed", 0))
    kw.setdefault("dtype", DT)
    return MPS(**kw)


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
@pytest.mark.parametrize("mode", ["svd", "svdr", "qr"])
@pytest.mark.parametrize("oc", [None, 0, 2])
def test_canonicalize_keeps_state(boundary, mode, oc):
    mps = _mps(n_features=4, phys_dim=2, bond_dim=2, boundary=boundary)
    data = torch.randn(3, 4, 2, dtype=DT)
    before = dense_output(mps, data)
    mps.set_data_nodes()
    mps.canonicalize(oc=oc, mode=mode)
    assert len(mps.data_nodes) == 4 and len(mps.leaf_nodes) == (6 if boundary == "obc" else 4)
    assert [n.name for n in mps.mats_env] == [f"mats_env_node_({i})" for i in range(4)]
    torch.testing.assert_close(mps(data), before)
    centre = 3 if oc is None else oc
    for i in range(centre):  # left isometries
        core = mps.mats_env[i].tensor
        mat = core.reshape(-1, core.shape[-1])
        torch.testing.assert_close(mat.T @ mat, torch.eye(mat.shape[1], dtype=DT))


def test_canonicalize_rank_and_state_dict():
    mps = _mps(n_features=4, phys_dim=2, bond_dim=10)
    mps.canonicalize(rank=3, renormalize=True)
    assert mps.bond_dim == [3, 3, 3]
    assert [tuple(n.shape) for n in mps.mats_env] == [(3, 2, 3)] * 4
    assert mps.left_node.tensor.tolist() == [1, 0, 0]
    fresh = MPS(n_features=4, phys_dim=2, bond_dim=[3, 3, 3])
    fresh.load_state_dict(mps.state_dict())
    qr = _mps(n_features=6, phys_dim=2, bond_dim=4)
    qr.canonicalize(mode="qr", oc=3)
    assert qr.bond_dim == [8, 8, 8, 16, 8]
    cum = _mps(n_features=6, phys_dim=2, bond_dim=4)
    cum.canonicalize(cum_percentage=0.5)
    assert cum.bond_dim == [1] * 5


def test_canonicalize_renormalize_keeps_state_and_bad_args():
    mps = _mps(n_features=5, phys_dim=2, bond_dim=2)
    psi = dense_state(mps)
    mps.canonicalize(renormalize=True, oc=2)
    torch.testing.assert_close(dense_state(mps), psi)
    with pytest.raises(ValueError, match="oc"):
        mps.canonicalize(oc=5)
    with pytest.raises(ValueError, match="mode"):
        mps.canonicalize(mode="lu")
    assert mps.bond_dim == [2, 2, 2, 2]  # unchanged after the errors
    with pytest.raises(NotImplementedError):
        UMPS(n_features=3, phys_dim=2, bond_dim=2).canonicalize()


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
def test_norm(boundary):
    mps = _mps(n_features=5, phys_dim=2, bond_dim=3, boundary=boundary)
    ref = dense_state(mps).norm()
    value = mps.norm()
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(mps.norm(log_scale=True), ref.log())
    value.backward()
    assert all(n.grad is not None for n in mps.mats_env)


def test_entropy():
    mps = _mps(n_features=5, phys_dim=2, bond_dim=3)
    psi = dense_state(mps)
    mat = psi.reshape(8, 4)
    s = torch.linalg.svdvals(mat / mat.norm())
    p = s[s > 0] ** 2
    ent, log_norm = mps.entropy(2, renormalize=True)
    torch.testing.assert_close(ent, -(p * p.log()).sum())
    torch.testing.assert_close(log_norm, psi.norm().log())
    torch.testing.assert_close(dense_state(mps), psi)
    raw = mps.entropy(1)
    s = torch.linalg.svdvals(psi.reshape(4, 8))
    p = s[s > 0] ** 2
    torch.testing.assert_close(raw, -(p * p.log()).sum())
    with pytest.raises(ValueError, match="middle_site"):
        mps.entropy(4)


def test_reduced_density():
    mps = _mps(n_features=4, phys_dim=2, bond_dim=3)
    psi = dense_state(mps)
    rho = mps.reduced_density(trace_sites=[0, 2])
    ref = torch.einsum("ijkl,imkn->jlmn", psi, psi)
    torch.testing.assert_close(rho, ref)
    assert mps.out_features == [0, 2] and mps.in_features == [1, 3] and mps.n_batches == 2
    full = mps.reduced_density([])
    assert full.shape == (2,) * 8
    with pytest.raises(TypeError, match="trace_sites"):
        mps.reduced_density(0)
    with pytest.raises(ValueError, match="trace_sites"):
        mps.reduced_density([9])


def test_layer_canonicalize_then_retrace():
    torch.manual_seed(3)
    layer = MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=2, dtype=DT)
    data = torch.randn(4, 4, 2, dtype=DT)
    before = layer(data)
    layer.canonicalize(cum_percentage=0.9999999, renormalize=True)
    layer.trace(torch.zeros(1, 4, 2, dtype=DT))
    torch.testing.assert_close(layer(data), before)
