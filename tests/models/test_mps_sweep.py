"""Default MPS contraction: end regions as one ``sweep`` step (cost-model algorithm)."""

from __future__ import annotations

import pytest
import torch
from _mps_dense import LETTERS, dense_output, dense_state

from torchtn.models import MPS, UMPS, MPSLayer, UMPSLayer

DT = torch.float64


def _ref(mps, data):
    if isinstance(data, list):
        eq = (
            LETTERS[: mps.n_features]
            + ","
            + ",".join("z" + LETTERS[i] for i in mps.in_features)
            + "->z"
            + "".join(LETTERS[i] for i in mps.out_features)
        )
        return torch.einsum(eq, dense_state(mps), *data)
    return dense_output(mps, data)


def _names(model):
    return sorted(
        {n.name.removeprefix("mps_").split("_")[0] for n in model.resultant_nodes.values()}
    )


@pytest.mark.parametrize("outs", [[], [0], [4], [2], [1, 3], [0, 4], [1, 2]])
@pytest.mark.parametrize("bonds", [[3, 3, 3, 3], [2, 4, 3, 2]])
def test_default_matches_dense(outs, bonds):
    torch.manual_seed(0)
    mps = MPS(n_features=5, phys_dim=2, bond_dim=bonds, out_features=outs, dtype=DT)
    data = torch.randn(3, len(mps.in_features), 2, dtype=DT)
    out = mps(data)
    torch.testing.assert_close(out, _ref(mps, data))
    if mps.in_features and (0 in mps.in_features or 4 in mps.in_features):
        assert "sweep" in _names(mps)


def test_mixed_physical_dims_are_padded_consistently():
    torch.manual_seed(1)
    phys = [2, 3, 2, 4, 3]
    mps = MPS(n_features=5, phys_dim=phys, bond_dim=[2, 3, 4, 2], out_features=[2], dtype=DT)
    data = [torch.randn(4, phys[i], dtype=DT) for i in mps.in_features]
    torch.testing.assert_close(mps(data), _ref(mps, data))


@pytest.mark.parametrize("explicit", [(False, False), (True, False), (False, True), (True, True)])
def test_default_equals_explicit_options_values_and_grads(explicit):
    torch.manual_seed(2)
    layer = MPSLayer(n_features=7, in_dim=3, out_dim=4, bond_dim=5, dtype=DT)
    data = torch.randn(6, 6, 3, dtype=DT)
    out = layer(data)
    out.square().sum().backward()
    nodes = [*layer.mats_env, layer.left_node, layer.right_node]
    grads = [n.grad.clone() for n in nodes]
    assert "sweep" in _names(layer)
    layer.zero_grad()
    layer.reset()
    other = layer(data, inline_input=explicit[0], inline_mats=explicit[1])
    assert "sweep" not in _names(layer)
    other.square().sum().backward()
    torch.testing.assert_close(out, other)
    for a, n in zip(grads, nodes, strict=True):
        torch.testing.assert_close(a, n.grad)


@pytest.mark.parametrize("auto_stack", [True, False])
@pytest.mark.parametrize("pos", [0, 3, 6])
def test_traced_replay_and_batch_change(auto_stack, pos):
    torch.manual_seed(3)
    layer = MPSLayer(n_features=7, in_dim=2, out_dim=3, bond_dim=4, out_position=pos, dtype=DT)
    layer.auto_stack = auto_stack
    layer.trace(torch.zeros(1, 6, 2, dtype=DT))
    for batch in (5, 1, 9):
        data = torch.randn(batch, 6, 2, dtype=DT)
        torch.testing.assert_close(layer(data), dense_output(layer, data))


def test_n_batches_two():
    torch.manual_seed(4)
    mps = MPS(n_features=4, phys_dim=2, bond_dim=3, n_batches=2, dtype=DT)
    data = torch.randn(3, 2, 4, 2, dtype=DT)
    out = mps(data)
    assert out.shape == (3, 2)
    ref = torch.stack([dense_output(mps, data[:, j]) for j in range(2)], 1)
    torch.testing.assert_close(out, ref)


def test_uniform_models_share_one_parameter():
    torch.manual_seed(5)
    umps = UMPS(n_features=5, phys_dim=2, bond_dim=3, dtype=DT)
    data = torch.randn(2, 5, 2, dtype=DT)
    torch.testing.assert_close(umps(data), dense_output(umps, data))
    layer = UMPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3, dtype=DT)
    data = torch.randn(2, 4, 2, dtype=DT)
    torch.testing.assert_close(layer(data), dense_output(layer, data))
    assert len(list(layer.parameters())) == 2  # uniform core + output core


def test_gradcheck_through_traced_sweep():
    torch.manual_seed(6)
    layer = MPSLayer(n_features=5, in_dim=2, out_dim=2, bond_dim=2, dtype=DT)
    layer.trace(torch.zeros(1, 4, 2, dtype=DT))
    data = torch.randn(3, 4, 2, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: layer(x), (data,))


def test_renormalize_keeps_tk_scheme():
    torch.manual_seed(7)
    layer = MPSLayer(n_features=5, in_dim=2, out_dim=2, bond_dim=3, dtype=DT)
    data = torch.randn(2, 4, 2, dtype=DT)
    layer(data, renormalize=True)
    assert "sweep" not in _names(layer)
