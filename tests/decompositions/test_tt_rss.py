"""Tests for tt_rss and its helpers (torchtn.decompositions.tt_decompositions)."""

from __future__ import annotations

import itertools

import pytest
import torch
from _tol import assert_close_rel, eps

from torchtn.decompositions import tt_decompositions as ttd
from torchtn.decompositions import tt_rss
from torchtn.errors import TNTypeError, TNValueError

DTYPE = torch.float64
N_VARS = 4
# Relative error on the samples of an exactly representable function: a few well-conditioned
# least-squares solves (a 3-point Vandermonde embedding); about 5 eps when measured.
VAL_TOL = 1000 * eps(DTYPE)


def f_scalar(x):
    """Rank-2 function of discrete variables: prod cos(x_i) + prod sin(x_i)."""
    return (torch.cos(x).prod(1) + torch.sin(x).prod(1)).unsqueeze(1)


def f_vector(x):
    """Two outputs, prod cos and prod sin (rank 2 with the output site)."""
    return torch.stack([torch.cos(x).prod(1), torch.sin(x).prod(1)], dim=1)


def poly2(x):
    """(1, x, x^2): a complete basis for functions on 3 points."""
    return torch.stack([torch.ones_like(x), x, x**2], dim=-1)


def dense_from_cores(cores, out_position=-1):
    """Dense tensor of the MPS (output axis last when ``out_position >= 0``)."""
    out = cores[0].unsqueeze(0) if cores[0].dim() == 2 else cores[0].reshape(1, -1, 1)
    for core in cores[1:]:
        out = torch.tensordot(out, core, dims=([out.dim() - 1], [0]))
    out = out.squeeze(0)
    if out_position >= 0:
        out = out.movedim(out_position, -1)
    return out


def evaluate(cores, embedding, x, out_position=-1):
    """MPS value at the rows of ``x`` (B, N): contract the dense tensor with embeddings."""
    dense = dense_from_cores(cores, out_position)
    emb = embedding(x)  # (B, N, d)
    result = dense.expand(x.shape[0], *dense.shape)
    for i in range(x.shape[1]):
        result = torch.einsum("bp...,bp->b...", result, emb[:, i])
    return result


@pytest.fixture
def samples():
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 3, (30, N_VARS), generator=g).to(DTYPE)


def full_grid(values=(0.0, 1.0, 2.0), n=N_VARS):
    return torch.tensor(list(itertools.product(values, repeat=n)), dtype=DTYPE)


# --------------------------------------------------------------------------- tt_rss


def test_recovers_a_rank_two_function_everywhere(samples):
    torch.manual_seed(1)
    cores, info = tt_rss(
        f_scalar, poly2, samples, cum_percentage=0.999, verbose=False, return_info=True
    )
    assert [tuple(c.shape) for c in cores] == [(3, 2), (2, 3, 2), (2, 3, 2), (2, 3)]
    assert all(c.device.type == "cpu" and c.dtype == DTYPE for c in cores)
    assert info["val_eps"] < VAL_TOL and info["total_time"] >= 0
    grid = full_grid()  # 81 points, most of them never sampled
    torch.testing.assert_close(evaluate(cores, poly2, grid), f_scalar(grid)[:, 0])


def test_rank_alone_is_enough(samples):
    # TensorKrowch 1.1.6 crashes without cum_percentage (quirk 17.6).
    torch.manual_seed(2)
    cores = tt_rss(f_scalar, poly2, samples, rank=2, verbose=False)
    assert [c.shape[-1] for c in cores[:-1]] == [2, 2, 2]
    grid = full_grid()
    torch.testing.assert_close(evaluate(cores, poly2, grid), f_scalar(grid)[:, 0])


def test_rank_caps_the_bonds(samples):
    torch.manual_seed(3)
    cores, info = tt_rss(
        f_scalar, poly2, samples, rank=1, cum_percentage=0.999, verbose=False, return_info=True
    )
    assert [c.shape[-1] for c in cores[:-1]] == [1, 1, 1]
    assert info["val_eps"] > 1e-3


def test_matches_tensorkrowch_with_the_same_seed():
    # Reference values from TensorKrowch 1.1.6 (same seeds, same random draws).
    torch.manual_seed(0)
    samples = torch.randint(0, 3, (20, 4)).double()
    torch.manual_seed(1)
    cores = tt_rss(f_scalar, poly2, samples, cum_percentage=0.99, rank=5, verbose=False)
    first = torch.tensor(
        [
            [0.0416681068, -0.9568184267],
            [-0.9566752384, 0.0448354881],
            [0.2881601240, 0.2872077250],
        ],
        dtype=DTYPE,
    )
    last = torch.tensor(
        [[0.1154872813, 2.3959290494, -0.7909119134], [1.4730504689, -0.5018348615, -0.3058616706]],
        dtype=DTYPE,
    )
    # The sketch is mixed by random_unitary in torch's default dtype, float32 (as in
    # TensorKrowch), so the cores carry float32 rounding that differs between CPUs and
    # BLAS builds (0.3 eps32 seen); the leading singular values are well separated
    # (2.18 vs 1.06), so the singular vectors amplify it only by a small factor.
    assert_close_rel(cores[0], first, dtype=torch.float32, factor=32)
    assert_close_rel(cores[-1], last, dtype=torch.float32, factor=32)


def test_seeded_runs_are_reproducible(samples):
    torch.manual_seed(5)
    a = tt_rss(f_scalar, poly2, samples, cum_percentage=0.99, verbose=False)
    torch.manual_seed(5)
    b = tt_rss(f_scalar, poly2, samples, cum_percentage=0.99, verbose=False)
    for x, y in zip(a, b, strict=True):
        # Same draws on the same machine: only float64 LAPACK rounding may differ between
        # runs (threading, buffer alignment), by a few eps.
        assert_close_rel(x, y, factor=100)


@pytest.mark.parametrize("out_position", [None, 0, 2, 4])
def test_vector_valued_function_with_labels(samples, out_position):
    g = torch.Generator().manual_seed(4)
    labels = torch.randint(0, 2, (samples.shape[0],), generator=g)
    torch.manual_seed(6)
    cores, info = tt_rss(
        f_vector,
        poly2,
        samples,
        labels=labels,
        out_position=out_position,
        cum_percentage=0.999,
        verbose=False,
        return_info=True,
    )
    pos = 2 if out_position is None else out_position
    assert len(cores) == N_VARS + 1
    phys = [c.shape[0] if i == 0 else c.shape[1] for i, c in enumerate(cores)]
    assert phys == [2 if i == pos else 3 for i in range(N_VARS + 1)]
    assert info["val_eps"] < VAL_TOL
    grid = full_grid()
    torch.testing.assert_close(evaluate(cores, poly2, grid, out_position=pos), f_vector(grid))


def test_vector_valued_function_samples_labels_from_outputs(samples):
    torch.manual_seed(7)
    cores, info = tt_rss(
        f_vector, poly2, samples, cum_percentage=0.999, verbose=False, return_info=True
    )
    assert info["val_eps"] < VAL_TOL
    grid = full_grid()
    torch.testing.assert_close(evaluate(cores, poly2, grid, out_position=2), f_vector(grid))


def test_list_domain_is_indexed_by_variable():
    # Each variable has its own domain; TensorKrowch reads a list off by one for scalar
    # functions (quirk 17.6), which would sketch variable 0 on variable 3's values.
    domains = [torch.tensor([i, i + 0.5, i + 1.0], dtype=DTYPE) for i in range(N_VARS)]
    g = torch.Generator().manual_seed(8)
    idx = torch.randint(0, 3, (30, N_VARS), generator=g)
    samples = torch.stack([domains[i][idx[:, i]] for i in range(N_VARS)], dim=1)
    torch.manual_seed(9)
    cores = tt_rss(f_scalar, poly2, samples, domain=domains, cum_percentage=0.999, verbose=False)
    grid = torch.tensor(list(itertools.product(*[d.tolist() for d in domains])), dtype=DTYPE)
    torch.testing.assert_close(evaluate(cores, poly2, grid), f_scalar(grid)[:, 0])


def test_tensor_domain(samples):
    torch.manual_seed(10)
    cores = tt_rss(
        f_scalar,
        poly2,
        samples,
        domain=torch.tensor([0.0, 1.0, 2.0], dtype=DTYPE),
        cum_percentage=0.999,
        verbose=False,
    )
    grid = full_grid()
    torch.testing.assert_close(evaluate(cores, poly2, grid), f_scalar(grid)[:, 0])


def test_batch_size_does_not_change_the_result(samples):
    torch.manual_seed(11)
    a = tt_rss(f_scalar, poly2, samples, cum_percentage=0.99, batch_size=5, verbose=False)
    torch.manual_seed(11)
    b = tt_rss(f_scalar, poly2, samples, cum_percentage=0.99, batch_size=1000, verbose=False)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y)


def test_three_dimensional_samples():
    def f3(x):  # x: (B, N, 2)
        return (x[..., 0].prod(1) + x[..., 1].sum(1)).unsqueeze(1)

    def emb3(x):
        return torch.cat([torch.ones_like(x[..., :1]), x], dim=-1)

    g = torch.Generator().manual_seed(12)
    samples = torch.randint(0, 2, (30, 3, 2), generator=g).to(DTYPE)
    torch.manual_seed(12)
    cores, info = tt_rss(f3, emb3, samples, cum_percentage=0.999, verbose=False, return_info=True)
    assert all(c.shape[-1] == 3 for c in cores)  # phys = embed_dim = 3
    assert info["val_eps"] < VAL_TOL

    def f3v(x):
        return torch.cat([f3(x), x.sum((1, 2)).unsqueeze(1)], dim=1)

    # Labels are sampled from the outputs; with few samples some draws leave a bond
    # direction unobserved, so fix the seed.
    torch.manual_seed(0)
    cores, info = tt_rss(f3v, emb3, samples, cum_percentage=0.999, verbose=False, return_info=True)
    assert len(cores) == 4 and cores[2].shape[1] == 2
    # The bond after the output site needs 3 = embed_dim > out_dim = 2.
    assert cores[2].shape[2] == 3
    assert info["val_eps"] < VAL_TOL


def test_single_variable():
    x = torch.linspace(0, 1, 12, dtype=DTYPE).unsqueeze(1)

    def quad(v):
        return 1 + 2 * v - v**2

    cores, info = tt_rss(quad, poly2, x, rank=1, verbose=False, return_info=True)
    assert len(cores) == 1
    torch.testing.assert_close(cores[0], torch.tensor([1.0, 2.0, -1.0], dtype=DTYPE))
    assert info["val_eps"] < 100 * eps(DTYPE)  # one least-squares fit of a quadratic


def test_verbose_prints_progress(samples, capsys):
    torch.manual_seed(13)
    tt_rss(f_scalar, poly2, samples, rank=2, cum_percentage=0.9)
    out = capsys.readouterr().out
    assert "|| Site: 1 / 4 ||" in out and "|| Site: 4 / 4 ||" in out
    assert "* Max D_k: min(3, 2)" in out and "* Final D_k: 2" in out and "Core 4:" in out


def test_out_position_of_scalar_function_warns(samples):
    with pytest.warns(UserWarning, match="out_position"):
        cores = tt_rss(f_scalar, poly2, samples, out_position=1, rank=2, verbose=False)
    assert len(cores) == N_VARS


def _bad_embedding(x):
    raise RuntimeError("boom")


BAD_CALLS = [
    ({"function": 3}, TNTypeError, "`function` should be callable"),
    ({"embedding": "poly"}, TNTypeError, "`embedding` should be callable"),
    ({"sketch_samples": [[0.0, 1.0]]}, TNTypeError, "`sketch_samples` should be a torch.Tensor"),
    ({"sketch_samples": torch.zeros(3)}, TNValueError, r"shape \(batch_size, n_features\)"),
    ({"sketch_samples": torch.zeros(3, 0)}, TNValueError, "at least one feature"),
    ({"embedding": _bad_embedding}, TNValueError, "boom"),
    ({"embedding": lambda x: x}, TNValueError, "embed_dim"),
    ({"embedding": lambda x: x[..., None][..., :0]}, TNValueError, "embedding dimension"),
    ({"function": _bad_embedding}, TNValueError, "`function` should take"),
    ({"function": lambda x: x.sum(1)}, TNValueError, r"\(batch_size, out_dim\)"),
    ({"function": lambda x: x[:, :0]}, TNValueError, "output dimension"),
    ({"labels": [0, 1]}, TNTypeError, "`labels` should be a torch.Tensor"),
    ({"labels": torch.zeros(3)}, TNValueError, r"`labels` should have shape \(30,\)"),
    ({"domain": 3}, TNTypeError, "`domain` should be a torch.Tensor or a sequence"),
    ({"domain": [torch.zeros(2), 3]}, TNTypeError, "position 1"),
    ({"domain": [torch.zeros(2)] * 3}, TNValueError, r"one tensor per variable \(4\)"),
    ({"domain": torch.zeros(2, 2)}, TNValueError, r"shape \(n_values,\)"),
    ({"rank": 2.0}, TNTypeError, "`rank` should be an int"),
    ({"rank": 0}, TNValueError, "`rank` should be at least 1"),
    ({"cum_percentage": 1}, TNTypeError, "`cum_percentage` should be a float"),
    ({"cum_percentage": 0.0}, TNValueError, r"\(0, 1\], got 0.0"),
    ({"cum_percentage": 1.5}, TNValueError, r"\(0, 1\]"),
    ({"rank": None, "cum_percentage": None}, TNValueError, "at least one of `rank`"),
    ({"batch_size": 8.0}, TNTypeError, "`batch_size` should be an int"),
    ({"batch_size": 0}, TNValueError, "`batch_size` should be at least 1"),
    ({"function": f_vector, "out_position": 1.0}, TNTypeError, "`out_position` should be an int"),
    ({"function": f_vector, "out_position": 5}, TNValueError, r"between 0 and n_features \(4\)"),
    ({"function": f_vector, "out_position": -1}, TNValueError, "got -1"),
]


@pytest.mark.parametrize(("overrides", "error", "match"), BAD_CALLS)
def test_invalid_arguments(samples, overrides, error, match):
    kwargs = {
        "function": f_scalar,
        "embedding": poly2,
        "sketch_samples": samples,
        "rank": 2,
        "verbose": False,
    }
    kwargs.update(overrides)
    with pytest.raises(error, match=match):
        tt_rss(**kwargs)


def test_three_dimensional_domain_with_in_dim_one_is_rejected():
    samples = torch.zeros(5, 2, 1, dtype=DTYPE)
    with pytest.raises(TNValueError, match="in_dim > 1"):
        tt_rss(
            lambda x: x.sum((1, 2)).unsqueeze(1),
            lambda x: torch.cat([torch.ones_like(x), x], -1),
            samples,
            domain=torch.zeros(3, 1),
            rank=1,
            verbose=False,
        )


# --------------------------------------------------------------------------- helpers


def test_trimming_rule():
    mat = torch.diag(torch.tensor([10.0, 5.0, 3.0, 1.0, 1.0]))
    ranks = [ttd.trimming(mat, 10, c)[3] for c in (0.5, 0.75, 0.9, 0.95, 1.0)]
    assert ranks == [1, 2, 3, 4, 5]
    assert ttd.trimming(mat, 2, 0.99)[3] == 2
    assert ttd.trimming(mat, None, 0.5)[3] == 1
    assert ttd.trimming(mat, 3, None)[3] == 3
    assert ttd.trimming(torch.zeros(3, 3), 10, 0.9)[3] == 1
    u, s, vh, r = ttd.trimming(torch.randn(4, 3, dtype=DTYPE), 2, 0.99)
    assert (u.shape, s.shape, vh.shape, r) == ((4, 3), (3,), (3, 3), 2)


def test_create_projector():
    s_prev = torch.tensor([[0.0], [1.0]])
    s_next = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    parent, last = ttd.create_projector(s_prev, s_next)
    assert parent.tolist() == [0, 1, 1]
    assert last.tolist() == [[1.0], [0.0], [1.0]]
    # Unsorted parents, 3-D rows.
    s_prev3 = torch.tensor([[[1.0, 1.0]], [[0.0, 2.0]]])
    s_next3 = torch.tensor([[[0.0, 2.0], [5.0, 5.0]], [[1.0, 1.0], [7.0, 7.0]]])
    parent, last = ttd.create_projector(s_prev3, s_next3)
    assert parent.tolist() == [1, 0]
    assert last.shape == (2, 1, 2)


def test_sketching_grid_values():
    # Values produced by TensorKrowch 1.1.6.
    a = torch.tensor([[1.0], [2.0]])
    b = torch.tensor([[5.0], [6.0], [7.0]])
    c = torch.tensor([[100.0, 200.0], [300.0, 400.0]])

    def total(x):
        return x.sum(1, keepdim=True)

    out = ttd.sketching(total, [a, b, c], -1, 4, None)
    assert out.shape == (2, 3, 2)
    assert out[0].tolist() == [[306.0, 706.0], [307.0, 707.0], [308.0, 708.0]]
    assert ttd.sketching(total, [b], -1, 2, None).tolist() == [5.0, 6.0, 7.0]

    # Vector-valued: the label column picks the output entry and is not passed on.
    def scaled(x):
        return x.sum(1, keepdim=True) * torch.tensor([1.0, 10.0, 100.0])

    labels = torch.tensor([[0.0], [2.0]])
    out = ttd.sketching(scaled, [b, labels], 1, 4, None)
    assert out.tolist() == [[5.0, 500.0], [6.0, 600.0], [7.0, 700.0]]


def test_sketching_rejects_bad_blocks():
    with pytest.raises(TNTypeError, match=r"tensors_list\[1\]"):
        ttd.sketching(f_scalar, [torch.zeros(2, 1), [1.0]], -1, 2, None)
    with pytest.raises(TNValueError, match="2 or 3 dimensions"):
        ttd.sketching(f_scalar, [torch.zeros(2)], -1, 2, None)


def test_extend_with_output():
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]], dtype=DTYPE)
    labels = torch.tensor([1, 0, 1])
    ext, out = ttd.extend_with_output(f_vector, x, labels, 1, 2, None)
    assert ext.tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]
    assert out.shape == (3, 1)

    # Sampled labels follow the squared outputs: a one-hot output fixes the label.
    def onehot(v):
        return torch.nn.functional.one_hot(v[:, 0].long(), 3).to(DTYPE)

    ext, out = ttd.extend_with_output(onehot, x, None, 0, 2, None)
    assert ext[:, 0].tolist() == [0.0, 1.0, 2.0]
    assert out.flatten().tolist() == [1.0, 1.0, 1.0]
    x3 = torch.rand(4, 2, 2, dtype=DTYPE)
    ext, _ = ttd.extend_with_output(f_vector, x3, torch.tensor([0, 1, 1, 0]), 2, 3, None)
    assert ext.shape == (4, 3, 2) and ext[:, 2, 1].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_val_error_uses_the_given_out_position(samples):
    g = torch.Generator().manual_seed(14)
    labels = torch.randint(0, 2, (samples.shape[0],), generator=g)
    torch.manual_seed(14)
    cores = tt_rss(f_vector, poly2, samples, labels=labels, out_position=1, rank=2, verbose=False)
    extended = torch.cat([samples[:, :1], labels[:, None].to(DTYPE), samples[:, 1:]], dim=1)
    assert ttd.val_error(f_vector, poly2, cores, extended, 1, None) < VAL_TOL
