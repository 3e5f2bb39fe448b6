"""A Born machine on binarised 8x8 digits: exact likelihood, samples and inpainting.

::

    python -m torchtn.examples.born_digits --help

Trains :class:`torchtn.models.BornMachine` over an ``MPS`` of 64 binary sites (one per
pixel, row by row) by minimising the exact negative log-likelihood with Adam, then
reports the test NLL in nats per image against an independent-Bernoulli baseline and
the training set's entropy (the NLL of the empirical distribution on its own training
set, a lower bound no model's training NLL can beat), and saves PNG grids of samples
and of inpainted half images (the top half given, the bottom half sampled from the
exact conditional distribution).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence

import torch

import torchtn as tk
from torchtn.examples._common import add_common_args, digits, n_params, save_outputs, setup

__all__ = [
    "main",
    "binarise",
    "near_uniform_mps",
    "bernoulli_nll",
    "empirical_entropy",
    "save_grid",
]

SIDE = 8  # the digits are 8x8


def binarise(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Pixels in ``[0, 1]`` to ``{0, 1}`` (long), ``1`` where ``x > threshold``."""
    return (x > threshold).long()


def near_uniform_mps(
    n: int, d: int, bond: int, std: float, generator: torch.Generator, device=None
) -> tk.models.MPS:
    """An open MPS whose every physical slice is the identity plus ``N(0, std^2)`` noise.

    Without the noise ``psi`` is constant, so the Born distribution starts uniform
    (NLL ``n log d``); the noise breaks the symmetry between the bond directions.
    """
    eye = torch.eye(bond)

    def noise(*shape: int) -> torch.Tensor:
        return std * torch.randn(*shape, generator=generator)

    first = eye[0].expand(d, bond) + noise(d, bond)
    middle = [eye[:, None, :].expand(bond, d, bond) + noise(bond, d, bond) for _ in range(n - 2)]
    last = eye[:, :1].expand(bond, d) + noise(bond, d)
    tensors = [t.to(device) for t in (first, *middle, last)]
    return tk.models.MPS(tensors=tensors)


def bernoulli_nll(train: torch.Tensor, test: torch.Tensor) -> tuple[float, float]:
    """Mean NLL (nats per image) of independent Bernoulli pixels fitted on ``train``
    (add-one smoothing), on ``train`` and on ``test``."""
    p = (train.sum(0) + 1.0) / (len(train) + 2.0)

    def nll(x: torch.Tensor) -> float:
        return float(-(x * p.log() + (1 - x) * (1 - p).log()).sum(1).mean())

    return nll(train), nll(test)


def empirical_entropy(x: torch.Tensor) -> float:
    """Entropy (nats) of the empirical distribution of the rows of ``x``: ``log N`` when
    all ``N`` rows are distinct."""
    _, counts = torch.unique(x, dim=0, return_counts=True)
    p = counts.double() / len(x)
    return float(-(p * p.log()).sum())


def save_grid(images: torch.Tensor, path: str, rows: int, title: str, labels=None) -> None:
    """Save ``images`` ``(k, 64)`` (values in ``[0, 1]``, NaN drawn grey) as a PNG grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = math.ceil(len(images) / rows)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9 + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            img = images[k].reshape(SIDE, SIDE).float().cpu().numpy()
            shown = matplotlib.colors.Normalize(0, 1)
            cmap = plt.get_cmap("gray_r").with_extremes(bad="#c8c8ff")
            ax.imshow(img, cmap=cmap, norm=shown, interpolation="nearest")
            if labels is not None and k < len(labels) and labels[k]:
                ax.set_title(labels[k], fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def inpaint_figure(
    born: tk.models.BornMachine,
    images: torch.Tensor,
    n_fill: int,
    generator: torch.Generator,
    path: str,
) -> torch.Tensor:
    """Condition on the top half of each image, sample the bottom half ``n_fill`` times,
    and save rows ``original | given | fills...``. Returns the fills ``(k, n_fill, 64)``."""
    k = len(images)
    mask = torch.zeros(SIDE * SIDE, dtype=torch.bool, device=images.device)
    mask[: SIDE * SIDE // 2] = True
    values = images.repeat_interleave(n_fill, dim=0)
    fills = born.sample(
        k * n_fill, generator=generator, condition=values, mask=mask.expand_as(values)
    )
    fills = fills.reshape(k, n_fill, -1)
    given = images.double().masked_fill(~mask, float("nan"))
    tiles, labels = [], []
    for i in range(k):
        tiles += [images[i].double(), given[i], *fills[i].double()]
        labels += ["original", "given"] + ["sampled"] * n_fill if i == 0 else [""] * (n_fill + 2)
    title = "Inpainting: bottom halves sampled given the top"
    save_grid(torch.stack(tiles), path, k, title, labels)
    return fills


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the example; returns the metrics (also saved in ``results.json``)."""
    parser = argparse.ArgumentParser(
        prog="python -m torchtn.examples.born_digits",
        description="Train an MPS Born machine on the binarised 8x8 digits by exact NLL, "
        "report test NLL against baselines, save samples and inpaintings.",
    )
    parser.add_argument("--bond", type=int, default=24, help="bond dimension (default 24)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument(
        "--lr", type=float, default=3e-3, help="Adam learning rate, cosine-decayed (3e-3)"
    )
    parser.add_argument(
        "--std", type=float, default=0.1, help="noise added to the identity cores (0.1)"
    )
    parser.add_argument(
        "--clip", type=float, default=1.0, help="gradient-norm clipping, 0 for none (1.0)"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="binarisation threshold in [0, 1] (0.5)"
    )
    parser.add_argument("--n-train", type=int, default=None, help="use only this many digits")
    parser.add_argument("--n-samples", type=int, default=48, help="samples drawn (default 48)")
    parser.add_argument("--n-inpaint", type=int, default=6, help="test digits inpainted (6)")
    add_common_args(parser, "born_digits")
    args = parser.parse_args(argv)
    device, gen = setup(args)

    x_tr, _, x_te, _ = digits(args.seed, device, args.n_train)
    b_tr, b_te = binarise(x_tr, args.threshold), binarise(x_te, args.threshold)
    n_sites = b_tr.shape[1]
    bern_tr, bern_te = bernoulli_nll(b_tr, b_te)
    entropy = empirical_entropy(b_tr)
    mps = near_uniform_mps(n_sites, 2, args.bond, args.std, gen, device)
    born = tk.models.BornMachine(mps)
    print(
        f"Born machine: MPS of {n_sites} binary sites, bond {args.bond}, {n_params(born)} "
        f"parameters; {len(b_tr)} train / {len(b_te)} test digits; uniform NLL "
        f"{n_sites * math.log(2):.2f} nats"
    )

    opt = torch.optim.Adam(born.parameters(), lr=args.lr)
    steps = args.epochs * math.ceil(len(b_tr) / args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    start = time.perf_counter()
    curve = []
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(len(b_tr), generator=gen).to(device)
        for i in range(0, len(b_tr), args.batch_size):
            loss = born.nll(b_tr[perm[i : i + args.batch_size]])
            opt.zero_grad()
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(born.parameters(), args.clip)
            opt.step()
            sched.step()
        with torch.no_grad():
            tr, te = born.nll(b_tr).item(), born.nll(b_te).item()
        curve.append({"epoch": epoch, "train_nll": tr, "test_nll": te})
        print(
            f"epoch {epoch:2d}  train NLL {tr:.3f}  test NLL {te:.3f}  "
            f"({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
    train_time = time.perf_counter() - start

    with torch.no_grad():
        nll_tr, nll_te = born.nll(b_tr).item(), born.nll(b_te).item()
    print(
        f"test NLL (nats per image): Born machine {nll_te:.3f}, independent Bernoulli {bern_te:.3f}"
    )
    print(
        f"train NLL: Born machine {nll_tr:.3f}, Bernoulli {bern_tr:.3f}, entropy of the "
        f"training set {entropy:.3f} (the least any model can reach on it)"
    )

    os.makedirs(args.out, exist_ok=True)
    samples = born.sample(args.n_samples, generator=gen)
    save_grid(
        samples,
        os.path.join(args.out, "samples.png"),
        max(1, args.n_samples // 12),
        f"Exact samples of the Born machine (test NLL {nll_te:.1f} nats)",
    )
    inpaint_figure(born, b_te[: args.n_inpaint], 4, gen, os.path.join(args.out, "inpainting.png"))
    print("saved samples.png and inpainting.png")
    results = {
        "args": vars(args),
        "test_nll": nll_te,
        "train_nll": nll_tr,
        "bernoulli_test_nll": bern_te,
        "bernoulli_train_nll": bern_tr,
        "train_entropy": entropy,
        "uniform_nll": n_sites * math.log(2),
        "params": n_params(born),
        "train_time_s": train_time,
        "curve": curve,
    }
    save_outputs(args.out, results, mps.state_dict())
    return results


if __name__ == "__main__":
    main()
