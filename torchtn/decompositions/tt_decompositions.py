"""TT-RSS: tensor trains learned from function samples by recursive sketching.

:func:`tt_rss` builds MPS cores for a (scalar or vector-valued) function of ``N``
discrete or continuous variables, each passed through an embedding, using only function
evaluations on grids built from a set of sketch samples. The helpers below are public
because TensorKrowch exposes them from the same module.

The random draws (label sampling, sub-sampling of candidate values, Haar unitaries, and
one ``int64`` draw per batched evaluation pass, which is what a ``DataLoader`` iterator
consumes) happen in the same order as in TensorKrowch 1.1.6, so a seeded run returns the
same cores.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from torchtn._utils import prod
from torchtn.errors import TNTypeError, TNValueError
from torchtn.utils import random_unitary

__all__ = [
    "extend_with_output",
    "sketching",
    "trimming",
    "create_projector",
    "val_error",
    "tt_rss",
]

Device = torch.device | str | None


def _to(x: torch.Tensor, device: Device) -> torch.Tensor:
    return x if device is None else x.to(device)


def _evaluate(
    function: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    batch_size: int,
    device: Device,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Evaluate ``function`` on ``inputs`` in row batches, results concatenated on CPU.

    With ``labels`` (shape ``(n, 1)``, int64) one output entry per row is gathered.
    Consumes one ``int64`` draw of the global generator, as a ``DataLoader`` pass does.
    """
    torch.empty((), dtype=torch.int64).random_()
    pieces = []
    with torch.no_grad():
        for start in range(0, inputs.shape[0], batch_size):
            out = function(_to(inputs[start : start + batch_size], device))
            if labels is not None:
                lab = _to(labels[start : start + batch_size], out.device)
                out = out.gather(dim=1, index=lab).flatten()
            pieces.append(out.cpu())
    if not pieces:
        raise TNValueError("cannot evaluate `function` on an empty set of samples")
    return torch.cat(pieces, dim=0)


def _insert_column(samples: torch.Tensor, column: torch.Tensor, position: int) -> torch.Tensor:
    """Insert ``column`` (shape ``(B, 1)``) as column ``position`` of the samples."""
    if samples.dim() == 3:
        column = column.unsqueeze(2).expand(-1, -1, samples.shape[2])
    return torch.cat([samples[:, :position], column.to(samples.dtype), samples[:, position:]], 1)


def extend_with_output(
    function: Callable[[torch.Tensor], torch.Tensor],
    samples: torch.Tensor,
    labels: torch.Tensor | None,
    out_position: int,
    batch_size: int,
    device: Device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Insert a label column into the samples of a vector-valued function.

    Without ``labels``, the outputs of ``function`` are read as amplitudes: a class is
    drawn for every sample with probability proportional to the squared output (one
    ``torch.rand(B, 1)`` draw).

    Args:
        function: Maps ``(B, N[, in_dim])`` to ``(B, out_dim)``.
        samples: Samples of shape ``(B, N)`` or ``(B, N, in_dim)``.
        labels: Optional classes of shape ``(B,)``.
        out_position: Index of the new column (``0 <= out_position <= N``).
        batch_size: Rows per evaluation of ``function``.
        device: Device on which ``function`` is evaluated.

    Returns:
        ``(extended_samples, outputs)``: samples with ``N + 1`` columns (the label
        repeated along ``in_dim`` for 3-dimensional samples) and ``(B, 1)`` values: the
        absolute output at the drawn class, or ones when ``labels`` are given.
    """
    if labels is not None:
        ids = labels.reshape(-1, 1)
        outputs = torch.ones(ids.shape, dtype=torch.get_default_dtype())
        return _insert_column(samples, ids, out_position), outputs

    probs = _evaluate(function, samples, batch_size, device).pow(2)
    cum = probs.cumsum(dim=1)
    cum = cum / cum[:, -1:]
    draw = torch.rand(probs.shape[0], 1)
    # Class = number of cumulative probabilities strictly below the draw.
    ids = probs.shape[1] - (draw <= cum).sum(dim=1, keepdim=True)
    ids = ids.clamp(max=probs.shape[1] - 1)
    outputs = probs.gather(dim=1, index=ids).sqrt()
    return _insert_column(samples, ids, out_position), outputs


def sketching(
    function: Callable[[torch.Tensor], torch.Tensor],
    tensors_list: Sequence[torch.Tensor],
    out_position: int,
    batch_size: int,
    device: Device,
) -> torch.Tensor:
    """Evaluate ``function`` on the Cartesian product of blocks of columns.

    Block ``i`` has shape ``(n_i, c_i[, in_dim])``: ``n_i`` rows of ``c_i`` consecutive
    variables. Every combination of one row per block, concatenated column-wise in block
    order, is a full sample. For a vector-valued function (``out_position >= 0``) the
    column at ``out_position`` is removed from the sample and selects which output entry
    is kept; for a scalar one (``out_position < 0``) output column 0 is kept.

    Args:
        function: Maps ``(B, N[, in_dim])`` to ``(B, out_dim)``.
        tensors_list: The blocks of columns.
        out_position: Position of the label column among all columns, or ``-1``.
        batch_size: Rows per evaluation of ``function``.
        device: Device on which ``function`` is evaluated.

    Returns:
        Tensor of shape ``(n_0, n_1, ...)`` on CPU.

    Raises:
        TNTypeError: If a block is not a tensor.
        TNValueError: If a block does not have 2 or 3 dimensions.
    """
    blocks = list(tensors_list)
    for i, t in enumerate(blocks):
        if not isinstance(t, torch.Tensor):
            raise TNTypeError(f"`tensors_list[{i}]` should be a torch.Tensor, got {type(t)}")
        if t.dim() not in (2, 3):
            raise TNValueError(
                f"`tensors_list[{i}]` should have 2 or 3 dimensions, got shape {tuple(t.shape)}"
            )
    grid_shape = [t.shape[0] for t in blocks]
    n_blocks = len(blocks)
    # 2-D blocks (e.g. the label values) are repeated along in_dim next to 3-D ones.
    in_dim = max((t.shape[2] for t in blocks if t.dim() == 3), default=1)
    pieces = []
    for i, t in enumerate(blocks):
        t3 = t if t.dim() == 3 else t.unsqueeze(-1).expand(-1, -1, in_dim)
        view = [1] * n_blocks + list(t3.shape[1:])
        view[i] = t3.shape[0]
        pieces.append(t3.reshape(view).expand(grid_shape + list(t3.shape[1:])))
    grid = torch.cat(pieces, dim=-2)  # (*grid_shape, n_columns, in_dim or 1)

    if out_position >= 0:
        labels = grid[..., out_position, 0].reshape(-1, 1).to(torch.int64)
        grid = torch.cat([grid[..., :out_position, :], grid[..., out_position + 1 :, :]], -2)
    else:
        labels = torch.zeros(grid[..., 0, 0].numel(), 1, dtype=torch.int64)
    flat = grid.reshape((-1,) + tuple(grid.shape[-2:]))
    if flat.shape[-1] == 1:
        flat = flat.squeeze(-1)
    values = _evaluate(function, flat, batch_size, device, labels=labels)
    return values.reshape(grid_shape)


def trimming(
    mat: torch.Tensor, rank: int | None, cum_percentage: float | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """SVD of ``mat`` and the number of leading singular vectors to keep.

    Singular values are kept until their cumulative fraction of the total reaches
    ``cum_percentage`` or their count reaches ``rank``, whichever comes first; an
    all-zero spectrum keeps 1. Either criterion may be ``None`` (TensorKrowch requires
    ``cum_percentage``).

    Args:
        mat: Matrix ``(M, N)``.
        rank: Largest number of singular values to keep.
        cum_percentage: Fraction of the singular-value sum to keep.

    Returns:
        ``(u, s, vh, r)``: the untruncated reduced SVD and the rank ``r``.
    """
    u, s, vh = torch.linalg.svd(mat, full_matrices=False)
    k = s.shape[0]
    limit = k if rank is None else min(rank, k)
    if k == 0:
        return u, s, vh, 0
    frac = s.cumsum(0) / (s.sum() + 1e-10)
    if cum_percentage is None:
        count = torch.zeros((), dtype=torch.int64)
    else:
        count = (frac < cum_percentage).sum()
    first_zero, below = torch.stack([(frac[0] == 0).long(), count]).tolist()
    if first_zero:
        return u, s, vh, 1
    if cum_percentage is None:
        return u, s, vh, max(1, limit)
    return u, s, vh, max(1, min(below + 1, limit))


def create_projector(S_k_1: torch.Tensor, S_k: torch.Tensor) -> list[torch.Tensor]:
    """Express each row of ``S_k`` as (row of ``S_k_1``, new last column).

    Args:
        S_k_1: Unique rows ``(n, k[, in_dim])``.
        S_k: Rows ``(m, k + 1[, in_dim])`` whose first ``k`` columns are rows of
            ``S_k_1``.

    Returns:
        ``[parent, last]``: ``parent`` (int64, ``(m,)``) is the index in ``S_k_1`` of
        each row's prefix (``-1`` if absent) and ``last = S_k[:, -1:]``.
    """
    n = S_k_1.shape[0]
    prefix = S_k[:, :-1]
    combined = torch.cat([S_k_1.reshape(n, -1), prefix.reshape(prefix.shape[0], -1)], 0)
    _, inverse = torch.unique(combined, dim=0, return_inverse=True)
    lookup = torch.full((int(inverse.max()) + 1 if inverse.numel() else 0,), -1)
    lookup[inverse[:n]] = torch.arange(n)
    return [lookup[inverse[n:]], S_k[:, -1:]]


def _embed(embedding: Callable, x: torch.Tensor, device: Device) -> torch.Tensor:
    """Embed a single column of values ``(n, 1[, in_dim])`` -> ``(n, embed_dim)`` on CPU."""
    return embedding(_to(x, device)).squeeze(1).cpu()


def _site_embedding(
    x: torch.Tensor,
    is_out: bool,
    embedding: Callable,
    out_dim: int,
    device: Device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Embed one column of values ``(n, 1[, in_dim])`` -> ``(n, phys)`` in ``dtype``.

    Labels (the output site) get a one-hot (basis) embedding.
    """
    if is_out:
        labels = x.reshape(x.shape[0], -1)[:, 0].to(torch.int64)
        return torch.nn.functional.one_hot(labels, out_dim).to(dtype)
    return _embed(embedding, x, device).to(dtype)


def _contract_cores(
    cores: Sequence[torch.Tensor], embedded: torch.Tensor, out_position: int
) -> torch.Tensor:
    """Contract MPS cores with embedded inputs ``(B, n_inputs, d)``.

    Returns ``(B, out_dim)`` if ``out_position >= 0`` (that core has an open leg),
    else ``(B,)``.
    """
    n = len(cores)
    batch = embedded.shape[0]
    dtype = cores[0].dtype
    embedded = embedded.to(dtype)
    state = torch.ones(batch, 1, 1, dtype=dtype)
    j = 0
    for k, core in enumerate(cores):
        c = core
        if n == 1:
            c = c.reshape(1, -1, 1)
        elif k == 0:
            c = c.unsqueeze(0)
        elif k == n - 1:
            c = c.unsqueeze(-1)
        if k == out_position:
            state = torch.einsum("bol,lpr->bpr", state, c)
        else:
            mat = torch.einsum("bp,lpr->blr", embedded[:, j], c)
            state = torch.bmm(state, mat)
            j += 1
    result = state[..., 0]
    return result if out_position >= 0 else result[:, 0]


@torch.no_grad()
def val_error(
    function: Callable[[torch.Tensor], torch.Tensor],
    embedding: Callable[[torch.Tensor], torch.Tensor],
    cores: Sequence[torch.Tensor],
    sketch_samples: torch.Tensor,
    out_position: int,
    device: Device,
) -> torch.Tensor:
    """Relative error ``||f(x) - mps(E(x))|| / ||f(x)||`` of cores on samples.

    Args:
        function: The approximated function.
        embedding: The embedding of each variable.
        cores: MPS cores as returned by :func:`tt_rss`.
        sketch_samples: Samples; for a vector-valued function (``out_position >= 0``)
            they include the label column at ``out_position``, which is removed.
        out_position: Position of the output core, or ``-1`` for a scalar function.
            (TensorKrowch always assumes the default output position here.)
        device: Device on which ``function`` and ``embedding`` are evaluated.

    Returns:
        0-d tensor with the relative error.
    """
    if out_position > -1:
        sketch_samples = torch.cat(
            [sketch_samples[:, :out_position], sketch_samples[:, out_position + 1 :]], dim=1
        )
    exact = function(_to(sketch_samples, device)).cpu()
    embedded = embedding(_to(sketch_samples, device)).cpu()
    approx = _contract_cores([c.cpu() for c in cores], embedded, out_position)
    if out_position < 0:
        exact = exact[:, 0]
    return torch.linalg.vector_norm(exact - approx) / torch.linalg.vector_norm(exact)


#: Output shape each probed callable of :func:`tt_rss` should return, by argument name.
_PROBE_SHAPES = {
    "embedding": "(batch_size, n_features, embed_dim)",
    "function": "(batch_size, out_dim) (out_dim = 1 for scalar functions)",
}


def _probe(fn: Callable, name: str, x: torch.Tensor, dim: int) -> torch.Tensor:
    """Call ``fn`` (the ``name`` argument of :func:`tt_rss`) on ``x``; check its rank."""
    try:
        out = fn(x)
    except Exception as exc:
        raise TNValueError(
            f"`{name}` should take a single tensor of shape (batch_size, n_features) or "
            f"(batch_size, n_features, in_dim); calling it raised {exc!r}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.dim() != dim:
        raise TNValueError(
            f"`{name}` should return a tensor of shape {_PROBE_SHAPES[name]}, "
            f"got {getattr(out, 'shape', type(out))}"
        )
    return out


def _validate(
    function: Any,
    embedding: Any,
    sketch_samples: Any,
    labels: Any,
    domain: Any,
    out_position: Any,
    rank: Any,
    cum_percentage: Any,
    batch_size: Any,
    device: Device,
) -> tuple[int, int, int]:
    """Check the arguments of :func:`tt_rss` in TensorKrowch's order.

    Returns ``(embed_dim, out_dim, out_position)`` (``out_position == -1`` for scalar
    functions).
    """
    if not callable(function):
        raise TNTypeError(f"`function` should be callable, got {type(function).__name__}")
    if not callable(embedding):
        raise TNTypeError(f"`embedding` should be callable, got {type(embedding).__name__}")
    if not isinstance(sketch_samples, torch.Tensor):
        raise TNTypeError(
            f"`sketch_samples` should be a torch.Tensor, got {type(sketch_samples).__name__}"
        )
    if sketch_samples.dim() not in (2, 3):
        raise TNValueError(
            "`sketch_samples` should have shape (batch_size, n_features) or "
            f"(batch_size, n_features, in_dim), got {tuple(sketch_samples.shape)}"
        )
    n_features = sketch_samples.shape[1]
    if n_features == 0:
        raise TNValueError("`sketch_samples` should have at least one feature (dimension 1)")

    probe = _probe(embedding, "embedding", _to(sketch_samples[:1, :1], device), 3)
    embed_dim = probe.shape[2]
    if embed_dim == 0:
        raise TNValueError("the embedding dimension (last dimension of `embedding`'s output) is 0")

    probe = _probe(function, "function", _to(sketch_samples[:1], device), 2)
    out_dim = probe.shape[1]
    if out_dim == 0:
        raise TNValueError("the output dimension of `function` is 0")

    if labels is not None:
        if not isinstance(labels, torch.Tensor):
            raise TNTypeError(f"`labels` should be a torch.Tensor, got {type(labels).__name__}")
        if labels.shape != sketch_samples.shape[:1]:
            raise TNValueError(
                f"`labels` should have shape {tuple(sketch_samples.shape[:1])} (batch_size,), "
                f"got {tuple(labels.shape)}"
            )

    if domain is not None:
        if isinstance(domain, torch.Tensor):
            if domain.dim() != sketch_samples.dim() - 1:
                raise TNValueError(
                    "a tensor `domain` should have shape (n_values,) for 2-D `sketch_samples` "
                    f"or (n_values, in_dim) for 3-D ones, got {tuple(domain.shape)}"
                )
            if domain.dim() == 2 and domain.shape[1] == 1:
                raise TNValueError(
                    f"a 2-D `domain` should have in_dim > 1, got shape {tuple(domain.shape)}"
                )
        elif isinstance(domain, Sequence):
            for i, t in enumerate(domain):
                if not isinstance(t, torch.Tensor):
                    raise TNTypeError(
                        "`domain` should be a torch.Tensor or a sequence of tensors, got "
                        f"{type(t).__name__} at position {i}"
                    )
            if len(domain) != n_features:
                raise TNValueError(
                    f"a sequence `domain` should have one tensor per variable ({n_features}), "
                    f"got {len(domain)}"
                )
        else:
            raise TNTypeError(
                "`domain` should be a torch.Tensor or a sequence of tensors, got "
                f"{type(domain).__name__}"
            )

    if out_dim == 1:
        if out_position is not None:
            warnings.warn("`out_position` will be ignored, since `function` is scalar")
        out_position = -1
    elif out_position is None:
        out_position = (n_features + 1) // 2
    else:
        if isinstance(out_position, bool) or not isinstance(out_position, int):
            raise TNTypeError(f"`out_position` should be an int, got {type(out_position).__name__}")
        if not 0 <= out_position <= n_features:
            raise TNValueError(
                f"`out_position` should be between 0 and n_features ({n_features}), both "
                f"included, got {out_position}"
            )

    if rank is not None:
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise TNTypeError(f"`rank` should be an int, got {type(rank).__name__}")
        if rank < 1:
            raise TNValueError(f"`rank` should be at least 1, got {rank}")
    if cum_percentage is not None:
        if not isinstance(cum_percentage, float):
            raise TNTypeError(
                f"`cum_percentage` should be a float, got {type(cum_percentage).__name__}"
            )
        if not 0 < cum_percentage <= 1:
            raise TNValueError(f"`cum_percentage` should be in (0, 1], got {cum_percentage}")
    if rank is None and cum_percentage is None:
        raise TNValueError("at least one of `rank` and `cum_percentage` should be given")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TNTypeError(f"`batch_size` should be an int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise TNValueError(f"`batch_size` should be at least 1, got {batch_size}")
    return embed_dim, out_dim, out_position


def _site_banner(k: int, n: int) -> str:
    title = f"|| Site: {k + 1} / {n} ||"
    rule = "=" * len(title)
    return f"\n\n{rule}\n{title}\n{rule}"


@torch.no_grad()
def tt_rss(
    function: Callable[[torch.Tensor], torch.Tensor],
    embedding: Callable[[torch.Tensor], torch.Tensor],
    sketch_samples: torch.Tensor,
    labels: torch.Tensor | None = None,
    domain: torch.Tensor | Sequence[torch.Tensor] | None = None,
    domain_multiplier: int = 1,
    out_position: int | None = None,
    rank: int | None = None,
    cum_percentage: float | None = None,
    batch_size: int = 64,
    device: Device = None,
    verbose: bool = True,
    return_info: bool = False,
) -> list[torch.Tensor] | tuple[list[torch.Tensor], dict[str, Any]]:
    """Learn MPS cores of a function from samples (Tensor-Train via Recursive Sketching).

    Site by site, ``function`` is evaluated on the grid (distinct sample prefixes) x
    (candidate values of the variable) x (distinct sample suffixes); the suffix axis is
    mixed with a Haar-random unitary, the values are mapped to embedding space by least
    squares, the range is truncated by an SVD (:func:`trimming`) and the core is solved
    against the previous site's prefix map. For a vector-valued function an extra site
    holds the output index; its label column is taken from ``labels`` or sampled from the
    squared outputs.

    Differences from TensorKrowch 1.1.6 (bugs fixed): ``rank`` alone is enough
    (``cum_percentage`` may be ``None``); a list ``domain`` of a scalar function is indexed
    by variable (TensorKrowch reads it off by one); the validation error uses the actual
    ``out_position``; a single variable (``N = 1``) is supported; 3-D samples work for
    vector-valued functions; label one-hots use the cores' dtype; the largest bond after
    site ``k`` is ``min(D_{k-1} phys_k, prod of the remaining phys dims)`` (TensorKrowch
    uses ``phys_k ** remaining``, which truncates when ``out_dim < embed_dim``).

    Args:
        function: Maps ``(B, N)`` or ``(B, N, in_dim)`` to ``(B, out_dim)``.
        embedding: Maps ``(B, n, [in_dim])`` to ``(B, n, embed_dim)``.
        sketch_samples: Samples ``(B, N)`` or ``(B, N, in_dim)``.
        labels: Classes ``(B,)`` of the samples (vector-valued functions only).
        domain: Candidate values of every variable (``(n_values[, in_dim])``) or one
            tensor per variable. By default, the distinct sample values, randomly
            sub-sampled to ``domain_multiplier * embed_dim`` values.
        domain_multiplier: See ``domain``.
        out_position: Site of the output core, in ``[0, N]`` (default ``(N + 1) // 2``);
            ignored, with a warning, for scalar functions.
        rank: Largest bond dimension.
        cum_percentage: Fraction of the singular-value sum kept at each site, in
            ``(0, 1]``.
        batch_size: Samples per evaluation of ``function``.
        device: Device on which ``function`` and ``embedding`` are evaluated (default:
            the device of ``sketch_samples``).
        verbose: Print the progress and the cores.
        return_info: Also return ``{'total_time': seconds, 'val_eps': relative error on
            the sketch samples}``.

    Returns:
        The cores ``[(phys, D_0), (D_0, phys, D_1), ..., (D_{n-2}, phys)]`` on CPU
        (``[(phys,)]`` for one site), plus the info dictionary if ``return_info``.

    Raises:
        TNTypeError: If an argument has the wrong type.
        TNValueError: If an argument has a wrong value or ``function``/``embedding``
            cannot be called on the samples.
    """
    embed_dim, out_dim, out_position = _validate(
        function,
        embedding,
        sketch_samples,
        labels,
        domain,
        out_position,
        rank,
        cum_percentage,
        batch_size,
        device,
    )
    # Bookkeeping (unique rows, projectors, least squares) happens on CPU; `function`
    # and `embedding` run on `device`, by default the samples' device.
    if device is None:
        device = sketch_samples.device
    samples = sketch_samples.cpu()
    if labels is not None:
        labels = labels.cpu()
    if isinstance(domain, torch.Tensor):
        domain = domain.cpu()
    elif domain is not None:
        domain = [d.cpu() for d in domain]
    n_sites = samples.shape[1]
    if out_dim > 1:
        n_sites += 1
        samples, _ = extend_with_output(function, samples, labels, out_position, batch_size, device)

    site_dims = [out_dim if j == out_position else embed_dim for j in range(n_sites)]
    start_time = time.time()
    cores: list[torch.Tensor] = []
    d_prev = 1
    a_prev = s_prev = torch.empty(0)
    for k in range(n_sites):
        is_out = k == out_position
        last = k == n_sites - 1
        if is_out:
            x_k = torch.arange(out_dim, dtype=samples.dtype).reshape(-1, 1)
            phys = out_dim
        else:
            if domain is None:
                x_k = torch.unique(samples[:, k : k + 1], dim=0)
                n_values = domain_multiplier * embed_dim
                if x_k.shape[0] >= n_values:
                    x_k = x_k[torch.randperm(x_k.shape[0])[:n_values]]
            elif isinstance(domain, torch.Tensor):
                x_k = domain.unsqueeze(1)
            else:
                x_k = domain[k if out_position < 0 or k < out_position else k - 1].unsqueeze(1)
            phys = embed_dim
        t_k = None if last else torch.unique(samples[:, k + 1 :], dim=0)

        # TensorKrowch caps with phys ** (sites left), wrong when out_dim != embed_dim.
        d_k = min(d_prev * phys, prod(site_dims[k + 1 :]))
        if verbose:
            print(_site_banner(k, n_sites))
            print(f"* Max D_k: {d_k}" if rank is None else f"* Max D_k: min({d_k}, {rank})")
            if t_k is not None:
                print(f"* T_k out dim: {t_k.shape[0]}")
        if rank is not None:
            d_k = min(d_k, rank)

        blocks = ([s_prev] if k > 0 else []) + [x_k] + ([] if t_k is None else [t_k])
        phi = sketching(function, blocks, out_position, batch_size, device)
        if t_k is not None:
            phi = phi @ random_unitary(phi.shape[-1]).to(phi.dtype)
        if not is_out:
            # Move the value axis of phi to embedding space: E(x_k) @ Y = phi.
            emb = _embed(embedding, x_k, device)
            dtype = torch.promote_types(emb.dtype, phi.dtype)
            x_axis = 0 if k == 0 else 1
            moved = phi.to(dtype).movedim(x_axis, 0)
            sol = torch.linalg.lstsq(emb.to(dtype), moved.reshape(moved.shape[0], -1)).solution
            phi = sol.reshape((phys,) + moved.shape[1:]).movedim(0, x_axis)

        if last:
            core = phi if k == 0 else torch.linalg.lstsq(a_prev.to(phi.dtype), phi).solution
            cores.append(core)
            if verbose:
                print(f"\nCore {k + 1}:\n{'-' * len(f'Core {k + 1}:')}\n{core}")
            break

        u, _, _, d_k = trimming(phi.reshape(-1, phi.shape[-1]), d_k, cum_percentage)
        b_k = u[:, :d_k]
        s_k = torch.unique(samples[:, : k + 1], dim=0)
        if k == 0:
            core = b_k
            emb_new = _site_embedding(s_k, is_out, embedding, out_dim, device, b_k.dtype)
            a_prev = emb_new @ b_k
        else:
            core = torch.linalg.lstsq(a_prev.to(b_k.dtype), b_k.reshape(-1, phys * d_k)).solution
            core = core.reshape(-1, phys, d_k)
            parent, new_values = create_projector(s_prev, s_k)
            emb_new = _site_embedding(new_values, is_out, embedding, out_dim, device, b_k.dtype)
            a_prev = torch.einsum("bpd,bp->bd", b_k.reshape(-1, phys, d_k)[parent], emb_new)
        cores.append(core)
        d_prev, s_prev = d_k, s_k
        if verbose:
            print(f"\nCore {k + 1}:\n{'-' * len(f'Core {k + 1}:')}\n{core}")
            print(f"* Final D_k: {d_k}")
            print(f"* S_k out dim: {s_k.shape[0]}")

    if not return_info:
        return cores
    total_time = time.time() - start_time
    error = val_error(function, embedding, cores, samples, out_position, device)
    return cores, {"total_time": total_time, "val_eps": error}
