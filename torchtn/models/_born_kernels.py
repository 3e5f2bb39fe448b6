"""Tensor kernels of the Born machine ``p(x) = |psi(x)|^2 / Z`` on a chain of cores.

Everything works on plain tensors: a chain is a list of cores ``(*cb, l, d, r)`` with
optional leading core-batch axes ``cb`` (shared by every core; :class:`MPSData` has them)
and is closed by a trace, ``psi(x) = Tr(A_0[x_0] ... A_{n-1}[x_{n-1}])``. An open
(obc) chain is the special case of unit outer bonds, ``cores[0].shape[-3] == 1 ==
cores[-1].shape[-1]``, for which the trace is the single entry.

Every sweep renormalises its running environment at each site and accumulates the
logarithms of the norms divided out, so nothing overflows or underflows on long chains
(784 sites and more): results are returned in log space. Sampling and marginals run
without gradients; the log-probabilities are differentiable.

Layer: imports only ``torch`` and ``torchtn.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from torchtn.errors import TNValueError

__all__ = [
    "log_amplitude",
    "log_norm",
    "log_prob",
    "open_chain",
    "right_canonical",
    "sample",
    "marginal",
]


def _tiny(t: torch.Tensor) -> float:
    return torch.finfo(t.real.dtype if t.is_complex() else t.dtype).tiny


def _normalise(env: torch.Tensor, dims: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """``env`` divided by its norm over ``dims`` (clamped away from 0) and that norm's log."""
    norm = torch.linalg.vector_norm(env, dim=dims, keepdim=True).clamp_min(_tiny(env))
    return env / norm, norm.log().reshape(norm.shape[: len(norm.shape) - len(dims)])


def log_amplitude(
    cores: Sequence[torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``log |psi(x)|`` and the phase ``psi(x) / |psi(x)|`` of every configuration.

    Args:
        cores: The chain, ``(*cb, l, d_i, r)`` each.
        x: Integer indices ``(*xb, n)`` (the one-hot case), or embedded vectors
            ``(*xb, n, d)`` of a floating or complex dtype (every site the same ``d``).

    Returns:
        ``(log_abs, phase)`` of shape ``broadcast(xb, cb)``. ``log_abs`` is ``-inf``
        where ``psi(x) = 0`` (the phase is then 0).
    """
    embedded = x.is_floating_point() or x.is_complex()
    first = cores[0]
    cb = first.shape[:-3]
    xb = x.shape[:-2] if embedded else x.shape[:-1]
    batch = torch.broadcast_shapes(xb, cb)
    d0 = first.shape[-3]
    dtype = torch.promote_types(first.dtype, x.dtype) if embedded else first.dtype
    eye = torch.eye(d0, dtype=dtype, device=first.device)
    env = eye.expand(*batch, d0, d0)  # (..., a, l): a is the open index closed by the trace
    log_acc = torch.zeros(batch, dtype=eye.real.dtype, device=first.device)
    for i, core in enumerate(cores):
        lb, d, r = core.shape[-3:]
        t = (env @ core.reshape(*cb, lb, d * r).to(dtype)).reshape(*batch, d0, d, r)
        if embedded:
            env = torch.einsum("...adr,...d->...ar", t, x[..., i, :].to(dtype))
        else:
            idx = x[..., i].expand(batch).reshape(*batch, 1, 1, 1).expand(*batch, d0, 1, r)
            env = t.gather(-2, idx).squeeze(-2)
        env, log_n = _normalise(env, (-2, -1))
        log_acc = log_acc + log_n
    final = env.diagonal(dim1=-2, dim2=-1).sum(-1)
    mag = final.abs()
    phase = torch.where(mag > 0, final / mag.clamp_min(_tiny(mag)), torch.zeros_like(final))
    return log_acc + mag.log(), phase


def log_norm(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """``log Z`` with ``Z = sum_x |psi(x)|^2``, by a renormalised transfer-matrix sweep.

    The environment ``E[(a', a), k', k]`` carries the two open trace indices (one of
    size 1 for an open chain): cost ``D0^2 (l^2 d r + l d r^2)`` per site.

    Returns:
        A real tensor of shape ``cb``; differentiable.
    """
    first = cores[0]
    cb = first.shape[:-3]
    d0 = first.shape[-3]
    eye = torch.eye(d0, dtype=first.dtype, device=first.device)
    env = torch.einsum("ac,bd->abcd", eye, eye).reshape(d0 * d0, d0, d0).expand(*cb, -1, -1, -1)
    log_acc = torch.zeros(cb, dtype=eye.real.dtype, device=first.device)
    for core in cores:
        lb, d, r = core.shape[-3:]
        t = env @ core.reshape(*cb, 1, lb, d * r)  # (..., P, l', d r)
        t = t.reshape(*cb, d0 * d0, lb * d, r)
        env = core.conj().reshape(*cb, 1, lb * d, r).mT @ t  # (..., P, r', r)
        env, log_n = _normalise(env, (-3, -2, -1))
        log_acc = log_acc + log_n
    closed = env.reshape(*cb, d0, d0, d0, d0).diagonal(dim1=-4, dim2=-2)
    closed = closed.diagonal(dim1=-3, dim2=-2).sum((-2, -1)).real
    return log_acc + closed.log()


def log_prob(cores: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``log p(x) = 2 log |psi(x)| - log Z`` (see :func:`log_amplitude` for ``x``)."""
    log_abs, _ = log_amplitude(cores, x)
    return 2 * log_abs - log_norm(cores)


# -- sampling --------------------------------------------------------------------------------
def open_chain(cores: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The same state as an open chain (unit outer bonds).

    A closed chain with trace index ``a`` of size ``D0`` carries ``a`` along every bond:
    bond ``k`` becomes ``D0 * D_k`` (``A'[(a, i), s, (b, k)] = delta_ab A[i, s, k]``).
    An already open chain is returned as a list of the same tensors.
    """
    first, last = cores[0], cores[-1]
    d0 = first.shape[-3]
    if d0 == 1 and last.shape[-1] == 1:
        return list(cores)
    cb = first.shape[:-3]
    if len(cores) == 1:
        return [first.diagonal(dim1=-3, dim2=-1).sum(-1).reshape(*cb, 1, -1, 1)]
    eye = torch.eye(d0, dtype=first.dtype, device=first.device)
    out = [first.movedim(-3, -2).reshape(*cb, 1, first.shape[-2], -1)]  # (1, d, (a, r))
    for core in cores[1:-1]:
        lb, d, r = core.shape[-3:]
        wide = torch.einsum("ab,...isk->...aisbk", eye, core)
        out.append(wide.reshape(*cb, d0 * lb, d, d0 * r))
    lb, d, _ = last.shape[-3:]
    out.append(last.movedim(-1, -3).reshape(*cb, d0 * lb, d, 1))  # ((a, l), d, 1)
    return out


def right_canonical(
    cores: Sequence[torch.Tensor], renormalize: bool = True
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """An open chain with every core but the first a right isometry:
    ``sum_{s,r} Q[l, s, r] conj(Q[l', s, r]) = delta_{l l'}``.

    Computed by QR decompositions from the right (bonds become ``min(l, d r)``, never
    larger). With ``renormalize`` the factor carried leftwards is divided by its norm at
    every site, so nothing overflows; the new cores then give ``exp(-log_scale)`` times
    the state (``log_scale`` is 0 without ``renormalize``).

    Returns:
        ``(cores, log_scale)``, ``log_scale`` of shape ``cb``.
    """
    out = list(cores)
    cb = out[0].shape[:-3]
    real = out[0].real.dtype if out[0].is_complex() else out[0].dtype
    log_scale = torch.zeros(cb, dtype=real, device=out[0].device)
    for i in range(len(out) - 1, 0, -1):
        core = out[i]
        lb, d, r = core.shape[-3:]
        q, rr = torch.linalg.qr(core.reshape(*cb, lb, d * r).mH)  # M^H = q rr
        k = q.shape[-1]
        out[i] = q.mH.reshape(*cb, k, d, r)
        gauge = rr.mH  # (l, k): M = gauge @ Q
        if renormalize:
            gauge, log_n = _normalise(gauge, (-2, -1))
            log_scale = log_scale + log_n
        prev = out[i - 1]
        pl, pd, _ = prev.shape[-3:]
        out[i - 1] = (prev.reshape(*cb, pl * pd, lb) @ gauge).reshape(*cb, pl, pd, k)
    return out, log_scale


def _condition_envs(
    cores: list[torch.Tensor], values: torch.Tensor, mask: torch.Tensor, batch: tuple
) -> list[torch.Tensor | None]:
    """``envs[i]`` ``(*batch, r_i, r_i)``: the right environment of the sites after ``i``
    with the conditioned ones fixed (None where it is the identity: no condition to the
    right, since the cores are right isometries)."""
    n = len(cores)
    envs: list[torch.Tensor | None] = [None] * n
    observed = mask.reshape(-1, n).any(0).nonzero()
    if observed.numel() == 0:
        return envs
    last = int(observed.max())
    cb = cores[0].shape[:-3]
    env: torch.Tensor | None = None
    for i in range(last, 0, -1):
        core = cores[i]
        lb, d, r = core.shape[-3:]
        right = env if env is not None else torch.eye(r, dtype=core.dtype, device=core.device)
        # free site: sum_s conj(Q_s) R Q_s^T
        t = core.conj().reshape(*cb, lb * d, r) @ right  # (..., l' d, r)
        free = torch.einsum("...isr,...jsr->...ij", t.reshape(*t.shape[:-2], lb, d, r), core)
        idx = values[..., i].reshape(*batch, 1, 1, 1).expand(*batch, lb, 1, r)
        fixed_core = core.expand(*batch, lb, d, r).gather(-2, idx).squeeze(-2)  # (..., l, r)
        fixed = fixed_core.conj() @ right @ fixed_core.mT
        env = torch.where(mask[..., i].reshape(*batch, 1, 1), fixed, free)
        trace = env.diagonal(dim1=-2, dim2=-1).sum(-1).real
        env = env / trace.clamp_min(_tiny(trace)).reshape(*batch, 1, 1)
        envs[i - 1] = env
    return envs


def sample(
    cores: Sequence[torch.Tensor],
    n: int,
    generator: torch.Generator | None = None,
    values: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exact ancestral samples of ``p(x) = |psi(x)|^2 / Z``, site by site.

    The chain is opened (:func:`open_chain`) and brought to right-canonical form, so the
    marginal of the first ``i + 1`` sites is the squared norm of a left vector: site
    ``i`` costs one ``(n, l) x (l, d r)`` product. Conditions (``mask`` true: the site
    takes ``values``) to the right of a site enter through per-sample right environments
    (:func:`_condition_envs`), so the samples follow the exact conditional distribution.

    Args:
        cores: The chain (detached internally).
        n: Number of samples.
        generator: Source of the uniform draws (one per sample, core batch and site).
        values: Long ``(n, *cb, sites)`` (broadcast), the conditioned values.
        mask: Bool, same shape as ``values``: where the condition applies.

    Returns:
        Long tensor ``(n, *cb, sites)``.

    Raises:
        TNValueError: The condition has probability 0 under the model.
    """
    cores, _ = right_canonical(open_chain([c.detach() for c in cores]))
    first = cores[0]
    cb = tuple(first.shape[:-3])
    batch = (n, *cb)
    sites = len(cores)
    device = first.device
    if mask is not None:
        values = values.to(device).expand(*batch, sites)
        mask = mask.to(device).expand(*batch, sites)
        envs = _condition_envs(cores, values, mask, batch)
    else:
        envs = [None] * sites
    out = torch.empty(*batch, sites, dtype=torch.long, device=device)
    vec = torch.ones(*batch, 1, dtype=first.dtype, device=device)
    real = first.real.dtype if first.is_complex() else first.dtype
    gen_device = generator.device if generator is not None else device
    for i, core in enumerate(cores):
        lb, d, r = core.shape[-3:]
        w = (vec.unsqueeze(-2) @ core.reshape(*cb, lb, d * r)).reshape(*batch, d, r)
        env = envs[i]
        if env is None:
            p = (w.conj() * w).real.sum(-1)
        else:
            p = torch.einsum("...sr,...rq,...sq->...s", w.conj(), env, w).real
        p = p.clamp_min(0)
        cum = p.cumsum(-1)
        u = torch.rand(batch, generator=generator, device=gen_device, dtype=real).to(device)
        # Inverse CDF on half-open intervals [cum_{s-1}, cum_s); capped at the last value
        # of non-zero probability, which rounding of u * total could otherwise overshoot.
        s = (cum <= (u * cum[..., -1]).unsqueeze(-1)).sum(-1)
        last_nonzero = ((p > 0) * torch.arange(1, d + 1, device=device)).amax(-1) - 1
        s = torch.minimum(s, last_nonzero.clamp_min(0))
        if mask is not None:
            s = torch.where(mask[..., i], values[..., i], s)
        chosen = p.gather(-1, s.unsqueeze(-1)).squeeze(-1)
        if not bool((chosen > 0).all()):
            raise TNValueError(
                f"Cannot sample: the condition has probability 0 under the model (site {i})"
            )
        out[..., i] = s
        vec = w.gather(-2, s.reshape(*batch, 1, 1).expand(*batch, 1, r)).squeeze(-2)
        vec, _ = _normalise(vec, (-1,))
    return out


# -- marginals -------------------------------------------------------------------------------
def marginal(cores: Sequence[torch.Tensor], sites: Sequence[int]) -> torch.Tensor:
    """Exact marginal distribution of the (sorted, distinct) ``sites``.

    A transfer-matrix sweep that keeps the physical index of every kept site on the
    diagonal: cost ``K D0^2 (l^2 d r + l d r^2)`` per site with ``K`` the product of the
    kept dims so far.

    Returns:
        Real tensor ``(*cb, d_{s_0}, ..., d_{s_k})`` summing to 1 over the site axes.
    """
    keep = set(sites)
    first = cores[0]
    cb = first.shape[:-3]
    d0 = first.shape[-3]
    eye = torch.eye(d0, dtype=first.dtype, device=first.device)
    env = torch.einsum("ac,bd->abcd", eye, eye).reshape(1, d0 * d0, d0, d0)
    env = env.expand(*cb, -1, -1, -1, -1)  # (..., K, P, l', l)
    dims = []
    for i, core in enumerate(cores):
        lb, d, r = core.shape[-3:]
        t = env @ core.reshape(*cb, 1, 1, lb, d * r)
        t = t.reshape(*t.shape[:-2], lb, d, r)  # (..., K, P, l', d, r)
        if i in keep:
            env = torch.einsum("...kpisr,...isq->...kspqr", t, core.conj())
            env = env.reshape(*cb, -1, d0 * d0, env.shape[-2], r)
            dims.append(d)
        else:
            env = torch.einsum("...kpisr,...isq->...kpqr", t, core.conj())
        env, _ = _normalise(env, (-4, -3, -2, -1))
    closed = env.reshape(*cb, -1, d0, d0, d0, d0).diagonal(dim1=-4, dim2=-2)
    probs = closed.diagonal(dim1=-3, dim2=-2).sum((-2, -1)).real.clamp_min(0)
    probs = probs / probs.sum(-1, keepdim=True)
    return probs.reshape((*cb, *dims))
