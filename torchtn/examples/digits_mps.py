"""Train an MPS classifier on scikit-learn's bundled 8x8 digits, prune it, retrain.

This is what ``make demo`` runs::

    python -m torchtn.examples.digits_mps --help

It trains a :class:`torchtn.models.MPSLayer` (64 input sites plus one output site) on
the training digits and their one-pixel shifts, printing per-epoch loss and accuracies,
prunes the bond dimensions with ``canonicalize(rank=..., cum_percentage=...)``, retrains
a few epochs, and saves a learning-curve PNG, the pruned model's ``state_dict`` and the
metrics (``results.json``) in the output folder it prints. The last line printed is::

    final: test accuracy 0.9889, parameters 12944 (was 29112)

:func:`run` does the work for parsed options; :func:`main` parses a command line first.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from typing import Any

import torch

import torchtn as tk
from torchtn.examples._common import (
    accuracy,
    embed,
    load_digits_tensors,
    n_params,
    shifted_copies,
    train_epoch,
)

__all__ = ["main", "run", "parse_args", "embed", "load_digits_tensors"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The demo's options (``--help`` lists them with their defaults)."""
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.digits_mps",
        description="Train an MPSLayer classifier on the 8x8 digits bundled with "
        "scikit-learn, prune its bonds with canonicalize(), and retrain.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--bond", type=int, default=12, help="bond dimension")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size")
    parser.add_argument(
        "--lr", type=float, default=3e-3, help="initial Adam learning rate (cosine decay to 0)"
    )
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="Adam weight decay")
    parser.add_argument(
        "--label-smoothing", type=float, default=0.1, help="label smoothing of the loss"
    )
    parser.add_argument(
        "--no-shifts",
        action="store_true",
        help="train on the digits only, not also on their one-pixel shifts (5x fewer "
        "samples per epoch, lower accuracy)",
    )
    parser.add_argument(
        "--rank", type=int, default=8, help="largest bond kept when pruning (0: no cap)"
    )
    parser.add_argument(
        "--cum-percentage",
        type=float,
        default=None,
        help="fraction of each bond's singular-value sum kept when pruning (default: "
        "no such criterion)",
    )
    parser.add_argument(
        "--retrain-epochs", type=int, default=3, help="epochs of retraining after pruning"
    )
    parser.add_argument(
        "--n-train", type=int, default=None, help="use only the first N training digits"
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--out", default="runs/digits_mps", help="output folder for the PNG, weights, metrics"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (1: the contractions are small and extra threads "
        "mostly add overhead; 0 keeps PyTorch's choice)",
    )
    return parser.parse_args(argv)


def _fit(model, opt, sched, data, args, gen, label, epochs, history) -> None:
    """``epochs`` epochs of training, one printed line and history entry per epoch."""
    x_fit, y_fit, x_tr, y_tr, x_te, y_te = data
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss = train_epoch(
            model,
            opt,
            x_fit,
            y_fit,
            embed,
            args.batch_size,
            gen,
            f"{label} {epoch}",
            args.quiet,
            sched,
            label_smoothing=args.label_smoothing,
        )
        tr = accuracy(model, x_tr, y_tr, embed)
        te = accuracy(model, x_te, y_te, embed)
        for key, value in (("loss", loss), ("train", tr), ("test", te)):
            history[key].append(value)
        print(
            f"{label} {epoch:2d}  loss {loss:.4f}  train acc {tr:.4f}  test acc {te:.4f}  "
            f"({time.perf_counter() - start:.1f} s)",
            flush=True,
        )


def _optimizer(model, lr, weight_decay, epochs, steps_per_epoch):
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * steps_per_epoch))
    return opt, sched


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, prune, retrain and save, as configured by :func:`parse_args`' options.

    Returns:
        The metrics also written to ``results.json``: test accuracies after training,
        right after pruning and after retraining, parameter counts before and after
        pruning, the bond dimensions and the wall time in seconds.
    """
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    device = torch.device(args.device)
    x_tr, y_tr, x_te, y_te = load_digits_tensors(args.seed)
    if args.n_train is not None:
        x_tr, y_tr = x_tr[: args.n_train], y_tr[: args.n_train]
    x_fit, y_fit = (x_tr, y_tr) if args.no_shifts else shifted_copies(x_tr, y_tr)
    data = tuple(t.to(device) for t in (x_fit, y_fit, x_tr, y_tr, x_te, y_te))
    n_pixels = x_tr.shape[1]
    steps = (len(y_fit) + args.batch_size - 1) // args.batch_size

    start = time.perf_counter()
    model = tk.models.MPSLayer(
        n_features=n_pixels + 1,
        in_dim=3,
        out_dim=10,
        bond_dim=args.bond,
        boundary="obc",
        init_method="randn_eye",
        std=1e-9,
        device=device,
    )
    model.trace(torch.zeros(1, n_pixels, 3, device=device))
    params_before = n_params(model)
    print(
        f"MPSLayer: {n_pixels + 1} sites, bond {args.bond}, {params_before} parameters; "
        f"{len(y_fit)} training samples ({len(y_tr)} digits"
        f"{'' if args.no_shifts else ' and their 4 one-pixel shifts'}), {len(y_te)} test "
        f"digits, device {device}"
    )
    history: dict[str, list[float]] = {"loss": [], "train": [], "test": []}
    opt, sched = _optimizer(model, args.lr, args.weight_decay, args.epochs, steps)
    _fit(model, opt, sched, data, args, gen, "epoch", args.epochs, history)
    trained_acc = history["test"][-1] if history["test"] else accuracy(model, *data[4:], embed)

    rank = args.rank if args.rank > 0 else None
    model.canonicalize(rank=rank, cum_percentage=args.cum_percentage, renormalize=True)
    model.trace(torch.zeros(1, n_pixels, 3, device=device))
    params_after = n_params(model)
    pruned_acc = accuracy(model, *data[4:], embed)
    print(
        f"pruned with canonicalize(rank={rank}, cum_percentage={args.cum_percentage}): "
        f"{params_before} -> {params_after} parameters "
        f"({1 - params_after / params_before:.0%} fewer), bonds up to "
        f"{max(model.bond_dim)}; test acc {trained_acc:.4f} -> {pruned_acc:.4f}"
    )
    # Retrain at a third of the learning rate, again decayed to 0.
    opt, sched = _optimizer(model, args.lr / 3, args.weight_decay, args.retrain_epochs, steps)
    _fit(model, opt, sched, data, args, gen, "retrain", args.retrain_epochs, history)
    final_acc = history["test"][-1] if args.retrain_epochs else pruned_acc
    elapsed = time.perf_counter() - start

    results = {
        "test_acc": trained_acc,
        "pruned_test_acc": pruned_acc,
        "final_test_acc": final_acc,
        "params_before": params_before,
        "params_after": params_after,
        "bond_dim": list(model.bond_dim),
        "time_s": elapsed,
        "history": history,
        "args": vars(args),
    }
    os.makedirs(args.out, exist_ok=True)
    model.reset()
    torch.save(model.state_dict(), os.path.join(args.out, "mps_state_dict.pt"))
    _plot(history, args.epochs, os.path.join(args.out, "learning_curve.png"))
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    print(
        f"outputs saved in {os.path.abspath(args.out)} (learning_curve.png, "
        f"mps_state_dict.pt, results.json); training, pruning and retraining took "
        f"{elapsed:.1f} s"
    )
    print(f"final: test accuracy {final_acc:.4f}, parameters {params_after} (was {params_before})")
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the demo with the command-line options ``argv``; returns :func:`run`'s metrics."""
    return run(parse_args(argv))


def _plot(history: dict, n_train_epochs: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(xlabel="epoch", ylabel="train loss", title="Loss")
    ax2.plot(epochs, history["train"], marker="o", label="train")
    ax2.plot(epochs, history["test"], marker="o", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    if len(history["loss"]) > n_train_epochs:
        for ax in (ax1, ax2):
            ax.axvline(n_train_epochs + 0.5, color="grey", linestyle="--", label="pruned")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
