"""Contracting the end of an open chain: boundary vector, cores and their data vectors.

An OBC MPS region that touches an end is ``v · A_0(x_0) · A_1(x_1) ··· A_{m-1}(x_{m-1})``
where ``A_i(x_i) = sum_s A_i[:, s, :] x_i[s]`` is a ``(batch, D, D)`` matrix per sample.
Three algorithms compute it, with the same result:

``'fly'``
    Sweep from the boundary vector, contracting each core with the running vector and
    then with its data (``(d D, D) @ (D, B)``, then a broadcast product summed over
    ``d``, batch last): ``O(m B d D^2)`` flops, no ``(m, B, D, D)`` tensor, and for
    training one autograd Function that keeps one ``(D, B)`` vector per site and runs
    the reverse sweep itself.
``'vector'``
    Build every ``A_i(x_i)`` in one batched product, then sweep the vector through them:
    ``m + 1`` products, same flops, ``(m, B, D, D)`` memory.
``'tree'``
    Build the matrices, then multiply neighbouring pairs level by level (``log2 m``
    batched products, ``O(m B D^3)`` flops): wins when per-call overhead dominates
    (small tensors on a GPU).

:func:`choose` picks one from a cost model on (sites, in_dim, bond, batch, device, grad);
:func:`sweep` runs the choice made for the shapes of each call, so a model traced with
a batch of one still uses the right algorithm for the batch it later sees. Under
``torch.compile`` the fly sweep is one opaque eager call of the compiled graph (its own
fused autograd Function), and under ``torch.export`` it is one loop primitive
(``scan``): a 785-site chain is never unrolled, and symbolic sizes are not guarded on.
The kernels are in :mod:`torchtn.planning.chain_kernels`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from torchtn.planning import chain_kernels as kernels

__all__ = ["STRATEGIES", "choose", "cost", "sweep", "sweep_kernel"]

STRATEGIES = ("fly", "vector", "tree")

# Machine model: seconds per call (Python + dispatch + launch), flops per second and
# bytes per second of memory traffic, per device type. Calibrated on one CPU thread
# and an H100-class GPU; only the ratios between strategies matter.
_MACHINE = {
    "cpu": {"call": 6e-6, "flops": 8e9, "bytes": 8e9},
    "cuda": {"call": 1.2e-5, "flops": 2e13, "bytes": 1.5e12},
}


def cost(
    strategy: str, sites: int, in_dim: int, bond: int, batch: int, device: str, grad: bool
) -> float:
    """Estimated seconds of one contraction of an end region by ``strategy``.

    Args:
        strategy: One of :data:`STRATEGIES`.
        sites: Number of cores in the region (``m``).
        in_dim: Physical dimension ``d``.
        bond: Bond dimension ``D``.
        batch: Number of samples ``B`` (all batch axes together).
        device: ``'cpu'``, ``'cuda'`` or another torch device type (costed as cuda).
        grad: Whether a backward pass will follow (about three times the work; memory
            kept for backward is costed as traffic).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy should be one of {STRATEGIES}, got {strategy!r}")
    machine = _MACHINE["cpu" if device == "cpu" else "cuda"]
    m, d, D, B = max(sites, 1), in_dim, bond, batch
    elem = 4
    if strategy == "fly":
        calls = 2 * m
        flops = 2 * m * B * d * D * (D + 1)
        traffic = m * B * d * D * elem * 2
    else:
        build = 2 * m * B * d * D * D
        mats = m * B * D * D * elem
        if strategy == "vector":
            calls = m + 2
            flops = build + 2 * m * B * D * D
            traffic = mats * 2
        else:
            levels = max(1, math.ceil(math.log2(m))) if m > 1 else 0
            calls = 2 + 3 * levels
            # batched D x D products run far from peak for small D (measured on a CPU)
            flops = build + 2 * m * B * D**3 / min(1.0, D / 32)
            traffic = mats * 4
    # A backward costs about 2.7 forwards for the fly sweep (its own fused reverse sweep)
    # and about 4 for the others (autograd through many batched products), measured.
    factor = (2.7 if strategy == "fly" else 4.0) if grad else 1.0
    return factor * (
        calls * machine["call"] + flops / machine["flops"] + traffic / machine["bytes"]
    )


_CHOICES: dict[tuple, str] = {}


def choose(
    sites: int, in_dim: int, bond: int, batch: int, device: str = "cpu", grad: bool = False
) -> str:
    """The cheapest strategy for an end region (see :func:`cost`).

    Examples:
        >>> choose(392, 3, 10, 500)
        'fly'
        >>> choose(392, 3, 10, 512, device='cuda')
        'tree'
    """
    key = (sites, in_dim, bond, batch, device, grad)
    best = _CHOICES.get(key)
    if best is None:
        # a plain loop, not min(key=...), which torch.compile does not trace
        best_cost = float("inf")
        for strategy in STRATEGIES:
            c = cost(strategy, sites, in_dim, bond, batch, device, grad)
            if c < best_cost:
                best, best_cost = strategy, c
        _CHOICES[key] = best
    return best


# -- kernels ----------------------------------------------------------------------------------
_KERNELS = {"fly": kernels.fly, "vector": kernels.vector, "tree": kernels.tree}


# Under torch.compile the fly sweep stays one eager call (its own autograd Function,
# already fused) instead of a 785-site unrolled graph: inductor's lowering of the scan
# loop primitive is slow to compile and to run on CPUs. torch.export uses the scan form.
_fly_eager = torch.compiler.disable(kernels.fly)


def _hint(n: int | torch.SymInt) -> int:
    """A concrete value of a size for cost decisions (no guard on symbolic sizes)."""
    if isinstance(n, int):
        return n
    from torch.fx.experimental.symbolic_shapes import optimization_hint

    return optimization_hint(n, fallback=256)


def _pad_vector(v: torch.Tensor, size: int) -> torch.Tensor:
    if v.shape[0] == size:
        return v
    return torch.nn.functional.pad(v, (size - v.shape[0], 0))


def _run(
    strategy: str | None, v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor, left: bool
) -> torch.Tensor:
    m, dl, d, dr = cores.shape
    batch = x.shape[1:-1]
    x = x.reshape(m, -1, x.shape[-1])
    if x.shape[-1] != d:
        raise ValueError(
            f"data of the sweep has {x.shape[-1]} features per site, the cores expect {d}"
        )
    if dl != dr:  # stacked cores of unequal bonds: zero-pad to square (exact)
        size = max(dl, dr)
        cores = torch.nn.functional.pad(cores, (size - dr, 0, 0, 0, size - dl, 0))
        dl = dr = size
    v = _pad_vector(v, dl)
    exporting = torch.compiler.is_exporting()
    if strategy is None:
        if exporting:  # the loop primitive: nothing unrolled, nothing chosen on symbols
            strategy = "fly"
        else:
            grad = torch.is_grad_enabled() and (
                cores.requires_grad or v.requires_grad or x.requires_grad
            )
            strategy = choose(m, d, dl, _hint(x.shape[1]), cores.device.type, grad)
            if strategy == "vector" and torch.compiler.is_compiling():
                strategy = "fly"  # the vector sweep would be unrolled into the graph
    if strategy != "fly":
        w = _KERNELS[strategy](v, cores, x, left)  # a few batched calls: traced as they are
    elif exporting:
        w = kernels.scan_sweep(v, cores, x, left)
    elif torch.compiler.is_compiling():
        w = _fly_eager(v, cores, x, left)  # an opaque step of the compiled graph
    else:
        w = kernels.fly(v, cores, x, left)
    return w.reshape(*batch, w.shape[-1])


def sweep(
    v: torch.Tensor,
    cores: torch.Tensor,
    x: torch.Tensor,
    side: str = "left",
    strategy: str | None = None,
    out_size: int | None = None,
) -> torch.Tensor:
    """Close the end of a chain: ``v · A_0(x_0) ··· A_{m-1}(x_{m-1})`` for each sample
    (``side='left'``), or ``A_0(x_0) ··· A_{m-1}(x_{m-1}) · v`` (``side='right'``).

    Args:
        v: Boundary vector, ``(Dl,)`` for the left end, ``(Dr,)`` for the right end.
        cores: Stacked cores ``(m, Dl, d, Dr)`` (left, input, right), in chain order.
        x: Stacked data ``(m, *batch, d)``.
        side: ``'left'`` or ``'right'``: the end ``v`` closes.
        strategy: One of :data:`STRATEGIES`, or None to :func:`choose` by the shapes.
        out_size: Keep only the last ``out_size`` entries of the result's last axis.

    Cores of different sizes are stacked as :func:`torchtn.stack` does, zero-padded at
    the *front* of each axis (so equal bonds of neighbours stay aligned); ``v`` is
    padded the same way and the result cropped from the front.

    Returns:
        ``(*batch, Dr)`` for the left end, ``(*batch, Dl)`` for the right end.

    Raises:
        ValueError: If ``side`` or ``strategy`` is unknown, or the data's feature size is
            not the cores' ``d``.
    """
    return sweep_kernel(side, strategy, out_size)(v, cores, x)


def sweep_kernel(
    side: str = "left", strategy: str | None = None, out_size: int | None = None
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """``fn(v, cores, x)`` computing :func:`sweep` with these arguments, checked once
    (for replayed programs, which call it many times).

    Raises:
        ValueError: If ``side`` or ``strategy`` is unknown.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side should be 'left' or 'right', got {side!r}")
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"strategy should be one of {STRATEGIES}, got {strategy!r}")
    left = side == "left"

    def fn(v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        w = _run(strategy, v, cores, x, left)
        return w if out_size is None or out_size == w.shape[-1] else w[..., -out_size:]

    return fn
