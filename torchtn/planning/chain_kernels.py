"""Tensor kernels of the open-chain end sweep (:mod:`torchtn.planning.chain` picks one).

All take the boundary vector ``v`` ``(D,)``, the stacked cores ``(m, D, d, D)`` (square:
:func:`~torchtn.planning.chain.sweep` pads them) and the stacked data ``(m, B, d)``, and
return ``(B, D)``.

``fly`` sweeps a vector through the chain, contracting each core with the running vector
and then with its data. It keeps the batch *last* (the vector is ``(D, B)``): per site
one ``(d D, D) @ (D, B)`` product and a sum of ``d`` broadcast products whose inner axis
is the batch, which is 2-3x faster on a CPU than the batch-first form, whose reductions
run over axes of size ``d``. When gradients are needed it is one autograd Function
(:class:`FlySweep`) that saves one ``(D, B)`` vector per site and runs the reverse sweep
itself (three tensor calls per site instead of autograd's graph of five), which halves a
training step. Under ``torch.compile``/``torch.export`` tracing the same step runs in
``torch``'s loop primitive (:func:`scan_sweep`), so a long chain is not unrolled into the
graph.

``vector`` and ``tree`` first build every core-data matrix ``(m, B, D, D)``, then sweep a
vector through them or multiply them in pairwise levels (few large calls: for GPUs and
small batches).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

__all__ = ["fly", "scan_sweep", "vector", "tree", "FlySweep", "site_matrices"]


def site_matrices(cores: torch.Tensor, left: bool) -> torch.Tensor:
    """``(m, d D, D)``: each core as the matrix that maps the incoming bond vector to the
    ``d`` outgoing ones (rows ``(s, out)``, columns ``in``), for a sweep from the left
    end (``left``) or from the right end."""
    m, dl, d, dr = cores.shape
    if left:
        return cores.permute(0, 2, 3, 1).reshape(m, d * dr, dl)
    return cores.permute(0, 2, 1, 3).reshape(m, d * dl, dr)


def _data_last(x: torch.Tensor) -> torch.Tensor:
    """``(m, d, 1, B)`` view of the data ``(m, B, d)``."""
    return x.permute(0, 2, 1).unsqueeze(2)


def fly(v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor, left: bool) -> torch.Tensor:
    """The on-the-fly sweep (batch last), autograd through :class:`FlySweep`."""
    mats = site_matrices(cores, left)
    xt = _data_last(x)
    needs_grad = v.requires_grad or cores.requires_grad or x.requires_grad
    if needs_grad and torch.is_grad_enabled() and not torch._C._are_functorch_transforms_active():
        return FlySweep.apply(v, mats, xt, not left).t()
    # No gradient, or a torch.func transform (which differentiates the plain loop itself)
    m, k, _ = mats.shape
    d = xt.shape[1]
    order = range(m) if left else range(m - 1, -1, -1)
    w = v.unsqueeze(1)
    for i in order:
        w = ((mats[i] @ w).view(d, k // d, -1) * xt[i]).sum(0)
    return w.t()


class FlySweep(torch.autograd.Function):
    """``(v, mats, data) -> (D, B)``: the fly sweep with its own reverse sweep.

    Forward keeps the vector entering each site (``(m, D, B)``); backward runs the sites
    in reverse: ``dY = g * x``, ``dM = dY @ w^T``, ``g = M^T @ dY`` (and ``dx`` if the
    data requires grad). Once differentiable (no double backward).
    """

    @staticmethod
    def forward(ctx, v, mats, xt, reverse):  # noqa: D102
        m, k, din = mats.shape
        d, B = xt.shape[1], xt.shape[3]
        dout = k // d
        ws = mats.new_empty(m, din, B)  # the vector entering each step
        ws[0] = v.unsqueeze(1)
        order = list(range(m - 1, -1, -1)) if reverse else list(range(m))
        out = None
        for step, i in enumerate(order):
            y = torch.mm(mats[i], ws[step]).view(d, dout, B).mul_(xt[i])
            if step + 1 < m:
                torch.sum(y, 0, out=ws[step + 1])
            else:
                out = y.sum(0)
        ctx.reverse = reverse
        ctx.save_for_backward(ws, mats, xt)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # noqa: D102
        ws, mats, xt = ctx.saved_tensors
        m, k, din = mats.shape
        d, B = xt.shape[1], xt.shape[3]
        dout = k // d
        need_v, need_m, need_x = ctx.needs_input_grad[:3]
        dmats = torch.zeros_like(mats) if need_m else None
        dxt = torch.empty_like(xt) if need_x else None
        dy = grad.new_empty(d, dout, B)
        g = grad.contiguous()
        order = list(range(m - 1, -1, -1)) if ctx.reverse else list(range(m))
        for step in range(m - 1, -1, -1):
            i = order[step]
            torch.mul(g, xt[i], out=dy)
            if need_x:
                y = torch.mm(mats[i], ws[step]).view(d, dout, B)
                torch.sum(y * g, 1, keepdim=True, out=dxt[i])
            if need_m:
                torch.mm(dy.view(k, B), ws[step].t(), out=dmats[i])
            g = torch.mm(mats[i].t(), dy.view(k, B))
        dv = g.sum(1) if need_v else None
        return dv, dmats, dxt, None


def _scan_step(w: torch.Tensor, site: tuple[torch.Tensor, torch.Tensor]):
    mat, xt = site
    y = (mat @ w).view(xt.shape[0], -1, w.shape[1]) * xt
    new = y.sum(0)
    return new, new.new_zeros(())


def scan_sweep(v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor, left: bool):
    """The fly sweep as one ``torch._higher_order_ops.scan`` over the sites (the form
    ``torch.compile`` and ``torch.export`` trace without unrolling)."""
    from torch._higher_order_ops import scan

    mats = site_matrices(cores, left)
    xt = _data_last(x)
    w0 = v.unsqueeze(1).expand(v.shape[0], x.shape[1]).contiguous()
    w, _ = scan(_scan_step, w0, (mats, xt), reverse=not left)
    return w.t()


def _core_data(cores: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(m, B, Dl, Dr)``: every core contracted with its data vectors."""
    m, dl, d, dr = cores.shape
    flat = cores.permute(0, 2, 1, 3).reshape(m, d, dl * dr)
    return torch.bmm(x, flat).view(m, x.shape[1], dl, dr)


def vector(v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor, left: bool) -> torch.Tensor:
    """Build the core-data matrices in one product, then sweep a vector through them."""
    # unbind, not mats[i]: each indexing backward would fill a zero (m, B, D, D)
    mats = _core_data(cores, x).unbind(0)
    m = len(mats)
    if left:
        w = v @ mats[0]
        for i in range(1, m):
            w = torch.bmm(w.unsqueeze(1), mats[i]).squeeze(1)
    else:
        w = mats[-1] @ v
        for i in range(m - 2, -1, -1):
            w = torch.bmm(mats[i], w.unsqueeze(-1)).squeeze(-1)
    return w


def tree(v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor, left: bool) -> torch.Tensor:
    """Build the core-data matrices, multiply them in pairwise levels, close with ``v``."""
    mats = _core_data(cores, x)
    while mats.shape[0] > 1:
        m = mats.shape[0]
        half = m // 2
        pairs = torch.matmul(mats[0 : 2 * half : 2], mats[1 : 2 * half : 2])
        mats = pairs if m % 2 == 0 else torch.cat([pairs, mats[2 * half :]])
    prod = mats.squeeze(0)
    return (v @ prod) if left else (prod @ v)
