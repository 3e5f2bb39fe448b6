"""Train a tree tensor network classifier on scikit-learn's bundled 8x8 digits.

Run it with::

    python -m torchtn.examples.tree_digits --help

The 64 pixels are reordered along a Z-order (Morton) curve, so that every 2 consecutive
pixels are horizontal neighbours and every 4 form a 2x2 block, recursively. A
:class:`torchtn.models.Tree` quadtree then merges them bottom-up: 16 nodes on the 2x2
pixel blocks, 4 nodes on the 4x4 blocks, and the root. (A binary tree over the same
order, ``tree_shapes(64, 2, ...)``, is 6 layers deep and much harder to train with
these settings.) Every pixel is embedded as ``[1, x, 1 - x]``; the root's open
``output`` axis (dimension 10) gives the logits. The nodes start as ``e_0`` plus noise
(:meth:`Tree.initialize`), so the tree starts close to a constant map.

The script prints per-epoch loss and accuracies, optionally prunes the bonds with
:meth:`Tree.canonicalize` (``--cum-percentage``), and saves ``results.json`` and the
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
from torchtn.examples._common import embed

__all__ = ["morton_order", "tree_shapes", "main"]


def morton_order(side: int = 8) -> torch.Tensor:
    """Row-major pixel indices of a ``side x side`` image listed along the Z-order curve.

    ``side`` must be a power of 2. Position ``k`` of the curve has column bits at the even
    bits of ``k`` and row bits at the odd ones.
    """
    if side < 1 or side & (side - 1):
        raise ValueError(f"`side` should be a power of 2, got {side}")
    order = []
    for k in range(side * side):
        row = col = 0
        for b in range(side.bit_length() - 1):
            col |= ((k >> (2 * b)) & 1) << b
            row |= ((k >> (2 * b + 1)) & 1) << b
        order.append(row * side + col)
    return torch.tensor(order)


def tree_shapes(
    n_inputs: int, arity: int, in_dim: int, bond: int, out_dim: int
) -> tuple[list[int], list[list[int]]]:
    """``(sites_per_layer, bond_dim)`` of a complete ``arity``-ary tree over ``n_inputs``.

    Layer 0 nodes take ``arity`` inputs of dimension ``in_dim``; inner bonds are ``bond``
    and the root outputs ``out_dim``.
    """
    sites, n = [], n_inputs
    while n > 1:
        if n % arity:
            raise ValueError(f"{n_inputs} inputs cannot form a complete {arity}-ary tree")
        n //= arity
        sites.append(n)
    shapes = []
    for layer in range(len(sites)):
        child = in_dim if layer == 0 else bond
        out = out_dim if layer == len(sites) - 1 else bond
        shapes.append([child] * arity + [out])
    return sites, shapes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.tree_digits",
        description="Train a torchtn.models.Tree classifier on the 8x8 digits bundled with "
        "scikit-learn (pixels in Z-order, embedded as [1, x, 1-x]). Prints per-epoch "
        "loss/accuracy and the final test accuracy; saves results.json and state_dict.pt.",
    )
    parser.add_argument("--bond", type=int, default=6, help="inner bond dimension (default 6)")
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (default 12)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument(
        "--lr", type=float, default=3e-3, help="Adam learning rate, cosine-decayed (3e-3)"
    )
    parser.add_argument(
        "--std", type=float, default=0.1, help="noise of Tree.initialize (default 0.1)"
    )
    parser.add_argument(
        "--cum-percentage",
        type=float,
        default=None,
        help="if given, prune with Tree.canonicalize(cum_percentage=...) after training "
        "and report the accuracy (default: no pruning)",
    )
    parser.add_argument(
        "--n-train", type=int, default=None, help="use only this many training digits (all)"
    )
    _common.add_common_args(parser, "tree_digits")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the example; returns the final metrics (also printed and saved)."""
    args = _parser().parse_args(argv)
    device, gen = _common.setup(args)
    data = _common.digits(args.seed, device, args.n_train)
    order = morton_order(8).to(device)

    def features(x: torch.Tensor) -> torch.Tensor:
        return embed(x[:, order])

    sites, shapes = tree_shapes(64, 4, 3, args.bond, 10)
    tree = tk.models.Tree(sites, shapes)
    tree.initialize(std=args.std)
    tree.to(device)
    print(
        f"Tree: sites per layer {sites}, node shapes {shapes}, "
        f"{_common.n_params(tree)} parameters, {len(data[1])} train / {len(data[3])} test "
        f"digits, device {device}"
    )
    start = time.perf_counter()
    history = _common.fit(
        tree, data, features, args.epochs, args.batch_size, args.lr, gen, args.quiet
    )
    train_time = time.perf_counter() - start
    test_acc = (
        history["test"][-1] if history["test"] else _common.accuracy(tree, *data[2:], features)
    )
    print(f"final test accuracy {test_acc:.4f} (training took {train_time:.1f} s)")
    results: dict[str, Any] = {
        "test_acc": test_acc,
        "train_time_s": train_time,
        "params": _common.n_params(tree),
        "history": history,
        "args": vars(args),
    }
    if args.cum_percentage is not None:
        tree.canonicalize(cum_percentage=args.cum_percentage)
        pruned = _common.accuracy(tree, *data[2:], features)
        results.update(pruned_test_acc=pruned, pruned_params=_common.n_params(tree))
        print(
            f"canonicalize(cum_percentage={args.cum_percentage}): {results['params']} -> "
            f"{results['pruned_params']} parameters, test acc {test_acc:.4f} -> {pruned:.4f}"
        )
    tree.reset()
    results["out"] = _common.save_outputs(args.out, results, tree.state_dict())
    return results


if __name__ == "__main__":
    main()
