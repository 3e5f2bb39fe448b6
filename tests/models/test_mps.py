"""MPS against dense float64 references: construction, init methods, contraction options."""

import itertools

import pytest
import torch
from _mps_dense import dense_output, dense_state

import torchtn as tk
from torchtn.models import MPS

DT = torch.float64


def _mps(**kw):
    kw.setdefault("dtype", DT)
    return MPS(**kw)


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
# 7 and 11: the pairwise tree carries an odd leftover into a round that stacks it with
# a pair's result (both must then have TensorKrowch's (batch, left, right) axis order).
@pytest.mark.parametrize("n", [1, 2, 4, 5, 7, 11])
@pytest.mark.parametrize("options", list(itertools.product([False, True], repeat=2)))
def test_all_inputs_matches_dense(boundary, n, options):
    torch.manual_seed(0)
    mps = _mps(n_features=n, phys_dim=2, bond_dim=3, boundary=boundary)
    data = torch.randn(4, n, 2, dtype=DT)
    inline_input, inline_mats = options
    out = mps(data, inline_input=inline_input, inline_mats=inline_mats)
    assert out.shape == (4,)
    torch.testing.assert_close(out, dense_output(mps, data))
    # Each input node is contracted data first, as TensorKrowch: (batch, left, right).
    first = "contract_edges_0" if inline_input else "unbind_0"
    if n > 1:
        assert mps.resultant_nodes[first].axes_names == ["batch", "left", "right"]


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
@pytest.mark.parametrize("outs", [[0], [4], [1, 3], [0, 2, 4], [1, 2]])
@pytest.mark.parametrize("inline_mats", [False, True])
def test_output_sites_match_dense(boundary, outs, inline_mats):
    torch.manual_seed(1)
    mps = _mps(
        n_features=5,
        phys_dim=[2, 3, 2, 3, 2],
        bond_dim=[2, 3, 2, 3, 2][: 4 if boundary == "obc" else 5],
        boundary=boundary,
        out_features=outs,
    )
    data = [torch.randn(3, mps.phys_dim[i], dtype=DT) for i in mps.in_features]
    out = mps(data, inline_mats=inline_mats)
    stacked = torch.stack(data, 1) if len({d.shape[-1] for d in data}) == 1 else None
    if stacked is None:
        psi = dense_state(mps)
        from _mps_dense import LETTERS

        eq = (
            LETTERS[:5]
            + ","
            + ",".join("z" + LETTERS[i] for i in mps.in_features)
            + "->z"
            + "".join(LETTERS[i] for i in outs)
        )
        ref = torch.einsum(eq, psi, *data)
    else:
        ref = dense_output(mps, stacked)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref)


def test_no_inputs_returns_full_state():
    mps = _mps(n_features=3, phys_dim=2, bond_dim=2, out_features=[0, 1, 2])
    assert mps.in_features == []
    torch.testing.assert_close(mps.contract().tensor, dense_state(mps))


@pytest.mark.parametrize(
    "init", ["randn", "rand", "ones", "copy", "zeros", "unit", "canonical", "randn_eye"]
)
@pytest.mark.parametrize("boundary", ["obc", "pbc"])
def test_init_methods(init, boundary):
    torch.manual_seed(2)
    mps = _mps(n_features=4, phys_dim=2, bond_dim=2, boundary=boundary, init_method=init)
    data = torch.randn(2, 4, 2, dtype=DT)
    torch.testing.assert_close(mps(data), dense_output(mps, data))
    if boundary == "obc":
        first, last = mps.mats_env[0].tensor, mps.mats_env[-1].tensor
        assert torch.all(first[1:] == 0) and torch.all(last[..., 1:] == 0)
        assert mps.left_node.tensor.tolist() == [1.0, 0.0]


def test_canonical_norm():
    torch.manual_seed(3)
    mps = _mps(n_features=5, phys_dim=2, bond_dim=2, init_method="canonical")
    assert dense_state(mps).norm() ** 2 == pytest.approx(2**5)


def test_randn_eye_adds_identity():
    torch.manual_seed(4)
    mps = _mps(
        n_features=3, phys_dim=2, bond_dim=3, boundary="pbc", init_method="randn_eye", std=1e-9
    )
    torch.testing.assert_close(mps.mats_env[1].tensor[:, 0, :], torch.eye(3, dtype=DT))


def test_shapes_names_and_state_dict():
    mps = MPS(n_features=3, phys_dim=2, bond_dim=4)
    assert mps.name == "mps"
    assert [tuple(n.shape) for n in mps.mats_env] == [(4, 2, 4)] * 3
    assert [tuple(t.shape) for t in mps.tensors] == [(2, 4), (4, 2, 4), (4, 2)]
    assert mps.left_node.tensor.tolist() == [1, 0, 0, 0]
    assert list(mps.state_dict()) == [
        "param_mats_env_node_(0)",
        "param_mats_env_node_(1)",
        "param_mats_env_node_(2)",
        "param_left_node",
        "param_right_node",
    ]
    assert mps.bond_dim == [4, 4]
    assert [n.name for n in mps.mats_env] == [f"mats_env_node_({i})" for i in range(3)]
    one = MPS(n_features=1, phys_dim=3, bond_dim=[])
    assert tuple(one.mats_env[0].shape) == (1, 3, 1)
    assert tuple(one.tensors[0].shape) == (3,)


def test_state_dict_round_trip():
    torch.manual_seed(5)
    mps = _mps(n_features=4, phys_dim=2, bond_dim=3)
    data = torch.randn(3, 4, 2, dtype=DT)
    expected = mps(data)
    mps.reset()
    fresh = _mps(n_features=4, phys_dim=2, bond_dim=3)
    fresh.load_state_dict(mps.state_dict())
    torch.testing.assert_close(fresh(data), expected)


@pytest.mark.parametrize("options", list(itertools.product([False, True], repeat=3)))
def test_trace_then_forward(options):
    torch.manual_seed(6)
    inline_input, inline_mats, renormalize = options
    kw = dict(inline_input=inline_input, inline_mats=inline_mats, renormalize=renormalize)
    mps = _mps(n_features=5, phys_dim=2, bond_dim=3)
    data = torch.randn(3, 5, 2, dtype=DT)
    untraced = mps(data, **kw)
    mps.reset()
    mps.trace(torch.zeros(1, 5, 2, dtype=DT), **kw)
    traced = mps(data, **kw)
    torch.testing.assert_close(traced, untraced)
    traced.sum().backward()
    assert all(node.grad is not None for node in mps.mats_env)
    assert len(mps.leaf_nodes) == 7 and len(mps.data_nodes) == 5
    if renormalize:
        ratio = traced / dense_output(mps, data).detach()
        assert torch.all(ratio > 0)
    else:
        torch.testing.assert_close(traced, dense_output(mps, data))


def test_tensors_constructor():
    torch.manual_seed(7)
    ts = [torch.randn(2, 3, dtype=DT), torch.randn(3, 2, 3, dtype=DT), torch.randn(3, 2, dtype=DT)]
    mps = MPS(tensors=ts)
    assert mps.boundary == "obc" and mps.phys_dim == [2, 2, 2] and mps.bond_dim == [3, 3]
    assert mps.mats_env[0].tensor.dtype == DT
    for got, want in zip(mps.tensors, ts, strict=False):
        torch.testing.assert_close(got, want)
    pbc = MPS(tensors=[torch.randn(2, 3, 4), torch.randn(4, 3, 2)])
    assert pbc.boundary == "pbc" and pbc.bond_dim == [4, 2]


def test_features_and_regions():
    mps = MPS(n_features=10, phys_dim=2, bond_dim=2, out_features=[0, 2, 2, 3, 7, 8])
    assert mps.in_features == [1, 4, 5, 6, 9]
    assert mps.out_features == [0, 2, 3, 7, 8]
    mps.in_features = [0, 1, 4, 5]
    assert mps.in_regions == [[0, 1], [4, 5]]
    assert mps.out_features == [2, 3, 6, 7, 8, 9]
    mps.set_data_nodes()
    with pytest.raises(ValueError, match="data nodes"):
        mps.in_features = [0]
    with pytest.raises(ValueError, match="data nodes"):
        mps.n_batches = 2


def test_copy_and_parameterize():
    mps = _mps(n_features=3, phys_dim=2, bond_dim=2)
    shared = mps.copy(share_tensors=True)
    cloned = mps.copy()
    assert shared.name == "mps_copy"
    assert shared.mats_env[0].tensor is mps.mats_env[0].tensor
    assert cloned.mats_env[0].tensor is not mps.mats_env[0].tensor
    assert cloned.left_node.tensor.dtype == DT  # fixed TK quirk 17.8
    plain = mps.parameterize(set_param=False)
    assert plain is not mps
    assert all(type(n) is tk.Node for n in plain.mats_env)
    assert mps.parameterize(override=True) is mps


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features=3, phys_dim=2, bond_dim=2, boundary="open"), ValueError, "boundary"),
        (dict(n_features=3.0, phys_dim=2, bond_dim=2), TypeError, "n_features"),
        (dict(n_features=0, phys_dim=2, bond_dim=2), ValueError, "n_features"),
        (dict(n_features=3, phys_dim=[2, 2], bond_dim=2), ValueError, "phys_dim"),
        (dict(n_features=3, phys_dim="2", bond_dim=2), TypeError, "phys_dim"),
        (dict(n_features=3, phys_dim=2, bond_dim=None), TypeError, "bond_dim"),
        (dict(n_features=3, phys_dim=2, bond_dim=[2, 2, 2]), ValueError, "bond_dim"),
        (dict(n_features=3, phys_dim=2, bond_dim=2, out_features=5), TypeError, "out_features"),
        (dict(n_features=3, phys_dim=2, bond_dim=2, out_features=[3]), ValueError, "out_features"),
        (
            dict(n_features=3, phys_dim=2, bond_dim=2, in_features=[0], out_features=[1]),
            ValueError,
            "disjoint",
        ),
        (dict(n_features=3, phys_dim=2, bond_dim=2, n_batches=1.0), TypeError, "n_batches"),
        (
            dict(n_features=3, phys_dim=2, bond_dim=2, init_method="gauss"),
            ValueError,
            "init_method",
        ),
        (dict(n_features=3, phys_dim=2, bond_dim=2, init_method="randn", std=1), TypeError, "std"),
        (dict(tensors=torch.randn(2, 2)), TypeError, "tensors"),
        (dict(tensors=[torch.randn(2, 2, 2, 2)]), ValueError, "rank"),
        (dict(tensors=[torch.randn(2, 3), torch.randn(3, 2, 3)]), ValueError, "rank"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MPS(**kwargs)


def test_embedding_matrices_validation():
    mps = _mps(n_features=3, phys_dim=2, bond_dim=2, out_features=[1])
    with pytest.raises(ValueError, match="embedding_matrices"):
        mps.contract(embedding_matrices=[torch.eye(2), torch.eye(2)])
    with pytest.raises(ValueError, match="square"):
        mps.contract(embedding_matrices=[torch.ones(2, 3)])
    with pytest.raises(TypeError, match="embedding_matrices"):
        mps.contract(embedding_matrices=[1.0])


def _marginal_ref(out, mats):
    """``M[b', b] = sum conj(R[b', o']) prod_j E_j[o'_j, o_j] R[b, o]``."""
    m = out.dim() - 1
    letters_c, letters_o = "ijk"[:m], "pqr"[:m]
    eq = (
        f"a{letters_c},"
        + ",".join(f"{c}{o}" for c, o in zip(letters_c, letters_o, strict=True))
        + f",b{letters_o}->ab"
    )
    return torch.einsum(eq, out.conj(), *mats, out)


@pytest.mark.parametrize("outs", [[1], [1, 2], [0, 3]])
@pytest.mark.parametrize("with_matrices", [False, True])
@pytest.mark.parametrize("boundary", ["obc", "pbc"])
def test_marginalize_output(outs, with_matrices, boundary):
    torch.manual_seed(8)
    mps = _mps(n_features=4, phys_dim=2, bond_dim=2, boundary=boundary, out_features=outs)
    data = torch.randn(3, 4 - len(outs), 2, dtype=DT)
    mats = [torch.randn(2, 2, dtype=DT) for _ in outs] if with_matrices else None
    out = mps(data, marginalize_output=True, embedding_matrices=mats)
    ref_mats = mats if with_matrices else [torch.eye(2, dtype=DT)] * len(outs)
    assert out.shape == (3, 3)
    torch.testing.assert_close(out, _marginal_ref(dense_output(mps, data).detach(), ref_mats))
    mps.reset()
    mps.trace(data, marginalize_output=True, embedding_matrices=mats)
    new = torch.randn(3, 4 - len(outs), 2, dtype=DT)
    torch.testing.assert_close(mps(new), _marginal_ref(dense_output(mps, new).detach(), ref_mats))


def test_marginalize_complex_and_no_inputs():
    torch.manual_seed(9)
    mps = _mps(n_features=3, phys_dim=2, bond_dim=2, out_features=[1], dtype=torch.complex128)
    data = torch.randn(2, 2, 2, dtype=torch.complex128)
    out = mps(data, marginalize_output=True)
    torch.testing.assert_close(out.imag.diagonal(), torch.zeros(2, dtype=DT))
    full = _mps(n_features=3, phys_dim=2, bond_dim=2, out_features=[0, 1, 2])
    value = full.contract(marginalize_output=True).tensor
    torch.testing.assert_close(value, dense_state(full).norm() ** 2)


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
def test_marginalize_with_mpo(boundary):
    from torchtn.models import MPO

    torch.manual_seed(10)
    mps = _mps(n_features=4, phys_dim=2, bond_dim=3, out_features=[1, 2])
    mpo = MPO(n_features=2, in_dim=2, out_dim=2, bond_dim=2, boundary=boundary, dtype=DT)
    w = [t.detach() for t in mpo.tensors]
    eq = "iax,ajy->ijxy" if boundary == "obc" else "aibx,bjay->ijxy"
    dense_w = torch.einsum(eq, *w)
    data = torch.randn(3, 2, 2, dtype=DT)
    n_leaves = len(mps.leaf_nodes) + len(mpo.leaf_nodes)
    out = mps(data, marginalize_output=True, mpo=mpo)
    res = dense_output(mps, data).detach()
    ref = torch.einsum("aik,ikjl,bjl->ab", res, dense_w, res)
    torch.testing.assert_close(out, ref)
    assert len(mps.leaf_nodes) == n_leaves
    mps.reset()
    torch.testing.assert_close(mps(data, marginalize_output=True, mpo=mpo), ref)
    with pytest.raises(TypeError, match="mpo"):
        mps.contract(mpo=object())
