"""Helpers shared by the example scripts: common options, digits data, a training loop.

Not part of the public API; the examples import it as ``torchtn.examples._common``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "embed",
    "load_digits_tensors",
    "shifted_copies",
    "add_common_args",
    "setup",
    "digits",
    "n_params",
    "accuracy",
    "train_epoch",
    "fit",
    "save_outputs",
]


def embed(x: torch.Tensor) -> torch.Tensor:
    """Map pixels in ``[0, 1]`` to the 3-dimensional feature ``[1, x, 1 - x]``."""
    return torch.stack([torch.ones_like(x), x, 1 - x], dim=-1)


def load_digits_tensors(seed: int, dtype: torch.dtype = torch.float32):
    """The 1797 bundled digits as ``(x_train, y_train, x_test, y_test)``, pixels in [0, 1].

    A stratified 75/25 split with ``seed``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = torch.tensor(data.data, dtype=dtype) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    idx = torch.arange(len(y)).numpy()
    tr, te = train_test_split(idx, test_size=0.25, random_state=seed, stratify=data.target)
    return x[tr], y[tr], x[te], y[te]


def shifted_copies(
    x: torch.Tensor, y: torch.Tensor, side: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """Data augmentation: the images plus their copies shifted by one pixel.

    Each flattened ``side x side`` image of ``x`` (``(N, side * side)``) is kept and
    shifted up, down, left and right, the vacated row or column filled with 0 (the
    background). Returns ``(5 N, side * side)`` images and their labels.
    """
    imgs = x.reshape(-1, side, side)
    copies = [imgs]
    for shift, dim in ((1, 1), (-1, 1), (1, 2), (-1, 2)):
        moved = torch.roll(imgs, shift, dims=dim)
        edge = 0 if shift == 1 else side - 1
        moved.select(dim, edge).zero_()
        copies.append(moved)
    return torch.cat(copies).reshape(-1, side * side), y.repeat(len(copies))


def add_common_args(parser: argparse.ArgumentParser, name: str) -> None:
    """Add ``--seed``, ``--device``, ``--threads``, ``--out`` and ``--quiet`` to ``parser``."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: these contractions are small, and extra "
        "threads mostly add overhead; 0 keeps PyTorch's choice)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join("runs", name),
        help=f"output folder for results.json and the weights (default runs/{name})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def setup(args: argparse.Namespace) -> tuple[torch.device, torch.Generator]:
    """Seed torch, set the thread count; returns the device and a seeded CPU generator."""
    torch.manual_seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    return torch.device(args.device), torch.Generator().manual_seed(args.seed)


def digits(
    seed: int, device: torch.device, n_train: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The bundled 8x8 digits as ``(x_train, y_train, x_test, y_test)`` on ``device``.

    Pixels are in ``[0, 1]``, images flattened row-major to 64 features, 75/25 stratified
    split (see :func:`load_digits_tensors`). ``n_train`` keeps
    only the first training digits (for quick runs).
    """
    x_tr, y_tr, x_te, y_te = load_digits_tensors(seed)
    if n_train is not None:
        x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    return tuple(t.to(device) for t in (x_tr, y_tr, x_te, y_te))  # type: ignore[return-value]


def n_params(model: torch.nn.Module) -> int:
    """Number of trainable scalars of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


Features = Callable[[torch.Tensor], torch.Tensor]


def accuracy(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, features: Features, batch: int = 256
) -> float:
    """Fraction of ``x`` whose arg-max score is ``y``, evaluated in batches without grad."""
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            scores = model(features(x[i : i + batch]))
            correct += (scores.argmax(-1) == y[i : i + batch]).sum().item()
    return correct / len(y)


def train_epoch(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    features: Features,
    batch: int,
    gen: torch.Generator,
    desc: str = "",
    quiet: bool = True,
    sched: Any = None,
    label_smoothing: float = 0.0,
) -> float:
    """One epoch of cross-entropy training on shuffled mini-batches; returns the mean loss.

    ``sched`` (if given) steps after every batch; ``label_smoothing`` is passed to
    :class:`torch.nn.CrossEntropyLoss`.
    """
    from tqdm import tqdm

    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    perm = torch.randperm(len(y), generator=gen).to(y.device)
    total = 0.0
    for i in tqdm(range(0, len(y), batch), desc=desc, leave=False, disable=quiet):
        idx = perm[i : i + batch]
        loss = loss_fn(model(features(x[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        total += loss.item() * len(idx)
    return total / len(y)


def fit(
    model: torch.nn.Module,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    features: Features,
    epochs: int,
    batch: int,
    lr: float,
    gen: torch.Generator,
    quiet: bool = True,
    weight_decay: float = 0.0,
    cosine: bool = True,
    label: str = "epoch",
) -> dict[str, list[float]]:
    """Train with Adam (cosine-decayed learning rate), printing loss and accuracies per epoch.

    Returns:
        ``{"loss": [...], "train": [...], "test": [...], "time": [...]}`` per epoch, with the
        cumulated wall time in seconds.
    """
    x_tr, y_tr, x_te, y_te = data
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, epochs * ((len(y_tr) + batch - 1) // batch))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if cosine else None
    history: dict[str, list[float]] = {"loss": [], "train": [], "test": [], "time": []}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss = train_epoch(
            model, opt, x_tr, y_tr, features, batch, gen, f"{label} {epoch}", quiet, sched
        )
        tr = accuracy(model, x_tr, y_tr, features)
        te = accuracy(model, x_te, y_te, features)
        elapsed = time.perf_counter() - start
        for key, value in zip(
            ("loss", "train", "test", "time"), (loss, tr, te, elapsed), strict=True
        ):
            history[key].append(value)
        print(
            f"{label} {epoch:2d}  loss {loss:.4f}  train acc {tr:.4f}  test acc {te:.4f}  "
            f"({elapsed:.1f} s)",
            flush=True,
        )
    return history


def save_outputs(
    out: str, results: dict[str, Any], state_dict: dict[str, torch.Tensor] | None = None
) -> str:
    """Write ``results.json`` (and ``state_dict.pt`` if given) into ``out``; returns its path."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump(results, fh, indent=2, default=float)
    names = ["results.json"]
    if state_dict is not None:
        torch.save(state_dict, os.path.join(out, "state_dict.pt"))
        names.append("state_dict.pt")
    path = os.path.abspath(out)
    print(f"outputs saved in {path} ({', '.join(names)})")
    return path
