"""Functions run in child processes by the replay tests (importable by name)."""

from __future__ import annotations

import torch


def forward_to_file(rank: int, model, x: torch.Tensor, path: str) -> None:
    """``mp.spawn`` target: run the received model and save its output."""
    torch.save(model(x).detach(), path)


def ddp_train(rank: int, world: int, init: str, pattern: str, steps: int, path: str) -> None:
    """Train the DDP test model on this rank's half of the batches; rank 0 saves the result.

    ``pattern``: ``'trace_then_wrap'`` (the documented one) or ``'wrap_then_trace'``.

    The process ends with ``os._exit`` (status 0, or 1 after printing the traceback)
    while the DDP wrapper is still referenced: freeing the DDP reducer can deadlock in
    torch's gloo process group (its destructor joins a worker thread that waits for the
    GIL the freeing thread holds; pytorch/pytorch#75097), which hung test runs.
    """
    import os
    import traceback

    try:
        alive = _ddp_train(rank, world, init, pattern, steps, path)
    except BaseException:
        traceback.print_exc()  # the traceback keeps the frames (and the reducer) alive
        os._exit(1)
    os._exit(0 if alive else 1)


def _ddp_train(rank: int, world: int, init: str, pattern: str, steps: int, path: str) -> list:
    """The training; returns the objects that must not be freed before the exit."""
    import torch.distributed as dist
    from _nets import ddp_case
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        model, batches, example = ddp_case()
        if pattern == "trace_then_wrap":
            model.trace(example)
            ddp = DDP(model)
        else:
            ddp = DDP(model)
            try:
                ddp(example)
            except ValueError as err:
                if rank == 0:
                    torch.save({"error": str(err)}, path)
                return [ddp, model]
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
        half = batches[0][0].shape[0] // world
        for x, y in batches[:steps]:
            xs, ys = x[rank * half : (rank + 1) * half], y[rank * half : (rank + 1) * half]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(ddp(xs), ys).backward()
            opt.step()
        if rank == 0:
            torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, path)
        return [ddp, opt, model]
    finally:
        dist.destroy_process_group()
