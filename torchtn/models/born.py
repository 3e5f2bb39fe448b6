"""Born machines: the distribution ``p(x) = |psi(x)|^2 / Z`` of an MPS-family model.

:class:`BornMachine` wraps an :class:`~torchtn.models.MPS` (or ``UMPS``, ``MPSLayer``,
``UMPSLayer``, or a batch of states in an :class:`~torchtn.models.MPSData`) and reads
its cores at every call, so it always describes the model's current state (also after
``canonicalize`` or a DMRG sweep replaced the nodes). The numerics are the tensor
kernels of :mod:`torchtn.models._born_kernels`, computed on the cores directly rather
than through node operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from torchtn.errors import TNTypeError, TNValueError
from torchtn.models import _born_kernels as kernels
from torchtn.models._chain import check_int
from torchtn.models.mps_data import MPSData

if TYPE_CHECKING:
    from torchtn.models.mps import MPS

__all__ = ["BornMachine"]

# Largest number of entries of a marginal table (``prod`` of the kept physical dims).
_MAX_MARGINAL = 2**22


def _mps_class() -> type:
    # Imported when used: importing torchtn.models.mps before torchtn.models.conv at
    # package import time would enter their mutual import half-way.
    from torchtn.models.mps import MPS

    return MPS


class BornMachine(nn.Module):
    """The Born-rule distribution ``p(x) = |psi(x)|^2 / Z`` of a chain model.

    ``psi(x)`` is the model's amplitude of the configuration ``x`` (one value per site,
    every site, output sites of an ``MPSLayer`` included: then ``p`` is the joint
    distribution of inputs and label) and ``Z = sum_x |psi(x)|^2``. Every quantity is
    exact and computed in log space, renormalising the running environment at each
    site, so chains of thousands of sites neither overflow nor underflow.

    Inputs ``x`` are either integer indices ``(*batch, n_features)`` (one-hot, the
    primary case) or embedded vectors ``(*batch, n_features, d)`` of a floating dtype.
    For embedded inputs ``exp(log_prob(x))`` is a *density* with respect to the measure
    under which the embedding's components are orthonormal (e.g.
    :func:`torchtn.embeddings.fourier` on ``[0, 1]`` with Lebesgue measure): then ``Z``
    is still ``sum |psi|^2`` over basis configurations. With a non-orthonormal embedding
    (``unit``, ``poly``) the result is not normalised. :meth:`sample` and
    :meth:`marginal` describe the discrete (basis) distribution.

    Args:
        model: An ``MPS``-family model (any boundary) or an ``MPSData``, whose core batch
            axes then index independent distributions (results gain those axes).

    Attributes:
        model: The wrapped model (a registered submodule: parameters and
            ``state_dict`` keys are the model's, prefixed ``model.``).

    Shape:
        - ``x``: ``(*batch, n_features)`` integers or ``(*batch, n_features, d)`` floats.
        - Output of ``forward``/``log_prob``: ``broadcast(batch, core_batch)``.

    Examples::

        >>> import torch, torchtn as tk
        >>> mps = tk.models.MPS(n_features=6, phys_dim=2, bond_dim=4, init_method='canonical')
        >>> born = tk.models.BornMachine(mps)
        >>> x = born.sample(5, generator=torch.Generator().manual_seed(0))
        >>> x.shape
        torch.Size([5, 6])
        >>> bool(born.log_prob(x).exp().le(1).all())
        True
    """

    def __init__(self, model: MPS | MPSData) -> None:
        super().__init__()
        if not isinstance(model, (_mps_class(), MPSData)):
            raise TNTypeError(f"`model` should be an MPS-family model or MPSData, got {model!r}")
        self.model = model

    # -- cores ---------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Number of sites (variables of the distribution)."""
        return self.model.n_features

    @property
    def phys_dim(self) -> list[int]:
        """Number of values of every site."""
        return list(self.model.phys_dim)

    def cores(self) -> list[torch.Tensor]:
        """The model's cores as a closed chain ``(*cb, l, d, r)``, differentiable.

        Open-boundary models come with their boundary vectors contracted in (outer bonds
        of size 1); periodic ones as stored (the trace closes them).
        """
        model = self.model
        empty = [node.name for node in model.mats_env if node.tensor is None]
        if empty:
            raise TNValueError(f"Cannot use the Born machine: nodes {empty} have no tensor")
        if isinstance(model, _mps_class()):
            return model._user_cores_rank3()
        ts = list(model.tensors)
        if model.boundary == "pbc":
            return ts
        if len(ts) == 1:
            return [ts[0].unsqueeze(-2).unsqueeze(-1)]
        return [ts[0].unsqueeze(-3), *ts[1:-1], ts[-1].unsqueeze(-1)]

    # -- checks ----------------------------------------------------------------------------------
    def _check_x(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TNTypeError(f"`x` should be a torch.Tensor, got {type(x).__name__}")
        n = self.n_features
        if x.is_floating_point() or x.is_complex():
            dims = set(self.phys_dim)
            if x.dim() < 2 or x.shape[-2] != n or len(dims) != 1 or x.shape[-1] not in dims:
                want = f"(*batch, {n}, {self.phys_dim[0]})" if len(dims) == 1 else "indices"
                raise TNValueError(
                    f"Embedded `x` should have shape {want} (sites, physical dim), got "
                    f"{tuple(x.shape)}"
                )
            return x
        if x.dtype == torch.bool:
            x = x.long()
        if x.dim() < 1 or x.shape[-1] != n:
            raise TNValueError(
                f"Integer `x` should have shape (*batch, {n}) (one value per site), got "
                f"{tuple(x.shape)}; pass embedded vectors as a floating tensor"
            )
        self._check_values(x, torch.ones_like(x, dtype=torch.bool), "x")
        return x

    def _check_values(self, x: torch.Tensor, mask: torch.Tensor, name: str) -> None:
        dims = torch.tensor(self.phys_dim, device=x.device)
        bad = ((x < 0) | (x >= dims)) & mask
        if bool(bad.any()):
            flat_bad = bad.reshape(-1, self.n_features)
            site = int(flat_bad.any(0).nonzero()[0])
            found = x.reshape(-1, self.n_features)[:, site][flat_bad[:, site]]
            raise TNValueError(
                f"`{name}` at site {site} should be in [0, {self.phys_dim[site] - 1}], got "
                f"{int(found[0])}"
            )

    # -- probabilities -------------------------------------------------------------------------
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x) = log |psi(x)|^2 - log Z`` per configuration; differentiable.

        Args:
            x: Integer ``(*batch, n_features)`` or embedded ``(*batch, n_features, d)``.

        Returns:
            Real tensor of shape ``broadcast(batch, core_batch)`` (``-inf`` where
            ``psi(x) = 0``).
        """
        x = self._check_x(x)
        return kernels.log_prob(self.cores(), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`log_prob`."""
        return self.log_prob(x)

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood ``-mean(log_prob(x))`` in nats (a scalar)."""
        return -self.log_prob(x).mean()

    def log_norm(self) -> torch.Tensor:
        """``log Z = log sum_x |psi(x)|^2``; differentiable, shape ``core_batch``."""
        return kernels.log_norm(self.cores())

    def log_amplitude(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log |psi(x)|, psi(x) / |psi(x)|)``: the unnormalised amplitude in log space."""
        x = self._check_x(x)
        return kernels.log_amplitude(self.cores(), x)

    def amplitude(self, x: torch.Tensor) -> torch.Tensor:
        """``psi(x)``, the model's (unnormalised) amplitude; may overflow on long chains,
        where :meth:`log_amplitude` does not."""
        log_abs, phase = self.log_amplitude(x)
        return phase * log_abs.exp()

    # -- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        condition: Mapping[int, int] | torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` exact samples, drawn site by site from the right-canonical form.

        The canonical form is computed on copies of the cores: the model is unchanged.
        With a condition the samples follow the exact conditional distribution given the
        conditioned sites (inpainting), wherever those sites are.

        Args:
            n: Number of samples.
            generator: Source of randomness (default: torch's global generator). The
                same seed gives the same samples on the same device and dtype.
            condition: ``{site: value}`` applied to every sample, or a long tensor of
                values ``(sites,)`` / ``(n, sites)`` (``(n, *core_batch, sites)`` for an
                ``MPSData``) read where ``mask`` is true.
            mask: Bool tensor of ``condition``'s shape: the observed entries. Required
                with a tensor condition, not allowed otherwise.

        Returns:
            Long tensor ``(n, *core_batch, n_features)``.

        Raises:
            TNValueError: A bad condition, or one of probability 0 under the model.
        """
        check_int(n, "n", 0)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TNTypeError(
                f"`generator` should be a torch.Generator, got {type(generator).__name__}"
            )
        values, mask = self._condition(condition, mask)
        return kernels.sample(self.cores(), n, generator, values, mask)

    def _condition(
        self, condition: Any, mask: Any
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Validate a condition; return ``(values, mask)`` tensors or ``(None, None)``."""
        n = self.n_features
        device = self.model.mats_env[0].tensor.device
        if condition is None:
            if mask is not None:
                raise TNValueError("`mask` was given without a tensor `condition`")
            return None, None
        if isinstance(condition, Mapping):
            if mask is not None:
                raise TNValueError("`mask` is only used with a tensor `condition`, not a dict")
            values = torch.zeros(n, dtype=torch.long, device=device)
            observed = torch.zeros(n, dtype=torch.bool, device=device)
            for site, value in condition.items():
                check_int(site, "condition site")
                check_int(value, f"condition[{site}]")
                if not 0 <= site < n:
                    raise TNValueError(f"`condition` site should be in [0, {n - 1}], got {site}")
                values[site], observed[site] = value, True
            self._check_values(values, observed, "condition")
            return values, observed
        if not isinstance(condition, torch.Tensor):
            raise TNTypeError(
                f"`condition` should be a dict or a torch.Tensor, got {type(condition).__name__}"
            )
        if mask is None:
            raise TNValueError("A tensor `condition` needs a boolean `mask` of the same shape")
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TNTypeError(f"`mask` should be a bool torch.Tensor, got {mask!r:.60}")
        if condition.is_floating_point() or condition.is_complex():
            raise TNTypeError(f"`condition` should hold integers, got dtype {condition.dtype}")
        if condition.shape != mask.shape or condition.dim() < 1 or condition.shape[-1] != n:
            raise TNValueError(
                f"`condition` and `mask` should both have shape (..., {n}), got "
                f"{tuple(condition.shape)} and {tuple(mask.shape)}"
            )
        condition = condition.to(device=device, dtype=torch.long)
        mask = mask.to(device)
        self._check_values(condition, mask, "condition")
        return condition, mask

    # -- marginals -----------------------------------------------------------------------------
    @torch.no_grad()
    def marginal(self, sites: Sequence[int]) -> torch.Tensor:
        """Exact marginal distribution of ``sites``: ``P[v_0, ..., v_k] = p(x_{s_j} = v_j)``.

        Args:
            sites: Distinct site indices; the result's axes follow this order.

        Returns:
            Real tensor ``(*core_batch, d_{s_0}, ..., d_{s_k})`` that sums to 1.

        Raises:
            TNValueError: Repeated or out-of-range sites, or a table of more than
                ``2**22`` entries.
        """
        if not isinstance(sites, Sequence) or isinstance(sites, str):
            raise TNTypeError(f"`sites` should be a list or tuple, got {type(sites).__name__}")
        n = self.n_features
        for s in sites:
            check_int(s, "sites elements")
            if not 0 <= s < n:
                raise TNValueError(f"`sites` elements should be in [0, {n - 1}], got {s}")
        if len(set(sites)) != len(sites):
            raise TNValueError(f"`sites` should be distinct, got {list(sites)}")
        size = 1
        for s in sites:
            size *= self.phys_dim[s]
        if size > _MAX_MARGINAL:
            raise TNValueError(
                f"The marginal of {len(sites)} sites has {size} entries (more than "
                f"{_MAX_MARGINAL}); ask for fewer sites"
            )
        ordered = sorted(sites)
        probs = kernels.marginal(self.cores(), ordered)
        nb = probs.dim() - len(sites)
        perm = [ordered.index(s) for s in sites]
        return probs.permute((*range(nb), *(nb + k for k in perm)))

    def extra_repr(self) -> str:
        model = self.model
        return (
            f"n_features={model.n_features}, phys_dim={list(model.phys_dim)}, "
            f"bond_dim={list(model.bond_dim)}, boundary={model.boundary!r}"
        )
