"""DMRG two-site sweeps: exactness of the cached environments and of the canonical form,
truncation rules, adaptive bonds, failure handling and the model left afterwards."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from _tol import assert_close_elem, assert_close_rel, eps

import torchtn as tk
from torchtn.models import MPS, UMPS, BornMachine, MPSLayer
from torchtn.train import DMRG, DMRGError, _blocks

DT = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _factor(n: int) -> int:
    """Eps of error of ``n`` sites of two-site updates (contract, SVD, split): 500 per site,
    the SVDs' rounding on top of the contractions'."""
    return 500 * n


def _scalar(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=DT)


def _dense_output(model, x: torch.Tensor) -> torch.Tensor:
    """Reference ``model(x)`` from ``model.tensors`` by plain contractions (obc)."""
    ts = [t.detach() for t in model.tensors]
    ins = model.in_features
    env = None
    k = 0
    for site, t in enumerate(ts):
        core = t.unsqueeze(0) if site == 0 else t
        core = core.unsqueeze(-1) if site == len(ts) - 1 else core  # (l, d, r)
        if site in ins:
            m = torch.einsum("ldr,bd->blr", core, x[:, k])
            k += 1
            env = m if env is None else torch.einsum("b...l,blr->b...r", env, m)
        else:
            m = core.expand(x.shape[0], *core.shape)  # open output index
            env = (
                m.permute(0, 2, 1, 3)
                if env is None
                else torch.einsum("b...l,bldr->b...dr", env, m).movedim(-2, 1)
            )
    return env.reshape(x.shape[0], -1).squeeze(-1)


def _layer(n=6, d=2, out=3, bond=3, pos=None, seed=0):
    torch.manual_seed(seed)
    return MPSLayer(n, d, out, bond, out_position=pos, dtype=DT)


def _isometric(core: torch.Tensor, side: str) -> bool:
    lb, d, r = core.shape
    m = core.reshape(lb * d, r) if side == "left" else core.reshape(lb, d * r).T
    eye = torch.eye(m.shape[1], dtype=m.dtype)
    # An orthonormal factor of an SVD/QR of a (l*d, r) matrix: its Gram matrix is the
    # identity up to the factorisation's rounding (a few hundred eps).
    return bool((m.T @ m - eye).norm() <= 300 * eps(m) * eye.norm())


# -- exactness --
@pytest.mark.parametrize("pos", [0, 2, 5])
def test_a_sweep_without_steps_or_truncation_keeps_the_function(pos):
    model = _layer(pos=pos)
    x = torch.rand(7, 5, 2, dtype=DT)
    before = model(x).detach()
    dmrg = DMRG(model, loss="cross_entropy", n_steps=0)
    record = dmrg.sweep(x, torch.randint(0, 3, (7,)))
    after = model(x)
    assert_close_elem(after, before, factor=_factor(6))
    assert_close_elem(after, _dense_output(model, x), factor=_factor(6))
    # Nothing cut: the discarded weight is a sum over no singular values, exactly 0.
    assert record["max_truncation"] == 0.0


def test_cached_environments_give_the_exact_loss_mid_sweep():
    torch.manual_seed(1)
    mps = MPS(7, 2, 3, dtype=DT)
    x = torch.randint(0, 2, (40, 7))
    dmrg = DMRG(mps, loss="nll", n_steps=3, lr=0.05, max_bond=4)
    dmrg.set_data(x)
    dmrg.prepare()
    for bond in range(4):
        dmrg.update(bond, "right")
        cores = dmrg._cores
        assert all(_isometric(c, "left") for c in cores[: dmrg.centre])
        assert all(_isometric(c, "right") for c in cores[dmrg.centre + 1 :])
        # the working state, as an MPS of its own, has exactly the cached loss
        ts = [cores[0][0]] + cores[1:-1] + [cores[-1][..., 0]]
        reference = BornMachine(MPS(tensors=ts)).nll(x).item()
        assert_close_rel(_scalar(dmrg.evaluate()), _scalar(reference), factor=_factor(7))
    dmrg.update(4, "left")
    assert dmrg.centre == 4


def test_nll_sweep_matches_the_born_machine_and_normalises():
    torch.manual_seed(2)
    mps = MPS(6, [2, 3, 2, 3, 2, 2], 2, dtype=DT)
    x = torch.stack([torch.randint(0, d, (50,)) for d in mps.phys_dim], 1)
    dmrg = DMRG(mps, loss="nll", n_steps=5, lr=0.05, max_bond=6)
    first = BornMachine(mps).nll(x).item()
    rec = dmrg.sweep(x)
    born = BornMachine(mps)
    assert_close_rel(_scalar(rec["loss"]), born.nll(x).detach(), factor=_factor(6))
    assert rec["loss"] < first
    # Z = 1 after a sweep: log Z = 0 up to rounding relative to 1.
    assert_close_rel(born.log_norm().detach(), _scalar(0.0), factor=_factor(6), scale=1.0)


def test_cross_entropy_sweep_matches_the_model_output():
    model = _layer(n=7, out=3, pos=3)
    x = torch.rand(30, 6, 2, dtype=DT)
    y = torch.randint(0, 3, (30,))
    rec = DMRG(model, loss="cross_entropy", n_steps=4, lr=0.05, max_bond=5).sweep(x, y)
    want = F.cross_entropy(model(x), y).detach()
    assert_close_rel(_scalar(rec["loss"]), want, factor=_factor(7))


def test_joint_nll_of_an_mps_layer_uses_the_label_as_its_site():
    model = _layer(n=5, out=3, pos=1)
    x = torch.randint(0, 2, (20, 4))
    y = torch.randint(0, 3, (20,))
    rec = DMRG(model, loss="nll", n_steps=2, lr=0.05).sweep(x, y)
    joint = torch.cat([x[:, :1], y[:, None], x[:, 1:]], 1)
    want = BornMachine(model).nll(joint).detach()
    assert_close_rel(_scalar(rec["loss"]), want, factor=_factor(5))


def test_custom_loss_and_scale_of_long_chains():
    """The working units keep outputs of size ~1 while the raw cores are far from it:
    the state's scale is spread over the cores on write-back."""
    torch.manual_seed(3)
    model = MPSLayer(200, 2, 2, 4, dtype=DT, std=1.0)
    x = torch.rand(16, 199, 2, dtype=DT) * 3
    y = torch.randn(16, 2, dtype=DT)
    before = model(x).detach()
    assert before.abs().max() > 1e20  # the random chain's outputs are huge

    def mse(out, target):
        return (out - target).pow(2).mean()

    dmrg = DMRG(model, loss=mse, n_steps=0)
    dmrg.sweep(x, y)
    after = model(x)
    # 200 sites of write-back (SVD, split, rescale) in float64: a long chain, so a bound
    # per site as for the short ones, relative to each output (they span many decades).
    torch.testing.assert_close(after, before, rtol=_factor(200) * eps(DT), atol=0.0)
    mse.__name__ = "mse"
    assert "loss='mse'" in repr(dmrg)


# -- truncation --
def test_select_bond_rules():
    s = torch.tensor([4.0, 2.0, 1.0, 1.0, 0.1], dtype=DT)
    assert _blocks.select_bond(s, None, None, None, "s2") == 5
    assert _blocks.select_bond(s, 3, None, None, "s2") == 3
    assert _blocks.select_bond(s, None, 0.2, None, "s2") == 4  # 0.1 < 0.2 * 4
    # s^2 = 16, 4, 1, 1, 0.01 (total 22.01): 16 + 4 = 20 >= 0.9 * 22.01 -> 2 values
    assert _blocks.select_bond(s, None, None, 0.9, "s2") == 2
    # s: 4, 2, 1, 1, 0.1 (total 8.1): 4 + 2 + 1 = 7 < 7.29 -> 4 values
    assert _blocks.select_bond(s, None, None, 0.9, "s") == 4
    assert _blocks.select_bond(s, None, None, 1.0, "s2") == 5
    assert _blocks.select_bond(s, None, 10.0, None, "s2") == 1  # never below 1


def test_max_bond_and_truncation_recorded():
    torch.manual_seed(4)
    mps = MPS(8, 2, 6, dtype=DT)
    x = torch.randint(0, 2, (60, 8))
    rec = DMRG(mps, loss="nll", n_steps=1, lr=0.01, max_bond=3).sweep(x)
    assert max(rec["bond_dim"]) == 3 and mps.bond_dim == rec["bond_dim"]
    assert rec["max_truncation"] > 0


def test_bonds_shrink_where_the_state_does_not_need_them():
    """A product state padded into bond 6: the SVD cut leaves bond 1 everywhere."""
    torch.manual_seed(5)
    vecs = [torch.rand(2, dtype=DT) + 0.1 for _ in range(6)]
    ts = [torch.zeros(2, 6, dtype=DT)] + [torch.zeros(6, 2, 6, dtype=DT) for _ in range(4)]
    ts.append(torch.zeros(6, 2, dtype=DT))
    ts[0][:, 0] = vecs[0]
    for i in range(1, 5):
        ts[i][0, :, 0] = vecs[i]
        ts[i] += 1e-9 * torch.randn(6, 2, 6, dtype=DT)
    ts[-1][0] = vecs[-1]
    mps = MPS(tensors=ts)
    x = torch.randint(0, 2, (10, 6))
    rec = DMRG(mps, loss="nll", n_steps=0, cutoff=1e-6).sweep(x)
    assert rec["bond_dim"] == [1] * 5 and mps.bond_dim == [1] * 5


def test_bonds_grow_where_the_data_needs_them():
    """Data 000000 / 111111 (equal halves) needs bond 2 everywhere; start from bond 1."""
    torch.manual_seed(6)
    mps = MPS(6, 2, 1, dtype=DT)
    x = torch.cat([torch.zeros(32, 6), torch.ones(32, 6)]).long()
    dmrg = DMRG(mps, loss="nll", n_steps=30, lr=0.1, cutoff=1e-2, max_bond=4)
    records = dmrg.fit(x, n_sweeps=2)
    assert records[-1]["bond_dim"] == [2] * 5
    assert records[-1]["loss"] == pytest.approx(math.log(2), abs=0.05)
    assert [r["sweep"] for r in dmrg.history] == [1, 2]
    assert set(dmrg.history[0]) == {
        "sweep",
        "loss",
        "bond_dim",
        "max_truncation",
        "update_loss",
        "rejected",
        "time",
    }


def test_classifier_learns_a_simple_rule():
    torch.manual_seed(7)
    model = MPSLayer(6, 2, 2, 2, out_position=3, dtype=DT, init_method="randn_eye", std=1e-2)
    bits = torch.randint(0, 2, (200, 5))
    y = bits[:, 0] ^ bits[:, 4]  # needs correlation across the chain
    x = F.one_hot(bits, 2).to(DT)
    dmrg = DMRG(model, loss="cross_entropy", n_steps=20, lr=0.05, max_bond=4, cutoff=1e-3)
    dmrg.fit(x, y, n_sweeps=2)
    acc = (model(x).argmax(-1) == y).double().mean().item()
    assert acc == 1.0


# -- the model afterwards --
def test_model_is_valid_after_a_sweep():
    model = _layer(n=6, out=4, pos=2, bond=2)
    x = torch.rand(25, 5, 2, dtype=DT)
    y = torch.randint(0, 4, (25,))
    DMRG(model, loss="cross_entropy", n_steps=5, lr=0.1, max_bond=5).sweep(x, y)
    assert len(list(model.parameters())) == 8  # 6 cores and 2 boundary vectors
    shapes = [tuple(node.shape) for node in model.mats_env]
    bonds = model.bond_dim
    assert [s[2] for s in shapes[:-1]] == bonds and [s[0] for s in shapes[1:]] == bonds
    assert max(bonds) > 2  # grew
    for a, b in zip(model.mats_env[:-1], model.mats_env[1:], strict=True):
        assert a["right"] is b["left"]
    assert model.left_node["right"] is model.mats_env[0]["left"]
    assert_close_elem(model(x), _dense_output(model, x), factor=_factor(6))
    model.trace(x[:1])
    assert_close_elem(model(x), _dense_output(model, x), factor=_factor(6))
    model.reset()  # a traced model's state_dict holds its stacks (as in TensorKrowch)
    fresh = MPSLayer(6, 2, 4, bonds, out_position=2, dtype=DT)
    fresh.load_state_dict(model.state_dict())
    torch.testing.assert_close(fresh(x), model(x))


def test_failed_svd_leaves_the_model_unchanged(monkeypatch, unchanged):
    model = _layer()
    x = torch.rand(10, 5, 2, dtype=DT)
    y = torch.randint(0, 3, (10,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dmrg = DMRG(model, loss="cross_entropy", n_steps=2)
    calls = {"n": 0}
    real_svd = torch.linalg.svd

    def flaky_svd(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise torch.linalg.LinAlgError("did not converge")
        return real_svd(*args, **kwargs)

    monkeypatch.setattr(torch.linalg, "svd", flaky_svd)
    with unchanged(model), pytest.raises(DMRGError, match="bond 2"):
        dmrg.sweep(x, y)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    # the sweeper's working state stayed consistent: the centre is still on that block
    assert dmrg.centre == 2
    cores = [c.clone() for c in dmrg._cores]
    monkeypatch.setattr(torch.linalg, "svd", real_svd)
    dmrg.update(2, "right")
    assert all(torch.equal(a, b) for a, b in zip(cores[:2], dmrg._cores[:2], strict=True))


def test_non_finite_loss_raises_and_keeps_the_cores():
    model = _layer()
    x = torch.rand(10, 5, 2, dtype=DT)
    y = torch.randint(0, 3, (10,))

    def bad(out, target):
        return out.sum() * float("nan")

    dmrg = DMRG(model, loss=bad, n_steps=1)
    dmrg.set_data(x, y)
    dmrg.prepare()
    cores = [c.clone() for c in dmrg._cores]
    with pytest.raises(DMRGError, match="Non-finite loss"):
        dmrg.update(0, "right")
    assert all(torch.equal(a, b) for a, b in zip(cores, dmrg._cores, strict=True))


def test_sweeps_start_from_the_models_current_state():
    model = _layer()
    x = torch.rand(12, 5, 2, dtype=DT)
    y = torch.randint(0, 3, (12,))
    dmrg = DMRG(model, loss="cross_entropy", n_steps=2, lr=0.05)
    dmrg.sweep(x, y)
    model.trace(x[:1])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)  # ordinary training in between
    F.cross_entropy(model(x), y).backward()
    opt.step()
    expected = model(x).detach()
    rec = DMRG(model, loss="cross_entropy", n_steps=0).sweep(x, y)
    assert_close_rel(_scalar(rec["loss"]), F.cross_entropy(expected, y), factor=_factor(6))


# -- errors --
def test_bad_arguments():
    layer = _layer()
    with pytest.raises(TypeError, match="MPS or MPSLayer"):
        DMRG(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="boundary 'obc'"):
        DMRG(MPS(4, 2, 2, boundary="pbc"))
    with pytest.raises(ValueError, match="boundary 'obc'"):
        DMRG(UMPS(4, 2, 2))
    with pytest.raises(TypeError, match="MPS or MPSLayer"):
        DMRG(tk.models.ConvMPS(2, 2, 2, 2))
    with pytest.raises(ValueError, match="at least 2 sites"):
        DMRG(MPS(1, 2, []))
    with pytest.raises(ValueError, match="at most one output site"):
        DMRG(MPS(4, 2, 2, out_features=[1, 2]))
    with pytest.raises(ValueError, match="needs a model with an output site"):
        DMRG(MPS(4, 2, 2), loss="cross_entropy")
    with pytest.raises(ValueError, match="`loss`"):
        DMRG(layer, loss="mse")
    with pytest.raises(ValueError, match="cum_percentage"):
        DMRG(layer, cum_percentage=1.5)
    with pytest.raises(ValueError, match="spectrum"):
        DMRG(layer, spectrum="s3")
    with pytest.raises(ValueError, match="`lr`"):
        DMRG(layer, lr=0)
    with pytest.raises(TypeError, match="complex"):
        DMRG(MPS(4, 2, 2, dtype=torch.complex128))
    dmrg = DMRG(layer, loss="cross_entropy")
    with pytest.raises(ValueError, match=r"\(N, 5, d\)"):
        dmrg.set_data(torch.rand(4, 6, 2, dtype=DT), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="needs labels"):
        dmrg.set_data(torch.rand(4, 5, 2, dtype=DT))
    with pytest.raises(ValueError, match=r"in \[0, 2\]"):
        dmrg.set_data(torch.rand(4, 5, 2, dtype=DT), torch.full((4,), 3))
    with pytest.raises(ValueError, match="No data"):
        dmrg.prepare()
    with pytest.raises(ValueError, match="prepare"):
        dmrg.update(0, "right")
    dmrg.set_data(torch.rand(4, 5, 2, dtype=DT), torch.zeros(4, dtype=torch.long))
    dmrg.prepare()
    with pytest.raises(ValueError, match="centre at site 3 or 4"):
        dmrg.update(3, "right")
    with pytest.raises(ValueError, match="direction"):
        dmrg.update(0, "up")
    gen = DMRG(MPS(4, 3, 2), loss="nll")
    with pytest.raises(ValueError, match=r"should be in \[0, 2\]"):
        gen.set_data(torch.tensor([[0, 1, 3, 0]]))


def test_an_update_that_makes_the_loss_worse_is_backtracked():
    """Samples whose outputs differ in scale by orders of magnitude (one-hot inputs with
    ``randn_eye``) made local Adam steps overshoot (0.69 -> ~3000 in one update): the
    update is redone with a smaller lr or undone, so the loss never rises."""
    torch.manual_seed(0)
    bits = torch.randint(0, 2, (200, 16))
    y = (bits[:, :8].sum(1) > bits[:, 8:].sum(1)).long()
    x = F.one_hot(bits, 2).to(DT)
    model = MPSLayer(17, 2, 2, 2, init_method="randn_eye", std=1e-2, dtype=DT)
    dmrg = DMRG(model, loss="cross_entropy", n_steps=10, lr=0.05, max_bond=8)
    dmrg.set_data(x, y)
    dmrg.prepare()
    losses = [dmrg.evaluate()]
    for bond in range(6):
        rec = dmrg.update(bond, "right")
        assert rec["loss"] <= losses[-1] * (1 + _factor(2) * torch.finfo(DT).eps)
        losses.append(dmrg.evaluate())
    first = dmrg.sweep()
    assert first["rejected"] >= 1  # some updates could not improve and were undone
    assert first["loss"] < 0.5 * math.log(2)
    assert dmrg.sweep()["loss"] < first["loss"]
    # backtrack=0 keeps the old behaviour available, but still never accepts a worse block
    plain = DMRG(
        MPSLayer(17, 2, 2, 2, init_method="randn_eye", std=1e-2, dtype=DT),
        loss="cross_entropy",
        n_steps=10,
        lr=0.05,
        backtrack=0,
    )
    plain.set_data(x, y)
    plain.prepare()
    start = plain.evaluate()
    assert plain.update(0, "right")["loss"] <= start * (1 + _factor(2) * torch.finfo(DT).eps)
