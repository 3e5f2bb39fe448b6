"""PEPS / UPEPS against dense einsum references (float64, 2x2 and 2x3 grids, bond 2)."""

import pytest
import torch
from _tn_dense import dense_contract
from _tol import assert_close_rel

from torchtn.models.peps import PEPS, UPEPS

BOUNDARIES = [["obc", "obc"], ["obc", "pbc"], ["pbc", "obc"], ["pbc", "pbc"]]
SIDES = ["up", "down", "left", "right"]


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _randomize(net):
    for node in net.leaf_nodes.values():
        node.tensor = torch.randn(node.shape)


def _reference(peps, x):
    grid = [peps._grid[i][j] for i in range(peps.n_rows) for j in range(peps.n_cols)]
    return dense_contract(grid, [(g["input"], x[:, k]) for k, g in enumerate(grid)])


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape", [(2, 2), (2, 3), (3, 2)])
def test_peps_matches_dense(boundary, shape):
    torch.manual_seed(0)
    r, c = shape
    peps = PEPS(r, c, 2, [2, 2], boundary=boundary)
    _randomize(peps)
    x = torch.randn(4, r * c, 2)
    ref = _reference(peps, x)
    for side in SIDES:
        peps.reset()
        out = peps(x, from_side=side)
        assert out.shape == (4,)
        torch.testing.assert_close(out, ref)
    peps.reset()
    torch.testing.assert_close(peps(x, inline=True), ref)


@pytest.mark.parametrize(
    ("boundary", "shape"),
    [
        (["pbc", "obc"], (1, 2)),
        (["obc", "pbc"], (2, 1)),
        (["pbc", "pbc"], (1, 1)),
        (["pbc", "pbc"], (1, 3)),
    ],
)
def test_peps_thin_tori(boundary, shape):
    r, c = shape
    peps = PEPS(r, c, 3, [2, 3], boundary=boundary)
    _randomize(peps)
    x = torch.randn(5, r * c, 3)
    torch.testing.assert_close(peps(x), _reference(peps, x))


def test_peps_node_layout_obc():
    peps = PEPS(3, 4, 2, [2, 3])
    assert peps.left_up_corner.name == "left_up_corner_node"
    assert peps.left_up_corner.axes_names == ["input", "right", "down"]
    assert peps.right_down_corner.axes_names == ["input", "left", "up"]
    assert [n.name for n in peps.up_border] == ["up_border_node_(0)", "up_border_node_(1)"]
    assert peps.up_border[0].axes_names == ["input", "left", "right", "down"]
    assert tuple(peps.up_border[0].shape) == (2, 2, 2, 3)
    assert tuple(peps.left_border[0].shape) == (2, 2, 3, 3)
    assert peps.grid_env[0][1].name == "grid_env_node_(0,1)"
    assert tuple(peps.grid_env[0][0].shape) == (2, 2, 2, 3, 3)
    assert len(list(peps.parameters())) == 12
    assert peps.name == "peps" and peps.in_dim == 2 and peps.bond_dim == [2, 3]
    assert peps.boundary == ["obc", "obc"] and peps.n_batches == 1
    keys = set(peps.state_dict())
    assert "param_grid_env_node_(0,1)" in keys and "param_left_up_corner_node" in keys


def test_peps_tuple_boundary_is_read_by_value():
    """TK 1.1.6 builds a periodic grid for a tuple boundary (spec 17.9); torchtn does not."""
    peps = PEPS(2, 2, 2, [2, 2], boundary=("obc", "obc"))
    assert peps.boundary == ["obc", "obc"]
    assert peps.left_up_corner is not None and peps.grid_env == []


def test_peps_initialize_scale():
    peps = PEPS(2, 3, 2, [2, 2])
    for node in peps.leaf_nodes.values():
        # Drawn as randn * 1e-9 (the default std): 100 standard deviations, not a rounding bound.
        assert node.tensor.abs().max() < 1e-7
    peps.initialize(std=1.0)
    assert max(n.tensor.abs().max() for n in peps.leaf_nodes.values()) > 1e-3


def test_peps_state_dict_trace_and_grad():
    peps = PEPS(2, 3, 2, [2, 2], boundary=["obc", "pbc"])
    _randomize(peps)
    x = torch.randn(6, 6, 2)
    expected = peps(x)
    fresh = PEPS(2, 3, 2, [2, 2], boundary=["obc", "pbc"])
    fresh.load_state_dict(peps.state_dict())
    torch.testing.assert_close(fresh(x), expected)
    peps.reset()
    peps.trace(x[:1])
    torch.testing.assert_close(peps(x), expected)
    peps(x).sum().backward()
    assert all(p.grad is not None for p in peps.parameters())


def test_peps_n_batches_two():
    peps = PEPS(2, 2, 2, [2, 2], n_batches=2)
    _randomize(peps)
    x = torch.randn(3, 4, 4, 2)
    out = peps(x)
    assert out.shape == (3, 4)
    torch.testing.assert_close(out.reshape(-1), _reference(peps, x.reshape(12, 4, 2)))


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((2, 2, 2.0, [2, 2]), {}, ValueError, "in_dim"),
        ((2, 2, 2, 2), {}, TypeError, "bond_dim"),
        ((2, 2, 2, [2, 2, 2]), {}, ValueError, "bond_dim"),
        ((2, 2, 2, [2, 2]), {"boundary": "obc"}, TypeError, "boundary"),
        ((2, 2, 2, [2, 2]), {"boundary": ["obc"]}, ValueError, "boundary"),
        ((2, 2, 2, [2, 2]), {"boundary": ["obc", "xbc"]}, ValueError, "boundary"),
        ((1, 2, 2, [2, 2]), {}, ValueError, "n_rows"),
        ((2, 1, 2, [2, 2]), {}, ValueError, "n_cols"),
        ((2, 2, 2, [2, 2]), {"n_batches": "1"}, TypeError, "n_batches"),
    ],
)
def test_peps_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        PEPS(*args, **kwargs)


def test_upeps_shares_one_parameter():
    upeps = UPEPS(2, 3, 2, [2, 3])
    assert [k for k, _ in upeps.named_parameters()] == ["param_virtual_uniform"]
    nodes = [n for row in upeps.grid_env for n in row]
    assert len(nodes) == 6 and all(n.tensor_address() == "virtual_uniform" for n in nodes)
    upeps.uniform_memory.tensor = torch.randn(upeps.uniform_memory.shape)
    for n in nodes:
        n.set_tensor_from(upeps.uniform_memory)
    x = torch.randn(4, 6, 2)
    out = upeps(x)
    torch.testing.assert_close(out, _reference(upeps, x))
    fresh = UPEPS(2, 3, 2, [2, 3])
    fresh.load_state_dict(upeps.state_dict())
    torch.testing.assert_close(fresh(x), out)
    with pytest.raises(ValueError, match="n_rows"):
        UPEPS(0, 2, 2, [2, 2])


# -- contraction plans and max_bond truncation ------------------------------------------------
def _near_product(net, noise):
    """Sites ``e_0`` on every bond (times ``[1, 0, ...]`` on the input) plus noise."""
    gen = torch.Generator().manual_seed(3)
    for node in net.leaf_nodes.values():
        t = torch.zeros(node.shape)
        t[(0,) * len(node.shape)] = 1.0
        node.tensor = t + noise * torch.randn(node.shape, generator=gen)


@pytest.fixture
def force_boundary(monkeypatch):
    """Make every contraction take the boundary-MPS sweep, truncating or not."""
    from torchtn.models import _peps_contract

    monkeypatch.setattr(_peps_contract, "boundary_truncates", lambda orientation, max_bond: True)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_peps_boundary_sweep_without_truncation_is_exact(boundary, force_boundary):
    torch.manual_seed(1)
    peps = PEPS(3, 4, 2, [2, 3], boundary=boundary)
    _randomize(peps)
    x = torch.randn(3, 12, 2)
    ref = _reference(peps, x)
    for side in SIDES:
        peps.reset()
        torch.testing.assert_close(peps(x, from_side=side, max_bond=1000), ref)
        assert peps.contraction_method == "boundary"


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_peps_max_bond_at_exact_rank_does_not_truncate(boundary):
    torch.manual_seed(2)
    peps = PEPS(3, 4, 2, [2, 2], boundary=boundary)
    _randomize(peps)
    x = torch.randn(3, 12, 2)
    ref = _reference(peps, x)
    exact = {"obc": 4, "pbc": 16}[boundary[1]] if boundary[0] == "obc" else 16
    for side in ("up", "down"):
        peps.reset()
        torch.testing.assert_close(peps(x, from_side=side, max_bond=exact), ref)
        assert peps.contraction_method in ("zipper", "einsum")


def test_peps_truncation_matches_tensorkrowch():
    """Values printed by TensorKrowch 1.1.6 for this seeded case (float64)."""
    torch.manual_seed(0)
    peps = PEPS(4, 4, 2, [2, 2])
    _randomize(peps)
    x = torch.randn(3, 16, 2)
    out = peps(x, max_bond=2)
    assert peps.contraction_method == "boundary"
    expected = torch.tensor([7789.90696799421, 958.4488247717916, -3300.0550213052957])
    # Truncated SVDs on a 4x4 grid; relative perturbations of 1e-12 of the cores move the
    # output by < 1e-11 (checked), so rounding on another CPU stays far below 1000 eps.
    assert_close_rel(out, expected, factor=1000)


@pytest.mark.parametrize("boundary", [["obc", "obc"], ["pbc", "pbc"]])
def test_peps_truncation_error_small_for_low_entanglement(boundary):
    peps = PEPS(4, 4, 2, [3, 3], boundary=boundary)
    _near_product(peps, 0.02)
    x = torch.rand(6, 16, 2)
    x[..., 0] = 1.0
    ref = _reference(peps, x)
    for side in SIDES:
        peps.reset()
        out = peps(x, from_side=side, max_bond=2)
        assert peps.contraction_method == "boundary"
        assert out.shape == (6,)
        err = ((out - ref).norm() / ref.norm()).item()
        # A truncation error (bond 3 cut to 2 on a near-product state), not a rounding one.
        assert 0 < err < 1e-3
        if boundary == ["obc", "obc"]:  # the local sweep of a ring need not be monotone
            peps.reset()
            better = ((peps(x, from_side=side, max_bond=4) - ref).norm() / ref.norm()).item()
            assert better < err


def test_peps_truncated_gradcheck():
    peps = PEPS(3, 4, 2, [2, 2])
    _randomize(peps)
    peps.trace(torch.zeros(1, 12, 2), max_bond=2)
    assert peps.contraction_method == "boundary"
    x = torch.randn(2, 12, 2, requires_grad=True)
    # The tolerances bound gradcheck's finite differences (step 1e-6: error ~ step^2 times
    # the third derivative, plus eps / step), not rounding; tighter than its defaults.
    assert torch.autograd.gradcheck(lambda t: peps(t), (x,), atol=1e-6, rtol=1e-5)
    peps(x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in peps.parameters())


def test_peps_truncated_traced_equals_untraced():
    peps = PEPS(4, 4, 2, [3, 2], boundary=["obc", "pbc"])
    _near_product(peps, 0.2)
    x = torch.rand(5, 16, 2)
    untraced = peps(x, from_side="left", max_bond=3)
    assert peps.contraction_method == "boundary"
    peps.reset()
    peps.trace(x[:1], from_side="left", max_bond=3)
    torch.testing.assert_close(peps(x), untraced)
    torch.testing.assert_close(peps(x[:2]), untraced[:2])


def test_peps_plan_choice():
    small = PEPS(2, 2, 2, [2, 2])
    _randomize(small)
    x = torch.randn(3, 4, 2)
    small(x)
    assert small.contraction_method == "einsum"
    big = PEPS(5, 5, 2, [2, 2])  # more sites than EINSUM_MAX_SITES
    _near_product(big, 0.1)
    big(torch.rand(2, 25, 2))
    assert big.contraction_method == "zipper"
    big.reset()
    big(torch.rand(2, 25, 2), max_bond=2)
    assert big.contraction_method == "boundary"


def test_upeps_truncated():
    upeps = UPEPS(3, 4, 2, [2, 2])
    t = torch.zeros(upeps.uniform_memory.shape)
    t[0, 0, 0, 0, 0] = 1.0
    upeps.uniform_memory.tensor = t + 0.05 * torch.randn(t.shape)
    x = torch.rand(4, 12, 2)
    x[..., 0] = 1.0
    ref = _reference(upeps, x)
    out = upeps(x, max_bond=3)
    assert upeps.contraction_method == "boundary" and out.shape == (4,)
    # A truncation error (bond 3 kept on a near-product state), not a rounding one.
    assert ((out - ref).norm() / ref.norm()).item() < 1e-3


def test_peps_max_bond_validation():
    peps = PEPS(2, 2, 2, [2, 2])
    with pytest.raises(ValueError, match="max_bond"):
        peps(torch.randn(1, 4, 2), max_bond=0)


def test_contraction_plan_method_is_not_hidden() -> None:
    """The network method ``contraction_plan()`` prices the automatic contraction; the
    algorithm the PEPS's own ``contract()`` chose is ``contraction_method``."""
    peps = PEPS(2, 2, 2, [2, 2])
    assert peps.contraction_method is None
    plan = peps.contraction_plan()
    assert plan.flops > 0
    peps(torch.randn(3, 4, 2))
    assert peps.contraction_method in ("boundary", "zipper", "einsum")
