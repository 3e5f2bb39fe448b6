"""TensorKrowch parity fixes of issue 12, item 5.

(a) ``canonicalize`` of an MPO whose data is an ``MPSData`` (``contract(mps=...)``): TK
    keeps the names, count and meaning of every node (the MPSData's boundary vectors
    included) and the MPSData cores stay attached, so the model still runs. The expected
    keys and shapes below were read from TensorKrowch 1.1.6 on the same model.
(b) ``UMPO.parameterize(set_param=False)`` returns the non-parameter copy, as in TK.
"""

from __future__ import annotations

import torch

import torchtn as tk
from torchtn.models import MPO, UMPO, MPSData, MPSLayer

DT = torch.float64


def _mpo_and_mps():
    torch.manual_seed(0)
    tensors = [torch.randn(2, 3, 3, dtype=DT)]
    tensors += [torch.randn(3, 2, 3, 3, dtype=DT) for _ in range(2)]
    tensors += [torch.randn(3, 2, 3, dtype=DT)]
    mpo = MPO(tensors=tensors)
    mps = MPSData(n_features=4, phys_dim=2, bond_dim=5)
    cores = [torch.randn(7, 2, 5, dtype=DT)]
    cores += [torch.randn(7, 5, 2, 5, dtype=DT) for _ in range(2)]
    cores += [torch.randn(7, 5, 2, dtype=DT)]
    mps.add_data(cores)
    return mpo, mps


def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_mpo_with_mps_data_canonicalize_keeps_names_and_count():
    mpo, mps = _mpo_and_mps()
    out = mpo(mps=mps)
    data_nodes = list(mpo.data_nodes.values())
    boundaries = {k: mpo[k] for k in ("left_node_0", "left_node_1", "right_node_0", "right_node_1")}
    mpo.canonicalize()  # full rank: same operator
    torch.testing.assert_close(mpo(mps=mps), out)
    mpo.canonicalize(rank=2)
    mpo(mps=mps)
    # TensorKrowch 1.1.6, same model: left/right_node_0 are the MPO's boundary vectors
    # (resized to the new bond 2), left/right_node_1 the MPSData's (bond 5).
    expected = {
        "param_left_node_0": (2,),
        "param_left_node_1": (5,),
        "param_right_node_0": (2,),
        "param_right_node_1": (5,),
        **{f"param_mats_env_node_({i})": (2, 2, 2, 3) for i in range(4)},
    }
    assert _shapes(mpo) == expected
    assert sum(p.numel() for p in mpo.parameters()) == 110  # as TK (no extra parameters)
    assert mpo.left_node is boundaries["left_node_0"] is mpo["left_node_0"]
    assert mps.left_node is boundaries["left_node_1"] is mpo["left_node_1"]
    assert list(mpo.data_nodes.values()) == data_nodes
    assert [n.name for n in data_nodes] == [f"mats_env_data_node_({i})" for i in range(4)]
    for node, core in zip(mps.mats_env, mpo.mats_env, strict=True):
        assert node["feature"] is core["input"]


def test_mpo_with_mps_data_truncation_matches_dense_reference():
    mpo, mps = _mpo_and_mps()
    mpo.canonicalize(rank=2)
    cores = mpo.tensors  # user convention, boundary vectors contracted in
    assert [tuple(c.shape) for c in cores] == [(2, 2, 3), (2, 2, 2, 3), (2, 2, 2, 3), (2, 2, 3)]
    mps_dense = torch.einsum("zpa,zaqb,zbrc,zcs->zpqrs", *mps.tensors)
    op = torch.einsum("paA,aqbB,brcC,csD->pqrsABCD", *cores)
    expected = torch.einsum("zpqrs,pqrsABCD->zABCD", mps_dense, op)
    torch.testing.assert_close(mpo(mps=mps), expected)


def test_mps_canonicalize_keeps_data_and_boundary_nodes_like_tk():
    torch.manual_seed(0)
    model = MPSLayer(
        n_features=5, in_dim=2, out_dim=3, bond_dim=4, init_method="randn_eye", std=1e-2
    )
    x = torch.rand(6, 4, 2)
    model(x)
    data, left = list(model.data_nodes.values()), model.left_node
    model.canonicalize(rank=3)
    # TensorKrowch 1.1.6: same key order, same data node objects.
    assert list(model.state_dict()) == ["param_left_node", "param_right_node"] + [
        f"param_mats_env_node_({i})" for i in range(5)
    ]
    assert list(model.data_nodes.values()) == data and model.left_node is left
    assert model.left_node.shape == (3,) and model(x).shape == (6, 3)


def test_umpo_parameterize_false_returns_the_non_parameter_copy():
    torch.manual_seed(0)
    umpo = UMPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2)
    x = torch.randn(4, 3, 2)
    out = umpo(x)
    umpo.reset()
    plain = umpo.parameterize(set_param=False)
    assert plain is not umpo and type(plain) is UMPO
    assert all(type(n) is tk.Node for n in plain.mats_env)
    assert type(plain.uniform_memory) is tk.Node
    assert [n.tensor_address() for n in plain.mats_env] == ["virtual_uniform"] * 3
    assert list(plain.parameters()) == []
    assert plain.uniform_memory.tensor is not umpo.uniform_memory.tensor  # cloned, as TK
    torch.testing.assert_close(plain(x), out)
    # the original is untouched; parameterizing back (TK: KeyError) works
    assert [k for k, _ in umpo.named_parameters()] == ["param_virtual_uniform"]
    plain.reset()
    back = plain.parameterize(set_param=True, override=True)
    assert back is plain and [k for k, _ in plain.named_parameters()] == ["param_virtual_uniform"]
    torch.testing.assert_close(plain(x), out)
