"""Train a PEPS classifier on scikit-learn's bundled 8x8 digits.

Run it with::

    python -m torchtn.examples.peps_digits --help

Each digit is cut into ``patch x patch`` pixel blocks, giving a ``(8 / patch)``-square grid
of sites; the feature of a site is ``[1, pixels of its block]`` (dimension
``1 + patch**2``). The classifier holds one :class:`torchtn.models.PEPS` per class; the
score of class ``c`` is the contraction of PEPS ``c`` with the site features, and the ten
scores are the logits of a cross-entropy loss. The PEPS cores start close to the
"all-zero-index" tensor (entry ``[0, ..., 0] = 1`` plus Gaussian noise of ``--std``), so
every score starts near 1 and gradients reach every site.

The script prints per-epoch loss and accuracies and saves ``results.json`` and the
``state_dict`` in the output folder it prints.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import torch

import torchtn as tk
from torchtn.examples import _common

__all__ = ["PEPSClassifier", "patch_features", "main"]


def patch_features(x: torch.Tensor, patch: int, side: int = 8) -> torch.Tensor:
    """Turn flat ``side x side`` images into per-site features ``[1, block pixels]``.

    Args:
        x: Images ``(batch, side * side)``, row-major, pixels in ``[0, 1]``.
        patch: Block size (must divide ``side``).
        side: Image side.

    Returns:
        Tensor ``(batch, (side // patch) ** 2, 1 + patch ** 2)``, sites in row-major order
        (the data layout of :class:`torchtn.models.PEPS`).
    """
    if side % patch:
        raise ValueError(f"`patch` should divide the image side {side}, got {patch}")
    g = side // patch
    blocks = x.reshape(-1, g, patch, g, patch).permute(0, 1, 3, 2, 4)
    blocks = blocks.reshape(-1, g * g, patch * patch)
    return torch.cat([torch.ones_like(blocks[..., :1]), blocks], dim=-1)


class PEPSClassifier(torch.nn.Module):
    """One :class:`~torchtn.models.PEPS` per class; the logits are their contractions.

    Args:
        grid: Number of rows and columns of every PEPS.
        in_dim: Feature dimension of every site.
        bond_dim: Horizontal and vertical bond dimension.
        n_classes: Number of classes (one PEPS each).
        std: Noise added to the near-identity initial cores.
        boundary: ``'obc'`` or ``'pbc'``, used in both directions.

    Shape:
        Input ``(batch, grid * grid, in_dim)``; output ``(batch, n_classes)``.
    """

    def __init__(
        self,
        grid: int,
        in_dim: int,
        bond_dim: int,
        n_classes: int = 10,
        std: float = 1e-2,
        boundary: str = "obc",
    ) -> None:
        super().__init__()
        self.peps = torch.nn.ModuleList(
            tk.models.PEPS(grid, grid, in_dim, [bond_dim, bond_dim], boundary=[boundary] * 2)
            for _ in range(n_classes)
        )
        self.reset_parameters(std)

    @torch.no_grad()
    def reset_parameters(self, std: float = 1e-2) -> None:
        """Every core ``randn * std`` with ``1`` added at index ``[0, ..., 0]``."""
        for peps in self.peps:
            for node in peps.leaf_nodes.values():
                t = torch.randn(node.shape, device=node.tensor.device) * std
                t[(0,) * t.dim()] += 1.0
                node.tensor = t

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Scores ``(batch, n_classes)`` for site features ``(batch, sites, in_dim)``."""
        return torch.stack([peps(features) for peps in self.peps], dim=-1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.peps_digits",
        description="Train a PEPS classifier (one torchtn.models.PEPS per class) on the 8x8 "
        "digits bundled with scikit-learn. Prints per-epoch loss/accuracy and the final "
        "test accuracy; saves results.json and state_dict.pt.",
    )
    parser.add_argument(
        "--patch",
        type=int,
        default=2,
        choices=(1, 2, 4),
        help="pixel block per site: 2 gives a 4x4 grid with 5-dim features [1, 4 pixels] "
        "(default 2); 1 gives an 8x8 grid (slow), 4 a 2x2 grid",
    )
    parser.add_argument("--bond", type=int, default=3, help="PEPS bond dimension (default 3)")
    parser.add_argument(
        "--boundary", default="obc", choices=("obc", "pbc"), help="grid boundary (obc)"
    )
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument(
        "--lr", type=float, default=1e-2, help="Adam learning rate, cosine-decayed (1e-2)"
    )
    parser.add_argument(
        "--std", type=float, default=1e-2, help="noise of the near-identity init (1e-2)"
    )
    parser.add_argument(
        "--n-train", type=int, default=None, help="use only this many training digits (all)"
    )
    _common.add_common_args(parser, "peps_digits")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the example; returns the final metrics (also printed and saved)."""
    args = _parser().parse_args(argv)
    device, gen = _common.setup(args)
    data = _common.digits(args.seed, device, args.n_train)
    grid, in_dim = 8 // args.patch, 1 + args.patch**2

    def features(x: torch.Tensor) -> torch.Tensor:
        return patch_features(x, args.patch)

    model = PEPSClassifier(grid, in_dim, args.bond, std=args.std, boundary=args.boundary)
    model.to(device)
    print(
        f"PEPSClassifier: 10 PEPS of {grid}x{grid} sites, in_dim {in_dim}, bond {args.bond} "
        f"({args.boundary}), {_common.n_params(model)} parameters, {len(data[1])} train / "
        f"{len(data[3])} test digits, device {device}"
    )
    start = time.perf_counter()
    history = _common.fit(
        model, data, features, args.epochs, args.batch_size, args.lr, gen, args.quiet
    )
    train_time = time.perf_counter() - start
    test_acc = (
        history["test"][-1]
        if history["test"]
        else _common.accuracy(model, data[2], data[3], features)
    )
    print(f"final test accuracy {test_acc:.4f} (training took {train_time:.1f} s)")
    results = {
        "test_acc": test_acc,
        "train_time_s": train_time,
        "params": _common.n_params(model),
        "history": history,
        "args": vars(args),
    }
    for peps in model.peps:
        peps.reset()
    results["out"] = _common.save_outputs(args.out, results, model.state_dict())
    return results


if __name__ == "__main__":
    main()
