"""canonicalize_univocal (spec §3.10) against dense float64 references."""

import math

import pytest
import torch
from _mps_dense import dense_output, dense_state
from _tol import assert_close_rel

from torchtn.errors import TNError
from torchtn.models import MPS, UMPS, ConvUMPS, MPSLayer, UMPSLayer, _univocal
from torchtn.models._univocal import SingularGaugeError, univocal_bond_dims, univocal_tensors

DT = torch.float64


def _build(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    if kind == "mps_unit":
        return MPS(n_features=5, phys_dim=2, bond_dim=6, init_method="unit", dtype=DT)
    if kind == "mps_randn":
        return MPS(n_features=6, phys_dim=[2, 3, 2, 2, 3, 2], bond_dim=[4, 5, 6, 3, 2], dtype=DT)
    if kind == "mps_complex":
        return MPS(n_features=4, phys_dim=3, bond_dim=4, dtype=torch.complex128)
    if kind == "mps_outputs":
        return MPS(n_features=5, phys_dim=2, bond_dim=3, in_features=[0, 2, 3], dtype=DT)
    if kind == "layer_unit":
        return MPSLayer(n_features=5, in_dim=3, out_dim=4, bond_dim=5, init_method="unit", dtype=DT)
    if kind == "layer_first":
        return MPSLayer(n_features=4, in_dim=2, out_dim=3, bond_dim=4, out_position=0, dtype=DT)
    if kind == "layer_last":
        return MPSLayer(n_features=4, in_dim=2, out_dim=5, bond_dim=4, out_position=3, dtype=DT)
    raise AssertionError(kind)


KINDS = [
    "mps_unit",
    "mps_randn",
    "mps_complex",
    "mps_outputs",
    "layer_unit",
    "layer_first",
    "layer_last",
]


def _expected_bonds(phys, bonds):
    return [min(b, math.prod(phys[: c + 1]), math.prod(phys[c + 1 :])) for c, b in enumerate(bonds)]


def _gauge_condition(model) -> float:
    """Sum over the cuts of cond(C_c), the matrices the univocal gauge inverts.

    They amplify the rounding of the new cores and of the state (by about 0.1 eps times
    this sum when measured; up to 3e4 for a random MPS). They are read off the state's
    amplitudes, so they do not depend on the gauge of the input cores.
    """
    cores = _univocal._rank3([t.detach() for t in model.tensors])
    bonds = univocal_bond_dims([c.shape[1] for c in cores], [c.shape[2] for c in cores[:-1]])
    total = 0.0
    for c, rows in enumerate(bonds):
        gram = (
            _univocal._left_projector(cores, c, rows) @ _univocal._right_projector(cores, c, rows).T
        )
        total += torch.linalg.cond(gram).item()
    return total


def _assert_state_close(got, expected, cond=1.0):
    assert_close_rel(got, expected, factor=100 + 10 * cond)


@pytest.mark.parametrize("kind", KINDS)
def test_univocal_keeps_state_and_follows_min_rule(kind):
    model = _build(kind)
    psi = dense_state(model)
    cond = _gauge_condition(model)
    phys, bonds = list(model.phys_dim), list(model.bond_dim)
    model.canonicalize_univocal()
    new = _expected_bonds(phys, bonds)
    assert model.bond_dim == new == univocal_bond_dims(phys, bonds)
    assert model.phys_dim == phys
    shapes = [tuple(node.shape) for node in model.mats_env]
    padded = [new[0], *new, new[-1]]
    assert shapes == [(padded[i], phys[i], padded[i + 1]) for i in range(len(phys))]
    for node, size in ((model.left_node, new[0]), (model.right_node, new[-1])):
        e0 = torch.zeros(size, dtype=psi.dtype)
        e0[0] = 1
        assert torch.equal(node.tensor.detach(), e0)
    _assert_state_close(dense_state(model), psi, cond)


def test_spec_worked_example():
    torch.manual_seed(0)
    mps = MPS(n_features=4, phys_dim=2, bond_dim=10, dtype=DT)
    mps.canonicalize(rank=3, renormalize=True)
    psi = dense_state(mps)
    cond = _gauge_condition(mps)
    mps.canonicalize_univocal()
    assert mps.bond_dim == [2, 3, 2]
    _assert_state_close(dense_state(mps), psi, cond)


def _gauged(tensors, seed):
    """Insert ``G G^{-1}`` with a random well-conditioned ``G`` on every bond."""
    gen = torch.Generator().manual_seed(seed)
    ts = [t.detach().clone() for t in tensors]
    for c in range(len(ts) - 1):
        size = ts[c].shape[-1]
        g = torch.eye(size, dtype=ts[c].dtype) + 0.3 * torch.randn(
            size, size, generator=gen, dtype=DT
        ).to(ts[c].dtype)
        ts[c] = torch.tensordot(ts[c], g, ([-1], [0]))
        ts[c + 1] = torch.tensordot(torch.linalg.inv(g), ts[c + 1], ([1], [0]))
    return ts


@pytest.mark.parametrize("kind", KINDS)
def test_univocal_is_gauge_invariant_and_idempotent(kind):
    model = _build(kind)
    gauged = _gauged(model.tensors, seed=7)
    if isinstance(model, MPSLayer):
        other = MPSLayer(tensors=gauged, out_position=model.out_position)
    else:
        other = MPS(tensors=gauged, in_features=model.in_features)
    assert not torch.allclose(other.tensors[1], model.tensors[1])
    _assert_state_close(dense_state(other), dense_state(model))  # G is well conditioned
    factor = 100 + 10 * _gauge_condition(model)
    model.canonicalize_univocal()
    other.canonicalize_univocal()
    assert other.bond_dim == model.bond_dim
    for a, b in zip(other.tensors, model.tensors, strict=True):
        assert_close_rel(a.detach(), b.detach(), factor=factor)
    again = [t.detach().clone() for t in model.tensors]
    model.canonicalize_univocal()
    for a, b in zip(model.tensors, again, strict=True):
        assert_close_rel(a.detach(), b, factor=factor)


@pytest.mark.parametrize("kind", ["mps_unit", "mps_outputs", "layer_unit", "layer_first"])
@pytest.mark.parametrize("traced", [False, True])
def test_univocal_keeps_nodes_data_nodes_and_forward(kind, traced):
    model = _build(kind)
    n_in = len(model.in_features)
    d_in = model.phys_dim[model.in_features[0]]
    data = torch.randn(3, n_in, d_in, dtype=model.tensors[0].dtype)
    expected = dense_output(model, data)
    if traced:
        model.trace(data)
    torch.testing.assert_close(model(data), expected)
    nodes, data_nodes = list(model.mats_env), list(model.data_nodes.values())
    n_leaf = len(model.leaf_nodes)
    model.canonicalize_univocal()
    assert all(a is b for a, b in zip(model.mats_env, nodes, strict=True))
    assert list(model.data_nodes.values()) == data_nodes
    assert len(model.leaf_nodes) == n_leaf and not model.resultant_nodes
    assert model.auto_stack
    for node, dn in zip(model.in_env, data_nodes, strict=True):
        edge = node["input"]
        assert dn in (edge.node1, edge.node2)
    torch.testing.assert_close(model(data), expected)
    if traced:
        model.trace(data)
        torch.testing.assert_close(model(data), expected)
    out = model(data).abs().sum()
    out.backward()
    assert all(p.grad is not None for p in model.parameters() if p.dim() == 3)


@pytest.mark.parametrize("kind", ["mps_unit", "layer_unit", "layer_first"])
def test_state_dict_loads_into_fresh_model(kind):
    model = _build(kind)
    model.canonicalize_univocal()
    if isinstance(model, MPSLayer):
        fresh = MPSLayer(
            n_features=model.n_features,
            in_dim=model.in_dim,
            out_dim=model.out_dim,
            bond_dim=model.bond_dim,
            out_position=model.out_position,
            dtype=DT,
        )
    else:
        fresh = MPS(
            n_features=model.n_features,
            phys_dim=model.phys_dim,
            bond_dim=model.bond_dim,
            dtype=DT,
        )
    fresh.load_state_dict(model.state_dict())
    torch.testing.assert_close(dense_state(fresh), dense_state(model))


def test_single_site_is_unchanged():
    torch.manual_seed(0)
    mps = MPS(n_features=1, phys_dim=3, bond_dim=[], dtype=DT)
    psi = dense_state(mps)
    mps.canonicalize_univocal()
    assert mps.bond_dim == [] and tuple(mps.mats_env[0].shape) == (1, 3, 1)
    torch.testing.assert_close(dense_state(mps), psi)


def test_pbc_and_uniform_models_raise():
    with pytest.raises(ValueError, match="obc"):
        MPS(n_features=3, phys_dim=2, bond_dim=2, boundary="pbc").canonicalize_univocal()
    with pytest.raises(ValueError, match="obc"):
        MPSLayer(
            n_features=3, in_dim=2, out_dim=2, bond_dim=2, boundary="pbc"
        ).canonicalize_univocal()
    for model in (
        UMPS(n_features=3, phys_dim=2, bond_dim=2),
        UMPSLayer(n_features=3, in_dim=2, out_dim=3, bond_dim=2),
        ConvUMPS(in_channels=2, bond_dim=2, kernel_size=2),
    ):
        with pytest.raises(NotImplementedError, match="canonicalize_univocal"):
            model.canonicalize_univocal()


def _snapshot(model):
    return (
        list(model.bond_dim),
        [tuple(node.shape) for node in model.mats_env],
        {k: v.detach().clone() for k, v in model.state_dict().items()},
    )


@pytest.mark.parametrize(
    "build",
    [
        # amplitudes vanish where the gauge reads them: C_c exactly singular
        lambda: MPS(n_features=4, phys_dim=2, bond_dim=2, init_method="zeros", dtype=DT),
        lambda: MPS(n_features=4, phys_dim=2, bond_dim=3, init_method="copy", dtype=DT),
        # bond 2 (7) exceeds what site 3 can carry (2 * 3): C_2 numerically singular
        lambda: MPS(n_features=6, phys_dim=[2, 3, 2, 2, 3, 2], bond_dim=[4, 5, 7, 3, 2], dtype=DT),
    ],
)
def test_singular_gauge_leaves_model_unchanged(build):
    torch.manual_seed(3)
    model = build()
    data = torch.randn(2, 4 if model.n_features == 4 else 6, 2, dtype=DT)
    if model.n_features == 6:
        data = [torch.randn(2, d, dtype=DT) for d in model.phys_dim]
    out = model(data)
    before = _snapshot(model)
    data_nodes = list(model.data_nodes.values())
    with pytest.raises(SingularGaugeError, match="singular") as info:
        model.canonicalize_univocal()
    assert isinstance(info.value, TNError)
    assert isinstance(info.value, torch.linalg.LinAlgError)  # what TK raised
    after = _snapshot(model)
    assert after[:2] == before[:2]
    assert after[2].keys() == before[2].keys()
    assert all(torch.equal(after[2][k], v) for k, v in before[2].items())
    assert list(model.data_nodes.values()) == data_nodes
    torch.testing.assert_close(model(data), out)


def test_empty_and_nonfinite_cores_raise():
    mps = MPS(n_features=3, phys_dim=2, bond_dim=2, init_method=None)
    with pytest.raises(ValueError, match="no tensor"):
        mps.canonicalize_univocal()
    ts = [torch.randn(2, 2, dtype=DT), torch.randn(2, 2, 2, dtype=DT), torch.randn(2, 2, dtype=DT)]
    ts[1][0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="nan"):
        univocal_tensors(ts)


def test_univocal_tensors_is_pure():
    torch.manual_seed(0)
    ts = [t.detach() for t in MPS(n_features=4, phys_dim=2, bond_dim=3, dtype=DT).tensors]
    copies = [t.clone() for t in ts]
    new = univocal_tensors(ts)
    assert all(torch.equal(a, b) for a, b in zip(ts, copies, strict=True))
    assert [tuple(t.shape) for t in new] == [(2, 2), (2, 2, 3), (3, 2, 2), (2, 2)]


@pytest.mark.parametrize("cls", ["ConvMPS", "ConvMPSLayer"])
def test_conv_models_keep_output(cls):
    import torchtn.models as models

    torch.manual_seed(0)
    kw = dict(in_channels=2, bond_dim=3, kernel_size=2, dtype=DT)
    if cls == "ConvMPSLayer":
        kw["out_channels"] = 3
    model = getattr(models, cls)(**kw)
    image = torch.randn(2, 2, 4, 4, dtype=DT)
    expected = model(image)
    model.canonicalize_univocal()
    assert max(model.bond_dim) <= 3
    torch.testing.assert_close(model(image), expected)
