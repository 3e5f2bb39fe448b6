"""MPO / UMPO against dense einsum references (float64, small sizes)."""

import pytest
import torch
from _tn_dense import dense_contract
from _tol import assert_close_rel

import torchtn as tk
from torchtn.models.mpo import MPO, UMPO

pytestmark = pytest.mark.usefixtures("float64")

INITS = ["zeros", "ones", "copy", "rand", "randn"]


def _reference(mpo, x):
    outs = [n["output"] for n in mpo.mats_env]
    nodes = list(mpo.mats_env)
    if mpo.boundary == "obc":
        nodes += [mpo.left_node, mpo.right_node]
    data = [(n["input"], x[:, k]) for k, n in enumerate(mpo.mats_env)]
    return dense_contract(nodes, data, outs)


def _user_reference(tensors, boundary, x):
    """Reference from user-convention tensors (independent of the node layout)."""
    n = len(tensors)
    if boundary == "obc":
        if n == 1:
            return torch.einsum("io,zi->zo", tensors[0], x[:, 0])
        ts = [tensors[0].unsqueeze(0), *tensors[1:-1], tensors[-1].unsqueeze(2)]
    else:
        ts = list(tensors)
    letters = "abcdefghijklmnop"
    subs, ops = [], []
    for k, t in enumerate(ts):
        left = letters[k]
        right = letters[(k + 1) % n] if boundary == "pbc" else letters[k + 1]
        subs.append(f"{left}{'IJKL'[k]}{right}{'QRST'[k]}")
        ops.append(t)
        subs.append(f"z{'IJKL'[k]}")
        ops.append(x[:, k])
    out = "z" + "QRST"[:n]
    return torch.einsum(",".join(subs) + "->" + out, *ops)


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
@pytest.mark.parametrize("n", [1, 3, 4])
@pytest.mark.parametrize("init", INITS)
def test_mpo_matches_dense(boundary, n, init):
    torch.manual_seed(0)
    mpo = MPO(n_features=n, in_dim=2, out_dim=3, bond_dim=2, boundary=boundary, init_method=init)
    x = torch.randn(5, n, 2)
    out = mpo(x)
    assert out.shape == (5,) + (3,) * n
    torch.testing.assert_close(out, _reference(mpo, x))
    torch.testing.assert_close(out, _user_reference(mpo.tensors, boundary, x))
    mpo.reset()
    torch.testing.assert_close(mpo(x, inline_input=True, inline_mats=True), out)


def test_mpo_obc_shapes_and_boundary_vectors():
    mpo = MPO(n_features=4, in_dim=2, out_dim=3, bond_dim=[3, 4, 5])
    assert [tuple(n.shape) for n in mpo.mats_env] == [
        (3, 2, 3, 3),
        (3, 2, 4, 3),
        (4, 2, 5, 3),
        (5, 2, 5, 3),
    ]
    assert [tuple(t.shape) for t in mpo.tensors] == [
        (2, 3, 3),
        (3, 2, 4, 3),
        (4, 2, 5, 3),
        (5, 2, 3),
    ]
    torch.testing.assert_close(mpo.left_node.tensor, torch.tensor([1.0, 0, 0]))
    torch.testing.assert_close(mpo.right_node.tensor, torch.tensor([1.0, 0, 0, 0, 0]))
    names = [k for k, _ in mpo.named_parameters()]
    assert names == [f"param_mats_env_node_({i})" for i in range(4)] + [
        "param_left_node",
        "param_right_node",
    ]
    # first/last cores padded with zeros off boundary index 0
    assert mpo.mats_env[0].tensor[1:].abs().sum() == 0
    assert mpo.mats_env[-1].tensor[:, :, 1:].abs().sum() == 0
    assert mpo.name == "mpo"
    assert mpo.bond_dim == [3, 4, 5] and mpo.in_dim == [2] * 4 and mpo.out_dim == [3] * 4


def test_mpo_obc_random_interior_not_zero():
    """TK 1.1.6 zeroes interior cores (spec 17.1); torchtn fixes it."""
    mpo = MPO(n_features=4, in_dim=2, out_dim=2, bond_dim=3)
    for node in mpo.mats_env[1:-1]:
        assert node.tensor.abs().sum() > 0
    assert mpo(torch.randn(3, 4, 2)).abs().sum() > 0


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
@pytest.mark.parametrize("n", [1, 3])
def test_mpo_tensors_round_trip(boundary, n):
    mpo = MPO(n_features=n, in_dim=[2, 3, 2][:n], out_dim=2, bond_dim=2, boundary=boundary)
    other = MPO(tensors=mpo.tensors)
    assert other.boundary == boundary and other.bond_dim == mpo.bond_dim
    assert other.in_dim == mpo.in_dim
    x = [torch.randn(4, d) for d in mpo.in_dim]
    torch.testing.assert_close(other(x), mpo(x))


def test_mpo_state_dict_round_trip_and_trace():
    mpo = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=3)
    x = torch.randn(6, 3, 2)
    fresh = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=3)
    fresh.load_state_dict(mpo.state_dict())
    expected = mpo(x)
    torch.testing.assert_close(fresh(x), expected)
    mpo.reset()
    mpo.trace(torch.zeros(1, 3, 2))
    torch.testing.assert_close(mpo(x), expected)
    torch.testing.assert_close(mpo(x[:2]), expected[:2])


def test_mpo_n_batches_two():
    mpo = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2, n_batches=2)
    x = torch.randn(3, 4, 3, 2)
    out = mpo(x)
    assert out.shape == (3, 4, 2, 2, 2)
    flat = MPO(tensors=mpo.tensors)
    torch.testing.assert_close(out.reshape(12, 2, 2, 2), flat(x.reshape(12, 3, 2)))


def test_mpo_gradients_reach_all_parameters():
    mpo = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2)
    mpo(torch.randn(4, 3, 2)).sum().backward()
    for name, p in mpo.named_parameters():
        assert p.grad is not None, name


def test_mpo_copy_and_parameterize():
    mpo = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2)
    x = torch.randn(2, 3, 2)
    cp = mpo.copy()
    assert cp.name == "mpo_copy"
    torch.testing.assert_close(cp(x), mpo(x))
    mpo.reset()
    net = mpo.parameterize(set_param=False)
    assert not isinstance(net.mats_env[0], tk.ParamNode)
    torch.testing.assert_close(net(x), mpo(x))
    shared = mpo.copy(share_tensors=True)
    assert shared.mats_env[1].tensor.data_ptr() == mpo.mats_env[1].tensor.data_ptr()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features="3", in_dim=2, out_dim=2, bond_dim=2), TypeError, "n_features"),
        (dict(n_features=0, in_dim=2, out_dim=2, bond_dim=2), ValueError, "n_features"),
        (dict(n_features=3, in_dim=[2, 2], out_dim=2, bond_dim=2), ValueError, "in_dim"),
        (dict(n_features=3, in_dim=2.0, out_dim=2, bond_dim=2), TypeError, "in_dim"),
        (dict(n_features=3, in_dim=2, out_dim=2, bond_dim=[2, 2, 2]), ValueError, "bond_dim"),
        (dict(n_features=3, in_dim=2, out_dim=2, bond_dim=2, boundary="x"), ValueError, "boundary"),
        (
            dict(n_features=3, in_dim=2, out_dim=2, bond_dim=2, n_batches=1.0),
            TypeError,
            "n_batches",
        ),
        (
            dict(n_features=3, in_dim=2, out_dim=2, bond_dim=2, init_method="unit"),
            ValueError,
            "init_method",
        ),
        (dict(tensors=[torch.randn(2, 2, 2, 2, 2)]), ValueError, "rank"),
        (dict(tensors=torch.randn(2, 2)), TypeError, "tensors"),
        (dict(tensors=[torch.randn(2, 3, 2), torch.randn(3, 2, 3, 2, 1)]), ValueError, "rank"),
    ],
)
def test_mpo_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MPO(**kwargs)


def test_umpo_shares_one_parameter():
    torch.manual_seed(1)
    umpo = UMPO(n_features=3, in_dim=2, out_dim=2, bond_dim=3)
    assert [k for k, _ in umpo.named_parameters()] == ["param_virtual_uniform"]
    assert all(n.tensor_address() == "virtual_uniform" for n in umpo.mats_env)
    assert umpo.name == "umpo" and umpo.boundary == "pbc"
    x = torch.randn(4, 3, 2)
    out = umpo(x)
    ref = MPO(tensors=[umpo.uniform_memory.tensor] * 3, boundary="pbc")
    torch.testing.assert_close(out, ref(x))
    torch.testing.assert_close(out, _reference(umpo, x))
    out.sum().backward()
    assert (
        umpo.uniform_memory.tensor.grad is not None or umpo.param_virtual_uniform.grad is not None
    )


def test_umpo_state_dict_trace_and_errors():
    umpo = UMPO(n_features=4, in_dim=2, out_dim=2, bond_dim=2)
    x = torch.randn(3, 4, 2)
    expected = umpo(x)
    fresh = UMPO(n_features=4, in_dim=2, out_dim=2, bond_dim=2)
    fresh.load_state_dict(umpo.state_dict())
    torch.testing.assert_close(fresh(x), expected)
    umpo.reset()
    umpo.trace(x[:1])
    torch.testing.assert_close(umpo(x), expected)
    from_tensor = UMPO(n_features=4, tensor=umpo.uniform_memory.tensor.detach())
    torch.testing.assert_close(from_tensor(x), expected)
    with pytest.raises(TypeError, match="bond_dim"):
        UMPO(n_features=3, in_dim=2, out_dim=2, bond_dim=[2])
    with pytest.raises(ValueError, match="tensor"):
        UMPO(n_features=3, tensor=torch.randn(2, 2, 3, 2))
    with pytest.raises(NotImplementedError):
        umpo.canonicalize()


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
def test_mpo_contract_with_mps_data(boundary):
    mps_data = pytest.importorskip("torchtn.models.mps_data")
    torch.manual_seed(0)
    mpo = MPO(n_features=3, in_dim=2, out_dim=3, bond_dim=2, boundary=boundary)
    data = mps_data.MPSData(n_features=3, phys_dim=2, bond_dim=4, boundary="obc")
    w = mpo.tensors
    if boundary == "obc":
        dense_w = torch.einsum("ibo,bjcp,ckq->ijkopq", *w)
    else:
        dense_w = torch.einsum("aibo,bjcp,ckaq->ijkopq", *w)
    for batch, (d1, d2) in ((5, (4, 4)), (7, (3, 5))):
        cores = [
            torch.randn(batch, 2, d1),
            torch.randn(batch, d1, 2, d2),
            torch.randn(batch, d2, 2),
        ]
        data.add_data(cores)
        mpo.reset()
        out = mpo(mps=data)
        phi = torch.einsum("bia,bajc,bck->bijk", *cores)
        torch.testing.assert_close(out, torch.einsum("bijk,ijkopq->bopq", phi, dense_w))
    with pytest.raises(TypeError, match="MPSData"):
        mpo.reset()
        mpo.contract(mps=object())
    mpo.unset_data_nodes()
    assert data.mats_env[0].network is None


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
@pytest.mark.parametrize("mode", ["svd", "svdr", "qr"])
@pytest.mark.parametrize("oc", [None, 1])
def test_mpo_canonicalize_keeps_operator(boundary, mode, oc):
    torch.manual_seed(0)
    mpo = MPO(n_features=4, in_dim=2, out_dim=2, bond_dim=3, boundary=boundary)
    x = torch.randn(5, 4, 2)
    expected = mpo(x)
    mpo.canonicalize(oc=oc, mode=mode)
    assert mpo.left_node is None or mpo.left_node.tensor[0] == 1
    torch.testing.assert_close(mpo(x), expected)
    mpo.reset()
    names = [k for k, _ in mpo.named_parameters()]
    assert sorted(names) == sorted(
        [f"param_mats_env_node_({i})" for i in range(4)]
        + (["param_left_node", "param_right_node"] if boundary == "obc" else [])
    )


def test_mpo_canonicalize_truncates_and_state_dict_loads():
    torch.manual_seed(0)
    mpo = MPO(n_features=4, in_dim=2, out_dim=2, bond_dim=5)
    mpo.canonicalize(rank=2, renormalize=True)
    assert mpo.bond_dim == [2, 2, 2]
    fresh = MPO(n_features=4, in_dim=2, out_dim=2, bond_dim=2)
    fresh.load_state_dict(mpo.state_dict())
    x = torch.randn(3, 4, 2)
    torch.testing.assert_close(fresh(x), mpo(x))
    with pytest.raises(ValueError, match="oc"):
        mpo.canonicalize(oc=4)
    with pytest.raises(ValueError, match="mode"):
        mpo.canonicalize(mode="lu")


@pytest.mark.skipif(
    not hasattr(__import__("torchtn.ops").ops, "renormalize"),
    reason="the `renormalize` node operation is not in torchtn.ops yet",
)
def test_mpo_renormalize_is_a_positive_rescale():
    """Each output entry is the exact value divided by positive partial-product norms."""
    mpo = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=3)
    x = torch.randn(4, 3, 2)
    plain = mpo(x)
    mpo.reset()
    scaled = mpo(x, renormalize=True)
    assert scaled.shape == plain.shape
    assert ((plain / scaled) > 0).all()


# ratios plain / renormalised (sample 0, first 4 outputs) from TK 1.1.6 for the setup below
_TK_RENORM_RATIOS = {
    ("pbc", False): [6.141173, 6.141172, 6.200265, 6.200265],
    ("pbc", True): [1.707835, -0.533752, 5.022304, 7.451586],
    ("obc", False): [13.549803, 2.848213, 12.444011, 16.043127],
    ("obc", True): [10.767550, 7.018439, 12.814767, 6.580646],
}


def test_mpo_renormalize_matches_tk_rule():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        torch.manual_seed(0)
        for boundary in ("pbc", "obc"):
            for inline_mats in (False, True):
                mpo = MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=3, boundary=boundary)
                for node in mpo.mats_env:
                    node.tensor = torch.randn(node.shape)
                x = torch.randn(2, 3, 2)
                plain = mpo(x)
                mpo.reset()
                scaled = mpo(x, renormalize=True, inline_mats=inline_mats)
                ratio = (plain / scaled).reshape(2, -1)[0, :4]
                expected = torch.tensor(_TK_RENORM_RATIOS[(boundary, inline_mats)])
                # float32 chains of 3 sites and a division; TK's numbers carry another
                # machine's rounding and 6 decimals.
                assert_close_rel(ratio, expected, factor=200)
    finally:
        torch.set_default_dtype(old)


def test_mpo_traced_mps_data_replays_with_new_bonds():
    mps_data = pytest.importorskip("torchtn.models.mps_data")
    torch.manual_seed(0)
    mpo = MPO(n_features=3, in_dim=2, out_dim=3, bond_dim=2)
    data = mps_data.MPSData(n_features=3, phys_dim=2, bond_dim=4, boundary="obc")
    dense_w = torch.einsum("ibo,bjcp,ckq->ijkopq", *mpo.tensors)
    data.add_data([torch.randn(1, 2, 4), torch.randn(1, 4, 2, 4), torch.randn(1, 4, 2)])
    mpo.trace(mps=data, inline_input=True, inline_mats=True)
    for batch, d1, d2 in ((5, 3, 5), (7, 2, 2)):
        cores = [
            torch.randn(batch, 2, d1),
            torch.randn(batch, d1, 2, d2),
            torch.randn(batch, d2, 2),
        ]
        data.add_data(cores)
        out = mpo(mps=data, inline_input=True, inline_mats=True)
        phi = torch.einsum("bia,bajc,bck->bijk", *cores)
        torch.testing.assert_close(out, torch.einsum("bijk,ijkopq->bopq", phi, dense_w))
