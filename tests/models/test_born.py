"""BornMachine: exact normalised log-probabilities, sampling, conditions and marginals,
checked against brute-force float64 enumeration of every configuration."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from _mps_dense import dense_state
from _tol import assert_close_elem, assert_close_rel
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn import embeddings
from torchtn.models import MPS, UMPS, BornMachine, MPSData, MPSLayer
from torchtn.models import _born_kernels as kernels

DT = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    """These sweeps are many small products: extra threads only contend on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _factor(n: int) -> int:
    """Eps of error of a sweep over ``n`` sites: a few hundred per site's contraction."""
    return 200 * max(n, 1)


def _one(dtype=DT) -> torch.Tensor:
    return torch.ones((), dtype=dtype)


def _configs(phys: list[int]) -> torch.Tensor:
    return torch.tensor(list(itertools.product(*[range(d) for d in phys])), dtype=torch.long)


def _exact(model) -> torch.Tensor:
    """Brute force ``|psi|^2 / Z`` over every configuration, flattened in ``_configs`` order."""
    psi = dense_state(model).reshape(-1)
    p = (psi.conj() * psi).real
    return p / p.sum()


def _model(kind: str, n: int, d: int, bond: int = 3, dtype=DT, seed: int = 0):
    torch.manual_seed(seed)
    if kind == "obc":
        return MPS(n, [d + (i % 2) for i in range(n)], bond, dtype=dtype)
    if kind == "pbc":
        return MPS(n, d, bond, boundary="pbc", dtype=dtype)
    if kind == "umps":
        return UMPS(n, d, bond, dtype=dtype)
    return MPSLayer(n, d, 2, bond, out_position=n // 2, dtype=dtype)


KINDS = ["obc", "pbc", "umps", "layer"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n,d", [(1, 3), (2, 2), (5, 3), (9, 2)])
def test_log_prob_is_normalised_and_exact(kind, n, d):
    if kind == "layer" and n == 1:
        pytest.skip("an MPSLayer with one site has no input")
    model = _model(kind, n, d)
    born = BornMachine(model)
    xs = _configs(model.phys_dim)
    p = born.log_prob(xs).exp()
    assert_close_rel(p.sum(), _one(), factor=_factor(n))
    assert_close_elem(p, _exact(model), factor=_factor(n))
    torch.testing.assert_close(born(xs), born.log_prob(xs), rtol=0, atol=0)  # forward is log_prob
    # nll is the mean of the same log-probabilities: one reduction.
    assert_close_rel(born.nll(xs), -born.log_prob(xs).mean(), factor=20)


def test_complex_cores():
    torch.manual_seed(1)
    mps = MPS(5, 2, 3, dtype=torch.complex128)
    born = BornMachine(mps)
    p = born.log_prob(_configs(mps.phys_dim)).exp()
    assert p.dtype == DT
    assert_close_elem(p, _exact(mps), factor=_factor(5))


@pytest.mark.parametrize("boundary,n", [("obc", 7), ("pbc", 6)])
def test_amplitude_agrees_with_the_models_own_contraction(boundary, n):
    mps = MPS(n, 3, 4, boundary=boundary, dtype=DT)
    born = BornMachine(mps)
    x = torch.randint(0, 3, (11, n))
    expected = mps(torch.nn.functional.one_hot(x, 3).to(DT))
    got = born.amplitude(x)
    assert_close_elem(got, expected, factor=_factor(n))
    embedded = born.amplitude(torch.nn.functional.one_hot(x, 3).to(DT))
    assert_close_elem(embedded, got, factor=_factor(n))


def test_long_chain_stays_finite_and_exact_in_log_space():
    """784 sites of randn cores: |psi|^2 and Z overflow float64 by far, log space does not."""
    torch.manual_seed(0)
    mps = MPS(784, 2, 10, dtype=DT, std=1.0)
    born = BornMachine(mps)
    x = born.sample(4, generator=torch.Generator().manual_seed(0))
    lp, log_z = born.log_prob(x), born.log_norm()
    assert torch.isfinite(lp).all() and torch.isfinite(log_z)
    assert log_z.item() > 1000  # Z itself is far beyond float64's range
    assert (lp <= 0).all()
    # Scaling every core by c multiplies psi by c^784: log Z moves by exactly 2*784*log c.
    cores = [c * 3.0 for c in born.cores()]
    shifted = kernels.log_norm(cores)
    # A sum of 784 per-site logs, each rounded relative to its own size (~|log Z| / 784):
    # about one eps of log Z per site.
    assert_close_rel(shifted, log_z + 2 * 784 * math.log(3.0), factor=784)
    # Relative to |log Z| (not to |log p|, a difference of two such sums): the same chain.
    assert_close_rel(kernels.log_prob(cores, x), lp, factor=784, scale=log_z.item())
    f32 = BornMachine(MPS(tensors=[t.float() for t in mps.tensors]))
    # The same 784-site chain in float32 (the cores themselves rounded to float32 too).
    assert_close_rel(
        f32.log_prob(x).double(), lp, factor=784, dtype=torch.float32, scale=log_z.item()
    )


@pytest.mark.parametrize("boundary", ["obc", "pbc"])
def test_gradcheck_log_prob(boundary):
    torch.manual_seed(0)
    shapes = [(1, 2, 2), (2, 3, 3), (3, 2, 1)]
    if boundary == "pbc":
        shapes = [(2, 2, 2), (2, 3, 3), (3, 2, 2)]
    cores = [torch.randn(s, dtype=DT, requires_grad=True) for s in shapes]
    x = torch.tensor([[0, 1, 1], [1, 2, 0], [1, 0, 1]])
    assert torch.autograd.gradcheck(lambda *cs: kernels.log_prob(list(cs), x), cores)
    emb = torch.rand(2, 3, 2, dtype=DT)
    two = [torch.randn(s[0], 2, s[2], dtype=DT, requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(lambda *cs: kernels.log_prob(list(cs), emb), two)


def test_gradients_reach_the_model_parameters():
    mps = MPS(4, 2, 3, dtype=DT)
    born = BornMachine(mps)
    born.nll(torch.randint(0, 2, (6, 4))).backward()
    for name, param in born.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    assert {n for n, _ in born.named_parameters()} == {
        f"model.{k}" for k, _ in mps.named_parameters()
    }


def test_fourier_embedding_gives_a_density():
    """``fourier`` is orthonormal on [0, 1]: the density integrates to 1. A uniform
    periodic grid integrates trigonometric polynomials of degree < M exactly."""
    torch.manual_seed(2)
    mps = MPS(3, 3, 2, dtype=DT)
    born = BornMachine(mps)
    m = 8
    grid = torch.arange(m, dtype=DT) / m
    pts = torch.cartesian_prod(grid, grid, grid)
    density = born.log_prob(embeddings.fourier(pts, dim=3)).exp()
    # A mean of 512 densities, each the square of a 3-site contraction.
    assert_close_rel(density.mean(), _one(), factor=_factor(3))


def test_mps_data_is_a_batch_of_distributions():
    torch.manual_seed(3)
    ts = [torch.randn(4, 2, 3, dtype=DT), torch.randn(4, 3, 2, 2, dtype=DT)]
    ts.append(torch.randn(4, 2, 3, dtype=DT))
    data = MPSData(tensors=ts)
    born = BornMachine(data)
    xs = _configs(data.phys_dim)  # (12, 3)
    lp = born.log_prob(xs.unsqueeze(1))  # (12, 4): every config under every state
    assert lp.shape == (12, 4)
    for b in range(4):
        single = BornMachine(MPS(tensors=[t[b] for t in ts]))
        assert_close_elem(lp[:, b], single.log_prob(xs), factor=_factor(3))
    assert_close_rel(lp.exp().sum(0), torch.ones(4, dtype=DT), factor=_factor(3))
    assert born.log_norm().shape == (4,)
    samples = born.sample(7, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (7, 4, 3)
    assert born.marginal([2, 0]).shape == (4, 3, 2)


def _chi_square_pvalue(counts: torch.Tensor, probs: torch.Tensor) -> float:
    """Pearson's test, pooling the configurations expected fewer than 5 times."""
    from scipy.stats import chi2

    expected = probs * counts.sum()
    small = expected < 5
    obs = torch.cat([counts[~small], counts[small].sum().reshape(1)])
    exp = torch.cat([expected[~small], expected[small].sum().reshape(1)])
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    stat = ((obs - exp) ** 2 / exp).sum().item()
    return float(chi2.sf(stat, len(exp) - 1))


def _counts(samples: torch.Tensor, phys: list[int]) -> torch.Tensor:
    idx = torch.zeros(len(samples), dtype=torch.long)
    for i, d in enumerate(phys):
        idx = idx * d + samples[:, i]
    return torch.bincount(idx, minlength=math.prod(phys)).to(DT)


@pytest.mark.parametrize("kind", ["obc", "pbc", "layer"])
def test_sample_frequencies_match_the_distribution(kind):
    model = _model(kind, 5, 2, bond=3, seed=4)
    born = BornMachine(model)
    samples = born.sample(20000, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (20000, 5) and samples.dtype == torch.long
    assert _chi_square_pvalue(_counts(samples, model.phys_dim), _exact(model)) > 1e-4


def test_sampling_is_reproducible_and_leaves_the_model_unchanged(unchanged):
    mps = MPS(6, 2, 3, dtype=DT)
    born = BornMachine(mps)
    with unchanged(mps):
        a = born.sample(50, generator=torch.Generator().manual_seed(5))
        b = born.sample(50, generator=torch.Generator().manual_seed(5))
        born.marginal([1, 4])
        born.log_prob(a)
    assert torch.equal(a, b)


@pytest.mark.parametrize("kind", ["obc", "pbc"])
def test_conditional_samples_follow_the_conditional_distribution(kind):
    model = _model(kind, 5, 2, bond=3, seed=5)
    born = BornMachine(model)
    cond = {1: 1, 4: 0}
    samples = born.sample(20000, generator=torch.Generator().manual_seed(1), condition=cond)
    assert (samples[:, 1] == 1).all() and (samples[:, 4] == 0).all()
    xs = _configs(model.phys_dim)
    p = _exact(model) * ((xs[:, 1] == 1) & (xs[:, 4] == 0))
    assert _chi_square_pvalue(_counts(samples, model.phys_dim), p / p.sum()) > 1e-4


def test_tensor_condition_with_a_mask_per_sample():
    model = _model("obc", 5, 2, bond=3, seed=6)
    born = BornMachine(model)
    n = 12000
    values = torch.zeros(n, 5, dtype=torch.long)
    mask = torch.zeros(n, 5, dtype=torch.bool)
    values[: n // 2, 3] = 1  # first half: x_3 = 1 observed
    mask[: n // 2, 3] = True
    values[n // 2 :, 0] = 1  # second half: x_0 = 1 and x_4 = 1 (its own x_0 value) observed
    values[n // 2 :, 4] = 1
    mask[n // 2 :, 0] = mask[n // 2 :, 4] = True
    gen = torch.Generator().manual_seed(2)
    samples = born.sample(n, generator=gen, condition=values, mask=mask)
    assert torch.equal(samples[mask], values[mask])
    xs = _configs(model.phys_dim)
    first = _exact(model) * (xs[:, 3] == 1)
    second = _exact(model) * ((xs[:, 0] == 1) & (xs[:, 4] == 1))
    phys = model.phys_dim
    assert _chi_square_pvalue(_counts(samples[: n // 2], phys), first / first.sum()) > 1e-4
    assert _chi_square_pvalue(_counts(samples[n // 2 :], phys), second / second.sum()) > 1e-4
    single = born.sample(4, condition=torch.tensor([1, 0, 0, 0, 0]), mask=mask[-1])
    assert (single[:, 0] == 1).all() and (single[:, 4] == 0).all()


def test_condition_of_probability_zero_raises():
    mps = MPS(4, 2, 2, dtype=DT)
    born = BornMachine(mps)
    with torch.no_grad():
        core = mps.mats_env[2].tensor
        core[:, 1, :] = 0  # psi vanishes whenever x_2 = 1
    with pytest.raises(ValueError, match="probability 0"):
        born.sample(3, condition={2: 1})
    assert (born.sample(200)[:, 2] == 0).all()


@pytest.mark.parametrize("kind", ["obc", "pbc", "layer"])
def test_marginal_matches_brute_force(kind):
    model = _model(kind, 6, 2, seed=7)
    born = BornMachine(model)
    full = _exact(model).reshape(model.phys_dim)
    got = born.marginal([4, 1])
    want = full.sum(dim=(0, 2, 3, 5)).T
    assert_close_elem(got, want, factor=_factor(6))
    assert_close_elem(born.marginal(list(range(6))), full, factor=_factor(6))
    assert_close_rel(born.marginal([]), _one(), factor=_factor(6))


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 6),
    d=st.integers(2, 3),
    bond=st.integers(1, 4),
    boundary=st.sampled_from(["obc", "pbc"]),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_normalised(n, d, bond, boundary, seed):
    torch.manual_seed(seed)
    mps = MPS(n, d, bond, boundary=boundary, dtype=DT)
    born = BornMachine(mps)
    p = born.log_prob(_configs(mps.phys_dim)).exp()
    assert_close_rel(p.sum(), _one(), factor=_factor(n))
    assert_close_elem(p, _exact(mps), factor=_factor(n))


def test_state_dict_round_trip_and_repr():
    born = BornMachine(MPS(5, 2, 3, dtype=DT))
    other = BornMachine(MPS(5, 2, 3, dtype=DT))
    x = torch.randint(0, 2, (8, 5))
    assert not torch.allclose(born.log_prob(x), other.log_prob(x))
    other.load_state_dict(born.state_dict())
    # The same numbers through the same kernels: identical, bit for bit.
    torch.testing.assert_close(other.log_prob(x), born.log_prob(x), rtol=0, atol=0)
    assert "n_features=5" in repr(born) and "bond_dim=[3, 3, 3, 3]" in repr(born)


def test_pickle_and_deepcopy_round_trip():
    import copy
    import pickle

    born = BornMachine(MPS(5, 2, 3, dtype=DT))
    x = torch.randint(0, 2, (6, 5))
    for other in (copy.deepcopy(born), pickle.loads(pickle.dumps(born))):
        # A copy holds the same numbers and runs the same kernels: identical, bit for bit.
        torch.testing.assert_close(other.log_prob(x), born.log_prob(x), rtol=0, atol=0)
        assert other.model is not born.model


def test_reads_the_current_cores_after_canonicalize():
    mps = MPS(6, 2, 4, dtype=DT)
    born = BornMachine(mps)
    x = torch.randint(0, 2, (10, 6))
    before = born.log_prob(x)
    mps.canonicalize(oc=2)
    # canonicalize is a QR sweep over the 6 cores: it moves the amplitudes by rounding only.
    assert_close_elem(born.log_prob(x), before, factor=_factor(6))


def test_bad_input():
    born = BornMachine(MPS(4, 3, 2))
    with pytest.raises(TypeError, match="model"):
        BornMachine(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        born.log_prob([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"\(\*batch, 4\)"):
        born.log_prob(torch.zeros(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="site 2 should be in \\[0, 2\\], got 3"):
        born.log_prob(torch.tensor([[0, 1, 3, 0]]))
    with pytest.raises(ValueError, match="Embedded"):
        born.log_prob(torch.zeros(3, 4, 2))
    with pytest.raises(ValueError, match="`n` should be at least 0"):
        born.sample(-1)
    with pytest.raises(ValueError, match="site should be in"):
        born.sample(2, condition={4: 0})
    with pytest.raises(ValueError, match="condition` at site 1"):
        born.sample(2, condition={1: 5})
    with pytest.raises(ValueError, match="needs a boolean `mask`"):
        born.sample(2, condition=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="without a tensor"):
        born.sample(2, mask=torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="same shape|both have shape"):
        born.sample(2, condition=torch.zeros(4, dtype=torch.long), mask=torch.ones(3).bool())
    with pytest.raises(TypeError, match="generator"):
        born.sample(2, generator=0)
    with pytest.raises(ValueError, match="distinct"):
        born.marginal([1, 1])
    with pytest.raises(ValueError, match="should be in"):
        born.marginal([4])
    empty = BornMachine(MPS(3, 2, 2, init_method=None))
    with pytest.raises(ValueError, match="no tensor"):
        empty.log_norm()
