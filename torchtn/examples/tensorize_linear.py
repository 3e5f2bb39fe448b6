"""Tensorize a trained dense layer into an MPO, then retrain it.

Run it with::

    python -m torchtn.examples.tensorize_linear --help

1. Train an MLP ``Linear(64, 256) -> ReLU -> Linear(256, 10)`` on scikit-learn's bundled
   8x8 digits.
2. Reshape the first layer's weight into an operator with input dims ``--in-dims``
   (product 64) and output dims ``--out-dims`` (product 256), interleave the axes and
   split it into MPO cores with :func:`torchtn.decompositions.mat_to_mpo`
   (``--rank`` / ``--cum-percentage``).
3. Build :class:`MPOLinear`, a :class:`torchtn.models.MPO` subclass that contracts the
   cores with each input written as an exact :class:`torchtn.models.MPSData`
   (:func:`torchtn.decompositions.vec_to_mps`), as in TensorKrowch's "tensorizing neural
   networks" tutorial. Report parameters, the relative reconstruction error of the weight
   (with the TT-SVD bound computed from the singular values of the weight's unfoldings)
   and the test accuracy with the MPO layer in place.
4. Retrain the tensorized MLP for ``--retrain-epochs`` and report again.

A trained dense layer is not low-rank, so truncation costs accuracy; a few epochs of
retraining recover it at a fraction of the parameters. ``results.json`` and the
tensorized model's ``state_dict`` are saved in the output folder it prints.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

import torchtn as tk
from torchtn.examples import _common

__all__ = ["MPOLinear", "interleave", "mpo_to_matrix", "tt_svd_bound", "main"]


def interleave(weight: torch.Tensor, in_dims: Sequence[int], out_dims: Sequence[int]):
    """An ``nn.Linear`` weight ``(out, in)`` as the tensor ``(in_1, out_1, in_2, out_2, ...)``."""
    n = len(in_dims)
    op = weight.t().reshape(*in_dims, *out_dims)
    return op.permute(*[k for i in range(n) for k in (i, n + i)])


def mpo_to_matrix(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Dense ``(in, out)`` matrix of OBC MPO cores.

    The cores are ``(in_1, D, out_1), (D, in_2, D', out_2), ..., (D, in_N, out_N)``; rows
    and columns are the row-major combinations of the inputs and outputs.
    """
    if len(cores) == 1:
        return cores[0]
    result = cores[0]  # (in so far, bond, out so far)
    for core in cores[1:-1]:
        x, _, y = result.shape
        result = torch.einsum("xay,aibo->xibyo", result, core)
        result = result.reshape(x * core.shape[1], core.shape[2], y * core.shape[3])
    x, _, y = result.shape
    last = cores[-1]
    return torch.einsum("xay,aio->xiyo", result, last).reshape(x * last.shape[1], -1)


def tt_svd_bound(op: torch.Tensor, ranks: Sequence[int]) -> float:
    """Relative error bound ``sqrt(sum_k eps_k**2) / ||op||`` of a TT-SVD with ``ranks``.

    ``eps_k`` is the best rank-``ranks[k]`` approximation error of the ``k``-th unfolding
    of the interleaved operator ``op`` (rows: the first ``k + 1`` (in, out) pairs).
    """
    total = 0.0
    for k, r in enumerate(ranks):
        rows = math.prod(op.shape[: 2 * (k + 1)])
        s = torch.linalg.svdvals(op.reshape(rows, -1).double())
        total += float((s[r:] ** 2).sum())
    return math.sqrt(total) / float(op.double().norm())


class MPOLinear(tk.models.MPO):
    """A linear layer whose weight is an MPO built with :func:`~torchtn.decompositions.mat_to_mpo`.

    Args:
        linear: The trained ``nn.Linear`` to tensorize.
        in_dims: Factorization of ``in_features`` (one entry per site).
        out_dims: Factorization of ``out_features`` (same number of sites).
        rank: Largest MPO bond (``None``: no limit).
        cum_percentage: Fraction of the singular-value sum kept at each cut.

    Shape:
        Input ``(batch, in_features)``; output ``(batch, out_features)``.
    """

    def __init__(
        self,
        linear: nn.Linear,
        in_dims: Sequence[int],
        out_dims: Sequence[int],
        rank: int | None = None,
        cum_percentage: float | None = None,
    ) -> None:
        op = interleave(linear.weight.detach(), in_dims, out_dims)
        cores = tk.decompositions.mat_to_mpo(op, rank=rank, cum_percentage=cum_percentage)
        super().__init__(tensors=cores)
        self.in_dims, self.out_dims = list(in_dims), list(out_dims)
        self.bias = nn.Parameter(linear.bias.detach().clone())

    def set_data_nodes(self) -> None:
        """The input enters as an MPS of data nodes, connected in :meth:`contract`."""
        self.mps_data = tk.models.MPSData(
            n_features=len(self.in_dims), phys_dim=self.in_dims, bond_dim=1, boundary="obc"
        )

    def add_data(self, data: torch.Tensor) -> None:
        """Write every input vector as an exact (untruncated) MPS."""
        cores = tk.decompositions.vec_to_mps(data.reshape(-1, *self.in_dims), n_batches=1)
        self.mps_data.add_data(cores)

    def contract(self) -> Any:
        """Contract the MPO with the input MPS (the traced path replays for new bonds)."""
        return super().contract(inline_input=True, inline_mats=True, mps=self.mps_data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """``x @ W + b`` with ``W`` the MPO."""
        return super().forward(x).reshape(x.shape[0], -1) + self.bias


def _dims(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.tensorize_linear",
        description="Train an MLP on the 8x8 digits, tensorize its 64x256 first layer into an "
        "MPO with tk.decompositions.mat_to_mpo, and retrain the tensorized model. Reports "
        "parameters, reconstruction error and accuracy before and after.",
    )
    parser.add_argument("--hidden", type=int, default=256, help="hidden units (default 256)")
    parser.add_argument(
        "--in-dims", type=_dims, default=[4, 4, 4], help="factors of 64, comma-separated (4,4,4)"
    )
    parser.add_argument(
        "--out-dims",
        type=_dims,
        default=[4, 8, 8],
        help="factors of --hidden, comma-separated, one per site (4,8,8)",
    )
    parser.add_argument("--rank", type=int, default=8, help="largest MPO bond (default 8)")
    parser.add_argument(
        "--cum-percentage",
        type=float,
        default=None,
        help="fraction of the singular-value sum kept at each cut (default: only --rank)",
    )
    parser.add_argument("--epochs", type=int, default=10, help="dense training epochs (10)")
    parser.add_argument(
        "--retrain-epochs", type=int, default=6, help="retraining epochs of the MPO model (6)"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (3e-3)")
    parser.add_argument(
        "--n-train", type=int, default=None, help="use only this many training digits (all)"
    )
    _common.add_common_args(parser, "tensorize_linear")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the example; returns the metrics (also printed and saved)."""
    args = _parser().parse_args(argv)
    if len(args.in_dims) != len(args.out_dims):
        raise SystemExit("--in-dims and --out-dims need the same number of factors")
    if math.prod(args.in_dims) != 64 or math.prod(args.out_dims) != args.hidden:
        raise SystemExit("--in-dims should multiply to 64 and --out-dims to --hidden")
    device, gen = _common.setup(args)
    data = _common.digits(args.seed, device, args.n_train)

    def ident(x: torch.Tensor) -> torch.Tensor:
        return x

    mlp = nn.Sequential(nn.Linear(64, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 10))
    mlp.to(device)
    print(f"dense MLP 64-{args.hidden}-10: {_common.n_params(mlp)} parameters")
    start = time.perf_counter()
    hist = _common.fit(mlp, data, ident, args.epochs, args.batch_size, args.lr, gen, args.quiet)
    dense_acc = hist["test"][-1] if hist["test"] else _common.accuracy(mlp, *data[2:], ident)

    layer = MPOLinear(mlp[0], args.in_dims, args.out_dims, args.rank, args.cum_percentage)
    layer.to(device)
    weight = mlp[0].weight.detach().t()
    with torch.no_grad():
        approx = mpo_to_matrix(layer.tensors)
    rel_err = float((approx - weight).norm() / weight.norm())
    bound = tt_svd_bound(
        interleave(mlp[0].weight.detach(), args.in_dims, args.out_dims), layer.bond_dim
    )
    model = nn.Sequential(layer, nn.ReLU(), mlp[2])
    tens_acc = _common.accuracy(model, *data[2:], ident)
    mpo_params = sum(c.numel() for c in layer.tensors) + layer.bias.numel()
    dense_params = mlp[0].weight.numel() + mlp[0].bias.numel()
    print(
        f"tensorized layer 0: MPO bonds {layer.bond_dim}, {dense_params} -> {mpo_params} "
        f"parameters ({dense_params / mpo_params:.1f}x fewer); weight relative error "
        f"{rel_err:.4f} (TT-SVD bound {bound:.4f}); test acc {dense_acc:.4f} -> {tens_acc:.4f}"
    )
    hist2 = _common.fit(
        model,
        data,
        ident,
        args.retrain_epochs,
        args.batch_size,
        args.lr,
        gen,
        args.quiet,
        label="retrain",
    )
    retrained = hist2["test"][-1] if hist2["test"] else tens_acc
    total = time.perf_counter() - start
    print(f"after retraining: test acc {retrained:.4f} (total {total:.1f} s)")
    results = {
        "dense_test_acc": dense_acc,
        "tensorized_test_acc": tens_acc,
        "retrained_test_acc": retrained,
        "dense_layer_params": dense_params,
        "mpo_layer_params": mpo_params,
        "bond_dim": layer.bond_dim,
        "weight_rel_error": rel_err,
        "tt_svd_bound": bound,
        "time_s": total,
        "history": {"dense": hist, "retrain": hist2},
        "args": vars(args),
    }
    layer.reset()
    results["out"] = _common.save_outputs(args.out, results, model.state_dict())
    return results


if __name__ == "__main__":
    main()
