"""Smoke tests of the example scripts: ``--help`` and tiny runs with sane metrics."""

from __future__ import annotations

import importlib
import json
import re
import time

import pytest
import torch
from _tol import assert_close_elem, assert_close_rel, eps

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

EXAMPLES = {
    "digits_mps": ["--bond", "--epochs", "--rank", "--cum-percentage", "--retrain-epochs"],
    "peps_digits": ["--patch", "--bond", "--boundary", "--epochs", "--lr", "--std"],
    "tree_digits": ["--bond", "--epochs", "--lr", "--std", "--cum-percentage"],
    "tensorize_linear": ["--in-dims", "--out-dims", "--rank", "--cum-percentage"],
    "tt_rss_lowrank": ["--n-vars", "--dim", "--true-rank", "--embedding", "--samples"],
}
COMMON = ["--seed", "--device", "--threads", "--out", "--quiet"]


def _module(name: str):
    return importlib.import_module(f"torchtn.examples.{name}")


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_help_lists_options(name, capsys):
    with pytest.raises(SystemExit) as exc:
        _module(name).main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert f"python -m torchtn.examples.{name}" in text
    for option in EXAMPLES[name] + COMMON:
        assert option in text, option


def _run(name: str, args: list[str], tmp_path) -> dict:
    start = time.perf_counter()
    results = _module(name).main([*args, "--out", str(tmp_path), "--quiet"])
    assert time.perf_counter() - start < 30
    saved = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "state_dict.pt").exists()
    assert saved["args"]["seed"] == 0
    return results


def test_digits_mps_demo_code_path(tmp_path, capsys):
    # The `make demo` code path at a reduced size: the accuracy is not the point here.
    start = time.perf_counter()
    args = ["--n-train", "100", "--epochs", "1", "--retrain-epochs", "1", "--bond", "4"]
    res = _module("digits_mps").main([*args, "--rank", "2", "--out", str(tmp_path), "--quiet"])
    assert time.perf_counter() - start < 30
    last = capsys.readouterr().out.strip().splitlines()[-1]
    match = re.fullmatch(r"final: test accuracy (\d\.\d{4}), parameters (\d+) \(was (\d+)\)", last)
    assert match, last
    # The printed figure is the accuracy rounded to 4 decimals (half a unit of the last one).
    assert float(match[1]) == pytest.approx(res["final_test_acc"], abs=5e-5)
    assert (int(match[2]), int(match[3])) == (res["params_after"], res["params_before"])
    assert res["params_after"] < res["params_before"] and max(res["bond_dim"]) == 2
    assert len(res["history"]["test"]) == 2  # one training and one retraining epoch
    assert {p.name for p in tmp_path.iterdir()} == {
        "learning_curve.png",
        "mps_state_dict.pt",
        "results.json",
    }
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["params_after"] == res["params_after"] and saved["args"]["seed"] == 0
    state = torch.load(tmp_path / "mps_state_dict.pt")
    assert sum(t.numel() for t in state.values()) == res["params_after"]  # the pruned model


def test_peps_digits_tiny_run(tmp_path, capsys):
    res = _run("peps_digits", ["--epochs", "3", "--n-train", "300", "--bond", "2"], tmp_path)
    assert res["test_acc"] > 0.6  # 0.90 when written; chance is 0.1
    out = capsys.readouterr().out
    assert "epoch  3" in out and "final test accuracy" in out
    state = torch.load(tmp_path / "state_dict.pt")
    assert len(state) == 10 * 16


def test_peps_features_layout():
    from torchtn.examples.peps_digits import patch_features

    x = torch.arange(64.0).reshape(1, 64)
    f = patch_features(x, 2)
    assert f.shape == (1, 16, 5)
    assert f[0, 0].tolist() == [1.0, 0.0, 1.0, 8.0, 9.0]  # top-left 2x2 block
    assert f[0, 1].tolist() == [1.0, 2.0, 3.0, 10.0, 11.0]  # its right neighbour


def test_tree_digits_tiny_run(tmp_path, capsys):
    res = _run(
        "tree_digits",
        ["--epochs", "3", "--n-train", "300", "--cum-percentage", "0.95"],
        tmp_path,
    )
    assert res["test_acc"] > 0.4  # 0.69 when written; chance is 0.1
    assert res["pruned_params"] <= res["params"]
    assert "canonicalize(cum_percentage=0.95)" in capsys.readouterr().out


def test_morton_order_groups_blocks():
    from torchtn.examples.tree_digits import morton_order, tree_shapes

    order = morton_order(8)
    assert sorted(order.tolist()) == list(range(64))
    assert order[:4].tolist() == [0, 1, 8, 9]
    assert order[:16].tolist() == [0, 1, 8, 9, 2, 3, 10, 11, 16, 17, 24, 25, 18, 19, 26, 27]
    sites, shapes = tree_shapes(64, 4, 3, 5, 10)
    assert sites == [16, 4, 1]
    assert shapes == [[3, 3, 3, 3, 5], [5, 5, 5, 5, 5], [5, 5, 5, 5, 10]]


@pytest.mark.parametrize("rank", [3, 64])
def test_tensorize_linear_tiny_run(tmp_path, rank):
    res = _run(
        "tensorize_linear",
        ["--epochs", "2", "--retrain-epochs", "1", "--n-train", "300", "--rank", str(rank)],
        tmp_path,
    )
    assert max(res["bond_dim"]) <= rank
    # TT-SVD: the error is at most the bound computed from the unfoldings' spectra, up to
    # the float32 rounding of the SVDs and the product of the cores (9 eps measured).
    f32 = 300 * eps(torch.float32)
    assert res["weight_rel_error"] <= res["tt_svd_bound"] + f32
    if rank == 64:  # no truncation: the MPO is the weight and the accuracy is unchanged
        assert res["weight_rel_error"] < f32
        # Accuracies are counts over the test set: 1e-6 is below one sample, i.e. the same count.
        assert res["tensorized_test_acc"] == pytest.approx(res["dense_test_acc"], abs=1e-6)
    assert res["mpo_layer_params"] < res["dense_layer_params"] or rank == 64
    assert 0.0 <= res["retrained_test_acc"] <= 1.0


def test_mpo_linear_matches_dense_layer():
    from torchtn.examples.tensorize_linear import MPOLinear, mpo_to_matrix

    lin = torch.nn.Linear(8, 12)
    layer = MPOLinear(lin, [2, 4], [3, 4])
    x = torch.randn(5, 8)
    # float32 SVDs and products of the cores: ~5 eps measured.
    assert_close_rel(mpo_to_matrix(layer.tensors).detach(), lin.weight.t().detach(), factor=100)
    with torch.no_grad():
        assert_close_elem(layer(x), lin(x), factor=100)
        x2 = torch.randn(3, 8)  # replay with another batch size
        assert_close_elem(layer(x2), lin(x2), factor=100)


@pytest.mark.parametrize("embedding", ["basis", "poly"])
def test_tt_rss_lowrank_tiny_run(tmp_path, embedding):
    res = _run(
        "tt_rss_lowrank",
        ["--n-vars", "6", "--samples", "30", "--embedding", embedding],
        tmp_path,
    )
    # float64 least squares through the embedding; the polynomial one is a Vandermonde
    # matrix whose conditioning amplifies rounding (90 eps measured, 4 for basis).
    assert res["rel_error_heldout"] < 1e4 * eps(torch.float64)
    assert res["bond_dim"] == [2] * 5
