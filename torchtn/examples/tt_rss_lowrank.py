"""Recover a known low-rank function from samples with TT-RSS.

Run it with::

    python -m torchtn.examples.tt_rss_lowrank --help

The target is a scalar function of ``--n-vars`` variables that is exactly an MPS of bond
``--true-rank`` in an embedding of each variable:

``f(x) = l^T G_1(x_1) G_2(x_2) ... G_N(x_N) r``, with ``G_k(x) = sum_p C_k[:, p, :] e_p(x)``

for random cores ``C_k``. With ``--embedding basis`` the variables take the values
``0 .. d-1`` and ``e(x)`` is one-hot (:func:`torchtn.embeddings.basis`); with
``--embedding poly`` they are uniform in ``[0, 1]`` and ``e(x) = [1, x, ..., x^(d-1)]``
(:func:`torchtn.embeddings.poly`), so ``f`` is a sum of ``r^(N-1)``-term products of
polynomials. :func:`torchtn.decompositions.tt_rss` only sees ``f`` through evaluations on
grids built from ``--samples`` sketch samples. The script prints the recovered bond
dimensions, the number of evaluations of ``f``, and the relative error of the recovered
:class:`torchtn.models.MPS` on ``--n-test`` fresh points; it saves ``results.json`` and
the MPS ``state_dict`` in the output folder it prints.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import torch

import torchtn as tk
from torchtn.examples import _common

__all__ = ["LowRankFunction", "main"]


class LowRankFunction:
    """A scalar function that is an MPS of bond ``rank`` in the embedding of its variables.

    Args:
        n_vars: Number of variables ``N``.
        dim: Embedding dimension ``d`` (number of values for ``'basis'``, polynomial degree
            plus one for ``'poly'``).
        rank: Bond dimension of the hidden MPS.
        embedding: ``'basis'`` (variables in ``0 .. d-1``) or ``'poly'`` (in ``[0, 1]``).
        dtype: Floating dtype of the cores and the values.

    Calling it on ``x`` of shape ``(B, N)`` returns ``(B, 1)`` and counts the evaluations
    in :attr:`n_evals`.
    """

    def __init__(
        self,
        n_vars: int,
        dim: int,
        rank: int,
        embedding: str = "basis",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        if embedding not in ("basis", "poly"):
            raise ValueError(f"`embedding` should be 'basis' or 'poly', got {embedding!r}")
        self.n_vars, self.dim, self.rank, self.kind = n_vars, dim, rank, embedding
        self.dtype = dtype
        self.cores = torch.randn(n_vars, rank, dim, rank, dtype=dtype) / rank**0.5
        self.left = torch.randn(rank, dtype=dtype)
        self.right = torch.randn(rank, dtype=dtype)
        self.n_evals = 0
        # Scale f to a root-mean-square of 1: tt_rss's trimming divides by
        # (sum of singular values + 1e-10), so a tiny f would keep every singular value.
        self.left /= self(self.sample(1000)).pow(2).mean().sqrt()
        self.n_evals = 0

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding ``(B, n) -> (B, n, d)`` used both by ``f`` and by TT-RSS."""
        if self.kind == "basis":
            return tk.embeddings.basis(x.long(), dim=self.dim).to(self.dtype)
        return tk.embeddings.poly(x.to(self.dtype), degree=self.dim - 1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random points ``(n, N)`` of the domain."""
        shape = (n, self.n_vars)
        if self.kind == "basis":
            return torch.randint(0, self.dim, shape, generator=generator).to(self.dtype)
        return torch.rand(shape, generator=generator, dtype=self.dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Values ``(B, 1)`` at the rows of ``x`` ``(B, N)``."""
        self.n_evals += x.shape[0]
        emb = self.embed(x)
        cores = self.cores.to(x.device)
        state = self.left.to(x.device).expand(x.shape[0], 1, self.rank)
        for k in range(self.n_vars):
            mats = torch.einsum("bp,lpr->blr", emb[:, k], cores[k])
            state = torch.bmm(state, mats)
        return state[:, 0] @ self.right.to(x.device).unsqueeze(1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.tt_rss_lowrank",
        description="Recover a known low-rank function (an MPS of small bond in the "
        "embedding of each variable) from samples with tk.decompositions.tt_rss, and "
        "report the recovered bond dimensions and the relative error on held-out points.",
    )
    parser.add_argument("--n-vars", type=int, default=16, help="number of variables (16)")
    parser.add_argument(
        "--dim", type=int, default=3, help="values per variable / embedding dimension (3)"
    )
    parser.add_argument(
        "--true-rank", type=int, default=2, help="bond dimension of the target function (2)"
    )
    parser.add_argument(
        "--embedding",
        default="basis",
        choices=("basis", "poly"),
        help="basis: discrete variables, one-hot; poly: variables in [0,1], [1, x, x^2...]",
    )
    parser.add_argument(
        "--samples", type=int, default=100, help="number of sketch samples (default 100)"
    )
    parser.add_argument(
        "--cum-percentage",
        type=float,
        default=1 - 1e-10,
        help="fraction of the singular-value sum kept at each site (1 - 1e-10)",
    )
    parser.add_argument(
        "--rank", type=int, default=None, help="cap on the recovered bonds (default: none)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=8192, help="points per evaluation of f (8192)"
    )
    parser.add_argument(
        "--n-test", type=int, default=1000, help="held-out points for the error (1000)"
    )
    parser.add_argument("--verbose", action="store_true", help="let tt_rss print every core")
    _common.add_common_args(parser, "tt_rss_lowrank")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the example; returns the metrics (also printed and saved)."""
    args = _parser().parse_args(argv)
    device, gen = _common.setup(args)
    f = LowRankFunction(args.n_vars, args.dim, args.true_rank, args.embedding)
    samples = f.sample(args.samples, gen).to(device)
    print(
        f"target: MPS of bond {args.true_rank} over {args.n_vars} variables, {args.embedding} "
        f"embedding of dim {args.dim}; {args.samples} sketch samples, device {device}"
    )
    start = time.perf_counter()
    cores, info = tk.decompositions.tt_rss(
        f,
        f.embed,
        samples,
        rank=args.rank,
        cum_percentage=args.cum_percentage,
        batch_size=args.batch_size,
        device=device,
        verbose=args.verbose,
        return_info=True,
    )
    elapsed = time.perf_counter() - start
    n_evals = f.n_evals
    bonds = [int(c.shape[-1]) for c in cores[:-1]]
    mps = tk.models.MPS(tensors=cores)
    test = f.sample(args.n_test, gen)
    with torch.no_grad():
        approx = mps(f.embed(test), inline_input=True, inline_mats=True)
        exact = f(test)[:, 0]
    rel_err = float(torch.linalg.vector_norm(approx - exact) / torch.linalg.vector_norm(exact))
    if args.embedding == "basis":
        grid = f"the full grid has {float(args.dim) ** args.n_vars:.3g}"
    else:
        grid = "the domain is continuous"
    print(f"recovered bond dims {bonds} (max {max(bonds, default=0)}) in {elapsed:.2f} s")
    print(
        f"f evaluated at {n_evals} points ({grid}); relative error "
        f"on the sketch samples {float(info['val_eps']):.2e}, on {args.n_test} held-out "
        f"points {rel_err:.2e}"
    )
    results = {
        "rel_error_heldout": rel_err,
        "rel_error_sketch": float(info["val_eps"]),
        "bond_dim": bonds,
        "n_evals": n_evals,
        "time_s": elapsed,
        "args": vars(args),
    }
    mps.reset()
    results["out"] = _common.save_outputs(args.out, results, mps.state_dict())
    return results


if __name__ == "__main__":
    main()
