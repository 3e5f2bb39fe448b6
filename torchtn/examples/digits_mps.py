"""Train an MPS classifier on scikit-learn's bundled 8x8 digits, prune it, retrain.

This is what ``make demo`` runs::

    python -m torchtn.examples.digits_mps --help

It trains a :class:`torchtn.models.MPSLayer` (64 input sites plus one output site),
prints per-epoch loss and accuracies, prunes the bond dimensions with
``canonicalize(cum_percentage=...)``, retrains one epoch, and saves a learning-curve
PNG and the trained ``state_dict`` in the output folder it prints.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import torch

import torchtn as tk
from torchtn.examples._common import accuracy, embed, load_digits_tensors, n_params, train_epoch

__all__ = ["main", "embed", "load_digits_tensors"]


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the demo; returns the final metrics (also printed)."""
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.digits_mps",
        description="Train an MPSLayer classifier on the 8x8 digits bundled with "
        "scikit-learn, prune it with canonicalize(), and retrain one epoch.",
    )
    parser.add_argument("--bond", type=int, default=12, help="bond dimension (default 12)")
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (default 12)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument(
        "--lr",
        type=float,
        default=3e-3,
        help="initial Adam learning rate, decayed to 0 on a cosine (3e-3)",
    )
    parser.add_argument("--weight-decay", type=float, default=1e-6, help="Adam weight decay")
    parser.add_argument(
        "--cum-percentage",
        type=float,
        default=0.99,
        help="fraction of singular-value weight kept when pruning (0.99)",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--out", default="runs/digits_mps", help="output folder for the PNG and the state_dict"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: the contractions are small and extra "
        "threads mostly add overhead; 0 keeps PyTorch's choice)",
    )
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    device = torch.device(args.device)
    x_tr, y_tr, x_te, y_te = load_digits_tensors(args.seed)
    x_tr, y_tr, x_te, y_te = (t.to(device) for t in (x_tr, y_tr, x_te, y_te))
    n_pixels = x_tr.shape[1]

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
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * ((len(y_tr) + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    history = {"loss": [], "train": [], "test": []}
    print(
        f"MPSLayer: {n_pixels + 1} sites, bond {args.bond}, {n_params(model)} parameters, "
        f"{len(y_tr)} train / {len(y_te)} test digits, device {device}"
    )
    for epoch in range(1, args.epochs + 1):
        loss = train_epoch(
            model, opt, x_tr, y_tr, embed, args.batch_size, gen, f"epoch {epoch}", args.quiet, sched
        )
        tr = accuracy(model, x_tr, y_tr, embed)
        te = accuracy(model, x_te, y_te, embed)
        for k, v in zip(("loss", "train", "test"), (loss, tr, te), strict=False):
            history[k].append(v)
        print(
            f"epoch {epoch:2d}  loss {loss:.4f}  train acc {tr:.4f}  test acc {te:.4f}  "
            f"({time.perf_counter() - start:.1f} s)"
        )
    train_time = time.perf_counter() - start

    before = {"params": n_params(model), "test": history["test"][-1]}
    model.canonicalize(cum_percentage=args.cum_percentage, renormalize=True)
    model.trace(torch.zeros(1, n_pixels, 3, device=device))
    pruned = {"params": n_params(model), "test": accuracy(model, x_te, y_te, embed)}
    print(
        f"pruned with cum_percentage={args.cum_percentage}: {before['params']} -> "
        f"{pruned['params']} parameters, test acc {before['test']:.4f} -> "
        f"{pruned['test']:.4f}"
    )
    opt = torch.optim.Adam(model.parameters(), lr=args.lr / 10, weight_decay=args.weight_decay)
    loss = train_epoch(model, opt, x_tr, y_tr, embed, args.batch_size, gen, "retrain", args.quiet)
    retrained = accuracy(model, x_te, y_te, embed)
    print(f"retrained 1 epoch: loss {loss:.4f}  test acc {retrained:.4f}")

    os.makedirs(args.out, exist_ok=True)
    model.reset()
    torch.save(model.state_dict(), os.path.join(args.out, "mps_state_dict.pt"))
    _plot(history, os.path.join(args.out, "learning_curve.png"))
    print(
        f"outputs saved in {os.path.abspath(args.out)} (learning_curve.png, "
        f"mps_state_dict.pt); training took {train_time:.1f} s"
    )
    return {
        "test_acc": history["test"][-1],
        "train_time_s": train_time,
        "pruned_test_acc": pruned["test"],
        "retrained_test_acc": retrained,
        "params_before": before["params"],
        "params_after": pruned["params"],
    }


def _plot(history: dict, path: str) -> None:
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
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
