"""Tests for torchtn.linalg: rank selection, truncated SVD, QR/RQ and decompose."""

from __future__ import annotations

import pytest
import torch
from _tol import assert_close_rel
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn import linalg
from torchtn.errors import TNTypeError, TNValueError
from torchtn.linalg import MODES, decompose, qr, rq, select_rank, truncated_svd

DTYPE = torch.float64
S_EXAMPLE = torch.tensor([10.0, 5.0, 3.0, 1.0, 1.0], dtype=DTYPE)


def _matrix_with_spectrum(spectrum, rows, cols, batch=(), dtype=DTYPE, seed=0):
    """Random matrices ``U diag(spectrum) V^H`` with the given singular values."""
    g = torch.Generator().manual_seed(seed)
    k = len(spectrum)
    real = torch.float64 if dtype in (torch.float64, torch.complex128) else torch.float32

    def rand(*shape):
        x = torch.randn(*shape, generator=g, dtype=real)
        if dtype.is_complex:
            x = torch.complex(x, torch.randn(*shape, generator=g, dtype=real))
        return x

    u, _ = torch.linalg.qr(rand(*batch, rows, k))
    v, _ = torch.linalg.qr(rand(*batch, cols, k))
    s = torch.tensor(spectrum, dtype=real).to(dtype)
    return (u * s) @ v.mH


# --------------------------------------------------------------------------- select_rank


@pytest.mark.parametrize(
    ("cum_percentage", "expected"),
    [(0.5, 1), (0.75, 2), (0.9, 3), (0.95, 4), (1.0, 5), (0.0, 1)],
)
def test_select_rank_cum_percentage_worked_examples(cum_percentage, expected):
    # The spec's (and TensorKrowch's) examples are float32 values.
    s = S_EXAMPLE.to(torch.float32)
    assert select_rank(s, cum_percentage=cum_percentage) == expected


def test_select_rank_epsilon_matters_in_float64():
    # 10 / (20 + 1e-10) < 0.5 in float64 (but rounds to 0.5 in float32): TensorKrowch
    # keeps 2 values here too.
    assert select_rank(S_EXAMPLE, cum_percentage=0.5) == 2
    assert select_rank(S_EXAMPLE, cum_percentage=0.75) == 3
    assert select_rank(S_EXAMPLE, cum_percentage=0.7) == 2


@pytest.mark.parametrize(
    ("rank", "expected"),
    [(None, 5), (3, 3), (0, 1), (-4, 1), (100, 5), (2.7, 2)],
)
def test_select_rank_rank_is_clamped(rank, expected):
    assert select_rank(S_EXAMPLE, rank=rank) == expected


@pytest.mark.parametrize(("cutoff", "expected"), [(3.0, 3), (3.5, 2), (0.0, 5), (100.0, 1)])
def test_select_rank_cutoff(cutoff, expected):
    assert select_rank(S_EXAMPLE, cutoff=cutoff) == expected


def test_select_rank_takes_the_minimum_of_all_criteria():
    assert select_rank(S_EXAMPLE, rank=4, cum_percentage=0.95, cutoff=3.0) == 3
    assert select_rank(S_EXAMPLE, rank=2, cum_percentage=0.95, cutoff=1.0) == 2
    assert select_rank(S_EXAMPLE, rank=5, cum_percentage=0.6, cutoff=1.0) == 2


def test_select_rank_batch_uses_the_largest_requirement():
    s = torch.stack([S_EXAMPLE, torch.ones(5, dtype=DTYPE)])
    # Row 0 alone needs 1 value for c = 0.45, row 1 needs 3.
    assert select_rank(s, cum_percentage=0.45) == 3
    assert select_rank(s[:1], cum_percentage=0.45) == 1
    # cutoff 2: row 0 keeps 3 values, row 1 none -> 3.
    assert select_rank(s.reshape(2, 1, 5), cutoff=2.0) == 3


def test_select_rank_all_zero_spectrum_keeps_full_rank_for_cum_percentage():
    s = torch.zeros(4, dtype=DTYPE)
    assert select_rank(s, cum_percentage=0.5) == 4
    assert select_rank(s, cutoff=0.1) == 1


def test_select_rank_with_only_rank_never_reads_the_values():
    # Meta tensors have no data: any host transfer would raise.
    s = torch.empty(3, 7, device="meta")
    assert select_rank(s, rank=4) == 4
    assert select_rank(s) == 7


def test_select_rank_does_a_single_host_transfer(monkeypatch):
    calls = []
    for name in ("tolist", "item", "__bool__", "__int__", "__float__", "__index__"):
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    s = torch.rand(4, 6, dtype=DTYPE).sort(dim=-1, descending=True).values
    select_rank(s, rank=5, cum_percentage=0.8, cutoff=0.2)
    assert len(calls) == 1


def _reference_rank(rows, rank, cum_percentage, cutoff):
    k = len(rows[0])
    candidates = [k if rank is None else min(max(1, rank), k)]
    if cum_percentage is not None:
        hits = set()
        for row in rows:
            total, acc = sum(row) + 1e-10, 0.0
            for i, v in enumerate(row):
                acc += v
                if acc / total < cum_percentage:
                    hits.add(i)
        candidates.append(max(1, len(hits) + 1))
    if cutoff is not None:
        hits = {i for row in rows for i, v in enumerate(row) if v >= cutoff}
        candidates.append(max(1, len(hits)))
    return min(candidates)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 6).flatmap(
        lambda k: st.lists(
            # Integer values keep every partial sum exact, so the reference and torch
            # round the fractions identically.
            st.lists(st.integers(0, 100).map(float), min_size=k, max_size=k),
            min_size=1,
            max_size=4,
        )
    ),
    rank=st.one_of(st.none(), st.integers(-2, 8)),
    cum_percentage=st.one_of(st.none(), st.floats(0.0, 1.0)),
    cutoff=st.one_of(st.none(), st.floats(0.0, 100.0)),
)
def test_select_rank_matches_the_rule(rows, rank, cum_percentage, cutoff):
    rows = [sorted(r, reverse=True) for r in rows]
    s = torch.tensor(rows, dtype=DTYPE)
    r = select_rank(s, rank=rank, cum_percentage=cum_percentage, cutoff=cutoff)
    assert r == _reference_rank(rows, rank, cum_percentage, cutoff)
    assert 1 <= r <= s.shape[-1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rank": "3"}, "rank"),
        ({"cum_percentage": "0.5"}, "cum_percentage"),
        ({"cutoff": [1.0]}, "cutoff"),
    ],
)
def test_select_rank_rejects_non_numbers(kwargs, match):
    with pytest.raises(TNTypeError, match=match):
        select_rank(S_EXAMPLE, **kwargs)


def test_select_rank_empty_spectrum():
    assert select_rank(torch.empty(3, 0), rank=2, cum_percentage=0.5, cutoff=1.0) == 0
    assert select_rank(torch.empty(0, 4), cum_percentage=0.5) == 1


def test_select_rank_rejects_non_tensors_and_scalars():
    with pytest.raises(TypeError, match="`s`"):
        select_rank([3.0, 2.0])
    with pytest.raises(ValueError, match="0-d"):
        select_rank(torch.tensor(1.0))


# --------------------------------------------------------------------------- truncated_svd


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (2, 3, 5, 5)])
def test_truncated_svd_full_rank_reconstructs(side, shape):
    m = torch.randn(*shape, dtype=DTYPE)
    a, b, r = truncated_svd(m, side=side)
    assert r == min(shape[-2:])
    assert a.shape == (*shape[:-1], r) and b.shape == (*shape[:-2], r, shape[-1])
    torch.testing.assert_close(a @ b, m)
    eye = torch.eye(r, dtype=DTYPE)
    if side == "left":  # b = Vh has orthonormal rows
        torch.testing.assert_close(b @ b.mT, eye.expand_as(b @ b.mT))
    else:  # a = U has orthonormal columns
        torch.testing.assert_close(a.mT @ a, eye.expand_as(a.mT @ a))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_truncated_svd_error_equals_discarded_weight(rank):
    spectrum = [6.0, 4.0, 2.5, 1.5, 0.5]
    m = _matrix_with_spectrum(spectrum, 7, 5, batch=(3,))
    a, b, r = truncated_svd(m, rank=rank)
    assert r == rank
    err = torch.linalg.matrix_norm(m - a @ b) ** 2
    expected = torch.full((3,), sum(x**2 for x in spectrum[rank:]), dtype=DTYPE)
    torch.testing.assert_close(err, expected)


def test_truncated_svd_cum_percentage_and_cutoff():
    m = _matrix_with_spectrum([10.0, 5.0, 3.0, 1.0, 1.0], 6, 5)
    assert truncated_svd(m, cum_percentage=0.8)[2] == 3
    assert truncated_svd(m, cutoff=2.0)[2] == 3
    assert truncated_svd(m, rank=4, cum_percentage=0.95)[2] == 4


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("side", ["left", "right"])
def test_svdr_reconstructs_including_complex(dtype, side):
    m = torch.randn(2, 5, 4, dtype=dtype)
    a, b, r = truncated_svd(m, side=side, random_phase=True)
    assert a.dtype == dtype and b.dtype == dtype
    torch.testing.assert_close(a @ b, m)
    a2, b2, _ = truncated_svd(m, side=side, rank=2, random_phase=True)
    a3, b3, _ = truncated_svd(m, side=side, rank=2)
    # Phases change the factors but not their product.
    torch.testing.assert_close(a2 @ b2, a3 @ b3)


def test_svdr_phases_are_one_sign_draw_per_kept_value():
    m = _matrix_with_spectrum([5.0, 3.0, 2.0, 1.0], 6, 4, seed=3)
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    torch.manual_seed(11)
    a, b, _ = truncated_svd(m, side="right", rank=3, random_phase=True)
    torch.manual_seed(11)
    signs = torch.sgn(torch.randn(3, dtype=DTYPE))
    torch.testing.assert_close(a, u[:, :3] * signs)
    torch.testing.assert_close(b, (signs * s[:3]).unsqueeze(-1) * vh[:3])
    assert set(signs.abs().tolist()) == {1.0}


def test_truncated_svd_complex_singular_values_are_cast():
    m = torch.randn(4, 3, dtype=torch.complex64)
    a, b, _ = truncated_svd(m, side="right")
    assert a.dtype == b.dtype == torch.complex64
    assert_close_rel(a @ b, m, factor=100)  # a complex64 SVD and its product


@pytest.mark.parametrize("side", ["left", "right"])
def test_truncated_svd_gradcheck_fixed_rank(side):
    m = _matrix_with_spectrum([5.0, 4.0, 3.0, 2.0, 1.0], 6, 5, seed=1)
    m.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: truncated_svd(x, side=side, rank=3)[:2], (m,))


def test_truncated_svd_gradcheck_batched_product():
    m = _matrix_with_spectrum([4.0, 3.0, 2.0, 1.0], 5, 4, batch=(2,), seed=2)
    m.requires_grad_(True)

    def product(x):
        a, b, _ = truncated_svd(x, rank=2)
        return a @ b

    assert torch.autograd.gradcheck(product, (m,))


@pytest.mark.parametrize("side", ["up", "LEFT", None])
def test_truncated_svd_rejects_bad_side(side):
    with pytest.raises(TNValueError, match="side.*'left', 'right'"):
        truncated_svd(torch.randn(3, 3), side=side)


def test_truncated_svd_rejects_bad_matrices():
    with pytest.raises(TNTypeError, match="`m`"):
        truncated_svd([[1.0, 2.0]])
    with pytest.raises(TNValueError, match="at least 2 dimensions"):
        truncated_svd(torch.randn(4))


# --------------------------------------------------------------------------- QR / RQ


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 5, 5), (2, 2, 3, 7)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_qr_reduced(shape, dtype):
    m = torch.randn(*shape, dtype=dtype)
    q, r = qr(m)
    k = min(shape[-2:])
    assert q.shape == (*shape[:-1], k) and r.shape == (*shape[:-2], k, shape[-1])
    torch.testing.assert_close(q @ r, m)
    torch.testing.assert_close(q.mH @ q, torch.eye(k, dtype=dtype).expand(*shape[:-2], k, k))
    assert torch.all(torch.tril(r, -1) == 0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 5, 5), (2, 2, 3, 7)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_rq_reduced(shape, dtype):
    m = torch.randn(*shape, dtype=dtype)
    r, q = rq(m)
    k = min(shape[-2:])
    assert r.shape == (*shape[:-1], k) and q.shape == (*shape[:-2], k, shape[-1])
    torch.testing.assert_close(r @ q, m)
    torch.testing.assert_close(q @ q.mH, torch.eye(k, dtype=dtype).expand(*shape[:-2], k, k))
    assert torch.all(torch.triu(r, 1) == 0)


@pytest.mark.parametrize("fn", [qr, rq])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_qr_rq_gradcheck(fn, shape):
    m = torch.randn(*shape, dtype=DTYPE, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (m,))


# --------------------------------------------------------------------------- decompose


@pytest.mark.parametrize("mode", MODES)
def test_decompose_modes_reconstruct(mode):
    m = torch.randn(3, 6, 4, dtype=DTYPE)
    a, b, r = decompose(m, mode=mode, side="right")
    assert r == 4 and a.shape == (3, 6, 4) and b.shape == (3, 4, 4)
    torch.testing.assert_close(a @ b, m)


def test_decompose_qr_rq_ignore_rank_and_side():
    m = torch.randn(5, 7, dtype=DTYPE)
    q, r, k = decompose(m, mode="qr", side="nonsense", rank=1)
    assert k == 5
    torch.testing.assert_close(q, qr(m)[0])
    rr, qq, k = decompose(m, mode="rq", rank=1)
    assert k == 5
    torch.testing.assert_close(qq, rq(m)[1])


def test_decompose_svd_truncates():
    m = _matrix_with_spectrum([5.0, 3.0, 1.0], 4, 4)
    assert decompose(m, mode="svd", rank=2)[2] == 2
    assert decompose(m, mode="svdr", cutoff=2.0)[2] == 2


@pytest.mark.parametrize("mode", ["eig", "SVD", ""])
def test_decompose_rejects_bad_mode(mode):
    with pytest.raises(TNValueError, match="mode.*'svd', 'svdr', 'qr', 'rq'"):
        decompose(torch.randn(3, 3), mode=mode)


def test_decompose_rejects_bad_side_in_svd_modes():
    with pytest.raises(ValueError, match="side"):
        decompose(torch.randn(3, 3), mode="svdr", side="middle")


# -- svd: broadened backward -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 6, 4)])
def test_svd_backward_equals_torch_and_passes_gradcheck(shape):
    g = torch.Generator().manual_seed(0)
    m = torch.randn(*shape, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(*shape, dtype=torch.float64, generator=g)

    def loss(x, fn):
        u, s, vh = fn(x)
        # gauge-invariant in the singular vectors
        return ((u * s.unsqueeze(-2)) @ vh * w).sum() + (s**3).sum() + (u[..., :1] ** 2).sum()

    torch_svd = lambda x: torch.linalg.svd(x, full_matrices=False)  # noqa: E731
    mine = torch.autograd.grad(loss(m, linalg.svd), m)[0]
    ref = torch.autograd.grad(loss(m, torch_svd), m)[0]
    torch.testing.assert_close(mine, ref)
    assert torch.autograd.gradcheck(lambda x: loss(x, linalg.svd), (m,))
    u, s, vh = linalg.svd(m)
    u2, s2, vh2 = torch_svd(m)
    assert torch.equal(s, s2) and torch.equal(u, u2) and torch.equal(vh, vh2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_truncated_svd_gradient_finite_on_degenerate_spectrum(dtype):
    """Discarded singular values that are equal made torch's backward NaN."""
    m0 = torch.diag(torch.tensor([3.0, 1e-8, 1e-8, 0.0], dtype=dtype))
    m = m0.clone().requires_grad_()
    a, b, r = linalg.truncated_svd(m, rank=2)
    (a @ b).pow(2).sum().backward()
    assert r == 2 and torch.isfinite(m.grad).all()
    # d/dm of ||P m||^2 for the kept dominant direction: 2 * 3 at (0, 0)
    assert m.grad[0, 0].item() == pytest.approx(6.0)
    x = m0.clone().requires_grad_()
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    (u[:, :2] * s[:2] @ vh[:2]).pow(2).sum().backward()
    assert not torch.isfinite(x.grad).all()  # what the broadening fixes


def test_svd_complex_and_no_grad_use_torch():
    m = torch.randn(4, 3, dtype=torch.complex128)
    u, s, vh = linalg.svd(m)
    torch.testing.assert_close((u * s.to(u.dtype).unsqueeze(-2)) @ vh, m)


def test_broadened_svd_backward_is_zero_on_an_all_zero_matrix():
    from torchtn.linalg import svd

    m = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    u, s, vh = svd(m)
    (u[:, :1] * s[:1] @ vh[:1]).sum().backward()
    assert torch.isfinite(m.grad).all()
