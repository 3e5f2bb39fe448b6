"""Matrix product operators: :class:`MPO` (open or periodic) and :class:`UMPO` (uniform).

Cores have axes ``(left, input, right, output)``. OBC operators keep every core rank 4,
padded to the boundary bond and closed by the trainable ``left_node``/``right_node`` vectors
(``e_0`` at creation), the representation shared with the MPS family (spec models.md §2.2).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Union

import torch

import torchtn.ops as op
from torchtn.core._tensor_init import make as _make_tensor
from torchtn.core.network import TensorNetwork
from torchtn.core.node import AbstractNode, ParamNode
from torchtn.errors import TNTypeError, TNValueError
from torchtn.models._chain import check_int, sweep_canonical, zero_ends
from torchtn.models._chain_nodes import (
    ChainNodesMixin,
    attribute,
    inline_chain,
    renormalized,
    trace_loops,
)
from torchtn.models._validate import check_n_batches, check_size, check_tensor_size, size_list

__all__ = ["MPO", "UMPO"]

_MPO_INITS = ("zeros", "ones", "copy", "rand", "randn")
_AXES = ("left", "input", "right", "output")


def _dims(value: Any, n: int, name: str) -> list[int]:
    """``value`` (int or length-``n`` list/tuple of ints, each >= 1) as a list of ``n`` ints."""
    return size_list(value, name, n)


def _pairwise_chain(nodes: list[AbstractNode], renormalize: bool) -> AbstractNode:
    """Contract neighbouring pairs repeatedly (an odd last node waits for later rounds);
    optionally normalise each pair product over its ``left``/``right`` axes (TK's rule)."""
    while len(nodes) > 1:
        aux, leftovers = nodes, []
        while len(aux) > 1:
            even = len(aux) // 2 * 2
            pairs = [x @ y for x, y in zip(aux[0:even:2], aux[1:even:2], strict=True)]
            if renormalize:
                pairs = [renormalized(q, ("left", "right")) for q in pairs]
            leftovers = aux[even:] + leftovers
            aux = pairs
        nodes = aux + leftovers
    return nodes[0]


class MPO(ChainNodesMixin, TensorNetwork):
    """Matrix product operator with ``n_features`` cores of axes ``(left, input, right, output)``.

    Args:
        n_features: Number of sites (>= 1).
        in_dim: Input dimension (int, or one per site).
        out_dim: Output dimension (int, or one per site).
        bond_dim: Bond dimension (int, or ``n_features - 1`` entries for ``'obc'`` and
            ``n_features`` for ``'pbc'``; entry ``i`` is the ``right`` bond of core ``i``).
        boundary: ``'obc'`` or ``'pbc'``.
        tensors: Cores in user convention: OBC first ``(in, D, out)``, middle
            ``(D, in, D', out)``, last ``(D, in, out)``, single ``(in, out)``; PBC all rank 4.
            When given, ``n_features``/``in_dim``/``out_dim``/``bond_dim`` are ignored.
        n_batches: Number of batch axes of the input data.
        init_method: One of ``'zeros', 'ones', 'copy', 'rand', 'randn'``.
        device, dtype: Where and how to create the cores.
        **kwargs: Passed to the initializer (``std``, ``mean``, ``low``, ``high``: floats).

    Differences from TensorKrowch:
        * TK 1.1.6 overwrites every interior core of a randomly initialised OBC MPO with
          zeros, so such an MPO with three or more sites is the zero operator. Here only the
          first and last cores get the boundary zero padding; every core is still drawn in
          TK's order and shape, so the first and last cores match TK for a given seed.
        * ``tensors`` works for a single-site OBC MPO (returns ``[(in, out)]``; TK crashes).
        * ``inline_mats=False`` contracts neighbouring pairs node by node instead of through
          stacks (same values and the same ``renormalize`` rule as TK; fewer bookkeeping
          nodes).
    """

    _RIGHT_AXIS = -2

    def __init__(
        self,
        n_features: int | None = None,
        in_dim: Union[int, Sequence[int]] | None = None,
        out_dim: Union[int, Sequence[int]] | None = None,
        bond_dim: Union[int, Sequence[int]] | None = None,
        boundary: str = "obc",
        tensors: Sequence[torch.Tensor] | None = None,
        n_batches: int = 1,
        init_method: str = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name="mpo")
        if boundary not in ("obc", "pbc"):
            raise TNValueError(f"`boundary` should be 'obc' or 'pbc', got {boundary!r}")
        self._n_batches = check_n_batches(n_batches)
        if tensors is None:
            check_int(n_features, "n_features", 1)
            self._boundary = boundary
            self._n_features = n_features
            self._in_dim = _dims(in_dim, n_features, "in_dim")
            self._out_dim = _dims(out_dim, n_features, "out_dim")
            n_bonds = n_features - 1 if boundary == "obc" else n_features
            if isinstance(bond_dim, (list, tuple)) and len(bond_dim) != n_bonds:
                raise TNValueError(
                    f"`bond_dim` should have {n_bonds} entries for {boundary!r} with "
                    f"{n_features} sites, got {len(bond_dim)}"
                )
            self._bond_dim = _dims(bond_dim, n_bonds, "bond_dim")
            self._make_nodes()
            self.initialize(init_method=init_method, device=device, dtype=dtype, **kwargs)
        else:
            self._read_tensors(tensors)
            self._make_nodes()
            self.initialize(tensors=tensors, device=device, dtype=dtype)

    # -- structure -------------------------------------------------------------------------
    def _read_tensors(self, tensors: Any) -> None:
        if not isinstance(tensors, (list, tuple)):
            raise TNTypeError(f"`tensors` should be a list or tuple, got {type(tensors).__name__}")
        if not tensors:
            raise TNValueError("`tensors` should not be empty")
        for i, t in enumerate(tensors):
            if not isinstance(t, torch.Tensor):
                raise TNTypeError(f"`tensors` should hold torch.Tensor, got {type(t).__name__}")
            check_tensor_size(t, f"`tensors[{i}]`")
        first, last, n = tensors[0], tensors[-1], len(tensors)
        if first.dim() == 2:
            if n != 1:
                raise TNValueError("A rank-2 first tensor means a single-site OBC MPO")
            self._boundary, self._bond_dim = "obc", []
            self._in_dim, self._out_dim = [first.shape[0]], [first.shape[1]]
        elif first.dim() == 3:
            if n < 2 or last.dim() != 3:
                raise TNValueError("OBC `tensors` need rank-3 first and last tensors")
            self._boundary = "obc"
        elif first.dim() == 4:
            if last.dim() != 4 or last.shape[2] != first.shape[0]:
                raise TNValueError(
                    "PBC `tensors` need rank-4 first and last tensors whose periodic bonds match"
                )
            self._boundary = "pbc"
        else:
            raise TNValueError(f"The first tensor should have rank 2, 3 or 4, got {first.dim()}")
        for t in tensors[1:-1]:
            if t.dim() != 4:
                raise TNValueError(f"Middle tensors should have rank 4, got {t.dim()}")
        self._n_features = n
        if first.dim() == 3:
            self._in_dim = [first.shape[0]] + [t.shape[1] for t in tensors[1:]]
            self._out_dim = [t.shape[-1] for t in tensors]
            self._bond_dim = [first.shape[1]] + [t.shape[2] for t in tensors[1:-1]]
        elif first.dim() == 4:
            self._in_dim = [t.shape[1] for t in tensors]
            self._out_dim = [t.shape[3] for t in tensors]
            self._bond_dim = [t.shape[2] for t in tensors]

    def _boundary_sizes(self) -> tuple[int, int]:
        if self._boundary == "pbc":
            return self._bond_dim[-1], self._bond_dim[-1]
        if not self._bond_dim:
            return 1, 1
        return self._bond_dim[0], self._bond_dim[-1]

    def _core_shapes(self) -> list[tuple[int, int, int, int]]:
        n, b = self._n_features, self._bond_dim
        lb, rb = self._boundary_sizes()
        shapes = []
        for i in range(n):
            left = lb if i == 0 else b[i - 1]
            right = rb if i == n - 1 else b[i]
            shapes.append((left, self._in_dim[i], right, self._out_dim[i]))
        return shapes

    def _make_nodes(self) -> None:
        mats = [
            ParamNode(shape=s, axes_names=_AXES, name=f"mats_env_node_({i})", network=self)
            for i, s in enumerate(self._core_shapes())
        ]
        self._link(mats, *self._boundary_sizes())

    # -- properties ------------------------------------------------------------------------

    @property
    def in_dim(self) -> list[int]:
        """Input dimension of each site."""
        return list(self._in_dim)

    @property
    def out_dim(self) -> list[int]:
        """Output dimension of each site."""
        return list(self._out_dim)

    @property
    def bond_dim(self) -> list[int]:
        """Bond dimensions (``right`` size of each core; ``n - 1`` entries for OBC)."""
        return list(self._bond_dim)

    @property
    def n_batches(self) -> int:
        """Number of batch axes of the input data."""
        return self._n_batches

    @n_batches.setter
    def n_batches(self, value: int) -> None:
        self._n_batches = check_n_batches(value)

    left_node = attribute("_left_node", "Left boundary vector (``None`` for PBC).")
    right_node = attribute("_right_node", "Right boundary vector (``None`` for PBC).")
    mats_env = attribute("_mats_env", "The cores, left to right.")

    @property
    def tensors(self) -> list[torch.Tensor]:
        """Cores in user convention (OBC boundary vectors contracted in)."""
        return self._user_tensors()

    # -- initialisation --------------------------------------------------------------------
    def initialize(
        self,
        tensors: Sequence[torch.Tensor] | None = None,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        """Set the cores from ``tensors`` (user convention) or with ``init_method``."""
        n = self._n_features
        if tensors is not None:
            if len(tensors) != n:
                raise TNValueError(f"`tensors` should have {n} entries, got {len(tensors)}")
            shapes = self._core_shapes()
            for i, (node, t) in enumerate(zip(self._mats_env, tensors, strict=True)):
                t = t.to(
                    device=device if device is not None else t.device,
                    dtype=dtype if dtype is not None else t.dtype,
                )
                if self._boundary == "obc" and n == 1:
                    t = t.reshape(1, t.shape[0], 1, t.shape[1])
                elif self._boundary == "obc" and i == 0:
                    full = torch.zeros(shapes[0], device=t.device, dtype=t.dtype)
                    full[0] = t
                    t = full
                elif self._boundary == "obc" and i == n - 1:
                    full = torch.zeros(shapes[-1], device=t.device, dtype=t.dtype)
                    full[:, :, 0, :] = t
                    t = full
                node.tensor = t
            device, dtype = (
                tensors[0].device if device is None else device,
                (tensors[0].dtype if dtype is None else dtype),
            )
        elif init_method is not None:
            if init_method not in _MPO_INITS:
                raise TNValueError(
                    f"`init_method` should be one of {_MPO_INITS}, got {init_method!r}"
                )
            for i, node in enumerate(self._mats_env):
                t = _make_tensor(node.shape, init_method, device=device, dtype=dtype, **kwargs)
                node.tensor = zero_ends(t, i, n, self._boundary, self._RIGHT_AXIS)
        ref = self._mats_env[0].tensor
        if ref is not None:
            device, dtype = ref.device, ref.dtype
        self._reset_boundary(device, dtype)

    # -- data and contraction --------------------------------------------------------------
    def set_data_nodes(self) -> None:
        """Create one data node per core ``input`` edge (``n_batches`` batch axes)."""
        super().set_data_nodes([n["input"] for n in self._mats_env], self._n_batches)

    def _input_results(self, inline_input: bool) -> list[AbstractNode]:
        data = list(self.data_nodes.values())
        same = len({n.shape for n in self._mats_env}) == 1 and len(data) > 1
        if inline_input or not same:
            return [d @ m for d, m in zip(data, self._mats_env, strict=True)]
        stack_data = op.stack(data)
        stack_mats = op.stack(self._mats_env)
        stack_data["feature"] ^ stack_mats["input"]
        return op.unbind(stack_data @ stack_mats)

    def contract(
        self,
        inline_input: bool = False,
        inline_mats: bool = False,
        renormalize: bool = False,
        mps: Any = None,
    ) -> AbstractNode:
        """Contract the operator with the data (or with an ``MPSData`` given as ``mps``).

        Returns:
            Node ``(batch..., out_0, ..., out_{n-1})``.
        """
        if mps is not None:
            self._attach_mps_data(mps)
            chain = [d @ m for d, m in zip(mps.mats_env, self._mats_env, strict=True)]
            if mps.boundary == "obc":
                chain[0] = mps.left_node @ chain[0]
                chain[-1] = chain[-1] @ mps.right_node
        else:
            if not self.data_nodes:
                raise TNValueError("MPO.contract needs data: call forward(data) or pass `mps`")
            chain = self._input_results(inline_input)
        if not inline_mats:
            chain = [_pairwise_chain(chain, renormalize)]
        if self._boundary == "obc":
            chain = [self._left_node, *chain, self._right_node]
        return trace_loops(inline_chain(chain, renormalize))

    def _attach_mps_data(self, mps: Any) -> None:
        try:
            from torchtn.models.mps_data import MPSData
        except ImportError as err:  # pragma: no cover - depends on the MPS family
            raise NotImplementedError(
                "MPO.contract(mps=...) needs torchtn.models.mps_data"
            ) from err
        if not isinstance(mps, MPSData):
            raise TNTypeError(f"`mps` should be MPSData, got {type(mps).__name__}")
        if mps.n_features != self._n_features:
            raise TNValueError(f"`mps` should have {self._n_features} sites, got {mps.n_features}")
        if mps.mats_env[0].network is not self:
            mps.mats_env[0].move_to_network(self)
            for node, mat in zip(mps.mats_env, self._mats_env, strict=True):
                node["feature"] ^ mat["input"]
            for node in mps.mats_env:
                self._change_node_role(node, leaf=False, data=True, virtual=False)

    # -- misc ------------------------------------------------------------------------------
    def _sizes_changed(self) -> None:
        self.update_bond_dim()

    def update_bond_dim(self) -> None:
        """Re-read ``bond_dim`` from the cores' ``right`` sizes."""
        sizes = [n.shape[2] for n in self._mats_env]
        self._bond_dim = sizes if self._boundary == "pbc" else sizes[:-1]

    def copy(self, share_tensors: bool = False) -> MPO:
        """A new MPO with the same configuration and (cloned or shared) tensors."""
        new = MPO(tensors=[t.detach().clone() for t in self.tensors], n_batches=self._n_batches)
        new.name = self.name + "_copy"
        if share_tensors:
            pairs = list(zip(new.mats_env, self._mats_env, strict=True))
            if self._boundary == "obc":
                pairs += [(new.left_node, self._left_node), (new.right_node, self._right_node)]
            for a, b in pairs:
                a.tensor = b.tensor
        return new

    def parameterize(self, set_param: bool = True, override: bool = False) -> MPO:
        """Turn the cores into ParamNodes (``set_param``) or plain Nodes."""
        net = self if override else self.copy(share_tensors=True)
        net._parameterize_nodes(set_param)
        return net

    @torch.no_grad()
    def canonicalize(
        self,
        oc: int | None = None,
        mode: str = "svd",
        rank: int | None = None,
        cum_percentage: float | None = None,
        cutoff: float | None = None,
        renormalize: bool = False,
    ) -> None:
        """Move the orthogonality centre to ``oc`` (default ``n - 1``), as ``MPS.canonicalize``.

        Each core ``(left, input, right, output)`` is treated as an MPS core with the
        physical index ``(input, output)``; bonds may shrink (``rank``, ``cum_percentage``,
        ``cutoff``; SVD keeps at most the current bond) or grow (QR). Nodes are replaced by
        new ParamNodes with the same names, so optimizers must be rebuilt; the boundary
        vectors and the attached data nodes (or ``MPSData`` cores) stay, as in TK.

        Raises:
            ValueError, TypeError: As :meth:`MPS.canonicalize` (``oc``, ``mode``,
                ``rank``, ``cum_percentage``, ``cutoff``).
        """
        oc = self._check_canonical(oc, mode)
        cores = self._padded_cores()
        dims = [(c.shape[1], c.shape[3]) for c in cores]
        flat = [c.permute(0, 1, 3, 2).reshape(c.shape[0], -1, c.shape[2]) for c in cores]
        flat, log_norm = sweep_canonical(flat, oc, mode, rank, cum_percentage, cutoff, renormalize)
        if renormalize:
            flat = self._rescaled(flat, log_norm)
        cores = [
            c.reshape(c.shape[0], d_in, d_out, c.shape[2]).permute(0, 1, 3, 2).contiguous()
            for c, (d_in, d_out) in zip(flat, dims, strict=True)
        ]
        self._rebuild(cores)


class UMPO(MPO):
    """Uniform (translation-invariant, periodic) MPO: every core shares ``virtual_uniform``.

    Args:
        n_features: Number of sites (>= 1).
        in_dim, out_dim, bond_dim: Ints (required unless ``tensor`` is given).
        tensor: Rank-4 core ``(D, in, D, out)``.
        n_batches, init_method, device, dtype, **kwargs: As :class:`MPO`.
    """

    def __init__(
        self,
        n_features: int | None = None,
        in_dim: int | None = None,
        out_dim: int | None = None,
        bond_dim: int | None = None,
        tensor: torch.Tensor | None = None,
        n_batches: int = 1,
        init_method: str = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        TensorNetwork.__init__(self, name="umpo")
        check_int(n_features, "n_features", 1)
        self._n_batches = check_n_batches(n_batches)
        self._boundary, self._n_features = "pbc", n_features
        if tensor is not None:
            if not isinstance(tensor, torch.Tensor):
                raise TNTypeError(f"`tensor` should be torch.Tensor, got {type(tensor).__name__}")
            if tensor.dim() != 4 or tensor.shape[0] != tensor.shape[2]:
                raise TNValueError(
                    f"`tensor` should have shape (D, in, D, out), got {tuple(tensor.shape)}"
                )
            check_tensor_size(tensor, "`tensor`")
            in_dim, out_dim, bond_dim = tensor.shape[1], tensor.shape[3], tensor.shape[0]
        else:
            for name, v in (("in_dim", in_dim), ("out_dim", out_dim), ("bond_dim", bond_dim)):
                check_size(v, name)
        self._in_dim = [in_dim] * n_features
        self._out_dim = [out_dim] * n_features
        self._bond_dim = [bond_dim] * n_features
        self._make_nodes()
        self.uniform_memory = ParamNode(
            shape=(bond_dim, in_dim, bond_dim, out_dim),
            axes_names=_AXES,
            name="virtual_uniform",
            network=self,
            virtual=True,
        )
        if tensor is not None:
            self.initialize(tensors=[tensor], device=device, dtype=dtype)
        else:
            self.initialize(init_method=init_method, device=device, dtype=dtype, **kwargs)

    def initialize(
        self,
        tensors: Sequence[torch.Tensor] | None = None,
        init_method: str | None = "randn",
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
        **kwargs: Any,
    ) -> None:
        """Set the uniform core from ``tensors[0]`` or with ``init_method``."""
        if tensors is not None:
            t = tensors[0]
            t = t.to(
                device=device if device is not None else t.device,
                dtype=dtype if dtype is not None else t.dtype,
            )
        elif init_method is not None:
            if init_method not in _MPO_INITS:
                raise TNValueError(
                    f"`init_method` should be one of {_MPO_INITS}, got {init_method!r}"
                )
            t = _make_tensor(
                self.uniform_memory.shape, init_method, device=device, dtype=dtype, **kwargs
            )
        else:
            return
        self.uniform_memory.tensor = t
        for node in self._mats_env:
            node.set_tensor_from(self.uniform_memory)

    def copy(self, share_tensors: bool = False) -> UMPO:
        """A new UMPO with the same configuration and (cloned or shared) uniform tensor."""
        new = UMPO(
            n_features=self._n_features,
            tensor=self.uniform_memory.tensor.detach().clone(),
            n_batches=self._n_batches,
        )
        new.name = self.name + "_copy"
        if share_tensors:
            new.uniform_memory.tensor = self.uniform_memory.tensor
        return new

    def parameterize(self, set_param: bool = True, override: bool = False) -> UMPO:
        """Turn the cores *and* the uniform memory into ParamNodes (``set_param``) or
        plain Nodes; the cores keep reading the uniform memory.

        Works on ``self`` if ``override``, else on a copy with cloned tensors (as TK).

        Differences from TensorKrowch: ``set_param=True`` on an already parameterized
        UMPO works (TK raised ``KeyError``).
        """
        if self._resultant_nodes:
            warnings.warn("Resultant nodes will be removed before parameterizing the network")
            self.reset()
        net = self if override else self.copy(share_tensors=False)
        net._mats_env = [n.parameterize(set_param) for n in net._mats_env]
        # After the cores (TK's order): they are re-pointed to the new uniform node.
        net.uniform_memory = net.uniform_memory.parameterize(set_param)
        for node in net._mats_env:
            node.set_tensor_from(net.uniform_memory)
        return net

    def canonicalize(self, *args: Any, **kwargs: Any) -> None:
        """Not available for uniform models."""
        raise NotImplementedError("`canonicalize` is not implemented for UMPO")
