"""DMRG-style two-site sweeps that train an :class:`~torchtn.models.MPS` or
:class:`~torchtn.models.MPSLayer` with adaptive bond dimensions.

One update merges two neighbouring cores into a block, takes gradient steps on the
block alone (any ``torch.optim`` optimizer) with every other core fixed, and splits it
back with a truncated SVD, which sets the new bond and moves the orthogonality centre.
Per-sample environments of the fixed cores are cached and updated one site at a time,
so an update costs work proportional to the block (and the batch), not to the chain.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Union

import torch
from torch.nn import functional as F  # noqa: N812

from torchtn.errors import TNError, TNTypeError, TNValueError
from torchtn.models._born_kernels import right_canonical
from torchtn.models._chain import check_int
from torchtn.models.mps import MPS, AbstractConvClass
from torchtn.train import _blocks

__all__ = ["DMRG", "DMRGError"]

LossLike = Union[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]
_LOSSES = ("nll", "cross_entropy")
_CHUNK = 4096  # samples per chunk when the loss is evaluated on the whole data set


class DMRGError(TNError, RuntimeError):
    """An update failed (SVD did not converge, or a non-finite block or loss).

    The model is left as it was before the sweep: it is only written at the end of a
    sweep that completed.
    """


class DMRG:
    """Two-site sweeps (left to right, then back) over an open-boundary MPS or MPSLayer.

    Each update on the bond ``(i, i+1)`` merges the two cores into a block ``(l, d_i,
    d_{i+1}, r)``, takes ``n_steps`` optimizer steps on it (mini-batches of
    ``batch_size`` samples, or all of them) with every other core fixed, then splits it
    by an SVD truncated by ``max_bond``, ``cutoff`` and ``cum_percentage``, so bonds grow
    where the data needs them and shrink where it does not. The orthogonality centre
    moves with the block: cores left of it are left isometries, cores right of it right
    isometries.

    Losses:
        * ``'nll'``: generative, the Born-machine negative log-likelihood
          ``-mean log(|psi(x)|^2 / Z)`` in nats (see
          :class:`~torchtn.models.BornMachine`). In canonical form ``Z`` is the squared
          norm of the block, so it is exact and local; after every split the centre is
          rescaled to ``Z = 1``. On an ``MPSLayer`` the label ``y`` is the output site's
          value (the joint distribution of inputs and label). Embedded inputs must use
          an orthonormal embedding for ``Z`` to be the normaliser.
        * ``'cross_entropy'``: supervised, the model's output (the open output site) as
          logits for ``y``.
        * a callable ``loss(output, y)`` on the model's output ``(b, out_dim)`` (``(b,)``
          without an output site).

    Truncation (per split, on the singular values ``s`` of the block): keep at most
    ``max_bond``; drop ``s_k < cutoff * s_0`` (*relative* to the largest, since the
    block's scale is arbitrary for ``'nll'``; ``canonicalize``'s cutoff is absolute);
    keep the fewest values whose ``s**2`` sum to at least ``cum_percentage`` of
    ``sum s**2``. The default ``spectrum='s2'`` measures weight as ``s**2``, the squared
    norm, which is the probability mass of a Born machine and the squared 2-norm error
    of the split; ``spectrum='s'`` uses the sum of ``s`` like
    :meth:`~torchtn.models.MPS.canonicalize` (TensorKrowch's rule), which keeps more.

    After each :meth:`sweep` the model holds the new cores through the same machinery
    as ``canonicalize``: new nodes and parameters, ``bond_dim`` updated, ``model(x)``
    and ``state_dict`` work (retrace it, and re-create any optimizer over its
    parameters). Each sweep starts from the model's current cores, so sweeps and
    ordinary gradient training can be mixed.

    Args:
        model: An ``MPS`` or ``MPSLayer`` with ``boundary='obc'``, at least 2 sites and
            at most one output site.
        loss: ``'nll'``, ``'cross_entropy'`` or a callable (see above).
        optimizer: An optimizer class (or factory) called as
            ``optimizer([block], lr=lr, **optimizer_kwargs)`` for every update.
        lr: Learning rate.
        n_steps: Optimizer steps per update.
        batch_size: Samples per step (None: all of them).
        max_bond, cutoff, cum_percentage, spectrum: Truncation (see above).
        optimizer_kwargs: More keyword arguments for ``optimizer``.
        generator: Draws the mini-batches (default: torch's global generator).
        backtrack: An update whose steps make the block's loss on all the data worse
            is redone from the same block with ``lr`` divided by 4, up to ``backtrack``
            times; if it is still worse, the steps are undone and the block is only
            split (counted in the record's ``rejected``). Local steps on a block can
            overshoot when the samples' outputs differ in scale by orders of magnitude.

    Attributes:
        history: One dict per completed sweep: ``loss`` (on all the data, after the
            sweep), ``bond_dim`` (list), ``max_truncation`` (largest discarded weight
            ``sum s_dropped**2 / sum s**2`` of its splits), ``update_loss`` (mean of the
            updates' losses on all the data, before truncation), ``rejected`` (updates
            whose steps were undone, see ``backtrack``) and ``time`` (seconds).

    Example::

        >>> import torch, torchtn as tk
        >>> mps = tk.models.MPS(8, 2, 2)
        >>> dmrg = tk.train.DMRG(mps, loss='nll', max_bond=8, lr=0.05)
        >>> x = torch.randint(0, 2, (64, 8))
        >>> record = dmrg.sweep(x)
        >>> sorted(record)
        ['bond_dim', 'loss', 'max_truncation', 'rejected', 'sweep', 'time', 'update_loss']
    """

    def __init__(
        self,
        model: MPS,
        loss: LossLike = "nll",
        optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
        lr: float = 1e-2,
        n_steps: int = 5,
        batch_size: int | None = None,
        max_bond: int | None = None,
        cutoff: float | None = None,
        cum_percentage: float | None = None,
        spectrum: str = "s2",
        optimizer_kwargs: dict[str, Any] | None = None,
        generator: torch.Generator | None = None,
        backtrack: int = 2,
    ) -> None:
        self._check_model(model)
        if not (loss in _LOSSES or callable(loss)):
            raise TNValueError(f"`loss` should be one of {_LOSSES} or a callable, got {loss!r}")
        if loss == "cross_entropy" and not model.out_features:
            raise TNValueError("`loss='cross_entropy'` needs a model with an output site")
        if not callable(optimizer):
            raise TNTypeError(f"`optimizer` should be callable, got {optimizer!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
            raise TNValueError(f"`lr` should be a positive number, got {lr!r}")
        check_int(n_steps, "n_steps", 0)
        check_int(backtrack, "backtrack", 0)
        if batch_size is not None:
            check_int(batch_size, "batch_size", 1)
        if max_bond is not None:
            check_int(max_bond, "max_bond", 1)
        for name, value in (("cutoff", cutoff), ("cum_percentage", cum_percentage)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
            ):
                raise TNValueError(f"`{name}` should be a non-negative number, got {value!r}")
        if cum_percentage is not None and not 0 < cum_percentage <= 1:
            raise TNValueError(f"`cum_percentage` should be in (0, 1], got {cum_percentage}")
        if spectrum not in ("s2", "s"):
            raise TNValueError(f"`spectrum` should be 's2' or 's', got {spectrum!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TNTypeError(
                f"`generator` should be a torch.Generator, got {type(generator).__name__}"
            )
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.lr = float(lr)
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.max_bond = max_bond
        self.cutoff = cutoff
        self.cum_percentage = cum_percentage
        self.spectrum = spectrum
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.generator = generator
        self.backtrack = backtrack
        self.history: list[dict[str, Any]] = []
        self._cores: list[torch.Tensor] = []
        self._data: list[torch.Tensor | None] = []
        self._y: torch.Tensor | None = None
        self._centre: int | None = None
        # per-sample environments and their log-scales: _left[i] of the sites < i,
        # _right[i] of the sites >= i (see torchtn.train._blocks)
        self._left: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        self._right: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        self._log_scale = 0.0
        self._truncations: list[float] = []
        self._update_losses: list[float] = []
        self._rejected = 0

    @staticmethod
    def _check_model(model: Any) -> None:
        if not isinstance(model, MPS) or isinstance(model, AbstractConvClass):
            raise TNTypeError(f"`model` should be an MPS or MPSLayer, got {type(model).__name__}")
        if model.boundary != "obc":
            raise TNValueError(f"DMRG needs boundary 'obc', got {model.boundary!r}")
        if model.n_features < 2:
            raise TNValueError(f"DMRG needs at least 2 sites, got {model.n_features}")
        if len(model.out_features) > 1:
            raise TNValueError(
                f"DMRG supports at most one output site, got out_features={model.out_features}"
            )
        empty = [node.name for node in model.mats_env if node.tensor is None]
        if empty:
            raise TNValueError(f"Cannot run DMRG: nodes {empty} have no tensor")
        if model.mats_env[0].tensor.is_complex():
            raise TNTypeError("DMRG supports real cores only, got a complex model")

    def __repr__(self) -> str:
        loss = self.loss if isinstance(self.loss, str) else getattr(self.loss, "__name__", "fn")
        return (
            f"DMRG(model={type(self.model).__name__}, loss={loss!r}, n_steps={self.n_steps}, "
            f"lr={self.lr}, batch_size={self.batch_size}, max_bond={self.max_bond}, "
            f"cutoff={self.cutoff}, cum_percentage={self.cum_percentage}, "
            f"spectrum={self.spectrum!r}, sweeps={len(self.history)})"
        )

    # -- data ------------------------------------------------------------------------------------
    def set_data(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        """Use ``x`` (and labels ``y``) for the following sweeps.

        Args:
            x: ``(N, n_inputs, d)`` embedded inputs as ``model(x)`` takes them, or integer
                indices ``(N, n_inputs)`` (one-hot).
            y: ``(N,)`` integer labels: the classes for ``'cross_entropy'``, the output
                site's value for ``'nll'`` on a model with an output site; any target
                for a callable loss.
        """
        model = self.model
        ref = model.mats_env[0].tensor
        ins, outs = model.in_features, model.out_features
        if not isinstance(x, torch.Tensor):
            raise TNTypeError(f"`x` should be a torch.Tensor, got {type(x).__name__}")
        if x.is_floating_point():
            dims = {model.phys_dim[i] for i in ins}
            if x.dim() != 3 or x.shape[1] != len(ins) or {x.shape[2]} != dims:
                raise TNValueError(
                    f"Embedded `x` should have shape (N, {len(ins)}, d) with d the input "
                    f"sites' physical dim {sorted(dims)}, got {tuple(x.shape)}"
                )
            vecs = [x[:, k].to(device=ref.device, dtype=ref.dtype) for k in range(len(ins))]
        elif x.dtype in (torch.long, torch.int, torch.int16, torch.int8, torch.uint8):
            if x.dim() != 2 or x.shape[1] != len(ins):
                raise TNValueError(
                    f"Integer `x` should have shape (N, {len(ins)}), got {tuple(x.shape)}"
                )
            vecs = []
            for k, site in enumerate(ins):
                col, d = x[:, k].long(), model.phys_dim[site]
                if bool(((col < 0) | (col >= d)).any()):
                    raise TNValueError(f"`x[:, {k}]` should be in [0, {d - 1}] (site {site})")
                vecs.append(F.one_hot(col, d).to(device=ref.device, dtype=ref.dtype))
        else:
            raise TNTypeError(f"`x` should hold floats or integers, got dtype {x.dtype}")
        n = x.shape[0]
        if n == 0:
            raise TNValueError("`x` should hold at least one sample")
        if y is not None:
            if not isinstance(y, torch.Tensor) or y.shape[:1] != (n,):
                raise TNValueError(
                    f"`y` should be a tensor with {n} rows (one per sample), got "
                    f"{getattr(y, 'shape', type(y).__name__)}"
                )
            y = y.to(ref.device)
        needs_label = self.loss == "cross_entropy" or (self.loss == "nll" and outs)
        if needs_label:
            if y is None:
                raise TNValueError(f"`loss={self.loss!r}` on this model needs labels `y`")
            out_dim = model.phys_dim[outs[0]]
            if y.dtype != torch.long or y.dim() != 1 or bool(((y < 0) | (y >= out_dim)).any()):
                raise TNValueError(f"`y` should be a long tensor (N,) in [0, {out_dim - 1}]")
        data: list[torch.Tensor | None] = [None] * model.n_features
        for site, vec in zip(ins, vecs, strict=True):
            data[site] = vec
        if outs and self.loss == "nll":
            data[outs[0]] = F.one_hot(y, model.phys_dim[outs[0]]).to(ref.dtype)
        self._data, self._y = data, y
        self._centre = None

    # -- state -----------------------------------------------------------------------------------
    @property
    def centre(self) -> int | None:
        """The orthogonality centre of the working cores (None before :meth:`prepare`)."""
        return self._centre

    @torch.no_grad()
    def prepare(self) -> None:
        """Read the model's cores, move the centre to site 0 and build the environments."""
        if not self._data:
            raise TNValueError("No data: call set_data(x, y) or sweep(x, y) first")
        self._check_model(self.model)
        cores = [c.detach().clone() for c in self.model._user_cores_rank3()]
        cores, log_scale = right_canonical(cores)
        norm = torch.linalg.vector_norm(cores[0])
        cores[0] = cores[0] / norm
        # The state is exp(_log_scale) times the cores, whose centre has unit norm; the
        # Born machine's loss does not depend on the scale, which stays 0 there.
        self._log_scale = 0.0 if self.loss == "nll" else float(log_scale + norm.log())
        n = len(cores)
        samples = next(v for v in self._data if v is not None).shape[0]
        ones = cores[0].new_ones(samples, 1, 1)
        zeros = cores[0].new_zeros(samples)
        self._left = [None] * (n + 1)
        self._right = [None] * (n + 1)
        self._left[0] = (ones, zeros)
        self._right[n] = (ones, zeros)
        for i in range(n - 1, 1, -1):
            self._right[i] = _blocks.grow_right(*self._right[i + 1], cores[i], self._data[i])
        self._cores = cores
        self._centre = 0

    def bond_dims(self) -> list[int]:
        """Bond dimensions of the working cores."""
        return [c.shape[2] for c in self._cores[:-1]]

    @torch.no_grad()
    def write_back(self) -> None:
        """Give the model the working state (new nodes, as ``canonicalize`` does).

        The scale of the state is spread evenly over the cores, so a long chain's
        outputs are represented without overflowing any single core.
        """
        factor = math.exp(self._log_scale / len(self._cores))
        self.model._rebuild([c * factor for c in self._cores])

    # -- one update ------------------------------------------------------------------------------
    def _batch(self, n: int) -> torch.Tensor | None:
        if self.batch_size is None or self.batch_size >= n:
            return None
        perm = torch.randperm(n, generator=self.generator)
        return perm[: self.batch_size].to(self._cores[0].device)

    def _working_block(self, i: int) -> tuple[torch.Tensor, float]:
        """The merged block on ``(i, i+1)`` in working units, and their shift.

        The outputs of samples ``b`` are ``exp(log_env_b - shift) * block_output(work)``
        with ``shift`` the median log-scale of the environments, and ``work`` the block
        times ``exp(_log_scale + shift)``: typical outputs are of the size of ``work``'s
        entries, so optimizer steps (Adam's are of a fixed size) act in natural units
        however small or large the environments of a long chain make the raw block.
        For ``'nll'``, whose loss does not depend on the scale, the block is scaled to
        entries of root-mean-square 1 (shift 0), so ``lr`` is a relative step whatever
        the block's size.
        """
        block = torch.tensordot(self._cores[i], self._cores[i + 1], ([2], [0]))
        if self.loss == "nll":  # scale-free: entries of root-mean-square 1
            return block * math.sqrt(block.numel()), 0.0
        shift = float((self._left[i][1] + self._right[i + 2][1]).median())
        return block * math.exp(self._log_scale + shift), shift

    def _block_loss(
        self, block: torch.Tensor, i: int, idx: torch.Tensor | None, shift: float
    ) -> torch.Tensor:
        (left, l_log), (right, r_log) = self._left[i], self._right[i + 2]
        v1, v2, y = self._data[i], self._data[i + 1], self._y
        if idx is not None:
            left, l_log, right, r_log = left[idx], l_log[idx], right[idx], r_log[idx]
            v1 = None if v1 is None else v1[idx]
            v2 = None if v2 is None else v2[idx]
            y = None if y is None else y[idx]
        out = _blocks.block_output(left, block, right, v1, v2)
        if self.loss == "nll":
            log_psi = out.squeeze(-1).abs().log() + l_log + r_log
            return 2 * torch.linalg.vector_norm(block).log() - 2 * log_psi.mean()
        scores = out * (l_log + r_log - shift).exp().unsqueeze(-1)
        if self.loss == "cross_entropy":
            return F.cross_entropy(scores, y)
        return self.loss(scores.squeeze(-1) if scores.shape[-1] == 1 else scores, y)

    def update(self, bond: int, direction: str) -> dict[str, float]:
        """Optimise and split the block on ``(bond, bond + 1)``.

        Args:
            bond: The block's left site; the centre must be in the block (at ``bond``
                or ``bond + 1``).
            direction: Where the centre goes: ``'right'`` (``bond`` becomes a left
                isometry) or ``'left'`` (``bond + 1`` becomes a right isometry).

        Returns:
            ``{'loss', 'bond', 'truncation'}``: the block's loss on all the data after
            the steps (before truncation; see ``backtrack``), the new bond and
            the discarded weight.

        Raises:
            DMRGError: The SVD failed or something became non-finite; the working cores
                and environments are left as they were.
        """
        if self._centre is None:
            raise TNValueError("Call prepare() (or sweep()) before update()")
        if direction not in ("right", "left"):
            raise TNValueError(f"`direction` should be 'right' or 'left', got {direction!r}")
        if not 0 <= bond < len(self._cores) - 1 or self._centre not in (bond, bond + 1):
            raise TNValueError(
                f"An update of bond {bond} needs the centre at site {bond} or {bond + 1}, "
                f"it is at {self._centre}"
            )
        start, shift = self._working_block(bond)
        before = self._full_loss(start, bond, shift)
        block, after = start, before
        if self.n_steps:
            lr = self.lr
            for _ in range(self.backtrack + 1):
                candidate = self._steps(start, bond, shift, lr)
                loss = self._full_loss(candidate, bond, shift)
                if loss <= before:
                    block, after = candidate, loss
                    break
                lr /= 4
            else:  # every attempt made it worse: keep the block as it was
                self._rejected += 1
        with torch.no_grad():
            return self._split(bond, block.detach(), direction == "right", after, shift)

    def _steps(self, start: torch.Tensor, bond: int, shift: float, lr: float) -> torch.Tensor:
        """``n_steps`` optimizer steps on a copy of ``start``; returns the new block."""
        n = self._left[bond][0].shape[0]
        block = start.detach().clone().requires_grad_(True)
        opt = self.optimizer([block], lr=lr, **self.optimizer_kwargs)
        for _ in range(self.n_steps):
            loss = self._block_loss(block, bond, self._batch(n), shift)
            if not torch.isfinite(loss):
                raise DMRGError(f"Non-finite loss ({loss.item()}) at bond {bond}")
            opt.zero_grad()
            loss.backward()
            opt.step()
        return block

    @torch.no_grad()
    def _full_loss(self, block: torch.Tensor, bond: int, shift: float) -> float:
        """The loss of ``block`` on all the data (chunked), as a float."""
        n = self._left[bond][0].shape[0]
        if n <= _CHUNK:
            return float(self._block_loss(block, bond, None, shift))
        total = 0.0
        for first in range(0, n, _CHUNK):
            idx = torch.arange(first, min(n, first + _CHUNK), device=block.device)
            total += float(self._block_loss(block, bond, idx, shift)) * len(idx)
        return total / n

    def _split(
        self, bond: int, block: torch.Tensor, right: bool, loss: float, shift: float
    ) -> dict:
        lb, d1, d2, r = block.shape
        if not bool(torch.isfinite(block).all()):
            raise DMRGError(f"The optimised block at bond {bond} is not finite")
        try:
            u, s, vh = torch.linalg.svd(block.reshape(lb * d1, d2 * r), full_matrices=False)
        except RuntimeError as exc:  # torch.linalg.LinAlgError: no convergence
            raise DMRGError(f"The SVD of the block at bond {bond} failed: {exc}") from exc
        if not bool(torch.isfinite(s).all()):
            raise DMRGError(f"The SVD of the block at bond {bond} is not finite")
        k = _blocks.select_bond(s, self.max_bond, self.cutoff, self.cum_percentage, self.spectrum)
        a, b, dropped = _blocks.split_block(block, u, s, vh, k, right)
        # The centre gets unit norm (for 'nll': Z = 1), its norm goes to the scale.
        centre = b if right else a
        norm = torch.linalg.vector_norm(centre)
        if not norm > 0:
            raise DMRGError(f"The optimised block at bond {bond} is zero")
        if right:
            b = b / norm
        else:
            a = a / norm
        # Commit only now: everything that can fail has run.
        if self.loss != "nll":
            self._log_scale = math.log(float(norm)) - shift
        self._cores[bond], self._cores[bond + 1] = a, b
        if right:
            self._left[bond + 1] = _blocks.grow_left(*self._left[bond], a, self._data[bond])
            self._centre = bond + 1
        else:
            self._right[bond + 1] = _blocks.grow_right(
                *self._right[bond + 2], b, self._data[bond + 1]
            )
            self._centre = bond
        self._truncations.append(dropped)
        self._update_losses.append(loss)
        return {"loss": loss, "bond": k, "truncation": dropped}

    # -- sweeps ----------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> float:
        """The loss on all the data, computed at the block ``(c, c + 1)`` of the centre
        ``c`` (``(n-2, n-1)`` when the centre is the last site)."""
        if self._centre is None:
            raise TNValueError("Call prepare() (or sweep()) before evaluate()")
        c = min(self._centre, len(self._cores) - 2)
        block, shift = self._working_block(c)
        return self._full_loss(block, c, shift)

    def sweep(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> dict:
        """One sweep: bonds ``0 .. n-2`` left to right, then back to ``0``.

        Reads the model's cores, updates every bond (the last one turns the sweep, so
        ``2n - 3`` updates in all) and writes the result back into the model.

        Args:
            x, y: New data (see :meth:`set_data`); None keeps the previous data.

        Returns:
            The record appended to :attr:`history`.
        """
        if x is not None:
            self.set_data(x, y)
        start = time.perf_counter()
        self.prepare()
        self._truncations, self._update_losses, self._rejected = [], [], 0
        n = len(self._cores)
        for bond in range(n - 2):
            self.update(bond, "right")
        for bond in range(n - 2, -1, -1):
            self.update(bond, "left")
        loss = self.evaluate()
        self.write_back()
        record = {
            "sweep": len(self.history) + 1,
            "loss": loss,
            "bond_dim": self.bond_dims(),
            "max_truncation": max(self._truncations, default=0.0),
            "update_loss": sum(self._update_losses) / max(1, len(self._update_losses)),
            "rejected": self._rejected,
            "time": time.perf_counter() - start,
        }
        self.history.append(record)
        return record

    def fit(
        self, x: torch.Tensor, y: torch.Tensor | None = None, n_sweeps: int = 1
    ) -> list[dict[str, Any]]:
        """Run ``n_sweeps`` sweeps on ``x``/``y``; returns their :attr:`history` records."""
        check_int(n_sweeps, "n_sweeps", 1)
        self.set_data(x, y)
        return [self.sweep() for _ in range(n_sweeps)]
