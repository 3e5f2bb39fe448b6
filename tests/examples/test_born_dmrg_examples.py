"""Smoke tests of ``born_digits`` and ``dmrg_digits``: ``--help`` and reduced runs."""

from __future__ import annotations

import importlib
import json
import math

import pytest
import torch

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

COMMON = ["--seed", "--device", "--threads", "--out", "--quiet"]
OPTIONS = {
    "born_digits": ["--bond", "--epochs", "--lr", "--clip", "--n-samples", "--n-inpaint"],
    "dmrg_digits": ["--part", "--max-bond", "--cutoff", "--sweeps", "--born-sweeps"],
}


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_help(name, capsys):
    module = importlib.import_module(f"torchtn.examples.{name}")
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert f"python -m torchtn.examples.{name}" in text
    for option in OPTIONS[name] + COMMON:
        assert option in text, option


def test_born_digits_reduced_run(tmp_path, capsys):
    from torchtn.examples import born_digits

    args = ["--epochs", "4", "--lr", "2e-2", "--bond", "6", "--n-train", "300"]
    res = born_digits.main([*args, "--n-samples", "12", "--n-inpaint", "2", "--out", str(tmp_path)])
    assert res["test_nll"] < res["uniform_nll"] == pytest.approx(64 * math.log(2))
    assert res["test_nll"] < res["bernoulli_test_nll"] + 3  # 24.0 vs 24.7 when written
    assert res["train_entropy"] <= math.log(300) + 1e-9
    for name in ("samples.png", "inpainting.png", "results.json", "state_dict.pt"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "results.json").read_text())["args"]["bond"] == 6
    assert "independent Bernoulli" in capsys.readouterr().out


def test_inpainting_keeps_the_given_half(tmp_path):
    from torchtn.examples.born_digits import inpaint_figure, near_uniform_mps
    from torchtn.models import BornMachine

    gen = torch.Generator().manual_seed(0)
    born = BornMachine(near_uniform_mps(64, 2, 3, 0.3, gen))
    images = torch.randint(0, 2, (3, 64))
    fills = inpaint_figure(born, images, 2, gen, str(tmp_path / "x.png"))
    assert fills.shape == (3, 2, 64)
    assert torch.equal(fills[..., :32], images[:, None, :32].expand(3, 2, 32))


def test_dmrg_digits_reduced_run(tmp_path, capsys):
    from torchtn.examples import dmrg_digits

    args = ["--sweeps", "1", "--born-sweeps", "1", "--max-bond", "4", "--born-max-bond", "4"]
    res = dmrg_digits.main([*args, "--n-train", "200", "--out", str(tmp_path), "--quiet"])
    cls, born = res["classifier"], res["born"]
    assert cls["test_acc"] > 0.3  # 0.61 when written; chance is 0.1
    assert max(cls["history"][0]["bond_dim"]) <= 4
    assert born["test_nll"] < born["uniform_nll"]
    for name in ("bond_profiles.png", "samples.png", "results.json", "state_dict.pt"):
        assert (tmp_path / name).stat().st_size > 0
    state = torch.load(tmp_path / "state_dict.pt")
    assert any(k.startswith("classifier.") for k in state)
    assert any(k.startswith("born.") for k in state)
    assert "sweep 1" in capsys.readouterr().out
