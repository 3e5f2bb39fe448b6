"""Uniform models: one shared parameter, dense float64 references."""

import pytest
import torch
from _mps_dense import dense_output

import torchtn as tk
from torchtn.models import UMPS, UMPSLayer

DT = torch.float64


@pytest.mark.parametrize("init", ["randn", "randn_eye", "unit", "canonical", "ones"])
@pytest.mark.parametrize("inline_mats", [False, True])
def test_umps_matches_dense(init, inline_mats):
    torch.manual_seed(0)
    umps = UMPS(n_features=4, phys_dim=2, bond_dim=3, init_method=init, dtype=DT)
    assert list(dict(umps.named_parameters())) == ["param_virtual_uniform"]
    assert all(n.tensor_address() == "virtual_uniform" for n in umps.mats_env)
    data = torch.randn(3, 4, 2, dtype=DT)
    out = umps(data, inline_mats=inline_mats)
    torch.testing.assert_close(out, dense_output(umps, data))
    out.sum().backward()
    assert umps.uniform_memory.grad is not None


def test_umps_tensor_and_copy():
    t = torch.randn(3, 2, 3, dtype=DT)
    umps = UMPS(n_features=3, tensor=t)
    assert umps.name == "umps" and umps.bond_dim == [3, 3, 3]
    torch.testing.assert_close(umps.mats_env[2].tensor, t)
    shared = umps.copy(share_tensors=True)
    assert shared.uniform_memory.tensor is umps.uniform_memory.tensor
    fresh = UMPS(n_features=3, phys_dim=2, bond_dim=3, dtype=DT)
    fresh.load_state_dict(umps.state_dict())
    data = torch.randn(2, 3, 2, dtype=DT)
    torch.testing.assert_close(fresh(data), umps(data))
    with pytest.warns(UserWarning, match="Resultant nodes"):
        umps.parameterize(set_param=True, override=True)
    plain = umps.parameterize(set_param=False)
    assert all(type(n) is tk.Node for n in plain.mats_env)
    assert all(n.tensor_address() == "virtual_uniform" for n in plain.mats_env)
    with pytest.raises(NotImplementedError):
        umps.canonicalize()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features=3, phys_dim=[2], bond_dim=2), TypeError, "phys_dim"),
        (dict(n_features=0, phys_dim=2, bond_dim=2), ValueError, "n_features"),
        (dict(n_features=3, tensor=[1]), TypeError, "tensor"),
        (dict(n_features=3, tensor=torch.randn(2, 2)), ValueError, "rank"),
        (dict(n_features=3, tensor=torch.randn(2, 2, 3)), ValueError, "equal"),
    ],
)
def test_umps_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        UMPS(**kwargs)


@pytest.mark.parametrize("pos", [0, 2, 3])
@pytest.mark.parametrize("init", ["randn", "randn_eye", "unit", "canonical"])
def test_umpslayer_matches_dense(pos, init):
    torch.manual_seed(1)
    layer = UMPSLayer(
        n_features=4, in_dim=3, out_dim=7, bond_dim=2, out_position=pos, init_method=init, dtype=DT
    )
    assert layer.name == "umpslayer"
    assert set(dict(layer.named_parameters())) == {
        "param_virtual_uniform",
        f"param_mats_env_node_({pos})",
    }
    assert layer.out_node.tensor is not layer.uniform_memory.tensor
    assert tuple(layer.uniform_memory.shape) == (2, 3, 2)
    data = torch.randn(5, 3, 3, dtype=DT)
    out = layer(data)
    assert out.shape == (5, 7)
    torch.testing.assert_close(out, dense_output(layer, data))


def test_umpslayer_tensors_and_parameterize():
    uni, outt = torch.randn(2, 3, 2, dtype=DT), torch.randn(2, 4, 2, dtype=DT)
    layer = UMPSLayer(n_features=3, tensors=[uni, outt], out_position=0)
    torch.testing.assert_close(layer.out_node.tensor, outt)
    torch.testing.assert_close(layer.uniform_memory.tensor, uni)
    copy = layer.copy(share_tensors=True)
    assert copy.out_node.tensor is layer.out_node.tensor
    plain = layer.parameterize(set_param=False)
    assert all(n.tensor_address() == "virtual_uniform" for n in plain.mats_env)
    with pytest.raises(ValueError, match="uniform_tensor"):
        UMPSLayer(n_features=3, tensors=[uni])
    with pytest.raises(TypeError, match="in_dim"):
        UMPSLayer(n_features=3, in_dim=[2, 2], out_dim=2, bond_dim=2)
