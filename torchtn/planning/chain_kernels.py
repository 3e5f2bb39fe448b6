"""Tensor kernels of the open-chain end sweep (:mod:`torchtn.planning.chain` picks one).

All take the boundary vector ``v`` ``(D,)``, the stacked cores ``(m, D, d, D)`` (square:
:func:`~torchtn.planning.chain.sweep` pads them) and the stacked data ``(m, B, d)``, and
return ``(B, D)``.

``fly`` sweeps a vector through the chain, contracting each core with the running vector
and then with its data. It keeps the batch *last* (the vector is ``(D, B)``): per site
one broadcast product, the outer product of vector and data ``(D, d, B)`` whose inner
axis is the batch, and one ``(D, D d) @ (D d, B)`` product that also sums over ``d``,
which is 2-3x faster on a CPU than the batch-first form, whose reductions
run over axes of size ``d``. When gradients are needed it is one autograd Function
(:class:`FlySweep`) that saves one ``(D, B)`` vector per site and runs the reverse sweep
itself (three tensor calls per site instead of autograd's graph of five), which halves a
training step. The cores are read in place (transposed views), so the sweep makes no
copy of them. Under ``torch.compile``/``torch.export`` tracing the same step runs in
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


def _sites(x: torch.Tensor, left: bool):
    """``(i, x_i)`` in sweep order, ``x_i`` the ``(d, B)`` view of site ``i``'s data.

    The data stays in its ``(m, B, d)`` memory: a batch-last copy would make the
    products below faster, but copying ``(B, d)`` to ``(d, B)`` costs as much as it saves.
    """
    xt = x.permute(0, 2, 1)
    sites = range(x.shape[0]) if left else range(x.shape[0] - 1, -1, -1)
    for i in sites:
        yield i, xt[i]


class _Views:
    """The cores as the matrices a sweep step needs, all views (no copy): ``lv`` ``(m,
    Dl d, Dr)`` and ``rv`` ``(m, Dl, d Dr)``."""

    def __init__(self, cores: torch.Tensor) -> None:
        m, dl, d, dr = cores.shape
        self.lv = cores.reshape(m, dl * d, dr)
        self.rv = cores.reshape(m, dl, d * dr)


def _outer(a: torch.Tensor, b: torch.Tensor, buf: torch.Tensor | None) -> torch.Tensor:
    """``a * b`` (broadcast) as a contiguous ``(rows, B)`` matrix, into ``buf`` if given
    (the data's strides would otherwise give the product a non-contiguous layout)."""
    if buf is None:  # torch.func transforms: no out= buffers
        return (a * b).reshape(-1, b.shape[-1])
    torch.mul(a, b, out=buf)
    return buf.view(-1, buf.shape[-1])


def _step(views: _Views, i: int, w, xi, left: bool, out=None, buf=None) -> torch.Tensor:
    """One site: the outer product of vector and data, then one product with the core
    (the sum over ``d`` happens inside the ``mm``)."""
    if left:  # (Dl, d, B) -> (Dr, B)
        return torch.mm(views.lv[i].t(), _outer(w.unsqueeze(1), xi, buf), out=out)
    return torch.mm(views.rv[i], _outer(xi.unsqueeze(1), w, buf), out=out)  # (d, Dr, B)


def _outer_buffer(cores: torch.Tensor, x: torch.Tensor, left: bool) -> torch.Tensor:
    _, dl, d, dr = cores.shape
    return cores.new_empty((dl, d, x.shape[1]) if left else (d, dr, x.shape[1]))


def fly(v: torch.Tensor, cores: torch.Tensor, x: torch.Tensor, left: bool) -> torch.Tensor:
    """The on-the-fly sweep (batch last), autograd through :class:`FlySweep`."""
    needs_grad = v.requires_grad or cores.requires_grad or x.requires_grad
    if needs_grad and torch.is_grad_enabled() and not torch._C._are_functorch_transforms_active():
        return FlySweep.apply(v, cores, x, left).t()
    # No gradient, or a torch.func transform (which differentiates these plain ops)
    views = _Views(cores)
    plain = torch._C._are_functorch_transforms_active()
    buf = None if plain else _outer_buffer(cores, x, left)
    w = v.unsqueeze(1).expand(v.shape[0], x.shape[1])
    for i, xi in _sites(x, left):
        w = _step(views, i, w, xi, left, buf=buf)
    return w.t()


class FlySweep(torch.autograd.Function):
    """``(v, cores, x, left) -> (D, B)``: the fly sweep with its own reverse sweep.

    Forward keeps the vector entering each site (``(m, D, B)``). Backward runs the
    sites in reverse with three calls each: ``dY = g x`` (outer product per sample),
    the core's gradient ``w dY^T`` (or ``dY w^T``) written straight into the cores'
    layout, and ``g = C dY``; no permuted copy of the cores is ever made. Once
    differentiable (no double backward).
    """

    @staticmethod
    def forward(ctx, v, cores, x, left):  # noqa: D102
        m, dl, _, dr = cores.shape
        views = _Views(cores)
        ws = cores.new_empty(m + 1, dl if left else dr, x.shape[1])  # every step's vector
        ws[0] = v.unsqueeze(1)
        buf = _outer_buffer(cores, x, left)
        for step, (i, xi) in enumerate(_sites(x, left)):
            _step(views, i, ws[step], xi, left, out=ws[step + 1], buf=buf)
        ctx.left = left
        ctx.save_for_backward(ws, cores, x)
        return ws[m].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # noqa: D102
        ws, cores, x = ctx.saved_tensors
        left = ctx.left
        m, dl, d, dr = cores.shape
        views = _Views(cores)
        need_v, need_c, need_x = ctx.needs_input_grad[:3]
        dcores = torch.zeros_like(cores, memory_format=torch.contiguous_format) if need_c else None
        dgrid = None
        if need_c:  # the cores' gradient as the matrices below (views of dcores)
            dgrid = dcores.view(m, dl, d * dr) if left else dcores.view(m, dl * d, dr)
        dxt = x.new_empty(m, d, x.shape[1]) if need_x else None
        g = grad.contiguous()
        dbuf = _outer_buffer(cores, x, not left)  # dY has the other direction's shape
        # the reverse sweep visits the sites in the opposite order
        for step, (i, xi) in zip(range(m - 1, -1, -1), _sites(x, not left), strict=True):
            w = ws[step]
            if left:  # w (Dl, B), g (Dr, B): dY (d, Dr, B)
                dy = _outer(xi.unsqueeze(1), g, dbuf)
                if need_x:
                    t = torch.mm(views.lv[i], g).view(dl, d, -1)
                    torch.sum(t * w.unsqueeze(1), 0, out=dxt[i])
                if need_c:
                    torch.mm(w, dy.t(), out=dgrid[i])
                g = torch.mm(views.rv[i], dy)
            else:  # w (Dr, B), g (Dl, B): dY (Dl, d, B)
                dy = _outer(g.unsqueeze(1), xi, dbuf)
                if need_x:
                    t = torch.mm(views.rv[i].t(), g).view(d, dr, -1)
                    torch.sum(t * w, 1, out=dxt[i])
                if need_c:
                    torch.mm(dy, w.t(), out=dgrid[i])
                g = torch.mm(views.lv[i].t(), dy)
        dv = g.sum(1) if need_v else None
        dx = dxt.permute(0, 2, 1) if need_x else None
        return dv, dcores, dx, None


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
    xt = x.permute(0, 2, 1).unsqueeze(2)  # (m, d, 1, B)
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
