"""Tests for vec_to_mps and mat_to_mpo (TT-SVD)."""

from __future__ import annotations

import pytest
import torch
from _tol import assert_close_rel, eps

import torchtn.decompositions as dec
from torchtn.decompositions import mat_to_mpo, vec_to_mps
from torchtn.errors import TNTypeError, TNValueError

DTYPE = torch.float64


def contract_mps(cores, n_batches=0):
    """Dense tensor ``(batch.., d_1, ..., d_N)`` represented by MPS cores."""
    batch = cores[0].shape[:n_batches]
    out = cores[0].reshape(*batch, -1, cores[0].shape[-1])  # (B, P, r)
    phys = [cores[0].shape[n_batches]]
    for core in cores[1:]:
        r_in = core.shape[n_batches]
        rest = core.reshape(*batch, r_in, -1)  # (B, r, d * r')
        out = out @ rest  # (B, P, d * r')
        phys.append(core.shape[n_batches + 1])
        r_out = core.shape[-1] if core.dim() - n_batches == 3 else 1
        out = out.reshape(*batch, -1, r_out)
    return out.reshape(*batch, *phys)


def contract_mpo(cores):
    """Dense interleaved operator ``(in_1, out_1, ..., in_N, out_N)`` from MPO cores."""
    first = cores[0].permute(0, 2, 1)  # (in, out, r)
    out = first.reshape(-1, first.shape[-1])
    dims = [first.shape[0], first.shape[1]]
    for core in cores[1:-1]:
        c = core.permute(0, 1, 3, 2)  # (r, in, out, r')
        dims += [c.shape[1], c.shape[2]]
        out = (out @ c.reshape(c.shape[0], -1)).reshape(-1, c.shape[-1])
    last = cores[-1]  # (r, in, out)
    dims += [last.shape[1], last.shape[2]]
    out = out @ last.reshape(last.shape[0], -1)
    return out.reshape(dims)


def unfolding_tail_weights(t, ranks):
    """Squared best-approximation error of each unfolding at the given ranks."""
    weights = []
    for i, r in enumerate(ranks):
        rows = 1
        for d in t.shape[: i + 1]:
            rows *= d
        s = torch.linalg.svdvals(t.reshape(rows, -1))
        weights.append((s[r:] ** 2).sum())
    return weights


def test_module_layout():
    assert set(dec.__all__) >= {"vec_to_mps", "mat_to_mpo", "tt_rss"}
    assert dec.svd_decompositions.vec_to_mps is vec_to_mps
    assert set(dec.svd_decompositions.__all__) == {"vec_to_mps", "mat_to_mpo"}


# --------------------------------------------------------------------------- vec_to_mps


def test_vec_to_mps_shapes_match_tensorkrowch():
    v = torch.randn(2, 3, 4, 5, dtype=DTYPE)
    assert [tuple(c.shape) for c in vec_to_mps(v)] == [(2, 2), (2, 3, 6), (6, 4, 5), (5, 5)]
    assert [tuple(c.shape) for c in vec_to_mps(v, n_batches=1, rank=2)] == [
        (2, 3, 2),
        (2, 2, 4, 2),
        (2, 2, 5),
    ]


@pytest.mark.parametrize("n_batches", [0, 1, 2])
@pytest.mark.parametrize("renormalize", [False, True])
def test_vec_to_mps_full_rank_reconstructs(n_batches, renormalize):
    v = torch.randn(2, 3, 3, 4, 2, dtype=DTYPE)
    cores = vec_to_mps(v, n_batches=n_batches, renormalize=renormalize)
    assert len(cores) == v.dim() - n_batches
    torch.testing.assert_close(contract_mps(cores, n_batches), v)


def test_vec_to_mps_truncation_error_is_bounded_by_discarded_weight():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(3, 4, 5, 3, generator=g, dtype=DTYPE)
    cores = vec_to_mps(v, rank=2)
    ranks = [c.shape[-1] for c in cores[:-1]]
    assert ranks == [2, 2, 2]
    err = ((contract_mps(cores) - v) ** 2).sum()
    bound = sum(unfolding_tail_weights(v, ranks))
    # Rounding in the SVDs and the contraction is relative to ||v||, not to the bound.
    assert err <= bound + 100 * eps(DTYPE) * v.norm() ** 2
    assert err > 0


def test_vec_to_mps_two_sites_error_equals_discarded_weight():
    v = torch.randn(6, 5, dtype=DTYPE)
    cores = vec_to_mps(v, rank=2)
    s = torch.linalg.svdvals(v)
    err = ((contract_mps(cores) - v) ** 2).sum()
    torch.testing.assert_close(err, (s[2:] ** 2).sum())


def test_vec_to_mps_cum_percentage_close_to_one_reconstructs():
    v = torch.randn(4, 3, 2, 5, dtype=DTYPE)
    cores = vec_to_mps(v, n_batches=1, cum_percentage=0.9999)
    # Whatever the kept ranks, TT-SVD's error is at most the unfoldings' discarded weight.
    ranks = [c.shape[-1] for c in cores[:-1]]
    err = ((contract_mps(cores, 1) - v) ** 2).sum()
    bound = sum(sum(unfolding_tail_weights(element, ranks)) for element in v)
    assert err <= bound + 100 * eps(DTYPE) * v.norm() ** 2


def test_vec_to_mps_rank_is_shared_across_the_batch():
    # Element 0 has rank 1, element 1 has full rank: the bond follows the larger one.
    a = torch.outer(torch.arange(1.0, 4.0), torch.arange(1.0, 5.0)).to(DTYPE)
    v = torch.stack([a, torch.randn(3, 4, dtype=DTYPE)])
    cores = vec_to_mps(v, n_batches=1, cutoff=1e-8)
    assert cores[0].shape == (2, 3, 3)
    torch.testing.assert_close(contract_mps(cores, 1), v)


def test_vec_to_mps_renormalize_spreads_the_norm():
    v = 1000.0 * torch.randn(3, 3, 3, 3, dtype=DTYPE)
    plain = vec_to_mps(v)
    spread = vec_to_mps(v, renormalize=True)
    torch.testing.assert_close(contract_mps(spread), v)
    norms = torch.stack([c.norm() for c in spread])
    assert norms.max() / norms.min() < (torch.stack([c.norm() for c in plain])).max()
    # Isometries have norm sqrt(bond); each core also carries ||v||^(1/4), and the last
    # (normalised) remainder carries only that factor.
    factor = v.norm() ** 0.25
    sqrt3 = 3**0.5
    expected = factor * torch.tensor([sqrt3, 3.0, sqrt3, 1.0], dtype=DTYPE)
    torch.testing.assert_close(norms, expected)


def test_vec_to_mps_renormalize_with_a_zero_batch_element():
    # TensorKrowch divides 0 by 0 here and crashes in the next SVD.
    v = torch.randn(2, 3, 4, 2, dtype=DTYPE)
    v[0] = 0
    cores = vec_to_mps(v, n_batches=1, renormalize=True)
    assert all(torch.isfinite(c).all() for c in cores)
    torch.testing.assert_close(contract_mps(cores, 1), v)


def test_vec_to_mps_all_zero_does_not_crash():
    v = torch.zeros(1, 4, 7, 4, 7, dtype=DTYPE)
    cores = vec_to_mps(v, n_batches=1, cum_percentage=0.95, renormalize=True)
    torch.testing.assert_close(contract_mps(cores, 1), v)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.complex128])
def test_vec_to_mps_preserves_dtype(dtype):
    v = torch.randn(3, 2, 4, dtype=dtype)
    cores = vec_to_mps(v, renormalize=True)
    assert all(c.dtype == dtype for c in cores)
    # Two SVDs and the contraction of three cores, in `dtype`.
    assert_close_rel(contract_mps(cores), v, factor=100)


def test_vec_to_mps_single_site_returns_input():
    v = torch.randn(3, 4)
    assert vec_to_mps(v, n_batches=1)[0] is v
    assert vec_to_mps(v, n_batches=2)[0] is v
    assert vec_to_mps(torch.randn(5))[0].shape == (5,)


def test_vec_to_mps_is_differentiable():
    v = torch.randn(3, 4, 2, dtype=DTYPE, requires_grad=True)
    w = torch.randn(3, 4, 2, dtype=DTYPE)
    (contract_mps(vec_to_mps(v)) * w).sum().backward()
    torch.testing.assert_close(v.grad, w)


def test_vec_to_mps_cores_can_be_modified_in_place():
    v = torch.randn(3, 4, 2, dtype=DTYPE, requires_grad=True)
    cores = vec_to_mps(v)
    for core in cores:
        core.mul_(1.0)
    contract_mps(cores).sum().backward()
    assert v.grad is not None


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1.0, 2.0],), {}, TNTypeError, "`vec` should be a torch.Tensor, got list"),
        ((torch.randn(2, 3),), {"n_batches": 3}, TNValueError, "between 0 and .*got 3"),
        ((torch.randn(2, 3),), {"n_batches": -1}, TNValueError, "got -1"),
        ((torch.randn(2, 3),), {"n_batches": 1.0}, TNTypeError, "n_batches"),
        ((torch.randn(2, 3, 2),), {"rank": "2"}, TNTypeError, "rank"),
    ],
)
def test_vec_to_mps_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        vec_to_mps(*args, **kwargs)


# --------------------------------------------------------------------------- mat_to_mpo


def test_mat_to_mpo_shapes_match_tensorkrowch():
    m = torch.randn(2, 3, 2, 3, 2, 3, dtype=DTYPE)
    assert [tuple(c.shape) for c in mat_to_mpo(m)] == [(2, 6, 3), (6, 2, 6, 3), (6, 2, 3)]
    w = torch.randn(2, 3)
    assert mat_to_mpo(w)[0] is w


@pytest.mark.parametrize("renormalize", [False, True])
@pytest.mark.parametrize("dims", [(2, 3, 4, 2), (2, 2, 3, 1, 2, 2), (1, 2, 2, 1, 3, 3, 2, 2)])
def test_mat_to_mpo_full_rank_reconstructs(dims, renormalize):
    m = torch.randn(*dims, dtype=DTYPE)
    cores = mat_to_mpo(m, renormalize=renormalize)
    assert len(cores) == len(dims) // 2
    torch.testing.assert_close(contract_mpo(cores), m)


def test_mat_to_mpo_truncation_error_is_bounded():
    m = torch.randn(2, 2, 3, 3, 2, 2, dtype=DTYPE)
    cores = mat_to_mpo(m, rank=3)
    ranks = [c.shape[-2] if c.dim() == 4 else c.shape[1] for c in cores[:-1]]
    assert ranks == [3, 3]
    paired = m.reshape(4, 9, 4)  # one axis per site
    err = ((contract_mpo(cores) - m) ** 2).sum()
    # Rounding in the SVDs and the contraction is relative to ||m||, not to the bound.
    assert err <= sum(unfolding_tail_weights(paired, ranks)) + 100 * eps(DTYPE) * m.norm() ** 2


def test_mat_to_mpo_cum_percentage_close_to_one_reconstructs():
    m = torch.randn(3, 3, 3, 3, dtype=DTYPE)
    cores = mat_to_mpo(m, cum_percentage=0.9999, cutoff=1e-12)
    # Whatever the kept rank, TT-SVD's error is at most the unfolding's discarded weight.
    ranks = [c.shape[-2] if c.dim() == 4 else c.shape[1] for c in cores[:-1]]
    err = ((contract_mpo(cores) - m) ** 2).sum()
    bound = sum(unfolding_tail_weights(m.reshape(9, 9), ranks))
    assert err <= bound + 100 * eps(DTYPE) * m.norm() ** 2


def test_mat_to_mpo_renormalize_zero_operator():
    # TensorKrowch 1.1.6 crashes here (quirk 17.7).
    m = torch.zeros(2, 2, 2, 2, dtype=DTYPE)
    cores = mat_to_mpo(m, renormalize=True)
    torch.testing.assert_close(contract_mpo(cores), m)


def test_mat_to_mpo_complex():
    m = torch.randn(2, 3, 2, 3, dtype=torch.complex128)
    cores = mat_to_mpo(m, renormalize=True)
    assert all(c.dtype == torch.complex128 for c in cores)
    torch.testing.assert_close(contract_mpo(cores), m)


@pytest.mark.parametrize(
    ("mat", "error", "match"),
    [
        ("matrix", TNTypeError, "`mat` should be a torch.Tensor, got str"),
        (torch.randn(2, 3, 4), TNValueError, r"even, positive number of dimensions.*\(2, 3, 4\)"),
        (torch.tensor(1.0), TNValueError, "even, positive"),
    ],
)
def test_mat_to_mpo_errors(mat, error, match):
    with pytest.raises(error, match=match):
        mat_to_mpo(mat)
